import {
  API_KIND_LABEL,
  API_NAME_LABEL,
  API_NAMESPACE_LABEL,
  authorizationPolicySpec,
  endpointPaths,
  gatewayJwtObjectName,
  RealtimeApiChart,
  requestAuthenticationSpec,
  TrafficSplitterChart,
} from '../../constructs';
import { endpointMatches } from '../../constructs/routing';
import { GATEWAY_SELECTOR } from '../../lib/platform/apis-gateway';
import type { JwtSpec } from '../../lib/config/types';
import { KubeObject, only, realtimeApi, synth, trafficSplitter } from './fixtures';

const POOL = 'https://cognito-idp.us-east-1.amazonaws.com/us-east-1_AbC123';
const JWKS = `${POOL}/.well-known/jwks.json`;

/**
 * Istio's path match as the AuthorizationPolicy reference defines it: exact, "prefix*", "*suffix", or "*".
 * Used to show that the policy's paths cover exactly what the endpoint's VirtualService routes.
 */
function policyPathMatches(pattern: string, path: string): boolean {
  if (pattern === '*') return true;
  if (pattern.endsWith('*')) return path.startsWith(pattern.slice(0, -1));
  if (pattern.startsWith('*')) return path.endsWith(pattern.slice(1));
  return path === pattern;
}

function routeMatches(endpoint: string, path: string): boolean {
  return endpointMatches(endpoint).some((m) => (m.uri?.exact !== undefined ? path === m.uri.exact : path.startsWith(m.uri!.prefix!)));
}

function renderApi(jwt: JwtSpec | undefined, overrides: { name?: string; endpoint?: string; namespace?: string } = {}): KubeObject[] {
  const name = overrides.name ?? 'iris';
  const api = realtimeApi({
    name,
    networking: { endpoint: overrides.endpoint ?? `/${name}`, ...(jwt && { auth: { jwt } }) },
  });
  return synth((app) => new RealtimeApiChart(app, name, { api, namespace: overrides.namespace }));
}

describe('endpointPaths', () => {
  test('GIVEN /iris WHEN matched THEN exactly the paths its VirtualService routes: not /iris2, not /iris-v2', () => {
    // GIVEN
    const paths = endpointPaths('/iris');
    const candidates = ['/iris', '/iris/', '/iris/predict', '/iris/a/b', '/iris2', '/iris-v2', '/iri', '/', '/other/iris', '/IRIS'];
    // WHEN
    const covered = candidates.filter((p) => paths.some((pattern) => policyPathMatches(pattern, p)));
    // THEN
    expect(paths).toEqual(['/iris', '/iris/*']);
    expect(covered).toEqual(['/iris', '/iris/', '/iris/predict', '/iris/a/b']);
    expect(candidates.filter((p) => routeMatches('/iris', p))).toEqual(covered);
  });

  test('GIVEN a nested endpoint WHEN matched THEN the same two paths under it', () => {
    expect(endpointPaths('/v1/models/iris')).toEqual(['/v1/models/iris', '/v1/models/iris/*']);
  });
});

describe('requestAuthenticationSpec', () => {
  test('GIVEN an issuer and its key set WHEN rendered THEN one rule on the gateway pods, from the Authorization header only', () => {
    expect(requestAuthenticationSpec({ issuer: POOL, jwksUri: JWKS, audiences: ['client-a'] })).toEqual({
      selector: { matchLabels: { istio: 'apis-gateway' } },
      jwtRules: [{ issuer: POOL, jwksUri: JWKS, fromHeaders: [{ name: 'Authorization', prefix: 'Bearer ' }], forwardOriginalToken: false }],
    });
  });

  test('GIVEN no jwks_uri WHEN rendered THEN none: istiod discovers it from the issuer', () => {
    expect(requestAuthenticationSpec({ issuer: POOL }).jwtRules![0].jwksUri).toBeUndefined();
  });

  test('GIVEN audiences WHEN rendered THEN not on the rule: another API of the issuer with other audiences would get 401s', () => {
    expect(requestAuthenticationSpec({ issuer: POOL, audiences: ['client-a'] }).jwtRules![0]).not.toHaveProperty('audiences');
  });

  test('the selector is the gateway pods\' labels the platform sets', () => {
    expect(requestAuthenticationSpec({ issuer: POOL }).selector!.matchLabels).toEqual(GATEWAY_SELECTOR);
    expect(authorizationPolicySpec('/iris', { issuer: POOL }).selector!.matchLabels).toEqual(GATEWAY_SELECTOR);
  });
});

describe('authorizationPolicySpec', () => {
  test('GIVEN an issuer WHEN rendered THEN DENY on the endpoint without a token, or with another issuer\'s', () => {
    const to = [{ operation: { paths: ['/iris', '/iris/*'] } }];
    expect(authorizationPolicySpec('/iris', { issuer: POOL })).toEqual({
      selector: { matchLabels: { istio: 'apis-gateway' } },
      action: 'DENY',
      rules: [
        { from: [{ source: { notRequestPrincipals: ['*'] } }], to },
        { to, when: [{ key: 'request.auth.claims[iss]', notValues: [POOL] }] },
      ],
    });
  });

  test('GIVEN audiences WHEN rendered THEN a third rule: DENY when the token is for none of them', () => {
    const spec = authorizationPolicySpec('/iris', { issuer: POOL, audiences: ['client-a', 'client-b'] });
    expect(spec.rules).toHaveLength(3);
    expect(spec.rules![2]).toEqual({
      to: [{ operation: { paths: ['/iris', '/iris/*'] } }],
      when: [{ key: 'request.auth.audiences', notValues: ['client-a', 'client-b'] }],
    });
  });

  test('every rule is scoped to the endpoint: no rule can catch another API\'s path or the gateway\'s others', () => {
    const spec = authorizationPolicySpec('/iris', { issuer: POOL, audiences: ['a'] });
    for (const rule of spec.rules!) {
      expect(rule.to).toEqual([{ operation: { paths: ['/iris', '/iris/*'] } }]);
    }
    expect(spec.action).not.toBe('ALLOW');
  });
});

