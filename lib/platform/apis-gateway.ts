import { Duration } from 'aws-cdk-lib';
import * as eks from 'aws-cdk-lib/aws-eks-v2';
import { Construct } from 'constructs';
import { APIS_GATEWAY, DEFAULT_GATEWAY_URL, MANAGED_BY, MANAGED_BY_LABEL } from '../../constructs/names';
import { HelmValues, addonChart } from './helm-addon';
import { ISTIO_NAMESPACE } from './istio';
import { checkCidr } from './validation';
import { CHARTS, ISTIO_VERSION } from './versions';

/**
 * The APIs gateway's name: the gateway chart's release (hence its Deployment and Service, whose
 * in-cluster address is `DEFAULT_GATEWAY_URL`) and the Istio `Gateway` object every API binds to.
 */
export const GATEWAY_NAME = APIS_GATEWAY.split('/')[1];

/** The label the gateway's pods carry (`istio: apis-gateway`) and the `Gateway` object selects. */
export const GATEWAY_SELECTOR: Readonly<Record<string, string>> = { istio: GATEWAY_NAME };

/** The gateway's HTTP port, on the load balancer, the Service and the pods (`DEFAULT_GATEWAY_URL` has no port). */
export const GATEWAY_PORT = 80;

const LB_ANNOTATION = 'service.beta.kubernetes.io/aws-load-balancer';

/** Options of the APIs gateway. */
export interface ApisGatewayOptions {
  /**
   * Whether the gateway's Network Load Balancer is internet-facing (in the public subnets) or internal
   * (in the private subnets, reachable from the VPC and what is peered with it).
   * @default true
   */
  readonly internetFacing?: boolean;
  /**
   * Client CIDR blocks allowed through the load balancer (the Service's `loadBalancerSourceRanges`,
   * applied as rules of the nodes' security group).
   * @default - any address
   */
  readonly loadBalancerSourceRanges?: string[];
  /**
   * The gateway chart's version.
   * @default - Istio's version
   */
  readonly version?: string;
  /**
   * Where to pull the chart from, e.g. a mirror.
   * @default 'https://istio-release.storage.googleapis.com/charts'
   */
  readonly repository?: string;
  /**
   * Gateway chart values deep-merged over the platform's (mappings merge, anything else replaces).
   * @default - the platform's values only
   */
  readonly values?: HelmValues;
}

/** Props of {@link ApisGateway}. */
export interface ApisGatewayProps extends ApisGatewayOptions {
  /** The cluster, with Istio's control plane installed before this construct (add a dependency). */
  readonly cluster: eks.ICluster;
}

/**
 * The APIs gateway: Istio's `gateway` chart (release `apis-gateway` in `istio-system`, an Envoy
 * Deployment behind a `LoadBalancer` Service that becomes a Network Load Balancer), then the Istio
 * `Gateway` object `apis-gateway` — port 80, HTTP, every host — that every API's VirtualService binds to.
 */
export class ApisGateway extends Construct {
  /** The gateway chart's release. */
  public readonly chart: eks.HelmChart;
  /** The `Gateway` object `istio-system/apis-gateway`, after the chart. */
  public readonly gateway: eks.KubernetesManifest;
  /** Whether the load balancer is internet-facing. */
  public readonly internetFacing: boolean;
  /** The gateway's in-cluster URL (`CORTEX_GATEWAY_URL` of the API containers). */
  public readonly url: string = DEFAULT_GATEWAY_URL;
  /** `http://<load balancer hostname>`, known at deploy time (read from the Service's status). */
  public readonly endpointUrl: string;

  constructor(scope: Construct, id: string, props: ApisGatewayProps) {
    super(scope, id);
    this.internetFacing = props.internetFacing ?? true;
    const sourceRanges = props.loadBalancerSourceRanges ?? [];
    sourceRanges.forEach((cidr, i) => checkCidr(`gateway.loadBalancerSourceRanges[${i}]`, cidr));

    this.chart = addonChart(this, 'Resource', {
      cluster: props.cluster,
      source: CHARTS.istioGateway,
      options: { version: props.version ?? ISTIO_VERSION, repository: props.repository, values: props.values },
      optionsPath: 'gateway',
      release: GATEWAY_NAME,
      namespace: ISTIO_NAMESPACE,
      values: gatewayValues(this.internetFacing, sourceRanges),
    });

    this.gateway = new eks.KubernetesManifest(this, 'Gateway', { cluster: props.cluster, manifest: [gatewayObject()] });
    this.gateway.node.addDependency(this.chart);

    const hostname = new eks.KubernetesObjectValue(this, 'Hostname', {
      cluster: props.cluster,
      objectType: 'service',
      objectName: GATEWAY_NAME,
      objectNamespace: ISTIO_NAMESPACE,
      jsonPath: '.status.loadBalancer.ingress[0].hostname',
      timeout: Duration.minutes(10),
    });
    hostname.node.addDependency(this.chart);
    this.endpointUrl = `http://${hostname.value}`;
  }
}

/**
 * The annotations that make the cloud provider's own service controller (EKS runs it; the AWS Load
 * Balancer Controller is not needed) create a Network Load Balancer: `type: nlb`, and `internal` for
 * an internal one. `scheme` is the Load Balancer Controller's (and EKS Auto Mode's) spelling of the same
 * choice, set too so that a cluster where that controller handles Services gets the same scheme.
 */
export function loadBalancerAnnotations(internetFacing: boolean): Record<string, string> {
  return {
    [`${LB_ANNOTATION}-type`]: 'nlb',
    [`${LB_ANNOTATION}-scheme`]: internetFacing ? 'internet-facing' : 'internal',
    ...(internetFacing ? {} : { [`${LB_ANNOTATION}-internal`]: 'true' }),
  };
}

/** The gateway chart's values. */
export function gatewayValues(internetFacing: boolean, loadBalancerSourceRanges: readonly string[]): HelmValues {
  return {
    labels: { ...GATEWAY_SELECTOR },
    service: {
      type: 'LoadBalancer',
      annotations: loadBalancerAnnotations(internetFacing),
      // Only what the Gateway serves: the NLB's health checks (15021) and HTTP. The chart also opens 443,
      // on which nothing listens.
      ports: [
        { name: 'status-port', port: 15021, protocol: 'TCP', targetPort: 15021 },
        { name: 'http2', port: GATEWAY_PORT, protocol: 'TCP', targetPort: GATEWAY_PORT },
      ],
      ...(loadBalancerSourceRanges.length > 0 ? { loadBalancerSourceRanges: [...loadBalancerSourceRanges] } : {}),
    },
    // Two replicas and a budget: every request to every API goes through these pods, so a node drain
    // must never take the last one.
    autoscaling: { minReplicas: 2 },
    podDisruptionBudget: { minAvailable: 1 },
  };
}

/** The Istio `Gateway` object `istio-system/apis-gateway`: HTTP on port 80 for every host. */
export function gatewayObject(): Record<string, unknown> {
  return {
    apiVersion: 'networking.istio.io/v1',
    kind: 'Gateway',
    metadata: { name: GATEWAY_NAME, namespace: ISTIO_NAMESPACE, labels: { [MANAGED_BY_LABEL]: MANAGED_BY } },
    spec: {
      selector: { ...GATEWAY_SELECTOR },
      servers: [{ port: { number: GATEWAY_PORT, name: 'http', protocol: 'HTTP' }, hosts: ['*'] }],
    },
  };
}
