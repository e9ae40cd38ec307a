import { Token } from 'aws-cdk-lib';
import {
  API_NAME_METRIC_LABEL,
  DEFAULT_PROMETHEUS_URL,
  DURATION_METRIC,
  IN_FLIGHT_METRIC,
  NAMESPACE_METRIC_LABEL,
  QUEUE_METRIC,
  REQUESTS_METRIC,
} from '../../constructs/names';
import { isMapping } from '../config/describe-value';
import { CortexValidationError } from '../errors';

/**
 * Per-API request metrics in CloudWatch, from the proxies' Prometheus metrics.
 *
 * The CloudWatch agent's Prometheus-to-EMF pipeline (`logs.metrics_collected.prometheus`) drops histograms
 * and untyped series, so the proxies' latency histogram cannot reach CloudWatch through it. Instead,
 * Prometheus — which already scrapes every proxy every 10 s for the autoscaler — aggregates each API with
 * recording rules (request rates by status class, p50/p99 latency from the histogram, in-flight requests,
 * queue length), and a dedicated CloudWatch agent of the `amazon-cloudwatch-observability` add-on federates
 * those rules once a minute through its OpenTelemetry pipeline (whose Prometheus receiver reads untyped
 * series as gauges) and writes them as EMF: one metric per API and figure, dimensions
 * `ClusterName`, `Namespace`, `ApiName`. docs/platform.md, "Per-API metrics in CloudWatch", has the costs.
 */

/** The CloudWatch namespace of the per-API metrics. */
export const API_METRICS_NAMESPACE = 'Cortex';

/** The dimensions of every per-API metric. */
export const API_METRIC_DIMENSIONS = ['ClusterName', 'Namespace', 'ApiName'] as const;

/** The name of the add-on's extra CloudWatch agent (an `agents` entry) that publishes the per-API metrics. */
export const API_METRICS_AGENT = 'cortex-api-metrics';

/** The add-on's default agent (the Container Insights DaemonSet): kept first when the platform sets `agents`. */
export const DEFAULT_CLOUDWATCH_AGENT = 'cloudwatch-agent';

/** The prefix of the recording rules' names, which the agent federates. */
export const API_RULE_PREFIX = 'cortex_api:';

/** How often the recording rules are evaluated: twice per CloudWatch minute, so that every scrape reads a fresh value. */
export const API_RULES_INTERVAL = '30s';

/** How often the agent federates the rules: CloudWatch's standard resolution. */
export const API_METRICS_SCRAPE_INTERVAL = '60s';

/** One per-API figure: its Prometheus recording rule and the CloudWatch metric it becomes. */
export interface ApiMetricRule {
  /** The recording rule's name (`cortex_api:...`). */
  readonly record: string;
  /** Its PromQL, per `namespace` and `cortex_dev_api_name` (the proxies' pod labels as Prometheus copies them). */
  readonly expr: string;
  /** The CloudWatch metric name. */
  readonly metricName: string;
  /** The CloudWatch unit. */
  readonly unit: 'Count' | 'Count/Second' | 'Seconds';
}

/** The CloudWatch metric names of the per-API figures. */
export const API_METRIC_NAMES = {
  requestsPerSecond: 'RequestsPerSecond',
  requests4xxPerSecond: 'Requests4XXPerSecond',
  requests5xxPerSecond: 'Requests5XXPerSecond',
  latencyP50: 'LatencyP50',
  latencyP99: 'LatencyP99',
  inFlightRequests: 'InFlightRequests',
  queueLength: 'QueueLength',
} as const;

/** The proxies of RealtimeAPIs: series that carry the API-name label. */
const API_SERIES = `${API_NAME_METRIC_LABEL}!=""`;
const BY_API = `${NAMESPACE_METRIC_LABEL}, ${API_NAME_METRIC_LABEL}`;
const ALL_REQUESTS = `${API_RULE_PREFIX}requests:rate1m`;

/** Requests per second of one status class, `0` (not absent) for an API that answered none of them. */
function classRate(codePattern: string): string {
  return (
    `sum by (${BY_API}) (rate(${REQUESTS_METRIC}{${API_SERIES},code=~"${codePattern}"}[1m]))` +
    ` or 0 * ${ALL_REQUESTS}`
  );
}

