import * as eks from 'aws-cdk-lib/aws-eks-v2';
import { Construct } from 'constructs';
import { DEFAULT_COLD_START_ROUTING, HTTP_ADD_ON_CHART_NAME, HTTP_ADD_ON_NAMESPACE } from '../../constructs/cold-start';
import { GATEWAY_PEER, NetworkPolicyPeer, PROMETHEUS_PEER, checkNetworkPolicyPeer, peerToKube } from '../../constructs/network-policy';
import { HelmAddonOptions, HelmValues, addonChart } from './helm-addon';
import { CHARTS } from './versions';

/** Options of the KEDA HTTP add-on. */
export interface KedaHttpAddOnOptions extends HelmAddonOptions {}

/** Who may reach the interceptors: the gateway their proxy port, the metrics scrapers their metrics port. */
export interface InterceptorNetworkPolicyOptions {
  /** @default GATEWAY_PEER */
  readonly gateway?: NetworkPolicyPeer;
  /** @default [PROMETHEUS_PEER] */
  readonly metricsScrapers?: readonly NetworkPolicyPeer[];
}

/** Props of {@link KedaHttpAddOn}. */
export interface KedaHttpAddOnProps extends KedaHttpAddOnOptions {
  /** The cluster to install the add-on on (KEDA must be there: the interceptor fleet is scaled by a ScaledObject). */
  readonly cluster: eks.ICluster;
  /**
   * The interceptors' NetworkPolicy: their proxy port forwards to any scale-to-zero API's pods, past the gateway's
   * JWT checks, so only the gateway may reach it. `false` renders none.
   * @default - the platform's gateway and Prometheus
   */
  readonly networkPolicy?: InterceptorNetworkPolicyOptions | false;
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
  /** The interceptors' NetworkPolicy, unless `networkPolicy: false`. */
  public readonly networkPolicy?: eks.KubernetesManifest;

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
    if (props.networkPolicy !== false) {
      this.networkPolicy = new eks.KubernetesManifest(this, 'InterceptorNetworkPolicy', {
        cluster: props.cluster,
        manifest: [interceptorNetworkPolicyObject(props.networkPolicy)],
      });
      // The chart creates the namespace.
      this.networkPolicy.node.addDependency(this.chart);
    }
  }
}

/** The interceptor's admin port (the chart's default): its probes, and the external scaler reading the counts. */
export const HTTP_ADD_ON_ADMIN_PORT = 9090;

/** The add-on's scaler pods, which read the interceptors' counts on their admin port. */
const SCALER_POD_LABELS = { 'app.kubernetes.io/component': 'scaler', 'app.kubernetes.io/name': 'http-add-on' };

/**
 * `keda-add-ons-http-interceptor` NetworkPolicy in `keda`: the interceptors' proxy port (8080) from the gateway's
 * pods only — anything reaching it reaches every scale-to-zero API's pods, and the gateway is where JWTs are
 * checked; the admin port (9090) from the add-on's scaler; the metrics port (2223) from the metrics scrapers.
 * The kubelet's probes (on the admin port) come from the node, which a NetworkPolicy does not stop.
 */
export function interceptorNetworkPolicyObject(options: InterceptorNetworkPolicyOptions = {}): Record<string, unknown> {
  const gateway = options.gateway ?? GATEWAY_PEER;
  const scrapers = options.metricsScrapers ?? [PROMETHEUS_PEER];
  checkNetworkPolicyPeer('networkPolicy.gateway', gateway);
  scrapers.forEach((peer, i) => checkNetworkPolicyPeer(`networkPolicy.metricsScrapers[${i}]`, peer));
  const port = (n: number) => [{ protocol: 'TCP', port: n }];
  const interceptor = DEFAULT_COLD_START_ROUTING.interceptorPeer;
  const ingress: Record<string, unknown>[] = [
    { from: [peerToKube(gateway)], ports: port(DEFAULT_COLD_START_ROUTING.interceptorPort) },
    { from: [peerToKube({ namespace: HTTP_ADD_ON_NAMESPACE, podLabels: SCALER_POD_LABELS })], ports: port(HTTP_ADD_ON_ADMIN_PORT) },
  ];
  if (scrapers.length > 0) ingress.push({ from: scrapers.map(peerToKube), ports: port(HTTP_ADD_ON_METRICS_PORT) });
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: `${HTTP_ADD_ON_CHART_NAME}-interceptor`, namespace: interceptor.namespace },
    spec: { podSelector: { matchLabels: { ...interceptor.podLabels } }, policyTypes: ['Ingress'], ingress },
  };
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
