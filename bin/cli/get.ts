import { setTimeout as sleep } from 'node:timers/promises';
import { DEFAULT_NAMESPACE } from '../../constructs/names';
import { parseCommandArgs } from './args';
import { CliIo, EXIT_INVALID, EXIT_OK, UsageError } from './io';
import { ClusterSnapshot, GATEWAY_NAMESPACE, GATEWAY_SERVICE, readSnapshot, RealtimeApiSummary, TrafficSplitterSummary } from './kube/apis';
import { KubeApiError, KubeClient, KubeConnectionError } from './kube/client';
import { IN_CLUSTER_CONTEXT, KubeconfigError, KubeTarget, loadKubeconfig } from './kube/kubeconfig';
import {
  CustomMetricsResult,
  CustomSeries,
  DEFAULT_PROMETHEUS_SERVICE,
  formatPrometheusService,
  MetricsResult,
  parsePrometheusService,
  PrometheusService,
  readApiMetrics,
  readCustomMetrics,
} from './kube/prometheus';
import { ApiStatusCode } from './kube/status';
import { Cell, CLEAR_SCREEN, Color, formatFields, formatTable, paint, Spinner, useColor } from './term';
import { formatAge, parseDuration } from './time';

export const getUsage = `Usage: cortex get [NAME] [options]

Shows the APIs deployed in the cluster of the kubeconfig's context: status (live, updating, pending,
error and why), replicas (requested / ready / up to date), endpoint URL and last update. With NAME, one
API or traffic splitter in detail: its pods and, from the cluster's Prometheus, its request rate,
p50/p99 latency and time to first byte, 2XX/4XX/5XX responses, requests in flight and the predictor's
custom metrics (metrics_client), added up over its pods.

Options:
  -n, --namespace NS       the namespace of the APIs (default: ${DEFAULT_NAMESPACE}; in a pod, its own)
  -w, --watch              refresh until Ctrl-C (in place on a terminal)
      --interval DURATION  how often --watch refreshes (default: 2s)
      --window DURATION    the window of the rates and latencies (default: 1m)
      --json               print JSON instead of tables (with --watch, one document per line)
      --prometheus NS/SERVICE:PORT
                           where Prometheus answers in the cluster (default: ${formatPrometheusService(DEFAULT_PROMETHEUS_SERVICE)})
      --kubeconfig PATH    the kubeconfig (default: $KUBECONFIG, else ~/.kube/config, else in a pod
                           its ServiceAccount: the in-cluster configuration)
      --context NAME       the kubeconfig context (default: its current context)
  -h, --help               show this help
`;

const MAX_INTERVAL_MS = 24 * 3_600_000;

interface GetOptions {
  readonly name?: string;
  readonly namespace: string;
  readonly watch: boolean;
  readonly intervalMs: number;
  readonly windowSeconds: number;
  readonly json: boolean;
  readonly prometheus: PrometheusService;
}

/** One look at the cluster, ready to print. */
interface View {
  readonly text: string;
  /** Non-zero when the look failed (unreachable cluster, unknown API). */
  readonly code: number;
  /** Whether the text is an error message (goes to stderr when not watching). */
  readonly isError?: boolean;
}

/**
 * `cortex get [NAME]`. `signal` stops `--watch` (the CLI passes none and stops on Ctrl-C or SIGTERM).
 */
