import { merged, predictorApi, predictorApiProblems, problemsOf, realtimeSpecOf } from './config-fixtures';

const P = '<props>: iris.predictor';

describe('predictor', () => {
  test('GIVEN only type and path WHEN read THEN every default applies', () => {
    expect(realtimeSpecOf(predictorApi()).predictor).toEqual({
      type: 'python',
      path: 'predictor.py',
      config: {},
      env: {},
      logLevel: 'info',
      dependencies: { pip: 'requirements.txt', conda: 'conda-packages.txt', shell: 'dependencies.sh' },
      processesPerReplica: 1,
      threadsPerProcess: 1,
    });
  });

  test('GIVEN every field WHEN read THEN each is kept', () => {
    const predictor = {
      type: 'tensorflow',
      path: 'predictor_yolo.py',
      config: { model_config: 'config.json', input_shape: [224, 224], nested: { a: null } },
      env: { TF_CPP_MIN_LOG_LEVEL: 3 },
      image: 'example/runtime:1',
      log_level: 'debug',
      dependencies: { pip: 'reqs.txt', conda: 'conda.txt', shell: 'setup.sh' },
      models: { path: 's3://bucket/yolov3/' },
      server_side_batching: { max_batch_size: 2, batch_interval: '0.2s' },
      processes_per_replica: 4,
      threads_per_process: 3,
      python_path: 'src',
      signature_key: 'serving_default',
      allow_debug: true,
    };
    expect(realtimeSpecOf(merged(predictorApi(), { predictor })).predictor).toEqual({
      type: 'tensorflow',
      path: 'predictor_yolo.py',
      config: { model_config: 'config.json', input_shape: [224, 224], nested: { a: null } },
      env: { TF_CPP_MIN_LOG_LEVEL: '3' },
      image: 'example/runtime:1',
      logLevel: 'debug',
      dependencies: { pip: 'reqs.txt', conda: 'conda.txt', shell: 'setup.sh' },
      models: { path: 's3://bucket/yolov3/' },
      serverSideBatching: { maxBatchSize: 2, batchIntervalSeconds: 0.2 },
      processesPerReplica: 4,
      threadsPerProcess: 3,
      pythonPath: 'src',
      signatureKey: 'serving_default',
      allowDebug: true,
    });
  });

  test('GIVEN allow_debug false WHEN read THEN it is kept (so that cortex local can tell it from absent)', () => {
    expect(realtimeSpecOf(merged(predictorApi(), { predictor: { allow_debug: false } })).predictor!.allowDebug).toBe(false);
    expect(realtimeSpecOf(predictorApi()).predictor!.allowDebug).toBeUndefined();
  });

  test('GIVEN allow_debug that is not a boolean in a cortex.yaml THEN the problem at its line and column', () => {
    const yaml = `- name: iris
  kind: RealtimeAPI
  predictor:
    type: python
    path: p.py
    allow_debug: "yes"
`;
    expect(problemsOf(yaml)).toEqual(['cortex.yaml:6:18: iris.predictor.allow_debug: must be true or false, got "yes"']);
  });

  test.each<[string, Record<string, unknown>, string[]]>([
    ['no type', { type: undefined }, [`${P}.type: required: one of python, tensorflow, onnx`]],
    ['type pytorch', { type: 'pytorch' }, [`${P}.type: must be one of python, tensorflow, onnx, got "pytorch"`]],
    ['no path', { path: undefined }, [`${P}.path: required`]],
    ['config as a list', { config: [1] }, [`${P}.config: must be a mapping, got a list`]],
    ['log_level verbose', { log_level: 'verbose' }, [`${P}.log_level: must be one of debug, info, warning, error, got "verbose"`]],
    ['processes_per_replica 1', { processes_per_replica: 1 }, []],
    ['processes_per_replica 0', { processes_per_replica: 0 }, [`${P}.processes_per_replica: must be an integer from 1 to 100, got 0`]],
    ['processes_per_replica 100', { processes_per_replica: 100 }, []],
    ['processes_per_replica 101', { processes_per_replica: 101 }, [`${P}.processes_per_replica: must be an integer from 1 to 100, got 101`]],
    ['threads_per_process 0', { threads_per_process: 0 }, [`${P}.threads_per_process: must be an integer from 1 to 10000, got 0`]],
    ['threads_per_process 10001', { threads_per_process: 10001 }, [`${P}.threads_per_process: must be an integer from 1 to 10000, got 10001`]],
    [
      'processes × threads above 30000',
      { processes_per_replica: 4, threads_per_process: 10000 },
      [`${P}.threads_per_process: processes_per_replica × threads_per_process must be <= 30000, got 4 × 10000 = 40000`],
    ],
    [
      'a dependency that is not a string',
      { dependencies: { pip: ['numpy'] } },
      [`${P}.dependencies.pip: must be a string, got a list`],
    ],
    [
      'tensorflow_serving_image',
      { type: 'tensorflow', models: { path: 'x' }, tensorflow_serving_image: 'tfs:1' },
      [`${P}.tensorflow_serving_image: tensorflow_serving_image is not supported yet by cortex-cdk; remove it (the runtime image is set with image)`],
    ],
    [
      'models on type python',
      { models: { path: 's3://m/' } },
      [`${P}.models: models is for types tensorflow and onnx; use multi_model_reloading for type python`],
    ],
    [
      'multi_model_reloading on type onnx',
      { type: 'onnx', multi_model_reloading: { path: 's3://m/' } },
      [`${P}.multi_model_reloading: multi_model_reloading is for type python; use models for type onnx`],
    ],
    ['no models on type tensorflow', { type: 'tensorflow' }, [`${P}.models: required for type tensorflow (the models to serve: path, paths or dir)`]],
    ['a signature_key on type python', { signature_key: 'k' }, [`${P}.signature_key: applies to type tensorflow only, not python`]],
    [
      "Cortex v0.25's model_path",
      { model_path: 's3://m/' },
      [`${P}.model_path: unknown field "model_path"; model_path is from Cortex v0.25 and earlier; use models.path (multi_model_reloading.path for type python)`],
    ],
    ['compute inside the predictor', { compute: {} }, [`${P}.compute: unknown field "compute"; compute belongs at the top level of the API, beside predictor`]],
    ['shm_size of 0', { shm_size: '0' }, [`${P}.shm_size: must be more than 0, got "0"`]],
    ['allow_debug 1', { allow_debug: 1 }, [`${P}.allow_debug: must be true or false, got 1`]],
    ['allow_debug misspelt', { allow_debugging: true }, [`${P}.allow_debugging: unknown field "allow_debugging"; did you mean "allow_debug"?`]],
  ])('GIVEN %s WHEN validated THEN %p', (_, predictor, expected) => {
    expect(predictorApiProblems({ predictor })).toEqual(expected);
  });

  test('GIVEN a config that refers to itself through an alias WHEN validated THEN it is rejected', () => {
    const yaml = `- name: iris
  kind: RealtimeAPI
  predictor:
    type: python
    path: p.py
    config: &self
      me: *self
`;
    expect(problemsOf(yaml)).toEqual([
      'cortex.yaml:7:7: iris.predictor.config: must not refer to itself through a YAML alias (it is passed to the predictor as JSON)',
    ]);
  });

  test('GIVEN a config object in code WHEN the caller changes it after validation THEN the spec keeps what was validated', () => {
    // GIVEN
    const config = { threshold: 0.5, labels: ['a', 'b'] };
    const spec = realtimeSpecOf([merged(predictorApi(), { predictor: { config } })]);
    // WHEN
    config.threshold = 0.9;
    config.labels.push('c');
    // THEN
    expect(spec.predictor!.config).toEqual({ threshold: 0.5, labels: ['a', 'b'] });
  });

  test('GIVEN a config in code that JSON cannot carry (a BigInt) WHEN validated THEN a problem, not a crash', () => {
    expect(predictorApiProblems({ predictor: { config: { big: BigInt(1) } } })).toEqual([
      `${P}.config: must be serializable as JSON (it is passed to the predictor as JSON): Do not know how to serialize a BigInt`,
    ]);
  });
});

