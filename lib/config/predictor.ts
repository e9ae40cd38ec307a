/** `predictor` (or `handler`): the Python predictor of a predictor-form API (Cortex v0.30). */
import { readShm } from './compute';
import { POD_LIMITS, PREDICTOR_DEFAULTS, PREDICTOR_LIMITS } from './defaults';
import { describeValue, isMapping } from './describe-value';
import { readEnv } from './env';
import { Field } from './field';
import { readBoolean, readDuration, readEnum, readInteger, readSection, readString, Section } from './field-readers';
import { readModels, readSignatureKey } from './models';
import { readImage } from './pod';
import { PredictorSpec, PredictorType } from './types';

export const PREDICTOR_TYPES: readonly PredictorType[] = ['python', 'tensorflow', 'onnx'];
export const LOG_LEVELS: readonly PredictorSpec['logLevel'][] = ['debug', 'info', 'warning', 'error'];

export const DEPENDENCIES_KEYS = ['pip', 'conda', 'shell'] as const;
export const SERVER_SIDE_BATCHING_KEYS = ['max_batch_size', 'batch_interval'] as const;

export const PREDICTOR_KEYS = [
  'type',
  'path',
  'config',
  'env',
  'image',
  'tensorflow_serving_image',
  'log_level',
  'dependencies',
  'models',
  'multi_model_reloading',
  'server_side_batching',
  'processes_per_replica',
  'threads_per_process',
  'shm_size',
  'python_path',
  'signature_key',
  'allow_debug',
] as const;

const PREDICTOR_HINTS = {
  model_path: 'model_path is from Cortex v0.25 and earlier; use models.path (multi_model_reloading.path for type python)',
  compute: 'compute belongs at the top level of the API, beside predictor',
  max_batch_size: 'max_batch_size belongs under server_side_batching',
  batch_interval: 'batch_interval belongs under server_side_batching',
};

/** What the predictor section gives the API besides its spec. */
export interface PredictorReading {
  readonly spec?: PredictorSpec;
  /** `shm_size`, which becomes the runtime container's compute.shm. */
  readonly shmSize?: string;
  readonly shmSizeField: Field;
  /** processes_per_replica × threads_per_process, when both are valid: the pod's max_concurrency. */
  readonly maxConcurrency?: number;
  /** That product written out for messages: "4 × 16". */
  readonly product: string;
  readonly threadsField: Field;
}

export function readPredictor(field: Field): PredictorReading {
  const section = readSection(field, PREDICTOR_KEYS, { required: true, hints: PREDICTOR_HINTS });
  const shmSizeField = field.child('shm_size');
  const threadsField = field.child('threads_per_process');
  if (!section) return { shmSizeField, threadsField, product: '' };

  const type = readEnum(section.get('type'), PREDICTOR_TYPES, { required: true });
  const path = readString(section.get('path'), { required: true });
  const config = readPredictorConfig(section.get('config'));
  const env = readEnv(section.get('env'));
  const image = readImage(section.get('image'), { required: false });
  rejectUnsupported(section.get('tensorflow_serving_image'));
  const logLevel = readEnum(section.get('log_level'), LOG_LEVELS, { default: PREDICTOR_DEFAULTS.logLevel });
  const dependencies = readDependencies(section.get('dependencies'));
  const models = readPredictorModels(section, type);

  const processesField = section.get('processes_per_replica');
  const processesPerReplica = readInteger(processesField, {
    min: 1,
    max: PREDICTOR_LIMITS.maxProcessesPerReplica,
    default: PREDICTOR_DEFAULTS.processesPerReplica,
  });
  const threadsPerProcess = readInteger(threadsField, {
    min: 1,
    max: PREDICTOR_LIMITS.maxThreadsPerProcess,
    default: PREDICTOR_DEFAULTS.threadsPerProcess,
  });
  const product = `${describeValue(processesPerReplica)} × ${describeValue(threadsPerProcess)}`;
  let maxConcurrency: number | undefined;
  if (processesPerReplica !== undefined && threadsPerProcess !== undefined) {
    maxConcurrency = processesPerReplica * threadsPerProcess;
    if (maxConcurrency > POD_LIMITS.maxConcurrency) {
      threadsField.problem(
        `processes_per_replica × threads_per_process must be <= ${POD_LIMITS.maxConcurrency}, got ${product} = ${maxConcurrency}`,
      );
      maxConcurrency = undefined;
    }
  }
  const serverSideBatching = readServerSideBatching(section.get('server_side_batching'), threadsPerProcess);

  const shmSize = readShm(shmSizeField);
  const pythonPath = readString(section.get('python_path'));
  const signatureKey = readSignatureKey(section.get('signature_key'), type);
  // No default here: absent means "the place decides" (off in the cluster, on under `cortex local`).
  const allowDebug = readBoolean(section.get('allow_debug'));

  const reading = { shmSize, shmSizeField, maxConcurrency, product, threadsField };
  if (
    type === undefined ||
    path === undefined ||
    config === undefined ||
    env === undefined ||
    logLevel === undefined ||
    dependencies === undefined ||
    processesPerReplica === undefined ||
    threadsPerProcess === undefined
  ) {
    return reading;
  }
  const spec: PredictorSpec = {
    type,
    path,
    config,
    env: env.env,
    ...(Object.keys(env.secretEnv).length > 0 ? { secretEnv: env.secretEnv } : {}),
    ...(image !== undefined ? { image } : {}),
    logLevel,
    dependencies,
    ...(models !== undefined ? { models } : {}),
    ...(serverSideBatching !== undefined ? { serverSideBatching } : {}),
    processesPerReplica,
    threadsPerProcess,
    ...(pythonPath !== undefined ? { pythonPath } : {}),
    ...(signatureKey !== undefined ? { signatureKey } : {}),
    ...(allowDebug !== undefined ? { allowDebug } : {}),
  };
  return { ...reading, spec };
}

