import { CRITICAL_ADDONS_ONLY, NEURON_TAINT, NVIDIA_GPU_TAINT, toleration } from '../../../lib/platform/scheduling';

describe('scheduling', () => {
  test('a toleration of any value of a NoSchedule taint', () => {
    expect(toleration(NVIDIA_GPU_TAINT)).toEqual({ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' });
    expect(toleration(NEURON_TAINT)).toEqual({ key: 'aws.amazon.com/neuron', operator: 'Exists', effect: 'NoSchedule' });
    expect(CRITICAL_ADDONS_ONLY).toEqual({ key: 'CriticalAddonsOnly', operator: 'Exists' });
  });
});
