import { configFromObject } from '../../../lib/config';
import { containerApi, objectProblems, problemsOf } from './config-fixtures';

const api = (name: string, extra: Record<string, unknown> = {}) => ({ ...containerApi(), name, ...extra });

describe('the file as a whole', () => {
  test.each<[string, string, string[]]>([
    ['an empty file', '', ['cortex.yaml:1:1: the file is empty; it must be a list of APIs, each starting with "- name: ..."']],
    ['only comments', '# todo\n', ['cortex.yaml:1:1: the file is empty; it must be a list of APIs, each starting with "- name: ..."']],
    [
      'a single mapping',
      'name: iris\nkind: RealtimeAPI\n',
      ['cortex.yaml:1:1: must be a list of APIs, each starting with "- name: ...", got a mapping'],
    ],
    ['a scalar', 'hello\n', ['cortex.yaml:1:1: must be a list of APIs, each starting with "- name: ...", got "hello"']],
    ['an empty list', '[]\n', ['cortex.yaml:1:1: must list at least one API, got an empty list']],
    [
      'null entries and scalars',
      '-\n- 3\n- [a]\n',
      [
        'cortex.yaml:1:2: [0]: must be a mapping (an API with name, kind, ...), got null',
        'cortex.yaml:2:3: [1]: must be a mapping (an API with name, kind, ...), got 3',
        'cortex.yaml:3:3: [2]: must be a mapping (an API with name, kind, ...), got a list',
      ],
    ],
  ])('GIVEN %s WHEN validated THEN %p', (_, yaml, expected) => {
    expect(problemsOf(yaml)).toEqual(expected);
  });

  test.each<[string, Record<string, unknown>, string[]]>([
    ['a 42-character name', { name: 'a'.repeat(42) }, []],
    [
      'a 43-character name',
      { name: 'a'.repeat(43) },
      ['<props>: [0].name: must be at most 42 characters (Kubernetes adds a suffix to pod names), got 43'],
    ],
    [
      'a name with a capital',
      { name: 'Iris' },
      ['<props>: [0].name: must be a DNS-1035 label (lower-case letters, digits and "-", starting with a letter and not ending with "-"), got "Iris"'],
    ],
    [
      'a name starting with a digit',
      { name: '1iris' },
      ['<props>: [0].name: must be a DNS-1035 label (lower-case letters, digits and "-", starting with a letter and not ending with "-"), got "1iris"'],
    ],
    [
      'the name constructor (a construct id the constructs library cannot take)',
      { name: 'constructor' },
      ['<props>: [0].name: "constructor" is reserved (API names become construct ids, and the constructs library cannot take this one); choose another name'],
    ],
    ['no name', { name: undefined }, ['<props>: [0].name: required']],
    ['a numeric name', { name: 5 }, ['<props>: [0].name: must be a string, got 5 (quote it: "5")']],
    ['no kind', { kind: undefined }, ['<props>: iris.kind: required: RealtimeAPI or TrafficSplitter']],
    [
      'kind realtimeapi',
      { kind: 'realtimeapi' },
      ['<props>: iris.kind: must be one of RealtimeAPI, TrafficSplitter, api, deployment, got "realtimeapi"; did you mean RealtimeAPI? (the rest of the entry was checked as a RealtimeAPI)'],
    ],
    [
      'kind RealtimeApi and a bad field: both reported',
      { kind: 'RealtimeApi', pod: { containers: [] } },
      [
        '<props>: iris.kind: must be one of RealtimeAPI, TrafficSplitter, api, deployment, got "RealtimeApi"; did you mean RealtimeAPI? (the rest of the entry was checked as a RealtimeAPI)',
        '<props>: iris.pod.containers: must list at least one container',
      ],
    ],
    [
      'kind Trafficsplitter on an entry with a pod: read as a TrafficSplitter',
      { kind: 'Trafficsplitter' },
      [
        '<props>: iris.kind: must be one of RealtimeAPI, TrafficSplitter, api, deployment, got "Trafficsplitter"; did you mean TrafficSplitter? (the rest of the entry was checked as a TrafficSplitter)',
        '<props>: iris.pod: unknown field "pod"; pod belongs to RealtimeAPI entries; a TrafficSplitter has only name, kind, networking, apis',
        '<props>: iris.apis: required',
      ],
    ],
    [
      'kind Foo: nothing close, the entry is not read further',
      { kind: 'Foo', pod: { containers: [] } },
      ['<props>: iris.kind: must be one of RealtimeAPI, TrafficSplitter, api, deployment, got "Foo"'],
    ],
    [
      'kind BatchAPI',
      { kind: 'BatchAPI' },
      ['<props>: iris.kind: must be one of RealtimeAPI, TrafficSplitter, api, deployment, got "BatchAPI" (cortex-cdk does not serve BatchAPIs)'],
    ],
    [
      'kind api (Cortex 0.10 to 0.12) with a pod',
      { kind: 'api' },
      [
        '<props>: iris.pod: unknown field "pod"; pod belongs to kind RealtimeAPI (its container form); kind: api serves python, tensorflow, onnx or predictor',
        '<props>: iris: must have exactly one of python, tensorflow, onnx or predictor, got none',
      ],
    ],
  ])('GIVEN %s WHEN validated THEN %p', (_, overrides, expected) => {
    const entry: Record<string, unknown> = { ...containerApi(), ...overrides };
    for (const key of Object.keys(overrides)) if (overrides[key] === undefined) delete entry[key];
    expect(objectProblems([entry])).toEqual(expected);
  });

  test('GIVEN two APIs with one name WHEN validated THEN the second is reported, whatever its kind', () => {
    expect(objectProblems([api('iris'), { name: 'iris', kind: 'TrafficSplitter', apis: [{ name: 'iris', weight: 100 }] }])).toEqual([
      '<props>: iris.name: duplicate name "iris" (also entry [0]); names must be unique in the file',
    ]);
  });

  test('GIVEN two APIs on one endpoint WHEN validated THEN the second is reported', () => {
    expect(objectProblems([api('a', { networking: { endpoint: '/x' } }), api('b', { networking: { endpoint: '/x' } })])).toEqual([
      '<props>: b.networking.endpoint: "/x" is already the endpoint of a; endpoints must be unique in the file',
    ]);
  });

  test("GIVEN an endpoint equal to another API's default WHEN validated THEN the one left to its default is told to move", () => {
    expect(objectProblems([api('a', { networking: { endpoint: '/b' } }), api('b')])).toEqual([
      '<props>: b.networking.endpoint: "/b" (the default, from the name) is already the endpoint of a; set networking.endpoint to another path',
    ]);
  });

  test('GIVEN a splitter whose target is missing or not a RealtimeAPI WHEN validated THEN the available APIs are listed', () => {
    const other = { name: 'other', kind: 'TrafficSplitter', apis: [{ name: 'a', weight: 100 }] };
    const split = { name: 'split', kind: 'TrafficSplitter', apis: [{ name: 'a', weight: 50 }, { name: 'other', weight: 25 }, { name: 'x', weight: 25 }] };
    expect(objectProblems([api('a'), api('b'), other, split])).toEqual([
      '<props>: split.apis[1].name: "other" is a TrafficSplitter, not a RealtimeAPI; available: a, b',
      '<props>: split.apis[2].name: "x" is not a RealtimeAPI of this file; available: a, b',
    ]);
  });

  test('GIVEN a splitter whose target is named by thousands of characters WHEN validated THEN the problem quotes its start only', () => {
    const split = { name: 'split', kind: 'TrafficSplitter', apis: [{ name: 'x'.repeat(100_000), weight: 100 }] };
    expect(objectProblems([api('a'), split])).toEqual([`<props>: split.apis[0].name: "${'x'.repeat(60)}…" is not a RealtimeAPI of this file; available: a`]);
  });

  test('GIVEN a splitter and no RealtimeAPI WHEN validated THEN none are available', () => {
    expect(objectProblems([{ name: 'split', kind: 'TrafficSplitter', apis: [{ name: 'a', weight: 100 }] }])).toEqual([
      '<props>: split.apis[0].name: "a" is not a RealtimeAPI of this file; available: none',
    ]);
  });

  test('GIVEN problems in several APIs of a YAML file WHEN validated THEN all are reported, ordered by line', () => {
    const yaml = `- name: b
  kind: TrafficSplitter
  apis: [{name: nope, weight: 100}]
- name: a
  kind: RealtimeAPI
  pod:
    max_concurrency: 0
    containers: [{name: api}]
`;
    expect(problemsOf(yaml)).toEqual([
      'cortex.yaml:3:17: b.apis[0].name: "nope" is not a RealtimeAPI of this file; available: a',
      'cortex.yaml:7:22: a.pod.max_concurrency: must be an integer from 1 to 30000, got 0',
      'cortex.yaml:8:18: a.pod.containers[0].image: required',
    ]);
  });

  test('GIVEN a valid file WHEN validated THEN specs keep file order and are split by kind', () => {
    const config = configFromObject([{ name: 's', kind: 'TrafficSplitter', apis: [{ name: 'b', weight: 100 }] }, api('b')], 'app.ts');
    expect(config.file).toBe('app.ts');
    expect(config.specs.map((s) => s.kind)).toEqual(['TrafficSplitter', 'RealtimeAPI']);
    expect(config.apis).toHaveLength(1);
    expect(config.splitters).toHaveLength(1);
    expect(config.apis[0].source.file).toBe('app.ts');
  });
});
