import * as http from 'node:http';
import * as net from 'node:net';
import { parseCommandLine } from '../../../images/proxy/src/config';
import { Health } from '../../../images/proxy/src/health';
import { checkUserHealth, fetchText, withUserMetrics } from '../../../images/proxy/src/user-admin';
import { admin, freePort, LOOPBACK, parseMetrics, startTestProxy, TestUpstream } from './util';

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

/** The Python runtime's admin port, as the proxy sees it: `/healthz` and `/metrics`, answered as the test says. */
class FakeRuntimeAdmin {
  public static async start(): Promise<FakeRuntimeAdmin> {
    const fake = new FakeRuntimeAdmin();
    await new Promise<void>((resolve) => fake.server.listen(0, LOOPBACK, () => resolve()));
    return fake;
  }

  public health: Handler = (_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"status": "ready"}');
  public metrics: Handler = (_req, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end('');
  public readonly server: http.Server;
  private readonly sockets = new Set<net.Socket>();

  private constructor() {
    this.server = http.createServer((req, res) => (req.url === '/healthz' ? this.health : this.metrics)(req, res));
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
  }

  public get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  public async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

const TRACKER = [
  '# HELP cortex_prediction_class_total Predictions per predicted class.',
  '# TYPE cortex_prediction_class_total counter',
  'cortex_prediction_class_total{api_name="iris",class="setosa"} 3',
  '',
].join('\n');

describe('fetchText: bounded in time and size, never rejects', () => {
  let fake: FakeRuntimeAdmin;
  beforeEach(async () => (fake = await FakeRuntimeAdmin.start()));
  afterEach(() => fake.close());

  test('GIVEN a server that never answers THEN timeout', async () => {
    fake.metrics = () => undefined;
    expect(await fetchText(LOOPBACK, fake.port, '/metrics', 50, 1024)).toEqual({ reason: 'timeout' });
  });

  test('GIVEN a head, then a body that stalls THEN timeout, with the status', async () => {
    fake.metrics = (_req, res) => res.writeHead(200).write('# partial');
    expect(await fetchText(LOOPBACK, fake.port, '/metrics', 50, 1024)).toEqual({ status: 200, reason: 'timeout' });
  });

  test('GIVEN a body over the limit THEN given up as soon as it is, nothing kept', async () => {
    fake.metrics = (_req, res) => res.writeHead(200).end('x'.repeat(2000));
    expect(await fetchText(LOOPBACK, fake.port, '/metrics', 5000, 1000)).toEqual({ status: 200, reason: 'too large (over 1000 bytes)' });
  });

  test('GIVEN nothing listening THEN the socket error', async () => {
    expect(await fetchText(LOOPBACK, await freePort(), '/metrics', 5000, 1000)).toEqual({ reason: 'ECONNREFUSED' });
  });
});

describe('checkUserHealth', () => {
  test('ok on 200 only; otherwise where, the status and what the user server said', async () => {
    const fake = await FakeRuntimeAdmin.start();
    try {
      expect(await checkUserHealth(LOOPBACK, fake.port)).toEqual({ ok: true });
      fake.health = (_req, res) => res.writeHead(503).end('{"status": "stuck", "detail": "every predict thread (1) ..."}\n');
      expect(await checkUserHealth(LOOPBACK, fake.port)).toEqual({
        ok: false,
        detail: `127.0.0.1:${fake.port}/healthz: 503 {"status": "stuck", "detail": "every predict thread (1) ..."}`,
      });
      fake.health = () => undefined;
      expect(await checkUserHealth(LOOPBACK, fake.port, 50)).toEqual({ ok: false, detail: `127.0.0.1:${fake.port}/healthz: timeout` });
    } finally {
      await fake.close();
    }
  });
});

describe('withUserMetrics: the proxy\'s own metrics survive whatever the user server does', () => {
  const own = '# HELP cortex_in_flight_requests x\n# TYPE cortex_in_flight_requests gauge\ncortex_in_flight_requests 0\n' +
    '# HELP cortex_request_duration_seconds x\n# TYPE cortex_request_duration_seconds histogram\ncortex_request_duration_seconds_count 0\n';
  let fake: FakeRuntimeAdmin;
  beforeEach(async () => (fake = await FakeRuntimeAdmin.start()));
  afterEach(() => fake.close());

  test('GIVEN the tracker\'s metrics THEN appended after the proxy\'s', async () => {
    fake.metrics = (_req, res) => res.writeHead(200).end(TRACKER);
    expect(await withUserMetrics(own, LOOPBACK, fake.port)).toBe(own + TRACKER);
  });

  test('GIVEN metrics without a final newline THEN one is added', async () => {
    fake.metrics = (_req, res) => res.writeHead(200).end('a_metric 1');
    expect(await withUserMetrics(own, LOOPBACK, fake.port)).toBe(`${own}a_metric 1\n`);
  });

  test.each([
    ['a 500', ((_req, res) => res.writeHead(500).end('boom')) as Handler, 'status 500'],
    ['no answer in time', (() => undefined) as Handler, 'timeout'],
    ['a redefinition of the in-flight gauge', ((_req, res) => res.writeHead(200).end('cortex_in_flight_requests 99\n')) as Handler,
      "it redefines cortex_in_flight_requests, one of the proxy's own metrics"],
    ['a sample of the proxy\'s histogram', ((_req, res) => res.writeHead(200).end('cortex_request_duration_seconds_bucket{le="1"} 5\n')) as Handler,
      "it redefines cortex_request_duration_seconds_bucket, one of the proxy's own metrics"],
  ])('GIVEN %s THEN the proxy\'s metrics and a comment saying why', async (_name, handler, why) => {
    fake.metrics = handler;
    const text = await withUserMetrics(own, LOOPBACK, fake.port, 100);
    expect(text).toBe(`${own}# cortex-proxy: the user server's metrics (http://127.0.0.1:${fake.port}/metrics) are left out: ${why}\n`);
  });
});

describe('Health with a user admin port', () => {
  test('GIVEN the user port accepts connections but the user server says 503 THEN not ready (a TCP check would say ready)', async () => {
    const upstream = await TestUpstream.start({ autoRespond: true });
    const fake = await FakeRuntimeAdmin.start();
    try {
      fake.health = (_req, res) => res.writeHead(503).end('{"status": "loading"}');
      const health = new Health({ userHost: LOOPBACK, userPort: upstream.port, userAdminPort: fake.port, draining: () => false });
      expect(await health.check()).toEqual({
        ready: false,
        status: 'user server not ready',
        detail: `127.0.0.1:${fake.port}/healthz: 503 {"status": "loading"}`,
      });
    } finally {
      await fake.close();
      await upstream.close();
    }
  });
});

describe('the proxy with --user-admin-port', () => {
  test('GET /healthz on the admin port follows the user server\'s /healthz, not its TCP port', async () => {
    // GIVEN a user server that accepts connections, and whose /healthz says it is still loading
    const upstream = await TestUpstream.start({ autoRespond: true });
    const fake = await FakeRuntimeAdmin.start();
    fake.health = (_req, res) => res.writeHead(503, { 'content-type': 'application/json' }).end('{"status": "loading"}');
    const proxy = await startTestProxy(upstream.port, { userAdminPort: fake.port });
    try {
      // THEN not ready
      const loading = await admin(proxy, '/healthz');
      expect(loading.status).toBe(503);
      expect(JSON.parse(loading.text)).toMatchObject({ ready: false, status: 'user server not ready' });
      // WHEN its __init__ returns THEN ready
      fake.health = (_req, res) => res.writeHead(200).end('{"status": "ready"}');
      expect((await admin(proxy, '/healthz')).status).toBe(200);
      // WHEN its watchdog finds it stuck THEN not ready again
      fake.health = (_req, res) => res.writeHead(503).end('{"status": "stuck"}');
      expect(JSON.parse((await admin(proxy, '/healthz')).text).detail).toMatch(/503 \{"status": "stuck"\}$/);
    } finally {
      await proxy.close();
      await fake.close();
      await upstream.close();
    }
  });

  test('GET /metrics on the admin port has the proxy\'s metrics and the user server\'s, in one scrape', async () => {
    const upstream = await TestUpstream.start({ autoRespond: true });
    const fake = await FakeRuntimeAdmin.start();
    fake.metrics = (_req, res) => res.writeHead(200).end(TRACKER);
    const proxy = await startTestProxy(upstream.port, { userAdminPort: fake.port });
    try {
      const reply = await admin(proxy, '/metrics');
      expect(reply.status).toBe(200);
      const metrics = parseMetrics(reply.text);
      expect(metrics.get('cortex_in_flight_requests')).toBe(0);
      expect(metrics.get('cortex_prediction_class_total{api_name="iris",class="setosa"}')).toBe(3);

      // WHEN the user server is gone THEN the proxy's metrics still come, with a comment
      await fake.close();
      const without = await admin(proxy, '/metrics');
      expect(without.status).toBe(200);
      expect(parseMetrics(without.text).get('cortex_in_flight_requests')).toBe(0);
      expect(without.text).toMatch(/^# cortex-proxy: the user server's metrics \(http:\/\/127\.0\.0\.1:\d+\/metrics\) are left out: ECONNREFUSED$/m);
    } finally {
      await proxy.close();
      await upstream.close();
    }
  });
});

describe('--user-admin-port', () => {
  test('off (0) by default; a port from the flag or CORTEX_PROXY_USER_ADMIN_PORT', () => {
    const config = (argv: string[], env: NodeJS.ProcessEnv = {}) => {
      const command = parseCommandLine(argv, env);
      if (command.help) throw new Error('help');
      return command.config;
    };
    expect(config([]).userAdminPort).toBe(0);
    expect(config(['--user-admin-port', '8081']).userAdminPort).toBe(8081);
    expect(config([], { CORTEX_PROXY_USER_ADMIN_PORT: '9001' }).userAdminPort).toBe(9001);
    expect(() => config(['--user-admin-port', '70000'])).toThrow(/--user-admin-port \("70000"\) must be an integer from 0 to 65535/);
  });
});
