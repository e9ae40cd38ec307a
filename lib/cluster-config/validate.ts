/**
 * A cluster.yaml's text checked without aws-cdk-lib: what `cortex validate` runs (lib/cluster-config/index.ts
 * turns the spec into CortexStack's props).
 */
import { ConfigProblem, formatProblem } from '../config/errors';
import { readYamlSource } from '../config/yaml-source';
import { ClusterValidationResult, looksLikeClusterFile, validateClusterValue } from './read';

/** Parses and validates a cluster.yaml's text, never throwing: the spec, or every problem; the notes in either case. */
export function validateClusterText(text: string, file: string): ClusterValidationResult {
  const source = readYamlSource(text);
  if (source.syntaxErrors.length > 0) {
    // The structure of a broken document is the parser's guess; validating it would only add noise.
    const problems = source.syntaxErrors.map((error): ConfigProblem => ({ file, line: error.line, column: error.column, path: '', message: error.message }));
    return { problems, notes: [] };
  }
  return validateClusterValue(source.value, file, source.locator);
}

/** Whether a YAML text is a cluster.yaml (a mapping with cluster.yaml keys) rather than a cortex.yaml (a list). */
export function isClusterFileText(text: string): boolean {
  const source = readYamlSource(text);
  return source.syntaxErrors.length === 0 && looksLikeClusterFile(source.value);
}

/** A note as `cortex validate` and the synth print it: `FILE:LINE:COL: field: warning: what`. */
export function formatClusterNote(note: ConfigProblem): string {
  return formatProblem({ ...note, message: `warning: ${note.message}` });
}
