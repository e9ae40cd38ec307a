/**
 * `autoscaling`, in both forms. The container form aims at `target_in_flight` within the pod's
 * `max_concurrency + max_queue_length`; the predictor form still speaks Cortex v0.30's
 * `max_replica_concurrency` / `target_replica_concurrency`, which map onto the same model.
 */
import { AUTOSCALING_DEFAULTS, AUTOSCALING_LIMITS, POD_LIMITS } from './defaults';
import { describeValue } from './describe-value';
import { Field } from './field';
import { readDuration, readInteger, readNumber, readSection, Section } from './field-readers';
import { AutoscalingSpec } from './types';

export const AUTOSCALING_KEYS = [
  'min_replicas',
  'max_replicas',
  'init_replicas',
  'target_in_flight',
  'window',
  'downscale_stabilization_period',
  'upscale_stabilization_period',
  'max_downscale_factor',
  'max_upscale_factor',
  'downscale_tolerance',
  'upscale_tolerance',
  'cold_start_timeout',
] as const;

export const PREDICTOR_AUTOSCALING_KEYS = [
  ...AUTOSCALING_KEYS,
  'max_replica_concurrency',
  'target_replica_concurrency',
] as const;

const CONTAINER_FORM_HINTS = {
  max_replica_concurrency:
    'max_replica_concurrency is from the predictor form (Cortex v0.30); in the container form use pod.max_concurrency and pod.max_queue_length',
  target_replica_concurrency:
    'target_replica_concurrency is from the predictor form (Cortex v0.30); in the container form use target_in_flight',
};

/** Everything but the target, which each form derives its own way. */
type Scaling = Omit<AutoscalingSpec, 'targetInFlight'>;

/** The container form's autoscaling; `pod` holds the pod's limits when they are valid. */
export function readAutoscaling(
  field: Field,
  pod: { maxConcurrency?: number; maxQueueLength?: number },
): AutoscalingSpec | undefined {
  const section = readSection(field, AUTOSCALING_KEYS, { hints: CONTAINER_FORM_HINTS });
  if (!section) return undefined;
  const scaling = readScaling(section);

  const targetField = section.get('target_in_flight');
  const target = readNumber(targetField, { min: 0, minExclusive: true, default: pod.maxConcurrency });
  const { maxConcurrency, maxQueueLength } = pod;
  if (target !== undefined && maxConcurrency !== undefined && maxQueueLength !== undefined) {
    const limit = maxConcurrency + maxQueueLength;
    if (target > limit) {
      targetField.problem(
        `must be <= max_concurrency + max_queue_length (${maxConcurrency} + ${maxQueueLength} = ${limit}), got ${describeValue(target)}`,
      );
      return undefined;
    }
  }

  if (!scaling || target === undefined) return undefined;
  return { ...scaling, targetInFlight: target };
}

/** What the predictor form's concurrency settings come to. */
export interface PredictorConcurrency {
  /** pod.maxQueueLength: max_replica_concurrency − maxConcurrency (0: the replica holds no more than it runs). */
  readonly maxQueueLength?: number;
  readonly autoscaling?: AutoscalingSpec;
}

/**
 * The predictor form's autoscaling. `maxConcurrency` is processes_per_replica × threads_per_process
 * (undefined when those are invalid); `threadsField` and `product` are for the message when the
 * default max_replica_concurrency is too small for it.
 */
