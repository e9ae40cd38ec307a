/**
 * The fuzzing user's server: a raw `net` server on 127.0.0.1 that parses what the proxy forwards (strictly:
 * a proxy must forward well-formed, unambiguously framed HTTP/1.1) and answers each request with a random
 * behaviour: valid responses of every framing, bad status lines, bad header lines, odd framing, chunked
 * tricks, short stalls, holds, early closes and resets, extra bytes, interim responses, oversized heads,
 * upgrades, mutated bytes. Stalls and holds are bounded, so every exchange ends on its own.
 *
 * Each response carries `X-Fuzz-Echo: <token>;<body digest>~<check>`: the token of the request it answers
 * (from the request's path) and what body arrived, with a checksum so that a mutated echo is ignored
 * rather than trusted.
 */
import { STATUS_CODES } from 'node:http';
import * as net from 'node:net';
import { mix32, Rng } from './prng';
import { mutate } from './requests';

export type Step =
  | { readonly write: Buffer }
  | { readonly wait: number }
  /** FIN: the connection's end. */
  | { readonly end: true }
  | { readonly reset: true }
  /** Nothing more until the proxy closes (at most HOLD_CAP_MS, then close). */
  | { readonly hold: true };

/** How long a held exchange waits for the proxy to give up before the upstream closes it itself. */
export const HOLD_CAP_MS = 2000;
const MAX_FORWARDED_HEAD = 256 * 1024;

/** A request as it reached the user's server. */
export interface ForwardedRequest {
  readonly method: string;
  readonly target: string;
  readonly token: string | undefined;
  readonly headers: ReadonlyArray<readonly [string, string]>;
}

/** What the upstream saw that breaks an invariant, and notes worth counting. */
export interface UpstreamEvents {
  violation(kind: string, detail: string, bytes: Buffer): void;
  note(kind: string, example: string): void;
}

/** One upstream connection's history, for reproducers. */
export interface UpstreamLog {
  readonly id: number;
  readonly lines: string[];
}

/** One response the upstream played, as data: enough to play it again (`--replay`). */
export interface PlayedResponse {
  readonly connection: number;
  readonly requestLine: string;
  readonly kind: string;
  readonly readFirst: boolean;
  readonly steps: ReadonlyArray<{ write?: string; wait?: number; end?: true; reset?: true; hold?: true }>;
}

export function stepsToData(steps: readonly Step[]): PlayedResponse['steps'] {
  return steps.map((s) => ('write' in s ? { write: s.write.toString('base64') } : s));
}

export function stepsFromData(data: PlayedResponse['steps']): Step[] {
  return data.map((s) => (s.write !== undefined ? { write: Buffer.from(s.write, 'base64') } : (s as Step)));
}

export const HEALTH_TOKEN = 'health';

export function fnv32(bytes: Buffer, hash = 0x811c9dc5): number {
  let h = hash;
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i], 0x01000193) >>> 0;
  return h;
}

function checkOf(text: string): string {
  return fnv32(Buffer.from(text, 'latin1'), 0x12345678).toString(16);
}

/** The echo header's value. `digest`: `<length>.<fnv32>` of the body received, or '-' when not read first. */
export function echoValue(token: string, digest: string): string {
  const payload = `${token};${digest}`;
  return `${payload}~${checkOf(payload)}`;
}

/** The token and body digest of an echo header, or undefined when the value is not a genuine echo. */
export function parseEcho(value: string | undefined): { token: string; digest: string } | undefined {
  if (value === undefined) return undefined;
  const tilde = value.lastIndexOf('~');
  if (tilde === -1) return undefined;
  const payload = value.slice(0, tilde);
  if (checkOf(payload) !== value.slice(tilde + 1)) return undefined;
  const semi = payload.indexOf(';');
  if (semi === -1) return undefined;
  return { token: payload.slice(0, semi), digest: payload.slice(semi + 1) };
}

export function bodyDigest(body: Buffer): string {
  return `${body.length}.${fnv32(body).toString(16)}`;
}

const TOKEN_IN_PATH = /\/fz\/([0-9]+\.[0-9]+\.[0-9]+|health)(?![0-9])/;
const TCHAR = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'upgrade', 'proxy-authorization', 'proxy-authenticate']);

const enum State {
  Head,
  Length,
  ChunkSize,
  ChunkData,
  ChunkDataEnd,
  Trailers,
  Broken,
}

/** The recipe of one response: `readFirst` (read the whole request body first), then `build`. */
interface Recipe {
  readonly kind: string;
  readonly readFirst: boolean;
  build(digest: string): Step[];
}

