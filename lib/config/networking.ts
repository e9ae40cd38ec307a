/** `networking`: where an API (or a traffic splitter) is served on the gateway. */
import { defaultApiKeysSecret, MAX_NETWORKING_TIMEOUT_SECONDS, NETWORKING_DEFAULTS } from './defaults';
import { describeValue } from './describe-value';
import { Field } from './field';
import { readDuration, readSection, readString, readStringList } from './field-readers';
import { DNS_1123_SUBDOMAIN, DNS_1123_SUBDOMAIN_RULE, MAX_DNS_SUBDOMAIN_LENGTH } from './names';
import { ApiKeysSpec, AuthSpec, JwtSpec, NetworkingSpec } from './types';

export const NETWORKING_KEYS = ['endpoint', 'timeout', 'auth'] as const;
export const AUTH_KEYS = ['api_keys', 'jwt'] as const;
export const API_KEYS_KEYS = ['secret'] as const;
export const JWT_KEYS = ['issuer', 'jwks_uri', 'audiences'] as const;

const NETWORKING_HINTS = {
  api_gateway:
    'api_gateway is from Cortex v0.30 and not supported: every API is served behind the one gateway of the cluster',
};

const SPLITTER_AUTH_HINTS = {
  api_keys:
    "api_keys belongs to the RealtimeAPIs a TrafficSplitter routes to: each one's proxy checks its own keys; a splitter may set jwt, checked at the gateway on its own endpoint",
};

export interface NetworkingOptions {
  /**
   * Whether `auth.api_keys` is allowed (RealtimeAPIs; a TrafficSplitter has no proxy of its own: its targets'
   * proxies check their keys). `auth.jwt` is checked at the gateway on the endpoint, so a splitter may set it.
   * @default true
   */
  readonly apiKeys?: boolean;
}

export function readNetworking(field: Field, apiName: string | undefined, options: NetworkingOptions = {}): NetworkingSpec | undefined {
  const withApiKeys = options.apiKeys ?? true;
  const section = readSection(field, NETWORKING_KEYS, { hints: NETWORKING_HINTS });
  if (!section) return undefined;

  const endpoint = readEndpoint(section.get('endpoint'), apiName);
  const timeoutSeconds = readDuration(section.get('timeout'), {
    min: 0,
    minExclusive: true,
    max: MAX_NETWORKING_TIMEOUT_SECONDS,
    // Istio refuses a VirtualService timeout that is not whole milliseconds: say so here, not at deploy.
    multipleOf: 0.001,
    default: NETWORKING_DEFAULTS.timeoutSeconds,
  });

  const authField = section.get('auth');
  const auth = authField.exists ? readAuth(authField, apiName, withApiKeys) : undefined;
  if (endpoint === undefined || timeoutSeconds === undefined) return undefined;
  if (authField.exists && auth === undefined) return undefined;
  return auth === undefined ? { endpoint, timeoutSeconds } : { endpoint, timeoutSeconds, auth };
}

/** `networking.auth`: `api_keys`, `jwt`, or both (a request must then pass both). */
function readAuth(field: Field, apiName: string | undefined, withApiKeys: boolean): AuthSpec | undefined {
  const keys = withApiKeys ? AUTH_KEYS : AUTH_KEYS.filter((key) => key !== 'api_keys');
  const section = readSection(field, keys, { hints: withApiKeys ? {} : SPLITTER_AUTH_HINTS });
  if (!section) return undefined;
  const apiKeysField = section.get('api_keys');
  const jwtField = section.get('jwt');
  if (!(withApiKeys && apiKeysField.exists) && !jwtField.exists) {
    // `auth: {}` or `auth:` alone asks for nothing: say so rather than serve the API open. (An unknown key
    // in it, `apikeys`, has been reported with a did-you-mean.)
    const empty = field.value === null || Object.keys(field.value as object).length === 0;
    const example = withApiKeys ? 'auth: {api_keys: {secret: NAME}}' : 'auth: {jwt: {issuer: URL}}';
    if (empty) field.problem(`must set ${keys.join(' or ')}, such as ${example}; an empty auth would serve the API to anyone`);
    return undefined;
  }
  const apiKeys = withApiKeys && apiKeysField.exists ? readApiKeys(apiKeysField, apiName) : undefined;
  const jwt = jwtField.exists ? readJwt(jwtField) : undefined;
  if ((withApiKeys && apiKeysField.exists && apiKeys === undefined) || (jwtField.exists && jwt === undefined)) return undefined;
  return { ...(apiKeys && { apiKeys }), ...(jwt && { jwt }) };
}

/** The longest `jwks_uri` the RequestAuthentication CRD takes. */
const MAX_JWKS_URI_LENGTH = 2048;

/**
 * `networking.auth.jwt`: `{issuer, jwks_uri, audiences}`. The issuer is compared exactly with the token's `iss`
 * claim, so it is written as the identity provider writes it (Cognito: `https://cognito-idp.REGION.amazonaws.com/POOL_ID`).
 */
