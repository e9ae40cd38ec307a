/**
 * Where an API's pods can run, checked at synth: a GPU API on a cluster with no GPU node group, an API whose
 * `node_groups` names a group the cluster lacks, or a pod whose requests no node of its groups can hold
 * would otherwise be found by the rollout gate only, after a deploy has waited up to 30 minutes.
 *
 * The node groups are known when the cluster is a {@link CortexCluster}'s (it registers them here); for a
 * cluster made elsewhere they are not, and an API that needs particular nodes gets a synth warning instead.
 *
 * The capacity figures are lower bounds of what a node gives pods, so that the check refuses only what can
 * never fit: the instance's vCPUs and memory (the table below, from the EC2 instance type pages), less the
 * kubelet's reservations on EKS' AL2023 AMIs (CPU: 6% of the first core, 1% of the second, 0.5% of the next
 * two, 0.25% of the rest; memory: 255 MiB + 11 MiB per pod the node may hold, and the 100 MiB eviction
 * threshold) and the two DaemonSets every EKS node runs (aws-node 25m, kube-proxy 100m). Other DaemonSets
 * (the platform's log agent, device plugins) are not counted. Instance types missing from the table are not
 * checked.
 */
import * as eks from 'aws-cdk-lib/aws-eks-v2';
import { parseQuantity, type RealtimeApiSpec } from './config';
import { NodeGroup, NodeGroupAccelerator } from './node-group';

/**
 * The oldest Kubernetes the APIs' manifests run on: the Deployments' preStop hooks use the `sleep` action
 * (beta and on by default in 1.30); an older API server rejects every Deployment with
 * `unknown field "spec.template.spec.containers[0].lifecycle.preStop.sleep"`.
 */
export const MIN_KUBERNETES_MINOR = 30;

/**
 * Why a cluster of this version cannot take the APIs' manifests, or undefined when it can (or the version is
 * a token, or unknown).
 */
export function kubernetesVersionProblem(apiName: string, version: string | undefined): string | undefined {
  const match = version === undefined ? null : /^1\.(\d+)$/.exec(version);
  if (match === null || Number(match[1]) >= MIN_KUBERNETES_MINOR) return undefined;
  return (
    `API "${apiName}": the cluster runs Kubernetes ${version}, and the API's manifests need 1.${MIN_KUBERNETES_MINOR} or later ` +
    '(the preStop sleep action of its Deployment): upgrade the cluster, or set the right kubernetesVersion on its platform'
  );
}

/** What one pod of the API asks for. */
export interface PodRequests {
  /** CPU, in cores. */
  readonly cpu: number;
  /** Memory, in bytes. */
  readonly memory: number;
  readonly gpu: number;
  readonly inf: number;
}

/** An instance type's vCPUs and memory (GiB). */
interface InstanceShape {
  readonly vcpu: number;
  readonly memoryGiB: number;
}

/** The proxy sidecar's requests (constructs/proxy-sidecar.ts). */
const PROXY_CPU = 0.1;
const PROXY_MEMORY = 100 * 2 ** 20;

/** aws-node (25m) and kube-proxy (100m): on every EKS node, whatever the platform installs. */
const SYSTEM_DAEMONSETS_CPU = 0.125;
const EVICTION_THRESHOLD = 100 * 2 ** 20;

/** Accelerated instance types, by name: vCPUs and memory. */
const ACCELERATED_SHAPES: Readonly<Record<string, InstanceShape>> = {
  ...shapes('g4dn', { xlarge: [4, 16], '2xlarge': [8, 32], '4xlarge': [16, 64], '8xlarge': [32, 128], '12xlarge': [48, 192], '16xlarge': [64, 256] }),
  ...shapes('g5', { xlarge: [4, 16], '2xlarge': [8, 32], '4xlarge': [16, 64], '8xlarge': [32, 128], '12xlarge': [48, 192], '16xlarge': [64, 256], '24xlarge': [96, 384], '48xlarge': [192, 768] }),
  ...shapes('g6', { xlarge: [4, 16], '2xlarge': [8, 32], '4xlarge': [16, 64], '8xlarge': [32, 128], '12xlarge': [48, 192], '16xlarge': [64, 256], '24xlarge': [96, 384], '48xlarge': [192, 768] }),
  ...shapes('g6e', { xlarge: [4, 32], '2xlarge': [8, 64], '4xlarge': [16, 128], '8xlarge': [32, 256], '12xlarge': [48, 384], '16xlarge': [64, 512], '24xlarge': [96, 768], '48xlarge': [192, 1536] }),
  ...shapes('p4d', { '24xlarge': [96, 1152] }),
  ...shapes('p4de', { '24xlarge': [96, 1152] }),
  ...shapes('p5', { '4xlarge': [16, 256], '48xlarge': [192, 2048] }),
  ...shapes('p5e', { '48xlarge': [192, 2048] }),
  ...shapes('p5en', { '48xlarge': [192, 2048] }),
  ...shapes('inf2', { xlarge: [4, 16], '8xlarge': [32, 128], '24xlarge': [96, 384], '48xlarge': [192, 768] }),
  ...shapes('trn1', { '2xlarge': [8, 32], '32xlarge': [128, 512] }),
  ...shapes('trn1n', { '32xlarge': [128, 512] }),
  ...shapes('trn2', { '48xlarge': [192, 2048] }),
};

