import { parseQuantity, quantityString } from '../../../lib/config/quantity';

describe('parseQuantity', () => {
  test.each([
    ['200m', 0.2],
    ['20m', 0.02],
    ['0.2', 0.2],
    ['1', 1],
    ['2G', 2e9],
    ['200M', 2e8],
    ['512Mi', 512 * 1024 ** 2],
    ['20Mi', 20 * 1024 ** 2],
    ['2.5Gi', 2.5 * 1024 ** 3],
    ['2.5G', 2.5e9],
    ['1e3', 1000],
    ['1E3', 1000],
    ['1k', 1000],
    ['1Ki', 1024],
    ['100n', 1e-7],
    ['1u', 1e-6],
    ['1T', 1e12],
    ['1Ti', 1024 ** 4],
    ['.5', 0.5],
    ['+1', 1],
    ['-1', -1],
  ])('GIVEN %j WHEN parsed THEN it is %d base units', (text, value) => {
    expect(parseQuantity(text)).toBe(value);
  });

  test('GIVEN "20m" and "0.02" WHEN parsed THEN they compare equal (no binary noise)', () => {
    expect(parseQuantity('20m')).toBe(parseQuantity('0.02'));
    expect(parseQuantity('19m')! < parseQuantity('20m')!).toBe(true);
  });

  test.each([[1, 1], [0.2, 0.2], [1000, 1000]])('GIVEN the YAML number %d WHEN parsed THEN it reads as its decimal string', (n, v) => {
    expect(parseQuantity(n)).toBe(v);
  });

  test.each([['abc'], [''], ['1 Gi'], ['1gi'], ['1GB'], ['1Mii'], ['m'], ['1.2.3'], ['Gi']])(
    'GIVEN %j WHEN parsed THEN it is not a quantity',
    (text) => {
      expect(parseQuantity(text)).toBeUndefined();
    },
  );

  test('GIVEN NaN or Infinity WHEN parsed THEN it is not a quantity', () => {
    expect(parseQuantity(NaN)).toBeUndefined();
    expect(parseQuantity(Infinity)).toBeUndefined();
  });
});

describe('quantityString', () => {
  test('GIVEN YAML numbers WHEN written as quantities THEN they keep their shortest decimal form', () => {
    expect(quantityString(1)).toBe('1');
    expect(quantityString(0.2)).toBe('0.2');
    expect(quantityString(' 2G ')).toBe('2G');
  });
});
