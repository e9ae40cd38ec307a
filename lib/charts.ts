// The cdk8s charts as the package exports them (`import { charts } from 'cortex-cdk'`): the charts, the helper
// that renders a whole config, and the names a user selects objects or reads metrics by. constructs/index.ts
// is the repository's own index of everything in constructs/.
export { RealtimeApiChart } from '../constructs/realtime-api-chart';
export type { RealtimeApiChartOptions, RealtimeApiChartProps } from '../constructs/realtime-api-chart';
export { TrafficSplitterChart } from '../constructs/traffic-splitter-chart';
export type { TrafficSplitterChartProps } from '../constructs/traffic-splitter-chart';
export { addConfigCharts, configCharts } from '../constructs/config-charts';
export type { ConfigChartsOptions } from '../constructs/config-charts';
// Where the KEDA HTTP add-on answers, for scale-to-zero APIs (`coldStart` of the charts and of ApiPlatform.existing).
export { DEFAULT_COLD_START_ROUTING } from '../constructs/cold-start';
export type { ColdStartRouting } from '../constructs/cold-start';
export type { NetworkPolicyPeer } from '../constructs/network-policy';
export {
  API_KIND_LABEL,
  API_NAME_LABEL,
  API_NAME_METRIC_LABEL,
  API_NAMESPACE_LABEL,
  DEFAULT_GATEWAY_URL,
  DEFAULT_NAMESPACE,
  DEFAULT_PROMETHEUS_URL,
  DURATION_METRIC,
  IN_FLIGHT_METRIC,
  MANAGED_BY,
  MANAGED_BY_LABEL,
  NAMESPACE_METRIC_LABEL,
  NODE_GROUP_LABEL,
  PROXY_ADMIN_PORT,
  PROXY_IMAGE_PLACEHOLDER,
  PROXY_PORT,
  PYTHON_PREDICTOR_IMAGE_PLACEHOLDER,
  QUEUE_METRIC,
  REQUESTS_METRIC,
  SERVICE_PORT,
  SPEC_HASH_ANNOTATION,
  TIME_TO_FIRST_BYTE_METRIC,
} from '../constructs/names';
