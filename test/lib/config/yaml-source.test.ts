import { findExcessiveNesting, MAX_NESTING, readYamlSource } from '../../../lib/config/yaml-source';

describe('readYamlSource', () => {
  test('GIVEN a collection as a mapping key WHEN read THEN the parser prints no warning of its own', () => {
    const warn = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    try {
      const { value } = readYamlSource('- ? [a]\n  : 1\n');
      expect(value).toEqual([{ '[ a ]': 1 }]);
      expect(warn).not.toHaveBeenCalled();
    } finally {
      warn.mockRestore();
    }
  });

  const text = [
    '- name: iris', //                 line 1
    '  kind: RealtimeAPI', //          line 2
    '  pod:', //                       line 3
    '    containers:', //              line 4
    '      - name: api', //            line 5
    '        image:', //               line 6
    '        env: {A: "1"}', //        line 7
  ].join('\n');

  test('GIVEN a valid document WHEN read THEN its value is the plain data', () => {
    const source = readYamlSource(text);
    expect(source.syntaxErrors).toEqual([]);
    expect(source.value).toEqual([
      { name: 'iris', kind: 'RealtimeAPI', pod: { containers: [{ name: 'api', image: null, env: { A: '1' } }] } },
    ]);
  });

  test('GIVEN field paths WHEN located THEN values and keys are found at their line and column', () => {
    const { locator } = readYamlSource(text);
    expect(locator.valueAt([0, 'name'])).toEqual({ line: 1, column: 9 });
    expect(locator.keyAt([0, 'kind'])).toEqual({ line: 2, column: 3 });
    expect(locator.valueAt([0, 'pod', 'containers', 0])).toEqual({ line: 5, column: 9 });
    expect(locator.valueAt([0, 'pod', 'containers', 0, 'env', 'A'])).toEqual({ line: 7, column: 18 });
    expect(locator.keyAt([0, 'pod', 'containers', 0, 'env', 'A'])).toEqual({ line: 7, column: 15 });
  });

  test('GIVEN a path that is not written WHEN located THEN the deepest written ancestor is given', () => {
    const { locator } = readYamlSource(text);
    expect(locator.valueAt([0, 'pod', 'containers', 0, 'compute', 'cpu'])).toEqual({ line: 5, column: 9 });
    expect(locator.keyAt([0, 'autoscaling'])).toEqual({ line: 1, column: 3 });
    // A block list starts at its first dash.
    expect(locator.valueAt([0, 'pod', 'containers', 3])).toEqual({ line: 5, column: 7 });
  });

  test('GIVEN a key with no value WHEN located THEN its key is found', () => {
    const { locator } = readYamlSource(text);
    expect(locator.keyAt([0, 'pod', 'containers', 0, 'image'])).toEqual({ line: 6, column: 9 });
  });

  test('GIVEN an empty path WHEN located THEN the document start is given', () => {
    expect(readYamlSource(text).locator.valueAt([])).toEqual({ line: 1, column: 1 });
    expect(readYamlSource('').locator.valueAt([])).toEqual({ line: 1, column: 1 });
  });

  test('GIVEN an empty file or only comments WHEN read THEN the value is null, without errors', () => {
    expect(readYamlSource('')).toMatchObject({ value: null, syntaxErrors: [] });
    expect(readYamlSource('# nothing yet\n')).toMatchObject({ value: null, syntaxErrors: [] });
  });

  test('GIVEN broken YAML WHEN read THEN each error has the parser\'s line and column', () => {
    const source = readYamlSource('- name: a\n  kind: [x\n');
    expect(source.syntaxErrors).toEqual([
      { line: 3, column: 1, message: expect.stringMatching(/^invalid YAML: Flow sequence in block collection must be sufficiently indented/) },
    ]);
  });

  test('GIVEN a syntax error at a token thousands of characters long WHEN read THEN the message quotes its start only', () => {
    const errors = readYamlSource(`    a: 1\n- name: b\n  c: ${'x'.repeat(100_000)}\n`).syntaxErrors;
    expect(errors[errors.length - 1]).toEqual({ line: 3, column: 6, message: `invalid YAML: Unexpected scalar token in YAML stream: "${'x'.repeat(60)}…"` });
  });

  test('GIVEN a duplicate key WHEN read THEN it is an error at the second key', () => {
    expect(readYamlSource('- name: a\n  name: b\n').syntaxErrors).toEqual([
      { line: 2, column: 3, message: 'invalid YAML: Map keys must be unique' },
    ]);
  });

  test('GIVEN tabs as indentation WHEN read THEN it is an error', () => {
    expect(readYamlSource('- name: a\n\tkind: b\n').syntaxErrors[0]).toMatchObject({ line: 2, column: 2 });
  });

  test('GIVEN several documents WHEN read THEN it is an error', () => {
    expect(readYamlSource('- a\n---\n- b\n').syntaxErrors[0].message).toMatch(/multiple documents/);
  });

  test('GIVEN a byte-order mark WHEN read THEN it is ignored and columns are unchanged', () => {
    const source = readYamlSource('\uFEFF- name: iris\n');
    expect(source.value).toEqual([{ name: 'iris' }]);
    expect(source.locator.valueAt([0, 'name'])).toEqual({ line: 1, column: 9 });
  });

  test('GIVEN merge keys WHEN read THEN merged fields are there and located at the anchor', () => {
    const source = readYamlSource('- &base\n  kind: RealtimeAPI\n  name: a\n- <<: *base\n  name: b\n');
    expect(source.value).toEqual([
      { kind: 'RealtimeAPI', name: 'a' },
      { kind: 'RealtimeAPI', name: 'b' },
    ]);
    expect(source.locator.valueAt([1, 'kind'])).toEqual({ line: 2, column: 9 });
    expect(source.locator.valueAt([1, 'name'])).toEqual({ line: 5, column: 9 });
  });

  test('GIVEN aliases that expand without bound WHEN read THEN it is an error, not a hang', () => {
    const lines = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 0; i < 8; i++) lines.push(`${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(10).fill(`*${String.fromCharCode(97 + i)}`).join(', ')}]`);
    const source = readYamlSource(lines.join('\n'));
    expect(source.syntaxErrors[0].message).toMatch(/^invalid YAML: .*alias/i);
    // At the first alias (line 2, `b: &b [*a, ...`), not at 0:0.
    expect(source.syntaxErrors[0]).toMatchObject({ line: 2, column: 8 });
  });

  test('GIVEN an alias with no anchor before it WHEN read THEN it is an error at the alias', () => {
    expect(readYamlSource('- name: a\n  kind: *api\n').syntaxErrors).toEqual([
      { line: 2, column: 9, message: 'invalid YAML: Unresolved alias (the anchor must be set before the alias): api' },
    ]);
  });

  test.each([
    ['a scalar', '- name: a\n  <<: 5\n', { line: 2, column: 7 }],
    ['an alias of a list', '- &list [1]\n- name: a\n  <<: *list\n', { line: 3, column: 7 }],
    ['a list holding a scalar', '- name: a\n  <<: [{kind: RealtimeAPI}, x]\n', { line: 2, column: 29 }],
  ])('GIVEN a merge key whose value is %s WHEN read THEN it is an error at that value', (_, text, position) => {
    expect(readYamlSource(text).syntaxErrors).toEqual([{ ...position, message: 'invalid YAML: Merge sources must be maps or map aliases' }]);
  });

  test('GIVEN a key that is not a string WHEN located THEN it is found by its text', () => {
    const source = readYamlSource('- 1: a\n  null: b\n');
    expect(source.value).toEqual([{ '1': 'a', '': 'b' }]);
    expect(source.locator.keyAt([0, '1'])).toEqual({ line: 1, column: 3 });
    expect(source.locator.keyAt([0, ''])).toEqual({ line: 2, column: 3 });
  });
});

