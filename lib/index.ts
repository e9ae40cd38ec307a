// cortex-cdk: Cortex-style Realtime APIs on Amazon EKS, as AWS CDK constructs.
export * from './config';
export * from './errors';
export * from './node-group';
export * from './cortex-cluster';
export * from './eks-endpoint-check';
export * from './platform';
export * from './api-monitoring';
export * from './realtime-api';
export * from './rollout-gate';
export * from './traffic-splitter';
export * from './cortex-apis';
export * from './images';
export * from './cortex-stack';
export * from './cluster-config';
export * as charts from '../constructs';
