/**
 * Fixtures of the proxy's tests: an upstream that holds every request until the test releases it, a
 * proxy on loopback, an HTTP client that returns everything, and a bounded condition wait. Everything
 * listens on 127.0.0.1 and port 0.
 */
import * as http from 'node:http';
import * as net from 'node:net';
import { configWith, ProxyConfig } from '../../../images/proxy/src/config';
import { Log } from '../../../images/proxy/src/log';
import { RunningProxy, startProxy } from '../../../images/proxy/src/server';

export const LOOPBACK = '127.0.0.1';

/** A request that reached the test upstream, held until `respond` (or `release`). */
export interface HeldRequest {
  readonly req: http.IncomingMessage;
  readonly res: http.ServerResponse;
  /** The whole request body, once it has arrived. */
  readonly body: Promise<Buffer>;
  /** Resolves once the body received so far contains `text` (the rest may still be on its way). */
  bodyContains(text: string): Promise<void>;
  /** Answers `status` with `body` (default 200 with the request's path). */
  respond(status?: number, body?: string | Buffer, headers?: http.OutgoingHttpHeaders): void;
}

/**
 * The user's server in tests: every request waits until the test answers it, so a test decides exactly
 * what is active and when it finishes. `autoRespond` answers at once instead (200, the path as body).
 */
export class TestUpstream {
  public static async start(options: { autoRespond?: boolean; port?: number } = {}): Promise<TestUpstream> {
    const upstream = new TestUpstream(options.autoRespond ?? false);
    await new Promise<void>((resolve, reject) => {
      upstream.server.once('error', reject);
      upstream.server.listen(options.port ?? 0, LOOPBACK, () => resolve());
    });
    return upstream;
  }

  public readonly server: http.Server;
  /** Every request that arrived, in order. */
  public readonly arrived: HeldRequest[] = [];
  /** TCP connections accepted so far. */
  public connections = 0;
  public autoRespond: boolean;
  private readonly waiters: Array<(held: HeldRequest) => void> = [];
  private taken = 0;

  private constructor(autoRespond: boolean) {
    this.autoRespond = autoRespond;
    this.server = http.createServer((req, res) => this.onRequest(req, res));
    this.server.keepAliveTimeout = 60_000;
    this.server.on('connection', () => this.connections++);
  }

  public get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  /** The next request not yet taken, in arrival order (waits for it). */
  public next(): Promise<HeldRequest> {
    if (this.taken < this.arrived.length) return Promise.resolve(this.arrived[this.taken++]);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Answers every request held so far and every later one (200). */
  public releaseAll(): void {
    this.autoRespond = true;
    for (const held of this.arrived) if (!held.res.headersSent && !held.res.destroyed) held.respond();
  }

  public async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private onRequest(req: http.IncomingMessage, res: http.ServerResponse): void {
    const chunks: Buffer[] = [];
    const dataWaiters: Array<() => void> = [];
    const body = new Promise<Buffer>((resolve) => {
      req.on('data', (c: Buffer) => {
        chunks.push(c);
        dataWaiters.splice(0).forEach((w) => w());
      });
      req.on('end', () => resolve(Buffer.concat(chunks)));
      req.on('close', () => resolve(Buffer.concat(chunks)));
    });
    const bodyContains = async (text: string): Promise<void> => {
      while (!Buffer.concat(chunks).toString().includes(text)) await new Promise<void>((resolve) => dataWaiters.push(resolve));
    };
    const held: HeldRequest = {
      req,
      res,
      body,
      bodyContains,
      respond: (status = 200, payload = req.url ?? '', headers = {}) => {
        if (res.headersSent || res.destroyed) return;
        res.writeHead(status, { 'Content-Type': 'text/plain', ...headers });
        res.end(payload);
      },
    };
    this.arrived.push(held);
    if (this.autoRespond) {
      this.taken = Math.max(this.taken, this.arrived.length);
      body.then(() => held.respond());
      return;
    }
    const waiter = this.waiters.shift();
    if (waiter !== undefined) {
      this.taken++;
      waiter(held);
    }
  }
}

/** Log lines captured instead of printed. */
export function capturedLog(): { log: Log; lines: string[] } {
  const lines: string[] = [];
  return { log: new Log((line) => lines.push(line)), lines };
}

/** A proxy on loopback (ports 0) in front of `userPort`; stopped after the test file. */
export async function startTestProxy(userPort: number, overrides: Partial<ProxyConfig> = {}): Promise<RunningProxy & { logLines: string[] }> {
  const { log, lines } = capturedLog();
  const config = configWith({ host: LOOPBACK, port: 0, adminPort: 0, userHost: LOOPBACK, userPort, ...overrides });
  const proxy = await startProxy(config, { log });
  return Object.assign(proxy, { logLines: lines });
}

export interface Reply {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly rawHeaders: string[];
  readonly body: Buffer;
  readonly text: string;
}

export interface SendOptions {
  readonly method?: string;
  readonly path?: string;
  readonly headers?: http.OutgoingHttpHeaders | string[];
  readonly body?: string | Buffer;
  /** A keep-alive agent to reuse connections; by default a fresh connection that closes after. */
  readonly agent?: http.Agent;
}

/** One request; resolves with the whole response. */
export function send(port: number, options: SendOptions = {}): Promise<Reply> {
  const req = open(port, options);
  if (options.body !== undefined) req.write(options.body);
  req.end();
  return replyOf(req);
}

/** A request whose body the test writes itself (`req.write`, `req.end`). */
export function open(port: number, options: SendOptions = {}): http.ClientRequest {
  return http.request({
    host: LOOPBACK,
    port,
    method: options.method ?? 'GET',
    path: options.path ?? '/',
    headers: options.headers,
    agent: options.agent ?? false,
  });
}

/** The whole response to `req`. */
export function replyOf(req: http.ClientRequest): Promise<Reply> {
  return new Promise((resolve, reject) => {
    req.on('error', reject);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, rawHeaders: res.rawHeaders, body, text: body.toString() });
      });
    });
  });
}

/** A GET on the admin port. */
export function admin(proxy: RunningProxy, path: string): Promise<Reply> {
  return send(proxy.adminPort, { path });
}

/** Sends raw bytes on a fresh connection and resolves with everything received until the server closes. */
export function rawExchange(port: number, bytes: string | Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, LOOPBACK, () => socket.write(bytes));
    const chunks: Buffer[] = [];
    socket.on('data', (c) => chunks.push(c));
    socket.on('error', reject);
    socket.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
  });
}

/**
 * Waits until `condition()` holds, re-checking every few milliseconds, for at most `timeoutMs`. For states
 * a test cannot be told about (a request that reached the proxy's queue, a process that exited); never a
 * substitute for an event the test can await.
 */
export async function waitFor(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

/** A port with nothing listening on it (bound, then closed). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, LOOPBACK, () => resolve()));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Whether a TCP connection to `port` is accepted. */
export function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, LOOPBACK);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** A promise with its resolve function outside. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** Parses a Prometheus text exposition into `name{labels}` → value. */
export function parseMetrics(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?) (\S+)$/.exec(line);
    if (match === null) throw new Error(`not a Prometheus sample line: ${JSON.stringify(line)}`);
    samples.set(match[1], Number(match[2]));
  }
  return samples;
}
