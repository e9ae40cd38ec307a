/**
 * What reaches the user's server: no hop-by-hop header (RFC 9110 §7.6.1), framing written by the proxy,
 * X-Forwarded-* by the documented policy (X-Forwarded-For appended to; X-Forwarded-Proto/-Host and
 * Forwarded kept from trusted peers only), and never a silently truncated header list.
 */
import { collect, HostileFixture, startProxyProcess } from './harness';

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
  await fixture.check();
});

const HOP_BY_HOP = [
  'Connection: keep-alive, X-Named-Hop',
  'X-Named-Hop: 1',
  'Keep-Alive: timeout=5',
  'Proxy-Authorization: Basic c2VjcmV0OnNlY3JldA==',
  'Proxy-Authenticate: Basic realm="x"',
  'Proxy-Connection: keep-alive',
  'TE: trailers',
  'Trailer: X-Checksum',
  'Upgrade: h2c',
];

describe('hop-by-hop headers', () => {
  test('none reaches the user server; end-to-end ones do, in order', async () => {
    const head = ['POST /hop HTTP/1.1', 'Host: api', 'X-Before: 1', ...HOP_BY_HOP, 'Content-Length: 5', 'X-After: 2', '', 'hello'].join('\r\n');
    const result = await collect(fixture.proxy.port, head);
    expect(result.statuses).toEqual([200]);
    const received = fixture.upstream.requests[0];
    for (const line of HOP_BY_HOP) expect(received.header(line.slice(0, line.indexOf(':')))).toBeUndefined();
    expect(received.header('connection')).toBeUndefined();
    expect(received.headers('x-before')).toEqual(['1']);
    expect(received.headers('x-after')).toEqual(['2']);
    expect(received.headers('content-length')).toEqual(['5']);
    expect((await received.body).toString()).toBe('hello');
  });

  test('a chunked body is forwarded chunked with one Transfer-Encoding header of the proxy\'s', async () => {
    const result = await collect(fixture.proxy.port, 'POST / HTTP/1.1\r\nHost: api\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n');
    expect(result.statuses).toEqual([200]);
    const received = fixture.upstream.requests[0];
    expect(received.headers('transfer-encoding')).toEqual(['chunked']);
    expect(received.header('content-length')).toBeUndefined();
    expect((await received.body).toString()).toBe('abcde');
  });

  test('Content-Length: 0 is passed on as it is', async () => {
    await collect(fixture.proxy.port, 'POST / HTTP/1.1\r\nHost: api\r\nContent-Length: 0\r\n\r\n');
    expect(fixture.upstream.requests[0].headers('content-length')).toEqual(['0']);
  });

  test('HTTP/1.0 without Host: the user server\'s authority as Host', async () => {
    await collect(fixture.proxy.port, 'GET /old HTTP/1.0\r\n\r\n');
    expect(fixture.upstream.requests[0].header('host')).toBe(`127.0.0.1:${fixture.upstream.port}`);
  });
});

describe('header count', () => {
  function manyHeaders(count: number): string {
    // `count` header lines in all, Host first and Content-Length last: the one Node would drop first.
    const filler = Array.from({ length: count - 2 }, (_, i) => `X-H-${i}: v`);
    return ['POST /many HTTP/1.1', 'Host: api', ...filler, 'Content-Length: 5', '', 'hello'].join('\r\n');
  }

  // 990: with the X-Forwarded-* the proxy adds, still within the 1,000 fields a Node 22+ user server takes.
  test('990 headers: forwarded whole, the body with them', async () => {
    const result = await collect(fixture.proxy.port, manyHeaders(990));
    expect(result.statuses).toEqual([200]);
    const received = fixture.upstream.requests[0];
    expect((await received.body).toString()).toBe('hello');
    expect(received.headers('content-length')).toEqual(['5']);
  });

  // Refused by the proxy's count on Node 20 (whose parser keeps some and drops the rest), by Node's parser itself
  // from Node 22 (at most 1,000 fields): a 431 either way.
  test('1500 headers: 431, nothing forwarded (never a request without its Content-Length)', async () => {
    const result = await collect(fixture.proxy.port, manyHeaders(1500));
    expect(result.statuses).toEqual([431]);
    expect(result.responses[0].body.toString()).toMatch(/too_many_headers|headers_too_large/);
    expect(result.closed).toBe(true);
    expect(fixture.upstream.requests.length).toBe(0);
  });
});

describe('X-Forwarded-*', () => {
  const SPOOFED = [
    'GET /fwd HTTP/1.1',
    'Host: api.example.com',
    'X-Forwarded-For: 203.0.113.7',
    'X-Forwarded-Proto: https',
    'X-Forwarded-Host: evil.example',
    'Forwarded: for=203.0.113.7;proto=https',
    '',
    '',
  ].join('\r\n');

  test('from a trusted peer (loopback, the default): passed on, the peer appended to X-Forwarded-For', async () => {
    await collect(fixture.proxy.port, SPOOFED);
    const received = fixture.upstream.requests[0];
    expect(received.headers('x-forwarded-for')).toEqual(['203.0.113.7, 127.0.0.1']);
    expect(received.headers('x-forwarded-proto')).toEqual(['https']);
    expect(received.headers('x-forwarded-host')).toEqual(['evil.example']);
    expect(received.headers('forwarded')).toEqual(['for=203.0.113.7;proto=https']);
  });

  test('from a peer not in --forwarded-allow-ips: what the proxy sees replaces -Proto/-Host, Forwarded is dropped', async () => {
    const strict = await startProxyProcess(fixture.upstream.port, { 'max-concurrency': 2, 'forwarded-allow-ips': '10.0.0.0/8' });
    try {
      await collect(strict.port, SPOOFED);
      const received = fixture.upstream.requests[0];
      expect(received.headers('x-forwarded-for')).toEqual(['203.0.113.7, 127.0.0.1']);
      expect(received.headers('x-forwarded-proto')).toEqual(['http']);
      expect(received.headers('x-forwarded-host')).toEqual(['api.example.com']);
      expect(received.header('forwarded')).toBeUndefined();
    } finally {
      await strict.stop();
    }
  });

  test('without any from the client: the proxy sets all three', async () => {
    await collect(fixture.proxy.port, 'GET / HTTP/1.1\r\nHost: api.example.com\r\n\r\n');
    const received = fixture.upstream.requests[0];
    expect(received.headers('x-forwarded-for')).toEqual(['127.0.0.1']);
    expect(received.headers('x-forwarded-proto')).toEqual(['http']);
    expect(received.headers('x-forwarded-host')).toEqual(['api.example.com']);
  });
});
