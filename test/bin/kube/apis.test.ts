import { endpointPath, gatewayUrl, lastUpdate, readSnapshot, splitterTargets } from '../../../bin/cli/kube/apis';
import { KubeApiError, KubeClient } from '../../../bin/cli/kube/client';
import { Service } from '../../../bin/cli/kube/objects';
import { loadBalancerService, LoadBalancerServiceOptions } from '../../../lib/platform/apis-gateway';
import { FakeHttpServer, kubeStatus } from '../../support/fake-http';
import { deployment, gatewayService, pod, serveCluster, virtualService } from '../../support/kube-fixtures';

describe('readSnapshot', () => {
  let kube: FakeHttpServer;
  let client: KubeClient;
  beforeEach(async () => {
    kube = await FakeHttpServer.start();
    client = new KubeClient({ files: [], contextName: 'c', clusterName: 'c', userName: 'u', server: kube.url, tls: { insecure: false }, auth: { kind: 'none' }, eks: {} });
  });
  afterEach(async () => {
    client.close();
    await kube.stop();
  });

  test("groups pods by their API's label (iris-v2's pods are not iris'), and takes the gateway's IP when it has no host name", async () => {
    serveCluster(kube, {
      deployments: [deployment('iris-v2'), deployment('iris')],
      pods: [pod('iris', 'a'), pod('iris-v2', 'b'), pod('iris-v2', 'c')],
      virtualServices: [virtualService('iris', 'RealtimeAPI')],
      gateway: { ...gatewayService(), status: { loadBalancer: { ingress: [{ ip: '203.0.113.7' }] } } },
    });

    const snapshot = await readSnapshot(client, 'cortex');

    expect(snapshot.apis.map((a) => [a.name, a.pods.length, a.endpoint])).toEqual([
      ['iris', 1, 'http://203.0.113.7/iris'],
      ['iris-v2', 2, undefined],
    ]);
  });

  test('objects not shaped as Kubernetes makes them (conditions a number, a message a number) are a KubeApiError, not a TypeError', async () => {
    const broken = [
      { ...pod('iris', 'a'), status: { conditions: 5 } },
      { ...pod('iris', 'b'), status: { phase: 'Pending', containerStatuses: [{ name: 'api', state: { waiting: { reason: 'ErrImagePull', message: 5 } } }] } },
    ];
    for (const bad of broken) {
      serveCluster(kube, { deployments: [deployment('iris')], pods: [bad as never] });
      const read = readSnapshot(client, 'cortex');
      await expect(read).rejects.toBeInstanceOf(KubeApiError);
      await expect(read).rejects.toThrow(/^the API server answered with objects cortex cannot read \(.+\)$/);
    }
  });

  test('a cluster without Istio (no VirtualService kind, no gateway Service): APIs without endpoints', async () => {
    serveCluster(kube, { deployments: [deployment('iris')], gateway: null });
    kube.on('GET', '/apis/networking.istio.io/v1/namespaces/cortex/virtualservices', { status: 404, body: kubeStatus(404, 'NotFound', 'the server could not find the requested resource') });

    const snapshot = await readSnapshot(client, 'cortex');

    expect(snapshot.gatewayAddress).toBeUndefined();
    expect(snapshot.apis[0]).toMatchObject({ name: 'iris', status: 'live', endpoint: undefined, path: undefined });
  });

  test("reads apis-gateway-lb, not the chart's in-cluster Service, and shows https:// URLs with TLS", async () => {
    serveCluster(kube, {
      deployments: [deployment('iris')],
      virtualServices: [virtualService('iris', 'RealtimeAPI')],
      gateway: { metadata: { name: 'apis-gateway', namespace: 'istio-system' }, status: { loadBalancer: {} } },
    });
    kube.on('GET', '/api/v1/namespaces/istio-system/services/apis-gateway-lb', {
      body: platformLoadBalancer({ sslCertificateArn: CERTIFICATE, domainName: 'api.example.com' }),
    });

    const snapshot = await readSnapshot(client, 'cortex');

    expect(snapshot.gatewayAddress).toBe('lb.elb.eu-west-1.amazonaws.com');
    expect(snapshot.gatewayUrl).toBe('https://api.example.com');
    expect(snapshot.apis[0].endpoint).toBe('https://api.example.com/iris');
  });
});

