/**
 * The request path: admission through the breaker, then a streaming reverse proxy to the user's server
 * over a keep-alive pool (`upstream.ts`), with the proxy's own answers as small JSON bodies: 503 queue
 * full or queue timeout, 503 user server refusing connections, 502 user server failing mid-exchange,
 * 504 user server too slow to start its response, 413 body too large.
 *
 * The hot path allocates one {@link Exchange} per request and no closures: event listeners are
 * module-level functions that find their exchange through a symbol on the emitter.
 */
import type * as http from 'node:http';
import { performance } from 'node:perf_hooks';
import { Breaker, BreakerWaiter } from './breaker';
import { Log } from './log';
import { CLIENT_CLOSED_REQUEST, Metrics } from './metrics';
import { BodyFraming, listedHeaderNames, UpstreamConnection, UpstreamListener, UpstreamPool } from './upstream';

export interface ProxyHandlerOptions {
  readonly userHost: string;
  readonly userPort: number;
  readonly queueTimeoutMs: number;
  readonly upstreamTimeoutMs: number;
  readonly maxBodyBytes: number;
  readonly breaker: Breaker;
  readonly metrics: Metrics;
  readonly log: Log;
}

/** The User-Agent prefix of the kubelet's HTTP probes: they bypass the breaker and the metrics. */
export const KUBE_PROBE_PREFIX = 'kube-probe/';

const kExchange = Symbol('cortex.exchange');
type Carrier = { [kExchange]?: Exchange };

function json(error: string, message: string): Buffer {
  return Buffer.from(JSON.stringify({ error, message }) + '\n');
}

/** The proxy's own answers, encoded once. */
interface Answers {
  readonly queueFull: Buffer;
  readonly queueTimeout: Buffer;
  readonly upstreamRefused: Buffer;
  readonly upstreamFailed: Buffer;
  readonly upstreamTimeout: Buffer;
  readonly bodyTooLarge: Buffer;
}

export class ProxyHandler {
  /** Keep-alive connections to the user's server; as many stay idle as may ever be busy at once. */
  public readonly pool: UpstreamPool;
  /** @internal */ public readonly options: ProxyHandlerOptions;
  /** @internal */ public readonly answers: Answers;
  /** @internal */ public readonly userAuthority: string;
  private openExchanges = 0;
  private isDraining = false;
  private idleWaiters: Array<() => void> = [];

  constructor(options: ProxyHandlerOptions) {
    this.options = options;
    const { breaker, userHost, userPort, maxBodyBytes } = options;
    this.userAuthority = `${userHost.includes(':') ? `[${userHost}]` : userHost}:${userPort}`;
    // Probes bypass the breaker: a couple more connections than the limit may be busy.
    this.pool = new UpstreamPool(userHost, userPort, breaker.maxConcurrency + 2);
    this.answers = {
      queueFull: json(
        'queue_full',
        `the API's queue is full (max_concurrency ${breaker.maxConcurrency}, max_queue_length ${breaker.maxQueueLength}): retry later`,
      ),
      queueTimeout: json('queue_timeout', `the request waited ${options.queueTimeoutMs} ms in the queue without getting a slot`),
      upstreamRefused: json(
        'upstream_unavailable',
        `the API's server (${this.userAuthority}) refused the connection: it is not running, or not listening yet`,
      ),
      upstreamFailed: json('upstream_failed', `the API's server (${this.userAuthority}) closed the connection without a complete response`),
      upstreamTimeout: json('upstream_timeout', `the API's server (${this.userAuthority}) did not start its response within ${options.upstreamTimeoutMs} ms`),
      bodyTooLarge: json('body_too_large', `the request body is larger than ${maxBodyBytes} bytes`),
    };
  }

  /** The request listener of the proxy's server. */
  public readonly handle = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    this.openExchanges++;
    new Exchange(this, req, res).start();
  };

  /** Requests received and not yet finished (probes included). */
  public get open(): number {
    return this.openExchanges;
  }

  public get draining(): boolean {
    return this.isDraining;
  }

  /** From now on every response closes its connection. */
  public startDraining(): void {
    this.isDraining = true;
  }

  /** Resolves once no request is open. */
  public whenIdle(): Promise<void> {
    if (this.openExchanges === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** @internal */
  public exchangeFinished(): void {
    this.openExchanges--;
    if (this.openExchanges === 0 && this.idleWaiters.length > 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const resolve of waiters) resolve();
    }
  }
}

