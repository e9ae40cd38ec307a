import { createHash } from 'node:crypto';
import { DOCKER_HUB, ImageReference, SHA256_DIGEST, tagOf } from '../../../lib/config/image-reference';
import { CortexValidationError } from '../../../lib/errors';
import { failed, networkFailure, Resolution, resolved, unavailable } from './resolution';

/**
 * What a manifest request accepts, indexes first: a multi-platform tag then resolves to its index (every
 * platform keeps working), a single-platform one to its manifest.
 */
export const MANIFEST_ACCEPT = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');

/** Where Docker Hub's registry API answers (`docker.io` is its name in references, not its API host). */
export const DOCKER_HUB_API = 'https://registry-1.docker.io';

/** Options of {@link RegistryV2Resolver}. */
export interface RegistryV2ResolverOptions {
  /**
   * Base URLs by registry (host and port as written in image references), replacing `https://<registry>`.
   * Only loopback URLs are accepted: a local registry without TLS (`{ 'localhost:5000': 'http://localhost:5000' }`),
   * or a fake one in tests (`docker.io` may be redirected too).
   * @default - `https://<registry>`; Docker Hub: https://registry-1.docker.io
   */
  readonly registryUrls?: Readonly<Record<string, string>>;
  /**
   * How long one request may take, in milliseconds.
   * @default 15000
   */
  readonly timeoutMs?: number;
}

/** Hosts a plain-HTTP registry URL may name. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** A `WWW-Authenticate: Bearer realm=...,service=...,scope=...` challenge. */
export interface BearerChallenge {
  readonly realm: string;
  readonly service?: string;
  readonly scope?: string;
}

/** Reads a Bearer challenge; undefined for other schemes (Basic: the registry wants a password). */
export function parseBearerChallenge(header: string | null | undefined): BearerChallenge | undefined {
  const match = /^\s*Bearer\s+(.*)$/i.exec(header ?? '');
  if (!match) return undefined;
  const params: Record<string, string> = {};
  for (const param of match[1].matchAll(/([A-Za-z]+)\s*=\s*(?:"([^"]*)"|([^,\s]*))/g)) {
    params[param[1].toLowerCase()] = param[2] ?? param[3];
  }
  if (!params.realm) return undefined;
  return { realm: params.realm, service: params.service, scope: params.scope };
}

/**
 * Resolves tags through the Docker registry HTTP API v2 (Docker Hub, GHCR, Quay, ECR Public, GCR/Artifact
 * Registry, a self-hosted registry...): `HEAD /v2/<repository>/manifests/<tag>` and its `Docker-Content-Digest`,
 * as an anonymous caller — fetching a pull token from the realm a 401 names. It never sends credentials, so a
 * private image is "unavailable" (its tag kept, with a warning), not an error.
 */
export class RegistryV2Resolver {
  public readonly timeoutMs: number;
  private readonly registryUrls: Readonly<Record<string, string>>;

  constructor(options: RegistryV2ResolverOptions = {}) {
    this.timeoutMs = options.timeoutMs ?? 15_000;
    if (!Number.isFinite(this.timeoutMs) || this.timeoutMs <= 0) {
      throw new CortexValidationError(`timeoutMs (${this.timeoutMs}) must be a positive number of milliseconds`);
    }
    for (const [registry, url] of Object.entries(options.registryUrls ?? {})) checkRegistryUrl(registry, url);
    this.registryUrls = { ...options.registryUrls };
  }

  /** The API's base URL for a registry. */
  public baseUrl(registry: string): string {
    const override = this.registryUrls[registry];
    if (override !== undefined) return override.replace(/\/+$/, '');
    return registry === DOCKER_HUB ? DOCKER_HUB_API : `https://${registry}`;
  }

