/**
 * The client's view: a strict, incremental parser of the bytes a client connection receives from the proxy.
 * Every response must be well-formed HTTP/1.1 (status line, header lines, one body framing), and the stream
 * may end cleanly between responses, or in the middle of a body (a response the proxy had to cut because
 * the user's server failed after its headers went out). Anything else is a violation.
 */
import { STATUS_CODES } from 'node:http';

export interface ParsedResponse {
  readonly status: number;
  readonly reason: string;
  /** Header names lower-cased, in order. */
  readonly headers: ReadonlyArray<readonly [string, string]>;
  /** The decoded body, when it is small (≤ 4 KiB); its length in `bodyLength` always. */
  readonly body: Buffer | undefined;
  readonly bodyLength: number;
}

/** How a connection's byte stream ended. */
export type StreamEnd =
  | 'clean' // between responses
  | 'cut-body' // in a body: a response cut short (allowed)
  | 'cut-head'; // in a response head: noted, not a violation

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const STATUS_LINE = /^HTTP\/1\.1 ([0-9]{3}) ([\t\x20-\x7e\x80-\xff]*)$/;
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
const CHUNK_SIZE = /^([0-9a-fA-F]{1,15})(?:[ \t]*;.*)?$/;
const MAX_KEPT_BODY = 4096;
const MAX_HEAD = 256 * 1024;

