/**
 * upstream.ts's response parser against Node's own (llhttp, through `http.request`) on generated responses:
 * valid ones and subtly invalid ones (status lines, header syntax, Content-Length forms, Transfer-Encoding
 * values, chunk sizes and extensions, trailers, line ends, truncations), from a fixed seed and in a fixed
 * count. Each response is fed to upstream.ts read by read (split at random points) and served to Node's
 * client by a raw `net` server; they must agree on accepting it and, when both accept, on the status, the
 * reason, the headers (upstream.ts drops the hop-by-hop ones: the comparison drops them from llhttp's) and
 * the body.
 *
 * Where upstream.ts is stricter than llhttp on purpose it may refuse what llhttp accepts, never the other
 * way round; the generator labels each such response, and only a labelled one may differ:
 * - a version other than HTTP/1.0 or HTTP/1.1 (llhttp takes HTTP/2.0 on a response),
 * - a status under 100 (llhttp takes 000 and 099),
 * - a control character in the reason phrase (llhttp takes it; Node's server would refuse to send it),
 * - a Transfer-Encoding other than exactly one `chunked` (llhttp decodes `gzip, chunked` and hands on
 *   gzip unlabelled, reads `chunked, gzip` or `identity` to the end), or one in an HTTP/1.0 response,
 * - a Content-Length over 2^53 - 1 (llhttp takes up to 2^64 - 1; no body that large ever comes),
 * - a chunk extension `name=` with an empty value (llhttp takes it; RFC 9112 wants a token or quoted string),
 * - a tab after a Content-Length's digits (Node 22's and 24's llhttp take it, Node 20's refuses it; upstream.ts
 *   refuses it on every Node).
 *
 * `CASES` runs in `npm test`; `UPSTREAM_LLHTTP_CASES=200000 npx jest test/images/proxy/hostile/upstream-llhttp`
 * runs longer by hand (the seed: `UPSTREAM_LLHTTP_SEED`).
 */
import * as http from 'node:http';
import * as net from 'node:net';
import { BodyFraming, UpstreamListener, UpstreamPool } from '../../../../images/proxy/src/upstream';

const LOOPBACK = '127.0.0.1';
const SEED = Number(process.env.UPSTREAM_LLHTTP_SEED ?? 20_251_206);
const CASES = Number(process.env.UPSTREAM_LLHTTP_CASES ?? 2000);
/** llhttp exchanges under way at once. */
const PARALLEL = 16;

jest.setTimeout(Math.max(60_000, CASES * 20));

/** Labels of the ways upstream.ts is stricter than llhttp on purpose (see above). */
type Stricter =
  | 'version'
  | 'status-under-100'
  | 'ctl-in-reason'
  | 'transfer-encoding'
  | 'huge-length'
  | 'empty-extension-value'
  | 'length-tab';

interface Case {
  readonly bytes: string;
  readonly method: 'GET' | 'HEAD';
  /** Why upstream.ts may refuse it while llhttp accepts it. */
  readonly stricter: ReadonlySet<Stricter>;
}

interface Outcome {
  readonly accepted: boolean;
  readonly status: number;
  readonly reason: string;
  readonly headers: string[];
  readonly body: string;
  /** Why it was refused (an error code), for the report. */
  readonly why: string;
}

/** mulberry32: small, fast, and the same sequence everywhere. */
class Random {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  public next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  public int(below: number): number {
    return Math.floor(this.next() * below);
  }
  public chance(p: number): boolean {
    return this.next() < p;
  }
  public pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }
}