export class FuzzUpstream {
  public static async start(events: UpstreamEvents): Promise<FuzzUpstream> {
    const upstream = new FuzzUpstream(events);
    await new Promise<void>((resolve, reject) => {
      upstream.server.once('error', reject);
      upstream.server.listen(0, '127.0.0.1', () => resolve());
    });
    return upstream;
  }

  public readonly server: net.Server;
  /** Connections open now. */
  public readonly sockets = new Set<net.Socket>();
  public accepted = 0;
  /** Requests that reached the upstream (health requests included). */
  public requests = 0;
  /** Responses by recipe kind. */
  public readonly kinds = new Map<string, number>();
  /** What each upstream connection received and sent during the current case. */
  private readonly caseLogs = new Map<number, UpstreamLog>();
  /** The responses played during the current case, in order. */
  public played: PlayedResponse[] = [];
  /** Replaying: recorded responses by request line, used in order (instead of recipes). */
  private replay: Map<string, PlayedResponse[]> | undefined;
  /** The tokens of the current case's requests that reached the upstream. */
  public readonly seen = new Set<string>();
  private caseSeed = 0;
  private arrivals = 0;
  /** Arrival numbers whose recipe is replaced by a plain valid response (the shrinker's doing). */
  private plain: ReadonlySet<number> = new Set();

  private constructor(private readonly events: UpstreamEvents) {
    this.server = net.createServer((socket) => this.accept(socket));
  }

  public get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  /** Requests from now on draw their responses from this case's seed, in arrival order. */
  public beginCase(seed: number, plain: ReadonlySet<number> = new Set(), replay?: readonly PlayedResponse[]): void {
    this.caseSeed = seed;
    this.arrivals = 0;
    this.plain = plain;
    this.caseLogs.clear();
    this.played = [];
    this.replay = undefined;
    if (replay !== undefined) {
      this.replay = new Map();
      for (const played of replay) {
        const list = this.replay.get(played.requestLine) ?? [];
        list.push(played);
        this.replay.set(played.requestLine, list);
      }
    }
    this.seen.clear();
  }

  /** The histories of the connections used during the current case (pooled ones from earlier cases too). */
  public get logs(): UpstreamLog[] {
    return [...this.caseLogs.values()];
  }

  /** @internal */
  public logLine(connection: number, line: string): void {
    let log = this.caseLogs.get(connection);
    if (log === undefined) this.caseLogs.set(connection, (log = { id: connection, lines: [] }));
    log.lines.push(line);
  }

  /** Arrivals (non-health requests) in the current case. */
  public get caseArrivals(): number {
    return this.arrivals;
  }

  public async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(socket: net.Socket): void {
    this.accepted++;
    this.sockets.add(socket);
    const id = this.accepted;
    this.logLine(id, 'accepted');
    socket.on('close', () => {
      this.sockets.delete(socket);
      this.logLine(id, 'closed');
    });
    socket.on('error', () => undefined);
    new UpstreamConnection(this, socket, id);
  }

  /** @internal */
  public recipeFor(request: ForwardedRequest, requestLine: string): Recipe {
    this.requests++;
    if (request.token === HEALTH_TOKEN) return healthRecipe(request);
    if (request.token !== undefined) this.seen.add(request.token);
    if (this.replay !== undefined) {
      const recorded = this.replay.get(requestLine)?.shift();
      if (recorded !== undefined) return { kind: `replay ${recorded.kind}`, readFirst: recorded.readFirst, build: () => stepsFromData(recorded.steps) };
      return plainRecipe(request);
    }
    const arrival = this.arrivals++;
    const rng = new Rng(mix32(this.caseSeed, arrival));
    const recipe = this.plain.has(arrival) ? plainRecipe(request) : randomRecipe(rng, request);
    this.kinds.set(recipe.kind, (this.kinds.get(recipe.kind) ?? 0) + 1);
    return recipe;
  }

  /** @internal */
  public violation(kind: string, detail: string, bytes: Buffer): void {
    this.events.violation(kind, detail, bytes);
  }

  /** @internal */
  public note(kind: string, example: string): void {
    this.events.note(kind, example);
  }
}

/** One connection from the proxy: parses its requests in order and plays each one's response. */
class UpstreamConnection {
  private buf: Buffer = Buffer.alloc(0);
  private state = State.Head;
  private remaining = 0;
  private body: Buffer[] = [];
  private bodyLength = 0;
  private bodyDone: (() => void) | undefined;
  private chain: Promise<void> = Promise.resolve();
  private closed = false;
  private readonly closedPromise: Promise<void>;

