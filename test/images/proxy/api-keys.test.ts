/**
 * API keys: the file's format, the constant-time comparison (every hash compared, through timingSafeEqual),
 * where a request's key comes from, and the real `cortex-proxy` (the compiled main.js) on loopback sockets:
 * 401/200, the header stripped, rotation without a restart (a rewritten file, a Secret volume's symlink swap),
 * a bad file at start (exit 2) or on a re-read (the old keys stay), probes and slots untouched by 401s.
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ApiKeys, ApiKeysFileError, credentialOf, DigestEquals, hashKey, parseApiKeys, verifyKey } from '../../../images/proxy/src/api-keys';
import { parseCommandLine } from '../../../images/proxy/src/config';
import { Log } from '../../../images/proxy/src/log';
import {
  adminGet,
  expectHealthy,
  PROXY_MAIN,
  ProxyProcess,
  RawClient,
  RecordingUpstream,
  scrape,
  startProxyProcess,
  statusesOf,
  until,
  UpstreamRequest,
} from './hostile/harness';
import { send } from './util';

const sha256 = (key: string): string => createHash('sha256').update(key).digest('hex');
const newKey = (): string => `ck_${randomBytes(24).toString('base64url')}`;

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cortex-api-keys-'));
});
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Counts the comparisons, and makes them with timingSafeEqual. */
function countingEquals(): { equals: DigestEquals; calls: Array<[Buffer, Buffer]> } {
  const calls: Array<[Buffer, Buffer]> = [];
  return {
    calls,
    equals: (a, b) => {
      calls.push([a, b]);
      return timingSafeEqual(a, b);
    },
  };
}


/**
 * Rewrites a keys file the way a Secret volume (and most editors) do: a new file renamed over the old one, so the
 * proxy's poll never reads it half-written (an empty file is a valid one: no keys).
 */
function replaceFile(file: string, text: string): void {
  fs.writeFileSync(`${file}.new`, text);
  fs.renameSync(`${file}.new`, file);
}

