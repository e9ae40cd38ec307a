/**
 * The connection to the user's server: a keep-alive pool of plain TCP connections and a small HTTP/1.1
 * client over them. Node's `http.request` costs about as much CPU per request as the whole rest of the
 * proxy (agent bookkeeping, a parser, streams per request); this client writes the request head as one
 * string and parses the response itself, allocation-light, so the proxy adds little latency.
 *
 * Scope, on purpose: one request at a time per connection (no pipelining); response bodies framed by
 * Content-Length, chunked encoding or the connection's end; 1xx interim responses skipped; no upgrades.
 * The client side of the proxy stays Node's hardened HTTP server: only what the user's server answers
 * is parsed here, strictly (anything unexpected is a 502, never a crash). Strict means RFC 9112 with no
 * leniency: a status of exactly three digits, CRLF line ends only, no control characters, no obs-fold,
 * one Content-Length of digits, Transfer-Encoding exactly `chunked` and never beside a Content-Length,
 * chunk sizes of hex digits with well-formed extensions, a head (1xx interim heads included) of at most
 * 64 KiB. The parser is tested against Node's own (llhttp) on generated responses; where it is stricter
 * than llhttp, test/images/proxy/hostile/upstream-llhttp.test.ts says so.
 *
 * A response starts for the listener with its first body byte, or its end when it has no body: the head
 * is held until then (Node sends a response head with the first body byte anyway), so a response that
 * fails before any of its body arrived (a bad first chunk size, a close right after the head) is still a
 * clean 502 for the client, and a head followed by silence is still the upstream timeout's 504.
 */
import * as net from 'node:net';

/** What a request through an {@link UpstreamConnection} is told. Each method is called at most once, except `body`. */
export interface UpstreamListener {
  /**
   * The response's status, reason phrase and headers (hop-by-hop ones removed), just before its first body
   * byte or its end. The reason and every header hold only characters Node's server sends as they are.
   */
  upstreamHead(status: number, reason: string, headers: string[]): void;
  /** A piece of the (decoded) body. Return false to pause the upstream until `resume()`. */
  upstreamBody(chunk: Buffer): boolean;
  /** The response is complete; `last` is its final piece of body, if any. The connection is no longer this request's. */
  upstreamEnd(last: Buffer | undefined): void;
  /**
   * The exchange failed. `retryable`: the connection was a reused keep-alive one and nothing was received,
   * the signature of a connection the server closed just as it was reused.
   */
  upstreamError(code: string, retryable: boolean): void;
  /** The request body may be written again (after `write` returned false). */
  upstreamDrain(): void;
}

/** How a request body is framed. */
export enum BodyFraming {
  None = 0,
  /** Content-Length in the head: bytes as they are. */
  Length = 1,
  /** Transfer-Encoding: chunked in the head: each write becomes a chunk. */
  Chunked = 2,
}

/** Protocol problems with the user's server's response. */
export const UPSTREAM_PROTOCOL_ERROR = 'UPSTREAM_PROTOCOL_ERROR';
/** The user's server closed the connection before its response was complete. */
export const UPSTREAM_CLOSED = 'UPSTREAM_CLOSED';

/** A response head may be this large, 1xx interim heads before it included (nginx: 4–8 KiB, Envoy: 60 KiB). */
export const MAX_HEAD_BYTES = 64 * 1024;
/** A chunk-size line or a trailer line may be this long; the trailer section as large as a head. */
const MAX_LINE_BYTES = 8 * 1024;
const CRLFCRLF = Buffer.from('\r\n\r\n', 'latin1');
const CHUNK_END = Buffer.from('0\r\n\r\n', 'latin1');
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Content-Length: digits only (no sign, no list), at most 2^53 - 1 after any leading zeros. */
const CONTENT_LENGTH = /^0*\d{1,15}$/;
/**
 * A chunk-size line (RFC 9112 §7.1.1): hex digits (at most 2^52 after leading zeros), then extensions
 * `;name`, `;name=token` or `;name="quoted"`. No whitespace around `;` and `=`: RFC 9112 allows it (BWS),
 * llhttp refuses it, and so does this parser (never more lenient than Node's own).
 */