/**
 * The latency quantile of an API over the last minute, from the summed histogram buckets of all its
 * proxies; `>= 0` drops the NaN of a minute without requests (EMF cannot carry it).
 */
function latencyQuantile(q: number): string {
  return (
    `histogram_quantile(${q}, sum by (${BY_API}, le) ` +
    `(rate(${DURATION_METRIC}_bucket{${API_SERIES}}[1m]))) >= 0`
  );
}

/** The per-API figures, in dashboard order. The first rule is referenced by the status-class rules. */
export const API_METRIC_RULES: readonly ApiMetricRule[] = [
  {
    record: ALL_REQUESTS,
    expr: `sum by (${BY_API}) (rate(${REQUESTS_METRIC}{${API_SERIES}}[1m]))`,
    metricName: API_METRIC_NAMES.requestsPerSecond,
    unit: 'Count/Second',
  },
  { record: `${API_RULE_PREFIX}requests_4xx:rate1m`, expr: classRate('4..'), metricName: API_METRIC_NAMES.requests4xxPerSecond, unit: 'Count/Second' },
  { record: `${API_RULE_PREFIX}requests_5xx:rate1m`, expr: classRate('5..'), metricName: API_METRIC_NAMES.requests5xxPerSecond, unit: 'Count/Second' },
  { record: `${API_RULE_PREFIX}request_duration_seconds:p50`, expr: latencyQuantile(0.5), metricName: API_METRIC_NAMES.latencyP50, unit: 'Seconds' },
  { record: `${API_RULE_PREFIX}request_duration_seconds:p99`, expr: latencyQuantile(0.99), metricName: API_METRIC_NAMES.latencyP99, unit: 'Seconds' },
  {
    record: `${API_RULE_PREFIX}in_flight_requests:sum`,
    expr: `sum by (${BY_API}) (${IN_FLIGHT_METRIC}{${API_SERIES}})`,
    metricName: API_METRIC_NAMES.inFlightRequests,
    unit: 'Count',
  },
  {
    record: `${API_RULE_PREFIX}queue_length:sum`,
    expr: `sum by (${BY_API}) (${QUEUE_METRIC}{${API_SERIES}})`,
    metricName: API_METRIC_NAMES.queueLength,
    unit: 'Count',
  },
];

/** The Prometheus chart's `recording_rules.yml` (its `serverFiles` entry): one group with every per-API rule. */
export function apiRecordingRules(): Record<string, unknown> {
  return {
    groups: [
      {
        name: 'cortex-api',
        interval: API_RULES_INTERVAL,
        rules: API_METRIC_RULES.map((r) => ({ record: r.record, expr: r.expr })),
      },
    ],
  };
}

/** What the per-API metrics agent needs to know about where it runs. */
export interface ApiMetricsAgentProps {
  /** The EKS cluster's name (the `ClusterName` dimension); may be a token. */
  readonly clusterName: string;
  /** The region of the CloudWatch endpoints; may be a token. */
  readonly region: string;
  /** The Prometheus server holding the recording rules. */
  readonly prometheusUrl: string;
  /** The log group of the EMF events (the exporter writes there; CloudWatch extracts the metrics). */
  readonly logGroupName: string;
}

/**
 * The add-on's `agents` entry of the per-API metrics agent: one replica of a Deployment (no host network:
 * it only reaches the Prometheus Service), with an otherwise empty agent configuration and an OpenTelemetry
 * pipeline `prometheus` receiver → `batch` → `awsemf` exporter.
 *
 * The scrape reads `/federate` for the `cortex_api:` series, renames each to its CloudWatch metric, and turns
 * the labels into the dimensions. No `$` appears anywhere: the collector would read `$...` as a variable.
 */