export function getCommand(argv: string[], io: CliIo, signal?: AbortSignal): number | Promise<number> {
  const { values, positionals } = parseCommandArgs(
    argv,
    {
      namespace: { type: 'string', short: 'n' },
      watch: { type: 'boolean', short: 'w' },
      interval: { type: 'string', default: '2s' },
      window: { type: 'string', default: '1m' },
      json: { type: 'boolean' },
      prometheus: { type: 'string' },
      kubeconfig: { type: 'string' },
      context: { type: 'string' },
    },
    1,
  );
  if (values.help) {
    io.out(getUsage);
    return EXIT_OK;
  }
  const intervalMs = parseDuration(values.interval as string);
  // At most a day: a timer longer than 2^31 - 1 ms fires at once, which would turn --watch into a busy loop.
  if (intervalMs === undefined || intervalMs < 500 || intervalMs > MAX_INTERVAL_MS) {
    throw new UsageError(`--interval must be a duration from 500ms to 24h (2s, 10s), got "${values.interval}"`);
  }
  const windowMs = parseDuration(values.window as string);
  // Prometheus scrapes every 10 s: a rate needs two samples.
  if (windowMs === undefined || windowMs < 20_000) throw new UsageError(`--window must be a duration of at least 20s (1m, 5m), got "${values.window}"`);
  const prometheus = values.prometheus === undefined ? DEFAULT_PROMETHEUS_SERVICE : parsePrometheusService(values.prometheus as string);
  if (!prometheus) throw new UsageError(`--prometheus must be NAMESPACE/SERVICE:PORT (e.g. prometheus/prometheus-server:80), got "${values.prometheus}"`);

  let target: KubeTarget;
  try {
    target = loadKubeconfig({ kubeconfig: values.kubeconfig as string | undefined, context: values.context as string | undefined, cwd: io.cwd, env: io.env });
  } catch (e) {
    if (!(e instanceof KubeconfigError)) throw e;
    io.err(`cortex get: ${e.message}\n`);
    return EXIT_INVALID;
  }
  const options: GetOptions = {
    name: positionals[0],
    // In a pod, the APIs of its own namespace; with a kubeconfig, the APIs' namespace whatever the context's.
    namespace: (values.namespace as string | undefined) ?? (target.contextName === IN_CLUSTER_CONTEXT ? target.namespace : undefined) ?? DEFAULT_NAMESPACE,
    watch: values.watch === true,
    intervalMs,
    windowSeconds: Math.round(windowMs / 1000),
    json: values.json === true,
    prometheus,
  };
  const client = new KubeClient(target);
  const look = () => lookAt(client, options, useColor(io) && !options.json);
  const run = options.watch ? watchCommand(look, options, io, signal) : once(look, options, io);
  return run.finally(() => client.close());
}

async function once(look: () => Promise<View>, options: GetOptions, io: CliIo): Promise<number> {
  const spinner = new Spinner(io);
  const view = await spinner.during(options.name ? `reading ${options.name}…` : 'reading the cluster…', look);
  (view.isError ? io.err : io.out)(view.text);
  return view.code;
}

async function watchCommand(look: () => Promise<View>, options: GetOptions, io: CliIo, signal?: AbortSignal): Promise<number> {
  const controller = new AbortController();
  const stop = () => controller.abort();
  signal?.addEventListener('abort', stop);
  if (!signal) {
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  }
  try {
    const title = `Every ${options.intervalMs < 1000 ? `${options.intervalMs}ms` : formatAge(options.intervalMs)}: cortex get${options.name ? ` ${options.name}` : ''}`;
    return await watch(look, { io, intervalMs: options.intervalMs, signal: controller.signal, title: options.json ? undefined : title });
  } finally {
    signal?.removeEventListener('abort', stop);
    process.removeListener('SIGINT', stop);
    process.removeListener('SIGTERM', stop);
  }
}

export interface WatchOptions {
  readonly io: CliIo;
  readonly intervalMs: number;
  /** Ends the watch; it then resolves 0. */
  readonly signal: AbortSignal;
  /** A header line above each refresh (none for JSON). */
  readonly title?: string;
  /** @default Date.now */
  readonly now?: () => Date;
}

/**
 * Prints `look()` every `intervalMs` until `signal` aborts: on a terminal the screen is cleared and
 * redrawn in place; elsewhere each refresh is printed after the previous one, a blank line between.
 * A failing look (a cluster briefly unreachable) is shown and retried, except at the first refresh,
 * which ends the watch with its code. Resolves 0 once stopped.
 */
export async function watch(look: () => Promise<View>, options: WatchOptions): Promise<number> {
  const { io, signal } = options;
  const aborted = new Promise<void>((resolve) => (signal.aborted ? resolve() : signal.addEventListener('abort', () => resolve(), { once: true })));
  const color = useColor(io);
  for (let refresh = 0; !signal.aborted; refresh++) {
    const looking = look();
    // Once stopped, nobody awaits a look still under way: its failure must not go unhandled.
    looking.catch(() => undefined);
    const view = await Promise.race([looking, aborted.then(() => undefined)]);
    if (view === undefined) break;
    if (refresh === 0 && view.code !== EXIT_OK) {
      io.err(view.text);
      return view.code;
    }
    const time = (options.now?.() ?? new Date()).toTimeString().slice(0, 8);
    const header = options.title === undefined ? '' : `${paint(`${options.title}    ${time}`, 'dim', color)}\n\n`;
    const body = header + view.text;
    io.out(io.isTTY ? CLEAR_SCREEN + body : (refresh > 0 && options.title !== undefined ? '\n' : '') + body);
    try {
      await sleep(options.intervalMs, undefined, { signal });
    } catch {
      break;
    }
  }
  return EXIT_OK;
}

