import { diffValues, formatPath, pathStartsWith, sameValue } from '../../../bin/cli/diff/object-diff';
import { TokenString } from '../../../bin/cli/diff/token-string';

const token = (tag: string) => new TokenString([{ 'Fn::GetAtt': ['Repo', 'RepositoryUri'] }, `:${tag}`]);

describe('sameValue', () => {
  test('GIVEN tokens THEN equal by structure, never equal to a plain string', () => {
    expect(sameValue(token('v1'), token('v1'))).toBe(true);
    expect(sameValue(token('v1'), token('v2'))).toBe(false);
    expect(sameValue(token('v1'), '${Repo.RepositoryUri}:v1')).toBe(false);
  });

  test('GIVEN objects with keys in another order THEN equal; an absent key and an undefined one THEN equal', () => {
    expect(sameValue({ a: 1, b: [1, { c: 2 }] }, { b: [1, { c: 2 }], a: 1 })).toBe(true);
    expect(sameValue({ a: 1, b: undefined }, { a: 1 })).toBe(true);
    expect(sameValue([1, 2], [2, 1])).toBe(false);
  });
});

describe('diffValues', () => {
  test('GIVEN containers reordered and one changed THEN one change, found by container name', () => {
    const from = { containers: [{ name: 'api', image: 'a:1' }, { name: 'proxy', image: 'p:1' }] };
    const to = { containers: [{ name: 'proxy', image: 'p:1' }, { name: 'api', image: 'a:2' }] };
    expect(diffValues(from, to)).toEqual([{ path: ['containers', { element: 'api' }, 'image'], from: 'a:1', to: 'a:2' }]);
  });

  test('GIVEN a named element added and one removed THEN each as a whole, added first', () => {
    const changes = diffValues({ env: [{ name: 'A', value: '1' }] }, { env: [{ name: 'B', value: '2' }] });
    expect(changes).toEqual([
      { path: ['env', { element: 'B' }], from: undefined, to: { name: 'B', value: '2' } },
      { path: ['env', { element: 'A' }], from: { name: 'A', value: '1' }, to: undefined },
    ]);
  });

  test('GIVEN routes without names THEN found by destination host', () => {
    const route = (host: string, weight: number) => ({ destination: { host }, weight });
    const changes = diffValues([route('a.cortex', 50), route('b.cortex', 50)], [route('a.cortex', 80), route('b.cortex', 20)]);
    expect(changes.map((c) => formatPath(c.path))).toEqual(['[a.cortex].weight', '[b.cortex].weight']);
  });

  test('GIVEN a command line of the same length THEN the argument that changed', () => {
    expect(diffValues({ args: ['--n', '4'] }, { args: ['--n', '8'] })).toEqual([{ path: ['args', 1], from: '4', to: '8' }]);
  });

  test('GIVEN a command line of another length THEN the slice between the common start and end', () => {
    const appended = diffValues({ args: ['-a', '1'] }, { args: ['-a', '1', '-b', '2'] });
    expect(appended).toEqual([{ path: ['args', { start: 2 }], from: [], to: ['-b', '2'] }]);
    expect(formatPath(appended[0].path)).toBe('args[2:]');
    const replaced = diffValues(['a', 'x', 'y', 'z'], ['a', 'q', 'z']);
    expect(replaced).toEqual([{ path: [{ start: 1, end: 3 }], from: ['x', 'y'], to: ['q'] }]);
    expect(formatPath(replaced[0].path)).toBe('[1:3]');
  });

  test('GIVEN a field added or removed THEN (from or to) undefined', () => {
    expect(diffValues({ a: 1 }, { a: 1, probe: { path: '/' } })).toEqual([{ path: ['probe'], from: undefined, to: { path: '/' } }]);
    expect(diffValues({ a: 1, b: 2 }, { a: 1 })).toEqual([{ path: ['b'], from: 2, to: undefined }]);
  });

  test('GIVEN equal values THEN no change', () => {
    expect(diffValues({ image: token('v1') }, { image: token('v1') })).toEqual([]);
  });
});

describe('formatPath', () => {
  test('GIVEN keys, indexes, named elements and keys with dots THEN a readable path', () => {
    expect(formatPath(['spec', 'template', 'spec', 'containers', { element: 'api' }, 'args', 3])).toBe('spec.template.spec.containers[api].args[3]');
    expect(formatPath(['metadata', 'annotations', 'cortex.dev/spec-hash'])).toBe('metadata.annotations["cortex.dev/spec-hash"]');
  });

  test('pathStartsWith compares object keys', () => {
    expect(pathStartsWith(['spec', 'template', 'x'], ['spec', 'template'])).toBe(true);
    expect(pathStartsWith(['spec', 'replicas'], ['spec', 'template'])).toBe(false);
  });
});
