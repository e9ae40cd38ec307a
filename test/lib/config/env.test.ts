import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseConfig, realtimeApiSpec } from '../../../lib/config';
import { USER_RUNTIME_SETTINGS } from '../../../lib/config/env';
import { apiWithContainer, objectProblems, problemsOf, realtimeSpecOf } from './config-fixtures';

const ENV = '<props>: iris.pod.containers[0].env';

describe('env', () => {
  test('GIVEN no env WHEN read THEN it is empty', () => {
    expect(realtimeSpecOf(apiWithContainer({})).pod.containers[0].env).toEqual({});
    expect(realtimeSpecOf(apiWithContainer({ env: null })).pod.containers[0].env).toEqual({});
  });

  test('GIVEN scalars of every kind WHEN read THEN they become strings, in file order', () => {
    const env = realtimeSpecOf(apiWithContainer({ env: { Z_LAST: 'z', S3_USE_HTTPS: 1, DEBUG: true, RATIO: 0.5, EMPTY: null } })).pod
      .containers[0].env;
    expect(env).toEqual({ Z_LAST: 'z', S3_USE_HTTPS: '1', DEBUG: 'true', RATIO: '0.5', EMPTY: '' });
    expect(Object.keys(env)).toEqual(['Z_LAST', 'S3_USE_HTTPS', 'DEBUG', 'RATIO', 'EMPTY']);
  });

  test('GIVEN a variable named __proto__ in YAML WHEN read THEN it is a variable like any other, not dropped', () => {
    const yaml = `- name: iris
  kind: RealtimeAPI
  pod:
    containers:
      - name: api
        image: a
        env:
          __proto__: x
          constructor: y
`;
    const env = parseConfig(yaml, 'cortex.yaml').apis[0].pod.containers[0].env;
    expect(Object.entries(env)).toEqual([
      ['__proto__', 'x'],
      ['constructor', 'y'],
    ]);
  });

  test('GIVEN quoted values in YAML WHEN read THEN they stay exactly as written', () => {
    const yaml = `- name: iris
  kind: RealtimeAPI
  pod:
    containers:
      - name: api
        image: a
        env:
          AWS_LOG_LEVEL: "3"
          NEURON_RTD_ADDRESS: unix:/mnt/neuron.sock
          lower.case-name: "x"
`;
    expect(problemsOf(yaml)).toEqual([]);
  });

  test.each<[string, unknown, string[]]>([
    [
      'a CORTEX_ variable',
      { CORTEX_PORT: '1' },
      [
        `${ENV}.CORTEX_PORT: names starting with CORTEX_ are reserved for the variables cortex-cdk sets (such as CORTEX_GATEWAY_URL), except the runtime settings CORTEX_API_KEY, CORTEX_MAX_BODY_SIZE, CORTEX_MODEL_CACHE_DIR, CORTEX_NEURON_CORES_PER_DEVICE, CORTEX_STUCK_GRACE; rename CORTEX_PORT`,
      ],
    ],
    ['a name starting with a digit', { '1X': 'a' }, [`${ENV}.1X: invalid variable name "1X": use letters, digits, "_", "-" and ".", not starting with a digit`]],
    ['a name with a space', { 'A B': 'a' }, [`${ENV}.A B: invalid variable name "A B": use letters, digits, "_", "-" and ".", not starting with a digit`]],
    ['a list value', { A: ['x'] }, [`${ENV}.A: must be a string, number or boolean, or {secret: NAME, key: KEY} (a key of a Secret), got a list`]],
    ['a mapping value', { A: { b: 1 } }, [`${ENV}.A: must be a string, number or boolean, or {secret: NAME, key: KEY} (a key of a Secret), got a mapping with neither secret nor key`]],
    ['a Secret ref with an unknown field', { A: { secret: 's', key: 'k', optional: true } }, [`${ENV}.A.optional: unknown field "optional"; allowed fields: secret, key`]],
    ['a Secret ref without its key', { A: { secret: 's' } }, [`${ENV}.A.key: required`]],
    ['a Secret ref without its Secret', { A: { key: 'k' } }, [`${ENV}.A.secret: required`]],
    ['a Secret ref with a number as key', { A: { secret: 's', key: 1 } }, [`${ENV}.A.key: must be a string, got 1 (quote it: "1")`]],
    [
      'a Secret name that is not a DNS-1123 subdomain',
      { A: { secret: 'My_Keys', key: 'k' } },
      [
        `${ENV}.A.secret: must be the name of a Secret, a DNS-1123 subdomain: at most 253 lower-case letters, digits, "-" and ".", each "."-separated part starting and ending with a letter or digit; got "My_Keys"`,
      ],
    ],
    ['a Secret name of 254 characters', { A: { secret: 'a'.repeat(254), key: 'k' } }, [expect.stringMatching(/\.A\.secret: must be the name of a Secret, .*; got "a{60}…"$/)]],
    [
      'a Secret key with a slash',
      { A: { secret: 's', key: 'a/b' } },
      [`${ENV}.A.key: must be a key of the Secret's data: at most 253 letters, digits, "-", "_" and "."; got "a/b"`],
    ],
    ['a Secret key of 254 characters', { A: { secret: 's', key: 'k'.repeat(254) } }, [expect.stringMatching(/\.A\.key: must be a key of the Secret's data/)]],
    ...['.', '..', '..data'].map((key): [string, unknown, string[]] => [
      `a Secret key ${JSON.stringify(key)} (the API server refuses it)`,
      { A: { secret: 's', key } },
      [`${ENV}.A.key: must be a key of the Secret's data, which is not ".", ".." nor one starting with ".." (the API server refuses them); got ${JSON.stringify(key)}`],
    ]),
    ['a Secret key with dots inside', { A: { secret: 's', key: '.a..b.' } }, []],
    ['a Secret-backed CORTEX_API_KEY (the client\'s key)', { CORTEX_API_KEY: { secret: 'callee-key', key: 'key' } }, []],
    ['a list instead of a mapping', ['A=1'], [`${ENV}: must be a mapping of variable names to values, got a list`]],
    ['cortex_ in lower case (not reserved)', { cortex_x: '1' }, []],
    ["the runtime's settings an API may set", { CORTEX_MAX_BODY_SIZE: '1Mi', CORTEX_STUCK_GRACE: '60' }, []],
  ])('GIVEN %s WHEN validated THEN %p', (_, env, expected) => {
    expect(objectProblems([apiWithContainer({ env })])).toEqual(expected);
  });

  test('GIVEN Secret-backed variables among literals WHEN read THEN the literals stay in env and the Secret-backed ones go to secretEnv, each in file order', () => {
    const container = realtimeSpecOf(
      apiWithContainer({ env: { B_REF: { secret: 'keys', key: 'b' }, LITERAL: 'x', A_REF: { secret: 'other.keys', key: 'a.key_1-2' } } }),
    ).pod.containers[0];
    expect(container.env).toEqual({ LITERAL: 'x' });
    expect(Object.entries(container.secretEnv!)).toEqual([
      ['B_REF', { secret: 'keys', key: 'b' }],
      ['A_REF', { secret: 'other.keys', key: 'a.key_1-2' }],
    ]);
    expect(realtimeSpecOf(apiWithContainer({ env: { A: 'x' } })).pod.containers[0]).not.toHaveProperty('secretEnv');
  });

  test('GIVEN a predictor-form API with a Secret-backed variable in YAML WHEN read THEN the predictor and its runtime container have it', () => {
    const yaml = `- name: caller
  kind: RealtimeAPI
  predictor:
    type: python
    path: predictor.py
    env:
      CALLEE: http://callee
      CORTEX_API_KEY: {secret: callee-client-key, key: key}
`;
    const api = parseConfig(yaml, 'cortex.yaml').apis[0];
    const ref = { CORTEX_API_KEY: { secret: 'callee-client-key', key: 'key' } };
    expect(api.predictor?.secretEnv).toEqual(ref);
    expect(api.predictor?.env).toEqual({ CALLEE: 'http://callee' });
    expect(api.pod.containers[0].secretEnv).toEqual(ref);
  });

  test('GIVEN typed definitions of both forms with { secret, key } WHEN converted THEN the specs of the file', () => {
    const ref = { secret: 'callee-client-key', key: 'key' };
    const container = realtimeApiSpec({ name: 'a', pod: { containers: [{ name: 'api', image: 'a:1', env: { CORTEX_API_KEY: ref, X: 1 } }] } });
    expect(container.pod.containers[0]).toMatchObject({ env: { X: '1' }, secretEnv: { CORTEX_API_KEY: ref } });
    const predictor = realtimeApiSpec({ name: 'p', predictor: { type: 'python', path: 'p.py', env: { CORTEX_API_KEY: ref } } });
    expect(predictor.predictor).toMatchObject({ env: {}, secretEnv: { CORTEX_API_KEY: ref } });
    expect(() => realtimeApiSpec({ name: 'a', pod: { containers: [{ name: 'api', image: 'a:1', env: { K: { secret: 'S', key: 'k' } } }] } })).toThrow(
      /a\.pod\.containers\[0\]\.env\.K\.secret: must be the name of a Secret/,
    );
  });

  test('GIVEN bad Secret refs in YAML WHEN validated THEN each problem points at its field', () => {
    const yaml = `- name: iris
  kind: RealtimeAPI
  pod:
    containers:
      - name: api
        image: a
        env:
          A: {secret: Keys, key: k}
          B: {secret: keys, kee: k}
`;
    expect(problemsOf(yaml)).toEqual([
      'cortex.yaml:8:23: iris.pod.containers[0].env.A.secret: must be the name of a Secret, a DNS-1123 subdomain: at most 253 lower-case letters, digits, "-" and ".", each "."-separated part starting and ending with a letter or digit; got "Keys"',
      'cortex.yaml:9:14: iris.pod.containers[0].env.B.key: required',
      'cortex.yaml:9:29: iris.pod.containers[0].env.B.kee: unknown field "kee"; did you mean "key"?',
    ]);
  });

  test('GIVEN a reserved name in YAML WHEN validated THEN the problem points at the key', () => {
    const yaml = `- name: iris
  kind: RealtimeAPI
  pod:
    containers:
      - name: api
        image: a
        env:
          OK: "1"
          CORTEX_GATEWAY_URL: http://elsewhere
`;
    expect(problemsOf(yaml)).toEqual([
      'cortex.yaml:9:11: iris.pod.containers[0].env.CORTEX_GATEWAY_URL: names starting with CORTEX_ are reserved for the variables cortex-cdk sets (such as CORTEX_GATEWAY_URL), except the runtime settings CORTEX_API_KEY, CORTEX_MAX_BODY_SIZE, CORTEX_MODEL_CACHE_DIR, CORTEX_NEURON_CORES_PER_DEVICE, CORTEX_STUCK_GRACE; rename CORTEX_GATEWAY_URL',
    ]);
  });
});

describe("the runtime's settings an API may set", () => {
  test('GIVEN the Python runtime WHEN its .env reader is read THEN it allows the same CORTEX_ names as predictor.env', () => {
    const source = fs.readFileSync(path.join(__dirname, '../../../images/python-predictor/cortex_runtime/env_file.py'), 'utf8');
    const tuple = /^USER_SETTINGS = \(([^)]*)\)/m.exec(source);
    expect(tuple).not.toBeNull();
    const names = [...tuple![1].matchAll(/"([A-Z_]+)"/g)].map((match) => match[1]);
    expect(names).toEqual([...USER_RUNTIME_SETTINGS]);
  });
});
