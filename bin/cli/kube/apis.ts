import { API_KIND_LABEL, API_NAME_LABEL, APIS_GATEWAY, APIS_GATEWAY_LOAD_BALANCER, GATEWAY_DOMAIN_ANNOTATION } from '../../../constructs/names';
import { KubeApiError, KubeClient } from './client';
import { Deployment, ObjectMeta, Pod, Service, VirtualService } from './objects';
import { apiStatus, ApiStatus, ApiStatusCode, podProblem, replicaCounts, ReplicaCounts, STATUS_SEVERITY } from './status';

/**
 * What is deployed in a namespace, read from the Kubernetes API in one round of parallel requests:
 * the RealtimeAPIs (Deployments labelled `cortex.dev/api-kind=RealtimeAPI`, their pods and
 * VirtualServices), the TrafficSplitters (VirtualServices labelled `cortex.dev/api-kind=TrafficSplitter`)
 * and the APIs gateway's load balancer address, which makes the endpoint URLs.
 */

/**
 * The Istio namespace and the Service whose load balancer serves every API (constructs/names.ts), `apis-gateway-lb`.
 * Clusters deployed before it existed have their load balancer on the gateway chart's own Service, `apis-gateway`,
 * which is read too and used when the first is absent.
 */
export const [GATEWAY_NAMESPACE, GATEWAY_SERVICE] = APIS_GATEWAY_LOAD_BALANCER.split('/');
const CHART_GATEWAY_SERVICE = APIS_GATEWAY.split('/')[1];

/** The annotation that gives the load balancer a TLS listener (on 443): its URLs are then `https://`. */
const SSL_CERT_ANNOTATION = 'service.beta.kubernetes.io/aws-load-balancer-ssl-cert';

export interface PodSummary {
  readonly name: string;
  readonly phase: string;
  /** Ready containers / containers. */
  readonly ready: string;
  readonly restarts: number;
  readonly createdAt?: string;
  readonly node?: string;
  /** What keeps it from serving, if anything. */
  readonly problem?: string;
}

export interface RealtimeApiSummary {
  readonly kind: 'RealtimeAPI';
  readonly name: string;
  readonly status: ApiStatusCode;
  readonly reason?: string;
  readonly replicas: ReplicaCounts;
  /** `<gatewayUrl>/<endpoint>`; undefined while the load balancer has no address. */
  readonly endpoint?: string;
  /** The path the gateway routes (`/<endpoint>`); undefined when the API has no VirtualService. */
  readonly path?: string;
  /** When the API's Deployment was last changed by a deploy (ISO 8601). */
  readonly lastUpdate?: string;
  readonly containers: readonly { readonly name: string; readonly image?: string }[];
  readonly pods: readonly PodSummary[];
}

export interface SplitterTarget {
  readonly name: string;
  readonly weight: number;
  readonly shadow: boolean;
}

export interface TrafficSplitterSummary {
  readonly kind: 'TrafficSplitter';
  readonly name: string;
  readonly status: ApiStatusCode;
  readonly reason?: string;
  readonly apis: readonly SplitterTarget[];
  readonly endpoint?: string;
  readonly path?: string;
  readonly lastUpdate?: string;
}

export interface ClusterSnapshot {
  readonly namespace: string;
  /** The gateway load balancer's host name (or IP), when it has one. */
  readonly gatewayAddress?: string;
  /** The APIs' base URL from outside, when the load balancer has an address: see {@link gatewayUrl}. */
  readonly gatewayUrl?: string;
  readonly apis: readonly RealtimeApiSummary[];
  readonly splitters: readonly TrafficSplitterSummary[];
}

const API_KIND = 'RealtimeAPI';
const SPLITTER_KIND = 'TrafficSplitter';

