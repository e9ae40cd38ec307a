import { conditionOf, ContainerStatus, Deployment, Pod } from './objects';

/**
 * An API's status, from its Deployment and pods, in the words Cortex used:
 * - `live`: every requested replica is up to date and ready (or the API is scaled to zero);
 * - `updating`: a rollout or a scale-up is under way and nothing is wrong yet;
 * - `pending`: pods wait for a node — GPU or Inferentia/Trainium capacity the cluster autoscaler may
 *   still add, or CPU/memory; it becomes `error` once the rollout passes its progress deadline;
 * - `error`: pods cannot run — image pull failures, crash loops, containers that cannot be created,
 *   a rollout past its progress deadline, replica sets that cannot create pods.
 * The reason says which, with the Kubernetes message that shows it.
 */
export type ApiStatusCode = 'live' | 'updating' | 'pending' | 'error';

export interface ApiStatus {
  readonly status: ApiStatusCode;
  /** Why, when not simply live. */
  readonly reason?: string;
}

/** What keeps one pod from serving. */
export interface PodProblem {
  readonly kind: 'image-pull' | 'crash-loop' | 'container-error' | 'unschedulable' | 'not-scheduled';
  /** The container concerned, for container problems. */
  readonly container?: string;
  /** One line for people: what is wrong, with the Kubernetes message. */
  readonly message: string;
}

const IMAGE_PULL_REASONS = new Set(['ErrImagePull', 'ImagePullBackOff', 'InvalidImageName', 'ErrImageNeverPull', 'RegistryUnavailable']);
const CONTAINER_ERROR_REASONS = new Set(['CreateContainerConfigError', 'CreateContainerError', 'RunContainerError', 'PreCreateHookError', 'PostStartHookError']);
const ERROR_KINDS = new Set<PodProblem['kind']>(['image-pull', 'crash-loop', 'container-error']);

/** The accelerator resources, by what they are called in a status reason. */
const ACCELERATORS: readonly { readonly prefix: string; readonly name: string }[] = [
  { prefix: 'nvidia.com/gpu', name: 'GPU' },
  { prefix: 'aws.amazon.com/neuron', name: 'Inferentia/Trainium' },
];

/** The first thing that keeps `pod` from serving, if any (pods being deleted or finished have none). */
export function podProblem(pod: Pod): PodProblem | undefined {
  if (pod.metadata.deletionTimestamp || pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') return undefined;
  const statuses = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])];
  for (const status of statuses) {
    const problem = containerProblem(pod, status);
    if (problem) return problem;
  }
  if (pod.status?.phase !== 'Pending') return undefined;
  const scheduled = conditionOf(pod.status?.conditions, 'PodScheduled');
  if (scheduled?.status === 'False' && scheduled.reason === 'Unschedulable') {
    return { kind: 'unschedulable', message: unschedulableMessage(scheduled.message ?? '', acceleratorRequests(pod)) };
  }
  const scheduler = pod.spec?.schedulerName;
  if (!pod.spec?.nodeName && scheduler && scheduler !== 'default-scheduler' && scheduled === undefined) {
    return {
      kind: 'not-scheduled',
      message: `not scheduled yet: scheduler "${scheduler}" has not placed the pod (is it running? the Neuron scheduler is deployed by the Neuron Helm chart)`,
    };
  }
  return undefined;
}

function containerProblem(pod: Pod, status: ContainerStatus): PodProblem | undefined {
  const waiting = status.state?.waiting;
  if (!waiting?.reason) return undefined;
  const detail = waiting.message ? `: ${oneLine(waiting.message)}` : '';
  if (IMAGE_PULL_REASONS.has(waiting.reason)) {
    const image = status.image || imageOf(pod, status.name);
    return {
      kind: 'image-pull',
      container: status.name,
      message: `image pull failure: container "${status.name}" cannot pull ${image ?? 'its image'} (${waiting.reason}${detail})`,
    };
  }
  if (waiting.reason === 'CrashLoopBackOff') {
    const last = status.lastState?.terminated;
    const restarts = status.restartCount ?? 0;
    let exit = '';
    if (last?.reason === 'OOMKilled') {
      const limit = memoryLimitOf(pod, status.name);
      exit = `, killed for using more memory than its limit${limit ? ` (${limit})` : ''}`;
    } else if (last) {
      exit = `, last exit code ${last.exitCode ?? '?'}${last.reason && last.reason !== 'Error' ? ` (${last.reason})` : ''}`;
    }
    return {
      kind: 'crash-loop',
      container: status.name,
      message: `crash looping: container "${status.name}" restarted ${restarts} time${restarts === 1 ? '' : 's'}${exit}`,
    };
  }
  if (CONTAINER_ERROR_REASONS.has(waiting.reason)) {
    return { kind: 'container-error', container: status.name, message: `container "${status.name}" cannot start (${waiting.reason}${detail})` };
  }
  return undefined;
}

