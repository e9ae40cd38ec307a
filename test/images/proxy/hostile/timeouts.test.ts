/**
 * Clients and user servers that stall. The request-head timeout closes slowloris connections (408); the
 * body idle timeout gives up an exchange whose body stopped moving either way (a client that stops sending
 * or never reads, a user server that stops reading or stops sending) — and only then: a long stream with
 * regular events, or long inference before the response head, is never cut by it. Short timeouts here; the
 * defaults are 60 s each.
 */
import { collect, HostileFixture, parseResponses, RawClient, UpstreamRequest } from './harness';

const IDLE_MS = 800;
/** What a test's streams send at, well inside the idle timeout (a loaded CI machine delays timers). */
const TICK_MS = 100;
const HEAD_MS = 500;

let fixture: HostileFixture;

beforeAll(async () => {
  fixture = await HostileFixture.start({
    'max-concurrency': 4,
    'body-idle-timeout': `${IDLE_MS}ms`,
    'request-head-timeout': `${HEAD_MS}ms`,
    'lingering-time': '1s',
  });
});
afterAll(async () => {
  await fixture?.stop();
});
afterEach(async () => {
  await fixture.check();
});

/** Resolves once the upstream's response to `request` closed (finished or aborted): true when it was aborted. */
function upstreamAborted(request: UpstreamRequest): Promise<boolean> {
  return new Promise((resolve) => request.res.on('close', () => resolve(!request.res.writableFinished)));
}

describe('request-head timeout (slowloris)', () => {
  test('50 connections that dribble a head one byte at a time: each gets 408 and is closed', async () => {
    await fixture.reset();
    const clients = await Promise.all(Array.from({ length: 50 }, () => RawClient.connect(fixture.proxy.port)));
    await Promise.all(clients.map((c) => c.write('GET / HTTP/1.1\r\nHost: api\r\n')));
    const drip = setInterval(() => {
      for (const c of clients) if (!c.isClosed) c.write('X').catch(() => undefined);
    }, 100);
    try {
      const results = await Promise.all(clients.map((c) => c.closedWithin(HEAD_MS * 6)));
      for (const result of results) expect(parseResponses(result.data).responses.map((r) => r.status)).toEqual([408]);
    } finally {
      clearInterval(drip);
      clients.forEach((c) => c.destroy());
    }
    expect(fixture.upstream.requests.length).toBe(0);
  });

  test('a connection that sends nothing is closed too', async () => {
    await fixture.reset();
    const client = await RawClient.connect(fixture.proxy.port);
    try {
      const result = await client.closedWithin(HEAD_MS * 6);
      expect(result.text).toMatch(/^(HTTP\/1\.1 408 |$)/);
    } finally {
      client.destroy();
    }
  });

  test('a complete head sent slowly but within the timeout is served', async () => {
    await fixture.reset();
    const client = await RawClient.connect(fixture.proxy.port);
    try {
      for (const piece of ['GET /slow', ' HTTP/1.1\r\n', 'Host: api\r\n', '\r\n']) {
        await client.write(piece);
        await new Promise((resolve) => setTimeout(resolve, HEAD_MS / 10));
      }
      await client.waitFor('"url":"/slow"');
    } finally {
      client.destroy();
    }
  });
});