const STATUSES = [200, 200, 200, 201, 202, 204, 206, 301, 302, 304, 400, 404, 418, 500, 502, 503, 599, 999];
const REASONS = ['OK', 'OK', '', 'Not Found', 'Some Reason Here', 'tab\there', 'obs\xe9\xff', ' leading space'];
const NAMES = ['Content-Type', 'X-A', 'Server', 'Set-Cookie', 'ETag', 'Cache-Control', 'x-lower', 'X_Under', "X!#$%&'*+-.^`|~"];
const VALUES = ['text/plain', 'a=1; Path=/', '"etag"', '', '  padded  ', '\tTab\t', 'obs\xa0\xfftext', 'a, b, c', 'x'.repeat(100)];
/** A space, a separator, nothing, space before the colon, NUL, obs-text. */
const BAD_NAMES = ['Bad Name', 'Bad@Name', '', 'Name ', 'N\x00me', 'N\xe9me'];
const BAD_VALUES = ['a\x01b', 'a\x00b', 'a\x7fb', 'a\x1bb', 'a\rb', 'a\nX-Injected: 1', 'a\x0bb'];
const HOP_BY_HOP = [
  'Connection: close',
  'Connection: keep-alive',
  'Connection: keep-alive, X-Hop\r\nX-Hop: 1',
  'Connection: X-Hop, close\r\nX-Hop: 2',
  'Keep-Alive: timeout=5',
  'TE: trailers',
  'Trailer: X-T',
  'Upgrade: h2c',
  'Proxy-Connection: keep-alive',
  'Proxy-Authenticate: Basic realm="x"',
  'Proxy-Authorization: Basic eDp5',
];

function randomBytes(random: Random, length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) out += String.fromCharCode(random.chance(0.8) ? 32 + random.int(95) : random.int(256));
  return out;
}

/** One response, mostly valid, with a mutation here and there (a few percent per part). */
function generate(random: Random): Case {
  const stricter = new Set<Stricter>();
  const method = random.chance(0.1) ? 'HEAD' : 'GET';
  const eol = (): string => (random.chance(0.005) ? random.pick(['\n', '\r', '\r\r\n', '\n\r']) : '\r\n');
  const m = (p: number): boolean => random.chance(p);

  // The status line.
  let version = m(0.1) ? 'HTTP/1.0' : 'HTTP/1.1';
  if (m(0.02)) {
    version = random.pick(['HTTP/2.0', 'HTTP/1.2', 'HTTP/0.9', 'http/1.1', 'HTTP/11', 'HTTP/1.', 'HTTPS/1.1', 'HTTP/1.1 ']);
    stricter.add('version');
  }
  let status = random.pick(STATUSES);
  let statusText = String(status);
  if (m(0.03)) {
    statusText = random.pick(['1e2', '20', '2000', '+20', '099', '000', '2 0', 'abc', '20a', '-20', ' 200', '0x1']);
    status = 0;
    if (statusText === '099' || statusText === '000') stricter.add('status-under-100');
  }
  let reason = random.pick(REASONS);
  if (m(0.02)) {
    reason = random.pick(['O\x01K', 'O\x7fK', 'O\x00K', 'O\x1bK']);
    stricter.add('ctl-in-reason');
  }
  const statusLine = m(0.05) ? `${version} ${statusText}` : m(0.01) ? `${version} ${statusText}${reason}` : `${version} ${statusText} ${reason}`;

  // Interim responses first, now and then.
  let out = '';
  if (m(0.06)) {
    for (let i = 1 + random.int(2); i > 0; i--) {
      out += random.pick(['HTTP/1.1 100 Continue\r\n\r\n', 'HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n']);
    }
  }
  if (m(0.005)) {
    // Only interim responses, then the end.
    return { bytes: out + 'HTTP/1.1 100 Continue\r\n\r\n', method, stricter };
  }
  out += statusLine + eol();

  // Ordinary headers, some broken; hop-by-hop ones.
  const headers: string[] = [];
  for (let i = random.int(6); i > 0; i--) {
    let name = random.pick(NAMES);
    let value = random.pick(VALUES);
    if (m(0.02)) name = random.pick(BAD_NAMES);
    if (m(0.02)) value = random.pick(BAD_VALUES);
    headers.push(`${name}:${m(0.1) ? '' : ' '}${value}`);
    if (m(0.01)) headers.push(`${random.pick([' ', '\t'])}folded continuation`);
  }
  if (m(0.2)) headers.push(random.pick(HOP_BY_HOP));

  // The body's framing.
  const noBody = method === 'HEAD' || status === 204 || status === 304 || (status >= 100 && status < 200);
  const kind = random.pick(['length', 'length', 'length', 'chunked', 'chunked', 'chunked', 'close']);
  let body = '';
  if (kind === 'length') {
    const length = random.int(41);
    let text = m(0.1) ? `00${length}` : String(length);
    if (m(0.04)) {
      text = random.pick([`+${length}`, '-1', `${length}, ${length}`, '', `0x${length.toString(16)}`, `${length} `, `\t${length}`, `${length}\t`, `${length}a`, '99999999999999999']);
      if (text === '99999999999999999') stricter.add('huge-length');
      if (text.endsWith('\t')) stricter.add('length-tab');
    }
    headers.push(`Content-Length: ${text}`);
    if (m(0.02)) headers.push(`Content-Length: ${m(0.5) ? text : length + 1}`);
    if (m(0.02)) headers.push('Transfer-Encoding: chunked');
    body = randomBytes(random, m(0.03) ? Math.max(0, length - 1 - random.int(5)) : length);
  } else if (kind === 'chunked') {
    let coding = random.pick(['chunked', 'chunked', 'chunked', 'Chunked', 'CHUNKED', ' chunked ']);
    if (m(0.05)) {
      coding = random.pick(['gzip, chunked', 'chunked, gzip', 'identity', 'gzip', 'chunked, chunked', 'chunked;q=1', '']);
      stricter.add('transfer-encoding');
    }
    headers.push(`Transfer-Encoding: ${coding}`);
    if (m(0.02)) {
      headers.push('Transfer-Encoding: chunked');
      stricter.add('transfer-encoding');
    }
    if (m(0.02)) headers.push(`Content-Length: ${random.int(20)}`);
    if (version === 'HTTP/1.0') stricter.add('transfer-encoding');
    body = chunkedBody(random, stricter);
  } else {
    body = randomBytes(random, random.int(41));
  }
  if (random.chance(0.5)) shuffle(random, headers);
  for (const header of headers) out += header + eol();
  out += eol();
  if (!noBody) out += body;
  // Cut short, now and then.
  if (m(0.03) && out.length > 0) out = out.slice(0, random.int(out.length));
  return { bytes: out, method, stricter };
}

