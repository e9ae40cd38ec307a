import { Template } from 'aws-cdk-lib/assertions';
import { MetricsServer } from '../../../lib/platform/metrics-server';
import { helmRelease, helmValues, importedCluster, newStack } from './fixtures';

describe('MetricsServer', () => {
  test('metrics-server 3.13.1 from kubernetes-sigs, in kube-system, chart defaults', () => {
    const stack = newStack();
    new MetricsServer(stack, 'MetricsServer', { cluster: importedCluster(stack) });
    const template = Template.fromStack(stack);
    expect(helmRelease(template, 'metrics-server').properties).toMatchObject({
      Chart: 'metrics-server',
      Repository: 'https://kubernetes-sigs.github.io/metrics-server/',
      Version: '3.13.1',
      Namespace: 'kube-system',
    });
    expect(helmValues(template, 'metrics-server')).toEqual({});
  });

  test('version and values are overridable', () => {
    const stack = newStack();
    new MetricsServer(stack, 'MetricsServer', { cluster: importedCluster(stack), version: '3.12.2', values: { replicas: 2 } });
    const template = Template.fromStack(stack);
    expect(helmRelease(template, 'metrics-server').properties.Version).toBe('3.12.2');
    expect(helmValues(template, 'metrics-server')).toEqual({ replicas: 2 });
  });
});
