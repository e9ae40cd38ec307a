/**
 * The hostile suite's fixtures: the real `cortex-proxy` as a child process (the compiled
 * `dist/images/proxy/src/main.js`), a raw-socket client that sends exact bytes and collects everything
 * until the connection closes, a recording upstream that counts its open connections, and the checks run
 * after every case (the proxy alive, its in-flight gauge back to 0, no upstream connection leaked).
 *
 * Settings go to the child as environment variables (`CORTEX_PROXY_*`), not flags: the same test run against
 * an older proxy that lacks a setting then fails on the behaviour it checks, not on an unknown flag.
 * Everything listens on 127.0.0.1, port 0.
 */
import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as path from 'node:path';

export const LOOPBACK = '127.0.0.1';
/** The compiled command (`CORTEX_PROXY_MAIN` may name another build of it, e.g. an older one to compare with). */
export const PROXY_MAIN = process.env.CORTEX_PROXY_MAIN ?? path.resolve(__dirname, '../../../../dist/images/proxy/src/main.js');

/** Settings by flag name (`'body-idle-timeout': '200ms'`), passed as CORTEX_PROXY_* variables. */
export type ProxySettings = Record<string, string | number>;

export interface ProxyProcess {
  readonly pid: number;
  readonly port: number;
  readonly adminPort: number;
  readonly child: ChildProcess;
  /** stdout and stderr so far. */
  output(): string;
  alive(): boolean;
  /** Resolves with the exit code (or the signal's name) once the child exited. */
  readonly exited: Promise<number | string>;
  /** SIGKILL, then waits for the exit. */
  stop(): Promise<void>;
}

const started = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of started) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

function envOf(settings: ProxySettings): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH };
  for (const [flag, value] of Object.entries(settings)) env[`CORTEX_PROXY_${flag.toUpperCase().replace(/-/g, '_')}`] = String(value);
  return env;
}

/** Starts `cortex-proxy` in front of `userPort`; resolves once it listens. */
export async function startProxyProcess(userPort: number, settings: ProxySettings = {}): Promise<ProxyProcess> {
  if (!fs.existsSync(PROXY_MAIN)) throw new Error(`${PROXY_MAIN} is missing: run \`npm run build\` (npm test does)`);
  const env = envOf({ host: LOOPBACK, port: 0, 'admin-port': 0, 'user-port': userPort, ...settings });
  const child = spawn(process.execPath, [PROXY_MAIN], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  started.add(child);
  let output = '';
  const waiters: Array<() => void> = [];
  const collect = (d: Buffer): void => {
    output += d.toString();
    waiters.splice(0).forEach((w) => w());
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const exited = new Promise<number | string>((resolve) =>
    child.on('exit', (code, signal) => {
      started.delete(child);
      waiters.splice(0).forEach((w) => w());
      resolve(code ?? signal ?? 'unknown');
    }),
  );
  let match: RegExpExecArray | null = null;
  while ((match = /listening on 127\.0\.0\.1:(\d+) \(admin 127\.0\.0\.1:(\d+)\)/.exec(output)) === null) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`cortex-proxy exited before listening:\n${output}`);
    await new Promise<void>((resolve) => waiters.push(resolve));
  }
  const [, port, adminPort] = match;
  return {
    pid: child.pid as number,
    port: Number(port),
    adminPort: Number(adminPort),
    child,
    output: () => output,
    alive: () => child.exitCode === null && child.signalCode === null,
    exited,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

/** A GET on the proxy's admin port: the body. */
export function adminGet(proxy: ProxyProcess, urlPath: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: LOOPBACK, port: proxy.adminPort, path: urlPath, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve(Buffer.concat(chunks).toString()));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

/** The proxy's metrics, `name{labels}` → value. */
export async function scrape(proxy: ProxyProcess): Promise<Map<string, number>> {
  const samples = new Map<string, number>();
  for (const line of (await adminGet(proxy, '/metrics')).split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?) (\S+)$/.exec(line);
    if (match !== null) samples.set(match[1], Number(match[2]));
  }
  return samples;
}

/** `cortex_requests_total{code="<code>"}` (0 when absent). */
export async function requestsAnswered(proxy: ProxyProcess, code: number): Promise<number> {
  return (await scrape(proxy)).get(`cortex_requests_total{code="${code}"}`) ?? 0;
}

/** The child's resident memory now and at its peak, in bytes (Linux: /proc/PID/status). */
export function residentMemory(pid: number): { rss: number; peak: number } {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string): number => {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(status);
    if (match === null) throw new Error(`no ${field} in /proc/${pid}/status`);
    return Number(match[1]) * 1024;
  };
  return { rss: kb('VmRSS'), peak: kb('VmHWM') };
}

