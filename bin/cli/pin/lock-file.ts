import { LOCK_FILE_VERSION } from '../../../lib/config/lock';

/** A lock file's text: keys sorted (stable diffs), two-space indent, a final newline. */
export function formatLock(images: Readonly<Record<string, string>>): string {
  const sorted = Object.fromEntries(Object.keys(images).sort().map((k) => [k, images[k]]));
  return `${JSON.stringify({ version: LOCK_FILE_VERSION, images: sorted }, null, 2)}\n`;
}
