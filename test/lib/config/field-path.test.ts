import { formatFieldPath, NO_POSITIONS } from '../../../lib/config/field-path';

describe('formatFieldPath', () => {
  test('GIVEN keys and list indexes WHEN formatted THEN keys are dotted and indexes bracketed', () => {
    expect(formatFieldPath('iris', ['pod', 'containers', 0, 'compute', 'cpu'])).toBe('iris.pod.containers[0].compute.cpu');
  });

  test('GIVEN an unnamed API WHEN formatted THEN its [N] label leads', () => {
    expect(formatFieldPath('[2]', ['kind'])).toBe('[2].kind');
  });

  test('GIVEN no label WHEN formatted THEN the path starts with its first key', () => {
    expect(formatFieldPath('', ['a', 1, 'b'])).toBe('a[1].b');
    expect(formatFieldPath('', [])).toBe('');
  });
});

describe('NO_POSITIONS', () => {
  test('GIVEN any path WHEN located THEN it is 0:0', () => {
    expect(NO_POSITIONS.valueAt([0, 'pod'])).toEqual({ line: 0, column: 0 });
    expect(NO_POSITIONS.keyAt([0, 'pod'])).toEqual({ line: 0, column: 0 });
  });
});
