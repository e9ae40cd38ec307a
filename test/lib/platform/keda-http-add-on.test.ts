import { Template } from 'aws-cdk-lib/assertions';
import { KedaHttpAddOn, interceptorNetworkPolicyObject } from '../../../lib/platform/keda-http-add-on';
import { CHARTS } from '../../../lib/platform/versions';
import { validateObjects } from '../../schema/validate';
import { dependsOn, helmRelease, helmValues, importedCluster, manifestObjects, manifests, newStack } from './fixtures';

describe('KedaHttpAddOn', () => {
  test('keda-add-ons-http 0.15.0 (the version of the InterceptorRoute types in constructs/imports) from kedacore, release keda-add-ons-http in keda, with its CRDs, waited for', () => {
    // GIVEN
    const stack = newStack();
    // WHEN
    const addOn = new KedaHttpAddOn(stack, 'KedaHttpAddOn', { cluster: importedCluster(stack) });
    // THEN
    const template = Template.fromStack(stack);
    expect(CHARTS.kedaHttpAddOn.version).toBe('0.15.0');
    expect(helmRelease(template, 'keda-add-ons-http').properties).toMatchObject({
      Chart: 'keda-add-ons-http',
      Repository: 'https://kedacore.github.io/charts',
      Version: '0.15.0',
      Namespace: 'keda',
      Wait: true,
    });
    expect(helmValues(template, 'keda-add-ons-http')).toEqual({
      crds: { install: true },
      interceptor: {
        replicas: { min: 2 },
        podAnnotations: { 'prometheus.io/scrape': 'true', 'prometheus.io/port': '2223' },
        responseHeaderTimeout: '0s',
      },
      scaler: { replicas: 2 },
    });
    expect(addOn.chart).toBeDefined();
  });

  test('values merge over ours; a version range is refused', () => {
    const stack = newStack();
    new KedaHttpAddOn(stack, 'KedaHttpAddOn', { cluster: importedCluster(stack), values: { interceptor: { replicas: { min: 3, max: 10 } } } });
    expect(helmValues(Template.fromStack(stack), 'keda-add-ons-http')).toMatchObject({ interceptor: { replicas: { min: 3, max: 10 } } });
    const other = newStack();
    expect(() => new KedaHttpAddOn(other, 'KedaHttpAddOn', { cluster: importedCluster(other), version: '^0.15.0' })).toThrow(
      /kedaHttpAddOn\.version \("\^0\.15\.0"\) must be an exact chart version/,
    );
  });

  test("the interceptors' NetworkPolicy: the proxy port from the gateway only (it reaches every scale-to-zero API past the gateway's JWT checks), admin from the scaler, metrics from Prometheus; schema-valid; after the chart", () => {
    const stack = newStack();
    new KedaHttpAddOn(stack, 'KedaHttpAddOn', { cluster: importedCluster(stack) });
    const template = Template.fromStack(stack);
    const [manifest] = manifests(template, '"kind":"NetworkPolicy"');
    const [policy] = manifestObjects(manifest);
    expect(policy.spec).toEqual(interceptorNetworkPolicyObject().spec);
    expect(policy.metadata).toMatchObject({ name: 'keda-add-ons-http-interceptor', namespace: 'keda' });
    expect(policy.spec.podSelector).toEqual({ matchLabels: { 'app.kubernetes.io/component': 'interceptor', 'app.kubernetes.io/name': 'http-add-on' } });
    const from = (i: number) => policy.spec.ingress[i].from.map((f: Record<string, any>) => [f.namespaceSelector.matchLabels['kubernetes.io/metadata.name'], f.podSelector.matchLabels]);
    expect(policy.spec.ingress.map((r: Record<string, any>) => r.ports[0].port)).toEqual([8080, 9090, 2223]);
    expect(from(0)).toEqual([['istio-system', { istio: 'apis-gateway' }]]);
    expect(from(1)).toEqual([['keda', { 'app.kubernetes.io/component': 'scaler', 'app.kubernetes.io/name': 'http-add-on' }]]);
    expect(from(2)[0][0]).toBe('prometheus');
    expect(dependsOn(template, manifest.logicalId, helmRelease(template, 'keda-add-ons-http').logicalId)).toBe(true);
    expect(validateObjects([policy])).toEqual([]);
  });

  test('networkPolicy false: none; a bad peer is refused at synth', () => {
    const stack = newStack();
    new KedaHttpAddOn(stack, 'KedaHttpAddOn', { cluster: importedCluster(stack), networkPolicy: false });
    expect(manifests(Template.fromStack(stack), '"kind":"NetworkPolicy"')).toEqual([]);
    expect(() => interceptorNetworkPolicyObject({ gateway: { namespace: 'istio-system', podLabels: {} } })).toThrow(/networkPolicy\.gateway\.podLabels \(\{\}\) must name at least one label/);
  });
});