function rejectUnsupported(field: Field): void {
  if (field.exists) {
    field.keyProblem(`${field.key} is not supported yet by cortex-cdk; remove it (the runtime image is set with image)`);
  }
}

/**
 * `models` serves tensorflow and onnx predictors; a python predictor loads its models itself,
 * with `multi_model_reloading` naming them. Each key on the wrong type says which one to use.
 */
function readPredictorModels(section: Section, type: PredictorType | undefined) {
  const modelsField = section.get('models');
  const reloadingField = section.get('multi_model_reloading');
  if (type === 'python') {
    if (modelsField.exists) {
      modelsField.keyProblem('models is for types tensorflow and onnx; use multi_model_reloading for type python');
    }
    return readModels(reloadingField, type);
  }
  if (type !== undefined) {
    if (reloadingField.exists) {
      reloadingField.keyProblem(`multi_model_reloading is for type python; use models for type ${type}`);
      if (!modelsField.exists) return undefined;
    }
    if (!modelsField.isSet) {
      modelsField.missing(`required for type ${type} (the models to serve: path, paths or dir)`);
      return undefined;
    }
    return readModels(modelsField, type);
  }
  // The type is invalid: still check whichever is there, for its own problems.
  return readModels(modelsField.exists ? modelsField : reloadingField, type);
}

/**
 * Handed to the predictor's constructor as is (`predictor.config`, or `kind: api`'s `metadata`): any
 * mapping, as long as it can be serialized.
 */
export function readPredictorConfig(field: Field): Record<string, unknown> | undefined {
  if (!field.isSet) return {};
  if (!isMapping(field.value)) {
    field.problem(`must be a mapping, got ${describeValue(field.value)}`);
    return undefined;
  }
  if (isCyclic(field.value, new Set())) {
    field.problem('must not refer to itself through a YAML alias (it is passed to the predictor as JSON)');
    return undefined;
  }
  // A copy, as the predictor will receive it: a spec must not change when the caller's object does.
  try {
    return JSON.parse(JSON.stringify(field.value)) as Record<string, unknown>;
  } catch (e) {
    field.problem(`must be serializable as JSON (it is passed to the predictor as JSON): ${(e as Error).message}`);
    return undefined;
  }
}

function isCyclic(value: unknown, ancestors: Set<unknown>): boolean {
  if (typeof value !== 'object' || value === null) return false;
  if (ancestors.has(value)) return true;
  ancestors.add(value);
  const children = Array.isArray(value) ? value : Object.values(value);
  const cyclic = children.some((child) => isCyclic(child, ancestors));
  ancestors.delete(value);
  return cyclic;
}

function readDependencies(field: Field): PredictorSpec['dependencies'] | undefined {
  const section = readSection(field, DEPENDENCIES_KEYS);
  if (!section) return undefined;
  const pip = readString(section.get('pip'), { default: PREDICTOR_DEFAULTS.pip });
  const conda = readString(section.get('conda'), { default: PREDICTOR_DEFAULTS.conda });
  const shell = readString(section.get('shell'), { default: PREDICTOR_DEFAULTS.shell });
  if (pip === undefined || conda === undefined || shell === undefined) return undefined;
  return { pip, conda, shell };
}

/**
 * Each request waiting to be batched holds one of the process's threads, so a batch can never
 * grow past threads_per_process.
 */
function readServerSideBatching(
  field: Field,
  threadsPerProcess: number | undefined,
): PredictorSpec['serverSideBatching'] | undefined {
  const section = readSection(field, SERVER_SIDE_BATCHING_KEYS);
  if (!section || !field.isSet) return undefined;
  const sizeField = section.get('max_batch_size');
  const maxBatchSize = readInteger(sizeField, {
    min: PREDICTOR_LIMITS.minBatchSize,
    max: PREDICTOR_LIMITS.maxBatchSize,
    required: true,
  });
  const batchIntervalSeconds = readDuration(section.get('batch_interval'), { min: 0, minExclusive: true, required: true });
  if (maxBatchSize !== undefined && threadsPerProcess !== undefined && maxBatchSize > threadsPerProcess) {
    sizeField.problem(
      `must be <= threads_per_process (${threadsPerProcess}), got ${maxBatchSize}; each request waiting in a batch holds one thread`,
    );
    return undefined;
  }
  if (maxBatchSize === undefined || batchIntervalSeconds === undefined) return undefined;
  return { maxBatchSize, batchIntervalSeconds };
}
