// CloudFormation refuses a stack description over 1,024 bytes (aws-cdk-lib already refuses one over
// 512 characters, at synth), and a description that spells
// absolute paths changes with the checkout directory (a spurious `cdk diff` for every teammate).
// Descriptions that name config files go through here: paths relative to the working directory,
// and as many as fit, then how many more.
import * as path from 'node:path';

/** CloudFormation's limit on a template's Description, in UTF-8 bytes. */
export const MAX_STACK_DESCRIPTION_BYTES = 1024;
/** aws-cdk-lib's own check at synth (`StackDescriptionTooLong`), in UTF-16 code units. */
export const MAX_STACK_DESCRIPTION_LENGTH = 512;

/** Whether CloudFormation and aws-cdk-lib both take `text` as a stack description. */
export function fitsStackDescription(text: string): boolean {
  return text.length <= MAX_STACK_DESCRIPTION_LENGTH && Buffer.byteLength(text, 'utf8') <= MAX_STACK_DESCRIPTION_BYTES;
}

/** `file` as the user would type it from `cwd`: relative with forward slashes when inside it, else as given. */
export function displayPath(file: string, cwd: string = process.cwd()): string {
  if (!path.isAbsolute(file)) return file.split(path.sep).join('/');
  const relative = path.relative(cwd, file);
  if (relative === '' || relative.startsWith('..') || path.isAbsolute(relative)) return file;
  return relative.split(path.sep).join('/');
}

/**
 * `${before}${files}${after}` within both limits ({@link fitsStackDescription}): the files (each once, in order,
 * relative to `cwd`) joined by commas; those that do not fit become "and N more files".
 */
export function describeFiles(before: string, files: readonly string[], after = '', cwd: string = process.cwd()): string {
  const shown = [...new Set(files.map((f) => displayPath(f, cwd)))];
  for (let count = shown.length; count > 0; count--) {
    const rest = shown.length - count;
    const more = rest === 0 ? '' : ` and ${rest} more file${rest === 1 ? '' : 's'}`;
    const text = `${before}${shown.slice(0, count).join(', ')}${more}${after}`;
    if (fitsStackDescription(text)) return text;
  }
  const none = `${before}${shown.length} file${shown.length === 1 ? '' : 's'}${after}`;
  return fitsStackDescription(none) ? none : truncateDescription(none);
}

/** The longest prefix of `text` that {@link fitsStackDescription}, ending in "…" when cut (never mid-character). */
export function truncateDescription(text: string): string {
  if (fitsStackDescription(text)) return text;
  const ellipsis = '…';
  let out = '';
  for (const char of text) {
    if (!fitsStackDescription(out + char + ellipsis)) break;
    out += char;
  }
  return out + ellipsis;
}
