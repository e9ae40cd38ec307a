import * as autoscaling from '../../../constructs/autoscaling';
import { KubeClient } from '../../../bin/cli/kube/client';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  aggregateCustomSeries,
  customMetricsQuery,
  DEFAULT_PROMETHEUS_SERVICE,
  metricQueries,
  parsePrometheusService,
  readApiMetrics,
  readCustomMetrics,
} from '../../../bin/cli/kube/prometheus';
import {
  API_NAME_METRIC_LABEL,
  DEFAULT_PROMETHEUS_URL,
  DURATION_METRIC,
  IN_FLIGHT_METRIC,
  NAMESPACE_METRIC_LABEL,
  QUEUE_METRIC,
  REQUESTS_METRIC,
  TIME_TO_FIRST_BYTE_METRIC,
} from '../../../constructs/names';
import { Metrics } from '../../../images/proxy/src/metrics';
import { FakeHttpServer } from '../../support/fake-http';
import { PROMETHEUS_QUERY_PATH } from '../../support/kube-fixtures';

describe('the names cortex get shares with the autoscaler and the platform', () => {
  test('the series and labels of KEDA\'s query', () => {
    expect(IN_FLIGHT_METRIC).toBe(autoscaling.IN_FLIGHT_METRIC);
    expect(API_NAME_METRIC_LABEL).toBe(autoscaling.API_NAME_METRIC_LABEL);
    expect(NAMESPACE_METRIC_LABEL).toBe(autoscaling.NAMESPACE_METRIC_LABEL);
    expect(metricQueries('iris', 'cortex', 60).inFlight).toBe(`sum(${IN_FLIGHT_METRIC}{namespace="cortex",cortex_dev_api_name="iris"})`);
  });

  test('the proxy writes every series cortex get reads, under the same names (it spells them itself)', () => {
    const text = new Metrics().render({ active: 0, queued: 0, maxConcurrency: 1, maxQueueLength: 0, draining: false });
    expect(text).toContain(`# TYPE ${IN_FLIGHT_METRIC} gauge`);
    expect(text).toContain(`# TYPE ${QUEUE_METRIC} gauge`);
    expect(text).toContain(`# TYPE ${REQUESTS_METRIC} counter`);
    expect(text).toContain(`# TYPE ${DURATION_METRIC} histogram`);
    expect(text).toContain(`# TYPE ${TIME_TO_FIRST_BYTE_METRIC} histogram`);
    expect(metricQueries('iris', 'cortex', 60).firstByteP99).toBe(
      `histogram_quantile(0.99, sum by (le) (rate(${TIME_TO_FIRST_BYTE_METRIC}_bucket{namespace="cortex",cortex_dev_api_name="iris"}[60s])))`,
    );
  });

  test('the Prometheus Service the platform installs', () => {
    expect(DEFAULT_PROMETHEUS_URL).toBe(`http://${DEFAULT_PROMETHEUS_SERVICE.service}.${DEFAULT_PROMETHEUS_SERVICE.namespace}.svc.cluster.local`);
    expect(DEFAULT_PROMETHEUS_SERVICE.port).toBe('80');
  });
});

describe('parsePrometheusService', () => {
  test('NAMESPACE/SERVICE:PORT, by number or name', () => {
    expect(parsePrometheusService('monitoring/kube-prometheus:web')).toEqual({ namespace: 'monitoring', service: 'kube-prometheus', port: 'web' });
    expect(parsePrometheusService('prometheus-server:80')).toBeUndefined();
    expect(parsePrometheusService('a/b')).toBeUndefined();
  });
});

