import type { V1Deployment } from '@kubernetes/client-node';
import { rolloutState } from '../../../lambda/rollout-gate/rollout-status';
import { OLD_SPEC_HASH, SPEC_HASH, deployment, type DeploymentState } from './kube-objects';

const state = (s: DeploymentState = {}) => rolloutState(deployment(s) as V1Deployment, SPEC_HASH);

describe('rolloutState', () => {
  test('complete: the latest generation observed, every replica updated and available, no old one left', () => {
    expect(state()).toEqual({ kind: 'complete' });
    expect(state({ replicas: 0, updated: 0, total: 0, available: 0 })).toEqual({ kind: 'complete' });
  });

  test('progressing, saying what is awaited, in the order kubectl rollout status checks it', () => {
    expect(state({ generation: 7, observedGeneration: 6 })).toEqual({ kind: 'progressing', detail: 'waiting for the Deployment controller to observe generation 7' });
    expect(state({ updated: 1 })).toEqual({ kind: 'progressing', detail: '1 of 2 new replicas updated' });
    expect(state({ total: 4 })).toEqual({ kind: 'progressing', detail: '2 old replicas pending termination' });
    expect(state({ total: 3 })).toEqual({ kind: 'progressing', detail: '1 old replica pending termination' });
    expect(state({ available: 1 })).toEqual({ kind: 'progressing', detail: '1 of 2 updated replicas available' });
  });

  test('a ReplicaFailure condition (quota, admission) is told with the progress', () => {
    const conditions = [{ type: 'ReplicaFailure', status: 'True', reason: 'FailedCreate', message: 'pods "iris-x" is forbidden: exceeded quota: gpu' }];
    expect(state({ updated: 0, conditions })).toEqual({
      kind: 'progressing',
      detail: '0 of 2 new replicas updated; FailedCreate: pods "iris-x" is forbidden: exceeded quota: gpu',
    });
  });

  test('failed: ProgressDeadlineExceeded, with Kubernetes\' message', () => {
    const conditions = [{ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded', message: 'ReplicaSet "iris-5d8c7f" has timed out progressing.' }];
    expect(state({ available: 0, conditions })).toEqual({ kind: 'failed', detail: 'ProgressDeadlineExceeded: ReplicaSet "iris-5d8c7f" has timed out progressing.' });
  });

  test('ProgressDeadlineExceeded of a generation not observed yet is the previous rollout\'s: not this one\'s failure', () => {
    const conditions = [{ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded', message: 'old' }];
    expect(state({ generation: 5, observedGeneration: 4, conditions }).kind).toBe('progressing');
  });

  test('failed: no Deployment', () => {
    expect(rolloutState(undefined, SPEC_HASH)).toEqual({ kind: 'failed', detail: 'the Deployment was not found: it was deleted, or the manifest did not create it' });
  });

  test('superseded: the pod template carries another spec hash', () => {
    expect(state({ specHash: OLD_SPEC_HASH, available: 0 })).toEqual({ kind: 'superseded', specHash: OLD_SPEC_HASH });
  });
});