function readJwt(field: Field): JwtSpec | undefined {
  const section = readSection(field, JWT_KEYS, { required: true });
  if (!section) return undefined;
  const jwksUriField = section.get('jwks_uri');
  const jwksUri = readString(jwksUriField);
  const jwksUriOk = jwksUri === undefined ? !jwksUriField.isSet : checkHttpsUrl(jwksUriField, jwksUri, 'the JSON Web Key Set');
  const issuerField = section.get('issuer');
  const issuer = readString(issuerField, { required: true });
  const issuerOk = issuer !== undefined && checkIssuer(issuerField, issuer, jwksUriField.isSet);
  const audiencesField = section.get('audiences');
  const audiences = readStringList(audiencesField, { minLength: 1, what: 'audience' });
  const audiencesOk = audiences !== undefined ? checkAudiences(audiencesField, audiences) : !audiencesField.isSet;
  if (!issuerOk || !jwksUriOk || !audiencesOk) return undefined;
  return { issuer: issuer!, ...(jwksUri !== undefined && { jwksUri }), ...(audiences !== undefined && { audiences }) };
}

/** A value the gateway compares exactly: no whitespace, and no "*" (Istio's AuthorizationPolicy reads it as a wildcard). */
function exactValueProblem(value: string): string | undefined {
  if (/\s/.test(value)) return 'must not contain whitespace';
  if (value.includes('*')) return 'must not contain "*" (the gateway would read it as a wildcard)';
  return undefined;
}

/**
 * The issuer: an https:// URL, whose `/.well-known/openid-configuration` names the key set when `jwks_uri` is
 * not set; with `jwks_uri`, any issuer name (a Google service account's is an e-mail address).
 */
function checkIssuer(field: Field, issuer: string, withJwksUri: boolean): boolean {
  const problem = exactValueProblem(issuer);
  if (problem) {
    field.problem(`${problem}, got ${describeValue(issuer)}`);
    return false;
  }
  if (withJwksUri) return true;
  return checkHttpsUrl(field, issuer, 'the token issuer (its /.well-known/openid-configuration names the key set; or set jwks_uri)');
}

function checkHttpsUrl(field: Field, value: string, what: string): boolean {
  const problem = httpsUrlProblem(value);
  if (problem === undefined) return true;
  field.problem(`must be the https:// URL of ${what}: ${problem}, got ${describeValue(value)}`);
  return false;
}

/** What keeps `value` from being an https:// URL the gateway can fetch, or undefined. */
export function httpsUrlProblem(value: string): string | undefined {
  const exact = exactValueProblem(value);
  if (exact) return exact;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'not a URL';
  }
  if (url.protocol !== 'https:') return `the scheme is ${JSON.stringify(url.protocol.replace(/:$/, ''))}, not https`;
  if (url.hostname === '') return 'no host';
  if (url.username !== '' || url.password !== '') return 'credentials in the URL';
  if (url.hash !== '') return 'a #fragment';
  if (value.length > MAX_JWKS_URI_LENGTH) return `longer than ${MAX_JWKS_URI_LENGTH} characters`;
  return undefined;
}

function checkAudiences(field: Field, audiences: readonly string[]): boolean {
  let ok = true;
  audiences.forEach((audience, index) => {
    const problem = audience.trim() === '' ? 'must not be empty' : exactValueProblem(audience);
    if (problem === undefined) return;
    field.child(index).problem(`${problem}, got ${describeValue(audience)}`);
    ok = false;
  });
  return ok;
}

/** `networking.auth.api_keys`: `{secret: NAME}`, or `{}` for the default Secret `<name>-api-keys`. */
function readApiKeys(field: Field, apiName: string | undefined): ApiKeysSpec | undefined {
  // `api_keys:` with nothing after it (null) reads as `{}`: the default Secret.
  const section = field.value === null ? undefined : readSection(field, API_KEYS_KEYS);
  if (field.value !== null && !section) return undefined;
  const secretField = field.child('secret');
  const secret = readString(secretField, { default: apiName === undefined ? undefined : defaultApiKeysSecret(apiName) });
  if (secret === undefined) return undefined;
  if (secretField.isSet && (secret.length > MAX_DNS_SUBDOMAIN_LENGTH || !DNS_1123_SUBDOMAIN.test(secret))) {
    secretField.problem(`must be the name of a Secret, ${DNS_1123_SUBDOMAIN_RULE}; got ${describeValue(secret)}`);
    return undefined;
  }
  return { secret };
}

/** An endpoint field (`networking.endpoint`, `kind: api`'s `endpoint`): `/<name>` when unset. */
export function readEndpoint(field: Field, apiName: string | undefined): string | undefined {
  const endpoint = readString(field, { default: apiName === undefined ? undefined : defaultEndpoint(apiName) });
  if (endpoint === undefined || !field.isSet) return endpoint;
  const problem = endpointProblem(endpoint);
  if (!problem) return endpoint;
  field.problem(problem);
  return undefined;
}

export function defaultEndpoint(apiName: string): string {
  return `/${apiName}`;
}

const ENDPOINT_CHARACTERS = /^[A-Za-z0-9_.\-/]*$/;

/**
 * What is wrong with an endpoint, or undefined when it is fine. The gateway matches the endpoint
 * exactly and as a prefix followed by "/", so it has to be one clean path: leading "/", no
 * trailing "/", no empty segment, and characters that need no escaping.
 */
export function endpointProblem(endpoint: string): string | undefined {
  const got = `got ${describeValue(endpoint)}`;
  if (!endpoint.startsWith('/')) return `must start with "/", ${got}`;
  if (endpoint === '/') return 'must not be "/" alone (the root of the gateway); use a path such as "/iris"';
  if (endpoint.endsWith('/')) return `must not end with "/", ${got}`;
  if (endpoint.includes('//')) return `must not contain "//", ${got}`;
  if (!ENDPOINT_CHARACTERS.test(endpoint)) return `may contain only letters, digits, "/", "-", "_" and ".", ${got}`;
  return undefined;
}
