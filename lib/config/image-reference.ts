/**
 * Container image references, read the way Docker and containerd read them
 * (`[registry/]repository[:tag][@sha256:digest]`), for pinning tags to digests: which registry to ask,
 * which repository and tag, and how the pinned reference is written.
 */

import { describeValue } from './describe-value';

/** A parsed image reference. */
export interface ImageReference {
  /** The reference as written (in the cortex.yaml). */
  readonly written: string;
  /** The written reference without its tag and digest: `redis`, `ghcr.io/org/model`. */
  readonly name: string;
  /** The registry's host (and port): `docker.io` when the reference names none. */
  readonly registry: string;
  /** The repository inside the registry; Docker Hub's official images get `library/` (`library/redis`). */
  readonly repository: string;
  /** The tag as written. @default - none (the registry's `latest`, see {@link tagOf}) */
  readonly tag?: string;
  /** The digest as written (`sha256:…`). @default - none */
  readonly digest?: string;
}

/** The registry of references that name none, and how Docker Hub is also written. */
export const DOCKER_HUB = 'docker.io';
const DOCKER_HUB_ALIASES = new Set([DOCKER_HUB, 'index.docker.io', 'registry-1.docker.io']);

/** A SHA-256 digest, as registries give them and the lock keeps them. */
export const SHA256_DIGEST = /^sha256:[a-f0-9]{64}$/;

// The grammar of github.com/distribution/reference (the one Docker and containerd use).
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const DOMAIN = /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}$/;
const MAX_NAME_LENGTH = 255;

/** A reference, or why the text is not one. */
export type ImageReferenceResult = { readonly reference: ImageReference } | { readonly problem: string };

/** Reads an image reference; never throws. */
export function parseImageReference(text: string): ImageReferenceResult {
  const fail = (why: string): ImageReferenceResult => ({ problem: `${describeValue(text)} is not an image reference: ${why}` });
  if (text === '' || /\s/.test(text)) return fail('it is empty or holds whitespace');

  const at = text.indexOf('@');
  const beforeDigest = at === -1 ? text : text.slice(0, at);
  const digest = at === -1 ? undefined : text.slice(at + 1);
  if (digest !== undefined && !DIGEST.test(digest)) return fail(`the digest ${describeValue(digest)} must be ALGORITHM:HEX, e.g. sha256:<64 hex digits>`);

  const lastSlash = beforeDigest.lastIndexOf('/');
  const colon = beforeDigest.indexOf(':', lastSlash + 1);
  const name = colon === -1 ? beforeDigest : beforeDigest.slice(0, colon);
  const tag = colon === -1 ? undefined : beforeDigest.slice(colon + 1);
  if (tag !== undefined && !TAG.test(tag)) return fail(`the tag ${describeValue(tag)} must be 1 to 128 letters, digits, "_", "." or "-", not starting with "." or "-"`);
  if (name.length > MAX_NAME_LENGTH) return fail(`the name is longer than ${MAX_NAME_LENGTH} characters`);

  const { registry, path } = splitRegistry(name);
  if (!DOMAIN.test(registry)) return fail(`the registry ${describeValue(registry)} is not a host name`);
  const components = path.split('/');
  const bad = components.find((c) => !PATH_COMPONENT.test(c));
  if (bad !== undefined) {
    return fail(`the repository part ${describeValue(bad)} must be lowercase letters and digits, separated by ".", "_", "__" or "-"`);
  }
  const isDockerHub = DOCKER_HUB_ALIASES.has(registry);
  const repository = isDockerHub && components.length === 1 ? `library/${path}` : path;
  return {
    reference: {
      written: text,
      name,
      registry: isDockerHub ? DOCKER_HUB : registry,
      repository,
      ...(tag !== undefined ? { tag } : {}),
      ...(digest !== undefined ? { digest } : {}),
    },
  };
}

/**
 * Docker's rule for the first component: a registry when it has a "." or a ":", is `localhost`, or has
 * capitals (which repositories may not); otherwise the reference is on Docker Hub.
 */
function splitRegistry(name: string): { registry: string; path: string } {
  const slash = name.indexOf('/');
  if (slash === -1) return { registry: DOCKER_HUB, path: name };
  const first = name.slice(0, slash);
  const isRegistry = /[.:]/.test(first) || first === 'localhost' || first !== first.toLowerCase();
  return isRegistry ? { registry: first, path: name.slice(slash + 1) } : { registry: DOCKER_HUB, path: name };
}

/** The tag to resolve: the written one, or `latest` as `docker pull` does. */
export function tagOf(reference: ImageReference): string {
  return reference.tag ?? 'latest';
}

/**
 * The pinned form of a reference: its name as written and the digest (`redis@sha256:…`). The tag is left
 * out: with a digest the runtime ignores it, and the lock file's key keeps it for people.
 */
export function pinnedReference(reference: ImageReference, digest: string): string {
  return `${reference.name}@${digest}`;
}
