import { AUTOSCALING_LIMITS, LEGACY_API_LIMITS } from '../lib/config/defaults';
import { CortexValidationError } from '../lib/config/errors';
import type { AutoscalingSpec } from '../lib/config/types';
import {
  ScaledObjectSpec,
  ScaledObjectSpecAdvancedHorizontalPodAutoscalerConfigBehavior,
  ScaledObjectSpecAdvancedHorizontalPodAutoscalerConfigBehaviorScaleDownTolerance as ScaleDownTolerance,
  ScaledObjectSpecAdvancedHorizontalPodAutoscalerConfigBehaviorScaleUpTolerance as ScaleUpTolerance,
  ScaledObjectSpecTriggers,
} from './imports/keda.sh';
import { type ColdStartRouting, coldStartTrigger } from './cold-start';
import { API_NAME_METRIC_LABEL, IN_FLIGHT_METRIC, NAMESPACE_METRIC_LABEL, serviceHost } from './names';
import { PREDICTOR_CONTAINER_NAME } from './predictor-config';

/**
 * Request-based autoscaling: a KEDA ScaledObject whose Prometheus trigger reads the proxies'
 * in-flight gauge, and whose HPA behavior carries Cortex's stabilization periods and factors.
 * `kind: api` APIs scale on CPU utilisation instead: a `cpu` trigger, with the same behavior.
 * docs/kubernetes-objects.md, "How autoscaling fields map to KEDA and the HPA", says what maps how.
 */

export { IN_FLIGHT_METRIC, API_NAME_METRIC_LABEL, NAMESPACE_METRIC_LABEL } from './names';

/** Istio's request counter, which the gateway's Envoy reports for every request it routes. */
export const GATEWAY_REQUESTS_METRIC = 'istio_requests_total';
/** Range of the gateway-activity query: two scrapes at the Prometheus chart's default 1m interval. */
export const GATEWAY_ACTIVITY_RANGE = '2m';

/** KEDA polls its triggers this often (its default is 30 s); it also sets the scale-from-zero latency. */
export const POLLING_INTERVAL_SECONDS = 15;
/**
 * The HPA controller's sync period (kube-controller-manager's default; EKS does not change it). A
 * Cortex factor applies to "one scaling event", which the HPA has once per sync period.
 */
export const HPA_SYNC_PERIOD_SECONDS = 15;
/**
 * The target of the activation-only trigger: far above any real request rate, so that in the HPA
 * it never asks for more than one replica (ceil(rate / target) = 1) and the in-flight trigger alone
 * sizes the Deployment. KEDA still uses its activation (rate > 0) to scale from zero.
 */
export const ACTIVATION_ONLY_TARGET = '1000000';

export const IN_FLIGHT_TRIGGER_NAME = 'in-flight';
export const GATEWAY_ACTIVITY_TRIGGER_NAME = 'gateway-activity';
export const CPU_TRIGGER_NAME = 'cpu';
/**
 * The container whose CPU utilisation the `cpu` trigger reads (an HPA ContainerResource metric): the
 * runtime's, so that `target_cpu_utilization` is a share of the CPU the API asked for, as in Cortex,
 * and not diluted by the proxy sidecar's own request.
 */
export const CPU_TRIGGER_CONTAINER = PREDICTOR_CONTAINER_NAME;

/**
 * Step of the in-flight query's subquery: the platform's Prometheus scrape interval (10 s), of which
 * every autoscaling window is a multiple.
 */
export const IN_FLIGHT_QUERY_STEP_SECONDS = 10;

/**
 * The API's in-flight requests (the proxies' gauges summed) averaged over the window: a subquery that
 * sums at each 10 s step, then averages the steps. Summing first means a pod that left (its series
 * stale) stops counting at once; averaging each pod's series first (`sum(avg_over_time(…[w]))`) would
 * count its last samples for a whole window beside its replacement's (test/constructs/autoscaling-promtool.test.ts).
 */
export function inFlightQuery(apiName: string, namespace: string, windowSeconds: number): string {
  const selector = `${NAMESPACE_METRIC_LABEL}="${namespace}",${API_NAME_METRIC_LABEL}="${apiName}"`;
  return `avg_over_time(sum(${IN_FLIGHT_METRIC}{${selector}})[${windowSeconds}s:${IN_FLIGHT_QUERY_STEP_SECONDS}s])`;
}

