/**
 * `cortex diff`: what deploying a cloud assembly changes, API by API. Reads synthesized (or deployed)
 * templates as JSON — no aws-cdk-lib — finds each API's Kubernetes objects in its KubernetesManifest,
 * diffs them field by field and says what the update does (rolling update, scale, routing).
 */
export * from './api-diff';
export * from './api-manifests';
export * from './assembly';
export * from './deployed';
export * from './errors';
export * from './intrinsics';
export * from './object-diff';
export * from './print';
export * from './rollout';
export * from './templates';
export * from './token-string';
