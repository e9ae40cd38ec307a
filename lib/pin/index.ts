/**
 * `cortex pin`: image tags resolved to digests, for the lock file synth reads (`lib/config/lock.ts`).
 * Loads the AWS SDK's ECR client: keep it out of what `validate` and `manifests` import.
 */
export * from './resolution';
export * from './ecr';
export * from './registry-v2';
export * from './pin-images';
