import { KubeClient, KubeConnectionError } from './client';

/**
 * An API's live figures from the cluster's Prometheus, read through the Kubernetes API's service proxy
 * (`/api/v1/namespaces/<ns>/services/<service>:<port>/proxy/...`): no port-forward, no public
 * Prometheus, only the kubeconfig. The series are the proxy sidecars' (docs/kubernetes-objects.md, "Metrics and the
 * Prometheus contract"), labelled by the scrape job with the pods' `cortex.dev/api-name` and `namespace`.
 */

// From constructs/names.ts, which loads nothing (constructs/autoscaling.ts would load cdk8s).
import {
  API_NAME_METRIC_LABEL,
  DURATION_METRIC,
  IN_FLIGHT_METRIC,
  INTERCEPTOR_CONCURRENCY_METRIC,
  NAMESPACE_METRIC_LABEL,
  QUEUE_METRIC,
  REQUESTS_METRIC,
  TIME_TO_FIRST_BYTE_METRIC,
} from '../../../constructs/names';

/** Where Prometheus answers in the cluster. */
export interface PrometheusService {
  readonly namespace: string;
  readonly service: string;
  /** The Service port, by number or name. */
  readonly port: string;
}

/**
 * The platform's: the prometheus-community chart, release `prometheus` in namespace `prometheus`,
 * Service `prometheus-server` on port 80 (`DEFAULT_PROMETHEUS_URL`).
 */
export const DEFAULT_PROMETHEUS_SERVICE: PrometheusService = { namespace: 'prometheus', service: 'prometheus-server', port: '80' };

/** Parses `NAMESPACE/SERVICE:PORT` (`--prometheus`); undefined when `text` is not one. */
export function parsePrometheusService(text: string): PrometheusService | undefined {
  const match = /^([a-z0-9-]+)\/([a-z0-9-]+):([a-z0-9-]+)$/.exec(text);
  return match ? { namespace: match[1], service: match[2], port: match[3] } : undefined;
}

export function formatPrometheusService(p: PrometheusService): string {
  return `${p.namespace}/${p.service}:${p.port}`;
}

export interface ApiMetrics {
  /** The window the rates and quantiles are computed over. */
  readonly windowSeconds: number;
  /** Requests answered per second. */
  readonly requestsPerSecond: number;
  /** Answers per second by status class (`2XX`, `4XX`, `5XX`; others when there were any). */
  readonly responsesPerSecond: Readonly<Record<string, number>>;
  /** Latency quantiles in seconds, from arrival at the proxy (queueing included); undefined without requests. */
  readonly p50Seconds?: number;
  readonly p99Seconds?: number;
  /**
   * Time-to-first-byte quantiles in seconds: from arrival at the proxy to the response's first byte (queueing
   * included; for a stream, when its first part went out); undefined without requests.
   */
  readonly firstByteP50Seconds?: number;
  readonly firstByteP99Seconds?: number;
  /** Requests in the proxies now, queued plus active. */
  readonly inFlight: number;
  /** Of which waiting in the proxies' queues. */
  readonly queued: number;
  /**
   * A scale-to-zero API's requests held by the KEDA HTTP add-on's interceptor, waiting for a ready replica: what
   * the interceptor counts for the API beyond those in the proxies. Undefined for an API it does not route.
   */
  readonly held?: number;
}

/** Metrics, or why there are none. */
export type MetricsResult = { readonly metrics: ApiMetrics } | { readonly unavailable: string };

interface QueryAnswer {
  readonly status?: string;
  readonly error?: string;
  readonly data?: { readonly resultType?: string; readonly result?: readonly { readonly metric?: Record<string, string>; readonly value?: [number, string] }[] };
}

/**
 * The samples of a query's answer; throws MetricsUnavailable naming `where` and the status when it failed: the
 * service proxy answers with a Kubernetes Status (no Service, no endpoints), Prometheus with its own error.
 */
