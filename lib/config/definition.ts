/**
 * APIs written in TypeScript: typed, camelCase definitions of exactly what a cortex.yaml entry holds
 * (`kind: RealtimeAPI` in both forms, `kind: TrafficSplitter`), and their conversion to specs.
 *
 * A definition is renamed key by key into cortex.yaml's snake_case shape, using the validator's own key
 * lists, and then validated by `configFromObject`: the file's rules and defaults, never a copy of them.
 * Problems come back with their paths (and the field names in their messages) in camelCase.
 */
import { PREDICTOR_AUTOSCALING_KEYS } from './autoscaling';
import { COMPUTE_KEYS } from './compute';
import { CONTAINER_API_KEYS } from './container-api';
import { describeValue, isMapping } from './describe-value';
import { ConfigError, ConfigProblem } from './errors';
import { FieldPath, formatFieldPath } from './field-path';
import { MODEL_PATH_KEYS, MODELS_KEYS } from './models';
import { API_KEYS_KEYS, AUTH_KEYS, JWT_KEYS, NETWORKING_KEYS } from './networking';
import { validateConfigObject } from './parse';
import { CONTAINER_KEYS, POD_KEYS } from './pod';
import { DEPENDENCIES_KEYS, PREDICTOR_KEYS, SERVER_SIDE_BATCHING_KEYS } from './predictor';
import { EXEC_KEYS, HTTP_GET_KEYS, PRE_STOP_HANDLERS, PROBE_HANDLERS, PROBE_TIMING_KEYS, TCP_SOCKET_KEYS } from './probes';
import { PREDICTOR_API_KEYS } from './predictor-api';
import { SPLITTER_TARGET_KEYS, TRAFFIC_SPLITTER_KEYS } from './traffic-splitter';
import { TRACKER_KEYS } from './tracker';
import { CortexConfig, RealtimeApiSpec } from './types';
import { UPDATE_STRATEGY_KEYS } from './update-strategy';

// ---------------------------------------------------------------------------------------------------
// The definitions
// ---------------------------------------------------------------------------------------------------

/** `http_get` of a probe or pre-stop hook: a GET on the container's port, healthy on 200 – 399. */
export interface HttpGetDefinition {
  /** The container's port, 1 – 65535. */
  readonly port: number;
  /**
   * The path; starts with "/".
   * @default "/"
   */
  readonly path?: string;
}

/** `tcp_socket` of a probe: healthy when a TCP connection opens. */
export interface TcpSocketDefinition {
  /** The container's port, 1 – 65535. */
  readonly port: number;
}

/** `exec` of a probe or pre-stop hook: a command run in the container (not in a shell), healthy on exit 0. */
export interface ExecDefinition {
  /** The program, then its arguments; at least one item. */
  readonly command: readonly string[];
}

/** The timings of a probe (`initial_delay_seconds`...), all in whole seconds or counts. */
export interface ProbeTimingDefinition {
  /**
   * Seconds after the container starts before the first probe, >= 0.
   * @default 0
   */
  readonly initialDelaySeconds?: number;
  /**
   * Seconds before a probe times out, >= 1.
   * @default 1
   */
  readonly timeoutSeconds?: number;
  /**
   * Seconds between probes, >= 1.
   * @default 10
   */
  readonly periodSeconds?: number;
  /**
   * Successes in a row that make a failed container healthy again, >= 1; must be 1 for a liveness or startup probe.
   * @default 1
   */
  readonly successThreshold?: number;
  /**
   * Failures in a row that make it unhealthy, >= 1.
   * @default 3
   */
  readonly failureThreshold?: number;
}

/**
 * `readiness_probe` / `liveness_probe` / `startup_probe` as cortex.yaml's fields in camelCase: exactly one of
 * `httpGet`, `tcpSocket` and `exec`, and the timings. What {@link Probe.of} takes.
 */
export interface ProbeDefinition extends ProbeTimingDefinition {
  /**
   * Probe with an HTTP GET.
   * @default - none; exactly one of httpGet, tcpSocket and exec
   */
  readonly httpGet?: HttpGetDefinition;
  /**
   * Probe by opening a TCP connection.
   * @default - none; exactly one of httpGet, tcpSocket and exec
   */
  readonly tcpSocket?: TcpSocketDefinition;
  /**
   * Probe by running a command in the container.
   * @default - none; exactly one of httpGet, tcpSocket and exec
   */
  readonly exec?: ExecDefinition;
}

/** `pre_stop` as cortex.yaml's fields in camelCase: exactly one of `httpGet` and `exec`. What {@link PreStop.of} takes. */
export interface PreStopDefinition {
  /**
   * Call an HTTP GET.
   * @default - none; exactly one of httpGet and exec
   */
  readonly httpGet?: HttpGetDefinition;
  /**
   * Run a command in the container.
   * @default - none; exactly one of httpGet and exec
   */
  readonly exec?: ExecDefinition;
}

