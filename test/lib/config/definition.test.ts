import {
  ApiDefinition,
  ApiSpec,
  ConfigError,
  configFromDefinitions,
  formatProblem,
  parseConfig,
  PreStop,
  Probe,
  ProbeDefinition,
  realtimeApiSpec,
  RealtimeApiDefinition,
  validateConfig,
} from '../../../lib/config';
import type {
  AutoscalingDefinition,
  ComputeDefinition,
  ContainerDefinition,
  DependenciesDefinition,
  ExecDefinition,
  HttpGetDefinition,
  ModelPathDefinition,
  PreStopDefinition,
  ServerSideBatchingDefinition,
  TcpSocketDefinition,
  TrackerDefinition,
  TrafficSplitterTargetDefinition,
  ModelsDefinition,
  NetworkingDefinition,
  AuthDefinition,
  ApiKeysDefinition,
  PodDefinition,
  PredictorDefinition,
  TrafficSplitterDefinition,
  UpdateStrategyDefinition,
} from '../../../lib/config';
import { PREDICTOR_AUTOSCALING_KEYS } from '../../../lib/config/autoscaling';
import { COMPUTE_KEYS } from '../../../lib/config/compute';
import { CONTAINER_API_KEYS } from '../../../lib/config/container-api';
import { MODEL_PATH_KEYS, MODELS_KEYS } from '../../../lib/config/models';
import { API_KEYS_KEYS, AUTH_KEYS, NETWORKING_KEYS } from '../../../lib/config/networking';
import { CONTAINER_KEYS, POD_KEYS } from '../../../lib/config/pod';
import { DEPENDENCIES_KEYS, PREDICTOR_KEYS, SERVER_SIDE_BATCHING_KEYS } from '../../../lib/config/predictor';
import { EXEC_KEYS, HTTP_GET_KEYS, PRE_STOP_HANDLERS, PROBE_HANDLERS, PROBE_TIMING_KEYS, TCP_SOCKET_KEYS } from '../../../lib/config/probes';
import { PREDICTOR_API_KEYS } from '../../../lib/config/predictor-api';
import { SPLITTER_TARGET_KEYS, TRAFFIC_SPLITTER_KEYS } from '../../../lib/config/traffic-splitter';
import { TRACKER_KEYS } from '../../../lib/config/tracker';
import { UPDATE_STRATEGY_KEYS } from '../../../lib/config/update-strategy';
import { FILE } from './config-fixtures';

/** A spec without where it came from: a file's entry and a definition differ there only. */
function withoutSource(spec: ApiSpec): Omit<ApiSpec, 'source'> {
  const { source: _source, ...rest } = spec;
  return rest;
}

/** The specs of a cortex.yaml's text, without their source. */
function specsOfYaml(yaml: string): Omit<ApiSpec, 'source'>[] {
  const result = validateConfig(yaml, FILE);
  expect(result.problems.map(formatProblem)).toEqual([]);
  return parseConfig(yaml, FILE).specs.map(withoutSource);
}

/** The specs of definitions, without their source (which names no file). */
function specsOfDefinitions(definitions: ApiDefinition[]): Omit<ApiSpec, 'source'>[] {
  const config = configFromDefinitions(definitions);
  for (const spec of config.specs) expect(spec.source).toEqual({ file: '<props>', line: 0, column: 0 });
  return config.specs.map(withoutSource);
}

/** The problem lines a definition's ConfigError lists; fails when it is valid. */
function problemsOf(definitions: unknown[]): string[] {
  try {
    configFromDefinitions(definitions as ApiDefinition[]);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).problems.map(formatProblem);
  }
  throw new Error('expected a ConfigError');
}

