/** `readiness_probe`, `liveness_probe`, `startup_probe` and `pre_stop` of a container. */
import { POD_LIMITS, PROBE_DEFAULTS } from './defaults';
import { describeValue } from './describe-value';
import { Field } from './field';
import { readExactlyOne, readInteger, readSection, readString, readStringList, Section } from './field-readers';
import { ExecHandler, HttpGetHandler, PreStopHandler, ProbeHandler, ProbeSpec, TcpSocketHandler } from './types';

export const PROBE_HANDLERS = ['http_get', 'tcp_socket', 'exec'] as const;
export const PRE_STOP_HANDLERS = ['http_get', 'exec'] as const;
export const HTTP_GET_KEYS = ['port', 'path'] as const;
export const TCP_SOCKET_KEYS = ['port'] as const;
export const EXEC_KEYS = ['command'] as const;
export const PROBE_TIMING_KEYS = [
  'initial_delay_seconds',
  'timeout_seconds',
  'period_seconds',
  'success_threshold',
  'failure_threshold',
] as const;

export type ProbeKind = 'readiness' | 'liveness' | 'startup';

export function readProbe(field: Field, kind: ProbeKind): ProbeSpec | undefined {
  const section = readSection(field, [...PROBE_HANDLERS, ...PROBE_TIMING_KEYS]);
  if (!section || !field.isSet) return undefined;

  const handler = readHandler(section, PROBE_HANDLERS);
  const initialDelaySeconds = readInteger(section.get('initial_delay_seconds'), {
    min: 0,
    default: PROBE_DEFAULTS.initialDelaySeconds,
  });
  const timeoutSeconds = readInteger(section.get('timeout_seconds'), { min: 1, default: PROBE_DEFAULTS.timeoutSeconds });
  const periodSeconds = readInteger(section.get('period_seconds'), { min: 1, default: PROBE_DEFAULTS.periodSeconds });
  const successThreshold = readSuccessThreshold(section.get('success_threshold'), kind);
  const failureThreshold = readInteger(section.get('failure_threshold'), {
    min: 1,
    default: PROBE_DEFAULTS.failureThreshold,
  });

  if (
    handler === undefined ||
    initialDelaySeconds === undefined ||
    timeoutSeconds === undefined ||
    periodSeconds === undefined ||
    successThreshold === undefined ||
    failureThreshold === undefined
  ) {
    return undefined;
  }
  return { handler, initialDelaySeconds, timeoutSeconds, periodSeconds, successThreshold, failureThreshold };
}

/** Kubernetes rejects a liveness or startup probe whose success threshold is not 1. */
function readSuccessThreshold(field: Field, kind: ProbeKind): number | undefined {
  const threshold = readInteger(field, { min: 1, default: PROBE_DEFAULTS.successThreshold });
  if (kind !== 'readiness' && threshold !== undefined && threshold !== 1) {
    field.problem(`must be 1 for a ${kind} probe (Kubernetes requires it), got ${describeValue(field.value)}`);
    return undefined;
  }
  return threshold;
}

export function readPreStop(field: Field): PreStopHandler | undefined {
  const section = readSection(field, PRE_STOP_HANDLERS, {
    hints: { tcp_socket: 'pre_stop takes http_get or exec (a TCP connection cannot run a hook)' },
  });
  if (!section || !field.isSet) return undefined;
  return readHandler(section, PRE_STOP_HANDLERS) as PreStopHandler | undefined;
}

function readHandler(section: Section, allowed: readonly (typeof PROBE_HANDLERS)[number][]): ProbeHandler | undefined {
  const which = readExactlyOne(section, allowed);
  if (which === 'http_get') return readHttpGet(section.get('http_get'));
  if (which === 'tcp_socket') return readTcpSocket(section.get('tcp_socket'));
  if (which === 'exec') return readExec(section.get('exec'));
  return undefined;
}

function readPort(field: Field): number | undefined {
  return readInteger(field, { min: POD_LIMITS.minPort, max: POD_LIMITS.maxPort, required: true });
}

function readHttpGet(field: Field): HttpGetHandler | undefined {
  const section = readSection(field, HTTP_GET_KEYS);
  if (!section) return undefined;
  const port = readPort(section.get('port'));
  const pathField = section.get('path');
  let path = readString(pathField, { default: PROBE_DEFAULTS.httpGetPath });
  if (path !== undefined && !path.startsWith('/')) {
    pathField.problem(`must start with "/", got ${describeValue(path)}`);
    path = undefined;
  }
  if (port === undefined || path === undefined) return undefined;
  return { type: 'http_get', port, path };
}

function readTcpSocket(field: Field): TcpSocketHandler | undefined {
  const section = readSection(field, TCP_SOCKET_KEYS);
  if (!section) return undefined;
  const port = readPort(section.get('port'));
  return port === undefined ? undefined : { type: 'tcp_socket', port };
}

function readExec(field: Field): ExecHandler | undefined {
  const section = readSection(field, EXEC_KEYS);
  if (!section) return undefined;
  const command = readStringList(section.get('command'), { required: true, minLength: 1, what: 'item: the program to run, then its arguments' });
  return command === undefined ? undefined : { type: 'exec', command };
}
