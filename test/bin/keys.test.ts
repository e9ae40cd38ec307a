import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { generateKey, keyEntries, keyLine, withoutKey } from '../../bin/cli/keys';
import { localProxyArgs } from '../../bin/cli/local';
import { parseApiKeys } from '../../images/proxy/src/api-keys';
import { parseCommandLine } from '../../images/proxy/src/config';
import { realtimeApiSpec } from '../../lib/config/definition';
import { RecordingUpstream, startProxyProcess, until } from '../images/proxy/hostile/harness';
import { send } from '../images/proxy/util';
import { FakeHttpServer, FakeRequest, kubeStatus, writeKubeconfig } from '../support/fake-http';
import { runCliAsync, tempDir, writeFile } from '../util';

const dir = tempDir();
const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');
const SECRETS = '/api/v1/namespaces/cortex/secrets';
const DEPLOYMENTS = '/apis/apps/v1/namespaces/cortex/deployments';

/**
 * The API server's side of Secrets, as far as `cortex keys` uses it: GET, POST (409 if it exists), PUT (409 on
 * a stale resourceVersion), each write bumping the resourceVersion.
 */
function serveSecrets(kube: FakeHttpServer): Map<string, Record<string, any>> {
  const secrets = new Map<string, Record<string, any>>();
  let version = 100;
  kube.on('GET', new RegExp(`^${SECRETS}/([^/]+)$`), (_req, match) => {
    const secret = secrets.get(match[1]);
    return secret ? { body: secret } : { status: 404, body: kubeStatus(404, 'NotFound', `secrets "${match[1]}" not found`) };
  });
  kube.on('POST', SECRETS, (req: FakeRequest) => {
    const secret = JSON.parse(req.body);
    if (secrets.has(secret.metadata.name)) return { status: 409, body: kubeStatus(409, 'AlreadyExists', 'exists') };
    secret.metadata.resourceVersion = String(++version);
    secrets.set(secret.metadata.name, secret);
    return { status: 201, body: secret };
  });
  kube.on('PUT', new RegExp(`^${SECRETS}/([^/]+)$`), (req, match) => {
    const secret = JSON.parse(req.body);
    const current = secrets.get(match[1]);
    if (!current || current.metadata.resourceVersion !== secret.metadata.resourceVersion) {
      return { status: 409, body: kubeStatus(409, 'Conflict', 'the object has been modified; please apply your changes to the latest version and try again') };
    }
    secret.metadata.resourceVersion = String(++version);
    secrets.set(match[1], secret);
    return { body: secret };
  });
  kube.on('GET', DEPLOYMENTS, { body: { items: [] } });
  return secrets;
}

const hashesOf = (secret: Record<string, any>): string => Buffer.from(secret.data.sha256, 'base64').toString('utf8');