function chunkedBody(random: Random, stricter: Set<Stricter>): string {
  const m = (p: number): boolean => random.chance(p);
  let out = '';
  const chunkLine = (size: number): string => {
    let text = size.toString(16);
    if (m(0.2)) text = text.toUpperCase();
    if (m(0.1)) text = `000${text}`;
    if (m(0.1)) text += random.pick([';a', ';a=b', ';a="q s"', ';a="x\\"y"', ';a;b=c', ';name=token123']);
    if (m(0.03)) {
      const bad = random.pick(['; a=b', ' ;a', ';', ';a=', ';a=b;', ';a="x\x01"', ';a=b c', '0x', '+', ' ', 'g', ' lead', 'trail ']);
      if (bad === ';a=') stricter.add('empty-extension-value');
      if (bad === '0x' || bad === '+' || bad === ' lead') text = (bad === ' lead' ? ' ' : bad) + text;
      else if (bad === 'trail ') text += ' ';
      else text += bad;
    }
    return text + (m(0.01) ? '\n' : '\r\n');
  };
  for (let i = random.int(4); i > 0; i--) {
    const size = 1 + random.int(20);
    out += chunkLine(size);
    out += randomBytes(random, m(0.02) ? size + random.pick([-1, 1]) : size);
    out += m(0.02) ? random.pick(['\n', '', 'X\r\n']) : '\r\n';
  }
  out += chunkLine(0);
  if (m(0.1)) for (let i = 1 + random.int(2); i > 0; i--) out += (m(0.1) ? random.pick(['bad trailer', 'T: a\x01b', ' folded']) : `X-T${i}: v`) + '\r\n';
  return out + '\r\n';
}

