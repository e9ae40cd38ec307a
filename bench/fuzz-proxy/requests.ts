/**
 * What the fuzzing clients send: random and mutated request heads and bodies, several requests per
 * connection, pipelined or one at a time, written in pieces, ended in every way a TCP client can end.
 *
 * Each request carries a token in its path (`/fz/<case>.<connection>.<request>`) that the fuzzing upstream
 * echoes back, so the client can tell which request a response answers.
 */
import { Rng } from './prng';

export interface RequestPlan {
  /** The bytes, exactly as written. */
  readonly bytes: Buffer;
  /** What the generator made (for counts and reproducers). */
  readonly kind: string;
  /**
   * The request is well-framed HTTP/1.1 (or 1.0) and was not mutated: a server parses exactly these bytes as
   * one request, or rejects it. Later requests on the connection stay aligned with their responses only
   * while every earlier one is well-framed.
   */
  readonly wellFramed: boolean;
  /** Its method, when well-framed. */
  readonly method: string | undefined;
  /** The token in its path, when well-framed. */
  readonly token: string | undefined;
  /** The body the user's server must receive if the request is forwarded (known when well-framed). */
  readonly body: Buffer | undefined;
}

export type Pacing = 'pipelined' | 'sequential';
/**
 * After the last write: `keep` waits for the responses (then closes), `half-close` sends FIN and waits,
 * `destroy` and `reset` leave at once (a client that gives up), `stall` stops in the middle of the last
 * request and waits (a slow client).
 */
export type Ending = 'keep' | 'half-close' | 'destroy' | 'reset' | 'stall';

export interface ConnectionPlan {
  readonly requests: RequestPlan[];
  readonly pacing: Pacing;
  /** Per request, the offsets where a write ends early (partial writes), and the pause after each. */
  readonly splits: ReadonlyArray<ReadonlyArray<readonly [number, number]>>;
  readonly ending: Ending;
  /** For `stall`: how many bytes of the last request are written. */
  readonly stallAt: number;
  /** For `destroy`/`reset`: how long after the last write. */
  readonly leaveAfterMs: number;
  /** The client never reads (a stalled reader: backpressure on the proxy). */
  readonly neverReads: boolean;
  readonly startDelayMs: number;
  /** Replaying a recorded connection: these writes, with their pauses, instead of the requests and splits. */
  readonly writes?: ReadonlyArray<{ readonly pauseMs: number; readonly bytes: Buffer }>;
}

export interface RequestContext {
  readonly caseIndex: number;
  readonly connection: number;
  readonly index: number;
  /** The proxy's --max-body-size: bodies are drawn up to about twice that. */
  readonly maxBody: number;
}

