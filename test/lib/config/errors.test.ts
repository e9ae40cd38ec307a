import { ConfigError, formatProblem } from '../../../lib/config/errors';

describe('formatProblem', () => {
  test('GIVEN a positioned problem WHEN formatted THEN it reads FILE:LINE:COL: PATH: MESSAGE', () => {
    expect(formatProblem({ file: 'cortex.yaml', line: 12, column: 7, path: 'iris.pod.max_concurrency', message: 'must be an integer from 1 to 30000, got "abc"' })).toBe(
      'cortex.yaml:12:7: iris.pod.max_concurrency: must be an integer from 1 to 30000, got "abc"',
    );
  });

  test('GIVEN no position or no path WHEN formatted THEN those parts are left out', () => {
    expect(formatProblem({ file: 'x.yaml', line: 0, column: 0, path: '', message: 'no such file' })).toBe('x.yaml: no such file');
    expect(formatProblem({ file: '<props>', line: 0, column: 0, path: 'iris.kind', message: 'required' })).toBe('<props>: iris.kind: required');
  });
});

describe('ConfigError', () => {
  test('GIVEN several problems WHEN thrown THEN the message has one line each', () => {
    const error = new ConfigError([
      { file: 'f', line: 1, column: 1, path: 'a', message: 'x' },
      { file: 'f', line: 2, column: 1, path: 'b', message: 'y' },
    ]);
    expect(error.message).toBe('f:1:1: a: x\nf:2:1: b: y');
    expect(error.name).toBe('ConfigError');
    expect(error.problems).toHaveLength(2);
  });
});