  constructor(
    private readonly upstream: FuzzUpstream,
    private readonly socket: net.Socket,
    private readonly id: number,
  ) {
    this.closedPromise = new Promise((resolve) => socket.on('close', () => resolve()));
    socket.on('close', () => {
      this.closed = true;
      this.bodyDone?.();
    });
    socket.on('data', (data: Buffer) => this.data(data));
  }

  private data(data: Buffer): void {
    if (this.state === State.Broken) return;
    this.buf = this.buf.length === 0 ? data : Buffer.concat([this.buf, data]);
    let pos = 0;
    const buf = this.buf;
    while (pos < buf.length && !this.isBroken()) {
      if (this.state === State.Head) {
        const end = buf.indexOf('\r\n\r\n', pos, 'latin1');
        if (end === -1) {
          if (buf.length - pos > MAX_FORWARDED_HEAD) this.broken('a forwarded request head over 256 KiB', buf.subarray(pos));
          break;
        }
        const head = buf.subarray(pos, end + 4);
        pos = end + 4;
        this.head(head);
      } else if (this.state === State.Length || this.state === State.ChunkData) {
        const take = Math.min(this.remaining, buf.length - pos);
        this.bodyPiece(buf.subarray(pos, pos + take));
        pos += take;
        this.remaining -= take;
        if (this.remaining === 0) {
          if (this.state === State.Length) this.requestDone();
          else this.state = State.ChunkDataEnd;
        }
      } else {
        const eol = buf.indexOf('\r\n', pos, 'latin1');
        if (eol === -1) {
          if (buf.length - pos > 4096) this.broken('a forwarded chunk-size or trailer line over 4 KiB', buf.subarray(pos));
          break;
        }
        const line = buf.toString('latin1', pos, eol);
        pos = eol + 2;
        this.chunkLine(line, buf.subarray(Math.max(0, pos - 200), pos));
      }
    }
    this.buf = this.isBroken() ? Buffer.alloc(0) : buf.subarray(pos);
  }

  private isBroken(): boolean {
    return this.state === State.Broken;
  }

  private broken(detail: string, bytes: Buffer): void {
    this.state = State.Broken;
    this.upstream.violation('forwarded-malformed', `the proxy forwarded ${detail}`, bytes);
    this.socket.destroy();
  }

