/**
 * Malformed client input on a live connection. The crash this suite was written for: a valid request, then a
 * malformed one on the same keep-alive connection, killed the process (the clientError handler read
 * `headersSent` of the finished response Node had already set to null). After every case: the proxy is
 * alive, its in-flight gauge is 0, no upstream connection leaked.
 */
import { expectHealthy, ProxyProcess, RawClient, RecordingUpstream, requestsAnswered, startProxyProcess, statusesOf, until, UpstreamRequest } from './harness';

const VALID = 'GET /first HTTP/1.1\r\nHost: api\r\n\r\n';

const SETTINGS = { 'max-concurrency': 4, 'lingering-time': '1s' };
let upstream: RecordingUpstream;
let proxy: ProxyProcess;

beforeAll(async () => {
  upstream = await RecordingUpstream.start();
  proxy = await startProxyProcess(upstream.port, SETTINGS);
});

afterAll(async () => {
  await proxy?.stop();
  await upstream?.close();
});

beforeEach(async () => {
  upstream.reset();
  // Each case on a live proxy, even after a case that killed it (an older proxy).
  if (!proxy.alive()) proxy = await startProxyProcess(upstream.port, SETTINGS);
});
afterEach(async () => {
  await expectHealthy(proxy, upstream, 4);
});

