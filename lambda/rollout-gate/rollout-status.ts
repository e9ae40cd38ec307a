import type { V1Deployment } from '@kubernetes/client-node';
import { SPEC_HASH_ANNOTATION } from '../../constructs/names';

/** Where a Deployment's rollout stands, read from its status the way `kubectl rollout status` reads it. */
export type RolloutState =
  /** The new ReplicaSet is fully available and no old pod is left. */
  | { readonly kind: 'complete' }
  /** Still under way; `detail` says what is awaited (`1 of 2 updated replicas available`). */
  | { readonly kind: 'progressing'; readonly detail: string }
  /** Failed for good: the Deployment is gone, or Kubernetes gave up on it (ProgressDeadlineExceeded). */
  | { readonly kind: 'failed'; readonly detail: string }
  /** The Deployment's pod template is another revision than the one waited for (see {@link rolloutState}). */
  | { readonly kind: 'superseded'; readonly specHash: string | undefined };

/**
 * The state of the rollout of `specHash` in `deployment` (undefined: not found). Complete when the
 * controller has seen the latest spec (`observedGeneration` >= `generation`) and every replica is updated
 * and available (`updatedReplicas` == `spec.replicas` == `replicas` == `availableReplicas`). A
 * `ProgressDeadlineExceeded` condition fails it.
 *
 * A Deployment whose template carries another spec hash is `superseded`: something newer (or, while
 * CloudFormation rolls back, something older) was applied after this revision, and it is not this
 * gate's to wait for — waiting would only fail a rollback.
 */
export function rolloutState(deployment: V1Deployment | undefined, specHash: string): RolloutState {
  if (deployment === undefined) {
    return { kind: 'failed', detail: 'the Deployment was not found: it was deleted, or the manifest did not create it' };
  }
  const running = deployment.spec?.template?.metadata?.annotations?.[SPEC_HASH_ANNOTATION];
  if (running !== specHash) {
    return { kind: 'superseded', specHash: running };
  }
  const generation = deployment.metadata?.generation ?? 0;
  const observed = deployment.status?.observedGeneration ?? 0;
  if (observed < generation) {
    return { kind: 'progressing', detail: `waiting for the Deployment controller to observe generation ${generation}` };
  }
  const progressing = deployment.status?.conditions?.find((c) => c.type === 'Progressing');
  if (progressing?.reason === 'ProgressDeadlineExceeded') {
    return { kind: 'failed', detail: `ProgressDeadlineExceeded: ${progressing.message ?? 'the rollout made no progress within its deadline'}` };
  }
  const desired = deployment.spec?.replicas ?? 1;
  const updated = deployment.status?.updatedReplicas ?? 0;
  const total = deployment.status?.replicas ?? 0;
  const available = deployment.status?.availableReplicas ?? 0;
  const replicaFailure = deployment.status?.conditions?.find((c) => c.type === 'ReplicaFailure' && c.status === 'True');
  const failureNote = replicaFailure ? `; ${replicaFailure.reason ?? 'ReplicaFailure'}: ${replicaFailure.message ?? ''}`.trimEnd() : '';
  if (updated < desired) {
    return { kind: 'progressing', detail: `${updated} of ${desired} new replicas updated${failureNote}` };
  }
  if (total > updated) {
    return { kind: 'progressing', detail: `${total - updated} old ${total - updated === 1 ? 'replica' : 'replicas'} pending termination${failureNote}` };
  }
  if (available < updated) {
    return { kind: 'progressing', detail: `${available} of ${updated} updated replicas available${failureNote}` };
  }
  return { kind: 'complete' };
}