/** `compute`: the resources a container asks for. Quantities are Kubernetes quantity strings. */
export interface ComputeDefinition {
  /**
   * CPU request, at least "20m": "200m", "0.5", "2". `null` makes no CPU request at all.
   * @default "200m"
   */
  readonly cpu?: string | null;
  /**
   * Memory request (and limit), at least "20Mi": "512Mi", "2G", "2.5Gi".
   * @default - no memory request
   */
  readonly mem?: string;
  /**
   * NVIDIA GPUs (`nvidia.com/gpu`), >= 0. Not together with `inf` in one pod.
   * @default 0
   */
  readonly gpu?: number;
  /**
   * AWS Inferentia/Trainium devices (`aws.amazon.com/neuron`), >= 0. Not together with `gpu` in one pod.
   * @default 0
   */
  readonly inf?: number;
  /**
   * Size of a memory-backed `/dev/shm`, > 0 and <= `mem` when both are set: "64Mi", "1Gi".
   * @default - the container runtime's 64Mi
   */
  readonly shm?: string;
}

/**
 * A variable's value taken from a key of a Secret in the API's namespace: the container does not start while the
 * Secret or the key is missing.
 */
export interface SecretKeyRefDefinition {
  /** The Secret's name, a DNS-1123 subdomain. */
  readonly secret: string;
  /** A key of its data: at most 253 letters, digits, "-", "_" and ".". */
  readonly key: string;
}

/**
 * Environment variables: names of letters, digits, "_", "-" and ".", not starting with a digit or `CORTEX_`
 * (but for `CORTEX_API_KEY` and the Python runtime's settings).
 */
export interface EnvDefinition {
  /** Numbers and booleans become their text (`1` → "1"); `{ secret, key }` reads a key of a Secret. */
  readonly [name: string]: string | number | boolean | SecretKeyRefDefinition;
}

/** One entry of `pod.containers`. */
export interface ContainerDefinition {
  /** A DNS-1123 label, at most 63 characters, unique in the pod, not "proxy" (the sidecar's). */
  readonly name: string;
  /** An image reference: "nginx:1.27", "<account>.dkr.ecr.<region>.amazonaws.com/api:v1". */
  readonly image: string;
  /**
   * Overrides the image's ENTRYPOINT; not run in a shell, `$(VAR)` expands variables.
   * @default - the image's ENTRYPOINT
   */
  readonly command?: readonly string[];
  /**
   * Overrides the image's CMD.
   * @default - the image's CMD
   */
  readonly args?: readonly string[];
  /**
   * Environment variables, passed as they are (names are not renamed), in this order.
   * @default {}
   */
  readonly env?: EnvDefinition;
  /**
   * The resources the container asks for.
   * @default - cpu "200m", no memory request, no GPU or Inferentia
   */
  readonly compute?: ComputeDefinition;
  /**
   * Traffic reaches the pod only while every container's readiness probe passes: `Probe.httpGet({ port: 8080 })`.
   * @default - none
   */
  readonly readinessProbe?: Probe;
  /**
   * The container is restarted when it fails.
   * @default - none
   */
  readonly livenessProbe?: Probe;
  /**
   * Until it passes once, the readiness and liveness probes wait; failureThreshold failures in a row first
   * restart the container. A slow server gets `periodSeconds × failureThreshold` to start, while its
   * readiness and liveness probes keep short thresholds for once it serves.
   * @default - none (the readiness and liveness probes start at once)
   */
  readonly startupProbe?: Probe;
  /**
   * Runs before the container is stopped: `PreStop.exec({ command: [...] })`.
   * @default - none (the pod's own drain delay still applies)
   */
  readonly preStop?: PreStop;
}

/** `pod` of the container form: the user's containers, and what the proxy sidecar lets through. */
export interface PodDefinition {
  /**
   * The port the user's server listens on (1 – 65535; not 8888 or 15000, the proxy's).
   * @default 8080
   */
  readonly port?: number;
  /**
   * Requests let into the containers at once, 1 – 30000.
   * @default 1
   */
  readonly maxConcurrency?: number;
  /**
   * Requests that may wait in the proxy beyond those, 1 – 30000; more are answered 503 at once.
   * @default 100
   */
  readonly maxQueueLength?: number;
  /** The containers, at least one, with unique names. */
  readonly containers: readonly ContainerDefinition[];
}

