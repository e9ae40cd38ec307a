/** "Did you mean" for misspelt field names. */

/**
 * The edit distance between two strings: insertions, deletions, substitutions, and swaps of two
 * neighbouring characters (the commonest typo: `prot` for `port`), each counting 1.
 */
export function editDistance(a: string, b: string): number {
  const rows: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      rows[i][j] = Math.min(rows[i - 1][j] + 1, rows[i][j - 1] + 1, rows[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        rows[i][j] = Math.min(rows[i][j], rows[i - 2][j - 2] + 1);
      }
    }
  }
  return rows[a.length][b.length];
}

/** Lower case without separators, so that `maxConcurrency`, `max-concurrency` and `max_concurrency` meet. */
function normalize(word: string): string {
  return word.toLowerCase().replace(/[-_\s]/g, '');
}

/**
 * The candidate `word` was most likely meant to be, or `undefined` when none is close.
 *
 * Close means: the same once case and separators are ignored (`maxReplicas`), within about a
 * third of the word's length in edits (`max_concurency`), or a prefix of it (`memory` → `mem`).
 */
export function suggest(word: string, candidates: readonly string[]): string | undefined {
  const target = normalize(word);
  if (target === '') return undefined;
  let best: { candidate: string; distance: number } | undefined;
  for (const candidate of candidates) {
    const normalized = normalize(candidate);
    if (normalized === target) return candidate;
    const distance = editDistance(target, normalized);
    if (!best || distance < best.distance) best = { candidate, distance };
  }
  if (best && best.distance <= Math.max(1, Math.floor(target.length / 3))) return best.candidate;
  return candidates.find((candidate) => {
    const normalized = normalize(candidate);
    return normalized.length >= 3 && target.startsWith(normalized);
  });
}
