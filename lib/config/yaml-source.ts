import { Document, isAlias, isMap, isPair, isScalar, isSeq, LineCounter, Node, parseDocument, Pair, visit } from 'yaml';
import { FieldPath, Locator, NO_POSITION, Position } from './field-path';

/** A syntax error of the YAML itself, at the parser's position. */
export interface YamlSyntaxError extends Position {
  readonly message: string;
}

/** A parsed cortex.yaml: its plain value, where each field is written, and its syntax errors. */
export interface YamlSource {
  /** The document as plain values (mappings → objects, lists → arrays); `null` for an empty file. */
  readonly value: unknown;
  readonly locator: Locator;
  /** When not empty, `value` is the parser's best effort and should not be validated. */
  readonly syntaxErrors: readonly YamlSyntaxError[];
}

/**
 * Parses YAML text, keeping the nodes so that any field path can be located afterwards.
 * Never throws: every parser complaint becomes a {@link YamlSyntaxError}.
 */
export function readYamlSource(text: string): YamlSource {
  // Editors on Windows save a byte-order mark, which the parser would read as content; editors
  // do not count it as a column, so dropping it keeps positions right.
  const source = text.startsWith('\uFEFF') ? text.slice(1) : text;
  const tooDeep = findExcessiveNesting(source);
  if (tooDeep) {
    const message = `invalid YAML: nested more than ${MAX_NESTING} levels deep (a cortex.yaml needs far fewer)`;
    return { value: null, locator: NO_SOURCE_LOCATOR, syntaxErrors: [{ ...tooDeep, message }] };
  }
  const lineCounter = new LineCounter();
  const doc = parseDocument(source, {
    lineCounter,
    prettyErrors: false,
    uniqueKeys: true,
    // Go's YAML library, which Cortex used, honours `<<: *anchor`; so do we.
    merge: true,
    // Problems reach the user as positioned lines; the parser must not also print warnings of its
    // own (e.g. for a `? [a]` collection key) to stderr.
    logLevel: 'error',
  });
  const positionOf = (offset: number): Position => {
    const { line, col } = lineCounter.linePos(offset);
    return { line: Math.max(line, 1), column: Math.max(col, 1) };
  };

  const syntaxErrors: YamlSyntaxError[] = doc.errors.slice(0, MAX_SYNTAX_ERRORS).map((error) => ({
    ...positionOf(error.pos[0]),
    message: `invalid YAML: ${shortenQuotes(error.message)}`,
  }));
  if (doc.errors.length > MAX_SYNTAX_ERRORS) {
    const last = syntaxErrors[syntaxErrors.length - 1];
    const message = `invalid YAML: ${doc.errors.length - MAX_SYNTAX_ERRORS} more errors not shown`;
    syntaxErrors.push({ line: last.line, column: last.column, message });
  }

  let value: unknown = null;
  if (syntaxErrors.length === 0) {
    try {
      value = doc.toJS({ maxAliasCount: 1000 });
    } catch (e) {
      // toJS fails on a well-formed document for an alias with no anchor before it, a `<<` merging what
      // is not a mapping, or aliases expanding without bound; the parser does not say where.
      const message = (e as Error).message;
      const offset = conversionErrorOffset(doc, message);
      syntaxErrors.push({ ...(offset === undefined ? NO_POSITION : positionOf(offset)), message: `invalid YAML: ${message}` });
    }
  }

  return { value, locator: new YamlLocator(doc, positionOf), syntaxErrors };
}

/** The parser quotes the token it stumbled on whole; a long one is cut as `describeValue` cuts values. */
function shortenQuotes(message: string): string {
  return message.replace(/"([^"\n]{60})[^"\n]+"/g, '"$1…"');
}

/** Past this many, the parser is only repeating itself about one mistake. */
const MAX_SYNTAX_ERRORS = 50;

/**
 * The parser recurses once per nesting level; near a thousand levels it exhausts the stack, and
 * V8 may then abort the whole process rather than throw. A cortex.yaml nests about ten levels.
 */
export const MAX_NESTING = 100;

const NO_SOURCE_LOCATOR: Locator = { valueAt: () => ({ line: 1, column: 1 }), keyAt: () => ({ line: 1, column: 1 }) };

/**
 * Where the text first nests deeper than {@link MAX_NESTING}, estimated without parsing: block
 * levels from indentation and `- ` markers, plus open flow brackets outside quoted strings.
 * It may overestimate a little (brackets inside multi-line strings), never by enough to matter.
 */
export function findExcessiveNesting(text: string): Position | undefined {
  const indents: number[] = [];
  let flowDepth = 0;
  const lines = text.split('\n');
  for (let lineIndex = 0; lineIndex < lines.length; lineIndex++) {
    const line = lines[lineIndex];
    let column = 0;
    if (flowDepth === 0) {
      while (line[column] === ' ') column++;
      if (column === line.length || line[column] === '#') continue;
      while (indents.length > 0 && indents[indents.length - 1] >= column) indents.pop();
      indents.push(column);
      if (indents.length > MAX_NESTING) return { line: lineIndex + 1, column: column + 1 };
      let dashes = 0;
      while (line[column] === '-' && (column + 1 === line.length || line[column + 1] === ' ')) {
        dashes++;
        if (indents.length + dashes > MAX_NESTING) return { line: lineIndex + 1, column: column + 1 };
        column++;
        while (line[column] === ' ') column++;
      }
    }
    let quote: string | undefined;
    for (; column < line.length; column++) {
      const char = line[column];
      if (quote) {
        if (char === quote) quote = undefined;
        continue;
      }
      const startsScalar = column === 0 || ' [{,:'.includes(line[column - 1]);
      if ((char === '"' || char === "'") && startsScalar) quote = char;
      else if (char === '#' && (column === 0 || line[column - 1] === ' ')) break;
      else if (char === '[' || char === '{') {
        flowDepth++;
        if (indents.length + flowDepth > MAX_NESTING) return { line: lineIndex + 1, column: column + 1 };
      } else if (char === ']' || char === '}') {
        flowDepth = Math.max(0, flowDepth - 1);
      }
    }
  }
  return undefined;
}

