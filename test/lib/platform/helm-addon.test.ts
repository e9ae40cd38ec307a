import { Token } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { addonChart, mergeValues } from '../../../lib/platform/helm-addon';
import { helmRelease, helmValues, importedCluster, newStack } from './fixtures';

describe('mergeValues', () => {
  test('merges mappings key by key, at any depth', () => {
    const ours = { server: { global: { scrape_interval: '10s' }, retention: '2d' }, alertmanager: { enabled: false } };
    expect(mergeValues(ours, { server: { retention: '7d', extraFlags: ['x'] } })).toEqual({
      server: { global: { scrape_interval: '10s' }, retention: '7d', extraFlags: ['x'] },
      alertmanager: { enabled: false },
    });
  });

  test('lists, scalars and null replace ours; undefined keeps ours', () => {
    const ours = { tolerations: [{ key: 'a' }], replicas: 2, affinity: { nodeAffinity: {} }, keep: 'me' };
    expect(mergeValues(ours, { tolerations: [], replicas: 3, affinity: null, keep: undefined })).toEqual({
      tolerations: [],
      replicas: 3,
      affinity: null,
      keep: 'me',
    });
  });

  test('a token replaces a mapping without being walked', () => {
    const token = Token.asAny({ Ref: 'Values' });
    expect(mergeValues({ server: { a: 1 } }, { server: token }).server).toBe(token);
  });

  test('changes neither input', () => {
    const ours = { a: { b: 1 } };
    const theirs = { a: { c: 2 } };
    mergeValues(ours, theirs);
    expect(ours).toEqual({ a: { b: 1 } });
    expect(theirs).toEqual({ a: { c: 2 } });
  });

  test('no override gives ours', () => {
    const ours = { a: 1 };
    expect(mergeValues(ours)).toBe(ours);
  });
});

describe('addonChart', () => {
  const source = { repository: 'https://charts.example.com', chart: 'thing', version: '1.2.3' };

  test('installs the pinned chart with our values, waiting when asked', () => {
    // GIVEN
    const stack = newStack();
    const cluster = importedCluster(stack);
    // WHEN
    addonChart(stack, 'Thing', {
      cluster,
      source,
      options: {},
      optionsPath: 'thing',
      release: 'thing',
      namespace: 'things',
      values: { a: { b: 1 } },
      wait: true,
    });
    // THEN
    const template = Template.fromStack(stack);
    expect(helmRelease(template, 'thing').properties).toMatchObject({
      Chart: 'thing',
      Repository: 'https://charts.example.com',
      Version: '1.2.3',
      Namespace: 'things',
      CreateNamespace: true,
      Wait: true,
      Timeout: '600s',
    });
    expect(helmValues(template, 'thing')).toEqual({ a: { b: 1 } });
  });

  test("the user's version, repository and values win", () => {
    const stack = newStack();
    const cluster = importedCluster(stack);
    addonChart(stack, 'Thing', {
      cluster,
      source,
      options: { version: '1.3.0', repository: 'https://mirror.example.com/charts', values: { a: { c: 2 } } },
      optionsPath: 'thing',
      release: 'thing',
      namespace: 'things',
      values: { a: { b: 1 } },
    });
    const template = Template.fromStack(stack);
    const release = helmRelease(template, 'thing').properties;
    expect(release).toMatchObject({ Version: '1.3.0', Repository: 'https://mirror.example.com/charts' });
    expect(release.Wait).toBeUndefined();
    expect(helmValues(template, 'thing')).toEqual({ a: { b: 1, c: 2 } });
  });

  test('refuses a version range, naming the option', () => {
    const stack = newStack();
    const cluster = importedCluster(stack);
    expect(() =>
      addonChart(stack, 'Thing', {
        cluster,
        source,
        options: { version: '^1.2.0' },
        optionsPath: 'thing',
        release: 'thing',
        namespace: 'things',
        values: {},
      }),
    ).toThrow(/thing\.version \("\^1\.2\.0"\) must be an exact chart version/);
  });
});