describe('server_side_batching', () => {
  const S = `${P}.server_side_batching`;
  const batching = (serverSideBatching: unknown, threads = 1024) => ({
    threads_per_process: threads,
    server_side_batching: serverSideBatching,
  });

  test.each<[string, Record<string, unknown>, string[]]>([
    ['max_batch_size 2', batching({ max_batch_size: 2, batch_interval: '1ms' }), []],
    ['max_batch_size 1', batching({ max_batch_size: 1, batch_interval: '1s' }), [`${S}.max_batch_size: must be an integer from 2 to 1024, got 1`]],
    ['max_batch_size 1024', batching({ max_batch_size: 1024, batch_interval: '1s' }), []],
    ['max_batch_size 1025', batching({ max_batch_size: 1025, batch_interval: '1s' }), [`${S}.max_batch_size: must be an integer from 2 to 1024, got 1025`]],
    ['no max_batch_size', batching({ batch_interval: '1s' }), [`${S}.max_batch_size: required`]],
    ['no batch_interval', batching({ max_batch_size: 8 }), [`${S}.batch_interval: required`]],
    ['a batch_interval of 0s', batching({ max_batch_size: 8, batch_interval: '0s' }), [`${S}.batch_interval: must be longer than 0s, got "0s"`]],
    ['max_batch_size equal to threads_per_process', batching({ max_batch_size: 8, batch_interval: '0.1s' }, 8), []],
    [
      'max_batch_size above threads_per_process',
      batching({ max_batch_size: 9, batch_interval: '0.1s' }, 8),
      [`${S}.max_batch_size: must be <= threads_per_process (8), got 9; each request waiting in a batch holds one thread`],
    ],
  ])('GIVEN %s WHEN validated THEN %p', (_, predictor, expected) => {
    expect(predictorApiProblems({ predictor, autoscaling: { max_replica_concurrency: 2048 } })).toEqual(expected);
  });

  test('GIVEN batching WHEN read THEN the interval is in seconds', () => {
    const predictor = batching({ max_batch_size: 8, batch_interval: '100ms' }, 8);
    expect(realtimeSpecOf(merged(predictorApi(), { predictor })).predictor?.serverSideBatching).toEqual({
      maxBatchSize: 8,
      batchIntervalSeconds: 0.1,
    });
  });
});