const CONTAINER_YAML = `- name: text-generator
  kind: RealtimeAPI
  pod:
    port: 9000
    max_concurrency: 4
    max_queue_length: 64
    containers:
      - name: api
        image: quay.io/example/text-generator:1
        command: [python, -m, server]
        args: ["--port", "9000"]
        env:
          MY_VAR_Name: "a"
          max_surge: "not a field"
          some.dotted-name: "1"
          A_NUMBER: 7
          A_FLAG: true
        compute: {cpu: "1", mem: 2Gi, gpu: 1, inf: 0, shm: 512Mi}
        readiness_probe:
          http_get: {port: 9000, path: /healthz}
          initial_delay_seconds: 5
          timeout_seconds: 2
          period_seconds: 7
          success_threshold: 2
          failure_threshold: 4
        liveness_probe:
          tcp_socket: {port: 9000}
          period_seconds: 30
        startup_probe:
          http_get: {port: 9000, path: /healthz}
          period_seconds: 5
          failure_threshold: 120
        pre_stop:
          http_get: {port: 9000, path: /drain}
      - name: sidecar
        image: busybox:1.36
        command: [sh, -c, "sleep infinity"]
        compute: {cpu: null, mem: 64Mi}
        readiness_probe:
          exec: {command: [cat, /tmp/ready]}
        liveness_probe:
          exec: {command: [cat, /tmp/alive]}
          failure_threshold: 10
        pre_stop:
          exec: {command: [sh, -c, "sleep 5"]}
  autoscaling:
    min_replicas: 2
    max_replicas: 20
    init_replicas: 3
    target_in_flight: 2.5
    window: 30s
    downscale_stabilization_period: 10m
    upscale_stabilization_period: 0s
    max_downscale_factor: 0.5
    max_upscale_factor: 3
    downscale_tolerance: 0.1
    upscale_tolerance: 0.2
  update_strategy: {max_surge: 1, max_unavailable: "0%"}
  networking: {endpoint: /generate/v1, timeout: 2m}
  node_groups: [gpu, gpu-spot]
`;

const CONTAINER_DEFINITION: RealtimeApiDefinition = {
  name: 'text-generator',
  pod: {
    port: 9000,
    maxConcurrency: 4,
    maxQueueLength: 64,
    containers: [
      {
        name: 'api',
        image: 'quay.io/example/text-generator:1',
        command: ['python', '-m', 'server'],
        args: ['--port', '9000'],
        env: { MY_VAR_Name: 'a', max_surge: 'not a field', 'some.dotted-name': '1', A_NUMBER: 7, A_FLAG: true },
        compute: { cpu: '1', mem: '2Gi', gpu: 1, inf: 0, shm: '512Mi' },
        readinessProbe: Probe.httpGet({
          port: 9000,
          path: '/healthz',
          initialDelaySeconds: 5,
          timeoutSeconds: 2,
          periodSeconds: 7,
          successThreshold: 2,
          failureThreshold: 4,
        }),
        livenessProbe: Probe.tcpSocket({ port: 9000, periodSeconds: 30 }),
        startupProbe: Probe.httpGet({ port: 9000, path: '/healthz', periodSeconds: 5, failureThreshold: 120 }),
        preStop: PreStop.httpGet({ port: 9000, path: '/drain' }),
      },
      {
        name: 'sidecar',
        image: 'busybox:1.36',
        command: ['sh', '-c', 'sleep infinity'],
        compute: { cpu: null, mem: '64Mi' },
        readinessProbe: Probe.exec({ command: ['cat', '/tmp/ready'] }),
        livenessProbe: Probe.of({ exec: { command: ['cat', '/tmp/alive'] }, failureThreshold: 10 }),
        preStop: PreStop.exec({ command: ['sh', '-c', 'sleep 5'] }),
      },
    ],
  },
  autoscaling: {
    minReplicas: 2,
    maxReplicas: 20,
    initReplicas: 3,
    targetInFlight: 2.5,
    window: '30s',
    downscaleStabilizationPeriod: '10m',
    upscaleStabilizationPeriod: '0s',
    maxDownscaleFactor: 0.5,
    maxUpscaleFactor: 3,
    downscaleTolerance: 0.1,
    upscaleTolerance: 0.2,
  },
  updateStrategy: { maxSurge: 1, maxUnavailable: '0%' },
  networking: { endpoint: '/generate/v1', timeout: '2m' },
  nodeGroups: ['gpu', 'gpu-spot'],
};

const PREDICTOR_YAML = `- name: sentiment
  kind: RealtimeAPI
  predictor:
    type: python
    path: src/predictor.py
    config:
      someKey: 1
      some_key: {nested_key: [a, b], deeperKey: {max_replicas: 3}}
    env: {MY_VAR_Name: "x", log_level: debug}
    image: example.com/runtime:2
    log_level: warning
    dependencies: {pip: reqs.txt, conda: conda.txt, shell: setup.sh}
    multi_model_reloading:
      paths:
        - {name: small, path: s3://models/small}
        - {name: large, path: s3://models/large}
      cache_size: 1
      disk_cache_size: 2
    server_side_batching: {max_batch_size: 8, batch_interval: 100ms}
    processes_per_replica: 2
    threads_per_process: 8
    shm_size: 256Mi
    python_path: src
  compute: {cpu: 2, mem: 4G, inf: 1}
  autoscaling: {min_replicas: 0, max_replica_concurrency: 64, target_replica_concurrency: 12}
  tracker: {key: label, model_type: classification}
  node_groups: [neuron]
`;

