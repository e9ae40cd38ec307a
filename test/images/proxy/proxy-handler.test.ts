import { createHash, randomBytes } from 'node:crypto';
import * as http from 'node:http';
import * as net from 'node:net';
import type { ProxyConfig } from '../../../images/proxy/src/config';
import type { RunningProxy } from '../../../images/proxy/src/server';
import {
  admin,
  freePort,
  LOOPBACK,
  open,
  parseMetrics,
  rawExchange,
  replyOf,
  send,
  startTestProxy,
  TestUpstream,
  waitFor,
} from './util';

let upstream: TestUpstream;
let proxy: RunningProxy | undefined;

beforeEach(async () => {
  upstream = await TestUpstream.start();
});
afterEach(async () => {
  await proxy?.close();
  proxy = undefined;
  await upstream.close();
});

async function start(overrides: Partial<ProxyConfig> = {}, userPort = upstream.port): Promise<RunningProxy & { logLines: string[] }> {
  const started = await startTestProxy(userPort, { maxConcurrency: 4, maxQueueLength: 8, ...overrides });
  proxy = started;
  return started;
}

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

function closed(emitter: { once(event: 'close', listener: () => void): unknown }): Promise<void> {
  return new Promise((resolve) => emitter.once('close', () => resolve()));
}

describe('forwarding', () => {
  test('method, path, query and headers reach the user server; X-Forwarded-For/-Proto/-Host are added', async () => {
    const p = await start();
    const reply = send(p.port, {
      method: 'POST',
      path: '/predict?x=1&y=a%20b',
      headers: ['Host', 'api.example.com', 'X-Custom', 'v1', 'X-Dup', 'a', 'X-Dup', 'b', 'Content-Type', 'application/json', 'Content-Length', '7'],
      body: '{"a":1}',
    });
    const held = await upstream.next();
    expect(held.req.method).toBe('POST');
    expect(held.req.url).toBe('/predict?x=1&y=a%20b');
    expect((await held.body).toString()).toBe('{"a":1}');
    const h = held.req.headers;
    expect(h.host).toBe('api.example.com');
    expect(h['x-custom']).toBe('v1');
    expect(held.req.rawHeaders.filter((_, i, a) => i % 2 === 1 && a[i - 1] === 'X-Dup')).toEqual(['a', 'b']);
    expect(h['content-type']).toBe('application/json');
    expect(h['content-length']).toBe('7');
    expect(h['x-forwarded-for']).toBe('127.0.0.1');
    expect(h['x-forwarded-proto']).toBe('http');
    expect(h['x-forwarded-host']).toBe('api.example.com');
    held.respond(200, 'ok');
    expect((await reply).text).toBe('ok');
  });

  test("the gateway's X-Forwarded-* are kept, the client address is appended to X-Forwarded-For", async () => {
    const p = await start();
    const reply = send(p.port, {
      headers: { 'X-Forwarded-For': '203.0.113.9, 10.0.0.7', 'X-Forwarded-Proto': 'https', 'X-Forwarded-Host': 'public.example.com' },
    });
    const held = await upstream.next();
    expect(held.req.headers['x-forwarded-for']).toBe('203.0.113.9, 10.0.0.7, 127.0.0.1');
    expect(held.req.headers['x-forwarded-proto']).toBe('https');
    expect(held.req.headers['x-forwarded-host']).toBe('public.example.com');
    held.respond();
    await reply;
  });

  test('an IPv4 client of a dual-stack listener is named in its IPv4 form in X-Forwarded-For', async () => {
    // Loopback still, but through an IPv6 socket, as when the proxy listens on every interface.
    const p = await start({ host: '::ffff:127.0.0.1' });
    const reply = send(p.port);
    const held = await upstream.next();
    expect(held.req.headers['x-forwarded-for']).toBe('127.0.0.1');
    held.respond();
    await reply;
  });

  test('hop-by-hop request headers are not forwarded (and the ones Connection names)', async () => {
    const p = await start();
    const reply = send(p.port, {
      headers: ['Host', 'h', 'Connection', 'keep-alive, X-Hop', 'Keep-Alive', 'timeout=5', 'X-Hop', 'secret', 'TE', 'trailers', 'Proxy-Connection', 'x', 'X-Stay', '1'],
    });
    const held = await upstream.next();
    const names = held.req.rawHeaders.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase());
    expect(names).toContain('x-stay');
    for (const hop of ['x-hop', 'keep-alive', 'te', 'proxy-connection']) expect(names).not.toContain(hop);
    held.respond();
    await reply;
  });

  test('the response: status, reason, headers (duplicates kept, hop-by-hop dropped) and body', async () => {
    const p = await start();
    const reply = send(p.port);
    const held = await upstream.next();
    held.res.statusMessage = 'Made It';
    held.res.writeHead(201, ['Set-Cookie', 'a=1', 'Set-Cookie', 'b=2', 'X-Model', 'iris', 'Keep-Alive', 'timeout=9', 'Content-Length', '4']);
    held.res.end('body');
    const r = await reply;
    expect(r.status).toBe(201);
    expect(r.headers['set-cookie']).toEqual(['a=1', 'b=2']);
    expect(r.headers['x-model']).toBe('iris');
    expect(r.headers['keep-alive']).not.toBe('timeout=9');
    expect(r.text).toBe('body');
    const res = await new Promise<http.IncomingMessage>((resolve) => {
      const req = open(p.port);
      req.on('response', resolve);
      req.end();
      void upstream.next().then((h) => {
        h.res.statusMessage = 'Made It';
        h.res.writeHead(202).end();
      });
    });
    expect(res.statusMessage).toBe('Made It');
    res.resume();
  });

  test.each(['PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD'])('%s is forwarded', async (method) => {
    const p = await start();
    const reply = send(p.port, { method, path: '/m' });
    const held = await upstream.next();
    expect(held.req.method).toBe(method);
    held.respond(200, 'answer');
    const r = await reply;
    expect(r.status).toBe(200);
    expect(r.text).toBe(method === 'HEAD' ? '' : 'answer');
  });

  test('bodies stream both ways: each side sees the first bytes before the other side has finished', async () => {
    const p = await start();
    const req = open(p.port, { method: 'POST', path: '/stream' });
    req.write('part one;');
    const held = await upstream.next();
    await held.bodyContains('part one;');
    expect(held.req.headers['transfer-encoding']).toBe('chunked');

    const response = await new Promise<http.IncomingMessage>((resolve) => {
      req.on('response', resolve);
      held.res.writeHead(200, { 'Content-Type': 'text/event-stream' });
      held.res.write('token 1;');
    });
    const firstOut = await new Promise<string>((resolve) => response.once('data', (d: Buffer) => resolve(d.toString())));
    expect(firstOut).toBe('token 1;');

    const rest = new Promise<string>((resolve) => {
      let text = '';
      response.on('data', (d: Buffer) => (text += d.toString()));
      response.on('end', () => resolve(text));
    });
    req.end('part two');
    expect((await held.body).toString()).toBe('part one;part two');
    held.res.end('token 2');
    expect(await rest).toBe('token 2');
  });

  test('a large chunked upload and a large chunked download arrive intact', async () => {
    const p = await start();
    const payload = randomBytes(8 * 1024 * 1024);
    const req = open(p.port, { method: 'POST', path: '/echo' });
    for (let i = 0; i < payload.length; i += 64 * 1024) req.write(payload.subarray(i, i + 64 * 1024));
    req.end();
    const held = await upstream.next();
    const received = await held.body;
    expect(received.length).toBe(payload.length);
    expect(sha(received)).toBe(sha(payload));
    held.res.writeHead(200);
    for (let i = 0; i < received.length; i += 100_000) held.res.write(received.subarray(i, i + 100_000));
    held.res.end();
    const r = await replyOf(req);
    expect(r.headers['transfer-encoding']).toBe('chunked');
    expect(sha(r.body)).toBe(sha(payload));
  });

  test('a large body with a Content-Length, both ways, keeps its length', async () => {
    const p = await start();
    const payload = randomBytes(3 * 1024 * 1024 + 7);
    const reply = send(p.port, { method: 'PUT', body: payload, headers: { 'Content-Length': String(payload.length) } });
    const held = await upstream.next();
    expect(held.req.headers['content-length']).toBe(String(payload.length));
    const received = await held.body;
    held.res.writeHead(200, { 'Content-Length': String(received.length) });
    held.res.end(received);
    const r = await reply;
    expect(r.headers['content-length']).toBe(String(payload.length));
    expect(sha(r.body)).toBe(sha(payload));
  });

  test('Expect: 100-continue is honoured', async () => {
    const p = await start();
    upstream.autoRespond = true;
    const req = http.request({ host: LOOPBACK, port: p.port, method: 'POST', path: '/c', agent: false, headers: { Expect: '100-continue', 'Content-Length': '5' } });
    req.on('continue', () => req.end('hello'));
    const r = await replyOf(req);
    expect(r.status).toBe(200);
    expect((await upstream.arrived[0].body).toString()).toBe('hello');
  });

  test('connections to the user server are kept alive and reused', async () => {
    const p = await start();
    upstream.autoRespond = true;
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    for (let i = 0; i < 20; i++) expect((await send(p.port, { path: `/k${i}`, agent })).status).toBe(200);
    agent.destroy();
    expect(upstream.arrived.length).toBe(20);
    expect(upstream.connections).toBe(1);
  });
});

