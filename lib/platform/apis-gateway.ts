import { CfnOutput, Duration, Stack } from 'aws-cdk-lib';
import * as eks from 'aws-cdk-lib/aws-eks-v2';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import { Construct } from 'constructs';
import {
  APIS_GATEWAY,
  APIS_GATEWAY_LOAD_BALANCER,
  APIS_GATEWAY_POD_LABELS,
  DEFAULT_GATEWAY_URL,
  GATEWAY_DOMAIN_ANNOTATION,
  MANAGED_BY,
  MANAGED_BY_LABEL,
} from '../../constructs/names';
import { CortexValidationError } from '../errors';
import { HelmValues, addonChart } from './helm-addon';
import { ISTIO_NAMESPACE } from './istio';
import { checkCertificateArn, checkCidr, checkDomainName } from './validation';
import { CHARTS, ISTIO_VERSION } from './versions';

/**
 * The APIs gateway's name: the gateway chart's release (hence its Deployment and Service, whose
 * in-cluster address is `DEFAULT_GATEWAY_URL`) and the Istio `Gateway` object every API binds to.
 */
export const GATEWAY_NAME = APIS_GATEWAY.split('/')[1];

/** The label the gateway's pods carry (`istio: apis-gateway`), which the `Gateway` object and the APIs' NetworkPolicies select. */
export const GATEWAY_SELECTOR: Readonly<Record<string, string>> = APIS_GATEWAY_POD_LABELS;

/**
 * The `LoadBalancer` Service that becomes the Network Load Balancer: `apis-gateway-lb`, selecting the gateway's pods.
 * The chart's own Service (`apis-gateway`, `DEFAULT_GATEWAY_URL`) stays inside the cluster.
 */
export const LOAD_BALANCER_SERVICE = APIS_GATEWAY_LOAD_BALANCER.split('/')[1];

/** The gateway's HTTP port, on the load balancer, the Service and the pods (`DEFAULT_GATEWAY_URL` has no port). */
export const GATEWAY_PORT = 80;

/** The load balancer's TLS port, which terminates TLS and forwards plain HTTP to {@link GATEWAY_PORT}. */
export const TLS_PORT = 443;

/** The TLS policy of the load balancer's TLS listener unless told otherwise: TLS 1.3 and 1.2, AWS's recommended one. */
export const DEFAULT_SSL_POLICY = elbv2.SslPolicy.RECOMMENDED_TLS;

const LB_ANNOTATION = 'service.beta.kubernetes.io/aws-load-balancer';

/**
 * How long a Network Load Balancer keeps a TCP flow that carries no packet: 350 s, AWS's default for TCP listeners and
 * the fixed value of TLS listeners. The cloud provider's service controller, which makes the gateway's load balancer,
 * sets no listener attribute (its connection-idle-timeout annotation is for Classic Load Balancers), so both listeners
 * keep it. See docs/timeouts-and-limits.md.
 */
export const NLB_IDLE_TIMEOUT_SECONDS = 350;

/**
 * TCP keepalive on the gateway's client connections (the load balancer's flows): the first probe after this much
 * silence, then one every {@link GATEWAY_TCP_KEEPALIVE_INTERVAL_SECONDS}; a connection whose peer answers none of
 * {@link GATEWAY_TCP_KEEPALIVE_PROBES} is closed. A probe is a packet of the flow, so a request whose response is
 * silent for minutes (long inference without streaming) never lets the flow go idle for {@link NLB_IDLE_TIMEOUT_SECONDS}.
 */
export const GATEWAY_TCP_KEEPALIVE_IDLE_SECONDS = 60;
export const GATEWAY_TCP_KEEPALIVE_INTERVAL_SECONDS = 60;
export const GATEWAY_TCP_KEEPALIVE_PROBES = 5;

// Linux's socket option numbers (<sys/socket.h>, <netinet/tcp.h>): Envoy passes them to setsockopt as they are.
const SOL_SOCKET = 1;
const SO_KEEPALIVE = 9;
const IPPROTO_TCP = 6;
const TCP_KEEPIDLE = 4;
const TCP_KEEPINTVL = 5;
const TCP_KEEPCNT = 6;

