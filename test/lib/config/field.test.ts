import { Field, ValidationContext } from '../../../lib/config/field';
import { readYamlSource } from '../../../lib/config/yaml-source';
import { formatProblem } from '../../../lib/config/errors';

describe('ValidationContext', () => {
  test('GIVEN an API with a label WHEN a path is displayed THEN the label replaces its index', () => {
    const context = new ValidationContext('cortex.yaml', readYamlSource('').locator);
    context.setApiLabel(0, 'iris');
    expect(context.displayPath([0, 'pod', 'containers', 1, 'image'])).toBe('iris.pod.containers[1].image');
    expect(context.displayPath([1, 'name'])).toBe('[1].name');
    expect(context.displayPath([])).toBe('');
  });
});

describe('Field', () => {
  const yaml = '- name: iris\n  pod:\n    port: abc\n    containers:\n      - name: api\n        image:\n';
  const problemsFor = (act: (entry: Field) => void): string[] => {
    const source = readYamlSource(yaml);
    const context = new ValidationContext('cortex.yaml', source.locator);
    context.setApiLabel(0, 'iris');
    act(Field.root(context, source.value).child(0));
    return context.problems.map(formatProblem);
  };

  test('GIVEN a child WHEN read THEN it knows its value, whether it is written, and its key', () => {
    const source = readYamlSource(yaml);
    const entry = Field.root(new ValidationContext('f', source.locator), source.value).child(0);
    const image = entry.child('pod').child('containers').child(0).child('image');
    expect(image).toMatchObject({ value: null, exists: true, isSet: false, key: 'image' });
    expect(entry.child('autoscaling')).toMatchObject({ value: undefined, exists: false, isSet: false });
    expect(entry.child('pod').child('containers').child(5).exists).toBe(false);
    expect(entry.child('name').child('x').exists).toBe(false);
  });

  test('GIVEN a problem with a value WHEN reported THEN it points at the value', () => {
    expect(problemsFor((e) => e.child('pod').child('port').problem('bad'))).toEqual(['cortex.yaml:3:11: iris.pod.port: bad']);
  });

  test('GIVEN a problem with a key WHEN reported THEN it points at the key', () => {
    expect(problemsFor((e) => e.child('pod').child('port').keyProblem('bad'))).toEqual(['cortex.yaml:3:5: iris.pod.port: bad']);
  });

  test('GIVEN a missing field WHEN reported THEN it points at the mapping that lacks it', () => {
    expect(problemsFor((e) => e.child('pod').child('containers').child(0).child('command').missing())).toEqual([
      'cortex.yaml:5:9: iris.pod.containers[0].command: required',
    ]);
  });

  test('GIVEN a field written with no value WHEN reported missing THEN it points at its key', () => {
    expect(problemsFor((e) => e.child('pod').child('containers').child(0).child('image').missing())).toEqual([
      'cortex.yaml:6:9: iris.pod.containers[0].image: required',
    ]);
  });

  test('GIVEN a key that is also an Object.prototype member WHEN read THEN only own keys count', () => {
    const context = new ValidationContext('f', readYamlSource('').locator);
    expect(new Field(context, [], {}, true).child('toString').exists).toBe(false);
  });
});