describe('concurrency limit and queue', () => {
  test('at most N inside, M queued in FIFO order, then an immediate 503 with a JSON body', async () => {
    const p = await start({ maxConcurrency: 2, maxQueueLength: 3 });
    const active = [send(p.port, { path: '/a0' }), send(p.port, { path: '/a1' })];
    const inside = [await upstream.next(), await upstream.next()];
    const queued: Array<Promise<unknown>> = [];
    for (const [i, path] of ['/q0', '/q1', '/q2'].entries()) {
      queued.push(send(p.port, { path }));
      // One at a time, so that their order in the queue is known.
      await waitFor(() => p.breaker.queued === i + 1, `${path} in the queue`);
    }
    expect(upstream.arrived.length).toBe(2);

    const full = await send(p.port, { path: '/rejected' });
    expect(full.status).toBe(503);
    expect(full.headers['content-type']).toBe('application/json');
    expect(JSON.parse(full.text)).toMatchObject({ error: 'queue_full' });
    expect(JSON.parse(full.text).message).toMatch(/max_concurrency 2, max_queue_length 3/);

    inside[0].respond();
    expect((await upstream.next()).req.url).toBe('/q0');
    inside[1].respond();
    const q1 = await upstream.next();
    expect(q1.req.url).toBe('/q1');
    q1.respond();
    const q2 = await upstream.next();
    expect(q2.req.url).toBe('/q2');
    upstream.releaseAll();
    await Promise.all([...active, ...queued]);
    expect(upstream.arrived.map((h) => h.req.url)).toEqual(['/a0', '/a1', '/q0', '/q1', '/q2']);
    expect([p.breaker.active, p.breaker.queued]).toEqual([0, 0]);
  });

  test('a client that disconnects while queued gives its place back, and never reaches the user server', async () => {
    const p = await start({ maxConcurrency: 1, maxQueueLength: 1 });
    const first = send(p.port, { path: '/first' });
    const inside = await upstream.next();
    const leaving = open(p.port, { path: '/leaving' });
    leaving.on('error', () => undefined);
    leaving.end();
    await waitFor(() => p.breaker.queued === 1, 'the request in the queue');
    leaving.destroy();
    await waitFor(() => p.breaker.queued === 0, 'the departed request to leave the queue');

    const next = send(p.port, { path: '/next' });
    await waitFor(() => p.breaker.queued === 1, 'the next request in the queue (not rejected)');
    inside.respond();
    expect((await upstream.next()).req.url).toBe('/next');
    upstream.releaseAll();
    expect((await next).status).toBe(200);
    await first;
    expect(upstream.arrived.map((h) => h.req.url)).toEqual(['/first', '/next']);
    await waitFor(() => p.handler.open === 0, 'every exchange finished');
    expect(p.metrics.requests(499)).toBe(1);
  });

  test('a request queued longer than the queue timeout gets 503', async () => {
    const p = await start({ maxConcurrency: 1, maxQueueLength: 1, queueTimeoutMs: 30 });
    const first = send(p.port, { path: '/first' });
    const inside = await upstream.next();
    const late = await send(p.port, { path: '/late' });
    expect(late.status).toBe(503);
    expect(JSON.parse(late.text)).toMatchObject({ error: 'queue_timeout' });
    expect(p.breaker.queued).toBe(0);
    inside.respond();
    expect((await first).status).toBe(200);
    expect(upstream.arrived.length).toBe(1);
  });

  test('kubelet probes are ordinary requests on this port: limited, queued and counted like any other', async () => {
    const p = await start({ maxConcurrency: 1, maxQueueLength: 1 });
    const probe = { 'User-Agent': 'kube-probe/1.30' };
    const first = send(p.port, { path: '/healthz', headers: probe });
    const inside = await upstream.next();
    const queued = send(p.port, { path: '/healthz', headers: probe });
    await waitFor(() => p.breaker.queued === 1, 'the second probe to queue');
    const rejected = await send(p.port, { path: '/healthz', headers: probe });
    expect(rejected.status).toBe(503);
    expect(JSON.parse(rejected.text)).toMatchObject({ error: 'queue_full' });
    expect(p.breaker.inFlight).toBe(2);
    inside.respond(200, 'alive');
    expect((await first).text).toBe('alive');
    (await upstream.next()).respond(200, 'alive');
    expect((await queued).status).toBe(200);
    await waitFor(() => p.handler.open === 0, 'every exchange finished');
    const samples = parseMetrics((await admin(p, '/metrics')).text);
    expect(samples.get('cortex_requests_total{code="200"}')).toBe(2);
    expect(samples.get('cortex_requests_total{code="503"}')).toBe(1);
    expect(samples.get('cortex_request_duration_seconds_count')).toBe(3);
  });
});

