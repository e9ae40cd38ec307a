import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import type { JwtSpec } from '../lib/config/types';
import {
  AuthorizationPolicy,
  AuthorizationPolicySpec,
  AuthorizationPolicySpecAction,
  AuthorizationPolicySpecRules,
  RequestAuthentication,
  RequestAuthenticationSpec,
} from './imports/security.istio.io';
import { APIS_GATEWAY, APIS_GATEWAY_POD_LABELS, API_NAMESPACE_LABEL, type ApiKind, objectLabels } from './names';

/**
 * Where the objects of `networking.auth.jwt` live: the APIs gateway's namespace (`istio-system`). Istio applies a
 * RequestAuthentication or AuthorizationPolicy to the workloads of its own namespace its selector picks, and the
 * gateway's pods are there, whatever namespace the API is in.
 */
export const GATEWAY_NAMESPACE = APIS_GATEWAY.split('/')[0];

/**
 * Where the gateway looks for a token: `Authorization: Bearer <token>`, only. Istio's default would also read an
 * `access_token` query parameter, on every path of the gateway; a request to another API that happens to carry
 * one would be refused when it is not a token of a configured issuer.
 */
export const JWT_HEADER = 'Authorization';
export const JWT_HEADER_PREFIX = 'Bearer ';

/**
 * The name of both objects: `<api>.<namespace>`. APIs of every namespace share the gateway's namespace, and
 * neither an API's name nor a namespace holds a ".", so no two APIs' names meet.
 */
export function gatewayJwtObjectName(apiName: string, namespace: string): string {
  return `${apiName}.${namespace}`;
}

/**
 * The paths of an endpoint as an AuthorizationPolicy matches them: exactly `/<endpoint>`, and anything under
 * `/<endpoint>/` — the very requests the endpoint's VirtualService routes (see `endpointMatches`), so `/iris`
 * covers neither `/iris2` nor `/iris-v2`. Istio matches the path the client sent (before the route's rewrite to
 * "/"), normalized as for routing, without the query string.
 */
export function endpointPaths(endpoint: string): string[] {
  const base = endpoint.replace(/\/+$/, '');
  return [base, `${base}/*`];
}

/**
 * The RequestAuthentication: the gateway validates a bearer token of the issuer against its key set. Istio
 * merges the RequestAuthentications of one workload: the gateway accepts a token any of them configures, and
 * refuses (401) a request whose bearer token is invalid, expired, or of no configured issuer, whatever its path.
 * The audiences are not set here but in the AuthorizationPolicy: set here, a token of the same issuer for another
 * audience (another API's) would be refused on every path. The token is not forwarded to the API (Istio's default).
 */
export function requestAuthenticationSpec(jwt: JwtSpec): RequestAuthenticationSpec {
  return {
    selector: { matchLabels: { ...APIS_GATEWAY_POD_LABELS } },
    jwtRules: [
      {
        issuer: jwt.issuer,
        // Rendered as `jwks_uri`, the proto field's own name (the CRD holds both spellings; istiod reads them alike).
        jwksUri: jwt.jwksUri,
        fromHeaders: [{ name: JWT_HEADER, prefix: JWT_HEADER_PREFIX }],
        forwardOriginalToken: false,
      },
    ],
  };
}

/**
 * The AuthorizationPolicy: DENY (403) a request to the endpoint's paths without a valid token (RequestAuthentication
 * alone lets a request without any token through), with a token of another issuer (another API's, validated by its
 * RequestAuthentication), or, with `audiences`, for none of them. DENY, not ALLOW: an ALLOW policy on the gateway
 * would refuse every request it does not match, those of every other API included.
 */
export function authorizationPolicySpec(endpoint: string, jwt: JwtSpec): AuthorizationPolicySpec {
  const to = [{ operation: { paths: endpointPaths(endpoint) } }];
  const rules: AuthorizationPolicySpecRules[] = [
    { from: [{ source: { notRequestPrincipals: ['*'] } }], to },
    { to, when: [{ key: 'request.auth.claims[iss]', notValues: [jwt.issuer] }] },
  ];
  if (jwt.audiences !== undefined) {
    rules.push({ to, when: [{ key: 'request.auth.audiences', notValues: [...jwt.audiences] }] });
  }
  return {
    selector: { matchLabels: { ...APIS_GATEWAY_POD_LABELS } },
    action: AuthorizationPolicySpecAction.DENY,
    rules,
  };
}

/** Options of {@link GatewayJwt}. */
export interface GatewayJwtProps {
  /** The API's (or splitter's) name. */
  readonly apiName: string;
  readonly kind: ApiKind;
  /** The API's namespace (the objects themselves go to the gateway's). */
  readonly namespace: string;
  /** `networking.endpoint`. */
  readonly endpoint: string;
  readonly jwt: JwtSpec;
}

/**
 * `networking.auth.jwt` of one API or splitter: a RequestAuthentication and an AuthorizationPolicy on the APIs
 * gateway's pods, named `<api>.<namespace>` in the gateway's namespace, labelled with the API's name, kind and
 * namespace (`cortex.dev/api-namespace`, since their own namespace is not the API's).
 */
export class GatewayJwt extends Construct {
  public readonly requestAuthentication: ApiObject;
  public readonly authorizationPolicy: ApiObject;

  constructor(scope: Construct, id: string, props: GatewayJwtProps) {
    super(scope, id);
    const metadata = {
      name: gatewayJwtObjectName(props.apiName, props.namespace),
      namespace: GATEWAY_NAMESPACE,
      labels: { ...objectLabels(props.apiName, props.kind), [API_NAMESPACE_LABEL]: props.namespace },
    };
    this.requestAuthentication = new RequestAuthentication(this, 'RequestAuthentication', {
      metadata,
      spec: requestAuthenticationSpec(props.jwt),
    });
    this.authorizationPolicy = new AuthorizationPolicy(this, 'AuthorizationPolicy', {
      metadata,
      spec: authorizationPolicySpec(props.endpoint, props.jwt),
    });
  }
}
