import { k8s } from 'cdk8s-plus-30';
import { CortexValidationError } from '../lib/config/errors';
import { type ContainerSpec, type ProbeSpec, type RealtimeApiSpec } from '../lib/config/types';
import { drainPlan, type DrainPlan } from './drain';
import { NODE_GROUP_LABEL, PROXY_ADMIN_PORT, SPEC_HASH_ANNOTATION, selectorLabels } from './names';
import {
  PREDICTOR_CONFIG_DIR,
  PREDICTOR_CONFIG_ENV,
  PREDICTOR_CONFIG_PATH,
  PREDICTOR_CONTAINER_NAME,
  isPredictorForm,
  predictorConfigMapData,
  predictorConfigMapName,
} from './predictor-config';
import { probeToKube, sleepPreStop, userPreStop } from './probes';
import { PROXY_HEALTH_PATH, PROXY_METRICS_PATH, ProxySidecar } from './proxy-sidecar';
import { acceleratorTolerations, containerResources, needsNeuron } from './resources';
import { specHash } from './spec-hash';

/** The volume every container mounts at `/mnt`, to share files (sockets, downloaded models...). */
export const SHARED_VOLUME_NAME = 'mnt';
export const SHARED_MOUNT_PATH = '/mnt';
export const SHM_MOUNT_PATH = '/dev/shm';
export const PREDICTOR_CONFIG_VOLUME_NAME = 'predictor-config';

/** Istio's opt-out of sidecar injection; API pods talk to the gateway without a mesh sidecar. */
export const ISTIO_INJECT_KEY = 'sidecar.istio.io/inject';

/** Environment variables every user container gets (before the user's own, which may refer to them as `$(NAME)`). */
export const ENV_API_NAME = 'CORTEX_API_NAME';
export const ENV_PORT = 'CORTEX_PORT';
export const ENV_GATEWAY_URL = 'CORTEX_GATEWAY_URL';

/**
 * The Python runtime's side of the pod (images/python-predictor, `python -m cortex_runtime`): it listens on
 * 127.0.0.1 only — the proxy, in the same pod, is its one client — with predictions on `pod.port` and
 * `/healthz` + `/metrics` on an admin port of their own, which the proxy reads (`--user-admin-port`) and
 * never forwards to. See docs/kubernetes-objects.md, "Predictor-form APIs".
 */
export const PREDICTOR_RUNTIME_HOST = '127.0.0.1';
export const PREDICTOR_RUNTIME_ADMIN_PORT = 8081;
export const ENV_RUNTIME_HOST = 'CORTEX_HOST';
export const ENV_RUNTIME_ADMIN_PORT = 'CORTEX_ADMIN_PORT';
/** `networking.timeout`: the runtime's watchdog calls a process stuck when every predict thread has been in one call longer. */
export const ENV_RUNTIME_REQUEST_TIMEOUT = 'CORTEX_REQUEST_TIMEOUT';
/** How long the runtime drains after SIGTERM before it stops anyway. */
export const ENV_RUNTIME_DRAIN_TIMEOUT = 'CORTEX_DRAIN_TIMEOUT';
/** What the runtime keeps of the grace period after its drain deadline, to exit. */
const RUNTIME_EXIT_SLACK_SECONDS = 5;

/**
 * How long the runtime drains after its SIGTERM: a request still running `networking.timeout` after it was
 * admitted has been given up by the gateway, and the kubelet kills at the end of the grace period.
 */
export function runtimeDrainTimeoutSeconds(timeoutSeconds: number, drain: DrainPlan): number {
  const left = drain.terminationGracePeriodSeconds - drain.userPreStopSleepSeconds - RUNTIME_EXIT_SLACK_SECONDS;
  return Math.max(1, Math.min(timeoutSeconds, left));
}

/**
 * The runtime listens on 127.0.0.1, which the kubelet's probes cannot reach: its readiness is asked of the
 * proxy's `/healthz` on the admin port, which answers 200 only while the runtime's own `/healthz` does
 * (its predictor loaded, not stuck) and the proxy is not draining. (The proxy container has the same probe;
 * on the runtime container it names the container that is not ready.) No liveness probe: a stuck runtime
 * exits by itself (its watchdog), and a slow `__init__` must not be killed.
 */
function runtimeReadinessProbe(configured: ProbeSpec | undefined): ProbeSpec | undefined {
  return configured && { ...configured, handler: { type: 'http_get', port: PROXY_ADMIN_PORT, path: PROXY_HEALTH_PATH } };
}

export interface PodTemplateOptions {
  readonly api: RealtimeApiSpec;
  readonly proxyImage: string;
  /** The runtime image of a predictor-form API whose `predictor.image` is not set. */
  readonly predictorImage: string;
  readonly gatewayUrl: string;
  readonly neuronSchedulerName: string;
  /**
   * The ServiceAccount the pods run as (the chart passes the API's own, `<api>-sa`, whose Pod Identity
   * association gives the pods its IAM role).
   * @default - the namespace's `default`
   */
  readonly serviceAccountName?: string;
}

