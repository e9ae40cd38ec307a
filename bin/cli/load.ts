import * as fs from 'node:fs';
import * as path from 'node:path';
import { ConfigProblem, CortexConfig, validateConfig } from '../../lib/config';

/** The outcome of reading and validating one cortex.yaml. */
export interface LoadResult {
  readonly config?: CortexConfig;
  readonly problems: readonly ConfigProblem[];
}

/**
 * Reads and validates a cortex.yaml. Problems name the file as the user typed it, so the lines
 * `cortex validate` prints can be pasted into an editor; a missing file is a problem too, not a crash.
 */
export function loadConfig(file: string, cwd: string): LoadResult {
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
  return validateConfig(text, file);
}

function fileProblem(file: string, message: string): ConfigProblem {
  return { file, line: 0, column: 0, path: '', message };
}
