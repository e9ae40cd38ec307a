import { Construct } from 'constructs';
import { DNS_1035_LABEL, DNS_1123_LABEL, ENV_VAR_NAME, RESERVED_API_NAMES } from '../../../lib/config/names';

describe('name formats', () => {
  test.each([['iris'], ['a'], ['iris-classifier-2'], ['a1']])('GIVEN %j WHEN checked THEN it is a DNS-1035 label', (name) => {
    expect(DNS_1035_LABEL.test(name)).toBe(true);
  });

  test.each([['1iris'], ['Iris'], ['iris-'], ['-iris'], ['iris_2'], [''], ['iris.v1']])(
    'GIVEN %j WHEN checked THEN it is not a DNS-1035 label',
    (name) => {
      expect(DNS_1035_LABEL.test(name)).toBe(false);
    },
  );

  test('GIVEN a name starting with a digit WHEN checked THEN it is a DNS-1123 label but not a DNS-1035 one', () => {
    expect(DNS_1123_LABEL.test('1api')).toBe(true);
    expect(DNS_1035_LABEL.test('1api')).toBe(false);
    expect(DNS_1123_LABEL.test('api-')).toBe(false);
  });

  test.each([['AWS_REGION', true], ['a.b-c', true], ['_X', true], ['1X', false], ['A B', false], ['', false]])(
    'GIVEN %j WHEN checked as an environment variable name THEN valid is %p',
    (name, valid) => {
      expect(ENV_VAR_NAME.test(name)).toBe(valid);
    },
  );

  test('GIVEN the reserved API names WHEN used as construct ids THEN each is refused by the constructs library, and only they are', () => {
    expect(RESERVED_API_NAMES).toEqual(['constructor']);
    const scope = new Construct(undefined as unknown as Construct, '');
    expect(() => new Construct(scope, 'constructor')).toThrow(/already a Construct with name 'constructor'/);
    expect(() => new Construct(scope, 'iris')).not.toThrow();
  });
});
