/**
 * How the platform's device plugins select and tolerate the accelerator node groups. The labels and
 * taints themselves are defined once, where the node groups and the API pods use them.
 */
import { GPU_TAINT_KEY, NEURON_TAINT_KEY } from '../../constructs/resources';
import { ACCELERATOR_LABEL, NodeGroupAccelerator } from '../node-group';

/** `accelerator=nvidia`: the node selector of the NVIDIA device plugin. */
export const NVIDIA_NODE_SELECTOR = { [ACCELERATOR_LABEL]: NodeGroupAccelerator.NVIDIA as string };
/** `accelerator=neuron`: the node selector of the Neuron device plugin and scheduler extension. */
export const NEURON_NODE_SELECTOR = { [ACCELERATOR_LABEL]: NodeGroupAccelerator.NEURON as string };
/** The NoSchedule taint of GPU nodes (also the NVIDIA device plugin's resource name). */
export const NVIDIA_GPU_TAINT = GPU_TAINT_KEY;
/** The NoSchedule taint of Inferentia/Trainium nodes. */
export const NEURON_TAINT = NEURON_TAINT_KEY;

/** A toleration of any value of a NoSchedule taint. */
export function toleration(key: string): { key: string; operator: 'Exists'; effect: 'NoSchedule' } {
  return { key, operator: 'Exists', effect: 'NoSchedule' };
}

/**
 * Tolerated by node daemons of Kubernetes' critical add-ons; the device plugin charts tolerate it by
 * default and we keep it when replacing their tolerations.
 */
export const CRITICAL_ADDONS_ONLY = { key: 'CriticalAddonsOnly', operator: 'Exists' } as const;
