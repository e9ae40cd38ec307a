import { containerApi, objectProblems, problemsOf } from './config-fixtures';

describe('choosing the form of a RealtimeAPI', () => {
  test('GIVEN neither pod nor predictor WHEN validated THEN one is asked for, at the API', () => {
    expect(objectProblems([{ name: 'iris', kind: 'RealtimeAPI' }])).toEqual([
      '<props>: iris: needs pod (the container form: pod.containers) or predictor (the predictor form: predictor.type and predictor.path)',
    ]);
  });

  test('GIVEN both pod and predictor WHEN validated THEN the predictor is named, and the pod still checked', () => {
    const yaml = `- name: iris
  kind: RealtimeAPI
  pod:
    containers: [{name: api, image: a}]
  predictor:
    type: python
    path: p.py
  compute: {cpu: 1}
`;
    expect(problemsOf(yaml)).toEqual([
      'cortex.yaml:5:3: iris.predictor: cannot be used together with pod: pod is the container form (Cortex v0.42), predictor the predictor form (Cortex v0.30); use one',
    ]);
  });

  test('GIVEN pod written with no value beside a predictor WHEN validated THEN the predictor form, and pod named as not part of it', () => {
    const yaml = `- name: iris
  kind: RealtimeAPI
  pod: null
  predictor: {type: python, path: p.py}
`;
    expect(problemsOf(yaml)).toEqual([
      'cortex.yaml:3:3: iris.pod: unknown field "pod"; allowed fields: name, kind, predictor, handler, compute, autoscaling, tracker, networking, node_groups, update_strategy, iam_policy_arns, read_apis',
    ]);
  });

  test('GIVEN only an empty pod WHEN validated THEN one form is asked for, as when neither is written', () => {
    expect(objectProblems([{ name: 'iris', kind: 'RealtimeAPI', pod: null }])).toEqual([
      '<props>: iris: needs pod (the container form: pod.containers) or predictor (the predictor form: predictor.type and predictor.path)',
    ]);
  });

  test('GIVEN both pod and handler WHEN validated THEN handler is named', () => {
    expect(objectProblems([{ ...containerApi(), handler: { type: 'python', path: 'p.py' } }])).toEqual([
      '<props>: iris.handler: cannot be used together with pod: pod is the container form (Cortex v0.42), handler the predictor form (Cortex v0.30); use one',
    ]);
  });
});