/** Locates field paths in a parsed YAML document by walking its nodes. */
class YamlLocator implements Locator {
  constructor(
    private readonly doc: Document,
    private readonly positionOf: (offset: number) => Position,
  ) {}

  valueAt(path: FieldPath): Position {
    const found = this.walk(path);
    return this.nodePosition(found.node);
  }

  keyAt(path: FieldPath): Position {
    const found = this.walk(path);
    if (found.depth === path.length && found.pair && isNode(found.pair.key)) {
      return this.nodePosition(found.pair.key);
    }
    return this.nodePosition(found.node);
  }

  private nodePosition(node: Node | undefined): Position {
    if (node?.range) return this.positionOf(node.range[0]);
    const contents = this.doc.contents;
    return contents?.range ? this.positionOf(contents.range[0]) : { line: 1, column: 1 };
  }

  /** Follows `path` as far as the document goes; `depth` says how many segments were found. */
  private walk(path: FieldPath): { node: Node | undefined; pair?: Pair; depth: number } {
    let node: Node | undefined = this.doc.contents ?? undefined;
    let pair: Pair | undefined;
    let depth = 0;
    for (const segment of path) {
      const container = this.resolve(node);
      let next: { node: Node | undefined; pair?: Pair } | undefined;
      if (isMap(container)) {
        const found = this.findPair(container.items, String(segment), new Set());
        if (found) next = { node: isNode(found.value) ? found.value : undefined, pair: found };
      } else if (isSeq(container) && typeof segment === 'number') {
        const item = container.items[segment];
        if (isNode(item)) next = { node: item };
      }
      // A key written with no value (`image:`) has a null node, or none at all: stop at the key.
      if (!next) break;
      depth++;
      pair = next.pair;
      if (!next.node) {
        node = pair && isNode(pair.key) ? pair.key : node;
        break;
      }
      node = next.node;
    }
    return { node, pair: depth === path.length ? pair : undefined, depth };
  }

  /** The pair whose key reads as `key`, looking through `<<` merges as the parser does. */
  private findPair(items: readonly unknown[], key: string, seen: Set<unknown>): Pair | undefined {
    const merges: unknown[] = [];
    for (const item of items) {
      if (!isPair(item)) continue;
      if (isMergeKey(item.key)) merges.push(item.value);
      else if (keyText(item.key) === key) return item;
    }
    for (const merge of merges) {
      const sources = isSeq(merge) ? merge.items : [merge];
      for (const source of sources) {
        const map = this.resolve(source);
        if (isMap(map) && !seen.has(map)) {
          seen.add(map);
          const found = this.findPair(map.items, key, seen);
          if (found) return found;
        }
      }
    }
    return undefined;
  }

  private resolve(node: unknown): unknown {
    let current = node;
    // Bounded, because an alias may point at an alias.
    for (let hops = 0; isAlias(current) && hops < 100; hops++) current = current.resolve(this.doc);
    return current;
  }
}

/**
 * Where the conversion of `doc` to plain values failed, by the parser's `message`: the first alias with
 * no anchor before it, the first `<<` whose value is not a mapping (or list of mappings), or, for aliases
 * that expand without bound, the first alias. Undefined when none is found.
 */
function conversionErrorOffset(doc: Document, message: string): number | undefined {
  let unresolvedAlias: number | undefined;
  let badMerge: number | undefined;
  let firstAlias: number | undefined;
  const resolve = (node: unknown): unknown => (isAlias(node) ? node.resolve(doc) : node);
  visit(doc, {
    Alias(_, alias) {
      firstAlias ??= alias.range?.[0];
      if (unresolvedAlias === undefined && alias.resolve(doc) === undefined) unresolvedAlias = alias.range?.[0];
    },
    Pair(_, pair) {
      if (badMerge !== undefined || !isMergeKey(pair.key)) return;
      const sources = isSeq(pair.value) ? pair.value.items : [pair.value];
      const bad = sources.find((source) => !isMap(resolve(source)));
      if (bad !== undefined) badMerge = (isNode(bad) ? bad.range?.[0] : undefined) ?? (isNode(pair.key) ? pair.key.range?.[0] : undefined);
    },
  });
  if (/merge/i.test(message)) return badMerge ?? unresolvedAlias;
  if (/unresolved alias/i.test(message)) return unresolvedAlias;
  return firstAlias;
}

/** `<<`, which the parser (with `merge: true`) gives a symbol as value. */
function isMergeKey(key: unknown): boolean {
  return isScalar(key) && typeof key.value === 'symbol';
}

/** How a mapping key reads once converted to a plain object key (as `toJS` does). */
function keyText(key: unknown): string {
  if (key === null || key === undefined) return '';
  if (isScalar(key)) return keyText(key.value);
  return String(key);
}

function isNode(value: unknown): value is Node {
  return typeof value === 'object' && value !== null && 'range' in value;
}