/** `autoscaling`: request-based autoscaling on in-flight requests (queued + active) per replica. */
export interface AutoscalingDefinition {
  /**
   * >= 0 (0 scales to zero), <= maxReplicas.
   * @default 1
   */
  readonly minReplicas?: number;
  /**
   * >= 1 and >= minReplicas.
   * @default 100
   */
  readonly maxReplicas?: number;
  /**
   * Replicas at creation, from minReplicas to maxReplicas.
   * @default - minReplicas
   */
  readonly initReplicas?: number;
  /**
   * In-flight requests per replica to aim at, > 0 (fractions allowed); in the container form
   * <= pod.maxConcurrency + pod.maxQueueLength.
   * @default - pod.maxConcurrency (the predictor form: processesPerReplica × threadsPerProcess)
   */
  readonly targetInFlight?: number;
  /**
   * Averaging window of the in-flight signal: a duration >= "10s", a multiple of "10s".
   * @default "60s"
   */
  readonly window?: string;
  /**
   * A duration from "0s" to "1h".
   * @default "5m"
   */
  readonly downscaleStabilizationPeriod?: string;
  /**
   * A duration from "0s" to "1h".
   * @default "1m"
   */
  readonly upscaleStabilizationPeriod?: string;
  /**
   * 0 <= x < 1.
   * @default 0.75
   */
  readonly maxDownscaleFactor?: number;
  /**
   * > 1.
   * @default 1.5
   */
  readonly maxUpscaleFactor?: number;
  /**
   * 0 <= x < 1.
   * @default 0.05
   */
  readonly downscaleTolerance?: number;
  /**
   * 0 <= x < 1.
   * @default 0.05
   */
  readonly upscaleTolerance?: number;
  /**
   * With `minReplicas: 0` only: how long a request waits for a first ready replica, a duration from "1s" to "20m".
   * @default "10m"
   */
  readonly coldStartTimeout?: string;
  /**
   * Predictor form only (Cortex v0.30): in-flight requests a replica holds before answering 503, 1 – 30000,
   * >= processesPerReplica × threadsPerProcess. The container form uses pod.maxConcurrency and pod.maxQueueLength.
   * @default 1024
   */
  readonly maxReplicaConcurrency?: number;
  /**
   * Predictor form only: Cortex v0.30's name of `targetInFlight`; set one of the two. > 0, <= maxReplicaConcurrency.
   * @default - targetInFlight's default
   */
  readonly targetReplicaConcurrency?: number;
}

/** `update_strategy`: the Deployment's rolling update. Each a pod count >= 0 or a percentage "0%" – "100%". */
export interface UpdateStrategyDefinition {
  /**
   * Pods above the desired count during a rollout.
   * @default "25%"
   */
  readonly maxSurge?: number | string;
  /**
   * Pods that may be missing during a rollout; not 0 together with maxSurge.
   * @default "25%"
   */
  readonly maxUnavailable?: number | string;
}

/** `networking`: where the API (or splitter) is served on the gateway. */
export interface NetworkingDefinition {
  /**
   * The path on the gateway: starts with "/", no trailing "/", unique among the APIs.
   * @default - "/<name>"
   */
  readonly endpoint?: string;
  /**
   * How long the gateway waits for a response: a duration > 0, at most "1h" (a cortex-cdk addition).
   * @default "600s"
   */
  readonly timeout?: string;
  /**
   * What a request must carry (a cortex-cdk addition); a TrafficSplitter may set `jwt` only.
   * @default - none: anyone who reaches the gateway
   */
  readonly auth?: AuthDefinition;
}

/** `networking.auth`: `apiKeys`, `jwt`, or both (a request must then pass both). */
export interface AuthDefinition {
  /** API keys, checked by the API's proxy sidecar (401 without one); RealtimeAPIs only. */
  readonly apiKeys?: ApiKeysDefinition;
  /** JSON Web Tokens of one issuer (e.g. a Cognito user pool), checked at the APIs gateway on the endpoint. */
  readonly jwt?: JwtDefinition;
}

/** `networking.auth.jwt`: the token issuer, its key set, and the audiences accepted. */
export interface JwtDefinition {
  /**
   * The issuer, exactly as the tokens' `iss` claim holds it (Cognito: `https://cognito-idp.REGION.amazonaws.com/POOL_ID`):
   * an https:// URL, unless `jwksUri` is set.
   */
  readonly issuer: string;
  /**
   * The https:// URL of the issuer's JSON Web Key Set.
   * @default - the one the issuer's `/.well-known/openid-configuration` names
   */
  readonly jwksUri?: string;
  /**
   * The token's `aud` claim must hold one of these (at least one when set).
   * @default - any audience
   */
  readonly audiences?: readonly string[];
}

/** `networking.auth.apiKeys`: the Secret with the keys' SHA-256 hashes (`cortex keys create` writes it). */
export interface ApiKeysDefinition {
  /**
   * The Secret's name, in the API's namespace: a DNS-1123 subdomain.
   * @default - "<name>-api-keys"
   */
  readonly secret?: string;
}

/** One model of `models.paths`. */
export interface ModelPathDefinition {
  /** Unique among the paths. */
  readonly name: string;
  /** Local or `s3://`. */
  readonly path: string;
  /**
   * TensorFlow only.
   * @default - the model's only signature
   */
  readonly signatureKey?: string;
}

