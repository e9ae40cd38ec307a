import type * as eks from 'aws-cdk-lib/aws-eks-v2';
import { DependencyGroup, IDependable } from 'constructs';
import { DEFAULT_GATEWAY_URL, DEFAULT_NAMESPACE, DEFAULT_PROMETHEUS_URL, NEURON_SCHEDULER_NAME } from '../../constructs/names';
import type { ApiNetworkPolicyOptions } from '../../constructs/network-policy';
import { type ColdStartRouting, DEFAULT_COLD_START_ROUTING } from '../../constructs/cold-start';

/**
 * What an API's objects need from the platform of its cluster: where to live, the addresses the
 * pods and the autoscaler use, and what must be in place (CRDs, namespace, gateway) before them.
 * `CortexPlatform` implements it; `ApiPlatform.existing()` describes add-ons that are already there.
 */
export interface IApiPlatform {
  /** The namespace of the APIs (created by the platform). */
  readonly namespace: string;
  /** The gateway's in-cluster URL, given to API containers as `CORTEX_GATEWAY_URL`. */
  readonly gatewayUrl: string;
  /** The Prometheus server the autoscaler's triggers query. */
  readonly prometheusUrl: string;
  /** The scheduler of pods that ask for Neuron devices. */
  readonly neuronSchedulerName: string;
  /**
   * The APIs' base URL from outside the cluster (`http://<load balancer>`, `https://` with TLS), usually a deploy-time token.
   * @default - unknown: no URL outputs
   */
  readonly endpointUrl?: string;
  /**
   * The cluster's Kubernetes version, when known at synth: APIs refuse clusters older than their manifests need.
   * @default - unknown (the version of an `eks.Cluster` of this app is known anyway)
   */
  readonly kubernetesVersion?: eks.KubernetesVersion;
  /**
   * Who may reach the APIs' pods (each API's NetworkPolicy): the gateway's pods and the metrics scrapers';
   * `false` for no NetworkPolicies.
   * @default - the platform's gateway and Prometheus (istio-system `istio: apis-gateway`, the prometheus server)
   */
  readonly networkPolicy?: ApiNetworkPolicyOptions | false;
  /**
   * Where the KEDA HTTP add-on answers, which holds the requests of APIs with `min_replicas: 0` while they have no
   * ready replica; `false` when the cluster has no such add-on (those APIs then answer 503 until a replica is ready).
   * @default DEFAULT_COLD_START_ROUTING - the add-on as the platform installs it
   */
  readonly coldStart?: ColdStartRouting | false;
  /** What API manifests must be applied after: the CRDs, the namespace, the gateway. */
  readonly ready: IDependable;
}

/** Attributes of a platform installed outside this app (see {@link ApiPlatform.existing}). */
export interface ExistingApiPlatformAttributes {
  /** @default 'cortex' */
  readonly namespace?: string;
  /** @default 'http://apis-gateway.istio-system.svc.cluster.local' */
  readonly gatewayUrl?: string;
  /** @default 'http://prometheus-server.prometheus.svc.cluster.local' */
  readonly prometheusUrl?: string;
  /** @default 'my-scheduler' */
  readonly neuronSchedulerName?: string;
  /** @default - no URL outputs */
  readonly endpointUrl?: string;
  /**
   * The cluster's Kubernetes version: set it for an imported cluster, so that synth refuses one older than the
   * APIs' manifests need (1.30).
   * @default - unknown: not checked
   */
  readonly kubernetesVersion?: eks.KubernetesVersion;
  /**
   * Who may reach the APIs' pods: the gateway and the metrics scrapers of this cluster, when they are not the
   * platform's (another Prometheus, another gateway's labels); `false` renders no NetworkPolicies. They are
   * enforced only where the cluster's CNI enforces NetworkPolicies: on EKS, the VPC CNI with
   * `enableNetworkPolicy` (docs/platform.md), which an imported cluster must have turned on itself.
   * @default - the platform's gateway and Prometheus
   */
  readonly networkPolicy?: ApiNetworkPolicyOptions | false;
  /**
   * Where the cluster's KEDA HTTP add-on answers (its interceptor proxy Service, external scaler and interceptor
   * pods), when not as the platform installs it; `false` when the cluster has none: APIs with `min_replicas: 0`
   * are then routed directly and answer 503 until a replica is ready.
   * @default DEFAULT_COLD_START_ROUTING - release `keda-add-ons-http` in `keda`
   */
  readonly coldStart?: ColdStartRouting | false;
}

/** Factories of {@link IApiPlatform}. */
export class ApiPlatform {
  /**
   * A platform whose add-ons (Istio with the `apis-gateway`, KEDA, Prometheus, the namespace) were
   * installed some other way: nothing to wait for.
   */
  public static existing(attrs: ExistingApiPlatformAttributes = {}): IApiPlatform {
    return {
      namespace: attrs.namespace ?? DEFAULT_NAMESPACE,
      gatewayUrl: attrs.gatewayUrl ?? DEFAULT_GATEWAY_URL,
      prometheusUrl: attrs.prometheusUrl ?? DEFAULT_PROMETHEUS_URL,
      neuronSchedulerName: attrs.neuronSchedulerName ?? NEURON_SCHEDULER_NAME,
      endpointUrl: attrs.endpointUrl,
      kubernetesVersion: attrs.kubernetesVersion,
      networkPolicy: attrs.networkPolicy,
      coldStart: attrs.coldStart ?? DEFAULT_COLD_START_ROUTING,
      ready: new DependencyGroup(),
    };
  }

  private constructor() {}
}
