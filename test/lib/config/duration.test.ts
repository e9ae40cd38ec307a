import { formatDuration, parseDuration } from '../../../lib/config/duration';

describe('parseDuration', () => {
  test.each([
    ['10s', 10],
    ['5m', 300],
    ['0.1s', 0.1],
    ['1h', 3600],
    ['1h30m', 5400],
    ['500ms', 0.5],
    ['1m30s', 90],
    ['.5s', 0.5],
    ['250us', 0.00025],
    ['0', 0],
    ['0s', 0],
    ['-1s', -1],
    [' 60s ', 60],
  ])('GIVEN %j WHEN parsed THEN it is %d seconds', (text, seconds) => {
    expect(parseDuration(text)).toBe(seconds);
  });

  test.each([[''], ['10'], ['s'], ['10 s'], ['1d'], ['abc'], ['10sec'], ['1.2.3s'], ['-'], ['5m-3s']])(
    'GIVEN %j WHEN parsed THEN it is not a duration',
    (text) => {
      expect(parseDuration(text)).toBeUndefined();
    },
  );

  test('GIVEN decimal fractions that do not add up exactly in binary WHEN parsed THEN the sum is rounded to nanoseconds', () => {
    expect(parseDuration('0.1s0.2s')).toBe(0.3);
  });
});

describe('formatDuration', () => {
  test.each([
    [10, '10s'],
    [60, '1m'],
    [300, '5m'],
    [3600, '1h'],
    [90, '90s'],
    [0, '0s'],
    [0.1, '100ms'],
    [1.5, '1.5s'],
  ])('GIVEN %d seconds WHEN formatted THEN it reads %s', (seconds, text) => {
    expect(formatDuration(seconds)).toBe(text);
  });
});
