import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { getCommand } from '../../bin/cli/get';
import { CliIo } from '../../bin/cli/io';
import { SERVICE_ACCOUNT_DIR_ENV } from '../../bin/cli/kube/kubeconfig';
import { FakeHttpServer, FakeRequest, kubeStatus, writeKubeconfig } from '../support/fake-http';
import { makeTestCertificates } from '../support/tls';
import {
  ago,
  deployment,
  gatewayService,
  LB_HOSTNAME,
  pod,
  PROMETHEUS_METADATA_PATH,
  PROMETHEUS_QUERY_PATH,
  serveCluster,
  servePrometheus,
  unschedulablePod,
  virtualService,
} from '../support/kube-fixtures';
import { runCliAsync, tempDir } from '../util';

const dir = tempDir();
let kube: FakeHttpServer;
let kubeconfig: string;

beforeEach(async () => {
  kube = await FakeHttpServer.start();
  kubeconfig = writeKubeconfig(dir, kube.url, { token: 'secret-token' });
});

afterEach(async () => {
  await kube.stop();
});

const get = (...args: string[]) => runCliAsync(['get', ...args, '--kubeconfig', kubeconfig], dir);

/** The table row of `name` (one line starting with it). */
function row(out: string, name: string): string[] {
  const line = out.split('\n').find((l) => l.startsWith(`${name} `));
  if (!line) throw new Error(`no row ${name} in:\n${out}`);
  return line.trim().split(/\s{2,}/);
}

