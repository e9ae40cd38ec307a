/**
 * The typed, fully defaulted form of a `cortex.yaml`.
 *
 * Everything downstream (the cdk8s charts, the CDK constructs, the CLI, the local runner)
 * reads these types and never the raw YAML. Every field here is resolved: defaults applied,
 * units converted (durations to seconds, quantities kept as Kubernetes quantity strings),
 * cross-field rules checked. Field names are camelCase; the YAML keeps Cortex's snake_case.
 */

/** Where a spec came from, for messages that point back at the file. */
export interface SourcePosition {
  /** The file as the user named it (or `<props>` for specs built from objects). */
  readonly file: string;
  /** 1-based line of the API's entry in the list. */
  readonly line: number;
  /** 1-based column. */
  readonly column: number;
}

/** `http_get` handler of a probe or pre_stop hook. */
export interface HttpGetHandler {
  readonly type: 'http_get';
  readonly port: number;
  /** @default "/" */
  readonly path: string;
}

/** `tcp_socket` handler of a probe. */
export interface TcpSocketHandler {
  readonly type: 'tcp_socket';
  readonly port: number;
}

/** `exec` handler of a probe or pre_stop hook. */
export interface ExecHandler {
  readonly type: 'exec';
  readonly command: string[];
}

export type ProbeHandler = HttpGetHandler | TcpSocketHandler | ExecHandler;
export type PreStopHandler = HttpGetHandler | ExecHandler;

/** `readiness_probe` / `liveness_probe` / `startup_probe`. */
export interface ProbeSpec {
  readonly handler: ProbeHandler;
  /** @default 0 */
  readonly initialDelaySeconds: number;
  /** @default 1 */
  readonly timeoutSeconds: number;
  /** @default 10 */
  readonly periodSeconds: number;
  /** @default 1 */
  readonly successThreshold: number;
  /** @default 3 */
  readonly failureThreshold: number;
}

/** `compute` of a container (or of a predictor-form API's runtime container). */
export interface ComputeSpec {
  /** CPU request as a Kubernetes quantity ("200m", "1", "0.5"). `undefined` = no request (`cpu: null`). @default "200m" */
  readonly cpu?: string;
  /** Memory request as a Kubernetes quantity ("128Mi", "2G"). @default - none */
  readonly mem?: string;
  /** NVIDIA GPUs (`nvidia.com/gpu`). @default 0 */
  readonly gpu: number;
  /** AWS Inferentia/Trainium devices (`aws.amazon.com/neuron`). @default 0 */
  readonly inf: number;
  /** Size of a memory-backed `/dev/shm`. @default - none (the container runtime's 64Mi) */
  readonly shm?: string;
}

/**
 * An environment variable's value taken from a key of a Secret in the API's namespace (`{secret: NAME, key: KEY}`
 * in cortex.yaml): the kubelet reads it when it starts the container, which does not start while the Secret or
 * its key is missing.
 */
export interface SecretKeyRef {
  /** The Secret's name, a DNS-1123 subdomain. */
  readonly secret: string;
  /** The key of its data. */
  readonly key: string;
}

/** One entry of `pod.containers` (or the runtime container of a predictor-form API). */
export interface ContainerSpec {
  readonly name: string;
  readonly image: string;
  /** Overrides the image's ENTRYPOINT. @default - the image's */
  readonly command?: string[];
  /** Overrides the image's CMD. @default - the image's */
  readonly args?: string[];
  /** The user's environment variables (no `CORTEX_` keys), in file order. @default {} */
  readonly env: Record<string, string>;
  /**
   * The user's variables taken from Secrets, in file order; set after `env`, and never under a name `env` has.
   * @default - none
   */
  readonly secretEnv?: Record<string, SecretKeyRef>;
  readonly compute: ComputeSpec;
  readonly readinessProbe?: ProbeSpec;
  readonly livenessProbe?: ProbeSpec;
  /** Holds the readiness and liveness probes off until it has passed once (a slow start is not a failure). */
  readonly startupProbe?: ProbeSpec;
  readonly preStop?: PreStopHandler;
}

/** `pod`: what runs in each replica, and what the proxy sidecar lets through. */
export interface PodSpec {
  /** The port the user's server listens on, behind the proxy. @default 8080 */
  readonly port: number;
  /** Requests let into the user's container at once (the proxy's --max-concurrency). @default 1 */
  readonly maxConcurrency: number;
  /** Requests that may wait in the proxy beyond those (the proxy's --max-queue-length). @default 100 */
  readonly maxQueueLength: number;
  /**
   * The containers, at least one. For a predictor-form API, one container named `api` that runs
   * the Python predictor runtime (its image is constructs/names.ts's
   * `PYTHON_PREDICTOR_IMAGE_PLACEHOLDER` unless `predictor.image` is set).
   */
  readonly containers: ContainerSpec[];
}

