import { k8s } from 'cdk8s-plus-30';
import { SILENCE_TIMEOUT_SECONDS } from '../images/proxy/src/limits';
import { POD_LIMITS } from '../lib/config/defaults';
import { PROXY_ADMIN_PORT, PROXY_PORT } from './names';
import { LifecycleJson, sleepPreStop } from './probes';
import { checkApiName, checkDns1123Subdomain, checkImage, checkIntegerInRange } from './validation';

/** The sidecar container's name (the CLI's `logs` and `get` look it up). */
export const PROXY_CONTAINER_NAME = 'proxy';

/** The proxy's resource requests. Its memory limit is a leak guard: it streams bodies, it does not buffer them. */
export const PROXY_CPU_REQUEST = '100m';
export const PROXY_MEMORY_REQUEST = '100Mi';
export const PROXY_MEMORY_LIMIT = '512Mi';

/**
 * The proxy's timeouts on silence (a request head that does not arrive, a body that stops moving): its own
 * default, or `networking.timeout` when that is shorter (the gateway has given up on the request by then).
 */
export const PROXY_SILENCE_TIMEOUT_SECONDS = SILENCE_TIMEOUT_SECONDS;

/** Where the proxy serves readiness (on its admin port). */
export const PROXY_HEALTH_PATH = '/healthz';
/** Where the proxy serves Prometheus metrics (on its admin port). */
export const PROXY_METRICS_PATH = '/metrics';

/**
 * `networking.auth.api_keys`: the Secret's key that holds the SHA-256 hashes of the API keys, one a line (the
 * format of `cortex-proxy --api-keys-file`), and where the proxy container mounts it, read-only.
 */
export const API_KEYS_SECRET_KEY = 'sha256';
export const API_KEYS_VOLUME_NAME = 'api-keys';
export const API_KEYS_MOUNT_PATH = '/etc/cortex/api-keys';
export const API_KEYS_FILE = `${API_KEYS_MOUNT_PATH}/${API_KEYS_SECRET_KEY}`;

export interface ProxySidecarProps {
  readonly image: string;
  /** The port the user's server listens on (`pod.port`). */
  readonly userPort: number;
  /** `pod.max_concurrency`. */
  readonly maxConcurrency: number;
  /** `pod.max_queue_length`. */
  readonly maxQueueLength: number;
  /** preStop sleep, so the gateway stops routing here before the proxy drains. */
  readonly preStopSleepSeconds: number;
  /**
   * `networking.timeout`: the gateway gives up on a request then, so the proxy stops queueing it
   * (`--queue-timeout`) and waiting for the user's server (`--upstream-timeout`) then too; its timeouts on
   * silence (`--request-head-timeout`, `--body-idle-timeout`) are never longer.
   */
  readonly requestTimeoutSeconds: number;
  /** How long the proxy may drain after SIGTERM before the kubelet would kill it (`--drain-timeout`). */
  readonly drainTimeoutSeconds: number;
  /** Volume mounts shared with the user containers (`/mnt`). @default [] */
  readonly volumeMounts?: k8s.VolumeMount[];
  /**
   * The user server's admin port (`--user-admin-port`): the Python runtime's `/healthz` (readiness) and
   * `/metrics` (joined to the proxy's).
   * @default - none: readiness is a TCP connect to `userPort`
   */
  readonly userAdminPort?: number;
  /**
   * `networking.auth.api_keys`: the API's name (the realm of a 401) and the Secret with the keys' hashes,
   * mounted into the proxy container (`--api-keys-file`). A change of the Secret's content reaches the proxy
   * without a restart (the kubelet updates the volume; the proxy reads the file again).
   * @default - no keys asked for
   */
  readonly apiKeys?: { readonly apiName: string; readonly secret: string };
}

/** A duration as the proxy reads it, exact for fractional seconds. */
function milliseconds(seconds: number): string {
  return `${Math.round(seconds * 1000)}ms`;
}

/**
 * The proxy sidecar of every API pod: the request entry point (port 8888), with a concurrency limit
 * and a bounded queue in front of the user's server, and an admin port (15000) with `/healthz` and
 * `/metrics`. See `images/proxy/` for its side of this contract.
 */
export class ProxySidecar {
  public readonly image: string;
  public readonly userPort: number;
  public readonly maxConcurrency: number;
  public readonly maxQueueLength: number;
  public readonly preStopSleepSeconds: number;
  public readonly requestTimeoutSeconds: number;
  public readonly drainTimeoutSeconds: number;
  public readonly userAdminPort?: number;
  public readonly apiKeys?: { readonly apiName: string; readonly secret: string };
  private readonly volumeMounts: k8s.VolumeMount[];

