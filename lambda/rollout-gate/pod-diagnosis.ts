import type { CoreV1Event, V1ContainerStatus, V1Pod } from '@kubernetes/client-node';

/** A crash-looping container fails the rollout before the timeout once it has restarted this often. */
export const CRASH_LOOP_RESTARTS = 3;

/** Waiting reasons of a container whose image cannot be pulled. `ErrImagePull` alone may be a first, passing failure. */
const IMAGE_PULL_FAILURES = new Set(['ImagePullBackOff', 'InvalidImageName', 'ErrImageNeverPull']);
const IMAGE_PULL_REASONS = new Set([...IMAGE_PULL_FAILURES, 'ErrImagePull']);

/** Why one pod (or one of its containers) is not serving. */
export interface PodProblem {
  readonly pod: string;
  /** The container, unless the problem is the pod's (scheduling, eviction). */
  readonly container?: string;
  /** Kubernetes' word for it: `CrashLoopBackOff`, `ImagePullBackOff`, `Unschedulable`, `NotReady`... */
  readonly reason: string;
  /** What a person reads: the reason with its exit code, image or message. */
  readonly detail: string;
  /** Whether it fails the rollout at once, before the timeout: Kubernetes will not get past it by itself. */
  readonly fatal: boolean;
  /** A crashed container: the last lines of its previous run explain it. */
  readonly wantsLog: boolean;
  /** The pod's events may explain it (failing readiness probe, the cluster-autoscaler's verdict). */
  readonly wantsEvents: boolean;
}

/** The problems of one pod; none for a pod that is ready (or finished). */
export function podProblems(pod: V1Pod): PodProblem[] {
  const name = pod.metadata?.name ?? '<unnamed pod>';
  const problems: PodProblem[] = [];
  if (pod.status?.phase === 'Failed') {
    const why = [pod.status.reason, pod.status.message].filter(Boolean).join(': ');
    return [problem(name, undefined, pod.status.reason ?? 'Failed', `pod failed${why ? `: ${why}` : ''}`, { fatal: false })];
  }
  const scheduled = pod.status?.conditions?.find((c) => c.type === 'PodScheduled');
  if (scheduled?.status === 'False') {
    const reason = scheduled.reason ?? 'Unschedulable';
    problems.push(problem(name, undefined, reason, `${reason}: ${scheduled.message ?? 'not scheduled yet'}`, { fatal: false, wantsEvents: true }));
    return problems;
  }
  const statuses = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])];
  for (const status of statuses) {
    const found = containerProblem(name, status);
    if (found) problems.push(found);
  }
  if (problems.length === 0 && pod.status?.phase === 'Pending') {
    problems.push(problem(name, undefined, 'Pending', 'Pending: scheduled, containers not started yet', { fatal: false }));
  }
  return problems;
}

function containerProblem(pod: string, status: V1ContainerStatus): PodProblem | undefined {
  const container = status.name;
  const waiting = status.state?.waiting;
  if (waiting?.reason === 'CrashLoopBackOff') {
    const last = status.lastState?.terminated;
    const exit = last ? `exit code ${last.exitCode}${last.reason && last.reason !== 'Error' ? ` (${last.reason})` : ''}` : 'crashed';
    return problem(pod, container, 'CrashLoopBackOff', `CrashLoopBackOff: ${exit}, ${status.restartCount} ${status.restartCount === 1 ? 'restart' : 'restarts'}`, {
      fatal: status.restartCount >= CRASH_LOOP_RESTARTS,
      wantsLog: true,
    });
  }
  if (waiting?.reason !== undefined && IMAGE_PULL_REASONS.has(waiting.reason)) {
    const message = waiting.message ? `: ${waiting.message}` : '';
    return problem(pod, container, waiting.reason, `${waiting.reason} for image ${status.image}${message}`, {
      fatal: IMAGE_PULL_FAILURES.has(waiting.reason),
    });
  }
  if (waiting !== undefined) {
    const reason = waiting.reason ?? 'Waiting';
    return problem(pod, container, reason, `${reason}${waiting.message ? `: ${waiting.message}` : ''}`, { fatal: false });
  }
  const terminated = status.state?.terminated;
  if (terminated !== undefined && terminated.exitCode !== 0) {
    const reason = terminated.reason ?? 'Error';
    return problem(pod, container, reason, `exited with code ${terminated.exitCode} (${reason})`, { fatal: false });
  }
  if (status.state?.running !== undefined && !status.ready) {
    return problem(pod, container, 'NotReady', 'running but not ready', { fatal: false, wantsEvents: true });
  }
  return undefined;
}

function problem(
  pod: string,
  container: string | undefined,
  reason: string,
  detail: string,
  flags: { fatal: boolean; wantsLog?: boolean; wantsEvents?: boolean },
): PodProblem {
  return { pod, container, reason, detail, fatal: flags.fatal, wantsLog: flags.wantsLog ?? false, wantsEvents: flags.wantsEvents ?? false };
}

/**
 * A problem told better with the pod's events: a container not ready gets the latest failing probe
 * (`Readiness probe failed: HTTP probe failed with statuscode: 503`), an unschedulable pod the
 * cluster-autoscaler's latest verdict (`pod didn't trigger scale-up: ...`).
 */
export function withEvents(found: PodProblem, events: readonly CoreV1Event[]): PodProblem {
  if (found.reason === 'NotReady') {
    const probe = latest(events.filter((e) => e.reason === 'Unhealthy' && /^Readiness probe/.test(e.message ?? '')));
    return probe ? { ...found, detail: `not ready: ${firstLine(probe.message!)}` } : found;
  }
  if (found.container === undefined) {
    const autoscaler = latest(events.filter((e) => e.reason === 'NotTriggerScaleUp'));
    return autoscaler ? { ...found, detail: `${found.detail}; cluster-autoscaler: ${firstLine(autoscaler.message ?? '')}` } : found;
  }
  return found;
}

/** The most recent event of a list (by last time seen; the list's own order breaks ties). */
function latest(events: readonly CoreV1Event[]): CoreV1Event | undefined {
  const time = (e: CoreV1Event) => new Date(e.lastTimestamp ?? e.eventTime ?? e.metadata?.creationTimestamp ?? 0).getTime();
  return events.reduce<CoreV1Event | undefined>((best, e) => (best === undefined || time(e) >= time(best) ? e : best), undefined);
}

function firstLine(text: string): string {
  return text.split('\n')[0].trim();
}
