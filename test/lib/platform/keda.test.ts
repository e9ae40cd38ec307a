import { Template } from 'aws-cdk-lib/assertions';
import { Keda } from '../../../lib/platform/keda';
import { helmRelease, helmValues, importedCluster, newStack } from './fixtures';

describe('Keda', () => {
  test('KEDA 2.20.2 from kedacore, release keda in keda, with its CRDs, waited for', () => {
    // GIVEN
    const stack = newStack();
    // WHEN
    const keda = new Keda(stack, 'Keda', { cluster: importedCluster(stack) });
    // THEN
    const template = Template.fromStack(stack);
    expect(helmRelease(template, 'keda').properties).toMatchObject({
      Chart: 'keda',
      Repository: 'https://kedacore.github.io/charts',
      Version: '2.20.2',
      Namespace: 'keda',
      Wait: true,
    });
    expect(helmValues(template, 'keda')).toEqual({ crds: { install: true } });
    expect(keda.chart).toBeDefined();
  });

  test('values merge over ours', () => {
    const stack = newStack();
    new Keda(stack, 'Keda', { cluster: importedCluster(stack), values: { resources: { operator: { limits: { memory: '2Gi' } } } } });
    expect(helmValues(Template.fromStack(stack), 'keda')).toEqual({
      crds: { install: true },
      resources: { operator: { limits: { memory: '2Gi' } } },
    });
  });
});
