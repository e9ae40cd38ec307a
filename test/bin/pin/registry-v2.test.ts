import { parseImageReference, type ImageReference } from '../../../lib/config/image-reference';
import { CortexValidationError } from '../../../lib/errors';
import { isLoopbackHost, MANIFEST_ACCEPT, parseBearerChallenge, RegistryV2Resolver } from '../../../bin/cli/pin/registry-v2';
import { FakeHttpServer } from '../../support/fake-http';
import { ANONYMOUS_TOKEN, digestOf, FakeRegistry } from './fake-registry';

function ref(text: string): ImageReference {
  const result = parseImageReference(text);
  if ('problem' in result) throw new Error(result.problem);
  return result.reference;
}

/** A resolver that asks `registry` over plain HTTP, under the name `as` (its own host by default). */
function resolverFor(registry: FakeRegistry, as = registry.host, timeoutMs?: number): RegistryV2Resolver {
  return new RegistryV2Resolver({ registryUrls: { [as]: registry.server.url }, timeoutMs });
}

/** A port nothing listens on: a server's, once it has stopped. */
async function closedPortUrl(): Promise<string> {
  const server = await FakeHttpServer.start();
  const url = server.url;
  await server.stop();
  return url;
}

describe('parseBearerChallenge', () => {
  test('GIVEN Docker Hub\'s challenge THEN realm, service and scope', () => {
    expect(parseBearerChallenge('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/redis:pull"')).toEqual({
      realm: 'https://auth.docker.io/token',
      service: 'registry.docker.io',
      scope: 'repository:library/redis:pull',
    });
  });

  test('GIVEN unquoted values, spaces and another case THEN read the same', () => {
    expect(parseBearerChallenge('bearer realm=https://r.example/token, service=r.example')).toEqual({ realm: 'https://r.example/token', service: 'r.example', scope: undefined });
  });

  test('GIVEN Basic, nothing, or no realm THEN undefined', () => {
    expect(parseBearerChallenge('Basic realm="registry"')).toBeUndefined();
    expect(parseBearerChallenge(null)).toBeUndefined();
    expect(parseBearerChallenge('Bearer service="x"')).toBeUndefined();
  });
});

describe('isLoopbackHost', () => {
  test.each([
    ['localhost', true],
    ['127.0.0.1', true],
    ['127.1.2.3', true],
    ['[::1]', true],
    ['::1', true],
    ['registry.example.com', false],
    ['10.0.0.1', false],
    ['127.0.0.1.example.com', false],
  ])('%s → %s', (host, expected) => {
    expect(isLoopbackHost(host)).toBe(expected);
  });
});

describe('RegistryV2Resolver options', () => {
  test('GIVEN no override THEN https, Docker Hub through registry-1.docker.io', () => {
    const resolver = new RegistryV2Resolver();
    expect(resolver.baseUrl('docker.io')).toBe('https://registry-1.docker.io');
    expect(resolver.baseUrl('ghcr.io')).toBe('https://ghcr.io');
    expect(resolver.baseUrl('localhost:5000')).toBe('https://localhost:5000');
    expect(resolver.timeoutMs).toBe(15000);
  });

  test('GIVEN a loopback override THEN used, without its trailing slash', () => {
    expect(new RegistryV2Resolver({ registryUrls: { 'localhost:5000': 'http://localhost:5000/' } }).baseUrl('localhost:5000')).toBe('http://localhost:5000');
  });

  test.each([['http://registry.example.com'], ['https://10.0.0.1:5000'], ['ftp://127.0.0.1'], ['http://127.0.0.1:5000/v2'], ['not a url']])(
    'GIVEN the override %s THEN refused: loopback http(s) only',
    (url) => {
      expect(() => new RegistryV2Resolver({ registryUrls: { 'r.example': url } })).toThrow(CortexValidationError);
      expect(() => new RegistryV2Resolver({ registryUrls: { 'r.example': url } })).toThrow(/registryUrls\["r\.example"\] .* must be an http\(s\) URL of a loopback host/);
    },
  );

  test('GIVEN a timeout that is not positive THEN refused', () => {
    expect(() => new RegistryV2Resolver({ timeoutMs: 0 })).toThrow(/timeoutMs \(0\) must be a positive number/);
  });
});

