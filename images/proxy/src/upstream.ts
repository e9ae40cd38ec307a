/**
 * The connection to the user's server: a keep-alive pool of plain TCP connections and a small HTTP/1.1
 * client over them. Node's `http.request` costs about as much CPU per request as the whole rest of the
 * proxy (agent bookkeeping, a parser, streams per request); this client writes the request head as one
 * string and parses the response itself, allocation-light, so the proxy adds little latency.
 *
 * Scope, on purpose: one request at a time per connection (no pipelining); response bodies framed by
 * Content-Length, chunked encoding or the connection's end; 1xx interim responses skipped; no upgrades.
 * The client side of the proxy stays Node's hardened HTTP server: only what the user's server answers
 * is parsed here, strictly (anything unexpected is a 502, never a crash).
 */
import * as net from 'node:net';

/** What a request through an {@link UpstreamConnection} is told. Each method is called at most once, except `body`. */
export interface UpstreamListener {
  /** The response's status and headers (hop-by-hop ones removed), before any body. */
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

const MAX_HEAD_BYTES = 64 * 1024;
const MAX_LINE_BYTES = 8 * 1024;
const CRLFCRLF = Buffer.from('\r\n\r\n', 'latin1');
const CHUNK_END = Buffer.from('0\r\n\r\n', 'latin1');
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const HEX = /^[0-9a-fA-F]{1,13}$/;

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
          const end = buf.indexOf(CRLFCRLF, pos);
          if (end === -1) {
            if (buf.length - pos > MAX_HEAD_BYTES) {
              this.fail(UPSTREAM_PROTOCOL_ERROR);
              return;
            }
            this.pending = buf.subarray(pos);
            return;
          }
          const head = buf.toString('latin1', pos, end);
          pos = end + 4;
          const next = this.parseHead(head, listener);
          if (next === HeadOutcome.Ended) return;
          if (next === HeadOutcome.Complete) this.complete(undefined, pos === buf.length);
          break;
        }
        case State.Length:
        case State.ChunkData: {
          const available = buf.length - pos;
          if (available < this.remaining) {
            this.remaining -= available;
            if (!listener.upstreamBody(buf.subarray(pos))) this.pause();
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
          const lineEnd = newline > pos && buf[newline - 1] === 13 ? newline - 1 : newline;
          const line = buf.toString('latin1', pos, lineEnd);
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

  /** Parses the status line and headers, and tells the listener. */
  private parseHead(head: string, listener: UpstreamListener): HeadOutcome {
    // "HTTP/1.1 200 OK"
    if (!head.startsWith('HTTP/1.') || head.charCodeAt(8) !== 32) return this.fail(UPSTREAM_PROTOCOL_ERROR);
    const minor = head.charCodeAt(7) - 48;
    const status = Number(head.slice(9, 12));
    if ((minor !== 0 && minor !== 1) || !Number.isInteger(status) || status < 100 || status > 999) {
      return this.fail(UPSTREAM_PROTOCOL_ERROR);
    }
    let lineEnd = head.indexOf('\r\n');
    if (lineEnd === -1) lineEnd = head.length;
    const reason = head.length > 13 ? head.slice(13, lineEnd) : '';
    if (head.length > 12 && lineEnd > 12 && head.charCodeAt(12) !== 32) return this.fail(UPSTREAM_PROTOCOL_ERROR);

    const headers: string[] = [];
    let contentLength = -1;
    let chunked = false;
    let transferEncoding = false;
    let keepAlive = minor === 1;
    let connectionTokens: string | null = null;
    let start = lineEnd + 2;
    while (start < head.length) {
      let end = head.indexOf('\r\n', start);
      if (end === -1) end = head.length;
      const colon = head.indexOf(':', start);
      if (colon <= start || colon > end) return this.fail(UPSTREAM_PROTOCOL_ERROR);
      const name = head.slice(start, colon);
      const value = head.slice(colon + 1, end).trim();
      start = end + 2;
      if (!TOKEN.test(name)) return this.fail(UPSTREAM_PROTOCOL_ERROR);
      switch (name.length) {
        case 10: {
          const lower = name.toLowerCase();
          if (lower === 'connection') {
            const tokens = value.toLowerCase();
            if (tokens.includes('close')) keepAlive = false;
            else if (tokens.includes('keep-alive')) keepAlive = true;
            connectionTokens = connectionTokens === null ? tokens : `${connectionTokens},${tokens}`;
            continue;
          }
          if (lower === 'keep-alive') continue;
          break;
        }
        case 14:
          if (name.toLowerCase() === 'content-length') {
            const length = /^\d{1,15}$/.test(value) ? Number(value) : NaN;
            if (Number.isNaN(length) || (contentLength !== -1 && contentLength !== length)) return this.fail(UPSTREAM_PROTOCOL_ERROR);
            contentLength = length;
          }
          break;
        case 16:
          if (name.toLowerCase() === 'proxy-connection') continue;
          break;
        case 17:
          if (name.toLowerCase() === 'transfer-encoding') {
            transferEncoding = true;
            chunked = /(?:^|,)\s*chunked\s*$/i.test(value);
            continue;
          }
          break;
      }
      headers.push(name, value);
    }

    if (status < 200) {
      // 1xx: an interim response (100 Continue, 103 Early Hints); the real one follows. No upgrades.
      if (status === 101) return this.fail(UPSTREAM_PROTOCOL_ERROR);
      return HeadOutcome.Body;
    }
    if (connectionTokens !== null) dropListedHeaders(headers, connectionTokens);
    this.keepAlive = keepAlive;
    const noBody = this.isHeadRequest || status === 204 || status === 304;
    if (transferEncoding && contentLength !== -1) {
      // Both: Transfer-Encoding wins, and the length must not reach the client.
      dropHeader(headers, 'content-length');
      contentLength = -1;
    }
    listener.upstreamHead(status, reason, headers);
    if (this.listener !== listener) return HeadOutcome.Ended;
    if (noBody || (contentLength === 0 && !transferEncoding)) return HeadOutcome.Complete;
    if (chunked) {
      this.state = State.ChunkSize;
    } else if (transferEncoding || contentLength === -1) {
      this.state = State.UntilClose;
      this.keepAlive = false;
    } else {
      this.state = State.Length;
      this.remaining = contentLength;
    }
    return HeadOutcome.Body;
  }

  /** A line of chunked framing; false when the exchange ended. */
  private chunkLine(line: string, atEnd: boolean): boolean {
    switch (this.state) {
      case State.ChunkSize: {
        const semicolon = line.indexOf(';');
        const size = (semicolon === -1 ? line : line.slice(0, semicolon)).trim();
        if (!HEX.test(size)) {
          this.fail(UPSTREAM_PROTOCOL_ERROR);
          return false;
        }
        const length = parseInt(size, 16);
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
      default:
        // Trailers are dropped; an empty line ends the response.
        if (line === '') {
          this.complete(undefined, atEnd);
          return false;
        }
        return true;
    }
  }

  /** The response is complete: hand the connection back (or close it), then tell the listener. */
  private complete(last: Buffer | undefined, nothingAfter: boolean): void {
    const listener = this.listener as UpstreamListener;
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
