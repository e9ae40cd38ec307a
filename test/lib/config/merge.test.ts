import { ConfigError, mergeConfigs, parseConfig } from '../../../lib/config';

const api = (name: string, endpoint?: string) => `- name: ${name}
  kind: RealtimeAPI
  pod: {containers: [{name: api, image: "example.com/${name}:1"}]}
${endpoint ? `  networking: {endpoint: ${endpoint}}\n` : ''}`;

describe('mergeConfigs', () => {
  test('GIVEN two files WHEN merged THEN every spec, in order, and the file names', () => {
    const a = parseConfig(api('a') + api('b'), 'a/cortex.yaml');
    const b = parseConfig(api('c') + `- name: split\n  kind: TrafficSplitter\n  apis: [{name: c, weight: 100}]\n`, 'b/cortex.yaml');
    const merged = mergeConfigs([a, b]);
    expect(merged.specs.map((s) => s.name)).toEqual(['a', 'b', 'c', 'split']);
    expect(merged.apis.map((s) => s.name)).toEqual(['a', 'b', 'c']);
    expect(merged.splitters.map((s) => s.name)).toEqual(['split']);
    expect(merged.file).toBe('a/cortex.yaml, b/cortex.yaml');
    // Each spec still knows its own file (the predictor's code is relative to it).
    expect(merged.apis[2].source.file).toBe('b/cortex.yaml');
  });

  test('GIVEN the same name in two files THEN an error at the second, naming the first', () => {
    const a = parseConfig(api('iris'), 'a/cortex.yaml');
    const b = parseConfig(api('other') + api('iris'), 'b/cortex.yaml');
    expect(() => mergeConfigs([a, b])).toThrow(ConfigError);
    expect(() => mergeConfigs([a, b])).toThrow(
      'b/cortex.yaml:4:3: iris.name: "iris" is already the name of an API in a/cortex.yaml:1; names must be unique across the files deployed together',
    );
  });

  test('GIVEN the same endpoint in two files THEN an error naming both APIs', () => {
    const a = parseConfig(api('iris', '/models/iris'), 'a/cortex.yaml');
    const b = parseConfig(api('iris2', '/models/iris'), 'b/cortex.yaml');
    expect(() => mergeConfigs([a, b])).toThrow(
      'b/cortex.yaml:1:3: iris2.networking.endpoint: "/models/iris" is already the endpoint of iris in a/cortex.yaml:1; endpoints must be unique across the files deployed together',
    );
  });
});
