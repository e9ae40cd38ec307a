import * as fs from 'node:fs';
import * as path from 'node:path';
import { k8s } from 'cdk8s-plus-30';
import {
  GATEWAY_PEER,
  NAMESPACE_NAME_LABEL,
  PROMETHEUS_PEER,
  apiNetworkPolicySpec,
  checkNetworkPolicyPeer,
} from '../../constructs/network-policy';
import { DEFAULT_GATEWAY_URL, DEFAULT_PROMETHEUS_URL, PROXY_ADMIN_PORT, PROXY_PORT, selectorLabels } from '../../constructs/names';
import { GATEWAY_SELECTOR, gatewayObject, gatewayValues, loadBalancerService } from '../../lib/platform/apis-gateway';
import { ISTIO_NAMESPACE } from '../../lib/platform/istio';
import { PROMETHEUS_NAMESPACE, PROMETHEUS_RELEASE, prometheusValues } from '../../lib/platform/prometheus';
import { CHARTS } from '../../lib/platform/versions';

/** The spec as Kubernetes reads it (what the chart's KubeNetworkPolicy renders). */
const json = (spec: k8s.NetworkPolicySpec) => JSON.parse(JSON.stringify(k8s.toJson_NetworkPolicySpec(spec)));

describe('apiNetworkPolicySpec', () => {
  test('GIVEN no options THEN the API pods, ingress only: the proxy port from the gateway, the admin port from Prometheus', () => {
    expect(json(apiNetworkPolicySpec('iris'))).toEqual({
      podSelector: { matchLabels: selectorLabels('iris', 'RealtimeAPI') },
      policyTypes: ['Ingress'],
      ingress: [
        {
          from: [
            {
              namespaceSelector: { matchLabels: { [NAMESPACE_NAME_LABEL]: GATEWAY_PEER.namespace } },
              podSelector: { matchLabels: GATEWAY_PEER.podLabels },
            },
          ],
          ports: [{ protocol: 'TCP', port: PROXY_PORT }],
        },
        {
          from: [
            {
              namespaceSelector: { matchLabels: { [NAMESPACE_NAME_LABEL]: PROMETHEUS_PEER.namespace } },
              podSelector: { matchLabels: PROMETHEUS_PEER.podLabels },
            },
          ],
          ports: [{ protocol: 'TCP', port: PROXY_ADMIN_PORT }],
        },
      ],
    });
  });

  test('GIVEN two scrapers THEN one admin-port rule with both sources', () => {
    const other = { namespace: 'amazon-cloudwatch', podLabels: { app: 'scraper' } };
    const spec = json(apiNetworkPolicySpec('iris', { metricsScrapers: [PROMETHEUS_PEER, other] }));
    expect(spec.ingress).toHaveLength(2);
    expect(spec.ingress[1].from.map((f: any) => f.namespaceSelector.matchLabels[NAMESPACE_NAME_LABEL])).toEqual(['prometheus', 'amazon-cloudwatch']);
  });

  test('GIVEN no scrapers THEN the admin port is in no rule', () => {
    const spec = json(apiNetworkPolicySpec('iris', { metricsScrapers: [] }));
    expect(spec.ingress).toEqual([expect.objectContaining({ ports: [{ protocol: 'TCP', port: PROXY_PORT }] })]);
  });
});