/** Options of the APIs gateway. */
export interface ApisGatewayOptions {
  /**
   * Whether the gateway's Network Load Balancer is internet-facing (in the public subnets) or internal
   * (in the private subnets, reachable from the VPC and what is peered with it). Cortex's
   * `api_load_balancer_scheme`: `internal` is `false`.
   * @default true
   */
  readonly internetFacing?: boolean;
  /**
   * Client CIDR blocks (IPv4 or IPv6) allowed through the load balancer: the Service's
   * `loadBalancerSourceRanges`, applied as rules of the nodes' security group. Cortex's
   * `api_load_balancer_cidr_white_list`.
   * @default - any address
   */
  readonly loadBalancerSourceRanges?: string[];
  /**
   * The ARN of an ACM certificate, in the stack's region, for a TLS listener on port 443: the load balancer
   * terminates TLS with it and forwards plain HTTP to the gateway. Cortex's `ssl_certificate_arn`. The
   * certificate names the host clients use: point a DNS record for it at the load balancer, and say it in
   * `domainName`.
   * @default - no TLS: plain HTTP on port 80
   */
  readonly sslCertificateArn?: string;
  /**
   * The TLS listener's security policy (protocols and ciphers); only with `sslCertificateArn`.
   * @default elbv2.SslPolicy.RECOMMENDED_TLS - TLS 1.3 and 1.2 ("ELBSecurityPolicy-TLS13-1-2-2021-06")
   */
  readonly sslPolicy?: elbv2.SslPolicy;
  /**
   * Whether the load balancer listens for plain HTTP on port 80. With `sslCertificateArn` it is off unless
   * set `true` (requests and API keys would cross the network in clear); without one it is the only listener.
   * @default - false with sslCertificateArn, true without
   */
  readonly plainHttp?: boolean;
  /**
   * The host name clients use (`api.example.com`), a DNS record you point at the load balancer (a CNAME, or
   * a Route 53 alias), which the certificate covers. URLs (outputs, `endpointUrl`, `cortex get`) use it, and
   * the load balancer's host name becomes an output of its own (`LoadBalancerHostname`) for the record.
   * @default - the load balancer's host name, which no certificate covers: with TLS, set it
   */
  readonly domainName?: string;
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
 * The APIs gateway: Istio's `gateway` chart (release `apis-gateway` in `istio-system`, an Envoy Deployment
 * behind the in-cluster Service `apis-gateway`), the Istio `Gateway` object `apis-gateway` — port 80, HTTP,
 * every host — that every API's VirtualService binds to, and the `LoadBalancer` Service `apis-gateway-lb`
 * that becomes the Network Load Balancer: TLS on 443 with an ACM certificate, plain HTTP on 80, or both.
 */
export class ApisGateway extends Construct {
  /** The gateway chart's release. */
  public readonly chart: eks.HelmChart;
  /**
   * The `Gateway` object `istio-system/apis-gateway` and the `EnvoyFilter` `apis-gateway-tcp-keepalive` (TCP keepalive on
   * its client connections), after the chart.
   */
  public readonly gateway: eks.KubernetesManifest;
  /** The `LoadBalancer` Service `istio-system/apis-gateway-lb`, after the chart. */
  public readonly loadBalancer: eks.KubernetesManifest;
  /** Whether the load balancer is internet-facing. */
  public readonly internetFacing: boolean;
  /** Whether the load balancer terminates TLS on port 443 (an `sslCertificateArn` was given). */
  public readonly tls: boolean;
  /** Whether the load balancer listens for plain HTTP on port 80. */
  public readonly plainHttp: boolean;
  /** The gateway's in-cluster URL (`CORTEX_GATEWAY_URL` of the API containers). */
  public readonly url: string = DEFAULT_GATEWAY_URL;
  /** The load balancer's DNS name, known at deploy time (read from the Service's status). */
  public readonly loadBalancerHostname: string;
  /**
   * `https://` (with TLS) or `http://`, then `domainName` or the load balancer's host name: the APIs' base URL
   * from outside the cluster.
   */
  public readonly endpointUrl: string;

