import * as http from 'node:http';
import * as net from 'node:net';
import { configWith } from '../../../images/proxy/src/config';
import { startProxy } from '../../../images/proxy/src/server';
import { accepts, admin, capturedLog, LOOPBACK, send, startTestProxy, TestUpstream } from './util';

describe('startProxy', () => {
  test('GIVEN ports 0 THEN both servers listen on free ports, reported back', async () => {
    const upstream = await TestUpstream.start({ autoRespond: true });
    const proxy = await startTestProxy(upstream.port);
    try {
      expect(proxy.port).toBeGreaterThan(0);
      expect(proxy.adminPort).toBeGreaterThan(0);
      expect(proxy.port).not.toBe(proxy.adminPort);
      expect((await send(proxy.port)).status).toBe(200);
      expect((await admin(proxy, '/metrics')).status).toBe(200);
    } finally {
      await proxy.close();
      await upstream.close();
    }
  });

  test('the admin port: 404 elsewhere, 405 for other methods; it never proxies', async () => {
    const upstream = await TestUpstream.start({ autoRespond: true });
    const proxy = await startTestProxy(upstream.port);
    try {
      const missing = await admin(proxy, '/predict');
      expect(missing.status).toBe(404);
      expect(missing.text).toMatch(/\/metrics and \/healthz/);
      expect((await send(proxy.adminPort, { method: 'POST', path: '/metrics' })).status).toBe(405);
      expect((await admin(proxy, '/metrics?x=1')).status).toBe(200);
      expect(upstream.arrived.length).toBe(0);
    } finally {
      await proxy.close();
      await upstream.close();
    }
  });

  test('GIVEN a port already taken THEN startProxy rejects and leaves nothing listening', async () => {
    const taken = net.createServer();
    await new Promise<void>((resolve) => taken.listen(0, LOOPBACK, () => resolve()));
    const port = (taken.address() as net.AddressInfo).port;
    const { log } = capturedLog();
    try {
      const config = configWith({ host: LOOPBACK, port, adminPort: 0, userPort: 1 });
      await expect(startProxy(config, { log })).rejects.toThrow(/EADDRINUSE/);
    } finally {
      taken.close();
    }
  });

  test('close(): both ports stop accepting, open requests are cut', async () => {
    const upstream = await TestUpstream.start();
    const proxy = await startTestProxy(upstream.port);
    const pending = send(proxy.port).catch((e: Error) => e);
    await upstream.next();
    await proxy.close();
    expect(String(await pending)).toMatch(/socket hang up|ECONNRESET/);
    expect(await accepts(proxy.port)).toBe(false);
    expect(await accepts(proxy.adminPort)).toBe(false);
    await upstream.close();
  });

  test('the request port: the head timeout on (Node turns it off with requestTimeout 0), a header count above the forwarded one', async () => {
    const upstream = await TestUpstream.start({ autoRespond: true });
    const proxy = await startTestProxy(upstream.port, { requestHeadTimeoutMs: 1234 });
    try {
      expect(proxy.server.headersTimeout).toBe(1234);
      expect(proxy.server.requestTimeout).toBe(0);
      expect(proxy.server.maxHeadersCount).toBe(1001);
    } finally {
      await proxy.close();
      await upstream.close();
    }
  });

  test('an error on a listening server (a failed accept) is logged, not thrown', async () => {
    const upstream = await TestUpstream.start({ autoRespond: true });
    const proxy = await startTestProxy(upstream.port);
    try {
      expect(() => proxy.server.emit('error', Object.assign(new Error('accept EMFILE'), { code: 'EMFILE' }))).not.toThrow();
      expect(() => proxy.adminServer.emit('error', new Error('accept ENFILE'))).not.toThrow();
      expect(proxy.logLines.join('\n')).toMatch(/the request port: accept EMFILE/);
      expect((await send(proxy.port)).status).toBe(200);
    } finally {
      await proxy.close();
      await upstream.close();
    }
  });

  test('idle client connections are kept open for the keep-alive timeout (longer than the gateway\'s)', async () => {
    const upstream = await TestUpstream.start({ autoRespond: true });
    const proxy = await startTestProxy(upstream.port);
    try {
      expect(proxy.server.keepAliveTimeout).toBe(3_660_000);
      const agent = new http.Agent({ keepAlive: true });
      const r = await send(proxy.port, { agent });
      agent.destroy();
      expect(r.headers['keep-alive']).toBe('timeout=3660');
    } finally {
      await proxy.close();
      await upstream.close();
    }
  });
});