  public async resolve(reference: ImageReference): Promise<Resolution> {
    const registry = reference.registry;
    const tag = tagOf(reference);
    const url = `${this.baseUrl(registry)}/v2/${reference.repository}/manifests/${tag}`;
    try {
      let response = await this.request(url, 'HEAD');
      let authorization: string | undefined;
      if (response.status === 401) {
        const header = response.headers.get('www-authenticate');
        const challenge = parseBearerChallenge(header);
        if (!challenge) {
          return unavailable(`${registry} asks for credentials (${header ? `WWW-Authenticate: ${header}` : 'no challenge'}); cortex pin reads registries other than ECR anonymously`);
        }
        const token = await this.token(challenge, reference);
        if (typeof token !== 'string') return token;
        authorization = `Bearer ${token}`;
        response = await this.request(url, 'HEAD', authorization);
        if (response.status === 401) {
          return unavailable(`${registry} refused anonymous access to ${reference.repository} (HTTP 401): a private image, or one that does not exist`);
        }
      }
      const refused = statusResolution(response.status, registry, reference.repository, tag);
      if (refused) return refused;
      const digest = response.headers.get('docker-content-digest');
      if (digest && SHA256_DIGEST.test(digest)) return resolved(digest);
      // Some registries send the digest only with the manifest: its SHA-256 is the digest by definition.
      const get = await this.request(url, 'GET', authorization);
      const refusedGet = statusResolution(get.status, registry, reference.repository, tag);
      if (refusedGet) {
        await get.body?.cancel();
        return refusedGet;
      }
      const body = Buffer.from(await get.arrayBuffer());
      const header = get.headers.get('docker-content-digest');
      return resolved(header && SHA256_DIGEST.test(header) ? header : `sha256:${createHash('sha256').update(body).digest('hex')}`);
    } catch (e) {
      const network = networkFailure(e);
      if (network) return unavailable(`${registry} unreachable (${network} at ${this.baseUrl(registry)})`);
      return unavailable(`${registry} could not be asked: ${(e as Error).message}`);
    }
  }

  /** An anonymous pull token from the challenge's realm, or what to do without one. */
  private async token(challenge: BearerChallenge, reference: ImageReference): Promise<string | Resolution> {
    let realm: URL;
    try {
      realm = new URL(challenge.realm);
    } catch {
      return unavailable(`${reference.registry} named a token realm that is not a URL (${JSON.stringify(challenge.realm)})`);
    }
    if (realm.protocol !== 'https:' && !(realm.protocol === 'http:' && isLoopbackHost(realm.hostname))) {
      return unavailable(`${reference.registry} named a token realm that is not https (${challenge.realm}); not asked`);
    }
    if (challenge.service !== undefined) realm.searchParams.set('service', challenge.service);
    realm.searchParams.set('scope', challenge.scope ?? `repository:${reference.repository}:pull`);
    const response = await this.request(realm.toString(), 'GET');
    if (!response.ok) {
      await response.body?.cancel();
      return unavailable(`${reference.registry}'s token service (${realm.origin}${realm.pathname}) answered HTTP ${response.status} to an anonymous request`);
    }
    let body: { token?: unknown; access_token?: unknown };
    try {
      body = (await response.json()) as typeof body;
    } catch {
      return unavailable(`${reference.registry}'s token service answered something other than JSON`);
    }
    const token = body?.token ?? body?.access_token;
    if (typeof token !== 'string' || token === '') return unavailable(`${reference.registry}'s token service answered without a token`);
    return token;
  }

  private async request(url: string, method: 'HEAD' | 'GET', authorization?: string): Promise<Response> {
    const headers: Record<string, string> = { Accept: MANIFEST_ACCEPT, 'User-Agent': 'cortex-cdk (cortex pin)' };
    if (authorization) headers.Authorization = authorization;
    const send = () => fetch(url, { method, headers, signal: AbortSignal.timeout(this.timeoutMs), redirect: 'follow' });
    try {
      return await send();
    } catch (e) {
      // A kept-alive connection the server closed as it was reused: these requests are idempotent, so once more
      // on a new connection (as Go's net/http does); a registry that is really down fails again.
      if (!CLOSED_CONNECTION_CODES.has(networkFailure(e) ?? '')) throw e;
      return send();
    }
  }
}

/** Failures of a connection the other end closed (not of one that could not be opened). */
const CLOSED_CONNECTION_CODES = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET']);

/** What a manifest request's status means, when it is not success. */
function statusResolution(status: number, registry: string, repository: string, tag: string): Resolution | undefined {
  if (status >= 200 && status < 300) return undefined;
  if (status === 404) return failed(`image not found: ${registry} has no ${repository}:${tag} (HTTP 404)`);
  if (status === 401 || status === 403) {
    return unavailable(`${registry} refused anonymous access to ${repository} (HTTP ${status}): a private image, or one that does not exist`);
  }
  if (status === 429) return unavailable(`${registry} is rate-limiting this address (HTTP 429); try again later`);
  return unavailable(`${registry} answered HTTP ${status} for ${repository}:${tag}`);
}

function checkRegistryUrl(registry: string, url: string): void {
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    parsed = undefined;
  }
  if (!parsed || !['http:', 'https:'].includes(parsed.protocol) || !isLoopbackHost(parsed.hostname) || parsed.pathname.replace(/\/+$/, '') !== '') {
    throw new CortexValidationError(
      `registryUrls[${JSON.stringify(registry)}] (${JSON.stringify(url)}) must be an http(s) URL of a loopback host with no path, ` +
        'e.g. "http://localhost:5000" (other registries are always asked over https)',
    );
  }
}
