import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  CRASH_LOOP_RESTARTS,
  ERROR_KINDS,
  podProblems,
  unschedulableMessage,
  WAITING_FOR_NODE_KINDS,
  withEvents,
  type DiagnosedPod,
  type PodProblemKind,
} from '../../../lib/private/pod-diagnosis';
import { crashLooping, event, imagePullFailing, pod, ready, runningNotReady, unschedulable, type Json, type PodState } from '../../lambda/rollout-gate/kube-objects';

const IMAGE = 'registry.example.com/iris:2';
const problems = (state: PodState) => podProblems(pod('iris-a', state) as DiagnosedPod);
const waiting = (reason: string, message?: string): Json => ({ name: 'api', image: IMAGE, imageID: '', ready: false, restartCount: 0, state: { waiting: { reason, message } } });
const only = (state: PodState) => {
  const found = problems(state);
  expect(found).toHaveLength(1);
  return found[0];
};

describe('podProblems: every waiting reason, its kind and whether it fails a rollout at once', () => {
  // The rollout gate fails a deploy on `fatal`; `cortex get` shows the error kinds as `error` and the node waits as `pending`.
  test.each<[string, string | undefined, PodProblemKind, boolean, string]>([
    ['ImagePullBackOff', `Back-off pulling image "${IMAGE}"`, 'image-pull', true, `image pull failure: cannot pull ${IMAGE} (ImagePullBackOff: Back-off pulling image "${IMAGE}")`],
    ['InvalidImageName', 'invalid reference format', 'image-pull', true, `image pull failure: cannot pull ${IMAGE} (InvalidImageName: invalid reference format)`],
    ['ErrImageNeverPull', 'image not present with pull policy Never', 'image-pull', true, `image pull failure: cannot pull ${IMAGE} (ErrImageNeverPull: image not present with pull policy Never)`],
    // one failed attempt: the kubelet retries, and a pull that keeps failing is ImagePullBackOff within seconds
    ['ErrImagePull', 'rpc error: code = NotFound desc = not found', 'image-pull', false, `image pull failure: cannot pull ${IMAGE} (ErrImagePull: rpc error: code = NotFound desc = not found)`],
    ['RegistryUnavailable', 'dial tcp: i/o timeout', 'image-pull', false, `image pull failure: cannot pull ${IMAGE} (RegistryUnavailable: dial tcp: i/o timeout)`],
    // a missing Secret, ConfigMap or key: it lasts until someone creates it, so the deploy fails now, not after its timeout
    ['CreateContainerConfigError', 'secret "hf-token" not found', 'container-error', true, 'cannot start (CreateContainerConfigError: secret "hf-token" not found)'],
    ['CreateContainerError', 'failed to create containerd container: invalid mount', 'container-error', true, 'cannot start (CreateContainerError: failed to create containerd container: invalid mount)'],
    ['RunContainerError', 'exec: "serve": executable file not found in $PATH', 'container-error', true, 'cannot start (RunContainerError: exec: "serve": executable file not found in $PATH)'],
    ['PreCreateHookError', 'hook failed', 'container-error', true, 'cannot start (PreCreateHookError: hook failed)'],
    ['PostStartHookError', 'exit code 1', 'container-error', true, 'cannot start (PostStartHookError: exit code 1)'],
    // the same reasons with a message that passes by itself: a node that just joined, a busy runtime
    ['CreateContainerConfigError', 'services have not yet been read at least once, cannot construct envvars', 'starting', false, 'CreateContainerConfigError: services have not yet been read at least once, cannot construct envvars'],
    ['CreateContainerError', 'context deadline exceeded', 'starting', false, 'CreateContainerError: context deadline exceeded'],
    ['ContainerCreating', undefined, 'starting', false, 'ContainerCreating'],
    ['PodInitializing', undefined, 'starting', false, 'PodInitializing'],
  ])('%s (%s): %s, fatal %s', (reason, message, kind, fatal, detail) => {
    expect(only({ containerStatuses: [waiting(reason, message)] })).toEqual({
      pod: 'iris-a',
      container: 'api',
      kind,
      reason,
      detail,
      fatal,
      wantsLog: false,
      wantsEvents: false,
    });
  });

  test('a crash loop: exit code, restarts, wants the log; fatal from CRASH_LOOP_RESTARTS restarts', () => {
    const early = only({ containerStatuses: [crashLooping('api', CRASH_LOOP_RESTARTS - 1)] });
    expect(early).toMatchObject({ kind: 'crash-loop', reason: 'CrashLoopBackOff', detail: 'crash looping: restarted 2 times, last exit code 1', fatal: false, wantsLog: true });
    expect(only({ containerStatuses: [crashLooping('api', CRASH_LOOP_RESTARTS, 2, 'Completed')] })).toMatchObject({
      detail: 'crash looping: restarted 3 times, last exit code 2 (Completed)',
      fatal: true,
    });
    expect(only({ containerStatuses: [crashLooping('api', 1)] }).detail).toBe('crash looping: restarted 1 time, last exit code 1');
  });

  test('OOMKilled: killed for using more memory than its limit, the limit from the pod spec when it has one', () => {
    const oom = crashLooping('api', CRASH_LOOP_RESTARTS, 137, 'OOMKilled');
    expect(only({ containerStatuses: [oom] })).toMatchObject({ kind: 'crash-loop', detail: 'crash looping: restarted 3 times, killed for using more memory than its limit', fatal: true });
    const limited = pod('iris-a', { containerStatuses: [oom] });
    limited.spec.containers[0].resources = { limits: { memory: '512Mi' } };
    expect(podProblems(limited as DiagnosedPod)[0].detail).toBe('crash looping: restarted 3 times, killed for using more memory than its limit (512Mi)');
  });

  test('an init container crash-looping is the pod\'s problem too', () => {
    const found = only({ phase: 'Pending', initContainerStatuses: [crashLooping('download-model', 5)], containerStatuses: [] });
    expect(found).toMatchObject({ container: 'download-model', kind: 'crash-loop', fatal: true });
  });

  test('an image pull failure names the image of the spec when the status has none', () => {
    const p = pod('iris-a', { containerStatuses: [{ ...imagePullFailing('api', IMAGE), image: '' }] });
    expect(podProblems(p as DiagnosedPod)[0].detail).toBe(`image pull failure: cannot pull ${IMAGE} (ImagePullBackOff: Back-off pulling image "${IMAGE}")`);
  });

  test('a container that exited non-zero (not crash-looping yet) is told, and waited for', () => {
    const exited = { ...ready('api'), ready: false, state: { terminated: { exitCode: 2, reason: 'Error' } } };
    expect(only({ containerStatuses: [exited] })).toMatchObject({ kind: 'exited', reason: 'Error', detail: 'exited with code 2 (Error)', fatal: false });
    expect(problems({ containerStatuses: [{ ...exited, state: { terminated: { exitCode: 0, reason: 'Completed' } } }] })).toEqual([]);
  });

  test('running but not ready wants the events (the probe\'s message); a ready pod has none', () => {
    expect(problems({})).toEqual([]);
    expect(problems({ containerStatuses: [runningNotReady('api'), ready('proxy')] })).toEqual([
      expect.objectContaining({ container: 'api', kind: 'not-ready', reason: 'NotReady', detail: 'running but not ready', fatal: false, wantsEvents: true }),
    ]);
  });

  test('unschedulable: the capacity it waits for, waited for (the cluster-autoscaler may add a node), wants the events', () => {
    expect(only({ phase: 'Pending', conditions: unschedulable('0/3 nodes are available: 3 Insufficient nvidia.com/gpu.'), containerStatuses: [] })).toEqual({
      pod: 'iris-a',
      container: undefined,
      kind: 'unschedulable',
      reason: 'Unschedulable',
      detail: 'waiting for GPU capacity (nvidia.com/gpu): 0/3 nodes are available: 3 Insufficient nvidia.com/gpu.',
      fatal: false,
      wantsLog: false,
      wantsEvents: true,
    });
    const gated = only({ phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'SchedulingGated', message: 'Scheduling is blocked due to non-empty scheduling gates' }], containerStatuses: [] });
    expect(gated).toMatchObject({ kind: 'unschedulable', reason: 'SchedulingGated', detail: 'SchedulingGated: Scheduling is blocked due to non-empty scheduling gates', fatal: false });
  });

  test('a pod a custom scheduler has not placed (the Neuron scheduler not running); a scheduled pod not started yet', () => {
    const p = pod('iris-a', { phase: 'Pending', conditions: [], containerStatuses: [] });
    const custom = { ...p, spec: { ...p.spec, schedulerName: 'my-scheduler' } };
    expect(podProblems(custom as DiagnosedPod)).toEqual([
      expect.objectContaining({ kind: 'not-scheduled', detail: expect.stringMatching(/^not scheduled yet: scheduler "my-scheduler" has not placed the pod/), fatal: false }),
    ]);
    expect(only({ phase: 'Pending', containerStatuses: [] })).toMatchObject({ kind: 'starting', reason: 'Pending', detail: 'Pending: scheduled, containers not started yet' });
  });

  test('an evicted pod is told with its reason; a finished pod has none', () => {
    expect(only({ phase: 'Failed', reason: 'Evicted', message: 'The node was low on resource: memory.' })).toMatchObject({
      kind: 'failed',
      detail: 'pod failed: Evicted: The node was low on resource: memory.',
      fatal: false,
    });
    expect(problems({ phase: 'Succeeded', containerStatuses: [] })).toEqual([]);
  });

  test('the kinds: errors and waits for a node are distinct, and every fatal problem is an error', () => {
    expect([...ERROR_KINDS].filter((k) => WAITING_FOR_NODE_KINDS.has(k))).toEqual([]);
    const fatal = ['ImagePullBackOff', 'CreateContainerConfigError'].map((r) => only({ containerStatuses: [waiting(r, 'x')] }));
    expect(fatal.every((p) => p.fatal && ERROR_KINDS.has(p.kind))).toBe(true);
  });
});