/** Polls an asynchronous condition (for states only observable from outside the child), at most `timeoutMs`. */
export async function until(condition: () => Promise<boolean> | boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** How a raw connection ended. */
export interface RawResult {
  /** Every byte received. */
  readonly data: Buffer;
  /** `data` as latin1 text. */
  readonly text: string;
  /** The server closed cleanly (FIN) rather than resetting. */
  readonly ended: boolean;
  /** The socket error's code (ECONNRESET, EPIPE), if there was one. */
  readonly error: string | undefined;
}

/** A client on a raw TCP connection: exact bytes out, everything in, until the connection closes. */
export class RawClient {
  /**
   * @param keepWriting go on writing after the server's FIN (as clients that upload first and read after do);
   *   by default Node ends the client's side too when the server ends its own
   */
  public static connect(port: number, options: { keepWriting?: boolean } = {}): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ port, host: LOOPBACK, allowHalfOpen: options.keepWriting === true });
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.removeListener('error', reject);
        resolve(new RawClient(socket));
      });
    });
  }

  public readonly socket: net.Socket;
  private readonly chunks: Buffer[] = [];
  private receivedBytes = 0;
  private ended = false;
  private errorCode: string | undefined;
  private readonly waiters: Array<() => void> = [];
  public readonly closed: Promise<RawResult>;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on('data', (c: Buffer) => {
      this.chunks.push(c);
      this.receivedBytes += c.length;
      this.wake();
    });
    socket.on('end', () => {
      this.ended = true;
      this.wake();
    });
    socket.on('error', (e: NodeJS.ErrnoException) => {
      this.errorCode ??= e.code ?? e.message;
    });
    this.closed = new Promise((resolve) =>
      socket.on('close', () => {
        this.wake();
        resolve(this.result());
      }),
    );
  }

  /** Bytes received so far. */
  public get received(): Buffer {
    return Buffer.concat(this.chunks);
  }

  public get text(): string {
    return this.received.toString('latin1');
  }

  public get isClosed(): boolean {
    return this.socket.destroyed;
  }

  /** Writes `bytes`; resolves once they are handed to the kernel (rejects if the connection broke). */
  public write(bytes: string | Buffer): Promise<void> {
    return new Promise((resolve, reject) => {
      this.socket.write(typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes, (error) => (error ? reject(error) : resolve()));
    });
  }

  /** Half-closes: FIN, reading goes on. */
  public end(): void {
    this.socket.end();
  }

  /** Resolves once `condition` holds for what was received (or rejects when the connection closed first or at `timeoutMs`). */
  public async waitFor(condition: string | RegExp | ((text: string) => boolean), timeoutMs = 5000): Promise<string> {
    const test =
      typeof condition === 'string' ? (t: string) => t.includes(condition) : condition instanceof RegExp ? (t: string) => condition.test(t) : condition;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const text = this.text;
      if (test(text)) return text;
      if (this.socket.destroyed) throw new Error(`connection closed before ${String(condition)}; received: ${JSON.stringify(text.slice(0, 500))}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${String(condition)}; received: ${JSON.stringify(text.slice(0, 500))}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Resolves once the server closed the connection, or rejects after `timeoutMs`. */
  public closedWithin(timeoutMs: number): Promise<RawResult> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the connection stayed open for ${timeoutMs} ms; received: ${JSON.stringify(this.text.slice(0, 300))}`)), timeoutMs);
      void this.closed.then((result) => {
        clearTimeout(timer);
        resolve(result);
      });
    });
  }

  public destroy(): void {
    this.socket.destroy();
  }

  private result(): RawResult {
    const data = this.received;
    return { data, text: data.toString('latin1'), ended: this.ended, error: this.errorCode };
  }

  private wake(): void {
    this.waiters.splice(0).forEach((w) => w());
  }
}