  constructor(props: ProxySidecarProps) {
    checkImage('proxyImage', props.image);
    checkIntegerInRange('pod.port', props.userPort, POD_LIMITS.minPort, POD_LIMITS.maxPort);
    checkIntegerInRange('pod.maxConcurrency', props.maxConcurrency, POD_LIMITS.minMaxConcurrency, POD_LIMITS.maxConcurrency);
    checkIntegerInRange('pod.maxQueueLength', props.maxQueueLength, POD_LIMITS.minQueueLength, POD_LIMITS.maxQueueLength);
    this.image = props.image;
    this.userPort = props.userPort;
    this.maxConcurrency = props.maxConcurrency;
    this.maxQueueLength = props.maxQueueLength;
    this.preStopSleepSeconds = props.preStopSleepSeconds;
    this.requestTimeoutSeconds = props.requestTimeoutSeconds;
    this.drainTimeoutSeconds = props.drainTimeoutSeconds;
    this.volumeMounts = props.volumeMounts ?? [];
    if (props.userAdminPort !== undefined) {
      checkIntegerInRange('userAdminPort', props.userAdminPort, POD_LIMITS.minPort, POD_LIMITS.maxPort);
      this.userAdminPort = props.userAdminPort;
    }
    if (props.apiKeys !== undefined) {
      checkApiName('apiKeys.apiName', props.apiKeys.apiName);
      checkDns1123Subdomain('apiKeys.secret', props.apiKeys.secret);
      this.apiKeys = props.apiKeys;
      this.volumeMounts = [...this.volumeMounts, { name: API_KEYS_VOLUME_NAME, mountPath: API_KEYS_MOUNT_PATH, readOnly: true }];
    }
  }

  /** The pod's volumes the sidecar needs beyond those it shares: the API keys' Secret. */
  public get volumes(): k8s.Volume[] {
    if (this.apiKeys === undefined) return [];
    // Only the hashes' key is projected: anything else the Secret may hold stays out of the pod. A Secret
    // without it (or no Secret) keeps the pod from starting, with an event that names it: never served open.
    return [
      {
        name: API_KEYS_VOLUME_NAME,
        secret: { secretName: this.apiKeys.secret, items: [{ key: API_KEYS_SECRET_KEY, path: API_KEYS_SECRET_KEY }] },
      },
    ];
  }

  /** The command-line flags of `cortex-proxy`. */
  public get args(): string[] {
    const silence = Math.min(PROXY_SILENCE_TIMEOUT_SECONDS, this.requestTimeoutSeconds);
    return [
      '--port', String(PROXY_PORT),
      '--admin-port', String(PROXY_ADMIN_PORT),
      '--user-port', String(this.userPort),
      '--max-concurrency', String(this.maxConcurrency),
      '--max-queue-length', String(this.maxQueueLength),
      '--queue-timeout', milliseconds(this.requestTimeoutSeconds),
      '--upstream-timeout', milliseconds(this.requestTimeoutSeconds),
      '--request-head-timeout', milliseconds(silence),
      '--body-idle-timeout', milliseconds(silence),
      '--drain-timeout', milliseconds(this.drainTimeoutSeconds),
      ...(this.userAdminPort === undefined ? [] : ['--user-admin-port', String(this.userAdminPort)]),
      ...(this.apiKeys === undefined ? [] : ['--api-keys-file', API_KEYS_FILE, '--api-name', this.apiKeys.apiName]),
    ];
  }

  /** The container, as rendered JSON. */
  public _toKube(): Record<string, unknown> {
    const container: k8s.Container = {
      name: PROXY_CONTAINER_NAME,
      image: this.image,
      args: this.args,
      ports: [
        { name: 'http', containerPort: PROXY_PORT, protocol: 'TCP' },
        { name: 'admin', containerPort: PROXY_ADMIN_PORT, protocol: 'TCP' },
      ],
      readinessProbe: {
        httpGet: { path: PROXY_HEALTH_PATH, port: k8s.IntOrString.fromNumber(PROXY_ADMIN_PORT) },
        periodSeconds: 5,
        timeoutSeconds: 1,
        successThreshold: 1,
        failureThreshold: 3,
      },
      resources: {
        requests: {
          cpu: k8s.Quantity.fromString(PROXY_CPU_REQUEST),
          memory: k8s.Quantity.fromString(PROXY_MEMORY_REQUEST),
        },
        limits: { memory: k8s.Quantity.fromString(PROXY_MEMORY_LIMIT) },
      },
      volumeMounts: this.volumeMounts.length > 0 ? this.volumeMounts : undefined,
    };
    const lifecycle: LifecycleJson = sleepPreStop(this.preStopSleepSeconds);
    return { ...k8s.toJson_Container(container), lifecycle };
  }
}
