/**
 * A RealtimeAPI in the predictor form (Cortex v0.30): the user's PythonPredictor, served by the
 * project's Python runtime in one container named `api`, behind the same proxy as any container.
 */
import { readPredictorAutoscaling } from './autoscaling';
import { checkGpuAndInf, checkShmFitsMem, readCompute } from './compute';
import { ApiIdentity, readApiSettings } from './container-api';
import { PREDICTOR_DEFAULTS, PROBE_DEFAULTS } from './defaults';
import { Field } from './field';
import { KeyHints, readSection } from './field-readers';
import { readPredictor } from './predictor';
import { readTracker } from './tracker';
import {
  ComputeSpec,
  ContainerSpec,
  PodSpec,
  PredictorSpec,
  RealtimeApiSpec,
} from './types';
import { PREDICTOR_RUNTIME_PORT, PYTHON_PREDICTOR_IMAGE_PLACEHOLDER } from '../../constructs/names';

export const PREDICTOR_API_KEYS = [
  'name',
  'kind',
  'predictor',
  'handler',
  'compute',
  'autoscaling',
  'tracker',
  'networking',
  'node_groups',
  'update_strategy',
  'iam_policy_arns',
  'read_apis',
] as const;

const PREDICTOR_API_HINTS: KeyHints = {
  containers: 'containers belongs to the container form (pod.containers); the predictor form runs predictor.path',
  apis: 'apis belongs to kind TrafficSplitter',
  endpoint: 'endpoint belongs under networking (networking.endpoint)',
};

/** The name of the runtime container in a predictor-form pod. */
export const PREDICTOR_CONTAINER_NAME = 'api';

/** `predictorKey`: `predictor`, or `handler` (its later name). `ignore`: keys the caller reported on. */
export function readPredictorApi(
  entry: Field,
  identity: ApiIdentity,
  predictorKey: 'predictor' | 'handler',
  ignore: readonly string[] = [],
): RealtimeApiSpec | undefined {
  const section = readSection(entry, PREDICTOR_API_KEYS, { hints: PREDICTOR_API_HINTS, ignore });
  if (!section) return undefined;
  if (section.get('predictor').exists && section.get('handler').exists) {
    section.get('handler').keyProblem('cannot be used together with predictor (handler is its later name); keep one');
  }

  const predictor = readPredictor(section.get(predictorKey));
  const computeField = section.get('compute');
  const compute = withShm(readCompute(computeField), predictor.shmSize, predictor.shmSizeField);
  if (compute) checkGpuAndInf([{ label: 'compute', field: computeField, spec: compute }]);
  const concurrency = readPredictorAutoscaling(section.get('autoscaling'), predictor);
  const tracker = readTracker(section.get('tracker'));
  const settings = readApiSettings(section, identity.name);

  const { spec, maxConcurrency } = predictor;
  const { maxQueueLength, autoscaling } = concurrency;
  if (
    identity.name === undefined ||
    !spec ||
    !compute ||
    maxConcurrency === undefined ||
    maxQueueLength === undefined ||
    !autoscaling ||
    !settings
  ) {
    return undefined;
  }
  const pod = runtimePod(spec, compute, maxConcurrency, maxQueueLength);
  return {
    kind: 'RealtimeAPI',
    name: identity.name,
    pod,
    predictor: spec,
    ...(tracker ? { tracker } : {}),
    autoscaling,
    ...settings,
    source: identity.source,
  };
}

/**
 * The pod of an API served by the Python runtime (the predictor form, and `kind: api`): one container,
 * `api`, serving on 8080 and ready once the runtime's `GET /healthz` answers (the user's init has returned).
 * The runtime listens on 127.0.0.1, so the chart asks that through the proxy's admin port
 * (`runtimeReadinessProbe` in constructs/pod-template.ts); the probe's timings here are what it keeps.
 */
export function runtimePod(
  predictor: PredictorSpec,
  compute: ComputeSpec,
  maxConcurrency: number,
  maxQueueLength: number,
): PodSpec {
  const runtime: ContainerSpec = {
    name: PREDICTOR_CONTAINER_NAME,
    image: predictor.image ?? PYTHON_PREDICTOR_IMAGE_PLACEHOLDER,
    env: predictor.env,
    ...(predictor.secretEnv !== undefined ? { secretEnv: predictor.secretEnv } : {}),
    compute,
    readinessProbe: {
      handler: { type: 'http_get', port: PREDICTOR_RUNTIME_PORT, path: PREDICTOR_DEFAULTS.healthPath },
      initialDelaySeconds: PROBE_DEFAULTS.initialDelaySeconds,
      timeoutSeconds: PROBE_DEFAULTS.timeoutSeconds,
      periodSeconds: PROBE_DEFAULTS.periodSeconds,
      successThreshold: PROBE_DEFAULTS.successThreshold,
      failureThreshold: PROBE_DEFAULTS.failureThreshold,
    },
  };
  return { port: PREDICTOR_RUNTIME_PORT, maxConcurrency, maxQueueLength, containers: [runtime] };
}

/** predictor.shm_size is the older spelling of compute.shm; one of them may be set. */
function withShm(
  compute: ComputeSpec | undefined,
  shmSize: string | undefined,
  shmSizeField: Field,
): ComputeSpec | undefined {
  if (!compute || shmSize === undefined) return compute;
  if (compute.shm !== undefined) {
    shmSizeField.keyProblem(`cannot be used together with compute.shm (${compute.shm}); keep compute.shm`);
    return undefined;
  }
  checkShmFitsMem(shmSizeField, shmSize, compute.mem);
  return { ...compute, shm: shmSize };
}
