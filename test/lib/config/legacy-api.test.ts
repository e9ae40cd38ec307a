import { configFromObject, parseConfig, RealtimeApiSpec } from '../../../lib/config';
import { merged, objectProblems, problemsOf, realtimeSpecOf } from './config-fixtures';

/** A minimal valid `kind: api` entry of the first form. */
function legacyApi(overrides: Record<string, any> = {}): Record<string, any> {
  return merged({ kind: 'api', name: 'iris', python: { inference: 'inference.py' } }, overrides);
}

function legacyProblems(overrides: Record<string, any>): string[] {
  return objectProblems([legacyApi(overrides)]);
}

const RUNTIME_PROBE = {
  handler: { type: 'http_get', port: 8080, path: '/healthz' },
  initialDelaySeconds: 0,
  timeoutSeconds: 1,
  periodSeconds: 10,
  successThreshold: 1,
  failureThreshold: 3,
};

const DEFAULT_BEHAVIOUR = {
  windowSeconds: 60,
  downscaleStabilizationPeriodSeconds: 300,
  upscaleStabilizationPeriodSeconds: 60,
  maxDownscaleFactor: 0.75,
  maxUpscaleFactor: 1.5,
  downscaleTolerance: 0.05,
  upscaleTolerance: 0.05,
};