async function lookAt(client: KubeClient, options: GetOptions, color: boolean): Promise<View> {
  const context = client.target.contextName;
  let snapshot: ClusterSnapshot;
  try {
    snapshot = await readSnapshot(client, options.namespace);
  } catch (e) {
    if (e instanceof KubeApiError || e instanceof KubeConnectionError || e instanceof KubeconfigError) {
      return { text: `cortex get: ${e.message}\n`, code: EXIT_INVALID, isError: true };
    }
    throw e;
  }
  const now = Date.now();
  if (options.name === undefined) {
    if (options.json) return { text: jsonLine(listJson(snapshot), options.watch), code: EXIT_OK };
    return { text: renderList(snapshot, context, now, color), code: EXIT_OK };
  }
  const api = snapshot.apis.find((a) => a.name === options.name);
  if (api) {
    const [metrics, custom] = await Promise.all([
      readApiMetrics(client, options.prometheus, api.name, options.namespace, options.windowSeconds),
      readCustomMetrics(client, options.prometheus, api.name, options.namespace),
    ]);
    if (options.json) return { text: jsonLine(apiJson(api, metrics, custom), options.watch), code: EXIT_OK };
    return { text: renderApi(api, metrics, now, color, custom), code: EXIT_OK };
  }
  const splitter = snapshot.splitters.find((s) => s.name === options.name);
  if (splitter) {
    if (options.json) return { text: jsonLine(splitter, options.watch), code: EXIT_OK };
    return { text: renderSplitter(splitter, snapshot, now, color), code: EXIT_OK };
  }
  const known = [...snapshot.apis, ...snapshot.splitters].map((a) => a.name).sort();
  return {
    text:
      `cortex get: no API named "${options.name}" in namespace "${options.namespace}" (context "${context}"); ` +
      `${known.length > 0 ? `deployed: ${known.join(', ')}` : 'none is deployed there'}\n`,
    code: EXIT_INVALID,
    isError: true,
  };
}

function jsonLine(value: unknown, compact: boolean): string {
  return (compact ? JSON.stringify(value) : JSON.stringify(value, null, 2)) + '\n';
}

function listJson(snapshot: ClusterSnapshot): unknown {
  return { namespace: snapshot.namespace, gateway: snapshot.gatewayAddress ?? null, apis: snapshot.apis, trafficSplitters: snapshot.splitters };
}

function apiJson(api: RealtimeApiSummary, metrics: MetricsResult, custom: CustomMetricsResult): unknown {
  const standard = 'metrics' in metrics ? { metrics: metrics.metrics } : { metrics: null, metricsUnavailable: metrics.unavailable };
  const own = 'series' in custom ? { customMetrics: custom.series } : { customMetrics: null, customMetricsUnavailable: custom.unavailable };
  return { ...api, ...standard, ...own };
}

const STATUS_COLOR: Record<ApiStatusCode, Color> = { live: 'green', updating: 'yellow', pending: 'yellow', error: 'red' };

function statusCell(status: ApiStatusCode): Cell {
  return { text: status, color: STATUS_COLOR[status] };
}

function ageOf(iso: string | undefined, now: number): string {
  return iso === undefined ? '-' : formatAge(now - Date.parse(iso));
}

function endpointText(summary: { endpoint?: string; path?: string }): string {
  if (summary.endpoint) return summary.endpoint;
  if (summary.path !== undefined) return `<load balancer pending>${summary.path}`;
  return '-';
}