const METHODS_WITHOUT_BODY = ['GET', 'GET', 'GET', 'HEAD', 'DELETE', 'OPTIONS', 'TRACE'];
const METHODS_WITH_BODY = ['POST', 'POST', 'PUT', 'PATCH', 'DELETE'];
const TCHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-.^_`|~";
const VCHARS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 !"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~';

type Header = readonly [string, string];

interface Draft {
  kind: string;
  method: string;
  target: string;
  version: string;
  headers: Header[];
  /** The body as sent on the wire (after framing). */
  wire: Buffer;
  /** The body as the server decodes it. */
  body: Buffer;
  wellFramed: boolean;
  /** Raw bytes that replace the whole request (garbage, the HTTP/2 preface). */
  raw?: Buffer;
}

export function tokenOf(ctx: RequestContext): string {
  return `${ctx.caseIndex}.${ctx.connection}.${ctx.index}`;
}

function baseHeaders(rng: Rng): Header[] {
  const headers: Header[] = [['Host', rng.chance(0.9) ? 'fuzz.local' : `fuzz-${rng.text(4)}.local:${rng.range(1, 65535)}`]];
  if (rng.chance(0.5)) headers.push(['User-Agent', `fuzz/${rng.range(1, 9)}`]);
  if (rng.chance(0.4)) headers.push(['Accept', rng.pick(['*/*', 'application/json', 'text/plain;q=0.9, */*;q=0.1'])]);
  const extra = rng.weighted<number>([[6, 0], [3, 1], [2, 3], [1, 8]]);
  for (let i = 0; i < extra; i++) headers.push([`X-Fz-${rng.text(rng.range(1, 12), TCHARS)}`, rng.text(rng.size(0, 200), VCHARS).trim()]);
  return headers;
}

function randomBody(rng: Rng, maxBody: number): Buffer {
  const n = rng.chance(0.08) ? rng.range(maxBody - 16, maxBody + 4096) : rng.size(0, Math.min(maxBody, 16 * 1024));
  // Mostly text; now and then arbitrary bytes (a body is opaque).
  return rng.chance(0.2) ? rng.bytes(n) : Buffer.from(rng.text(n), 'latin1');
}

/** `body` in chunked framing: random chunk sizes, sometimes extensions, sometimes trailers. */
function chunked(rng: Rng, body: Buffer, opts: { extensions?: boolean; trailers?: boolean } = {}): Buffer {
  const parts: Buffer[] = [];
  let pos = 0;
  while (pos < body.length) {
    const n = Math.min(body.length - pos, rng.size(1, 20_000));
    // Extensions every server takes; the rarer forms RFC 9112 allows (BWS, quoted values) are in 'chunk-extensions'.
    const ext = opts.extensions && rng.chance(0.5) ? rng.pick([';a=b', ';x', ';name=value']) : '';
    const size = rng.chance(0.1) ? n.toString(16).toUpperCase().padStart(rng.range(1, 6), '0') : n.toString(16);
    parts.push(Buffer.from(`${size}${ext}\r\n`, 'latin1'), body.subarray(pos, pos + n), Buffer.from('\r\n', 'latin1'));
    pos += n;
  }
  const trailers = opts.trailers && rng.chance(0.5) ? `X-Trailer: ${rng.text(5)}\r\n` : '';
  parts.push(Buffer.from(`0\r\n${trailers}\r\n`, 'latin1'));
  return Buffer.concat(parts);
}

function withLength(d: Draft, body: Buffer): void {
  d.headers.push(['Content-Length', String(body.length)]);
  d.wire = body;
  d.body = body;
}

function withChunked(rng: Rng, d: Draft, body: Buffer, value = 'chunked'): void {
  d.headers.push(['Transfer-Encoding', value]);
  d.wire = chunked(rng, body, { extensions: rng.chance(0.3), trailers: rng.chance(0.3) });
  d.body = body;
}

function insertAt<T>(rng: Rng, items: T[], item: T): void {
  items.splice(rng.int(items.length + 1), 0, item);
}

/** The request kinds, each a way to fill a draft, with its weight. */
const KINDS: ReadonlyArray<readonly [number, string, (rng: Rng, d: Draft, ctx: RequestContext) => void]> = [
  [14, 'plain', (rng, d) => {
    d.method = rng.pick(METHODS_WITHOUT_BODY);
  }],
  [12, 'content-length', (rng, d, ctx) => {
    d.method = rng.pick(METHODS_WITH_BODY);
    withLength(d, randomBody(rng, ctx.maxBody));
  }],
  [3, 'over-limit', (rng, d, ctx) => {
    // A body over --max-body-size (413), declared or chunked: the proxy must not read it, nor stop noticing the
    // connection because of it.
    d.method = rng.pick(['POST', 'PUT']);
    const body = Buffer.from(rng.text(ctx.maxBody + rng.range(1, 8192)), 'latin1');
    if (rng.chance(0.6)) withLength(d, body);
    else withChunked(rng, d, body);
  }],
  [8, 'chunked', (rng, d, ctx) => {
    d.method = rng.pick(METHODS_WITH_BODY);
    withChunked(rng, d, randomBody(rng, ctx.maxBody), rng.pick(['chunked', 'chunked', 'Chunked', 'gzip, chunked', 'chunked ']));
  }],
  [3, 'expect-continue', (rng, d, ctx) => {
    d.method = 'POST';
    d.headers.push(['Expect', '100-continue']);
    if (rng.chance(0.5)) withLength(d, randomBody(rng, ctx.maxBody));
    else withChunked(rng, d, randomBody(rng, ctx.maxBody));
  }],
  [5, 'hop-by-hop', (rng, d, ctx) => {
    d.method = rng.pick(['GET', 'POST']);
    const listed = `X-Hop-${rng.text(3)}`;
    d.headers.push(['Connection', rng.pick(['keep-alive', `keep-alive, ${listed}`, `${listed}, TE`, 'Upgrade'])]);
    d.headers.push([listed, 'must not reach the upstream']);
    for (const [name, value] of [
      ['Keep-Alive', 'timeout=5'],
      ['TE', 'trailers'],
      ['Trailer', 'X-Trailer'],
      ['Upgrade', rng.pick(['websocket', 'h2c'])],
      ['Proxy-Authorization', 'Basic Zm9vOmJhcg=='],
      ['Proxy-Connection', 'keep-alive'],
    ] as const) {
      if (rng.chance(0.4)) d.headers.push([name, value]);
    }
    if (d.method === 'POST') withLength(d, randomBody(rng, ctx.maxBody));
  }],
  [3, 'connection-close', (rng, d) => {
    d.method = rng.pick(['GET', 'HEAD']);
    d.headers.push(['Connection', rng.pick(['close', 'Close', 'keep-alive, close'])]);
  }],
  [3, 'kube-probe', (rng, d) => {
    d.method = 'GET';
    d.headers = d.headers.filter(([n]) => n !== 'User-Agent');
    d.headers.push(['User-Agent', `kube-probe/1.${rng.range(20, 33)}`]);
  }],
  [3, 'forwarded', (rng, d) => {
    d.method = 'GET';
    d.headers.push(['X-Forwarded-For', rng.pick(['1.2.3.4', '1.2.3.4, 5.6.7.8', 'unknown', ''])]);
    if (rng.chance(0.5)) d.headers.push(['X-Forwarded-Proto', rng.pick(['https', 'gopher'])]);
    if (rng.chance(0.5)) d.headers.push(['X-Forwarded-Host', 'evil.example']);
    if (rng.chance(0.3)) d.headers.push(['Forwarded', 'for=1.2.3.4;proto=https']);
  }],
  [2, 'http-1.0', (rng, d) => {
    d.version = 'HTTP/1.0';
    d.method = 'GET';
    if (rng.chance(0.5)) d.headers.push(['Connection', 'keep-alive']);
  }],
  [2, 'absolute-form', (rng, d) => {
    d.method = rng.pick(['GET', 'OPTIONS']);
    d.target = `http://fuzz.local${d.target}`;
  }],
  [3, 'header-flood', (rng, d, ctx) => {
    d.method = rng.pick(['GET', 'POST']);
    const n = rng.pick([200, 999, 1000, 1001, 1500, 2500]);
    for (let i = 0; i < n; i++) d.headers.push([`X-F${i}`, rng.text(rng.range(0, 20))]);
    // The framing header after the flood: a proxy that drops headers past a count loses the body.
    if (d.method === 'POST') withLength(d, randomBody(rng, Math.min(ctx.maxBody, 4096)));
  }],
  [2, 'big-header', (rng, d) => {
    d.method = 'GET';
    d.headers.push(['X-Big', rng.text(rng.pick([16 * 1024, 60 * 1024, 65 * 1024, 70 * 1024]))]);
  }],
  [1, 'long-target', (rng, d) => {
    d.method = 'GET';
    d.target += `?q=${rng.text(rng.pick([8000, 40_000, 70_000]))}`;
  }],
  [3, 'cl-and-te', (rng, d) => {
    d.method = 'POST';
    const body = randomBody(rng, 4096);
    withChunked(rng, d, body);
    insertAt(rng, d.headers, ['Content-Length', String(rng.chance(0.5) ? body.length : d.wire.length)]);
    d.wellFramed = false;
  }],
  [3, 'bad-content-length', (rng, d) => {
    d.method = 'POST';
    const body = Buffer.from(rng.text(rng.range(1, 64)), 'latin1');
    const n = body.length;
    const values = [[`${n}`, `${n + 1}`], [`${n}`, `${n}`], [`+${n}`], [`${n} ${n}`], [`-1`], [`0x${n.toString(16)}`], [`${n}, ${n + 1}`], ['99999999999999999999999'], [`${n}.0`], [`${n}\t`]];
    for (const v of rng.pick(values)) d.headers.push(['Content-Length', v]);
    d.wire = body;
    d.wellFramed = false;
  }],
  [3, 'lying-length', (rng, d) => {
    d.method = 'POST';
    const body = Buffer.from(rng.text(rng.range(1, 300)), 'latin1');
    const declared = rng.chance(0.5) ? body.length + rng.range(1, 100) : rng.range(0, body.length - 1);
    d.headers.push(['Content-Length', String(declared)]);
    // Sometimes what follows the declared length is a whole request of its own (a smuggling attempt).
    d.wire = rng.chance(0.4)
      ? Buffer.concat([body.subarray(0, declared), Buffer.from(`GET /fz/smuggled HTTP/1.1\r\nHost: x\r\n\r\n`, 'latin1')])
      : body;
    d.wellFramed = false;
  }],
  [3, 'bad-transfer-encoding', (rng, d) => {
    d.method = 'POST';
    const body = Buffer.from(rng.text(rng.range(0, 100)), 'latin1');
    const values = [['chunked', 'chunked'], ['chunked, chunked'], ['gzip'], ['identity'], ['xchunked'], ['chunked;q=1'], ['chunked, gzip'], ['chunked', 'gzip'], ['\tchunked'], ['chu nked']];
    for (const v of rng.pick(values)) d.headers.push(['Transfer-Encoding', v]);
    d.wire = chunked(rng, body);
    d.wellFramed = false;
  }],
  [1, 'chunk-extensions', (rng, d) => {
    // Valid by RFC 9112 (whitespace before ';', quoted values) but refused by strict parsers: not counted as
    // well-framed, since a 400 for it is a fair answer.
    d.method = 'POST';
    d.headers.push(['Transfer-Encoding', 'chunked']);
    const ext = rng.pick([' ;y=1', ';name="quoted value"', ';a="b;c"', ';a = b', '\t;t']);
    d.wire = Buffer.from(`5${ext}\r\nhello\r\n0\r\n\r\n`, 'latin1');
    d.wellFramed = false;
  }],
  [3, 'bad-chunks', (rng, d) => {
    d.method = 'POST';
    d.headers.push(['Transfer-Encoding', 'chunked']);
    d.wire = Buffer.from(
      rng.pick([
        'zz\r\nhello\r\n0\r\n\r\n',
        '0x5\r\nhello\r\n0\r\n\r\n',
        '-5\r\nhello\r\n0\r\n\r\n',
        '5 5\r\nhello\r\n0\r\n\r\n',
        'fffffffffffffffff\r\nhello\r\n0\r\n\r\n',
        '5\r\nhelloXX\r\n0\r\n\r\n',
        '5\nhello\n0\n\n',
        '5\r\nhello0\r\n\r\n',
        '5\r\nhello\r\n0\r\n',
        '3\r\nhello\r\n0\r\n\r\n',
        '5;ext="unterminated\r\nhello\r\n0\r\n\r\n',
        '5\r\nhello\r\n0\r\nBad Trailer\r\n\r\n',
        '5\rhello\r\n0\r\n\r\n',
      ]),
      'latin1',
    );
    d.wellFramed = false;
  }],
  [3, 'bad-header-bytes', (rng, d) => {
    d.method = 'GET';
    d.headers.push(
      rng.pick<Header>([
        ['X-Nul', 'a\u0000b'],
        ['X-Cr', 'a\rb'],
        ['X-Lf', 'a\nb'],
        ['X Space', 'v'],
        ['X-Colon ', 'v'],
        ['', 'empty name'],
        ['X-Del', 'a\u007fb'],
        ['X-High', 'caf\u00e9\u00ff'],
        ['X-(paren)', 'v'],
        ['X-Fold', 'first\r\n second'],
        ['Host', 'second.host'],
        ['Content-Length', ''],
      ]),
    );
    d.wellFramed = false;
  }],
  [3, 'bad-request-line', (rng, d) => {
    d.method = 'GET';
    d.raw = Buffer.from(
      rng.pick([
        `GET  ${d.target} HTTP/1.1\r\n`,
        `GET ${d.target} HTTP/1.1 extra\r\n`,
        `GET ${d.target}\r\n`,
        `GET ${d.target} HTTP/2.0\r\n`,
        `GET ${d.target} HTTP/1.2\r\n`,
        `GET ${d.target} http/1.1\r\n`,
        `GeT ${d.target} HTTP/1.1\r\n`,
        `FOO ${d.target} HTTP/1.1\r\n`,
        `CONNECT fuzz.local:443 HTTP/1.1\r\n`,
        `GET ${d.target} HTTP/1.1\n`,
        `\r\n\r\nGET ${d.target} HTTP/1.1\r\n`,
        `GET /a b HTTP/1.1\r\n`,
        `GET /\u0000 HTTP/1.1\r\n`,
        `GET ${d.target}\u00ff HTTP/1.1\r\n`,
        `OPTIONS * HTTP/1.1\r\n`,
        ` GET ${d.target} HTTP/1.1\r\n`,
      ]) +
        d.headers.map(([n, v]) => `${n}: ${v}\r\n`).join('') +
        '\r\n',
      'latin1',
    );
    d.wellFramed = false;
  }],
  [1, 'http2-preface', (_rng, d) => {
    d.raw = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\u0000\u0000\u0012\u0004\u0000\u0000\u0000\u0000\u0000', 'latin1');
    d.wellFramed = false;
  }],
  [2, 'garbage', (rng, d) => {
    d.raw = rng.chance(0.5) ? rng.bytes(rng.size(1, 4096)) : Buffer.from(`${rng.text(rng.range(1, 50), VCHARS)}\r\n\r\n`, 'latin1');
    d.wellFramed = false;
  }],
  [1, 'empty-lines', (rng, d) => {
    d.raw = Buffer.from('\r\n'.repeat(rng.range(1, 5000)), 'latin1');
    d.wellFramed = false;
  }],
];

