import { parseConfig } from '../../../lib/config';
import { problemsOf } from './config-fixtures';

const API = `- kind: api
  name: classifier
  python: {inference: inference.py}
`;

describe('kind: deployment (Cortex 0.10 – 0.12)', () => {
  test('GIVEN a deployment named like one of its APIs WHEN read THEN both are fine: deployments have names of their own', () => {
    // GIVEN
    const yaml = `- kind: deployment\n  name: classifier\n${API}`;
    // WHEN
    const config = parseConfig(yaml, 'cortex.yaml');
    // THEN only the API is a spec, with no python_path of the deployment's
    expect(config.specs.map((s) => s.name)).toEqual(['classifier']);
    expect(config.apis[0].predictor).not.toHaveProperty('pythonPath');
  });

  test('GIVEN python_root WHEN read THEN it is the python_path of the APIs', () => {
    const config = parseConfig(`${API}- kind: deployment\n  name: iris\n  python_root: lib/src\n`, 'cortex.yaml');
    expect(config.apis[0].predictor?.pythonPath).toBe('lib/src');
  });

  test.each<[string, string, string[]]>([
    [
      'a python_root outside the project, and an unknown field',
      '- kind: deployment\n  name: iris\n  python_root: /src\n  endpoint: /iris\n',
      [
        'cortex.yaml:3:16: [0].python_root: must be a path inside the cortex.yaml\'s directory, relative to it (a directory such as src/), got "/src"',
        'cortex.yaml:4:3: [0].endpoint: unknown field "endpoint"; endpoint belongs to each kind: api entry',
      ],
    ],
    ['no name', '- kind: deployment\n  python_root: src\n', ['cortex.yaml:1:3: [0].name: required']],
    [
      'a second deployment',
      '- kind: deployment\n  name: iris\n- kind: deployment\n  name: 3\n',
      [
        'cortex.yaml:3:9: [1].kind: only one kind: deployment entry per file, got another (the first is entry [0])',
        'cortex.yaml:4:9: [1].name: must be a string, got 3 (quote it: "3")',
      ],
    ],
  ])('GIVEN %s WHEN validated THEN %p', (_, head, expected) => {
    expect(problemsOf(head + API)).toEqual(expected);
  });

  test('GIVEN a deployment and no API WHEN validated THEN the file deploys nothing, and says so', () => {
    expect(problemsOf('- kind: deployment\n  name: iris\n')).toEqual([
      'cortex.yaml:1:1: must list at least one API; kind: deployment only names the deployment: add kind: api (or RealtimeAPI) entries',
    ]);
  });
});
