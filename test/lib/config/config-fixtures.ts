/** Fixtures shared by the lib/config tests: small valid APIs and ways to read what the validator says. */
import { ConfigError, configFromObject, formatProblem, RealtimeApiSpec, validateConfig, validateConfigObject } from '../../../lib/config';

/** The file name every YAML test validates under. */
export const FILE = 'cortex.yaml';

/** The formatted problem lines `cortex validate` would print for `yaml`. */
export function problemsOf(yaml: string): string[] {
  return validateConfig(yaml, FILE).problems.map(formatProblem);
}

/** The problem lines for a value built in code (no positions: `<props>: path: message`). */
export function objectProblems(value: unknown): string[] {
  return validateConfigObject(value).problems.map(formatProblem);
}

/** The RealtimeAPI that `value` (one API object, or a list) validates to; fails with the problems when invalid. */
export function realtimeSpecOf(value: unknown, name?: string): RealtimeApiSpec {
  const config = configOrFail(value);
  const api = name === undefined ? config.apis[0] : config.apis.find((a) => a.name === name);
  if (!api) throw new Error(`no RealtimeAPI ${name ?? ''} in the config`);
  return api;
}

function configOrFail(value: unknown) {
  try {
    return configFromObject(Array.isArray(value) ? value : [value]);
  } catch (e) {
    if (e instanceof ConfigError) throw new Error(`expected a valid config, got:\n${e.message}`);
    throw e;
  }
}

/** A minimal valid container-form API. */
export function containerApi(): Record<string, any> {
  return { name: 'iris', kind: 'RealtimeAPI', pod: { containers: [{ name: 'api', image: 'iris:1' }] } };
}

/** A minimal valid predictor-form API. */
export function predictorApi(): Record<string, any> {
  return { name: 'iris', kind: 'RealtimeAPI', predictor: { type: 'python', path: 'predictor.py' } };
}

/**
 * `base` with `overrides` merged in: mappings merge key by key, anything else replaces, and a key
 * set to `undefined` is removed.
 */
export function merged(base: Record<string, any>, overrides: Record<string, any>): Record<string, any> {
  const result: Record<string, any> = { ...base };
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) delete result[key];
    else if (isPlain(value) && isPlain(result[key])) result[key] = merged(result[key], value);
    else result[key] = value;
  }
  return result;
}

function isPlain(value: unknown): value is Record<string, any> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The minimal container API with its only container's fields overridden. */
export function apiWithContainer(overrides: Record<string, any>): Record<string, any> {
  return merged(containerApi(), { pod: { containers: [merged(containerApi().pod.containers[0], overrides)] } });
}

/** Problems (message lines, `<props>: ...`) of the minimal container API with `overrides`. */
export function containerApiProblems(overrides: Record<string, any>): string[] {
  return objectProblems([merged(containerApi(), overrides)]);
}

/** Problems of the minimal predictor API with `overrides`. */
export function predictorApiProblems(overrides: Record<string, any>): string[] {
  return objectProblems([merged(predictorApi(), overrides)]);
}