/** `predictor.models` / `predictor.multiModelReloading`: exactly one of `path`, `paths` and `dir`. */
export interface ModelsDefinition {
  /**
   * A single model.
   * @default - none; exactly one of path, paths and dir
   */
  readonly path?: string;
  /**
   * Several named models, at least one.
   * @default - none; exactly one of path, paths and dir
   */
  readonly paths?: readonly ModelPathDefinition[];
  /**
   * A directory (local or `s3://`) whose sub-directories are models.
   * @default - none; exactly one of path, paths and dir
   */
  readonly dir?: string;
  /**
   * Models kept in memory, >= 1, <= diskCacheSize; with paths or dir only.
   * @default - all
   */
  readonly cacheSize?: number;
  /**
   * Models kept on disk, >= 1; with paths or dir only.
   * @default - all
   */
  readonly diskCacheSize?: number;
  /**
   * TensorFlow only.
   * @default - the model's only signature
   */
  readonly signatureKey?: string;
}

/** `predictor.dependencies`: file names, relative to the project directory. */
export interface DependenciesDefinition {
  /**
   * Python packages installed with pip.
   * @default "requirements.txt"
   */
  readonly pip?: string;
  /**
   * Packages installed with conda.
   * @default "conda-packages.txt"
   */
  readonly conda?: string;
  /**
   * A bash script run while the image is built.
   * @default "dependencies.sh"
   */
  readonly shell?: string;
}

/** `predictor.server_side_batching`: requests gathered into one `predict(list)` call. */
export interface ServerSideBatchingDefinition {
  /** 2 – 1024, and <= threadsPerProcess (each waiting request holds a thread). */
  readonly maxBatchSize: number;
  /** How long a batch may wait to fill: a duration > 0, such as "100ms". */
  readonly batchInterval: string;
}

/** `predictor`: the user's `PythonPredictor`, served by the project's Python runtime (the predictor form). */
export interface PredictorDefinition {
  /** The kind of predictor: `python`, or `tensorflow` / `onnx` (these need `models`). */
  readonly type: 'python' | 'tensorflow' | 'onnx';
  /** The file with the predictor class, relative to the project directory (`configDir`). */
  readonly path: string;
  /**
   * Handed to the predictor's constructor as it is (keys are not renamed); must be JSON-serializable.
   * @default {}
   */
  readonly config?: { readonly [key: string]: unknown };
  /**
   * Environment variables of the runtime container, passed as they are.
   * @default {}
   */
  readonly env?: EnvDefinition;
  /**
   * A runtime image of the user's own.
   * @default - the project's Python predictor runtime
   */
  readonly image?: string;
  /**
   * The runtime's log level.
   * @default "info"
   */
  readonly logLevel?: 'debug' | 'info' | 'warning' | 'error';
  /**
   * The dependency files installed into the image.
   * @default - requirements.txt, conda-packages.txt, dependencies.sh
   */
  readonly dependencies?: DependenciesDefinition;
  /**
   * The models to serve: required for types tensorflow and onnx, not allowed for python.
   * @default - none
   */
  readonly models?: ModelsDefinition;
  /**
   * The models a python predictor loads by name: type python only.
   * @default - none
   */
  readonly multiModelReloading?: ModelsDefinition;
  /**
   * Gather concurrent requests into one `predict(list)` call.
   * @default - none: one request per call
   */
  readonly serverSideBatching?: ServerSideBatchingDefinition;
  /**
   * 1 – 100.
   * @default 1
   */
  readonly processesPerReplica?: number;
  /**
   * 1 – 10000; processesPerReplica × threadsPerProcess <= 30000.
   * @default 1
   */
  readonly threadsPerProcess?: number;
  /**
   * Size of `/dev/shm`, > 0: Cortex v0.30's spelling of `compute.shm`; set one of the two.
   * @default - none
   */
  readonly shmSize?: string;
  /**
   * Added to PYTHONPATH, relative to the project directory.
   * @default - none
   */
  readonly pythonPath?: string;
  /**
   * TensorFlow only.
   * @default - none
   */
  readonly signatureKey?: string;
  /**
   * Whether `?debug=true` makes the runtime log a request's payload and prediction (which may hold
   * what should not reach the logs).
   * @default - false in the cluster; true under `cortex local`
   */
  readonly allowDebug?: boolean;
}

/** `tracker`: predictions exported as metrics (predictor form). */
export interface TrackerDefinition {
  /**
   * The key of the prediction to track in a JSON object response.
   * @default - the whole response
   */
  readonly key?: string;
  /** `classification`: predictions counted per class; `regression`: their min, max and average. */
  readonly modelType: 'classification' | 'regression';
}

/**
 * A `kind: RealtimeAPI` entry, in either form: the container form (`pod`) or the predictor form
 * (`predictor`, or its later name `handler`) — exactly one of them.
 */
