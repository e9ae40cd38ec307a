/**
 * Readers for one field each: check the value's type and range, report a problem in the house
 * format (`must be <what is allowed>, got <value>`), and return the value with its default applied.
 *
 * The contract every reader keeps: it returns `undefined` only when the field is invalid (a
 * problem has been reported), required and missing (reported too), or optional with no default.
 * So a section can build its spec once all its defaulted fields are defined, and cross-field rules
 * run only between valid values (no cascades of follow-up errors).
 */
import { describeValue, isMapping } from './describe-value';
import { formatDuration, parseDuration } from './duration';
import { Field } from './field';
import { parseQuantity, quantityString } from './quantity';
import { suggest } from './suggest';

interface Presence<T> {
  /** Report `required` when absent or null. */
  readonly required?: boolean;
  /** The value when absent or null. */
  readonly default?: T;
}

/**
 * Absent or null: `required` is reported, or the default returned. `present` tells the caller to go on.
 * A null list item is never "absent" (a list has no optional items): it is reported as not `expected`.
 */
function absent<T>(
  field: Field,
  options: Presence<T>,
  expected: string,
  missing?: string,
): { present: false; value: T | undefined } | { present: true } {
  if (field.isSet) return { present: true };
  if (isNullListItem(field)) {
    field.problem(`must be ${expected}, got null`);
    return { present: false, value: undefined };
  }
  if (options.required) field.missing(missing);
  return { present: false, value: options.default };
}

function isNullListItem(field: Field): boolean {
  return field.exists && typeof field.path[field.path.length - 1] === 'number';
}

/** A number range as words: `from 1 to 30000`, `>= 0`, `> 0 and < 1`. */
export interface NumberRange {
  readonly min?: number;
  /** `min` itself is not allowed. */
  readonly minExclusive?: boolean;
  readonly max?: number;
  /** `max` itself is not allowed. */
  readonly maxExclusive?: boolean;
}

function inRange(value: number, range: NumberRange): boolean {
  if (range.min !== undefined && (range.minExclusive ? value <= range.min : value < range.min)) return false;
  if (range.max !== undefined && (range.maxExclusive ? value >= range.max : value > range.max)) return false;
  return true;
}

function rangeText(range: NumberRange, integer: boolean): string {
  const { min, max } = range;
  if (integer && min !== undefined && max !== undefined && !range.minExclusive && !range.maxExclusive) {
    return ` from ${min} to ${max}`;
  }
  const parts: string[] = [];
  if (min !== undefined) parts.push(`${range.minExclusive ? '>' : '>='} ${min}`);
  if (max !== undefined) parts.push(`${range.maxExclusive ? '<' : '<='} ${max}`);
  return parts.length ? ` ${parts.join(' and ')}` : '';
}

export function readInteger(field: Field, options: NumberRange & Presence<number> = {}): number | undefined {
  const gap = absent(field, options, 'an integer');
  if (!gap.present) return gap.value;
  const value = field.value;
  if (typeof value !== 'number' || !Number.isInteger(value) || !inRange(value, options)) {
    field.problem(`must be an integer${rangeText(options, true)}, got ${describeValue(value)}`);
    return undefined;
  }
  return value;
}

export function readNumber(field: Field, options: NumberRange & Presence<number> = {}): number | undefined {
  const gap = absent(field, options, 'a number');
  if (!gap.present) return gap.value;
  const value = field.value;
  if (typeof value !== 'number' || !Number.isFinite(value) || !inRange(value, options)) {
    field.problem(`must be a number${rangeText(options, false)}, got ${describeValue(value)}`);
    return undefined;
  }
  return value;
}

export function readString(field: Field, options: Presence<string> & { allowEmpty?: boolean } = {}): string | undefined {
  const gap = absent(field, options, 'a string');
  if (!gap.present) return gap.value;
  const value = field.value;
  if (typeof value !== 'string') {
    field.problem(`must be a string, got ${describeValue(value)}${quoteHint(value)}`);
    return undefined;
  }
  if (!options.allowEmpty && value.trim() === '') {
    field.problem('must not be empty');
    return undefined;
  }
  return value;
}

