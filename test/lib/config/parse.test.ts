import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parse as parseYaml } from 'yaml';
import {
  ConfigError,
  configFromObject,
  formatProblem,
  loadConfigFile,
  parseConfig,
  validateConfig,
  validateConfigObject,
} from '../../../lib/config';
import { FILE, problemsOf } from './config-fixtures';

/** Bad configs, each with exactly what `cortex validate` prints for it. */
const BAD_CONFIGS: [string, string, string[]][] = [
  [
    'a misspelt pod field',
    `- name: iris
  kind: RealtimeAPI
  pod:
    max_concurency: 4
    containers: [{name: api, image: iris:1}]
`,
    ['cortex.yaml:4:5: iris.pod.max_concurency: unknown field "max_concurency"; did you mean "max_concurrency"?'],
  ],
  [
    'max_concurrency as text',
    `- name: iris
  kind: RealtimeAPI
  pod:
    max_concurrency: abc
    containers: [{name: api, image: iris:1}]
`,
    ['cortex.yaml:4:22: iris.pod.max_concurrency: must be an integer from 1 to 30000, got "abc"'],
  ],
  [
    'the proxy port',
    `- name: iris
  kind: RealtimeAPI
  pod:
    port: 8888
    containers: [{name: api, image: iris:1}]
`,
    ['cortex.yaml:4:11: iris.pod.port: port 8888 is reserved for the proxy sidecar; use another port'],
  ],
  [
    'a missing image',
    `- name: iris
  kind: RealtimeAPI
  pod:
    containers:
      - name: api
        command: [serve]
`,
    ['cortex.yaml:5:9: iris.pod.containers[0].image: required'],
  ],
  [
    'a CPU request too small',
    `- name: iris
  kind: RealtimeAPI
  pod:
    containers:
      - name: api
        image: iris:1
        compute:
          cpu: 10m
`,
    ['cortex.yaml:8:16: iris.pod.containers[0].compute.cpu: must be at least 20m, got "10m"'],
  ],
  [
    'gpu and inf in one pod',
    `- name: iris
  kind: RealtimeAPI
  pod:
    containers:
      - name: api
        image: iris:1
        compute: {gpu: 1}
      - name: rtd
        image: rtd:1
        compute: {inf: 1}
`,
    [
      'cortex.yaml:10:24: iris.pod.containers[1].compute.inf: gpu and inf cannot both be > 0 in one pod (containers[0] asks for gpu 1, containers[1] for inf 1)',
    ],
  ],
  [
    'max_replicas below min_replicas',
    `- name: iris
  kind: RealtimeAPI
  pod: {containers: [{name: api, image: iris:1}]}
  autoscaling:
    min_replicas: 5
    max_replicas: 3
`,
    ['cortex.yaml:6:19: iris.autoscaling.max_replicas: must be >= min_replicas (5), got 3'],
  ],
  [
    'a window off the 10s grid',
    `- name: iris
  kind: RealtimeAPI
  pod: {containers: [{name: api, image: iris:1}]}
  autoscaling:
    window: 25s
`,
    ['cortex.yaml:5:13: iris.autoscaling.window: must be a multiple of 10s, got "25s"'],
  ],
  [
    'a target above what a replica holds',
    `- name: iris
  kind: RealtimeAPI
  pod:
    max_concurrency: 2
    max_queue_length: 2
    containers: [{name: api, image: iris:1}]
  autoscaling:
    target_in_flight: 5
`,
    ['cortex.yaml:8:23: iris.autoscaling.target_in_flight: must be <= max_concurrency + max_queue_length (2 + 2 = 4), got 5'],
  ],
  [
    'max_replica_concurrency in the container form',
    `- name: iris
  kind: RealtimeAPI
  pod: {containers: [{name: api, image: iris:1}]}
  autoscaling:
    max_replica_concurrency: 100
`,
    [
      'cortex.yaml:5:5: iris.autoscaling.max_replica_concurrency: unknown field "max_replica_concurrency"; max_replica_concurrency is from the predictor form (Cortex v0.30); in the container form use pod.max_concurrency and pod.max_queue_length',
    ],
  ],
  [
    'an unknown predictor type',
    `- name: iris
  kind: RealtimeAPI
  predictor:
    type: pytorch
    path: predictor.py
`,
    ['cortex.yaml:4:11: iris.predictor.type: must be one of python, tensorflow, onnx, got "pytorch"'],
  ],
  [
    'models on a python predictor',
    `- name: iris
  kind: RealtimeAPI
  predictor:
    type: python
    path: predictor.py
    models:
      path: s3://bucket/model/
`,
    ['cortex.yaml:6:5: iris.predictor.models: models is for types tensorflow and onnx; use multi_model_reloading for type python'],
  ],
  [
    'a batch larger than the threads',
    `- name: iris
  kind: RealtimeAPI
  predictor:
    type: python
    path: predictor.py
    server_side_batching:
      max_batch_size: 8
      batch_interval: 0.1s
    threads_per_process: 4
`,
    [
      'cortex.yaml:7:23: iris.predictor.server_side_batching.max_batch_size: must be <= threads_per_process (4), got 8; each request waiting in a batch holds one thread',
    ],
  ],
  [
    'max_replica_concurrency below the predictor concurrency',
    `- name: iris
  kind: RealtimeAPI
  predictor:
    type: python
    path: predictor.py
    processes_per_replica: 2
    threads_per_process: 8
  autoscaling:
    max_replica_concurrency: 10
`,
    ['cortex.yaml:9:30: iris.autoscaling.max_replica_concurrency: must be >= processes_per_replica × threads_per_process (2 × 8 = 16), got 10'],
  ],
  [
    'a container API with a predictor',
    `- name: iris
  kind: RealtimeAPI
  pod: {containers: [{name: api, image: iris:1}]}
  predictor: {type: python, path: predictor.py}
`,
    [
      'cortex.yaml:4:3: iris.predictor: cannot be used together with pod: pod is the container form (Cortex v0.42), predictor the predictor form (Cortex v0.30); use one',
    ],
  ],
  [
    'a name that is not a DNS label',
    `- name: Iris_Classifier
  kind: RealtimeAPI
  pod: {containers: [{name: api, image: iris:1}]}
`,
    [
      'cortex.yaml:1:9: [0].name: must be a DNS-1035 label (lower-case letters, digits and "-", starting with a letter and not ending with "-"), got "Iris_Classifier"',
    ],
  ],
  [
    'a duplicate API name',
    `- name: iris
  kind: RealtimeAPI
  pod: {containers: [{name: api, image: iris:1}]}
- name: iris
  kind: RealtimeAPI
  pod: {containers: [{name: api, image: iris:2}]}
`,
    ['cortex.yaml:4:9: iris.name: duplicate name "iris" (also entry [0]); names must be unique in the file'],
  ],
  [
    'an unsupported kind',
    `- name: batch
  kind: BatchAPI
`,
    ['cortex.yaml:2:9: batch.kind: must be one of RealtimeAPI, TrafficSplitter, api, deployment, got "BatchAPI" (cortex-cdk does not serve BatchAPIs)'],
  ],
  [
    'splitter weights that do not add up',
    `- name: a
  kind: RealtimeAPI
  pod: {containers: [{name: api, image: a:1}]}
- name: b
  kind: RealtimeAPI
  pod: {containers: [{name: api, image: b:1}]}
- name: split
  kind: TrafficSplitter
  apis:
    - {name: a, weight: 30}
    - {name: b, weight: 60}
`,
    ['cortex.yaml:10:5: split.apis: the weights of the APIs that are not shadows must add up to 100, got 90 (30 + 60)'],
  ],
  [
    'a splitter target that does not exist',
    `- name: a
  kind: RealtimeAPI
  pod: {containers: [{name: api, image: a:1}]}
- name: split
  kind: TrafficSplitter
  apis:
    - name: missing
      weight: 100
`,
    ['cortex.yaml:7:13: split.apis[0].name: "missing" is not a RealtimeAPI of this file; available: a'],
  ],
  [
    'a reserved environment variable',
    `- name: iris
  kind: RealtimeAPI
  pod:
    containers:
      - name: api
        image: iris:1
        env:
          CORTEX_PORT: "9000"
`,
    [
      'cortex.yaml:8:11: iris.pod.containers[0].env.CORTEX_PORT: names starting with CORTEX_ are reserved for the variables cortex-cdk sets (such as CORTEX_GATEWAY_URL), except the runtime settings CORTEX_API_KEY, CORTEX_MAX_BODY_SIZE, CORTEX_MODEL_CACHE_DIR, CORTEX_NEURON_CORES_PER_DEVICE, CORTEX_STUCK_GRACE; rename CORTEX_PORT',
    ],
  ],
  [
    'a liveness probe with a success threshold',
    `- name: iris
  kind: RealtimeAPI
  pod:
    containers:
      - name: api
        image: iris:1
        liveness_probe:
          tcp_socket: {port: 8080}
          success_threshold: 3
`,
    ['cortex.yaml:9:30: iris.pod.containers[0].liveness_probe.success_threshold: must be 1 for a liveness probe (Kubernetes requires it), got 3'],
  ],
  [
    'an endpoint without a leading slash',
    `- name: iris
  kind: RealtimeAPI
  pod: {containers: [{name: api, image: iris:1}]}
  networking:
    endpoint: iris
`,
    ['cortex.yaml:5:15: iris.networking.endpoint: must start with "/", got "iris"'],
  ],
  [
    'a single API written without the list',
    `name: iris
kind: RealtimeAPI
`,
    ['cortex.yaml:1:1: must be a list of APIs, each starting with "- name: ...", got a mapping'],
  ],
  [
    'several problems in one API',
    `- name: iris
  kind: RealtimeAPI
  pod:
    port: 0
    containers:
      - name: api
        image: iris:1
        compute: {mem: 1Gi, shm: 2Gi}
  update_strategy: {max_surge: 0, max_unavailable: 0}
`,
    [
      'cortex.yaml:4:11: iris.pod.port: must be an integer from 1 to 65535, got 0',
      'cortex.yaml:8:34: iris.pod.containers[0].compute.shm: must be <= mem (1Gi), got "2Gi"',
      'cortex.yaml:9:52: iris.update_strategy.max_unavailable: max_surge and max_unavailable cannot both be 0 (the rollout could not replace any pod)',
    ],
  ],
];

