import type { KubeObject } from './api-manifests';
import { isRecord } from './object-diff';

/** An int-or-percent field resolved against a replica count, as Kubernetes does. */
export interface ResolvedBound {
  /** As written: `1` or `"25%"`. */
  readonly spec: number | string;
  /** Pods. */
  readonly pods: number;
}

/** How a Deployment replaces its pods, over how many replicas. */
export interface RolloutPlan {
  readonly strategy: 'RollingUpdate' | 'Recreate';
  /** The replicas the figures are for. */
  readonly replicas: number;
  /** The autoscaler's bounds, when a ScaledObject scales the Deployment (the live count is between them). */
  readonly autoscaled?: { readonly min: number; readonly max: number };
  readonly maxSurge: ResolvedBound;
  readonly maxUnavailable: ResolvedBound;
}

/** Kubernetes' defaults for `strategy.rollingUpdate`. */
export const DEFAULT_MAX_SURGE = '25%';
export const DEFAULT_MAX_UNAVAILABLE = '25%';
/** KEDA's defaults for a ScaledObject's bounds. */
export const KEDA_DEFAULT_MIN_REPLICAS = 0;
export const KEDA_DEFAULT_MAX_REPLICAS = 100;

/**
 * An int-or-percent of `replicas`, as the Deployment controller reads it: a percentage rounds up for
 * max surge and down for max unavailable.
 */
export function resolveIntOrPercent(value: number | string, replicas: number, roundUp: boolean): number {
  if (typeof value === 'number') return value;
  const percent = /^(\d+)%$/.exec(value);
  if (!percent) {
    const n = Number(value);
    if (Number.isInteger(n)) return n;
    throw new Error(`${JSON.stringify(value)} is neither an integer nor a percentage`);
  }
  const exact = (Number(percent[1]) * replicas) / 100;
  return roundUp ? Math.ceil(exact) : Math.floor(exact);
}

/**
 * Max surge and max unavailable in pods for `replicas`; when both come to 0, the controller makes max
 * unavailable 1 (a rollout must be able to progress).
 */
export function resolveRollingBounds(maxSurge: number | string, maxUnavailable: number | string, replicas: number): { surge: number; unavailable: number } {
  const surge = resolveIntOrPercent(maxSurge, replicas, true);
  let unavailable = resolveIntOrPercent(maxUnavailable, replicas, false);
  if (surge === 0 && unavailable === 0) unavailable = 1;
  return { surge, unavailable };
}

/**
 * The rollout a Deployment's new pod template starts. With a ScaledObject, the live replica count is
 * somewhere between its bounds and only the cluster knows it: the figures are for the minimum (at least
 * one replica).
 */
export function rolloutPlan(deployment: KubeObject, scaledObject?: KubeObject): RolloutPlan {
  const spec = isRecord(deployment.spec) ? deployment.spec : {};
  const strategy = isRecord(spec.strategy) ? spec.strategy : {};
  const rolling = isRecord(strategy.rollingUpdate) ? strategy.rollingUpdate : {};
  const maxSurge = intOrString(rolling.maxSurge) ?? DEFAULT_MAX_SURGE;
  const maxUnavailable = intOrString(rolling.maxUnavailable) ?? DEFAULT_MAX_UNAVAILABLE;
  const autoscaled = scaledObject === undefined ? undefined : scaledObjectBounds(scaledObject);
  const replicas = autoscaled !== undefined ? Math.max(autoscaled.min, 1) : typeof spec.replicas === 'number' ? spec.replicas : 1;
  const { surge, unavailable } = resolveRollingBounds(maxSurge, maxUnavailable, replicas);
  return {
    strategy: strategy.type === 'Recreate' ? 'Recreate' : 'RollingUpdate',
    replicas,
    autoscaled,
    maxSurge: { spec: maxSurge, pods: surge },
    maxUnavailable: { spec: maxUnavailable, pods: unavailable },
  };
}

/** A ScaledObject's replica bounds, KEDA's defaults for those it leaves out; undefined without a spec. */
export function scaledObjectBounds(scaledObject: KubeObject): { min: number; max: number } | undefined {
  if (!isRecord(scaledObject.spec)) return undefined;
  const { minReplicaCount: min, maxReplicaCount: max } = scaledObject.spec;
  return { min: typeof min === 'number' ? min : KEDA_DEFAULT_MIN_REPLICAS, max: typeof max === 'number' ? max : KEDA_DEFAULT_MAX_REPLICAS };
}

/** A readable int-or-percent; anything else (a token, a typo the API server would refuse) counts as unset. */
function intOrString(value: unknown): number | string | undefined {
  if (typeof value === 'number' && Number.isInteger(value)) return value;
  return typeof value === 'string' && /^\d+%?$/.test(value) ? value : undefined;
}