const CHUNK_SIZE_LINE =
  /^0*([0-9a-fA-F]{1,13})(?:;[!#$%&'*+\-.^_`|~0-9A-Za-z]+(?:=(?:[!#$%&'*+\-.^_`|~0-9A-Za-z]+|"(?:[\t\x20\x21\x23-\x5b\x5d-\x7e\x80-\xff]|\\[\t\x20-\x7e\x80-\xff])*"))?)*$/;

const enum State {
  Idle,
  Head,
  Length,
  ChunkSize,
  ChunkData,
  ChunkDataEnd,
  Trailers,
  UntilClose,
}

const enum HeadOutcome {
  /** Failed, or the listener gave the exchange up. */
  Ended,
  /** A body follows (or, after a 1xx, another head). */
  Body,
  /** No body: the response is complete. */
  Complete,
}

const kConnection = Symbol('cortex.upstreamConnection');
type SocketWithConnection = net.Socket & { [kConnection]: UpstreamConnection };

export class UpstreamPool {
  private readonly idle: UpstreamConnection[] = [];
  private readonly open = new Set<UpstreamConnection>();
  private closed = false;

  /**
   * @param host the user's server
   * @param port its port
   * @param maxIdle idle connections kept for reuse (the concurrency limit: more are never busy at once)
   */
  constructor(
    public readonly host: string,
    public readonly port: number,
    public readonly maxIdle: number,
  ) {}

  /** A connection for one request: the most recently used idle one, else a new one. */
  public acquire(): UpstreamConnection {
    if (this.closed) throw new Error('the upstream pool is closed');
    const reused = this.idle.pop();
    if (reused !== undefined) return reused;
    const connection = new UpstreamConnection(this);
    this.open.add(connection);
    return connection;
  }

  /** Connections open (idle or busy). */
  public get size(): number {
    return this.open.size;
  }

  public get idleCount(): number {
    return this.idle.length;
  }

  /** Closes every connection; busy requests fail. */
  public destroy(): void {
    this.closed = true;
    for (const connection of [...this.open]) connection.abort();
  }

  /** @internal a connection finished a response and may serve another */
  public _release(connection: UpstreamConnection): void {
    if (this.closed || this.idle.length >= this.maxIdle) connection.abort();
    else this.idle.push(connection);
  }

  /** @internal a connection is gone */
  public _forget(connection: UpstreamConnection): void {
    this.open.delete(connection);
    const i = this.idle.indexOf(connection);
    if (i !== -1) this.idle.splice(i, 1);
  }
}

export class UpstreamConnection {
  private readonly pool: UpstreamPool;
  private readonly socket: SocketWithConnection;
  private listener: UpstreamListener | null = null;
  private state = State.Idle;
  private gone = false;
  private exchanges = 0;
  private reused = false;
  private received = false;
  private framing = BodyFraming.None;
  private requestEnded = false;
  private isHeadRequest = false;
  private keepAlive = true;
  private remaining = 0;
  private pending: Buffer | null = null;
  /** Bytes of `pending` already searched for the end of a head. */
  private pendingScanned = 0;
  /** Bytes of heads received for the exchange under way (1xx included), or of its trailer section. */
  private headBytes = 0;
  /** The head the listener has not been told yet (see upstreamHead): status 0 when none. */
  private heldStatus = 0;
  private heldReason = '';
  private heldHeaders: string[] = [];
  private error: string | null = null;
  private paused = false;

  constructor(pool: UpstreamPool) {
    this.pool = pool;
    const socket = net.connect({ host: pool.host, port: pool.port, noDelay: true }) as SocketWithConnection;
    socket[kConnection] = this;
    socket.on('data', onSocketData);
    socket.on('end', onSocketEnd);
    socket.on('error', onSocketError);
    socket.on('close', onSocketClose);
    socket.on('drain', onSocketDrain);
    this.socket = socket;
  }

  /**
   * Sends a request head: `head` holds the request line and header lines, each ending in CRLF (the
   * framing header included), without the final empty line. With a body, `write` and `end` follow.
   */
  public request(listener: UpstreamListener, method: string, head: string, framing: BodyFraming): void {
    this.listener = listener;
    this.reused = this.exchanges > 0;
    this.exchanges++;
    this.received = false;
    this.framing = framing;
    this.requestEnded = framing === BodyFraming.None;
    this.isHeadRequest = method === 'HEAD';
    this.keepAlive = true;
    this.headBytes = 0;
    this.heldStatus = 0;
    this.state = State.Head;
    this.socket.write(head + '\r\n', 'latin1');
  }

  /** A piece of the request body. False: wait for `upstreamDrain`. */
  public write(chunk: Buffer): boolean {
    if (this.listener === null || this.requestEnded || chunk.length === 0) return true;
    const socket = this.socket;
    if (this.framing === BodyFraming.Chunked) {
      socket.cork();
      socket.write(chunk.length.toString(16) + '\r\n', 'latin1');
      socket.write(chunk);
      const ok = socket.write('\r\n', 'latin1');
      socket.uncork();
      return ok;
    }
    return socket.write(chunk);
  }

  /** The request body is complete. */
  public end(): void {
    if (this.listener === null || this.requestEnded) return;
    this.requestEnded = true;
    if (this.framing === BodyFraming.Chunked) this.socket.write(CHUNK_END);
  }

  /** Holds writes until `uncork` (to send a head and the first body bytes together). */
  public cork(): void {
    this.socket.cork();
  }

  public uncork(): void {
    this.socket.uncork();
  }

  /** Stops reading the response (the client is slow). */
  public pause(): void {
    this.paused = true;
    this.socket.pause();
  }

  public resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.socket.resume();
  }

  /** Gives up the request under way: the connection is closed, the listener hears nothing more. */
  public abort(): void {
    this.listener = null;
    if (!this.gone) {
      this.gone = true;
      this.pool._forget(this);
    }
    this.socket.destroy();
  }

  /** @internal */
  public _data(data: Buffer): void {
    let buf = data;
    if (this.pending !== null) {
      buf = Buffer.concat([this.pending, data]);
      this.pending = null;
    }
    this.received = true;
    let pos = 0;
    while (pos < buf.length) {
      const listener = this.listener;
      if (listener === null) {
        // Bytes nobody asked for (after a complete response, or while idle): the connection is unusable.
        this.abort();
        return;
      }
      switch (this.state) {
        case State.Head: {
          // Bytes already searched (a head arriving in pieces) are not searched again.
          const scanned = pos === 0 ? this.pendingScanned : 0;
          this.pendingScanned = 0;
          const end = buf.indexOf(CRLFCRLF, scanned > 3 ? pos + scanned - 3 : pos);
          if (end === -1) {
            // A head with bare LF line ends would never end: refused at once, like one over the limit.
            if (this.headBytes + buf.length - pos > MAX_HEAD_BYTES || hasBareLf(buf, scanned > 0 ? pos + scanned : pos, pos)) {
              this.fail(UPSTREAM_PROTOCOL_ERROR);
              return;
            }
            this.pending = buf.subarray(pos);
            this.pendingScanned = buf.length - pos;
            return;
          }
          this.headBytes += end + 4 - pos;
          if (this.headBytes > MAX_HEAD_BYTES || !onlyFieldBytes(buf, pos, end)) {
            this.fail(UPSTREAM_PROTOCOL_ERROR);
            return;
          }
          const head = buf.toString('latin1', pos, end);
          pos = end + 4;
          const next = this.parseHead(head);
          if (next === HeadOutcome.Ended) return;
          if (next === HeadOutcome.Complete) this.complete(undefined, pos === buf.length);
          break;
        }
        case State.Length:
        case State.ChunkData: {
          if (this.heldStatus !== 0 && !this.tellHead(listener)) return;
          const available = buf.length - pos;
          if (available < this.remaining) {
            this.remaining -= available;
            if (!listener.upstreamBody(pos === 0 ? buf : buf.subarray(pos))) this.pause();
            return;
          }
          const piece = buf.subarray(pos, pos + this.remaining);
          pos += this.remaining;
          this.remaining = 0;
          if (this.state === State.Length) {
            this.complete(piece, pos === buf.length);
          } else {
            this.state = State.ChunkDataEnd;
            if (piece.length > 0 && !listener.upstreamBody(piece)) this.pause();
          }
          break;
        }
        case State.UntilClose:
          if (this.heldStatus !== 0 && !this.tellHead(listener)) return;
          if (!listener.upstreamBody(pos === 0 ? buf : buf.subarray(pos))) this.pause();
          return;
        case State.ChunkSize:
        case State.ChunkDataEnd:
        case State.Trailers: {
          const newline = buf.indexOf(10, pos);
          if (newline === -1) {
            if (buf.length - pos > MAX_LINE_BYTES) {
              this.fail(UPSTREAM_PROTOCOL_ERROR);
              return;
            }
            this.pending = buf.subarray(pos);
            return;
          }
          // Every line ends in CRLF: a bare LF is refused (llhttp does the same).
          if (newline === pos || buf[newline - 1] !== 13 || newline - pos > MAX_LINE_BYTES) {
            this.fail(UPSTREAM_PROTOCOL_ERROR);
            return;
          }
          if (!onlyFieldBytes(buf, pos, newline - 1)) {
            this.fail(UPSTREAM_PROTOCOL_ERROR);
            return;
          }
          const line = buf.toString('latin1', pos, newline - 1);
          pos = newline + 1;
          if (!this.chunkLine(line, pos === buf.length)) return;
          break;
        }
        case State.Idle:
          this.abort();
          return;
      }
    }
  }

  /** Parses the status line and headers; a final response's head is held for the listener (see tellHead). */
  private parseHead(head: string): HeadOutcome {
    // "HTTP/1.1 200 OK": the version, exactly three digits, then a space and a reason phrase, or nothing.
    if (!head.startsWith('HTTP/1.') || head.charCodeAt(8) !== 32) return this.fail(UPSTREAM_PROTOCOL_ERROR);
    const minor = head.charCodeAt(7) - 48;
    const d0 = head.charCodeAt(9) - 48;
    const d1 = head.charCodeAt(10) - 48;
    const d2 = head.charCodeAt(11) - 48;
    if ((minor !== 0 && minor !== 1) || !(d0 >= 1 && d0 <= 9) || !(d1 >= 0 && d1 <= 9) || !(d2 >= 0 && d2 <= 9)) {
      return this.fail(UPSTREAM_PROTOCOL_ERROR);
    }
    const status = d0 * 100 + d1 * 10 + d2;
    let lineEnd = head.indexOf('\r\n');
    if (lineEnd === -1) lineEnd = head.length;
    if (lineEnd > 12 && head.charCodeAt(12) !== 32) return this.fail(UPSTREAM_PROTOCOL_ERROR);
    const reason = lineEnd > 13 ? head.slice(13, lineEnd) : '';

    const headers: string[] = [];
    let contentLength = -1;
    let transferEncoding: string | null = null;
    let keepAlive = minor === 1;
    let connectionTokens: string | null = null;
    let start = lineEnd + 2;
    while (start < head.length) {
      let end = head.indexOf('\r\n', start);
      if (end === -1) end = head.length;
      const colon = head.indexOf(':', start);
      if (colon <= start || colon > end) return this.fail(UPSTREAM_PROTOCOL_ERROR);
      const name = head.slice(start, colon);
      const value = trimOws(head.slice(colon + 1, end));
      start = end + 2;
      // Also refuses obs-fold (a line starting with whitespace) and whitespace before the colon.
      if (!TOKEN.test(name)) return this.fail(UPSTREAM_PROTOCOL_ERROR);
      // Hop-by-hop headers (RFC 9110 §7.6.1) stop here; a name is lower-cased only when its length can match.
      switch (name.length) {
        case 2:
          if (name.toLowerCase() === 'te') continue;
          break;
        case 7: {
          const lower = name.toLowerCase();
          if (lower === 'upgrade' || lower === 'trailer') continue;
          break;
        }
        case 10: {
          const lower = name.toLowerCase();
          if (lower === 'connection') {
            connectionTokens = connectionTokens === null ? value : `${connectionTokens},${value}`;
            continue;
          }
          if (lower === 'keep-alive') continue;
          break;
        }
        case 14:
          if (name.toLowerCase() === 'content-length') {
            // One Content-Length, of digits (a second one, even equal, is refused: llhttp and nginx do too),
            // and no tab after them (llhttp refuses one there).
            if (contentLength !== -1 || !CONTENT_LENGTH.test(value) || tabAfterValue(head, end, colon)) return this.fail(UPSTREAM_PROTOCOL_ERROR);
            contentLength = Number(value);
          }
          break;
        case 16:
          if (name.toLowerCase() === 'proxy-connection') continue;
          break;
        case 17:
          if (name.toLowerCase() === 'transfer-encoding') {
            // Refused below unless it is the only one and exactly "chunked".
            transferEncoding = transferEncoding === null ? value : `${transferEncoding},${value}`;
            continue;
          }
          break;
        case 18:
          if (name.toLowerCase() === 'proxy-authenticate') continue;
          break;
        case 19:
          if (name.toLowerCase() === 'proxy-authorization') continue;
          break;
      }
      headers.push(name, value);
    }

    if (status < 200) {
      // 1xx: an interim response (100 Continue, 103 Early Hints); the real one follows. No upgrades.
      if (status === 101) return this.fail(UPSTREAM_PROTOCOL_ERROR);
      return HeadOutcome.Body;
    }
    // Framing the proxy cannot pass on unambiguously (RFC 9112 §6.1, §6.3): a coding other than chunked
    // (the client would get it undone without knowing), Transfer-Encoding beside a Content-Length (a
    // smuggling signature), or in an HTTP/1.0 response.
    if (transferEncoding !== null && (transferEncoding.length !== 7 || transferEncoding.toLowerCase() !== 'chunked' || contentLength !== -1 || minor === 0)) {
      return this.fail(UPSTREAM_PROTOCOL_ERROR);
    }
    const chunked = transferEncoding !== null;
    if (connectionTokens !== null) {
      keepAlive = connectionKeepsAlive(connectionTokens, keepAlive);
      dropListedHeaders(headers, connectionTokens);
    }
    this.keepAlive = keepAlive;
    let noBody = this.isHeadRequest;
    if (status === 204 || status === 304) {
      noBody = true;
      // A 204 or 304 that declares a body: not sent on, but the server may send one; the connection is not reused.
      if (chunked || contentLength > 0) this.keepAlive = false;
      // A 204 has no Content-Length (RFC 9110 §8.6; nginx drops it too).
      if (status === 204 && contentLength !== -1) dropHeader(headers, 'content-length');
    }
    this.heldStatus = status;
    this.heldReason = reason;
    this.heldHeaders = headers;
    if (noBody || (contentLength === 0 && !chunked)) return HeadOutcome.Complete;
    if (chunked) {
      this.state = State.ChunkSize;
      this.headBytes = 0;
    } else if (contentLength === -1) {
      this.state = State.UntilClose;
      this.keepAlive = false;
    } else {
      this.state = State.Length;
      this.remaining = contentLength;
    }
    return HeadOutcome.Body;
  }

  /** Tells the listener the held head; false when the listener gave the exchange up meanwhile. */
  private tellHead(listener: UpstreamListener): boolean {
    const status = this.heldStatus;
    this.heldStatus = 0;
    listener.upstreamHead(status, this.heldReason, this.heldHeaders);
    return this.listener === listener;
  }

  /** A line of chunked framing, without its CRLF; false when the exchange ended. */
  private chunkLine(line: string, atEnd: boolean): boolean {
    switch (this.state) {
      case State.ChunkSize: {
        const size = CHUNK_SIZE_LINE.exec(line);
        if (size === null) {
          this.fail(UPSTREAM_PROTOCOL_ERROR);
          return false;
        }
        const length = parseInt(size[1], 16);
        if (length === 0) {
          this.state = State.Trailers;
        } else {
          this.state = State.ChunkData;
          this.remaining = length;
        }
        return true;
      }
      case State.ChunkDataEnd:
        if (line !== '') {
          this.fail(UPSTREAM_PROTOCOL_ERROR);
          return false;
        }
        this.state = State.ChunkSize;
        return true;
      default: {
        // Trailer fields: checked like header fields, then dropped; an empty line ends the response.
        if (line === '') {
          this.complete(undefined, atEnd);
          return false;
        }
        const colon = line.indexOf(':');
        this.headBytes += line.length + 2;
        if (colon <= 0 || !TOKEN.test(line.slice(0, colon)) || this.headBytes > MAX_HEAD_BYTES) {
          this.fail(UPSTREAM_PROTOCOL_ERROR);
          return false;
        }
        return true;
      }
    }
  }

  /** The response is complete: hand the connection back (or close it), then tell the listener. */
  private complete(last: Buffer | undefined, nothingAfter: boolean): void {
    const listener = this.listener as UpstreamListener;
    if (this.heldStatus !== 0 && !this.tellHead(listener)) return;
    this.listener = null;
    this.state = State.Idle;
    // Reusable only when both sides of the exchange are done and nothing more came.
    if (this.keepAlive && this.requestEnded && nothingAfter && !this.gone) {
      this.resume();
      this.pool._release(this);
    } else {
      this.abort();
    }
    listener.upstreamEnd(last);
  }

  /** The exchange under way failed: close the connection, tell the listener. */
  private fail(code: string): HeadOutcome.Ended {
    const listener = this.listener;
    const retryable = this.reused && !this.received;
    this.abort();
    listener?.upstreamError(code, retryable);
    return HeadOutcome.Ended;
  }

  /** @internal */
  public _end(): void {
    // The server closed its side: a close-delimited body is now complete; anything else under way failed.
    if (this.listener !== null && this.state === State.UntilClose) {
      this.complete(undefined, true);
      return;
    }
    if (this.listener !== null) {
      this.fail(this.error ?? UPSTREAM_CLOSED);
      return;
    }
    this.abort();
  }

  /** @internal */
  public _error(error: NodeJS.ErrnoException): void {
    this.error = error.code ?? error.message;
  }

  /** @internal */
  public _close(): void {
    if (this.listener !== null) {
      if (this.state === State.UntilClose && this.error === null) this.complete(undefined, true);
      else this.fail(this.error ?? UPSTREAM_CLOSED);
      return;
    }
    if (!this.gone) {
      this.gone = true;
      this.pool._forget(this);
    }
  }

  /** @internal */
  public _drain(): void {
    this.listener?.upstreamDrain();
  }
}

/**
 * Whether `buf[start, end)` holds only what a head may (RFC 9110 §5.5, RFC 9112 §2.2): no control character
 * but HTAB, no DEL, CR and LF only as a CRLF line end (no bare LF, no bare CR). So nothing reaches Node's
 * server that it would refuse to send. A loop over the bytes: several times cheaper than a regular expression.
 */
function onlyFieldBytes(buf: Buffer, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const c = buf[i];
    if (c < 32) {
      if (c === 13 && i + 1 < end && buf[i + 1] === 10) i++;
      else if (c !== 9) return false;
    } else if (c === 127) {
      return false;
    }
  }
  return true;
}

