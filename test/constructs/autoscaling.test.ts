import {
  ACTIVATION_ONLY_TARGET,
  checkAutoscaling,
  cpuTrigger,
  factorToPercent,
  gatewayActivityQuery,
  hpaBehavior,
  inFlightQuery,
  scaledObjectSpec,
} from '../../constructs/autoscaling';
import { toJson_ScaledObjectSpec } from '../../constructs/imports/keda.sh';
import { AutoscalingSpec } from '../../lib/config/types';
import { realtimeApi } from './fixtures';

function autoscaling(overrides: Partial<AutoscalingSpec> = {}): AutoscalingSpec {
  return realtimeApi({ autoscaling: overrides }).autoscaling;
}

function rendered(overrides: Partial<AutoscalingSpec> = {}) {
  return toJson_ScaledObjectSpec(
    scaledObjectSpec({
      apiName: 'iris',
      namespace: 'cortex',
      deploymentName: 'iris',
      prometheusUrl: 'http://prom',
      autoscaling: autoscaling(overrides),
    }),
  )!;
}

describe('autoscaling', () => {
  test('the in-flight query averages over the window the API\'s pods\' gauges summed at each 10 s step', () => {
    expect(inFlightQuery('iris', 'cortex', 60)).toBe(
      'avg_over_time(sum(cortex_in_flight_requests{namespace="cortex",cortex_dev_api_name="iris"})[60s:10s])',
    );
  });

  test('the gateway-activity query reads the gateway\'s counter for the API Service, and always has a value', () => {
    const q = gatewayActivityQuery('iris', 'ml');
    expect(q).toContain('rate(istio_requests_total{destination_service="iris.ml.svc.cluster.local"}[2m])');
    expect(q).toContain('offset 2m');
    expect(q.match(/or vector\(0\)/g)).toHaveLength(2);
  });

  test.each([
    [1.5, 'up', 50],
    [2, 'up', 100],
    [10, 'up', 900],
    [1.001, 'up', 1],
    [1, 'up', 0],
    [0.75, 'down', 25],
    [0, 'down', 100],
    [0.999, 'down', 1],
    [1, 'down', 0],
  ] as const)('factor %p (%s) → %p%%', (factor, direction, percent) => {
    expect(factorToPercent(factor, direction)).toBe(percent);
  });

  test('behavior: stabilization windows, Percent policies per HPA sync period, tolerances as quantity strings', () => {
    expect(rendered().advanced.horizontalPodAutoscalerConfig.behavior).toEqual({
      scaleUp: {
        stabilizationWindowSeconds: 60,
        selectPolicy: 'Max',
        policies: [{ type: 'Percent', value: 50, periodSeconds: 15 }],
        tolerance: '0.05',
      },
      scaleDown: {
        stabilizationWindowSeconds: 300,
        selectPolicy: 'Max',
        policies: [{ type: 'Percent', value: 25, periodSeconds: 15 }],
        tolerance: '0.05',
      },
    });
  });

  test('GIVEN max_downscale_factor 1 THEN scale-down is disabled (no zero-valued policy, which the HPA refuses)', () => {
    const behavior = hpaBehavior(autoscaling({ maxDownscaleFactor: 1 }));
    expect(behavior.scaleDown).toMatchObject({ selectPolicy: 'Disabled', policies: undefined });
  });

  test('min/max, target, polling, cooldown from the downscale stabilization', () => {
    const spec = rendered({ minReplicas: 2, maxReplicas: 20, targetInFlight: 2.5, downscaleStabilizationPeriodSeconds: 120 });
    expect(spec).toMatchObject({ minReplicaCount: 2, maxReplicaCount: 20, pollingInterval: 15, cooldownPeriod: 120 });
    expect(spec.triggers).toHaveLength(1);
    expect(spec.triggers[0]).toMatchObject({
      type: 'prometheus',
      name: 'in-flight',
      metricType: 'AverageValue',
      metadata: { serverAddress: 'http://prom', threshold: '2.5', activationThreshold: '0' },
    });
  });

  test('GIVEN min_replicas 0 THEN an activation-only gateway trigger whose target no real rate reaches', () => {
    const spec = rendered({ minReplicas: 0 });
    expect(spec.minReplicaCount).toBe(0);
    expect(spec.triggers[1]).toMatchObject({
      name: 'gateway-activity',
      metricType: 'AverageValue',
      metadata: { threshold: ACTIVATION_ONLY_TARGET, activationThreshold: '0', query: gatewayActivityQuery('iris', 'cortex') },
    });
  });

  test('checks: stabilization within the HPA bound, max >= min and >= 1, a positive target', () => {
    expect(() => checkAutoscaling(autoscaling())).not.toThrow();
    expect(() => checkAutoscaling(autoscaling({ upscaleStabilizationPeriodSeconds: 3601 }))).toThrow(
      /upscaleStabilizationPeriodSeconds \(3601\)/,
    );
    expect(() => checkAutoscaling(autoscaling({ minReplicas: 5, maxReplicas: 3 }))).toThrow(
      'autoscaling.maxReplicas (3) must be >= 1 and >= autoscaling.minReplicas (5)',
    );
    expect(() => checkAutoscaling(autoscaling({ minReplicas: 0, maxReplicas: 0 }))).toThrow(/maxReplicas \(0\)/);
    expect(() => checkAutoscaling(autoscaling({ targetInFlight: 0 }))).toThrow(/targetInFlight \(0\) must be > 0/);
  });

  describe('on CPU (kind: api\'s target_cpu_utilization)', () => {
    test('GIVEN a CPU target THEN one cpu trigger, Utilization of the runtime container, and no Prometheus trigger', () => {
      // WHEN
      const spec = rendered({ targetCpuUtilization: 70, minReplicas: 2, maxReplicas: 8 });
      // THEN
      expect(spec.triggers).toEqual([
        { type: 'cpu', name: 'cpu', metricType: 'Utilization', metadata: { value: '70', containerName: 'api' } },
      ]);
      expect(spec).toMatchObject({ minReplicaCount: 2, maxReplicaCount: 8 });
      // The HPA behavior still carries Cortex's stabilization periods and factors.
      expect(spec.advanced.horizontalPodAutoscalerConfig.behavior).toEqual(rendered().advanced.horizontalPodAutoscalerConfig.behavior);
    });

    test('cpuTrigger is the trigger alone', () => {
      expect(cpuTrigger(80)).toEqual({ type: 'cpu', name: 'cpu', metricType: 'Utilization', metadata: { value: '80', containerName: 'api' } });
    });

    test('checks: a whole percentage from 1 to 100, and never down to zero replicas', () => {
      expect(() => checkAutoscaling(autoscaling({ targetCpuUtilization: 100 }))).not.toThrow();
      expect(() => checkAutoscaling(autoscaling({ targetCpuUtilization: 0 }))).toThrow(
        'autoscaling.targetCpuUtilization (0) must be an integer from 1 to 100 (percent)',
      );
      expect(() => checkAutoscaling(autoscaling({ targetCpuUtilization: 50.5 }))).toThrow(/targetCpuUtilization \(50\.5\)/);
      expect(() => checkAutoscaling(autoscaling({ targetCpuUtilization: 80, minReplicas: 0 }))).toThrow(
        'autoscaling.minReplicas (0) must be >= 1 with targetCpuUtilization: KEDA cannot scale a CPU-only ScaledObject to zero',
      );
    });
  });
});