  private head(bytes: Buffer): void {
    const text = bytes.toString('latin1', 0, bytes.length - 4);
    const lines = text.split('\r\n');
    const requestLine = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+) ([^\s]+) HTTP\/1\.1$/.exec(lines[0]);
    if (requestLine === null) return this.broken(`an invalid request line ${JSON.stringify(lines[0].slice(0, 200))}`, bytes);
    const headers: Array<readonly [string, string]> = [];
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      const name = line.slice(0, Math.max(colon, 0));
      const value = line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, '');
      if (colon <= 0 || !TCHAR.test(name) || !/^[\t\x20-\x7e\x80-\xff]*$/.test(value)) {
        return this.broken(`an invalid header line ${JSON.stringify(line.slice(0, 200))}`, bytes);
      }
      headers.push([name.toLowerCase(), value]);
    }
    const lengths = headers.filter(([n]) => n === 'content-length').map(([, v]) => v);
    const codings = headers
      .filter(([n]) => n === 'transfer-encoding')
      .flatMap(([, v]) => v.split(','))
      .map((c) => c.trim().toLowerCase());
    if (lengths.length > 0 && codings.length > 0) return this.broken('a request with both Content-Length and Transfer-Encoding', bytes);
    if (new Set(lengths).size > 1) return this.broken(`a request with different Content-Lengths (${lengths.join(', ')})`, bytes);
    if (lengths.length > 1) this.upstream.note('a request forwarded with a repeated Content-Length', lines[0]);
    if (lengths.length > 0 && !/^[0-9]{1,15}$/.test(lengths[0])) return this.broken(`Content-Length ${JSON.stringify(lengths[0])}`, bytes);
    if (codings.length > 0 && codings[codings.length - 1] !== 'chunked') {
      return this.broken(`a request body framed by Transfer-Encoding ${JSON.stringify(codings.join(', '))} (not ending in chunked)`, bytes);
    }
    const listed = headers
      .filter(([n]) => n === 'connection')
      .flatMap(([, v]) => v.split(','))
      .map((t) => t.trim().toLowerCase())
      .filter((t) => t !== '');
    for (const [name] of headers) {
      if (HOP_BY_HOP.has(name) || listed.includes(name)) this.upstream.note(`hop-by-hop request header forwarded: ${name}`, lines[0]);
    }
    const match = TOKEN_IN_PATH.exec(requestLine[2]);
    const request: ForwardedRequest = { method: requestLine[1], target: requestLine[2], token: match?.[1], headers };
    this.upstream.logLine(this.id, `request ${JSON.stringify(lines[0].slice(0, 120))}`);

    this.body = [];
    this.bodyLength = 0;
    const bodyRead = new Promise<void>((resolve) => (this.bodyDone = resolve));
    if (codings.length > 0) this.state = State.ChunkSize;
    else if (lengths.length > 0 && Number(lengths[0]) > 0) {
      this.state = State.Length;
      this.remaining = Number(lengths[0]);
    } else this.requestDone();

    const recipe = this.upstream.recipeFor(request, lines[0]);
    this.chain = this.chain.then(async () => {
      if (recipe.readFirst) await bodyRead;
      if (this.closed) return;
      const digest = recipe.readFirst && !this.closed ? bodyDigest(Buffer.concat(this.body)) : '-';
      const steps = recipe.build(digest);
      this.upstream.logLine(this.id, `  ${recipe.kind}: ${describeSteps(steps)}`);
      this.upstream.played.push({ connection: this.id, requestLine: lines[0], kind: recipe.kind, readFirst: recipe.readFirst, steps: stepsToData(steps) });
      await this.play(steps);
    });
  }

  private chunkLine(line: string, context: Buffer): void {
    switch (this.state) {
      case State.ChunkSize: {
        const match = /^([0-9a-fA-F]{1,15})(?:[ \t]*;.*)?$/.exec(line);
        if (match === null) return this.broken(`an invalid chunk-size line ${JSON.stringify(line.slice(0, 100))}`, context);
        const size = parseInt(match[1], 16);
        if (size === 0) this.state = State.Trailers;
        else {
          this.state = State.ChunkData;
          this.remaining = size;
        }
        return;
      }
      case State.ChunkDataEnd:
        if (line !== '') return this.broken('chunk data longer than its chunk size', context);
        this.state = State.ChunkSize;
        return;
      default:
        if (line === '') this.requestDone();
        else if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+:/.test(line)) this.broken(`an invalid trailer line ${JSON.stringify(line.slice(0, 100))}`, context);
    }
  }

  private bodyPiece(piece: Buffer): void {
    this.bodyLength += piece.length;
    this.body.push(piece);
  }

  private requestDone(): void {
    this.state = State.Head;
    this.bodyDone?.();
    this.bodyDone = undefined;
  }

  private async play(steps: Step[]): Promise<void> {
    const socket = this.socket;
    for (const step of steps) {
      if (this.closed || socket.destroyed) return;
      if ('write' in step) {
        socket.write(step.write);
      } else if ('wait' in step) {
        await Promise.race([delay(step.wait), this.closedPromise]);
      } else if ('end' in step) {
        socket.end();
        return;
      } else if ('reset' in step) {
        socket.resetAndDestroy();
        return;
      } else {
        await Promise.race([delay(HOLD_CAP_MS), this.closedPromise]);
        socket.destroy();
        return;
      }
    }
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

export function describeSteps(steps: readonly Step[]): string {
  return steps
    .map((s) => {
      if ('write' in s) {
        const text = s.write.toString('latin1');
        return `write ${JSON.stringify(text.length > 300 ? `${text.slice(0, 150)}…(${text.length} bytes)…${text.slice(-100)}` : text)}`;
      }
      if ('wait' in s) return `wait ${s.wait}ms`;
      if ('end' in s) return 'end';
      if ('reset' in s) return 'reset';
      return 'hold';
    })
    .join(', ');
}

function healthRecipe(request: ForwardedRequest): Recipe {
  return {
    kind: 'health',
    readFirst: true,
    build: (digest) => {
      const body = '{"ok":true}';
      return [{ write: Buffer.from(`HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Fuzz-Echo: ${echoValue(request.token ?? '', digest)}\r\nContent-Length: ${body.length}\r\n\r\n${body}`, 'latin1') }];
    },
  };
}

/** The parts of a valid response, before a recipe bends them. */
interface Draft {
  statusLine: string;
  headers: string[];
  /** The body bytes as framed on the wire. */
  wire: Buffer;
  /** The response closes the connection after itself (FIN after the last byte). */
  closeAfter: boolean;
  /** Prefix: interim responses. */
  interim: string;
  status: number;
  body: Buffer;
  framing: 'length' | 'chunked' | 'close' | 'none';
}

const STATUSES = [200, 200, 200, 200, 200, 201, 202, 204, 206, 301, 304, 400, 404, 418, 429, 500, 502, 503, 504, 299, 599, 999];

function responseBody(rng: Rng): Buffer {
  const n = rng.chance(0.03) ? rng.range(100_000, 1_000_000) : rng.size(0, 4096);
  return rng.chance(0.15) ? rng.bytes(n) : Buffer.from(rng.text(n), 'latin1');
}

function chunkedWire(rng: Rng, body: Buffer, trailers: boolean): Buffer {
  const parts: Buffer[] = [];
  let pos = 0;
  while (pos < body.length) {
    const n = Math.min(body.length - pos, rng.size(1, 40_000));
    const ext = rng.chance(0.1) ? rng.pick([';a=b', ';q="x;y"', ';z']) : '';
    parts.push(Buffer.from(`${n.toString(16)}${ext}\r\n`, 'latin1'), body.subarray(pos, pos + n), Buffer.from('\r\n', 'latin1'));
    pos += n;
  }
  parts.push(Buffer.from(`0\r\n${trailers ? 'X-Trailer: t\r\nX-Other: u\r\n' : ''}\r\n`, 'latin1'));
  return Buffer.concat(parts);
}

function validDraft(rng: Rng, request: ForwardedRequest, digest: string): Draft {
  const status = rng.pick(STATUSES);
  const standard = STATUS_CODES[status] ?? 'Unknown';
  const reason = rng.weighted<string>([
    [20, ` ${standard}`],
    [2, ' '],
    [1, ''],
    [1, ' Very Good Indeed'],
    [1, ' Caf\u00e9'],
  ]);
  const http10 = rng.chance(0.07);
  const headers = [`Content-Type: ${rng.pick(['text/plain', 'application/json', 'application/octet-stream'])}`];
  headers.push(`X-Fuzz-Echo: ${echoValue(request.token ?? 'none', digest)}`);
  const extras = rng.weighted<number>([[6, 0], [3, 2], [1, 6]]);
  for (let i = 0; i < extras; i++) headers.push(`X-Up-${rng.text(rng.range(1, 8))}: ${rng.text(rng.size(0, 2000))}`);
  if (rng.chance(0.1)) headers.push('Set-Cookie: a=1', 'Set-Cookie: b=2');
  let closeAfter = http10;
  if (rng.chance(0.12)) {
    headers.push(`Connection: ${rng.pick(['close', 'Close', 'close, X-Hop'])}`);
    if (headers[headers.length - 1].includes('X-Hop')) headers.push('X-Hop: upstream hop header');
    closeAfter = true;
  } else if (rng.chance(0.15)) {
    headers.push(`Connection: ${rng.pick(['keep-alive', 'keep-alive, X-Hop'])}`);
    if (headers[headers.length - 1].includes('X-Hop')) headers.push('X-Hop: upstream hop header');
    if (http10) closeAfter = false;
  }
  if (rng.chance(0.08)) headers.push('Keep-Alive: timeout=5, max=100');
  if (rng.chance(0.04)) headers.push('Proxy-Authenticate: Basic realm="x"');
  const body = responseBody(rng);
  const noBody = request.method === 'HEAD' || status === 204 || status === 304;
  let framing: Draft['framing'];
  let wire: Buffer = Buffer.alloc(0);
  if (noBody) {
    framing = 'none';
    if (rng.chance(0.5) && status !== 204) headers.push(`Content-Length: ${body.length}`);
  } else {
    framing = rng.weighted<Draft['framing']>([
      [11, 'length'],
      [6, 'chunked'],
      [3, 'close'],
    ]);
    if (framing === 'chunked' && http10) framing = 'length';
    if (framing === 'length') {
      headers.push(`Content-Length: ${body.length}`);
      wire = body;
    } else if (framing === 'chunked') {
      headers.push(`Transfer-Encoding: ${rng.pick(['chunked', 'chunked', 'Chunked', 'gzip, chunked'])}`);
      wire = chunkedWire(rng, body, rng.chance(0.2));
    } else {
      wire = body;
      closeAfter = true;
    }
  }
  if (rng.chance(0.3)) headers.reverse();
  return {
    statusLine: `HTTP/1.${http10 ? 0 : 1} ${status}${reason}`,
    headers,
    wire,
    closeAfter,
    interim: '',
    status,
    body,
    framing,
  };
}

function draftBytes(d: Draft, lineEnd = '\r\n'): Buffer {
  return Buffer.concat([Buffer.from(`${d.interim}${d.statusLine}${lineEnd}${d.headers.map((h) => `${h}${lineEnd}`).join('')}${lineEnd}`, 'latin1'), d.wire]);
}

/** Splits `bytes` into a few writes with short pauses (and maybe one longer stall). */
function writes(rng: Rng, bytes: Buffer, stallMs = 0): Step[] {
  const cuts = new Set<number>();
  const pieces = rng.weighted<number>([[6, 1], [3, 2], [1, 4]]);
  for (let i = 1; i < pieces && bytes.length > 1; i++) cuts.add(rng.range(1, bytes.length - 1));
  const stallAt = stallMs > 0 ? rng.range(0, bytes.length) : -1;
  if (stallAt > 0 && stallAt < bytes.length) cuts.add(stallAt);
  const points = [0, ...[...cuts].sort((a, b) => a - b), bytes.length];
  const steps: Step[] = [];
  if (stallAt === 0) steps.push({ wait: stallMs });
  for (let i = 0; i + 1 < points.length; i++) {
    if (i > 0) steps.push({ wait: points[i] === stallAt ? stallMs : rng.pick([0, 1, 5, 15]) });
    steps.push({ write: bytes.subarray(points[i], points[i + 1]) });
  }
  return steps;
}

function finish(d: Draft, steps: Step[]): Step[] {
  if (d.closeAfter) steps.push({ end: true });
  return steps;
}

function plainRecipe(request: ForwardedRequest): Recipe {
  return {
    kind: 'plain',
    readFirst: true,
    build: (digest) => {
      const body = Buffer.from('plain', 'latin1');
      return [{ write: Buffer.from(`HTTP/1.1 200 OK\r\nX-Fuzz-Echo: ${echoValue(request.token ?? 'none', digest)}\r\nContent-Length: ${body.length}\r\n\r\nplain`, 'latin1') }];
    },
  };
}

/** The recipes: how a valid draft is bent, with weights. */
const RECIPES: ReadonlyArray<readonly [number, string, (rng: Rng, d: Draft) => Step[]]> = [
  [40, 'valid', (rng, d) => finish(d, writes(rng, draftBytes(d)))],
  [4, 'interim', (rng, d) => {
    d.interim = rng.pick([
      'HTTP/1.1 100 Continue\r\n\r\n',
      'HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n',
      'HTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 100 Continue\r\n\r\n',
      'HTTP/1.1 199 Whatever\r\nX-A: b\r\n\r\n',
    ]);
    return finish(d, writes(rng, draftBytes(d)));
  }],
  [6, 'bad-status', (rng, d) => {
    const code = String(d.status);
    d.statusLine = rng.pick([
      'HTTP/1.1 1e2 OK',
      'HTTP/1.1 20 OK',
      'HTTP/1.1 2000 OK',
      'HTTP/1.1 -20 OK',
      'HTTP/1.1 +20 OK',
      'HTTP/1.1  200 OK',
      'HTTP/1.1 0x1 OK',
      'HTTP/1.1 2OO OK',
      'HTTP/1.1 099 OK',
      'HTTP/1.1 000 OK',
      'HTTP/1.1 abc OK',
      'HTTP/1.1 ',
      'HTTP/1.1',
      `HTTP/1.2 ${code} OK`,
      `HTTP/2 ${code} OK`,
      `HTTP/1.10 ${code} OK`,
      `http/1.1 ${code} OK`,
      `ICY ${code} OK`,
      `HTTP/1.1 ${code}OK`,
      `HTTP/1.1 ${code}\tOK`,
      `HTTP/1.1 ${code} O\u0000K`,
      `HTTP/1.1 ${code} O\rK`,
      `HTTP/1.1 ${code} O\u0001K`,
      ` HTTP/1.1 ${code} OK`,
      `HTTP/1.1 ${code} OK\r\nHTTP/1.1 ${code} OK`,
    ]);
    return finish(d, writes(rng, draftBytes(d)));
  }],
  [6, 'bad-header', (rng, d) => {
    const bad = rng.pick([
      'NoColonHere',
      'X-Space : v',
      ' X-Leading: v',
      'X-Fold: first\r\n second',
      'X-Fold: first\r\n\tsecond',
      'X-Nul: a\u0000b',
      'X-Cr: a\rb',
      'X-Ctl: a\u0001b',
      'X-Del: a\u007fb',
      ': empty name',
      'X(paren): v',
      'X-Lf: a\nb',
      `X-Long: ${'v'.repeat(9000)}`,
    ]);
    d.headers.splice(rng.int(d.headers.length + 1), 0, bad);
    return finish(d, writes(rng, draftBytes(d)));
  }],
  [3, 'bare-lf', (rng, d) => finish(d, writes(rng, draftBytes(d, '\n')))],
  [8, 'odd-framing', (rng, d) => {
    const n = d.body.length;
    d.headers = d.headers.filter((h) => !/^(content-length|transfer-encoding):/i.test(h));
    const variant = rng.int(14);
    d.wire = d.body;
    switch (variant) {
      case 0:
        d.headers.push(`Content-Length: ${n}`, 'Transfer-Encoding: chunked');
        d.wire = chunkedWire(rng, d.body, false);
        break;
      case 1:
        d.headers.push(`Content-Length: ${n}`, `Content-Length: ${n}`);
        break;
      case 2:
        d.headers.push(`Content-Length: ${n}`, `Content-Length: ${n + 1}`);
        break;
      case 3:
        d.headers.push(`Content-Length: ${rng.pick([`+${n}`, `${n},${n}`, `0x${n.toString(16)}`, '-1', '99999999999999999999', `${n}.0`, `${n} ${n}`, ''])}`);
        break;
      case 4:
        d.headers.push(`Content-Length: ${n + rng.range(1, 50)}`);
        d.closeAfter = true;
        break;
      case 5:
        d.headers.push(`Content-Length: ${Math.max(0, n - rng.range(1, 10))}`);
        break;
      case 6:
        d.headers.push(`Transfer-Encoding: ${rng.pick(['gzip', 'identity', 'xchunked', 'chunked, gzip', 'chunkedx'])}`);
        d.closeAfter = true;
        break;
      case 7:
        d.headers.push('Transfer-Encoding: chunked', 'Transfer-Encoding: chunked');
        d.wire = chunkedWire(rng, d.body, false);
        break;
      case 8:
        d.headers.push('Transfer-Encoding: gzip', 'Transfer-Encoding: chunked');
        d.wire = chunkedWire(rng, d.body, false);
        break;
      case 9:
        // No framing at all on a keep-alive response: the body runs to the close.
        d.headers.push('Connection: keep-alive');
        d.closeAfter = rng.chance(0.7);
        break;
      case 10:
        d.headers.push(`Content-Length: ${n}`);
        d.statusLine = 'HTTP/1.1 204 No Content';
        break;
      case 11:
        d.headers.push(`Content-Length: ${n}`);
        d.statusLine = 'HTTP/1.1 304 Not Modified';
        break;
      case 12:
        d.headers.push('Transfer-Encoding: chunked');
        d.wire = chunkedWire(rng, d.body, false);
        d.statusLine = 'HTTP/1.1 204 No Content';
        break;
      default:
        d.headers.push(`Content-Length: ${n}`, 'Transfer-Encoding: identity');
        break;
    }
    return finish(d, writes(rng, draftBytes(d)));
  }],
  [8, 'chunk-tricks', (rng, d) => {
    d.headers = d.headers.filter((h) => !/^(content-length|transfer-encoding):/i.test(h));
    d.headers.push('Transfer-Encoding: chunked');
    const data = d.body.subarray(0, Math.min(d.body.length, 50));
    const n = data.length.toString(16);
    const body = data.toString('latin1');
    d.wire = Buffer.from(
      rng.pick([
        `zz\r\n${body}\r\n0\r\n\r\n`,
        `0x${n}\r\n${body}\r\n0\r\n\r\n`,
        `-${n}\r\n${body}\r\n0\r\n\r\n`,
        ` ${n}\r\n${body}\r\n0\r\n\r\n`,
        `${n} \r\n${body}\r\n0\r\n\r\n`,
        `${n} ;ext\r\n${body}\r\n0\r\n\r\n`,
        `fffffffffffffff\r\n${body}\r\n0\r\n\r\n`,
        `ffffffffffffffffffff\r\n${body}\r\n0\r\n\r\n`,
        `00000000000000000000${n}\r\n${body}\r\n0\r\n\r\n`,
        `${n};a="b;c"\r\n${body}\r\n0\r\n\r\n`,
        `${n}\r\n${body}0\r\n\r\n`,
        `${n}\n${body}\n0\n\n`,
        `${n}\r\n${body}\r\n`,
        `${n}\r\n${body}\r\n0\r\n`,
        `${n}\r\n${body}\r\n0\r\nX-T: 1\r\n\r\n`,
        `${n}\r\n${body}\r\n0\r\nBad Trailer\r\n\r\n`,
        `${n}\r\n${body}XX\r\n0\r\n\r\n`,
        `${(data.length + 5).toString(16)}\r\n${body}\r\n0\r\n\r\n`,
        `${n}\r\n${body}\r\n0\r\n\r\nEXTRA`,
        `${n}\r${body}\r\n0\r\n\r\n`,
        `\r\n${body}\r\n0\r\n\r\n`,
      ]),
      'latin1',
    );
    d.closeAfter = rng.chance(0.5);
    return finish(d, writes(rng, draftBytes(d)));
  }],
  [6, 'stall', (rng, d) => finish(d, writes(rng, draftBytes(d), rng.pick([30, 80, 150, 250, 400])))],
  [5, 'hold', (rng, d) => {
    const bytes = draftBytes(d);
    const upTo = rng.pick([0, rng.int(bytes.length), bytes.length - d.wire.length, bytes.length - Math.floor(d.wire.length / 2)]);
    return [...(upTo > 0 ? writes(rng, bytes.subarray(0, upTo)) : []), { hold: true }];
  }],
  [6, 'early-close', (rng, d) => {
    const bytes = draftBytes(d);
    const upTo = rng.pick([0, rng.int(bytes.length), rng.int(bytes.length), bytes.length - d.wire.length]);
    return [...(upTo > 0 ? writes(rng, bytes.subarray(0, upTo)) : []), rng.chance(0.7) ? { end: true } : { reset: true }];
  }],
  [5, 'extra-bytes', (rng, d) => {
    const junk = Buffer.from(
      rng.pick([
        'HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\njunk',
        'junk after the response',
        '\r\n',
        'HTTP/1.1 500 Internal Server Error\r\nX-Fuzz-Echo: junk\r\n\r\n',
        rng.text(rng.range(1, 3000)),
      ]),
      'latin1',
    );
    const bytes = draftBytes(d);
    // In the same write, or a moment later (then the connection closes: the proxy cannot tell junk from
    // the next response once it has reused the connection, no proxy can).
    if (rng.chance(0.5)) return finish(d, [{ write: Buffer.concat([bytes, junk]) }]);
    return [...writes(rng, bytes), { wait: rng.pick([1, 10]) }, { write: junk }, { end: true }];
  }],
  [2, 'huge-head', (rng, d) => {
    const total = rng.pick([60 * 1024, 63 * 1024, 66 * 1024, 80 * 1024]);
    if (rng.chance(0.5)) d.headers.push(`X-Huge: ${'h'.repeat(total)}`);
    else for (let i = 0; i * 100 < total; i++) d.headers.push(`X-H${i}: ${'h'.repeat(92)}`);
    return finish(d, writes(rng, draftBytes(d)));
  }],
  [1, 'many-headers', (rng, d) => {
    const n = rng.pick([500, 2000, 5000]);
    for (let i = 0; i < n; i++) d.headers.push(`X-M${i}: ${i}`);
    return finish(d, writes(rng, draftBytes(d)));
  }],
  [2, 'upgrade', (rng) => {
    return [{ write: Buffer.from('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\u0081\u0005hello', 'latin1') }, rng.chance(0.5) ? { hold: true } : { end: true }];
  }],
  [2, 'interim-with-body', (rng, d) => {
    d.interim = 'HTTP/1.1 100 Continue\r\nContent-Length: 5\r\n\r\nhello';
    return finish(d, writes(rng, draftBytes(d)));
  }],
  [6, 'mutated', (rng, d) => {
    const bytes = mutate(rng, draftBytes(d));
    // Usually closed after: a mutated response that still parses must not leave its connection half-used.
    return [...writes(rng, bytes), ...(rng.chance(0.8) ? [{ end: true } as const] : [])];
  }],
];

const RECIPE_WEIGHT = RECIPES.reduce((s, [w]) => s + w, 0);

function randomRecipe(rng: Rng, request: ForwardedRequest): Recipe {
  let r = rng.int(RECIPE_WEIGHT);
  let chosen = RECIPES[0];
  for (const recipe of RECIPES) {
    if (r < recipe[0]) {
      chosen = recipe;
      break;
    }
    r -= recipe[0];
  }
  // Now and then the answer starts before the request body has arrived (a server that does not read it).
  const readFirst = !rng.chance(0.1);
  const [, kind, bend] = chosen;
  const buildRng = rng.fork();
  return {
    kind: readFirst ? kind : `${kind}+unread-body`,
    readFirst,
    build: (digest) => bend(buildRng, validDraft(buildRng, request, digest)),
  };
}
