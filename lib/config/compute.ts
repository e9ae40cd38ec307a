/** `compute`: the resources a container asks for (a container's, or a predictor-form API's). */
import { COMPUTE_DEFAULTS, COMPUTE_LIMITS } from './defaults';
import { describeValue } from './describe-value';
import { Field } from './field';
import { readInteger, readQuantity, readSection } from './field-readers';
import { parseQuantity } from './quantity';
import { ComputeSpec } from './types';

export const COMPUTE_KEYS = ['cpu', 'mem', 'gpu', 'inf', 'shm'] as const;

const CPU_EXAMPLES = '200m, 0.5 or 2';
const MEM_EXAMPLES = '512Mi, 2G or 2.5Gi';

export function readCompute(field: Field): ComputeSpec | undefined {
  const section = readSection(field, COMPUTE_KEYS);
  if (!section) return undefined;

  const cpuField = section.get('cpu');
  // `cpu: null` asks for no CPU request at all; leaving cpu out gets the default request.
  const cpu =
    cpuField.exists && cpuField.value === null
      ? null
      : readQuantity(cpuField, { min: COMPUTE_LIMITS.minCpu, examples: CPU_EXAMPLES, default: COMPUTE_DEFAULTS.cpu });
  const mem = readQuantity(section.get('mem'), { min: COMPUTE_LIMITS.minMem, examples: MEM_EXAMPLES });
  const gpu = readInteger(section.get('gpu'), { min: 0, default: COMPUTE_DEFAULTS.gpu });
  const inf = readInteger(section.get('inf'), { min: 0, default: COMPUTE_DEFAULTS.inf });
  const shm = readShm(section.get('shm'));
  if (shm !== undefined) checkShmFitsMem(section.get('shm'), shm, mem);

  if (cpu === undefined || gpu === undefined || inf === undefined) return undefined;
  return {
    ...(cpu !== null ? { cpu } : {}),
    ...(mem !== undefined ? { mem } : {}),
    gpu,
    inf,
    ...(shm !== undefined ? { shm } : {}),
  };
}

/** The size of `/dev/shm` (a compute's `shm`, or the predictor form's `shm_size`). */
export function readShm(field: Field): string | undefined {
  return readQuantity(field, { positive: true, examples: '64Mi or 1Gi' });
}

/** `/dev/shm` is memory-backed, so it counts against the memory request and may not exceed it. */
export function checkShmFitsMem(shmField: Field, shm: string, mem: string | undefined): void {
  if (mem === undefined) return;
  const shmBytes = parseQuantity(shm);
  const memBytes = parseQuantity(mem);
  if (shmBytes !== undefined && memBytes !== undefined && shmBytes > memBytes) {
    shmField.problem(`must be <= mem (${mem}), got ${describeValue(shmField.value)}`);
  }
}

/** A compute of a pod, and how messages name its owner (`containers[1]`, or `compute`). */
export interface ComputeOwner {
  readonly label: string;
  readonly field: Field;
  readonly spec: ComputeSpec;
}

/**
 * A node has either NVIDIA GPUs or Inferentia/Trainium devices, never both, so a pod that asks for
 * both could never be scheduled. Reported once per pod, at whichever request comes second.
 */
export function checkGpuAndInf(owners: readonly ComputeOwner[]): void {
  const gpuIndex = owners.findIndex((owner) => owner.spec.gpu > 0);
  const infIndex = owners.findIndex((owner) => owner.spec.inf > 0);
  if (gpuIndex < 0 || infIndex < 0) return;
  const gpuOwner = owners[gpuIndex];
  const infOwner = owners[infIndex];
  const asks =
    gpuOwner === infOwner
      ? `${gpuOwner.label} asks for gpu ${gpuOwner.spec.gpu} and inf ${infOwner.spec.inf}`
      : `${gpuOwner.label} asks for gpu ${gpuOwner.spec.gpu}, ${infOwner.label} for inf ${infOwner.spec.inf}`;
  const reportAt = infIndex >= gpuIndex ? infOwner.field.child('inf') : gpuOwner.field.child('gpu');
  reportAt.problem(`gpu and inf cannot both be > 0 in one pod (${asks})`);
}
