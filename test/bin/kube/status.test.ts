import { apiStatus, podProblem } from '../../../bin/cli/kube/status';
import { Container, Pod } from '../../../bin/cli/kube/objects';
import { ago, deployment, pod, unschedulablePod } from '../../support/kube-fixtures';

/** `p` with its first container's resources replaced. */
function withResources(p: Pod, resources: Container['resources']): Pod {
  return { ...p, spec: { ...p.spec, containers: (p.spec?.containers ?? []).map((c, i) => (i === 0 ? { ...c, resources } : c)) } };
}

describe('apiStatus', () => {
  test('live when every requested replica is up to date and ready', () => {
    expect(apiStatus(deployment('a'), [pod('a', 'x'), pod('a', 'y')])).toEqual({ status: 'live' });
  });

  test('live and scaled to zero says that the first request starts a replica', () => {
    expect(apiStatus(deployment('a', { replicas: 0, ready: 0, updated: 0 }), [])).toEqual({
      status: 'live',
      reason: 'scaled to zero: the first request starts a replica',
    });
  });

  test('updating: a spec not yet observed, a rollout, a scale-up', () => {
    expect(apiStatus(deployment('a', { generation: 4, observedGeneration: 3 }), [])).toEqual({ status: 'updating', reason: 'the new spec is not picked up yet' });
    expect(apiStatus(deployment('a', { updated: 2, total: 3 }), [])).toEqual({ status: 'updating', reason: 'rolling out: 2 of 2 replicas up to date, 2 ready' });
    expect(apiStatus(deployment('a', { replicas: 4, ready: 2, updated: 4 }), [])).toEqual({ status: 'updating', reason: 'starting: 2 of 4 replicas ready' });
  });

  test('pending for Inferentia/Trainium capacity, counting the pods', () => {
    const message = '0/5 nodes are available: 2 Insufficient aws.amazon.com/neuron, 3 node(s) had untolerated taint {nvidia.com/gpu: }.';
    const status = apiStatus(deployment('a', { ready: 0 }), [unschedulablePod('a', 'x', message), unschedulablePod('a', 'y', message)]);
    expect(status).toEqual({ status: 'pending', reason: `waiting for Inferentia/Trainium capacity (aws.amazon.com/neuron): ${message} (2 pods)` });
  });

  test('pending becomes an error once the rollout passes its progress deadline', () => {
    const stuck = deployment('a', {
      ready: 0,
      conditions: [{ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded', message: 'ReplicaSet "a-7d9f8c6b5" has timed out progressing.' }],
    });
    expect(apiStatus(stuck, [unschedulablePod('a', 'x', '0/3 nodes are available: 3 Insufficient nvidia.com/gpu.')])).toEqual({
      status: 'error',
      reason: "waiting for GPU capacity (nvidia.com/gpu): 0/3 nodes are available: 3 Insufficient nvidia.com/gpu.; for longer than the rollout's progress deadline",
    });
    expect(apiStatus(stuck, [])).toEqual({ status: 'error', reason: 'the rollout made no progress within its deadline: ReplicaSet "a-7d9f8c6b5" has timed out progressing.' });
  });

  test('an error wins over a rollout, and replica sets that cannot create pods are errors', () => {
    const crashing = pod('a', 'z', { api: { ready: false, restartCount: 1, state: { waiting: { reason: 'CrashLoopBackOff' } }, lastState: { terminated: { reason: 'OOMKilled', exitCode: 137 } } }, memoryLimit: '512Mi' });
    expect(apiStatus(deployment('a', { updated: 1, total: 3 }), [pod('a', 'x'), crashing])).toEqual({
      status: 'error',
      reason: 'container "api": crash looping: restarted 1 time, killed for using more memory than its limit (512Mi)',
    });
    const quota = deployment('a', { ready: 0, conditions: [{ type: 'ReplicaFailure', status: 'True', reason: 'FailedCreate', message: 'pods "a-x" is forbidden: exceeded quota: compute' }] });
    expect(apiStatus(quota, [])).toEqual({ status: 'error', reason: 'cannot create pods (FailedCreate): pods "a-x" is forbidden: exceeded quota: compute' });
  });
});

describe('podProblem', () => {
  test('container errors: image pull, crash loop, configuration', () => {
    expect(podProblem(pod('a', 'x', { api: { state: { waiting: { reason: 'ErrImagePull', message: 'rpc error: code = NotFound\n  desc = not found' } } } }))).toMatchObject({
      kind: 'image-pull',
      container: 'api',
      message: 'container "api": image pull failure: cannot pull 123456789012.dkr.ecr.us-east-1.amazonaws.com/a:v1 (ErrImagePull: rpc error: code = NotFound desc = not found)',
    });
    expect(podProblem(pod('a', 'x', { api: { state: { waiting: { reason: 'CreateContainerConfigError', message: 'secret "hf-token" not found' } } } }))?.message).toBe(
      'container "api": cannot start (CreateContainerConfigError: secret "hf-token" not found)',
    );
    expect(podProblem(pod('a', 'x', { api: { restartCount: 3, state: { waiting: { reason: 'CrashLoopBackOff' } }, lastState: { terminated: { reason: 'Completed', exitCode: 0 } } } }))?.message).toBe(
      'container "api": crash looping: restarted 3 times, last exit code 0 (Completed)',
    );
  });

  test('a pod starting, being deleted or finished has none', () => {
    expect(podProblem(pod('a', 'x', { api: { ready: false, state: { waiting: { reason: 'ContainerCreating' } } } }))).toBeUndefined();
    const deleting = pod('a', 'x', { api: { state: { waiting: { reason: 'CrashLoopBackOff' } } } });
    expect(podProblem({ ...deleting, metadata: { ...deleting.metadata, deletionTimestamp: ago(1000) } })).toBeUndefined();
  });

  test('a GPU or Neuron pod with no node of its kind yet (a node group at zero) waits for that capacity', () => {
    // GIVEN a pod asking for a GPU, and a cluster whose GPU node group has no node: no "Insufficient nvidia.com/gpu"
    const message = "0/2 nodes are available: 2 node(s) didn't match Pod's node affinity/selector. preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling.";
    const gpuPod = withResources(unschedulablePod('a', 'x', message), { limits: { memory: '1Gi', 'nvidia.com/gpu': '1' } });
    const neuronPod = withResources(unschedulablePod('b', 'y', message), { requests: { 'aws.amazon.com/neuroncore': '2' } });

    // WHEN / THEN
    expect(podProblem(gpuPod)).toMatchObject({ kind: 'unschedulable', message: `waiting for GPU capacity (nvidia.com/gpu): ${message}` });
    expect(apiStatus(deployment('a', { ready: 0 }), [gpuPod])).toEqual({ status: 'pending', reason: `waiting for GPU capacity (nvidia.com/gpu): ${message}` });
    expect(podProblem(neuronPod)?.message).toBe(`waiting for Inferentia/Trainium capacity (aws.amazon.com/neuroncore): ${message}`);
    // a CPU pod the same message keeps from running is not waiting for accelerators
    expect(podProblem(unschedulablePod('c', 'z', message))?.message).toBe(`no node fits: ${message}`);
  });

  test('a pod a custom scheduler has not placed (the Neuron scheduler not running)', () => {
    expect(podProblem(pod('a', 'x', { phase: 'Pending', node: null, conditions: [], schedulerName: 'my-scheduler' }))?.message).toMatch(
      /^not scheduled yet: scheduler "my-scheduler" has not placed the pod/,
    );
  });
});