export function readPredictorAutoscaling(
  field: Field,
  concurrency: { maxConcurrency?: number; product: string; threadsField: Field },
): PredictorConcurrency {
  const section = readSection(field, PREDICTOR_AUTOSCALING_KEYS);
  if (!section) return {};
  const scaling = readScaling(section);
  const { maxConcurrency } = concurrency;

  const replicaConcurrencyField = section.get('max_replica_concurrency');
  let maxReplicaConcurrency = readInteger(replicaConcurrencyField, {
    min: POD_LIMITS.minMaxConcurrency,
    max: POD_LIMITS.maxConcurrency,
    default: AUTOSCALING_DEFAULTS.maxReplicaConcurrency,
  });
  if (maxReplicaConcurrency !== undefined && maxConcurrency !== undefined && maxReplicaConcurrency < maxConcurrency) {
    if (replicaConcurrencyField.isSet) {
      replicaConcurrencyField.problem(
        `must be >= processes_per_replica × threads_per_process (${concurrency.product} = ${maxConcurrency}), got ${maxReplicaConcurrency}`,
      );
    } else {
      concurrency.threadsField.problem(
        `processes_per_replica × threads_per_process (${concurrency.product} = ${maxConcurrency}) must be <= autoscaling.max_replica_concurrency (default ${maxReplicaConcurrency}); set autoscaling.max_replica_concurrency to at least ${maxConcurrency}`,
      );
    }
    maxReplicaConcurrency = undefined;
  }
  const maxQueueLength =
    maxReplicaConcurrency !== undefined && maxConcurrency !== undefined
      ? maxReplicaConcurrency - maxConcurrency
      : undefined;

  const target = readPredictorTarget(section, maxConcurrency, maxReplicaConcurrency);
  if (!scaling || target === undefined) return { maxQueueLength };
  return { maxQueueLength, autoscaling: { ...scaling, targetInFlight: target } };
}

/** target_replica_concurrency (v0.30's name) ?? target_in_flight ?? the replica's concurrency. */
function readPredictorTarget(
  section: Section,
  maxConcurrency: number | undefined,
  maxReplicaConcurrency: number | undefined,
): number | undefined {
  const oldField = section.get('target_replica_concurrency');
  const newField = section.get('target_in_flight');
  if (oldField.isSet && newField.isSet) {
    oldField.keyProblem('cannot be set together with target_in_flight (its newer name); keep one');
    return undefined;
  }
  const targetField = oldField.isSet ? oldField : newField;
  const target = readNumber(targetField, { min: 0, minExclusive: true, default: maxConcurrency });
  if (target !== undefined && maxReplicaConcurrency !== undefined && target > maxReplicaConcurrency) {
    targetField.problem(`must be <= max_replica_concurrency (${maxReplicaConcurrency}), got ${describeValue(target)}`);
    return undefined;
  }
  return target;
}

