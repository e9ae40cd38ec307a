/** `env`: a container's (or a predictor's) environment variables. */
import { describeValue, isMapping } from './describe-value';
import { Field } from './field';
import { ENV_VAR_NAME } from './names';

/** Variables cortex-cdk sets itself (CORTEX_GATEWAY_URL, ...) start with this. */
export const RESERVED_ENV_PREFIX = 'CORTEX_';

/**
 * The Python runtime's settings an API may set in its environment (`predictor.env`, or its project's `.env`:
 * the runtime's env_file.py keeps the same list, and a test holds the two together). Every other `CORTEX_` name
 * is cortex-cdk's own.
 */
export const USER_RUNTIME_SETTINGS: readonly string[] = [
  'CORTEX_MAX_BODY_SIZE',
  'CORTEX_MODEL_CACHE_DIR',
  'CORTEX_NEURON_CORES_PER_DEVICE',
  'CORTEX_STUCK_GRACE',
];

/**
 * The variables in file order. Scalars become strings the way YAML wrote them (`1` → "1",
 * `true` → "true", an empty value → ""), since every environment variable is text anyway.
 */
export function readEnv(field: Field): Record<string, string> | undefined {
  if (!field.isSet) return {};
  if (!isMapping(field.value)) {
    field.problem(`must be a mapping of variable names to values, got ${describeValue(field.value)}`);
    return undefined;
  }
  // Entries, then one object: assigning env["__proto__"] would set the object's prototype, not a variable.
  const env: [string, string][] = [];
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
    } else {
      variable.problem(`must be a string, number or boolean, got ${describeValue(value)}`);
      valid = false;
    }
  }
  return valid ? Object.fromEntries(env) : undefined;
}
