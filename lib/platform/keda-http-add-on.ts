import * as eks from 'aws-cdk-lib/aws-eks-v2';
import { Construct } from 'constructs';
import { HTTP_ADD_ON_CHART_NAME, HTTP_ADD_ON_NAMESPACE } from '../../constructs/cold-start';
import { HelmAddonOptions, HelmValues, addonChart } from './helm-addon';
import { CHARTS } from './versions';

/** Options of the KEDA HTTP add-on. */
export interface KedaHttpAddOnOptions extends HelmAddonOptions {}

/** Props of {@link KedaHttpAddOn}. */
export interface KedaHttpAddOnProps extends KedaHttpAddOnOptions {
  /** The cluster to install the add-on on (KEDA must be there: the interceptor fleet is scaled by a ScaledObject). */
  readonly cluster: eks.ICluster;
}

/** The interceptor's Prometheus port (the add-on's OpenTelemetry exporter default). */
export const HTTP_ADD_ON_METRICS_PORT = 2223;

/**
 * The KEDA HTTP add-on (`kedacore/keda-add-ons-http` 0.15.0, release `keda-add-ons-http` in `keda`) with its CRDs:
 * the interceptor that holds the requests of an API with `min_replicas: 0` while it has no ready replica, and the
 * external scaler that reports them to the API's ScaledObject (constructs/cold-start.ts). APIs with
 * `min_replicas` >= 1 never pass through it. The release is waited for: an InterceptorRoute needs its CRD.
 */
export class KedaHttpAddOn extends Construct {
  /** The release. */
  public readonly chart: eks.HelmChart;

  constructor(scope: Construct, id: string, props: KedaHttpAddOnProps) {
    super(scope, id);
    this.chart = addonChart(this, 'Resource', {
      cluster: props.cluster,
      source: CHARTS.kedaHttpAddOn,
      options: props,
      optionsPath: 'kedaHttpAddOn',
      release: HTTP_ADD_ON_CHART_NAME,
      namespace: HTTP_ADD_ON_NAMESPACE,
      values: kedaHttpAddOnValues(),
      wait: true,
    });
  }
}

/**
 * The add-on's values:
 * - the CRDs installed with the chart (its default, stated: APIs' InterceptorRoutes depend on it);
 * - the interceptor's pods scraped by the platform's Prometheus (its metrics on 2223: the requests it holds per
 *   route, which `cortex get` shows);
 * - two interceptors and two scalers at least instead of three each: they stay redundant through a node's loss
 *   while costing 1.25 vCPU of requests instead of 1.75 (the interceptors still scale out on their own load);
 * - no global timeouts: each InterceptorRoute sets its own wait for a replica, and the gateway and the API's proxy
 *   bound the request (docs/timeouts-and-limits.md).
 */
export function kedaHttpAddOnValues(): HelmValues {
  return {
    crds: { install: true },
    interceptor: {
      replicas: { min: 2 },
      podAnnotations: { 'prometheus.io/scrape': 'true', 'prometheus.io/port': String(HTTP_ADD_ON_METRICS_PORT) },
      responseHeaderTimeout: '0s',
    },
    scaler: { replicas: 2 },
  };
}