  constructor(scope: Construct, id: string, props: ApisGatewayProps) {
    super(scope, id);
    this.internetFacing = props.internetFacing ?? true;
    this.tls = props.sslCertificateArn !== undefined;
    this.plainHttp = props.plainHttp ?? !this.tls;
    const sslPolicy = props.sslPolicy ?? DEFAULT_SSL_POLICY;
    const sourceRanges = props.loadBalancerSourceRanges ?? [];
    sourceRanges.forEach((cidr, i) => checkCidr(`gateway.loadBalancerSourceRanges[${i}]`, cidr));
    if (props.sslCertificateArn !== undefined) {
      checkCertificateArn('gateway.sslCertificateArn', props.sslCertificateArn, Stack.of(this).region);
    }
    if (props.domainName !== undefined) {
      checkDomainName('gateway.domainName', props.domainName);
    }
    checkListeners({ tls: this.tls, plainHttp: this.plainHttp, sslPolicy: props.sslPolicy });

    this.chart = addonChart(this, 'Resource', {
      cluster: props.cluster,
      source: CHARTS.istioGateway,
      options: { version: props.version ?? ISTIO_VERSION, repository: props.repository, values: props.values },
      optionsPath: 'gateway',
      release: GATEWAY_NAME,
      namespace: ISTIO_NAMESPACE,
      values: gatewayValues(),
    });

    this.gateway = new eks.KubernetesManifest(this, 'Gateway', {
      cluster: props.cluster,
      manifest: [gatewayObject(), keepaliveEnvoyFilter()],
    });
    this.gateway.node.addDependency(this.chart);

    this.loadBalancer = new eks.KubernetesManifest(this, 'LoadBalancer', {
      cluster: props.cluster,
      manifest: [
        loadBalancerService({
          internetFacing: this.internetFacing,
          loadBalancerSourceRanges: sourceRanges,
          sslCertificateArn: props.sslCertificateArn,
          sslPolicy,
          plainHttp: this.plainHttp,
          domainName: props.domainName,
        }),
      ],
    });
    // Its pods first: a load balancer without healthy targets is what clients would meet otherwise.
    this.loadBalancer.node.addDependency(this.chart);

    const hostname = new eks.KubernetesObjectValue(this, 'Hostname', {
      cluster: props.cluster,
      objectType: 'service',
      objectName: LOAD_BALANCER_SERVICE,
      objectNamespace: ISTIO_NAMESPACE,
      jsonPath: '.status.loadBalancer.ingress[0].hostname',
      timeout: Duration.minutes(10),
    });
    hostname.node.addDependency(this.loadBalancer);
    this.loadBalancerHostname = hostname.value;
    this.endpointUrl = `${this.tls ? 'https' : 'http'}://${props.domainName ?? this.loadBalancerHostname}`;
    if (props.domainName !== undefined) {
      new CfnOutput(this, 'LoadBalancerHostname', {
        value: this.loadBalancerHostname,
        description: `The APIs gateway's load balancer: point the DNS record ${props.domainName} at it (CNAME or Route 53 alias)`,
      });
    }
  }
}

/** What the load balancer listens on must be something, and the TLS options need TLS. */
export function checkListeners(listeners: { tls: boolean; plainHttp: boolean; sslPolicy?: string }): void {
  if (!listeners.tls && !listeners.plainHttp) {
    throw new CortexValidationError(
      'gateway.plainHttp (false) leaves the load balancer without a listener: set gateway.sslCertificateArn for TLS on ' +
        'port 443, or leave plainHttp out',
    );
  }
  if (!listeners.tls && listeners.sslPolicy !== undefined) {
    throw new CortexValidationError(
      `gateway.sslPolicy (${JSON.stringify(listeners.sslPolicy)}) applies to the TLS listener: set gateway.sslCertificateArn too`,
    );
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

/**
 * Health checks of the load balancer's targets: TCP on the traffic port. The targets are the nodes (instance
 * targets, the Service's NodePorts), so Istio's status port 15021 — a port of the gateway's pods, not of the nodes —
 * could only be checked through a NodePort of its own, that is a port of the Service, which both controllers turn
 * into a listener open to the clients. The traffic port answers exactly when kube-proxy has a ready gateway pod to
 * send the connection to. These are both controllers' defaults, written down so that neither has to guess.
 */
export function healthCheckAnnotations(): Record<string, string> {
  return {
    [`${LB_ANNOTATION}-healthcheck-protocol`]: 'TCP',
    [`${LB_ANNOTATION}-healthcheck-port`]: 'traffic-port',
  };
}

/**
 * TLS on port 443 with the certificate (`ssl-ports` names the port, so port 80, when open, stays plain) and the
 * security policy. Both the cloud provider's controller and the Load Balancer Controller read these three.
 */
export function tlsAnnotations(sslCertificateArn: string, sslPolicy: string): Record<string, string> {
  return {
    [`${LB_ANNOTATION}-ssl-cert`]: sslCertificateArn,
    [`${LB_ANNOTATION}-ssl-ports`]: String(TLS_PORT),
    [`${LB_ANNOTATION}-ssl-negotiation-policy`]: sslPolicy,
  };
}

/** What the load balancer's Service is made of. */
export interface LoadBalancerServiceOptions {
  readonly internetFacing: boolean;
  readonly loadBalancerSourceRanges: readonly string[];
  /** TLS on 443 with this certificate; none: no TLS listener. */
  readonly sslCertificateArn?: string;
  readonly sslPolicy: string;
  readonly plainHttp: boolean;
  readonly domainName?: string;
}

/**
 * The `LoadBalancer` Service `istio-system/apis-gateway-lb` in front of the gateway's pods: its ports are the
 * load balancer's listeners — 443 (TLS, terminated at the load balancer, forwarded to the gateway's HTTP port)
 * and/or 80 (plain HTTP) — and nothing else, Istio's status port included.
 */
export function loadBalancerService(options: LoadBalancerServiceOptions): Record<string, unknown> {
  const tls = options.sslCertificateArn !== undefined;
  const ports = [
    ...(tls ? [{ name: 'https', port: TLS_PORT, protocol: 'TCP', targetPort: GATEWAY_PORT }] : []),
    ...(options.plainHttp ? [{ name: 'http', port: GATEWAY_PORT, protocol: 'TCP', targetPort: GATEWAY_PORT }] : []),
  ];
  const sourceRanges = options.loadBalancerSourceRanges;
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name: LOAD_BALANCER_SERVICE,
      namespace: ISTIO_NAMESPACE,
      labels: { [MANAGED_BY_LABEL]: MANAGED_BY },
      annotations: {
        ...loadBalancerAnnotations(options.internetFacing),
        ...healthCheckAnnotations(),
        ...(tls ? tlsAnnotations(options.sslCertificateArn!, options.sslPolicy) : {}),
        ...(options.domainName !== undefined ? { [GATEWAY_DOMAIN_ANNOTATION]: options.domainName } : {}),
      },
    },
    spec: {
      type: 'LoadBalancer',
      selector: { ...GATEWAY_SELECTOR },
      externalTrafficPolicy: 'Cluster',
      ports,
      ...(sourceRanges.length > 0 ? { loadBalancerSourceRanges: [...sourceRanges] } : {}),
    },
  };
}

