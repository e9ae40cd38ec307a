import { ValidationContext, Field } from '../../../lib/config/field';
import { NO_POSITIONS } from '../../../lib/config/field-path';
import {
  readBoolean,
  readDuration,
  readEnum,
  readExactlyOne,
  readInteger,
  readList,
  readNumber,
  readQuantity,
  readSection,
  readString,
  readStringList,
  unknownFieldMessage,
} from '../../../lib/config/field-readers';

/** Reads `value` as the field `x` of a mapping, and returns the result with the messages reported. */
function read<T>(value: unknown, reader: (field: Field) => T, exists = value !== undefined): { result: T; messages: string[] } {
  const context = new ValidationContext('f', NO_POSITIONS);
  const result = reader(new Field(context, ['x'], value, exists));
  return { result, messages: context.problems.map((p) => `${p.path}: ${p.message}`) };
}

describe('readInteger', () => {
  const range = { min: 1, max: 30000, default: 1 };
  test.each<[unknown, number | undefined, string[]]>([
    [1, 1, []],
    [30000, 30000, []],
    [2.0, 2, []],
    [undefined, 1, []],
    [null, 1, []],
    [0, undefined, ['x: must be an integer from 1 to 30000, got 0']],
    [30001, undefined, ['x: must be an integer from 1 to 30000, got 30001']],
    [1.5, undefined, ['x: must be an integer from 1 to 30000, got 1.5']],
    ['5', undefined, ['x: must be an integer from 1 to 30000, got "5"']],
    [true, undefined, ['x: must be an integer from 1 to 30000, got true']],
    [[1], undefined, ['x: must be an integer from 1 to 30000, got a list']],
    [NaN, undefined, ['x: must be an integer from 1 to 30000, got NaN']],
  ])('GIVEN %p WHEN read as an integer from 1 to 30000 THEN %p', (value, expected, messages) => {
    expect(read(value, (f) => readInteger(f, range))).toEqual({ result: expected, messages });
  });

  test('GIVEN only a minimum WHEN the value is below THEN the message says >=', () => {
    expect(read(-1, (f) => readInteger(f, { min: 0 })).messages).toEqual(['x: must be an integer >= 0, got -1']);
  });

  test('GIVEN a required integer WHEN absent THEN it is required', () => {
    expect(read(undefined, (f) => readInteger(f, { required: true }))).toEqual({ result: undefined, messages: ['x: required'] });
  });
});

describe('readNumber', () => {
  test.each<[unknown, string[]]>([
    [0, []],
    [0.99, []],
    [1, ['x: must be a number >= 0 and < 1, got 1']],
    [-0.01, ['x: must be a number >= 0 and < 1, got -0.01']],
    ['0.5', ['x: must be a number >= 0 and < 1, got "0.5"']],
    [Infinity, ['x: must be a number >= 0 and < 1, got Infinity']],
  ])('GIVEN %p WHEN read as a number in [0, 1) THEN %p', (value, messages) => {
    expect(read(value, (f) => readNumber(f, { min: 0, max: 1, maxExclusive: true })).messages).toEqual(messages);
  });

  test('GIVEN an exclusive minimum WHEN the value equals it THEN the message says >', () => {
    expect(read(1, (f) => readNumber(f, { min: 1, minExclusive: true })).messages).toEqual(['x: must be a number > 1, got 1']);
  });
});

describe('readString', () => {
  test('GIVEN a string WHEN read THEN it is returned as written', () => {
    expect(read(' a ', (f) => readString(f)).result).toBe(' a ');
  });

  test('GIVEN a number WHEN read as a string THEN the message says how to quote it', () => {
    expect(read(8080, (f) => readString(f)).messages).toEqual(['x: must be a string, got 8080 (quote it: "8080")']);
  });

  test('GIVEN an empty string WHEN read THEN it is rejected unless allowed', () => {
    expect(read('  ', (f) => readString(f)).messages).toEqual(['x: must not be empty']);
    expect(read('', (f) => readString(f, { allowEmpty: true })).result).toBe('');
  });

  test('GIVEN a mapping WHEN read as a string THEN no quoting hint is given', () => {
    expect(read({}, (f) => readString(f)).messages).toEqual(['x: must be a string, got a mapping']);
  });
});