describe('the keys file format', () => {
  test('a key: ck_ and 256 random bits in base64url; its line is what the proxy reads, with the creation time', () => {
    // GIVEN
    const key = generateKey();
    // WHEN
    const line = keyLine(key, new Date('2024-05-01T12:00:00Z'));
    // THEN
    expect(key).toMatch(/^ck_[A-Za-z0-9_-]{43}$/);
    expect(generateKey()).not.toBe(key);
    expect(line).toBe(`${sha256(key)}  # created=2024-05-01T12:00:00.000Z`);
    expect(parseApiKeys(line, 'f').map((h) => h.toString('hex'))).toEqual([sha256(key)]);
  });

  test('entries: the id is the hash\'s first 12 hex digits; a hash written by hand has no creation time', () => {
    const text = `# keys\n${sha256('a')}  # created=2024-05-01T12:00:00.000Z\n\n${sha256('b').toUpperCase()}\n`;
    expect(keyEntries(text, 'f')).toEqual([
      { id: sha256('a').slice(0, 12), hash: sha256('a'), created: '2024-05-01T12:00:00.000Z' },
      { id: sha256('b').slice(0, 12), hash: sha256('b'), created: undefined },
    ]);
  });

  test('withoutKey removes the one line whose hash starts with the id; none or several is an error', () => {
    const text = `# keys\n${sha256('a')}\n${sha256('b')}\n`;
    expect(withoutKey(text, sha256('b').slice(0, 8), 'f', 'iris')).toBe(`# keys\n${sha256('a')}\n`);
    expect(() => withoutKey(text, 'ffffffffff', 'f', 'iris')).toThrow(/iris has no key ffffffffff \(cortex keys list iris shows their ids\)/);
    const twins = `${'ab'.repeat(32)}\n${'ab'.repeat(31)}cd\n`;
    expect(() => withoutKey(twins, 'ababab', 'f', 'iris')).toThrow(/ababab is the start of 2 keys' ids/);
  });
});

describe('cortex keys against the Kubernetes API', () => {
  let kube: FakeHttpServer;
  let kubeconfig: string;
  let secrets: Map<string, Record<string, any>>;

  beforeEach(async () => {
    kube = await FakeHttpServer.start();
    kubeconfig = writeKubeconfig(dir, kube.url, { token: 'secret-token' });
    secrets = serveSecrets(kube);
  });

  afterEach(async () => {
    await kube.stop();
  });

  const keys = (...args: string[]) => runCliAsync(['keys', ...args, '--kubeconfig', kubeconfig], dir);

  test('create: the Secret made with the hash only, the key printed once on stdout', async () => {
    // WHEN
    const { code, out, err } = await keys('create', 'iris');
    // THEN
    expect(code).toBe(0);
    const key = out.trim();
    expect(key).toMatch(/^ck_/);
    expect(out).toBe(`${key}\n`);
    expect(err).toContain(`key ${sha256(key).slice(0, 12)} of iris added to Secret cortex/iris-api-keys`);
    expect(err).toContain('"x-api-key: <key>" (or "Authorization: Bearer <key>" on a cluster without JWT APIs)');
    expect(err).not.toContain(key);
    const secret = secrets.get('iris-api-keys') as Record<string, any>;
    expect(secret).toMatchObject({
      kind: 'Secret',
      type: 'Opaque',
      metadata: { name: 'iris-api-keys', namespace: 'cortex', labels: { 'app.kubernetes.io/managed-by': 'cortex-cdk', 'cortex.dev/api-name': 'iris' } },
    });
    expect(Object.keys(secret.data)).toEqual(['sha256']);
    expect(hashesOf(secret)).toContain(sha256(key));
    expect(JSON.stringify(kube.requests.map((r) => r.body))).not.toContain(key);
    expect(kube.requests.every((r) => r.headers.authorization === 'Bearer secret-token')).toBe(true);
  });

  test('create twice, list, revoke one: the other stays, written with the resourceVersion read', async () => {
    // GIVEN
    const first = (await keys('create', 'iris')).out.trim();
    const second = (await keys('create', 'iris')).out.trim();
    // WHEN
    const listed = await keys('list', 'iris');
    // THEN
    expect(listed.code).toBe(0);
    const rows = listed.out.trim().split('\n');
    expect(rows[0].split(/\s+/)).toEqual(['ID', 'CREATED']);
    expect(rows.slice(1).map((r) => r.split(/\s+/)[0])).toEqual([sha256(first).slice(0, 12), sha256(second).slice(0, 12)]);
    expect(rows[1]).toMatch(/\d{4}-\d\d-\d\dT/);

    // WHEN
    const revoked = await keys('revoke', 'iris', sha256(first).slice(0, 12));
    // THEN
    expect(revoked.code).toBe(0);
    expect(revoked.err).toContain(`key ${sha256(first).slice(0, 12)} of iris removed from Secret cortex/iris-api-keys`);
    const text = hashesOf(secrets.get('iris-api-keys') as Record<string, any>);
    expect(text).not.toContain(sha256(first));
    expect(text).toContain(sha256(second));
    const puts = kube.requests.filter((r) => r.method === 'PUT');
    expect(puts.map((r) => JSON.parse(r.body).metadata.resourceVersion)).toEqual(['101', '102']);
  });

  test('the Secret the deployed API mounts is the one written', async () => {
    // GIVEN
    kube.on('GET', DEPLOYMENTS, (req) => {
      expect(req.query.get('labelSelector')).toBe('cortex.dev/api-name=iris');
      return { body: { items: [{ metadata: { name: 'iris' }, spec: { template: { spec: { volumes: [{ name: 'api-keys', secret: { secretName: 'custom-keys' } }] } } } }] } };
    });
    // WHEN
    const { code } = await keys('create', 'iris');
    // THEN
    expect(code).toBe(0);
    expect([...secrets.keys()]).toEqual(['custom-keys']);
  });

  test('a deployed API without api_keys: the key is made, with a note that the API serves anyone', async () => {
    kube.on('GET', DEPLOYMENTS, { body: { items: [{ metadata: { name: 'iris' }, spec: { template: { spec: { volumes: [{ name: 'mnt' }] } } } }] } });
    const { code, err } = await keys('create', 'iris');
    expect(code).toBe(0);
    expect(err).toContain('note: iris is deployed without networking.auth.api_keys: it serves anyone');
  });

  test('--secret names the Secret', async () => {
    await keys('create', 'iris', '--secret', 'other');
    expect([...secrets.keys()]).toEqual(['other']);
  });

  test('a change made meanwhile (409): nothing written, say to run again', async () => {
    // GIVEN a Secret, and a writer that always loses the race
    await keys('create', 'iris');
    kube.on('PUT', new RegExp(`^${SECRETS}/`), { status: 409, body: kubeStatus(409, 'Conflict', 'the object has been modified') });
    // WHEN
    const { code, out, err } = await keys('create', 'iris');
    // THEN
    expect(code).toBe(1);
    expect(out).toBe('');
    expect(err).toBe('cortex keys: Secret cortex/iris-api-keys changed while this command ran (another cortex keys?): nothing written, run it again\n');
  });

  test('list with no Secret: says so, exit 0', async () => {
    const { code, out, err } = await keys('list', 'iris');
    expect(code).toBe(0);
    expect(out).toBe('');
    expect(err).toBe('cortex keys: iris has no keys in Secret cortex/iris-api-keys (cortex keys create iris makes one)\n');
  });

  test('revoke an unknown id: exit 1, how to find the ids', async () => {
    await keys('create', 'iris');
    const { code, err } = await keys('revoke', 'iris', 'abcdef');
    expect(code).toBe(1);
    expect(err).toBe('cortex keys: iris has no key abcdef (cortex keys list iris shows their ids)\n');
  });

  test('forbidden: the API server\'s message, exit 1', async () => {
    kube.on('POST', SECRETS, { status: 403, body: kubeStatus(403, 'Forbidden', 'secrets is forbidden: User "dev" cannot create resource "secrets"') });
    const { code, out, err } = await keys('create', 'iris');
    expect(code).toBe(1);
    expect(out).toBe('');
    expect(err).toMatch(/^cortex keys: the Kubernetes API refused POST \/api\/v1\/namespaces\/cortex\/secrets \(context "fake"\): secrets is forbidden/);
  });

  test.each([
    [['keys'], /missing the action: create, list or revoke/],
    [['keys', 'rotate', 'iris'], /unknown action "rotate"/],
    [['keys', 'create'], /missing API/],
    [['keys', 'revoke', 'iris'], /missing ID/],
    [['keys', 'revoke', 'iris', 'abc'], /ID must be at least 6 hex digits/],
    [['keys', 'create', 'Iris'], /API must be an API's name/],
    [['keys', 'create', 'iris', '--secret', 'Bad_Name'], /--secret must be a Secret's name/],
  ])('%j: usage error, exit 2', async (argv, message) => {
    const { code, err } = await runCliAsync(argv, dir);
    expect(code).toBe(2);
    expect(err).toMatch(message);
    expect(err).toContain('Usage: cortex keys create API');
  });
});

describe('cortex keys --keys-file, read by the real proxy (cortex local --api-keys-file)', () => {
  test('a key created works at once against cortex-proxy --api-keys-file; revoked, it gets 401 without a restart', async () => {
    // GIVEN
    const file = path.join(dir, 'local-keys');
    const created = await runCliAsync(['keys', 'create', 'iris', '--keys-file', file], dir);
    expect(created.code).toBe(0);
    const key = created.out.trim();
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    const upstream = await RecordingUpstream.start();
    const proxy = await startProxyProcess(upstream.port, { 'api-keys-file': file, 'api-keys-interval': '20ms' });
    try {
      // WHEN / THEN
      expect((await send(proxy.port, { headers: { authorization: `Bearer ${key}` } })).status).toBe(200);
      const id = (await runCliAsync(['keys', 'list', 'iris', '--keys-file', file], dir)).out.split('\n')[1].split(/\s+/)[0];
      expect((await runCliAsync(['keys', 'revoke', 'iris', id, '--keys-file', file], dir)).code).toBe(0);
      await until(() => proxy.output().includes('loaded from'), 'the proxy to read the changed file');
      expect((await send(proxy.port, { headers: { authorization: `Bearer ${key}` } })).status).toBe(401);
      expect(proxy.output()).not.toContain(key);
    } finally {
      await proxy.stop();
      await upstream.close();
    }
  });
});

describe('cortex local --api-keys-file', () => {
  const api = realtimeApiSpec({ name: 'iris', predictor: { type: 'python', path: 'predictor.py' }, networking: { auth: { apiKeys: {} } } });
  const ports = { port: 8888, adminPort: 15001, runtimePort: 9001, runtimeAdminPort: 9002 };

  test("the proxy gets the chart's keys flags with the local file in the place of the Secret's mount", async () => {
    // WHEN
    const args = await localProxyArgs(api, ports, '/home/me/keys');
    // THEN
    expect(args.join(' ')).toContain('--api-keys-file /home/me/keys --api-name iris');
    expect(parseCommandLine(args)).toMatchObject({ config: { apiKeysFile: '/home/me/keys', apiName: 'iris' } });
    expect(await localProxyArgs(api, ports)).not.toContain('--api-keys-file');
  });

  test('a bad keys file: one message with FILE:LINE before anything starts, exit 1', async () => {
    // GIVEN
    writeFile(dir, 'local-api/cortex.yaml', '- name: iris\n  kind: RealtimeAPI\n  predictor: {type: python, path: predictor.py}\n  networking: {auth: {api_keys: {}}}\n');
    const keysFile = writeFile(dir, 'local-api/keys', `${sha256('a')}\nnot-a-hash\n`);
    // WHEN
    const { code, err } = await runCliAsync(['local', 'iris', '-f', path.join(dir, 'local-api/cortex.yaml'), '--api-keys-file', keysFile], dir);
    // THEN
    expect(code).toBe(1);
    expect(err).toMatch(new RegExp(`^cortex local: --api-keys-file: ${keysFile.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:2: not a SHA-256 hash`));
  });
});