describe('kind: api (Cortex 0.10 – 0.12)', () => {
  describe('first form: python.inference', () => {
    test('GIVEN only a module WHEN read THEN a function-style python predictor with every default, scaled on CPU', () => {
      // WHEN
      const spec = realtimeSpecOf(legacyApi());
      // THEN
      expect(spec).toEqual<RealtimeApiSpec>({
        kind: 'RealtimeAPI',
        name: 'iris',
        pod: {
          port: 8080,
          maxConcurrency: 1,
          maxQueueLength: 100,
          containers: [
            {
              name: 'api',
              image: 'cortex-cdk/python-predictor:placeholder',
              env: {},
              compute: { cpu: '200m', gpu: 0, inf: 0 },
              readinessProbe: RUNTIME_PROBE as RealtimeApiSpec['pod']['containers'][0]['readinessProbe'],
            },
          ],
        },
        predictor: {
          type: 'python',
          style: 'function',
          path: 'inference.py',
          config: {},
          metadata: {},
          env: {},
          logLevel: 'info',
          dependencies: { pip: 'requirements.txt', conda: 'conda-packages.txt', shell: 'dependencies.sh' },
          processesPerReplica: 1,
          threadsPerProcess: 1,
        },
        autoscaling: { minReplicas: 1, maxReplicas: 100, initReplicas: 1, targetInFlight: 1, targetCpuUtilization: 80, ...DEFAULT_BEHAVIOUR },
        updateStrategy: { maxSurge: '25%', maxUnavailable: '25%' },
        networking: { endpoint: '/iris', timeoutSeconds: 600 },
        source: { file: '<props>', line: 0, column: 0 },
      });
    });

    test('GIVEN metadata, tracker, python_path and compute WHEN read THEN each lands where today\'s model keeps it', () => {
      const spec = realtimeSpecOf(
        legacyApi({
          metadata: { labels: ['setosa', 'virginica'], nested: { k: 1 } },
          python_path: 'src',
          tracker: { key: 'label', model_type: 'classification' },
          compute: { min_replicas: 2, max_replicas: 10, init_replicas: 4, target_cpu_utilization: 60, cpu: 1, gpu: 1, mem: '2Gi' },
        }),
      );
      expect(spec.predictor).toMatchObject({ metadata: { labels: ['setosa', 'virginica'], nested: { k: 1 } }, pythonPath: 'src' });
      expect(spec.tracker).toEqual({ key: 'label', modelType: 'classification' });
      expect(spec.pod.containers[0].compute).toEqual({ cpu: '1', mem: '2Gi', gpu: 1, inf: 0 });
      expect(spec.autoscaling).toMatchObject({ minReplicas: 2, maxReplicas: 10, initReplicas: 4, targetCpuUtilization: 60 });
    });

    test('GIVEN init_replicas unset WHEN read THEN it is min_replicas', () => {
      expect(realtimeSpecOf(legacyApi({ compute: { min_replicas: 3 } })).autoscaling).toMatchObject({ minReplicas: 3, initReplicas: 3 });
    });

    test('GIVEN max_concurrency and max_queue_length (cortex-cdk additions) WHEN read THEN the proxy and the runtime threads follow', () => {
      const spec = realtimeSpecOf(legacyApi({ compute: { max_concurrency: 4, max_queue_length: 20 } }));
      expect(spec.pod).toMatchObject({ maxConcurrency: 4, maxQueueLength: 20 });
      expect(spec.predictor).toMatchObject({ threadsPerProcess: 4, processesPerReplica: 1 });
      expect(spec.autoscaling.targetInFlight).toBe(4);
    });
  });

  describe('first form: tensorflow and onnx models', () => {
    test('GIVEN tensorflow with a request handler and a signature key WHEN read THEN the model is models.path', () => {
      const spec = realtimeSpecOf(
        legacyApi({ python: undefined, tensorflow: { model: 's3://bucket/iris/1', request_handler: 'handlers/tf.py', signature_key: 'predict' } }),
      );
      expect(spec.predictor).toMatchObject({
        type: 'tensorflow',
        style: 'function',
        path: 'handlers/tf.py',
        models: { path: 's3://bucket/iris/1' },
        signatureKey: 'predict',
      });
    });

    test('GIVEN onnx without a request handler WHEN read THEN the predictor has no code of its own', () => {
      const spec = realtimeSpecOf(legacyApi({ python: undefined, onnx: { model: 'models/iris.onnx' } }));
      expect(spec.predictor).toMatchObject({ type: 'onnx', style: 'function', models: { path: 'models/iris.onnx' } });
      expect(spec.predictor).not.toHaveProperty('path');
    });
  });

  describe('second form: predictor and endpoint', () => {
    test('GIVEN predictor {path, model, python_path, metadata} and an endpoint WHEN read THEN they map onto the predictor and networking', () => {
      const spec = realtimeSpecOf(
        legacyApi({
          python: undefined,
          endpoint: '/v1/iris',
          predictor: { path: 'predictor.py', model: 's3://bucket/iris.pkl', python_path: 'lib', metadata: { region: 'us-west-2' } },
        }),
      );
      expect(spec.predictor).toMatchObject({
        type: 'python',
        style: 'function',
        path: 'predictor.py',
        models: { path: 's3://bucket/iris.pkl' },
        pythonPath: 'lib',
        metadata: { region: 'us-west-2' },
      });
      expect(spec.networking).toEqual({ endpoint: '/v1/iris', timeoutSeconds: 600 });
    });
  });

  describe('with kind: deployment', () => {
    const yaml = `- kind: deployment
  name: iris
  python_root: src/
- kind: api
  name: iris
  python: {inference: src/inference.py}
- kind: api
  name: own-path
  python_path: lib
  python: {inference: inference.py}
`;

    test('GIVEN a deployment with python_root WHEN read THEN its APIs take it unless they set python_path; it deploys nothing', () => {
      const config = parseConfig(yaml, 'cortex.yaml');
      expect(config.specs.map((s) => s.name)).toEqual(['iris', 'own-path']);
      expect(config.apis.map((a) => a.predictor?.pythonPath)).toEqual(['src/', 'lib']);
      expect(config.apis[0].source).toEqual({ file: 'cortex.yaml', line: 4, column: 3 });
    });
  });

  describe('rules, each with its message', () => {
    test.each<[string, Record<string, any>, string[]]>([
      ['no form', { python: undefined }, ['<props>: iris: must have exactly one of python, tensorflow, onnx or predictor, got none']],
      [
        'two forms',
        { onnx: { model: 'm.onnx' } },
        ['<props>: iris: must have exactly one of python, tensorflow, onnx or predictor, got python and onnx'],
      ],
      [
        'two forms, each with its own problem: all are reported at once',
        { python: { inference: 'inference.txt' }, onnx: { signature_key: 'sk' } },
        [
          '<props>: iris: must have exactly one of python, tensorflow, onnx or predictor, got python and onnx',
          '<props>: iris.python.inference: must be a Python file (ending in .py), relative to the cortex.yaml\'s directory, got "inference.txt"',
          '<props>: iris.onnx.signature_key: unknown field "signature_key"; signature_key applies to tensorflow models only',
          '<props>: iris.onnx.model: required',
        ],
      ],
      [
        'python without inference',
        { python: { inference: undefined, predictor: 'i.py' } },
        [
          '<props>: iris.python.predictor: unknown field "predictor"; use inference (the module with init and predict)',
          '<props>: iris.python.inference: required',
        ],
      ],
      [
        'a module that is not a Python file',
        { python: { inference: 'inference.txt' } },
        ['<props>: iris.python.inference: must be a Python file (ending in .py), relative to the cortex.yaml\'s directory, got "inference.txt"'],
      ],
      [
        'an absolute module path',
        { python: { inference: '/src/inference.py' } },
        ['<props>: iris.python.inference: must be a path inside the cortex.yaml\'s directory, relative to it (such as inference.py), got "/src/inference.py"'],
      ],
      [
        'a module path climbing out',
        { python: { inference: '../inference.py' } },
        ['<props>: iris.python.inference: must be a path inside the cortex.yaml\'s directory, relative to it (such as inference.py), got "../inference.py"'],
      ],
      ['onnx without model', { python: undefined, onnx: { request_handler: 'h.py' } }, ['<props>: iris.onnx.model: required']],
      [
        'a model on another scheme, and a signature key on onnx',
        { python: undefined, onnx: { model: 'gs://bucket/m.onnx', signature_key: 'sk' } },
        [
          '<props>: iris.onnx.signature_key: unknown field "signature_key"; signature_key applies to tensorflow models only',
          '<props>: iris.onnx.model: must be an s3:// path (s3://bucket/key) or a path inside the cortex.yaml\'s directory, got "gs://bucket/m.onnx"',
        ],
      ],
      [
        'an S3 path with no bucket, and a request handler that is not text',
        { python: undefined, tensorflow: { model: 's3://', request_handler: 5 } },
        [
          '<props>: iris.tensorflow.model: must be an s3:// path (s3://bucket/key) or a path inside the cortex.yaml\'s directory, got "s3://"',
          '<props>: iris.tensorflow.request_handler: must be a string, got 5 (quote it: "5")',
        ],
      ],
      ['predictor without path', { python: undefined, predictor: { model: 'm.pkl' } }, ['<props>: iris.predictor.path: required']],
      [
        'the predictor form with top-level metadata and python_path, and RealtimeAPI\'s predictor fields',
        { python: undefined, metadata: { a: 1 }, python_path: 'src', predictor: { type: 'python', path: 'p.py', config: {} } },
        [
          '<props>: iris.predictor.type: unknown field "type"; predictor.type is from kind RealtimeAPI (a PythonPredictor class): write the API as kind RealtimeAPI, or drop type for a module with init() and predict()',
          '<props>: iris.predictor.config: unknown field "config"; config is from kind RealtimeAPI; kind: api hands predictor.metadata to init() and predict()',
          '<props>: iris.metadata: in the predictor form, metadata belongs under predictor (predictor.metadata)',
          '<props>: iris.python_path: in the predictor form, python_path belongs under predictor (predictor.python_path)',
        ],
      ],
      [
        'Cortex 0.8\'s top-level model fields, and RealtimeAPI\'s sections',
        { model: 's3://b/m', model_format: 'onnx', request_handler: 'h.py', pod: {}, autoscaling: {}, networking: {} },
        [
          '<props>: iris.model: unknown field "model"; model at the top level is the format of Cortex 0.8 and earlier; put it under tensorflow or onnx (onnx.model)',
          '<props>: iris.model_format: unknown field "model_format"; model_format is from Cortex 0.8 and earlier; write tensorflow: {model, request_handler} or onnx: {model, request_handler}',
          '<props>: iris.request_handler: unknown field "request_handler"; request_handler belongs under tensorflow or onnx (onnx.request_handler)',
          '<props>: iris.pod: unknown field "pod"; pod belongs to kind RealtimeAPI (its container form); kind: api serves python, tensorflow, onnx or predictor',
          '<props>: iris.autoscaling: unknown field "autoscaling"; in kind: api, min_replicas, max_replicas, init_replicas and target_cpu_utilization belong under compute',
          '<props>: iris.networking: unknown field "networking"; kind: api sets its endpoint at the top level (endpoint: /path)',
        ],
      ],
      ['a misspelt field', { metdata: {} }, ['<props>: iris.metdata: unknown field "metdata"; did you mean "metadata"?']],
      [
        'bad metadata, python_path, endpoint and tracker',
        { metadata: [1], python_path: '/abs', endpoint: 'iris', tracker: { model_type: 'cls' } },
        [
          '<props>: iris.metadata: must be a mapping, got a list',
          '<props>: iris.python_path: must be a path inside the cortex.yaml\'s directory, relative to it (a directory such as src/), got "/abs"',
          '<props>: iris.tracker.model_type: must be one of classification, regression, got "cls"',
          '<props>: iris.endpoint: must start with "/", got "iris"',
        ],
      ],
      ['a tracker without model_type', { tracker: { key: 'label' } }, ['<props>: iris.tracker.model_type: required: one of classification, regression']],
      [
        'min_replicas 0',
        { compute: { min_replicas: 0 } },
        [
          '<props>: iris.compute.min_replicas: must be an integer >= 1, got 0: kind: api scales on CPU utilisation, which cannot scale to zero (with no pod there is no CPU to measure)',
        ],
      ],
      ['max_replicas below min_replicas', { compute: { min_replicas: 5, max_replicas: 3 } }, ['<props>: iris.compute.max_replicas: must be >= min_replicas (5), got 3']],
      ['min_replicas above the default max_replicas', { compute: { min_replicas: 200 } }, ['<props>: iris.compute.min_replicas: must be <= max_replicas (100), got 200']],
      ['init_replicas below min_replicas', { compute: { min_replicas: 5, init_replicas: 3 } }, ['<props>: iris.compute.init_replicas: must be >= min_replicas (5), got 3']],
      ['init_replicas above max_replicas', { compute: { max_replicas: 5, init_replicas: 7 } }, ['<props>: iris.compute.init_replicas: must be <= max_replicas (5), got 7']],
      [
        'min_replicas 0 and init_replicas above max_replicas: both reported',
        { compute: { min_replicas: 0, max_replicas: 2, init_replicas: 5 } },
        [
          '<props>: iris.compute.min_replicas: must be an integer >= 1, got 0: kind: api scales on CPU utilisation, which cannot scale to zero (with no pod there is no CPU to measure)',
          '<props>: iris.compute.init_replicas: must be <= max_replicas (2), got 5',
        ],
      ],
      [
        'target_cpu_utilization out of range, or not whole',
        { compute: { target_cpu_utilization: 101 } },
        ['<props>: iris.compute.target_cpu_utilization: must be an integer from 1 to 100, got 101'],
      ],
      ['a fractional target', { compute: { target_cpu_utilization: 0.5 } }, ['<props>: iris.compute.target_cpu_utilization: must be an integer from 1 to 100, got 0.5']],
      [
        'cpu null (no CPU request to measure against)',
        { compute: { cpu: null } },
        [
          '<props>: iris.compute.cpu: must be a CPU quantity such as 200m, 0.5 or 2, got null: kind: api scales on CPU utilisation, which is measured against the CPU request',
        ],
      ],
      [
        'small or negative resources',
        { compute: { cpu: '10m', mem: '1Mi', gpu: -1 } },
        [
          '<props>: iris.compute.cpu: must be at least 20m, got "10m"',
          '<props>: iris.compute.mem: must be at least 20Mi, got "1Mi"',
          '<props>: iris.compute.gpu: must be an integer >= 0, got -1',
        ],
      ],
      [
        'concurrency limits out of range',
        { compute: { max_concurrency: 0, max_queue_length: 30001 } },
        [
          '<props>: iris.compute.max_concurrency: must be an integer from 1 to 10000, got 0',
          '<props>: iris.compute.max_queue_length: must be an integer from 0 to 30000, got 30001',
        ],
      ],
      [
        'fields of later Cortex versions in compute',
        { compute: { inf: 1, target_in_flight: 2, shm: '1Gi' } },
        [
          '<props>: iris.compute.inf: unknown field "inf"; Inferentia (inf) came after kind: api; write the API as kind RealtimeAPI to ask for inf',
          '<props>: iris.compute.target_in_flight: unknown field "target_in_flight"; kind: api scales on CPU utilisation: set target_cpu_utilization (kind RealtimeAPI scales on in-flight requests)',
          '<props>: iris.compute.shm: unknown field "shm"; shm came after kind: api; write the API as kind RealtimeAPI to size /dev/shm',
        ],
      ],
    ])('GIVEN %s WHEN validated THEN %p', (_, overrides, expected) => {
      expect(legacyProblems(overrides)).toEqual(expected);
    });

    test('GIVEN several problems in a YAML file WHEN validated THEN each is placed at its line and column', () => {
      const yaml = `- kind: api
  name: iris
  python:
    inference: inference.txt
  compute:
    min_replicas: 0
    target_cpu_utilization: 150
`;
      expect(problemsOf(yaml)).toEqual([
        'cortex.yaml:4:16: iris.python.inference: must be a Python file (ending in .py), relative to the cortex.yaml\'s directory, got "inference.txt"',
        'cortex.yaml:6:19: iris.compute.min_replicas: must be an integer >= 1, got 0: kind: api scales on CPU utilisation, which cannot scale to zero (with no pod there is no CPU to measure)',
        'cortex.yaml:7:29: iris.compute.target_cpu_utilization: must be an integer from 1 to 100, got 150',
      ]);
    });
  });

  describe('in the file', () => {
    test('GIVEN two kind: api entries on one endpoint, written or default WHEN validated THEN the later one is told which setting to change', () => {
      expect(
        objectProblems([
          legacyApi({ name: 'a' }),
          legacyApi({ name: 'b', endpoint: '/a' }),
          legacyApi({ name: 'c', endpoint: '/d' }),
          legacyApi({ name: 'd' }),
        ]),
      ).toEqual([
        '<props>: b.endpoint: "/a" is already the endpoint of a; endpoints must be unique in the file',
        '<props>: d.endpoint: "/d" (the default, from the name) is already the endpoint of c; set endpoint to another path',
      ]);
    });

    test('GIVEN a traffic splitter WHEN it names a kind: api entry THEN that is a RealtimeAPI of the file', () => {
      const config = configFromObject([legacyApi(), { name: 'split', kind: 'TrafficSplitter', apis: [{ name: 'iris', weight: 100 }] }]);
      expect(config.splitters[0].apis).toEqual([{ name: 'iris', weight: 100, shadow: false }]);
    });

    test('GIVEN kind: api and RealtimeAPI entries WHEN they share a name THEN the second is a duplicate', () => {
      expect(objectProblems([legacyApi(), { name: 'iris', kind: 'RealtimeAPI', predictor: { type: 'python', path: 'p.py' } }])).toEqual([
        '<props>: iris.name: duplicate name "iris" (also entry [0]); names must be unique in the file',
      ]);
    });
  });
});
