/**
 * `kind: api`: the oldest Cortex format (0.10 – 0.12), read into today's RealtimeAPI model.
 *
 * - First form: `python.inference` (a module with an optional `init` and a required `predict`), or an
 *   exported model — `tensorflow {model, request_handler, signature_key}` or `onnx {model,
 *   request_handler}` — with optional `pre_inference`/`post_inference` in the request handler;
 *   `metadata` at the top level.
 * - Second form: `predictor {path, model, python_path, metadata}` (`init(model_path, metadata)`,
 *   `predict(sample, metadata)`), and `endpoint`.
 *
 * Both have `tracker`, and a `compute` that also holds the replica counts and the CPU utilisation to
 * scale on. The result is a predictor-form spec of `style: 'function'`, served by the same Python
 * runtime, scaled on CPU (`autoscaling.targetCpuUtilization`). docs/configuration.md, "kind: api".
 */
import { ApiIdentity } from './container-api';
import {
  AUTOSCALING_DEFAULTS,
  COMPUTE_LIMITS,
  LEGACY_API_DEFAULTS,
  LEGACY_API_LIMITS,
  NETWORKING_DEFAULTS,
  POD_LIMITS,
  PREDICTOR_DEFAULTS,
  PREDICTOR_LIMITS,
  UPDATE_STRATEGY_DEFAULTS,
} from './defaults';
import { describeValue } from './describe-value';
import { Field } from './field';
import { KeyHints, readExactlyOne, readInteger, readQuantity, readSection, readString, Section } from './field-readers';
import { LegacyDeployment, readRelativePath } from './legacy-deployment';
import { readEndpoint } from './networking';
import { readPredictorConfig } from './predictor';
import { runtimePod } from './predictor-api';
import { readTracker } from './tracker';
import { AutoscalingSpec, ComputeSpec, NetworkingSpec, PredictorSpec, PredictorType, RealtimeApiSpec } from './types';

export const LEGACY_API_KEYS = [
  'name',
  'kind',
  'endpoint',
  'python_path',
  'python',
  'tensorflow',
  'onnx',
  'predictor',
  'tracker',
  'compute',
  'metadata',
] as const;

/** The sections that say what the API serves; exactly one per API. */
export const LEGACY_FORMS = ['python', 'tensorflow', 'onnx', 'predictor'] as const;
export type LegacyForm = (typeof LEGACY_FORMS)[number];

export const LEGACY_COMPUTE_KEYS = [
  'min_replicas',
  'max_replicas',
  'init_replicas',
  'target_cpu_utilization',
  'cpu',
  'gpu',
  'mem',
  'max_concurrency',
  'max_queue_length',
] as const;

const LEGACY_API_HINTS: KeyHints = {
  model: 'model at the top level is the format of Cortex 0.8 and earlier; put it under tensorflow or onnx (onnx.model)',
  model_format: 'model_format is from Cortex 0.8 and earlier; write tensorflow: {model, request_handler} or onnx: {model, request_handler}',
  request_handler: 'request_handler belongs under tensorflow or onnx (onnx.request_handler)',
  pod: 'pod belongs to kind RealtimeAPI (its container form); kind: api serves python, tensorflow, onnx or predictor',
  autoscaling: 'in kind: api, min_replicas, max_replicas, init_replicas and target_cpu_utilization belong under compute',
  networking: 'kind: api sets its endpoint at the top level (endpoint: /path)',
  handler: 'handler belongs to kind RealtimeAPI; kind: api has predictor {path, model, python_path, metadata}',
  config: 'config belongs to kind RealtimeAPI (predictor.config); kind: api hands metadata to init() and predict()',
  iam_policy_arns:
    "iam_policy_arns came after kind: api; write the API as kind RealtimeAPI to name policies (its model's s3:// location is readable without them)",
};

const PREDICTOR_SECTION_KEYS = ['path', 'model', 'python_path', 'metadata'] as const;
const PREDICTOR_SECTION_HINTS: KeyHints = {
  type: 'predictor.type is from kind RealtimeAPI (a PythonPredictor class): write the API as kind RealtimeAPI, or drop type for a module with init() and predict()',
  config: 'config is from kind RealtimeAPI; kind: api hands predictor.metadata to init() and predict()',
  models: 'models is from kind RealtimeAPI; kind: api names one model: predictor.model',
  inference: 'inference belongs to the first form (python.inference); the predictor form uses predictor.path',
};

const LEGACY_COMPUTE_HINTS: KeyHints = {
  inf: 'Inferentia (inf) came after kind: api; write the API as kind RealtimeAPI to ask for inf',
  shm: 'shm came after kind: api; write the API as kind RealtimeAPI to size /dev/shm',
  target_in_flight: 'kind: api scales on CPU utilisation: set target_cpu_utilization (kind RealtimeAPI scales on in-flight requests)',
  target_replica_concurrency: 'kind: api scales on CPU utilisation: set target_cpu_utilization',
  max_replica_concurrency: 'in kind: api, max_concurrency and max_queue_length (cortex-cdk additions) bound the requests a replica holds',
};