/** `autoscaling`: request-based autoscaling (or CPU-based, for `kind: api`). */
export interface AutoscalingSpec {
  /** @default 1 */
  readonly minReplicas: number;
  /** @default 100 */
  readonly maxReplicas: number;
  /** @default - minReplicas */
  readonly initReplicas: number;
  /** In-flight requests (queued + active) per replica the autoscaler aims at. @default - pod.maxConcurrency */
  readonly targetInFlight: number;
  /**
   * Scale on CPU instead: the average CPU utilisation (percent of the runtime container's CPU request)
   * to aim at — `kind: api`'s `compute.target_cpu_utilization`. When set, `targetInFlight` is not used.
   * @default - undefined: scale on in-flight requests
   */
  readonly targetCpuUtilization?: number;
  /** Averaging window of the in-flight signal. @default 60 */
  readonly windowSeconds: number;
  /** @default 300 */
  readonly downscaleStabilizationPeriodSeconds: number;
  /** @default 60 */
  readonly upscaleStabilizationPeriodSeconds: number;
  /** @default 0.75 */
  readonly maxDownscaleFactor: number;
  /** @default 1.5 */
  readonly maxUpscaleFactor: number;
  /** @default 0.05 */
  readonly downscaleTolerance: number;
  /** @default 0.05 */
  readonly upscaleTolerance: number;
  /**
   * With `minReplicas: 0`: how long a request that arrives while no replica is ready waits for one (held by the
   * KEDA HTTP add-on's interceptor) before it is answered 504. Not used with `minReplicas` >= 1.
   * @default 600
   */
  readonly coldStartTimeoutSeconds?: number;
}

/** An integer count of pods, or a percentage string such as "25%". */
export type IntOrPercent = number | string;

/** `update_strategy`: the Deployment's RollingUpdate. */
export interface UpdateStrategySpec {
  /** @default "25%" */
  readonly maxSurge: IntOrPercent;
  /** @default "25%" */
  readonly maxUnavailable: IntOrPercent;
}

/** `networking`. */
export interface NetworkingSpec {
  /** The path on the gateway, starting with "/". @default - "/<name>" */
  readonly endpoint: string;
  /**
   * Gateway request timeout (a cortex-cdk addition: Cortex had none). @default 600
   */
  readonly timeoutSeconds: number;
  /** `networking.auth` (a cortex-cdk addition): what a request must carry. @default - none: anyone reaching the gateway */
  readonly auth?: AuthSpec;
}

/** `networking.auth`: `apiKeys`, `jwt`, or both (a request must then pass both). */
export interface AuthSpec {
  /** `networking.auth.api_keys`: the proxy sidecar answers 401 to a request without one of the keys. */
  readonly apiKeys?: ApiKeysSpec;
  /**
   * `networking.auth.jwt`: the APIs gateway refuses a request to the endpoint without a valid JSON Web Token of
   * the issuer (Istio RequestAuthentication + AuthorizationPolicy).
   */
  readonly jwt?: JwtSpec;
}

/** `networking.auth.jwt`. */
export interface JwtSpec {
  /** The token issuer, compared exactly with the token's `iss` claim (an https:// URL unless `jwksUri` is set). */
  readonly issuer: string;
  /**
   * The https:// URL of the issuer's JSON Web Key Set.
   * @default - the `jwks_uri` of the issuer's `/.well-known/openid-configuration` (OpenID Connect discovery)
   */
  readonly jwksUri?: string;
  /**
   * The token's `aud` claim must hold one of these.
   * @default - any audience (or none)
   */
  readonly audiences?: string[];
}

/** `networking.auth.api_keys`. */
export interface ApiKeysSpec {
  /**
   * The Secret (in the API's namespace) whose `sha256` key holds the SHA-256 hashes of the keys, one a line
   * (`cortex keys create` writes it).
   * @default - "<name>-api-keys"
   */
  readonly secret: string;
}

/** `predictor.models` / `predictor.multi_model_reloading`. Exactly one of path, paths, dir. */
export interface ModelsSpec {
  /** A single model. */
  readonly path?: string;
  /** Several named models. */
  readonly paths?: { readonly name: string; readonly path: string; readonly signatureKey?: string }[];
  /** A directory (local or s3://) whose sub-directories are models. */
  readonly dir?: string;
  /** Models kept in memory (LRU). @default - all */
  readonly cacheSize?: number;
  /** Models kept on disk (LRU). @default - all */
  readonly diskCacheSize?: number;
  /** TensorFlow signature key. @default - the model's only signature */
  readonly signatureKey?: string;
}

export type PredictorType = 'python' | 'tensorflow' | 'onnx';

/**
 * How the runtime calls the user's code: `class` — a `PythonPredictor` (or `ONNXPredictor`) class,
 * the predictor form of a RealtimeAPI; `function` — module-level functions, the oldest format
 * (`kind: api`): `init`/`predict` for type python, `pre_inference`/`post_inference` request handlers
 * around the model for tensorflow and onnx.
 */
export type PredictorStyle = 'class' | 'function';

