/**
 * Streaming through the real `cortex-proxy` (the compiled command as a child process): a raw user's server
 * writes a response in parts, each part behind a barrier the test releases, and a raw client must receive
 * each part before the test releases the next one — ordering by barriers, never by timers. SSE, chunked,
 * a Content-Length body and a body until close alike; then the timeouts on a stream (the body idle timeout
 * measures silence, the upstream timeout only the start), a client that leaves mid-stream (the upstream
 * exchange closed, the slot free), and the time-to-first-byte histogram.
 */
import * as net from 'node:net';
import { expectHealthy, LOOPBACK, parseResponses, ProxyProcess, ProxySettings, RawClient, scrape, startProxyProcess, until } from './hostile/harness';

/** A promise the test resolves when it chooses. */
class Barrier {
  public release!: () => void;
  public readonly released = new Promise<void>((resolve) => (this.release = resolve));
}

/** What the raw user's server does with one request, on the socket it arrived on. */
type Script = (socket: net.Socket) => void | Promise<void>;

/** The user's server: runs the current script for each request head; remembers the connections. */
class RawUpstream {
  public static async start(): Promise<RawUpstream> {
    const upstream = new RawUpstream();
    await new Promise<void>((resolve) => upstream.server.listen(0, LOOPBACK, () => resolve()));
    return upstream;
  }

  public script: Script = (socket) => void socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
  public readonly open = new Set<net.Socket>();
  /** The connection of each request, in order, and whether it closed (FIN or RST from the proxy). */
  public readonly served: Array<{ socket: net.Socket; closed: Promise<void>; isClosed: () => boolean }> = [];
  public readonly server = net.createServer((socket) => {
    this.open.add(socket);
    let closed = false;
    const closedPromise = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    socket.on('end', () => {
      closed = true;
      socket.end();
    });
    socket.on('close', () => {
      closed = true;
      this.open.delete(socket);
    });
    socket.on('error', () => undefined);
    let received = '';
    socket.on('data', (data) => {
      received += data.toString('latin1');
      for (let end = received.indexOf('\r\n\r\n'); end !== -1; end = received.indexOf('\r\n\r\n')) {
        received = received.slice(end + 4);
        this.served.push({ socket, closed: closedPromise, isClosed: () => closed });
        void this.script(socket);
      }
    });
  });