const PREDICTOR_DEFINITION: RealtimeApiDefinition = {
  name: 'sentiment',
  predictor: {
    type: 'python',
    path: 'src/predictor.py',
    config: { someKey: 1, some_key: { nested_key: ['a', 'b'], deeperKey: { max_replicas: 3 } } },
    env: { MY_VAR_Name: 'x', log_level: 'debug' },
    image: 'example.com/runtime:2',
    logLevel: 'warning',
    dependencies: { pip: 'reqs.txt', conda: 'conda.txt', shell: 'setup.sh' },
    multiModelReloading: {
      paths: [
        { name: 'small', path: 's3://models/small' },
        { name: 'large', path: 's3://models/large' },
      ],
      cacheSize: 1,
      diskCacheSize: 2,
    },
    serverSideBatching: { maxBatchSize: 8, batchInterval: '100ms' },
    processesPerReplica: 2,
    threadsPerProcess: 8,
    shmSize: '256Mi',
    pythonPath: 'src',
  },
  compute: { cpu: '2', mem: '4G', inf: 1 },
  autoscaling: { minReplicas: 0, maxReplicaConcurrency: 64, targetReplicaConcurrency: 12 },
  tracker: { key: 'label', modelType: 'classification' },
  nodeGroups: ['neuron'],
};

const SPLITTER_YAML = `- name: greeter-v1
  kind: RealtimeAPI
  pod: {containers: [{name: api, image: "greeter:1"}]}
- name: greeter-v2
  kind: RealtimeAPI
  pod: {containers: [{name: api, image: "greeter:2"}]}
- name: greeter-next
  kind: RealtimeAPI
  handler: {type: onnx, path: predictor.py, models: {dir: s3://models/greeter}}
- name: greeter
  kind: TrafficSplitter
  networking: {endpoint: /greet, timeout: 30s}
  apis:
    - {name: greeter-v1, weight: 80}
    - {name: greeter-v2, weight: 20, shadow: false}
    - {name: greeter-next, weight: 50, shadow: true}
`;

const SPLITTER_DEFINITIONS: ApiDefinition[] = [
  { name: 'greeter-v1', pod: { containers: [{ name: 'api', image: 'greeter:1' }] } },
  { name: 'greeter-v2', kind: 'RealtimeAPI', pod: { containers: [{ name: 'api', image: 'greeter:2' }] } },
  { name: 'greeter-next', handler: { type: 'onnx', path: 'predictor.py', models: { dir: 's3://models/greeter' } } },
  {
    name: 'greeter',
    kind: 'TrafficSplitter',
    networking: { endpoint: '/greet', timeout: '30s' },
    apis: [
      { name: 'greeter-v1', weight: 80 },
      { name: 'greeter-v2', weight: 20, shadow: false },
      { name: 'greeter-next', weight: 50, shadow: true },
    ],
  },
];