describe('readApiMetrics', () => {
  let server: FakeHttpServer;
  let client: KubeClient;
  beforeEach(async () => {
    server = await FakeHttpServer.start();
    client = new KubeClient({ files: [], contextName: 'c', clusterName: 'c', userName: 'u', server: server.url, tls: { insecure: false }, auth: { kind: 'none' }, eks: {} });
  });
  afterEach(async () => {
    client.close();
    await server.stop();
  });

  test('a Prometheus error (a bad query) is a reason, not an exception', async () => {
    server.on('GET', PROMETHEUS_QUERY_PATH, { status: 400, body: { status: 'error', errorType: 'bad_data', error: 'parse error' } });
    expect(await readApiMetrics(client, DEFAULT_PROMETHEUS_SERVICE, 'iris', 'cortex', 60)).toEqual({
      unavailable: 'Prometheus (prometheus/prometheus-server:80) answered 400: parse error',
    });
  });

  test('GIVEN a success whose result is not a list of samples WHEN reading the API\'s and the custom metrics THEN a reason, not an exception', async () => {
    server.on('GET', PROMETHEUS_QUERY_PATH, { body: { status: 'success', data: { resultType: 'vector', result: 5 } } });
    const reason = 'Prometheus (prometheus/prometheus-server:80) answered 200 with a result that is not a list of samples';
    expect(await readApiMetrics(client, DEFAULT_PROMETHEUS_SERVICE, 'iris', 'cortex', 60)).toEqual({ unavailable: reason });
    expect(await readCustomMetrics(client, DEFAULT_PROMETHEUS_SERVICE, 'iris', 'cortex')).toEqual({ unavailable: reason });

    // samples that are not objects are skipped; so many samples of one series that spreading them would overflow the stack
    const many = Array.from({ length: 200_000 }, (_, i) => ({ metric: { __name__: 'tokens', pod: `p${i}` }, value: [0, String(i)] }));
    server.on('GET', PROMETHEUS_QUERY_PATH, { body: { status: 'success', data: { resultType: 'vector', result: [null, 5, ...many] } } });
    expect(await readCustomMetrics(client, DEFAULT_PROMETHEUS_SERVICE, 'iris', 'cortex')).toEqual({
      series: [{ name: 'tokens', labels: {}, type: 'unknown', pods: 200_000, min: 0, max: 199_999, sum: (199_999 * 200_000) / 2 }],
    });
  });

  test('a Prometheus that does not answer in time', async () => {
    let release: () => void = () => undefined;
    server.on('GET', PROMETHEUS_QUERY_PATH, () => () => new Promise<void>((r) => (release = r)));
    const result = await readApiMetrics(client, DEFAULT_PROMETHEUS_SERVICE, 'iris', 'cortex', 60, 50);
    release();
    expect(result).toEqual({ unavailable: expect.stringMatching(/^Prometheus \(prometheus\/prometheus-server:80\) could not be reached: .*no answer within 0.05 s$/) });
  });

  test('codes outside 1XX-5XX (0: unknown) are left out; 1XX and 3XX appear when there are some', async () => {
    server.on('GET', PROMETHEUS_QUERY_PATH, (req) => {
      const by = (req.query.get('query') ?? '').startsWith('sum by (code)');
      const result = by
        ? [
            { metric: { code: '0' }, value: [0, '1'] },
            { metric: { code: '301' }, value: [0, '0.5'] },
            { metric: { code: '200' }, value: [0, '2'] },
          ]
        : [];
      return { body: { status: 'success', data: { resultType: 'vector', result } } };
    });
    const result = await readApiMetrics(client, DEFAULT_PROMETHEUS_SERVICE, 'iris', 'cortex', 60);
    expect(result).toEqual({
      metrics: { windowSeconds: 60, requestsPerSecond: 2.5, responsesPerSecond: { '2XX': 2, '3XX': 0.5, '4XX': 0, '5XX': 0 }, p50Seconds: undefined, p99Seconds: undefined, inFlight: 0, queued: 0 },
    });
  });
});

describe('custom metrics', () => {
  test("the query leaves out exactly the names the runtime refuses for custom metrics", () => {
    const runtime = fs.readFileSync(path.join(__dirname, '../../../images/python-predictor/cortex_runtime/custom_metrics.py'), 'utf8');
    const tuple = (name: string) => [...(new RegExp(`^${name} = \\(([^)]*)\\)`, 'm').exec(runtime)?.[1] ?? '').matchAll(/"([^"]+)"/g)].map((m) => m[1]);
    const excluded = [...tuple('RESERVED_PREFIXES').map((p) => `${p}.+`), ...tuple('RESERVED_NAMES')];
    expect(excluded.length).toBeGreaterThan(4);
    expect(customMetricsQuery('iris', 'cortex')).toBe(`{namespace="cortex",cortex_dev_api_name="iris",__name__!~"${excluded.join('|')}"}`);
  });

  test('samples without a usable value are skipped; a target label of the metadata is not a tag', () => {
    const series = aggregateCustomSeries(
      [
        { metric: { __name__: 'g', pod: 'a', team: 'ml', model: 'v1' }, value: [0, '2'] },
        { metric: { __name__: 'g', pod: 'b', team: 'ml', model: 'v1' }, value: [0, 'NaN'] },
        { metric: { pod: 'c' }, value: [0, '1'] },
      ],
      new Map([['g', 'gauge']]),
      new Set(['team']),
    );
    expect(series).toEqual([{ name: 'g', labels: { model: 'v1' }, type: 'gauge', pods: 1, min: 2, max: 2, sum: 2 }]);
  });
});
