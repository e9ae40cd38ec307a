import * as eks from 'aws-cdk-lib/aws-eks-v2';
import { Construct, DependencyGroup, IDependable } from 'constructs';
import { type ColdStartRouting, DEFAULT_COLD_START_ROUTING } from '../../constructs/cold-start';
import { DEFAULT_GATEWAY_URL, DEFAULT_NAMESPACE, DEFAULT_PROMETHEUS_URL, NEURON_SCHEDULER_NAME } from '../../constructs/names';
import { ApiNetworkPolicyOptions, checkNetworkPolicyPeer } from '../../constructs/network-policy';
import { IApiPlatform } from './api-platform';
import { ApisGateway, ApisGatewayOptions } from './apis-gateway';
import { apisNamespaceObject } from './apis-namespace';
import { CloudWatchObservability, CloudWatchObservabilityOptions } from './cloudwatch-observability';
import { ClusterAutoscaler, ClusterAutoscalerOptions } from './cluster-autoscaler';
import { Istio, IstioOptions } from './istio';
import { Keda, KedaOptions } from './keda';
import { KedaHttpAddOn, KedaHttpAddOnOptions } from './keda-http-add-on';
import { MetricsServer, MetricsServerOptions } from './metrics-server';
import { Neuron, NeuronOptions } from './neuron';
import { NvidiaDevicePlugin, NvidiaDevicePluginOptions } from './nvidia-device-plugin';
import { podIdentityAgent } from './pod-identity-agent';
import { Prometheus, PrometheusOptions } from './prometheus';
import { checkApisNamespace } from './validation';
import { VpcCni, VpcCniOptions } from './vpc-cni';

/** Options of {@link CortexPlatform}: each add-on takes its options, or `false` when the cluster already has it. */
export interface CortexPlatformOptions {
  /**
   * The APIs' namespace, created by the platform (with Istio sidecar injection disabled).
   * @default 'cortex'
   */
  readonly namespace?: string;
  /**
   * The cluster's Kubernetes version: the cluster autoscaler's and the Neuron scheduler's images follow it.
   * @default - the version of an `eks.Cluster` of this app; required for an imported cluster when either is
   * installed without an explicit image tag
   */
  readonly kubernetesVersion?: eks.KubernetesVersion;
  /**
   * What must exist before the add-ons, in the same deployment: the node groups. Releases that wait for
   * their pods (istiod, KEDA) and EKS add-ons time out on a cluster without nodes.
   * @default - nothing: the cluster already has nodes, or they do not come from this app
   */
  readonly capacity?: IDependable[];
  /**
   * Whether to install the `eks-pod-identity-agent` add-on, which hands the APIs' pods the credentials of their
   * roles (and those of the cluster autoscaler with Pod Identity and the CloudWatch add-on); API manifests wait
   * for it. Set `false` when an imported cluster already has it. (On an `eks.Cluster` of this app, aws-eks-v2
   * creates it anyway for Pod Identity service accounts.)
   * @default true
   */
  readonly podIdentityAgent?: boolean;
  /**
   * Istio's CRDs and control plane (`base`, `istiod`).
   * @default - installed: Istio 1.30.3
   */
  readonly istio?: IstioOptions | false;
  /**
   * The APIs gateway (Istio's gateway chart behind a Network Load Balancer, and the `Gateway` object
   * `istio-system/apis-gateway`). `false` when they exist already: then no endpoint URL is known.
   * @default - installed: internet-facing, plain HTTP on port 80 from any address (`sslCertificateArn` for TLS)
   */
  readonly gateway?: ApisGatewayOptions | false;
  /**
   * KEDA, which scales the APIs.
   * @default - installed: KEDA 2.20.2
   */
  readonly keda?: KedaOptions | false;
  /**
   * The KEDA HTTP add-on, whose interceptor holds the requests of an API with `min_replicas: 0` while it has no
   * ready replica. `false` when the cluster has it already, or to do without: scale-to-zero APIs are then
   * routed directly and answer 503 until a replica is ready.
   * @default - installed: keda-add-ons-http 0.15.0
   */
  readonly kedaHttpAddOn?: KedaHttpAddOnOptions | false;
  /**
   * Prometheus (server only), which KEDA and `cortex get` query.
   * @default - installed
   */
  readonly prometheus?: PrometheusOptions | false;
  /**
   * The NVIDIA device plugin, for GPU node groups.
   * @default - installed
   */
  readonly nvidiaDevicePlugin?: NvidiaDevicePluginOptions | false;
  /**
   * The Neuron Helm chart (device plugin and scheduler extension), for Inferentia/Trainium node groups.
   * @default - installed
   */
  readonly neuron?: NeuronOptions | false;
  /**
   * The cluster autoscaler.
   * @default - installed, with Pod Identity and no node group priorities
   */
  readonly clusterAutoscaler?: ClusterAutoscalerOptions | false;
  /**
   * metrics-server.
   * @default - installed
   */
  readonly metricsServer?: MetricsServerOptions | false;
  /**
   * The `amazon-cloudwatch-observability` EKS add-on (container logs to CloudWatch Logs, Container Insights,
   * and the per-API request metrics that `ApiMonitoring` reads: `apiMetrics`).
   * @default - installed, with `apiMetrics` on when Prometheus is installed here
   */
  readonly cloudWatchObservability?: CloudWatchObservabilityOptions | false;
  /**
   * The `vpc-cni` EKS add-on with network policy enforcement on (`enableNetworkPolicy`), taking over the VPC CNI
   * EKS installs with a new cluster, so that the APIs' NetworkPolicies hold. `false` when the cluster's CNI is
   * managed some other way (then enforcement is yours to turn on: docs/platform.md) — e.g. an imported cluster
   * that already has the add-on, where creating it again fails.
   * @default - installed, EKS's default version for the cluster, network policies enforced
   */
  readonly vpcCni?: VpcCniOptions | false;
  /**
   * Who may reach the APIs' pods, in each API's NetworkPolicy: the gateway's pods the proxy port, the metrics
   * scrapers' pods the admin port. `false` renders no NetworkPolicies (e.g. a cluster whose own policies cover
   * the APIs' namespace).
   * @default - the gateway and Prometheus this platform installs
   */
  readonly networkPolicy?: ApiNetworkPolicyOptions | false;
}

