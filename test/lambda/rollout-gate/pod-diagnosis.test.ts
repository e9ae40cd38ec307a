import type { CoreV1Event, V1Pod } from '@kubernetes/client-node';
import { CRASH_LOOP_RESTARTS, podProblems, withEvents } from '../../../lambda/rollout-gate/pod-diagnosis';
import { crashLooping, event, imagePullFailing, pod, ready, runningNotReady, unschedulable, type PodState } from './kube-objects';

const problems = (state: PodState) => podProblems(pod('iris-a', state) as V1Pod);

describe('podProblems', () => {
  test('a ready pod has none', () => {
    expect(problems({})).toEqual([]);
  });

  test('a crash loop: exit code, restarts, wants the log; fatal from CRASH_LOOP_RESTARTS restarts', () => {
    const [early] = problems({ containerStatuses: [crashLooping('api', CRASH_LOOP_RESTARTS - 1)] });
    expect(early).toMatchObject({ pod: 'iris-a', container: 'api', reason: 'CrashLoopBackOff', detail: 'CrashLoopBackOff: exit code 1, 2 restarts', fatal: false, wantsLog: true });
    const [late] = problems({ containerStatuses: [crashLooping('api', CRASH_LOOP_RESTARTS, 137, 'OOMKilled')] });
    expect(late).toMatchObject({ detail: 'CrashLoopBackOff: exit code 137 (OOMKilled), 3 restarts', fatal: true });
  });

  test('an init container crash-looping is the pod\'s problem too', () => {
    const [found] = problems({ phase: 'Pending', initContainerStatuses: [crashLooping('download-model', 5)], containerStatuses: [] });
    expect(found).toMatchObject({ container: 'download-model', fatal: true });
  });

  test('image pulls: ImagePullBackOff and InvalidImageName are fatal, a first ErrImagePull is not', () => {
    const image = 'registry.example.com/iris:nope';
    expect(problems({ containerStatuses: [imagePullFailing('api', image)] })[0]).toMatchObject({
      reason: 'ImagePullBackOff',
      detail: `ImagePullBackOff for image ${image}: Back-off pulling image "${image}"`,
      fatal: true,
    });
    expect(problems({ containerStatuses: [imagePullFailing('api', 'Iris:Latest', 'InvalidImageName', 'invalid reference format')] })[0].fatal).toBe(true);
    expect(problems({ containerStatuses: [imagePullFailing('api', image, 'ErrImagePull', 'i/o timeout')] })[0].fatal).toBe(false);
  });

  test('other waiting reasons (a missing Secret) are told with their message, and waited for', () => {
    const status = { name: 'api', image: 'i', imageID: '', ready: false, restartCount: 0, state: { waiting: { reason: 'CreateContainerConfigError', message: 'secret "hf-token" not found' } } };
    expect(problems({ containerStatuses: [status] })[0]).toMatchObject({ detail: 'CreateContainerConfigError: secret "hf-token" not found', fatal: false });
  });

  test('unschedulable: the scheduler\'s message, waited for (the cluster-autoscaler may add a node), wants the events', () => {
    const [found] = problems({ phase: 'Pending', conditions: unschedulable('0/3 nodes are available: 3 Insufficient nvidia.com/gpu.'), containerStatuses: [] });
    expect(found).toEqual({
      pod: 'iris-a',
      container: undefined,
      reason: 'Unschedulable',
      detail: 'Unschedulable: 0/3 nodes are available: 3 Insufficient nvidia.com/gpu.',
      fatal: false,
      wantsLog: false,
      wantsEvents: true,
    });
  });

  test('running but not ready wants the events (the probe\'s message); a container that exited non-zero is told', () => {
    expect(problems({ containerStatuses: [runningNotReady('api'), ready('proxy')] })).toEqual([
      expect.objectContaining({ container: 'api', reason: 'NotReady', detail: 'running but not ready', wantsEvents: true }),
    ]);
    const exited = { ...ready('api'), ready: false, state: { terminated: { exitCode: 2, reason: 'Error' } } };
    expect(problems({ containerStatuses: [exited] })[0].detail).toBe('exited with code 2 (Error)');
  });

  test('an evicted pod is told with its reason', () => {
    expect(problems({ phase: 'Failed', reason: 'Evicted', message: 'The node was low on resource: memory.' })[0].detail).toBe(
      'pod failed: Evicted: The node was low on resource: memory.',
    );
  });
});

describe('withEvents', () => {
  const events = (list: ReturnType<typeof event>[]) => list as unknown as CoreV1Event[];

  test('a pod not ready gets its latest failing readiness probe', () => {
    const [found] = problems({ containerStatuses: [runningNotReady('api')] });
    const told = withEvents(
      found,
      events([
        event('iris-a', 'Unhealthy', 'Readiness probe failed: HTTP probe failed with statuscode: 503', '2025-01-01T00:02:00Z'),
        event('iris-a', 'Unhealthy', 'Liveness probe failed: timeout', '2025-01-01T00:03:00Z'),
        event('iris-a', 'Unhealthy', 'Readiness probe failed: connection refused', '2025-01-01T00:01:00Z'),
      ]),
    );
    expect(told.detail).toBe('not ready: Readiness probe failed: HTTP probe failed with statuscode: 503');
  });

  test('an unschedulable pod gets the cluster-autoscaler\'s verdict; without events nothing changes', () => {
    const [found] = problems({ phase: 'Pending', conditions: unschedulable('0/3 nodes are available'), containerStatuses: [] });
    expect(withEvents(found, events([event('iris-a', 'NotTriggerScaleUp', "pod didn't trigger scale-up: 1 Insufficient nvidia.com/gpu")])).detail).toBe(
      "Unschedulable: 0/3 nodes are available; cluster-autoscaler: pod didn't trigger scale-up: 1 Insufficient nvidia.com/gpu",
    );
    expect(withEvents(found, [])).toBe(found);
  });
});
