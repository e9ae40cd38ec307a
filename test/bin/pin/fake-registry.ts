import { createHash } from 'node:crypto';
import { FakeHttpServer, FakeRequest } from '../../support/fake-http';

/** How the fake registry lets callers in. */
export type FakeRegistryAuth =
  /** No authentication at all (a local registry). */
  | 'none'
  /** Docker Hub's, GHCR's...: 401 with a Bearer challenge; anonymous pull tokens from /token. */
  | 'anonymous-token'
  /** A private registry: a Bearer challenge, but its token service refuses anonymous callers. */
  | 'token-refused'
  /** A registry that wants a password: 401 with a Basic challenge. */
  | 'basic';

export interface FakeRegistryOptions {
  readonly auth?: FakeRegistryAuth;
  /** Leave `Docker-Content-Digest` out of HEAD answers (some registries send it only with the manifest). */
  readonly digestOnlyWithGet?: boolean;
}

export const ANONYMOUS_TOKEN = 'anonymous-pull-token';

/**
 * A Docker registry v2 API on loopback (real HTTP, through {@link FakeHttpServer}): manifests by repository
 * and tag, pushed by the test; a re-push moves the tag to a new manifest, as `docker push` does.
 */
export class FakeRegistry {
  public static async start(options: FakeRegistryOptions = {}): Promise<FakeRegistry> {
    return new FakeRegistry(await FakeHttpServer.start(), options);
  }

  private readonly manifests = new Map<string, string>();
  private pushes = 0;

  private constructor(
    public readonly server: FakeHttpServer,
    private readonly options: FakeRegistryOptions,
  ) {
    const auth = options.auth ?? 'none';
    server.on('GET', '/token', (req) => {
      if (auth === 'token-refused') return { status: 401, body: { errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] } };
      const scope = req.query.get('scope') ?? '';
      return { body: { token: `${ANONYMOUS_TOKEN} ${scope}` } };
    });
    for (const method of ['HEAD', 'GET']) {
      server.on(method, /^\/v2\/(.+)\/manifests\/([^/]+)$/, (req, match) => this.answer(method, req, match[1], match[2]));
    }
  }

  /** `127.0.0.1:PORT`: the registry part of image references. */
  public get host(): string {
    return new URL(this.server.url).host;
  }

  /** Points `repository:tag` at a new manifest (whose text makes it unique) and returns its digest. */
  public push(repository: string, tag: string, content = `${repository}:${tag}:${++this.pushes}`): string {
    const manifest = JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [], annotations: { content } });
    this.manifests.set(`${repository}:${tag}`, manifest);
    return digestOf(manifest);
  }

  /** The manifest requests received (HEAD and GET). */
  public manifestRequests(): FakeRequest[] {
    return this.server.requests.filter((r) => r.path.includes('/manifests/'));
  }

  public stop(): Promise<void> {
    return this.server.stop();
  }

  private answer(method: string, req: FakeRequest, repository: string, tag: string) {
    const auth = this.options.auth ?? 'none';
    const challenge = `Bearer realm="${this.server.url}/token",service="fake-registry",scope="repository:${repository}:pull"`;
    if (auth === 'basic') return { status: 401, headers: { 'WWW-Authenticate': 'Basic realm="fake-registry"' }, body: {} };
    if (auth !== 'none' && req.headers.authorization !== `Bearer ${ANONYMOUS_TOKEN} repository:${repository}:pull`) {
      return { status: 401, headers: { 'WWW-Authenticate': challenge }, body: { errors: [{ code: 'UNAUTHORIZED' }] } };
    }
    const manifest = this.manifests.get(`${repository}:${tag}`);
    if (manifest === undefined) return { status: 404, body: { errors: [{ code: 'MANIFEST_UNKNOWN', message: 'manifest unknown' }] } };
    const headers: Record<string, string> = { 'content-type': 'application/vnd.oci.image.index.v1+json' };
    if (!(this.options.digestOnlyWithGet && method === 'HEAD')) headers['Docker-Content-Digest'] = digestOf(manifest);
    return { headers, body: manifest };
  }
}

export function digestOf(text: string): string {
  return `sha256:${createHash('sha256').update(text).digest('hex')}`;
}