/** Reads every API and splitter of `namespace`. */
export async function readSnapshot(client: KubeClient, namespace: string): Promise<ClusterSnapshot> {
  const ns = encodeURIComponent(namespace);
  const apiSelector = { labelSelector: `${API_KIND_LABEL}=${API_KIND}` };
  const [deployments, pods, virtualServices, loadBalancer, chartService] = await Promise.all([
    client.list<Deployment>(`/apis/apps/v1/namespaces/${ns}/deployments`, apiSelector),
    client.list<Pod>(`/api/v1/namespaces/${ns}/pods`, apiSelector),
    // Istio's CRDs may be missing (a cluster without the platform): then there are no routes, not an error.
    client.listOptional<VirtualService>(`/apis/networking.istio.io/v1/namespaces/${ns}/virtualservices`, {
      labelSelector: API_KIND_LABEL,
    }),
    client.getOptional<Service>(`/api/v1/namespaces/${GATEWAY_NAMESPACE}/services/${GATEWAY_SERVICE}`),
    client.getOptional<Service>(`/api/v1/namespaces/${GATEWAY_NAMESPACE}/services/${CHART_GATEWAY_SERVICE}`),
  ]);
  try {
    return summarize(namespace, deployments.items, pods.items, virtualServices?.items ?? [], loadBalancer ?? chartService);
  } catch (e) {
    // Objects not shaped as Kubernetes makes them (a list where a map belongs, a number for a message): the API
    // server's fault, said as such, rather than an internal error with a stack trace.
    if (!(e instanceof TypeError)) throw e;
    throw new KubeApiError(`the API server answered with objects cortex cannot read (${e.message})`, 200);
  }
}

function summarize(
  namespace: string,
  deployments: readonly Deployment[],
  pods: readonly Pod[],
  virtualServices: readonly VirtualService[],
  gateway: Service | undefined,
): ClusterSnapshot {
  const ingress = gateway?.status?.loadBalancer?.ingress?.[0];
  const gatewayAddress = ingress?.hostname || ingress?.ip || undefined;
  const baseUrl = gatewayUrl(gateway);
  const url = (path: string | undefined) => (path !== undefined && baseUrl ? `${baseUrl}${path}` : undefined);

  const routes = new Map<string, VirtualService>();
  for (const vs of virtualServices) {
    const kind = vs.metadata.labels?.[API_KIND_LABEL];
    const name = vs.metadata.labels?.[API_NAME_LABEL] ?? vs.metadata.name;
    routes.set(`${kind}/${name}`, vs);
  }

  const apis = deployments
    .map((deployment): RealtimeApiSummary => {
      const name = deployment.metadata.labels?.[API_NAME_LABEL] ?? deployment.metadata.name;
      const own = pods.filter((p) => p.metadata.labels?.[API_NAME_LABEL] === name);
      const status: ApiStatus = apiStatus(deployment, own);
      const path = endpointPath(routes.get(`${API_KIND}/${name}`));
      return {
        kind: API_KIND,
        name,
        status: status.status,
        reason: status.reason,
        replicas: replicaCounts(deployment),
        endpoint: url(path),
        path,
        lastUpdate: lastUpdate(deployment.metadata),
        containers: (deployment.spec?.template?.spec?.containers ?? []).map((c) => ({ name: c.name, image: c.image })),
        pods: own.map(podSummary).sort((a, b) => a.name.localeCompare(b.name)),
      };
    })
    .sort((a, b) => a.name.localeCompare(b.name));

  const byName = new Map(apis.map((a) => [a.name, a]));
  const splitters = virtualServices
    .filter((vs) => vs.metadata.labels?.[API_KIND_LABEL] === SPLITTER_KIND)
    .map((vs): TrafficSplitterSummary => {
      const name = vs.metadata.labels?.[API_NAME_LABEL] ?? vs.metadata.name;
      const targets = splitterTargets(vs);
      const path = endpointPath(vs);
      return { kind: SPLITTER_KIND, name, ...splitterStatus(targets, byName), apis: targets, endpoint: url(path), path, lastUpdate: lastUpdate(vs.metadata) };
    })
    .sort((a, b) => a.name.localeCompare(b.name));

  return { namespace, gatewayAddress, gatewayUrl: baseUrl, apis, splitters };
}

/**
 * The APIs' base URL from the load balancer's Service: `https://` when it has a TLS listener (a certificate
 * annotation), `http://` otherwise, then the domain name the platform recorded (`cortex.dev/domain-name`, which the
 * certificate covers) or the load balancer's own address. Undefined while the load balancer has no address.
 */
