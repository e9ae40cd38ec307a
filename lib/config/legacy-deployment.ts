/**
 * `kind: deployment`: the entry that opened a cortex.yaml of Cortex 0.10 – 0.12, naming the
 * deployment the file's `kind: api` entries belonged to. It deploys nothing of its own; its
 * `python_root` becomes the PYTHONPATH entry of those APIs that set no `python_path`.
 */
import { describeValue } from './describe-value';
import { Field } from './field';
import { readSection, readString } from './field-readers';

export const LEGACY_DEPLOYMENT_KEYS = ['kind', 'name', 'python_root'] as const;

/** What a `kind: deployment` entry gives the file's `kind: api` entries. */
export interface LegacyDeployment {
  /** `python_root`, relative to the cortex.yaml's directory. */
  readonly pythonRoot?: string;
}

/** Reads the entry; its name is checked as a string only (it names no Kubernetes object). */
export function readLegacyDeployment(entry: Field): LegacyDeployment {
  const section = readSection(entry, LEGACY_DEPLOYMENT_KEYS, {
    hints: { endpoint: 'endpoint belongs to each kind: api entry' },
  });
  if (!section) return {};
  readString(section.get('name'), { required: true });
  const pythonRoot = readRelativePath(section.get('python_root'), 'a directory such as src/');
  return pythonRoot !== undefined ? { pythonRoot } : {};
}

/**
 * A path inside the project: the image holds the cortex.yaml's directory and nothing else, so an
 * absolute path, or one climbing out with `..`, would name nothing there.
 */
export function readRelativePath(field: Field, example: string, options: { required?: boolean } = {}): string | undefined {
  const value = readString(field, options);
  if (value === undefined) return undefined;
  if (value.startsWith('/') || value.split('/').includes('..')) {
    field.problem(`must be a path inside the cortex.yaml's directory, relative to it (${example}), got ${describeValue(value)}`);
    return undefined;
  }
  return value;
}