/** One request through the proxy, from its arrival to the end of its response. */
class Exchange extends BreakerWaiter implements UpstreamListener {
  private readonly handler: ProxyHandler;
  private readonly req: http.IncomingMessage;
  private readonly res: http.ServerResponse;
  private readonly startedAt = performance.now();
  private head = '';
  private framing = BodyFraming.None;
  private probe = false;
  private holdsSlot = false;
  private done = false;
  private retried = false;
  private listening = false;
  private awaitingDrain = false;
  private bodyBytes = 0;
  private timer: NodeJS.Timeout | null = null;
  /** The connection while the exchange with the user's server is under way. */
  private upstream: UpstreamConnection | null = null;

  constructor(handler: ProxyHandler, req: http.IncomingMessage, res: http.ServerResponse) {
    super();
    this.handler = handler;
    this.req = req;
    this.res = res;
  }

  public start(): void {
    const { res, handler } = this;
    (res as Carrier)[kExchange] = this;
    res.on('close', onResponseClose);
    const declaredLength = this.readRequest();
    if (declaredLength > handler.options.maxBodyBytes) {
      // Do not read a body that is refused anyway: answer, and close the connection.
      this.reply(413, handler.answers.bodyTooLarge, true);
      return;
    }
    if (this.probe) {
      this.forward();
      return;
    }
    switch (handler.options.breaker.enter(this)) {
      case 'active':
        this.holdsSlot = true;
        this.forward();
        break;
      case 'queued':
        this.timer = setTimeout(onQueueTimeout, handler.options.queueTimeoutMs, this);
        break;
      case 'rejected':
        this.reply(503, handler.answers.queueFull, false);
        break;
    }
  }

  /** Out of the queue, into a slot. */
  public admit(): void {
    this.holdsSlot = true;
    this.clearTimer();
    this.forward();
  }

