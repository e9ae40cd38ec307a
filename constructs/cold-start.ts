import type { AutoscalingSpec, RealtimeApiSpec } from '../lib/config/types';
import { AUTOSCALING_DEFAULTS } from '../lib/config/defaults';
import { InterceptorRouteSpec } from './imports/http.keda.sh';
import { ScaledObjectSpecTriggers } from './imports/keda.sh';
import { VirtualServiceSpecHttpRoute } from './imports/networking.istio.io';
import { SERVICE_PORT } from './names';
import { CortexValidationError } from '../lib/config/errors';
import { checkNetworkPolicyPeer, type NetworkPolicyPeer } from './network-policy';
import { checkDns1123Subdomain, checkIntegerInRange, isUnresolvedToken } from './validation';

/**
 * Cold starts that wait: an API with `min_replicas: 0` is reached through the KEDA HTTP add-on's
 * interceptor, which holds a request while the API has no ready replica and forwards it once one is ready;
 * the add-on's external scaler reports the requests it holds (and forwards) to the API's ScaledObject, so
 * the waiting requests themselves scale the API from zero. APIs with `min_replicas` >= 1 keep the direct
 * route (gateway → the API's Service). docs/configuration.md, "Scale to zero", says what the client sees.
 */

/** Where the KEDA HTTP add-on answers: its interceptor's proxy Service and its external scaler. */
export interface ColdStartRouting {
  /** The interceptor's proxy Service, as a cluster DNS name. */
  readonly interceptorHost: string;
  /** The interceptor proxy Service's port. */
  readonly interceptorPort: number;
  /** The external scaler's gRPC address, `host:port`, as a ScaledObject trigger's `scalerAddress`. */
  readonly scalerAddress: string;
  /** The interceptor's pods: the NetworkPolicy of a scale-to-zero API lets them reach its proxy port. */
  readonly interceptorPeer: NetworkPolicyPeer;
}

/**
 * A `coldStart` of the user's (an add-on installed elsewhere): each address one a VirtualService and a ScaledObject
 * can carry, refused at synth rather than by the API server half-way through a deploy.
 */
export function checkColdStartRouting(prop: string, routing: ColdStartRouting): void {
  checkDns1123Subdomain(`${prop}.interceptorHost`, routing.interceptorHost);
  checkIntegerInRange(`${prop}.interceptorPort`, routing.interceptorPort, 1, 65535);
  const address = routing.scalerAddress;
  if (!isUnresolvedToken(address)) {
    const match = /^([^:]+):(\d+)$/.exec(address);
    if (match === null || Number(match[2]) < 1 || Number(match[2]) > 65535) {
      throw new CortexValidationError(
        `${prop}.scalerAddress (${JSON.stringify(address)}) must be HOST:PORT, the add-on scaler's gRPC address, e.g. ` +
          `"keda-add-ons-http-external-scaler.keda:9090"`,
      );
    }
    checkDns1123Subdomain(`${prop}.scalerAddress's host`, match[1]);
  }
  checkNetworkPolicyPeer(`${prop}.interceptorPeer`, routing.interceptorPeer);
}

/** The add-on's namespace (KEDA's) and the name its chart (`keda-add-ons-http`) gives to its objects. */
export const HTTP_ADD_ON_NAMESPACE = 'keda';
export const HTTP_ADD_ON_CHART_NAME = 'keda-add-ons-http';

/** The add-on as the platform installs it (chart defaults for the Service names and ports). */
export const DEFAULT_COLD_START_ROUTING: ColdStartRouting = {
  interceptorHost: `${HTTP_ADD_ON_CHART_NAME}-interceptor-proxy.${HTTP_ADD_ON_NAMESPACE}.svc.cluster.local`,
  interceptorPort: 8080,
  scalerAddress: `${HTTP_ADD_ON_CHART_NAME}-external-scaler.${HTTP_ADD_ON_NAMESPACE}:9090`,
  interceptorPeer: {
    namespace: HTTP_ADD_ON_NAMESPACE,
    podLabels: { 'app.kubernetes.io/component': 'interceptor', 'app.kubernetes.io/name': 'http-add-on' },
  },
};

/**
 * The header that tells the interceptor which API a request is for. The gateway sets it on the route to
 * the interceptor (overwriting any value a client sent), and each API's InterceptorRoute matches its own
 * value, so that routing does not depend on the Host the client used (a load balancer name, a domain).
 */
