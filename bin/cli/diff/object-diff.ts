import { TokenString } from './token-string';

/**
 * A step of a field path: an object key, an array index, an array element found by its `name` (or, for
 * routes, its destination host) so that inserting a container does not renumber every other one, or a
 * slice of a list of scalars (`start` to `end`, exclusive, in the old list; no `end`: to its end).
 */
export type PathStep = string | number | { readonly element: string } | { readonly start: number; readonly end?: number };

/** One field that differs; `undefined` on a side means the field is absent there. */
export interface FieldChange {
  readonly path: readonly PathStep[];
  readonly from: unknown;
  readonly to: unknown;
}

/** Whether two values are the same, tokens by their structure. */
export function sameValue(a: unknown, b: unknown): boolean {
  if (a instanceof TokenString || b instanceof TokenString) {
    return a instanceof TokenString && b instanceof TokenString && a.key === b.key;
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((v, i) => sameValue(v, b[i]));
  }
  if (isRecord(a) && isRecord(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    return [...keys].every((k) => sameValue(a[k], b[k]));
  }
  return a === b;
}

/**
 * The leaf-most fields where `from` and `to` differ: objects key by key (in `to`'s order, then keys only in
 * `from`), arrays of named elements by name, other arrays index by index — except lists of scalars whose
 * length changes (a command line): one change, the slice between what they start and end with in common.
 */
export function diffValues(from: unknown, to: unknown, path: readonly PathStep[] = []): FieldChange[] {
  if (sameValue(from, to)) return [];
  if (isRecord(from) && isRecord(to)) {
    const keys = [...Object.keys(to), ...Object.keys(from).filter((k) => !(k in to))];
    return keys.flatMap((k) => diffValues(from[k], to[k], [...path, k]));
  }
  if (Array.isArray(from) && Array.isArray(to)) {
    const keyed = elementKeys(from) && elementKeys(to);
    if (keyed) {
      const fromByKey = new Map(from.map((v) => [elementKey(v)!, v]));
      const toKeys = new Set(to.map((v) => elementKey(v)!));
      return [
        ...to.map((v) => diffValues(fromByKey.get(elementKey(v)!), v, [...path, { element: elementKey(v)! }])).flat(),
        ...from.filter((v) => !toKeys.has(elementKey(v)!)).flatMap((v) => diffValues(v, undefined, [...path, { element: elementKey(v)! }])),
      ];
    }
    const scalars = [...from, ...to].every((v) => !isRecord(v) && !Array.isArray(v));
    if (!scalars || from.length === to.length) {
      const length = Math.max(from.length, to.length);
      return Array.from({ length }, (_, i) => diffValues(from[i], to[i], [...path, i])).flat();
    }
    return [sliceChange(from, to, path)];
  }
  return [{ path, from, to }];
}

/** The part of two lists of scalars that differs, between their common start and common end. */
function sliceChange(from: unknown[], to: unknown[], path: readonly PathStep[]): FieldChange {
  let start = 0;
  while (start < from.length && start < to.length && sameValue(from[start], to[start])) start++;
  let end = 0;
  while (end < from.length - start && end < to.length - start && sameValue(from[from.length - 1 - end], to[to.length - 1 - end])) end++;
  const step = end === 0 ? { start } : { start, end: from.length - end };
  return { path: [...path, step], from: from.slice(start, from.length - end), to: to.slice(start, to.length - end) };
}

/**
 * `spec.template.spec.containers[api].image`, `metadata.annotations["cortex.dev/spec-hash"]`, `args[3]`,
 * and a slice of a list as Go writes it: `args[12:]`, `args[3:5]`.
 */
export function formatPath(path: readonly PathStep[]): string {
  let out = '';
  for (const step of path) {
    if (typeof step === 'number') out += `[${step}]`;
    else if (typeof step === 'object' && 'element' in step) out += `[${step.element}]`;
    else if (typeof step === 'object') out += `[${step.start}:${step.end ?? ''}]`;
    else if (/^[A-Za-z_$][\w$-]*$/.test(step)) out += out === '' ? step : `.${step}`;
    else out += `[${JSON.stringify(step)}]`;
  }
  return out;
}

/** Whether `path` starts with `prefix` (object keys only). */
export function pathStartsWith(path: readonly PathStep[], prefix: readonly string[]): boolean {
  return prefix.every((step, i) => path[i] === step);
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value) && !(value instanceof TokenString);
}

/** What identifies an array element: its `name`, or a route's destination host. */
function elementKey(value: unknown): string | undefined {
  if (!isRecord(value)) return undefined;
  if (typeof value.name === 'string') return value.name;
  const destination = value.destination;
  if (isRecord(destination) && typeof destination.host === 'string') return destination.host;
  return undefined;
}

/** Whether every element has a key and no two share one (true for an empty array). */
function elementKeys(values: unknown[]): boolean {
  const keys = values.map(elementKey);
  return keys.every((k) => k !== undefined) && new Set(keys).size === keys.length;
}
