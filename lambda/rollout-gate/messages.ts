import type { PodProblem } from '../../lib/private/pod-diagnosis';

/**
 * The longest failure message. CloudFormation keeps about 4 KB of a resource's status reason, and the
 * provider framework appends the handler's log group to it; this leaves room and stays readable in
 * `cdk deploy`'s output.
 */
export const MAX_MESSAGE_LENGTH = 2_000;
/** Log lines of a crashed container fetched and shown (its last ones). */
export const LOG_TAIL_LINES = 12;
/** At most this many characters of one line of a log are shown. */
const MAX_LOG_LINE = 160;
/** At most this many kinds of problem are listed; the pods of each are named. */
const MAX_GROUPS = 4;
/** At most this many pods are named per kind of problem. */
const MAX_PODS_NAMED = 3;

/** A kind of problem shared by one or more pods, with the log lines that explain it when there are some. */
export interface ProblemGroup {
  /** The container, when the problem is one container's. */
  readonly container?: string;
  readonly detail: string;
  readonly pods: readonly string[];
  /** The last log lines of the first pod's crashed container, or why they could not be read. */
  readonly log?: string;
  /** The first pod's problem (for reading its log or events). */
  readonly first: PodProblem;
}

/** The problems grouped by container and detail, in order of first appearance, fatal ones first. */
export function groupProblems(problems: readonly PodProblem[]): ProblemGroup[] {
  const groups = new Map<string, { container?: string; detail: string; pods: string[]; first: PodProblem }>();
  const ordered = [...problems.filter((p) => p.fatal), ...problems.filter((p) => !p.fatal)];
  for (const p of ordered) {
    const key = `${p.container ?? ''}\u0000${p.detail}`;
    const group = groups.get(key);
    if (group) {
      if (!group.pods.includes(p.pod)) group.pods.push(p.pod);
    } else {
      groups.set(key, { container: p.container, detail: p.detail, pods: [p.pod], first: p });
    }
  }
  return [...groups.values()];
}

/** What a failed rollout's message is made of. */
export interface FailureReport {
  readonly apiName: string;
  readonly namespace: string;
  readonly deployment: string;
  /** The rollout's own state: `did not complete within 10m: 1 of 2 updated replicas available`. */
  readonly headline: string;
  readonly groups: readonly ProblemGroup[];
}

/**
 * The message a failed gate gives CloudFormation: the API, what the Deployment reports, then each kind
 * of problem with the pods it hits and, for a crash, the container's last log lines. Never longer than
 * {@link MAX_MESSAGE_LENGTH}: log lines go first, then problems past the first ones.
 */
export function failureMessage(report: FailureReport): string {
  const head = clip(`RealtimeAPI "${report.apiName}" did not roll out (Deployment ${report.namespace}/${report.deployment}): ${report.headline}`, 400);
  const render = (logLines: number, groupCount: number): string => {
    const groups = report.groups.slice(0, groupCount);
    const out = [head];
    for (const group of groups) {
      out.push(clip(`- ${podList(group.pods)}${group.container ? `, container ${group.container}` : ''}: ${group.detail}`, 400));
      if (logLines > 0 && group.log !== undefined) {
        out.push(...group.log.split('\n').slice(-logLines).map((l) => `    | ${clip(l, MAX_LOG_LINE)}`));
      }
    }
    const hidden = report.groups.length - groups.length;
    if (hidden > 0) out.push(`- and ${hidden} more kind${hidden === 1 ? '' : 's'} of problem`);
    return out.join('\n');
  };
  const groupCount = Math.min(report.groups.length, MAX_GROUPS);
  const attempts: Array<[number, number]> = [
    [LOG_TAIL_LINES, groupCount],
    [LOG_TAIL_LINES / 2, groupCount],
    [LOG_TAIL_LINES / 4, groupCount],
    [LOG_TAIL_LINES / 4, 1],
    [0, 1],
  ];
  for (const [logLines, groups] of attempts) {
    const text = render(logLines, groups);
    if (text.length <= MAX_MESSAGE_LENGTH) return text;
  }
  return clip(render(0, 1), MAX_MESSAGE_LENGTH);
}

/** A log's last lines for a message: trailing blank lines dropped, at most {@link LOG_TAIL_LINES}. */
export function logExcerpt(log: string): string {
  const lines = log.replace(/\s+$/, '').split('\n').map((l) => l.replace(/\r$/, ''));
  const tail = lines.slice(-LOG_TAIL_LINES);
  return tail.length === 0 || (tail.length === 1 && tail[0] === '') ? '(the log is empty)' : tail.join('\n');
}

function podList(pods: readonly string[]): string {
  const named = pods.slice(0, MAX_PODS_NAMED).join(', ');
  const more = pods.length > MAX_PODS_NAMED ? ` and ${pods.length - MAX_PODS_NAMED} more` : '';
  return `${pods.length === 1 ? 'pod' : 'pods'} ${named}${more}`;
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** A duration in seconds, the way people say it: `10m`, `90s`, `1m30s`. */
export function formatSeconds(seconds: number): string {
  const minutes = Math.floor(seconds / 60);
  const rest = seconds % 60;
  if (minutes === 0) return `${rest}s`;
  return rest === 0 ? `${minutes}m` : `${minutes}m${rest}s`;
}
