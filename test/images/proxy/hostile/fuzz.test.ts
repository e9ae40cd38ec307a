/**
 * The bounded fuzzer (`bench/fuzz-proxy`) with a fixed seed and count: the compiled cortex-proxy as a child
 * process between random and mutated client connections and a fuzzing upstream; after every case the proxy is
 * alive, its in-flight gauge is back to 0, a plain request still goes through, no upstream connection or file
 * descriptor leaked, and everything the clients got was well-formed HTTP/1.1 answering their own requests.
 * Longer runs by hand: `node dist/bench/fuzz-proxy/run.js --seconds 300` (images/proxy/README.md, "Fuzzing").
 *
 * First, the fuzzer's own soundness: its response checker accepts what a correct server (Node's) sends and
 * rejects the corrupt streams it is meant to catch; cases are the same for the same seed.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as path from 'node:path';
import { buildCase, formatReport, runFuzz, stopAllProxies } from '../../../../bench/fuzz-proxy/harness';
import { ResponseStream } from '../../../../bench/fuzz-proxy/responses';
import { echoValue, parseEcho } from '../../../../bench/fuzz-proxy/upstream';

const MAIN = path.resolve(__dirname, '../../../../dist/images/proxy/src/main.js');
const SEED = 12;
const CASES = 60;

function streamOf(bytes: string, isHead: (i: number) => boolean | undefined = () => false): ResponseStream {
  const stream = new ResponseStream(isHead);
  // In pieces: the parser must not depend on how TCP cut the bytes.
  const buf = Buffer.from(bytes, 'latin1');
  for (let i = 0; i < buf.length; i += 7) stream.push(buf.subarray(i, i + 7));
  return stream;
}

describe("the fuzzer's response checker", () => {
  test("accepts everything Node's own HTTP server sends to pipelined requests: lengths, chunked, HEAD, 204, 304, 100 Continue", async () => {
    // GIVEN a correct server answering with every framing
    const server = http.createServer((req, res) => {
      if (req.url === '/chunked') res.write('part one, ');
      if (req.url === '/204') res.writeHead(204).end();
      else if (req.url === '/304') res.writeHead(304, { ETag: '"x"' }).end();
      else if (req.url === '/error') res.writeHead(502, { 'Content-Type': 'application/json' }).end('{"error":"upstream_failed","message":"m"}\n');
      else res.end(`answer to ${req.method} ${req.url}`);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    try {
      const methods = ['GET', 'HEAD', 'GET', 'GET', 'GET', 'POST', 'GET'];
      const paths = ['/length', '/length', '/chunked', '/204', '/304', '/continue', '/error'];
      const stream = new ResponseStream((i) => methods[i] === 'HEAD');
      // WHEN the requests go pipelined on one raw connection
      const socket = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
      socket.on('data', (d: Buffer) => stream.push(d));
      const requests = paths.map((p, i) =>
        p === '/continue'
          ? `POST ${p} HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nhi`
          : `${methods[i]} ${p} HTTP/1.1\r\nHost: x\r\n${i === paths.length - 1 ? 'Connection: close\r\n' : ''}\r\n`,
      );
      socket.write(requests.join(''));
      await new Promise((resolve) => socket.on('close', resolve));
      // THEN every response parses, in order, and the stream ends cleanly
      expect(stream.end()).toBe('clean');
      expect(stream.violation).toBeUndefined();
      expect(stream.responses.map((r) => r.status)).toEqual([200, 200, 200, 204, 304, 200, 502]);
      expect(stream.responses[0].body?.toString()).toBe('answer to GET /length');
      expect(stream.responses[1].bodyLength).toBe(0);
      expect(stream.responses[2].body?.toString()).toBe('part one, answer to GET /chunked');
      expect(stream.interim).toBe(1);
    } finally {
      server.close();
    }
  });

  test.each([
    ['a response without its body, then the next response (the bytes are read as the body)', 'HTTP/1.1 502 Bad Gateway\r\nContent-Length: 5\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n', /not an HTTP\/1.1 response: "1.1/],
    ['bytes that are not a response', 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nwithout getting a slot"}\n', /not an HTTP\/1.1 response/],
    ['a status line that is not HTTP/1.1', 'HTTP/1.1 1e2 OK\r\n\r\n', /invalid status line/],
    ['Content-Length and Transfer-Encoding together', 'HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', /both Content-Length and Transfer-Encoding/],
    ['two different Content-Lengths', 'HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd', /conflicting Content-Length/],
    ['an invalid chunk size', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n', /invalid chunk-size/],
    ['a header with a control character', 'HTTP/1.1 200 OK\r\nX-A: a\u0001b\r\nContent-Length: 0\r\n\r\n', /control characters/],
    ['an upgrade', 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n', /101/],
    ["the proxy's own 502 with another status's reason phrase", 'HTTP/1.1 502 OK\r\nContent-Length: 26\r\n\r\n{"error":"upstream_failed"', /reason phrase "OK"/],
  ])('flags %s', (_what, bytes, message) => {
    const stream = streamOf(bytes);
    stream.end();
    expect(stream.violation).toMatch(message);
  });

  test('a HEAD response is followed at once by the next one; the 100 Continue of a pipelined request inside a body is caught', () => {
    const head = streamOf('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok', (i) => i === 0);
    expect(head.end()).toBe('clean');
    expect(head.violation).toBeUndefined();
    expect(head.responses.map((r) => r.bodyLength)).toEqual([0, 2]);
    // Unknown method (malformed requests before it): decided by what follows.
    const unknown = streamOf('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n', () => undefined);
    expect(unknown.end()).toBe('clean');
    expect(unknown.responses).toHaveLength(2);
    const interleaved = streamOf('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nHTTP/1.1 100 Continue\r\n\r\nbb');
    interleaved.end();
    expect(interleaved.violation).toMatch(/not an HTTP\/1.1 response: "TP/);
  });

  test('a stream cut in a body is allowed (the proxy cuts a response whose upstream failed); a cut head is noted', () => {
    const cut = streamOf('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc');
    expect(cut.end()).toBe('cut-body');
    expect(cut.violation).toBeUndefined();
    const cutHead = streamOf('HTTP/1.1 200 OK\r\nConte');
    expect(cutHead.end()).toBe('cut-head');
    expect(cutHead.violation).toBeUndefined();
  });

  test('echoes carry a checksum: a mutated echo is ignored, not trusted', () => {
    const value = echoValue('3.0.1', '12.abcdef');
    expect(parseEcho(value)).toEqual({ token: '3.0.1', digest: '12.abcdef' });
    expect(parseEcho(value.replace('3.0.1', '3.1.1'))).toBeUndefined();
    expect(parseEcho('3.0.1;-')).toBeUndefined();
  });

  test('a case is the same for the same seed and number', () => {
    const bytes = (seed: number, n: number): string[] => buildCase(seed, n).connections.flatMap((c) => c.requests.map((r) => r.bytes.toString('base64')));
    expect(bytes(SEED, 7)).toEqual(bytes(SEED, 7));
    expect(bytes(SEED, 7)).not.toEqual(bytes(SEED, 8));
  });
});

describe('cortex-proxy under the fuzzer', () => {
  beforeAll(() => {
    if (!fs.existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npm run build\` (npm test does)`);
  });
  // A run cut short (a timeout) leaves no proxy behind.
  afterAll(() => stopAllProxies());

  test(`seed ${SEED}, ${CASES} cases: every invariant holds after every case`, async () => {
    // GIVEN the real proxy (short timeouts) in front of the fuzzing upstream
    // WHEN the cases run one after another
    const report = await runFuzz({ seed: SEED, cases: CASES, proxyMain: MAIN, caseBudgetMs: 1000, quietMs: 250 });
    // THEN no violation (the first one stops the run; its reproducer is the failure message)
    if (report.violations.length > 0) throw new Error(`${report.violations[0].reproducer}\n\n${formatReport(report)}`);
    expect(report.cases).toBe(CASES);
    // and the run reached what it is meant to: upstream answers, the proxy's own 4xx/5xx, cut responses
    const statuses = report.statuses;
    expect(statuses.get(200)).toBeGreaterThan(0);
    expect([400, 431].some((s) => (statuses.get(s) ?? 0) > 0)).toBe(true);
    expect(statuses.get(502)).toBeGreaterThan(0);
    expect(report.requests).toBeGreaterThan(CASES);
  }, 90_000);
});