function shapes(family: string, bySize: Record<string, [number, number]>): Record<string, InstanceShape> {
  return Object.fromEntries(Object.entries(bySize).map(([size, [vcpu, memoryGiB]]) => [`${family}.${size}`, { vcpu, memoryGiB }]));
}

/**
 * General purpose (m), compute (c) and memory (r) families of the 5th generation on (m5, m6i, m7g, c7a,
 * r8g...): 4, 2 or 8 GiB per vCPU, and sizes named by their vCPUs (`large` 2, `Nxlarge` 4·N).
 */
const STANDARD_FAMILY = /^([mcr])([5-8])([a-z]*)$/;
const GIB_PER_VCPU: Readonly<Record<string, number>> = { m: 4, c: 2, r: 8 };

/** The vCPUs and memory of an instance type, when known. */
export function instanceShape(instanceType: string): InstanceShape | undefined {
  const known = ACCELERATED_SHAPES[instanceType];
  if (known) return known;
  const [family, size] = instanceType.split('.');
  const standard = STANDARD_FAMILY.exec(family ?? '');
  // Variants with other ratios (m5zn, r7iz, x8g...) or local NVMe sizes keep the ratio; `flex` and `metal` sizes vary.
  if (!standard || /(z|flex)/.test(standard[3]) || size === undefined) return undefined;
  const vcpu = size === 'large' ? 2 : size === 'xlarge' ? 4 : /^\d+xlarge$/.test(size) ? 4 * Number(size.slice(0, -6)) : undefined;
  if (vcpu === undefined) return undefined;
  return { vcpu, memoryGiB: vcpu * GIB_PER_VCPU[standard[1]] };
}

/** The pods a node may hold by the VPC CNI's default: fewer on small nodes; 110 from 8 vCPUs (the lower bound of reservations). */
function maxPods(vcpu: number): number {
  if (vcpu <= 2) return 29;
  if (vcpu <= 4) return 58;
  return 110;
}

/** What pods may request on a node of this shape (CPU in cores, memory in bytes), after the kubelet's reservations. */
export function allocatable(shape: InstanceShape): { cpu: number; memory: number } {
  const cores = shape.vcpu;
  const reservedCpu =
    0.06 * Math.min(cores, 1) + 0.01 * clamp(cores - 1, 0, 1) + 0.005 * clamp(cores - 2, 0, 2) + 0.0025 * Math.max(cores - 4, 0);
  const reservedMemory = (255 + 11 * maxPods(cores)) * 2 ** 20 + EVICTION_THRESHOLD;
  return {
    cpu: cores - reservedCpu - SYSTEM_DAEMONSETS_CPU,
    memory: shape.memoryGiB * 2 ** 30 - reservedMemory,
  };
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(Math.max(value, min), max);
}

/** The requests of one pod of the API: its containers' and the proxy sidecar's. */
export function podRequests(api: RealtimeApiSpec): PodRequests {
  let cpu = PROXY_CPU;
  let memory = PROXY_MEMORY;
  let gpu = 0;
  let inf = 0;
  for (const { compute } of api.pod.containers) {
    cpu += compute.cpu === undefined ? 0 : parseQuantity(compute.cpu) ?? 0;
    memory += compute.mem === undefined ? 0 : parseQuantity(compute.mem) ?? 0;
    gpu += compute.gpu;
    inf += compute.inf;
  }
  return { cpu, memory, gpu, inf };
}

const registered = new WeakMap<eks.ICluster, () => readonly NodeGroup[]>();

/** Makes a cluster's node groups known to the APIs placed on it (CortexCluster does this). */
export function registerNodeGroups(cluster: eks.ICluster, groups: () => readonly NodeGroup[]): void {
  registered.set(cluster, groups);
}

/** The node groups of a cluster, when a {@link CortexCluster} made it; undefined for a cluster made elsewhere. */
export function knownNodeGroups(cluster: eks.ICluster): readonly NodeGroup[] | undefined {
  return registered.get(cluster)?.();
}

const ACCELERATOR_NAMES: Readonly<Record<NodeGroupAccelerator, string>> = {
  [NodeGroupAccelerator.NONE]: 'CPU',
  [NodeGroupAccelerator.NVIDIA]: 'NVIDIA GPU',
  [NodeGroupAccelerator.NEURON]: 'Inferentia/Trainium',
};

const FACTORIES: Readonly<Record<NodeGroupAccelerator, string>> = {
  [NodeGroupAccelerator.NONE]: 'NodeGroup.cpu()',
  [NodeGroupAccelerator.NVIDIA]: 'NodeGroup.gpu()',
  [NodeGroupAccelerator.NEURON]: 'NodeGroup.neuron()',
};