function queryResult(response: { readonly status: number; readonly body: string }, where: string): NonNullable<NonNullable<QueryAnswer['data']>['result']> {
  let answer: QueryAnswer | undefined;
  try {
    answer = JSON.parse(response.body);
  } catch {
    answer = undefined;
  }
  if (response.status !== 200 || answer?.status !== 'success') {
    const message = (answer as { message?: string } | undefined)?.message ?? answer?.error ?? response.body.trim().slice(0, 200);
    throw new MetricsUnavailable(`${where} answered ${response.status}${message ? `: ${message}` : ''}`);
  }
  const result: unknown = answer.data?.result ?? [];
  if (!Array.isArray(result)) throw new MetricsUnavailable(`${where} answered ${response.status} with a result that is not a list of samples`);
  // A sample that is not an object has nothing to read: skipped, as a sample without a usable value is.
  return result.filter((sample: unknown) => typeof sample === 'object' && sample !== null && !Array.isArray(sample));
}

/** The PromQL of each figure, for one API. */
export function metricQueries(
  apiName: string,
  namespace: string,
  windowSeconds: number,
): Record<'byCode' | 'p50' | 'p99' | 'firstByteP50' | 'firstByteP99' | 'inFlight' | 'queued' | 'atInterceptor', string> {
  const selector = `{${NAMESPACE_METRIC_LABEL}="${namespace}",${API_NAME_METRIC_LABEL}="${apiName}"}`;
  const window = `[${windowSeconds}s]`;
  const quantile = (q: number, histogram = DURATION_METRIC) => `histogram_quantile(${q}, sum by (le) (rate(${histogram}_bucket${selector}${window})))`;
  return {
    byCode: `sum by (code) (rate(${REQUESTS_METRIC}${selector}${window}))`,
    p50: quantile(0.5),
    p99: quantile(0.99),
    firstByteP50: quantile(0.5, TIME_TO_FIRST_BYTE_METRIC),
    firstByteP99: quantile(0.99, TIME_TO_FIRST_BYTE_METRIC),
    inFlight: `sum(${IN_FLIGHT_METRIC}${selector})`,
    queued: `sum(${QUEUE_METRIC}${selector})`,
    // No series (an empty answer) when the API is not routed through the interceptor.
    atInterceptor: `sum(${INTERCEPTOR_CONCURRENCY_METRIC}{route_namespace="${namespace}",route_name="${apiName}"})`,
  };
}

/** Reads an API's figures; never throws for an unreachable or failing Prometheus: says why instead. */
export async function readApiMetrics(
  client: KubeClient,
  prometheus: PrometheusService,
  apiName: string,
  namespace: string,
  windowSeconds: number,
  timeoutMs = 10_000,
): Promise<MetricsResult> {
  const queries = metricQueries(apiName, namespace, windowSeconds);
  const base = `/api/v1/namespaces/${prometheus.namespace}/services/${prometheus.service}:${prometheus.port}/proxy/api/v1/query`;
  const where = `Prometheus (${formatPrometheusService(prometheus)})`;
  const query = async (promql: string): Promise<NonNullable<QueryAnswer['data']>['result']> => {
    return queryResult(await client.request(base, { query: promql }, timeoutMs), where);
  };
  try {
    const [byCode, p50, p99, firstByteP50, firstByteP99, inFlight, queued, atInterceptor] = await Promise.all([
      query(queries.byCode),
      query(queries.p50),
      query(queries.p99),
      query(queries.firstByteP50),
      query(queries.firstByteP99),
      query(queries.inFlight),
      query(queries.queued),
      query(queries.atInterceptor),
    ]);
    const responsesPerSecond: Record<string, number> = { '2XX': 0, '4XX': 0, '5XX': 0 };
    let requestsPerSecond = 0;
    for (const sample of byCode ?? []) {
      const code = Number(sample.metric?.code);
      const rate = numberOf(sample.value) ?? 0;
      if (!Number.isInteger(code) || code < 100 || code > 599) continue;
      const codeClass = `${Math.floor(code / 100)}XX`;
      responsesPerSecond[codeClass] = (responsesPerSecond[codeClass] ?? 0) + rate;
      requestsPerSecond += rate;
    }
    const proxies = numberOf(inFlight?.[0]?.value) ?? 0;
    const interceptor = numberOf(atInterceptor?.[0]?.value);
    return {
      metrics: {
        windowSeconds,
        requestsPerSecond,
        responsesPerSecond,
        p50Seconds: numberOf(p50?.[0]?.value),
        p99Seconds: numberOf(p99?.[0]?.value),
        firstByteP50Seconds: numberOf(firstByteP50?.[0]?.value),
        firstByteP99Seconds: numberOf(firstByteP99?.[0]?.value),
        inFlight: proxies,
        queued: numberOf(queued?.[0]?.value) ?? 0,
        // The interceptor counts the requests it forwards too: those beyond the proxies' are still waiting.
        held: interceptor === undefined ? undefined : Math.max(0, interceptor - proxies),
      },
    };
  } catch (e) {
    if (e instanceof MetricsUnavailable) return { unavailable: e.message };
    if (e instanceof KubeConnectionError) return { unavailable: `${where} could not be reached: ${e.message}` };
    return { unavailable: `${where}: ${(e as Error).message}` };
  }
}