describe('nesting limit', () => {
  test.each([
    ['flow brackets', '['.repeat(5000), { line: 1, column: 100 }],
    ['compact dashes', '- '.repeat(5000) + 'a', { line: 1, column: 199 }],
    ['indentation', Array.from({ length: 1000 }, (_, i) => `${' '.repeat(i)}k${i}:`).join('\n'), { line: 101, column: 101 }],
  ])('GIVEN YAML nested thousands of levels deep by %s WHEN read THEN it is refused before parsing', (_, text, position) => {
    expect(readYamlSource(text).syntaxErrors).toEqual([
      { ...position, message: `invalid YAML: nested more than ${MAX_NESTING} levels deep (a cortex.yaml needs far fewer)` },
    ]);
  });

  test('GIVEN brackets inside quoted strings or comments WHEN read THEN they do not count', () => {
    const text = `- a: "${'['.repeat(300)}"\n  b: '${'{'.repeat(300)}'\n  # ${'['.repeat(300)}\n`;
    expect(findExcessiveNesting(text)).toBeUndefined();
    expect(readYamlSource(text).syntaxErrors).toEqual([]);
  });

  test('GIVEN a config nested as deep as real ones WHEN checked THEN it passes', () => {
    const text = '- pod:\n    containers:\n      - readiness_probe:\n          exec:\n            command: [a, [b, {c: [d]}]]\n';
    expect(findExcessiveNesting(text)).toBeUndefined();
  });

  test('GIVEN hundreds of syntax errors WHEN read THEN the first 50 are kept, and the rest counted', () => {
    const errors = readYamlSource('- a: b: c\n'.repeat(60)).syntaxErrors;
    expect(errors).toHaveLength(51);
    expect(errors[49]).toEqual({ line: 50, column: 6, message: 'invalid YAML: Nested mappings are not allowed in compact mappings' });
    expect(errors[50]).toEqual({ line: 50, column: 6, message: 'invalid YAML: 10 more errors not shown' });
  });
});
