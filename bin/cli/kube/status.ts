import { ERROR_KINDS, podProblems, WAITING_FOR_NODE_KINDS, type PodProblem } from '../../../lib/private/pod-diagnosis';
import { conditionOf, Deployment, Pod } from './objects';

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

/** What keeps one pod from serving, with the line `cortex get` shows for it. */
export interface ShownPodProblem extends PodProblem {
  /** One line for people: the container, then what is wrong, with the Kubernetes message. */
  readonly message: string;
}

/**
 * The first thing that keeps `pod` from serving that `cortex get` shows: an error, or a wait for a node (pods
 * being deleted or finished have none; a pod still starting has none either: the replica counts tell that).
 */
export function podProblem(pod: Pod): ShownPodProblem | undefined {
  if (pod.metadata.deletionTimestamp || pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') return undefined;
  const found = podProblems(pod).find((p) => ERROR_KINDS.has(p.kind) || WAITING_FOR_NODE_KINDS.has(p.kind));
  if (found === undefined) return undefined;
  return { ...found, message: found.container === undefined ? found.detail : `container "${found.container}": ${found.detail}` };
}

/** The status of an API from its Deployment and the pods of its selector. */
export function apiStatus(deployment: Deployment, pods: readonly Pod[]): ApiStatus {
  const problems = pods.map(podProblem).filter((p): p is ShownPodProblem => p !== undefined);
  const withCount = (first: ShownPodProblem, all: readonly ShownPodProblem[]) =>
    all.length > 1 ? `${first.message} (${all.length} pods)` : first.message;

  const errors = problems.filter((p) => ERROR_KINDS.has(p.kind));
  if (errors.length > 0) return { status: 'error', reason: withCount(errors[0], errors) };

  const conditions = deployment.status?.conditions;
  const replicaFailure = conditionOf(conditions, 'ReplicaFailure');
  if (replicaFailure?.status === 'True') {
    return { status: 'error', reason: `cannot create pods (${replicaFailure.reason ?? 'ReplicaFailure'}): ${oneLine(replicaFailure.message ?? '')}` };
  }

  const waiting = problems.filter((p) => WAITING_FOR_NODE_KINDS.has(p.kind));
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

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}
