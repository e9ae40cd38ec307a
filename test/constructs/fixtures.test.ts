import { parseConfig } from '../../lib/config';
import { predictorApi, realtimeApi, trafficSplitter } from './fixtures';

// The chart tests build specs by hand (fixtures.ts) so that they do not depend on the parser; this
// keeps those hand-made defaults honest: they must be exactly what the parser produces.
const withoutSource = <T extends { source: unknown }>(spec: T) => ({ ...spec, source: undefined });

describe('chart fixtures agree with the parser', () => {
  test('GIVEN a minimal container-form API THEN the fixture equals the parsed, defaulted spec', () => {
    const [parsed] = parseConfig(
      `- name: iris
  kind: RealtimeAPI
  pod:
    containers: [{name: api, image: "example.com/iris:1.0"}]
`,
      'cortex.yaml',
    ).apis;
    expect(withoutSource(JSON.parse(JSON.stringify(realtimeApi())))).toEqual(withoutSource(JSON.parse(JSON.stringify(parsed))));
  });

  test('GIVEN a minimal predictor-form API THEN the fixture equals the parsed, defaulted spec', () => {
    const [parsed] = parseConfig(
      `- name: iris
  kind: RealtimeAPI
  predictor: {type: python, path: predictor.py}
`,
      'cortex.yaml',
    ).apis;
    expect(withoutSource(JSON.parse(JSON.stringify(predictorApi())))).toEqual(withoutSource(JSON.parse(JSON.stringify(parsed))));
  });

  test('GIVEN a splitter THEN the fixture equals the parsed spec', () => {
    const config = parseConfig(
      `- name: iris
  kind: RealtimeAPI
  pod: {containers: [{name: api, image: x}]}
- name: split
  kind: TrafficSplitter
  apis: [{name: iris, weight: 100}]
`,
      'cortex.yaml',
    );
    expect(withoutSource(trafficSplitter([{ name: 'iris', weight: 100 }], { name: 'split' }))).toEqual(
      withoutSource(JSON.parse(JSON.stringify(config.splitters[0]))),
    );
  });
});