/** The error codes of the proxy's own JSON answers: their reason phrase must be the standard one. */
const PROXY_ERROR = /^\{"error":\s*"([a-z_]+)"/;

export function headerValue(response: ParsedResponse, name: string): string | undefined {
  for (const [n, v] of response.headers) if (n === name) return v;
  return undefined;
}

const enum State {
  Head,
  Length,
  ChunkSize,
  ChunkData,
  ChunkDataEnd,
  Trailers,
  UntilClose,
  Broken,
}

export class ResponseStream {
  /** Final responses (1xx interim ones are checked and skipped), in order. */
  public readonly responses: ParsedResponse[] = [];
  /** Interim (1xx) responses seen. */
  public interim = 0;
  /** The first violation: what was wrong, and where. */
  public violation: string | undefined;
  /** How many bytes were received. */
  public received = 0;
  /** The first 256 KiB received (for reproducers). */
  public readonly firstBytes: Buffer[] = [];
  private buf: Buffer = Buffer.alloc(0);
  private state = State.Head;
  private remaining = 0;
  private current: { status: number; reason: string; headers: Array<[string, string]> } | undefined;
  private bodyParts: Buffer[] = [];
  private bodyLength = 0;
  /** The last response answered a HEAD request (so it had no body). */
  private afterHead = false;

  /**
   * @param isHead whether final response number `index` answers a HEAD request: true, false, or undefined
   *   when the client cannot know (its requests were malformed on purpose); then a body is assumed absent
   *   exactly when the next bytes are another status line.
   */
  constructor(private readonly isHead: (index: number) => boolean | undefined) {}

  public push(data: Buffer): void {
    if (this.received < 256 * 1024) this.firstBytes.push(data.subarray(0, 256 * 1024 - this.received));
    this.received += data.length;
    if (this.state === State.Broken) return;
    this.buf = this.buf.length === 0 ? data : Buffer.concat([this.buf, data]);
    this.parse(false);
  }

  /** The connection closed: how the stream ended (a violation is recorded in `violation`). */
  public end(): StreamEnd {
    if (this.state === State.Broken) return 'clean';
    this.parse(true);
    if (this.state === State.UntilClose) {
      this.finish();
      return 'clean';
    }
    if (this.state === State.Head) {
      if (this.buf.length === 0) return 'clean';
      // A head cut short: what arrived must still be the start of a valid head.
      const text = this.buf.toString('latin1');
      const lines = text.split('\r\n');
      const first = lines[0];
      if (lines.length === 1) {
        if (!'HTTP/1.1 '.startsWith(first.slice(0, 9)) || (first.length > 9 && !/^HTTP\/1\.1 [0-9]{0,3}/.test(first))) {
          this.fail(`a response that does not start with a status line: ${preview(this.buf)}`);
        }
      } else if (!STATUS_LINE.test(first)) {
        this.fail(`an invalid status line: ${JSON.stringify(first)}`);
      }
      return 'cut-head';
    }
    return 'cut-body';
  }

  private fail(why: string): void {
    this.violation ??= why;
    this.state = State.Broken;
    this.buf = Buffer.alloc(0);
  }

  private parse(atEnd: boolean): void {
    let pos = 0;
    const buf = this.buf;
    loop: while (pos < buf.length && this.state !== State.Broken) {
      switch (this.state) {
        case State.Head: {
          const end = buf.indexOf('\r\n\r\n', pos, 'latin1');
          if (end === -1) {
            if (buf.length - pos > MAX_HEAD) this.fail(`a response head over ${MAX_HEAD} bytes`);
            else if (!'HTTP/1.1 '.startsWith(buf.toString('latin1', pos, Math.min(buf.length, pos + 9)))) {
              this.fail(`${this.afterHead ? 'after the response to a HEAD request, ' : ''}bytes that are not an HTTP/1.1 response: ${preview(buf.subarray(pos))}`);
            }
            break loop;
          }
          const headEnd = end + 4;
          if (!this.head(buf.toString('latin1', pos, end), buf, headEnd, atEnd)) break loop;
          pos = headEnd;
          break;
        }
        case State.Length: {
          const take = Math.min(this.remaining, buf.length - pos);
          this.body(buf.subarray(pos, pos + take));
          pos += take;
          this.remaining -= take;
          if (this.remaining === 0) this.finish();
          break;
        }
        case State.UntilClose:
          this.body(buf.subarray(pos));
          pos = buf.length;
          break;
        case State.ChunkData: {
          const take = Math.min(this.remaining, buf.length - pos);
          this.body(buf.subarray(pos, pos + take));
          pos += take;
          this.remaining -= take;
          if (this.remaining === 0) this.state = State.ChunkDataEnd;
          break;
        }
        case State.ChunkSize:
        case State.ChunkDataEnd:
        case State.Trailers: {
          const eol = buf.indexOf('\r\n', pos, 'latin1');
          if (eol === -1) {
            if (buf.length - pos > 8192) this.fail('a chunk-size or trailer line over 8 KiB');
            break loop;
          }
          const line = buf.toString('latin1', pos, eol);
          pos = eol + 2;
          this.chunkLine(line);
          break;
        }
      }
    }
    this.buf = this.state === State.Broken ? Buffer.alloc(0) : buf.subarray(pos);
  }

  /** A complete head: false when it cannot be decided yet (a HEAD-or-not question needs more bytes). */
  private head(text: string, buf: Buffer, bodyStart: number, atEnd: boolean): boolean {
    const lines = text.split('\r\n');
    const statusLine = STATUS_LINE.exec(lines[0]);
    if (statusLine === null) {
      this.fail(`an invalid status line: ${JSON.stringify(lines[0].slice(0, 200))}`);
      return false;
    }
    const status = Number(statusLine[1]);
    const reason = statusLine[2];
    if (status < 100) {
      this.fail(`status ${status} (not 100-999)`);
      return false;
    }
    const headers: Array<[string, string]> = [];
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      const name = colon === -1 ? '' : line.slice(0, colon);
      if (colon <= 0 || !TOKEN.test(name)) {
        this.fail(`an invalid header line: ${JSON.stringify(line.slice(0, 200))}`);
        return false;
      }
      const value = line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, '');
      if (!FIELD_VALUE.test(value)) {
        this.fail(`a header value with control characters: ${JSON.stringify(line.slice(0, 200))}`);
        return false;
      }
      headers.push([name.toLowerCase(), value]);
    }
    if (status === 101) {
      this.fail('101 Switching Protocols (the proxy does no upgrades)');
      return false;
    }
    if (status < 200) {
      this.interim++;
      return true;
    }

    const lengths = headers.filter(([n]) => n === 'content-length').map(([, v]) => v);
    const codings = headers
      .filter(([n]) => n === 'transfer-encoding')
      .flatMap(([, v]) => v.split(','))
      .map((c) => c.trim().toLowerCase());
    if (lengths.length > 0 && codings.length > 0) {
      this.fail(`both Content-Length and Transfer-Encoding (${lengths.join(', ')} / ${codings.join(', ')})`);
      return false;
    }
    let length = -1;
    for (const value of lengths.flatMap((v) => v.split(',')).map((v) => v.trim())) {
      if (!/^[0-9]{1,15}$/.test(value) || (length !== -1 && Number(value) !== length)) {
        this.fail(`an invalid or conflicting Content-Length: ${lengths.join(' | ')}`);
        return false;
      }
      length = Number(value);
    }

    const index = this.responses.length;
    let noBody = status === 204 || status === 304;
    this.afterHead = false;
    if (!noBody) {
      const head = this.isHead(index);
      if (head === true) noBody = this.afterHead = true;
      else if (head === undefined && length !== 0 && (codings.length > 0 || length > 0)) {
        // Unknown request method: a HEAD response is followed at once by the next status line (or the end).
        const next = buf.toString('latin1', bodyStart, Math.min(buf.length, bodyStart + 9));
        if (next.length < 9 && !atEnd && 'HTTP/1.1 '.startsWith(next)) return false;
        if (next === 'HTTP/1.1 ' || (atEnd && next === '')) noBody = true;
      }
    }
    this.current = { status, reason, headers };
    this.bodyParts = [];
    this.bodyLength = 0;
    if (noBody || (codings.length === 0 && length === 0)) {
      this.finish();
    } else if (codings.length > 0) {
      if (codings[codings.length - 1] === 'chunked') this.state = State.ChunkSize;
      else this.state = State.UntilClose;
    } else if (length > 0) {
      this.state = State.Length;
      this.remaining = length;
    } else {
      this.state = State.UntilClose;
    }
    return true;
  }

  private chunkLine(line: string): void {
    switch (this.state) {
      case State.ChunkSize: {
        const match = CHUNK_SIZE.exec(line);
        if (match === null) {
          this.fail(`an invalid chunk-size line: ${JSON.stringify(line.slice(0, 100))}`);
          return;
        }
        const size = parseInt(match[1], 16);
        if (size === 0) this.state = State.Trailers;
        else {
          this.state = State.ChunkData;
          this.remaining = size;
        }
        return;
      }
      case State.ChunkDataEnd:
        if (line !== '') this.fail(`chunk data longer than its size: ${JSON.stringify(line.slice(0, 100))}`);
        else this.state = State.ChunkSize;
        return;
      default:
        if (line === '') this.finish();
        else if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+:[\t\x20-\x7e\x80-\xff]*$/.test(line)) {
          this.fail(`an invalid trailer line: ${JSON.stringify(line.slice(0, 100))}`);
        }
    }
  }

  private body(piece: Buffer): void {
    if (piece.length === 0) return;
    this.bodyLength += piece.length;
    if (this.bodyLength <= MAX_KEPT_BODY) this.bodyParts.push(piece);
  }

  private finish(): void {
    const current = this.current!;
    const body = this.bodyLength <= MAX_KEPT_BODY ? Buffer.concat(this.bodyParts) : undefined;
    const response: ParsedResponse = { ...current, body, bodyLength: this.bodyLength };
    this.state = State.Head;
    this.current = undefined;
    this.bodyParts = [];
    // The proxy's own answers carry the standard reason phrase of their status (a 502 "OK" misleads).
    const proxyError = body === undefined ? null : PROXY_ERROR.exec(body.toString('latin1'));
    if (proxyError !== null && current.reason !== STATUS_CODES[current.status]) {
      this.fail(`the proxy's ${current.status} ${proxyError[1]} answer has the reason phrase ${JSON.stringify(current.reason)}`);
    }
    this.responses.push(response);
  }
}

/** Bytes for a message: escaped, the middle elided when long. */
export function preview(bytes: Buffer, max = 200): string {
  const text = bytes.toString('latin1');
  if (text.length <= max) return JSON.stringify(text);
  return `${JSON.stringify(text.slice(0, max / 2))}…(${text.length} bytes)…${JSON.stringify(text.slice(-max / 2))}`;
}
