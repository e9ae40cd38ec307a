/**
 * What asking a registry for a tag's digest gives: the digest, a reason to keep the tag (the registry did not
 * answer, or not to an anonymous caller — a warning), or a reason to stop (the image is not there, the caller
 * may not read it — an error).
 */
export type Resolution =
  | { readonly status: 'resolved'; readonly digest: string }
  | { readonly status: 'unavailable'; readonly reason: string }
  | { readonly status: 'failed'; readonly reason: string };

export function resolved(digest: string): Resolution {
  return { status: 'resolved', digest };
}

/** The registry gave no answer to go by: the tag is kept (or its previous pin), with a warning. */
export function unavailable(reason: string): Resolution {
  return { status: 'unavailable', reason };
}

/** The registry's answer rules the image out: an error, and no lock file is written. */
export function failed(reason: string): Resolution {
  return { status: 'failed', reason };
}

/** Network failures (Node's and the AWS SDK's), by code or name: the registry was not reached. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_SOCKET',
  'UND_ERR_HEADERS_TIMEOUT',
  'TimeoutError',
  'AbortError',
  'RequestTimeout',
]);

/**
 * The network code of an error (through `cause`, as fetch wraps them), when it is a failure to reach the
 * other end; undefined for any other error.
 */
export function networkFailure(error: unknown): string | undefined {
  for (let e = error, depth = 0; e && typeof e === 'object' && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const { code, name } = e as { code?: unknown; name?: unknown };
    if (typeof code === 'string' && NETWORK_CODES.has(code)) return code;
    if (typeof name === 'string' && NETWORK_CODES.has(name)) return name === 'AbortError' ? 'TimeoutError' : name;
  }
  return undefined;
}