describe('body idle timeout, before the response', () => {
  test('a client that stops sending its body: 408, the upstream request aborted', async () => {
    const held: UpstreamRequest[] = [];
    await fixture.reset((r) => held.push(r));
    const client = await RawClient.connect(fixture.proxy.port);
    try {
      await client.write('POST /upload HTTP/1.1\r\nHost: api\r\nContent-Length: 1000\r\n\r\n0123456789');
      const request = await fixture.upstream.received(1);
      const aborted = upstreamAborted(request);
      const result = await client.closedWithin(IDLE_MS * 6);
      expect(parseResponses(result.data).responses.map((r) => r.status)).toEqual([408]);
      expect(result.text).toContain('"error":"request_timeout"');
      expect(await aborted).toBe(true);
    } finally {
      client.destroy();
    }
  });

  test('a user server that stops reading the body: 504, the client\'s upload discarded, not reset', async () => {
    await fixture.reset((r) => r.req.pause());
    const client = await RawClient.connect(fixture.proxy.port);
    const size = 64 * 1024 * 1024;
    try {
      await client.write(`POST /upload HTTP/1.1\r\nHost: api\r\nContent-Length: ${size}\r\n\r\n`);
      const piece = Buffer.alloc(256 * 1024, 'x');
      let sent = 0;
      const upload = (async () => {
        while (sent < size && !client.isClosed) {
          await client.write(piece);
          sent += piece.length;
        }
      })().catch(() => undefined);
      await client.waitFor(/HTTP\/1\.1 504 /, IDLE_MS * 6);
      await upload;
      const result = await client.closedWithin(5000);
      expect(parseResponses(result.data).responses.map((r) => r.status)).toEqual([504]);
      expect(result.text).toContain('"error":"upstream_timeout"');
    } finally {
      client.destroy();
    }
  });

  test('an upload that keeps moving, for longer than the idle timeout, arrives whole', async () => {
    await fixture.reset();
    const client = await RawClient.connect(fixture.proxy.port);
    try {
      const pieces = Math.ceil((2 * IDLE_MS) / TICK_MS);
      await client.write(`POST /upload HTTP/1.1\r\nHost: api\r\nContent-Length: ${pieces * 10}\r\n\r\n`);
      for (let i = 0; i < pieces; i++) {
        await client.write('0123456789');
        await new Promise((resolve) => setTimeout(resolve, TICK_MS));
      }
      await client.waitFor(`"bodyLength":${pieces * 10}`);
    } finally {
      client.destroy();
    }
  }, 15_000);

  test('inference longer than the idle timeout before the response head is not cut (the upstream timeout governs it)', async () => {
    await fixture.reset((r) => {
      setTimeout(() => r.res.writeHead(200, { 'Content-Length': '4' }).end('done'), IDLE_MS * 3);
    });
    const result = await collect(fixture.proxy.port, 'POST /think HTTP/1.1\r\nHost: api\r\nContent-Length: 2\r\n\r\nhi', 1, IDLE_MS * 10);
    expect(result.statuses).toEqual([200]);
    expect(result.responses[0].body.toString()).toBe('done');
  }, 15_000);
});

describe('body idle timeout, while the response streams', () => {
  test('a user server that sends its head and stalls: the response is cut, the slot freed', async () => {
    const held: UpstreamRequest[] = [];
    await fixture.reset((r) => {
      held.push(r);
      r.res.writeHead(200, { 'Content-Type': 'text/plain' });
      r.res.write('partial');
    });
    const client = await RawClient.connect(fixture.proxy.port);
    try {
      await client.write('GET /stall HTTP/1.1\r\nHost: api\r\n\r\n');
      const request = await fixture.upstream.received(1);
      const aborted = upstreamAborted(request);
      await client.waitFor('partial');
      const result = await client.closedWithin(IDLE_MS * 6);
      expect(result.text).toMatch(/^HTTP\/1\.1 200 /);
      expect(parseResponses(result.data).responses.length).toBe(0);
      expect(await aborted).toBe(true);
    } finally {
      client.destroy();
    }
  });

  test('a client that never reads a large response: cut, the upstream request aborted, the slot freed', async () => {
    const chunk = Buffer.alloc(1024 * 1024, 'y');
    await fixture.reset((r) => {
      r.res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
      let written = 0;
      const pump = (): void => {
        while (written < 256 && !r.res.destroyed) {
          written++;
          if (!r.res.write(chunk)) {
            r.res.once('drain', pump);
            return;
          }
        }
        if (!r.res.destroyed) r.res.end();
      };
      pump();
    });
    const client = await RawClient.connect(fixture.proxy.port);
    client.socket.pause();
    try {
      await client.write('GET /big HTTP/1.1\r\nHost: api\r\n\r\n');
      const request = await fixture.upstream.received(1);
      expect(await upstreamAborted(request)).toBe(true);
    } finally {
      client.destroy();
    }
  });

  test('a stream with an event every 100 ms, three times longer than the idle timeout: never cut', async () => {
    const events = Math.ceil((3 * IDLE_MS) / TICK_MS);
    await fixture.reset((r) => {
      r.res.writeHead(200, { 'Content-Type': 'text/event-stream' });
      let sent = 0;
      const timer = setInterval(() => {
        if (r.res.destroyed) {
          clearInterval(timer);
          return;
        }
        r.res.write(`data: ${sent}\n\n`);
        if (++sent === events) {
          clearInterval(timer);
          r.res.end();
        }
      }, TICK_MS);
    });
    const result = await collect(fixture.proxy.port, 'GET /events HTTP/1.1\r\nHost: api\r\n\r\n', 1, IDLE_MS * 10);
    expect(result.statuses).toEqual([200]);
    expect(result.responses[0].body.toString().match(/data: \d+/g)?.length).toBe(events);
  }, 15_000);
});
