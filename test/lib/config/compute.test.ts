import { apiWithContainer, objectProblems, predictorApi, merged, realtimeSpecOf, problemsOf } from './config-fixtures';

const COMPUTE = '<props>: iris.pod.containers[0].compute';

function computeOf(compute: unknown) {
  return realtimeSpecOf(apiWithContainer({ compute })).pod.containers[0].compute;
}

function computeProblems(compute: unknown): string[] {
  return objectProblems([apiWithContainer({ compute })]);
}

describe('compute', () => {
  test('GIVEN no compute WHEN read THEN the container asks for 200m CPU, no memory, no GPU, no Inferentia', () => {
    expect(computeOf(undefined)).toEqual({ cpu: '200m', gpu: 0, inf: 0 });
    expect(computeOf(null)).toEqual({ cpu: '200m', gpu: 0, inf: 0 });
    expect(computeOf({})).toEqual({ cpu: '200m', gpu: 0, inf: 0 });
  });

  test('GIVEN cpu: null WHEN read THEN there is no CPU request at all', () => {
    expect(computeOf({ cpu: null })).toEqual({ gpu: 0, inf: 0 });
  });

  test('GIVEN YAML numbers WHEN read THEN they are kept as quantity strings', () => {
    expect(computeOf({ cpu: 1, mem: 1073741824 })).toEqual({ cpu: '1', mem: '1073741824', gpu: 0, inf: 0 });
    expect(computeOf({ cpu: 0.2 }).cpu).toBe('0.2');
  });

  test('GIVEN every field WHEN read THEN each is kept', () => {
    expect(computeOf({ cpu: '3', mem: '2.5Gi', gpu: 1, shm: '1Gi' })).toEqual({ cpu: '3', mem: '2.5Gi', gpu: 1, inf: 0, shm: '1Gi' });
  });

  test.each<[string, unknown, string[]]>([
    ['cpu at its minimum', { cpu: '20m' }, []],
    ['cpu at its minimum as a number', { cpu: 0.02 }, []],
    ['cpu just below', { cpu: '19m' }, [`${COMPUTE}.cpu: must be at least 20m, got "19m"`]],
    ['cpu not a quantity', { cpu: 'two' }, [`${COMPUTE}.cpu: must be a Kubernetes quantity such as 200m, 0.5 or 2, got "two"`]],
    ['mem at its minimum', { mem: '20Mi' }, []],
    ['mem just below, in bytes', { mem: 20971519 }, [`${COMPUTE}.mem: must be at least 20Mi, got 20971519`]],
    ['mem in decimal units just below', { mem: '20M' }, [`${COMPUTE}.mem: must be at least 20Mi, got "20M"`]],
    ['mem not a quantity', { mem: '2GB' }, [`${COMPUTE}.mem: must be a Kubernetes quantity such as 512Mi, 2G or 2.5Gi, got "2GB"`]],
    ['gpu at 0', { gpu: 0 }, []],
    ['gpu below 0', { gpu: -1 }, [`${COMPUTE}.gpu: must be an integer >= 0, got -1`]],
    ['gpu fractional', { gpu: 0.5 }, [`${COMPUTE}.gpu: must be an integer >= 0, got 0.5`]],
    ['inf below 0', { inf: -1 }, [`${COMPUTE}.inf: must be an integer >= 0, got -1`]],
    ['shm equal to mem', { mem: '1Gi', shm: '1Gi' }, []],
    ['shm above mem', { mem: '1Gi', shm: '1025Mi' }, [`${COMPUTE}.shm: must be <= mem (1Gi), got "1025Mi"`]],
    ['shm without mem', { shm: '64Gi' }, []],
    ['shm of 0', { shm: 0 }, [`${COMPUTE}.shm: must be more than 0, got 0`]],
    ['a misspelt key', { memory: '1Gi' }, [`${COMPUTE}.memory: unknown field "memory"; did you mean "mem"?`]],
    ['not a mapping', '1', [`${COMPUTE}: must be a mapping, got "1"`]],
  ])('GIVEN %s WHEN validated THEN %p', (_, compute, expected) => {
    expect(computeProblems(compute)).toEqual(expected);
  });
});

describe('gpu and inf in one pod', () => {
  test('GIVEN one container with gpu and another with inf WHEN validated THEN both are named', () => {
    const api = merged(apiWithContainer({}), {
      pod: {
        containers: [
          { name: 'api', image: 'a', compute: { gpu: 1 } },
          { name: 'rtd', image: 'b', compute: { inf: 1 } },
        ],
      },
    });
    expect(objectProblems([api])).toEqual([
      '<props>: iris.pod.containers[1].compute.inf: gpu and inf cannot both be > 0 in one pod (containers[0] asks for gpu 1, containers[1] for inf 1)',
    ]);
  });

  test('GIVEN one container with both WHEN validated THEN it is reported at inf', () => {
    expect(computeProblems({ gpu: 2, inf: 1 })).toEqual([
      `${COMPUTE}.inf: gpu and inf cannot both be > 0 in one pod (containers[0] asks for gpu 2 and inf 1)`,
    ]);
  });

  test('GIVEN inf first and gpu later WHEN validated from YAML THEN it is reported at the gpu, which comes second', () => {
    const yaml = `- name: iris
  kind: RealtimeAPI
  pod:
    containers:
      - name: a
        image: a
        compute: {inf: 1}
      - name: b
        image: b
        compute: {gpu: 1}
`;
    expect(problemsOf(yaml)).toEqual([
      'cortex.yaml:10:24: iris.pod.containers[1].compute.gpu: gpu and inf cannot both be > 0 in one pod (containers[1] asks for gpu 1, containers[0] for inf 1)',
    ]);
  });

  test('GIVEN the predictor form with both WHEN validated THEN the top-level compute is named', () => {
    expect(objectProblems([merged(predictorApi(), { compute: { gpu: 1, inf: 1 } })])).toEqual([
      '<props>: iris.compute.inf: gpu and inf cannot both be > 0 in one pod (compute asks for gpu 1 and inf 1)',
    ]);
  });

  test('GIVEN gpu in one container and none elsewhere WHEN validated THEN it is fine', () => {
    expect(computeProblems({ gpu: 4 })).toEqual([]);
  });
});