describe('RealtimeApiChart with networking.auth.jwt', () => {
  test('GIVEN jwt WHEN rendered THEN a RequestAuthentication and an AuthorizationPolicy in istio-system, named <api>.<namespace>', () => {
    // WHEN
    const objects = renderApi({ issuer: POOL, jwksUri: JWKS, audiences: ['client-a'] }, { namespace: 'models' });
    // THEN
    const ra = only(objects, 'RequestAuthentication');
    const ap = only(objects, 'AuthorizationPolicy');
    for (const o of [ra, ap]) {
      expect(o.apiVersion).toBe('security.istio.io/v1');
      expect(o.metadata).toEqual({
        name: 'iris.models',
        namespace: 'istio-system',
        labels: {
          [API_NAME_LABEL]: 'iris',
          [API_KIND_LABEL]: 'RealtimeAPI',
          [API_NAMESPACE_LABEL]: 'models',
          'app.kubernetes.io/managed-by': 'cortex-cdk',
        },
      });
    }
    // jwks_uri: the generated type writes the proto field's name, which istiod reads as jwksUri (the CRD holds both).
    expect(ra.spec.jwtRules).toEqual([{ issuer: POOL, jwks_uri: JWKS, fromHeaders: [{ name: 'Authorization', prefix: 'Bearer ' }], forwardOriginalToken: false }]);
    expect(ap.spec.action).toBe('DENY');
    expect(ap.spec.rules.map((r: KubeObject) => r.to[0].operation.paths)).toEqual([
      ['/iris', '/iris/*'],
      ['/iris', '/iris/*'],
      ['/iris', '/iris/*'],
    ]);
    // The API's own objects stay in its namespace.
    expect(only(objects, 'VirtualService').metadata.namespace).toBe('models');
  });

  test('GIVEN an endpoint of its own WHEN rendered THEN the policy follows the endpoint, not the name', () => {
    const ap = only(renderApi({ issuer: POOL }, { endpoint: '/v2/iris' }), 'AuthorizationPolicy');
    expect(ap.spec.rules[0].to[0].operation.paths).toEqual(['/v2/iris', '/v2/iris/*']);
  });

  test('GIVEN no jwt WHEN rendered THEN neither object', () => {
    const kinds = renderApi(undefined).map((o) => o.kind);
    expect(kinds).not.toContain('RequestAuthentication');
    expect(kinds).not.toContain('AuthorizationPolicy');
  });

  test('GIVEN two JWT APIs of two issuers WHEN rendered THEN each denies the other\'s issuer on its own paths only', () => {
    // GIVEN
    const other = 'https://login.example.com/';
    // WHEN
    const a = only(renderApi({ issuer: POOL }, { name: 'iris' }), 'AuthorizationPolicy');
    const b = only(renderApi({ issuer: other }, { name: 'iris2' }), 'AuthorizationPolicy');
    // THEN
    expect(a.metadata.name).not.toBe(b.metadata.name);
    expect(a.spec.rules[1].when).toEqual([{ key: 'request.auth.claims[iss]', notValues: [POOL] }]);
    expect(b.spec.rules[1].when).toEqual([{ key: 'request.auth.claims[iss]', notValues: [other] }]);
    const aPaths: string[] = a.spec.rules[0].to[0].operation.paths;
    expect(['/iris2', '/iris2/predict'].filter((p) => aPaths.some((pattern) => policyPathMatches(pattern, p)))).toEqual([]);
  });

  test('GIVEN the same API name in two namespaces WHEN rendered THEN two names in istio-system', () => {
    expect(gatewayJwtObjectName('iris', 'cortex')).toBe('iris.cortex');
    expect(gatewayJwtObjectName('iris', 'staging')).toBe('iris.staging');
    expect(gatewayJwtObjectName('a-b', 'c')).not.toBe(gatewayJwtObjectName('a', 'b-c'));
  });
});

describe('TrafficSplitterChart with networking.auth.jwt', () => {
  test('GIVEN jwt on a splitter WHEN rendered THEN both objects on the splitter\'s endpoint, kind TrafficSplitter', () => {
    // GIVEN
    const splitter = trafficSplitter([{ name: 'iris', weight: 100 }], { name: 'split', networking: { auth: { jwt: { issuer: POOL } } } });
    // WHEN
    const objects = synth((app) => new TrafficSplitterChart(app, 'split', { splitter }));
    // THEN
    expect(objects.map((o) => o.kind).sort()).toEqual(['AuthorizationPolicy', 'RequestAuthentication', 'VirtualService']);
    const ap = only(objects, 'AuthorizationPolicy');
    expect(ap.metadata).toMatchObject({ name: 'split.cortex', namespace: 'istio-system', labels: { [API_KIND_LABEL]: 'TrafficSplitter' } });
    expect(ap.spec.rules[0].to[0].operation.paths).toEqual(['/split', '/split/*']);
  });
});
