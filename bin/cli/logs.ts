import {
  CloudWatchLogsClient,
  DescribeLogGroupsCommand,
  FilterLogEventsCommand,
  StartLiveTailCommand,
  StartLiveTailResponseStream,
} from '@aws-sdk/client-cloudwatch-logs';
import { API_KIND_LABEL, DEFAULT_NAMESPACE } from '../../constructs/names';
import { DNS_1035_LABEL, DNS_1035_RULE } from '../../lib/config/names';
import { parseCommandArgs } from './args';
import { classifyAwsError } from './aws-errors';
import { CliIo, EXIT_INVALID, EXIT_OK, UsageError } from './io';
import { splitterTargets } from './kube/apis';
import { KubeApiError, KubeClient, KubeConnectionError } from './kube/client';
import { KubeconfigError, KubeTarget, loadKubeconfig } from './kube/kubeconfig';
import { Deployment, VirtualService } from './kube/objects';
import { applicationLogGroup, filterPattern, formatLogLine, LogSelection, parseLogEvent, selects } from './log-events';
import { Spinner } from './term';
import { parseSince } from './time';

export const logsUsage = `Usage: cortex logs API [options]

Prints an API's container logs from CloudWatch Logs, where the amazon-cloudwatch-observability add-on
ships them (log group /aws/containerinsights/<cluster>/application), each line prefixed with its pod and
container. With --follow, streams new lines as they arrive (CloudWatch Logs Live Tail) until Ctrl-C.

Options:
  -f, --follow           stream new lines until Ctrl-C
      --since WHEN       from this long ago (10m, 1h30m, 2d) or this date-time (2024-05-01T10:00:00Z)
                         (default: 1h; with --follow: new lines only)
  -c, --container NAME   only this container's lines (api, proxy, ...)
  -t, --timestamps       start each line with its time
      --cluster NAME     the EKS cluster (default: the one of the kubeconfig's context)
      --region REGION    its AWS region (default: the kubeconfig context's, else the AWS configuration's)
      --profile NAME     the AWS profile (default: $AWS_PROFILE, else the one the kubeconfig's context uses)
      --log-group NAME   the log group (default: /aws/containerinsights/<cluster>/application)
  -n, --namespace NS     the namespace of the APIs (default: ${DEFAULT_NAMESPACE})
      --kubeconfig PATH  the kubeconfig (default: $KUBECONFIG, else ~/.kube/config)
      --context NAME     the kubeconfig context (default: its current context)
  -h, --help             show this help
`;

/** How far back `cortex logs` reads without --since. */
const DEFAULT_SINCE = '1h';

interface LogsOptions {
  readonly selection: LogSelection;
  readonly follow: boolean;
  /** Epoch ms; undefined with --follow and no --since. */
  readonly startTime?: number;
  readonly sinceText: string;
  readonly timestamps: boolean;
  readonly cluster?: string;
  readonly region?: string;
  readonly profile?: string;
  readonly logGroup?: string;
  readonly kubeconfig?: string;
  readonly context?: string;
}