/** `cortex get`: a table of APIs, one of traffic splitters, then why any is not live. */
export function renderList(snapshot: ClusterSnapshot, context: string, now: number, color: boolean): string {
  if (snapshot.apis.length === 0 && snapshot.splitters.length === 0) {
    return `no APIs in namespace "${snapshot.namespace}" (context "${context}")\n`;
  }
  const parts: string[] = [];
  if (snapshot.apis.length > 0) {
    parts.push(
      formatTable(
        ['API', 'STATUS', 'REQUESTED', 'READY', 'UP-TO-DATE', 'LAST UPDATE', 'ENDPOINT'],
        snapshot.apis.map((a) => [
          a.name,
          statusCell(a.status),
          String(a.replicas.requested),
          String(a.replicas.ready),
          String(a.replicas.upToDate),
          ageOf(a.lastUpdate, now),
          endpointText(a),
        ]),
        color,
      ),
    );
  }
  if (snapshot.splitters.length > 0) {
    parts.push(
      formatTable(
        ['TRAFFIC SPLITTER', 'STATUS', 'APIS', 'LAST UPDATE', 'ENDPOINT'],
        snapshot.splitters.map((s) => [s.name, statusCell(s.status), targetsText(s), ageOf(s.lastUpdate, now), endpointText(s)]),
        color,
      ),
    );
  }
  const notes = [...snapshot.apis, ...snapshot.splitters]
    .filter((a) => a.reason !== undefined && a.status !== 'live')
    .map((a) => `${paint(a.name, STATUS_COLOR[a.status], color)}: ${a.reason}\n`);
  if (!snapshot.gatewayAddress) {
    notes.push(`the APIs gateway (${GATEWAY_NAMESPACE}/${GATEWAY_SERVICE}) has no load balancer address yet: endpoints show their paths\n`);
  }
  if (notes.length > 0) parts.push(notes.join(''));
  return parts.join('\n');
}

function targetsText(splitter: TrafficSplitterSummary): string {
  return splitter.apis.map((t) => (t.shadow ? `${t.name}:${t.weight} (shadow)` : `${t.name}:${t.weight}`)).join(' ');
}

/** `cortex get API`: the API's fields, its metrics (or why there are none), its custom metrics when it has some, its pods. */
export function renderApi(api: RealtimeApiSummary, metrics: MetricsResult, now: number, color: boolean, custom?: CustomMetricsResult): string {
  const fields: [string, Cell][] = [['status', statusCell(api.status)]];
  if (api.reason) fields.push(['reason', api.reason]);
  fields.push(
    ['replicas', `${api.replicas.requested} requested, ${api.replicas.ready} ready, ${api.replicas.upToDate} up to date`],
    ['endpoint', endpointText(api)],
    ['last update', api.lastUpdate ? `${ageOf(api.lastUpdate, now)} ago (${api.lastUpdate})` : '-'],
    ['containers', api.containers.map((c) => `${c.name} (${c.image ?? '?'})`).join(', ') || '-'],
  );
  let text = `${paint(api.name, 'bold', color)}\n${formatFields(fields, color)}\n`;
  if ('metrics' in metrics) {
    const m = metrics.metrics;
    const classes = Object.entries(m.responsesPerSecond)
      .filter(([cls, rate]) => ['2XX', '4XX', '5XX'].includes(cls) || rate > 0)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([cls, rate]) => ({ text: `${cls} ${formatRate(rate)}`, color: cls === '5XX' && rate > 0 ? ('red' as const) : undefined }));
    text += `metrics, last ${formatAge(m.windowSeconds * 1000)}:\n`;
    text += formatFields(
      [
        ['  request rate', formatRate(m.requestsPerSecond)],
        ['  latency', `p50 ${formatSeconds(m.p50Seconds)}, p99 ${formatSeconds(m.p99Seconds)}`],
        ['  first byte', `p50 ${formatSeconds(m.firstByteP50Seconds)}, p99 ${formatSeconds(m.firstByteP99Seconds)}`],
        ['  responses', classes.map((c) => paint(c.text, c.color, color)).join(', ')],
        ['  in flight', `${formatCount(m.inFlight)} (${formatCount(m.queued)} queued)`],
        ...(m.held === undefined ? [] : [['  held', `${formatCount(m.held)} waiting for a ready replica (cold start)`] as [string, string]]),
      ],
      false,
    );
    if (custom !== undefined && 'unavailable' in custom) text += `custom metrics: unavailable — ${custom.unavailable}\n`;
  } else {
    text += `metrics: unavailable — ${metrics.unavailable}\n`;
  }
  text += '\n';
  if (custom !== undefined && 'series' in custom && custom.series.length > 0) text += renderCustomMetrics(custom.series, color) + '\n';
  if (api.pods.length === 0) return text + 'no pods\n';
  text += formatTable(
    ['POD', 'STATUS', 'READY', 'RESTARTS', 'AGE', 'NODE'],
    api.pods.map((p) => [p.name, p.phase, p.ready, String(p.restarts), ageOf(p.createdAt, now), p.node ?? '-']),
    color,
  );
  const problems = api.pods.filter((p) => p.problem).map((p) => `${p.name}: ${p.problem}\n`);
  return problems.length > 0 ? `${text}\n${problems.join('')}` : text;
}