export interface RealtimeApiDefinition {
  /**
   * The discriminator beside {@link TrafficSplitterDefinition}.
   * @default "RealtimeAPI"
   */
  readonly kind?: 'RealtimeAPI';
  /** A DNS-1035 label, at most 42 characters, unique among the definitions. */
  readonly name: string;
  /**
   * The container form: the user's containers.
   * @default - none: the predictor form
   */
  readonly pod?: PodDefinition;
  /**
   * The predictor form: a Python predictor served by the project's runtime.
   * @default - none: the container form
   */
  readonly predictor?: PredictorDefinition;
  /**
   * The later name of `predictor` (Cortex v0.31 – v0.35); set one of the two.
   * @default - none
   */
  readonly handler?: PredictorDefinition;
  /**
   * Predictor form only: the runtime container's resources (the container form sets each container's).
   * @default - cpu "200m", no memory request, no GPU or Inferentia
   */
  readonly compute?: ComputeDefinition;
  /**
   * Request-based autoscaling.
   * @default - 1 to 100 replicas, aiming at pod.maxConcurrency in-flight requests per replica
   */
  readonly autoscaling?: AutoscalingDefinition;
  /**
   * Predictor form only: predictions exported as metrics.
   * @default - none
   */
  readonly tracker?: TrackerDefinition;
  /**
   * The Deployment's rolling update.
   * @default - maxSurge "25%", maxUnavailable "25%"
   */
  readonly updateStrategy?: UpdateStrategyDefinition;
  /**
   * Where it is served on the gateway.
   * @default - endpoint "/<name>", timeout "600s"
   */
  readonly networking?: NetworkingDefinition;
  /**
   * The node groups the API may run on, at least one when given.
   * @default - any node group
   */
  readonly nodeGroups?: readonly string[];
  /**
   * IAM managed policy ARNs attached to the API's own role (`arn:aws:iam::aws:policy/NAME` or
   * `arn:aws:iam::ACCOUNT:policy/NAME`), on top of the stack's `apiPolicyArns`. Values known only at deploy time
   * (`policy.managedPolicyArn`) go to the `RealtimeApi`'s `managedPolicies` prop, or grant to `api.role`.
   * @default - none: the role may read only the s3:// locations of the API's own models
   */
  readonly iamPolicyArns?: readonly string[];
  /**
   * The pods get their ServiceAccount token and read-only access to the APIs of their namespace (the Python
   * client's `get_api`, `cortex get` in a pod): a Role and RoleBinding in the namespace and in the gateway's.
   * @default false
   */
  readonly readApis?: boolean;
}

/** One target of a TrafficSplitter. */
export interface TrafficSplitterTargetDefinition {
  /** A RealtimeAPI among the same definitions. */
  readonly name: string;
  /** 0 – 100; the weights of the targets that are not shadows add up to 100. For the shadow: the percentage mirrored. */
  readonly weight: number;
  /**
   * Gets copies of requests; its responses are dropped. At most one shadow.
   * @default false
   */
  readonly shadow?: boolean;
}

/** A `kind: TrafficSplitter` entry: one endpoint whose requests are shared among RealtimeAPIs of the same list. */
export interface TrafficSplitterDefinition {
  /** The discriminator: required, since a definition without `kind` is a RealtimeAPI. */
  readonly kind: 'TrafficSplitter';
  /** A DNS-1035 label, at most 42 characters, unique among the definitions. */
  readonly name: string;
  /**
   * Where it is served on the gateway.
   * @default - endpoint "/<name>", timeout "600s"
   */
  readonly networking?: NetworkingDefinition;
  /** The targets, at least one, each once. */
  readonly apis: readonly TrafficSplitterTargetDefinition[];
}

/** Any entry of a config written in code. */
export type ApiDefinition = RealtimeApiDefinition | TrafficSplitterDefinition;

/** Options of {@link Probe.httpGet}. */
export interface HttpGetProbeOptions extends HttpGetDefinition, ProbeTimingDefinition {}

/** Options of {@link Probe.tcpSocket}. */
export interface TcpSocketProbeOptions extends TcpSocketDefinition, ProbeTimingDefinition {}

/** Options of {@link Probe.exec}. */
export interface ExecProbeOptions extends ExecDefinition, ProbeTimingDefinition {}

/**
 * A probe for `readinessProbe` / `livenessProbe` / `startupProbe`: an opaque value, as cdk8s-plus's `Probe` is,
 * built by a factory; {@link Probe.of} takes one written as cortex.yaml's fields. Checked, with the rest of the
 * definition, by the cortex.yaml rules.
 */
export class Probe {
  /** `GET http://<pod>:<port><path>`; healthy on 200 – 399. */
  public static httpGet(options: HttpGetProbeOptions): Probe {
    const { port, path, ...timing } = options;
    return new Probe({ httpGet: { port, ...(path !== undefined ? { path } : {}) }, ...timing });
  }

  /** Healthy when a TCP connection to `port` opens. */
  public static tcpSocket(options: TcpSocketProbeOptions): Probe {
    const { port, ...timing } = options;
    return new Probe({ tcpSocket: { port }, ...timing });
  }

