/**
 * The container log events the `amazon-cloudwatch-observability` add-on ships, and how to pick one
 * API's out of them.
 *
 * Its Fluent Bit tails `/var/log/containers/*.log`, adds Kubernetes metadata (its `kubernetes` filter
 * runs with `Labels Off`, so pod labels are NOT in the events) and writes each line to
 * `/aws/containerinsights/<cluster>/application`, stream `<node>-application.var.log.containers.<pod>_<namespace>_<container>-<id>.log`,
 * as JSON: `{"time": ..., "stream": "stdout", "log": "<the line>", "kubernetes": {"pod_name",
 * "namespace_name", "container_name", "host", "container_image", ...}}` (`log_processed` besides when
 * the line itself is JSON).
 *
 * Without labels, an API's pods are told apart by name: a Deployment's pods are named
 * `<deployment>-<pod-template-hash>-<suffix>`, neither part containing `-`. Matching the whole name
 * keeps `iris` from also catching `iris-v2`'s pods (`iris-v2-7d9f8c6b5-x2x4z`), which a prefix would.
 */

/** The log group the add-on writes container logs to. */
export function applicationLogGroup(cluster: string): string {
  return `/aws/containerinsights/${cluster}/application`;
}

/**
 * Kubernetes cuts a generated name's prefix to 58 characters before adding 5 random ones, so the pods
 * of an API whose name is longer than this may lose the `-` between hash and suffix.
 */
const LONGEST_UNCUT_NAME = 58 - '-0123456789-'.length;

/**
 * The pod names of a Deployment's pods, as a regular expression both CloudWatch Logs and JavaScript
 * read (CloudWatch Logs' has no groups: hence `-?` rather than an optional group).
 */
export function podNamePattern(apiName: string): string {
  // API names are DNS-1035 labels (lowercase letters, digits, '-'): nothing in them needs escaping.
  return apiName.length > LONGEST_UNCUT_NAME ? `^${apiName}-[a-z0-9]+-?[a-z0-9]+$` : `^${apiName}-[a-z0-9]+-[a-z0-9]+$`;
}

export interface LogSelection {
  readonly apiName: string;
  readonly namespace: string;
  /** Only this container's lines. */
  readonly container?: string;
}

/**
 * The CloudWatch Logs filter pattern of an API's lines (FilterLogEvents' `filterPattern`, StartLiveTail's
 * `logEventFilterPattern`): a JSON pattern on the namespace, the pod name (a regular expression between
 * `%`, which CloudWatch Logs accepts in JSON patterns) and the container.
 */
export function filterPattern(selection: LogSelection): string {
  const terms = [
    `($.kubernetes.namespace_name = "${selection.namespace}")`,
    `($.kubernetes.pod_name = %${podNamePattern(selection.apiName)}%)`,
  ];
  if (selection.container !== undefined) terms.push(`($.kubernetes.container_name = "${selection.container}")`);
  return `{ ${terms.join(' && ')} }`;
}

/** One container log line. */
export interface ContainerLogLine {
  readonly pod: string;
  readonly container: string;
  readonly namespace: string;
  readonly text: string;
  readonly timestamp?: number;
}

/** Reads an event's message; undefined when it is not a container log event of the add-on's shape. */
export function parseLogEvent(message: string, timestamp?: number): ContainerLogLine | undefined {
  let record: { log?: unknown; kubernetes?: { pod_name?: unknown; container_name?: unknown; namespace_name?: unknown } };
  try {
    record = JSON.parse(message);
  } catch {
    return undefined;
  }
  const k8s = record?.kubernetes;
  if (typeof k8s?.pod_name !== 'string' || typeof record.log !== 'string') return undefined;
  return {
    pod: k8s.pod_name,
    container: typeof k8s.container_name === 'string' ? k8s.container_name : '',
    namespace: typeof k8s.namespace_name === 'string' ? k8s.namespace_name : '',
    // The docker parser keeps the line's newline; the CRI parser does not.
    text: record.log.replace(/\r?\n$/, ''),
    timestamp,
  };
}

/** Whether a line belongs to the selection (the same test as the filter pattern, run again here). */
export function selects(selection: LogSelection, line: ContainerLogLine): boolean {
  return (
    line.namespace === selection.namespace &&
    new RegExp(podNamePattern(selection.apiName)).test(line.pod) &&
    (selection.container === undefined || line.container === selection.container)
  );
}

export interface FormatOptions {
  /** Name the container too (when several containers' lines are shown). */
  readonly withContainer: boolean;
  /** Start with the event's time (ISO 8601). */
  readonly timestamps: boolean;
}

/** `[pod container] text`, the way the lines are printed. */
export function formatLogLine(line: ContainerLogLine, options: FormatOptions): string {
  const time = options.timestamps && line.timestamp !== undefined ? `${new Date(line.timestamp).toISOString()} ` : '';
  const source = options.withContainer ? `${line.pod} ${line.container}` : line.pod;
  return `${time}[${source}] ${line.text}\n`;
}