export interface RenderedPodTemplate {
  /** The Deployment's `spec.template`, as rendered JSON, hash annotation included. */
  readonly template: Record<string, unknown>;
  /** The `cortex.dev/spec-hash` value. */
  readonly specHash: string;
  /** The drain timings in the template. */
  readonly drain: DrainPlan;
  /** The predictor ConfigMap's data, for predictor-form APIs. */
  readonly predictorConfigMapData?: Record<string, string>;
}

/** `shm-<index>`: one memory-backed volume per container that sets `compute.shm`. */
function shmVolumeName(index: number): string {
  return `shm-${index}`;
}

function envVars(vars: Array<[string, string]>): k8s.EnvVar[] {
  return vars.map(([name, value]) => ({ name, value }));
}

/**
 * The user's variables: the literals, then those taken from Secrets, each in file order. `optional: false`: a
 * missing Secret or key keeps the container from starting (CreateContainerConfigError), rather than starting it
 * without its key. A name in both would leave one of them unseen by the container: refused.
 */
function userEnvVars(apiName: string, container: ContainerSpec): k8s.EnvVar[] {
  const secretEnv = Object.entries(container.secretEnv ?? {});
  const twice = secretEnv.map(([name]) => name).filter((name) => Object.prototype.hasOwnProperty.call(container.env, name));
  if (twice.length > 0) {
    throw new CortexValidationError(
      `${apiName}: container ${container.name}: ${twice.join(', ')} ${twice.length === 1 ? 'is' : 'are'} in both env and secretEnv; set each variable in one of them`,
    );
  }
  return [
    ...envVars(Object.entries(container.env)),
    ...secretEnv.map(([name, ref]) => ({
      name,
      valueFrom: { secretKeyRef: { name: ref.secret, key: ref.key, optional: false } },
    })),
  ];
}

function userContainerImage(api: RealtimeApiSpec, container: ContainerSpec, predictorImage: string): string {
  if (isPredictorForm(api) && api.predictor.image === undefined && container.name === PREDICTOR_CONTAINER_NAME) {
    return predictorImage;
  }
  return container.image;
}

function userContainer(
  options: PodTemplateOptions,
  container: ContainerSpec,
  index: number,
  drain: DrainPlan,
): Record<string, unknown> {
  const { api } = options;
  const isRuntime = isPredictorForm(api) && container.name === PREDICTOR_CONTAINER_NAME;
  const cortexEnv: Array<[string, string]> = [
    [ENV_API_NAME, api.name],
    [ENV_PORT, String(api.pod.port)],
    [ENV_GATEWAY_URL, options.gatewayUrl],
  ];
  if (isRuntime) {
    cortexEnv.push(
      [PREDICTOR_CONFIG_ENV, PREDICTOR_CONFIG_PATH],
      [ENV_RUNTIME_HOST, PREDICTOR_RUNTIME_HOST],
      [ENV_RUNTIME_ADMIN_PORT, String(PREDICTOR_RUNTIME_ADMIN_PORT)],
      [ENV_RUNTIME_REQUEST_TIMEOUT, String(api.networking.timeoutSeconds)],
      [ENV_RUNTIME_DRAIN_TIMEOUT, String(runtimeDrainTimeoutSeconds(api.networking.timeoutSeconds, drain))],
    );
  }
  const readinessProbe = isRuntime ? runtimeReadinessProbe(container.readinessProbe) : container.readinessProbe;
  const volumeMounts: k8s.VolumeMount[] = [{ name: SHARED_VOLUME_NAME, mountPath: SHARED_MOUNT_PATH }];
  if (container.compute.shm !== undefined) {
    volumeMounts.push({ name: shmVolumeName(index), mountPath: SHM_MOUNT_PATH });
  }
  if (isRuntime) {
    volumeMounts.push({ name: PREDICTOR_CONFIG_VOLUME_NAME, mountPath: PREDICTOR_CONFIG_DIR, readOnly: true });
  }
  const kube: k8s.Container = {
    name: container.name,
    image: userContainerImage(api, container, options.predictorImage),
    command: container.command,
    args: container.args,
    env: [...envVars(cortexEnv), ...userEnvVars(api.name, container)],
    resources: containerResources(container.compute),
    readinessProbe: readinessProbe && probeToKube(readinessProbe),
    livenessProbe: container.livenessProbe && probeToKube(container.livenessProbe),
    startupProbe: container.startupProbe && probeToKube(container.startupProbe),
    volumeMounts,
  };
  // A user's pre_stop is their own drain logic; preStop takes one handler, so it replaces the default sleep.
  const lifecycle = container.preStop ? userPreStop(container.preStop) : sleepPreStop(drain.userPreStopSleepSeconds);
  return { ...k8s.toJson_Container(kube), lifecycle };
}

