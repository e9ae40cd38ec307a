import * as net from 'node:net';
import {
  BodyFraming,
  MAX_HEAD_BYTES,
  UPSTREAM_CLOSED,
  UPSTREAM_PROTOCOL_ERROR,
  UpstreamListener,
  UpstreamPool,
} from '../../../images/proxy/src/upstream';
import { deferred, freePort, LOOPBACK, waitFor } from './util';

/** Records what a request through the pool is told. */
class Recorder implements UpstreamListener {
  public status = 0;
  public reason = '';
  public headers: string[] = [];
  public chunks: Buffer[] = [];
  public error: { code: string; retryable: boolean } | undefined;
  public drains = 0;
  public acceptBody = true;
  private readonly settled = deferred<'end' | 'error'>();
  public readonly outcome = this.settled.promise;

  public upstreamHead(status: number, reason: string, headers: string[]): void {
    this.status = status;
    this.reason = reason;
    this.headers = headers;
  }
  public upstreamBody(chunk: Buffer): boolean {
    this.chunks.push(Buffer.from(chunk));
    return this.acceptBody;
  }
  public upstreamEnd(last: Buffer | undefined): void {
    if (last !== undefined) this.chunks.push(Buffer.from(last));
    this.settled.resolve('end');
  }
  public upstreamError(code: string, retryable: boolean): void {
    this.error = { code, retryable };
    this.settled.resolve('error');
  }
  public upstreamDrain(): void {
    this.drains++;
  }
  public get body(): string {
    return Buffer.concat(this.chunks).toString('latin1');
  }
}

