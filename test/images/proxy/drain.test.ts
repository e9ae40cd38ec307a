import * as http from 'node:http';
import { DrainResult, exitOnSignals, Stoppable } from '../../../images/proxy/src/drain';
import { Log } from '../../../images/proxy/src/log';
import type { RunningProxy } from '../../../images/proxy/src/server';
import { accepts, admin, deferred, send, startTestProxy, TestUpstream, waitFor } from './util';

let upstream: TestUpstream;
let proxy: RunningProxy;
afterEach(async () => {
  await proxy.close();
  await upstream.close();
});

describe('drain (what SIGTERM does)', () => {
  test('stops accepting, reports not ready, finishes active and queued requests, then closes everything', async () => {
    upstream = await TestUpstream.start();
    proxy = await startTestProxy(upstream.port, { maxConcurrency: 1, maxQueueLength: 3 });
    // A client with an open, idle keep-alive connection, as the gateway has.
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const warmup = send(proxy.port, { path: '/warmup', agent });
    (await upstream.next()).respond();
    await warmup;

    const active = send(proxy.port, { path: '/active' });
    const inside = await upstream.next();
    const queued = [send(proxy.port, { path: '/queued-1' }), send(proxy.port, { path: '/queued-2' })];
    await waitFor(() => proxy.breaker.queued === 2, 'two queued requests');

    const drained = proxy.drain();
    expect(proxy.handler.draining).toBe(true);
    expect(await accepts(proxy.port)).toBe(false);
    const health = await admin(proxy, '/healthz');
    expect(health.status).toBe(503);
    expect(JSON.parse(health.text)).toMatchObject({ status: 'draining' });

    // A request already on its way over an open connection is still served.
    const late = send(proxy.port, { path: '/late', agent });
    await waitFor(() => proxy.breaker.queued === 3, 'the late request in the queue');

    let finished = false;
    void drained.then(() => (finished = true));
    inside.respond();
    for (const path of ['/queued-1', '/queued-2', '/late']) {
      const next = await upstream.next();
      expect(next.req.url).toBe(path);
      expect(finished).toBe(false);
      next.respond();
    }
    const replies = await Promise.all([active, ...queued, late]);
    expect(replies.map((r) => r.status)).toEqual([200, 200, 200, 200]);
    // Every response during the drain closes its connection.
    expect(replies.every((r) => r.headers.connection === 'close')).toBe(true);

    const result: DrainResult = await drained;
    expect(result).toMatchObject({ drained: true, abandoned: 0 });
    expect(await accepts(proxy.adminPort)).toBe(false);
    agent.destroy();
  });

  test('nothing open: resolves at once and closes idle keep-alive connections', async () => {
    upstream = await TestUpstream.start({ autoRespond: true });
    proxy = await startTestProxy(upstream.port);
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    await send(proxy.port, { agent });
    const socket = Object.values(agent.freeSockets)[0]?.[0];
    expect(socket).toBeDefined();
    const socketClosed = new Promise((resolve) => socket?.once('close', resolve));
    expect(await proxy.drain()).toMatchObject({ drained: true, abandoned: 0 });
    await socketClosed;
    agent.destroy();
  });

  test('at the deadline, what is still open is cut and the drain ends anyway', async () => {
    upstream = await TestUpstream.start();
    proxy = await startTestProxy(upstream.port, { maxConcurrency: 1, drainTimeoutMs: 50 });
    const stuck = send(proxy.port, { path: '/stuck' }).catch((e: Error) => e);
    await upstream.next();
    const result = await proxy.drain();
    expect(result).toMatchObject({ drained: false, abandoned: 1 });
    expect(result.elapsedMs).toBeGreaterThanOrEqual(45);
    expect(String(await stuck)).toMatch(/socket hang up|ECONNRESET/);
    expect(proxy.handler.open).toBe(0);
  });
});

describe('exitOnSignals', () => {
  test('SIGTERM drains then exits 0; a second signal exits 1 at once', async () => {
    upstream = await TestUpstream.start();
    proxy = await startTestProxy(upstream.port);
    const lines: string[] = [];
    const exits: number[] = [];
    const drainCalled = deferred();
    const drainDone = deferred<DrainResult>();
    const fake: Stoppable = {
      handler: proxy.handler,
      drain: () => {
        drainCalled.resolve();
        return drainDone.promise;
      },
    };
    const remove = exitOnSignals(fake, 1234, new Log((l) => lines.push(l)), (code) => exits.push(code));
    try {
      process.emit('SIGTERM', 'SIGTERM');
      await drainCalled.promise;
      expect(lines[0]).toMatch(/SIGTERM: no new connections; draining 0 open requests \(deadline 1234 ms\)/);
      expect(exits).toEqual([]);
      process.emit('SIGINT', 'SIGINT');
      expect(exits).toEqual([1]);
      drainDone.resolve({ drained: true, abandoned: 0, elapsedMs: 3 });
      await waitFor(() => exits.length === 2, 'the exit after the drain');
      expect(exits).toEqual([1, 0]);
      expect(lines.join('\n')).toMatch(/drained in 3 ms; exiting/);
    } finally {
      remove();
    }
    expect(process.listenerCount('SIGTERM')).toBe(0);
  });
});
