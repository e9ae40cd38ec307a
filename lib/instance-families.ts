/**
 * Instance families and what they carry, without aws-cdk-lib: the node groups (lib/node-group.ts) and the
 * cluster.yaml reader that `cortex validate` runs (lib/cluster-config) share them.
 */

/** What a node group's instances carry besides CPUs: it decides the AMI, the labels and the taints. */
export enum NodeGroupAccelerator {
  /** CPU only: AL2023 standard AMI, no taint. */
  NONE = 'none',
  /** NVIDIA GPUs: AL2023 NVIDIA AMI, label `accelerator=nvidia`, taint `nvidia.com/gpu:NoSchedule`. */
  NVIDIA = 'nvidia',
  /** AWS Inferentia/Trainium: AL2023 Neuron AMI, label `accelerator=neuron`, taint `aws.amazon.com/neuron:NoSchedule`. */
  NEURON = 'neuron',
}

/** Instance families the NVIDIA AMI and the NVIDIA device plugin serve (all x86_64). */
export const NVIDIA_INSTANCE_FAMILIES: readonly string[] = ['g4dn', 'g5', 'g6', 'g6e', 'p4d', 'p4de', 'p5', 'p5e', 'p5en'];
/** Instance families the Neuron AMI and the Neuron device plugin serve (all x86_64). */
export const NEURON_INSTANCE_FAMILIES: readonly string[] = ['inf2', 'trn1', 'trn1n', 'trn2'];

/**
 * Families with accelerators of any kind (GPU `g*`/`p*`, Inferentia/Trainium, Gaudi `dl*`, FPGA `f*`,
 * video `vt*`): a CPU group on them would pay for hardware it cannot use, without the taint that keeps
 * CPU pods off it.
 */
export const ACCELERATED_FAMILY = /^(g\d|gr\d|p\d|inf\d|trn\d|dl\d|f\d|vt\d)/;

/** At most 40 characters, so that `<name>-on-demand-<8 hex>` stays within EKS' 63 for node-group names. */
export const MAX_NODE_GROUP_NAME_LENGTH = 40;

/** `g5.xlarge` → `g5`. */
export function instanceFamily(instanceType: string): string {
  return instanceType.split('.')[0];
}

/**
 * The architecture of an instance type as EC2 names it (`m7g.large` → arm64): Graviton families carry a "g"
 * after their generation (m6g, c7gn, r8gd, t4g, x2gd, im4gn), and `a1`. The same rule as aws-cdk-lib's
 * `InstanceType.architecture`. Undefined for a name of another shape.
 */
export function instanceArchitecture(instanceType: string): 'arm64' | 'x86_64' | undefined {
  const match = /^([a-z]+)(\d{1,2})([a-z-]*)\.([a-z0-9-]+)$/.exec(instanceType);
  if (!match) return undefined;
  return match[1] === 'a' || match[3].includes('g') ? 'arm64' : 'x86_64';
}
