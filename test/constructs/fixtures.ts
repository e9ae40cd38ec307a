import { Chart, Testing } from 'cdk8s';
import {
  AutoscalingSpec,
  ComputeSpec,
  ContainerSpec,
  NetworkingSpec,
  PodSpec,
  PredictorSpec,
  ProbeHandler,
  ProbeSpec,
  RealtimeApiSpec,
  TrafficSplitterSpec,
  TrafficSplitterTarget,
  UpdateStrategySpec,
} from '../../lib/config/types';
import { PYTHON_PREDICTOR_IMAGE_PLACEHOLDER } from '../../constructs/names';

/**
 * Fully defaulted specs built by hand, with the defaults lib/config/types.ts documents, so that the
 * chart tests do not depend on the parser.
 */

const SOURCE = { file: '<props>', line: 1, column: 1 };

export function compute(overrides: Partial<ComputeSpec> = {}): ComputeSpec {
  return { cpu: '200m', gpu: 0, inf: 0, ...overrides };
}

export function container(overrides: Partial<ContainerSpec> = {}): ContainerSpec {
  return {
    name: 'api',
    image: 'example.com/iris:1.0',
    env: {},
    ...overrides,
    compute: overrides.compute ?? compute(),
  };
}

export function probe(handler: ProbeHandler, overrides: Partial<Omit<ProbeSpec, 'handler'>> = {}): ProbeSpec {
  return {
    handler,
    initialDelaySeconds: 0,
    timeoutSeconds: 1,
    periodSeconds: 10,
    successThreshold: 1,
    failureThreshold: 3,
    ...overrides,
  };
}

export interface RealtimeApiOverrides {
  readonly name?: string;
  readonly pod?: Partial<PodSpec>;
  readonly predictor?: PredictorSpec;
  readonly tracker?: RealtimeApiSpec['tracker'];
  readonly autoscaling?: Partial<AutoscalingSpec>;
  readonly updateStrategy?: Partial<UpdateStrategySpec>;
  readonly networking?: Partial<NetworkingSpec>;
  readonly nodeGroups?: string[];
}

/** A container-form RealtimeAPI named `iris` (or `overrides.name`), every field defaulted. */
export function realtimeApi(overrides: RealtimeApiOverrides = {}): RealtimeApiSpec {
  const name = overrides.name ?? 'iris';
  const pod: PodSpec = {
    port: 8080,
    maxConcurrency: 1,
    maxQueueLength: 100,
    containers: [container()],
    ...overrides.pod,
  };
  const minReplicas = overrides.autoscaling?.minReplicas ?? 1;
  return {
    kind: 'RealtimeAPI',
    name,
    pod,
    predictor: overrides.predictor,
    tracker: overrides.tracker,
    autoscaling: {
      minReplicas,
      maxReplicas: 100,
      initReplicas: minReplicas,
      targetInFlight: pod.maxConcurrency,
      windowSeconds: 60,
      downscaleStabilizationPeriodSeconds: 300,
      upscaleStabilizationPeriodSeconds: 60,
      maxDownscaleFactor: 0.75,
      maxUpscaleFactor: 1.5,
      downscaleTolerance: 0.05,
      upscaleTolerance: 0.05,
      ...overrides.autoscaling,
    },
    updateStrategy: { maxSurge: '25%', maxUnavailable: '25%', ...overrides.updateStrategy },
    networking: { endpoint: `/${name}`, timeoutSeconds: 600, ...overrides.networking },
    nodeGroups: overrides.nodeGroups,
    source: SOURCE,
  };
}

export function predictor(overrides: Partial<PredictorSpec> = {}): PredictorSpec {
  return {
    type: 'python',
    path: 'predictor.py',
    config: {},
    env: {},
    logLevel: 'info',
    dependencies: { pip: 'requirements.txt', conda: 'conda-packages.txt', shell: 'dependencies.sh' },
    processesPerReplica: 1,
    threadsPerProcess: 1,
    ...overrides,
  };
}

/**
 * A predictor-form RealtimeAPI, shaped as the parser shapes one: a single container `api` running
 * the runtime image (the placeholder unless `predictor.image` is set), with `predictor.env`.
 */
export function predictorApi(
  predictorOverrides: Partial<PredictorSpec> = {},
  overrides: RealtimeApiOverrides & { compute?: Partial<ComputeSpec> } = {},
): RealtimeApiSpec {
  const p = predictor(predictorOverrides);
  // Cortex v0.30: the replica serves processes × threads requests at once, and max_replica_concurrency
  // (default 1024) bounds those plus the queue.
  const maxConcurrency = p.processesPerReplica * p.threadsPerProcess;
  return realtimeApi({
    ...overrides,
    predictor: p,
    pod: {
      maxConcurrency,
      maxQueueLength: Math.max(1, 1024 - maxConcurrency),
      containers: [
        container({
          name: 'api',
          image: p.image ?? PYTHON_PREDICTOR_IMAGE_PLACEHOLDER,
          env: p.env,
          compute: compute(overrides.compute),
          readinessProbe: probe({ type: 'http_get', port: 8080, path: '/healthz' }),
        }),
      ],
      ...overrides.pod,
    },
  });
}

export function trafficSplitter(
  apis: Array<Partial<TrafficSplitterTarget> & { name: string }>,
  overrides: { name?: string; networking?: Partial<NetworkingSpec> } = {},
): TrafficSplitterSpec {
  const name = overrides.name ?? 'iris-split';
  return {
    kind: 'TrafficSplitter',
    name,
    networking: { endpoint: `/${name}`, timeoutSeconds: 600, ...overrides.networking },
    apis: apis.map((a) => ({ weight: 0, shadow: false, ...a })),
    source: SOURCE,
  };
}

/** A rendered object, loosely typed for assertions. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type KubeObject = Record<string, any>;

/** The one object of `kind` in a synthesized chart (fails when there is not exactly one). */
export function only(objects: KubeObject[], kind: string): KubeObject {
  const found = objects.filter((o) => o.kind === kind);
  if (found.length !== 1) {
    throw new Error(`expected one ${kind}, found ${found.length}: ${objects.map((o) => o.kind).join(', ')}`);
  }
  return found[0];
}

/** The synthesized objects of a chart built by `build` in a fresh app. */
export function synth(build: (app: ReturnType<typeof Testing.app>) => Chart): KubeObject[] {
  return Testing.synth(build(Testing.app()));
}

/** The containers of a synthesized Deployment, by name. */
export function containersByName(deployment: KubeObject): Record<string, KubeObject> {
  return Object.fromEntries(deployment.spec.template.spec.containers.map((c: KubeObject) => [c.name, c]));
}

/** A container's env as a name → value map, and the names in order. */
export function envOf(c: KubeObject): { map: Record<string, string>; names: string[] } {
  const env: Array<{ name: string; value: string }> = c.env ?? [];
  return { map: Object.fromEntries(env.map((e) => [e.name, e.value])), names: env.map((e) => e.name) };
}
