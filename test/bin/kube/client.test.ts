import * as fs from 'node:fs';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { KubeApiError, KubeClient, KubeConnectionError } from '../../../bin/cli/kube/client';
import { KubeconfigError, KubeTarget } from '../../../bin/cli/kube/kubeconfig';
import { FakeHttpServer, kubeStatus } from '../../support/fake-http';

/**
 * A self-signed certificate for 127.0.0.1, valid 2024-2124, usable as server, client and CA at once;
 * test-only (openssl ca -selfsign -startdate 20240101000000Z -enddate 21240101000000Z, P-256 key).
 */
const TLS = path.join(__dirname, '..', '..', 'support', 'tls');
const cert = fs.readFileSync(path.join(TLS, 'localhost.crt'));
const key = fs.readFileSync(path.join(TLS, 'localhost.key'));

function target(server: string, overrides: Partial<KubeTarget> = {}): KubeTarget {
  return {
    files: ['/dev/null'],
    contextName: 'ctx',
    clusterName: 'cluster',
    userName: 'me',
    server,
    tls: { insecure: false },
    auth: { kind: 'token', token: 't0k3n' },
    eks: {},
    ...overrides,
  };
}

describe('KubeClient over HTTP', () => {
  let fake: FakeHttpServer;
  beforeEach(async () => (fake = await FakeHttpServer.start()));
  afterEach(() => fake.stop());

  test('GETs JSON with the bearer token and the query', async () => {
    fake.on('GET', '/api/v1/namespaces/cortex/pods', { body: { items: [{ metadata: { name: 'p' } }] } });
    const client = new KubeClient(target(fake.url));

    const list = await client.get<{ items: unknown[] }>('/api/v1/namespaces/cortex/pods', { labelSelector: 'a=b' });

    expect(list.items).toHaveLength(1);
    expect(fake.requests[0].headers.authorization).toBe('Bearer t0k3n');
    expect(fake.requests[0].query.get('labelSelector')).toBe('a=b');
    client.close();
  });

  test('a server URL with a path prefix (a proxy in front of the API server) keeps it', async () => {
    fake.on('GET', '/k8s/clusters/c-1/version', { body: { major: '1' } });
    const client = new KubeClient(target(`${fake.url}/k8s/clusters/c-1`));
    expect(await client.get('/version')).toEqual({ major: '1' });
    client.close();
  });

  test('errors carry the Status message; 404 is undefined for getOptional', async () => {
    fake.on('GET', '/forbidden', { status: 403, body: kubeStatus(403, 'Forbidden', 'pods is forbidden: User "me" cannot list resource "pods"') });
    const client = new KubeClient(target(fake.url));

    await expect(client.get('/forbidden')).rejects.toThrow('the Kubernetes API refused GET /forbidden (context "ctx"): pods is forbidden: User "me" cannot list resource "pods"');
    await expect(client.get('/forbidden')).rejects.toMatchObject({ status: 403, reason: 'Forbidden' });
    expect(await client.getOptional('/missing')).toBeUndefined();
    await expect(client.get('/missing')).rejects.toBeInstanceOf(KubeApiError);
    client.close();
  });

  test('basic auth', async () => {
    fake.on('GET', '/version', { body: {} });
    const client = new KubeClient(target(fake.url, { auth: { kind: 'basic', username: 'admin', password: 'pw' } }));
    await client.get('/version');
    expect(fake.requests[0].headers.authorization).toBe(`Basic ${Buffer.from('admin:pw').toString('base64')}`);
    client.close();
  });

  test('a server that does not answer in time', async () => {
    let release: () => void = () => undefined;
    fake.on('GET', '/slow', () => () => new Promise<void>((r) => (release = r)));
    const client = new KubeClient(target(fake.url), { timeoutMs: 50 });
    await expect(client.get('/slow')).rejects.toThrow(/cannot reach the Kubernetes API at .* \(context "ctx"\): no answer within 0.05 s/);
    release();
    client.close();
  });

  test('connection refused', async () => {
    const gone = await FakeHttpServer.start();
    const url = gone.url;
    await gone.stop();
    const client = new KubeClient(target(url));
    const error = (await client.get('/version').catch((e: unknown) => e)) as Error;
    expect(error).toBeInstanceOf(KubeConnectionError);
    expect(error.message).toBe(`cannot reach the Kubernetes API at ${url} (context "ctx"): connection refused`);
    client.close();
  });
});

