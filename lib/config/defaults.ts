/**
 * Every default and every limit of a cortex.yaml, in one place: the validator, the docs and the
 * tests read them from here. Durations are in seconds; quantities are Kubernetes quantity strings.
 */
import {
  DEFAULT_REQUEST_TIMEOUT_SECONDS,
  MAX_CONCURRENCY_RANGE,
  MAX_QUEUE_LENGTH_RANGE,
  PORT_RANGE,
  QUEUE_DEFAULTS,
} from '../../images/proxy/src/limits';

export const POD_DEFAULTS = {
  port: 8080,
  maxConcurrency: QUEUE_DEFAULTS.maxConcurrency,
  maxQueueLength: QUEUE_DEFAULTS.maxQueueLength,
} as const;

/** The proxy's flags check the same ranges: they come from its sources (images/proxy/src/limits.ts). */
export const POD_LIMITS = {
  minPort: PORT_RANGE.min,
  maxPort: PORT_RANGE.max,
  minMaxConcurrency: MAX_CONCURRENCY_RANGE.min,
  /** max_concurrency (and the predictor form's max_replica_concurrency and processes × threads). */
  maxConcurrency: MAX_CONCURRENCY_RANGE.max,
  /** 0: no queue, requests past max_concurrency get 503 at once. */
  minQueueLength: MAX_QUEUE_LENGTH_RANGE.min,
  maxQueueLength: MAX_QUEUE_LENGTH_RANGE.max,
} as const;

export const COMPUTE_DEFAULTS = {
  cpu: '200m',
  gpu: 0,
  inf: 0,
} as const;

export const COMPUTE_LIMITS = {
  minCpu: '20m',
  minMem: '20Mi',
} as const;

export const PROBE_DEFAULTS = {
  httpGetPath: '/',
  initialDelaySeconds: 0,
  timeoutSeconds: 1,
  periodSeconds: 10,
  successThreshold: 1,
  failureThreshold: 3,
} as const;

export const AUTOSCALING_DEFAULTS = {
  minReplicas: 1,
  maxReplicas: 100,
  windowSeconds: 60,
  downscaleStabilizationPeriodSeconds: 300,
  upscaleStabilizationPeriodSeconds: 60,
  maxDownscaleFactor: 0.75,
  maxUpscaleFactor: 1.5,
  downscaleTolerance: 0.05,
  upscaleTolerance: 0.05,
  /** Predictor form only: in-flight requests a replica accepts before answering 503. */
  maxReplicaConcurrency: 1024,
  /**
   * With min_replicas 0: how long a request waits for a first ready replica. A cold start may add a node (the
   * cluster autoscaler: 1-3 min, more for GPU nodes), pull the image and load the model.
   */
  coldStartTimeoutSeconds: 600,
} as const;

export const AUTOSCALING_LIMITS = {
  /** The autoscaler samples every 10s, so a shorter window (or one off the grid) means nothing. */
  minWindowSeconds: 10,
  windowStepSeconds: 10,
  /** The HPA's limit for behavior.*.stabilizationWindowSeconds. */
  maxStabilizationPeriodSeconds: 3600,
  minColdStartTimeoutSeconds: 1,
  /** As long as Cortex's activator waited for a first replica (20 minutes). */
  maxColdStartTimeoutSeconds: 1200,
} as const;

export const UPDATE_STRATEGY_DEFAULTS = {
  maxSurge: '25%',
  maxUnavailable: '25%',
} as const;

export const NETWORKING_DEFAULTS = {
  timeoutSeconds: DEFAULT_REQUEST_TIMEOUT_SECONDS,
} as const;

/**
 * The longest `networking.timeout`: 1 hour. Each pod's termination grace period is this plus 20 s (it lets the
 * requests in flight finish), so a rollout could wait that long per replica; and a request longer than this is a
 * batch job, not a realtime request. docs/timeouts-and-limits.md, "The longest request".
 */
export const MAX_NETWORKING_TIMEOUT_SECONDS = 3600;

/** The Secret of `networking.auth.api_keys` when `secret` is not set. */
export function defaultApiKeysSecret(apiName: string): string {
  return `${apiName}-api-keys`;
}

export const PREDICTOR_DEFAULTS = {
  logLevel: 'info',
  pip: 'requirements.txt',
  conda: 'conda-packages.txt',
  shell: 'dependencies.sh',
  processesPerReplica: 1,
  threadsPerProcess: 1,
  /** Where the Python predictor runtime answers the readiness probe. */
  healthPath: '/healthz',
} as const;

export const PREDICTOR_LIMITS = {
  maxProcessesPerReplica: 100,
  maxThreadsPerProcess: 10000,
  minBatchSize: 2,
  maxBatchSize: 1024,
} as const;

export const TRAFFIC_SPLITTER_LIMITS = {
  maxWeight: 100,
  /** The non-shadow weights add up to this. */
  totalWeight: 100,
} as const;

/** `kind: api` (Cortex 0.10 – 0.12): its `compute` section, replica counts and CPU target included. */
export const LEGACY_API_DEFAULTS = {
  minReplicas: 1,
  maxReplicas: 100,
  /** Percent of the runtime container's CPU request. */
  targetCpuUtilization: 80,
  cpu: '200m',
  gpu: 0,
  /** One request at a time per replica, as Cortex promised then (a cortex-cdk addition lets it be raised). */
  maxConcurrency: 1,
  maxQueueLength: 100,
} as const;

export const LEGACY_API_LIMITS = {
  /** A CPU-scaled Deployment cannot go to zero: at zero there is no CPU to measure. */
  minReplicas: 1,
  minTargetCpuUtilization: 1,
  maxTargetCpuUtilization: 100,
} as const;