class MetricsUnavailable extends Error {}

/** A sample's value; undefined for NaN (a quantile over no requests) and infinities. */
function numberOf(value: [number, string] | undefined): number | undefined {
  if (!value) return undefined;
  const n = Number(value[1]);
  return Number.isFinite(n) ? n : undefined;
}

/**
 * Names the runtime refuses for custom metrics (images/python-predictor/cortex_runtime/custom_metrics.py,
 * `RESERVED_PREFIXES`, `RESERVED_NAMES`): the platform's own series, which custom metrics never are.
 */
const PLATFORM_SERIES = 'cortex_.+|istio_.+|process_.+|nodejs_.+|scrape_.+|up';

/** Labels of the scrape (the pod's labels, the target) and of the runtime: not a custom metric's tags. */
const SCRAPE_LABELS = new Set(['__name__', NAMESPACE_METRIC_LABEL, 'pod', 'instance', 'job', 'node', 'pod_template_hash', 'api_name']);
const SCRAPE_LABEL_PREFIXES = ['cortex_dev_', 'app_kubernetes_io_'];

/** One custom metric series (a name and one set of tag values), over the API's pods. */
export interface CustomSeries {
  readonly name: string;
  /** The predictor's tags. */
  readonly labels: Readonly<Record<string, string>>;
  /** From Prometheus' metadata of the API's targets; `unknown` when it has none. */
  readonly type: 'counter' | 'gauge' | 'histogram' | 'unknown';
  /** How many pods report the series. */
  readonly pods: number;
  /** Counters: the total over the pods. */
  readonly total?: number;
  /** Gauges (and unknown types): the lowest and highest value over the pods, and their sum. */
  readonly min?: number;
  readonly max?: number;
  readonly sum?: number;
  /** Histograms: observations and their sum, over the pods. */
  readonly count?: number;
}

/** Custom metrics, or why there are none. */
export type CustomMetricsResult = { readonly series: readonly CustomSeries[] } | { readonly unavailable: string };

/** The PromQL of an API's custom metrics (`metrics_client` in a predictor): every series of its pods but the platform's. */
export function customMetricsQuery(apiName: string, namespace: string): string {
  return `{${NAMESPACE_METRIC_LABEL}="${namespace}",${API_NAME_METRIC_LABEL}="${apiName}",__name__!~"${PLATFORM_SERIES}"}`;
}

interface MetadataAnswer {
  readonly status?: string;
  readonly data?: readonly { readonly target?: Record<string, string>; readonly metric?: string; readonly type?: string }[];
}

/**
 * Reads an API's custom metrics as they are now (an instant query), added up over its pods, typed by
 * Prometheus' target metadata. Never throws: says why instead.
 */