/** Sends `bytes` on a fresh connection (then half-closes, with `halfClose`) and resolves once the server closed it. */
export async function rawExchange(port: number, bytes: string | Buffer, options: { halfClose?: boolean; timeoutMs?: number } = {}): Promise<RawResult> {
  const client = await RawClient.connect(port);
  client.write(bytes).catch(() => undefined);
  if (options.halfClose === true) client.end();
  try {
    return await client.closedWithin(options.timeoutMs ?? 5000);
  } finally {
    client.destroy();
  }
}

/** One HTTP response out of a raw byte stream. */
export interface ParsedResponse {
  readonly status: number;
  readonly reason: string;
  /** Header lines as received, in order. */
  readonly headers: ReadonlyArray<readonly [string, string]>;
  readonly body: Buffer;
  /** The first header of that name (case-insensitive). */
  header(name: string): string | undefined;
}

/**
 * Splits raw bytes into the HTTP/1.1 responses they hold (bodies by Content-Length or chunked; none for
 * 1xx, 204, 304 and responses to HEAD is not handled). `rest`: bytes after the last complete response.
 */
export function parseResponses(data: Buffer): { responses: ParsedResponse[]; rest: Buffer } {
  const responses: ParsedResponse[] = [];
  let pos = 0;
  for (;;) {
    const headEnd = data.indexOf('\r\n\r\n', pos, 'latin1');
    if (headEnd === -1) break;
    const lines = data.toString('latin1', pos, headEnd).split('\r\n');
    const status = /^HTTP\/1\.[01] (\d{3}) ?(.*)$/.exec(lines[0]);
    if (status === null) throw new Error(`not a status line: ${JSON.stringify(lines[0])}`);
    const headers = lines.slice(1).map((line): [string, string] => {
      const colon = line.indexOf(':');
      return [line.slice(0, colon), line.slice(colon + 1).trim()];
    });
    const header = (name: string): string | undefined => headers.find(([n]) => n.toLowerCase() === name.toLowerCase())?.[1];
    let bodyStart = headEnd + 4;
    let body: Buffer;
    const code = Number(status[1]);
    if (code < 200 || code === 204 || code === 304) {
      body = Buffer.alloc(0);
    } else if (header('transfer-encoding')?.toLowerCase() === 'chunked') {
      const pieces: Buffer[] = [];
      let complete = false;
      for (;;) {
        const lineEnd = data.indexOf('\r\n', bodyStart, 'latin1');
        if (lineEnd === -1) break;
        const size = parseInt(data.toString('latin1', bodyStart, lineEnd), 16);
        if (size === 0) {
          const trailerEnd = data.indexOf('\r\n\r\n', lineEnd, 'latin1');
          if (trailerEnd === -1) break;
          bodyStart = trailerEnd + 4;
          complete = true;
          break;
        }
        if (lineEnd + 2 + size + 2 > data.length) break;
        pieces.push(data.subarray(lineEnd + 2, lineEnd + 2 + size));
        bodyStart = lineEnd + 2 + size + 2;
      }
      if (!complete) break;
      body = Buffer.concat(pieces);
    } else {
      const length = Number(header('content-length') ?? NaN);
      if (Number.isNaN(length)) {
        body = data.subarray(bodyStart);
        bodyStart = data.length;
      } else {
        if (bodyStart + length > data.length) break;
        body = data.subarray(bodyStart, bodyStart + length);
        bodyStart += length;
      }
    }
    responses.push({ status: code, reason: status[2], headers, body, header });
    pos = bodyStart;
  }
  return { responses, rest: data.subarray(pos) };
}

/** The statuses of the complete responses in `data`. */
export function statusesOf(data: Buffer): number[] {
  return parseResponses(data).responses.map((r) => r.status);
}