function volumes(api: RealtimeApiSpec): k8s.Volume[] {
  const result: k8s.Volume[] = [{ name: SHARED_VOLUME_NAME, emptyDir: {} }];
  api.pod.containers.forEach((c, index) => {
    if (c.compute.shm !== undefined) {
      result.push({
        name: shmVolumeName(index),
        emptyDir: { medium: 'Memory', sizeLimit: k8s.Quantity.fromString(c.compute.shm) },
      });
    }
  });
  if (isPredictorForm(api)) {
    result.push({
      name: PREDICTOR_CONFIG_VOLUME_NAME,
      configMap: { name: predictorConfigMapName(api.name) },
    });
  }
  return result;
}

function nodeGroupAffinity(nodeGroups: readonly string[] | undefined): k8s.Affinity | undefined {
  if (nodeGroups === undefined || nodeGroups.length === 0) {
    return undefined;
  }
  return {
    nodeAffinity: {
      requiredDuringSchedulingIgnoredDuringExecution: {
        nodeSelectorTerms: [{ matchExpressions: [{ key: NODE_GROUP_LABEL, operator: 'In', values: [...nodeGroups] }] }],
      },
    },
  };
}

/**
 * The pod template of an API's Deployment, and the hash of everything in it (plus the ConfigMap it
 * mounts). Rendered to JSON here rather than through KubeDeployment so that the hash is taken over
 * exactly what is applied, including the `sleep` preStop action (Kubernetes 1.30).
 */
export function renderPodTemplate(options: PodTemplateOptions): RenderedPodTemplate {
  const { api } = options;
  const drain = drainPlan(api.networking.timeoutSeconds);
  const computes = api.pod.containers.map((c) => c.compute);
  const tolerations = acceleratorTolerations(computes);

  const proxy = new ProxySidecar({
    image: options.proxyImage,
    userPort: api.pod.port,
    maxConcurrency: api.pod.maxConcurrency,
    maxQueueLength: api.pod.maxQueueLength,
    preStopSleepSeconds: drain.proxyPreStopSleepSeconds,
    requestTimeoutSeconds: api.networking.timeoutSeconds,
    drainTimeoutSeconds: drain.proxyDrainTimeoutSeconds,
    volumeMounts: [{ name: SHARED_VOLUME_NAME, mountPath: SHARED_MOUNT_PATH }],
    userAdminPort: isPredictorForm(api) ? PREDICTOR_RUNTIME_ADMIN_PORT : undefined,
    apiKeys: api.networking.auth?.apiKeys === undefined ? undefined : { apiName: api.name, secret: api.networking.auth.apiKeys.secret },
  });

  const podSpec: k8s.PodSpec = {
    containers: [],
    volumes: [...volumes(api), ...proxy.volumes],
    terminationGracePeriodSeconds: drain.terminationGracePeriodSeconds,
    tolerations: tolerations.length > 0 ? tolerations : undefined,
    affinity: nodeGroupAffinity(api.nodeGroups),
    schedulerName: needsNeuron(computes) ? options.neuronSchedulerName : undefined,
    serviceAccountName: options.serviceAccountName,
    // The API's own ServiceAccount mounts no token; `read_apis` asks for one (its Role lets it read the APIs).
    ...(api.readApis ? { automountServiceAccountToken: true } : {}),
    // One Service per API in the namespace: their docker-link variables would flood every container.
    enableServiceLinks: false,
  };
  const containers = [
    ...api.pod.containers.map((c, index) => userContainer(options, c, index, drain)),
    proxy._toKube(),
  ];

  const metadata = {
    labels: { ...selectorLabels(api.name, 'RealtimeAPI'), [ISTIO_INJECT_KEY]: 'false' },
    annotations: {
      [ISTIO_INJECT_KEY]: 'false',
      'prometheus.io/scrape': 'true',
      'prometheus.io/port': String(PROXY_ADMIN_PORT),
      'prometheus.io/path': PROXY_METRICS_PATH,
    } as Record<string, string>,
  };
  const template = { metadata, spec: { ...k8s.toJson_PodSpec(podSpec), containers } };

  const configMapData = isPredictorForm(api) ? predictorConfigMapData(api) : undefined;
  const hash = specHash({
    template,
    configMaps: configMapData ? { [predictorConfigMapName(api.name)]: configMapData } : undefined,
  });
  const hashed = {
    ...template,
    metadata: { ...metadata, annotations: { ...metadata.annotations, [SPEC_HASH_ANNOTATION]: hash } },
  };
  return { template: hashed, specHash: hash, drain, predictorConfigMapData: configMapData };
}
