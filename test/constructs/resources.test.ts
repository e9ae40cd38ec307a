import { k8s } from 'cdk8s-plus-30';
import {
  GPU_RESOURCE,
  NEURON_RESOURCE,
  acceleratorTolerations,
  containerResources,
  needsGpu,
  needsNeuron,
  progressDeadlineSeconds,
} from '../../constructs/resources';
import { compute } from './fixtures';

function rendered(requirements: k8s.ResourceRequirements | undefined): unknown {
  return requirements && k8s.toJson_ResourceRequirements(requirements);
}

describe('resources', () => {
  test('GIVEN cpu and mem THEN cpu is requested, memory requested and limited alike', () => {
    expect(rendered(containerResources(compute({ cpu: '500m', mem: '1Gi' })))).toEqual({
      requests: { cpu: '500m', memory: '1Gi' },
      limits: { memory: '1Gi' },
    });
  });

  test('GIVEN only cpu THEN no limits at all', () => {
    expect(rendered(containerResources(compute({ cpu: '1' })))).toEqual({ requests: { cpu: '1' } });
  });

  test('GIVEN gpu and inf THEN extended-resource limits', () => {
    expect(rendered(containerResources(compute({ cpu: undefined, gpu: 2, inf: 1 })))).toEqual({
      limits: { [GPU_RESOURCE]: 2, [NEURON_RESOURCE]: 1 },
    });
  });

  test('GIVEN nothing THEN undefined (no defaults of ours or of cdk8s-plus)', () => {
    expect(containerResources(compute({ cpu: undefined }))).toBeUndefined();
  });

  test('tolerations follow the accelerators asked for, across containers', () => {
    expect(acceleratorTolerations([compute()])).toEqual([]);
    expect(acceleratorTolerations([compute(), compute({ gpu: 1 })])).toEqual([
      { key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' },
    ]);
    expect(acceleratorTolerations([compute({ inf: 1 }), compute({ gpu: 1 })])).toEqual([
      { key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' },
      { key: 'aws.amazon.com/neuron', operator: 'Exists', effect: 'NoSchedule' },
    ]);
  });

  test('needsGpu / needsNeuron look at every container', () => {
    expect(needsGpu([compute(), compute({ gpu: 1 })])).toBe(true);
    expect(needsNeuron([compute(), compute({ gpu: 1 })])).toBe(false);
    expect(needsNeuron([compute({ inf: 4 })])).toBe(true);
  });

  test('GIVEN an accelerator in any container THEN a 30-minute progress deadline; GIVEN none THEN Kubernetes default', () => {
    expect(progressDeadlineSeconds([compute()])).toBeUndefined();
    expect(progressDeadlineSeconds([compute(), compute({ gpu: 1 })])).toBe(1800);
    expect(progressDeadlineSeconds([compute({ inf: 1 })])).toBe(1800);
  });
});