const TOTAL_WEIGHT = KINDS.reduce((s, [w]) => s + w, 0);

export function buildRequest(rng: Rng, ctx: RequestContext): RequestPlan {
  const token = tokenOf(ctx);
  const d: Draft = {
    kind: '',
    method: 'GET',
    target: `/fz/${token}${rng.chance(0.3) ? `?a=${rng.text(rng.range(0, 30))}` : ''}`,
    version: 'HTTP/1.1',
    headers: baseHeaders(rng),
    wire: Buffer.alloc(0),
    body: Buffer.alloc(0),
    wellFramed: true,
  };
  let r = rng.int(TOTAL_WEIGHT);
  for (const [weight, kind, fill] of KINDS) {
    if (r < weight) {
      d.kind = kind;
      fill(rng, d, ctx);
      break;
    }
    r -= weight;
  }
  if (d.wellFramed && rng.chance(0.1)) {
    // Header order and case do not matter to a server.
    d.headers = d.headers.map(([n, v]) => [rng.chance(0.5) ? n.toLowerCase() : n, v] as const);
    d.headers.reverse();
  }
  let bytes =
    d.raw ??
    Buffer.concat([Buffer.from(`${d.method} ${d.target} ${d.version}\r\n${d.headers.map(([n, v]) => `${n}: ${v}\r\n`).join('')}\r\n`, 'latin1'), d.wire]);
  let kind = d.kind;
  let wellFramed = d.wellFramed;
  if (rng.chance(0.12)) {
    bytes = mutate(rng, bytes);
    kind += '+mutated';
    wellFramed = false;
  }
  return {
    bytes,
    kind,
    wellFramed,
    method: wellFramed ? d.method : undefined,
    token: wellFramed ? token : undefined,
    body: wellFramed ? d.body : undefined,
  };
}