describe('validateConfig', () => {
  test(`GIVEN ${BAD_CONFIGS.length} bad configs WHEN validated THEN there are at least 20`, () => {
    expect(BAD_CONFIGS.length).toBeGreaterThanOrEqual(20);
  });

  test.each(BAD_CONFIGS)('GIVEN %s WHEN validated THEN the exact problems are printed', (_, yaml, expected) => {
    expect(problemsOf(yaml)).toEqual(expected);
  });

  test.each(BAD_CONFIGS)(
    'GIVEN %s as a plain object WHEN validated by configFromObject THEN the same rules give the same messages, without positions',
    (_, yaml, expected) => {
      const fromObject = validateConfigObject(parseYaml(yaml)).problems.map((p) => `${p.path ? `${p.path}: ` : ''}${p.message}`);
      const fromYaml = expected.map((line) => line.replace(/^cortex\.yaml:\d+:\d+: /, ''));
      expect([...fromObject].sort()).toEqual([...fromYaml].sort());
    },
  );

  test('GIVEN YAML syntax errors WHEN validated THEN each is reported at the parser position, and nothing else', () => {
    const yaml = `- name: iris
  kind: RealtimeAPI
  kind: TrafficSplitter
  pod: {containers: [
`;
    expect(problemsOf(yaml)).toEqual([
      'cortex.yaml:3:3: invalid YAML: Map keys must be unique',
      expect.stringMatching(/^cortex\.yaml:5:1: invalid YAML: Flow sequence in block collection must be sufficiently indented/),
      'cortex.yaml:5:1: invalid YAML: Flow map in block collection must be sufficiently indented and end with a }',
    ]);
  });

  test('GIVEN a valid file WHEN validated THEN there are no problems and a config', () => {
    const result = validateConfig('- {name: iris, kind: RealtimeAPI, pod: {containers: [{name: api, image: "iris:1"}]}}\n', FILE);
    expect(result.problems).toEqual([]);
    expect(result.config?.apis[0].name).toBe('iris');
  });

  test('GIVEN a value of every wrong type in every place WHEN validated THEN it never throws', () => {
    const wrongs: unknown[] = [null, 0, -1, 1.5, 'x', '', true, [], [null], {}, { a: 1 }];
    const base = { name: 'iris', kind: 'RealtimeAPI', pod: { containers: [{ name: 'api', image: 'a', compute: {}, readiness_probe: {} }] } };
    const paths = collectPaths(base).concat([['predictor'], ['autoscaling'], ['networking'], ['update_strategy'], ['node_groups']]);
    for (const fieldPath of paths) {
      for (const wrong of wrongs) {
        const value = setAt(structuredClone(base), fieldPath, wrong);
        expect(() => validateConfigObject([value])).not.toThrow();
      }
    }
    for (const wrong of wrongs) {
      expect(() => validateConfigObject(wrong)).not.toThrow();
      expect(() => validateConfigObject([wrong])).not.toThrow();
    }
  });

  test('GIVEN odd YAML WHEN validated THEN it never throws', () => {
    const texts = ['', '---', '~', '- ~', '- []', '- {}', '-\n  -\n', '? [a]\n: b\n', '- !!binary aGk=', '- &a [*a]', '"\\', '\t', '- name: *x'];
    for (const text of texts) expect(() => validateConfig(text, FILE)).not.toThrow();
  });
});