export function gatewayUrl(service: Service | undefined): string | undefined {
  const ingress = service?.status?.loadBalancer?.ingress?.[0];
  const address = ingress?.hostname || ingress?.ip;
  if (!service || !address) return undefined;
  const annotations = service.metadata.annotations ?? {};
  const scheme = annotations[SSL_CERT_ANNOTATION] ? 'https' : 'http';
  return `${scheme}://${annotations[GATEWAY_DOMAIN_ANNOTATION] || address}`;
}

/** The path of a VirtualService's first route: its exact match (`/<endpoint>`), or its prefix. */
export function endpointPath(vs: VirtualService | undefined): string | undefined {
  const match = vs?.spec?.http?.[0]?.match ?? [];
  const exact = match.find((m) => m.uri?.exact !== undefined)?.uri?.exact;
  return exact ?? match.find((m) => m.uri?.prefix !== undefined)?.uri?.prefix;
}

/** A splitter's targets: the weighted routes and the mirror (each a `<api>.<namespace>.svc.cluster.local` Service). */
export function splitterTargets(vs: VirtualService): SplitterTarget[] {
  const http = vs.spec?.http?.[0];
  const apiOf = (host: string | undefined) => (host ?? '').split('.')[0];
  const routes = (http?.route ?? []).map((r) => ({ name: apiOf(r.destination?.host), weight: r.weight ?? 100, shadow: false }));
  const mirror = http?.mirror?.host ? [{ name: apiOf(http.mirror.host), weight: http.mirrorPercentage?.value ?? 100, shadow: true }] : [];
  return [...routes, ...mirror];
}

/** A splitter is as well as its worst target; a target that is not deployed is an error. */
function splitterStatus(targets: readonly SplitterTarget[], apis: ReadonlyMap<string, RealtimeApiSummary>): { status: ApiStatusCode; reason?: string } {
  const missing = targets.filter((t) => !apis.has(t.name));
  if (missing.length > 0) {
    return { status: 'error', reason: `${missing.map((t) => `API "${t.name}"`).join(', ')} ${missing.length === 1 ? 'is' : 'are'} not deployed` };
  }
  let worst: { status: ApiStatusCode; reason?: string } = { status: 'live' };
  for (const target of targets) {
    const api = apis.get(target.name)!;
    if (STATUS_SEVERITY[api.status] > STATUS_SEVERITY[worst.status]) worst = { status: api.status, reason: `API "${api.name}" is ${api.status}${api.reason ? `: ${api.reason}` : ''}` };
  }
  return worst;
}

/**
 * When the object was last changed by a client: the newest of its managed-fields times, the status,
 * scale and other subresources aside (the autoscaler's scaling is not an update of the API); its
 * creation time when it has none.
 */
export function lastUpdate(metadata: ObjectMeta): string | undefined {
  const times = (metadata.managedFields ?? [])
    .filter((f) => !f.subresource && f.time)
    .map((f) => f.time!)
    .sort((a, b) => Date.parse(a) - Date.parse(b));
  return times[times.length - 1] ?? metadata.creationTimestamp;
}

function podSummary(pod: Pod): PodSummary {
  const statuses = pod.status?.containerStatuses ?? [];
  const total = pod.spec?.containers?.length ?? statuses.length;
  return {
    name: pod.metadata.name,
    // As kubectl's STATUS column: a waiting container's reason says more than the phase.
    phase: pod.metadata.deletionTimestamp
      ? 'Terminating'
      : (statuses.find((s) => s.state?.waiting?.reason)?.state?.waiting?.reason ?? pod.status?.reason ?? pod.status?.phase ?? 'Unknown'),
    ready: `${statuses.filter((s) => s.ready).length}/${total}`,
    restarts: statuses.reduce((sum, s) => sum + (s.restartCount ?? 0), 0),
    createdAt: pod.metadata.creationTimestamp,
    node: pod.spec?.nodeName,
    problem: podProblem(pod)?.message,
  };
}