/** `cortex logs API`. `signal` stops it (the CLI passes none and stops on Ctrl-C or SIGTERM). */
export function logsCommand(argv: string[], io: CliIo, signal?: AbortSignal): number | Promise<number> {
  const { values, positionals } = parseCommandArgs(
    argv,
    {
      follow: { type: 'boolean', short: 'f' },
      since: { type: 'string' },
      container: { type: 'string', short: 'c' },
      timestamps: { type: 'boolean', short: 't' },
      cluster: { type: 'string' },
      region: { type: 'string' },
      profile: { type: 'string' },
      'log-group': { type: 'string' },
      namespace: { type: 'string', short: 'n', default: DEFAULT_NAMESPACE },
      kubeconfig: { type: 'string' },
      context: { type: 'string' },
    },
    1,
  );
  if (values.help) {
    io.out(logsUsage);
    return EXIT_OK;
  }
  const apiName = positionals[0];
  if (apiName === undefined) throw new UsageError('missing API: the name of the API whose logs to print');
  if (!DNS_1035_LABEL.test(apiName)) throw new UsageError(`"${apiName}" is not an API name (${DNS_1035_RULE})`);
  const follow = values.follow === true;
  const sinceText = (values.since as string | undefined) ?? (follow ? undefined : DEFAULT_SINCE);
  let startTime: number | undefined;
  if (sinceText !== undefined) {
    try {
      startTime = parseSince(sinceText, Date.now());
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
  }
  const options: LogsOptions = {
    selection: { apiName, namespace: values.namespace as string, container: values.container as string | undefined },
    follow,
    startTime,
    sinceText: sinceText ?? 'now',
    timestamps: values.timestamps === true,
    cluster: values.cluster as string | undefined,
    region: values.region as string | undefined,
    profile: values.profile as string | undefined,
    logGroup: values['log-group'] as string | undefined,
    kubeconfig: values.kubeconfig as string | undefined,
    context: values.context as string | undefined,
  };

  const controller = new AbortController();
  const stop = () => controller.abort();
  if (signal) {
    if (signal.aborted) controller.abort();
    signal.addEventListener('abort', stop, { once: true });
  } else {
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  }
  return runLogs(options, io, controller.signal).finally(() => {
    signal?.removeEventListener('abort', stop);
    process.removeListener('SIGINT', stop);
    process.removeListener('SIGTERM', stop);
  });
}

async function runLogs(options: LogsOptions, io: CliIo, signal: AbortSignal): Promise<number> {
  const { selection } = options;
  const fail = (message: string) => {
    io.err(`cortex logs: ${message}\n`);
    return EXIT_INVALID;
  };

  // The kubeconfig tells which cluster, and lets us check that the API exists (logs alone cannot).
  let target: KubeTarget | undefined;
  let kubeconfigProblem: string | undefined;
  try {
    target = loadKubeconfig({ kubeconfig: options.kubeconfig, context: options.context, cwd: io.cwd });
  } catch (e) {
    if (!(e instanceof KubeconfigError)) throw e;
    kubeconfigProblem = e.message;
  }
  const cluster = options.cluster ?? target?.eks.name;
  if (cluster === undefined && options.logGroup === undefined) {
    return fail(
      target
        ? `the kubeconfig's context "${target.contextName}" does not name an EKS cluster; pass --cluster NAME`
        : `which cluster? Pass --cluster NAME (no kubeconfig to tell: ${kubeconfigProblem})`,
    );
  }
  if (target) {
    const spinner = new Spinner(io);
    const check = await spinner.during(`looking for ${selection.apiName}…`, () => checkApi(target!, selection));
    if ('error' in check) return fail(check.error);
    if ('note' in check) io.err(`cortex logs: note: ${check.note}\n`);
  }

  const logGroup = options.logGroup ?? applicationLogGroup(cluster!);
  const client = new CloudWatchLogsClient({
    region: options.region ?? target?.eks.region,
    // An explicit profile, else AWS_PROFILE (the SDK reads it), else the one the kubeconfig runs `aws eks get-token` with.
    profile: options.profile ?? (process.env.AWS_PROFILE ? undefined : target?.eks.profile),
  });
  const printer = new LinePrinter(io, selection, options.timestamps);
  try {
    if (options.follow) {
      await follow(client, logGroup, options, printer, io, signal);
    } else {
      await readHistory(client, { logGroup, selection, startTime: options.startTime!, endTime: Date.now() }, printer, io, signal);
      if (printer.count === 0 && !signal.aborted) {
        io.err(
          `cortex logs: no lines of ${selection.apiName}${selection.container ? ` (container ${selection.container})` : ''} ` +
            `in ${logGroup} since ${options.sinceText}${target ? '' : '; is the API name right?'}\n`,
        );
      }
    }
    return EXIT_OK;
  } catch (e) {
    if (signal.aborted) return EXIT_OK;
    return fail(await describeAwsError(e, { client, logGroup, cluster }));
  } finally {
    client.destroy();
  }
}

type ApiCheck = { readonly ok: true } | { readonly error: string } | { readonly note: string };

/** Whether `selection.apiName` is a RealtimeAPI of the namespace, and `--container` one of its containers. */
async function checkApi(target: KubeTarget, selection: LogSelection): Promise<ApiCheck> {
  const client = new KubeClient(target, { timeoutMs: 10_000 });
  const ns = encodeURIComponent(selection.namespace);
  try {
    const [deployments, routes] = await Promise.all([
      client.list<Deployment>(`/apis/apps/v1/namespaces/${ns}/deployments`, { labelSelector: `${API_KIND_LABEL}=RealtimeAPI` }),
      client.listOptional<VirtualService>(`/apis/networking.istio.io/v1/namespaces/${ns}/virtualservices`, {
        labelSelector: `${API_KIND_LABEL}=TrafficSplitter`,
      }),
    ]);
    const api = deployments.items.find((d) => d.metadata.name === selection.apiName);
    if (api) {
      const containers = (api.spec?.template?.spec?.containers ?? []).map((c) => c.name);
      if (selection.container !== undefined && containers.length > 0 && !containers.includes(selection.container)) {
        return { error: `API "${selection.apiName}" has no container "${selection.container}" (containers: ${containers.join(', ')})` };
      }
      return { ok: true };
    }
    const splitter = routes?.items.find((vs) => vs.metadata.name === selection.apiName);
    if (splitter) {
      const targets = splitterTargets(splitter).map((t) => t.name);
      return { error: `${selection.apiName} is a TrafficSplitter: its logs are those of its APIs (${targets.join(', ')})` };
    }
    const known = deployments.items.map((d) => d.metadata.name).sort();
    return {
      error:
        `no API named "${selection.apiName}" in namespace "${selection.namespace}" (context "${target.contextName}"); ` +
        (known.length > 0 ? `deployed: ${known.join(', ')}` : 'none is deployed there'),
    };
  } catch (e) {
    if (e instanceof KubeApiError || e instanceof KubeConnectionError || e instanceof KubeconfigError) {
      return { note: `could not check that API "${selection.apiName}" exists (${e.message}); reading its logs anyway` };
    }
    throw e;
  } finally {
    client.close();
  }
}

/** Prints the selected lines of events, skipping what is not the API's and what was printed already. */
class LinePrinter {
  public count = 0;
  private readonly seen = new Set<string>();
  private remember = false;

  constructor(private readonly io: CliIo, private readonly selection: LogSelection, private readonly timestamps: boolean) {}

  /** From now on, remembers what it prints, so that the same events coming again are printed once. */
  public rememberPrinted(on: boolean): void {
    this.remember = on;
  }

  public print(event: { message?: string; timestamp?: number; logStreamName?: string }): void {
    if (!event.message) return;
    const line = parseLogEvent(event.message, event.timestamp);
    // The filter pattern already selects; checking again costs nothing and holds if a pattern is ever loosened.
    if (!line || !selects(this.selection, line)) return;
    const key = `${event.logStreamName}\0${event.timestamp}\0${event.message}`;
    if (this.seen.has(key)) return;
    if (this.remember) this.seen.add(key);
    this.count++;
    this.io.out(formatLogLine(line, { withContainer: this.selection.container === undefined, timestamps: this.timestamps }));
  }
}

interface HistoryRequest {
  readonly logGroup: string;
  readonly selection: LogSelection;
  readonly startTime: number;
  readonly endTime: number;
}

/** FilterLogEvents over the time range, page after page (nextToken), printing as pages come. */
async function readHistory(client: CloudWatchLogsClient, request: HistoryRequest, printer: LinePrinter, io: CliIo, signal: AbortSignal): Promise<void> {
  const spinner = new Spinner(io).start(`reading ${request.logGroup}…`);
  try {
    let nextToken: string | undefined;
    do {
      const page = await client.send(
        new FilterLogEventsCommand({
          logGroupName: request.logGroup,
          filterPattern: filterPattern(request.selection),
          startTime: request.startTime,
          endTime: request.endTime,
          nextToken,
        }),
        { abortSignal: signal },
      );
      if ((page.events ?? []).length > 0) spinner.stop();
      for (const event of page.events ?? []) printer.print(event);
      nextToken = page.nextToken;
    } while (nextToken !== undefined && !signal.aborted);
  } finally {
    spinner.stop();
  }
}

/**
 * Live Tail until `signal` aborts. With --since, the lines since then are printed first: the session
 * starts before that read, so nothing written in between is lost, and what both return is printed once.
 * CloudWatch Logs ends a session after three hours; a new one then takes over.
 */
async function follow(client: CloudWatchLogsClient, logGroup: string, options: LogsOptions, printer: LinePrinter, io: CliIo, signal: AbortSignal): Promise<void> {
  const spinner = new Spinner(io);
  const arn = await spinner.during(`looking up ${logGroup}…`, () => logGroupArn(client, logGroup, signal));
  if (arn === undefined) throw new LogGroupNotFound(logGroup);
  const aborted = new Promise<typeof ABORTED>((resolve) => (signal.aborted ? resolve(ABORTED) : signal.addEventListener('abort', () => resolve(ABORTED), { once: true })));
  let history = options.startTime !== undefined;
  while (!signal.aborted) {
    const response = await client.send(
      new StartLiveTailCommand({ logGroupIdentifiers: [arn], logEventFilterPattern: filterPattern(options.selection) }),
      { abortSignal: signal },
    );
    if (history) {
      history = false;
      printer.rememberPrinted(true);
      await readHistory(client, { logGroup, selection: options.selection, startTime: options.startTime!, endTime: Date.now() }, printer, io, signal);
    }
    const stream = response.responseStream;
    if (!stream) return;
    const outcome = await readSession(stream, printer, io, aborted);
    printer.rememberPrinted(false);
    if (outcome !== 'timeout') return;
  }
}

const ABORTED = Symbol('aborted');

/** Reads one Live Tail session; says why it ended. */
async function readSession(
  stream: AsyncIterable<StartLiveTailResponseStream>,
  printer: LinePrinter,
  io: CliIo,
  aborted: Promise<typeof ABORTED>,
): Promise<'aborted' | 'ended' | 'timeout'> {
  const iterator = stream[Symbol.asyncIterator]();
  let warnedSampled = false;
  while (true) {
    const pending = iterator.next();
    // Once aborted, nobody awaits this read: its rejection (the aborted request) must not go unhandled.
    pending.catch(() => undefined);
    const next = await Promise.race([pending, aborted]);
    if (next === ABORTED) {
      iterator.return?.().catch(() => undefined);
      return 'aborted';
    }
    if (next.done) return 'ended';
    const event = next.value;
    if (event.sessionStart) {
      if (io.isTTY) io.err(`following ${event.sessionStart.logGroupIdentifiers?.join(', ') ?? ''} (Ctrl-C to stop)\n`);
    } else if (event.sessionUpdate) {
      if (event.sessionUpdate.sessionMetadata?.sampled && !warnedSampled) {
        warnedSampled = true;
        io.err('cortex logs: note: CloudWatch Logs is sampling this live tail (more than 500 lines per second): some lines are not shown\n');
      }
      for (const result of event.sessionUpdate.sessionResults ?? []) printer.print(result);
    } else if (event.SessionTimeoutException) {
      return 'timeout';
    } else if (event.SessionStreamingException) {
      throw Object.assign(new Error(event.SessionStreamingException.message ?? 'the live tail stream failed'), { name: 'SessionStreamingException' });
    }
  }
}

/** The ARN StartLiveTail wants (without the `:*` DescribeLogGroups' `arn` ends with). */
async function logGroupArn(client: CloudWatchLogsClient, logGroup: string, signal: AbortSignal): Promise<string | undefined> {
  let nextToken: string | undefined;
  do {
    const page = await client.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: logGroup, nextToken }), { abortSignal: signal });
    const group = page.logGroups?.find((g) => g.logGroupName === logGroup);
    if (group) return group.logGroupArn ?? group.arn?.replace(/:\*$/, '');
    nextToken = page.nextToken;
  } while (nextToken !== undefined);
  return undefined;
}

