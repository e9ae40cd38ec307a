import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

/** One schema problem of a rendered object. */
export interface SchemaProblem {
  /** Position of the object in the array validated. */
  readonly index: number;
  /** `Kind/name`. */
  readonly object: string;
  /** JSON pointer into the object. */
  readonly path: string;
  readonly message: string;
}

const SCRIPT = path.join(__dirname, 'validate-objects.mjs');
const REPO_ROOT = path.join(__dirname, '..', '..');

/**
 * Validates objects against the Kubernetes, Istio and KEDA schemas (see validate-objects.mjs) and
 * returns the problems found, none when all are valid. Throws when the validator cannot judge the
 * input (an unknown apiVersion/kind, a crash), so that a test can never pass vacuously.
 */
export function validateObjects(objects: readonly unknown[]): SchemaProblem[] {
  const result = spawnSync(process.execPath, [SCRIPT], {
    cwd: REPO_ROOT,
    input: JSON.stringify(objects),
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.error) {
    throw result.error;
  }
  if (result.status !== 0 && result.status !== 1) {
    throw new Error(`validate-objects.mjs exited with ${result.status}: ${result.stderr}`);
  }
  return JSON.parse(result.stdout) as SchemaProblem[];
}
