/**
 * The request path: admission through the breaker, then a streaming reverse proxy to the user's server
 * over a keep-alive pool (`upstream.ts`), with the proxy's own answers as small JSON bodies: 503 queue
 * full or queue timeout, 503 user server refusing connections, 502 user server failing mid-exchange,
 * 504 user server too slow to start its response (or to read the request body), 408 client too slow to
 * send its body, 413 body too large, 431 too many headers, 501 a transfer coding other than chunked, 401 no
 * valid API key (with `--api-keys-file`; before admission: a request without a key never takes a slot).
 *
 * Every request is admitted the same way, kubelet probes included (they belong on the admin port).
 *
 * The hot path allocates one {@link Exchange} per request and no closures: event listeners are
 * module-level functions that find their exchange through a symbol on the emitter. Nothing in it may
 * throw out of a listener: an unexpected error ends that exchange (its connection is closed), never the
 * process.
 */
import type * as http from 'node:http';
import { STATUS_CODES } from 'node:http';
import { BlockList } from 'node:net';
import { performance } from 'node:perf_hooks';
import { ApiKeys, Credential, credentialOf } from './api-keys';
import { Breaker, BreakerWaiter } from './breaker';
import { lingerAfterResponse } from './linger';
import { Log } from './log';
import { CLIENT_CLOSED_REQUEST, Metrics } from './metrics';
import { BodyFraming, listedHeaderNames, UpstreamConnection, UpstreamListener, UpstreamPool } from './upstream';

export interface ProxyHandlerOptions {
  readonly userHost: string;
  readonly userPort: number;
  readonly queueTimeoutMs: number;
  readonly upstreamTimeoutMs: number;
  readonly maxBodyBytes: number;
  /** The longest silence while a body streams (either way) before the exchange is given up. */
  readonly bodyIdleTimeoutMs: number;
  /** After an answer that closes the connection, how long to read and discard what the client still sends. */
  readonly lingeringTimeMs: number;
  /** Peers whose X-Forwarded-Proto/-Host and Forwarded headers are passed on (`*`: any). */
  readonly forwardedAllowIps: readonly string[];
  readonly breaker: Breaker;
  readonly metrics: Metrics;
  readonly log: Log;
  /** The keys a request must carry one of; `undefined`: none asked for. */
  readonly apiKeys?: ApiKeys;
  /** The realm of a 401's `WWW-Authenticate`. @default "api" */
  readonly apiName?: string;
}

/**
 * Request headers the proxy forwards at most; a request with more gets 431. Node's parser silently drops
 * headers past its own count limit (a Content-Length among them would be lost), so the server's limit is
 * set just above this one and anything that reaches it is refused, never truncated.
 */
export const MAX_REQUEST_HEADERS = 1000;

/** The silence check runs this often at most (and at least 4 times per idle timeout). */
const MAX_SWEEP_INTERVAL_MS = 1000;

const kExchange = Symbol('cortex.exchange');
type Carrier = { [kExchange]?: Exchange };
/** On a client socket: a response that closes the connection is on its way; later requests are not served. */
const kClosing = Symbol('cortex.closing');
/** On a client socket: the exchanges whose responses wait behind an earlier one (pipelining). */
const kWaitingTurn = Symbol('cortex.waitingTurn');
type ClientSocket = http.IncomingMessage['socket'] & { [kClosing]?: boolean; [kWaitingTurn]?: Set<Exchange> };

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
  readonly upstreamStalled: Buffer;
  readonly clientStalled: Buffer;
  readonly bodyTooLarge: Buffer;
  readonly tooManyHeaders: Buffer;
  readonly unsupportedTransferEncoding: Buffer;
  readonly badFraming: Buffer;
  readonly duplicateHost: Buffer;
  readonly missingHost: Buffer;
  readonly missingKey: Buffer;
  readonly invalidKey: Buffer;
  /** `WWW-Authenticate` of a 401 without a key, and of one with a wrong key (RFC 6750 §3). */
  readonly challengeMissing: string;
  readonly challengeInvalid: string;
}