describe('definitions and cortex.yaml: the same API gives the same spec', () => {
  test('GIVEN a container-form API with two containers, env, compute, probes, pre_stop, autoscaling, update strategy, networking and node groups THEN the spec of its cortex.yaml', () => {
    // WHEN
    const spec = realtimeApiSpec(CONTAINER_DEFINITION);
    // THEN
    expect([withoutSource(spec)]).toStrictEqual(specsOfYaml(CONTAINER_YAML));
    expect(spec.pod.containers[0].env).toStrictEqual({
      MY_VAR_Name: 'a',
      max_surge: 'not a field',
      'some.dotted-name': '1',
      A_NUMBER: '7',
      A_FLAG: 'true',
    });
    expect(spec.pod.containers[1].compute).toStrictEqual({ mem: '64Mi', gpu: 0, inf: 0 });
    expect(spec.pod.containers[1].preStop).toStrictEqual({ type: 'exec', command: ['sh', '-c', 'sleep 5'] });
    expect(spec.autoscaling).toMatchObject({ targetInFlight: 2.5, windowSeconds: 30, downscaleStabilizationPeriodSeconds: 600 });
    expect(spec.updateStrategy).toStrictEqual({ maxSurge: 1, maxUnavailable: '0%' });
    expect(spec.networking).toStrictEqual({ endpoint: '/generate/v1', timeoutSeconds: 120 });
  });

  test('GIVEN a predictor-form API with config, env, dependencies, batching and multi-model reloading THEN the spec of its cortex.yaml, config and env keys unchanged', () => {
    // WHEN
    const spec = realtimeApiSpec(PREDICTOR_DEFINITION);
    // THEN
    expect([withoutSource(spec)]).toStrictEqual(specsOfYaml(PREDICTOR_YAML));
    expect(spec.predictor?.config).toStrictEqual({ someKey: 1, some_key: { nested_key: ['a', 'b'], deeperKey: { max_replicas: 3 } } });
    expect(spec.predictor?.env).toStrictEqual({ MY_VAR_Name: 'x', log_level: 'debug' });
    expect(spec.pod).toMatchObject({ maxConcurrency: 16, maxQueueLength: 48 });
    expect(spec.pod.containers[0].compute).toStrictEqual({ cpu: '2', mem: '4G', gpu: 0, inf: 1, shm: '256Mi' });
    expect(spec.predictor?.serverSideBatching).toStrictEqual({ maxBatchSize: 8, batchIntervalSeconds: 0.1 });
    expect(spec.tracker).toStrictEqual({ key: 'label', modelType: 'classification' });
  });

  test('GIVEN a tensorflow predictor with models, signature keys and target_in_flight THEN the spec of its cortex.yaml', () => {
    const yaml = `- name: resnet
  kind: RealtimeAPI
  predictor:
    type: tensorflow
    path: predictor.py
    signature_key: serving_default
    models:
      paths:
        - {name: resnet50, path: s3://m/resnet50, signature_key: predict}
      signature_key: serving_default
  autoscaling: {target_in_flight: 1}
`;
    const definition: RealtimeApiDefinition = {
      name: 'resnet',
      predictor: {
        type: 'tensorflow',
        path: 'predictor.py',
        signatureKey: 'serving_default',
        models: { paths: [{ name: 'resnet50', path: 's3://m/resnet50', signatureKey: 'predict' }], signatureKey: 'serving_default' },
      },
      autoscaling: { targetInFlight: 1 },
    };
    expect([withoutSource(realtimeApiSpec(definition))]).toStrictEqual(specsOfYaml(yaml));
  });

  test.each<[string, Probe, string]>([
    ['http_get', Probe.httpGet({ port: 8080 }), 'http_get: {port: 8080}'],
    ['tcp_socket', Probe.tcpSocket({ port: 8080, timeoutSeconds: 3 }), 'tcp_socket: {port: 8080}\n          timeout_seconds: 3'],
    ['exec', Probe.exec({ command: ['true'], initialDelaySeconds: 9 }), 'exec: {command: ["true"]}\n          initial_delay_seconds: 9'],
  ])('GIVEN both probes with %s THEN the spec of its cortex.yaml', (_handler, probe, yamlProbe) => {
    const yaml = `- name: probed
  kind: RealtimeAPI
  pod:
    containers:
      - name: api
        image: probed:1
        readiness_probe:
          ${yamlProbe}
        liveness_probe:
          ${yamlProbe}
`;
    const definition: RealtimeApiDefinition = {
      name: 'probed',
      pod: { containers: [{ name: 'api', image: 'probed:1', readinessProbe: probe, livenessProbe: probe }] },
    };
    expect([withoutSource(realtimeApiSpec(definition))]).toStrictEqual(specsOfYaml(yaml));
  });

  test('GIVEN a TrafficSplitter with a shadow beside its targets (one written with handler) THEN the specs of its cortex.yaml, in order', () => {
    // WHEN
    const config = configFromDefinitions(SPLITTER_DEFINITIONS);
    // THEN
    expect(specsOfDefinitions(SPLITTER_DEFINITIONS)).toStrictEqual(specsOfYaml(SPLITTER_YAML));
    expect(config.apis.map((api) => api.name)).toEqual(['greeter-v1', 'greeter-v2', 'greeter-next']);
    expect(config.splitters[0].apis[2]).toStrictEqual({ name: 'greeter-next', weight: 50, shadow: true });
    expect(config.file).toBe('<props>');
  });

  test('GIVEN a source THEN it names the config and its specs', () => {
    const config = configFromDefinitions(SPLITTER_DEFINITIONS, 'apis.ts');
    expect(config.file).toBe('apis.ts');
    expect(config.specs.map((spec) => spec.source.file)).toEqual(['apis.ts', 'apis.ts', 'apis.ts', 'apis.ts']);
  });

  test('GIVEN optional fields set to undefined THEN they are absent, defaults apply, and the form is not ambiguous', () => {
    const spec = realtimeApiSpec({
      name: 'iris',
      kind: undefined,
      pod: undefined,
      predictor: { type: 'python', path: 'p.py', config: undefined },
      autoscaling: { maxReplicas: undefined },
    });
    expect(spec.predictor?.config).toEqual({});
    expect(spec.autoscaling.maxReplicas).toBe(100);
  });
});