class LogGroupNotFound extends Error {
  constructor(logGroup: string) {
    super(`log group ${logGroup} not found`);
    this.name = 'ResourceNotFoundException';
  }
}

/** The message of an AWS failure, with what to do about it. */
async function describeAwsError(e: unknown, context: { client: CloudWatchLogsClient; logGroup: string; cluster?: string }): Promise<string> {
  const { kind, name, message } = classifyAwsError(e);
  const region = await context.client.config.region().catch(() => undefined);
  const where = region ? ` in ${region}` : '';
  switch (kind) {
    case 'no-credentials':
      return (
        `no AWS credentials: set AWS_PROFILE or pass --profile, sign in ("aws sso login", "aws configure"), ` +
        `or export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (${message})`
      );
    case 'no-region':
      return 'no AWS region: pass --region, or set AWS_REGION';
    case 'invalid-region':
      return `the AWS region is not valid (${message.replace(/^Region not accepted: /i, '')}): pass --region with a region such as us-east-1`;
    case 'expired-credentials':
      return `the AWS credentials have expired: sign in again ("aws sso login") (${message})`;
    case 'rejected-credentials':
      return `AWS did not accept the credentials${where} (${name}: ${message})`;
    case 'access-denied':
      return (
        `AWS denied access to ${context.logGroup}${where}: reading logs needs logs:FilterLogEvents, and --follow ` +
        `logs:DescribeLogGroups and logs:StartLiveTail (${message})`
      );
    case 'not-found':
      return (
        `log group ${context.logGroup} does not exist${where}: is the amazon-cloudwatch-observability add-on installed on ` +
        `cluster ${context.cluster ?? '?'}, and are the cluster and region right (--cluster, --region)?`
      );
  }
  if (name === 'InvalidParameterException' || name === 'MalformedQueryException') return `CloudWatch Logs refused the request: ${message}`;
  return `${name}: ${message}`;
}