describe('parseConfig', () => {
  test('GIVEN problems in several places WHEN parsed THEN one ConfigError carries them all', () => {
    const yaml = `- name: a
  kind: RealtimeAPI
  pod: {port: 0, containers: [{name: api}]}
- name: b
  kind: Nope
`;
    let error: unknown;
    try {
      parseConfig(yaml, FILE);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.map(formatProblem);
    expect(problems).toEqual([
      'cortex.yaml:3:15: a.pod.port: must be an integer from 1 to 65535, got 0',
      'cortex.yaml:3:31: a.pod.containers[0].image: required',
      'cortex.yaml:5:9: b.kind: must be one of RealtimeAPI, TrafficSplitter, api, deployment, got "Nope"',
    ]);
    expect((error as ConfigError).message).toBe(problems.join('\n'));
  });

  test('GIVEN container APIs like the published v0.42 ones WHEN parsed THEN their specs are what they say', () => {
    const yaml = `- name: hello-world-a
  kind: RealtimeAPI
  pod:
    port: 8080
    max_concurrency: 1
    containers:
    - name: api
      image: example/hello-world:1
      env:
        RESPONSE: "hello from API A"
      readiness_probe:
        http_get:
          path: "/healthz"
          port: 8080
      compute:
        cpu: 200m
        mem: 128Mi

- name: hello-world-b
  kind: RealtimeAPI
  pod:
    max_queue_length: 128
    containers:
    - name: api
      image: example/hello-world:1
      readiness_probe:
        http_get: {path: "/healthz", port: 8080}
        timeout_seconds: 3
      compute:
        cpu: 1
        mem: 2.5Gi
  autoscaling:
    target_in_flight: 1

- name: hello-world-shadow
  kind: RealtimeAPI
  pod:
    containers:
    - name: api
      image: example/hello-world:1

- name: hello-world
  kind: TrafficSplitter
  apis:
    - name: hello-world-a
      weight: 30
    - name: hello-world-b
      weight: 70
    - name: hello-world-shadow
      shadow: true
      weight: 100
`;
    const config = parseConfig(yaml, FILE);
    const [a, b, shadow] = config.apis;
    expect(a.pod.containers[0]).toEqual({
      name: 'api',
      image: 'example/hello-world:1',
      env: { RESPONSE: 'hello from API A' },
      compute: { cpu: '200m', mem: '128Mi', gpu: 0, inf: 0 },
      readinessProbe: {
        handler: { type: 'http_get', port: 8080, path: '/healthz' },
        initialDelaySeconds: 0,
        timeoutSeconds: 1,
        periodSeconds: 10,
        successThreshold: 1,
        failureThreshold: 3,
      },
    });
    expect(b.pod).toMatchObject({ maxConcurrency: 1, maxQueueLength: 128 });
    expect(b.pod.containers[0].compute).toEqual({ cpu: '1', mem: '2.5Gi', gpu: 0, inf: 0 });
    expect(b.pod.containers[0].readinessProbe?.timeoutSeconds).toBe(3);
    expect(shadow.source).toEqual({ file: FILE, line: 35, column: 3 });
    expect(config.splitters[0]).toMatchObject({
      name: 'hello-world',
      networking: { endpoint: '/hello-world' },
      apis: [
        { name: 'hello-world-a', weight: 30, shadow: false },
        { name: 'hello-world-b', weight: 70, shadow: false },
        { name: 'hello-world-shadow', weight: 100, shadow: true },
      ],
    });
  });

  test('GIVEN a predictor API like the published v0.30 multi-model ones WHEN parsed THEN models and concurrency are mapped', () => {
    const yaml = `- name: multi-model-classifier
  kind: RealtimeAPI
  predictor:
    type: tensorflow
    path: predictor.py
    models:
      paths:
        - name: inception
          path: s3://bucket/tensorflow/inception/
        - name: iris
          path: s3://bucket/tensorflow/iris/
      cache_size: 2
      disk_cache_size: 3
    processes_per_replica: 4
    threads_per_process: 192
    server_side_batching:
      max_batch_size: 32
      batch_interval: 0.1s
    config:
      models:
        iris:
          labels: ["setosa", "versicolor", "virginica"]
  compute:
    gpu: 1
    cpu: 3
    mem: 4G
`;
    const api = parseConfig(yaml, FILE).apis[0];
    expect(api.predictor).toMatchObject({
      type: 'tensorflow',
      models: {
        paths: [
          { name: 'inception', path: 's3://bucket/tensorflow/inception/' },
          { name: 'iris', path: 's3://bucket/tensorflow/iris/' },
        ],
        cacheSize: 2,
        diskCacheSize: 3,
      },
      serverSideBatching: { maxBatchSize: 32, batchIntervalSeconds: 0.1 },
      config: { models: { iris: { labels: ['setosa', 'versicolor', 'virginica'] } } },
    });
    expect(api.pod).toMatchObject({ port: 8080, maxConcurrency: 768, maxQueueLength: 256 });
    expect(api.pod.containers[0].compute).toEqual({ cpu: '3', mem: '4G', gpu: 1, inf: 0 });
    expect(api.autoscaling.targetInFlight).toBe(768);
  });
});

describe('loadConfigFile', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cortex-config-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('GIVEN a valid file WHEN loaded THEN problems and specs name it as given', () => {
    const file = path.join(dir, 'cortex.yaml');
    fs.writeFileSync(file, '- {name: iris, kind: RealtimeAPI, pod: {containers: [{name: api, image: "iris:1"}]}}\n');
    const config = loadConfigFile(file);
    expect(config.file).toBe(file);
    expect(config.apis[0].source).toEqual({ file, line: 1, column: 3 });
  });

  test('GIVEN a missing file WHEN loaded THEN one problem says so, with no position', () => {
    const missing = path.join(dir, 'nope.yaml');
    expect(() => loadConfigFile(missing)).toThrow(ConfigError);
    try {
      loadConfigFile(missing);
    } catch (e) {
      expect((e as ConfigError).problems).toEqual([{ file: missing, line: 0, column: 0, path: '', message: 'no such file' }]);
      expect((e as ConfigError).message).toBe(`${missing}: no such file`);
    }
  });

  test('GIVEN a directory WHEN loaded THEN the problem says to name the file', () => {
    expect(() => loadConfigFile(dir)).toThrow(`${dir}: is a directory; name the cortex.yaml file itself`);
  });

  test('GIVEN an invalid file WHEN loaded THEN its problems are thrown with positions', () => {
    const file = path.join(dir, 'bad.yaml');
    fs.writeFileSync(file, '- name: iris\n');
    expect(() => loadConfigFile(file)).toThrow(`${file}:1:3: iris.kind: required: RealtimeAPI or TrafficSplitter`);
  });
});

