import { Token } from 'aws-cdk-lib';
import { Metrics } from '../../../images/proxy/src/metrics';
import { CortexValidationError } from '../../../lib/errors';
import {
  API_METRICS_AGENT,
  API_METRICS_NAMESPACE,
  API_METRIC_DIMENSIONS,
  API_METRIC_NAMES,
  API_METRIC_RULES,
  apiMetricsAgent,
  apiRecordingRules,
  prometheusTarget,
  withApiMetricsAgent,
} from '../../../lib/platform/api-metrics';

const AGENT_PROPS = {
  clusterName: 'models',
  region: 'eu-west-1',
  prometheusUrl: 'http://prometheus-server.prometheus.svc.cluster.local',
  logGroupName: '/aws/containerinsights/models/cortex-api-metrics',
};

describe('the per-API recording rules', () => {
  test('one rule per CloudWatch metric, named cortex_api:*, in one group evaluated every 30 s', () => {
    expect(API_METRIC_RULES.map((r) => r.metricName)).toEqual(Object.values(API_METRIC_NAMES));
    for (const rule of API_METRIC_RULES) {
      expect(rule.record).toMatch(/^cortex_api:[a-z0-9_:]+$/);
    }
    const rules = apiRecordingRules() as { groups: Array<{ name: string; interval: string; rules: unknown[] }> };
    expect(rules.groups).toHaveLength(1);
    expect(rules.groups[0]).toMatchObject({ name: 'cortex-api', interval: '30s' });
    expect(rules.groups[0].rules).toEqual(API_METRIC_RULES.map((r) => ({ record: r.record, expr: r.expr })));
  });

  test('every figure is per namespace and API, over the proxies of RealtimeAPIs only', () => {
    for (const rule of API_METRIC_RULES) {
      expect(rule.expr).toContain('by (namespace, cortex_dev_api_name');
      expect(rule.expr).toContain('cortex_dev_api_name!=""');
    }
  });

  test('the rules read the metrics the proxy actually exposes', () => {
    // GIVEN the proxy's exposition after one request
    const metrics = new Metrics();
    metrics.observe(200, 0.02);
    const exposition = metrics.render({ active: 0, queued: 0, maxConcurrency: 1, maxQueueLength: 1, draining: false });
    // THEN every proxy series a rule reads is there
    const read = new Set(API_METRIC_RULES.flatMap((r) => r.expr.match(/\bcortex_[a-z_]+(?=[{[])/g) ?? []));
    expect([...read].sort()).toEqual(['cortex_in_flight_requests', 'cortex_queue_length', 'cortex_request_duration_seconds_bucket', 'cortex_requests_total']);
    for (const name of read) {
      expect(exposition).toMatch(new RegExp(`^${name}[{ ]`, 'm'));
    }
  });

  test('status classes are 0, not absent, for an API that answered none of them (so the 5XX rate reads 0%)', () => {
    const byName = new Map(API_METRIC_RULES.map((r) => [r.metricName, r.expr]));
    expect(byName.get('Requests4XXPerSecond')).toMatch(/code=~"4\.\."\}\[1m\]\)\) or 0 \* cortex_api:requests:rate1m$/);
    expect(byName.get('Requests5XXPerSecond')).toMatch(/code=~"5\.\."\}\[1m\]\)\) or 0 \* cortex_api:requests:rate1m$/);
    // The rule they fall back on comes first in the group (rules of a group are evaluated in order).
    expect(API_METRIC_RULES[0].record).toBe('cortex_api:requests:rate1m');
  });

  test('latency quantiles come from the summed histogram buckets and drop the NaN of an idle minute', () => {
    const byName = new Map(API_METRIC_RULES.map((r) => [r.metricName, r.expr]));
    expect(byName.get('LatencyP99')).toBe(
      'histogram_quantile(0.99, sum by (namespace, cortex_dev_api_name, le) (rate(cortex_request_duration_seconds_bucket{cortex_dev_api_name!=""}[1m]))) >= 0',
    );
    expect(byName.get('LatencyP50')).toMatch(/^histogram_quantile\(0\.5, .* >= 0$/);
  });
});

