import * as constructs from '../../constructs';

describe('constructs/index', () => {
  test('exports the charts, the helper that renders a whole config, and the agreed names', () => {
    expect(typeof constructs.RealtimeApiChart).toBe('function');
    expect(typeof constructs.TrafficSplitterChart).toBe('function');
    expect(typeof constructs.addConfigCharts).toBe('function');
    expect(constructs.DEFAULT_NAMESPACE).toBe('cortex');
    expect(constructs.DEFAULT_GATEWAY_URL).toBe('http://apis-gateway.istio-system.svc.cluster.local');
    expect(constructs.DEFAULT_PROMETHEUS_URL).toBe('http://prometheus-server.prometheus.svc.cluster.local');
    expect(constructs.PROXY_IMAGE_PLACEHOLDER).toBe('cortex-cdk/proxy:placeholder');
    expect(constructs.IN_FLIGHT_METRIC).toBe('cortex_in_flight_requests');
    expect(constructs.API_NAME_METRIC_LABEL).toBe('cortex_dev_api_name');
  });
});