describe('Probe and PreStop', () => {
  test('GIVEN the factories THEN opaque values, as cdk8s-plus builds probes, holding the fields without unset timings', () => {
    const probes = [Probe.httpGet({ port: 8080 }), Probe.tcpSocket({ port: 1 }), Probe.exec({ command: ['a'] }), Probe.of({ httpGet: { port: 1 } })];
    for (const probe of probes) expect(probe).toBeInstanceOf(Probe);
    expect(PreStop.exec({ command: ['a'] })).toBeInstanceOf(PreStop);
    expect(PreStop.of({ exec: { command: ['a'] } })).toBeInstanceOf(PreStop);
    expect(Probe.httpGet({ port: 8080 })._toDefinition()).toStrictEqual({ httpGet: { port: 8080 } });
    expect(Probe.httpGet({ port: 8080, path: '/h', periodSeconds: 5 })._toDefinition()).toStrictEqual({ httpGet: { port: 8080, path: '/h' }, periodSeconds: 5 });
    expect(Probe.tcpSocket({ port: 1, failureThreshold: 2 })._toDefinition()).toStrictEqual({ tcpSocket: { port: 1 }, failureThreshold: 2 });
    expect(Probe.exec({ command: ['a', 'b'] })._toDefinition()).toStrictEqual({ exec: { command: ['a', 'b'] } });
    expect(PreStop.httpGet({ port: 80, path: '/stop' })._toDefinition()).toStrictEqual({ httpGet: { port: 80, path: '/stop' } });
    expect(PreStop.exec({ command: ['sleep', '5'] })._toDefinition()).toStrictEqual({ exec: { command: ['sleep', '5'] } });
  });

  const container = (fields: Record<string, unknown>): RealtimeApiDefinition => ({
    name: 'probed',
    pod: { containers: [{ name: 'api', image: 'probed:1', ...fields }] },
  });

  test('GIVEN Probe.of and PreStop.of, or the same fields as plain objects (a definition parsed from JSON) THEN the spec of the factories', () => {
    const built = realtimeApiSpec(container({ readinessProbe: Probe.httpGet({ port: 8080, periodSeconds: 5 }), preStop: PreStop.exec({ command: ['true'] }) }));
    const of = realtimeApiSpec(container({ readinessProbe: Probe.of({ httpGet: { port: 8080 }, periodSeconds: 5 }), preStop: PreStop.of({ exec: { command: ['true'] } }) }));
    const plain = realtimeApiSpec(container({ readinessProbe: { httpGet: { port: 8080 }, periodSeconds: 5 }, preStop: { exec: { command: ['true'] } } }));
    expect(withoutSource(of)).toStrictEqual(withoutSource(built));
    expect(withoutSource(plain)).toStrictEqual(withoutSource(built));
    expect(built.pod.containers[0].readinessProbe?.periodSeconds).toBe(5);
  });

  test('GIVEN Probe.of with a bad field THEN the problem names it by its camelCase path', () => {
    expect(() => realtimeApiSpec(container({ readinessProbe: Probe.of({ httpGet: { port: 0 } }) }))).toThrow(
      /probed\.pod\.containers\[0\]\.readinessProbe\.httpGet\.port/,
    );
  });
});

