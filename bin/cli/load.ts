import * as fs from 'node:fs';
import * as path from 'node:path';
import { ConfigProblem, CortexConfig, validateConfig } from '../../lib/config';
import { applyLockFile } from '../../lib/config/lock';
import type { ParsedArgs } from './args';
import { UsageError } from './io';

/** The outcome of reading and validating one cortex.yaml. */
export interface LoadResult {
  readonly config?: CortexConfig;
  readonly problems: readonly ConfigProblem[];
  /** The image lock file applied, as named (relative to the working directory); undefined when none was. */
  readonly lockFile?: string;
  /** Images the lock file does not pin: they deploy as written. */
  readonly unpinned?: readonly string[];
}

/** How {@link loadConfig} reads a cortex.yaml. */
export interface LoadOptions {
  /**
   * The image lock file (relative to the working directory), or `false` to deploy images as written.
   * @default - the cortex.yaml's path with `.yaml` replaced by `.lock.json` (cortex.lock.json), when it exists
   */
  readonly lockFile?: string | false;
}

/**
 * Reads and validates a cortex.yaml, with its image lock file applied (what synth and `cortex manifests`
 * deploy). Problems name the file as the user typed it, so the lines `cortex validate` prints can be pasted
 * into an editor; a missing file is a problem too, not a crash.
 */
export function loadConfig(file: string, cwd: string, options: LoadOptions = {}): LoadResult {
  let text: string;
  try {
    const full = path.resolve(cwd, file);
    if (fs.statSync(full).isDirectory()) {
      return { problems: [fileProblem(file, 'is a directory; pass the cortex.yaml file itself (-f DIR/cortex.yaml)')] };
    }
    text = fs.readFileSync(full, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (e as Error).message;
    return { problems: [fileProblem(file, why)] };
  }
  const result = validateConfig(text, file);
  if (!result.config) return result;
  return applyLockFile(result.config, file, { lockFile: options.lockFile, pathToRead: (f) => path.resolve(cwd, f) });
}

/** `--lock PATH` / `--no-lock`, for the commands that render what would be deployed. */
export function lockOption(values: ParsedArgs['values']): string | false | undefined {
  if (values['no-lock'] && values.lock !== undefined) throw new UsageError('--lock and --no-lock cannot be used together');
  return values['no-lock'] ? false : (values.lock as string | undefined);
}

function fileProblem(file: string, message: string): ConfigProblem {
  return { file, line: 0, column: 0, path: '', message };
}