/** Whether a LF from `from` on is not preceded by a CR (`start`: where the head begins). */
function hasBareLf(buf: Buffer, from: number, start: number): boolean {
  for (let i = buf.indexOf(10, from); i !== -1; i = buf.indexOf(10, i + 1)) {
    if (i === start || buf[i - 1] !== 13) return true;
  }
  return false;
}

/** A field value without the optional whitespace around it (SP and HTAB only: 0xA0 is a character). */
function trimOws(value: string): string {
  let start = 0;
  let end = value.length;
  while (start < end && (value.charCodeAt(start) === 32 || value.charCodeAt(start) === 9)) start++;
  while (end > start && (value.charCodeAt(end - 1) === 32 || value.charCodeAt(end - 1) === 9)) end--;
  return start === 0 && end === value.length ? value : value.slice(start, end);
}

/** Whether the whitespace after a field value (which ends at `end`; its colon at `colon`) holds a tab. */
function tabAfterValue(head: string, end: number, colon: number): boolean {
  for (let i = end - 1; i > colon; i--) {
    const c = head.charCodeAt(i);
    if (c === 9) return true;
    if (c !== 32) return false;
  }
  return false;
}

/** Whether the connection stays open after this response, by the Connection header's options. */
function connectionKeepsAlive(connectionTokens: string, byDefault: boolean): boolean {
  const tokens = connectionTokens.toLowerCase();
  if (tokens === 'keep-alive') return true;
  if (tokens === 'close') return false;
  let keepAlive = byDefault;
  for (const token of tokens.split(',')) {
    const option = token.trim();
    if (option === 'close') return false;
    if (option === 'keep-alive') keepAlive = true;
  }
  return keepAlive;
}

