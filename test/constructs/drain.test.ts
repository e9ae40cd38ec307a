import {
  ENDPOINT_PROPAGATION_SECONDS,
  MAX_DRAIN_WINDOW_SECONDS,
  MIN_TERMINATION_GRACE_PERIOD_SECONDS,
  drainPlan,
} from '../../constructs/drain';

describe('drainPlan', () => {
  test('the proxy sleeps for endpoint propagation; user containers keep serving a window longer', () => {
    const plan = drainPlan(600);
    expect(plan.proxyPreStopSleepSeconds).toBe(ENDPOINT_PROPAGATION_SECONDS);
    expect(plan.userPreStopSleepSeconds).toBe(ENDPOINT_PROPAGATION_SECONDS + MAX_DRAIN_WINDOW_SECONDS);
  });

  test('GIVEN a short gateway timeout THEN the window is no longer than the timeout (nothing can still be waiting)', () => {
    expect(drainPlan(10).userPreStopSleepSeconds).toBe(ENDPOINT_PROPAGATION_SECONDS + 10);
  });

  test('the grace period lets the last admitted request run to the gateway timeout, and is at least 60 s', () => {
    expect(drainPlan(600).terminationGracePeriodSeconds).toBeGreaterThanOrEqual(ENDPOINT_PROPAGATION_SECONDS + 600);
    expect(drainPlan(1).terminationGracePeriodSeconds).toBe(MIN_TERMINATION_GRACE_PERIOD_SECONDS);
    expect(Number.isInteger(drainPlan(2.5).terminationGracePeriodSeconds)).toBe(true);
  });

  test('the proxy may drain for what is left of the grace period after its preStop, less the exit slack', () => {
    for (const timeout of [1, 10, 600, 3600]) {
      const plan = drainPlan(timeout);
      expect(plan.proxyDrainTimeoutSeconds).toBe(plan.terminationGracePeriodSeconds - plan.proxyPreStopSleepSeconds - 5);
      expect(plan.proxyDrainTimeoutSeconds).toBeGreaterThanOrEqual(Math.min(timeout, 40));
    }
  });

  test('the grace period always outlasts the user containers\' sleep', () => {
    for (const timeout of [1, 10, 45, 60, 600, 3600]) {
      const plan = drainPlan(timeout);
      expect(plan.terminationGracePeriodSeconds).toBeGreaterThan(plan.userPreStopSleepSeconds);
    }
  });
});
