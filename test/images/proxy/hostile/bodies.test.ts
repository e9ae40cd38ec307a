/**
 * Big bodies. A body over the limit gets its 413, and the client reads it: the proxy closes with a
 * lingering close (it reads and discards what the client still sends) instead of resetting the connection
 * under a client that is still uploading. A 1 GiB body streams through either way in bounded memory (the
 * proxy child's peak RSS, from /proc).
 */
import * as http from 'node:http';
import { HostileFixture, LOOPBACK, parseResponses, RawClient, residentMemory, startProxyProcess, UpstreamRequest } from './harness';

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

let fixture: HostileFixture;

beforeAll(async () => {
  fixture = await HostileFixture.start({ 'max-concurrency': 2, 'max-body-size': '1Mi', 'lingering-time': '5s' });
});
afterAll(async () => {
  await fixture?.stop();
});
beforeEach(async () => {
  await fixture.reset();
});
afterEach(async () => {
  await fixture.check();
});

/** Writes `total` bytes in `piece`-sized writes, waiting for each; stops at the first failed write. */
async function upload(client: RawClient, total: number, piece: Buffer): Promise<number> {
  let sent = 0;
  while (sent < total) {
    const part = total - sent >= piece.length ? piece : piece.subarray(0, total - sent);
    await client.write(part);
    sent += part.length;
  }
  return sent;
}

describe('413', () => {
  test('the client goes on uploading after the 413: its writes are read and discarded, then a clean close (no reset)', async () => {
    const client = await RawClient.connect(fixture.proxy.port, { keepWriting: true });
    try {
      await client.write(`POST /upload HTTP/1.1\r\nHost: api\r\nContent-Length: ${10 * MiB}\r\n\r\n`);
      await upload(client, 64 * 1024, Buffer.alloc(64 * 1024, 'a'));
      await client.waitFor(/"error":"body_too_large"/);
      // The proxy already answered; a client that only reads once its upload is done keeps writing.
      await upload(client, 8 * MiB, Buffer.alloc(256 * 1024, 'b'));
      client.end();
      const result = await client.closedWithin(5000);
      expect(result.error).toBeUndefined();
      expect(result.ended).toBe(true);
      expect(parseResponses(result.data).responses.map((r) => r.status)).toEqual([413]);
    } finally {
      client.destroy();
    }
    expect(fixture.upstream.requests.length).toBe(0);
  });

  test('a 300 MB upload written whole before reading: the client reads the 413', async () => {
    const client = await RawClient.connect(fixture.proxy.port, { keepWriting: true });
    try {
      const size = 300 * 1000 * 1000;
      await client.write(`POST /upload HTTP/1.1\r\nHost: api\r\nContent-Length: ${size}\r\n\r\n`);
      expect(await upload(client, size, Buffer.alloc(MiB, 'c'))).toBe(size);
      const text = await client.waitFor(/"error":"body_too_large"/, 10_000);
      expect(text).toMatch(/^HTTP\/1\.1 413 /);
    } finally {
      client.destroy();
    }
  }, 60_000);

  test('Expect: 100-continue with a body over the limit: 413 without a 100 Continue first', async () => {
    const client = await RawClient.connect(fixture.proxy.port);
    try {
      await client.write(`POST /upload HTTP/1.1\r\nHost: api\r\nContent-Length: ${10 * MiB}\r\nExpect: 100-continue\r\n\r\n`);
      const text = await client.waitFor(/"error":"body_too_large"/);
      expect(text).toMatch(/^HTTP\/1\.1 413 /);
      expect(text).not.toContain('100 Continue');
    } finally {
      client.destroy();
    }
  });

  test('Expect: 100-continue within the limit: 100 Continue, then the body goes through', async () => {
    const client = await RawClient.connect(fixture.proxy.port);
    try {
      await client.write('POST /upload HTTP/1.1\r\nHost: api\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n');
      await client.waitFor('HTTP/1.1 100 Continue');
      await client.write('hello');
      await client.waitFor('"bodyLength":5');
    } finally {
      client.destroy();
    }
  });

  test('a chunked body that grows past the limit: 413, lingering close', async () => {
    const client = await RawClient.connect(fixture.proxy.port, { keepWriting: true });
    try {
      await client.write('POST /upload HTTP/1.1\r\nHost: api\r\nTransfer-Encoding: chunked\r\n\r\n');
      const chunk = `${(256 * 1024).toString(16)}\r\n${'d'.repeat(256 * 1024)}\r\n`;
      for (let i = 0; i < 6; i++) await client.write(chunk);
      await client.waitFor(/"error":"body_too_large"/);
      for (let i = 0; i < 8; i++) await client.write(chunk);
      client.end();
      const result = await client.closedWithin(5000);
      expect(result.error).toBeUndefined();
      expect(parseResponses(result.data).responses.map((r) => r.status)).toEqual([413]);
    } finally {
      client.destroy();
    }
  });
});

