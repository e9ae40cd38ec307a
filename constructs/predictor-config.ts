import type { ModelsSpec, RealtimeApiSpec, PredictorSpec, TrackerSpec } from '../lib/config/types';
import { canonicalJson } from './spec-hash';

/**
 * The contract between a predictor-form API's chart and the Python predictor runtime
 * (`images/python-predictor/`): the runtime reads its settings from one JSON file, whose path is in
 * `CORTEX_PREDICTOR_CONFIG`. Keys are Cortex's snake_case; paths are relative to the project
 * directory the runtime image holds. See docs/kubernetes-objects.md, "Predictor-form APIs".
 * A `kind: api` API adds `style: "function"` and its `metadata`; its `path` is null when it has no code
 * of its own (a tensorflow/onnx model without request handler). `allow_debug: true` is there only when
 * `predictor.allow_debug` is true (the runtime then logs payloads on `?debug=true`).
 */

/** The runtime container of a predictor-form API. */
export const PREDICTOR_CONTAINER_NAME = 'api';
/** Suffix of the ConfigMap's name: `<api>-predictor`. */
export const PREDICTOR_CONFIG_MAP_SUFFIX = 'predictor';
/** The ConfigMap key (and file name) holding the settings. */
export const PREDICTOR_CONFIG_KEY = 'predictor.json';
/** Where the ConfigMap is mounted, read-only, in the runtime container (outside the shared `/mnt`). */
export const PREDICTOR_CONFIG_DIR = '/etc/cortex';
/** The environment variable that points the runtime at the file. */
export const PREDICTOR_CONFIG_ENV = 'CORTEX_PREDICTOR_CONFIG';
/** Version of the file's layout, so that the runtime can refuse one it does not understand. */
export const PREDICTOR_CONFIG_VERSION = 1;

/** The full path of the settings file inside the runtime container. */
export const PREDICTOR_CONFIG_PATH = `${PREDICTOR_CONFIG_DIR}/${PREDICTOR_CONFIG_KEY}`;

function modelsToJson(models: ModelsSpec | undefined): Record<string, unknown> | null {
  if (models === undefined) {
    return null;
  }
  return {
    path: models.path ?? null,
    paths:
      models.paths?.map((m) => ({ name: m.name, path: m.path, signature_key: m.signatureKey ?? null })) ?? null,
    dir: models.dir ?? null,
    cache_size: models.cacheSize ?? null,
    disk_cache_size: models.diskCacheSize ?? null,
    signature_key: models.signatureKey ?? null,
  };
}

function trackerToJson(tracker: TrackerSpec | undefined): Record<string, unknown> | null {
  return tracker === undefined ? null : { key: tracker.key ?? null, model_type: tracker.modelType };
}

/** The settings file's content, as an object (every key present; absent settings are `null`). */
export function predictorSettings(
  api: RealtimeApiSpec & { predictor: PredictorSpec },
): Record<string, unknown> {
  const p = api.predictor;
  // What the runtime container was given, so that it can size itself (e.g. NeuronCore groups per process).
  const runtime = api.pod.containers.find((c) => c.name === PREDICTOR_CONTAINER_NAME) ?? api.pod.containers[0];
  return {
    version: PREDICTOR_CONFIG_VERSION,
    api_name: api.name,
    port: api.pod.port,
    type: p.type,
    path: p.path ?? null,
    config: p.config,
    models: modelsToJson(p.models),
    server_side_batching:
      p.serverSideBatching === undefined
        ? null
        : {
            max_batch_size: p.serverSideBatching.maxBatchSize,
            batch_interval_seconds: p.serverSideBatching.batchIntervalSeconds,
          },
    processes_per_replica: p.processesPerReplica,
    threads_per_process: p.threadsPerProcess,
    log_level: p.logLevel,
    python_path: p.pythonPath ?? null,
    signature_key: p.signatureKey ?? null,
    dependencies: { pip: p.dependencies.pip, conda: p.dependencies.conda, shell: p.dependencies.shell },
    tracker: trackerToJson(api.tracker),
    compute: {
      cpu: runtime.compute.cpu ?? null,
      mem: runtime.compute.mem ?? null,
      gpu: runtime.compute.gpu,
      inf: runtime.compute.inf,
    },
    // Only for kind: api, so that the settings (and the spec hash) of every class-style API stay as they were.
    ...(p.style === 'function' ? { style: p.style, metadata: p.metadata ?? {} } : {}),
    // Only when allowed, for the same reason; the runtime's default is off.
    ...(p.allowDebug === true ? { allow_debug: true } : {}),
  };
}

/** The ConfigMap's `data`: the settings as canonical JSON (sorted keys, so key order in the YAML does not roll pods). */
export function predictorConfigMapData(api: RealtimeApiSpec & { predictor: PredictorSpec }): Record<string, string> {
  return { [PREDICTOR_CONFIG_KEY]: canonicalJson(predictorSettings(api), 2) + '\n' };
}

/** `<api>-predictor`. */
export function predictorConfigMapName(apiName: string): string {
  return `${apiName}-${PREDICTOR_CONFIG_MAP_SUFFIX}`;
}

/** Narrows a spec to the predictor form. */
export function isPredictorForm(api: RealtimeApiSpec): api is RealtimeApiSpec & { predictor: PredictorSpec } {
  return api.predictor !== undefined;
}
