import { containerApi, containerApiProblems, problemsOf, realtimeSpecOf } from './config-fixtures';
import { parseConfig } from '../../../lib/config';

describe('a container-form API', () => {
  test('GIVEN the minimal container form WHEN read THEN every section has its defaults', () => {
    expect(realtimeSpecOf(containerApi())).toEqual({
      kind: 'RealtimeAPI',
      name: 'iris',
      pod: {
        port: 8080,
        maxConcurrency: 1,
        maxQueueLength: 100,
        containers: [{ name: 'api', image: 'iris:1', env: {}, compute: { cpu: '200m', gpu: 0, inf: 0 } }],
      },
      autoscaling: {
        minReplicas: 1,
        maxReplicas: 100,
        initReplicas: 1,
        targetInFlight: 1,
        windowSeconds: 60,
        downscaleStabilizationPeriodSeconds: 300,
        upscaleStabilizationPeriodSeconds: 60,
        maxDownscaleFactor: 0.75,
        maxUpscaleFactor: 1.5,
        downscaleTolerance: 0.05,
        upscaleTolerance: 0.05,
      },
      updateStrategy: { maxSurge: '25%', maxUnavailable: '25%' },
      networking: { endpoint: '/iris', timeoutSeconds: 600 },
      source: { file: '<props>', line: 0, column: 0 },
    });
  });

  test('GIVEN an Inferentia API with a runtime sidecar WHEN parsed THEN both containers are in the pod', () => {
    const yaml = `- name: image-classifier-resnet50
  kind: RealtimeAPI
  pod:
    port: 9000
    max_concurrency: 8
    containers:
    - name: api
      image: example/neuron-tf-serving:1
      command: ["/usr/local/bin/tensorflow_model_server_neuron"]
      args:
        - --port=8500
        - --rest_api_port=9000
      env:
        S3_USE_HTTPS: "1"
        NEURON_RTD_ADDRESS: unix:/mnt/neuron.sock
    - name: rtd
      image: example/neuron-rtd:1
      command: ["neuron-rtd", "-g", "$(NEURON_RTD_ADDRESS)", "--log-console"]
      compute:
        inf: 1
      env:
        NEURON_RTD_ADDRESS: unix:/mnt/neuron.sock
`;
    const spec = parseConfig(yaml, 'cortex.yaml').apis[0];
    expect(spec.pod).toMatchObject({ port: 9000, maxConcurrency: 8, maxQueueLength: 100 });
    expect(spec.pod.containers.map((c) => [c.name, c.compute])).toEqual([
      ['api', { cpu: '200m', gpu: 0, inf: 0 }],
      ['rtd', { cpu: '200m', gpu: 0, inf: 1 }],
    ]);
    expect(spec.pod.containers[0].env).toEqual({ S3_USE_HTTPS: '1', NEURON_RTD_ADDRESS: 'unix:/mnt/neuron.sock' });
    expect(spec.autoscaling.targetInFlight).toBe(8);
    expect(spec.source).toEqual({ file: 'cortex.yaml', line: 1, column: 3 });
  });

  test('GIVEN a GPU API with an exec probe WHEN parsed THEN the probe and the GPU are kept', () => {
    const yaml = `- name: text-generator
  kind: RealtimeAPI
  pod:
    port: 8501
    containers:
    - name: api
      image: example/text-generator-gpu:1
      env:
        TARGET_DEVICE: "cuda"
      readiness_probe:
        exec:
          command: ["tfs_model_status_probe", "-addr", "localhost:8500"]
      compute:
        cpu: 1
        gpu: 1
        mem: 512Mi
`;
    const container = parseConfig(yaml, 'cortex.yaml').apis[0].pod.containers[0];
    expect(container.compute).toEqual({ cpu: '1', gpu: 1, inf: 0, mem: '512Mi' });
    expect(container.readinessProbe?.handler).toEqual({ type: 'exec', command: ['tfs_model_status_probe', '-addr', 'localhost:8500'] });
  });

  test.each<[string, Record<string, unknown>, string[]]>([
    [
      'compute at the top level',
      { compute: { cpu: 1 } },
      ['<props>: iris.compute: unknown field "compute"; in the container form, compute belongs to each container (pod.containers[i].compute)'],
    ],
    [
      'a tracker',
      { tracker: { model_type: 'regression' } },
      ['<props>: iris.tracker: unknown field "tracker"; tracker belongs to the predictor form (predictor:); the container form has none'],
    ],
    ['an endpoint at the top level', { endpoint: '/x' }, ['<props>: iris.endpoint: unknown field "endpoint"; endpoint belongs under networking (networking.endpoint)']],
    ['apis', { apis: [] }, ['<props>: iris.apis: unknown field "apis"; apis belongs to kind TrafficSplitter']],
    ['a misspelt section', { autoscalling: {} }, ['<props>: iris.autoscalling: unknown field "autoscalling"; did you mean "autoscaling"?']],
  ])('GIVEN %s WHEN validated THEN %p', (_, overrides, expected) => {
    expect(containerApiProblems(overrides)).toEqual(expected);
  });

  test('GIVEN comments and flow style WHEN parsed THEN they make no difference', () => {
    const yaml = `# an API
- {name: iris, kind: RealtimeAPI, pod: {containers: [{name: api, image: "iris:1"}]}}  # inline
`;
    expect(problemsOf(yaml)).toEqual([]);
  });
});
