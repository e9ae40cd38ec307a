import { PREDICTOR_RUNTIME_PORT, PYTHON_PREDICTOR_IMAGE_PLACEHOLDER } from '../../../constructs/names';
import { merged, predictorApi, predictorApiProblems, problemsOf, realtimeSpecOf } from './config-fixtures';

describe('a predictor-form API', () => {
  test('GIVEN the minimal predictor form WHEN read THEN it runs the Python runtime in one container named api', () => {
    const spec = realtimeSpecOf(predictorApi());
    expect(spec).toEqual({
      kind: 'RealtimeAPI',
      name: 'iris',
      pod: {
        port: PREDICTOR_RUNTIME_PORT,
        maxConcurrency: 1,
        maxQueueLength: 1023,
        containers: [
          {
            name: 'api',
            image: PYTHON_PREDICTOR_IMAGE_PLACEHOLDER,
            env: {},
            compute: { cpu: '200m', gpu: 0, inf: 0 },
            readinessProbe: {
              handler: { type: 'http_get', port: 8080, path: '/healthz' },
              initialDelaySeconds: 0,
              timeoutSeconds: 1,
              periodSeconds: 10,
              successThreshold: 1,
              failureThreshold: 3,
            },
          },
        ],
      },
      predictor: expect.objectContaining({ type: 'python', path: 'predictor.py' }),
      autoscaling: expect.objectContaining({ minReplicas: 1, targetInFlight: 1 }),
      updateStrategy: { maxSurge: '25%', maxUnavailable: '25%' },
      networking: { endpoint: '/iris', timeoutSeconds: 600 },
      source: { file: '<props>', line: 0, column: 0 },
    });
  });

  test('GIVEN an image, env, compute and shm_size WHEN read THEN the runtime container carries them', () => {
    const spec = realtimeSpecOf(
      merged(predictorApi(), {
        predictor: { image: 'example/runtime:2', env: { MODEL: 'resnet' }, shm_size: '1Gi' },
        compute: { cpu: 1, gpu: 1, mem: '4G' },
        node_groups: ['gpu'],
        tracker: { model_type: 'classification' },
      }),
    );
    expect(spec.pod.containers[0]).toMatchObject({
      image: 'example/runtime:2',
      env: { MODEL: 'resnet' },
      compute: { cpu: '1', gpu: 1, inf: 0, mem: '4G', shm: '1Gi' },
    });
    expect(spec.predictor?.env).toEqual({ MODEL: 'resnet' });
    expect(spec.nodeGroups).toEqual(['gpu']);
    expect(spec.tracker).toEqual({ modelType: 'classification' });
  });

  test('GIVEN handler instead of predictor WHEN read THEN it is the same', () => {
    const { predictor, ...rest } = predictorApi();
    expect(realtimeSpecOf({ ...rest, handler: predictor }).predictor).toEqual(realtimeSpecOf(predictorApi()).predictor);
  });

  test.each<[string, Record<string, unknown>, string[]]>([
    ['shm_size at mem', { predictor: { shm_size: '1Gi' }, compute: { mem: '1Gi' } }, []],
    [
      'shm_size above mem',
      { predictor: { shm_size: '2Gi' }, compute: { mem: '1Gi' } },
      ['<props>: iris.predictor.shm_size: must be <= mem (1Gi), got "2Gi"'],
    ],
    [
      'shm_size and compute.shm',
      { predictor: { shm_size: '1Gi' }, compute: { shm: '1Gi' } },
      ['<props>: iris.predictor.shm_size: cannot be used together with compute.shm (1Gi); keep compute.shm'],
    ],
    [
      'both predictor and handler',
      { handler: { type: 'python', path: 'p.py' } },
      ['<props>: iris.handler: cannot be used together with predictor (handler is its later name); keep one'],
    ],
    ['a compute problem', { compute: { cpu: '10m' } }, ['<props>: iris.compute.cpu: must be at least 20m, got "10m"']],
    [
      'containers at the top level',
      { containers: [] },
      ['<props>: iris.containers: unknown field "containers"; containers belongs to the container form (pod.containers); the predictor form runs predictor.path'],
    ],
  ])('GIVEN %s WHEN validated THEN %p', (_, overrides, expected) => {
    expect(predictorApiProblems(overrides)).toEqual(expected);
  });

  test('GIVEN the published predictor-form shapes WHEN validated THEN they pass', () => {
    const yaml = `# Predictor-era APIs, as Cortex v0.30 wrote them.
- name: document-denoiser
  kind: RealtimeAPI
  predictor:
    type: python
    path: predictor.py
    config:
      model: s3://bucket/keras/model.h5
      resize_shape: [540, 260]
  compute:
    cpu: 1

- name: mpg-estimator
  kind: RealtimeAPI
  predictor:
    type: python
    path: predictor.py
    multi_model_reloading:
      paths:
        - name: mpg-estimator
          path: s3://bucket/sklearn/mpg-estimator/linreg/
      cache_size: 1
      disk_cache_size: 2

- name: iris-classifier
  kind: RealtimeAPI
  predictor:
    type: python
    path: predictor.py
    server_side_batching:
      max_batch_size: 8
      batch_interval: 0.1s
    threads_per_process: 8
  compute:
    cpu: 0.2
    mem: 200M

- name: multi-model-classifier
  kind: RealtimeAPI
  predictor:
    type: onnx
    path: predictor.py
    models:
      paths:
        - name: resnet50
          path: s3://bucket/onnx/resnet50/
        - name: mobilenet
          path: s3://bucket/onnx/mobilenet/
      cache_size: 2
      disk_cache_size: 3
  compute:
    mem: 2G

- name: image-classifier-resnet50
  kind: RealtimeAPI
  predictor:
    type: tensorflow
    path: predictor.py
    models:
      path: s3://bucket/tensorflow/resnet50_neuron/
    server_side_batching:
      max_batch_size: 5
      batch_interval: 0.1s
    processes_per_replica: 4
    threads_per_process: 260
  compute:
    inf: 1
    cpu: 3
    mem: 4G
  autoscaling:
    max_replica_concurrency: 16384

- name: sound-classifier
  kind: RealtimeAPI
  predictor:
    type: tensorflow
    path: predictor.py
    signature_key: serving_default
    models:
      path: s3://bucket/tensorflow/yamnet/
      signature_key: serving_default
  compute:
    cpu: 1
    gpu: 1 # optional
    mem: 2.5G
  autoscaling:
    min_replicas: 2
    max_replicas: 2
`;
    expect(problemsOf(yaml)).toEqual([]);
  });
});
