/** `env`: a container's (or a predictor's) environment variables. */
import { describeValue, isMapping } from './describe-value';
import { Field } from './field';
import { readSection, readString } from './field-readers';
import { DNS_1123_SUBDOMAIN, DNS_1123_SUBDOMAIN_RULE, ENV_VAR_NAME, MAX_DNS_SUBDOMAIN_LENGTH } from './names';
import { SecretKeyRef } from './types';

/** Variables cortex-cdk sets itself (CORTEX_GATEWAY_URL, ...) start with this. */
export const RESERVED_ENV_PREFIX = 'CORTEX_';

/**
 * The Python runtime's settings an API may set in its environment (`predictor.env`, or its project's `.env`:
 * the runtime's env_file.py keeps the same list, and a test holds the two together): CORTEX_API_KEY is the key
 * `cortex.client()` sends to the APIs it calls. Every other `CORTEX_` name is cortex-cdk's own.
 */
export const USER_RUNTIME_SETTINGS: readonly string[] = [
  'CORTEX_API_KEY',
  'CORTEX_MAX_BODY_SIZE',
  'CORTEX_MODEL_CACHE_DIR',
  'CORTEX_NEURON_CORES_PER_DEVICE',
  'CORTEX_STUCK_GRACE',
];

/** The keys of a Secret-backed variable: `NAME: {secret: SECRET, key: KEY}`. */
export const SECRET_KEY_REF_KEYS = ['secret', 'key'] as const;

/** A key of a Secret's `data`, as Kubernetes allows it: these characters, and neither ".", ".." nor "..<anything>". */
const SECRET_DATA_KEY = /^[-._a-zA-Z0-9]+$/;
const DOT_DOT_KEY = /^\.\.?$|^\.\./;
const MAX_SECRET_DATA_KEY_LENGTH = 253;

/** `env`, read: the literal variables and the Secret-backed ones, each in file order. */
export interface EnvReading {
  readonly env: Record<string, string>;
  readonly secretEnv: Record<string, SecretKeyRef>;
}

/**
 * The variables in file order. Scalars become strings the way YAML wrote them (`1` → "1",
 * `true` → "true", an empty value → ""), since every environment variable is text anyway; a mapping
 * `{secret: NAME, key: KEY}` takes the value from a key of a Secret in the API's namespace.
 */
export function readEnv(field: Field): EnvReading | undefined {
  if (!field.isSet) return { env: {}, secretEnv: {} };
  if (!isMapping(field.value)) {
    field.problem(`must be a mapping of variable names to values, got ${describeValue(field.value)}`);
    return undefined;
  }
  // Entries, then one object: assigning env["__proto__"] would set the object's prototype, not a variable.
  const env: [string, string][] = [];
  const secretEnv: [string, SecretKeyRef][] = [];
  let valid = true;
  for (const [name, value] of Object.entries(field.value)) {
    const variable = field.child(name);
    if (!ENV_VAR_NAME.test(name)) {
      variable.keyProblem(
        `invalid variable name ${JSON.stringify(name)}: use letters, digits, "_", "-" and ".", not starting with a digit`,
      );
      valid = false;
    } else if (name.startsWith(RESERVED_ENV_PREFIX) && !USER_RUNTIME_SETTINGS.includes(name)) {
      variable.keyProblem(
        `names starting with ${RESERVED_ENV_PREFIX} are reserved for the variables cortex-cdk sets (such as CORTEX_GATEWAY_URL), ` +
          `except the runtime settings ${USER_RUNTIME_SETTINGS.join(', ')}; rename ${name}`,
      );
      valid = false;
    }
    if (value === null || value === undefined) {
      env.push([name, '']);
    } else if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
      env.push([name, String(value)]);
    } else if (isMapping(value) && SECRET_KEY_REF_KEYS.some((key) => Object.prototype.hasOwnProperty.call(value, key))) {
      const ref = readSecretKeyRef(variable);
      if (ref === undefined) valid = false;
      else secretEnv.push([name, ref]);
    } else {
      const got = isMapping(value) ? 'a mapping with neither secret nor key' : describeValue(value);
      variable.problem(`must be a string, number or boolean, or {secret: NAME, key: KEY} (a key of a Secret), got ${got}`);
      valid = false;
    }
  }
  return valid ? { env: Object.fromEntries(env), secretEnv: Object.fromEntries(secretEnv) } : undefined;
}

/** `{secret: NAME, key: KEY}`: both required, the Secret's name and a key of its data. */
function readSecretKeyRef(field: Field): SecretKeyRef | undefined {
  if (!readSection(field, SECRET_KEY_REF_KEYS)) return undefined;
  const secretField = field.child('secret');
  const keyField = field.child('key');
  let secret = readString(secretField, { required: true });
  let key = readString(keyField, { required: true });
  if (secret !== undefined && (secret.length > MAX_DNS_SUBDOMAIN_LENGTH || !DNS_1123_SUBDOMAIN.test(secret))) {
    secretField.problem(`must be the name of a Secret, ${DNS_1123_SUBDOMAIN_RULE}; got ${describeValue(secret)}`);
    secret = undefined;
  }
  if (key !== undefined && (key.length > MAX_SECRET_DATA_KEY_LENGTH || !SECRET_DATA_KEY.test(key))) {
    keyField.problem(
      `must be a key of the Secret's data: at most ${MAX_SECRET_DATA_KEY_LENGTH} letters, digits, "-", "_" and "."; got ${describeValue(key)}`,
    );
    key = undefined;
  }
  if (key !== undefined && DOT_DOT_KEY.test(key)) {
    keyField.problem(`must be a key of the Secret's data, which is not ".", ".." nor one starting with ".." (the API server refuses them); got ${describeValue(key)}`);
    key = undefined;
  }
  const known = Object.keys(field.value as object).every((k) => (SECRET_KEY_REF_KEYS as readonly string[]).includes(k));
  return secret !== undefined && key !== undefined && known ? { secret, key } : undefined;
}