describe('the keys file', () => {
  test('hashes, comment lines, trailing comments, blank lines and CRLF', () => {
    // GIVEN
    const a = sha256('a');
    const b = sha256('b').toUpperCase();
    const text = `# keys of iris\n\n${a}\r\n  ${b}   # id=k1 created=2024-05-01T00:00:00Z\n`;
    // WHEN
    const hashes = parseApiKeys(text, 'keys');
    // THEN
    expect(hashes.map((h) => h.toString('hex'))).toEqual([a, b.toLowerCase()]);
  });

  test('an empty file: no keys', () => {
    expect(parseApiKeys('', 'keys')).toEqual([]);
  });

  test.each([
    ['a raw key instead of its hash', 'ck_abcdefghijklmnop', /^sha256:3: not a SHA-256 hash \(got 19 characters that are not a hex hash; the line is not shown/],
    ['a hash one digit short', 'a'.repeat(63), /^sha256:3: not a SHA-256 hash \(got 63 hex digits;/],
    ['two hashes on one line', `${'a'.repeat(64)} ${'b'.repeat(64)}`, /^sha256:3: not a SHA-256 hash/],
  ])('%s: FILE:LINE, what is allowed, and not the line itself', (_, line, message) => {
    // GIVEN
    const text = `${sha256('a')}\n# comment\n${line}\n`;
    // WHEN
    const parse = (): Buffer[] => parseApiKeys(text, 'sha256');
    // THEN
    expect(parse).toThrow(ApiKeysFileError);
    expect(parse).toThrow(message);
    expect(parse).toThrow(/64 hex digits .*a # comment.*blank line/);
    try {
      parse();
    } catch (error) {
      expect((error as Error).message).not.toContain(line);
    }
  });
});

describe('the comparison', () => {
  const keys = ['k-one', 'k-two', 'k-three', 'k-four'];
  const hashes = keys.map((k) => Buffer.from(sha256(k), 'hex'));

  test.each([
    ['the first line', 'k-one', true],
    ['the last line', 'k-four', true],
    ['no line', 'k-five', false],
  ])('a key on %s: every hash compared through timingSafeEqual, equal-length digests', (_, key, expected) => {
    // GIVEN
    const { equals, calls } = countingEquals();
    // WHEN
    const result = verifyKey(key, hashes, equals);
    // THEN
    expect(result).toBe(expected);
    expect(calls).toHaveLength(hashes.length);
    calls.forEach(([digest, stored], i) => {
      expect(digest).toEqual(hashKey(key));
      expect(digest).toHaveLength(32);
      expect(stored).toBe(hashes[i]);
    });
  });

  test('the default comparison is crypto.timingSafeEqual', () => {
    expect(verifyKey('k-two', hashes)).toBe(true);
    expect(verifyKey('k-two ', hashes)).toBe(false);
  });

  test('ApiKeys.accepts goes through the comparison for every hash of the file, and refuses no key without one', () => {
    // GIVEN
    const file = path.join(dir, 'counted');
    fs.writeFileSync(file, hashes.map((h) => h.toString('hex')).join('\n'));
    const { equals, calls } = countingEquals();
    const apiKeys = ApiKeys.load(file, { pollIntervalMs: 60_000, log: new Log(() => undefined), equals });
    try {
      // WHEN / THEN
      expect(apiKeys.accepts('k-one')).toBe(true);
      expect(calls).toHaveLength(4);
      expect(apiKeys.accepts('nope')).toBe(false);
      expect(calls).toHaveLength(8);
      expect(apiKeys.accepts(undefined)).toBe(false);
      expect(calls).toHaveLength(8);
    } finally {
      apiKeys.close();
    }
  });
});

describe("a request's key", () => {
  test.each<[string, string[], ReturnType<typeof credentialOf>]>([
    ['none', ['Host', 'a'], { header: undefined, key: undefined }],
    ['Authorization: Bearer', ['Authorization', 'Bearer ck_1'], { header: 'authorization', key: 'ck_1' }],
    ['the scheme in any case', ['authorization', 'bEaReR   ck_1'], { header: 'authorization', key: 'ck_1' }],
    ['x-api-key', ['X-Api-Key', 'ck_2'], { header: 'x-api-key', key: 'ck_2' }],
    ['x-api-key wins; Authorization is the app\'s', ['Authorization', 'Basic dTpw', 'x-api-key', 'ck_2'], { header: 'x-api-key', key: 'ck_2' }],
    ['two x-api-key: ambiguous, no key', ['x-api-key', 'ck_2', 'x-api-key', 'ck_3'], { header: 'x-api-key', key: undefined }],
    ['an empty x-api-key', ['x-api-key', ''], { header: 'x-api-key', key: undefined }],
    ['another scheme only', ['Authorization', 'Basic dTpw'], { header: undefined, key: undefined }],
    ['Bearer without a token', ['Authorization', 'Bearer'], { header: undefined, key: undefined }],
    ['two Authorization headers', ['Authorization', 'Bearer a', 'Authorization', 'Bearer b'], { header: undefined, key: undefined }],
  ])('%s', (_, raw, expected) => {
    expect(credentialOf(raw)).toEqual(expected);
  });
});

describe('the flags', () => {
  test('--api-keys-file, --api-keys-interval and --api-name, and their variables', () => {
    const command = parseCommandLine(['--api-keys-file', '/etc/keys/sha256', '--api-name', 'iris'], { CORTEX_PROXY_API_KEYS_INTERVAL: '500ms' });
    expect(command).toMatchObject({ config: { apiKeysFile: '/etc/keys/sha256', apiName: 'iris', apiKeysIntervalMs: 500 } });
    expect(parseCommandLine([], { CORTEX_PROXY_API_KEYS_FILE: '/k' })).toMatchObject({ config: { apiKeysFile: '/k' } });
    expect(parseCommandLine([])).toMatchObject({ config: { apiKeysFile: undefined, apiName: 'api', apiKeysIntervalMs: 2000 } });
  });

  test('a realm that would need escaping is refused', () => {
    expect(() => parseCommandLine(['--api-name', 'a"b'])).toThrow(/--api-name \("a\\"b"\) must be a name of letters, digits/);
  });
});

describe('cortex-proxy with --api-keys-file', () => {
  let upstream: RecordingUpstream;
  let proxy: ProxyProcess;
  let keysFile: string;
  let key: string;
  const held: UpstreamRequest[] = [];
  const sentKeys: string[] = [];

  /** `/hold` waits in the user server until the test answers; anything else is a 200 at once. */
  const holdOrAnswer = (request: UpstreamRequest): void => {
    if (request.url === '/hold') held.push(request);
    else request.res.writeHead(200, { 'Content-Type': 'text/plain' }).end('ok');
  };
  const get = (headers: Record<string, string> = {}, urlPath = '/predict'): ReturnType<typeof send> => send(proxy.port, { path: urlPath, headers });

  beforeAll(async () => {
    upstream = await RecordingUpstream.start(holdOrAnswer);
    key = newKey();
    sentKeys.push(key);
    keysFile = path.join(dir, 'keys');
    fs.writeFileSync(keysFile, `# two keys\n${sha256(key)}\n${sha256('another')}\n`);
    proxy = await startProxyProcess(upstream.port, {
      'api-keys-file': keysFile,
      'api-keys-interval': '20ms',
      'api-name': 'iris',
      'max-concurrency': 1,
      'max-queue-length': 0,
    });
  });

  afterAll(async () => {
    await proxy?.stop();
    await upstream?.close();
  });

  afterEach(async () => {
    await expectHealthy(proxy, null);
  });

  test('it says at start that keys are required, and how many', () => {
    expect(proxy.output()).toContain(`API keys required (2 key hashes from ${keysFile})`);
  });

  test('no key: 401 with WWW-Authenticate naming the API, before the user server', async () => {
    // WHEN
    const reply = await get();
    // THEN
    expect(reply.status).toBe(401);
    expect(reply.headers['www-authenticate']).toBe('Bearer realm="iris"');
    expect(JSON.parse(reply.text)).toEqual({ error: 'unauthorized', message: expect.stringContaining('"Authorization: Bearer <key>" or "x-api-key: <key>"') });
    expect(upstream.requests).toHaveLength(0);
  });

  test('a wrong key, in either header: 401 invalid_token', async () => {
    for (const headers of [{ authorization: 'Bearer ck_wrong' } as Record<string, string>, { 'x-api-key': 'ck_wrong' }, { 'x-api-key': key.slice(0, -1) }]) {
      const reply = await get(headers);
      expect(reply.status).toBe(401);
      expect(reply.headers['www-authenticate']).toBe('Bearer realm="iris", error="invalid_token"');
    }
    expect(upstream.requests).toHaveLength(0);
  });

  test('the key as Authorization: Bearer or as x-api-key: 200, and the user server never sees it', async () => {
    // WHEN
    const bearer = await get({ authorization: `Bearer ${key}` });
    const apiKey = await get({ 'x-api-key': key, authorization: 'Basic dXNlcjpwYXNz' });
    // THEN
    expect(bearer.status).toBe(200);
    expect(apiKey.status).toBe(200);
    const [first, second] = upstream.requests;
    expect(first.headers('authorization')).toEqual([]);
    expect(second.headers('x-api-key')).toEqual([]);
    // x-api-key carried the key: the app's own Authorization goes through.
    expect(second.headers('authorization')).toEqual(['Basic dXNlcjpwYXNz']);
    upstream.reset(holdOrAnswer);
  });

  test('401s are counted under code="401"; the keys loaded are a gauge', async () => {
    // GIVEN
    const before = (await scrape(proxy)).get('cortex_requests_total{code="401"}') ?? 0;
    // WHEN
    await get();
    await get({ 'x-api-key': 'wrong' });
    // THEN
    const samples = await scrape(proxy);
    expect(samples.get('cortex_requests_total{code="401"}')).toBe(before + 2);
    expect(samples.get('cortex_api_keys')).toBe(2);
  });

  test('the admin port (the kubelet probes, Prometheus) needs no key', async () => {
    expect(await adminGet(proxy, '/healthz')).toContain('"ready":true');
    expect(await adminGet(proxy, '/metrics')).toContain('cortex_in_flight_requests');
  });

  test('unauthenticated requests take no slot: with the one slot busy and no queue, they get 401, not 503', async () => {
    // GIVEN the only slot held by a request with the key
    const client = await RawClient.connect(proxy.port);
    await client.write(`GET /hold HTTP/1.1\r\nHost: api\r\nx-api-key: ${key}\r\n\r\n`);
    await upstream.received(1);
    // WHEN 30 requests without a valid key arrive
    const flood = await Promise.all(
      Array.from({ length: 30 }, (_, i) => get(i % 2 === 0 ? {} : { authorization: `Bearer wrong-${i}` }, `/flood/${i}`)),
    );
    // THEN every one is a 401, none reached the user server, the slot is still the one request's
    expect(flood.map((r) => r.status)).toEqual(Array(30).fill(401));
    const samples = await scrape(proxy);
    expect(samples.get('cortex_in_flight_requests')).toBe(1);
    expect(samples.get('cortex_requests_total{code="503"}')).toBeUndefined();
    expect(upstream.requests).toHaveLength(1);
    held.splice(0).forEach((h) => h.res.end('done'));
    await client.waitFor('done');
    client.destroy();
    upstream.reset(holdOrAnswer);
  });

  test('a body without a key is not asked for: no 100 Continue, 401, the connection closes', async () => {
    // GIVEN
    const client = await RawClient.connect(proxy.port);
    // WHEN
    await client.write('POST /predict HTTP/1.1\r\nHost: api\r\nContent-Length: 1000000\r\nExpect: 100-continue\r\n\r\n');
    const result = await client.closedWithin(5000);
    // THEN
    expect(statusesOf(result.data)).toEqual([401]);
    expect(result.text).not.toContain('100 Continue');
    expect(result.text).toContain('Connection: close');
  });

  test('rotation: the file rewritten, the old key gets 401 and the new one 200, without a restart', async () => {
    // GIVEN
    const pid = proxy.pid;
    const rotated = newKey();
    sentKeys.push(rotated);
    const reloads = proxy.output().split('loaded from').length;
    // WHEN
    replaceFile(keysFile, `${sha256(rotated)}\n`);
    await until(() => proxy.output().split('loaded from').length > reloads, 'the proxy to read the rewritten file');
    // THEN
    expect((await get({ authorization: `Bearer ${key}` })).status).toBe(401);
    expect((await get({ authorization: `Bearer ${rotated}` })).status).toBe(200);
    expect(proxy.pid).toBe(pid);
    expect(proxy.alive()).toBe(true);
    expect((await scrape(proxy)).get('cortex_api_keys')).toBe(1);
    key = rotated;
    upstream.reset(holdOrAnswer);
  });

  test('a bad re-read: logged with FILE:LINE, the keys read before still work, the failure counted', async () => {
    // GIVEN
    const failuresBefore = (await scrape(proxy)).get('cortex_api_keys_reload_failures_total') ?? 0;
    const pasted = newKey();
    sentKeys.push(pasted);
    // WHEN a key is pasted instead of its hash
    replaceFile(keysFile, `${sha256(key)}\n${pasted}\n`);
    await until(() => proxy.output().includes(`${keysFile}:2: not a SHA-256 hash`), 'the proxy to report the bad line');
    // THEN
    expect(proxy.output()).toMatch(/still using the 1 key hash read before/);
    expect((await get({ 'x-api-key': key })).status).toBe(200);
    expect((await get({ 'x-api-key': pasted })).status).toBe(401);
    expect((await scrape(proxy)).get('cortex_api_keys_reload_failures_total')).toBeGreaterThan(failuresBefore);
    // The file fixed: read again.
    const reloads = proxy.output().split('loaded from').length;
    replaceFile(keysFile, `${sha256(key)}\n${sha256(pasted)}\n`);
    await until(() => proxy.output().split('loaded from').length > reloads, 'the proxy to read the fixed file');
    expect((await get({ 'x-api-key': pasted })).status).toBe(200);
    upstream.reset(holdOrAnswer);
  });

  test('no key is ever in its output', () => {
    const output = proxy.output();
    for (const sent of sentKeys) expect(output).not.toContain(sent);
    expect(output).not.toContain('ck_wrong');
  });
});

describe('a Secret volume: the keys file behind the ..data symlink, swapped on update', () => {
  test('the swap is seen: the new keys apply without a restart', async () => {
    // GIVEN the layout the kubelet writes: sha256 -> ..data/sha256, ..data -> ..<timestamp>
    const volume = fs.mkdtempSync(path.join(dir, 'secret-'));
    const first = newKey();
    const second = newKey();
    fs.mkdirSync(path.join(volume, '..2024_05_01_00_00_00.1'));
    fs.writeFileSync(path.join(volume, '..2024_05_01_00_00_00.1', 'sha256'), `${sha256(first)}\n`);
    fs.symlinkSync('..2024_05_01_00_00_00.1', path.join(volume, '..data'));
    fs.symlinkSync('..data/sha256', path.join(volume, 'sha256'));
    const upstream = await RecordingUpstream.start();
    const proxy = await startProxyProcess(upstream.port, { 'api-keys-file': path.join(volume, 'sha256'), 'api-keys-interval': '20ms' });
    try {
      expect((await send(proxy.port, { headers: { 'x-api-key': first } })).status).toBe(200);
      // WHEN the update: a new directory, a new symlink renamed over ..data (atomic), the old directory removed
      fs.mkdirSync(path.join(volume, '..2024_05_01_00_01_00.2'));
      fs.writeFileSync(path.join(volume, '..2024_05_01_00_01_00.2', 'sha256'), `${sha256(second)}\n`);
      fs.symlinkSync('..2024_05_01_00_01_00.2', path.join(volume, '..data_tmp'));
      fs.renameSync(path.join(volume, '..data_tmp'), path.join(volume, '..data'));
      fs.rmSync(path.join(volume, '..2024_05_01_00_00_00.1'), { recursive: true });
      await until(() => proxy.output().includes('loaded from'), 'the proxy to read the swapped file');
      // THEN
      expect((await send(proxy.port, { headers: { 'x-api-key': first } })).status).toBe(401);
      expect((await send(proxy.port, { headers: { 'x-api-key': second } })).status).toBe(200);
      expect(proxy.alive()).toBe(true);
    } finally {
      await proxy.stop();
      await upstream.close();
    }
  });
});

describe('a bad keys file at start', () => {
  function run(args: string[]): Promise<{ code: number | null; output: string }> {
    return new Promise((resolve) => {
      const child = spawn(process.execPath, [PROXY_MAIN, '--host', '127.0.0.1', '--port', '0', '--admin-port', '0', ...args], {
        env: { PATH: process.env.PATH },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      child.stdout.on('data', (d: Buffer) => (output += d.toString()));
      child.stderr.on('data', (d: Buffer) => (output += d.toString()));
      child.on('close', (code) => resolve({ code, output }));
    });
  }

  test('a bad line: exit 2, FILE:LINE and what is allowed, not the line', async () => {
    // GIVEN
    const file = path.join(dir, 'bad-at-start');
    const pasted = newKey();
    fs.writeFileSync(file, `${sha256('a')}\n${pasted}\n`);
    // WHEN
    const { code, output } = await run(['--api-keys-file', file]);
    // THEN
    expect(code).toBe(2);
    expect(output).toContain(`cortex-proxy: ${file}:2: not a SHA-256 hash`);
    expect(output).toContain('64 hex digits');
    expect(output).not.toContain(pasted);
    expect(output).not.toContain('listening');
  });

  test('a missing file: exit 2, naming the flag and the file', async () => {
    const file = path.join(dir, 'no-such-file');
    const { code, output } = await run(['--api-keys-file', file]);
    expect(code).toBe(2);
    expect(output).toContain(`--api-keys-file ("${file}") cannot be read: ENOENT`);
  });
});