describe('apiMetricsAgent', () => {
  const agent = apiMetricsAgent(AGENT_PROPS) as Record<string, any>;
  const otel = agent.otelConfig;
  const [scrape] = otel.receivers['prometheus/cortex_api_metrics'].config.scrape_configs;
  const emf = otel.exporters['awsemf/cortex_api_metrics'];

  test('a one-replica Deployment of the add-on, off the host network, with an otherwise empty agent configuration', () => {
    expect(agent).toMatchObject({ name: API_METRICS_AGENT, mode: 'deployment', replicas: 1, hostNetwork: false });
    expect(agent.config).toEqual({ agent: { region: 'eu-west-1' } });
  });

  test('one pipeline: prometheus receiver → batch → awsemf exporter, every component it names defined', () => {
    const pipelines = otel.service.pipelines;
    expect(Object.keys(pipelines)).toEqual(['metrics/cortex_api_metrics']);
    const pipeline = pipelines['metrics/cortex_api_metrics'];
    expect(pipeline).toEqual({
      receivers: ['prometheus/cortex_api_metrics'],
      processors: ['batch/cortex_api_metrics'],
      exporters: ['awsemf/cortex_api_metrics'],
    });
    expect(Object.keys(otel.receivers)).toEqual(pipeline.receivers);
    expect(Object.keys(otel.processors)).toEqual(pipeline.processors);
    expect(Object.keys(otel.exporters)).toEqual(pipeline.exporters);
  });

  test("federates the cortex_api: rules from Prometheus' Service every minute", () => {
    expect(scrape).toMatchObject({
      job_name: 'cortex-api-metrics',
      scrape_interval: '60s',
      scrape_timeout: '10s',
      honor_labels: true,
      metrics_path: '/federate',
      params: { 'match[]': ['{__name__=~"cortex_api:.+"}'] },
      scheme: 'http',
      static_configs: [{ targets: ['prometheus-server.prometheus.svc.cluster.local:80'] }],
    });
  });

  test('renames each rule to its CloudWatch metric and turns the labels into the dimensions', () => {
    const relabel = scrape.metric_relabel_configs as Array<Record<string, unknown>>;
    expect(relabel[0]).toEqual({ source_labels: ['__name__'], regex: 'cortex_api:.+', action: 'keep' });
    for (const rule of API_METRIC_RULES) {
      expect(relabel).toContainEqual({ source_labels: ['__name__'], regex: rule.record, target_label: '__name__', replacement: rule.metricName });
    }
    expect(relabel).toContainEqual({ source_labels: ['cortex_dev_api_name'], target_label: 'ApiName' });
    expect(relabel).toContainEqual({ source_labels: ['namespace'], target_label: 'Namespace' });
    expect(relabel).toContainEqual({ target_label: 'ClusterName', replacement: 'models' });
    expect(relabel[relabel.length - 1]).toEqual({ regex: 'cortex_dev_api_name|namespace', action: 'labeldrop' });
  });

  test('writes EMF: namespace Cortex, one dimension set, every metric with its unit', () => {
    expect(emf).toMatchObject({
      namespace: API_METRICS_NAMESPACE,
      region: 'eu-west-1',
      log_group_name: AGENT_PROPS.logGroupName,
      dimension_rollup_option: 'NoDimensionRollup',
    });
    expect(emf.metric_declarations).toEqual([
      { dimensions: [['ClusterName', 'Namespace', 'ApiName']], metric_name_selectors: API_METRIC_RULES.map((r) => `^${r.metricName}`) },
    ]);
    expect(API_METRIC_DIMENSIONS).toEqual(['ClusterName', 'Namespace', 'ApiName']);
    expect(emf.metric_descriptors).toContainEqual({ metric_name: 'LatencyP99', unit: 'Seconds', overwrite: true });
    expect(emf.metric_descriptors).toContainEqual({ metric_name: 'RequestsPerSecond', unit: 'Count/Second', overwrite: true });
    expect(emf.metric_descriptors).toContainEqual({ metric_name: 'QueueLength', unit: 'Count', overwrite: true });
    expect(emf.metric_descriptors).toHaveLength(API_METRIC_RULES.length);
  });

  test('no $ anywhere: the collector would expand it as a variable', () => {
    expect(JSON.stringify(agent)).not.toContain('$');
  });

  test('an https Prometheus on its own port', () => {
    const other = apiMetricsAgent({ ...AGENT_PROPS, prometheusUrl: 'https://prom.monitoring.svc:9091' }) as Record<string, any>;
    const [config] = other.otelConfig.receivers['prometheus/cortex_api_metrics'].config.scrape_configs;
    expect(config.scheme).toBe('https');
    expect(config.static_configs).toEqual([{ targets: ['prom.monitoring.svc:9091'] }]);
  });
});

describe('withApiMetricsAgent', () => {
  const agent = { name: API_METRICS_AGENT };

  test("after the add-on's default agent when the values list none (setting agents replaces the chart's list)", () => {
    expect(withApiMetricsAgent(undefined, agent)).toEqual({ agents: [{ name: 'cloudwatch-agent' }, agent] });
  });

  test("keeps the user's values and agents", () => {
    const values = { containerLogs: { enabled: true }, agents: [{ name: 'cloudwatch-agent', resources: {} }, { name: 'mine' }] };
    expect(withApiMetricsAgent(values, agent)).toEqual({
      containerLogs: { enabled: true },
      agents: [{ name: 'cloudwatch-agent', resources: {} }, { name: 'mine' }, agent],
    });
    expect(values.agents).toHaveLength(2);
  });

  test('refuses agents that are not a list, or that already hold an agent of that name', () => {
    expect(() => withApiMetricsAgent({ agents: { name: 'x' } }, agent)).toThrow(
      /cloudWatchObservability\.configurationValues\.agents \(\{"name":"x"\}\) must be a list of agents/,
    );
    expect(() => withApiMetricsAgent({ agents: [{ name: API_METRICS_AGENT }] }, agent)).toThrow(
      /already has an agent named "cortex-api-metrics".*apiMetrics: false/,
    );
  });
});

describe('prometheusTarget', () => {
  test.each([
    ['http://prometheus-server.prometheus.svc.cluster.local', 'http', 'prometheus-server.prometheus.svc.cluster.local:80'],
    ['http://prometheus-server.prometheus.svc.cluster.local/', 'http', 'prometheus-server.prometheus.svc.cluster.local:80'],
    ['https://prom.example:9443', 'https', 'prom.example:9443'],
    ['https://prom.example', 'https', 'prom.example:443'],
  ])('%s', (url, scheme, hostPort) => {
    expect(prometheusTarget(url)).toEqual({ scheme, hostPort });
  });

  test.each([
    ['prometheus-server:80', /must be an http:\/\/ or https:\/\/ URL/],
    ['ftp://prom.example', /without a path or query/],
    ['http://prom.example/prometheus', /without a path or query/],
    ['http://prom.example/?x=1', /without a path or query/],
  ])('refuses %s', (url, message) => {
    expect(() => prometheusTarget(url)).toThrow(CortexValidationError);
    expect(() => prometheusTarget(url)).toThrow(message);
  });

  test('refuses a token: the URL goes into the scrape configuration', () => {
    expect(() => prometheusTarget(Token.asString({ Ref: 'Url' }))).toThrow(/apiMetrics\.prometheusUrl .* must be known at synth/);
  });
});
