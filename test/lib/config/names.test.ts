import { DNS_1035_LABEL, DNS_1123_LABEL, ENV_VAR_NAME } from '../../../lib/config/names';

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
});