export class ProxyHandler {
  /** Keep-alive connections to the user's server; as many stay idle as may ever be busy at once. */
  public readonly pool: UpstreamPool;
  /** @internal */ public readonly options: ProxyHandlerOptions;
  /** @internal */ public readonly answers: Answers;
  /** @internal */ public readonly userAuthority: string;
  /** @internal exchanges whose body is streaming, for the silence check (an intrusive list) */
  public streaming: Exchange | null = null;
  private openExchanges = 0;
  private isDraining = false;
  private idleWaiters: Array<() => void> = [];
  private readonly trustAllPeers: boolean;
  private readonly trustedPeers: BlockList | null;
  private readonly sweepTimer: NodeJS.Timeout;
  /** @internal silence checks that make up the body idle timeout */
  public readonly silentSweepsAllowed: number;

  constructor(options: ProxyHandlerOptions) {
    this.options = options;
    const { breaker, userHost, userPort, maxBodyBytes, bodyIdleTimeoutMs } = options;
    this.userAuthority = `${userHost.includes(':') ? `[${userHost}]` : userHost}:${userPort}`;
    // Every request to the user's server holds a slot: no more connections are ever busy at once.
    this.pool = new UpstreamPool(userHost, userPort, breaker.maxConcurrency);
    this.trustAllPeers = options.forwardedAllowIps.includes('*');
    this.trustedPeers = this.trustAllPeers || options.forwardedAllowIps.length === 0 ? null : blockListOf(options.forwardedAllowIps);
    // One timer for every streaming body, not one per request: a body that moved since the last check
    // only bumps a counter.
    const sweepMs = Math.max(1, Math.min(MAX_SWEEP_INTERVAL_MS, Math.floor(bodyIdleTimeoutMs / 4)));
    this.silentSweepsAllowed = Math.ceil(bodyIdleTimeoutMs / sweepMs);
    this.sweepTimer = setInterval(sweepSilentExchanges, sweepMs, this);
    this.sweepTimer.unref();
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
      upstreamStalled: json('upstream_timeout', `the API's server (${this.userAuthority}) read none of the request body for ${bodyIdleTimeoutMs} ms`),
      clientStalled: json('request_timeout', `no part of the request body arrived for ${bodyIdleTimeoutMs} ms`),
      bodyTooLarge: json('body_too_large', `the request body is larger than ${maxBodyBytes} bytes`),
      tooManyHeaders: json('too_many_headers', `the request has more than ${MAX_REQUEST_HEADERS} header fields`),
      unsupportedTransferEncoding: json('not_implemented', 'the only Transfer-Encoding accepted on requests is "chunked"'),
      badFraming: json('bad_request', 'the request has conflicting Content-Length headers'),
      duplicateHost: json('bad_request', 'the request has more than one Host header'),
      missingHost: json('bad_request', 'an HTTP/1.1 request must have a Host header'),
      missingKey: json('unauthorized', 'this API needs an API key: send it as "Authorization: Bearer <key>" or "x-api-key: <key>"'),
      invalidKey: json('unauthorized', 'the API key is not valid for this API'),
      challengeMissing: `Bearer realm="${options.apiName ?? 'api'}"`,
      challengeInvalid: `Bearer realm="${options.apiName ?? 'api'}", error="invalid_token"`,
    };
  }

  /** The request listener of the proxy's server. */
  public readonly handle = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const socket = req.socket as ClientSocket;
    if (socket[kClosing] === true) {
      // Pipelined after a response that closes the connection (the client's Connection: close, or a refusal):
      // not served, as nginx stops reading requests there. The earlier response still goes out.
      req.resume();
      if (!socket.writable) socket.destroy();
      return;
    }
    if (!res.shouldKeepAlive) socket[kClosing] = true;
    this.openExchanges++;
    const exchange = new Exchange(this, req, res);
    try {
      exchange.start();
    } catch (error) {
      exchange.crashed(error);
    }
  };

  /**
   * The `checkContinue` listener of the proxy's server (`Expect: 100-continue`): a body declared too large
   * is refused before the client sends it; anything else is told to go on and handled as usual.
   */
  public readonly handleContinue = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const declared = req.headers['content-length'];
    const apiKeys = this.options.apiKeys;
    // A request that gets 401 is not told to send its body.
    const refused = apiKeys !== undefined && !apiKeys.accepts(credentialOf(req.rawHeaders).key);
    if (!refused && (declared === undefined || !(Number(declared) > this.options.maxBodyBytes))) {
      // A pipelined request's response waits for the ones before it, without a socket: a 100 written now
      // would be buffered into this response and land between its head and its body. Send it when the
      // response reaches the connection, unless the answer has been written by then.
      if (res.socket !== null) res.writeContinue();
      else res.once('socket', writeContinueIfUnanswered);
    }
    this.handle(req, res);
  };

  /** Requests received and not yet finished. */
  public get open(): number {
    return this.openExchanges;
  }

  /** Whether the peer at `address` may set X-Forwarded-Proto/-Host and Forwarded. */
  public trusts(address: string): boolean {
    if (this.trustAllPeers) return true;
    return this.trustedPeers !== null && address !== '' && this.trustedPeers.check(address, address.includes(':') ? 'ipv6' : 'ipv4');
  }

  /** Stops the silence checks and closes the connections to the user's server. */
  public close(): void {
    clearInterval(this.sweepTimer);
    this.pool.destroy();
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

function blockListOf(entries: readonly string[]): BlockList {
  const list = new BlockList();
  for (const entry of entries) {
    const slash = entry.indexOf('/');
    const address = slash === -1 ? entry : entry.slice(0, slash);
    const family = address.includes(':') ? 'ipv6' : 'ipv4';
    if (slash === -1) list.addAddress(address, family);
    else list.addSubnet(address, Number(entry.slice(slash + 1)), family);
  }
  return list;
}

/** Why a request is refused before admission (0: it is not). */
const enum Refusal {
  None = 0,
  BodyTooLarge = 413,
  TooManyHeaders = 431,
  UnsupportedTransferEncoding = 501,
  BadFraming = 400,
  /** Like nginx: two Host headers could route one way here and another way in the user's server. */
  DuplicateHost = 1400,
  MissingHost = 2400,
}

/** One request through the proxy, from its arrival to the end of its response. */
class Exchange extends BreakerWaiter implements UpstreamListener {
  private readonly handler: ProxyHandler;
  private readonly req: http.IncomingMessage;
  private readonly res: http.ServerResponse;
  private readonly startedAt = performance.now();
  /** The first byte of the response went to the client (cortex_time_to_first_byte_seconds observed). */
  private firstByteSent = false;
  private head = '';
  /** With API keys: where the request's key came from (`readRequest`). */
  private credential: Credential | null = null;
  private framing = BodyFraming.None;
  private holdsSlot = false;
  private done = false;
  private retried = false;
  private listening = false;
  private awaitingDrain = false;
  /** Its response waited behind an earlier one on the same connection (see waitForTurn). */
  private waitingTurn = false;
  /** The request body is on its way to the user's server. */
  private uploading = false;
  /** The client is paused until the user's server takes more of the body. */
  private uploadBlocked = false;
  /** The response body is on its way to the client. */
  private downloading = false;
  private bodyBytes = 0;
  private timer: NodeJS.Timeout | null = null;
  /** The connection while the exchange with the user's server is under way. */
  private upstream: UpstreamConnection | null = null;
  /** @internal bumped whenever a body moves; read by the silence check */
  public progress = 0;
  /** @internal */ public checkedProgress = 0;
  /** @internal */ public silentSweeps = 0;
  /** @internal links in the handler's list of streaming exchanges */
  public streamPrev: Exchange | null = null;
  /** @internal */ public streamNext: Exchange | null = null;
  /** @internal */ public inStreamList = false;

  constructor(handler: ProxyHandler, req: http.IncomingMessage, res: http.ServerResponse) {
    super();
    this.handler = handler;
    this.req = req;
    this.res = res;
    (req as Carrier)[kExchange] = this;
    (res as Carrier)[kExchange] = this;
    res.on('close', onResponseClose);
  }

  public start(): void {
    const handler = this.handler;
    // Pipelined behind a response still being written: Node holds this one back until its turn, and if the
    // connection closes first, destroys it without a 'close' event. The connection's own close ends it then.
    if (this.res.socket === null) this.waitForTurn();
    const refusal = this.readRequest();
    if (refusal !== Refusal.None) {
      this.refuse(refusal);
      return;
    }
    const apiKeys = handler.options.apiKeys;
    if (apiKeys !== undefined && !apiKeys.accepts((this.credential as Credential).key)) {
      this.unauthorized();
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
    try {
      this.forward();
    } catch (error) {
      this.crashed(error);
    }
  }

  /** Answers a request that is refused before admission, and closes its connection. */
  private refuse(refusal: Refusal): void {
    const answers = this.handler.answers;
    switch (refusal) {
      case Refusal.BodyTooLarge:
        // Do not read a body that is refused anyway.
        this.reply(413, answers.bodyTooLarge, true);
        break;
      case Refusal.TooManyHeaders:
        this.reply(431, answers.tooManyHeaders, true);
        break;
      case Refusal.UnsupportedTransferEncoding:
        this.reply(501, answers.unsupportedTransferEncoding, true);
        break;
      case Refusal.DuplicateHost:
        this.reply(400, answers.duplicateHost, true);
        break;
      case Refusal.MissingHost:
        this.reply(400, answers.missingHost, true);
        break;
      default:
        this.reply(400, answers.badFraming, true);
        break;
    }
  }

  /** 401, before admission. A body the request declared is not read: the connection closes (lingering). */
  private unauthorized(): void {
    const answers = this.handler.answers;
    const missing = (this.credential as Credential).key === undefined;
    this.reply(401, missing ? answers.missingKey : answers.invalidKey, this.framing !== BodyFraming.None, [
      'WWW-Authenticate',
      missing ? answers.challengeMissing : answers.challengeInvalid,
    ]);
  }

  /** @internal an unexpected error in this exchange: it ends (its connection closed), the proxy goes on */
  public crashed(error: unknown): void {
    this.handler.options.log.limited('internal', `internal error on a request, its connection closed: ${(error as Error)?.stack ?? String(error)}`);
    this.abortUpstream();
    this.cut();
  }

  /**
   * Builds the request head sent upstream, once: the client's request line and headers, hop-by-hop
   * headers dropped (RFC 9110 §7.6.1), the body's framing written by the proxy, X-Forwarded-For appended
   * to, X-Forwarded-Proto/-Host (and Forwarded) kept from trusted peers only. Returns why the request is
   * refused, if it is.
   */
  private readRequest(): Refusal {
    const { req, handler } = this;
    const raw = req.rawHeaders;
    // Node's parser keeps at most MAX_REQUEST_HEADERS + 1 of them; more were (or might have been) dropped.
    if (raw.length > 2 * MAX_REQUEST_HEADERS) return Refusal.TooManyHeaders;
    let client = req.socket.remoteAddress ?? '';
    // Listening on every interface means IPv6 with IPv4-mapped addresses: pass on the IPv4 form.
    if (client.startsWith('::ffff:') && client.includes('.')) client = client.slice(7);
    let headers = '';
    let forwardedFor: string | undefined;
    let hasProto = false;
    let hasForwardedHost = false;
    /** Whether the peer may set X-Forwarded-Proto/-Host: 0 not asked yet, 1 yes, -1 no. */
    let trusted = 0;
    let host: string | undefined;
    let connection: string | undefined;
    let contentLength: string | undefined;
    let transferEncoding: string | undefined;
    // The header that carried the API key is the proxy's credential: the user's server never sees it.
    let keyHeader: string | undefined;
    if (handler.options.apiKeys !== undefined) {
      this.credential = credentialOf(raw);
      keyHeader = this.credential.header;
    }
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i];
      const value = raw[i + 1];
      // Lower-case a name only when its length can match: most headers are passed on by length alone.
      switch (name.length) {
        case 2:
          if (name.toLowerCase() === 'te') continue;
          break;
        case 4:
          if (name.toLowerCase() === 'host') {
            if (host !== undefined) return Refusal.DuplicateHost;
            host = value;
          }
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
        case 9: {
          const lower = name.toLowerCase();
          if (lower === 'forwarded' && (trusted === 0 ? (trusted = handler.trusts(client) ? 1 : -1) : trusted) < 0) continue;
          if (lower === keyHeader) continue;
          break;
        }
        case 10: {
          const lower = name.toLowerCase();
          if (lower === 'connection') {
            connection = connection === undefined ? value : `${connection},${value}`;
            continue;
          }
          if (lower === 'keep-alive') continue;
          break;
        }
        case 13:
          if (keyHeader !== undefined && name.toLowerCase() === keyHeader) continue;
          break;
        case 14:
          if (name.toLowerCase() === 'content-length') {
            // Node's parser refuses two that differ; the proxy writes the framing itself.
            if (contentLength !== undefined && contentLength !== value) return Refusal.BadFraming;
            contentLength = value;
            continue;
          }
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
          if (lower === 'x-forwarded-host') {
            if ((trusted === 0 ? (trusted = handler.trusts(client) ? 1 : -1) : trusted) < 0) continue;
            hasForwardedHost = true;
          }
          break;
        }
        case 17: {
          const lower = name.toLowerCase();
          if (lower === 'transfer-encoding') {
            transferEncoding = transferEncoding === undefined ? value : `${transferEncoding}, ${value}`;
            continue;
          }
          if (lower === 'x-forwarded-proto') {
            if ((trusted === 0 ? (trusted = handler.trusts(client) ? 1 : -1) : trusted) < 0) continue;
            hasProto = true;
          }
          break;
        }
        case 18:
          if (name.toLowerCase() === 'proxy-authenticate') continue;
          break;
        case 19:
          if (name.toLowerCase() === 'proxy-authorization') continue;
          break;
      }
      headers += `${name}: ${value}\r\n`;
    }
    if (connection !== undefined) headers = withoutListedHeaders(headers, connection);
    headers += `X-Forwarded-For: ${forwardedFor === undefined ? client : `${forwardedFor}, ${client}`}\r\n`;
    if (!hasProto) headers += 'X-Forwarded-Proto: http\r\n';
    if (host === undefined) {
      // RFC 9112 §3.2: an HTTP/1.1 request without Host is a 400 (checked here, not by Node, so that the
      // connection is marked closing like every other refusal); HTTP/1.0 may omit it.
      if (req.httpVersionMinor === 1 && req.httpVersionMajor === 1) return Refusal.MissingHost;
      headers += `Host: ${handler.userAuthority}\r\n`;
    }
    else if (!hasForwardedHost) headers += `X-Forwarded-Host: ${host}\r\n`;
    // The body's framing is the proxy's, whatever the client wrote: chunked, or the length Node checked.
    if (transferEncoding !== undefined) {
      // Like nginx: a coding the proxy would have to undo (gzip, chunked) is not implemented.
      if (transferEncoding.length !== 7 || transferEncoding.toLowerCase() !== 'chunked') return Refusal.UnsupportedTransferEncoding;
      headers += 'Transfer-Encoding: chunked\r\n';
      this.framing = BodyFraming.Chunked;
    } else if (contentLength !== undefined) {
      if (Number(contentLength) > handler.options.maxBodyBytes) return Refusal.BodyTooLarge;
      headers += `Content-Length: ${contentLength}\r\n`;
      if (contentLength !== '0') this.framing = BodyFraming.Length;
    }
    this.head = `${req.method} ${req.url} HTTP/1.1\r\n${headers}`;
    return Refusal.None;
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
    if (!req.complete) {
      this.uploading = true;
      this.watchSilence();
    }
    req.on('data', onRequestData);
    req.on('end', onRequestEnd);
    req.on('error', onRequestError);
  }

  /** Puts this exchange on the list the silence check walks (while a body streams). */
  private watchSilence(): void {
    if (this.inStreamList) return;
    const handler = this.handler;
    this.inStreamList = true;
    this.checkedProgress = this.progress;
    this.silentSweeps = 0;
    const first = handler.streaming;
    this.streamNext = first;
    if (first !== null) first.streamPrev = this;
    handler.streaming = this;
  }

  private unwatchSilence(): void {
    if (!this.inStreamList) return;
    this.inStreamList = false;
    const { streamPrev, streamNext } = this;
    if (streamPrev === null) this.handler.streaming = streamNext;
    else streamPrev.streamNext = streamNext;
    if (streamNext !== null) streamNext.streamPrev = streamPrev;
    this.streamPrev = null;
    this.streamNext = null;
  }

  /** @internal whether a body is streaming and could be silent (see sweepSilentExchanges) */
  public get streamingBody(): boolean {
    // A response that waits for its turn behind a pipelined one is not silent: it is queued.
    return this.uploading || (this.downloading && this.res.socket !== null);
  }

  /** @internal no body moved either way for the body idle timeout */
  public bodyIdleTimedOut(): void {
    if (this.done) return;
    const handler = this.handler;
    const ms = handler.options.bodyIdleTimeoutMs;
    this.abortUpstream();
    if (!this.res.headersSent) {
      // The request body stopped: the client stopped sending (408), or the user's server stopped reading (504).
      const stalledUpstream = this.uploadBlocked;
      handler.options.log.limited(
        'idle',
        stalledUpstream
          ? `the user's server read none of a request body for ${ms} ms: answering 504`
          : `a client sent none of its request body for ${ms} ms: answering 408`,
      );
      this.uploading = false;
      this.reply(stalledUpstream ? 504 : 408, stalledUpstream ? handler.answers.upstreamStalled : handler.answers.clientStalled, true);
    } else {
      handler.options.log.limited('idle', `a response body did not move for ${ms} ms (the user's server or the client stalled): cutting it`);
      this.cut();
    }
  }

  /** @internal a piece of the request body */
  public requestData(chunk: Buffer): void {
    if (this.done) return;
    this.progress++;
    this.bodyBytes += chunk.length;
    if (this.bodyBytes > this.handler.options.maxBodyBytes) {
      // Only a chunked body can get here (a declared length is checked up front).
      this.req.removeListener('data', onRequestData);
      this.req.pause();
      this.uploading = false;
      this.abortUpstream();
      if (!this.res.headersSent) this.reply(413, this.handler.answers.bodyTooLarge, true);
      else this.cut();
      return;
    }
    if (this.upstream !== null && !this.upstream.write(chunk)) {
      this.uploadBlocked = true;
      this.req.pause();
    }
  }

  /** @internal */
  public requestEnded(): void {
    this.uploading = false;
    this.upstream?.end();
  }

  /**
   * @internal the request's body is malformed (an invalid chunk, the connection ended mid-body): this request
   * is over. 400 if its response has not started, else the response is cut; the connection closes either way.
   */
  public requestBroken(code: string): void {
    if (this.done) return;
    this.uploading = false;
    this.abortUpstream();
    if (this.res.headersSent) {
      this.cut();
      return;
    }
    this.clearTimer();
    this.reply(400, json('bad_request', `malformed HTTP request (${code})`), true);
  }

  /** @internal the client's connection broke mid-body */
  public requestFailed(): void {
    this.uploading = false;
    this.abortUpstream();
  }

  public upstreamDrain(): void {
    if (this.done) return;
    this.progress++;
    this.uploadBlocked = false;
    this.req.resume();
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
      return;
    }
    // The head is written with the first body bytes, which follow at once (upstream.ts holds the head until then).
    this.sentFirstByte();
    this.downloading = true;
    this.watchSilence();
  }

  public upstreamBody(chunk: Buffer): boolean {
    // Only while the exchange with the user's server is under way: a write after the response ended would
    // be an 'error' event on it (no listener is added per request for that).
    if (this.upstream === null) return true;
    this.progress++;
    if (this.res.write(chunk)) return true;
    if (!this.awaitingDrain) {
      this.awaitingDrain = true;
      this.res.on('drain', onResponseDrain);
    }
    return false;
  }

  public upstreamEnd(last: Buffer | undefined): void {
    if (this.upstream === null) return;
    this.upstream = null;
    this.downloading = false;
    if (last === undefined) this.res.end();
    else this.res.end(last);
  }

  public upstreamError(code: string, retryable: boolean): void {
    this.upstream = null;
    this.downloading = false;
    if (this.done) return;
    const res = this.res;
    if (res.headersSent) {
      // Too late for a status: cut the response, the client sees it incomplete.
      this.cut();
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
    if (this.res.headersSent) this.cut();
    else this.reply(status, handler.answers.upstreamFailed, false);
  }

  /** @internal the client can take more of the response */
  public responseDrained(): void {
    this.progress++;
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

  /** @internal */
  public get isDone(): boolean {
    return this.done;
  }

  private waitForTurn(): void {
    const socket = this.req.socket as ClientSocket;
    let waiting = socket[kWaitingTurn];
    if (waiting === undefined) {
      waiting = new Set();
      socket[kWaitingTurn] = waiting;
      socket.once('close', onPipelinedConnectionClose);
    }
    waiting.add(this);
    this.waitingTurn = true;
  }

  /** @internal the response is over: sent, or its connection gone */
  public finished(): void {
    if (this.done) return;
    this.done = true;
    const { handler, res } = this;
    if (this.waitingTurn) (this.req.socket as ClientSocket)[kWaitingTurn]?.delete(this);
    const options = handler.options;
    options.breaker.withdraw(this);
    this.clearTimer();
    this.unwatchSilence();
    // The client left before the user's server finished: that exchange is given up.
    this.abortUpstream();
    // The user's server answered before reading the whole body: read the rest into the void, so that
    // the client's connection can carry its next request.
    if (this.listening && !this.req.complete) this.req.resume();
    if (this.holdsSlot) {
      this.holdsSlot = false;
      options.breaker.release();
    }
    const code = res.headersSent ? res.statusCode : CLIENT_CLOSED_REQUEST;
    options.metrics.observe(code, (performance.now() - this.startedAt) / 1000);
    handler.exchangeFinished();
  }

  /**
   * Ends the response unfinished: its connection is closed (the client sees it incomplete). The socket
   * itself, as a response still queued behind an earlier one (pipelining) has none of its own yet.
   */
  private cut(): void {
    this.res.destroy();
    this.req.socket.destroy();
  }

  private abortUpstream(): void {
    const upstream = this.upstream;
    if (upstream !== null) {
      this.upstream = null;
      upstream.abort();
    }
  }

  /** The response's first byte is on its way to the client: the time to first byte, once per request. */
  private sentFirstByte(): void {
    if (this.firstByteSent) return;
    this.firstByteSent = true;
    this.handler.options.metrics.observeFirstByte((performance.now() - this.startedAt) / 1000);
  }

  private clearTimer(): void {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
  }

  private reply(status: number, body: Buffer, close: boolean, extraHeaders?: string[]): void {
    const headers = ['Content-Type', 'application/json', 'Content-Length', String(body.length)];
    if (extraHeaders !== undefined) headers.push(...extraHeaders);
    if (close) {
      (this.req.socket as ClientSocket)[kClosing] = true;
      // The client may still be sending (a body the proxy does not read): close without resetting.
      lingerAfterResponse(this.req.socket, this.handler.options.lingeringTimeMs);
      headers.push('Connection', 'close');
    } else if (this.handler.draining) {
      headers.push('Connection', 'close');
    }
    // The standard reason, always: a writeHead that threw (a header Node refused) has already set the
    // user's server's reason on the response, and Node would keep it ("502 OK").
    this.res.writeHead(status, STATUS_CODES[status], headers);
    this.res.end(body);
    this.sentFirstByte();
    // A body that is not forwarded is read into the void now, not once this answer's turn comes: unread, it
    // would stop the connection's reading, and a client that resets or closes would go unnoticed meanwhile.
    if (!this.listening) this.req.resume();
  }
}

/** The silence check: one pass over the exchanges whose body streams. */
function sweepSilentExchanges(handler: ProxyHandler): void {
  const allowed = handler.silentSweepsAllowed;
  let exchange = handler.streaming;
  while (exchange !== null) {
    // Read first: a timed-out exchange may leave the list.
    const next = exchange.streamNext;
    if (exchange.progress !== exchange.checkedProgress || !exchange.streamingBody) {
      exchange.checkedProgress = exchange.progress;
      exchange.silentSweeps = 0;
    } else if (++exchange.silentSweeps >= allowed) {
      exchange.silentSweeps = 0;
      try {
        exchange.bodyIdleTimedOut();
      } catch (error) {
        exchange.crashed(error);
      }
    }
    exchange = next;
  }
}

/**
 * A request whose body turned out malformed (Node's parser reports it to the server, not to the request):
 * its exchange ends it. False when no exchange is under way for `req` (its response already went out).
 */
export function endBrokenRequest(req: http.IncomingMessage, code: string): boolean {
  const exchange = (req as Carrier)[kExchange];
  if (exchange === undefined || exchange.isDone) return false;
  exchange.requestBroken(code);
  return true;
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

function writeContinueIfUnanswered(this: http.ServerResponse): void {
  if (!this.headersSent) this.writeContinue();
}

function isSafeMethod(method: string | undefined): boolean {
  return method === 'GET' || method === 'HEAD' || method === 'OPTIONS';
}

/** A connection with pipelined exchanges closed: those whose responses never got their turn end now. */
function onPipelinedConnectionClose(this: ClientSocket): void {
  const waiting = this[kWaitingTurn];
  if (waiting === undefined) return;
  for (const exchange of [...waiting]) exchange.finished();
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

