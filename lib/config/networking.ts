/** `networking`: where an API (or a traffic splitter) is served on the gateway. */
import { NETWORKING_DEFAULTS } from './defaults';
import { describeValue } from './describe-value';
import { Field } from './field';
import { readDuration, readSection, readString } from './field-readers';
import { NetworkingSpec } from './types';

export const NETWORKING_KEYS = ['endpoint', 'timeout'] as const;

const NETWORKING_HINTS = {
  api_gateway:
    'api_gateway is from Cortex v0.30 and not supported: every API is served behind the one gateway of the cluster',
};

export function readNetworking(field: Field, apiName: string | undefined): NetworkingSpec | undefined {
  const section = readSection(field, NETWORKING_KEYS, { hints: NETWORKING_HINTS });
  if (!section) return undefined;

  const endpoint = readEndpoint(section.get('endpoint'), apiName);
  const timeoutSeconds = readDuration(section.get('timeout'), {
    min: 0,
    minExclusive: true,
    default: NETWORKING_DEFAULTS.timeoutSeconds,
  });

  if (endpoint === undefined || timeoutSeconds === undefined) return undefined;
  return { endpoint, timeoutSeconds };
}

/** An endpoint field (`networking.endpoint`, `kind: api`'s `endpoint`): `/<name>` when unset. */
export function readEndpoint(field: Field, apiName: string | undefined): string | undefined {
  const endpoint = readString(field, { default: apiName === undefined ? undefined : defaultEndpoint(apiName) });
  if (endpoint === undefined || !field.isSet) return endpoint;
  const problem = endpointProblem(endpoint);
  if (!problem) return endpoint;
  field.problem(problem);
  return undefined;
}

export function defaultEndpoint(apiName: string): string {
  return `/${apiName}`;
}

const ENDPOINT_CHARACTERS = /^[A-Za-z0-9_.\-/]*$/;

/**
 * What is wrong with an endpoint, or undefined when it is fine. The gateway matches the endpoint
 * exactly and as a prefix followed by "/", so it has to be one clean path: leading "/", no
 * trailing "/", no empty segment, and characters that need no escaping.
 */
export function endpointProblem(endpoint: string): string | undefined {
  const got = `got ${describeValue(endpoint)}`;
  if (!endpoint.startsWith('/')) return `must start with "/", ${got}`;
  if (endpoint === '/') return 'must not be "/" alone (the root of the gateway); use a path such as "/iris"';
  if (endpoint.endsWith('/')) return `must not end with "/", ${got}`;
  if (endpoint.includes('//')) return `must not contain "//", ${got}`;
  if (!ENDPOINT_CHARACTERS.test(endpoint)) return `may contain only letters, digits, "/", "-", "_" and ".", ${got}`;
  return undefined;
}