/**
 * Requests the gateway routed to the API's Service lately — the one signal that exists when no pod
 * does. The second term counts counters that appeared within the range (the API's first requests
 * since a gateway pod started), which `rate` cannot see: a new counter's first sample is its
 * baseline. Each term falls back to 0 so that the sum always has a value.
 */
export function gatewayActivityQuery(apiName: string, namespace: string): string {
  const series = `${GATEWAY_REQUESTS_METRIC}{destination_service="${serviceHost(apiName, namespace)}"}`;
  const range = GATEWAY_ACTIVITY_RANGE;
  return (
    `(sum(rate(${series}[${range}])) or vector(0)) + ` +
    `((count(${series}) unless count(${series} offset ${range})) or vector(0))`
  );
}

/** The HPA Percent policy value of a Cortex up/down factor (1.5 → +50%, 0.75 → -25%), at least 1 when it allows any change. */
export function factorToPercent(factor: number, direction: 'up' | 'down'): number {
  const change = direction === 'up' ? factor - 1 : 1 - factor;
  return change <= 0 ? 0 : Math.max(1, Math.round(change * 100));
}

/** Quantity string of a tolerance (the CRD field is int-or-string: a fraction must be a string). */
function tolerance(value: number): string {
  return String(value);
}

/** Checks the fields the HPA bounds tighter than a cortex.yaml does. */
export function checkAutoscaling(autoscaling: AutoscalingSpec): void {
  for (const [prop, value] of [
    ['autoscaling.upscaleStabilizationPeriodSeconds', autoscaling.upscaleStabilizationPeriodSeconds],
    ['autoscaling.downscaleStabilizationPeriodSeconds', autoscaling.downscaleStabilizationPeriodSeconds],
  ] as const) {
    const max = AUTOSCALING_LIMITS.maxStabilizationPeriodSeconds;
    if (!Number.isInteger(value) || value < 0 || value > max) {
      throw new CortexValidationError(
        `${prop} (${value}) must be an integer from 0 to ${max} (the HPA's limit)`,
      );
    }
  }
  if (autoscaling.maxReplicas < 1 || autoscaling.maxReplicas < autoscaling.minReplicas) {
    throw new CortexValidationError(
      `autoscaling.maxReplicas (${autoscaling.maxReplicas}) must be >= 1 and >= autoscaling.minReplicas (${autoscaling.minReplicas})`,
    );
  }
  if (!(autoscaling.targetInFlight > 0)) {
    throw new CortexValidationError(`autoscaling.targetInFlight (${autoscaling.targetInFlight}) must be > 0`);
  }
  const target = autoscaling.targetCpuUtilization;
  if (target !== undefined) {
    const { minTargetCpuUtilization: min, maxTargetCpuUtilization: max, minReplicas } = LEGACY_API_LIMITS;
    if (!Number.isInteger(target) || target < min || target > max) {
      throw new CortexValidationError(`autoscaling.targetCpuUtilization (${target}) must be an integer from ${min} to ${max} (percent)`);
    }
    if (autoscaling.minReplicas < minReplicas) {
      throw new CortexValidationError(
        `autoscaling.minReplicas (${autoscaling.minReplicas}) must be >= ${minReplicas} with targetCpuUtilization: KEDA cannot scale a CPU-only ScaledObject to zero`,
      );
    }
  }
}

/**
 * CPU-based scaling (`kind: api`'s `target_cpu_utilization`): KEDA's `cpu` trigger, which becomes a
 * plain HPA resource metric — desired = ceil(current × utilisation / target), over the pods' average.
 * It needs a CPU request on the container it reads (the config refuses `cpu: null` here) and cannot
 * activate from zero, hence min_replicas >= 1.
 */
export function cpuTrigger(targetCpuUtilization: number): ScaledObjectSpecTriggers {
  return {
    type: 'cpu',
    name: CPU_TRIGGER_NAME,
    metricType: 'Utilization',
    metadata: { value: String(targetCpuUtilization), containerName: CPU_TRIGGER_CONTAINER },
  };
}

