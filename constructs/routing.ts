import type { NetworkingSpec } from '../lib/config/types';
import {
  VirtualServiceSpec,
  VirtualServiceSpecHttpMatch,
  VirtualServiceSpecHttpMirror,
  VirtualServiceSpecHttpRoute,
} from './imports/networking.istio.io';
import { APIS_GATEWAY, SERVICE_PORT, serviceHost } from './names';

/**
 * The URI matches of an endpoint: exactly `/<endpoint>`, and anything under `/<endpoint>/`. The
 * trailing slash keeps `/iris` from also catching `/iris-v2` (VirtualServices bound to one gateway
 * and host are merged by Istio, so the matches of different APIs must not overlap).
 */
export function endpointMatches(endpoint: string): VirtualServiceSpecHttpMatch[] {
  const base = endpoint.replace(/\/+$/, '');
  if (base === '') {
    return [{ uri: { prefix: '/' } }];
  }
  return [{ uri: { exact: base } }, { uri: { prefix: `${base}/` } }];
}

/** A weighted route to an API's Service (port 80). */
export function routeTo(apiName: string, namespace: string, weight?: number): VirtualServiceSpecHttpRoute {
  return { destination: { host: serviceHost(apiName, namespace), port: { number: SERVICE_PORT } }, weight };
}

/** A mirror destination (an API's Service, port 80). */
export function mirrorTo(apiName: string, namespace: string): VirtualServiceSpecHttpMirror {
  return { host: serviceHost(apiName, namespace), port: { number: SERVICE_PORT } };
}

export interface GatewayRouteOptions {
  /** The route's name (the API's or splitter's). */
  readonly name: string;
  readonly networking: NetworkingSpec;
  readonly routes: VirtualServiceSpecHttpRoute[];
  /** A shadow: a copy of this percentage of the requests goes there, its answers are dropped. */
  readonly mirror?: { readonly destination: VirtualServiceSpecHttpMirror; readonly percentage: number };
  /**
   * How long a request may wait for a first replica before `networking.timeout` starts to matter (a route to a
   * scale-to-zero API, through the interceptor): added to the route's timeout.
   * @default 0
   */
  readonly coldStartTimeoutSeconds?: number;
  /**
   * The Host the route sends (Istio's `rewrite.authority`): a route through the interceptor sends its own
   * (constructs/cold-start.ts, `COLD_START_AUTHORITY`).
   * @default - the client's
   */
  readonly authority?: string;
}

/**
 * A VirtualService spec on the APIs gateway, every host: the endpoint's matches, the path rewritten
 * to "/" (the user's server sees `/`, `/predict`... not `/<api>/predict`), the gateway timeout, and
 * no automatic retries: an inference request is neither cheap nor known to be idempotent, and a
 * 503 from a full proxy queue is an answer for the client, not a reason to knock again.
 */
export function gatewayVirtualServiceSpec(options: GatewayRouteOptions): VirtualServiceSpec {
  return {
    gateways: [APIS_GATEWAY],
    hosts: ['*'],
    http: [
      {
        name: options.name,
        match: endpointMatches(options.networking.endpoint),
        rewrite: { uri: '/', authority: options.authority },
        route: options.routes,
        mirror: options.mirror?.destination,
        mirrorPercentage: options.mirror === undefined ? undefined : { value: options.mirror.percentage },
        retries: { attempts: 0 },
        // Rounded to nanoseconds as durations are read: 0.1 + 2.2 is 2.3000000000000003 in floating point.
        timeout: `${Math.round((options.networking.timeoutSeconds + (options.coldStartTimeoutSeconds ?? 0)) * 1e9) / 1e9}s`,
      },
    ],
  };
}