/** A TCP server the test scripts byte by byte: each accepted socket, with everything it received. */
class RawServer {
  public static async start(): Promise<RawServer> {
    const raw = new RawServer();
    await new Promise<void>((resolve) => raw.server.listen(0, LOOPBACK, () => resolve()));
    return raw;
  }
  public readonly sockets: net.Socket[] = [];
  private readonly received = new Map<net.Socket, string>();
  private readonly dataWaiters: Array<() => void> = [];
  private readonly socketWaiters: Array<(s: net.Socket) => void> = [];
  private taken = 0;
  public readonly server = net.createServer((socket) => {
    this.sockets.push(socket);
    this.received.set(socket, '');
    socket.on('data', (d) => {
      this.received.set(socket, this.received.get(socket) + d.toString('latin1'));
      this.dataWaiters.splice(0).forEach((w) => w());
    });
    socket.on('error', () => undefined);
    const waiter = this.socketWaiters.shift();
    if (waiter !== undefined) {
      this.taken++;
      waiter(socket);
    }
  });
  public get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }
  /** The next accepted socket not yet taken. */
  public nextSocket(): Promise<net.Socket> {
    if (this.taken < this.sockets.length) return Promise.resolve(this.sockets[this.taken++]);
    return new Promise((resolve) => this.socketWaiters.push(resolve));
  }
  /** Resolves with what `socket` received once it contains `text` `times` times. */
  public async receivedOn(socket: net.Socket, text: string, times = 1): Promise<string> {
    for (;;) {
      const all = this.received.get(socket) ?? '';
      if (all.split(text).length - 1 >= times) return all;
      await new Promise<void>((resolve) => this.dataWaiters.push(resolve));
    }
  }
  public async close(): Promise<void> {
    this.sockets.forEach((s) => s.destroy());
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

const GET = 'GET /x HTTP/1.1\r\nHost: model\r\n';

let raw: RawServer;
let pool: UpstreamPool;
beforeEach(async () => {
  raw = await RawServer.start();
  pool = new UpstreamPool(LOOPBACK, raw.port, 4);
});
afterEach(async () => {
  pool.destroy();
  await raw.close();
});

describe('UpstreamConnection: responses', () => {
  test('Content-Length: status, reason, headers in order with duplicates, body; the connection is reused', async () => {
    const first = new Recorder();
    pool.acquire().request(first, 'GET', GET, BodyFraming.None);
    const socket = await raw.nextSocket();
    expect(await raw.receivedOn(socket, '\r\n\r\n')).toBe(`${GET}\r\n`);
    socket.write('HTTP/1.1 201 Created Here\r\nSet-Cookie: a=1\r\nContent-Length: 5\r\nSet-Cookie: b=2\r\n\r\nhello');
    expect(await first.outcome).toBe('end');
    expect([first.status, first.reason, first.body]).toEqual([201, 'Created Here', 'hello']);
    expect(first.headers).toEqual(['Set-Cookie', 'a=1', 'Content-Length', '5', 'Set-Cookie', 'b=2']);
    expect(pool.idleCount).toBe(1);

    const second = new Recorder();
    pool.acquire().request(second, 'GET', GET, BodyFraming.None);
    await raw.receivedOn(socket, '\r\n\r\n', 2);
    socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
    expect(await second.outcome).toBe('end');
    expect(second.body).toBe('ok');
    expect(raw.sockets.length).toBe(1);
    expect(pool.size).toBe(1);
  });

  test('chunked: decoded, extensions and trailers dropped, Transfer-Encoding not passed on', async () => {
    const rec = new Recorder();
    pool.acquire().request(rec, 'GET', GET, BodyFraming.None);
    const socket = await raw.nextSocket();
    await raw.receivedOn(socket, '\r\n\r\n');
    socket.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-A: 1\r\n\r\n5;ext=1\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\nX-Trailer: t\r\n\r\n');
    expect(await rec.outcome).toBe('end');
    expect(rec.body).toBe('hello world');
    expect(rec.headers).toEqual(['X-A', '1']);
    expect(pool.idleCount).toBe(1);
  });

  test('every response, split at every byte, parses the same (partial heads, sizes, CRLFs, trailers)', async () => {
    const responses = [
      'HTTP/1.1 200 OK\r\nContent-Length: 11\r\nX-A: b\r\n\r\nhello world',
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\nT: 1\r\n\r\n',
      'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\nhello world',
    ];
    const probe = new Recorder();
    const connection = pool.acquire();
    connection.request(probe, 'GET', GET, BodyFraming.None);
    await raw.nextSocket();
    for (const response of responses) {
      const bytes = Buffer.from(response, 'latin1');
      for (let split = 1; split < bytes.length; split++) {
        const rec = new Recorder();
        // Drive the parser directly with two reads: the split lands in every state of the machine.
        connection.request(rec, 'GET', GET, BodyFraming.None);
        connection._data(bytes.subarray(0, split));
        connection._data(bytes.subarray(split));
        expect(await rec.outcome).toBe('end');
        expect(rec.status).toBe(200);
        expect(rec.body).toBe('hello world');
        // Back in the pool after each response: take it out again for the next round.
        expect(pool.acquire()).toBe(connection);
      }
    }
  });

  test('no Content-Length and no chunking: the body runs to the end of the connection, which is not reused', async () => {
    const rec = new Recorder();
    pool.acquire().request(rec, 'GET', GET, BodyFraming.None);
    const socket = await raw.nextSocket();
    await raw.receivedOn(socket, '\r\n\r\n');
    socket.write('HTTP/1.0 200 OK\r\n\r\npart one, ');
    socket.end('part two');
    expect(await rec.outcome).toBe('end');
    expect(rec.body).toBe('part one, part two');
    expect(pool.size).toBe(0);
  });

  test('1xx interim responses are skipped; 101 (upgrade) is refused', async () => {
    const { rec } = await exchangeOnce('HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
    expect([rec.status, rec.body]).toEqual([200, 'ok']);
    const upgrade = await exchangeOnce('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n');
    expect(upgrade.rec.error?.code).toBe(UPSTREAM_PROTOCOL_ERROR);
  });

  test('HEAD, 204 and 304 have no body; the connection stays reusable', async () => {
    for (const [method, response] of [
      ['HEAD', 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n'],
      ['HEAD', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n'],
      ['GET', 'HTTP/1.1 204 No Content\r\n\r\n'],
      ['GET', 'HTTP/1.1 304 Not Modified\r\nETag: "x"\r\n\r\n'],
    ]) {
      const { rec } = await exchangeOnce(response, method);
      expect(await rec.outcome).toBe('end');
      expect(rec.body).toBe('');
      expect(pool.idleCount).toBe(1);
    }
  });

  test('a 204 or 304 that declares a body: none is passed on, a 204 loses its Content-Length, the connection is not reused', async () => {
    for (const [response, headers] of [
      ['HTTP/1.1 204 No Content\r\nContent-Length: 5\r\nX-A: 1\r\n\r\n', ['X-A', '1']],
      ['HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n', ['Content-Length', '5']],
      ['HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n', []],
    ] as const) {
      const { rec } = await exchangeOnce(response);
      expect(await rec.outcome).toBe('end');
      expect([rec.body, rec.headers]).toEqual(['', headers]);
      // The body the server may send after it must never be read as the next response.
      expect(pool.size).toBe(0);
    }
  });

  test('every hop-by-hop header is dropped (RFC 9110 §7.6.1), with those named in Connection', async () => {
    const { rec } = await exchangeOnce(
      'HTTP/1.1 200 OK\r\nConnection: keep-alive, X-Hop\r\nKeep-Alive: timeout=5\r\nX-Hop: 1\r\nProxy-Connection: x\r\n' +
        'Proxy-Authenticate: Basic\r\nProxy-Authorization: Basic eA==\r\nTE: trailers\r\nTrailer: X-T\r\nUpgrade: h2c\r\n' +
        'Transfer-Encoding: chunked\r\nX-End: 2\r\n\r\n2\r\nok\r\n0\r\nX-T: 1\r\n\r\n',
    );
    expect(rec.headers).toEqual(['X-End', '2']);
    expect(rec.body).toBe('ok');
    expect(pool.idleCount).toBe(1);
  });

  test('Connection options are tokens: close among others closes, a header named like it does not', async () => {
    await exchangeOnce('HTTP/1.1 200 OK\r\nConnection: x-closed\r\nContent-Length: 0\r\n\r\n');
    expect(pool.idleCount).toBe(1);
    await exchangeOnce('HTTP/1.1 200 OK\r\nConnection: x-a, Close\r\nContent-Length: 0\r\n\r\n');
    expect(pool.size).toBe(0);
  });

  test('HTTP/1.0 with Connection: keep-alive is reused; without it, not', async () => {
    await exchangeOnce('HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n');
    expect(pool.idleCount).toBe(1);
    await exchangeOnce('HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n');
    expect(pool.size).toBe(0);
  });

  test('values keep their inner whitespace and obs-text, lose SP/HTAB around them; an empty reason is empty', async () => {
    const { rec } = await exchangeOnce('HTTP/1.1 200\r\nX-A: \t a  b\xa0 \t\r\nX-B:\r\nContent-Length: 0\r\n\r\n');
    expect([rec.status, rec.reason]).toEqual([200, '']);
    expect(rec.headers).toEqual(['X-A', 'a  b\xa0', 'X-B', '', 'Content-Length', '0']);
  });

  test('Connection: close from the server: the connection is not reused', async () => {
    await exchangeOnce('HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok');
    expect(pool.size).toBe(0);
  });

  test('bytes after a complete response: the connection is closed, never reused', async () => {
    const { rec } = await exchangeOnce('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA');
    expect(rec.body).toBe('ok');
    expect(pool.size).toBe(0);
  });

  test.each([
    ['a bad status line', 'HTTP/2.0 200 OK\r\n\r\n'],
    ['a status that is not a number', 'HTTP/1.1 2x0 OK\r\n\r\n'],
    ['a status in exponent form (1e2)', 'HTTP/1.1 1e2 OK\r\nContent-Length: 0\r\n\r\n'],
    ['a status of two digits', 'HTTP/1.1 20 OK\r\nContent-Length: 0\r\n\r\n'],
    ['a status of four digits', 'HTTP/1.1 2000 OK\r\nContent-Length: 0\r\n\r\n'],
    ['a status under 100', 'HTTP/1.1 099 Low\r\nContent-Length: 0\r\n\r\n'],
    ['a status with a sign', 'HTTP/1.1 +20 OK\r\nContent-Length: 0\r\n\r\n'],
    ['a control character in the reason', 'HTTP/1.1 200 O\x01K\r\nContent-Length: 0\r\n\r\n'],
    ['a header line without a colon', 'HTTP/1.1 200 OK\r\nNoColon\r\n\r\n'],
    ['whitespace before the colon', 'HTTP/1.1 200 OK\r\nContent-Length : 0\r\n\r\n'],
    ['a folded header line (obs-fold)', 'HTTP/1.1 200 OK\r\nX-A: 1\r\n continued\r\nContent-Length: 0\r\n\r\n'],
    ['a folded header line with a tab', 'HTTP/1.1 200 OK\r\nX-A: 1\r\n\tcontinued\r\nContent-Length: 0\r\n\r\n'],
    ['a bare LF inside the head', 'HTTP/1.1 200 OK\r\nX-A: 1\nX-B: 2\r\nContent-Length: 0\r\n\r\n'],
    ['a bare CR inside a value', 'HTTP/1.1 200 OK\r\nX-A: 1\rX-B: 2\r\nContent-Length: 0\r\n\r\n'],
    ['a NUL in a value', 'HTTP/1.1 200 OK\r\nX-A: a\x00b\r\nContent-Length: 0\r\n\r\n'],
    ['a control character in a value', 'HTTP/1.1 200 OK\r\nX-A: a\x1bb\r\nContent-Length: 0\r\n\r\n'],
    ['DEL in a value', 'HTTP/1.1 200 OK\r\nX-A: a\x7fb\r\nContent-Length: 0\r\n\r\n'],
    ['conflicting Content-Lengths', 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok'],
    ['duplicate equal Content-Lengths', 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok'],
    ['a Content-Length list', 'HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\n\r\nok'],
    ['a negative Content-Length', 'HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\nok'],
    ['a Content-Length with a sign', 'HTTP/1.1 200 OK\r\nContent-Length: +2\r\n\r\nok'],
    ['an empty Content-Length', 'HTTP/1.1 200 OK\r\nContent-Length: \r\n\r\nok'],
    ['a Content-Length over 2^53', 'HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999\r\n\r\nok'],
    ['Content-Length with Transfer-Encoding', 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n'],
    ['Transfer-Encoding with Content-Length', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 2\r\n\r\n2\r\nok\r\n0\r\n\r\n'],
    ['a coding other than chunked', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nxx'],
    ['a coding before chunked', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n2\r\nxx\r\n0\r\n\r\n'],
    ['chunked twice', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'],
    ['identity', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: identity\r\n\r\nxx'],
    ['Transfer-Encoding in HTTP/1.0', 'HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'],
    ['a bad chunk size', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n'],
    ['a chunk size with a sign', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n+2\r\nok\r\n0\r\n\r\n'],
    ['a chunk size with a 0x prefix', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0x2\r\nok\r\n0\r\n\r\n'],
    ['a chunk size with trailing whitespace', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2 \r\nok\r\n0\r\n\r\n'],
    ['a chunk size with leading whitespace', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n 2\r\nok\r\n0\r\n\r\n'],
    ['an empty chunk size', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\r\nok\r\n0\r\n\r\n'],
    ['a chunk size over 2^52', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000\r\nok\r\n'],
    ['a chunk extension without a name', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2;\r\nok\r\n0\r\n\r\n'],
    ['a control character in a chunk extension', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2;a=\x01\r\nok\r\n0\r\n\r\n'],
    ['whitespace before a chunk extension (llhttp refuses it too)', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2 ;a=b\r\nok\r\n0\r\n\r\n'],
    ['whitespace around = in a chunk extension', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2;a = b\r\nok\r\n0\r\n\r\n'],
    ['an empty chunk extension value', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2;a=\r\nok\r\n0\r\n\r\n'],
    ['a tab after a Content-Length (llhttp refuses it too)', 'HTTP/1.1 200 OK\r\nContent-Length: 2\t\r\n\r\nok'],
    ['an unterminated quoted chunk extension', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2;a="b\r\nok\r\n0\r\n\r\n'],
    ['a bare LF after a chunk size', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\nok\r\n0\r\n\r\n'],
    ['101 Switching Protocols (no upgrade was asked for)', 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n'],
    ['a bad interim response', 'HTTP/1.1 100 Continue\r\nX: \x01\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'],
    ['a head with bare LF line ends only', 'HTTP/1.1 200 OK\nContent-Length: 0\n\n'],
    ['CRLF before the status line', '\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'],
  ])('%s: UPSTREAM_PROTOCOL_ERROR before the listener heard of a response; the connection closed', async (_what, response) => {
    const { rec } = await exchangeOnce(response);
    expect(rec.error).toEqual({ code: UPSTREAM_PROTOCOL_ERROR, retryable: false });
    expect(rec.status).toBe(0);
    expect(pool.size).toBe(0);
  });

  test.each([
    ['a bare LF after chunk data', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\n0\r\n\r\n'],
    ['a chunk not followed by CRLF', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nokX\r\n'],
    ['a trailer line without a colon', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\nbad trailer\r\n\r\n'],
    ['a control character in a trailer', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\nT: \x01\r\n\r\n'],
  ])('%s, after the first body bytes: UPSTREAM_PROTOCOL_ERROR after the head and those bytes; the connection closed', async (_what, response) => {
    const { rec } = await exchangeOnce(response);
    expect([rec.status, rec.body]).toEqual([200, 'ok']);
    expect(rec.error).toEqual({ code: UPSTREAM_PROTOCOL_ERROR, retryable: false });
    expect(pool.size).toBe(0);
  });

  test.each([
    ['chunk extensions, quoted and bare', '2;a=b;c;d="x\\"y \\\\ z"\r\nok\r\n0;e\r\n\r\n'],
    ['leading zeros in a chunk size', '0000000000000000002\r\nok\r\n000\r\n\r\n'],
    ['upper- and lower-case hex', 'A\r\n0123456789\r\na\r\nabcdefghij\r\n0\r\n\r\n'],
  ])('chunked framing accepted: %s', async (_what, body) => {
    const { rec } = await exchangeOnce(`HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\n${body}`);
    expect(rec.error).toBeUndefined();
    expect(rec.body.length).toBeGreaterThan(0);
    expect(pool.idleCount).toBe(1);
  });

  test.each([['leading zeros', '0002'], ['spaces around it', ' 2 '], ['a tab before it', '\t2']])('a Content-Length with %s is its number', async (_what, value) => {
    const { rec } = await exchangeOnce(`HTTP/1.1 200 OK\r\nContent-Length:${value}\r\n\r\nok`);
    expect(rec.body).toBe('ok');
    expect(pool.idleCount).toBe(1);
  });

  test('a head that never ends: refused past 64 KiB', async () => {
    const { rec } = await exchangeOnce(`HTTP/1.1 200 OK\r\nX-Big: ${'a'.repeat(70 * 1024)}`);
    expect(rec.error?.code).toBe(UPSTREAM_PROTOCOL_ERROR);
  });

  test('a complete head over 64 KiB is refused; one just under it passes', async () => {
    const over = await exchangeOnce(`HTTP/1.1 200 OK\r\nX-Big: ${'a'.repeat(80 * 1024)}\r\nContent-Length: 0\r\n\r\n`);
    expect(over.rec.error?.code).toBe(UPSTREAM_PROTOCOL_ERROR);
    const prefix = 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\nX-Big: ';
    const under = await exchangeOnce(`${prefix}${'a'.repeat(MAX_HEAD_BYTES - prefix.length - 4)}\r\n\r\n`);
    expect(under.rec.error).toBeUndefined();
    expect(under.rec.status).toBe(200);
  });

  test('interim responses count toward the head limit: a storm of 100 Continue is refused', async () => {
    const { rec } = await exchangeOnce('HTTP/1.1 100 Continue\r\n\r\n'.repeat(3000) + 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n');
    expect(rec.error?.code).toBe(UPSTREAM_PROTOCOL_ERROR);
    expect(rec.status).toBe(0);
  });

  test('a head arriving one byte at a time is searched once (no quadratic rescans) and parses', async () => {
    const rec = new Recorder();
    const connection = pool.acquire();
    connection.request(rec, 'GET', GET, BodyFraming.None);
    await raw.nextSocket();
    const bytes = Buffer.from(`HTTP/1.1 200 OK\r\nX-A: ${'a'.repeat(20_000)}\r\nContent-Length: 2\r\n\r\nok`, 'latin1');
    for (let i = 0; i < bytes.length; i++) connection._data(bytes.subarray(i, i + 1));
    expect(await rec.outcome).toBe('end');
    expect(rec.body).toBe('ok');
  });

  test('a trailer section over 64 KiB is refused', async () => {
    const trailers = `T: ${'t'.repeat(4000)}\r\n`.repeat(20);
    const { rec } = await exchangeOnce(`HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n${trailers}\r\n`);
    expect(rec.error?.code).toBe(UPSTREAM_PROTOCOL_ERROR);
  });
});

describe('UpstreamConnection: the head waits for the body', () => {
  // The reads are driven directly: each lands whole, in order.
  test.each([
    ['chunked', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n', ['5\r\n', 'hello\r\n0\r\n\r\n']],
    ['Content-Length', 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n', ['hello']],
  ])('%s: the listener hears the head with the first body byte, not before', async (_what, head, rest) => {
    const rec = new Recorder();
    const connection = pool.acquire();
    connection.request(rec, 'GET', GET, BodyFraming.None);
    await raw.nextSocket();
    connection._data(Buffer.from(head, 'latin1'));
    expect(rec.status).toBe(0);
    for (const piece of rest) connection._data(Buffer.from(piece, 'latin1'));
    expect(await rec.outcome).toBe('end');
    expect([rec.status, rec.body]).toEqual([200, 'hello']);
  });

  test('a bad first chunk size in a later read than the head: an error, never a head', async () => {
    const rec = new Recorder();
    const connection = pool.acquire();
    connection.request(rec, 'GET', GET, BodyFraming.None);
    await raw.nextSocket();
    connection._data(Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n', 'latin1'));
    connection._data(Buffer.from('zz\r\n', 'latin1'));
    expect(await rec.outcome).toBe('error');
    expect([rec.status, rec.error?.code]).toEqual([0, UPSTREAM_PROTOCOL_ERROR]);
  });

  test('a close right after the head: UPSTREAM_CLOSED, never a head', async () => {
    const rec = new Recorder();
    pool.acquire().request(rec, 'GET', GET, BodyFraming.None);
    const socket = await raw.nextSocket();
    await raw.receivedOn(socket, '\r\n\r\n');
    socket.end('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n');
    expect(await rec.outcome).toBe('error');
    expect([rec.status, rec.error?.code]).toEqual([0, UPSTREAM_CLOSED]);
  });

  test('a close-delimited response with no body: the head, then the end', async () => {
    const rec = new Recorder();
    pool.acquire().request(rec, 'GET', GET, BodyFraming.None);
    const socket = await raw.nextSocket();
    await raw.receivedOn(socket, '\r\n\r\n');
    socket.end('HTTP/1.1 200 OK\r\nX-A: 1\r\n\r\n');
    expect(await rec.outcome).toBe('end');
    expect([rec.status, rec.headers, rec.body]).toEqual([200, ['X-A', '1'], '']);
  });

  test('a listener that gives up in upstreamHead hears nothing more', async () => {
    const connection = pool.acquire();
    const rec = new Recorder();
    rec.upstreamHead = () => connection.abort();
    connection.request(rec, 'GET', GET, BodyFraming.None);
    const socket = await raw.nextSocket();
    await raw.receivedOn(socket, '\r\n\r\n');
    const closed = new Promise((resolve) => socket.on('close', resolve));
    socket.write('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello');
    await closed;
    expect(rec.chunks).toEqual([]);
    expect(rec.error).toBeUndefined();
    expect(pool.size).toBe(0);
  });
});

describe('UpstreamConnection: bytes beyond the response', () => {
  test('more bytes than the Content-Length, in the same read: the connection is closed, never reused', async () => {
    const { rec } = await exchangeOnce('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nevil');
    expect(rec.body).toBe('ok');
    expect(pool.size).toBe(0);
  });

  test('more bytes than the Content-Length, later, while idle: the connection is closed before the next request', async () => {
    await exchangeOnce('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
    expect(pool.idleCount).toBe(1);
    const socket = raw.sockets[0];
    socket.write('HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nevil');
    await waitFor(() => pool.size === 0, 'the connection with stray bytes to be closed');
    const rec = new Recorder();
    pool.acquire().request(rec, 'GET', GET, BodyFraming.None);
    const fresh = await raw.nextSocket();
    expect(fresh).not.toBe(socket);
    await raw.receivedOn(fresh, '\r\n\r\n');
    fresh.write('HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\ngood');
    expect(await rec.outcome).toBe('end');
    expect(rec.body).toBe('good');
  });
});

describe('UpstreamConnection: failures', () => {
  test('nothing listening: ECONNREFUSED, not retryable', async () => {
    const closed = new UpstreamPool(LOOPBACK, await freePort(), 1);
    const rec = new Recorder();
    closed.acquire().request(rec, 'GET', GET, BodyFraming.None);
    expect(await rec.outcome).toBe('error');
    expect(rec.error).toEqual({ code: 'ECONNREFUSED', retryable: false });
    expect(closed.size).toBe(0);
  });

  test('the server closes mid-body: UPSTREAM_CLOSED after the head and the first bytes', async () => {
    const rec = new Recorder();
    pool.acquire().request(rec, 'GET', GET, BodyFraming.None);
    const socket = await raw.nextSocket();
    await raw.receivedOn(socket, '\r\n\r\n');
    socket.end('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhalf');
    expect(await rec.outcome).toBe('error');
    expect(rec.status).toBe(200);
    expect(rec.body).toBe('half');
    expect(rec.error).toEqual({ code: UPSTREAM_CLOSED, retryable: false });
  });

  test('a reused connection the server closes before answering: retryable (the keep-alive race)', async () => {
    await exchangeOnce('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n');
    const socket = raw.sockets[0];
    const rec = new Recorder();
    pool.acquire().request(rec, 'GET', GET, BodyFraming.None);
    await raw.receivedOn(socket, '\r\n\r\n', 2);
    socket.destroy();
    expect(await rec.outcome).toBe('error');
    expect(rec.error?.retryable).toBe(true);
  });

  test('an idle connection the server closes leaves the pool', async () => {
    await exchangeOnce('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n');
    expect(pool.idleCount).toBe(1);
    raw.sockets[0].end();
    await waitFor(() => pool.size === 0, 'the closed connection to leave the pool');
    expect(pool.idleCount).toBe(0);
  });

  test('abort: the listener hears nothing more and the connection is closed', async () => {
    const rec = new Recorder();
    const connection = pool.acquire();
    connection.request(rec, 'GET', GET, BodyFraming.None);
    const socket = await raw.nextSocket();
    await raw.receivedOn(socket, '\r\n\r\n');
    const serverSawClose = new Promise((resolve) => socket.on('close', resolve));
    connection.abort();
    await serverSawClose;
    expect(rec.error).toBeUndefined();
    expect(pool.size).toBe(0);
  });
});

describe('UpstreamConnection: request bodies and flow control', () => {
  test('Chunked framing: each write is a chunk, end() sends the last chunk', async () => {
    const rec = new Recorder();
    const connection = pool.acquire();
    connection.request(rec, 'POST', 'POST /p HTTP/1.1\r\nTransfer-Encoding: chunked\r\n', BodyFraming.Chunked);
    connection.write(Buffer.from('hello'));
    connection.write(Buffer.alloc(0));
    connection.write(Buffer.from('0123456789abcdef!'));
    connection.end();
    const socket = await raw.nextSocket();
    const received = await raw.receivedOn(socket, '0\r\n\r\n');
    expect(received).toBe('POST /p HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n11\r\n0123456789abcdef!\r\n0\r\n\r\n');
    socket.write('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n');
    expect(await rec.outcome).toBe('end');
    expect(pool.idleCount).toBe(1);
  });

  test('Length framing: bytes as they are; an answer before the whole body closes the connection', async () => {
    const rec = new Recorder();
    const connection = pool.acquire();
    connection.request(rec, 'POST', 'POST /p HTTP/1.1\r\nContent-Length: 10\r\n', BodyFraming.Length);
    connection.write(Buffer.from('01234'));
    const socket = await raw.nextSocket();
    await raw.receivedOn(socket, '01234');
    socket.write('HTTP/1.1 413 Too Large\r\nContent-Length: 0\r\n\r\n');
    expect(await rec.outcome).toBe('end');
    expect(rec.status).toBe(413);
    // The server may still be waiting for the rest of the body: never reuse that connection.
    expect(pool.size).toBe(0);
  });

  test('a listener that returns false pauses the connection until resume()', async () => {
    const rec = new Recorder();
    rec.acceptBody = false;
    const connection = pool.acquire();
    connection.request(rec, 'GET', GET, BodyFraming.None);
    const socket = await raw.nextSocket();
    await raw.receivedOn(socket, '\r\n\r\n');
    socket.write('HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nabc');
    await waitFor(() => rec.chunks.length > 0, 'the first body bytes');
    expect((connection as unknown as { socket: net.Socket }).socket.isPaused()).toBe(true);
    socket.write('def');
    connection.resume();
    expect(await rec.outcome).toBe('end');
    expect(rec.body).toBe('abcdef');
    // Handed back flowing.
    expect((connection as unknown as { socket: net.Socket }).socket.isPaused()).toBe(false);
  });
});

describe('UpstreamPool', () => {
  test('keeps at most maxIdle idle connections, most recently used first', async () => {
    const small = new UpstreamPool(LOOPBACK, raw.port, 1);
    const recs = [new Recorder(), new Recorder()];
    const connections = recs.map((rec) => {
      const c = small.acquire();
      c.request(rec, 'GET', GET, BodyFraming.None);
      return c;
    });
    expect(connections[0]).not.toBe(connections[1]);
    const sockets = [await raw.nextSocket(), await raw.nextSocket()];
    for (const s of sockets) {
      await raw.receivedOn(s, '\r\n\r\n');
      s.write('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n');
    }
    await Promise.all(recs.map((r) => r.outcome));
    expect(small.idleCount).toBe(1);
    expect(small.size).toBe(1);
    small.destroy();
    expect(small.size).toBe(0);
    expect(() => small.acquire()).toThrow(/closed/);
  });
});

/** One GET (or `method`) on a pooled connection, answered with `response`. */
async function exchangeOnce(response: string, method = 'GET'): Promise<{ rec: Recorder }> {
  const rec = new Recorder();
  const reuse = pool.idleCount > 0;
  pool.acquire().request(rec, method, `${method} /x HTTP/1.1\r\nHost: model\r\n`, BodyFraming.None);
  const socket = reuse ? raw.sockets[raw.sockets.length - 1] : await raw.nextSocket();
  await raw.receivedOn(socket, '\r\n\r\n', requestsSeen.get(socket) ?? 1);
  requestsSeen.set(socket, (requestsSeen.get(socket) ?? 1) + 1);
  socket.write(Buffer.from(response, 'latin1'));
  await rec.outcome;
  return { rec };
}
const requestsSeen = new Map<net.Socket, number>();