  /**
   * Builds the request head sent upstream, once: the client's request line and headers, hop-by-hop
   * headers dropped, X-Forwarded-For/-Proto/-Host set. Returns the declared Content-Length (-1: none).
   */
  private readRequest(): number {
    const { req, handler } = this;
    const raw = req.rawHeaders;
    let headers = '';
    let forwardedFor: string | undefined;
    let hasProto = false;
    let hasForwardedHost = false;
    let host: string | undefined;
    let connection: string | undefined;
    let contentLength = -1;
    let chunked = false;
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i];
      const value = raw[i + 1];
      // Lower-case a name only when its length can match: most headers are passed on by length alone.
      switch (name.length) {
        case 2:
          if (name.toLowerCase() === 'te') continue;
          break;
        case 4:
          if (name.toLowerCase() === 'host') host = value;
          break;
        case 6:
          // Node's server already told the client to go on; the upstream gets the body without asking.
          if (name.toLowerCase() === 'expect') continue;
          break;
        case 7: {
          const lower = name.toLowerCase();
          if (lower === 'upgrade' || lower === 'trailer') continue;
          break;
        }
        case 10: {
          const lower = name.toLowerCase();
          if (lower === 'connection') {
            connection = connection === undefined ? value : `${connection},${value}`;
            continue;
          }
          if (lower === 'keep-alive') continue;
          if (lower === 'user-agent' && value.startsWith(KUBE_PROBE_PREFIX)) this.probe = true;
          break;
        }
        case 14:
          if (name.toLowerCase() === 'content-length') contentLength = Number(value);
          break;
        case 15:
          if (name.toLowerCase() === 'x-forwarded-for') {
            forwardedFor = forwardedFor === undefined ? value : `${forwardedFor}, ${value}`;
            continue;
          }
          break;
        case 16: {
          const lower = name.toLowerCase();
          if (lower === 'proxy-connection') continue;
          if (lower === 'x-forwarded-host') hasForwardedHost = true;
          break;
        }
        case 17: {
          const lower = name.toLowerCase();
          // Kept: the body is sent on chunked, as it came (its other codings included).
          if (lower === 'transfer-encoding') chunked = true;
          else if (lower === 'x-forwarded-proto') hasProto = true;
          break;
        }
      }
      headers += `${name}: ${value}\r\n`;
    }
    if (connection !== undefined) headers = withoutListedHeaders(headers, connection);
    let client = req.socket.remoteAddress ?? '';
    // Listening on every interface means IPv6 with IPv4-mapped addresses: pass on the IPv4 form.
    if (client.startsWith('::ffff:') && client.includes('.')) client = client.slice(7);
    headers += `X-Forwarded-For: ${forwardedFor === undefined ? client : `${forwardedFor}, ${client}`}\r\n`;
    if (!hasProto) headers += 'X-Forwarded-Proto: http\r\n';
    if (host === undefined) headers += `Host: ${handler.userAuthority}\r\n`;
    else if (!hasForwardedHost) headers += `X-Forwarded-Host: ${host}\r\n`;
    this.head = `${req.method} ${req.url} HTTP/1.1\r\n${headers}`;
    this.framing = chunked ? BodyFraming.Chunked : contentLength > 0 ? BodyFraming.Length : BodyFraming.None;
    return chunked ? -1 : contentLength;
  }

  /** Sends the request to the user's server; the body streams as it arrives. */
  private forward(): void {
    const { handler, req } = this;
    const upstream = handler.pool.acquire();
    this.upstream = upstream;
    this.timer = setTimeout(onUpstreamTimeout, handler.options.upstreamTimeoutMs, this);
    if (this.framing === BodyFraming.None) {
      upstream.request(this, req.method as string, this.head, BodyFraming.None);
      return;
    }
    // The head and the body's first bytes (usually already read) leave in one write.
    upstream.cork();
    upstream.request(this, req.method as string, this.head, this.framing);
    process.nextTick(uncorkUpstream, upstream);
    if (this.listening) return;
    this.listening = true;
    (req as Carrier)[kExchange] = this;
    req.on('data', onRequestData);
    req.on('end', onRequestEnd);
    req.on('error', onRequestError);
  }

  /** @internal a piece of the request body */
  public requestData(chunk: Buffer): void {
    if (this.done) return;
    this.bodyBytes += chunk.length;
    if (this.bodyBytes > this.handler.options.maxBodyBytes) {
      // Only a chunked body can get here (a declared length is checked up front).
      this.req.removeListener('data', onRequestData);
      this.req.pause();
      this.abortUpstream();
      if (!this.res.headersSent) this.reply(413, this.handler.answers.bodyTooLarge, true);
      else this.res.destroy();
      return;
    }
    if (this.upstream !== null && !this.upstream.write(chunk)) this.req.pause();
  }

  /** @internal */
  public requestEnded(): void {
    this.upstream?.end();
  }

  /** @internal the client's connection broke mid-body */
  public requestFailed(): void {
    this.abortUpstream();
  }

  public upstreamDrain(): void {
    if (!this.done) this.req.resume();
  }

  public upstreamHead(status: number, reason: string, headers: string[]): void {
    this.clearTimer();
    if (this.handler.draining) headers.push('Connection', 'close');
    try {
      // No reason phrase from the user's server: Node's standard one.
      this.res.writeHead(status, reason === '' ? undefined : reason, headers);
    } catch {
      // A header Node refuses to send (an invalid character): the response is unusable.
      this.abortUpstream();
      this.upstreamFailedWith(502, 'invalid response headers');
    }
  }

  public upstreamBody(chunk: Buffer): boolean {
    if (this.res.write(chunk)) return true;
    if (!this.awaitingDrain) {
      this.awaitingDrain = true;
      this.res.on('drain', onResponseDrain);
    }
    return false;
  }

  public upstreamEnd(last: Buffer | undefined): void {
    this.upstream = null;
    if (last === undefined) this.res.end();
    else this.res.end(last);
  }

  public upstreamError(code: string, retryable: boolean): void {
    this.upstream = null;
    if (this.done) return;
    const res = this.res;
    if (res.headersSent) {
      // Too late for a status: cut the response, the client sees it incomplete.
      res.destroy();
      return;
    }
    // A keep-alive connection the user's server closed just as it was reused: try once more on a fresh
    // one, for a safe method without a body only (the server may have received the request after all).
    if (retryable && !this.retried && this.framing === BodyFraming.None && isSafeMethod(this.req.method)) {
      this.retried = true;
      this.clearTimer();
      this.forward();
      return;
    }
    this.clearTimer();
    if (code === 'ECONNREFUSED') {
      this.handler.options.log.limited('refused', `the user's server (${this.handler.userAuthority}) refused a connection: answering 503`);
      this.reply(503, this.handler.answers.upstreamRefused, false);
    } else {
      this.upstreamFailedWith(502, code);
    }
  }

  private upstreamFailedWith(status: number, why: string): void {
    const handler = this.handler;
    handler.options.log.limited('failed', `the exchange with the user's server (${handler.userAuthority}) failed (${why}): answering ${status}`);
    if (this.res.headersSent) this.res.destroy();
    else this.reply(status, handler.answers.upstreamFailed, false);
  }

  /** @internal the client can take more of the response */
  public responseDrained(): void {
    this.upstream?.resume();
  }

  /** @internal */
  public upstreamTimedOut(): void {
    this.timer = null;
    if (this.done || this.res.headersSent) return;
    const handler = this.handler;
    handler.options.log.limited('timeout', `the user's server did not start a response within ${handler.options.upstreamTimeoutMs} ms: answering 504`);
    this.abortUpstream();
    this.reply(504, handler.answers.upstreamTimeout, false);
  }

  /** @internal */
  public queueTimedOut(): void {
    this.timer = null;
    if (this.handler.options.breaker.withdraw(this)) this.reply(503, this.handler.answers.queueTimeout, false);
  }

  /** @internal the response is over: sent, or its connection gone */
  public finished(): void {
    if (this.done) return;
    this.done = true;
    const { handler, res } = this;
    const options = handler.options;
    options.breaker.withdraw(this);
    this.clearTimer();
    // The client left before the user's server finished: that exchange is given up.
    this.abortUpstream();
    // The user's server answered before reading the whole body: read the rest into the void, so that
    // the client's connection can carry its next request.
    if (this.listening && !this.req.complete) this.req.resume();
    if (this.holdsSlot) {
      this.holdsSlot = false;
      options.breaker.release();
    }
    if (!this.probe) {
      const code = res.headersSent ? res.statusCode : CLIENT_CLOSED_REQUEST;
      options.metrics.observe(code, (performance.now() - this.startedAt) / 1000);
    }
    handler.exchangeFinished();
  }

  private abortUpstream(): void {
    const upstream = this.upstream;
    if (upstream !== null) {
      this.upstream = null;
      upstream.abort();
    }
  }

  private clearTimer(): void {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
  }

  private reply(status: number, body: Buffer, close: boolean): void {
    const headers = ['Content-Type', 'application/json', 'Content-Length', String(body.length)];
    if (close || this.handler.draining) headers.push('Connection', 'close');
    this.res.writeHead(status, headers);
    this.res.end(body);
  }
}

