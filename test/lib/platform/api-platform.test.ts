import { Template } from 'aws-cdk-lib/assertions';
import { GATEWAY_PEER } from '../../../constructs/network-policy';
import { ApiPlatform } from '../../../lib/platform/api-platform';
import { RealtimeApi } from '../../../lib/realtime-api';
import { realtimeApi } from '../../constructs/fixtures';
import { clusterStack, logicalId, manifestsOf } from '../api-fixtures';

/** The objects of one API's manifest, on a platform described by `ApiPlatform.existing(attrs)`. */
function apiObjects(attrs: Parameters<typeof ApiPlatform.existing>[0]) {
  const { stack, cluster } = clusterStack();
  const api = new RealtimeApi(stack, 'Iris', {
    cluster,
    platform: ApiPlatform.existing(attrs),
    api: realtimeApi(),
    proxyImage: 'registry.example.com/cortex/proxy:1.0',
    rolloutGate: false,
    monitoring: false,
  });
  return manifestsOf(Template.fromStack(stack)).find((m) => m.id === logicalId(api.manifest))!.objects;
}

describe('ApiPlatform.existing: the APIs’ NetworkPolicy', () => {
  test('GIVEN no networkPolicy THEN each API gets the default one (the platform’s gateway and Prometheus)', () => {
    const policy = apiObjects({}).find((o) => o.kind === 'NetworkPolicy');
    expect(policy?.spec.ingress[0].from[0].podSelector.matchLabels).toEqual(GATEWAY_PEER.podLabels);
  });

  test('GIVEN peers of the cluster (another Prometheus) THEN the API’s NetworkPolicy lets those in', () => {
    const monitoring = { namespace: 'monitoring', podLabels: { 'app.kubernetes.io/name': 'prometheus' } };
    const policy = apiObjects({ networkPolicy: { metricsScrapers: [monitoring] } }).find((o) => o.kind === 'NetworkPolicy');
    expect(policy?.spec.ingress[1].from).toEqual([
      {
        namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } },
        podSelector: { matchLabels: monitoring.podLabels },
      },
    ]);
  });

  test('GIVEN networkPolicy: false THEN no API renders one', () => {
    expect(apiObjects({ networkPolicy: false }).some((o) => o.kind === 'NetworkPolicy')).toBe(false);
  });
});