function shuffle<T>(random: Random, items: T[]): void {
  for (let i = items.length - 1; i > 0; i--) {
    const j = random.int(i + 1);
    [items[i], items[j]] = [items[j], items[i]];
  }
}

/** Records what upstream.ts tells a listener. */
class Recorder implements UpstreamListener {
  public status = 0;
  public reason = '';
  public headers: string[] = [];
  public body = '';
  public settled: 'end' | 'error' | null = null;
  public why = '';
  public upstreamHead(status: number, reason: string, headers: string[]): void {
    this.status = status;
    this.reason = reason;
    this.headers = headers;
  }
  public upstreamBody(chunk: Buffer): boolean {
    this.body += chunk.toString('latin1');
    return true;
  }
  public upstreamEnd(last: Buffer | undefined): void {
    if (last !== undefined) this.body += last.toString('latin1');
    this.settled = 'end';
  }
  public upstreamError(code: string): void {
    this.settled = 'error';
    this.why = code;
  }
  public upstreamDrain(): void {}
}

/** upstream.ts: the bytes in a few reads, then the end of the connection. */
function parseWithUpstream(pool: UpstreamPool, random: Random, c: Case): Outcome {
  const rec = new Recorder();
  const connection = pool.acquire();
  connection.request(rec, c.method, `${c.method} / HTTP/1.1\r\nHost: differential\r\n`, BodyFraming.None);
  const bytes = Buffer.from(c.bytes, 'latin1');
  const cuts = [random.int(bytes.length + 1), random.int(bytes.length + 1)].sort((a, b) => a - b);
  let from = 0;
  for (const at of [...cuts, bytes.length]) {
    if (rec.settled !== null) break;
    if (at > from) connection._data(bytes.subarray(from, at));
    from = Math.max(from, at);
  }
  if (rec.settled === null) connection._end();
  const accepted = rec.settled === 'end';
  return { accepted, status: rec.status, reason: rec.reason, headers: rec.headers, body: rec.body, why: rec.why };
}

/** llhttp: the bytes served by a raw server to `http.request`, then the end of the connection. */
function parseWithLlhttp(port: number, index: number, c: Case): Promise<Outcome> {
  return new Promise((resolve) => {
    let done = false;
    const finish = (outcome: Outcome): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      req.destroy();
      resolve(outcome);
    };
    const refused = (why: string): Outcome => ({ accepted: false, status: 0, reason: '', headers: [], body: '', why });
    const timer = setTimeout(() => finish(refused('timeout')), 5000);
    const req = http.request({ host: LOOPBACK, port, method: c.method, path: `/${index}`, agent: false });
    req.on('error', (error: NodeJS.ErrnoException) => finish(refused(error.code ?? error.message)));
    req.on('upgrade', (_res, socket: net.Socket) => {
      socket.destroy();
      finish(refused('upgrade'));
    });
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('latin1');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('error', (error: NodeJS.ErrnoException) => finish(refused(error.code ?? error.message)));
      res.on('end', () => finish({ accepted: res.complete, status: res.statusCode ?? 0, reason: res.statusMessage ?? '', headers: res.rawHeaders, body, why: '' }));
      res.on('close', () => finish(refused('closed before the end')));
    });
    req.end();
  });
}

