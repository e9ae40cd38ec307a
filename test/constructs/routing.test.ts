import { endpointMatches, gatewayVirtualServiceSpec, mirrorTo, routeTo } from '../../constructs/routing';

describe('routing', () => {
  test('GIVEN an endpoint THEN exact match and a prefix match with a trailing slash', () => {
    expect(endpointMatches('/iris')).toEqual([{ uri: { exact: '/iris' } }, { uri: { prefix: '/iris/' } }]);
  });

  test('GIVEN an endpoint with a trailing slash THEN no double slash', () => {
    expect(endpointMatches('/v1/iris/')).toEqual([{ uri: { exact: '/v1/iris' } }, { uri: { prefix: '/v1/iris/' } }]);
  });

  test('GIVEN the root endpoint THEN one prefix match on /', () => {
    expect(endpointMatches('/')).toEqual([{ uri: { prefix: '/' } }]);
  });

  test('routes and mirrors go to the API Service on port 80', () => {
    expect(routeTo('a', 'cortex', 30)).toEqual({ destination: { host: 'a.cortex.svc.cluster.local', port: { number: 80 } }, weight: 30 });
    expect(mirrorTo('s', 'ml')).toEqual({ host: 's.ml.svc.cluster.local', port: { number: 80 } });
  });

  test('the spec: the APIs gateway, all hosts, rewrite to /, no retries, the timeout, an optional mirror', () => {
    const spec = gatewayVirtualServiceSpec({
      name: 'x',
      networking: { endpoint: '/x', timeoutSeconds: 12 },
      routes: [routeTo('x', 'cortex')],
      mirror: { destination: mirrorTo('y', 'cortex'), percentage: 5 },
    });
    expect(spec.gateways).toEqual(['istio-system/apis-gateway']);
    expect(spec.hosts).toEqual(['*']);
    expect(spec.http![0]).toMatchObject({
      name: 'x',
      rewrite: { uri: '/' },
      retries: { attempts: 0 },
      timeout: '12s',
      mirror: { host: 'y.cortex.svc.cluster.local' },
      mirrorPercentage: { value: 5 },
    });
    const noMirror = gatewayVirtualServiceSpec({ name: 'x', networking: { endpoint: '/x', timeoutSeconds: 1 }, routes: [] });
    expect(noMirror.http![0].mirror).toBeUndefined();
    expect(noMirror.http![0].mirrorPercentage).toBeUndefined();
  });
});
