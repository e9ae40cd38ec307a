import { k8s } from 'cdk8s-plus-30';
import { CortexValidationError } from '../lib/config/errors';
import {
  APIS_GATEWAY,
  APIS_GATEWAY_POD_LABELS,
  PROMETHEUS_SERVER_NAMESPACE,
  PROMETHEUS_SERVER_POD_LABELS,
  selectorLabels,
  PROXY_ADMIN_PORT,
  PROXY_PORT,
} from './names';
import { checkDns1123Label, isUnresolvedToken } from './validation';

/** The label every namespace carries with its own name (Kubernetes sets it): how a policy names a namespace. */
export const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';

/** Pods that may open connections to an API's pods: those with all of `podLabels`, in `namespace`. */
export interface NetworkPolicyPeer {
  /** The pods' namespace. */
  readonly namespace: string;
  /** Labels the pods carry (all of them): at least one, so that a peer is never a whole namespace by accident. */
  readonly podLabels: Readonly<Record<string, string>>;
}

/** The APIs gateway's pods, as the platform installs them: `istio: apis-gateway` in `istio-system`. */
export const GATEWAY_PEER: NetworkPolicyPeer = {
  namespace: APIS_GATEWAY.split('/')[0],
  podLabels: APIS_GATEWAY_POD_LABELS,
};

/** The platform Prometheus' server pods (the prometheus-community chart's, release `prometheus` in `prometheus`). */
export const PROMETHEUS_PEER: NetworkPolicyPeer = {
  namespace: PROMETHEUS_SERVER_NAMESPACE,
  podLabels: PROMETHEUS_SERVER_POD_LABELS,
};

/**
 * Who may reach an API's pods, when the cluster enforces NetworkPolicies (see docs/kubernetes-objects.md,
 * "NetworkPolicy"). Every other source — other pods, other APIs calling the Service directly, the VPC — is
 * refused; the node the pod runs on (the kubelet's probes) and the pod's own containers always get through.
 */
export interface ApiNetworkPolicyOptions {
  /**
   * The pods that may reach the proxy port (8888), where requests enter: the APIs gateway's.
   * @default GATEWAY_PEER - namespace 'istio-system', pods labelled `istio: apis-gateway`
   */
  readonly gateway?: NetworkPolicyPeer;
  /**
   * The pods that may reach the proxy's admin port (15000: `/metrics`, `/healthz`): whatever scrapes the
   * proxies' metrics. An empty list lets nothing but the node reach it.
   * @default [PROMETHEUS_PEER] - the platform Prometheus' server pods
   */
  readonly metricsScrapers?: NetworkPolicyPeer[];
}

// Kubernetes' label syntax: an optional DNS-1123 subdomain prefix and "/", a name of up to 63 characters.
const LABEL_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const LABEL_PREFIX = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

function isLabelKey(key: string): boolean {
  const slash = key.indexOf('/');
  const prefix = slash < 0 ? undefined : key.slice(0, slash);
  const name = slash < 0 ? key : key.slice(slash + 1);
  if (prefix !== undefined && (prefix.length > 253 || !LABEL_PREFIX.test(prefix))) return false;
  return name.length <= 63 && LABEL_NAME.test(name);
}

function isLabelValue(value: string): boolean {
  return value === '' || (value.length <= 63 && LABEL_NAME.test(value));
}

/** A peer's namespace is a DNS-1123 label and its labels are Kubernetes labels, one at least. */
export function checkNetworkPolicyPeer(prop: string, peer: NetworkPolicyPeer): void {
  checkDns1123Label(`${prop}.namespace`, peer.namespace);
  const entries = Object.entries(peer.podLabels);
  if (entries.length === 0) {
    throw new CortexValidationError(
      `${prop}.podLabels ({}) must name at least one label: an empty selector would let every pod of namespace ` +
        `${JSON.stringify(peer.namespace)} through`,
    );
  }
  for (const [key, value] of entries) {
    if (isUnresolvedToken(key) || isUnresolvedToken(value)) continue;
    if (!isLabelKey(key)) {
      throw new CortexValidationError(
        `${prop}.podLabels key ${JSON.stringify(key)} must be a Kubernetes label key: an optional DNS-1123 ` +
          `subdomain prefix and "/", then at most 63 letters, digits, "-", "_" and ".", starting and ending with a letter or digit`,
      );
    }
    if (!isLabelValue(value)) {
      throw new CortexValidationError(
        `${prop}.podLabels[${JSON.stringify(key)}] (${JSON.stringify(value)}) must be a Kubernetes label value: empty, ` +
          `or at most 63 letters, digits, "-", "_" and ".", starting and ending with a letter or digit`,
      );
    }
  }
}

/** A peer as a NetworkPolicy's `from` entry: its namespace by name, its pods by labels. */
export function peerToKube(peer: NetworkPolicyPeer): k8s.NetworkPolicyPeer {
  return {
    namespaceSelector: { matchLabels: { [NAMESPACE_NAME_LABEL]: peer.namespace } },
    podSelector: { matchLabels: { ...peer.podLabels } },
  };
}

/**
 * The spec of an API's NetworkPolicy: its pods (the Deployment's selector labels), ingress only, with two
 * rules — the proxy port from the gateway's pods, the admin port from the metrics scrapers' pods — and none
 * for `pod.port` or the Python runtime's ports, so that the user's server is reached through the proxy only.
 * Egress is left open (models from S3, other APIs through the gateway). `forwarders` are pods that may reach
 * the proxy port beside the gateway: the cold-start interceptor of a scale-to-zero API (constructs/cold-start.ts).
 */
export function apiNetworkPolicySpec(
  apiName: string,
  options: ApiNetworkPolicyOptions = {},
  forwarders: readonly NetworkPolicyPeer[] = [],
): k8s.NetworkPolicySpec {
  const gateway = options.gateway ?? GATEWAY_PEER;
  const scrapers = options.metricsScrapers ?? [PROMETHEUS_PEER];
  checkNetworkPolicyPeer('networkPolicy.gateway', gateway);
  scrapers.forEach((peer, i) => checkNetworkPolicyPeer(`networkPolicy.metricsScrapers[${i}]`, peer));
  forwarders.forEach((peer, i) => checkNetworkPolicyPeer(`coldStart.interceptorPeer${forwarders.length > 1 ? `[${i}]` : ''}`, peer));

  const ingress: k8s.NetworkPolicyIngressRule[] = [
    {
      from: [gateway, ...forwarders].map(peerToKube),
      ports: [{ protocol: 'TCP', port: k8s.IntOrString.fromNumber(PROXY_PORT) }],
    },
  ];
  if (scrapers.length > 0) {
    ingress.push({
      from: scrapers.map(peerToKube),
      ports: [{ protocol: 'TCP', port: k8s.IntOrString.fromNumber(PROXY_ADMIN_PORT) }],
    });
  }
  return {
    podSelector: { matchLabels: selectorLabels(apiName, 'RealtimeAPI') },
    policyTypes: ['Ingress'],
    ingress,
  };
}
