import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseConfig } from '../../../lib/config';
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
        `${ENV}.CORTEX_PORT: names starting with CORTEX_ are reserved for the variables cortex-cdk sets (such as CORTEX_GATEWAY_URL), except the runtime settings CORTEX_MAX_BODY_SIZE, CORTEX_MODEL_CACHE_DIR, CORTEX_NEURON_CORES_PER_DEVICE, CORTEX_STUCK_GRACE; rename CORTEX_PORT`,
      ],
    ],
    ['a name starting with a digit', { '1X': 'a' }, [`${ENV}.1X: invalid variable name "1X": use letters, digits, "_", "-" and ".", not starting with a digit`]],
    ['a name with a space', { 'A B': 'a' }, [`${ENV}.A B: invalid variable name "A B": use letters, digits, "_", "-" and ".", not starting with a digit`]],
    ['a list value', { A: ['x'] }, [`${ENV}.A: must be a string, number or boolean, got a list`]],
    ['a mapping value', { A: { b: 1 } }, [`${ENV}.A: must be a string, number or boolean, got a mapping`]],
    ['a list instead of a mapping', ['A=1'], [`${ENV}: must be a mapping of variable names to values, got a list`]],
    ['cortex_ in lower case (not reserved)', { cortex_x: '1' }, []],
    ["the runtime's settings an API may set", { CORTEX_MAX_BODY_SIZE: '1Mi', CORTEX_STUCK_GRACE: '60' }, []],
  ])('GIVEN %s WHEN validated THEN %p', (_, env, expected) => {
    expect(objectProblems([apiWithContainer({ env })])).toEqual(expected);
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
      'cortex.yaml:9:11: iris.pod.containers[0].env.CORTEX_GATEWAY_URL: names starting with CORTEX_ are reserved for the variables cortex-cdk sets (such as CORTEX_GATEWAY_URL), except the runtime settings CORTEX_MAX_BODY_SIZE, CORTEX_MODEL_CACHE_DIR, CORTEX_NEURON_CORES_PER_DEVICE, CORTEX_STUCK_GRACE; rename CORTEX_GATEWAY_URL',
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