describe('definitions: problems in camelCase', () => {
  const container = { name: 'api', image: 'iris:1' };

  test('GIVEN a misspelt key THEN it is unknown at its camelCase path, with the camelCase suggestion', () => {
    expect(problemsOf([{ name: 'iris', pod: { maxConcurency: 4, containers: [container] } }])).toEqual([
      '<props>: iris.pod.maxConcurency: unknown field "maxConcurency"; did you mean "maxConcurrency"?',
    ]);
  });

  test('GIVEN a bad value THEN the camelCase path, the value and what is allowed', () => {
    expect(problemsOf([{ name: 'iris', pod: { maxConcurrency: 0, containers: [container] } }])).toEqual([
      '<props>: iris.pod.maxConcurrency: must be an integer from 1 to 30000, got 0',
    ]);
  });

  test('GIVEN max < min replicas THEN the cross-field rule names both fields in camelCase', () => {
    expect(problemsOf([{ name: 'iris', pod: { containers: [container] }, autoscaling: { minReplicas: 5, maxReplicas: 3 } }])).toEqual([
      '<props>: iris.autoscaling.maxReplicas: must be >= minReplicas (5), got 3',
    ]);
    expect(problemsOf([{ name: 'iris', pod: { maxConcurrency: 2, containers: [container] }, autoscaling: { targetInFlight: 500 } }])).toEqual([
      '<props>: iris.autoscaling.targetInFlight: must be <= maxConcurrency + maxQueueLength (2 + 100 = 102), got 500',
    ]);
  });

  test('GIVEN a splitter naming an API not among the definitions THEN its target is named', () => {
    const problems = problemsOf([
      { name: 'iris', pod: { containers: [container] } },
      { name: 'split', kind: 'TrafficSplitter', apis: [{ name: 'iris', weight: 100 }, { name: 'missing', weight: 0 }] },
    ]);
    expect(problems).toEqual(['<props>: split.apis[1].name: "missing" is not a RealtimeAPI of this file; available: iris']);
  });

  test('GIVEN several problems THEN every one, in one ConfigError', () => {
    const definition = { name: 'iris', pod: { port: 0, containers: [{ ...container, compute: { cpu: '10m' } }] }, updateStrategy: { maxSurge: -1 } };
    expect(() => realtimeApiSpec(definition)).toThrow(ConfigError);
    expect(problemsOf([definition])).toEqual([
      '<props>: iris.pod.port: must be an integer from 1 to 65535, got 0',
      '<props>: iris.pod.containers[0].compute.cpu: must be at least 20m, got "10m"',
      '<props>: iris.updateStrategy.maxSurge: must be an integer >= 0 or a percentage from 0% to 100% such as "25%", got -1',
    ]);
  });

  test('GIVEN a key of another form or section THEN the validator\'s explanation, in camelCase', () => {
    expect(
      problemsOf([
        {
          name: 'iris',
          pod: { nodeGroups: ['gpu'], containers: [container] },
          tracker: { modelType: 'regression' },
          autoscaling: { maxReplicaConcurrency: 8 },
        },
        { name: 'split', kind: 'TrafficSplitter', updateStrategy: { maxSurge: 1 }, apis: [{ name: 'iris', weight: 100 }] },
        { name: 'batcher', predictor: { type: 'python', path: 'p.py', maxBatchSize: 4 } },
      ]),
    ).toEqual([
      '<props>: iris.tracker: unknown field "tracker"; tracker belongs to the predictor form (predictor:); the container form has none',
      '<props>: iris.pod.nodeGroups: unknown field "nodeGroups"; nodeGroups belongs at the top level of the API, beside pod',
      '<props>: iris.autoscaling.maxReplicaConcurrency: unknown field "maxReplicaConcurrency"; maxReplicaConcurrency is from the predictor form (Cortex v0.30); in the container form use pod.maxConcurrency and pod.maxQueueLength',
      '<props>: split.updateStrategy: unknown field "updateStrategy"; updateStrategy belongs to RealtimeAPI entries; a TrafficSplitter has only name, kind, networking, apis',
      '<props>: batcher.predictor.maxBatchSize: unknown field "maxBatchSize"; maxBatchSize belongs under serverSideBatching',
    ]);
  });

  test('GIVEN predictor.allowDebug THEN it reaches the spec; allow_debug is refused with its camelCase name', () => {
    expect(realtimeApiSpec({ name: 'iris', predictor: { type: 'python', path: 'p.py', allowDebug: true } }).predictor!.allowDebug).toBe(true);
    expect(problemsOf([{ name: 'iris', predictor: { type: 'python', path: 'p.py', allow_debug: true } }])).toEqual([
      '<props>: iris.predictor.allow_debug: unknown field "allow_debug"; definitions are camelCase: allowDebug',
    ]);
    expect(problemsOf([{ name: 'iris', predictor: { type: 'python', path: 'p.py', allowDebug: 'yes' } }])).toEqual([
      '<props>: iris.predictor.allowDebug: must be true or false, got "yes"',
    ]);
  });

  test('GIVEN a snake_case key THEN it is refused with its camelCase name, not taken behind the user\'s back', () => {
    expect(problemsOf([{ name: 'iris', pod: { max_concurrency: 4, containers: [container] }, node_groups: ['gpu'] }])).toEqual([
      '<props>: iris.pod.max_concurrency: unknown field "max_concurrency"; definitions are camelCase: maxConcurrency',
      '<props>: iris.node_groups: unknown field "node_groups"; definitions are camelCase: nodeGroups',
    ]);
  });

  test('GIVEN problems inside the user\'s own maps THEN their keys and values are shown as written', () => {
    const problems = problemsOf([
      {
        name: 'iris',
        pod: { containers: [{ ...container, env: { max_surge: { nested: 1 }, CORTEX_MINE: 'x' } }] },
      },
      { name: 'sentiment', predictor: { type: 'python', path: 'p.py', logLevel: 'log_level', env: { '1st_var': 'x' } } },
    ]);
    expect(problems).toEqual([
      '<props>: iris.pod.containers[0].env.max_surge: must be a string, number or boolean, or {secret: NAME, key: KEY} (a key of a Secret), got a mapping with neither secret nor key',
      '<props>: iris.pod.containers[0].env.CORTEX_MINE: names starting with CORTEX_ are reserved for the variables cortex-cdk sets (such as CORTEX_GATEWAY_URL), except the runtime settings CORTEX_API_KEY, CORTEX_MAX_BODY_SIZE, CORTEX_MODEL_CACHE_DIR, CORTEX_NEURON_CORES_PER_DEVICE, CORTEX_STUCK_GRACE; rename CORTEX_MINE',
      '<props>: sentiment.predictor.env.1st_var: invalid variable name "1st_var": use letters, digits, "_", "-" and ".", not starting with a digit',
      '<props>: sentiment.predictor.logLevel: must be one of debug, info, warning, error, got "log_level"',
    ]);
  });

  test('GIVEN an invalid name THEN the entry is named by its index, as in a file', () => {
    expect(problemsOf([{ name: 'Iris_1', pod: { maxQueueLength: -1, containers: [container] } }])).toEqual([
      '<props>: [0].name: must be a DNS-1035 label (lower-case letters, digits and "-", starting with a letter and not ending with "-"), got "Iris_1"',
      '<props>: [0].pod.maxQueueLength: must be an integer from 0 to 30000, got -1',
    ]);
  });

  test('GIVEN a kind only files have THEN one problem at kind, and nothing read as that kind', () => {
    expect(problemsOf([{ name: 'old', kind: 'api', python: { inference: 'x.py' } }, { name: 'dep', kind: 'deployment' }])).toEqual([
      '<props>: old.kind: must be "RealtimeAPI" or "TrafficSplitter" (or left out for a RealtimeAPI), got "api"',
      '<props>: dep.kind: must be "RealtimeAPI" or "TrafficSplitter" (or left out for a RealtimeAPI), got "deployment"',
    ]);
  });

  test('GIVEN realtimeApiSpec a TrafficSplitter THEN an error at kind saying where splitters go', () => {
    const splitter = { name: 'split', kind: 'TrafficSplitter', apis: [] } as unknown as RealtimeApiDefinition;
    expect(() => realtimeApiSpec(splitter)).toThrow(
      '<props>: split.kind: must be "RealtimeAPI" (or left out), got "TrafficSplitter"; a TrafficSplitter goes to configFromDefinitions, beside its target APIs',
    );
  });

  test('GIVEN realtimeApiSpec a splitter with an invalid name THEN the kind problem is labelled [0], as the name problem is', () => {
    // GIVEN
    const splitter = { name: 'Split', kind: 'TrafficSplitter', apis: [] } as unknown as RealtimeApiDefinition;
    // WHEN
    let problems: string[] = [];
    try {
      realtimeApiSpec(splitter);
    } catch (e) {
      problems = (e as ConfigError).problems.map(formatProblem);
    }
    // THEN
    expect(problems).toEqual([
      '<props>: [0].kind: must be "RealtimeAPI" (or left out), got "TrafficSplitter"; a TrafficSplitter goes to configFromDefinitions, beside its target APIs',
      expect.stringMatching(/^<props>: \[0\]\.name: must be a DNS-1035 label/),
    ]);
  });

  test('GIVEN realtimeApiSpec a kind only files have THEN an error at kind, with no word of splitters', () => {
    const old = { name: 'old', kind: 'api' } as unknown as RealtimeApiDefinition;
    expect(() => realtimeApiSpec(old)).toThrow(/^<props>: old\.kind: must be "RealtimeAPI" \(or left out\), got "api"$/);
  });

  test('GIVEN no definitions THEN the validator says so', () => {
    expect(problemsOf([])).toEqual(['<props>: must list at least one API, got an empty list']);
  });

  test('GIVEN realtimeApiSpec null (from JavaScript) WHEN converted THEN a ConfigError naming the entry, not a TypeError', () => {
    expect(() => realtimeApiSpec(null as unknown as RealtimeApiDefinition)).toThrow(ConfigError);
    expect(() => realtimeApiSpec(null as unknown as RealtimeApiDefinition)).toThrow(
      '<props>: [0]: must be a mapping (an API with name, kind, ...), got null',
    );
  });

  test('GIVEN a definition parsed from JSON with a "__proto__" key WHEN converted THEN it is unknown at its path, as in a file', () => {
    const definition: unknown = JSON.parse(
      '{"name": "iris", "__proto__": {"x": 1}, "pod": {"__proto__": {"port": 1}, "containers": [{"name": "api", "image": "iris:1"}]}}',
    );
    expect(problemsOf([definition])).toEqual([
      '<props>: iris.__proto__: unknown field "__proto__"; allowed fields: name, kind, pod, autoscaling, updateStrategy, networking, nodeGroups, iamPolicyArns, readApis',
      '<props>: iris.pod.__proto__: unknown field "__proto__"; allowed fields: port, maxConcurrency, maxQueueLength, containers',
    ]);
  });
});