describe('withEvents', () => {
  const events = (list: ReturnType<typeof event>[]) => list as Parameters<typeof withEvents>[1];

  test('a pod not ready gets its latest failing readiness probe', () => {
    const found = only({ containerStatuses: [runningNotReady('api')] });
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
    const found = only({ phase: 'Pending', conditions: unschedulable('0/3 nodes are available'), containerStatuses: [] });
    expect(withEvents(found, events([event('iris-a', 'NotTriggerScaleUp', "pod didn't trigger scale-up: 1 Insufficient nvidia.com/gpu")])).detail).toBe(
      "no node fits: 0/3 nodes are available; cluster-autoscaler: pod didn't trigger scale-up: 1 Insufficient nvidia.com/gpu",
    );
    expect(withEvents(found, [])).toBe(found);
  });
});

describe('unschedulableMessage', () => {
  test('names the missing resources, GPU first, then anything else', () => {
    expect(unschedulableMessage('0/2 nodes are available: 2 Insufficient cpu, 2 Insufficient memory.')).toBe(
      'waiting for capacity (cpu, memory): 0/2 nodes are available: 2 Insufficient cpu, 2 Insufficient memory.',
    );
    expect(unschedulableMessage("0/2 nodes are available: 2 node(s) didn't match Pod's node affinity/selector.")).toBe(
      "no node fits: 0/2 nodes are available: 2 node(s) didn't match Pod's node affinity/selector.",
    );
    expect(unschedulableMessage('0/3 nodes are available: 3 Insufficient memory.', ['nvidia.com/gpu'])).toBe(
      'waiting for GPU capacity (nvidia.com/gpu, memory): 0/3 nodes are available: 3 Insufficient memory.',
    );
    expect(unschedulableMessage('0/3 nodes are available: 3 Insufficient aws.amazon.com/neuron.')).toBe(
      'waiting for Inferentia/Trainium capacity (aws.amazon.com/neuron): 0/3 nodes are available: 3 Insufficient aws.amazon.com/neuron.',
    );
  });
});

test('the module imports nothing: the rollout gate\'s Lambda bundle takes it alone, without the CLI or the CDK', () => {
  const source = fs.readFileSync(path.join(__dirname, '../../../lib/private/pod-diagnosis.ts'), 'utf8');
  expect(source.match(/^\s*(import|export .* from)\b.*$/gm) ?? []).toEqual([]);
  expect(source).not.toMatch(/\brequire\(/);
});
