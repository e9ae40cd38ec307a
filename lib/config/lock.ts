/**
 * The image lock file, `cortex.lock.json` beside the cortex.yaml: each image as written in the cortex.yaml,
 * pinned to the digest its tag pointed at when `cortex pin` ran.
 *
 *   { "version": 1, "images": { "hashicorp/http-echo:1.0": "hashicorp/http-echo@sha256:…" } }
 *
 * Synth and `cortex manifests` read it when it is there and deploy the pinned references instead of the
 * tags, so a build is deterministic and a re-pushed tag reaches the cluster only through `cortex pin`,
 * which makes it show in `cdk diff` as a rolling update. Reading only, and no AWS: resolving and writing are
 * `cortex pin`'s job (bin/cli/pin/).
 */
import * as fs from 'node:fs';
import { describeValue, isMapping } from './describe-value';
import { ConfigError, ConfigProblem } from './errors';
import { parseImageReference, SHA256_DIGEST } from './image-reference';
import { PREDICTOR_CONTAINER_NAME } from './predictor-api';
import { loadConfigFile } from './parse';
import { CortexConfig, RealtimeApiSpec } from './types';
import { readYamlSource } from './yaml-source';

/** The lock format this version reads and writes. */
export const LOCK_FILE_VERSION = 1;

/** A valid lock file. */
export interface ImageLock {
  /** The file as named. */
  readonly file: string;
  /** Pinned references (`name@sha256:…`) by image reference as written in the cortex.yaml. */
  readonly images: Readonly<Record<string, string>>;
}

/** A lock file read: the lock when valid, otherwise every problem found. */
export interface LockFileResult {
  readonly lock?: ImageLock;
  readonly problems: readonly ConfigProblem[];
}

/** One image of a config and where it is used. */
export interface ConfigImage {
  /** The reference as written. */
  readonly image: string;
  /** The fields that name it, as problems name fields: `iris.pod.containers[0].image`, `iris.predictor.image`. */
  readonly usages: readonly string[];
}

/** A config with its lock applied. */
export interface LockedConfigResult {
  /** The config with pinned images; set when there are no problems. */
  readonly config?: CortexConfig;
  readonly problems: readonly ConfigProblem[];
  /** The lock file read, as named; undefined when there was none (or `lockFile: false`). */
  readonly lockFile?: string;
  /** Images of the config that a lock file was read for but that it does not pin; they deploy as written. */
  readonly unpinned: readonly string[];
}

/** How {@link applyLockFile} finds the lock file. */
export interface LockFileOptions {
  /**
   * The lock file, or `false` to deploy the images as written.
   * @default - the cortex.yaml's path with `.yaml`/`.yml` replaced by `.lock.json`, when that file exists
   */
  readonly lockFile?: string | false;
  /**
   * Turns a path as named into the path to read (the CLI resolves against its working directory).
   * @default - the path as named, relative to the process's working directory
   */
  readonly pathToRead?: (file: string) => string;
}

/** The lock file of a cortex.yaml: beside it, `.yaml`/`.yml` replaced by `.lock.json` (`cortex.yaml` → `cortex.lock.json`). */
export function lockFileFor(configFile: string): string {
  return /\.ya?ml$/i.test(configFile) ? configFile.replace(/\.ya?ml$/i, '.lock.json') : `${configFile}.lock.json`;
}

/**
 * Every image a config's containers run, in file order, with the fields that name it. Left out: the
 * predictor runtime of predictor-form APIs without `predictor.image` (an image built by the CDK app).
 */
export function configImages(config: CortexConfig): ConfigImage[] {
  const usages = new Map<string, string[]>();
  const add = (image: string, usage: string) => {
    const list = usages.get(image);
    if (list) list.push(usage);
    else usages.set(image, [usage]);
  };
  for (const api of config.apis) {
    if (api.predictor) {
      if (api.predictor.image !== undefined) add(api.predictor.image, `${api.name}.predictor.image`);
      continue;
    }
    api.pod.containers.forEach((c, i) => add(c.image, `${api.name}.pod.containers[${i}].image`));
  }
  return [...usages].map(([image, list]) => ({ image, usages: list }));
}

/** Whether a reference already names a digest (nothing to pin). */
export function isDigestReference(image: string): boolean {
  return image.includes('@');
}

/**
 * The config with every image the lock pins replaced by its pinned reference. Lock entries for images the
 * config no longer uses are ignored (`cortex pin` drops them when it rewrites the file); images the lock does
 * not pin are kept as written and listed in `unpinned`.
 */
export function applyLock(config: CortexConfig, lock: ImageLock): { config: CortexConfig; unpinned: string[] } {
  const pin = (image: string): string => (Object.prototype.hasOwnProperty.call(lock.images, image) ? lock.images[image] : image);
  const unpinned = configImages(config)
    .map((i) => i.image)
    .filter((image) => !isDigestReference(image) && pin(image) === image);
  const apis = new Map<RealtimeApiSpec, RealtimeApiSpec>(config.apis.map((api) => [api, pinApi(api, pin)]));
  // Specs and apis hold the same objects in a parsed config; a config assembled by hand may not.
  const specs = config.specs.map((s) => (s.kind === 'RealtimeAPI' ? (apis.get(s) ?? pinApi(s, pin)) : s));
  return { config: { ...config, specs, apis: config.apis.map((a) => apis.get(a)!) }, unpinned };
}