// Compile-time: every key each reader accepts is a field of its definition, and no other. A key added to a
// reader without its field (or the reverse) fails the type check of this file.
type CamelCase<S extends string> = S extends `${infer Head}_${infer Tail}` ? `${Head}${Capitalize<CamelCase<Tail>>}` : S;
type SameKeys<Definition, Keys extends readonly string[]> = [keyof Definition] extends [CamelCase<Keys[number]>]
  ? [CamelCase<Keys[number]>] extends [keyof Definition]
    ? true
    : false
  : false;
type Supported<Keys extends readonly string[]> = Exclude<Keys[number], 'tensorflow_serving_image'>[];
const KEY_TABLE_MATCHES: {
  pod: SameKeys<PodDefinition, typeof POD_KEYS>;
  compute: SameKeys<ComputeDefinition, typeof COMPUTE_KEYS>;
  autoscaling: SameKeys<AutoscalingDefinition, typeof PREDICTOR_AUTOSCALING_KEYS>;
  predictor: SameKeys<PredictorDefinition, Supported<typeof PREDICTOR_KEYS>>;
  models: SameKeys<ModelsDefinition, typeof MODELS_KEYS>;
  networking: SameKeys<NetworkingDefinition, typeof NETWORKING_KEYS>;
  auth: SameKeys<AuthDefinition, typeof AUTH_KEYS>;
  apiKeys: SameKeys<ApiKeysDefinition, typeof API_KEYS_KEYS>;
  updateStrategy: SameKeys<UpdateStrategyDefinition, typeof UPDATE_STRATEGY_KEYS>;
  realtimeApi: SameKeys<RealtimeApiDefinition, [...typeof CONTAINER_API_KEYS, ...typeof PREDICTOR_API_KEYS]>;
  trafficSplitter: SameKeys<TrafficSplitterDefinition, typeof TRAFFIC_SPLITTER_KEYS>;
  container: SameKeys<ContainerDefinition, typeof CONTAINER_KEYS>;
  probe: SameKeys<ProbeDefinition, [...typeof PROBE_HANDLERS, ...typeof PROBE_TIMING_KEYS]>;
  preStop: SameKeys<PreStopDefinition, typeof PRE_STOP_HANDLERS>;
  httpGet: SameKeys<HttpGetDefinition, typeof HTTP_GET_KEYS>;
  tcpSocket: SameKeys<TcpSocketDefinition, typeof TCP_SOCKET_KEYS>;
  exec: SameKeys<ExecDefinition, typeof EXEC_KEYS>;
  tracker: SameKeys<TrackerDefinition, typeof TRACKER_KEYS>;
  dependencies: SameKeys<DependenciesDefinition, typeof DEPENDENCIES_KEYS>;
  serverSideBatching: SameKeys<ServerSideBatchingDefinition, typeof SERVER_SIDE_BATCHING_KEYS>;
  modelPath: SameKeys<ModelPathDefinition, typeof MODEL_PATH_KEYS>;
  splitterTarget: SameKeys<TrafficSplitterTargetDefinition, typeof SPLITTER_TARGET_KEYS>;
} = {
  pod: true,
  compute: true,
  autoscaling: true,
  predictor: true,
  models: true,
  networking: true,
  auth: true,
  apiKeys: true,
  updateStrategy: true,
  realtimeApi: true,
  trafficSplitter: true,
  container: true,
  probe: true,
  preStop: true,
  httpGet: true,
  tcpSocket: true,
  exec: true,
  tracker: true,
  dependencies: true,
  serverSideBatching: true,
  modelPath: true,
  splitterTarget: true,
};

describe('definitions: the key table', () => {
  test('GIVEN the readers\' key lists THEN each definition has exactly their fields (checked at compile time)', () => {
    expect(Object.values(KEY_TABLE_MATCHES).every((matches) => matches)).toBe(true);
  });
});
