import { Template } from 'aws-cdk-lib/assertions';
import { NvidiaDevicePlugin } from '../../../lib/platform/nvidia-device-plugin';
import { helmRelease, helmValues, importedCluster, newStack } from './fixtures';

describe('NvidiaDevicePlugin', () => {
  // GIVEN the plugin, synthesized once
  const stack = newStack();
  new NvidiaDevicePlugin(stack, 'Nvidia', { cluster: importedCluster(stack) });
  const template = Template.fromStack(stack);
  const values = helmValues(template, 'nvidia-device-plugin');

  test("NVIDIA's chart 0.20.0 in kube-system", () => {
    expect(helmRelease(template, 'nvidia-device-plugin').properties).toMatchObject({
      Chart: 'nvidia-device-plugin',
      Repository: 'https://nvidia.github.io/k8s-device-plugin',
      Version: '0.20.0',
      Namespace: 'kube-system',
    });
  });

  test('on accelerator: nvidia nodes, tolerating the nvidia.com/gpu taint', () => {
    expect(values.nodeSelector).toEqual({ accelerator: 'nvidia' });
    expect(values.tolerations).toContainEqual({ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' });
  });

  test("the chart's Node Feature Discovery affinity is replaced by the accelerator label", () => {
    expect(values.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms).toEqual([
      { matchExpressions: [{ key: 'accelerator', operator: 'In', values: ['nvidia'] }] },
    ]);
    expect(JSON.stringify(values)).not.toContain('feature.node.kubernetes.io');
  });
});