describe('cortex get: one status per case', () => {
  test('live: every replica up to date and ready, with its endpoint and last update', async () => {
    // GIVEN
    serveCluster(kube, {
      deployments: [deployment('hello-world')],
      pods: [pod('hello-world', 'x2x4z'), pod('hello-world', 'q8k9m')],
      virtualServices: [virtualService('hello-world', 'RealtimeAPI')],
    });

    // WHEN
    const { code, out, err } = await get();

    // THEN
    expect(err).toBe('');
    expect(code).toBe(0);
    expect(out.split('\n')[0].split(/\s{2,}/)).toEqual(['API', 'STATUS', 'REQUESTED', 'READY', 'UP-TO-DATE', 'LAST UPDATE', 'ENDPOINT']);
    expect(row(out, 'hello-world')).toEqual(['hello-world', 'live', '2', '2', '2', '3h12m', `http://${LB_HOSTNAME}/hello-world`]);
    // the user's credentials and the label selector of the charts
    const deployments = kube.requestsTo('/apis/apps/v1/namespaces/cortex/deployments')[0];
    expect(deployments.headers.authorization).toBe('Bearer secret-token');
    expect(deployments.query.get('labelSelector')).toBe('cortex.dev/api-kind=RealtimeAPI');
    expect(kube.requestsTo('/api/v1/namespaces/cortex/pods')[0].query.get('labelSelector')).toBe('cortex.dev/api-kind=RealtimeAPI');
  });

  test('updating: a rollout with replicas of the old template left', async () => {
    serveCluster(kube, {
      deployments: [deployment('hello-world', { replicas: 2, updated: 1, total: 3, ready: 2 })],
      pods: [pod('hello-world', 'x2x4z'), pod('hello-world', 'q8k9m'), pod('hello-world', 'n5v7w', { api: { ready: false, state: { running: {} } } })],
      virtualServices: [virtualService('hello-world', 'RealtimeAPI')],
    });

    const { code, out } = await get();

    expect(code).toBe(0);
    expect(row(out, 'hello-world').slice(0, 5)).toEqual(['hello-world', 'updating', '2', '2', '1']);
    expect(out).toContain('hello-world: rolling out: 1 of 2 replicas up to date, 2 ready\n');
  });

  test('pending: pods wait for GPU capacity, and the reason quotes the scheduler', async () => {
    serveCluster(kube, {
      deployments: [deployment('text-generator', { replicas: 1, ready: 0, updated: 1 })],
      pods: [unschedulablePod('text-generator', 'b7c2d', '0/3 nodes are available: 3 Insufficient nvidia.com/gpu. preemption: 0/3 nodes are available.')],
      virtualServices: [virtualService('text-generator', 'RealtimeAPI')],
    });

    const { code, out } = await get();

    expect(code).toBe(0);
    expect(row(out, 'text-generator').slice(0, 5)).toEqual(['text-generator', 'pending', '1', '0', '1']);
    expect(out).toContain(
      'text-generator: waiting for GPU capacity (nvidia.com/gpu): 0/3 nodes are available: 3 Insufficient nvidia.com/gpu. preemption: 0/3 nodes are available.\n',
    );
  });

  test('error: a crash-looping container, with its restarts and exit code', async () => {
    serveCluster(kube, {
      deployments: [deployment('iris', { replicas: 1, ready: 0 })],
      pods: [
        pod('iris', 'k4j2p', {
          api: {
            ready: false,
            restartCount: 5,
            state: { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 2m40s restarting failed container=api' } },
            lastState: { terminated: { reason: 'Error', exitCode: 1 } },
          },
        }),
      ],
      virtualServices: [virtualService('iris', 'RealtimeAPI')],
    });

    const { out } = await get();

    expect(row(out, 'iris').slice(0, 2)).toEqual(['iris', 'error']);
    expect(out).toContain('iris: container "api": crash looping: restarted 5 times, last exit code 1\n');
  });

  test('error: an image that cannot be pulled, named with the kubelet message', async () => {
    serveCluster(kube, {
      deployments: [deployment('iris', { replicas: 1, ready: 0 })],
      pods: [
        pod('iris', 'k4j2p', {
          api: {
            ready: false,
            image: '123456789012.dkr.ecr.us-east-1.amazonaws.com/iris:v2',
            state: { waiting: { reason: 'ImagePullBackOff', message: 'Back-off pulling image "123456789012.dkr.ecr.us-east-1.amazonaws.com/iris:v2"' } },
          },
        }),
      ],
      virtualServices: [virtualService('iris', 'RealtimeAPI')],
    });

    const { out } = await get();

    expect(row(out, 'iris').slice(0, 2)).toEqual(['iris', 'error']);
    expect(out).toContain(
      'iris: container "api": image pull failure: cannot pull 123456789012.dkr.ecr.us-east-1.amazonaws.com/iris:v2 ' +
        '(ImagePullBackOff: Back-off pulling image "123456789012.dkr.ecr.us-east-1.amazonaws.com/iris:v2")\n',
    );
  });
});

describe('cortex get: the list', () => {
  test('traffic splitters get their own table, with weights, shadow and the worst target status', async () => {
    serveCluster(kube, {
      deployments: [deployment('iris-a'), deployment('iris-b'), deployment('iris-c', { updated: 1 })],
      virtualServices: [
        virtualService('iris-a', 'RealtimeAPI'),
        virtualService('iris-b', 'RealtimeAPI'),
        virtualService('iris-c', 'RealtimeAPI'),
        virtualService('iris', 'TrafficSplitter', { routes: [{ api: 'iris-a', weight: 80 }, { api: 'iris-b', weight: 20 }], mirror: { api: 'iris-c', percent: 10 } }),
      ],
    });

    const { out } = await get();

    expect(out).toMatch(/^TRAFFIC SPLITTER {2}STATUS {4}APIS/m);
    expect(row(out, 'iris')).toEqual(['iris', 'updating', 'iris-a:80 iris-b:20 iris-c:10 (shadow)', '1d', `http://${LB_HOSTNAME}/iris`]);
    expect(out).toContain('iris: API "iris-c" is updating: rolling out: 1 of 2 replicas up to date, 2 ready\n');
  });

  test('a gateway without a load balancer address yet: endpoints show their paths, and why', async () => {
    serveCluster(kube, { deployments: [deployment('hello-world')], virtualServices: [virtualService('hello-world', 'RealtimeAPI')], gateway: gatewayService() });

    const { out } = await get();

    expect(row(out, 'hello-world')[6]).toBe('<load balancer pending>/hello-world');
    expect(out).toContain('the APIs gateway (istio-system/apis-gateway-lb) has no load balancer address yet: endpoints show their paths\n');
  });

  test('no APIs: says so, exit 0', async () => {
    serveCluster(kube, {});
    const { code, out } = await get();
    expect(code).toBe(0);
    expect(out).toBe('no APIs in namespace "cortex" (context "fake")\n');
  });

  test('--json: the same facts, typed', async () => {
    serveCluster(kube, {
      deployments: [deployment('hello-world', { updatedAt: '2025-01-02T03:04:05Z' })],
      pods: [pod('hello-world', 'x2x4z')],
      virtualServices: [virtualService('hello-world', 'RealtimeAPI')],
    });

    const { code, out } = await get('--json');

    expect(code).toBe(0);
    const json = JSON.parse(out);
    expect(json).toMatchObject({ namespace: 'cortex', gateway: LB_HOSTNAME, trafficSplitters: [] });
    expect(json.apis).toHaveLength(1);
    expect(json.apis[0]).toMatchObject({
      kind: 'RealtimeAPI',
      name: 'hello-world',
      status: 'live',
      replicas: { requested: 2, ready: 2, upToDate: 2 },
      endpoint: `http://${LB_HOSTNAME}/hello-world`,
      path: '/hello-world',
      lastUpdate: '2025-01-02T03:04:05Z',
      containers: [{ name: 'api' }, { name: 'proxy' }],
      pods: [{ name: 'hello-world-7d9f8c6b5-x2x4z', phase: 'Running', ready: '2/2', restarts: 0, node: 'ip-10-0-1-23.ec2.internal' }],
    });
  });
});

describe('cortex get API: the detailed view', () => {
  const cluster = () =>
    serveCluster(kube, {
      deployments: [deployment('iris', { updatedAt: ago(3 * 3_600_000 + 12 * 60_000 + 30_000) }), deployment('iris-v2')],
      pods: [pod('iris', 'x2x4z'), pod('iris', 'q8k9m', { api: { restartCount: 1 } }), pod('iris-v2', 'aaaaa')],
      virtualServices: [virtualService('iris', 'RealtimeAPI')],
    });

  test('status, replicas, endpoint, last update, metrics from Prometheus and the pods', async () => {
    // GIVEN
    cluster();
    servePrometheus(kube, {
      byCode: { '200': 12.1, '400': 0.25, '499': 0.05, '503': 0.5 },
      p50: 0.041,
      p99: 0.18,
      firstByteP50: 0.012,
      firstByteP99: 0.095,
      inFlight: 3,
      queued: 1,
    });

    // WHEN
    const { code, out, err } = await get('iris');

    // THEN
    expect(err).toBe('');
    expect(code).toBe(0);
    const [fields, metrics, pods] = out.split('\n\n');
    expect(fields.split('\n')).toEqual([
      'iris',
      'status:       live',
      'replicas:     2 requested, 2 ready, 2 up to date',
      `endpoint:     http://${LB_HOSTNAME}/iris`,
      expect.stringMatching(/^last update: {2}3h12m ago \(\d{4}-\d\d-\d\dT[\d:.]+Z\)$/),
      'containers:   api (123456789012.dkr.ecr.us-east-1.amazonaws.com/iris:v1), proxy (123456789012.dkr.ecr.us-east-1.amazonaws.com/cortex-proxy:0.1.0)',
    ]);
    expect(metrics.split('\n')).toEqual([
      'metrics, last 1m:',
      '  request rate:  12.9/s',
      '  latency:       p50 41 ms, p99 180 ms',
      '  first byte:    p50 12 ms, p99 95 ms',
      '  responses:     2XX 12.1/s, 4XX 0.3/s, 5XX 0.5/s',
      '  in flight:     3 (1 queued)',
    ]);
    expect(pods.split('\n')[0].split(/\s{2,}/)).toEqual(['POD', 'STATUS', 'READY', 'RESTARTS', 'AGE', 'NODE']);
    expect(row(pods, 'iris-7d9f8c6b5-q8k9m')).toEqual(['iris-7d9f8c6b5-q8k9m', 'Running', '2/2', '1', '3h12m', 'ip-10-0-1-23.ec2.internal']);
    expect(pods).not.toContain('iris-v2');
    // the queries select the API's series by the scrape job's labels, over the window
    const queries = kube.requestsTo(PROMETHEUS_QUERY_PATH).map((r) => r.query.get('query'));
    expect(queries).toContain('sum by (code) (rate(cortex_requests_total{namespace="cortex",cortex_dev_api_name="iris"}[60s]))');
    expect(queries).toContain(
      'histogram_quantile(0.99, sum by (le) (rate(cortex_request_duration_seconds_bucket{namespace="cortex",cortex_dev_api_name="iris"}[60s])))',
    );
    expect(queries).toContain('sum(cortex_in_flight_requests{namespace="cortex",cortex_dev_api_name="iris"})');
    // the time to first byte beside the latency, from the proxies' histogram of it
    expect(queries).toContain(
      'histogram_quantile(0.5, sum by (le) (rate(cortex_time_to_first_byte_seconds_bucket{namespace="cortex",cortex_dev_api_name="iris"}[60s])))',
    );
    expect(queries).toContain(
      'histogram_quantile(0.99, sum by (le) (rate(cortex_time_to_first_byte_seconds_bucket{namespace="cortex",cortex_dev_api_name="iris"}[60s])))',
    );
  });

  test('no traffic: rates of zero and no latency', async () => {
    cluster();
    servePrometheus(kube, { byCode: {}, inFlight: 0, queued: 0 });

    const { out } = await get('iris', '--window', '5m');

    expect(out).toContain('metrics, last 5m:\n  request rate:  0/s\n  latency:       p50 -, p99 -\n  first byte:    p50 -, p99 -\n  responses:     2XX 0/s, 4XX 0/s, 5XX 0/s\n');
    expect(kube.requestsTo(PROMETHEUS_QUERY_PATH)[0].query.get('query')).toMatch(/\[300s\]/);
  });

  test('a scale-to-zero API: the requests the interceptor holds beyond those in the proxies, read by route', async () => {
    cluster();
    servePrometheus(kube, { byCode: {}, inFlight: 1, queued: 0, atInterceptor: 4 });

    const { out } = await get('iris');

    expect(out).toContain('  in flight:     1 (0 queued)\n  held:          3 waiting for a ready replica (cold start)\n');
    const queries = kube.requestsTo(PROMETHEUS_QUERY_PATH).map((r) => r.query.get('query'));
    expect(queries).toContain('sum(interceptor_request_concurrency{route_namespace="cortex",route_name="iris"})');
  });

  test('Prometheus down: the status still shows, the metrics say why they are missing, exit 0', async () => {
    cluster();
    kube.on('GET', PROMETHEUS_QUERY_PATH, { status: 503, body: kubeStatus(503, 'ServiceUnavailable', 'no endpoints available for service "prometheus-server"') });

    const { code, out } = await get('iris');

    expect(code).toBe(0);
    expect(out).toContain('status:       live\n');
    expect(out).toContain('metrics: unavailable — Prometheus (prometheus/prometheus-server:80) answered 503: no endpoints available for service "prometheus-server"\n');
    expect(out).toContain('iris-7d9f8c6b5-x2x4z');
  });

  test('--json with metrics, and with the reason they are missing', async () => {
    cluster();
    servePrometheus(kube, { byCode: { '200': 2 }, p50: 0.01, p99: 0.02, firstByteP50: 0.004, firstByteP99: 0.009, inFlight: 1, queued: 0 });
    const withMetrics = JSON.parse((await get('iris', '--json')).out);
    expect(withMetrics).toMatchObject({
      name: 'iris',
      status: 'live',
      metrics: {
        windowSeconds: 60,
        requestsPerSecond: 2,
        responsesPerSecond: { '2XX': 2, '4XX': 0, '5XX': 0 },
        p50Seconds: 0.01,
        p99Seconds: 0.02,
        firstByteP50Seconds: 0.004,
        firstByteP99Seconds: 0.009,
        inFlight: 1,
        queued: 0,
      },
    });

    kube.on('GET', PROMETHEUS_QUERY_PATH, { status: 404, body: kubeStatus(404, 'NotFound', 'services "prometheus-server" not found') });
    const without = JSON.parse((await get('iris', '--json')).out);
    expect(without.metrics).toBeNull();
    expect(without.metricsUnavailable).toBe('Prometheus (prometheus/prometheus-server:80) answered 404: services "prometheus-server" not found');
  });

  test('--prometheus points at another service', async () => {
    cluster();
    const other = '/api/v1/namespaces/monitoring/services/kube-prometheus:web/proxy/api/v1/query';
    kube.on('GET', other, { body: { status: 'success', data: { resultType: 'vector', result: [] } } });

    const { out } = await get('iris', '--prometheus', 'monitoring/kube-prometheus:web');

    expect(out).toContain('request rate:  0/s');
    // the seven figures and the custom metrics
    expect(kube.requestsTo(other)).toHaveLength(9);
  });

  /** A sample as Prometheus returns it for a pod of iris: the scrape's labels, the runtime's api_name, the tags. */
  const scraped = (name: string, pod: string, value: number | string, tags: Record<string, string> = {}) => ({
    metric: {
      __name__: name,
      namespace: 'cortex',
      pod: `iris-7d9f8c6b5-${pod}`,
      instance: `10.0.1.${pod.length}:15000`,
      job: 'kubernetes-pods',
      cortex_dev_api_name: 'iris',
      cortex_dev_api_kind: 'RealtimeAPI',
      app_kubernetes_io_managed_by: 'cortex-cdk',
      pod_template_hash: '7d9f8c6b5',
      api_name: 'iris',
      ...tags,
    },
    value,
  });
  const customSamples = [
    scraped('my_counter', 'x2x4z', 12, { model: 'v1' }),
    scraped('my_counter', 'q8k9m', 30, { model: 'v1' }),
    scraped('my_counter', 'q8k9m', 1, { model: 'v2' }),
    scraped('my_gauge', 'x2x4z', 40, { model: 'v1' }),
    scraped('my_gauge', 'q8k9m', 42, { model: 'v1' }),
    scraped('loaded_models', 'x2x4z', 3),
    scraped('loaded_models', 'q8k9m', 3),
    scraped('my_histogram_bucket', 'x2x4z', 2, { model: 'v1', le: '0.5' }),
    scraped('my_histogram_bucket', 'x2x4z', 3, { model: 'v1', le: '+Inf' }),
    scraped('my_histogram_sum', 'x2x4z', 1.5, { model: 'v1' }),
    scraped('my_histogram_count', 'x2x4z', 3, { model: 'v1' }),
    scraped('my_histogram_sum', 'q8k9m', 4.5, { model: 'v1' }),
    scraped('my_histogram_count', 'q8k9m', 1, { model: 'v1' }),
  ];
  const metadata = (types: Record<string, string>) => ({
    body: {
      status: 'success',
      data: Object.entries(types).map(([metric, type]) => ({
        target: { instance: '10.0.1.5:15000', job: 'kubernetes-pods', namespace: 'cortex', pod: 'iris-7d9f8c6b5-x2x4z', cortex_dev_api_name: 'iris' },
        metric,
        type,
        help: 'Custom metric.',
        unit: '',
      })),
    },
  });

  test("the predictor's custom metrics (metrics_client), added up over the pods, typed by Prometheus' metadata", async () => {
    // GIVEN two pods reporting custom metrics, and their types in the targets' metadata
    cluster();
    servePrometheus(kube, { byCode: { '200': 2 }, p50: 0.01, p99: 0.02, inFlight: 1, queued: 0, custom: customSamples });
    kube.on('GET', PROMETHEUS_METADATA_PATH, metadata({ my_counter: 'counter', my_gauge: 'gauge', my_histogram: 'histogram', cortex_requests_total: 'counter' }));

    // WHEN
    const { code, out } = await get('iris');

    // THEN a table between the metrics and the pods, the pods' and the runtime's labels set aside
    expect(code).toBe(0);
    const [, metrics, custom, pods] = out.split('\n\n');
    expect(metrics).toContain('  in flight:     1 (0 queued)');
    expect(custom.split('\n')[0].split(/\s{2,}/)).toEqual(['CUSTOM METRIC (NOW)', 'TYPE', 'PODS', 'VALUE']);
    expect(row(custom, 'loaded_models')).toEqual(['loaded_models', 'unknown', '2', '3']);
    expect(row(custom, 'my_counter{model="v1"}')).toEqual(['my_counter{model="v1"}', 'counter', '2', '42']);
    expect(row(custom, 'my_counter{model="v2"}')).toEqual(['my_counter{model="v2"}', 'counter', '1', '1']);
    expect(row(custom, 'my_gauge{model="v1"}')).toEqual(['my_gauge{model="v1"}', 'gauge', '2', '40 to 42 (sum 82)']);
    expect(row(custom, 'my_histogram{model="v1"}')).toEqual(['my_histogram{model="v1"}', 'histogram', '2', '4 observations, mean 1.5']);
    expect(custom.split('\n').filter((l) => l !== '')).toHaveLength(6);
    expect(pods.split('\n')[0]).toMatch(/^POD\s/);
    // one instant query for every series of the API's pods but the platform's, and the metadata of its targets
    const queries = kube.requestsTo(PROMETHEUS_QUERY_PATH).map((r) => r.query.get('query'));
    expect(queries).toContain('{namespace="cortex",cortex_dev_api_name="iris",__name__!~"cortex_.+|istio_.+|process_.+|nodejs_.+|scrape_.+|up"}');
    expect(kube.requestsTo(PROMETHEUS_METADATA_PATH)[0].query.get('match_target')).toBe('{namespace="cortex",cortex_dev_api_name="iris"}');
  });

  test('--json lists the custom series; no metadata: types unknown, histograms still recognized', async () => {
    cluster();
    servePrometheus(kube, { byCode: {}, inFlight: 0, queued: 0, custom: customSamples });

    const { out } = await get('iris', '--json');

    const { customMetrics } = JSON.parse(out);
    expect(customMetrics).toContainEqual({ name: 'my_counter', labels: { model: 'v1' }, type: 'unknown', pods: 2, min: 12, max: 30, sum: 42 });
    expect(customMetrics).toContainEqual({ name: 'my_histogram', labels: { model: 'v1' }, type: 'histogram', pods: 2, count: 4, sum: 6 });
    expect(customMetrics).toHaveLength(5);
  });

  test('an API without custom metrics shows no table; a failing custom query says why and keeps the other figures', async () => {
    cluster();
    servePrometheus(kube, { byCode: { '200': 2 }, p50: 0.01, p99: 0.02, inFlight: 1, queued: 0 });
    const none = (await get('iris')).out;
    expect(none).not.toContain('CUSTOM METRIC');
    expect(none.split('\n\n')).toHaveLength(3);

    kube.on('GET', PROMETHEUS_QUERY_PATH, (req) =>
      (req.query.get('query') ?? '').startsWith('{')
        ? { status: 422, body: { status: 'error', errorType: 'execution', error: 'query processing would load too many samples into memory' } }
        : { body: { status: 'success', data: { resultType: 'vector', result: [] } } },
    );
    const { code, out } = await get('iris');
    expect(code).toBe(0);
    expect(out).toContain(
      '  in flight:     0 (0 queued)\ncustom metrics: unavailable — Prometheus (prometheus/prometheus-server:80) answered 422: query processing would load too many samples into memory\n',
    );
  });

  test('a traffic splitter in detail: its targets and their states', async () => {
    serveCluster(kube, {
      deployments: [deployment('iris-a')],
      virtualServices: [virtualService('iris', 'TrafficSplitter', { routes: [{ api: 'iris-a', weight: 80 }, { api: 'iris-b', weight: 20 }] })],
    });

    const { code, out } = await get('iris');

    expect(code).toBe(0);
    expect(out).toContain('iris (traffic splitter)\nstatus:       error\nreason:       API "iris-b" is not deployed\n');
    expect(row(out, 'iris-a')).toEqual(['iris-a', '80%', 'live', '-']);
    expect(row(out, 'iris-b')).toEqual(['iris-b', '20%', 'not deployed', '-']);
  });

  test('an unknown API: exit 1, naming the deployed ones', async () => {
    cluster();
    const { code, out, err } = await get('iriss');
    expect(code).toBe(1);
    expect(out).toBe('');
    expect(err).toBe('cortex get: no API named "iriss" in namespace "cortex" (context "fake"); deployed: iris, iris-v2\n');
  });
});

describe('cortex get: failures say what to do', () => {
  test('an unreachable API server', async () => {
    const gone = await FakeHttpServer.start();
    const url = gone.url;
    await gone.stop();
    const config = writeKubeconfig(fs.mkdtempSync(path.join(dir, 'gone-')), url);

    const { code, err } = await runCliAsync(['get', '--kubeconfig', config], dir);

    expect(code).toBe(1);
    expect(err).toBe(`cortex get: cannot reach the Kubernetes API at ${url} (context "fake"): connection refused\n`);
  });

  test('credentials the cluster refuses', async () => {
    kube.on('GET', /.*/, { status: 401, body: kubeStatus(401, 'Unauthorized', 'Unauthorized') });
    const { code, err } = await get();
    expect(code).toBe(1);
    expect(err).toMatch(/^cortex get: the Kubernetes API at http:\/\/127\.0\.0\.1:\d+ did not accept the credentials of user "fake" \(context "fake"\): 401 Unauthorized\. For EKS/);
  });

  test('an API server answering lists that are not lists is an error naming the request, not an internal error', async () => {
    kube.on('GET', '/apis/apps/v1/namespaces/cortex/deployments', { body: { items: 5 } }).on('GET', '/api/v1/namespaces/cortex/pods', { body: 'null' });
    const { code, err } = await get();
    expect(code).toBe(1);
    expect(err).not.toContain('internal error');
    expect(err).toMatch(/^cortex get: GET \/(apis\/apps\/v1\/namespaces\/cortex\/deployments|api\/v1\/namespaces\/cortex\/pods): the API server answered 200 with /);
  });

  test('no kubeconfig at all', async () => {
    const { code, err } = await runCliAsync(['get', '--kubeconfig', 'missing'], dir);
    expect(code).toBe(1);
    expect(err).toBe('cortex get: --kubeconfig missing: no such file\n');
  });

  test('bad flags are usage errors', async () => {
    expect((await get('--window', '5s')).err).toMatch(/--window must be a duration of at least 20s/);
    expect((await get('--interval', 'soon')).code).toBe(2);
    // Longer than a timer can wait (2^31 - 1 ms): --watch would refresh without pause.
    const { code, err } = await get('--interval', '30d');
    expect(err).toMatch(/^cortex get: --interval must be a duration from 500ms to 24h \(2s, 10s\), got "30d"\n/);
    expect(code).toBe(2);
    expect((await get('--prometheus', 'prometheus-server')).err).toMatch(/--prometheus must be NAMESPACE\/SERVICE:PORT/);
    expect((await get('a', 'b')).err).toMatch(/unexpected argument "b"/);
  });
});

describe('cortex get --watch', () => {
  /** An io that records each write and aborts after `writes` of them. */
  function watchingIo(isTTY: boolean, writes: number) {
    const controller = new AbortController();
    const out: string[] = [];
    const io: CliIo = {
      out: (t) => {
        out.push(t);
        if (out.length === writes) controller.abort();
      },
      err: () => undefined,
      cwd: dir,
      isTTY,
    };
    return { io, out, signal: controller.signal };
  }

  test('not on a terminal: each refresh printed after the previous, with a header; stopping exits 0', async () => {
    serveCluster(kube, { deployments: [deployment('hello-world')], virtualServices: [virtualService('hello-world', 'RealtimeAPI')] });
    const { io, out, signal } = watchingIo(false, 2);

    const code = await getCommand(['--watch', '--interval', '500ms', '--kubeconfig', kubeconfig], io, signal);

    expect(code).toBe(0);
    expect(out).toHaveLength(2);
    expect(out[0]).toMatch(/^Every 500ms: cortex get {4}\d\d:\d\d:\d\d\n\nAPI {2}/);
    expect(out[1]).toMatch(/^\nEvery 500ms: cortex get {4}\d\d:\d\d:\d\d\n\nAPI {2}/);
    expect(out.join('')).not.toContain('\x1b');
    expect(kube.requestsTo('/apis/apps/v1/namespaces/cortex/deployments')).toHaveLength(2);
  });

  test('on a terminal: clears the screen and redraws, in colour', async () => {
    serveCluster(kube, { deployments: [deployment('hello-world')], virtualServices: [virtualService('hello-world', 'RealtimeAPI')] });
    const { io, out, signal } = watchingIo(true, 2);

    const code = await getCommand(['hello-world', '-w', '--interval', '1s', '--kubeconfig', kubeconfig], io, signal);

    expect(code).toBe(0);
    for (const frame of out) expect(frame.startsWith('\x1b[H\x1b[2J')).toBe(true);
    expect(out[1]).toContain('Every 1s: cortex get hello-world');
    expect(out[1]).toContain('\x1b[32mlive\x1b[39m');
  });

  test('an unknown API ends the watch at once with exit 1', async () => {
    serveCluster(kube, {});
    const { io, signal } = watchingIo(false, 100);
    expect(await getCommand(['nope', '--watch', '--kubeconfig', kubeconfig], io, signal)).toBe(1);
  });

  test('as a process: Ctrl-C exits 0 (KUBECONFIG from the environment)', async () => {
    serveCluster(kube, { deployments: [deployment('hello-world')], virtualServices: [virtualService('hello-world', 'RealtimeAPI')] });
    const cli = path.join(__dirname, '..', '..', 'dist', 'bin', 'cortex.js');
    const child = spawn(process.execPath, [cli, 'get', '--watch'], { env: { ...process.env, KUBECONFIG: kubeconfig }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const firstFrame = new Promise<void>((resolve) =>
      child.stdout.on('data', (d) => {
        output += d;
        if (output.includes('hello-world')) resolve();
      }),
    );
    child.stderr.on('data', (d) => (output += d));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));

    await firstFrame;
    child.kill('SIGINT');

    expect(await exited).toBe(0);
    expect(output).toMatch(/^Every 2s: cortex get/);
  }, 30_000);
});

describe('cortex get in a pod: the in-cluster configuration', () => {
  // GIVEN a pod's view: no kubeconfig, KUBERNETES_SERVICE_HOST/PORT, the ServiceAccount's token, CA and namespace
  // mounted (here in a directory of the test), and an API server on TLS signed by that CA that wants the token
  const pki = fs.mkdtempSync(path.join(dir, 'pki-'));
  const certificates = makeTestCertificates(pki);
  const account = fs.mkdtempSync(path.join(dir, 'serviceaccount-'));
  const home = fs.mkdtempSync(path.join(dir, 'home-'));
  let cluster: FakeHttpServer;
  let token = 'token-1';

  beforeAll(async () => {
    cluster = await FakeHttpServer.start({ tls: certificates });
    const list = (items: unknown[]) => (req: FakeRequest) =>
      req.headers.authorization === `Bearer ${token}`
        ? { body: { kind: 'List', apiVersion: 'v1', metadata: {}, items } }
        : { status: 401, body: kubeStatus(401, 'Unauthorized', 'Unauthorized') };
    cluster
      .on('GET', '/apis/apps/v1/namespaces/apis/deployments', list([deployment('summarizer')]))
      .on('GET', '/api/v1/namespaces/apis/pods', list([pod('summarizer', 'x2x4z'), pod('summarizer', 'q8k9m')]))
      .on('GET', '/apis/networking.istio.io/v1/namespaces/apis/virtualservices', list([virtualService('summarizer', 'RealtimeAPI')]))
      .on('GET', '/api/v1/namespaces/istio-system/services/apis-gateway-lb', (req) =>
        req.headers.authorization === `Bearer ${token}` ? { body: gatewayService(LB_HOSTNAME) } : { status: 401, body: kubeStatus(401, 'Unauthorized', '') },
      );
    fs.writeFileSync(path.join(account, 'ca.crt'), certificates.ca);
    fs.writeFileSync(path.join(account, 'token'), `${token}\n`);
    fs.writeFileSync(path.join(account, 'namespace'), 'apis');
  });
  afterAll(() => cluster.stop());

  const podEnv = (): NodeJS.ProcessEnv => ({
    HOME: home,
    KUBERNETES_SERVICE_HOST: '127.0.0.1',
    KUBERNETES_SERVICE_PORT: String(cluster.port),
    [SERVICE_ACCOUNT_DIR_ENV]: account,
  });
  const getInPod = async (env: NodeJS.ProcessEnv, ...args: string[]) => {
    let out = '';
    let err = '';
    const code = await getCommand(args, { out: (t) => (out += t), err: (t) => (err += t), cwd: dir, env });
    return { code, out, err };
  };

  test('lists the APIs of the pod\'s namespace over TLS with the ServiceAccount token, read again as it rotates', async () => {
    // WHEN
    const first = await getInPod(podEnv());

    // THEN
    expect(first.err).toBe('');
    expect(first.code).toBe(0);
    expect(row(first.out, 'summarizer')).toEqual(['summarizer', 'live', '2', '2', '2', '3h12m', `http://${LB_HOSTNAME}/summarizer`]);
    const reads = cluster.requests.filter((r) => r.path.startsWith('/apis/apps/v1/namespaces/'));
    expect(reads.map((r) => [r.path, r.headers.authorization])).toEqual([['/apis/apps/v1/namespaces/apis/deployments', 'Bearer token-1']]);

    // WHEN the kubelet rotates the token
    token = 'token-2';
    fs.writeFileSync(path.join(account, 'token'), token);
    const second = await getInPod(podEnv());

    // THEN the new one is sent
    expect(second.code).toBe(0);
    expect(cluster.requestsTo('/apis/apps/v1/namespaces/apis/deployments').pop()?.headers.authorization).toBe('Bearer token-2');
  });

  test('a token the API server refuses, and a server its CA did not sign, are errors that say which', async () => {
    fs.writeFileSync(path.join(account, 'token'), 'stale');
    const refused = await getInPod(podEnv());
    fs.writeFileSync(path.join(account, 'token'), token);
    expect(refused.code).toBe(1);
    expect(refused.err).toContain(`the Kubernetes API at https://127.0.0.1:${cluster.port} did not accept the pod's ServiceAccount token: 401`);

    fs.writeFileSync(path.join(account, 'ca.crt'), certificates.cert);
    const untrusted = await getInPod(podEnv());
    fs.writeFileSync(path.join(account, 'ca.crt'), certificates.ca);
    expect(untrusted.code).toBe(1);
    expect(untrusted.err).toMatch(/cannot reach the Kubernetes API at https:\/\/127\.0\.0\.1:\d+ \(context "in-cluster"\)/);
    // In a pod the server is checked against the ServiceAccount's ca.crt: there is no kubeconfig to name.
    expect(untrusted.err).toMatch(/ServiceAccount's ca\.crt/);
    expect(untrusted.err).not.toContain('kubeconfig');
  });

  test('-n, a kubeconfig in HOME, or a pod without a token', async () => {
    // -n wins over the pod's namespace
    const other = await getInPod(podEnv(), '-n', 'cortex');
    expect(other.err).toContain('/apis/apps/v1/namespaces/cortex/deployments');

    // a kubeconfig, when there is one, wins over the in-cluster configuration
    const withConfig = fs.mkdtempSync(path.join(dir, 'home-'));
    fs.mkdirSync(path.join(withConfig, '.kube'));
    fs.copyFileSync(writeKubeconfig(fs.mkdtempSync(path.join(dir, 'kc-')), kube.url), path.join(withConfig, '.kube', 'config'));
    serveCluster(kube, { deployments: [deployment('from-kubeconfig')] });
    const viaKubeconfig = await getInPod({ ...podEnv(), HOME: withConfig });
    expect(viaKubeconfig.out).toContain('from-kubeconfig');

    // no token mounted: what to do about it
    const noToken = await getInPod({ ...podEnv(), [SERVICE_ACCOUNT_DIR_ENV]: home });
    expect(noToken.code).toBe(1);
    expect(noToken.err).toContain(`no ServiceAccount token at ${path.join(home, 'token')}`);
    expect(noToken.err).toContain('read_apis: true');
  });
});
