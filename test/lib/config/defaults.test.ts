import {
  AUTOSCALING_DEFAULTS,
  COMPUTE_DEFAULTS,
  LEGACY_API_DEFAULTS,
  LEGACY_API_LIMITS,
  NETWORKING_DEFAULTS,
  POD_DEFAULTS,
  PREDICTOR_DEFAULTS,
  PROBE_DEFAULTS,
  UPDATE_STRATEGY_DEFAULTS,
} from '../../../lib/config/defaults';

// The documented defaults (docs/configuration.md, Cortex v0.42's docs): a change here is a change for users.
describe('defaults', () => {
  test('GIVEN the pod and compute defaults THEN they are Cortex v0.42\'s', () => {
    expect(POD_DEFAULTS).toEqual({ port: 8080, maxConcurrency: 1, maxQueueLength: 100 });
    expect(COMPUTE_DEFAULTS).toEqual({ cpu: '200m', gpu: 0, inf: 0 });
    expect(PROBE_DEFAULTS).toEqual({
      httpGetPath: '/',
      initialDelaySeconds: 0,
      timeoutSeconds: 1,
      periodSeconds: 10,
      successThreshold: 1,
      failureThreshold: 3,
    });
  });

  test('GIVEN the autoscaling defaults THEN durations are in seconds', () => {
    expect(AUTOSCALING_DEFAULTS).toEqual({
      minReplicas: 1,
      maxReplicas: 100,
      windowSeconds: 60,
      downscaleStabilizationPeriodSeconds: 300,
      upscaleStabilizationPeriodSeconds: 60,
      maxDownscaleFactor: 0.75,
      maxUpscaleFactor: 1.5,
      downscaleTolerance: 0.05,
      upscaleTolerance: 0.05,
      maxReplicaConcurrency: 1024,
    });
  });

  test('GIVEN the remaining defaults THEN they match the docs', () => {
    expect(UPDATE_STRATEGY_DEFAULTS).toEqual({ maxSurge: '25%', maxUnavailable: '25%' });
    expect(NETWORKING_DEFAULTS).toEqual({ timeoutSeconds: 600 });
    expect(PREDICTOR_DEFAULTS).toMatchObject({ logLevel: 'info', processesPerReplica: 1, threadsPerProcess: 1 });
  });

  test("GIVEN kind: api's compute defaults THEN they are Cortex 0.10's, plus one request at a time", () => {
    expect(LEGACY_API_DEFAULTS).toEqual({
      minReplicas: 1,
      maxReplicas: 100,
      targetCpuUtilization: 80,
      cpu: '200m',
      gpu: 0,
      maxConcurrency: 1,
      maxQueueLength: 100,
    });
    expect(LEGACY_API_LIMITS).toEqual({ minReplicas: 1, minTargetCpuUtilization: 1, maxTargetCpuUtilization: 100 });
  });
});
