/**
 * Field paths, and the positions they point at.
 *
 * The validator works on plain values (what YAML parsing or a props object gives) and names
 * every problem by its path from the top of the file: `[0, 'pod', 'containers', 1, 'image']`.
 * A {@link Locator} turns such a path into a line and column, so the same validation code serves
 * a cortex.yaml (positions from the YAML nodes) and objects built in code (no positions).
 */

/** Keys of mappings and indexes of lists, from the top of the file down. */
export type FieldPath = readonly (string | number)[];

/** A 1-based line and column; `{ line: 0, column: 0 }` when there is no source position. */
export interface Position {
  readonly line: number;
  readonly column: number;
}

export const NO_POSITION: Position = { line: 0, column: 0 };

/** Finds where a field is written. */
export interface Locator {
  /**
   * Where the value at `path` starts. A path that is not in the source (a missing field)
   * gives the position of its deepest ancestor that is.
   */
  valueAt(path: FieldPath): Position;
  /** Where the key of the mapping entry at `path` starts (the value's ancestor when there is no key). */
  keyAt(path: FieldPath): Position;
}

/** For values built in code: every position is 0:0. */
export const NO_POSITIONS: Locator = {
  valueAt: () => NO_POSITION,
  keyAt: () => NO_POSITION,
};

/**
 * Writes a path the way a user reads it: the API's label (its name, or `[N]`), then `.key` for
 * mapping keys and `[i]` for list items: `iris.pod.containers[0].compute.cpu`.
 */
export function formatFieldPath(apiLabel: string, rest: FieldPath): string {
  let text = apiLabel;
  for (const segment of rest) {
    text += typeof segment === 'number' ? `[${segment}]` : text === '' ? segment : `.${segment}`;
  }
  return text;
}
