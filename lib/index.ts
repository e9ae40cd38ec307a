// cortex-cdk: Cortex-style Realtime APIs on Amazon EKS, as AWS CDK constructs.
//
// What a user of the constructs needs, named one by one: the constructs with their props and options, the
// cortex.yaml and cluster.yaml model (its types, loaders and validators), the errors, and the few constants a
// user writes against. The checks and helpers the constructs use inside stay in their modules, unexported here,
// so that they can change without breaking an app. The cdk8s charts are under `charts` (lib/charts.ts).

// The cortex.yaml model: spec types (what a validated file is), definitions (what code writes), loaders.
export type * from './config/types';
export type * from './config/definition';
export type { ValidationResult } from './config/config-file';
export type { ApiKind, LegacyKind } from './config/config-file';
export type { LockFileOptions } from './config/lock';
export { PROXY_ADMIN_PORT, PROXY_PORT, PYTHON_PREDICTOR_IMAGE_PLACEHOLDER } from '../constructs/names';
export { configFromObject, loadConfigFile, parseConfig, validateConfig, validateConfigObject } from './config/parse';
export { mergeConfigs } from './config/merge';
export { loadConfigFileWithLock } from './config/lock';
export { configFromDefinitions, PreStop, Probe, realtimeApiSpec } from './config/definition';

// Errors: every problem of a file at once (ConfigError), or one bad option of a construct.
export type { ConfigProblem } from './config/errors';
export { ConfigError, CortexValidationError, formatProblem } from './config/errors';

// The cluster.
export { CortexCluster } from './cortex-cluster';
export type { CortexClusterProps } from './cortex-cluster';
export { NodeGroup, NodeGroupAccelerator } from './node-group';
export type { CapacityGroup, CustomNodeGroupOptions, NodeGroupOptions, NodeGroupTaint } from './node-group';
export { acknowledgePublicEndpoint, EksEndpointCheck, PUBLIC_ENDPOINT_FINDING } from './eks-endpoint-check';

// The platform and its add-ons.
export { ApiPlatform } from './platform/api-platform';
export type { ExistingApiPlatformAttributes, IApiPlatform } from './platform/api-platform';
export { CortexPlatform } from './platform/cortex-platform';
export type { CortexPlatformOptions, CortexPlatformProps } from './platform/cortex-platform';
export { ApisGateway } from './platform/apis-gateway';
export type { ApisGatewayOptions, ApisGatewayProps } from './platform/apis-gateway';
export { CloudWatchObservability } from './platform/cloudwatch-observability';
export type { ApiMetricsOptions, CloudWatchObservabilityOptions, CloudWatchObservabilityProps } from './platform/cloudwatch-observability';
export { ClusterAutoscaler } from './platform/cluster-autoscaler';
export type { ClusterAutoscalerOptions, ClusterAutoscalerProps } from './platform/cluster-autoscaler';
export type { HelmAddonOptions, HelmValues } from './platform/helm-addon';
export { Istio } from './platform/istio';
export type { IstioOptions, IstioProps } from './platform/istio';
export { Keda } from './platform/keda';
export type { KedaOptions, KedaProps } from './platform/keda';
export { KedaHttpAddOn } from './platform/keda-http-add-on';
export type { KedaHttpAddOnOptions, KedaHttpAddOnProps } from './platform/keda-http-add-on';
export { MetricsServer } from './platform/metrics-server';
export type { MetricsServerOptions, MetricsServerProps } from './platform/metrics-server';
export { Neuron } from './platform/neuron';
export type { NeuronOptions, NeuronProps } from './platform/neuron';
export { NvidiaDevicePlugin } from './platform/nvidia-device-plugin';
export type { NvidiaDevicePluginOptions, NvidiaDevicePluginProps } from './platform/nvidia-device-plugin';
export { Prometheus } from './platform/prometheus';
export type { PrometheusOptions, PrometheusProps } from './platform/prometheus';
export { VpcCni } from './platform/vpc-cni';
export type { VpcCniOptions, VpcCniProps } from './platform/vpc-cni';
// For a Prometheus of your own that the per-API metrics agent reads (docs/platform.md).
export { apiRecordingRules } from './platform/api-metrics';
export type { ApiMetricRule } from './platform/api-metrics';

// The APIs.
export { RealtimeApi } from './realtime-api';
export type { RealtimeApiOptions, RealtimeApiProps, RealtimeApisFromConfigFileProps } from './realtime-api';
export { TrafficSplitter } from './traffic-splitter';
export type { TrafficSplitterOptions, TrafficSplitterProps } from './traffic-splitter';
export { CortexApis } from './cortex-apis';
export type { CortexApisFileProps, CortexApisOptions, CortexApisProps } from './cortex-apis';
export { RolloutGate, RolloutGateProvider } from './rollout-gate';
export type { RolloutGateOptions, RolloutGateProps, RolloutGateProviderOptions } from './rollout-gate';
export { ApiAccelerator, ApiMetrics, ApiMonitoring } from './api-monitoring';
export type { ApiMetricsProps, ApiMonitoringOptions, ApiMonitoringProps } from './api-monitoring';
// The images, for charts rendered in an app of your own (their `proxyImage`, `predictorImages`).
export { predictorImageAsset, proxyImageAsset } from './images';
export type { PredictorImageOptions } from './images';

// The whole stack, and Cortex's cluster.yaml as its props.
export { CortexStack } from './cortex-stack';
export type { CortexStackProps } from './cortex-stack';
export { applyClusterConfig, loadClusterConfig, validateClusterConfig, validateClusterObject } from './cluster-config';
export type { ClusterConfig, ClusterConfigResult, ClusterEndpointSpec, ClusterFileSpec, ClusterNodeGroupSpec, VolumeType } from './cluster-config';

// The cdk8s charts (no AWS): each API's Kubernetes objects, and the names they agree on.
export * as charts from './charts';