/** An API with its images pinned; a predictor-form API's runtime only when the user named its image. */
function pinApi(api: RealtimeApiSpec, pin: (image: string) => string): RealtimeApiSpec {
  const predictor = api.predictor;
  if (!predictor) {
    return { ...api, pod: { ...api.pod, containers: api.pod.containers.map((c) => ({ ...c, image: pin(c.image) })) } };
  }
  if (predictor.image === undefined) return api;
  const containers = api.pod.containers.map((c) => (c.name === PREDICTOR_CONTAINER_NAME ? { ...c, image: pin(c.image) } : c));
  return { ...api, predictor: { ...predictor, image: pin(predictor.image) }, pod: { ...api.pod, containers } };
}

/**
 * Applies a cortex.yaml's lock file, when it has one (see {@link LockFileOptions}); never throws. A lock
 * file that is named but missing, or that is not a valid lock, is a problem.
 */
export function applyLockFile(config: CortexConfig, configFile: string, options: LockFileOptions = {}): LockedConfigResult {
  if (options.lockFile === false) return { config, problems: [], unpinned: [] };
  const file = options.lockFile ?? lockFileFor(configFile);
  const toRead = (options.pathToRead ?? ((f: string) => f))(file);
  if (options.lockFile === undefined && !fs.existsSync(toRead)) return { config, problems: [], unpinned: [] };
  const { lock, problems } = readLockFile(file, toRead);
  if (!lock) return { problems, lockFile: file, unpinned: [] };
  return { ...applyLock(config, lock), problems: [], lockFile: file };
}

/** Like `loadConfigFile`, with the file's lock applied (see {@link LockFileOptions}); problems in either throw a ConfigError. */
export function loadConfigFileWithLock(configFile: string, options: LockFileOptions = {}): CortexConfig {
  const result = applyLockFile(loadConfigFile(configFile), configFile, options);
  if (!result.config) throw new ConfigError(result.problems);
  return result.config;
}

/** Reads and validates a lock file; `file` names it in problems, `toRead` is where it is read from (default: `file`). */
export function readLockFile(file: string, toRead: string = file): LockFileResult {
  let text: string;
  try {
    text = fs.readFileSync(toRead, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory; name the lock file itself' : code === 'EACCES' || code === 'EPERM' ? 'permission denied' : `cannot be read: ${(e as Error).message}`;
    return { problems: [{ file, line: 0, column: 0, path: '', message: why }] };
  }
  return parseLock(text, file);
}

/** Validates a lock file's text; `file` names it in problems. */
export function parseLock(text: string, file: string): LockFileResult {
  const source = text.startsWith('\uFEFF') ? text.slice(1) : text;
  let value: unknown;
  try {
    value = JSON.parse(source);
  } catch (e) {
    return { problems: [{ file, ...jsonErrorPosition(source, e as Error), path: '', message: `invalid JSON: ${(e as Error).message}` }] };
  }
  // JSON is YAML: its parser says where each field is written.
  const locator = readYamlSource(source).locator;
  const problems: ConfigProblem[] = [];
  const problem = (fieldPath: (string | number)[], label: string, message: string) => {
    const { line, column } = locator.valueAt(fieldPath);
    problems.push({ file, line, column, path: label, message });
  };
  const keyProblem = (fieldPath: (string | number)[], label: string, message: string) => {
    const { line, column } = locator.keyAt(fieldPath);
    problems.push({ file, line, column, path: label, message });
  };

  if (!isMapping(value)) {
    problem([], '', `must be a JSON object {"version": ${LOCK_FILE_VERSION}, "images": {...}}, got ${describeValue(value)}`);
    return { problems };
  }
  for (const key of Object.keys(value)) {
    if (key !== 'version' && key !== 'images') keyProblem([key], key, 'unknown field; a lock file has "version" and "images" only');
  }
  if (value.version === undefined) {
    problem([], 'version', `is missing; it must be ${LOCK_FILE_VERSION}`);
  } else if (value.version !== LOCK_FILE_VERSION) {
    const newer = typeof value.version === 'number' && value.version > LOCK_FILE_VERSION ? ' (a newer cortex-cdk wrote it?)' : '';
    problem(['version'], 'version', `must be ${LOCK_FILE_VERSION}, the lock format this cortex-cdk reads, got ${describeValue(value.version)}${newer}`);
  }
  const images: Record<string, string> = {};
  if (!isMapping(value.images)) {
    const got = value.images === undefined ? 'is missing' : `got ${describeValue(value.images)}`;
    problem(value.images === undefined ? [] : ['images'], 'images', `must be a mapping of images as written in the cortex.yaml to pinned references ("name@sha256:<64 hex digits>"); ${got}`);
  } else {
    for (const [key, pinned] of Object.entries(value.images)) {
      const label = `images[${JSON.stringify(key)}]`;
      const message = entryProblem(key, pinned);
      if (message?.startsWith('key:')) keyProblem(['images', key], label, message.slice('key: '.length));
      else if (message) problem(['images', key], label, message);
      else images[key] = pinned as string;
    }
  }
  return problems.length > 0 ? { problems } : { lock: { file, images }, problems };
}

/** What is wrong with one entry (prefixed `key:` when it is the key), or undefined. */
function entryProblem(key: string, pinned: unknown): string | undefined {
  const parsedKey = parseImageReference(key);
  if ('problem' in parsedKey) return `key: must be an image as written in the cortex.yaml; ${parsedKey.problem}`;
  if (parsedKey.reference.digest !== undefined) return 'key: must be an image with a tag (or none), not a digest: a digest needs no pinning';
  const expected = `"${parsedKey.reference.name}@sha256:<64 hex digits>"`;
  if (typeof pinned !== 'string') return `must be the pinned reference ${expected}, got ${describeValue(pinned)}`;
  const parsed = parseImageReference(pinned);
  const ok =
    'reference' in parsed &&
    parsed.reference.name === parsedKey.reference.name &&
    parsed.reference.tag === undefined &&
    parsed.reference.digest !== undefined &&
    SHA256_DIGEST.test(parsed.reference.digest);
  return ok ? undefined : `must be the pinned reference ${expected} (the key's name and a SHA-256 digest), got ${describeValue(pinned)}`;
}

/**
 * The position of a JSON.parse error. V8 says "at position N" (or "line L column C") for some errors only;
 * for the others ("Unexpected token", "Unexpected end of JSON input") the text is scanned for the first
 * character that cannot continue it.
 */
function jsonErrorPosition(text: string, error: Error): { line: number; column: number } {
  const lineColumn = /line (\d+) column (\d+)/.exec(error.message);
  if (lineColumn) return { line: Number(lineColumn[1]), column: Number(lineColumn[2]) };
  const position = /at position (\d+)/.exec(error.message);
  const offset = position ? Number(position[1]) : jsonSyntaxErrorOffset(text);
  if (offset === undefined) return { line: 0, column: 0 };
  const lines = text.slice(0, offset).split('\n');
  return { line: lines.length, column: lines[lines.length - 1].length + 1 };
}

const JSON_NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const JSON_ESCAPE = /\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4})/y;