/** Props of {@link CortexPlatform}. */
export interface CortexPlatformProps extends CortexPlatformOptions {
  /**
   * The cluster: an `eks.Cluster`, or one imported with `Cluster.fromClusterAttributes` and a kubectl
   * provider (whose role may install Helm charts and pull from public ECR).
   */
  readonly cluster: eks.ICluster;
}

/**
 * What Cortex-style APIs need on an EKS cluster: Istio with the APIs gateway on a Network Load Balancer,
 * KEDA, Prometheus, the NVIDIA and Neuron device plugins (and the Neuron scheduler extension), the
 * cluster autoscaler, metrics-server, CloudWatch logs, the APIs' namespace, and the VPC CNI with network policy
 * enforcement (for the APIs' NetworkPolicies).
 *
 * Order: Istio `base` (CRDs) → `istiod` → the gateway chart → the `Gateway` object; {@link ready} groups
 * what API manifests must follow (the namespace, Istio, the gateway, KEDA).
 */
export class CortexPlatform extends Construct implements IApiPlatform {
  /** `new CortexPlatform(cluster, id, { cluster, ...options })`: the platform as a child of the cluster. */
  public static onCluster(cluster: eks.ICluster, options: CortexPlatformOptions = {}, id = 'CortexPlatform'): CortexPlatform {
    return new CortexPlatform(cluster, id, { ...options, cluster });
  }

  public readonly namespace: string;
  public readonly gatewayUrl: string = DEFAULT_GATEWAY_URL;
  public readonly prometheusUrl: string = DEFAULT_PROMETHEUS_URL;
  public readonly neuronSchedulerName: string = NEURON_SCHEDULER_NAME;
  /** `http(s)://<domainName or gateway load balancer>`, known at deploy time; undefined when the gateway is not installed here. */
  public readonly endpointUrl?: string;
  /** The cluster's Kubernetes version, when given (an `eks.Cluster` of this app says its own). */
  public readonly kubernetesVersion?: eks.KubernetesVersion;
  /** The namespace, Istio's CRDs and control plane, the gateway and its `Gateway` object, KEDA. */
  public readonly ready: IDependable;

  /** The APIs' namespace. */
  public readonly namespaceManifest: eks.KubernetesManifest;
  public readonly istio?: Istio;
  public readonly gateway?: ApisGateway;
  public readonly keda?: Keda;
  public readonly kedaHttpAddOn?: KedaHttpAddOn;
  /** Where the KEDA HTTP add-on answers, or `false` when `kedaHttpAddOn: false`. */
  public readonly coldStart: ColdStartRouting | false;
  public readonly prometheus?: Prometheus;
  public readonly nvidiaDevicePlugin?: NvidiaDevicePlugin;
  public readonly neuron?: Neuron;
  public readonly clusterAutoscaler?: ClusterAutoscaler;
  public readonly metricsServer?: MetricsServer;
  public readonly cloudWatchObservability?: CloudWatchObservability;
  /** The `eks-pod-identity-agent` add-on, when installed (or found on an `eks.Cluster`) for the add-ons that need it. */
  public readonly podIdentityAgent?: eks.IAddon;
  /** The `vpc-cni` add-on with network policy enforcement, unless `vpcCni: false`. */
  public readonly vpcCni?: VpcCni;
  /** Who may reach the APIs' pods (`false`: no NetworkPolicies). */
  public readonly networkPolicy?: ApiNetworkPolicyOptions | false;

