/** `pod` of the container form: the proxy's limits, the user's port, and the containers. */
import { checkGpuAndInf, ComputeOwner, readCompute } from './compute';
import { POD_DEFAULTS, POD_LIMITS } from './defaults';
import { describeValue } from './describe-value';
import { readEnv } from './env';
import { parseImageReference } from './image-reference';
import { Field } from './field';
import { readInteger, readList, readSection, readString, readStringList } from './field-readers';
import { DNS_1123_LABEL, DNS_1123_RULE, MAX_DNS_LABEL_LENGTH } from './names';
import { readPreStop, readProbe } from './probes';
import { PROXY_ADMIN_PORT, PROXY_PORT } from '../../constructs/names';
import { ComputeSpec, ContainerSpec, PodSpec } from './types';

export const POD_KEYS = ['port', 'max_concurrency', 'max_queue_length', 'containers'] as const;

const POD_HINTS = {
  node_groups: 'node_groups belongs at the top level of the API, beside pod',
  shm_size: 'set shm in the compute of the container that needs it (containers[i].compute.shm)',
  compute: 'compute belongs to each container (containers[i].compute)',
  max_replica_concurrency: 'in the container form, use max_concurrency and max_queue_length',
};

export const CONTAINER_KEYS = [
  'name',
  'image',
  'command',
  'args',
  'env',
  'compute',
  'readiness_probe',
  'liveness_probe',
  'startup_probe',
  'pre_stop',
] as const;

/** The proxy sidecar's container is named so; a user container may not be. */
export const RESERVED_CONTAINER_NAME = 'proxy';

export function readPod(field: Field): PodSpec | undefined {
  const section = readSection(field, POD_KEYS, { required: true, hints: POD_HINTS });
  if (!section) return undefined;

  const port = readPodPort(section.get('port'));
  const maxConcurrency = readInteger(section.get('max_concurrency'), {
    min: POD_LIMITS.minMaxConcurrency,
    max: POD_LIMITS.maxConcurrency,
    default: POD_DEFAULTS.maxConcurrency,
  });
  const maxQueueLength = readInteger(section.get('max_queue_length'), {
    min: POD_LIMITS.minQueueLength,
    max: POD_LIMITS.maxQueueLength,
    default: POD_DEFAULTS.maxQueueLength,
  });
  const containers = readContainers(section.get('containers'));

  if (port === undefined || maxConcurrency === undefined || maxQueueLength === undefined || !containers) {
    return undefined;
  }
  return { port, maxConcurrency, maxQueueLength, containers };
}

/** The user's port: any TCP port but the two the proxy sidecar listens on in the same pod. */
function readPodPort(field: Field): number | undefined {
  const port = readInteger(field, { min: POD_LIMITS.minPort, max: POD_LIMITS.maxPort, default: POD_DEFAULTS.port });
  if (port === PROXY_PORT) {
    field.problem(`port ${PROXY_PORT} is reserved for the proxy sidecar; use another port`);
    return undefined;
  }
  if (port === PROXY_ADMIN_PORT) {
    field.problem(`port ${PROXY_ADMIN_PORT} is reserved for the proxy sidecar's metrics; use another port`);
    return undefined;
  }
  return port;
}

function readContainers(field: Field): ContainerSpec[] | undefined {
  const items = readList(field, { required: true, minLength: 1, what: 'container' });
  if (!items) return undefined;

  const containers: (ContainerSpec | undefined)[] = [];
  const owners: ComputeOwner[] = [];
  const firstIndexOfName = new Map<string, number>();
  items.forEach((item, index) => {
    const { container, name, compute } = readContainer(item);
    containers.push(container);
    if (name !== undefined) {
      const previous = firstIndexOfName.get(name);
      if (previous !== undefined) {
        item.child('name').problem(`duplicate container name ${JSON.stringify(name)} (also containers[${previous}]); container names must be unique in the pod`);
        containers[index] = undefined;
      } else {
        firstIndexOfName.set(name, index);
      }
    }
    if (compute) owners.push({ label: `containers[${index}]`, field: item.child('compute'), spec: compute });
  });
  checkGpuAndInf(owners);

  return containers.every((c): c is ContainerSpec => c !== undefined) ? containers : undefined;
}

/** The container, and its name and compute for the pod-wide checks even when the rest is invalid. */
function readContainer(field: Field): { container?: ContainerSpec; name?: string; compute?: ComputeSpec } {
  const section = readSection(field, CONTAINER_KEYS, {
    required: true,
    hints: { resources: 'use compute (cpu, mem, gpu, inf, shm)' },
  });
  if (!section) return {};

  const name = readContainerName(section.get('name'));
  const image = readImage(section.get('image'));
  const command = readStringList(section.get('command'));
  const args = readStringList(section.get('args'));
  const env = readEnv(section.get('env'));
  const compute = readCompute(section.get('compute'));
  const readinessProbe = readProbe(section.get('readiness_probe'), 'readiness');
  const livenessProbe = readProbe(section.get('liveness_probe'), 'liveness');
  const startupProbe = readProbe(section.get('startup_probe'), 'startup');
  const preStop = readPreStop(section.get('pre_stop'));

  if (name === undefined || image === undefined || env === undefined || compute === undefined) return { name, compute };
  const container: ContainerSpec = {
    name,
    image,
    ...(command !== undefined ? { command } : {}),
    ...(args !== undefined ? { args } : {}),
    env: env.env,
    ...(Object.keys(env.secretEnv).length > 0 ? { secretEnv: env.secretEnv } : {}),
    compute,
    ...(readinessProbe ? { readinessProbe } : {}),
    ...(livenessProbe ? { livenessProbe } : {}),
    ...(startupProbe ? { startupProbe } : {}),
    ...(preStop ? { preStop } : {}),
  };
  return { container, name, compute };
}

function readContainerName(field: Field): string | undefined {
  const name = readString(field, { required: true });
  if (name === undefined) return undefined;
  if (!DNS_1123_LABEL.test(name)) {
    field.problem(`must be a DNS-1123 label (${DNS_1123_RULE}), got ${describeValue(name)}`);
    return undefined;
  }
  if (name.length > MAX_DNS_LABEL_LENGTH) {
    field.problem(`must be at most ${MAX_DNS_LABEL_LENGTH} characters, got ${name.length}`);
    return undefined;
  }
  if (name === RESERVED_CONTAINER_NAME) {
    field.problem(`"${RESERVED_CONTAINER_NAME}" is reserved for the proxy sidecar; use another name`);
    return undefined;
  }
  return name;
}

/** An image reference; its syntax is left to the registry, but it may not contain spaces. */
export function readImage(field: Field, options: { required?: boolean } = { required: true }): string | undefined {
  const image = readString(field, { required: options.required });
  if (image !== undefined && /\s/.test(image)) {
    field.problem(`must be an image reference such as "nginx:1.27" or "<account>.dkr.ecr.<region>.amazonaws.com/api:v1", got ${describeValue(image)}`);
    return undefined;
  }
  // Docker's own grammar, the one `cortex pin` and the kubelet read it with: caught here, not at pull time.
  const parsed = image === undefined ? undefined : parseImageReference(image);
  if (parsed !== undefined && 'problem' in parsed) {
    field.problem(`${parsed.problem} (e.g. "nginx:1.27" or "<account>.dkr.ecr.<region>.amazonaws.com/api:v1")`);
    return undefined;
  }
  return image;
}