describe('readEnum and readBoolean', () => {
  test('GIVEN a value outside the allowed ones WHEN read THEN they are listed', () => {
    expect(read('pytorch', (f) => readEnum(f, ['python', 'tensorflow', 'onnx'])).messages).toEqual([
      'x: must be one of python, tensorflow, onnx, got "pytorch"',
    ]);
  });

  test('GIVEN "yes" WHEN read as a boolean THEN it is not one (YAML 1.2)', () => {
    expect(read('yes', (f) => readBoolean(f)).messages).toEqual(['x: must be true or false, got "yes"']);
    expect(read(false, (f) => readBoolean(f, { default: true })).result).toBe(false);
    expect(read(undefined, (f) => readBoolean(f, { default: true })).result).toBe(true);
  });
});

describe('readDuration', () => {
  const window = { min: 10, multipleOf: 10, default: 60 };
  test.each<[unknown, number | undefined, string[]]>([
    ['10s', 10, []],
    ['1m', 60, []],
    [undefined, 60, []],
    ['5s', undefined, ['x: must be at least 10s, got "5s"']],
    ['15s', undefined, ['x: must be a multiple of 10s, got "15s"']],
    [60, undefined, ['x: must be a duration with a unit, such as 30s, 5m or 1h30m, got 60']],
    ['60', undefined, ['x: must be a duration with a unit, such as 30s, 5m or 1h30m, got "60"']],
  ])('GIVEN %p WHEN read as a window THEN %p', (value, expected, messages) => {
    expect(read(value, (f) => readDuration(f, window))).toEqual({ result: expected, messages });
  });

  test('GIVEN an exclusive minimum of 0 WHEN the duration is 0s THEN it must be longer', () => {
    expect(read('0s', (f) => readDuration(f, { min: 0, minExclusive: true })).messages).toEqual([
      'x: must be longer than 0s, got "0s"',
    ]);
  });
});

describe('readQuantity', () => {
  const cpu = { min: '20m', examples: '200m, 0.5 or 2', default: '200m' };
  test.each<[unknown, string | undefined, string[]]>([
    ['20m', '20m', []],
    [0.02, '0.02', []],
    [1, '1', []],
    [undefined, '200m', []],
    ['19m', undefined, ['x: must be at least 20m, got "19m"']],
    [0.019, undefined, ['x: must be at least 20m, got 0.019']],
    ['abc', undefined, ['x: must be a Kubernetes quantity such as 200m, 0.5 or 2, got "abc"']],
    [true, undefined, ['x: must be a Kubernetes quantity such as 200m, 0.5 or 2, got true']],
  ])('GIVEN %p WHEN read as a CPU quantity THEN %p', (value, expected, messages) => {
    expect(read(value, (f) => readQuantity(f, cpu))).toEqual({ result: expected, messages });
  });

  test('GIVEN 0 WHEN a positive quantity is read THEN it is rejected', () => {
    expect(read('0', (f) => readQuantity(f, { positive: true, examples: '1Gi' })).messages).toEqual(['x: must be more than 0, got "0"']);
  });
});

describe('readList and readStringList', () => {
  test('GIVEN a list WHEN read THEN each item is a field with its index', () => {
    const { result } = read(['a', 'b'], (f) => readList(f));
    expect(result?.map((item) => item.path)).toEqual([['x', 0], ['x', 1]]);
  });

  test('GIVEN an empty list and a minimum length WHEN read THEN it names what is missing', () => {
    expect(read([], (f) => readList(f, { minLength: 1, what: 'container' })).messages).toEqual(['x: must list at least one container']);
  });

  test('GIVEN a scalar WHEN read as a list THEN it must be a list', () => {
    expect(read('a', (f) => readList(f)).messages).toEqual(['x: must be a list, got "a"']);
  });

  test('GIVEN numbers in a string list WHEN read THEN each one says how to quote it', () => {
    expect(read(['--port', 8080], (f) => readStringList(f)).messages).toEqual(['x[1]: must be a string, got 8080 (quote it: "8080")']);
    expect(read(['a', ''], (f) => readStringList(f)).result).toEqual(['a', '']);
    expect(read(undefined, (f) => readStringList(f)).result).toBeUndefined();
  });
});