describe('RegistryV2Resolver.resolve', () => {
  let registry: FakeRegistry;
  afterEach(async () => {
    await registry?.stop();
  });

  test('GIVEN an open registry WHEN a tag is resolved THEN the Docker-Content-Digest of a HEAD asking for indexes first', async () => {
    // GIVEN
    registry = await FakeRegistry.start();
    const digest = registry.push('team/model', 'v1');
    // WHEN
    const resolution = await resolverFor(registry).resolve(ref(`${registry.host}/team/model:v1`));
    // THEN
    expect(resolution).toEqual({ status: 'resolved', digest });
    const [request] = registry.manifestRequests();
    expect(request.method).toBe('HEAD');
    expect(request.path).toBe('/v2/team/model/manifests/v1');
    expect(request.headers.accept).toBe(MANIFEST_ACCEPT);
    expect(MANIFEST_ACCEPT.split(', ').slice(0, 2)).toEqual(['application/vnd.oci.image.index.v1+json', 'application/vnd.docker.distribution.manifest.list.v2+json']);
  });

  test('GIVEN a reference without a tag THEN latest is asked for', async () => {
    registry = await FakeRegistry.start();
    const digest = registry.push('model', 'latest');
    expect(await resolverFor(registry).resolve(ref(`${registry.host}/model`))).toEqual({ status: 'resolved', digest });
  });

  test('GIVEN a 401 with a Bearer challenge THEN an anonymous token from the realm (service and scope), then the digest', async () => {
    // GIVEN
    registry = await FakeRegistry.start({ auth: 'anonymous-token' });
    const digest = registry.push('team/model', 'v1');
    // WHEN
    const resolution = await resolverFor(registry).resolve(ref(`${registry.host}/team/model:v1`));
    // THEN
    expect(resolution).toEqual({ status: 'resolved', digest });
    const [token] = registry.server.requestsTo('/token');
    expect(token.query.get('service')).toBe('fake-registry');
    expect(token.query.get('scope')).toBe('repository:team/model:pull');
    const [first, second] = registry.manifestRequests();
    expect(first.headers.authorization).toBeUndefined();
    expect(second.headers.authorization).toBe(`Bearer ${ANONYMOUS_TOKEN} repository:team/model:pull`);
  });

  test('GIVEN Docker Hub (redirected to the fake) WHEN an official image is resolved THEN its library/ repository is asked for', async () => {
    registry = await FakeRegistry.start({ auth: 'anonymous-token' });
    const digest = registry.push('library/redis', '7.4-alpine');
    expect(await resolverFor(registry, 'docker.io').resolve(ref('redis:7.4-alpine'))).toEqual({ status: 'resolved', digest });
    expect(registry.manifestRequests().map((r) => r.path)).toEqual(['/v2/library/redis/manifests/7.4-alpine', '/v2/library/redis/manifests/7.4-alpine']);
  });

  test('GIVEN a registry that sends the digest only with the manifest THEN the SHA-256 of the manifest fetched', async () => {
    registry = await FakeRegistry.start({ digestOnlyWithGet: true });
    const digest = registry.push('model', '1');
    expect(await resolverFor(registry).resolve(ref(`${registry.host}/model:1`))).toEqual({ status: 'resolved', digest });
    expect(registry.manifestRequests().map((r) => r.method)).toEqual(['HEAD', 'GET']);
  });

  test('GIVEN a tag the registry does not have THEN failed: image not found', async () => {
    registry = await FakeRegistry.start({ auth: 'anonymous-token' });
    registry.push('model', '1');
    expect(await resolverFor(registry).resolve(ref(`${registry.host}/model:2`))).toEqual({
      status: 'failed',
      reason: `image not found: ${registry.host} has no model:2 (HTTP 404)`,
    });
  });

  test('GIVEN a token service that refuses anonymous callers THEN unavailable, naming the status', async () => {
    registry = await FakeRegistry.start({ auth: 'token-refused' });
    const resolution = await resolverFor(registry).resolve(ref(`${registry.host}/private/model:1`));
    expect(resolution).toEqual({ status: 'unavailable', reason: expect.stringMatching(/token service \(http:\/\/127\.0\.0\.1:\d+\/token\) answered HTTP 401 to an anonymous request$/) });
  });

  test('GIVEN a registry that wants a password THEN unavailable: it asks for credentials', async () => {
    registry = await FakeRegistry.start({ auth: 'basic' });
    expect(await resolverFor(registry).resolve(ref(`${registry.host}/model:1`))).toEqual({
      status: 'unavailable',
      reason: `${registry.host} asks for credentials (WWW-Authenticate: Basic realm="fake-registry"); cortex pin reads registries other than ECR anonymously`,
    });
  });

  test('GIVEN a token that still gets 401 THEN unavailable: private, or not there', async () => {
    registry = await FakeRegistry.start({ auth: 'anonymous-token' });
    registry.server.on('GET', '/token', { body: { access_token: 'not-enough' } });
    const resolution = await resolverFor(registry).resolve(ref(`${registry.host}/model:1`));
    expect(resolution).toEqual({ status: 'unavailable', reason: `${registry.host} refused anonymous access to model (HTTP 401): a private image, or one that does not exist` });
  });

  test('GIVEN a challenge whose realm is plain http on another host THEN no token is asked for', async () => {
    registry = await FakeRegistry.start();
    registry.server.on('HEAD', /manifests/, { status: 401, headers: { 'WWW-Authenticate': 'Bearer realm="http://auth.example.com/token"' } });
    const resolution = await resolverFor(registry).resolve(ref(`${registry.host}/model:1`));
    expect(resolution).toEqual({ status: 'unavailable', reason: `${registry.host} named a token realm that is not https (http://auth.example.com/token); not asked` });
  });

  test.each([
    [429, /is rate-limiting this address \(HTTP 429\)/],
    [503, /answered HTTP 503 for model:1$/],
    [403, /refused anonymous access to model \(HTTP 403\)/],
  ])('GIVEN HTTP %d THEN unavailable', async (status, reason) => {
    registry = await FakeRegistry.start();
    registry.server.on('HEAD', /manifests/, { status });
    expect(await resolverFor(registry).resolve(ref(`${registry.host}/model:1`))).toEqual({ status: 'unavailable', reason: expect.stringMatching(reason) });
  });

  test('GIVEN nothing listening THEN unavailable: unreachable, with the code and the URL', async () => {
    const url = await closedPortUrl();
    const host = new URL(url).host;
    const resolution = await new RegistryV2Resolver({ registryUrls: { [host]: url } }).resolve(ref(`${host}/model:1`));
    expect(resolution).toEqual({ status: 'unavailable', reason: `${host} unreachable (ECONNREFUSED at ${url})` });
  });

  test('GIVEN a connection closed as a request is sent on it THEN asked once more; closed again THEN unavailable', async () => {
    // GIVEN the connection closed under the first request only
    registry = await FakeRegistry.start();
    const digest = registry.push('model', '1');
    let closes = 1;
    registry.server.on('HEAD', /manifests/, () => {
      if (closes-- > 0) return (res) => res.socket?.destroy();
      return { headers: { 'docker-content-digest': digest }, body: '' };
    });
    // WHEN / THEN
    expect(await resolverFor(registry).resolve(ref(`${registry.host}/model:1`))).toEqual({ status: 'resolved', digest });
    expect(registry.manifestRequests()).toHaveLength(2);
    // GIVEN every connection closed
    closes = 2;
    expect(await resolverFor(registry).resolve(ref(`${registry.host}/model:1`))).toEqual({
      status: 'unavailable',
      reason: expect.stringMatching(/unreachable \(UND_ERR_SOCKET at http:\/\/127\.0\.0\.1:\d+\)$/),
    });
  });

  test('GIVEN a registry that never answers THEN unavailable once the timeout passes', async () => {
    registry = await FakeRegistry.start();
    registry.server.on('HEAD', /manifests/, () => () => undefined);
    const resolution = await resolverFor(registry, registry.host, 50).resolve(ref(`${registry.host}/model:1`));
    expect(resolution).toEqual({ status: 'unavailable', reason: expect.stringMatching(/unreachable \(TimeoutError at http:\/\/127\.0\.0\.1:\d+\)$/) });
  });
});

describe('digestOf (the fake registry\'s digests)', () => {
  test('GIVEN a manifest THEN sha256 and 64 hex digits', () => {
    expect(digestOf('x')).toMatch(/^sha256:[a-f0-9]{64}$/);
  });
});