describe('KubeClient over TLS', () => {
  let server: https.Server;
  let url: string;
  const seen: { authorized: boolean; path: string }[] = [];

  beforeAll(async () => {
    server = https.createServer({ cert, key, ca: cert, requestCert: true, rejectUnauthorized: false }, (req, res) => {
      seen.push({ authorized: (req.socket as import('node:tls').TLSSocket).authorized, path: req.url ?? '' });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  test('trusts the certificate-authority and presents the client certificate', async () => {
    const client = new KubeClient(target(url, { tls: { ca: cert, cert, key, insecure: false }, auth: { kind: 'none' } }));
    expect(await client.get('/version')).toEqual({ ok: true });
    expect(seen[seen.length - 1].authorized).toBe(true);
    client.close();
  });

  test('refuses a server its certificate-authority did not sign, unless told to skip the check', async () => {
    const strict = new KubeClient(target(url));
    await expect(strict.get('/version')).rejects.toThrow(/cannot reach the Kubernetes API at https:.*: its certificate is (self-signed|not signed)/);
    strict.close();
    const insecure = new KubeClient(target(url, { tls: { insecure: true } }));
    expect(await insecure.get('/version')).toEqual({ ok: true });
    insecure.close();
  });
});

describe('KubeClient with credentials no request can carry', () => {
  test('GIVEN a token with a character an HTTP header cannot carry WHEN requesting THEN a KubeconfigError naming the user, before anything is sent', async () => {
    const client = new KubeClient(target('http://127.0.0.1:9', { auth: { kind: 'token', token: 'line\nbreak' } }));
    const request = client.get('/version');
    await expect(request).rejects.toBeInstanceOf(KubeconfigError);
    await expect(request).rejects.toThrow(
      'the token of user "me" (context "ctx") holds characters an HTTP header cannot carry (a line break, a control character or non-Latin-1 text)',
    );
    client.close();
  });

  test('GIVEN a client certificate that is not PEM WHEN requesting THEN a KubeconfigError naming the user, not a TLS library crash', async () => {
    const client = new KubeClient(target('https://127.0.0.1:9', { tls: { insecure: false, cert: Buffer.from('CERT'), key: Buffer.from('KEY') } }));
    const request = client.get('/version');
    await expect(request).rejects.toBeInstanceOf(KubeconfigError);
    await expect(request).rejects.toThrow(/^the TLS settings or credentials of user "me" \(context "ctx"\) cannot be used: .*PEM/);
    client.close();
  });
});

describe('KubeClient and an API server that answers what no API server would', () => {
  let fake: FakeHttpServer;
  beforeEach(async () => (fake = await FakeHttpServer.start()));
  afterEach(() => fake.stop());

  test('GIVEN an answer larger than the client reads WHEN requesting THEN an error naming the limit, not a crash building the string', async () => {
    fake.on('GET', '/big', { body: 'x'.repeat(4096) });
    const client = new KubeClient(target(fake.url), { maxBodyBytes: 1024 });
    const error = (await client.get('/big').catch((e: unknown) => e)) as Error;
    expect(error).toBeInstanceOf(KubeConnectionError);
    expect(error.message).toBe(`cannot reach the Kubernetes API at ${fake.url} (context "ctx"): GET /big answered more than 1 KiB, more than the client reads`);
    client.close();
  });

  test('GIVEN a server that sends its answer a byte at a time, forever WHEN requesting THEN the timeout bounds the whole answer, not the silence between bytes', async () => {
    fake.on('GET', '/drip', () => (res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const timer = setInterval(() => res.write(' '), 10);
      res.on('close', () => clearInterval(timer));
    });
    const client = new KubeClient(target(fake.url), { timeoutMs: 200 });
    await expect(client.get('/drip')).rejects.toThrow(`cannot reach the Kubernetes API at ${fake.url} (context "ctx"): GET /drip: the answer did not end within 0.2 s`);
    client.close();
  }, 5000);

  test('GIVEN JSON that is not an object, or a list whose items are not objects WHEN reading THEN a KubeApiError naming the request', async () => {
    fake
      .on('GET', '/null', { body: 'null' })
      .on('GET', '/array', { body: '[1]' })
      .on('GET', '/no-items', { body: {} })
      .on('GET', '/items-5', { body: { items: 5 } })
      .on('GET', '/item-null', { body: { items: [{ metadata: { name: 'a' } }, null] } })
      .on('GET', '/metadata-3', { body: { items: [{ metadata: 3 }] } })
      .on('GET', '/fine', { body: { items: [{ metadata: { name: 'a' } }] } });
    const client = new KubeClient(target(fake.url));

    await expect(client.get('/null')).rejects.toThrow('GET /null: the API server answered 200 with null, not a Kubernetes object');
    await expect(client.get('/array')).rejects.toThrow('GET /array: the API server answered 200 with an array, not a Kubernetes object');
    await expect(client.list('/no-items')).rejects.toThrow('GET /no-items: the API server answered 200 with a list whose items are not a list of objects');
    await expect(client.list('/items-5')).rejects.toThrow('GET /items-5: the API server answered 200 with a list whose items are not a list of objects');
    await expect(client.list('/item-null')).rejects.toThrow('GET /item-null: the API server answered 200 with a list whose items are not a list of objects');
    await expect(client.list('/metadata-3')).rejects.toBeInstanceOf(KubeApiError);
    expect(await client.listOptional('/missing')).toBeUndefined();
    expect((await client.list('/fine')).items).toEqual([{ metadata: { name: 'a' } }]);
    client.close();
  });

  test("GIVEN an error Status whose message holds escape sequences, or is not text WHEN reading THEN the message shows them instead of sending them to the user's terminal", async () => {
    fake
      .on('GET', '/escape', { status: 500, body: { kind: 'Status', message: 'boom\x1b[2J\x1b]0;owned\x07', reason: 'InternalError' } })
      .on('GET', '/number', { status: 500, body: { kind: 'Status', message: 5 } });
    const client = new KubeClient(target(fake.url));
    const escape = (await client.get('/escape').catch((e: unknown) => e)) as Error;
    expect(escape.message).toContain('boom\\x1b[2J\\x1b]0;owned\\x07');
    expect(escape.message).not.toMatch(/[\x00-\x1f]/);
    const number = (await client.get('/number').catch((e: unknown) => e)) as Error;
    expect(number).toBeInstanceOf(KubeApiError);
    expect(number.message).toContain('Internal Server Error');
    client.close();
  });
});