/** Custom series shown in the text view; `--json` has them all. */
export const MAX_CUSTOM_ROWS = 30;

/** The predictor's custom metrics now, one row per name and tags, added up over the pods. */
export function renderCustomMetrics(series: readonly CustomSeries[], color: boolean): string {
  const rows = series.slice(0, MAX_CUSTOM_ROWS).map((s): Cell[] => {
    const tags = Object.entries(s.labels).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(',');
    return [tags ? `${s.name}{${tags}}` : s.name, s.type, String(s.pods), customValueText(s)];
  });
  let text = formatTable(['CUSTOM METRIC (NOW)', 'TYPE', 'PODS', 'VALUE'], rows, color);
  if (series.length > MAX_CUSTOM_ROWS) text += `... and ${series.length - MAX_CUSTOM_ROWS} more (--json lists them all)\n`;
  return text;
}

/** A counter's total; a histogram's observations and mean; a gauge's value, or its range over the pods. */
export function customValueText(s: CustomSeries): string {
  if (s.type === 'histogram') {
    const count = s.count ?? 0;
    return count > 0 ? `${formatNumber(count)} observations, mean ${formatNumber((s.sum ?? 0) / count)}` : '0 observations';
  }
  if (s.type === 'counter') return formatNumber(s.total ?? 0);
  const min = s.min ?? 0;
  const max = s.max ?? 0;
  return min === max ? formatNumber(min) : `${formatNumber(min)} to ${formatNumber(max)} (sum ${formatNumber(s.sum ?? 0)})`;
}

/** Six significant digits at most: `0.333333`, `1523`, `1.5e+21`. */
export function formatNumber(n: number): string {
  return String(Number(n.toPrecision(6)));
}

/** `cortex get SPLITTER`: its fields and its targets' states. */
export function renderSplitter(splitter: TrafficSplitterSummary, snapshot: ClusterSnapshot, now: number, color: boolean): string {
  const fields: [string, Cell][] = [['status', statusCell(splitter.status)]];
  if (splitter.reason) fields.push(['reason', splitter.reason]);
  fields.push(['endpoint', endpointText(splitter)], ['last update', splitter.lastUpdate ? `${ageOf(splitter.lastUpdate, now)} ago (${splitter.lastUpdate})` : '-']);
  const rows = splitter.apis.map((t): Cell[] => {
    const api = snapshot.apis.find((a) => a.name === t.name);
    return [t.name, t.shadow ? `${t.weight}% (shadow)` : `${t.weight}%`, api ? statusCell(api.status) : { text: 'not deployed', color: 'red' }, endpointText(api ?? {})];
  });
  return `${paint(splitter.name, 'bold', color)} (traffic splitter)\n${formatFields(fields, color)}\n${formatTable(['API', 'WEIGHT', 'STATUS', 'ENDPOINT'], rows, color)}`;
}

/** `12.3/s`, `0.25/s`, `0/s`. */
export function formatRate(perSecond: number): string {
  if (perSecond === 0) return '0/s';
  const digits = perSecond >= 100 ? 0 : perSecond >= 10 ? 1 : 2;
  return `${Number(perSecond.toFixed(digits))}/s`;
}

/** `41 ms`, `1.8 s`, `-` when there is no value. */
export function formatSeconds(seconds: number | undefined): string {
  if (seconds === undefined) return '-';
  if (seconds < 1) return `${Number((seconds * 1000).toFixed(seconds < 0.01 ? 1 : 0))} ms`;
  return `${Number(seconds.toFixed(seconds < 10 ? 2 : 1))} s`;
}

function formatCount(n: number): string {
  return String(Number(n.toFixed(1)));
}
