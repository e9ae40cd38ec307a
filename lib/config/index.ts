/**
 * cortex.yaml → typed, validated, fully defaulted specs. Knows nothing of CDK or cdk8s.
 */
export * from './types';
export * from './errors';
export { parseConfig, validateConfig, loadConfigFile, configFromObject, validateConfigObject } from './parse';
export { mergeConfigs } from './merge';
export type { ValidationResult } from './config-file';
export { API_KINDS, LEGACY_KINDS } from './config-file';
export type { ApiKind, LegacyKind } from './config-file';
export { parseDuration, formatDuration } from './duration';
export { parseQuantity } from './quantity';
export { suggest } from './suggest';
export * from './defaults';
export * from './lock';
export * from './image-reference';
export * from './definition';
