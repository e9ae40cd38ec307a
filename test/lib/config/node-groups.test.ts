import { containerApi, containerApiProblems, merged, realtimeSpecOf } from './config-fixtures';

describe('node_groups', () => {
  test('GIVEN no node_groups WHEN read THEN the API may run on any (undefined)', () => {
    expect(realtimeSpecOf(containerApi()).nodeGroups).toBeUndefined();
    expect(realtimeSpecOf(merged(containerApi(), { node_groups: null })).nodeGroups).toBeUndefined();
  });

  test('GIVEN node groups WHEN read THEN they are kept in order', () => {
    expect(realtimeSpecOf(merged(containerApi(), { node_groups: ['gpu-spot', 'gpu'] })).nodeGroups).toEqual(['gpu-spot', 'gpu']);
  });

  test.each<[string, unknown, string[]]>([
    ['an empty list', [], ['<props>: iris.node_groups: must list at least one node group (or leave node_groups out to allow any)']],
    [
      'a bad name',
      ['GPU_1'],
      ['<props>: iris.node_groups[0]: must be a node group name (lower-case letters, digits and "-", starting and ending with a letter or digit, at most 63 characters), got "GPU_1"'],
    ],
    ['a repeated name', ['gpu', 'gpu'], ['<props>: iris.node_groups[1]: node group "gpu" is listed twice']],
    ['a single string', 'gpu', ['<props>: iris.node_groups: must be a list, got "gpu"']],
  ])('GIVEN %s WHEN validated THEN %p', (_, nodeGroups, expected) => {
    expect(containerApiProblems({ node_groups: nodeGroups })).toEqual(expected);
  });
});