/** The replica counts and the scaling behaviour, common to both forms. */
function readScaling(section: Section): Scaling | undefined {
  const minField = section.get('min_replicas');
  const maxField = section.get('max_replicas');
  const initField = section.get('init_replicas');
  const minReplicas = readInteger(minField, { min: 0, default: AUTOSCALING_DEFAULTS.minReplicas });
  const maxReplicas = readInteger(maxField, { min: 1, default: AUTOSCALING_DEFAULTS.maxReplicas });
  let initReplicas = readInteger(initField, { min: 0, default: minReplicas });

  let replicasValid = minReplicas !== undefined && maxReplicas !== undefined && initReplicas !== undefined;
  if (minReplicas !== undefined && maxReplicas !== undefined && minReplicas > maxReplicas) {
    if (maxField.isSet) maxField.problem(`must be >= min_replicas (${minReplicas}), got ${maxReplicas}`);
    else minField.problem(`must be <= max_replicas (${maxReplicas}), got ${minReplicas}`);
    replicasValid = false;
  } else if (initField.isSet && initReplicas !== undefined && minReplicas !== undefined && maxReplicas !== undefined) {
    if (initReplicas < minReplicas) {
      initField.problem(`must be >= min_replicas (${minReplicas}), got ${initReplicas}`);
      initReplicas = undefined;
    } else if (initReplicas > maxReplicas) {
      initField.problem(`must be <= max_replicas (${maxReplicas}), got ${initReplicas}`);
      initReplicas = undefined;
    }
  }

  const windowSeconds = readDuration(section.get('window'), {
    min: AUTOSCALING_LIMITS.minWindowSeconds,
    multipleOf: AUTOSCALING_LIMITS.windowStepSeconds,
    default: AUTOSCALING_DEFAULTS.windowSeconds,
  });
  // The HPA caps stabilization windows at an hour; say so here, with the line, not at render time.
  const stabilization = { min: 0, max: AUTOSCALING_LIMITS.maxStabilizationPeriodSeconds } as const;
  const downscaleStabilizationPeriodSeconds = readDuration(section.get('downscale_stabilization_period'), {
    ...stabilization,
    default: AUTOSCALING_DEFAULTS.downscaleStabilizationPeriodSeconds,
  });
  const upscaleStabilizationPeriodSeconds = readDuration(section.get('upscale_stabilization_period'), {
    ...stabilization,
    default: AUTOSCALING_DEFAULTS.upscaleStabilizationPeriodSeconds,
  });
  const fraction = { min: 0, max: 1, maxExclusive: true } as const;
  const maxDownscaleFactor = readNumber(section.get('max_downscale_factor'), {
    ...fraction,
    default: AUTOSCALING_DEFAULTS.maxDownscaleFactor,
  });
  const maxUpscaleFactor = readNumber(section.get('max_upscale_factor'), {
    min: 1,
    minExclusive: true,
    default: AUTOSCALING_DEFAULTS.maxUpscaleFactor,
  });
  const downscaleTolerance = readNumber(section.get('downscale_tolerance'), {
    ...fraction,
    default: AUTOSCALING_DEFAULTS.downscaleTolerance,
  });
  const upscaleTolerance = readNumber(section.get('upscale_tolerance'), {
    ...fraction,
    default: AUTOSCALING_DEFAULTS.upscaleTolerance,
  });
  const coldStartField = section.get('cold_start_timeout');
  const coldStartTimeoutSeconds = readDuration(coldStartField, {
    min: AUTOSCALING_LIMITS.minColdStartTimeoutSeconds,
    max: AUTOSCALING_LIMITS.maxColdStartTimeoutSeconds,
    // Added to networking.timeout in the gateway's route timeout, which Istio takes in whole milliseconds.
    multipleOf: 0.001,
  });
  let coldStartValid = true;
  if (coldStartField.isSet && minReplicas !== undefined && minReplicas > 0) {
    // Requests wait for a first replica only when there can be none: a setting that would do nothing is a mistake.
    coldStartField.keyProblem(
      `only applies with min_replicas: 0 (requests wait for a first replica); min_replicas is ${minReplicas}${minField.isSet ? '' : ' (the default)'}: remove cold_start_timeout or set min_replicas to 0`,
    );
    coldStartValid = false;
  }

  if (
    !replicasValid ||
    !coldStartValid ||
    (coldStartField.isSet && coldStartTimeoutSeconds === undefined) ||
    minReplicas === undefined ||
    maxReplicas === undefined ||
    initReplicas === undefined ||
    windowSeconds === undefined ||
    downscaleStabilizationPeriodSeconds === undefined ||
    upscaleStabilizationPeriodSeconds === undefined ||
    maxDownscaleFactor === undefined ||
    maxUpscaleFactor === undefined ||
    downscaleTolerance === undefined ||
    upscaleTolerance === undefined
  ) {
    return undefined;
  }
  return {
    minReplicas,
    maxReplicas,
    initReplicas,
    windowSeconds,
    downscaleStabilizationPeriodSeconds,
    upscaleStabilizationPeriodSeconds,
    maxDownscaleFactor,
    maxUpscaleFactor,
    downscaleTolerance,
    upscaleTolerance,
    ...(minReplicas === 0 ? { coldStartTimeoutSeconds: coldStartTimeoutSeconds ?? AUTOSCALING_DEFAULTS.coldStartTimeoutSeconds } : {}),
  };
}
