import type { Condition, ContainerStatus, Deployment, Pod, Service, VirtualService } from '../../bin/cli/kube/objects';
import { FakeHttpServer } from './fake-http';

/**
 * Kubernetes objects as the API server returns them for cortex APIs, and the routes that serve them
 * from a FakeHttpServer — the cluster `cortex get` and `cortex logs` read in tests.
 */

const LABELS = (name: string, kind = 'RealtimeAPI') => ({ 'cortex.dev/api-name': name, 'cortex.dev/api-kind': kind, 'app.kubernetes.io/managed-by': 'cortex-cdk' });

/** An ISO time `ms` before now. */
export function ago(ms: number): string {
  return new Date(Date.now() - ms).toISOString();
}

export interface DeploymentOptions {
  readonly replicas?: number;
  readonly ready?: number;
  readonly updated?: number;
  /** status.replicas: old and new pods together. */
  readonly total?: number;
  readonly generation?: number;
  readonly observedGeneration?: number;
  readonly conditions?: Condition[];
  /** When the last deploy changed it. */
  readonly updatedAt?: string;
  readonly containers?: { name: string; image: string }[];
}

export function deployment(name: string, options: DeploymentOptions = {}): Deployment {
  const replicas = options.replicas ?? 2;
  return {
    metadata: {
      name,
      namespace: 'cortex',
      labels: LABELS(name),
      generation: options.generation ?? 3,
      creationTimestamp: ago(86_400_000 * 3),
      managedFields: [
        { manager: 'kubectl-client-side-apply', operation: 'Update', time: options.updatedAt ?? ago(3_600_000 * 3 + 720_000) },
        // The autoscaler's and the controller's writes are not deploys.
        { manager: 'kube-controller-manager', operation: 'Update', subresource: 'status', time: ago(5_000) },
        { manager: 'keda', operation: 'Update', subresource: 'scale', time: ago(60_000) },
      ],
    },
    spec: {
      replicas,
      template: {
        spec: {
          containers: options.containers ?? [
            { name: 'api', image: `123456789012.dkr.ecr.us-east-1.amazonaws.com/${name}:v1` },
            { name: 'proxy', image: '123456789012.dkr.ecr.us-east-1.amazonaws.com/cortex-proxy:0.1.0' },
          ],
        },
      },
    },
    status: {
      observedGeneration: options.observedGeneration ?? options.generation ?? 3,
      replicas: options.total ?? replicas,
      readyReplicas: options.ready ?? replicas,
      updatedReplicas: options.updated ?? replicas,
      availableReplicas: options.ready ?? replicas,
      conditions: options.conditions ?? [
        { type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable' },
        { type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable' },
      ],
    },
  };
}

export interface PodOptions {
  readonly phase?: string;
  /** The api container's status instead of running and ready. */
  readonly api?: Partial<ContainerStatus>;
  readonly conditions?: Condition[];
  readonly node?: string | null;
  readonly schedulerName?: string;
  readonly memoryLimit?: string;
  readonly createdAt?: string;
}

export function pod(api: string, id: string, options: PodOptions = {}): Pod {
  const running = (name: string): ContainerStatus => ({ name, ready: true, restartCount: 0, state: { running: { startedAt: ago(3_600_000) } } });
  const apiStatus: ContainerStatus = { ...running('api'), ...options.api };
  const pending = options.phase === 'Pending';
  return {
    metadata: { name: `${api}-7d9f8c6b5-${id}`, namespace: 'cortex', labels: LABELS(api), creationTimestamp: options.createdAt ?? ago(3_600_000 * 3 + 720_000) },
    spec: {
      nodeName: options.node === null ? undefined : options.node ?? 'ip-10-0-1-23.ec2.internal',
      schedulerName: options.schedulerName ?? 'default-scheduler',
      containers: [
        { name: 'api', image: `123456789012.dkr.ecr.us-east-1.amazonaws.com/${api}:v1`, resources: { limits: { memory: options.memoryLimit ?? '1Gi' } } },
        { name: 'proxy', image: '123456789012.dkr.ecr.us-east-1.amazonaws.com/cortex-proxy:0.1.0' },
      ],
    },
    status: {
      phase: options.phase ?? 'Running',
      conditions: options.conditions ?? [{ type: 'PodScheduled', status: 'True' }],
      containerStatuses: pending && !options.api ? undefined : [apiStatus, running('proxy')],
    },
  };
}

/** A pod no node can take: the scheduler's condition with `message`. */
export function unschedulablePod(api: string, id: string, message: string): Pod {
  return pod(api, id, {
    phase: 'Pending',
    node: null,
    conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message, lastTransitionTime: ago(120_000) }],
  });
}

export function virtualService(name: string, kind: 'RealtimeAPI' | 'TrafficSplitter', options: { routes?: { api: string; weight: number }[]; mirror?: { api: string; percent: number } } = {}): VirtualService {
  const host = (api: string) => `${api}.cortex.svc.cluster.local`;
  return {
    metadata: { name, namespace: 'cortex', labels: LABELS(name, kind), creationTimestamp: ago(86_400_000 * 2), managedFields: [{ operation: 'Update', time: ago(86_400_000) }] },
    spec: {
      http: [
        {
          match: [{ uri: { exact: `/${name}` } }, { uri: { prefix: `/${name}/` } }],
          route: (options.routes ?? [{ api: name, weight: 100 }]).map((r) => ({ destination: { host: host(r.api) }, weight: kind === 'TrafficSplitter' ? r.weight : undefined })),
          mirror: options.mirror && { host: host(options.mirror.api) },
          mirrorPercentage: options.mirror && { value: options.mirror.percent },
        },
      ],
    },
  };
}