/** A request as the upstream received it. */
export interface UpstreamRequest {
  readonly req: http.IncomingMessage;
  readonly res: http.ServerResponse;
  readonly method: string;
  readonly url: string;
  /** Header lines as received, in order. */
  readonly rawHeaders: readonly string[];
  /** The first header of that name (case-insensitive). */
  header(name: string): string | undefined;
  /** Every header of that name. */
  headers(name: string): string[];
  /**
   * The whole body, once it arrived (what arrived, if the request broke off). Collected from its first use:
   * use it at once (as `echo` does), or read `req` yourself.
   */
  readonly body: Promise<Buffer>;
}

export type UpstreamBehaviour = (request: UpstreamRequest) => void;

/** Answers 200 with a JSON summary of the request once its body arrived. */
export const echo: UpstreamBehaviour = (request) => {
  void request.body.then((body) => {
    if (request.res.destroyed) return;
    const summary = JSON.stringify({ method: request.method, url: request.url, rawHeaders: request.rawHeaders, bodyLength: body.length });
    request.res.writeHead(200, { 'Content-Type': 'application/json' }).end(summary);
  });
};

/**
 * The user's server in the hostile suite: records every request and counts its open connections. What it
 * answers is `behaviour` (the default echoes; a test may replace it).
 */
export class RecordingUpstream {
  public static async start(behaviour: UpstreamBehaviour = echo): Promise<RecordingUpstream> {
    const upstream = new RecordingUpstream(behaviour);
    await new Promise<void>((resolve, reject) => {
      upstream.server.once('error', reject);
      upstream.server.listen(0, LOOPBACK, () => resolve());
    });
    return upstream;
  }

  public readonly server: http.Server;
  public readonly requests: UpstreamRequest[] = [];
  public behaviour: UpstreamBehaviour;
  private readonly sockets = new Set<net.Socket>();
  private readonly waiters: Array<() => void> = [];