const TYPE_OF_FORM: Readonly<Record<LegacyForm, PredictorType>> = {
  python: 'python',
  predictor: 'python',
  tensorflow: 'tensorflow',
  onnx: 'onnx',
};

/** What the form's own section gives: the user's module, the model, and what else it may set. */
interface FormReading {
  /** The module (`python.inference`, `predictor.path`, `request_handler`); undefined when none or invalid. */
  readonly path?: string;
  readonly model?: string;
  readonly pythonPath?: string;
  readonly metadata?: Record<string, unknown>;
  readonly signatureKey?: string;
  /** False when a field of the section is invalid (its problem is reported). */
  readonly valid: boolean;
}

/** The `kind: api` entry; `deployment`: what the file's `kind: deployment` entry gives its APIs. */
export function readLegacyApi(entry: Field, identity: ApiIdentity, deployment: LegacyDeployment = {}): RealtimeApiSpec | undefined {
  const section = readSection(entry, LEGACY_API_KEYS, { hints: LEGACY_API_HINTS });
  if (!section) return undefined;

  const form = readExactlyOne(section, LEGACY_FORMS) as LegacyForm | undefined;
  const reading = form === undefined ? undefined : readForm(section, form);
  if (form === undefined) {
    // Several forms: each one's own problems are reported too, so that one run lists them all.
    for (const present of LEGACY_FORMS.filter((key) => section.has(key))) readForm(section, present);
  }
  const topLevel = readTopLevel(section, form);
  const tracker = readTracker(section.get('tracker'));
  const compute = readLegacyCompute(section.get('compute'));
  const networking = readLegacyEndpoint(section.get('endpoint'), identity.name);

  if (identity.name === undefined || form === undefined || !reading?.valid || !topLevel.valid || !compute || !networking) {
    return undefined;
  }
  const pythonPath = reading.pythonPath ?? topLevel.pythonPath ?? deployment.pythonRoot;
  const signatureKey = reading.signatureKey;
  const predictor: PredictorSpec = {
    type: TYPE_OF_FORM[form],
    style: 'function',
    ...(reading.path !== undefined ? { path: reading.path } : {}),
    config: {},
    metadata: reading.metadata ?? topLevel.metadata ?? {},
    env: {},
    logLevel: PREDICTOR_DEFAULTS.logLevel,
    dependencies: { pip: PREDICTOR_DEFAULTS.pip, conda: PREDICTOR_DEFAULTS.conda, shell: PREDICTOR_DEFAULTS.shell },
    ...(reading.model !== undefined ? { models: { path: reading.model } } : {}),
    processesPerReplica: 1,
    // One thread per request the proxy lets in: one request at a time unless max_concurrency says otherwise.
    threadsPerProcess: compute.maxConcurrency,
    ...(pythonPath !== undefined ? { pythonPath } : {}),
    ...(signatureKey !== undefined ? { signatureKey } : {}),
  };
  return {
    kind: 'RealtimeAPI',
    name: identity.name,
    pod: runtimePod(predictor, compute.spec, compute.maxConcurrency, compute.maxQueueLength),
    predictor,
    ...(tracker ? { tracker } : {}),
    autoscaling: compute.autoscaling,
    updateStrategy: { ...UPDATE_STRATEGY_DEFAULTS },
    networking,
    source: identity.source,
  };
}

function readForm(section: Section, form: LegacyForm): FormReading {
  const field = section.get(form);
  switch (form) {
    case 'python': {
      const python = readSection(field, ['inference'], {
        required: true,
        hints: { predictor: 'use inference (the module with init and predict)', path: 'use inference (the module with init and predict)' },
      });
      if (!python) return { valid: false };
      const path = readModulePath(python.get('inference'), { required: true });
      return { path, valid: path !== undefined };
    }
    case 'tensorflow':
    case 'onnx': {
      const keys = form === 'tensorflow' ? ['model', 'request_handler', 'signature_key'] : ['model', 'request_handler'];
      const hints: KeyHints =
        form === 'onnx' ? { signature_key: 'signature_key applies to tensorflow models only' } : {};
      const model = readSection(field, keys, { required: true, hints });
      if (!model) return { valid: false };
      const modelPath = readModelLocation(model.get('model'), { required: true });
      const handlerField = model.get('request_handler');
      const path = readModulePath(handlerField);
      const signatureKeyField = model.get('signature_key');
      const signatureKey = form === 'tensorflow' ? readString(signatureKeyField) : undefined;
      const valid =
        modelPath !== undefined &&
        (path !== undefined || !handlerField.isSet) &&
        (signatureKey !== undefined || !signatureKeyField.isSet);
      return { path, model: modelPath, signatureKey, valid };
    }
    case 'predictor': {
      const predictor = readSection(field, PREDICTOR_SECTION_KEYS, { required: true, hints: PREDICTOR_SECTION_HINTS });
      if (!predictor) return { valid: false };
      const path = readModulePath(predictor.get('path'), { required: true });
      const modelField = predictor.get('model');
      const model = readModelLocation(modelField);
      const pythonPathField = predictor.get('python_path');
      const pythonPath = readRelativePath(pythonPathField, 'a directory such as src/');
      const metadata = readPredictorConfig(predictor.get('metadata'));
      const valid =
        path !== undefined &&
        (model !== undefined || !modelField.isSet) &&
        (pythonPath !== undefined || !pythonPathField.isSet) &&
        metadata !== undefined;
      return { path, model, pythonPath, metadata: predictor.get('metadata').isSet ? metadata : undefined, valid };
    }
  }
}