/** For a number or boolean where text was expected, the quoted form YAML needs. */
function quoteHint(value: unknown): string {
  return typeof value === 'number' || typeof value === 'boolean' ? ` (quote it: "${String(value)}")` : '';
}

export function readEnum<T extends string>(field: Field, allowed: readonly T[], options: Presence<T> = {}): T | undefined {
  // A missing enum says what it may be: the allowed values are the useful part of the message.
  const gap = absent(field, options, `one of ${allowed.join(', ')}`, `required: one of ${allowed.join(', ')}`);
  if (!gap.present) return gap.value;
  if (!allowed.includes(field.value as T)) {
    field.problem(`must be one of ${allowed.join(', ')}, got ${describeValue(field.value)}`);
    return undefined;
  }
  return field.value as T;
}

export function readBoolean(field: Field, options: Presence<boolean> = {}): boolean | undefined {
  const gap = absent(field, options, 'true or false');
  if (!gap.present) return gap.value;
  if (typeof field.value !== 'boolean') {
    field.problem(`must be true or false, got ${describeValue(field.value)}`);
    return undefined;
  }
  return field.value;
}

export interface DurationRule {
  /** In seconds. */
  readonly min?: number;
  readonly minExclusive?: boolean;
  /** In seconds. */
  readonly max?: number;
  /** In seconds: the duration must be a whole multiple of it. */
  readonly multipleOf?: number;
}

/** A duration string (`60s`, `5m`, `1h30m`, `0.1s`), returned in seconds. */
export function readDuration(field: Field, options: DurationRule & Presence<number> = {}): number | undefined {
  const gap = absent(field, options, 'a duration');
  if (!gap.present) return gap.value;
  const value = field.value;
  const seconds = typeof value === 'string' ? parseDuration(value) : undefined;
  if (seconds === undefined) {
    field.problem(`must be a duration with a unit, such as 30s, 5m or 1h30m, got ${describeValue(value)}`);
    return undefined;
  }
  const { min, multipleOf } = options;
  if (min !== undefined && (options.minExclusive ? seconds <= min : seconds < min)) {
    const bound = options.minExclusive ? 'longer than' : 'at least';
    field.problem(`must be ${bound} ${formatDuration(min)}, got ${describeValue(value)}`);
    return undefined;
  }
  if (options.max !== undefined && seconds > options.max) {
    field.problem(`must be at most ${formatDuration(options.max)}, got ${describeValue(value)}`);
    return undefined;
  }
  if (multipleOf !== undefined) {
    const steps = seconds / multipleOf;
    if (Math.abs(steps - Math.round(steps)) > 1e-9) {
      field.problem(`must be a multiple of ${formatDuration(multipleOf)}, got ${describeValue(value)}`);
      return undefined;
    }
  }
  return seconds;
}

export interface QuantityRule {
  /** The smallest quantity allowed, itself a quantity (`20m`, `20Mi`). */
  readonly min?: string;
  /** 0 is not allowed. */
  readonly positive?: boolean;
  /** Shown when the value is not a quantity: `200m, 0.5 or 1`. */
  readonly examples: string;
}

/** A Kubernetes quantity (string, or a YAML number), returned as its quantity string. */
export function readQuantity(field: Field, options: QuantityRule & Presence<string>): string | undefined {
  const gap = absent(field, options, 'a Kubernetes quantity');
  if (!gap.present) return gap.value;
  const value = field.value;
  const text = typeof value === 'string' || typeof value === 'number' ? quantityString(value) : undefined;
  const amount = text === undefined ? undefined : parseQuantity(text);
  if (text === undefined || amount === undefined) {
    field.problem(`must be a Kubernetes quantity such as ${options.examples}, got ${describeValue(value)}`);
    return undefined;
  }
  if (options.min !== undefined && amount < (parseQuantity(options.min) ?? 0)) {
    field.problem(`must be at least ${options.min}, got ${describeValue(value)}`);
    return undefined;
  }
  if (options.positive && amount <= 0) {
    field.problem(`must be more than 0, got ${describeValue(value)}`);
    return undefined;
  }
  return text;
}