/** The gateway chart's values. */
export function gatewayValues(): HelmValues {
  return {
    labels: { ...GATEWAY_SELECTOR },
    // In-cluster only (`DEFAULT_GATEWAY_URL`, how APIs call APIs): the load balancer has a Service of its own, so
    // that its listeners can differ from port 80 here (TLS only) without breaking the in-cluster address. The
    // chart's 443 and status port 15021 are dropped: nothing listens on 443, and nothing in the cluster needs 15021
    // through a Service (the kubelet probes the pods directly).
    service: {
      type: 'ClusterIP',
      ports: [{ name: 'http2', port: GATEWAY_PORT, protocol: 'TCP', targetPort: GATEWAY_PORT }],
    },
    // istio-agent otherwise probes the instance metadata for the platform (region, zone, instance id), which pods
    // cannot reach on nodes with IMDS hop limit 1: up to 5 s of start-up spent waiting. istiod takes the locality
    // from the node's topology labels instead.
    env: { CLOUD_PLATFORM: 'none' },
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

/**
 * The `EnvoyFilter` `istio-system/apis-gateway-tcp-keepalive`: TCP keepalive on the gateway's HTTP listener (port 80),
 * set on the listening socket, whose options every accepted connection inherits. Istio configures keepalive only
 * towards upstreams (`meshConfig.tcpKeepalive`, istiod's values), not on a gateway's client side; an EnvoyFilter
 * on the listener's `socket_options` is the way. Without it a response silent for 350 s is lost: the load balancer
 * drops the flow and the client waits for bytes that never come.
 */
export function keepaliveEnvoyFilter(): Record<string, unknown> {
  const option = (level: number, name: number, value: number) => ({ level, name, int_value: value, state: 'STATE_LISTENING' });
  return {
    apiVersion: 'networking.istio.io/v1alpha3',
    kind: 'EnvoyFilter',
    metadata: { name: `${GATEWAY_NAME}-tcp-keepalive`, namespace: ISTIO_NAMESPACE, labels: { [MANAGED_BY_LABEL]: MANAGED_BY } },
    spec: {
      workloadSelector: { labels: { ...GATEWAY_SELECTOR } },
      configPatches: [
        {
          applyTo: 'LISTENER',
          match: { context: 'GATEWAY', listener: { portNumber: GATEWAY_PORT } },
          patch: {
            operation: 'MERGE',
            value: {
              socket_options: [
                option(SOL_SOCKET, SO_KEEPALIVE, 1),
                option(IPPROTO_TCP, TCP_KEEPIDLE, GATEWAY_TCP_KEEPALIVE_IDLE_SECONDS),
                option(IPPROTO_TCP, TCP_KEEPINTVL, GATEWAY_TCP_KEEPALIVE_INTERVAL_SECONDS),
                option(IPPROTO_TCP, TCP_KEEPCNT, GATEWAY_TCP_KEEPALIVE_PROBES),
              ],
            },
          },
        },
      ],
    },
  };
}