/**
 * The first form's top-level `metadata` and `python_path`. The predictor form keeps both inside
 * `predictor`: set at the top level there, each says where it belongs.
 */
function readTopLevel(section: Section, form: LegacyForm | undefined): { metadata?: Record<string, unknown>; pythonPath?: string; valid: boolean } {
  const metadataField = section.get('metadata');
  const pythonPathField = section.get('python_path');
  if (form === 'predictor') {
    let valid = true;
    for (const field of [metadataField, pythonPathField]) {
      if (field.exists) {
        field.keyProblem(`in the predictor form, ${field.key} belongs under predictor (predictor.${field.key})`);
        valid = false;
      }
    }
    return { valid };
  }
  const metadata = readPredictorConfig(metadataField);
  const pythonPath = readRelativePath(pythonPathField, 'a directory such as src/');
  return {
    ...(metadataField.isSet && metadata !== undefined ? { metadata } : {}),
    ...(pythonPath !== undefined ? { pythonPath } : {}),
    valid: metadata !== undefined && (pythonPath !== undefined || !pythonPathField.isSet),
  };
}

/** A Python file of the project: `inference.py`, `handlers/iris.py`. */
function readModulePath(field: Field, options: { required?: boolean } = {}): string | undefined {
  const path = readRelativePath(field, 'such as inference.py', options);
  if (path !== undefined && !path.endsWith('.py')) {
    field.problem(`must be a Python file (ending in .py), relative to the cortex.yaml's directory, got ${describeValue(path)}`);
    return undefined;
  }
  return path;
}

const S3_PATH = /^s3:\/\/[^/\s]+(\/\S*)?$/;

/**
 * Where a model is: `s3://bucket/key` (a file or a prefix), or a path inside the project. The
 * runtime fetches it before `init` runs; other schemes have no fetcher.
 */
function readModelLocation(field: Field, options: { required?: boolean } = {}): string | undefined {
  const value = readString(field, options);
  if (value === undefined) return undefined;
  if (value.includes('://')) {
    if (!S3_PATH.test(value)) {
      field.problem(`must be an s3:// path (s3://bucket/key) or a path inside the cortex.yaml's directory, got ${describeValue(value)}`);
      return undefined;
    }
    return value;
  }
  return readRelativePath(field, 'model.onnx, or s3://bucket/key');
}

function readLegacyEndpoint(field: Field, apiName: string | undefined): NetworkingSpec | undefined {
  const endpoint = readEndpoint(field, apiName);
  if (endpoint === undefined) return undefined;
  return { endpoint, timeoutSeconds: NETWORKING_DEFAULTS.timeoutSeconds };
}

/** What `kind: api`'s compute comes to: the runtime container's resources, the proxy's limits and the autoscaling. */
export interface LegacyCompute {
  readonly spec: ComputeSpec;
  readonly maxConcurrency: number;
  readonly maxQueueLength: number;
  readonly autoscaling: AutoscalingSpec;
}