/** A list; returns a field per item. `what` names an item in the "at least one" message. */
export function readList(
  field: Field,
  options: Presence<never> & { minLength?: number; what?: string } = {},
): Field[] | undefined {
  if (!field.isSet) {
    absent(field, options, 'a list');
    return options.required || isNullListItem(field) ? undefined : [];
  }
  if (!Array.isArray(field.value)) {
    field.problem(`must be a list, got ${describeValue(field.value)}`);
    return undefined;
  }
  if (options.minLength && field.value.length < options.minLength) {
    field.problem(`must list at least ${options.minLength === 1 ? 'one' : options.minLength} ${options.what ?? 'item'}`);
    return undefined;
  }
  return field.value.map((_, i) => field.child(i));
}

/** A list of strings (`command`, `args`); numbers are not turned into text behind the user's back. */
export function readStringList(
  field: Field,
  options: Presence<string[]> & { minLength?: number; what?: string } = {},
): string[] | undefined {
  if (!field.isSet) {
    if (options.required) field.missing();
    return options.required ? undefined : options.default;
  }
  const items = readList(field, { minLength: options.minLength, what: options.what });
  if (!items) return undefined;
  const strings = items.map((item) => readString(item, { allowEmpty: true, required: true }));
  return strings.every((s): s is string => s !== undefined) ? strings : undefined;
}

/** How to explain an unknown key that is a known key elsewhere (another form, another Cortex version). */
export type KeyHints = Readonly<Record<string, string>>;

export interface SectionOptions extends Presence<never> {
  /** Extra explanations for keys that are not allowed here. */
  readonly hints?: KeyHints;
  /** Keys another check reports on; not unknown here. */
  readonly ignore?: readonly string[];
}

/** A mapping whose keys have been checked against the allowed ones. */
export class Section {
  constructor(readonly field: Field) {}

  get(key: string): Field {
    return this.field.child(key);
  }

  has(key: string): boolean {
    return this.field.child(key).isSet;
  }
}

/**
 * A mapping with a fixed set of keys. Unknown keys are reported at the key, with the hint for it,
 * or the closest allowed key, or the list of allowed keys.
 * An absent optional section reads as an empty one, so its fields take their defaults.
 */
export function readSection(field: Field, keys: readonly string[], options: SectionOptions = {}): Section | undefined {
  if (!field.isSet) {
    absent(field, options, 'a mapping');
    return options.required || isNullListItem(field) ? undefined : new Section(field);
  }
  if (!isMapping(field.value)) {
    field.problem(`must be a mapping, got ${describeValue(field.value)}`);
    return undefined;
  }
  for (const key of Object.keys(field.value)) {
    if (keys.includes(key) || options.ignore?.includes(key)) continue;
    field.child(key).keyProblem(unknownFieldMessage(key, keys, options.hints));
  }
  return new Section(field);
}

export function unknownFieldMessage(key: string, allowed: readonly string[], hints: KeyHints = {}): string {
  const unknown = `unknown field ${JSON.stringify(key)}`;
  if (Object.prototype.hasOwnProperty.call(hints, key)) return `${unknown}; ${hints[key]}`;
  const suggestion = suggest(key, allowed);
  if (suggestion) return `${unknown}; did you mean ${JSON.stringify(suggestion)}?`;
  return `${unknown}; allowed fields: ${allowed.join(', ')}`;
}

/** Exactly one of `keys` set in `section`: returns it, or reports at the mapping and returns undefined. */
export function readExactlyOne(section: Section, keys: readonly string[]): string | undefined {
  const present = keys.filter((key) => section.has(key));
  if (present.length === 1) return present[0];
  const got = present.length === 0 ? 'none' : present.join(' and ');
  const choices = keys.length === 2 ? `${keys[0]} or ${keys[1]}` : `${keys.slice(0, -1).join(', ')} or ${keys[keys.length - 1]}`;
  section.field.problem(`must have exactly one of ${choices}, got ${got}`);
  return undefined;
}
