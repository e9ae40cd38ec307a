/**
 * Durations as Cortex wrote them (Go's `time.ParseDuration` syntax): a sequence of decimal
 * numbers, each with a unit — `10s`, `5m`, `0.1s`, `1h30m`, `500ms`.
 */

const SECONDS_PER_UNIT: Readonly<Record<string, number>> = {
  ns: 1e-9,
  us: 1e-6,
  'µs': 1e-6,
  ms: 1e-3,
  s: 1,
  m: 60,
  h: 3600,
};

const TERM = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/y;

/**
 * The number of seconds `text` stands for, or `undefined` when it is not a duration.
 *
 * A unit is required (Go's one exception, a bare `0`, is kept). A leading `-` is parsed, so that
 * callers can say "must be at least 0s" rather than "not a duration".
 */
export function parseDuration(text: string): number | undefined {
  let rest = text.trim();
  let sign = 1;
  if (rest.startsWith('-') || rest.startsWith('+')) {
    sign = rest.startsWith('-') ? -1 : 1;
    rest = rest.slice(1);
  }
  if (rest === '0') return 0;
  if (rest === '') return undefined;

  let seconds = 0;
  TERM.lastIndex = 0;
  while (TERM.lastIndex < rest.length) {
    const match = TERM.exec(rest);
    if (!match) return undefined;
    seconds += Number(match[1]) * SECONDS_PER_UNIT[match[2]];
  }
  // Sums of decimal fractions (0.1s + ...) pick up binary noise; nanoseconds are Go's resolution.
  return sign * (Math.round(seconds * 1e9) / 1e9);
}

/** Writes seconds back in the shortest unit that is exact, for messages: 90 → "90s", 300 → "5m". */
export function formatDuration(seconds: number): string {
  if (seconds !== 0 && Number.isInteger(seconds / 3600)) return `${seconds / 3600}h`;
  if (seconds !== 0 && Number.isInteger(seconds / 60)) return `${seconds / 60}m`;
  if (Number.isInteger(seconds) || seconds >= 1) return `${seconds}s`;
  return `${Math.round(seconds * 1e6) / 1e3}ms`;
}
