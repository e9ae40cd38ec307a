import * as net from 'node:net';
import { checkTcp, Health } from '../../../images/proxy/src/health';
import { admin, freePort, LOOPBACK, startTestProxy, TestUpstream } from './util';

describe('checkTcp', () => {
  test('ok while something accepts connections; the error code otherwise', async () => {
    const server = net.createServer((s) => s.destroy());
    await new Promise<void>((resolve) => server.listen(0, LOOPBACK, () => resolve()));
    const port = (server.address() as net.AddressInfo).port;
    expect(await checkTcp(LOOPBACK, port)).toEqual({ ok: true });
    await new Promise<void>((resolve) => server.close(() => resolve()));
    expect(await checkTcp(LOOPBACK, port)).toEqual({ ok: false, reason: 'ECONNREFUSED' });
  });
});

describe('Health', () => {
  test('GIVEN the proxy drains THEN not ready, without even asking the user server', async () => {
    const health = new Health({ userHost: LOOPBACK, userPort: 1, draining: () => true });
    expect(await health.check()).toEqual({ ready: false, status: 'draining' });
  });

  test('GIVEN nothing on the user port THEN not ready, and the detail says where and why', async () => {
    const port = await freePort();
    const health = new Health({ userHost: LOOPBACK, userPort: port, draining: () => false });
    expect(await health.check()).toEqual({
      ready: false,
      status: 'user server not accepting connections',
      detail: `127.0.0.1:${port}: ECONNREFUSED`,
    });
  });
});

describe('GET /healthz on the admin port', () => {
  test('200 only while the user server accepts TCP connections: it follows the server starting and stopping', async () => {
    const port = await freePort();
    const proxy = await startTestProxy(port);
    try {
      const before = await admin(proxy, '/healthz');
      expect(before.status).toBe(503);
      expect(before.headers['content-type']).toBe('application/json');
      expect(JSON.parse(before.text)).toMatchObject({ ready: false, status: 'user server not accepting connections' });

      const upstream = await TestUpstream.start({ port });
      const during = await admin(proxy, '/healthz');
      expect(during.status).toBe(200);
      expect(JSON.parse(during.text)).toEqual({ ready: true, status: 'ok' });

      await upstream.close();
      expect((await admin(proxy, '/healthz')).status).toBe(503);
    } finally {
      await proxy.close();
    }
  });

  test('503 once draining, while the user server is still up', async () => {
    const upstream = await TestUpstream.start();
    const proxy = await startTestProxy(upstream.port);
    try {
      expect((await admin(proxy, '/healthz')).status).toBe(200);
      proxy.handler.startDraining();
      const r = await admin(proxy, '/healthz');
      expect(r.status).toBe(503);
      expect(JSON.parse(r.text)).toMatchObject({ status: 'draining' });
    } finally {
      await proxy.close();
      await upstream.close();
    }
  });
});
