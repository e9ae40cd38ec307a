/**
 * Request smuggling: framing the proxy and the user's server could read differently. Each case is refused
 * (and its connection closed), or forwarded as exactly one request whose framing the proxy wrote itself;
 * the user's server never sees a request the client hid inside another.
 */
import { collect, HostileFixture } from './harness';

const SMUGGLED = 'GET /smuggled HTTP/1.1\r\nHost: api\r\n\r\n';

let fixture: HostileFixture;

beforeAll(async () => {
  fixture = await HostileFixture.start({ 'max-concurrency': 2, 'lingering-time': '1s' });
});
afterAll(async () => {
  await fixture?.stop();
});
beforeEach(async () => {
  await fixture.reset();
});
afterEach(async () => {
  expect(fixture.upstream.requests.map((r) => r.url)).not.toContain('/smuggled');
  await fixture.check();
});

/** Refused with `status`, the connection closed, nothing forwarded. */
async function expectRefused(bytes: string, status: number): Promise<void> {
  const result = await collect(fixture.proxy.port, bytes + SMUGGLED, 2);
  expect(result.statuses).toEqual([status]);
  expect(result.closed).toBe(true);
  expect(fixture.upstream.requests.length).toBe(0);
}

/**
 * A body found malformed after its head was accepted: 400, the connection closed. Bodies stream, so the head
 * may have reached the user's server; if it did, that request was abandoned before its body was complete.
 */
async function expectBodyRefused(bytes: string): Promise<void> {
  const result = await collect(fixture.proxy.port, bytes + SMUGGLED, 2);
  expect(result.statuses).toEqual([400]);
  expect(result.closed).toBe(true);
  expect(fixture.upstream.requests.length).toBeLessThanOrEqual(1);
  for (const request of fixture.upstream.requests) {
    await request.body;
    expect(request.req.complete).toBe(false);
  }
}

describe('Content-Length and Transfer-Encoding', () => {
  test.each([
    ['Content-Length with Transfer-Encoding', 'POST / HTTP/1.1\r\nHost: api\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'],
    ['Transfer-Encoding with Content-Length', 'POST / HTTP/1.1\r\nHost: api\r\nTransfer-Encoding: chunked\r\nContent-Length: 6\r\n\r\n0\r\n\r\n'],
    ['two equal Content-Lengths', 'POST / HTTP/1.1\r\nHost: api\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello'],
    ['two different Content-Lengths', 'POST / HTTP/1.1\r\nHost: api\r\nContent-Length: 5\r\nContent-Length: 4\r\n\r\nhello'],
    ['a Content-Length list', 'POST / HTTP/1.1\r\nHost: api\r\nContent-Length: 5, 5\r\n\r\nhello'],
    ['a signed Content-Length', 'POST / HTTP/1.1\r\nHost: api\r\nContent-Length: +5\r\n\r\nhello'],
    ['a negative Content-Length', 'POST / HTTP/1.1\r\nHost: api\r\nContent-Length: -1\r\n\r\nhello'],
    ['a hex Content-Length', 'POST / HTTP/1.1\r\nHost: api\r\nContent-Length: 0x5\r\n\r\nhello'],
    ['a Content-Length with a space inside', 'POST / HTTP/1.1\r\nHost: api\r\nContent-Length: 1 0\r\n\r\nhello'],
    ['a space before the colon of Transfer-Encoding', 'POST / HTTP/1.1\r\nHost: api\r\nTransfer-Encoding : chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n'],
    ['a vertical tab before chunked', 'POST / HTTP/1.1\r\nHost: api\r\nTransfer-Encoding: \x0bchunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n'],
    ['obs-fold in a header', 'GET / HTTP/1.1\r\nHost: api\r\nX-A: 1\r\n  continued\r\n\r\n'],
    ['obs-fold in Transfer-Encoding', 'POST / HTTP/1.1\r\nHost: api\r\nTransfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n'],
    ['a NUL in a header value', 'GET / HTTP/1.1\r\nHost: api\r\nX-A: a\x00b\r\n\r\n'],
    ['a bare CR in a header value', 'GET / HTTP/1.1\r\nHost: api\r\nX-A: a\rb\r\n\r\n'],
    ['no Host in HTTP/1.1', 'GET / HTTP/1.1\r\n\r\n'],
    ['two Host headers', 'GET / HTTP/1.1\r\nHost: api\r\nHost: other\r\n\r\n'],
    ['HTTP/1.2', 'GET / HTTP/1.2\r\nHost: api\r\n\r\n'],
  ])('%s: 400', async (_name, bytes) => {
    await expectRefused(bytes, 400);
  });
});

