import { ConfigProblem } from './errors';
import { FieldPath, formatFieldPath, Locator, Position } from './field-path';
import { isMapping } from './describe-value';

/**
 * What one validation run shares: the file's name, where fields are written, the problems found
 * so far, and the label each API goes by in messages (its name, or `[N]`).
 */
export class ValidationContext {
  readonly problems: ConfigProblem[] = [];
  private readonly apiLabels = new Map<number, string>();

  constructor(
    readonly file: string,
    readonly locator: Locator,
  ) {}

  /** Names the list entry `index` in messages: `iris.pod.port` rather than `[0].pod.port`. */
  setApiLabel(index: number, label: string): void {
    this.apiLabels.set(index, label);
  }

  apiLabel(index: number): string {
    return this.apiLabels.get(index) ?? `[${index}]`;
  }

  /** The path as messages write it: `iris.pod.containers[0].image`. */
  displayPath(path: FieldPath): string {
    const [first, ...rest] = path;
    if (typeof first === 'number') return formatFieldPath(this.apiLabel(first), rest);
    return formatFieldPath('', path);
  }

  report(path: FieldPath, position: Position, message: string): void {
    this.problems.push({ file: this.file, line: position.line, column: position.column, path: this.displayPath(path), message });
  }
}

/**
 * One value of the file, with its path: the unit every reader works on. A field may be absent
 * (`exists` false), or present with no value (`image:` gives null).
 */
export class Field {
  static root(context: ValidationContext, value: unknown): Field {
    return new Field(context, [], value, true);
  }

  constructor(
    readonly context: ValidationContext,
    readonly path: FieldPath,
    readonly value: unknown,
    /** Whether the key (or list item) is written at all, even with no value. */
    readonly exists: boolean,
  ) {}

  /** Present with a value: absent fields and explicit nulls both take their defaults. */
  get isSet(): boolean {
    return this.value !== undefined && this.value !== null;
  }

  /** The last segment of the path: the field's key as written. */
  get key(): string {
    const last = this.path[this.path.length - 1];
    return last === undefined ? '' : String(last);
  }

  /** The value under `key` of this mapping, or the item `key` of this list. */
  child(key: string | number): Field {
    const path = [...this.path, key];
    if (typeof key === 'string' && isMapping(this.value) && Object.prototype.hasOwnProperty.call(this.value, key)) {
      return new Field(this.context, path, this.value[key], true);
    }
    if (typeof key === 'number' && Array.isArray(this.value) && key < this.value.length) {
      return new Field(this.context, path, this.value[key], true);
    }
    return new Field(this.context, path, undefined, false);
  }

  /** A problem with the value: reported at the value. */
  problem(message: string): void {
    this.context.report(this.path, this.context.locator.valueAt(this.path), message);
  }

  /** A problem with the key itself (unknown field, bad variable name): reported at the key. */
  keyProblem(message: string): void {
    this.context.report(this.path, this.context.locator.keyAt(this.path), message);
  }

  /**
   * A required field with no value: reported at its key when written (`image:`), else at the
   * mapping that lacks it.
   */
  missing(message = 'required'): void {
    const position = this.exists ? this.context.locator.keyAt(this.path) : this.context.locator.valueAt(this.path);
    this.context.report(this.path, position, message);
  }
}