describe('checkNetworkPolicyPeer', () => {
  test.each([
    [{ namespace: 'istio-system', podLabels: { istio: 'apis-gateway' } }],
    [{ namespace: 'monitoring', podLabels: { 'app.kubernetes.io/name': 'prometheus', tier: '' } }],
    [{ namespace: 'm', podLabels: { 'example.com/role_x.y': 'A-1_b.2' } }],
  ])('GIVEN %j THEN accepted', (peer) => {
    expect(() => checkNetworkPolicyPeer('p', peer)).not.toThrow();
  });

  test.each([
    [{ namespace: 'Istio', podLabels: { a: 'b' } }, /p\.namespace \("Istio"\) must be a DNS-1123 label/],
    [{ namespace: 'x', podLabels: {} }, /p\.podLabels \(\{\}\) must name at least one label: an empty selector would let every pod of namespace "x" through/],
    [{ namespace: 'x', podLabels: { '-a': 'b' } }, /p\.podLabels key "-a" must be a Kubernetes label key/],
    [{ namespace: 'x', podLabels: { 'Example.com/a': 'b' } }, /p\.podLabels key "Example\.com\/a" must be a Kubernetes label key/],
    [{ namespace: 'x', podLabels: { ['a'.repeat(64)]: 'b' } }, /must be a Kubernetes label key/],
    [{ namespace: 'x', podLabels: { a: 'b c' } }, /p\.podLabels\["a"\] \("b c"\) must be a Kubernetes label value/],
    [{ namespace: 'x', podLabels: { a: 'b'.repeat(64) } }, /must be a Kubernetes label value/],
  ])('GIVEN %j THEN refused', (peer, message) => {
    expect(() => checkNetworkPolicyPeer('p', peer)).toThrow(message);
  });
});

/*
 * The default peers must be the pods the platform really runs: both sides read the same constants, and what the
 * charts would otherwise change (the gateway chart's labels, the Prometheus chart's names) is pinned here.
 */
describe('the default peers are the platform’s pods', () => {
  test("GATEWAY_PEER: the gateway chart's pod labels and namespace, the Gateway object's and the load balancer's selector", () => {
    expect(GATEWAY_PEER.namespace).toBe(ISTIO_NAMESPACE);
    expect(GATEWAY_PEER.podLabels).toEqual(GATEWAY_SELECTOR);
    expect(gatewayValues().labels).toEqual(GATEWAY_PEER.podLabels);
    expect((gatewayObject() as any).spec.selector).toEqual(GATEWAY_PEER.podLabels);
    expect((loadBalancerService({ internetFacing: true, loadBalancerSourceRanges: [], sslPolicy: 'p', plainHttp: true }) as any).spec.selector).toEqual(
      GATEWAY_PEER.podLabels,
    );
    expect(DEFAULT_GATEWAY_URL).toBe(`http://apis-gateway.${GATEWAY_PEER.namespace}.svc.cluster.local`);
  });

  test("PROMETHEUS_PEER: the prometheus chart's server selector labels (chart name, release, component server) in its namespace", () => {
    expect(PROMETHEUS_PEER.namespace).toBe(PROMETHEUS_NAMESPACE);
    expect(PROMETHEUS_PEER.podLabels).toEqual({
      'app.kubernetes.io/name': CHARTS.prometheus.chart,
      'app.kubernetes.io/instance': PROMETHEUS_RELEASE,
      'app.kubernetes.io/component': 'server',
    });
    // The chart derives those from its name and server.name: the platform's values change neither.
    const values = prometheusValues('2d') as any;
    expect(values.nameOverride).toBeUndefined();
    expect(values.fullnameOverride).toBeUndefined();
    expect(values.server.name).toBeUndefined();
    expect(DEFAULT_PROMETHEUS_URL).toBe(`http://${PROMETHEUS_RELEASE}-server.${PROMETHEUS_PEER.namespace}.svc.cluster.local`);
  });
});

describe('docs/kubernetes-objects.md', () => {
  const doc = fs.readFileSync(path.join(__dirname, '../../docs/kubernetes-objects.md'), 'utf8');
  const section = doc.slice(doc.indexOf('### NetworkPolicy'), doc.indexOf('### Predictor-form APIs'));

  test('THEN its NetworkPolicy section names the ports and the peers the chart renders', () => {
    expect(section).toContain(`| ${PROXY_PORT}, the proxy |`);
    expect(section).toContain(`| ${PROXY_ADMIN_PORT}, the proxy's admin port |`);
    for (const peer of [GATEWAY_PEER, PROMETHEUS_PEER]) {
      expect(section).toContain(`in namespace \`${peer.namespace}\``);
      for (const [key, value] of Object.entries(peer.podLabels)) expect(section).toContain(`\`${key}: ${value}\``);
    }
    expect(doc).toContain('| `networking.k8s.io/v1` NetworkPolicy | `<name>` |');
  });
});