/** Byte-level mutations, one to three: flip a bit, insert a byte, delete one, duplicate a run, insert a line break, change a digit, cut the rest. */
export function mutate(rng: Rng, input: Buffer): Buffer {
  let bytes = Buffer.from(input);
  const times = rng.range(1, 3);
  for (let t = 0; t < times && bytes.length > 0; t++) {
    const at = rng.int(bytes.length);
    let insert: Buffer | undefined;
    switch (rng.int(7)) {
      case 0:
        bytes[at] ^= 1 << rng.int(8);
        break;
      case 1:
        insert = Buffer.from([rng.pick([0, 9, 10, 13, 32, 44, 58, 59, 127, 255, rng.int(256)])]);
        break;
      case 2:
        bytes = Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + 1)]);
        break;
      case 3:
        insert = Buffer.from(bytes.subarray(at, at + rng.size(1, 64)));
        break;
      case 4:
        insert = Buffer.from(rng.pick(['\r\n', '\n', '\r', '\r\n\r\n']), 'latin1');
        break;
      case 5:
        bytes[at] = bytes[at] >= 48 && bytes[at] <= 57 ? 48 + rng.int(10) : rng.pick([48, 57, 45, 43, 32]);
        break;
      default:
        bytes = bytes.subarray(0, at);
        break;
    }
    if (insert !== undefined) bytes = Buffer.concat([bytes.subarray(0, at), insert, bytes.subarray(at)]);
  }
  return bytes;
}