describe('chunk sizes', () => {
  test.each([
    ['a 0x prefix', '0x5\r\nhello\r\n0\r\n\r\n'],
    ['a size that overflows 64 bits', 'fffffffffffffffff1\r\nhello\r\n0\r\n\r\n'],
    ['a negative size', '-5\r\nhello\r\n0\r\n\r\n'],
    ['a space after the size', '5 \r\nhello\r\n0\r\n\r\n'],
    ['bare LF line ends', '5\nhello\n0\n\n'],
    ['more data than the size', '3\r\nhello\r\n0\r\n\r\n'],
  ])('%s: 400', async (_name, chunks) => {
    await expectBodyRefused(`POST / HTTP/1.1\r\nHost: api\r\nTransfer-Encoding: chunked\r\n\r\n${chunks}`);
  });

  test('an extension and a trailer: the body arrives, re-chunked, with neither', async () => {
    const result = await collect(fixture.proxy.port, 'POST / HTTP/1.1\r\nHost: api\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n0\r\nX-Trailer: 1\r\n\r\n');
    expect(result.statuses).toEqual([200]);
    const received = fixture.upstream.requests[0];
    expect(received.headers('transfer-encoding')).toEqual(['chunked']);
    expect((await received.body).toString()).toBe('hello');
    expect(received.req.rawTrailers).toEqual([]);
  });
});

describe('Transfer-Encoding lists', () => {
  test.each([
    ['gzip, chunked', 501],
    ['identity', 501],
    ['xchunked', 501],
    ['chunked, chunked', 400],
    ['chunked, identity', 400],
  ])('%s: %d, nothing forwarded', async (coding, status) => {
    await expectRefused(`POST / HTTP/1.1\r\nHost: api\r\nTransfer-Encoding: ${coding}\r\n\r\n5\r\nhello\r\n0\r\n\r\n`, status);
  });

  test('two Transfer-Encoding headers: 400', async () => {
    await expectRefused('POST / HTTP/1.1\r\nHost: api\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n', 400);
  });

  test('"Chunked" in another case is chunked: forwarded as "chunked"', async () => {
    const result = await collect(fixture.proxy.port, 'POST / HTTP/1.1\r\nHost: api\r\nTransfer-Encoding: Chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n');
    expect(result.statuses).toEqual([200]);
    expect(fixture.upstream.requests[0].headers('transfer-encoding')).toEqual(['chunked']);
  });
});

describe('pipelining', () => {
  test('a request inside a body stays the body', async () => {
    const result = await collect(fixture.proxy.port, `POST / HTTP/1.1\r\nHost: api\r\nContent-Length: ${SMUGGLED.length}\r\n\r\n${SMUGGLED}`);
    expect(result.statuses).toEqual([200]);
    expect(fixture.upstream.requests.length).toBe(1);
    expect((await fixture.upstream.requests[0].body).toString()).toBe(SMUGGLED);
  });

  test('a request after a chunked body is a request of its own, forwarded after the first', async () => {
    const result = await collect(fixture.proxy.port, 'POST /a HTTP/1.1\r\nHost: api\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /b HTTP/1.1\r\nHost: api\r\n\r\n', 2);
    expect(result.statuses).toEqual([200, 200]);
    expect(fixture.upstream.requests.map((r) => r.url).sort()).toEqual(['/a', '/b']);
  });

  test('CONNECT: the connection closes, nothing forwarded', async () => {
    const result = await collect(fixture.proxy.port, 'CONNECT api:443 HTTP/1.1\r\nHost: api:443\r\n\r\n');
    expect(result.closed).toBe(true);
    expect(fixture.upstream.requests.length).toBe(0);
  });

  test('an Upgrade request is an ordinary request: no Upgrade or Connection header reaches the user server', async () => {
    const result = await collect(fixture.proxy.port, 'GET /ws HTTP/1.1\r\nHost: api\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n');
    expect(result.statuses).toEqual([200]);
    expect(fixture.upstream.requests[0].header('upgrade')).toBeUndefined();
    expect(fixture.upstream.requests[0].header('connection') ?? '').not.toMatch(/upgrade/i);
  });
});
