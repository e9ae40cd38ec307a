import { k8s } from 'cdk8s-plus-30';
import type { ComputeSpec } from '../lib/config/types';

/** Extended resource of the NVIDIA device plugin: whole GPUs. */
export const GPU_RESOURCE = 'nvidia.com/gpu';
/**
 * Extended resource of the Neuron device plugin: whole Neuron devices (all NeuronCores of each),
 * which is what Cortex's `inf` counted.
 */
export const NEURON_RESOURCE = 'aws.amazon.com/neuron';

/** The taints the platform's GPU and Neuron node groups carry (effect NoSchedule). */
export const GPU_TAINT_KEY = GPU_RESOURCE;
export const NEURON_TAINT_KEY = NEURON_RESOURCE;

/**
 * Requests and limits of a user container.
 *
 * - `cpu` is a request only: a CPU limit throttles a model server mid-request (CFS quota), which costs
 *   latency for no isolation the request does not already give.
 * - `mem` is both the request and the limit: what the container asked for is what it gets, and a
 *   leak kills this container (restart, visible as OOMKilled) rather than pushing the node into OOM.
 * - `gpu` / `inf` are extended resources: Kubernetes requires limits (requests default to them).
 * - Nothing at all when nothing is set: no cdk8s-plus default (1 CPU / 512Mi limits) is imposed.
 */
export function containerResources(compute: ComputeSpec): k8s.ResourceRequirements | undefined {
  const requests: Record<string, k8s.Quantity> = {};
  const limits: Record<string, k8s.Quantity> = {};
  if (compute.cpu !== undefined) {
    requests.cpu = k8s.Quantity.fromString(compute.cpu);
  }
  if (compute.mem !== undefined) {
    requests.memory = k8s.Quantity.fromString(compute.mem);
    limits.memory = k8s.Quantity.fromString(compute.mem);
  }
  if (compute.gpu > 0) {
    limits[GPU_RESOURCE] = k8s.Quantity.fromNumber(compute.gpu);
  }
  if (compute.inf > 0) {
    limits[NEURON_RESOURCE] = k8s.Quantity.fromNumber(compute.inf);
  }
  const hasRequests = Object.keys(requests).length > 0;
  const hasLimits = Object.keys(limits).length > 0;
  if (!hasRequests && !hasLimits) {
    return undefined;
  }
  return { requests: hasRequests ? requests : undefined, limits: hasLimits ? limits : undefined };
}

/** Whether any container asks for NVIDIA GPUs. */
export function needsGpu(computes: readonly ComputeSpec[]): boolean {
  return computes.some((c) => c.gpu > 0);
}

/** Whether any container asks for Neuron devices. */
export function needsNeuron(computes: readonly ComputeSpec[]): boolean {
  return computes.some((c) => c.inf > 0);
}

/**
 * How long a rollout of pods asking for GPUs or Neuron devices may make no progress before Kubernetes marks it
 * failed (`ProgressDeadlineExceeded`): their node groups start at zero, so a rollout first waits for the
 * cluster autoscaler's node (~3–5 minutes) and then pulls images of several GB. Kubernetes' 600 s default
 * stays for CPU-only pods. The rollout gate's default timeout matches (lib/rollout-gate.ts).
 */
export const ACCELERATOR_PROGRESS_DEADLINE_SECONDS = 1800;

/** The Deployment's `progressDeadlineSeconds`: longer for accelerator pods, else Kubernetes' default. */
export function progressDeadlineSeconds(computes: readonly ComputeSpec[]): number | undefined {
  return needsGpu(computes) || needsNeuron(computes) ? ACCELERATOR_PROGRESS_DEADLINE_SECONDS : undefined;
}

/**
 * Tolerations for the accelerator taints, only for pods that ask for the accelerator: CPU-only pods
 * stay off the expensive nodes. `Exists` matches the taint whatever its value.
 */
export function acceleratorTolerations(computes: readonly ComputeSpec[]): k8s.Toleration[] {
  const tolerations: k8s.Toleration[] = [];
  if (needsGpu(computes)) {
    tolerations.push({ key: GPU_TAINT_KEY, operator: 'Exists', effect: 'NoSchedule' });
  }
  if (needsNeuron(computes)) {
    tolerations.push({ key: NEURON_TAINT_KEY, operator: 'Exists', effect: 'NoSchedule' });
  }
  return tolerations;
}
