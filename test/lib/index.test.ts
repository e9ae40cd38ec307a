import * as cortex from '../../lib';

// The package's public API (lib/index.ts): what a user of the constructs needs. A name added here is a promise
// to users; a check or helper the constructs use inside stays unexported (see the comment in lib/index.ts).
describe('lib/index', () => {
  test('exports the constructs, the config model and its loaders, the errors and the constants a user needs', () => {
    expect(Object.keys(cortex).sort()).toEqual([
      'ApiAccelerator', 'ApiMetrics', 'ApiMonitoring', 'ApiPlatform', 'ApisGateway', 'CloudWatchObservability',
      'ClusterAutoscaler', 'ConfigError', 'CortexApis', 'CortexCluster', 'CortexPlatform', 'CortexStack',
      'CortexValidationError', 'EksEndpointCheck', 'Istio', 'Keda', 'KedaHttpAddOn', 'MetricsServer', 'Neuron',
      'NodeGroup', 'NodeGroupAccelerator', 'NvidiaDevicePlugin', 'PROXY_ADMIN_PORT', 'PROXY_PORT',
      'PUBLIC_ENDPOINT_FINDING', 'PYTHON_PREDICTOR_IMAGE_PLACEHOLDER', 'PreStop', 'Probe', 'Prometheus',
      'RealtimeApi', 'RolloutGate', 'RolloutGateProvider', 'TrafficSplitter', 'VpcCni', 'acknowledgePublicEndpoint',
      'apiRecordingRules', 'applyClusterConfig', 'charts', 'configFromDefinitions', 'configFromObject',
      'formatProblem', 'loadClusterConfig', 'loadConfigFile', 'loadConfigFileWithLock', 'mergeConfigs',
      'parseConfig', 'predictorImageAsset', 'proxyImageAsset', 'realtimeApiSpec', 'validateClusterConfig',
      'validateClusterObject', 'validateConfig', 'validateConfigObject',
    ]);
  });

  test('charts: the cdk8s charts, the helper that renders a config, and the names objects and metrics agree on', () => {
    expect(Object.keys(cortex.charts).sort()).toEqual([
      'API_KIND_LABEL', 'API_NAMESPACE_LABEL', 'API_NAME_LABEL', 'API_NAME_METRIC_LABEL', 'DEFAULT_COLD_START_ROUTING', 'DEFAULT_GATEWAY_URL',
      'DEFAULT_NAMESPACE', 'DEFAULT_PROMETHEUS_URL', 'DURATION_METRIC', 'IN_FLIGHT_METRIC', 'MANAGED_BY',
      'MANAGED_BY_LABEL', 'NAMESPACE_METRIC_LABEL', 'NODE_GROUP_LABEL', 'PROXY_ADMIN_PORT', 'PROXY_IMAGE_PLACEHOLDER',
      'PROXY_PORT', 'PYTHON_PREDICTOR_IMAGE_PLACEHOLDER', 'QUEUE_METRIC', 'REQUESTS_METRIC', 'RealtimeApiChart', 'SERVICE_PORT',
      'SPEC_HASH_ANNOTATION', 'TIME_TO_FIRST_BYTE_METRIC', 'TrafficSplitterChart', 'addConfigCharts', 'configCharts',
    ]);
  });
});