function dropHeader(headers: string[], lowerName: string): void {
  for (let i = headers.length - 2; i >= 0; i -= 2) {
    if (headers[i].toLowerCase() === lowerName) headers.splice(i, 2);
  }
}

const NO_NAMES: readonly string[] = [];

/**
 * The header names a Connection header lists, lower-cased: those headers are hop-by-hop too. Its usual
 * values, `keep-alive` and `close`, are options that name no header: empty, without allocating.
 */
export function listedHeaderNames(connectionTokens: string): readonly string[] {
  const tokens = connectionTokens.toLowerCase();
  if (tokens === 'keep-alive' || tokens === 'close') return NO_NAMES;
  return tokens
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t !== '' && t !== 'close' && t !== 'keep-alive');
}

/** Headers named in Connection are hop-by-hop too. */
function dropListedHeaders(headers: string[], connectionTokens: string): void {
  const listed = listedHeaderNames(connectionTokens);
  if (listed.length === 0) return;
  for (let i = headers.length - 2; i >= 0; i -= 2) {
    if (listed.includes(headers[i].toLowerCase())) headers.splice(i, 2);
  }
}

function connectionOf(socket: net.Socket): UpstreamConnection {
  return (socket as SocketWithConnection)[kConnection];
}
function onSocketData(this: net.Socket, data: Buffer): void {
  connectionOf(this)._data(data);
}
function onSocketEnd(this: net.Socket): void {
  connectionOf(this)._end();
}
function onSocketError(this: net.Socket, error: NodeJS.ErrnoException): void {
  connectionOf(this)._error(error);
}
function onSocketClose(this: net.Socket): void {
  connectionOf(this)._close();
}
function onSocketDrain(this: net.Socket): void {
  connectionOf(this)._drain();
}