  private constructor(behaviour: UpstreamBehaviour) {
    this.behaviour = behaviour;
    // Heads as large as the proxy forwards (its own limit is 64 KiB; Node's default 16 KiB would answer 431 itself,
    // and Node 22 counts some bytes per header line more than Node 20 does).
    this.server = http.createServer({ requestTimeout: 0, keepAliveTimeout: 600_000, maxHeaderSize: 256 * 1024 }, (req, res) =>
      this.onRequest(req, res),
    );
    this.server.on('connection', (socket: net.Socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
  }

  public get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  /** Connections open now. */
  public get openConnections(): number {
    return this.sockets.size;
  }

  /** Resolves once `count` requests arrived in all. */
  public async received(count: number, timeoutMs = 5000): Promise<UpstreamRequest> {
    const deadline = Date.now() + timeoutMs;
    while (this.requests.length < count) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for request ${count} at the upstream (${this.requests.length} arrived)`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.requests[count - 1];
  }

  /** Forgets the requests so far (between cases). */
  public reset(behaviour: UpstreamBehaviour = echo): void {
    this.requests.length = 0;
    this.behaviour = behaviour;
  }

  public async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private onRequest(req: http.IncomingMessage, res: http.ServerResponse): void {
    // Collected from the first use of `body` only: a behaviour that reads the body itself (a 1 GiB one) keeps none.
    let body: Promise<Buffer> | undefined;
    const collectBody = (): Promise<Buffer> =>
      (body ??= new Promise<Buffer>((resolve) => {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => resolve(Buffer.concat(chunks)));
        req.on('close', () => resolve(Buffer.concat(chunks)));
      }));
    res.on('error', () => undefined);
    const raw = req.rawHeaders;
    const all = (name: string): string[] => headersNamed(raw, name);
    const request: UpstreamRequest = {
      req,
      res,
      method: req.method ?? '',
      url: req.url ?? '',
      rawHeaders: raw,
      header: (name) => all(name)[0],
      headers: all,
      get body() {
        return collectBody();
      },
    };
    this.requests.push(request);
    this.waiters.splice(0).forEach((w) => w());
    this.behaviour(request);
  }
}

function headersNamed(raw: readonly string[], name: string): string[] {
  const values: string[] = [];
  for (let i = 0; i < raw.length; i += 2) if (raw[i].toLowerCase() === name.toLowerCase()) values.push(raw[i + 1]);
  return values;
}

/**
 * The invariants after every hostile case: the proxy process is alive, its in-flight gauge is back to 0, and
 * the upstream holds no more connections than the proxy's pool may keep idle (`maxIdle`, its max concurrency).
 */
export async function expectHealthy(proxy: ProxyProcess, upstream: RecordingUpstream | null, maxIdle = 1): Promise<void> {
  if (!proxy.alive()) throw new Error(`cortex-proxy died (${String(await proxy.exited)}):\n${proxy.output().slice(-3000)}`);
  let inFlight = NaN;
  await until(async () => (inFlight = (await scrape(proxy)).get('cortex_in_flight_requests') ?? NaN) === 0, 'cortex_in_flight_requests to be 0', 5000).catch(
    (error: Error) => {
      throw new Error(`${error.message} (last: ${inFlight})`);
    },
  );
  if (upstream !== null) {
    await until(() => upstream.openConnections <= maxIdle, `the upstream's open connections (${upstream.openConnections}) to drop to ${maxIdle}`, 5000);
  }
  if (!proxy.alive()) throw new Error(`cortex-proxy died (${String(await proxy.exited)}):\n${proxy.output().slice(-3000)}`);
}

/**
 * One proxy child and its recording upstream for a test file: `reset()` before each case (a fresh upstream
 * behaviour, and a new proxy if a case killed the old one, so that each case is judged on its own), `check()`
 * after each case, `stop()` after all.
 */
export class HostileFixture {
  public static async start(settings: ProxySettings, behaviour: UpstreamBehaviour = echo): Promise<HostileFixture> {
    const upstream = await RecordingUpstream.start(behaviour);
    const proxy = await startProxyProcess(upstream.port, settings);
    return new HostileFixture(settings, upstream, proxy);
  }

  private constructor(
    private readonly settings: ProxySettings,
    public readonly upstream: RecordingUpstream,
    public proxy: ProxyProcess,
  ) {}

  /** The pool's idle limit: the max concurrency. */
  public get maxIdle(): number {
    return Number(this.settings['max-concurrency'] ?? 1);
  }

  public async reset(behaviour: UpstreamBehaviour = echo): Promise<void> {
    this.upstream.reset(behaviour);
    if (!this.proxy.alive()) this.proxy = await startProxyProcess(this.upstream.port, this.settings);
  }

  public check(): Promise<void> {
    return expectHealthy(this.proxy, this.upstream, this.maxIdle);
  }

  public async stop(): Promise<void> {
    await this.proxy.stop();
    await this.upstream.close();
  }
}

/** What a raw exchange produced: the complete responses, the bytes, how the connection ended (if it did). */
export interface Collected {
  readonly responses: ParsedResponse[];
  readonly statuses: number[];
  readonly text: string;
  /** The proxy closed the connection (within the wait). */
  readonly closed: boolean;
}

/**
 * Sends `bytes` on a fresh connection and collects until `responses` complete responses arrived or the
 * proxy closed the connection (at most `timeoutMs`); then closes the connection.
 */
export async function collect(port: number, bytes: string | Buffer, responses = 1, timeoutMs = 5000): Promise<Collected> {
  const client = await RawClient.connect(port);
  try {
    client.write(bytes).catch(() => undefined);
    await client
      .waitFor(() => parseResponses(client.received).responses.length >= responses, timeoutMs)
      .catch((error: Error) => {
        if (!client.isClosed) throw error;
      });
    let parsed = parseResponses(client.received).responses;
    // A response that announces the close: the close must follow.
    if (parsed.length > 0 && /close/i.test(parsed[parsed.length - 1].header('connection') ?? '')) {
      await client.closedWithin(timeoutMs);
      parsed = parseResponses(client.received).responses;
    }
    return { responses: parsed, statuses: parsed.map((r) => r.status), text: client.text, closed: client.isClosed };
  } finally {
    client.destroy();
  }
}