describe('when the user server fails', () => {
  test('refused (not listening): 503 with a JSON body, and the proxy serves again once it listens', async () => {
    const port = await freePort();
    const p = await start({}, port);
    const refused = await send(p.port);
    expect(refused.status).toBe(503);
    expect(JSON.parse(refused.text)).toMatchObject({ error: 'upstream_unavailable' });
    expect(refused.text).toContain(`127.0.0.1:${port}`);
    expect((p as RunningProxy & { logLines: string[] }).logLines.join('\n')).toMatch(/refused a connection: answering 503/);
    const late = await TestUpstream.start({ port, autoRespond: true });
    try {
      expect((await send(p.port, { path: '/back' })).status).toBe(200);
    } finally {
      await late.close();
    }
  });

  test('closed without answering: 502, and the slot is free again', async () => {
    const p = await start({ maxConcurrency: 1 });
    const reply = send(p.port);
    (await upstream.next()).req.socket.destroy();
    const r = await reply;
    expect(r.status).toBe(502);
    expect(JSON.parse(r.text)).toMatchObject({ error: 'upstream_failed' });
    upstream.autoRespond = true;
    expect((await send(p.port)).status).toBe(200);
  });

  test('gone mid-response: the client sees the response cut, the proxy carries on', async () => {
    const p = await start();
    const req = open(p.port);
    req.end();
    const held = await upstream.next();
    const response = await new Promise<http.IncomingMessage>((resolve) => {
      req.on('response', resolve);
      held.res.writeHead(200, { 'Content-Length': '100' });
      held.res.write('partial');
    });
    const cut = new Promise<string>((resolve) => {
      response.on('aborted', () => resolve('aborted'));
      response.on('error', () => resolve('error'));
      response.on('end', () => resolve('end'));
      response.resume();
    });
    held.req.socket.destroy();
    expect(await cut).not.toBe('end');
    upstream.autoRespond = true;
    expect((await send(p.port)).status).toBe(200);
  });

  test('too slow to start its response: 504, its request aborted, the slot free again', async () => {
    const p = await start({ maxConcurrency: 1, upstreamTimeoutMs: 40 });
    const reply = send(p.port, { path: '/slow' });
    const held = await upstream.next();
    const aborted = closed(held.res);
    const r = await reply;
    expect(r.status).toBe(504);
    expect(JSON.parse(r.text)).toMatchObject({ error: 'upstream_timeout' });
    await aborted;
    upstream.autoRespond = true;
    expect((await send(p.port, { path: '/fast' })).status).toBe(200);
  });

  test('a kept-alive connection closed as it is reused: a GET is retried once on a fresh one, a POST is not', async () => {
    // Each connection answers its first request and closes, without answering, at the second.
    const rawServer = net.createServer((s) => {
      let requests = 0;
      s.on('data', (d) => {
        if (!d.toString('latin1').includes('\r\n\r\n')) return;
        if (++requests === 1) s.write('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst');
        else s.destroy();
      });
      s.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => rawServer.listen(0, LOOPBACK, () => resolve()));
    try {
      const p = await start({}, (rawServer.address() as net.AddressInfo).port);
      expect((await send(p.port)).text).toBe('first');
      const retried = await send(p.port);
      expect([retried.status, retried.text]).toEqual([200, 'first']);
      const post = await send(p.port, { method: 'POST', headers: { 'Content-Length': '0' } });
      expect(post.status).toBe(502);
    } finally {
      rawServer.close();
    }
  });

  test('a response header Node refuses to send: 502', async () => {
    const rawServer = net.createServer((s) =>
      s.once('data', () => s.end('HTTP/1.1 200 OK\r\nX-Bad: a\x01b\r\nContent-Length: 2\r\n\r\nok')),
    );
    await new Promise<void>((resolve) => rawServer.listen(0, LOOPBACK, () => resolve()));
    try {
      const p = await start({}, (rawServer.address() as net.AddressInfo).port);
      expect((await send(p.port)).status).toBe(502);
    } finally {
      rawServer.close();
    }
  });

  test('an HTTP/1.0 response without a reason phrase or a length: the standard reason, the body to the end', async () => {
    const rawServer = net.createServer((s) => s.once('data', () => s.end('HTTP/1.0 200\r\nX-A: 1\r\n\r\nuntil the end')));
    await new Promise<void>((resolve) => rawServer.listen(0, LOOPBACK, () => resolve()));
    try {
      const p = await start({}, (rawServer.address() as net.AddressInfo).port);
      const res = await new Promise<http.IncomingMessage>((resolve) => open(p.port).on('response', resolve).end());
      expect([res.statusCode, res.statusMessage, res.headers['x-a']]).toEqual([200, 'OK', '1']);
      const text = await new Promise<string>((resolve) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve(body));
      });
      expect(text).toBe('until the end');
    } finally {
      rawServer.close();
    }
  });
});

