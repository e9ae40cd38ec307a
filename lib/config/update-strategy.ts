/** `update_strategy`: the Deployment's rolling update. */
import { UPDATE_STRATEGY_DEFAULTS } from './defaults';
import { describeValue } from './describe-value';
import { Field } from './field';
import { readSection } from './field-readers';
import { IntOrPercent, UpdateStrategySpec } from './types';

export const UPDATE_STRATEGY_KEYS = ['max_surge', 'max_unavailable'] as const;

const PERCENTAGE = /^(\d+)%$/;

export function readUpdateStrategy(field: Field): UpdateStrategySpec | undefined {
  const section = readSection(field, UPDATE_STRATEGY_KEYS);
  if (!section) return undefined;
  const surgeField = section.get('max_surge');
  const unavailableField = section.get('max_unavailable');
  const maxSurge = readIntOrPercent(surgeField, UPDATE_STRATEGY_DEFAULTS.maxSurge);
  const maxUnavailable = readIntOrPercent(unavailableField, UPDATE_STRATEGY_DEFAULTS.maxUnavailable);
  if (maxSurge === undefined || maxUnavailable === undefined) return undefined;

  // With no pod allowed above the desired count and none allowed missing, a rollout cannot start.
  if (isZero(maxSurge) && isZero(maxUnavailable)) {
    const reportAt = unavailableField.isSet ? unavailableField : surgeField;
    reportAt.problem('max_surge and max_unavailable cannot both be 0 (the rollout could not replace any pod)');
    return undefined;
  }
  return { maxSurge, maxUnavailable };
}

/** A non-negative pod count, or a percentage of the desired pods from "0%" to "100%". */
export function readIntOrPercent(field: Field, fallback: IntOrPercent): IntOrPercent | undefined {
  if (!field.isSet) return fallback;
  const value = field.value;
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0) return value;
  const percent = typeof value === 'string' ? PERCENTAGE.exec(value.trim()) : null;
  if (percent && Number(percent[1]) <= 100) return value as string;
  field.problem(`must be an integer >= 0 or a percentage from 0% to 100% such as "25%", got ${describeValue(value)}`);
  return undefined;
}

function isZero(value: IntOrPercent): boolean {
  return value === 0 || (typeof value === 'string' && Number(value.trim().replace('%', '')) === 0);
}
