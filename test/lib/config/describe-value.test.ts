import { describeValue, isMapping } from '../../../lib/config/describe-value';

describe('describeValue', () => {
  test.each<[unknown, string]>([
    ['abc', '"abc"'],
    ['say "hi"', '"say \\"hi\\""'],
    [0, '0'],
    [2.5, '2.5'],
    [true, 'true'],
    [null, 'null'],
    [undefined, 'nothing'],
    [[], 'an empty list'],
    [[1], 'a list'],
    [{ a: 1 }, 'a mapping'],
    [Object.create(null), 'a mapping'],
    [new Date(0), 'an object of class Date'],
    [() => 1, 'a function'],
  ])('GIVEN %p WHEN described THEN it reads %s', (value, text) => {
    expect(describeValue(value)).toBe(text);
  });

  test('GIVEN a long string WHEN described THEN it is cut', () => {
    expect(describeValue('x'.repeat(100))).toBe(`"${'x'.repeat(60)}…"`);
  });
});

describe('isMapping', () => {
  test('GIVEN plain objects, lists, null and class instances WHEN checked THEN only plain objects are mappings', () => {
    expect(isMapping({})).toBe(true);
    expect(isMapping(Object.create(null))).toBe(true);
    expect(isMapping([])).toBe(false);
    expect(isMapping(null)).toBe(false);
    expect(isMapping(new Map())).toBe(false);
    expect(isMapping('a')).toBe(false);
  });
});
