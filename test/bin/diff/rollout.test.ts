import type { KubeObject } from '../../../bin/cli/diff/api-manifests';
import { resolveIntOrPercent, resolveRollingBounds, rolloutPlan } from '../../../bin/cli/diff/rollout';
import { deploymentObjects } from './fixtures';

describe('resolveIntOrPercent', () => {
  test('GIVEN a percentage THEN rounded up for surge, down for unavailable, like the Deployment controller', () => {
    expect(resolveIntOrPercent('25%', 3, true)).toBe(1);
    expect(resolveIntOrPercent('25%', 3, false)).toBe(0);
    expect(resolveIntOrPercent('25%', 10, true)).toBe(3);
    expect(resolveIntOrPercent('25%', 10, false)).toBe(2);
    expect(resolveIntOrPercent('100%', 4, false)).toBe(4);
  });

  test('GIVEN an integer (or its string) THEN itself; anything else THEN it throws', () => {
    expect(resolveIntOrPercent(2, 10, true)).toBe(2);
    expect(resolveIntOrPercent('3', 10, true)).toBe(3);
    expect(() => resolveIntOrPercent('lots', 10, true)).toThrow(/"lots" is neither an integer nor a percentage/);
  });
});

describe('resolveRollingBounds', () => {
  test('GIVEN both resolving to 0 THEN max unavailable 1 (the controller\'s rule)', () => {
    expect(resolveRollingBounds('0%', '10%', 3)).toEqual({ surge: 0, unavailable: 1 });
    expect(resolveRollingBounds('25%', '25%', 1)).toEqual({ surge: 1, unavailable: 0 });
  });
});

describe('rolloutPlan', () => {
  test('GIVEN a Deployment without autoscaler THEN its replicas', () => {
    const [deployment] = deploymentObjects('a', { replicas: 10 }) as unknown as KubeObject[];
    expect(rolloutPlan(deployment)).toEqual({
      strategy: 'RollingUpdate',
      replicas: 10,
      autoscaled: undefined,
      maxSurge: { spec: '25%', pods: 3 },
      maxUnavailable: { spec: '25%', pods: 2 },
    });
  });

  test('GIVEN a ScaledObject THEN counted at its minimum (at least 1), its bounds given', () => {
    const [deployment, scaledObject] = deploymentObjects('a', { replicas: 1, min: 4, max: 8, maxSurge: 1, maxUnavailable: 0 }) as unknown as KubeObject[];
    const plan = rolloutPlan(deployment, scaledObject);
    expect(plan).toMatchObject({ replicas: 4, autoscaled: { min: 4, max: 8 }, maxSurge: { spec: 1, pods: 1 }, maxUnavailable: { spec: 0, pods: 0 } });
    const [, toZero] = deploymentObjects('a', { min: 0, max: 3 }) as unknown as KubeObject[];
    expect(rolloutPlan(deployment, toZero).replicas).toBe(1);
  });

  test('GIVEN no rollingUpdate settings or unreadable ones THEN Kubernetes\' 25%/25%; Recreate THEN Recreate', () => {
    const deployment = { kind: 'Deployment', metadata: { name: 'a' }, spec: { replicas: 4, strategy: { rollingUpdate: { maxSurge: 'lots' } } } } as KubeObject;
    expect(rolloutPlan(deployment)).toMatchObject({ maxSurge: { spec: '25%', pods: 1 }, maxUnavailable: { spec: '25%', pods: 1 } });
    const recreate = { kind: 'Deployment', metadata: { name: 'a' }, spec: { strategy: { type: 'Recreate' } } } as KubeObject;
    expect(rolloutPlan(recreate).strategy).toBe('Recreate');
  });
});