describe('readSection', () => {
  test('GIVEN unknown keys WHEN read THEN each is reported with a hint, a suggestion or the allowed keys', () => {
    const value = { port: 1, prot: 2, shm_size: '1Gi', zzz: 3 };
    const { messages } = read(value, (f) => readSection(f, ['port', 'containers'], { hints: { shm_size: 'use compute.shm' } }));
    expect(messages).toEqual([
      'x.prot: unknown field "prot"; did you mean "port"?',
      'x.shm_size: unknown field "shm_size"; use compute.shm',
      'x.zzz: unknown field "zzz"; allowed fields: port, containers',
    ]);
  });

  test('GIVEN ignored keys WHEN read THEN they are not reported', () => {
    expect(read({ pod: 1 }, (f) => readSection(f, [], { ignore: ['pod'] })).messages).toEqual([]);
  });

  test('GIVEN an absent optional section WHEN read THEN it reads as empty', () => {
    const { result, messages } = read(undefined, (f) => readSection(f, ['a']));
    expect(messages).toEqual([]);
    expect(result?.has('a')).toBe(false);
  });

  test('GIVEN an absent required section WHEN read THEN it is required', () => {
    expect(read(undefined, (f) => readSection(f, ['a'], { required: true }))).toEqual({ result: undefined, messages: ['x: required'] });
  });

  test('GIVEN a list WHEN read as a section THEN it must be a mapping', () => {
    expect(read([1], (f) => readSection(f, ['a'])).messages).toEqual(['x: must be a mapping, got a list']);
  });

  test('GIVEN a hint for a key WHEN the message is built THEN the hint wins over a suggestion', () => {
    expect(unknownFieldMessage('ports', ['port'], { ports: 'use port' })).toBe('unknown field "ports"; use port');
  });
});

describe('readExactlyOne', () => {
  const which = (value: unknown) =>
    read(value, (f) => {
      const section = readSection(f, ['http_get', 'tcp_socket', 'exec']);
      return section && readExactlyOne(section, ['http_get', 'tcp_socket', 'exec']);
    });

  test('GIVEN one handler WHEN read THEN it is the one', () => {
    expect(which({ exec: {} })).toEqual({ result: 'exec', messages: [] });
  });

  test('GIVEN none WHEN read THEN the choices are listed', () => {
    expect(which({}).messages).toEqual(['x: must have exactly one of http_get, tcp_socket or exec, got none']);
  });

  test('GIVEN two WHEN read THEN both are named', () => {
    expect(which({ http_get: {}, exec: {} }).messages).toEqual([
      'x: must have exactly one of http_get, tcp_socket or exec, got http_get and exec',
    ]);
  });
});

describe('null list items', () => {
  const item = (reader: (field: Field) => unknown) => {
    const context = new ValidationContext('f', NO_POSITIONS);
    const list = new Field(context, ['x'], [null], true);
    const result = reader(list.child(0));
    return { result, messages: context.problems.map((p) => `${p.path}: ${p.message}`) };
  };

  test.each<[string, (field: Field) => unknown, string]>([
    ['a string', (f) => readString(f, { default: 'd' }), 'x[0]: must be a string, got null'],
    ['an integer', (f) => readInteger(f, { default: 1 }), 'x[0]: must be an integer, got null'],
    ['a mapping', (f) => readSection(f, ['a']), 'x[0]: must be a mapping, got null'],
    ['a list', (f) => readList(f), 'x[0]: must be a list, got null'],
    ['an enum', (f) => readEnum(f, ['a', 'b']), 'x[0]: must be one of a, b, got null'],
  ])('GIVEN a null item where %s is expected WHEN read THEN it is an error, not a default', (_, reader, message) => {
    expect(item(reader)).toEqual({ result: undefined, messages: [message] });
  });
});
