/**
 * Why a pod is not serving, in one place for the two readers of pods: the rollout gate's Lambda (which fails
 * a deploy on a `fatal` problem) and `cortex get` (which shows an API in error or pending). No imports: the
 * gate's bundle takes this file alone, and the pod types below are the fields read, which both
 * `@kubernetes/client-node`'s `V1Pod` and the CLI's own `Pod` satisfy.
 */

/** A crash-looping container fails the rollout before the timeout once it has restarted this often. */
export const CRASH_LOOP_RESTARTS = 3;

/**
 * Waiting reasons of a container whose image cannot be pulled, and whether each fails a rollout at once.
 * `ErrImagePull` and `RegistryUnavailable` are one failed attempt (a timeout, a registry briefly down): the
 * kubelet retries, and a pull that keeps failing turns to `ImagePullBackOff` within seconds.
 */
const IMAGE_PULL_REASONS: ReadonlyMap<string, boolean> = new Map([
  ['ImagePullBackOff', true],
  ['InvalidImageName', true],
  ['ErrImageNeverPull', true],
  ['ErrImagePull', false],
  ['RegistryUnavailable', false],
]);

/**
 * Waiting reasons of a container that cannot be created or started: a missing Secret, ConfigMap or key
 * (`CreateContainerConfigError`), a command that does not exist, a failing lifecycle hook. Kubernetes
 * retries them, but they last until someone changes the cluster or the spec: they fail a rollout at once.
 */
const CONTAINER_ERROR_REASONS = new Set(['CreateContainerConfigError', 'CreateContainerError', 'RunContainerError', 'PreCreateHookError', 'PostStartHookError']);

/**
 * Messages of those reasons that pass by themselves: a kubelet on a node that just joined has not listed
 * the Services yet (it cannot write their environment variables), a container runtime too busy to answer.
 */
const PASSING_CONTAINER_ERRORS = [/services have not yet been read at least once/i, /context deadline exceeded/i];

/** The accelerator resources, by what they are called in a status reason. */
const ACCELERATORS: readonly { readonly prefix: string; readonly name: string }[] = [
  { prefix: 'nvidia.com/gpu', name: 'GPU' },
  { prefix: 'aws.amazon.com/neuron', name: 'Inferentia/Trainium' },
];

/** The fields of a container state that are read. */
export interface DiagnosedContainerState {
  readonly waiting?: { readonly reason?: string; readonly message?: string };
  readonly running?: object;
  readonly terminated?: { readonly exitCode?: number; readonly reason?: string };
}

/** The fields of a container status that are read. */
export interface DiagnosedContainerStatus {
  readonly name: string;
  readonly image?: string;
  readonly ready?: boolean;
  readonly restartCount?: number;
  readonly state?: DiagnosedContainerState;
  readonly lastState?: DiagnosedContainerState;
}

/** The fields of a container's spec that are read. */
export interface DiagnosedContainer {
  readonly name: string;
  readonly image?: string;
  readonly resources?: { readonly limits?: Readonly<Record<string, string>>; readonly requests?: Readonly<Record<string, string>> };
}

/** The fields of a pod that are read. */
export interface DiagnosedPod {
  readonly metadata?: { readonly name?: string };
  readonly spec?: {
    readonly nodeName?: string;
    readonly schedulerName?: string;
    readonly containers?: readonly DiagnosedContainer[];
    readonly initContainers?: readonly DiagnosedContainer[];
  };
  readonly status?: {
    readonly phase?: string;
    readonly reason?: string;
    readonly message?: string;
    readonly conditions?: readonly { readonly type: string; readonly status: string; readonly reason?: string; readonly message?: string }[];
    readonly containerStatuses?: readonly DiagnosedContainerStatus[];
    readonly initContainerStatuses?: readonly DiagnosedContainerStatus[];
  };
}

/** The fields of a pod's event that are read. */
export interface DiagnosedEvent {
  readonly reason?: string;
  readonly message?: string;
  readonly lastTimestamp?: Date | string;
  readonly eventTime?: Date | string;
  readonly metadata?: { readonly creationTimestamp?: Date | string };
}

/**
 * What kind of problem:
 * - errors (`cortex get` shows the API in `error`): `image-pull`, `crash-loop`, `container-error`;
 * - waits for a node (`pending`): `unschedulable`, `not-scheduled`;
 * - the rest, which a rollout passes through: `starting` (another waiting reason), `not-ready` (a failing
 *   readiness probe), `exited` (a container that stopped, not yet crash-looping), `failed` (an evicted pod,
 *   which its ReplicaSet replaces).
 */
