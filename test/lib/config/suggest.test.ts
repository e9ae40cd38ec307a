import { editDistance, suggest } from '../../../lib/config/suggest';

describe('editDistance', () => {
  test.each([
    ['', '', 0],
    ['abc', '', 3],
    ['kitten', 'sitting', 3],
    ['max_concurency', 'max_concurrency', 1],
    ['cpu', 'gpu', 1],
    ['prot', 'port', 1],
  ])('GIVEN %j and %j WHEN compared THEN the distance is %d', (a, b, d) => {
    expect(editDistance(a, b)).toBe(d);
    expect(editDistance(b, a)).toBe(d);
  });
});

describe('suggest', () => {
  const podKeys = ['port', 'max_concurrency', 'max_queue_length', 'containers'];

  test.each([
    ['max_concurency', 'max_concurrency'],
    ['maxConcurrency', 'max_concurrency'],
    ['max-queue-length', 'max_queue_length'],
    ['MAX_QUEUE_LENGTH', 'max_queue_length'],
    ['container', 'containers'],
    ['prot', 'port'],
  ])('GIVEN the misspelling %j WHEN suggesting THEN %j is offered', (word, expected) => {
    expect(suggest(word, podKeys)).toBe(expected);
  });

  test('GIVEN a longer word that starts with a key WHEN suggesting THEN the key is offered', () => {
    expect(suggest('memory', ['cpu', 'mem', 'gpu'])).toBe('mem');
  });

  test.each([['replicas'], ['image'], [''], ['x']])('GIVEN %j, close to nothing WHEN suggesting THEN nothing is offered', (word) => {
    expect(suggest(word, podKeys)).toBeUndefined();
  });

  test('GIVEN two equally close candidates WHEN suggesting THEN the first in order wins', () => {
    expect(suggest('cp', ['cpu', 'gpu'])).toBe('cpu');
  });
});