export function gatewayService(hostname?: string): Service {
  return {
    metadata: { name: 'apis-gateway', namespace: 'istio-system' },
    status: { loadBalancer: { ingress: hostname ? [{ hostname }] : [] } },
  };
}

export const LB_HOSTNAME = 'k8s-istiosys-apisgate-0123456789.elb.us-east-1.amazonaws.com';

export interface FakeCluster {
  readonly deployments?: Deployment[];
  readonly pods?: Pod[];
  readonly virtualServices?: VirtualService[];
  /** The gateway Service; a LoadBalancer with LB_HOSTNAME unless given. */
  readonly gateway?: Service | null;
}

/** Serves `cluster` from `server` as the Kubernetes API would, in namespace `cortex`. */
export function serveCluster(server: FakeHttpServer, cluster: FakeCluster): void {
  const list = (items: unknown[] = []) => ({ body: { kind: 'List', apiVersion: 'v1', metadata: {}, items } });
  server
    .on('GET', '/apis/apps/v1/namespaces/cortex/deployments', list(cluster.deployments))
    .on('GET', '/api/v1/namespaces/cortex/pods', list(cluster.pods))
    .on('GET', '/apis/networking.istio.io/v1/namespaces/cortex/virtualservices', (req) => {
      const selector = req.query.get('labelSelector') ?? '';
      const kind = /cortex\.dev\/api-kind=(\w+)/.exec(selector)?.[1];
      return list((cluster.virtualServices ?? []).filter((vs) => kind === undefined || vs.metadata.labels?.['cortex.dev/api-kind'] === kind));
    });
  if (cluster.gateway !== null) {
    server.on('GET', '/api/v1/namespaces/istio-system/services/apis-gateway', { body: cluster.gateway ?? gatewayService(LB_HOSTNAME) });
  }
}

export const PROMETHEUS_QUERY_PATH = '/api/v1/namespaces/prometheus/services/prometheus-server:80/proxy/api/v1/query';

export interface FakeMetrics {
  readonly byCode: Record<string, number>;
  readonly p50?: number;
  readonly p99?: number;
  /** The time-to-first-byte quantiles. */
  readonly firstByteP50?: number;
  readonly firstByteP99?: number;
  readonly inFlight: number;
  readonly queued: number;
  /** The KEDA HTTP add-on interceptor's count for the API; undefined: no series (the API is not routed through it). */
  readonly atInterceptor?: number;
  /** The samples of the API's custom metrics query (`metrics_client`), with their labels and `__name__`. */
  readonly custom?: { metric: Record<string, string>; value: number | string }[];
}

export const PROMETHEUS_METADATA_PATH = PROMETHEUS_QUERY_PATH.replace(/\/query$/, '/targets/metadata');

/** Answers the queries `cortex get API` sends to Prometheus through the service proxy. */
export function servePrometheus(server: FakeHttpServer, metrics: FakeMetrics): void {
  const vector = (result: { metric: Record<string, string>; value: number | string }[]) => ({
    body: { status: 'success', data: { resultType: 'vector', result: result.map((r) => ({ metric: r.metric, value: [1714557600, String(r.value)] })) } },
  });
  server.on('GET', PROMETHEUS_QUERY_PATH, (req) => {
    const query = req.query.get('query') ?? '';
    if (query.startsWith('sum by (code)')) return vector(Object.entries(metrics.byCode).map(([code, value]) => ({ metric: { code }, value })));
    if (query.startsWith('histogram_quantile(0.5,') && query.includes('cortex_time_to_first_byte_seconds_bucket')) return vector([{ metric: {}, value: metrics.firstByteP50 ?? 'NaN' }]);
    if (query.startsWith('histogram_quantile(0.99,') && query.includes('cortex_time_to_first_byte_seconds_bucket')) return vector([{ metric: {}, value: metrics.firstByteP99 ?? 'NaN' }]);
    if (query.startsWith('histogram_quantile(0.5,')) return vector([{ metric: {}, value: metrics.p50 ?? 'NaN' }]);
    if (query.startsWith('histogram_quantile(0.99,')) return vector([{ metric: {}, value: metrics.p99 ?? 'NaN' }]);
    if (query.startsWith('sum(cortex_in_flight_requests')) return vector([{ metric: {}, value: metrics.inFlight }]);
    if (query.startsWith('sum(cortex_queue_length')) return vector([{ metric: {}, value: metrics.queued }]);
    if (query.startsWith('sum(interceptor_request_concurrency')) return vector(metrics.atInterceptor === undefined ? [] : [{ metric: {}, value: metrics.atInterceptor }]);
    if (query.startsWith('{namespace=')) return vector(metrics.custom ?? []);
    return { status: 400, body: { status: 'error', errorType: 'bad_data', error: `unexpected query ${query}` } };
  });
}
