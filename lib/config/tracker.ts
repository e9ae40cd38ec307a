/** `tracker`: predictions exported as metrics (predictor form). */
import { Field } from './field';
import { readEnum, readSection, readString } from './field-readers';
import { TrackerSpec } from './types';

export const TRACKER_KEYS = ['key', 'model_type'] as const;
export const MODEL_TYPES: readonly TrackerSpec['modelType'][] = ['classification', 'regression'];

export function readTracker(field: Field): TrackerSpec | undefined {
  const section = readSection(field, TRACKER_KEYS);
  if (!section || !field.isSet) return undefined;
  const key = readString(section.get('key'));
  const modelType = readEnum(section.get('model_type'), MODEL_TYPES, { required: true });
  if (modelType === undefined) return undefined;
  return { ...(key !== undefined ? { key } : {}), modelType };
}