/** HPA behavior from Cortex's stabilization periods, factors and tolerances. */
export function hpaBehavior(autoscaling: AutoscalingSpec): ScaledObjectSpecAdvancedHorizontalPodAutoscalerConfigBehavior {
  const up = factorToPercent(autoscaling.maxUpscaleFactor, 'up');
  const down = factorToPercent(autoscaling.maxDownscaleFactor, 'down');
  return {
    scaleUp: {
      stabilizationWindowSeconds: autoscaling.upscaleStabilizationPeriodSeconds,
      selectPolicy: up > 0 ? 'Max' : 'Disabled',
      policies: up > 0 ? [{ type: 'Percent', value: up, periodSeconds: HPA_SYNC_PERIOD_SECONDS }] : undefined,
      tolerance: ScaleUpTolerance.fromString(tolerance(autoscaling.upscaleTolerance)),
    },
    scaleDown: {
      stabilizationWindowSeconds: autoscaling.downscaleStabilizationPeriodSeconds,
      selectPolicy: down > 0 ? 'Max' : 'Disabled',
      policies: down > 0 ? [{ type: 'Percent', value: down, periodSeconds: HPA_SYNC_PERIOD_SECONDS }] : undefined,
      tolerance: ScaleDownTolerance.fromString(tolerance(autoscaling.downscaleTolerance)),
    },
  };
}

export interface ScaledObjectSpecOptions {
  readonly apiName: string;
  readonly namespace: string;
  readonly deploymentName: string;
  readonly prometheusUrl: string;
  readonly autoscaling: AutoscalingSpec;
  /**
   * A scale-to-zero API reached through the KEDA HTTP add-on: the name of its InterceptorRoute and where the
   * add-on's scaler answers; the requests the interceptor holds then scale the API (constructs/cold-start.ts).
   * @default - none: at zero, only the gateway-activity trigger wakes the API up
   */
  readonly coldStart?: { readonly routeName: string; readonly routing: ColdStartRouting };
}

/** The ScaledObject's spec. */
export function scaledObjectSpec(options: ScaledObjectSpecOptions): ScaledObjectSpec {
  const { autoscaling } = options;
  checkAutoscaling(autoscaling);
  const triggers: ScaledObjectSpecTriggers[] =
    autoscaling.targetCpuUtilization !== undefined
      ? [cpuTrigger(autoscaling.targetCpuUtilization)]
      : requestTriggers(options);
  return {
    scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: options.deploymentName },
    minReplicaCount: autoscaling.minReplicas,
    maxReplicaCount: autoscaling.maxReplicas,
    pollingInterval: POLLING_INTERVAL_SECONDS,
    // Only used for the last step to zero: Cortex's downscale stabilization plays that role.
    cooldownPeriod: autoscaling.downscaleStabilizationPeriodSeconds,
    advanced: { horizontalPodAutoscalerConfig: { behavior: hpaBehavior(autoscaling) } },
    triggers,
  };
}

/** The in-flight trigger, plus the gateway's activation trigger when the API may scale to zero. */
function requestTriggers(options: ScaledObjectSpecOptions): ScaledObjectSpecTriggers[] {
  const { apiName, namespace, autoscaling } = options;
  const triggers: ScaledObjectSpecTriggers[] = [
    {
      type: 'prometheus',
      name: IN_FLIGHT_TRIGGER_NAME,
      metricType: 'AverageValue',
      metadata: {
        serverAddress: options.prometheusUrl,
        query: inFlightQuery(apiName, namespace, autoscaling.windowSeconds),
        threshold: String(autoscaling.targetInFlight),
        activationThreshold: '0',
        ignoreNullValues: 'true',
      },
    },
  ];
  if (autoscaling.minReplicas === 0 && options.coldStart !== undefined) {
    // The requests the interceptor holds (and forwards): they wake the API and count toward its size.
    triggers.push(coldStartTrigger(options.coldStart.routeName, options.coldStart.routing));
  }
  if (autoscaling.minReplicas === 0) {
    // At zero there is no proxy to report in-flight requests: the gateway's counter wakes the API up (with the
    // interceptor, it still counts what reaches the Service directly: a shadow's mirrored copies).
    triggers.push({
      type: 'prometheus',
      name: GATEWAY_ACTIVITY_TRIGGER_NAME,
      metricType: 'AverageValue',
      metadata: {
        serverAddress: options.prometheusUrl,
        query: gatewayActivityQuery(apiName, namespace),
        threshold: ACTIVATION_ONLY_TARGET,
        activationThreshold: '0',
        ignoreNullValues: 'true',
      },
    });
  }
  return triggers;
}
