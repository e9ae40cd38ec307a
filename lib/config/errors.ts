/** One thing wrong with a cortex.yaml, with where it is. */
export interface ConfigProblem {
  /** The file as the user named it. */
  readonly file: string;
  /** 1-based; 0 when the problem has no position (e.g. the file could not be read). */
  readonly line: number;
  /** 1-based; 0 when the problem has no position. */
  readonly column: number;
  /** The field path, prefixed by the API's name: `iris.pod.max_concurrency`. Empty for file-level problems. */
  readonly path: string;
  /** What is wrong, the value received, and what is allowed. */
  readonly message: string;
}

/** `FILE:LINE:COL: PATH: MESSAGE` — the line `cortex validate` prints. */
export function formatProblem(p: ConfigProblem): string {
  const where = p.line > 0 ? `${p.file}:${p.line}:${p.column}` : p.file;
  return p.path ? `${where}: ${p.path}: ${p.message}` : `${where}: ${p.message}`;
}

/** Thrown when a cortex.yaml (or a spec object) is invalid; carries every problem found, not just the first. */
export class ConfigError extends Error {
  constructor(public readonly problems: readonly ConfigProblem[]) {
    super(problems.map(formatProblem).join('\n'));
    this.name = 'ConfigError';
  }
}

/**
 * The one error class the CDK and cdk8s constructs throw for bad props.
 * Its message names the prop, the value received and what is allowed:
 * `maxReplicas (3) must be >= minReplicas (5)`.
 */
export class CortexValidationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CortexValidationError';
  }
}
