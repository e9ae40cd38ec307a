/** `predictor.models` (tensorflow, onnx) and `predictor.multi_model_reloading` (python). */
import { Field } from './field';
import { readExactlyOne, readInteger, readList, readSection, readString } from './field-readers';
import { ModelsSpec, PredictorType } from './types';

export const MODELS_KEYS = ['path', 'paths', 'dir', 'cache_size', 'disk_cache_size', 'signature_key'] as const;
export const MODEL_PATH_KEYS = ['name', 'path', 'signature_key'] as const;

/** Only TensorFlow SavedModels have signatures to choose from. */
export const SIGNATURE_KEY_TYPE: PredictorType = 'tensorflow';

/** `type` is the predictor's type when valid: it decides whether signature keys are allowed. */
export function readModels(field: Field, type: PredictorType | undefined): ModelsSpec | undefined {
  const section = readSection(field, MODELS_KEYS);
  if (!section || !field.isSet) return undefined;

  const source = readExactlyOne(section, ['path', 'paths', 'dir']);
  const path = source === 'path' ? readModelPath(section.get('path')) : undefined;
  const paths = source === 'paths' ? readModelPaths(section.get('paths'), type) : undefined;
  const dir = source === 'dir' ? readModelPath(section.get('dir')) : undefined;

  // Caching picks which of several models stay loaded; a single model is always loaded.
  const cacheSizeField = section.get('cache_size');
  const diskCacheSizeField = section.get('disk_cache_size');
  const cacheSize = readInteger(cacheSizeField, { min: 1 });
  const diskCacheSize = readInteger(diskCacheSizeField, { min: 1 });
  if (source === 'path') {
    for (const cacheField of [cacheSizeField, diskCacheSizeField]) {
      if (cacheField.isSet) cacheField.keyProblem(`${cacheField.key} goes with paths or dir only, not with path (a single model is always loaded)`);
    }
  }
  if (cacheSize !== undefined && diskCacheSize !== undefined && cacheSize > diskCacheSize) {
    cacheSizeField.problem(`must be <= disk_cache_size (${diskCacheSize}), got ${cacheSize}`);
  }
  const signatureKey = readSignatureKey(section.get('signature_key'), type);

  if (source === undefined) return undefined;
  return {
    ...(path !== undefined ? { path } : {}),
    ...(paths !== undefined ? { paths } : {}),
    ...(dir !== undefined ? { dir } : {}),
    ...(cacheSize !== undefined ? { cacheSize } : {}),
    ...(diskCacheSize !== undefined ? { diskCacheSize } : {}),
    ...(signatureKey !== undefined ? { signatureKey } : {}),
  };
}

function readModelPath(field: Field): string | undefined {
  return readString(field, { required: true });
}

function readModelPaths(field: Field, type: PredictorType | undefined): ModelsSpec['paths'] {
  const items = readList(field, { required: true, minLength: 1, what: 'model' });
  if (!items) return undefined;
  const models: NonNullable<ModelsSpec['paths']>[number][] = [];
  const seen = new Map<string, number>();
  items.forEach((item, index) => {
    const section = readSection(item, MODEL_PATH_KEYS, { required: true });
    if (!section) return;
    const nameField = section.get('name');
    const name = readString(nameField, { required: true });
    const path = readModelPath(section.get('path'));
    const signatureKey = readSignatureKey(section.get('signature_key'), type);
    if (name !== undefined) {
      const previous = seen.get(name);
      if (previous !== undefined) {
        nameField.problem(`duplicate model name ${JSON.stringify(name)} (also paths[${previous}]); model names must be unique`);
      } else {
        seen.set(name, index);
      }
    }
    if (name !== undefined && path !== undefined) {
      models.push({ name, path, ...(signatureKey !== undefined ? { signatureKey } : {}) });
    }
  });
  return models;
}

/** A signature key (of the predictor, of `models`, or of one model), for type tensorflow only. */
export function readSignatureKey(field: Field, type: PredictorType | undefined): string | undefined {
  const signatureKey = readString(field);
  if (signatureKey !== undefined && type !== undefined && type !== SIGNATURE_KEY_TYPE) {
    field.keyProblem(`applies to type ${SIGNATURE_KEY_TYPE} only, not ${type}`);
    return undefined;
  }
  return signatureKey;
}
