import { Template } from 'aws-cdk-lib/assertions';
import { KedaHttpAddOn } from '../../../lib/platform/keda-http-add-on';
import { CHARTS } from '../../../lib/platform/versions';
import { helmRelease, helmValues, importedCluster, newStack } from './fixtures';

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
});