  /** Healthy when `command` exits 0. */
  public static exec(options: ExecProbeOptions): Probe {
    const { command, ...timing } = options;
    return new Probe({ exec: { command }, ...timing });
  }

  /** The escape hatch: a probe as cortex.yaml's `readiness_probe` fields in camelCase, taken as written. */
  public static of(definition: ProbeDefinition): Probe {
    return new Probe({ ...definition });
  }

  private constructor(private readonly definition: ProbeDefinition) {}

  /** @internal What the definition's conversion reads: the probe as cortex.yaml's fields in camelCase. */
  public _toDefinition(): ProbeDefinition {
    return this.definition;
  }
}

/** A hook for `preStop`, run before the container is stopped: an opaque value; {@link PreStop.of} takes one written as fields. */
export class PreStop {
  /** `GET http://<pod>:<port><path>` before the container is stopped. */
  public static httpGet(options: HttpGetDefinition): PreStop {
    return new PreStop({ httpGet: { ...options } });
  }

  /** Runs `command` in the container before it is stopped. */
  public static exec(options: ExecDefinition): PreStop {
    return new PreStop({ exec: { ...options } });
  }

  /** The escape hatch: a hook as cortex.yaml's `pre_stop` fields in camelCase, taken as written. */
  public static of(definition: PreStopDefinition): PreStop {
    return new PreStop({ ...definition });
  }

  private constructor(private readonly definition: PreStopDefinition) {}

  /** @internal What the definition's conversion reads: the hook as cortex.yaml's fields in camelCase. */
  public _toDefinition(): PreStopDefinition {
    return this.definition;
  }
}

// ---------------------------------------------------------------------------------------------------
// Definitions → specs
// ---------------------------------------------------------------------------------------------------

/** The file name specs built from definitions carry by default (no file, no positions). */
const PROPS_SOURCE = '<props>';

/**
 * A RealtimeAPI written in code, validated and defaulted by exactly the rules of a cortex.yaml entry.
 * Throws a {@link ConfigError} naming every problem by its camelCase path (`iris.autoscaling.targetInFlight`).
 */
export function realtimeApiSpec(definition: RealtimeApiDefinition): RealtimeApiSpec {
  return definitionsToConfig([definition], PROPS_SOURCE, 'RealtimeAPI only').apis[0];
}

/**
 * RealtimeAPIs and TrafficSplitters written in code, validated together as the entries of one cortex.yaml
 * (a splitter's targets must be among them; names and endpoints are unique across them). `source` names
 * the config in problems and in the specs' `source.file`.
 * Throws a {@link ConfigError} naming every problem by its camelCase path.
 */
export function configFromDefinitions(definitions: readonly ApiDefinition[], source = PROPS_SOURCE): CortexConfig {
  return definitionsToConfig(definitions, source, 'any kind');
}

/** The kinds a conversion takes: {@link realtimeApiSpec} refuses a splitter, which needs its targets beside it. */
type AcceptedKinds = 'RealtimeAPI only' | 'any kind';

function definitionsToConfig(definitions: readonly ApiDefinition[], source: string, accepted: AcceptedKinds): CortexConfig {
  const ownProblems: KeyedProblem[] = [];
  const entries = Array.isArray(definitions)
    ? definitions.map((definition, index) => toEntry(definition, index, accepted, ownProblems))
    : definitions;
  const result = validateConfigObject(entries, source);
  const labelOf = (index: number) => entryLabel(index, definitions, result.problems);
  const own = ownProblems.map(({ path, message }): ConfigProblem => {
    const [index, ...rest] = path;
    return { file: source, line: 0, column: 0, path: formatFieldPath(labelOf(index as number), rest), message };
  });
  // Where both speak of one field (a kind left out for the validator), the definitions' words win.
  const ownPaths = new Set(own.map((problem) => problem.path));
  const problems = [
    ...own,
    ...result.problems
      .map((problem) => ({ ...problem, path: propsPath(problem.path), message: propsMessage(problem.message) }))
      .filter((problem) => !ownPaths.has(problem.path)),
  ];
  if (problems.length > 0 || !result.config) throw new ConfigError(problems);
  return result.config;
}

/** A problem the conversion itself finds, at a path of the definitions (entry index first). */
interface KeyedProblem {
  readonly path: FieldPath;
  readonly message: string;
}

// ---------------------------------------------------------------------------------------------------
// The key table: the shape of an entry, with the validator's snake_case keys
// ---------------------------------------------------------------------------------------------------

/** How a value of an entry is converted: renamed key by key, item by item, or passed through untouched. */
type Shape =
  | { readonly type: 'untouched' }
  | { readonly type: 'list'; readonly item: Shape }
  | { readonly type: 'mapping'; readonly keys: readonly string[]; readonly children: Readonly<Record<string, Shape>> };

/** Scalars, lists of strings, and the user's own maps (`env`, `predictor.config`): keys and values kept. */
const UNTOUCHED: Shape = { type: 'untouched' };