describe('limits and bad input', () => {
  test('a declared body over the limit: 413 at once, nothing reaches the user server', async () => {
    const p = await start({ maxBodyBytes: 1000 });
    const r = await send(p.port, { method: 'POST', body: Buffer.alloc(1001), headers: { 'Content-Length': '1001' } });
    expect(r.status).toBe(413);
    expect(JSON.parse(r.text)).toMatchObject({ error: 'body_too_large' });
    expect(r.headers.connection).toBe('close');
    expect(upstream.arrived.length).toBe(0);
  });

  test('a chunked body that grows over the limit: 413, the upstream request aborted', async () => {
    const p = await start({ maxBodyBytes: 1000 });
    const req = open(p.port, { method: 'POST' });
    req.on('error', () => undefined);
    req.write(Buffer.alloc(600));
    const held = await upstream.next();
    const aborted = closed(held.res);
    req.write(Buffer.alloc(600));
    const r = await replyOf(req);
    expect(r.status).toBe(413);
    await aborted;
    expect(p.breaker.active).toBe(0);
  });

  test('malformed HTTP: 400 with a JSON body, connection closed', async () => {
    const p = await start();
    const answer = await rawExchange(p.port, 'THIS IS NOT HTTP\r\n\r\n');
    expect(answer).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    expect(answer).toContain('Connection: close');
    expect(answer).toContain('"error":"bad_request"');
    const smuggling = await rawExchange(p.port, 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n');
    expect(smuggling).toMatch(/^HTTP\/1\.1 400 /);
    const hugeHeader = await rawExchange(p.port, `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(70 * 1024)}\r\n\r\n`);
    expect(hugeHeader).toMatch(/^HTTP\/1\.1 431 /);
    expect(upstream.arrived.length).toBe(0);
    expect(p.metrics.requests(400)).toBe(2);
  });

  test('a client that resets mid-body: the upstream request is aborted, the slot freed, the proxy unharmed', async () => {
    const p = await start({ maxConcurrency: 1 });
    const socket = net.connect(p.port, LOOPBACK);
    socket.on('error', () => undefined);
    socket.write('POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n' + 'a'.repeat(1000));
    const held = await upstream.next();
    const aborted = closed(held.res);
    socket.resetAndDestroy();
    await aborted;
    await waitFor(() => p.breaker.active === 0 && p.handler.open === 0, 'the slot to be released');
    upstream.autoRespond = true;
    expect((await send(p.port)).status).toBe(200);
  });

  test('an unexpected error in the request path ends that request (its connection closed), never the process', async () => {
    const p = await start();
    const pool = p.handler.pool;
    const acquire = pool.acquire.bind(pool);
    let failures = 1;
    pool.acquire = () => {
      if (failures-- > 0) throw new Error('injected fault');
      return acquire();
    };
    expect(String(await send(p.port).catch((e: Error) => e))).toMatch(/socket hang up|ECONNRESET/);
    expect(p.logLines.join('\n')).toMatch(/internal error on a request, its connection closed: Error: injected fault/);
    await waitFor(() => p.handler.open === 0 && p.breaker.active === 0, 'the failed exchange to finish and free its slot');
    upstream.autoRespond = true;
    expect((await send(p.port)).status).toBe(200);
  });

  test('an unexpected error in a pipelined request (its response queued behind another): the connection closes, every exchange ends', async () => {
    const p = await start();
    const pool = p.handler.pool;
    const acquire = pool.acquire.bind(pool);
    let calls = 0;
    pool.acquire = () => {
      if (++calls === 2) throw new Error('injected fault');
      return acquire();
    };
    await rawExchange(p.port, 'GET /first HTTP/1.1\r\nHost: x\r\n\r\nGET /second HTTP/1.1\r\nHost: x\r\n\r\n');
    await waitFor(() => p.handler.open === 0 && p.breaker.active === 0, 'both exchanges to finish and free their slots');
  });

  test('a client that leaves while its request is inside: the upstream request is aborted, counted as 499', async () => {
    const p = await start({ maxConcurrency: 1 });
    const req = open(p.port, { path: '/abandoned' });
    req.on('error', () => undefined);
    req.end();
    const held = await upstream.next();
    const aborted = closed(held.res);
    req.destroy();
    await aborted;
    await waitFor(() => p.handler.open === 0, 'the exchange to finish');
    expect(p.breaker.active).toBe(0);
    expect(p.metrics.requests(499)).toBe(1);
  });
});
