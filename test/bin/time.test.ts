import { formatAge, parseDuration, parseSince } from '../../bin/cli/time';

describe('parseDuration', () => {
  test('units from ms to d, combined largest first', () => {
    expect(parseDuration('10m')).toBe(600_000);
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('2d')).toBe(172_800_000);
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('1m30s')).toBe(90_000);
  });

  test('anything else is not a duration', () => {
    for (const text of ['', '10', 'm', '30m1h', '1.5h', '10 minutes', '-5m']) expect(parseDuration(text)).toBeUndefined();
  });
});

describe('parseSince', () => {
  const now = Date.parse('2025-05-01T12:00:00Z');
  test('a duration before now, or a date-time', () => {
    expect(parseSince('10m', now)).toBe(now - 600_000);
    expect(parseSince('2025-05-01T10:00:00Z', now)).toBe(Date.parse('2025-05-01T10:00:00Z'));
    expect(parseSince('2025-05-01T10:00:00+02:00', now)).toBe(Date.parse('2025-05-01T08:00:00Z'));
    expect(parseSince('2025-04-30', now)).toBe(Date.parse('2025-04-30'));
  });

  test('what is wrong is said', () => {
    expect(() => parseSince('yesterday', now)).toThrow('--since must be a duration (10m, 1h30m, 2d) or a date-time (2024-05-01T10:00:00Z), got "yesterday"');
    expect(() => parseSince('2026-01-01T00:00:00Z', now)).toThrow('--since "2026-01-01T00:00:00Z" is in the future');
  });
});

describe('formatAge', () => {
  test('the two largest units, as kubectl prints ages', () => {
    expect(formatAge(-5)).toBe('0s');
    expect(formatAge(45_900)).toBe('45s');
    expect(formatAge(12 * 60_000)).toBe('12m');
    expect(formatAge(3 * 3_600_000)).toBe('3h');
    expect(formatAge(3 * 3_600_000 + 12 * 60_000 + 59_000)).toBe('3h12m');
    expect(formatAge(2 * 86_400_000 + 4 * 3_600_000)).toBe('2d4h');
    expect(formatAge(86_400_000)).toBe('1d');
  });
});