function mapping(keys: readonly string[], children: Record<string, Shape> = {}): Shape {
  return { type: 'mapping', keys, children };
}

function list(item: Shape): Shape {
  return { type: 'list', item };
}

// Every key list is the reader's own, so a key the validator learns is renamed here too.
const HTTP_GET = mapping(HTTP_GET_KEYS);
const TCP_SOCKET = mapping(TCP_SOCKET_KEYS);
const EXEC = mapping(EXEC_KEYS);
const PROBE = mapping([...PROBE_HANDLERS, ...PROBE_TIMING_KEYS], { http_get: HTTP_GET, tcp_socket: TCP_SOCKET, exec: EXEC });
const PRE_STOP = mapping(PRE_STOP_HANDLERS, { http_get: HTTP_GET, exec: EXEC });
const COMPUTE = mapping(COMPUTE_KEYS);
const CONTAINER = mapping(CONTAINER_KEYS, { compute: COMPUTE, readiness_probe: PROBE, liveness_probe: PROBE, startup_probe: PROBE, pre_stop: PRE_STOP });
const POD = mapping(POD_KEYS, { containers: list(CONTAINER) });
const MODELS = mapping(MODELS_KEYS, { paths: list(mapping(MODEL_PATH_KEYS)) });
const PREDICTOR = mapping(PREDICTOR_KEYS, {
  dependencies: mapping(DEPENDENCIES_KEYS),
  models: MODELS,
  multi_model_reloading: MODELS,
  server_side_batching: mapping(SERVER_SIDE_BATCHING_KEYS),
});
const NETWORKING = mapping(NETWORKING_KEYS, {
  auth: mapping(AUTH_KEYS, { api_keys: mapping(API_KEYS_KEYS), jwt: mapping(JWT_KEYS) }),
});

/**
 * Every top-level key of every kind and form, so that a key of another form is renamed too and the
 * validator explains where it belongs (`tracker` on a container-form API, `updateStrategy` on a splitter).
 */
const ENTRY = mapping([...new Set([...CONTAINER_API_KEYS, ...PREDICTOR_API_KEYS, ...TRAFFIC_SPLITTER_KEYS])], {
  pod: POD,
  predictor: PREDICTOR,
  handler: PREDICTOR,
  compute: COMPUTE,
  // Both forms' keys: the container form's reader explains the predictor form's.
  autoscaling: mapping(PREDICTOR_AUTOSCALING_KEYS),
  tracker: mapping(TRACKER_KEYS),
  update_strategy: mapping(UPDATE_STRATEGY_KEYS),
  networking: NETWORKING,
  apis: list(mapping(SPLITTER_TARGET_KEYS)),
});

/** Every snake_case key of the table that camelCase writes differently (`max_concurrency`, not `port`). */
const RENAMED_KEYS: ReadonlySet<string> = new Set(allKeys(ENTRY).filter((key) => toCamelCase(key) !== key));

function allKeys(shape: Shape): string[] {
  if (shape.type === 'list') return allKeys(shape.item);
  if (shape.type === 'untouched') return [];
  return [...shape.keys, ...Object.values(shape.children).flatMap(allKeys)];
}

function toCamelCase(key: string): string {
  return key.replace(/_([a-z0-9])/g, (_, letter: string) => letter.toUpperCase());
}

function toSnakeCase(key: string): string {
  return key.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);
}

// ---------------------------------------------------------------------------------------------------
// Definition → entry in cortex.yaml's shape
// ---------------------------------------------------------------------------------------------------

/** A definition as a cortex.yaml entry; `kind` defaults to RealtimeAPI. Anything but a mapping goes as it is. */
function toEntry(definition: unknown, index: number, accepted: AcceptedKinds, problems: KeyedProblem[]): unknown {
  if (!isMapping(definition)) return definition;
  const kind = definition.kind;
  const entry = toEntryValue(definition, ENTRY, [index], problems) as Record<string, unknown>;
  if (kind === undefined) return { ...entry, kind: 'RealtimeAPI' };
  if (kind === 'RealtimeAPI' || (kind === 'TrafficSplitter' && accepted === 'any kind')) return entry;
  // Another kind (`api` and `deployment` are Cortex 0.10 – 0.12's, for files only). Without a kind the
  // validator reads nothing more of the entry (its `kind: required` gives way to this problem) but still
  // checks its name, so the problem is labelled as the validator labels the entry's other ones.
  const message =
    accepted === 'any kind'
      ? `must be "RealtimeAPI" or "TrafficSplitter" (or left out for a RealtimeAPI), got ${describeValue(kind)}`
      : `must be "RealtimeAPI" (or left out), got ${describeValue(kind)}` +
        (kind === 'TrafficSplitter' ? '; a TrafficSplitter goes to configFromDefinitions, beside its target APIs' : '');
  problems.push({ path: [index, 'kind'], message });
  const { kind: _invalid, ...withoutKind } = entry;
  return withoutKind;
}