export function readLegacyCompute(field: Field): LegacyCompute | undefined {
  const section = readSection(field, LEGACY_COMPUTE_KEYS, { hints: LEGACY_COMPUTE_HINTS });
  if (!section) return undefined;

  const cpuField = section.get('cpu');
  let cpu: string | undefined;
  if (cpuField.exists && cpuField.value === null) {
    cpuField.problem(
      'must be a CPU quantity such as 200m, 0.5 or 2, got null: kind: api scales on CPU utilisation, which is measured against the CPU request',
    );
  } else {
    cpu = readQuantity(cpuField, { min: COMPUTE_LIMITS.minCpu, examples: '200m, 0.5 or 2', default: LEGACY_API_DEFAULTS.cpu });
  }
  const mem = readQuantity(section.get('mem'), { min: COMPUTE_LIMITS.minMem, examples: '512Mi, 2G or 2.5Gi' });
  const memValid = mem !== undefined || !section.has('mem');
  const gpu = readInteger(section.get('gpu'), { min: 0, default: LEGACY_API_DEFAULTS.gpu });

  const maxConcurrency = readInteger(section.get('max_concurrency'), {
    min: 1,
    max: PREDICTOR_LIMITS.maxThreadsPerProcess,
    default: LEGACY_API_DEFAULTS.maxConcurrency,
  });
  const maxQueueLength = readInteger(section.get('max_queue_length'), {
    min: POD_LIMITS.minQueueLength,
    max: POD_LIMITS.maxQueueLength,
    default: LEGACY_API_DEFAULTS.maxQueueLength,
  });
  const replicas = readReplicas(section);
  const targetCpuUtilization = readInteger(section.get('target_cpu_utilization'), {
    min: LEGACY_API_LIMITS.minTargetCpuUtilization,
    max: LEGACY_API_LIMITS.maxTargetCpuUtilization,
    default: LEGACY_API_DEFAULTS.targetCpuUtilization,
  });

  if (
    cpu === undefined ||
    !memValid ||
    gpu === undefined ||
    maxConcurrency === undefined ||
    maxQueueLength === undefined ||
    !replicas ||
    targetCpuUtilization === undefined
  ) {
    return undefined;
  }
  return {
    spec: { cpu, ...(mem !== undefined ? { mem } : {}), gpu, inf: 0 },
    maxConcurrency,
    maxQueueLength,
    autoscaling: {
      ...replicas,
      targetInFlight: maxConcurrency,
      targetCpuUtilization,
      windowSeconds: AUTOSCALING_DEFAULTS.windowSeconds,
      downscaleStabilizationPeriodSeconds: AUTOSCALING_DEFAULTS.downscaleStabilizationPeriodSeconds,
      upscaleStabilizationPeriodSeconds: AUTOSCALING_DEFAULTS.upscaleStabilizationPeriodSeconds,
      maxDownscaleFactor: AUTOSCALING_DEFAULTS.maxDownscaleFactor,
      maxUpscaleFactor: AUTOSCALING_DEFAULTS.maxUpscaleFactor,
      downscaleTolerance: AUTOSCALING_DEFAULTS.downscaleTolerance,
      upscaleTolerance: AUTOSCALING_DEFAULTS.upscaleTolerance,
    },
  };
}

/** min ≤ init ≤ max, and min ≥ 1: a Deployment scaled on CPU cannot come back from zero pods. */
function readReplicas(section: Section): Pick<AutoscalingSpec, 'minReplicas' | 'maxReplicas' | 'initReplicas'> | undefined {
  const minField = section.get('min_replicas');
  const maxField = section.get('max_replicas');
  const initField = section.get('init_replicas');
  let minReplicas = readInteger(minField, { min: 0, default: LEGACY_API_DEFAULTS.minReplicas });
  if (minReplicas !== undefined && minReplicas < LEGACY_API_LIMITS.minReplicas) {
    minField.problem(
      `must be an integer >= ${LEGACY_API_LIMITS.minReplicas}, got ${minReplicas}: kind: api scales on CPU utilisation, which cannot scale to zero (with no pod there is no CPU to measure)`,
    );
    minReplicas = undefined;
  }
  const maxReplicas = readInteger(maxField, { min: 1, default: LEGACY_API_DEFAULTS.maxReplicas });
  const initReplicas = readInteger(initField, { min: 1, default: minReplicas });
  if (minReplicas === undefined || maxReplicas === undefined || initReplicas === undefined) {
    // min_replicas invalid: init_replicas is still checked against max_replicas, so that one run lists both.
    if (minReplicas === undefined && initField.isSet && initReplicas !== undefined && maxReplicas !== undefined && initReplicas > maxReplicas) {
      initField.problem(`must be <= max_replicas (${maxReplicas}), got ${initReplicas}`);
    }
    return undefined;
  }
  if (minReplicas > maxReplicas) {
    if (maxField.isSet) maxField.problem(`must be >= min_replicas (${minReplicas}), got ${maxReplicas}`);
    else minField.problem(`must be <= max_replicas (${maxReplicas}), got ${minReplicas}`);
    return undefined;
  }
  if (initReplicas < minReplicas) {
    initField.problem(`must be >= min_replicas (${minReplicas}), got ${initReplicas}`);
    return undefined;
  }
  if (initReplicas > maxReplicas) {
    initField.problem(`must be <= max_replicas (${maxReplicas}), got ${initReplicas}`);
    return undefined;
  }
  return { minReplicas, maxReplicas, initReplicas };
}