/**
 * Where `text` stops being JSON: the offset of the first character that cannot come next (the text's length
 * when it ends too early); undefined when it is JSON. A loop with a stack, not recursion: nesting is unbounded.
 */
export function jsonSyntaxErrorOffset(text: string): number | undefined {
  const open: string[] = [];
  let i = 0;
  let expect: 'value' | 'key' | 'after' = 'value';
  const skipSpace = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i])) i++;
  };
  // Moves past the string at i; false when it is broken (i is then where).
  const string = (): boolean => {
    for (i++; i < text.length; ) {
      const char = text[i];
      if (char === '"') {
        i++;
        return true;
      }
      if (char === '\\') {
        JSON_ESCAPE.lastIndex = i;
        if (!JSON_ESCAPE.test(text)) return false;
        i = JSON_ESCAPE.lastIndex;
      } else if (char < ' ') {
        return false;
      } else {
        i++;
      }
    }
    return false;
  };
  for (;;) {
    skipSpace();
    if (expect === 'after') {
      if (open.length === 0) return i < text.length ? i : undefined;
      const closer = open[open.length - 1] === '{' ? '}' : ']';
      if (text[i] === closer) {
        open.pop();
        i++;
      } else if (text[i] === ',') {
        i++;
        expect = closer === '}' ? 'key' : 'value';
      } else {
        return i;
      }
      continue;
    }
    if (i >= text.length) return i;
    const char = text[i];
    if (expect === 'key') {
      if (char !== '"' || !string()) return i;
      skipSpace();
      if (text[i] !== ':') return i;
      i++;
      expect = 'value';
      continue;
    }
    expect = 'after';
    if (char === '{' || char === '[') {
      open.push(char);
      i++;
      skipSpace();
      if (text[i] === (char === '{' ? '}' : ']')) {
        open.pop();
        i++;
      } else {
        expect = char === '{' ? 'key' : 'value';
      }
    } else if (char === '"') {
      if (!string()) return i;
    } else if (char === '-' || (char >= '0' && char <= '9')) {
      JSON_NUMBER.lastIndex = i;
      if (!JSON_NUMBER.test(text)) return i + 1;
      i = JSON_NUMBER.lastIndex;
    } else {
      const literal = ['true', 'false', 'null'].find((word) => word[0] === char);
      if (literal === undefined) return i;
      for (let k = 0; k < literal.length; k++, i++) if (text[i] !== literal[k]) return i;
    }
  }
}