/** A valid request answered on a keep-alive connection, then `malformed` on the same connection. */
async function validThen(malformed: string, options: { halfClose?: boolean } = {}): Promise<{ statuses: number[]; text: string }> {
  const client = await RawClient.connect(proxy.port);
  try {
    await client.write(VALID);
    await client.waitFor(/\r\n\r\n\/first"|"url":"\/first"/);
    await client.write(malformed);
    if (options.halfClose === true) client.end();
    const result = await client.closedWithin(5000);
    return { statuses: statusesOf(result.data), text: result.text };
  } finally {
    client.destroy();
  }
}

describe('a valid request, then a malformed one on the same keep-alive connection', () => {
  test('duplicate Content-Length: 400, the proxy lives', async () => {
    const { statuses, text } = await validThen('POST / HTTP/1.1\r\nHost: api\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab');
    expect(statuses).toEqual([200, 400]);
    expect(text).toContain('"error":"bad_request"');
  });

  test('a garbage line: 400', async () => {
    expect((await validThen('THIS IS NOT HTTP\r\n\r\n')).statuses).toEqual([200, 400]);
  });

  test('a partial head, then FIN: 400', async () => {
    expect((await validThen('GET /second HT', { halfClose: true })).statuses).toEqual([200, 400]);
  });

  test('a 70 KB header: 431', async () => {
    expect((await validThen(`GET / HTTP/1.1\r\nHost: api\r\nX-Big: ${'a'.repeat(70 * 1024)}\r\n\r\n`)).statuses).toEqual([200, 431]);
  });

  test('the HTTP/2 preface: the connection closes, the first response intact', async () => {
    const { statuses } = await validThen('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
    expect(statuses[0]).toBe(200);
    expect(statuses.length).toBeLessThanOrEqual(2);
  });

  test('a request line with a bare LF and a space in the target: 400', async () => {
    expect((await validThen('GET /a b HTTP/1.1\nHost: api\n\n')).statuses).toEqual([200, 400]);
  });

  test('an invalid header name (a space before the colon): 400', async () => {
    expect((await validThen('GET / HTTP/1.1\r\nHost: api\r\nX-Bad : 1\r\n\r\n')).statuses).toEqual([200, 400]);
  });

  test('a chunk size that is not hex: 400', async () => {
    const { statuses } = await validThen('POST / HTTP/1.1\r\nHost: api\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n');
    expect(statuses).toEqual([200, 400]);
  });
});

describe('a client that half-closes mid-upload after the proxy answered', () => {
  test('after a 503 (queue full): no crash, no second answer for the same request', async () => {
    const held: UpstreamRequest[] = [];
    const slow = await RecordingUpstream.start((r) => held.push(r));
    const small = await startProxyProcess(slow.port, { 'max-concurrency': 1, 'max-queue-length': 0, 'lingering-time': '1s' });
    try {
      const busy = await RawClient.connect(small.port);
      await busy.write('GET /busy HTTP/1.1\r\nHost: api\r\n\r\n');
      await slow.received(1);
      const client = await RawClient.connect(small.port);
      await client.write('POST /upload HTTP/1.1\r\nHost: api\r\nContent-Length: 1000\r\n\r\n0123456789');
      await client.waitFor('"error":"queue_full"');
      client.end();
      const result = await client.closedWithin(5000);
      expect(statusesOf(result.data)).toEqual([503]);
      held[0].res.end('done');
      await busy.waitFor('done');
      busy.destroy();
      await expectHealthy(small, slow, 1);
    } finally {
      await small.stop();
      await slow.close();
    }
  });

  test('after a 504 (the user server too slow): no crash', async () => {
    const held: UpstreamRequest[] = [];
    const slow = await RecordingUpstream.start((r) => held.push(r));
    const small = await startProxyProcess(slow.port, { 'max-concurrency': 1, 'upstream-timeout': '200ms', 'lingering-time': '1s' });
    try {
      const client = await RawClient.connect(small.port);
      await client.write('POST /upload HTTP/1.1\r\nHost: api\r\nContent-Length: 1000\r\n\r\n0123456789');
      await client.waitFor('"error":"upstream_timeout"');
      client.end();
      const result = await client.closedWithin(5000);
      expect(statusesOf(result.data)).toEqual([504]);
      await expectHealthy(small, slow, 1);
    } finally {
      await small.stop();
      await slow.close();
    }
  });
});

describe('a client that half-closes (FIN) while its request is inside', () => {
  test('it has left, as nginx takes it: the upstream request is aborted, the slot freed, counted as 499', async () => {
    const held: UpstreamRequest[] = [];
    upstream.reset((r) => held.push(r));
    const before = await requestsAnswered(proxy, 499);
    const client = await RawClient.connect(proxy.port);
    await client.write('GET /slow HTTP/1.1\r\nHost: api\r\n\r\n');
    const request = await upstream.received(1);
    const aborted = new Promise<void>((resolve) => request.res.on('close', () => resolve()));
    client.end();
    await client.closedWithin(5000);
    await aborted;
    await until(async () => (await requestsAnswered(proxy, 499)) === before + 1, 'the 499 to be counted');
  });
});

describe('a client that half-closes (FIN) in the middle of a pipelined request body', () => {
  test('while the response before it streams: it has left, both exchanges end (not held until the idle timeout)', async () => {
    const held: UpstreamRequest[] = [];
    upstream.reset((r) => {
      held.push(r);
      if (r.url === '/1') r.res.writeHead(200, { 'Content-Length': '100' }).write('partial');
    });
    const client = await RawClient.connect(proxy.port);
    await client.write('GET /1 HTTP/1.1\r\nHost: api\r\n\r\n');
    await upstream.received(1);
    await client.waitFor('partial');
    await client.write('POST /2 HTTP/1.1\r\nHost: api\r\nContent-Length: 1000\r\n\r\nonly this much');
    const second = await upstream.received(2);
    const aborted = new Promise<void>((resolve) => second.res.on('close', () => resolve()));
    client.end();
    await client.closedWithin(5000);
    await aborted;
  });
});

describe('pipelining', () => {
  test('a malformed second request does not lose the first one\'s response (it is answered first, then 400)', async () => {
    const held: UpstreamRequest[] = [];
    upstream.reset((r) => held.push(r));
    const client = await RawClient.connect(proxy.port);
    await client.write(`${VALID}GARBAGE\r\n\r\n`);
    await upstream.received(1);
    held[0].res.writeHead(200, { 'Content-Length': '5' }).end('first');
    const result = await client.closedWithin(5000);
    expect(statusesOf(result.data)).toEqual([200, 400]);
    expect(result.text).toContain('first');
    expect(result.ended).toBe(true);
  });

  test('a malformed request that arrives while the response before it streams: that response completes, then 400', async () => {
    const held: UpstreamRequest[] = [];
    upstream.reset((r) => held.push(r));
    const client = await RawClient.connect(proxy.port);
    await client.write(VALID);
    await upstream.received(1);
    held[0].res.writeHead(200, { 'Content-Length': '10' });
    held[0].res.write('01234');
    await client.waitFor('01234');
    await client.write('GARBAGE\r\n\r\n');
    held[0].res.end('56789');
    const result = await client.closedWithin(5000);
    expect(statusesOf(result.data)).toEqual([200, 400]);
    expect(result.text).toContain('0123456789');
  });

  test('a client that leaves while a pipelined response waits its turn: every exchange ends, every slot is freed', async () => {
    const held: UpstreamRequest[] = [];
    upstream.reset((r) => {
      held.push(r);
      // The first response starts and stalls; the second is complete at once, and waits behind it.
      if (r.url === '/1') r.res.writeHead(200, { 'Content-Length': '100' }).write('partial');
      else r.res.end('second');
    });
    const client = await RawClient.connect(proxy.port);
    await client.write('GET /1 HTTP/1.1\r\nHost: api\r\n\r\nGET /2 HTTP/1.1\r\nHost: api\r\n\r\n');
    await upstream.received(2);
    await client.waitFor('partial');
    await until(() => held[1].res.writableFinished, 'the second response to leave the user server');
    client.destroy();
  });

  test('a client that resets while a refused request waits behind a stalled response: noticed at once, everything ends', async () => {
    const held: UpstreamRequest[] = [];
    const slow = await RecordingUpstream.start((r) => {
      held.push(r);
      r.res.writeHead(200, { 'Content-Length': '100' }).write('partial');
    });
    // The body idle timeout (60 s by default) would end the stalled response only much later.
    const small = await startProxyProcess(slow.port, { 'max-concurrency': 2, 'max-body-size': '64Ki', 'lingering-time': '1s' });
    try {
      const client = await RawClient.connect(small.port);
      await client.write('GET /1 HTTP/1.1\r\nHost: api\r\n\r\n');
      const request = await slow.received(1);
      const aborted = new Promise<void>((resolve) => request.res.on('close', () => resolve()));
      await client.waitFor('partial');
      // Refused (413) without reading its body; the answer waits its turn behind the stalled response.
      await client.write(`PUT /2 HTTP/1.1\r\nHost: api\r\nContent-Length: ${256 * 1024}\r\n\r\n${'a'.repeat(256 * 1024)}`);
      client.socket.resetAndDestroy();
      await aborted;
      await expectHealthy(small, slow, 2);
    } finally {
      await small.stop();
      await slow.close();
    }
  });

  test('three valid pipelined requests: three responses, in order', async () => {
    const client = await RawClient.connect(proxy.port);
    await client.write('GET /1 HTTP/1.1\r\nHost: api\r\n\r\nGET /2 HTTP/1.1\r\nHost: api\r\n\r\nGET /3 HTTP/1.1\r\nHost: api\r\nConnection: close\r\n\r\n');
    const result = await client.closedWithin(5000);
    expect(statusesOf(result.data)).toEqual([200, 200, 200]);
    expect(result.text.indexOf('"/1"')).toBeLessThan(result.text.indexOf('"/2"'));
    expect(result.text.indexOf('"/2"')).toBeLessThan(result.text.indexOf('"/3"'));
  });

  /**
   * Found by bench/fuzz-proxy: the 100 Continue of a pipelined request was buffered into its own queued
   * response, and went out between that response's head and its body (`HTTP/1.1 200 ... 100 Continue ... bb`).
   */
  test.each([
    ['answered before the first response is out: no 100 at all', 0],
    ['still unanswered when its turn comes: the 100, then the response', 300],
  ])('Expect: 100-continue on a pipelined request %s', async (_, secondDelayMs) => {
    upstream.reset((request) => {
      const delay = request.url === '/a' ? 100 : secondDelayMs;
      const body = request.url === '/a' ? 'a' : 'bb';
      void request.body.then(() => setTimeout(() => request.res.writeHead(200, { 'Content-Length': body.length }).end(body), delay));
    });
    const client = await RawClient.connect(proxy.port);
    await client.write(
      'GET /a HTTP/1.1\r\nHost: api\r\n\r\nPOST /b HTTP/1.1\r\nHost: api\r\nExpect: 100-continue\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello',
    );
    const { text } = await client.closedWithin(5000);
    const heads = [...text.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => m[1]);
    expect(heads).toEqual(secondDelayMs === 0 ? ['200', '200'] : ['200', '100', '200']);
    // Each response's body follows its own head.
    expect(text).toMatch(/\r\n\r\na(HTTP\/1\.1 100 Continue\r\n\r\n)?HTTP\/1\.1 200 OK\r\n[^]*\r\n\r\nbb$/);
  });
});
