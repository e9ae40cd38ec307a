/** `networking`: where an API (or a traffic splitter) is served on the gateway. */
import { defaultApiKeysSecret, NETWORKING_DEFAULTS } from './defaults';
import { describeValue } from './describe-value';
import { Field } from './field';
import { readDuration, readSection, readString } from './field-readers';
import { DNS_1123_SUBDOMAIN, DNS_1123_SUBDOMAIN_RULE, MAX_DNS_SUBDOMAIN_LENGTH } from './names';
import { ApiKeysSpec, AuthSpec, NetworkingSpec } from './types';

export const NETWORKING_KEYS = ['endpoint', 'timeout', 'auth'] as const;
export const AUTH_KEYS = ['api_keys'] as const;
export const API_KEYS_KEYS = ['secret'] as const;

const NETWORKING_HINTS = {
  api_gateway:
    'api_gateway is from Cortex v0.30 and not supported: every API is served behind the one gateway of the cluster',
};

const SPLITTER_NETWORKING_HINTS = {
  ...NETWORKING_HINTS,
  auth: "auth belongs to the RealtimeAPIs a TrafficSplitter routes to: each one's proxy checks its own keys",
};

export interface NetworkingOptions {
  /** Whether `auth` is allowed (RealtimeAPIs; a TrafficSplitter's targets check keys themselves). @default true */
  readonly auth?: boolean;
}

export function readNetworking(field: Field, apiName: string | undefined, options: NetworkingOptions = {}): NetworkingSpec | undefined {
  const withAuth = options.auth ?? true;
  const keys = withAuth ? NETWORKING_KEYS : NETWORKING_KEYS.filter((key) => key !== 'auth');
  const section = readSection(field, keys, { hints: withAuth ? NETWORKING_HINTS : SPLITTER_NETWORKING_HINTS });
  if (!section) return undefined;

  const endpoint = readEndpoint(section.get('endpoint'), apiName);
  const timeoutSeconds = readDuration(section.get('timeout'), {
    min: 0,
    minExclusive: true,
    default: NETWORKING_DEFAULTS.timeoutSeconds,
  });

  const authField = section.get('auth');
  const auth = withAuth && authField.exists ? readAuth(authField, apiName) : undefined;
  if (endpoint === undefined || timeoutSeconds === undefined) return undefined;
  if (withAuth && authField.exists && auth === undefined) return undefined;
  return auth === undefined ? { endpoint, timeoutSeconds } : { endpoint, timeoutSeconds, auth };
}

/** `networking.auth`: `api_keys`. */
function readAuth(field: Field, apiName: string | undefined): AuthSpec | undefined {
  const section = readSection(field, AUTH_KEYS);
  if (!section) return undefined;
  if (!section.get('api_keys').exists) {
    // `auth: {}` or `auth:` alone asks for nothing: say so rather than serve the API open. (An unknown key
    // in it, `apikeys`, has been reported with a did-you-mean.)
    const empty = field.value === null || Object.keys(field.value as object).length === 0;
    if (empty) field.problem(`must set ${AUTH_KEYS.join(' or ')}, such as auth: {api_keys: {secret: NAME}}; an empty auth would serve the API to anyone`);
    return undefined;
  }
  const apiKeys = readApiKeys(section.get('api_keys'), apiName);
  return apiKeys === undefined ? undefined : { apiKeys };
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