/** `predictor` (or `handler`): the predictor form of a RealtimeAPI (Cortex <= v0.35), or a `kind: api` entry (Cortex 0.10 – 0.12). */
export interface PredictorSpec {
  readonly type: PredictorType;
  /**
   * How the runtime calls the user's code.
   * @default 'class'
   */
  readonly style?: PredictorStyle;
  /**
   * Path of the file with the user's code, relative to the cortex.yaml's directory: the `PythonPredictor`
   * class, the `init`/`predict` module (`kind: api`), or the request handler (`kind: api` tensorflow/onnx).
   * @default - none: only a `kind: api` tensorflow/onnx API without `request_handler` has no code of its own
   */
  readonly path?: string;
  /** Handed to the predictor's `__init__`. @default {} */
  readonly config: Record<string, unknown>;
  /**
   * `kind: api`'s `metadata`: handed to `init()` and `predict()` (or the request handler's functions).
   * @default - none (function style: {})
   */
  readonly metadata?: Record<string, unknown>;
  /** @default {} */
  readonly env: Record<string, string>;
  /** `env`'s variables taken from Secrets (see ContainerSpec.secretEnv). @default - none */
  readonly secretEnv?: Record<string, SecretKeyRef>;
  /** A runtime image of the user's own. @default - the project's Python predictor runtime */
  readonly image?: string;
  /** @default "info" */
  readonly logLevel: 'debug' | 'info' | 'warning' | 'error';
  readonly dependencies: {
    /** @default "requirements.txt" */
    readonly pip: string;
    /** @default "conda-packages.txt" */
    readonly conda: string;
    /** @default "dependencies.sh" */
    readonly shell: string;
  };
  /** Models to load (`models` for tensorflow/onnx, `multi_model_reloading` for python). */
  readonly models?: ModelsSpec;
  readonly serverSideBatching?: {
    /** 2 to 1024. */
    readonly maxBatchSize: number;
    readonly batchIntervalSeconds: number;
  };
  /** @default 1 */
  readonly processesPerReplica: number;
  /** @default 1 */
  readonly threadsPerProcess: number;
  /** Extra entry for PYTHONPATH, relative to the cortex.yaml's directory. @default - none */
  readonly pythonPath?: string;
  /** TensorFlow signature key (predictor level). @default - none */
  readonly signatureKey?: string;
  /**
   * Whether `?debug=true` makes the runtime log a request's payload and prediction.
   * @default - false in the cluster; true under `cortex local`
   */
  readonly allowDebug?: boolean;
}

/** `tracker`: predictions exported as metrics. */
export interface TrackerSpec {
  /** The key of the prediction to track when the response is a JSON object. @default - the whole response */
  readonly key?: string;
  readonly modelType: 'classification' | 'regression';
}

/** A `kind: RealtimeAPI` entry, in either form. */
export interface RealtimeApiSpec {
  readonly kind: 'RealtimeAPI';
  /** DNS-1035 label, at most 42 characters, unique in the file. */
  readonly name: string;
  readonly pod: PodSpec;
  /** Set for the predictor form only. */
  readonly predictor?: PredictorSpec;
  readonly tracker?: TrackerSpec;
  readonly autoscaling: AutoscalingSpec;
  readonly updateStrategy: UpdateStrategySpec;
  readonly networking: NetworkingSpec;
  /** Node groups the API may run on. @default - any */
  readonly nodeGroups?: string[];
  /**
   * `iam_policy_arns` (a cortex-cdk addition per API; Cortex had it for the whole cluster): IAM managed policies
   * attached to the API's own role, which its pods get through EKS Pod Identity.
   * @default - none (the role may still read the S3 locations of the API's own models)
   */
  readonly iamPolicyArns?: string[];
  /**
   * `read_apis` (a cortex-cdk addition): the pods get their ServiceAccount token and read-only access to the APIs
   * of their namespace through the Kubernetes API (the Python client's `get_api`, `cortex get` in a pod).
   * @default false
   */
  readonly readApis?: boolean;
  readonly source: SourcePosition;
}

/** One target of a TrafficSplitter. */
export interface TrafficSplitterTarget {
  /** A RealtimeAPI of the same file. */
  readonly name: string;
  /** 0 to 100; the non-shadow weights sum to 100. For the shadow: the mirrored percentage. */
  readonly weight: number;
  /** @default false */
  readonly shadow: boolean;
}

/** A `kind: TrafficSplitter` entry. */
export interface TrafficSplitterSpec {
  readonly kind: 'TrafficSplitter';
  readonly name: string;
  readonly networking: NetworkingSpec;
  readonly apis: TrafficSplitterTarget[];
  readonly source: SourcePosition;
}

export type ApiSpec = RealtimeApiSpec | TrafficSplitterSpec;

/** A whole cortex.yaml, validated. */
export interface CortexConfig {
  /** The file as the user named it. */
  readonly file: string;
  /** Every entry, in file order. */
  readonly specs: ApiSpec[];
  /** The RealtimeAPIs, in file order. */
  readonly apis: RealtimeApiSpec[];
  /** The TrafficSplitters, in file order. */
  readonly splitters: TrafficSplitterSpec[];
}