describe('1 GiB bodies stream in bounded memory', () => {
  /**
   * Bytes the proxy child may grow by, at its peak, over its resident memory after a warm-up request: an eighth of
   * one body, so a body buffered whole (or a second copy of one) fails. Measured: ~45 MB on Node 20 and 22, ~88 MB
   * on Node 24, whose V8 sizes the young generation from the machine's memory (24 GiB here) and collects later.
   */
  const MAX_GROWTH = 128 * MiB;

  test('a 1 GiB upload and a 1 GiB download: the proxy\'s peak RSS stays within 128 MiB (an eighth of a body) of its idle RSS', async () => {
    const counting = (r: UpstreamRequest): void => {
      if (r.url === '/download') {
        const chunk = Buffer.alloc(4 * MiB, 'e');
        r.res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': String(GiB) });
        let sent = 0;
        const pump = (): void => {
          while (sent < GiB) {
            sent += chunk.length;
            if (!r.res.write(chunk)) {
              r.res.once('drain', pump);
              return;
            }
          }
          r.res.end();
        };
        pump();
        return;
      }
      let received = 0;
      r.req.on('data', (c: Buffer) => (received += c.length));
      r.req.on('end', () => r.res.end(String(received)));
    };
    const big = await startProxyProcess(fixture.upstream.port, { 'max-concurrency': 2, 'max-body-size': '2Gi' });
    await fixture.reset(counting);
    try {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      // Warm up: the first request's allocations are not the body's.
      await new Promise<void>((resolve, reject) =>
        http.request({ host: LOOPBACK, port: big.port, method: 'POST', path: '/warm', agent }, (res) => res.resume().on('end', resolve)).on('error', reject).end('x'),
      );
      const idle = residentMemory(big.pid).rss;

      const uploaded = await new Promise<string>((resolve, reject) => {
        const req = http.request({ host: LOOPBACK, port: big.port, method: 'POST', path: '/upload', agent, headers: { 'Content-Length': String(GiB) } }, (res) => {
          let text = '';
          res.on('data', (c: Buffer) => (text += c.toString()));
          res.on('end', () => resolve(text));
        });
        req.on('error', reject);
        const chunk = Buffer.alloc(4 * MiB, 'f');
        let sent = 0;
        const pump = (): void => {
          while (sent < GiB) {
            sent += chunk.length;
            if (!req.write(chunk)) {
              req.once('drain', pump);
              return;
            }
          }
          req.end();
        };
        pump();
      });
      expect(Number(uploaded)).toBe(GiB);

      const downloaded = await new Promise<number>((resolve, reject) => {
        http
          .get({ host: LOOPBACK, port: big.port, path: '/download', agent }, (res) => {
            let length = 0;
            res.on('data', (c: Buffer) => (length += c.length));
            res.on('end', () => resolve(length));
          })
          .on('error', reject);
      });
      expect(downloaded).toBe(GiB);
      agent.destroy();

      const { peak } = residentMemory(big.pid);
      expect(peak - idle).toBeLessThan(MAX_GROWTH);
    } finally {
      await big.stop();
    }
  }, 120_000);
});