/** The load balancer's Service as the platform renders it, with the address its controller wrote into its status. */
function platformLoadBalancer(options: Partial<LoadBalancerServiceOptions>, hostname = 'lb.elb.eu-west-1.amazonaws.com'): Service {
  const rendered = loadBalancerService({ internetFacing: true, loadBalancerSourceRanges: [], sslPolicy: 'p', plainHttp: true, ...options });
  return { ...(rendered as unknown as Service), status: { loadBalancer: { ingress: [{ hostname }] } } };
}

const CERTIFICATE = 'arn:aws:acm:eu-west-1:123456789012:certificate/0a1b2c3d-4e5f-6789-abcd-ef0123456789';

describe('the base URL, from the Service the platform renders', () => {
  test('plain HTTP: http:// and the load balancer host name', () => {
    expect(gatewayUrl(platformLoadBalancer({}))).toBe('http://lb.elb.eu-west-1.amazonaws.com');
  });

  test('TLS: https://, also when plain HTTP is open beside it', () => {
    expect(gatewayUrl(platformLoadBalancer({ sslCertificateArn: CERTIFICATE, plainHttp: false }))).toBe('https://lb.elb.eu-west-1.amazonaws.com');
    expect(gatewayUrl(platformLoadBalancer({ sslCertificateArn: CERTIFICATE, plainHttp: true }))).toBe('https://lb.elb.eu-west-1.amazonaws.com');
  });

  test('TLS with a domain name: https:// and the name the certificate covers', () => {
    expect(gatewayUrl(platformLoadBalancer({ sslCertificateArn: CERTIFICATE, domainName: 'api.example.com' }))).toBe('https://api.example.com');
  });

  test('no address yet, or no Service: no URL', () => {
    expect(gatewayUrl({ ...platformLoadBalancer({ sslCertificateArn: CERTIFICATE }), status: {} })).toBeUndefined();
    expect(gatewayUrl(undefined)).toBeUndefined();
  });
});

describe('what the VirtualServices tell', () => {
  test('the endpoint path: the exact match, else the prefix', () => {
    expect(endpointPath(virtualService('iris', 'RealtimeAPI'))).toBe('/iris');
    expect(endpointPath({ metadata: { name: 'root' }, spec: { http: [{ match: [{ uri: { prefix: '/' } }] }] } })).toBe('/');
    expect(endpointPath(undefined)).toBeUndefined();
  });

  test("a splitter's weighted routes and its shadow", () => {
    const vs = virtualService('s', 'TrafficSplitter', { routes: [{ api: 'a', weight: 70 }, { api: 'b', weight: 30 }], mirror: { api: 'c', percent: 5 } });
    expect(splitterTargets(vs)).toEqual([
      { name: 'a', weight: 70, shadow: false },
      { name: 'b', weight: 30, shadow: false },
      { name: 'c', weight: 5, shadow: true },
    ]);
  });
});

describe('lastUpdate', () => {
  test('the newest write that is not a subresource (status, scale), else the creation time', () => {
    expect(
      lastUpdate({
        name: 'a',
        creationTimestamp: '2025-01-01T00:00:00Z',
        managedFields: [
          { operation: 'Update', time: '2025-03-01T00:00:00Z' },
          { operation: 'Apply', time: '2025-04-01T00:00:00Z' },
          { operation: 'Update', subresource: 'status', time: '2025-05-01T00:00:00Z' },
          { operation: 'Update', subresource: 'scale', time: '2025-06-01T00:00:00Z' },
        ],
      }),
    ).toBe('2025-04-01T00:00:00Z');
    expect(lastUpdate({ name: 'a', creationTimestamp: '2025-01-01T00:00:00Z' })).toBe('2025-01-01T00:00:00Z');
  });
});