  constructor(scope: Construct, id: string, props: CortexPlatformProps) {
    super(scope, id);
    const cluster = props.cluster;
    this.namespace = props.namespace ?? DEFAULT_NAMESPACE;
    this.kubernetesVersion = props.kubernetesVersion;
    checkApisNamespace('namespace', this.namespace);
    this.networkPolicy = props.networkPolicy;
    if (props.networkPolicy) {
      if (props.networkPolicy.gateway !== undefined) checkNetworkPolicyPeer('networkPolicy.gateway', props.networkPolicy.gateway);
      props.networkPolicy.metricsScrapers?.forEach((peer, i) => checkNetworkPolicyPeer(`networkPolicy.metricsScrapers[${i}]`, peer));
    }
    const installAgent = props.podIdentityAgent ?? true;
    for (const capacity of props.capacity ?? []) {
      this.node.addDependency(capacity);
    }

    this.namespaceManifest = new eks.KubernetesManifest(this, 'Namespace', {
      cluster,
      manifest: [apisNamespaceObject(this.namespace)],
    });
    const ready = new DependencyGroup(this.namespaceManifest);

    if (props.vpcCni !== false) {
      this.vpcCni = new VpcCni(this, 'VpcCni', { ...props.vpcCni, cluster });
    }
    if (props.istio !== false) {
      this.istio = new Istio(this, 'Istio', { ...props.istio, cluster });
      ready.add(this.istio);
    }
    if (props.gateway !== false) {
      const gatewayOptions = props.gateway ?? {};
      this.gateway = new ApisGateway(this, 'Gateway', {
        ...gatewayOptions,
        version: gatewayOptions.version ?? this.istio?.version,
        cluster,
      });
      if (this.istio !== undefined) {
        this.gateway.node.addDependency(this.istio);
      }
      this.endpointUrl = this.gateway.endpointUrl;
      // The chart and the Gateway object, not the wait for the load balancer's hostname: APIs need not wait for it.
      ready.add(this.gateway.chart, this.gateway.gateway);
    }
    if (props.keda !== false) {
      this.keda = new Keda(this, 'Keda', { ...props.keda, cluster });
      ready.add(this.keda);
    }
    if (props.kedaHttpAddOn !== false) {
      this.kedaHttpAddOn = new KedaHttpAddOn(this, 'KedaHttpAddOn', {
        ...props.kedaHttpAddOn,
        cluster,
        // The interceptors get the APIs' rule: the gateway in, the metrics scrapers to the metrics.
        networkPolicy: props.networkPolicy === false ? false : props.networkPolicy,
      });
      // Its interceptors are scaled by a KEDA ScaledObject.
      if (this.keda !== undefined) this.kedaHttpAddOn.node.addDependency(this.keda);
      ready.add(this.kedaHttpAddOn);
    }
    this.coldStart = props.kedaHttpAddOn === false ? false : DEFAULT_COLD_START_ROUTING;
    if (props.prometheus !== false) {
      this.prometheus = new Prometheus(this, 'Prometheus', { ...props.prometheus, cluster });
    }
    if (props.nvidiaDevicePlugin !== false) {
      this.nvidiaDevicePlugin = new NvidiaDevicePlugin(this, 'NvidiaDevicePlugin', { ...props.nvidiaDevicePlugin, cluster });
    }
    if (props.neuron !== false) {
      this.neuron = new Neuron(this, 'Neuron', { ...props.neuron, cluster, kubernetesVersion: props.kubernetesVersion });
    }

    // Every API's pods get their AWS credentials through Pod Identity (their own role), so the agent is always wanted.
    if (installAgent) {
      this.podIdentityAgent = podIdentityAgent(this, 'PodIdentityAgent', cluster);
      ready.add(this.podIdentityAgent);
    }
    if (props.clusterAutoscaler !== false) {
      this.clusterAutoscaler = new ClusterAutoscaler(this, 'ClusterAutoscaler', {
        ...props.clusterAutoscaler,
        cluster,
        kubernetesVersion: props.kubernetesVersion,
      });
      if (this.podIdentityAgent !== undefined && this.clusterAutoscaler.identityType === eks.IdentityType.POD_IDENTITY) {
        this.clusterAutoscaler.node.addDependency(this.podIdentityAgent);
      }
    }
    if (props.metricsServer !== false) {
      this.metricsServer = new MetricsServer(this, 'MetricsServer', { ...props.metricsServer, cluster });
    }
    if (props.cloudWatchObservability !== false) {
      this.cloudWatchObservability = new CloudWatchObservability(this, 'CloudWatchObservability', {
        // Per-API metrics come from the recording rules of the Prometheus installed here.
        apiMetrics: this.prometheus !== undefined,
        ...props.cloudWatchObservability,
        cluster,
      });
      if (this.podIdentityAgent !== undefined) {
        this.cloudWatchObservability.node.addDependency(this.podIdentityAgent);
      }
    }

    this.ready = ready;
  }
}