export function apiMetricsAgent(props: ApiMetricsAgentProps): Record<string, unknown> {
  const target = prometheusTarget(props.prometheusUrl);
  const id = API_METRICS_AGENT.replace(/-/g, '_');
  const [cluster, namespace, api] = API_METRIC_DIMENSIONS;
  const relabel = [
    { source_labels: ['__name__'], regex: `${API_RULE_PREFIX}.+`, action: 'keep' },
    ...API_METRIC_RULES.map((r) => ({
      source_labels: ['__name__'],
      regex: r.record,
      target_label: '__name__',
      replacement: r.metricName,
    })),
    { source_labels: [API_NAME_METRIC_LABEL], target_label: api },
    { source_labels: [NAMESPACE_METRIC_LABEL], target_label: namespace },
    { target_label: cluster, replacement: props.clusterName },
    { regex: `${API_NAME_METRIC_LABEL}|${NAMESPACE_METRIC_LABEL}`, action: 'labeldrop' },
  ];
  return {
    name: API_METRICS_AGENT,
    mode: 'deployment',
    replicas: 1,
    hostNetwork: false,
    config: { agent: { region: props.region } },
    otelConfig: {
      receivers: {
        [`prometheus/${id}`]: {
          config: {
            scrape_configs: [
              {
                job_name: API_METRICS_AGENT,
                scrape_interval: API_METRICS_SCRAPE_INTERVAL,
                scrape_timeout: '10s',
                honor_labels: true,
                metrics_path: '/federate',
                params: { 'match[]': [`{__name__=~"${API_RULE_PREFIX}.+"}`] },
                scheme: target.scheme,
                static_configs: [{ targets: [target.hostPort] }],
                metric_relabel_configs: relabel,
              },
            ],
          },
        },
      },
      processors: { [`batch/${id}`]: { timeout: '30s' } },
      exporters: {
        [`awsemf/${id}`]: {
          namespace: API_METRICS_NAMESPACE,
          region: props.region,
          log_group_name: props.logGroupName,
          log_stream_name: API_METRICS_AGENT,
          dimension_rollup_option: 'NoDimensionRollup',
          metric_declarations: [
            { dimensions: [[...API_METRIC_DIMENSIONS]], metric_name_selectors: API_METRIC_RULES.map((r) => `^${r.metricName}`) },
          ],
          metric_descriptors: API_METRIC_RULES.map((r) => ({ metric_name: r.metricName, unit: r.unit, overwrite: true })),
        },
      },
      service: {
        pipelines: {
          [`metrics/${id}`]: {
            receivers: [`prometheus/${id}`],
            processors: [`batch/${id}`],
            exporters: [`awsemf/${id}`],
          },
        },
      },
    },
  };
}

/**
 * The add-on's configuration values with the per-API metrics agent appended to `agents`. Setting `agents`
 * replaces the chart's list, so the default Container Insights agent is listed first unless the user's
 * values already list agents (theirs are kept as they are).
 */
export function withApiMetricsAgent(values: Record<string, unknown> | undefined, agent: Record<string, unknown>): Record<string, unknown> {
  const base = values ?? {};
  const agents = base.agents ?? [{ name: DEFAULT_CLOUDWATCH_AGENT }];
  if (!Array.isArray(agents)) {
    throw new CortexValidationError(
      `cloudWatchObservability.configurationValues.agents (${JSON.stringify(agents)}) must be a list of agents`,
    );
  }
  if (agents.some((a) => isMapping(a) && a.name === agent.name)) {
    throw new CortexValidationError(
      `cloudWatchObservability.configurationValues.agents already has an agent named "${String(agent.name)}", ` +
        'the one apiMetrics adds: rename it, or set apiMetrics: false',
    );
  }
  return { ...base, agents: [...agents, agent] };
}

/** `http(s)://host[:port]` → the scrape target and scheme; the URL must be known at synth (it goes into YAML). */
export function prometheusTarget(url: string): { scheme: 'http' | 'https'; hostPort: string } {
  const what = `apiMetrics.prometheusUrl (${JSON.stringify(url)})`;
  if (Token.isUnresolved(url)) {
    throw new CortexValidationError(`${what} must be known at synth: an http:// or https:// URL, not a token`);
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new CortexValidationError(`${what} must be an http:// or https:// URL such as ${DEFAULT_PROMETHEUS_URL}`);
  }
  if ((parsed.protocol !== 'http:' && parsed.protocol !== 'https:') || (parsed.pathname !== '/' && parsed.pathname !== '') || parsed.search !== '') {
    throw new CortexValidationError(`${what} must be an http:// or https:// URL without a path or query, such as ${DEFAULT_PROMETHEUS_URL}`);
  }
  const scheme = parsed.protocol === 'https:' ? 'https' : 'http';
  const port = parsed.port !== '' ? parsed.port : scheme === 'https' ? '443' : '80';
  return { scheme, hostPort: `${parsed.hostname}:${port}` };
}
