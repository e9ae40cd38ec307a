/**
 * The names and ports the config, the charts, the platform, the proxy and the CLI agree on (see
 * docs/kubernetes-objects.md). Change one only together with all its users. Imports nothing, so that any
 * layer (lib/config, the rollout gate's bundle) can read it.
 */

/** Pod label carrying the API's name; half of every selector. */
export const API_NAME_LABEL = 'cortex.dev/api-name';
/** Pod label carrying the spec's kind (`RealtimeAPI`); the other half of every selector. */
export const API_KIND_LABEL = 'cortex.dev/api-kind';
/**
 * The API's namespace, as a label of the objects that live in another one (`networking.auth.jwt`'s, in the
 * gateway's namespace), so that they are counted with the API's other objects.
 */
export const API_NAMESPACE_LABEL = 'cortex.dev/api-namespace';
/** Node label the node-group construct sets to the node group's name; `node_groups` selects on it. */
export const NODE_GROUP_LABEL = 'cortex.dev/node-group';
/** Pod-template annotation holding the hash of everything that shapes the pods. */
export const SPEC_HASH_ANNOTATION = 'cortex.dev/spec-hash';
/** Label put on every object the charts render (never on selectors). */
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY = 'cortex-cdk';

/** Where APIs live unless told otherwise; the platform creates it. */
export const DEFAULT_NAMESPACE = 'cortex';

/** The Istio Gateway every API's VirtualService binds to (`<namespace>/<name>`), created by the platform. */
export const APIS_GATEWAY = 'istio-system/apis-gateway';

/**
 * The `LoadBalancer` Service in front of the APIs gateway's pods (`<namespace>/<name>`), whose Network Load Balancer
 * serves the APIs from outside the cluster; its status holds the load balancer's host name. The gateway's own Service
 * (`APIS_GATEWAY`'s name) serves the cluster only.
 */
export const APIS_GATEWAY_LOAD_BALANCER = 'istio-system/apis-gateway-lb';

/**
 * The labels of the APIs gateway's pods (the gateway chart's `labels`): its `Gateway` object selects them, and
 * every API's NetworkPolicy lets them, and only them, reach the proxy port.
 */
export const APIS_GATEWAY_POD_LABELS: Readonly<Record<string, string>> = { istio: APIS_GATEWAY.split('/')[1] };

/** Annotation of the load balancer's Service naming the host name clients use (a DNS record for the load balancer). */
export const GATEWAY_DOMAIN_ANNOTATION = 'cortex.dev/domain-name';

/** In-cluster address of the APIs gateway, handed to every API container as `CORTEX_GATEWAY_URL` for chaining. */
export const DEFAULT_GATEWAY_URL = 'http://apis-gateway.istio-system.svc.cluster.local';

/**
 * In-cluster address of the Prometheus server the platform installs: the prometheus-community
 * `prometheus` Helm chart, release `prometheus` in namespace `prometheus`, whose server Service is
 * `prometheus-server` on port 80. KEDA's Prometheus triggers query it.
 */
export const DEFAULT_PROMETHEUS_URL = 'http://prometheus-server.prometheus.svc.cluster.local';

/** The namespace of the Prometheus server the platform installs (release `prometheus`). */
export const PROMETHEUS_SERVER_NAMESPACE = 'prometheus';

/**
 * The labels of that server's pods: the prometheus-community chart's selector labels of its server
 * (`app.kubernetes.io/name` the chart's name, `instance` the release, `component` the server's name). Every
 * API's NetworkPolicy lets these pods, and only them, scrape the proxy's admin port.
 */
export const PROMETHEUS_SERVER_POD_LABELS: Readonly<Record<string, string>> = {
  'app.kubernetes.io/name': 'prometheus',
  'app.kubernetes.io/instance': 'prometheus',
  'app.kubernetes.io/component': 'server',
};

/**
 * Image reference used for the proxy sidecar until a real one is given (the CDK constructs pass the
 * proxy's DockerImageAsset URI; `cortex manifests` a pinned image). It is not pullable on purpose.
 */