export type PodProblemKind = 'image-pull' | 'crash-loop' | 'container-error' | 'unschedulable' | 'not-scheduled' | 'starting' | 'not-ready' | 'exited' | 'failed';

/** The kinds that are errors: Kubernetes will not get past them without a change (or a crash loop so far). */
export const ERROR_KINDS: ReadonlySet<PodProblemKind> = new Set<PodProblemKind>(['image-pull', 'crash-loop', 'container-error']);
/** The kinds that wait for a node. */
export const WAITING_FOR_NODE_KINDS: ReadonlySet<PodProblemKind> = new Set<PodProblemKind>(['unschedulable', 'not-scheduled']);

/** Why one pod (or one of its containers) is not serving. */
export interface PodProblem {
  readonly pod: string;
  /** The container, unless the problem is the pod's (scheduling, eviction). */
  readonly container?: string;
  readonly kind: PodProblemKind;
  /** Kubernetes' word for it: `CrashLoopBackOff`, `ImagePullBackOff`, `Unschedulable`, `NotReady`... */
  readonly reason: string;
  /** What a person reads, without the pod and container names: the reason with its exit code, image or message. */
  readonly detail: string;
  /**
   * Whether it fails a rollout at once, before its timeout: Kubernetes will not get past it by itself. An
   * error kind that is not fatal yet: a first failed pull, a crash loop under {@link CRASH_LOOP_RESTARTS}.
   */
  readonly fatal: boolean;
  /** A crashed container: the last lines of its previous run explain it. */
  readonly wantsLog: boolean;
  /** The pod's events may explain it (failing readiness probe, the cluster-autoscaler's verdict). */
  readonly wantsEvents: boolean;
}

/** The problems of one pod, pod-wide ones first; none for a pod that is ready (or finished). */
export function podProblems(pod: DiagnosedPod): PodProblem[] {
  const name = pod.metadata?.name ?? '<unnamed pod>';
  const status = pod.status;
  if (status?.phase === 'Succeeded') return [];
  if (status?.phase === 'Failed') {
    const why = [status.reason, status.message].filter(Boolean).join(': ');
    return [problem(name, undefined, 'failed', status.reason ?? 'Failed', `pod failed${why ? `: ${why}` : ''}`)];
  }
  const scheduled = status?.conditions?.find((c) => c.type === 'PodScheduled');
  if (scheduled?.status === 'False') {
    const reason = scheduled.reason ?? 'Unschedulable';
    const detail =
      reason === 'Unschedulable' ? unschedulableMessage(scheduled.message ?? '', acceleratorRequests(pod)) : `${reason}: ${oneLine(scheduled.message ?? 'not scheduled yet')}`;
    return [problem(name, undefined, 'unschedulable', reason, detail, { wantsEvents: true })];
  }
  const problems: PodProblem[] = [];
  for (const container of [...(status?.initContainerStatuses ?? []), ...(status?.containerStatuses ?? [])]) {
    const found = containerProblem(name, pod, container);
    if (found) problems.push(found);
  }
  if (problems.length > 0 || status?.phase !== 'Pending') return problems;
  const scheduler = pod.spec?.schedulerName;
  if (!pod.spec?.nodeName && scheduler && scheduler !== 'default-scheduler' && scheduled === undefined) {
    return [
      problem(
        name,
        undefined,
        'not-scheduled',
        'NotScheduled',
        `not scheduled yet: scheduler "${scheduler}" has not placed the pod (is it running? the Neuron scheduler is deployed by the Neuron Helm chart)`,
        { wantsEvents: true },
      ),
    ];
  }
  return [problem(name, undefined, 'starting', 'Pending', 'Pending: scheduled, containers not started yet')];
}