export const COLD_START_ROUTE_HEADER = 'x-cortex-api';

/**
 * The Host of every request the gateway sends to the interceptor, and the one host every InterceptorRoute of ours
 * matches (beside the route header). The interceptor looks a request's Host up before anything else: an exact host
 * wins over a catch-all. Were the client's Host passed on, a client could name the exact host of another
 * InterceptorRoute in the cluster (the add-on serves every namespace) and be forwarded there, past the gateway's
 * checks. `.internal` is reserved for private use: no public name, no client's own, can be it.
 */
export const COLD_START_AUTHORITY = 'apis.cortex.internal';

/** The header's value for an API: `<namespace>/<api>`, unique in the cluster. */
export function coldStartRouteKey(apiName: string, namespace: string): string {
  return `${namespace}/${apiName}`;
}

/** The ScaledObject trigger that reads the interceptor's count of the API's requests (held and forwarded). */
export const COLD_START_TRIGGER_NAME = 'held-requests';

/** Whether an API is routed through the interceptor: it may have no replica. */
export function waitsForColdStarts(autoscaling: AutoscalingSpec): boolean {
  return autoscaling.minReplicas === 0 && autoscaling.targetCpuUtilization === undefined;
}

/** The cold-start wait of a scale-to-zero API, in seconds. */
export function coldStartTimeoutSeconds(autoscaling: AutoscalingSpec): number {
  return autoscaling.coldStartTimeoutSeconds ?? AUTOSCALING_DEFAULTS.coldStartTimeoutSeconds;
}

/**
 * The InterceptorRoute of a scale-to-zero API (named as the API): requests carrying the API's route
 * header go to its Service; the concurrency target is the API's `target_in_flight` (rounded up: the CRD
 * takes an integer), so that held requests ask for as many replicas as in-flight ones do. Timeouts: the
 * wait for a ready replica is `cold_start_timeout`; the request and its response headers are not bounded
 * here (the gateway's route timeout and the proxy sidecar bound them, as for every API).
 */
export function interceptorRouteSpec(apiName: string, namespace: string, autoscaling: AutoscalingSpec): InterceptorRouteSpec {
  return {
    target: { service: apiName, port: SERVICE_PORT },
    rules: [{ hosts: [COLD_START_AUTHORITY], headers: [{ name: COLD_START_ROUTE_HEADER, value: coldStartRouteKey(apiName, namespace) }] }],
    scalingMetric: { concurrency: { targetValue: Math.max(1, Math.ceil(autoscaling.targetInFlight)) } },
    timeouts: { readiness: `${coldStartTimeoutSeconds(autoscaling)}s`, request: '0s', responseHeader: '0s' },
  };
}

/**
 * The trigger that scales a scale-to-zero API on the interceptor's count of its requests: active (0 → 1)
 * as soon as one request is held, and sized like the in-flight trigger (the HPA takes the larger).
 */
export function coldStartTrigger(routeName: string, routing: ColdStartRouting): ScaledObjectSpecTriggers {
  return {
    type: 'external-push',
    name: COLD_START_TRIGGER_NAME,
    metadata: { scalerAddress: routing.scalerAddress, interceptorRoute: routeName },
  };
}

/** A (weighted) gateway route to a scale-to-zero API: to the interceptor, with the API's route header set. */
export function routeThroughInterceptor(
  apiName: string,
  namespace: string,
  routing: ColdStartRouting,
  weight?: number,
): VirtualServiceSpecHttpRoute {
  return {
    destination: { host: routing.interceptorHost, port: { number: routing.interceptorPort } },
    headers: { request: { set: { [COLD_START_ROUTE_HEADER]: coldStartRouteKey(apiName, namespace) } } },
    weight,
  };
}

/**
 * The APIs among `apis` that wait for cold starts, by name, with their `cold_start_timeout` in seconds: what
 * a TrafficSplitter needs to route to them through the interceptor.
 */
export function scaleToZeroTargets(apis: readonly RealtimeApiSpec[]): Record<string, number> {
  const targets: Record<string, number> = {};
  for (const api of apis) {
    if (waitsForColdStarts(api.autoscaling)) targets[api.name] = coldStartTimeoutSeconds(api.autoscaling);
  }
  return targets;
}