/**
 * Renames the keys `shape` knows (and keys the table knows elsewhere, which the validator then explains);
 * leaves unknown keys, and values of unknown keys, as they are, for the validator to name. Keys set to
 * `undefined` are left out, as absent ones. A key written in snake_case where camelCase is expected is a problem.
 */
function toEntryValue(written: unknown, shape: Shape, path: FieldPath, problems: KeyedProblem[]): unknown {
  // A Probe or PreStop is read as the fields it was built from; a plain object in their place (a definition
  // parsed from JSON) is read as it is.
  const value = written instanceof Probe || written instanceof PreStop ? written._toDefinition() : written;
  if (shape.type === 'untouched') return value;
  if (shape.type === 'list') {
    return Array.isArray(value) ? value.map((item, i) => toEntryValue(item, shape.item, [...path, i], problems)) : value;
  }
  if (!isMapping(value)) return value;
  // Pairs, then one object: assigning entry["__proto__"] would set the object's prototype, not a key the
  // validator can name (a definition parsed from JSON can hold one).
  const entry: [string, unknown][] = [];
  for (const [key, child] of Object.entries(value)) {
    if (child === undefined) continue;
    const snakeKey = toSnakeCase(key);
    if (snakeKey !== key && RENAMED_KEYS.has(snakeKey)) {
      entry.push([snakeKey, shape.keys.includes(snakeKey) ? toEntryValue(child, shapeOf(shape, snakeKey), [...path, key], problems) : child]);
    } else if (RENAMED_KEYS.has(key)) {
      const message = `unknown field ${JSON.stringify(key)}; definitions are camelCase: ${toCamelCase(key)}`;
      problems.push({ path: [...path, key], message });
    } else {
      entry.push([key, shape.keys.includes(key) ? toEntryValue(child, shapeOf(shape, key), [...path, key], problems) : child]);
    }
  }
  return Object.fromEntries(entry);
}

function shapeOf(shape: Shape & { type: 'mapping' }, key: string): Shape {
  return Object.prototype.hasOwnProperty.call(shape.children, key) ? shape.children[key] : UNTOUCHED;
}

// ---------------------------------------------------------------------------------------------------
// The validator's problems, in the definitions' words
// ---------------------------------------------------------------------------------------------------

/**
 * How problems name entry `index`: as the validator does, by its name, or `[index]` when the name is
 * invalid — which the validator reports at `[index].name`, so every problem of that entry starts so.
 */
function entryLabel(index: number, definitions: readonly unknown[], problems: readonly ConfigProblem[]): string {
  const definition = definitions[index];
  const name = isMapping(definition) ? definition.name : undefined;
  const unnamed = problems.some((problem) => problem.path.startsWith(`[${index}]`));
  return typeof name === 'string' && !unnamed ? name : `[${index}]`;
}

/**
 * `iris.pod.containers[0].compute.max_concurrency` → `iris.pod.containers[0].compute.maxConcurrency`, walking
 * the table: keys of the user's own maps (`env.MY_VAR`, `predictor.config.some_key`) stay as written.
 */
function propsPath(path: string): string {
  const label = /^(\[\d+\]|[^.[]+)/.exec(path);
  if (!label) return path;
  let shape: Shape = ENTRY;
  let written = label[0];
  let rest = path.slice(written.length);
  while (rest !== '' && shape.type !== 'untouched') {
    const segment = /^(\[\d+\]|\.[^.[]+)/.exec(rest);
    if (!segment) break;
    rest = rest.slice(segment[0].length);
    if (segment[0].startsWith('[')) {
      written += segment[0];
      shape = shape.type === 'list' ? shape.item : UNTOUCHED;
    } else {
      const key = segment[0].slice(1);
      written += `.${RENAMED_KEYS.has(key) ? toCamelCase(key) : key}`;
      shape = shape.type === 'mapping' && shape.keys.includes(key) ? shapeOf(shape, key) : UNTOUCHED;
    }
  }
  return written + rest;
}

/**
 * The field names a message mentions, in camelCase: `must be >= min_replicas (5)` → `must be >= minReplicas (5)`.
 * Quoted text is a value the user wrote and stays as it is, except a key quoted as unknown or suggested
 * (`did you mean "max_concurrency"?`): keys the user wrote in snake_case never reach the validator.
 */
function propsMessage(message: string): string {
  return message.replace(/"(?:[^"\\]|\\.)*"|\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b/g, (match, offset: number) => {
    if (!match.startsWith('"')) return RENAMED_KEYS.has(match) ? toCamelCase(match) : match;
    const before = message.slice(0, offset);
    const namesKey = before.endsWith('unknown field ') || before.endsWith('did you mean ');
    const key = match.slice(1, -1);
    return namesKey && RENAMED_KEYS.has(key) ? JSON.stringify(toCamelCase(key)) : match;
  });
}