/** A connection's plan: its requests and how they are written and how the connection ends. */
export function buildConnection(rng: Rng, caseIndex: number, connection: number, maxBody: number): ConnectionPlan {
  const count = rng.weighted<number>([[8, 1], [6, 2], [3, 3], [2, 4], [1, 6]]);
  const requests: RequestPlan[] = [];
  for (let index = 0; index < count; index++) requests.push(buildRequest(rng, { caseIndex, connection, index, maxBody }));
  const splits = requests.map((r) => {
    if (!rng.chance(0.3) || r.bytes.length < 2) return [];
    const n = rng.range(1, 4);
    const points = new Set<number>();
    for (let i = 0; i < n; i++) points.add(rng.range(1, r.bytes.length - 1));
    return [...points].sort((a, b) => a - b).map((at) => [at, rng.pick([0, 0, 1, 5, 20])] as const);
  });
  const ending = rng.weighted<Ending>([
    [20, 'keep'],
    [6, 'half-close'],
    [4, 'destroy'],
    [2, 'reset'],
    [3, 'stall'],
  ]);
  const last = requests[requests.length - 1].bytes;
  return {
    requests,
    pacing: rng.chance(0.5) ? 'pipelined' : 'sequential',
    splits,
    ending,
    stallAt: last.length <= 1 ? 0 : rng.range(1, last.length - 1),
    leaveAfterMs: rng.pick([0, 0, 1, 10, 50]),
    neverReads: rng.chance(0.03),
    startDelayMs: rng.pick([0, 0, 0, 2, 10]),
  };
}