const HOP_BY_HOP_NAMES = new Set(['connection', 'keep-alive', 'te', 'trailer', 'upgrade', 'transfer-encoding', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization']);

/** llhttp's headers as upstream.ts passes them on: no hop-by-hop ones, no Content-Length on a 204. */
function forwardable(headers: string[], status: number): string[] {
  const listed = new Set<string>();
  for (let i = 0; i < headers.length; i += 2) {
    if (headers[i].toLowerCase() === 'connection') for (const token of headers[i + 1].split(',')) listed.add(token.trim().toLowerCase());
  }
  const out: string[] = [];
  for (let i = 0; i < headers.length; i += 2) {
    const lower = headers[i].toLowerCase();
    if (HOP_BY_HOP_NAMES.has(lower) || listed.has(lower) || (status === 204 && lower === 'content-length')) continue;
    out.push(headers[i], headers[i + 1]);
  }
  return out;
}

let server: net.Server;
let sink: net.Server;
let cases: Case[] = [];

beforeAll(async () => {
  // Serves case N to a request for /N, then closes.
  server = net.createServer((socket) => {
    socket.on('error', () => undefined);
    let received = '';
    socket.on('data', (data) => {
      received += data.toString('latin1');
      const match = /^[A-Z]+ \/(\d+) /.exec(received);
      if (match === null || !received.includes('\r\n\r\n')) return;
      socket.end(Buffer.from(cases[Number(match[1])].bytes, 'latin1'));
    });
  });
  // Where upstream.ts's connections go: they never get a byte from it (the test feeds them).
  sink = net.createServer((socket) => socket.on('error', () => undefined));
  await Promise.all([server, sink].map((s) => new Promise<void>((resolve) => s.listen(0, LOOPBACK, () => resolve()))));
});

afterAll(async () => {
  await Promise.all([server, sink].map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
});

test(`upstream.ts and llhttp agree on ${CASES} generated responses (seed ${SEED}), or upstream.ts is stricter on purpose`, async () => {
  const random = new Random(SEED);
  cases = Array.from({ length: CASES }, () => generate(random));
  const port = (server.address() as net.AddressInfo).port;
  const llhttp: Outcome[] = new Array(CASES);
  for (let start = 0; start < CASES; start += PARALLEL) {
    const batch = cases.slice(start, start + PARALLEL).map((c, i) => parseWithLlhttp(port, start + i, c).then((o) => (llhttp[start + i] = o)));
    await Promise.all(batch);
  }
  const pool = new UpstreamPool(LOOPBACK, (sink.address() as net.AddressInfo).port, 1);
  const ours = cases.map((c) => parseWithUpstream(pool, random, c));
  pool.destroy();

  const counts = { bothAccepted: 0, bothRefused: 0, stricter: 0 };
  const stricterBy = new Map<string, number>();
  const disagreements: string[] = [];
  cases.forEach((c, i) => {
    const [a, b] = [ours[i], llhttp[i]];
    const show = (what: string): string =>
      `case ${i}: ${what}\n  bytes: ${JSON.stringify(c.bytes)}\n  upstream.ts: ${JSON.stringify(a)}\n  llhttp: ${JSON.stringify(b)}`;
    if (b.why === 'timeout') {
      disagreements.push(show('llhttp did not finish'));
    } else if (a.accepted && b.accepted) {
      counts.bothAccepted++;
      const expected = { status: b.status, reason: b.reason, headers: forwardable(b.headers, b.status), body: b.body };
      const actual = { status: a.status, reason: a.reason, headers: a.headers, body: a.body };
      if (JSON.stringify(actual) !== JSON.stringify(expected)) disagreements.push(show('both accept, with different results'));
    } else if (a.accepted) {
      disagreements.push(show('upstream.ts accepts what llhttp refuses'));
    } else if (b.accepted) {
      if (c.stricter.size === 0) disagreements.push(show('upstream.ts refuses what llhttp accepts, and no deliberate strictness applies'));
      else {
        counts.stricter++;
        for (const label of c.stricter) stricterBy.set(label, (stricterBy.get(label) ?? 0) + 1);
      }
    } else {
      counts.bothRefused++;
    }
  });
  // Shown in the test output: what the run covered.
  process.stdout.write(`upstream.ts vs llhttp, ${CASES} responses (seed ${SEED}): ${JSON.stringify(counts)}, stricter by label ${JSON.stringify(Object.fromEntries(stricterBy))}\n`);
  expect(disagreements.slice(0, 10)).toEqual([]);
  // Not vacuous: most responses are valid, and many are not.
  expect(counts.bothAccepted).toBeGreaterThan(CASES * 0.4);
  expect(counts.bothRefused).toBeGreaterThan(CASES * 0.1);
});
