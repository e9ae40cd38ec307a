/** Durations and instants as the CLI reads (`--since 10m`) and prints them (`3h12m ago`). */

const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * Milliseconds of a duration written `10m`, `1h30m`, `2d`, `45s`, `500ms` (units ms, s, m, h, d, each
 * at most once, largest first); undefined when `text` is not one.
 */
export function parseDuration(text: string): number | undefined {
  const match = /^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$/.exec(text.trim());
  if (!match || match.slice(1).every((part) => part === undefined)) return undefined;
  const [d, h, m, s, ms] = match.slice(1).map((part) => Number(part ?? 0));
  return d * UNIT_MS.d + h * UNIT_MS.h + m * UNIT_MS.m + s * UNIT_MS.s + ms;
}

/**
 * The instant `--since` names, in epoch milliseconds: a duration before `now` (`10m`, `2d`), or a
 * date-time (`2024-05-01T10:00:00Z`, `2024-05-01 10:00`, `2024-05-01`; without a zone it is local time).
 * Throws an Error whose message says what is accepted.
 */
export function parseSince(text: string, now: number): number {
  const duration = parseDuration(text);
  if (duration !== undefined) return now - duration;
  if (/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(text.trim())) {
    const instant = Date.parse(text.trim().replace(' ', 'T'));
    if (!Number.isNaN(instant)) {
      if (instant > now) throw new Error(`--since "${text}" is in the future`);
      return instant;
    }
  }
  throw new Error(`--since must be a duration (10m, 1h30m, 2d) or a date-time (2024-05-01T10:00:00Z), got "${text}"`);
}

/**
 * A duration the way `kubectl get` prints ages: the two largest units, `45s`, `12m`, `3h12m`, `2d4h`;
 * `0s` for anything under a second (and for negative values, a clock running behind).
 */
export function formatAge(ms: number): string {
  const seconds = Math.max(0, Math.floor(ms / 1000));
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return minutes % 60 === 0 ? `${hours}h` : `${hours}h${minutes % 60}m`;
  const days = Math.floor(hours / 24);
  return hours % 24 === 0 ? `${days}d` : `${days}d${hours % 24}h`;
}