/** Drops from a block of header lines those named in Connection (they are hop-by-hop too). */
function withoutListedHeaders(block: string, connection: string): string {
  // Most clients send `Connection: keep-alive`, which names no header: the block stays as it is.
  const listed = listedHeaderNames(connection);
  if (listed.length === 0) return block;
  let out = '';
  for (const line of block.split('\r\n')) {
    if (line !== '' && !listed.includes(line.slice(0, line.indexOf(':')).toLowerCase())) out += `${line}\r\n`;
  }
  return out;
}

function isSafeMethod(method: string | undefined): boolean {
  return method === 'GET' || method === 'HEAD' || method === 'OPTIONS';
}

function uncorkUpstream(upstream: UpstreamConnection): void {
  upstream.uncork();
}
// Each listener reads the exchange itself: one property load per emitter type stays monomorphic.
function onResponseClose(this: http.ServerResponse): void {
  (this as Carrier)[kExchange]!.finished();
}
function onQueueTimeout(exchange: Exchange): void {
  exchange.queueTimedOut();
}
function onUpstreamTimeout(exchange: Exchange): void {
  exchange.upstreamTimedOut();
}
function onRequestData(this: http.IncomingMessage, chunk: Buffer): void {
  (this as Carrier)[kExchange]!.requestData(chunk);
}
function onRequestEnd(this: http.IncomingMessage): void {
  (this as Carrier)[kExchange]!.requestEnded();
}
function onRequestError(this: http.IncomingMessage): void {
  (this as Carrier)[kExchange]!.requestFailed();
}
function onResponseDrain(this: http.ServerResponse): void {
  (this as Carrier)[kExchange]!.responseDrained();
}
