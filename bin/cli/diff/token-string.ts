import { canonicalKey, type Intrinsic, isIntrinsic, renderIntrinsic } from './intrinsics';

/**
 * A string of a Kubernetes object that CloudFormation completes at deploy time: literal parts and
 * intrinsics (an image asset's URI, a role's ARN). Two compare equal when their parts are the same
 * structure ({@link TokenString.key}), so an unchanged token is never a change; {@link TokenString.text}
 * is what is printed.
 */
export class TokenString {
  public readonly key: string;
  public readonly text: string;

  constructor(public readonly parts: ReadonlyArray<string | Intrinsic>) {
    this.key = canonicalKey(parts);
    this.text = parts.map(renderIntrinsic).join('');
  }

  public toString(): string {
    return this.text;
  }
}

/**
 * The parts of a template value that is text: a string, or an `Fn::Join` with an empty delimiter (nested
 * joins flattened, delimiters kept); anything else is one intrinsic part.
 */
export function textParts(value: unknown): Array<string | Intrinsic> {
  if (typeof value === 'string') return [value];
  if (isIntrinsic(value) && Array.isArray(value['Fn::Join'])) {
    const [delimiter, parts] = value['Fn::Join'] as [unknown, unknown];
    if (typeof delimiter === 'string' && Array.isArray(parts)) {
      const out: Array<string | Intrinsic> = [];
      parts.forEach((part, i) => {
        if (i > 0 && delimiter !== '') out.push(delimiter);
        out.push(...textParts(part));
      });
      return mergeStrings(out);
    }
  }
  return [value as Intrinsic];
}

function mergeStrings(parts: Array<string | Intrinsic>): Array<string | Intrinsic> {
  const out: Array<string | Intrinsic> = [];
  for (const part of parts) {
    const last = out[out.length - 1];
    if (typeof part === 'string' && typeof last === 'string') out[out.length - 1] = last + part;
    else if (part !== '') out.push(part);
  }
  return out;
}

/** A marker no manifest holds, for an intrinsic while the JSON around it is parsed. */
const MARKER = (i: number) => `@@cortex-diff-token-${i}@@`;
const MARKER_PATTERN = /@@cortex-diff-token-(\d+)@@/g;

/**
 * A KubernetesManifest's `Manifest` property (JSON text, or an `Fn::Join` of text and intrinsics) as
 * objects; strings that hold intrinsics become {@link TokenString}s. An intrinsic outside any JSON string
 * (a number only known at deploy time) becomes a TokenString value of its own.
 */
export function parseManifestJson(value: unknown): unknown {
  const parts = textParts(value);
  const tokens: Intrinsic[] = [];
  let text = '';
  let inString = false;
  for (const part of parts) {
    if (typeof part === 'string') {
      inString = scanStringState(part, inString);
      text += part;
    } else {
      const marker = MARKER(tokens.length);
      tokens.push(part);
      text += inString ? marker : JSON.stringify(marker);
    }
  }
  return restoreTokens(JSON.parse(text), tokens);
}

/** Whether JSON text that started inside a string (or not) ends inside one. */
function scanStringState(text: string, inString: boolean): boolean {
  let escaped = false;
  for (const c of text) {
    if (escaped) escaped = false;
    else if (inString && c === '\\') escaped = true;
    else if (c === '"') inString = !inString;
  }
  return inString;
}

function restoreTokens(value: unknown, tokens: Intrinsic[]): unknown {
  if (typeof value === 'string') {
    if (!value.includes('@@cortex-diff-token-')) return value;
    const parts: Array<string | Intrinsic> = [];
    let last = 0;
    for (const match of value.matchAll(MARKER_PATTERN)) {
      if (match.index! > last) parts.push(value.slice(last, match.index));
      parts.push(tokens[Number(match[1])]);
      last = match.index! + match[0].length;
    }
    if (last < value.length) parts.push(value.slice(last));
    return new TokenString(parts);
  }
  if (Array.isArray(value)) return value.map((v) => restoreTokens(v, tokens));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [restoreTokens(k, tokens) as string, restoreTokens(v, tokens)]));
  }
  return value;
}