function containerProblem(name: string, pod: DiagnosedPod, status: DiagnosedContainerStatus): PodProblem | undefined {
  const container = status.name;
  const waiting = status.state?.waiting;
  const said = waiting?.message ? `: ${oneLine(waiting.message)}` : '';
  if (waiting?.reason === 'CrashLoopBackOff') {
    const restarts = status.restartCount ?? 0;
    const last = status.lastState?.terminated;
    let exit = '';
    if (last?.reason === 'OOMKilled') {
      const limit = containerSpec(pod, container)?.resources?.limits?.memory;
      exit = `, killed for using more memory than its limit${limit ? ` (${limit})` : ''}`;
    } else if (last) {
      exit = `, last exit code ${last.exitCode ?? '?'}${last.reason && last.reason !== 'Error' ? ` (${last.reason})` : ''}`;
    }
    return problem(name, container, 'crash-loop', 'CrashLoopBackOff', `crash looping: restarted ${restarts} time${restarts === 1 ? '' : 's'}${exit}`, {
      fatal: restarts >= CRASH_LOOP_RESTARTS,
      wantsLog: true,
    });
  }
  if (waiting?.reason !== undefined && IMAGE_PULL_REASONS.has(waiting.reason)) {
    const image = status.image || containerSpec(pod, container)?.image;
    return problem(name, container, 'image-pull', waiting.reason, `image pull failure: cannot pull ${image ?? 'its image'} (${waiting.reason}${said})`, {
      fatal: IMAGE_PULL_REASONS.get(waiting.reason)!,
    });
  }
  if (waiting?.reason !== undefined && CONTAINER_ERROR_REASONS.has(waiting.reason)) {
    if (!PASSING_CONTAINER_ERRORS.some((p) => p.test(waiting.message ?? ''))) {
      return problem(name, container, 'container-error', waiting.reason, `cannot start (${waiting.reason}${said})`, { fatal: true });
    }
  }
  if (waiting !== undefined) {
    const reason = waiting.reason ?? 'Waiting';
    return problem(name, container, 'starting', reason, `${reason}${said}`);
  }
  const terminated = status.state?.terminated;
  if (terminated !== undefined && terminated.exitCode !== 0) {
    const reason = terminated.reason ?? 'Error';
    return problem(name, container, 'exited', reason, `exited with code ${terminated.exitCode ?? '?'} (${reason})`);
  }
  if (status.state?.running !== undefined && !status.ready) {
    return problem(name, container, 'not-ready', 'NotReady', 'running but not ready', { wantsEvents: true });
  }
  return undefined;
}

function problem(
  pod: string,
  container: string | undefined,
  kind: PodProblemKind,
  reason: string,
  detail: string,
  flags: { fatal?: boolean; wantsLog?: boolean; wantsEvents?: boolean } = {},
): PodProblem {
  return { pod, container, kind, reason, detail, fatal: flags.fatal ?? false, wantsLog: flags.wantsLog ?? false, wantsEvents: flags.wantsEvents ?? false };
}

/**
 * A problem told better with the pod's events: a container not ready gets the latest failing probe
 * (`Readiness probe failed: HTTP probe failed with statuscode: 503`), an unschedulable pod the
 * cluster-autoscaler's latest verdict (`pod didn't trigger scale-up: ...`).
 */
export function withEvents(found: PodProblem, events: readonly DiagnosedEvent[]): PodProblem {
  if (found.kind === 'not-ready') {
    const probe = latest(events.filter((e) => e.reason === 'Unhealthy' && /^Readiness probe/.test(e.message ?? '')));
    return probe ? { ...found, detail: `not ready: ${firstLine(probe.message!)}` } : found;
  }
  if (WAITING_FOR_NODE_KINDS.has(found.kind)) {
    const autoscaler = latest(events.filter((e) => e.reason === 'NotTriggerScaleUp'));
    return autoscaler ? { ...found, detail: `${found.detail}; cluster-autoscaler: ${firstLine(autoscaler.message ?? '')}` } : found;
  }
  return found;
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
function acceleratorRequests(pod: DiagnosedPod): string[] {
  const names = (pod.spec?.containers ?? []).flatMap((c) => [...Object.keys(c.resources?.limits ?? {}), ...Object.keys(c.resources?.requests ?? {})]);
  return [...new Set(names.filter((n) => ACCELERATORS.some((a) => n.startsWith(a.prefix))))];
}

function containerSpec(pod: DiagnosedPod, container: string): DiagnosedContainer | undefined {
  return [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])].find((c) => c.name === container);
}

/** The most recent event of a list (by last time seen; the list's own order breaks ties). */
function latest(events: readonly DiagnosedEvent[]): DiagnosedEvent | undefined {
  const time = (e: DiagnosedEvent) => new Date(e.lastTimestamp ?? e.eventTime ?? e.metadata?.creationTimestamp ?? 0).getTime();
  return events.reduce<DiagnosedEvent | undefined>((best, e) => (best === undefined || time(e) >= time(best) ? e : best), undefined);
}

function firstLine(text: string): string {
  return text.split('\n')[0].trim();
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}
