export * from './names';
export * from './realtime-api-chart';
export * from './traffic-splitter-chart';
export * from './config-charts';
export * from './proxy-sidecar';
export * from './drain';
export * from './resources';
export * from './spec-hash';
export * from './predictor-config';
export * from './auth';
export * from './service-account';
export * from './network-policy';
export * from './cold-start';
export {
  IN_FLIGHT_METRIC,
  API_NAME_METRIC_LABEL,
  NAMESPACE_METRIC_LABEL,
  GATEWAY_REQUESTS_METRIC,
  GATEWAY_ACTIVITY_RANGE,
  POLLING_INTERVAL_SECONDS,
  HPA_SYNC_PERIOD_SECONDS,
  ACTIVATION_ONLY_TARGET,
  IN_FLIGHT_TRIGGER_NAME,
  GATEWAY_ACTIVITY_TRIGGER_NAME,
  CPU_TRIGGER_NAME,
  CPU_TRIGGER_CONTAINER,
  cpuTrigger,
  inFlightQuery,
  gatewayActivityQuery,
  factorToPercent,
} from './autoscaling';
export {
  SHARED_VOLUME_NAME,
  SHARED_MOUNT_PATH,
  SHM_MOUNT_PATH,
  ENV_API_NAME,
  ENV_PORT,
  ENV_GATEWAY_URL,
  ISTIO_INJECT_KEY,
} from './pod-template';