  public get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  public async close(): Promise<void> {
    for (const socket of this.open) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** A chunk of chunked framing. */
function chunk(text: string): string {
  return `${Buffer.byteLength(text, 'latin1').toString(16)}\r\n${text}\r\n`;
}

/** Writes and resolves once the bytes are handed to the kernel. */
function write(socket: net.Socket, bytes: string): Promise<void> {
  return new Promise((resolve) => socket.write(bytes, 'latin1', () => resolve()));
}

const REQUEST = 'GET /stream HTTP/1.1\r\nHost: api\r\nAccept: text/event-stream\r\n\r\n';

async function sample(proxy: ProxyProcess, name: string): Promise<number> {
  return (await scrape(proxy)).get(name) ?? 0;
}

let upstream: RawUpstream;
const proxies: ProxyProcess[] = [];

async function proxyWith(settings: ProxySettings): Promise<ProxyProcess> {
  const proxy = await startProxyProcess(upstream.port, settings);
  proxies.push(proxy);
  return proxy;
}

beforeAll(async () => {
  upstream = await RawUpstream.start();
});

afterAll(async () => {
  for (const proxy of proxies) await proxy.stop();
  await upstream?.close();
});

describe('each part of a response reaches the client when the user server sends it', () => {
  let proxy: ProxyProcess;
  beforeAll(async () => {
    // A long idle timeout: nothing here may be cut by it.
    proxy = await proxyWith({ 'max-concurrency': 2, 'body-idle-timeout': '30s' });
  });
  afterEach(async () => {
    await expectHealthy(proxy, null);
  });

  // Three parts, each small (Nagle would hold a small segment behind an unacknowledged one), each behind a barrier.
  const cases: Array<{ name: string; head: string; parts: [string, string, string]; frame: (part: string) => string; end: string; body: string }> = [
    {
      name: 'SSE, chunked',
      head: 'HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\nTransfer-Encoding: chunked\r\n\r\n',
      parts: ['data: one\n\n', 'data: two\n\n', 'data: three\n\n'],
      frame: chunk,
      end: '0\r\n\r\n',
      body: 'data: one\n\ndata: two\n\ndata: three\n\n',
    },
    {
      name: 'SSE until the user server closes (no length, no chunks)',
      head: 'HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n',
      parts: ['data: one\n\n', 'data: two\n\n', 'data: three\n\n'],
      frame: (part) => part,
      end: '',
      body: 'data: one\n\ndata: two\n\ndata: three\n\n',
    },
    {
      name: 'chunked, not SSE',
      head: 'HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\nTransfer-Encoding: chunked\r\n\r\n',
      parts: ['{"token":"a"}\n', '{"token":"b"}\n', '{"token":"c"}\n'],
      frame: chunk,
      end: '0\r\n\r\n',
      body: '{"token":"a"}\n{"token":"b"}\n{"token":"c"}\n',
    },
    {
      name: 'a Content-Length body written in parts',
      head: 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 15\r\n\r\n',
      parts: ['first', 'secnd', 'third'],
      frame: (part) => part,
      end: '',
      body: 'firstsecndthird',
    },
  ];

  it.each(cases)('$name', async ({ head, parts, frame, end, body }) => {
    const barriers = [new Barrier(), new Barrier()];
    const written: string[] = [];
    upstream.script = async (socket) => {
      await write(socket, head + frame(parts[0]));
      written.push(parts[0]);
      for (let i = 1; i < parts.length; i++) {
        await barriers[i - 1].released;
        await write(socket, frame(parts[i]) + (i === parts.length - 1 ? end : ''));
        written.push(parts[i]);
      }
      if (end === '') socket.end();
    };
    const client = await RawClient.connect(proxy.port);
    try {
      await client.write(REQUEST);
      for (let i = 0; i < parts.length; i++) {
        await client.waitFor((text) => text.includes(parts[i]));
        // Received while the user's server still waits on the barrier: nothing after this part was written.
        expect(written).toEqual(parts.slice(0, i + 1));
        if (i < barriers.length) barriers[i].release();
      }
      await client.waitFor(() => parseResponses(client.received).responses.length === 1);
      const [response] = parseResponses(client.received).responses;
      expect(response.status).toBe(200);
      expect(response.body.toString('latin1')).toBe(body);
      // No X-Accel-Buffering or any other header was needed for this; the user server's headers pass as sent.
      expect(response.header('x-accel-buffering')).toBeUndefined();
    } finally {
      client.destroy();
      for (const barrier of barriers) barrier.release();
    }
  });
});

describe('timeouts on a stream', () => {
  it('a stream longer than the upstream timeout, with an event every 100 ms, is never cut', async () => {
    // Upstream timeout 500 ms, idle timeout 1 s: the 2 s stream outlives both; its 100 ms gaps are far under either.
    const proxy = await proxyWith({ 'upstream-timeout': '500ms', 'body-idle-timeout': '1s' });
    const events = 20;
    upstream.script = async (socket) => {
      await write(socket, 'HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n');
      for (let i = 1; i <= events; i++) {
        await write(socket, chunk(`data: ${i}\n\n`));
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      await write(socket, '0\r\n\r\n');
    };
    const client = await RawClient.connect(proxy.port);
    try {
      await client.write(REQUEST);
      await client.waitFor(() => parseResponses(client.received).responses.length === 1, 10_000);
      const [response] = parseResponses(client.received).responses;
      expect(response.status).toBe(200);
      expect(response.body.toString().match(/^data: \d+$/gm)).toHaveLength(events);
      expect(client.isClosed).toBe(false);
    } finally {
      client.destroy();
    }
    await expectHealthy(proxy, null);
  });

  it('a stream silent for longer than the body idle timeout is cut, after what it sent', async () => {
    const proxy = await proxyWith({ 'upstream-timeout': '30s', 'body-idle-timeout': '300ms' });
    const never = new Barrier();
    upstream.script = async (socket) => {
      await write(socket, 'HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n' + chunk('data: one\n\n'));
      await never.released;
    };
    const client = await RawClient.connect(proxy.port);
    try {
      await client.write(REQUEST);
      await client.waitFor('data: one');
      const result = await client.closedWithin(5000);
      // The first event arrived; the response never completed (no last chunk): the client sees it cut.
      expect(result.text).toContain('data: one');
      expect(result.text).not.toContain('0\r\n\r\n');
      const served = upstream.served[upstream.served.length - 1];
      await served.closed;
    } finally {
      client.destroy();
      never.release();
    }
    await expectHealthy(proxy, null);
  });

  it('the upstream timeout runs until the first byte of the body: a head alone does not stop it', async () => {
    // upstream.ts holds the head until the body's first byte (a bad first chunk can still be a 502).
    const proxy = await proxyWith({ 'upstream-timeout': '300ms', 'body-idle-timeout': '30s' });
    const never = new Barrier();
    upstream.script = async (socket) => {
      await write(socket, 'HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n');
      await never.released;
    };
    const client = await RawClient.connect(proxy.port);
    try {
      await client.write(REQUEST);
      await client.waitFor(() => parseResponses(client.received).responses.length === 1);
      expect(parseResponses(client.received).responses[0].status).toBe(504);
    } finally {
      client.destroy();
      never.release();
    }
    await expectHealthy(proxy, null);
  });
});

describe('a client that leaves mid-stream', () => {
  it('closes the upstream exchange and frees its slot for the next request', async () => {
    // One slot, no queue: the next request is admitted only if the slot is free (else 503 at once).
    // A long idle timeout: only the client's departure can end the exchange.
    const proxy = await proxyWith({ 'max-concurrency': 1, 'max-queue-length': 0, 'body-idle-timeout': '60s', 'upstream-timeout': '60s' });
    const never = new Barrier();
    upstream.script = async (socket) => {
      await write(socket, 'HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n' + chunk('data: one\n\n'));
      await never.released;
    };
    const before = upstream.served.length;
    const client = await RawClient.connect(proxy.port);
    await client.write(REQUEST);
    await client.waitFor('data: one');
    const served = upstream.served[before];
    expect(await sample(proxy, 'cortex_in_flight_requests')).toBe(1);
    expect(served.isClosed()).toBe(false);

    client.destroy();
    // The user server's connection is closed by the proxy (FIN or RST), though the user server never ended it.
    await served.closed;
    await until(async () => (await sample(proxy, 'cortex_in_flight_requests')) === 0, 'cortex_in_flight_requests to be 0');
    expect(await sample(proxy, 'cortex_requests_total{code="200"}')).toBe(1);
    never.release();

    upstream.script = (socket) => void socket.write('HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nnext');
    const next = await RawClient.connect(proxy.port);
    try {
      await next.write('GET /next HTTP/1.1\r\nHost: api\r\n\r\n');
      await next.waitFor(() => parseResponses(next.received).responses.length === 1);
      const [response] = parseResponses(next.received).responses;
      expect(response.status).toBe(200);
      expect(response.body.toString()).toBe('next');
    } finally {
      next.destroy();
    }
    await expectHealthy(proxy, null);
  });
});

describe('cortex_time_to_first_byte_seconds', () => {
  it('is observed when the first byte goes out, before the stream ends; the duration when it ends', async () => {
    const proxy = await proxyWith({ 'body-idle-timeout': '30s' });
    const barrier = new Barrier();
    upstream.script = async (socket) => {
      await write(socket, 'HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n' + chunk('data: one\n\n'));
      await barrier.released;
      await write(socket, chunk('data: two\n\n') + '0\r\n\r\n');
    };
    const client = await RawClient.connect(proxy.port);
    try {
      await client.write(REQUEST);
      await client.waitFor('data: one');
      const during = await scrape(proxy);
      expect(during.get('cortex_time_to_first_byte_seconds_count')).toBe(1);
      expect(during.get('cortex_time_to_first_byte_seconds_bucket{le="+Inf"}')).toBe(1);
      expect(during.get('cortex_request_duration_seconds_count')).toBe(0);
      barrier.release();
      await client.waitFor(() => parseResponses(client.received).responses.length === 1);
    } finally {
      client.destroy();
      barrier.release();
    }
    await until(async () => (await sample(proxy, 'cortex_request_duration_seconds_count')) === 1, 'the duration to be observed');
    const after = await scrape(proxy);
    expect(after.get('cortex_time_to_first_byte_seconds_count')).toBe(1);
    // The first byte went out before the response ended.
    expect(after.get('cortex_time_to_first_byte_seconds_sum')).toBeLessThanOrEqual(after.get('cortex_request_duration_seconds_sum') as number);
    await expectHealthy(proxy, null);
  });

  it("counts the proxy's own answers too (a 503 with the slot taken), not a client that left before any byte", async () => {
    const proxy = await proxyWith({ 'max-concurrency': 1, 'max-queue-length': 0, 'body-idle-timeout': '30s', 'upstream-timeout': '30s' });
    const never = new Barrier();
    // The user's server never answers: the first request holds the slot with nothing sent.
    upstream.script = async () => {
      await never.released;
    };
    const before = upstream.served.length;
    const holder = await RawClient.connect(proxy.port);
    await holder.write(REQUEST);
    await until(() => upstream.served.length > before, 'the request to reach the user server');
    const refused = await RawClient.connect(proxy.port);
    try {
      await refused.write(REQUEST);
      await refused.waitFor(() => parseResponses(refused.received).responses.length === 1);
      expect(parseResponses(refused.received).responses[0].status).toBe(503);
      expect(await sample(proxy, 'cortex_time_to_first_byte_seconds_count')).toBe(1);
    } finally {
      refused.destroy();
      holder.destroy();
      never.release();
    }
    await until(async () => (await sample(proxy, 'cortex_requests_total{code="499"}')) === 1, 'the 499');
    expect(await sample(proxy, 'cortex_time_to_first_byte_seconds_count')).toBe(1);
    expect(await sample(proxy, 'cortex_request_duration_seconds_count')).toBe(2);
    await expectHealthy(proxy, null);
  });
});
