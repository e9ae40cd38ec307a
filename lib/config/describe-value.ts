/** How a received value is shown in a message: `got "abc"`, `got 0`, `got a list`. */

const MAX_STRING_LENGTH = 60;

/** Strings JSON-quoted (cut when long), numbers and booleans as is, collections by their kind. */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') {
    const shown = value.length > MAX_STRING_LENGTH ? `${value.slice(0, MAX_STRING_LENGTH)}…` : value;
    return JSON.stringify(shown);
  }
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (value === null) return 'null';
  if (value === undefined) return 'nothing';
  if (Array.isArray(value)) return value.length === 0 ? 'an empty list' : 'a list';
  if (typeof value === 'object') {
    const prototype = Object.getPrototypeOf(value);
    if (prototype === Object.prototype || prototype === null) return 'a mapping';
    return `an object of class ${prototype?.constructor?.name ?? 'unknown'}`;
  }
  return `a ${typeof value}`;
}

/** A plain mapping: what YAML gives for `key: value` lines, and object literals in code. */
export function isMapping(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}
