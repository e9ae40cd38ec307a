import type { V1Deployment } from '@kubernetes/client-node';
import { SPEC_HASH_ANNOTATION } from '../../constructs/names';
import { KubeApiError, type KubeReader } from './kube-client';
import { LOG_TAIL_LINES, failureMessage, formatSeconds, groupProblems, logExcerpt, type ProblemGroup } from './messages';
import { podProblems, withEvents, type PodProblem } from '../../lib/private/pod-diagnosis';
import type { RolloutGateProperties } from './properties';
import { rolloutState } from './rollout-status';

/** Pods whose events are read to explain a failure (one call each). */
const MAX_PODS_WITH_EVENTS = 3;
/** Crashed containers whose logs are read (one call each). */
const MAX_LOGS = 2;

/**
 * A rollout that failed, or that the gate could not follow. Its message is what CloudFormation shows
 * as the resource's status reason. The stack is one line: the Lambda runtime sends it as the error's
 * trace, and the provider framework appends all but its first line to the message.
 */
export class RolloutFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RolloutFailure';
    this.stack = `${this.name}: ${message.split('\n')[0]}`;
  }
}

/** The outcome of one look at a rollout that has not failed. */
export type RolloutCheck = { readonly complete: true; readonly note: string } | { readonly complete: false; readonly progress: string };

/**
 * One look at the rollout of `props.specHash`, `elapsedSeconds` after the resource's create or update:
 * complete, still progressing, or failed (thrown as a {@link RolloutFailure} naming the API, the pods
 * and why). It fails before the timeout only for what Kubernetes will not get past by itself: the
 * Deployment gone, ProgressDeadlineExceeded, a container crash-looping, an image that cannot be pulled, a
 * container that cannot be created (a missing Secret): the rules of `lib/private/pod-diagnosis.ts`.
 * Unschedulable pods are waited for (the cluster-autoscaler may be adding a GPU node), as are failing
 * readiness probes, until the timeout.
 */
export async function checkRollout(client: KubeReader, props: RolloutGateProperties, elapsedSeconds: number): Promise<RolloutCheck> {
  const timedOut = elapsedSeconds >= props.timeoutSeconds;
  const within = formatSeconds(props.timeoutSeconds);
  let deployment: V1Deployment | undefined;
  try {
    deployment = await client.readDeployment(props.namespace, props.deployment);
  } catch (e) {
    return apiCallFailed(e, props, timedOut);
  }

  const state = rolloutState(deployment, props.specHash);
  switch (state.kind) {
    case 'complete':
      return { complete: true, note: 'every replica updated and available' };
    case 'superseded':
      return { complete: true, note: `the Deployment now runs spec hash ${state.specHash ?? '(none)'}, not ${props.specHash}: not this revision's to wait for` };
    case 'failed': {
      // The failure stands without the pods' problems when they cannot be read.
      const problems = deployment === undefined ? [] : await newPodProblems(client, props, deployment).catch((): PodProblem[] => []);
      throw new RolloutFailure(await report(client, props, state.detail, problems));
    }
    case 'progressing': {
      let problems: PodProblem[];
      try {
        problems = await newPodProblems(client, props, deployment!);
      } catch (e) {
        return apiCallFailed(e, props, timedOut);
      }
      if (problems.some((p) => p.fatal)) {
        throw new RolloutFailure(await report(client, props, state.detail, problems));
      }
      if (timedOut) {
        throw new RolloutFailure(await report(client, props, `did not complete within ${within}: ${state.detail}`, problems));
      }
      const summary = problems.length > 0 ? `; ${problems.map((p) => `${p.pod}: ${p.reason}`).join(', ')}` : '';
      return { complete: false, progress: `${state.detail}${summary}` };
    }
  }
}

/**
 * A Kubernetes API call that failed: access denied fails the gate at once, naming the access entry; the
 * API server unreachable or failing may be back at the next look, so it is waited out until the timeout.
 */
function apiCallFailed(error: unknown, props: RolloutGateProperties, timedOut: boolean): RolloutCheck {
  if (!(error instanceof KubeApiError)) throw error;
  if (error.status === 401 || error.status === 403) {
    throw new RolloutFailure(
      `RealtimeAPI "${props.apiName}": the rollout gate may not read the API's objects in namespace ${props.namespace} ` +
        `(${error.message}); its role needs the EKS access entry with AmazonEKSViewPolicy on namespace ${props.namespace}`,
    );
  }
  if (!timedOut) return { complete: false, progress: error.message };
  const unreachable =
    error.status === undefined
      ? "; the cluster's endpoint did not answer the gate's functions (a private endpoint: they must run in the cluster's VPC, " +
        'RolloutGateProvider inVpc, with the cluster security group letting them in)'
      : '';
  throw new RolloutFailure(
    `RealtimeAPI "${props.apiName}": the rollout could not be followed within ${formatSeconds(props.timeoutSeconds)}: ${error.message}${unreachable}`,
  );
}

/** The problems of the pods of the revision waited for (those carrying its spec hash). */
async function newPodProblems(client: KubeReader, props: RolloutGateProperties, deployment: V1Deployment): Promise<PodProblem[]> {
  const matchLabels = deployment.spec?.selector?.matchLabels ?? {};
  const selector = Object.entries(matchLabels)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  const pods = await client.listPods(props.namespace, selector);
  return pods.filter((p) => p.metadata?.annotations?.[SPEC_HASH_ANNOTATION] === props.specHash).flatMap(podProblems);
}

/** The failure message, with the events and logs that explain the problems (read at most a few times). */
async function report(
  client: KubeReader,
  props: RolloutGateProperties,
  headline: string,
  problems: PodProblem[],
): Promise<string> {
  const explained: PodProblem[] = [];
  const podsWithEvents = new Set(problems.filter((p) => p.wantsEvents).map((p) => p.pod));
  const eventsRead = new Map<string, Awaited<ReturnType<KubeReader['listPodEvents']>>>();
  for (const pod of [...podsWithEvents].slice(0, MAX_PODS_WITH_EVENTS)) {
    eventsRead.set(pod, await client.listPodEvents(props.namespace, pod).catch(() => []));
  }
  for (const p of problems) {
    const events = eventsRead.get(p.pod);
    explained.push(p.wantsEvents && events ? withEvents(p, events) : p);
  }
  const groups: ProblemGroup[] = [];
  let logsRead = 0;
  for (const group of groupProblems(explained)) {
    if (group.first.wantsLog && group.container !== undefined && logsRead < MAX_LOGS) {
      logsRead++;
      try {
        const log = logExcerpt(await client.readPreviousLog(props.namespace, group.first.pod, group.container, LOG_TAIL_LINES));
        groups.push({ ...group, detail: `${group.detail}; last log lines:`, log });
      } catch (e) {
        groups.push({ ...group, detail: `${group.detail} (its log could not be read: ${(e as Error).message})` });
      }
    } else {
      groups.push(group);
    }
  }
  return failureMessage({ apiName: props.apiName, namespace: props.namespace, deployment: props.deployment, headline, groups });
}