/**
 * What the scheduler's message means: which capacity is missing, then the message itself. `requested`: the
 * accelerator resources the pod asks for. A GPU or Neuron node group scaled to zero has no node at all, so the
 * scheduler names no "Insufficient" accelerator (only selectors and taints no node matches): the pod still waits
 * for that accelerator's capacity, which the cluster autoscaler adds.
 */
export function unschedulableMessage(message: string, requested: readonly string[] = []): string {
  const insufficient = [...message.matchAll(/Insufficient ([\w-]+(?:[./][\w-]+)*)/g)].map((m) => m[1]);
  const resources = [...new Set(insufficient)];
  const text = oneLine(message);
  for (const accelerator of ACCELERATORS) {
    const missing = resources.filter((r) => r.startsWith(accelerator.prefix));
    if (missing.length > 0) return `waiting for ${accelerator.name} capacity (${missing.join(', ')}): ${text}`;
  }
  for (const accelerator of ACCELERATORS) {
    const asked = requested.filter((r) => r.startsWith(accelerator.prefix));
    if (asked.length > 0) return `waiting for ${accelerator.name} capacity (${[...new Set([...asked, ...resources])].join(', ')}): ${text}`;
  }
  if (resources.length > 0) return `waiting for capacity (${resources.join(', ')}): ${text}`;
  return `no node fits: ${text}`;
}

/** The accelerator resources (GPU, Neuron) a pod's containers ask for. */
function acceleratorRequests(pod: Pod): string[] {
  const names = (pod.spec?.containers ?? []).flatMap((c) => [...Object.keys(c.resources?.limits ?? {}), ...Object.keys(c.resources?.requests ?? {})]);
  return [...new Set(names.filter((n) => ACCELERATORS.some((a) => n.startsWith(a.prefix))))];
}

/** The status of an API from its Deployment and the pods of its selector. */
export function apiStatus(deployment: Deployment, pods: readonly Pod[]): ApiStatus {
  const problems = pods.map(podProblem).filter((p): p is PodProblem => p !== undefined);
  const withCount = (first: PodProblem, all: readonly PodProblem[]) =>
    all.length > 1 ? `${first.message} (${all.length} pods)` : first.message;

  const errors = problems.filter((p) => ERROR_KINDS.has(p.kind));
  if (errors.length > 0) return { status: 'error', reason: withCount(errors[0], errors) };

  const conditions = deployment.status?.conditions;
  const replicaFailure = conditionOf(conditions, 'ReplicaFailure');
  if (replicaFailure?.status === 'True') {
    return { status: 'error', reason: `cannot create pods (${replicaFailure.reason ?? 'ReplicaFailure'}): ${oneLine(replicaFailure.message ?? '')}` };
  }

  const waiting = problems.filter((p) => p.kind === 'unschedulable' || p.kind === 'not-scheduled');
  const progressing = conditionOf(conditions, 'Progressing');
  if (progressing?.status === 'False' && progressing.reason === 'ProgressDeadlineExceeded') {
    return {
      status: 'error',
      reason: waiting.length > 0
        ? `${withCount(waiting[0], waiting)}; for longer than the rollout's progress deadline`
        : `the rollout made no progress within its deadline: ${oneLine(progressing.message ?? '')}`,
    };
  }
  if (waiting.length > 0) return { status: 'pending', reason: withCount(waiting[0], waiting) };

  const replicas = replicaCounts(deployment);
  const observed = deployment.status?.observedGeneration ?? 0;
  if ((deployment.metadata.generation ?? 0) > observed) return { status: 'updating', reason: 'the new spec is not picked up yet' };
  if (replicas.upToDate < replicas.requested || (deployment.status?.replicas ?? 0) > replicas.upToDate) {
    return { status: 'updating', reason: `rolling out: ${replicas.upToDate} of ${replicas.requested} replicas up to date, ${replicas.ready} ready` };
  }
  if (replicas.ready < replicas.requested) {
    return { status: 'updating', reason: `starting: ${replicas.ready} of ${replicas.requested} replicas ready` };
  }
  if (replicas.requested === 0) return { status: 'live', reason: 'scaled to zero: the first request starts a replica' };
  return { status: 'live' };
}

export interface ReplicaCounts {
  /** spec.replicas: what the autoscaler asks for now. */
  readonly requested: number;
  readonly ready: number;
  /** Replicas of the current pod template. */
  readonly upToDate: number;
}

export function replicaCounts(deployment: Deployment): ReplicaCounts {
  return {
    requested: deployment.spec?.replicas ?? 1,
    ready: deployment.status?.readyReplicas ?? 0,
    upToDate: deployment.status?.updatedReplicas ?? 0,
  };
}

/** Orders statuses from the best to the worst, to summarise several (a traffic splitter's targets). */
export const STATUS_SEVERITY: Readonly<Record<ApiStatusCode, number>> = { live: 0, updating: 1, pending: 2, error: 3 };

function imageOf(pod: Pod, container: string): string | undefined {
  return [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])].find((c) => c.name === container)?.image;
}

function memoryLimitOf(pod: Pod, container: string): string | undefined {
  return pod.spec?.containers?.find((c) => c.name === container)?.resources?.limits?.memory;
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}