export const PROXY_IMAGE_PLACEHOLDER = 'cortex-cdk/proxy:placeholder';
/**
 * Image reference used for predictor-form APIs until a real runtime image is given
 * (the CDK constructs pass a DockerImageAsset's URI; `cortex manifests --predictor-image`).
 */
export const PYTHON_PREDICTOR_IMAGE_PLACEHOLDER = 'cortex-cdk/python-predictor:placeholder';

/**
 * The scheduler the Neuron Helm chart deploys (`scheduler.enabled=true`) with the Neuron scheduler
 * extension built in. EKS does not let the default scheduler be extended, so Neuron pods opt in by name.
 */
export const NEURON_SCHEDULER_NAME = 'my-scheduler';

/** The Service port every API exposes inside the cluster (the gateway routes to it), forwarded to {@link PROXY_PORT}. */
export const SERVICE_PORT = 80;
/** The proxy sidecar's ports (requests; `/healthz` and `/metrics`), which a user's `pod.port` may not take. */
export const PROXY_PORT = 8888;
export const PROXY_ADMIN_PORT = 15000;
/** The port the Python predictor runtime listens on inside a predictor-form pod. */
export const PREDICTOR_RUNTIME_PORT = 8080;

/** Kubernetes' `kind`-like value of the `cortex.dev/api-kind` label, per spec kind. */
export type ApiKind = 'RealtimeAPI' | 'TrafficSplitter';

/** The two labels that identify an API's objects; selectors use exactly these. */
export function selectorLabels(apiName: string, kind: ApiKind): Record<string, string> {
  return { [API_NAME_LABEL]: apiName, [API_KIND_LABEL]: kind };
}

/** Labels for an object's metadata: the selector labels plus who manages it. */
export function objectLabels(apiName: string, kind: ApiKind): Record<string, string> {
  return { ...selectorLabels(apiName, kind), [MANAGED_BY_LABEL]: MANAGED_BY };
}

/** The cluster-local DNS name of an API's Service. */
export function serviceHost(apiName: string, namespace: string): string {
  return `${apiName}.${namespace}.svc.cluster.local`;
}

/*
 * The proxy sidecar's Prometheus series (images/proxy/src/metrics.ts writes them; the proxy stands alone,
 * so it spells them itself) and the labels the Prometheus pod scrape job puts on them. KEDA's query, the
 * platform's recording rules and `cortex get` read them from here.
 */
/** The proxies' gauge of queued + active requests (the autoscaling signal). */
export const IN_FLIGHT_METRIC = 'cortex_in_flight_requests';
/** The proxies' requests answered, by `code`. */
export const REQUESTS_METRIC = 'cortex_requests_total';
/** The proxies' latency histogram. */
export const DURATION_METRIC = 'cortex_request_duration_seconds';
/** The proxies' time-to-first-byte histogram (arrival to the response's first byte; same buckets). */
export const TIME_TO_FIRST_BYTE_METRIC = 'cortex_time_to_first_byte_seconds';
/** The proxies' gauge of queued requests. */
export const QUEUE_METRIC = 'cortex_queue_length';
/**
 * The KEDA HTTP add-on interceptor's gauge of the requests it holds or forwards, per InterceptorRoute (labelled
 * `route_namespace`, `route_name`: a scale-to-zero API's namespace and name). Scraped from the interceptor's pods.
 */
export const INTERCEPTOR_CONCURRENCY_METRIC = 'interceptor_request_concurrency';
/**
 * The label the Prometheus pod scrape job gives `cortex.dev/api-name`: the prometheus-community
 * chart's `kubernetes-pods` job copies pod labels with `labelmap: __meta_kubernetes_pod_label_(.+)`,
 * and Prometheus sanitizes `.`, `/` and `-` in label names to `_`.
 */
export const API_NAME_METRIC_LABEL = 'cortex_dev_api_name';
/** The namespace label the same scrape job adds. */
export const NAMESPACE_METRIC_LABEL = 'namespace';