function gib(bytes: number): string {
  return `${(bytes / 2 ** 30).toFixed(2).replace(/\.?0+$/, '')} GiB`;
}

function cores(cpu: number): string {
  return String(Math.round(cpu * 1000) / 1000);
}

/**
 * Why the API's pods cannot run on these node groups, one line per problem (none: they can, or it cannot
 * be known). Each line names the API, the field, the value and what would fit.
 */
export function placementProblems(api: RealtimeApiSpec, groups: readonly NodeGroup[]): string[] {
  // Specs built in code (`<props>`) have no line to point at.
  const where = api.source.line > 0 ? `API "${api.name}" (${api.source.file}:${api.source.line})` : `API "${api.name}"`;
  const names = groups.map((g) => g.name);
  const unknown = (api.nodeGroups ?? []).filter((name) => !names.includes(name));
  if (unknown.length > 0) {
    return [
      `${where}: node_groups names ${unknown.map((n) => JSON.stringify(n)).join(', ')}, which the cluster does not have; ` +
        `its node groups are ${names.map((n) => JSON.stringify(n)).join(', ')}`,
    ];
  }
  const requests = podRequests(api);
  const accelerator =
    requests.gpu > 0 ? NodeGroupAccelerator.NVIDIA : requests.inf > 0 ? NodeGroupAccelerator.NEURON : NodeGroupAccelerator.NONE;
  const allowed = api.nodeGroups === undefined ? groups : groups.filter((g) => api.nodeGroups!.includes(g.name));
  const candidates = allowed.filter((g) => g.accelerator === accelerator);
  const field = requests.gpu > 0 ? `compute.gpu (${requests.gpu})` : requests.inf > 0 ? `compute.inf (${requests.inf})` : undefined;
  if (candidates.length === 0) {
    const among = api.nodeGroups === undefined ? 'the cluster has' : `node_groups (${api.nodeGroups.join(', ')}) names`;
    const what = field === undefined ? 'its pods need a CPU node group' : `${field} needs an ${ACCELERATOR_NAMES[accelerator]} node group`;
    return [`${where}: ${what}, and ${among} none; add one (${FACTORIES[accelerator]}) or change the API's compute`];
  }
  const shapes = candidates.flatMap((g) => g.instanceTypes.map((type) => ({ type, shape: instanceShape(type), devices: g.acceleratorsPerNode })));
  // An instance type we do not know might hold the pod: nothing to say then.
  if (shapes.some((s) => s.shape === undefined)) return [];
  const fits = shapes.filter(({ shape, devices }) => {
    const free = allocatable(shape!);
    const accelerators = requests.gpu > 0 ? requests.gpu : requests.inf;
    return free.cpu >= requests.cpu && free.memory >= requests.memory && (accelerators === 0 || (devices ?? 0) >= accelerators);
  });
  if (fits.length > 0) return [];
  const largest = shapes
    .map(({ type, shape, devices }) => ({ type, devices, ...allocatable(shape!) }))
    .sort((a, b) => b.memory - a.memory || b.cpu - a.cpu)[0];
  const devices = field === undefined ? '' : `, ${largest.devices ?? 0} ${requests.gpu > 0 ? 'GPU' : 'Neuron device'}(s)`;
  const asked = `${cores(requests.cpu)} CPU, ${gib(requests.memory)}${field === undefined ? '' : `, ${requests.gpu || requests.inf} ${requests.gpu > 0 ? 'GPU' : 'Neuron device'}(s)`}`;
  return [
    `${where}: a pod requests ${asked} (compute of its containers plus the proxy sidecar's 100m CPU and 100Mi), ` +
      `more than any node of its ${ACCELERATOR_NAMES[accelerator]} node groups (${candidates.map((g) => g.name).join(', ')}) can give pods: ` +
      `the largest, ${largest.type}, has about ${cores(largest.cpu)} CPU, ${gib(largest.memory)}${devices} for pods; ` +
      'lower the API\'s compute or add larger instance types',
  ];
}

/**
 * Whether an API on a cluster of unknown node groups needs something particular of its nodes: then its
 * placement cannot be checked at synth, and the user should know.
 */
export function placementUnchecked(api: RealtimeApiSpec): string | undefined {
  const requests = podRequests(api);
  const needs = [
    requests.gpu > 0 ? `compute.gpu ${requests.gpu}` : undefined,
    requests.inf > 0 ? `compute.inf ${requests.inf}` : undefined,
    api.nodeGroups !== undefined ? `node_groups ${api.nodeGroups.join(', ')}` : undefined,
  ].filter((n) => n !== undefined);
  if (needs.length === 0) return undefined;
  return (
    `API "${api.name}" needs particular nodes (${needs.join('; ')}), and the cluster's node groups are not known at synth ` +
    '(it is not a CortexCluster): make sure a node group with them exists, or the rollout gate will fail the deploy'
  );
}
