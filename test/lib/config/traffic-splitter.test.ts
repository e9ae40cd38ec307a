import { configFromObject } from '../../../lib/config';
import { containerApi, objectProblems, problemsOf } from './config-fixtures';

const api = (name: string) => ({ ...containerApi(), name });
const splitter = (apis: unknown, extra: Record<string, unknown> = {}) => ({ name: 'split', kind: 'TrafficSplitter', apis, ...extra });
const problems = (apis: unknown, extra: Record<string, unknown> = {}) =>
  objectProblems([api('a'), api('b'), api('c'), splitter(apis, extra)]);

describe('a TrafficSplitter', () => {
  test('GIVEN two weighted APIs and a shadow WHEN read THEN the spec has them in order, shadow false by default', () => {
    const config = configFromObject([
      api('a'),
      api('b'),
      api('shadow'),
      splitter([
        { name: 'a', weight: 30 },
        { name: 'b', weight: 70 },
        { name: 'shadow', shadow: true, weight: 100 },
      ]),
    ]);
    expect(config.splitters).toEqual([
      {
        kind: 'TrafficSplitter',
        name: 'split',
        networking: { endpoint: '/split', timeoutSeconds: 600 },
        apis: [
          { name: 'a', weight: 30, shadow: false },
          { name: 'b', weight: 70, shadow: false },
          { name: 'shadow', weight: 100, shadow: true },
        ],
        source: { file: '<props>', line: 0, column: 0 },
      },
    ]);
    expect(config.apis.map((a) => a.name)).toEqual(['a', 'b', 'shadow']);
    expect(config.specs.map((s) => s.name)).toEqual(['a', 'b', 'shadow', 'split']);
  });

  test('GIVEN an endpoint WHEN read THEN it is kept', () => {
    const config = configFromObject([api('a'), splitter([{ name: 'a', weight: 100 }], { networking: { endpoint: '/v2' } })]);
    expect(config.splitters[0].networking.endpoint).toBe('/v2');
  });

  test.each<[string, unknown, string[]]>([
    ['weights of 0 and 100', [{ name: 'a', weight: 0 }, { name: 'b', weight: 100 }], []],
    ['a weight of 101', [{ name: 'a', weight: 101 }], ['<props>: split.apis[0].weight: must be an integer from 0 to 100, got 101']],
    ['a weight of -1', [{ name: 'a', weight: -1 }, { name: 'b', weight: 100 }], ['<props>: split.apis[0].weight: must be an integer from 0 to 100, got -1']],
    ['no weight', [{ name: 'a' }], ['<props>: split.apis[0].weight: required']],
    [
      'weights adding up to 99',
      [{ name: 'a', weight: 49 }, { name: 'b', weight: 50 }],
      ['<props>: split.apis: the weights of the APIs that are not shadows must add up to 100, got 99 (49 + 50)'],
    ],
    [
      'weights adding up to 101',
      [{ name: 'a', weight: 51 }, { name: 'b', weight: 50 }],
      ['<props>: split.apis: the weights of the APIs that are not shadows must add up to 100, got 101 (51 + 50)'],
    ],
    [
      'only a shadow',
      [{ name: 'a', weight: 100, shadow: true }],
      ['<props>: split.apis: the weights of the APIs that are not shadows must add up to 100, got 0'],
    ],
    [
      'two shadows',
      [{ name: 'a', weight: 100 }, { name: 'b', weight: 10, shadow: true }, { name: 'c', weight: 10, shadow: true }],
      ['<props>: split.apis[2].shadow: at most one API may be a shadow, and "b" already is'],
    ],
    ['shadow "yes"', [{ name: 'a', weight: 100, shadow: 'yes' }], ['<props>: split.apis[0].shadow: must be true or false, got "yes"']],
    [
      'a target listed twice',
      [{ name: 'a', weight: 50 }, { name: 'a', weight: 50 }],
      ['<props>: split.apis[1].name: "a" is already listed (apis[0]); list each API once'],
    ],
    [
      'a target named by thousands of characters, listed twice',
      [{ name: 'x'.repeat(100_000), weight: 50 }, { name: 'x'.repeat(100_000), weight: 50 }],
      [
        `<props>: split.apis[1].name: "${'x'.repeat(60)}…" is already listed (apis[0]); list each API once`,
        `<props>: split.apis[0].name: "${'x'.repeat(60)}…" is not a RealtimeAPI of this file; available: a, b, c`,
        `<props>: split.apis[1].name: "${'x'.repeat(60)}…" is not a RealtimeAPI of this file; available: a, b, c`,
      ],
    ],
    ['an empty list', [], ['<props>: split.apis: must list at least one API']],
    ['no list', undefined, ['<props>: split.apis: required']],
    ['a misspelt key', [{ name: 'a', weigth: 100 }], [
      '<props>: split.apis[0].weigth: unknown field "weigth"; did you mean "weight"?',
      '<props>: split.apis[0].weight: required',
    ]],
  ])('GIVEN %s WHEN validated THEN %p', (_, apis, expected) => {
    expect(problems(apis)).toEqual(expected);
  });

  test.each([['pod'], ['predictor'], ['autoscaling'], ['compute'], ['node_groups']])(
    'GIVEN a RealtimeAPI field (%s) on a splitter WHEN validated THEN it is unknown there, with the reason',
    (key) => {
      expect(problems([{ name: 'a', weight: 100 }], { [key]: {} })).toEqual([
        `<props>: split.${key}: unknown field "${key}"; ${key} belongs to RealtimeAPI entries; a TrafficSplitter has only name, kind, networking, apis`,
      ]);
    },
  );

  test('GIVEN a YAML splitter WHEN the weights are off THEN the problem points at the apis list', () => {
    const yaml = `- name: a
  kind: RealtimeAPI
  pod: {containers: [{name: api, image: a}]}
- name: split
  kind: TrafficSplitter
  apis:
    - name: a
      weight: 90
`;
    expect(problemsOf(yaml)).toEqual([
      'cortex.yaml:7:5: split.apis: the weights of the APIs that are not shadows must add up to 100, got 90',
    ]);
  });
});