describe('configFromObject', () => {
  test('GIVEN a valid value WHEN converted THEN it is the same spec as from YAML, with no position', () => {
    const yaml = '- {name: iris, kind: RealtimeAPI, pod: {max_concurrency: 4, containers: [{name: api, image: "iris:1", compute: {cpu: 1}}]}}\n';
    const fromYaml = parseConfig(yaml, FILE).apis[0];
    const fromObject = configFromObject(parseYaml(yaml)).apis[0];
    expect(fromObject).toEqual({ ...fromYaml, source: { file: '<props>', line: 0, column: 0 } });
  });

  test('GIVEN an invalid value WHEN converted THEN the ConfigError names <props> and the field', () => {
    expect(() => configFromObject([{ name: 'iris', kind: 'RealtimeAPI', pod: { containers: [] } }])).toThrow(
      '<props>: iris.pod.containers: must list at least one container',
    );
  });

  test('GIVEN a file name WHEN converted THEN problems use it', () => {
    expect(() => configFromObject({}, 'stack.ts')).toThrow('stack.ts: must be a list of APIs, each starting with "- name: ...", got a mapping');
  });
});

/** Every field path in `value` (mappings and lists), for the robustness test. */
function collectPaths(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  if (typeof value !== 'object' || value === null) return [];
  const entries: [string | number, unknown][] = Array.isArray(value) ? value.map((v, i) => [i, v]) : Object.entries(value);
  return entries.flatMap(([key, child]) => [[...prefix, key], ...collectPaths(child, [...prefix, key])]);
}

function setAt(target: any, fieldPath: (string | number)[], value: unknown): any {
  let node = target;
  for (const key of fieldPath.slice(0, -1)) node = node[key];
  node[fieldPath[fieldPath.length - 1]] = value;
  return target;
}