export async function readCustomMetrics(
  client: KubeClient,
  prometheus: PrometheusService,
  apiName: string,
  namespace: string,
  timeoutMs = 10_000,
): Promise<CustomMetricsResult> {
  const base = `/api/v1/namespaces/${prometheus.namespace}/services/${prometheus.service}:${prometheus.port}/proxy/api/v1`;
  const where = `Prometheus (${formatPrometheusService(prometheus)})`;
  const selector = `{${NAMESPACE_METRIC_LABEL}="${namespace}",${API_NAME_METRIC_LABEL}="${apiName}"}`;
  let samples: readonly { readonly metric?: Record<string, string>; readonly value?: [number, string] }[];
  const types = new Map<string, string>();
  const targetLabels = new Set<string>();
  try {
    const [response, metadata] = await Promise.all([
      client.request(`${base}/query`, { query: customMetricsQuery(apiName, namespace) }, timeoutMs),
      client.request(`${base}/targets/metadata`, { match_target: selector }, timeoutMs).catch(() => undefined),
    ]);
    samples = queryResult(response, where);
    // Without metadata (an older Prometheus, a failure) the series are shown untyped, histograms still recognized.
    try {
      const meta: MetadataAnswer = metadata?.status === 200 ? JSON.parse(metadata.body) : {};
      for (const entry of meta.status === 'success' ? (meta.data ?? []) : []) {
        if (entry.metric && entry.type) types.set(entry.metric, entry.type);
        for (const label of Object.keys(entry.target ?? {})) targetLabels.add(label);
      }
    } catch {
      types.clear();
    }
  } catch (e) {
    if (e instanceof MetricsUnavailable) return { unavailable: e.message };
    if (e instanceof KubeConnectionError) return { unavailable: `${where} could not be reached: ${e.message}` };
    return { unavailable: `${where}: ${(e as Error).message}` };
  }
  return { series: aggregateCustomSeries(samples, types, targetLabels) };
}

interface SeriesAccumulator {
  name: string;
  labels: Record<string, string>;
  type: CustomSeries['type'];
  pods: Set<string>;
  values: number[];
  sum: number;
  count: number;
}

/** Groups the samples by name and tags (the pod's labels set aside), then adds up each group by its type. */
export function aggregateCustomSeries(
  samples: readonly { readonly metric?: Record<string, string>; readonly value?: [number, string] }[],
  types: ReadonlyMap<string, string>,
  targetLabels: ReadonlySet<string> = new Set(),
): CustomSeries[] {
  const isScrapeLabel = (label: string) => SCRAPE_LABELS.has(label) || targetLabels.has(label) || SCRAPE_LABEL_PREFIXES.some((p) => label.startsWith(p));
  const histograms = new Set<string>();
  for (const [name, type] of types) if (type === 'histogram') histograms.add(name);
  for (const sample of samples) {
    const name = sample.metric?.__name__ ?? '';
    if (name.endsWith('_bucket') && sample.metric?.le !== undefined) histograms.add(name.slice(0, -'_bucket'.length));
  }
  const groups = new Map<string, SeriesAccumulator>();
  for (const sample of samples) {
    const metric = sample.metric ?? {};
    const sampleName = metric.__name__;
    const value = Number(sample.value?.[1]);
    if (sampleName === undefined || !Number.isFinite(value) || metric.le !== undefined) continue;
    const histogramPart = /^(.+)_(sum|count)$/.exec(sampleName);
    const histogram = histogramPart !== null && histograms.has(histogramPart[1]);
    const name = histogram ? histogramPart[1] : sampleName;
    const labels: Record<string, string> = {};
    for (const [label, text] of Object.entries(metric)) if (!isScrapeLabel(label)) labels[label] = text;
    const key = `${name}{${Object.entries(labels).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(',')}}`;
    let group = groups.get(key);
    if (!group) {
      const declared = types.get(name);
      const type = histogram ? 'histogram' : declared === 'counter' || declared === 'gauge' ? declared : 'unknown';
      group = { name, labels, type, pods: new Set(), values: [], sum: 0, count: 0 };
      groups.set(key, group);
    }
    group.pods.add(metric.pod ?? metric.instance ?? '');
    if (histogram) {
      if (histogramPart[2] === 'sum') group.sum += value;
      else group.count += value;
    } else {
      group.values.push(value);
    }
  }
  return [...groups.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([, g]): CustomSeries => {
      const base = { name: g.name, labels: g.labels, type: g.type, pods: g.pods.size };
      if (g.type === 'histogram') return { ...base, count: g.count, sum: g.sum };
      const sum = g.values.reduce((a, b) => a + b, 0);
      if (g.type === 'counter') return { ...base, total: sum };
      // Not Math.min(...values): one argument per pod would overflow the stack past about 100,000 of them.
      return { ...base, min: g.values.reduce((a, b) => Math.min(a, b)), max: g.values.reduce((a, b) => Math.max(a, b)), sum };
    });
}
