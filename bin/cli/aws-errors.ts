/**
 * What an AWS SDK failure means for the person running the CLI, in one place for the commands that call AWS
 * (`cortex logs`, `cortex pin`, `cortex diff`); each words the advice for its own call. Classified by the
 * error's name (the SDK names a service's error by its code) and, for the SDK's own failures raised before
 * any request, by its message.
 */

/**
 * - `no-credentials`: the SDK found none (`CredentialsProviderError`): nothing was sent;
 * - `expired-credentials`: AWS refused a session token past its expiry;
 * - `rejected-credentials`: AWS does not know the access key, or the signature does not match its secret;
 * - `access-denied`: the credentials are good, and the policy does not allow the call;
 * - `not-found`: the thing asked for does not exist (each service's own name: the caller reads `name`);
 * - `no-region` / `invalid-region`: the SDK has no region, or one it cannot make a host name of;
 * - `other`: anything else (throttling, a service failure, the network: callers that tell those apart check first).
 */
export type AwsErrorKind =
  | 'no-credentials'
  | 'expired-credentials'
  | 'rejected-credentials'
  | 'access-denied'
  | 'not-found'
  | 'no-region'
  | 'invalid-region'
  | 'other';

export interface ClassifiedAwsError {
  readonly kind: AwsErrorKind;
  /** The error's name (its code, for a service's answer): `ExpiredToken`, `AccessDeniedException`... */
  readonly name: string;
  readonly message: string;
}

/**
 * A session token past its expiry. AWS names the error by protocol: `ExpiredToken` in the query protocol
 * (CloudFormation, STS, IAM), `ExpiredTokenException` in the JSON protocols (ECR, CloudWatch Logs).
 */
export const EXPIRED_CREDENTIALS: ReadonlySet<string> = new Set(['ExpiredToken', 'ExpiredTokenException']);

/**
 * Credentials AWS does not accept, by protocol as above: an access key it does not know (`InvalidClientTokenId`,
 * `UnrecognizedClientException`), a signature that does not match the secret key (`SignatureDoesNotMatch`,
 * `InvalidSignatureException`).
 */
export const REJECTED_CREDENTIALS: ReadonlySet<string> = new Set(['InvalidClientTokenId', 'UnrecognizedClientException', 'SignatureDoesNotMatch', 'InvalidSignatureException']);

/** A call the policy does not allow: `AccessDenied` (query protocol), `AccessDeniedException` (JSON). */
export const ACCESS_DENIED: ReadonlySet<string> = new Set(['AccessDenied', 'AccessDeniedException']);

/** Messages of an expired session whose error has another name (an SSO or assumed-role session). */
const EXPIRED_MESSAGE = /token.*expired|expired.*token|session.*expired/i;

/** The kind of an AWS SDK failure, with its name and message. */
export function classifyAwsError(error: unknown): ClassifiedAwsError {
  const { name: errorName, message: errorMessage, Code: code } = (error ?? {}) as { name?: string; message?: string; Code?: string };
  const name = errorName ?? code ?? 'Error';
  const message = errorMessage ?? String(error);
  const status = (error as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
  const kind = ((): AwsErrorKind => {
    if (name === 'CredentialsProviderError' || /could not load credentials/i.test(message)) return 'no-credentials';
    if (EXPIRED_CREDENTIALS.has(name)) return 'expired-credentials';
    if (REJECTED_CREDENTIALS.has(name)) return 'rejected-credentials';
    if (ACCESS_DENIED.has(name)) return 'access-denied';
    if (EXPIRED_MESSAGE.test(message)) return 'expired-credentials';
    if (/region is missing/i.test(message)) return 'no-region';
    if (/region not accepted/i.test(message)) return 'invalid-region';
    if (/NotFound(Exception)?$/.test(name) || (name === 'ValidationError' && /does not exist/.test(message))) return 'not-found';
    // A refusal of another name (a service-specific one): the policy, as far as anyone can tell.
    if (status === 403) return 'access-denied';
    return 'other';
  })();
  return { kind, name, message };
}
