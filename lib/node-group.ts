import { createHash } from 'node:crypto';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as eks from 'aws-cdk-lib/aws-eks-v2';
import { Token } from 'aws-cdk-lib';
import { NODE_GROUP_LABEL } from '../constructs/names';
import { GPU_RESOURCE, GPU_TAINT_KEY, NEURON_RESOURCE, NEURON_TAINT_KEY } from '../constructs/resources';
import { CortexValidationError } from './errors';
import {
  ACCELERATED_FAMILY,
  instanceFamily,
  MAX_NODE_GROUP_NAME_LENGTH,
  NEURON_INSTANCE_FAMILIES,
  NodeGroupAccelerator,
  NVIDIA_INSTANCE_FAMILIES,
} from './instance-families';

// Defined without aws-cdk-lib, so that `cortex validate` can check a cluster.yaml's node groups without loading it.
export { instanceFamily, MAX_NODE_GROUP_NAME_LENGTH, NEURON_INSTANCE_FAMILIES, NodeGroupAccelerator, NVIDIA_INSTANCE_FAMILIES };


/** Node label naming the accelerator vendor of a GPU or Neuron group (`nvidia` / `neuron`). */
export const ACCELERATOR_LABEL = 'accelerator';


/**
 * Devices per instance (`nvidia.com/gpu` or `aws.amazon.com/neuron`) of the sizes of the supported
 * families, for the cluster-autoscaler's `node-template/resources` tag (scale from zero).
 */
const DEVICES_PER_INSTANCE: Readonly<Record<string, number>> = {
  ...sizes('g4dn', { xlarge: 1, '2xlarge': 1, '4xlarge': 1, '8xlarge': 1, '16xlarge': 1, '12xlarge': 4, metal: 8 }),
  ...sizes('g5', { xlarge: 1, '2xlarge': 1, '4xlarge': 1, '8xlarge': 1, '16xlarge': 1, '12xlarge': 4, '24xlarge': 4, '48xlarge': 8 }),
  ...sizes('g6', { xlarge: 1, '2xlarge': 1, '4xlarge': 1, '8xlarge': 1, '16xlarge': 1, '12xlarge': 4, '24xlarge': 4, '48xlarge': 8 }),
  ...sizes('g6e', { xlarge: 1, '2xlarge': 1, '4xlarge': 1, '8xlarge': 1, '16xlarge': 1, '12xlarge': 2, '24xlarge': 4, '48xlarge': 8 }),
  ...sizes('p4d', { '24xlarge': 8 }),
  ...sizes('p4de', { '24xlarge': 8 }),
  ...sizes('p5', { '4xlarge': 1, '48xlarge': 8 }),
  ...sizes('p5e', { '48xlarge': 8 }),
  ...sizes('p5en', { '48xlarge': 8 }),
  ...sizes('inf2', { xlarge: 1, '8xlarge': 1, '24xlarge': 6, '48xlarge': 12 }),
  ...sizes('trn1', { '2xlarge': 1, '32xlarge': 16 }),
  ...sizes('trn1n', { '32xlarge': 16 }),
  ...sizes('trn2', { '48xlarge': 16 }),
};

function sizes(family: string, counts: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(counts).map(([size, n]) => [`${family}.${size}`, n]));
}

/** Prefix of the cluster-autoscaler's node-template tags (what a node of the group will look like). */
export const NODE_TEMPLATE_TAG_PREFIX = 'k8s.io/cluster-autoscaler/node-template';
/** The cluster-autoscaler's auto-discovery tag (`--node-group-auto-discovery=asg:tag=...`). */
export const AUTOSCALER_ENABLED_TAG = 'k8s.io/cluster-autoscaler/enabled';
/** Node label EKS sets on every managed node: `ON_DEMAND` or `SPOT`. */
export const CAPACITY_TYPE_LABEL = 'eks.amazonaws.com/capacityType';

/** The most a managed node group's tags may hold (EKS' limit). */
const MAX_TAGS = 50;
const MAX_TAG_KEY_LENGTH = 128;

const DNS_1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const INSTANCE_TYPE = /^[a-z][a-z0-9-]*\.[a-z0-9-]+$/;
/** Kubernetes' qualified name, with an optional DNS-subdomain prefix (`example.com/role`). */
const LABEL_KEY = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;

/** A Kubernetes taint of a node group's nodes. */
export interface NodeGroupTaint {
  /** The taint key, e.g. `dedicated`. */
  readonly key: string;
  /**
   * The taint value.
   * @default ''
   */
  readonly value?: string;
  /**
   * What the taint does to pods that do not tolerate it.
   * @default eks.TaintEffect.NO_SCHEDULE
   */
  readonly effect?: eks.TaintEffect;
}

/** Options of {@link NodeGroup.cpu}, {@link NodeGroup.gpu} and {@link NodeGroup.neuron}. */
export interface NodeGroupOptions {
  /**
   * The node group's name: a DNS-1123 label of at most 40 characters. Nodes carry it as the label
   * `cortex.dev/node-group`, which an API's `node_groups` selects on; unique within a cluster.
   * @default - 'cpu', 'gpu' or 'neuron', after the factory
   */
  readonly name?: string;
  /**
   * The EC2 instance types, all of one architecture and (for the cluster-autoscaler's sake) of about
   * the same size; more than one widens the spot pools.
   * @default - m6i.xlarge (CPU), g5.xlarge (NVIDIA A10G), inf2.xlarge (Inferentia2)
   */
  readonly instanceTypes?: ec2.InstanceType[];
  /**
   * The fewest nodes (0 lets the group scale to zero when idle: the cluster-autoscaler adds a node when a
   * pod asks for one, which takes a few minutes for accelerator nodes).
   * @default - 1 for a CPU group (the platform's pods run there); 0 for GPU and Neuron groups, which cost
   * from about $700 a month per node and stay empty until an API asks for an accelerator
   */
  readonly minSize?: number;
  /**
   * The most nodes.
   * @default 5
   */
  readonly maxSize?: number;
  /**
   * The number of nodes at creation. CloudFormation sets it again whenever the group's scaling
   * config changes in a later deploy; in between, the cluster-autoscaler owns it.
   * @default - minSize
   */
  readonly desiredSize?: number;
  /**
   * The root volume of each node, in GiB (encrypted; `volumeType`), through the group's launch template.
   * @default 50
   */
  readonly diskSize?: number;
  /**
   * The EBS volume type of the root volume: gp3, gp2 or io1 (st1 and sc1 cannot boot an instance).
   * @default ec2.EbsDeviceVolumeType.GP3
   */
  readonly volumeType?: ec2.EbsDeviceVolumeType;
  /**
   * The root volume's provisioned IOPS: gp3 from 3000 to 16000 (at most 500 per GiB), io1 from 100 to 64000
   * (at most 50 per GiB); not for gp2.
   * @default - gp3: 3000 (its baseline); io1: 50 per GiB, at most 3000
   */
  readonly volumeIops?: number;
  /**
   * The root volume's throughput in MiB/s, gp3 only: from 125 to 1000, at most a quarter of its IOPS.
   * @default - gp3: 125 (its baseline)
   */
  readonly volumeThroughput?: number;
  /**
   * Run the group on spot instances.
   * @default false
   */
  readonly spot?: boolean;
  /**
   * With `spot`: how many of the group's nodes run on demand, always. Managed node groups have one
   * capacity type each, so these run in a second, fixed-size on-demand node group
   * (`<name>-on-demand`), with the same labels and taints; they count toward minSize and maxSize.
   * @default 0
   */
  readonly onDemandBaseCapacity?: number;
  /**
   * The group's priority for the cluster-autoscaler's priority expander (higher scales first, among
   * the groups that fit a pending pod), from 1 to 100.
   * @default - 10 for a spot group, 1 otherwise: spot scales first, on-demand is the fallback
   */
  readonly priority?: number;
  /**
   * Extra Kubernetes labels of the nodes (`cortex.dev/node-group` and `accelerator` are set by the group).
   * @default - none
   */
  readonly labels?: Record<string, string>;
  /**
   * Extra taints of the nodes (the accelerator's taint is set by the group).
   * @default - none
   */
  readonly taints?: NodeGroupTaint[];
  /**
   * The AMI type, for an AMI other than the AL2023 one the accelerator and architecture call for
   * (e.g. Bottlerocket). The instance-family rules still apply.
   * @default - AL2023_x86_64_STANDARD / AL2023_ARM_64_STANDARD (CPU, by architecture), AL2023_x86_64_NVIDIA, AL2023_x86_64_NEURON
   */
  readonly amiType?: eks.NodegroupAmiType;
  /**
   * Devices per node (`nvidia.com/gpu` or `aws.amazon.com/neuron`) announced to the cluster-autoscaler
   * for scaling from zero.
   * @default - from a table of the supported instance sizes (the smallest count among instanceTypes); none for CPU groups
   */
  readonly acceleratorsPerNode?: number;
  /**
   * The IMDSv2 response hop limit of the nodes. 1 confines the instance metadata to the node itself and to
   * host-network pods (the VPC CNI, kube-proxy, the Pod Identity agent, the CloudWatch agents): other pods can
   * take neither the node role's credentials nor the node's identity from it, and get AWS credentials only
   * through EKS Pod Identity (or IRSA). The platform passes the region to what would otherwise read it there.
   * 2 lets every pod reach it, as EKS' own launch templates do.
   * @default 1
   */
  readonly imdsHopLimit?: number;
}

/** Options of {@link NodeGroup.custom}: an escape hatch past the instance-family rules. */
export interface CustomNodeGroupOptions extends NodeGroupOptions {
  /** The node group's name. */
  readonly name: string;
  /** The instance types; not checked against the accelerator's families. */
  readonly instanceTypes: ec2.InstanceType[];
  /** The AMI type. */
  readonly amiType: eks.NodegroupAmiType;
  /**
   * The accelerator, for the labels, taints and autoscaler resource tags.
   * @default NodeGroupAccelerator.NONE
   */
  readonly accelerator?: NodeGroupAccelerator;
}

/** One EKS managed node group a {@link NodeGroup} becomes (two for a spot group with an on-demand base). */
export interface CapacityGroup {
  /** `<name>` for the group itself, `<name>-on-demand` for the on-demand base of a spot group. */
  readonly key: string;
  /**
   * The EKS node-group name: `<key>-<8 hex>`, the hex a hash of the properties whose change replaces
   * the group (AMI type, capacity type, instance types), so a replacement gets a new name.
   * Its Auto Scaling group is named `eks-<nodegroupName>-<uuid>`.
   */
  readonly nodegroupName: string;
  readonly capacityType: eks.CapacityType;
  readonly minSize: number;
  readonly maxSize: number;
  readonly desiredSize: number;
}

/** What a factory decides: the accelerator, its defaults, and whether the family rules apply. */
interface NodeGroupKind {
  readonly accelerator: NodeGroupAccelerator;
  readonly defaultName?: string;
  readonly defaultInstanceType?: string;
  readonly checkFamilies: boolean;
}

/**
 * A managed node group of a {@link CortexCluster}, as a value: what it is made of, validated when
 * made. The cluster turns it into EKS node groups (`CortexCluster.addNodeGroup`).
 *
 * ```ts
 * NodeGroup.cpu();
 * NodeGroup.gpu({ instanceTypes: [new ec2.InstanceType('g6.xlarge')], minSize: 0, spot: true, onDemandBaseCapacity: 1 });
 * NodeGroup.neuron({ name: 'inf2', maxSize: 2 });
 * ```
 */
export class NodeGroup {
  /** A CPU node group: m6i.xlarge, AL2023 (arm64 for Graviton types), no taint. */
  public static cpu(options: NodeGroupOptions = {}): NodeGroup {
    return new NodeGroup(options, { accelerator: NodeGroupAccelerator.NONE, defaultName: 'cpu', defaultInstanceType: 'm6i.xlarge', checkFamilies: true });
  }

  /** An NVIDIA GPU node group: g5.xlarge (one A10G, 24 GiB), AL2023 NVIDIA, tainted `nvidia.com/gpu`. */
  public static gpu(options: NodeGroupOptions = {}): NodeGroup {
    return new NodeGroup(options, { accelerator: NodeGroupAccelerator.NVIDIA, defaultName: 'gpu', defaultInstanceType: 'g5.xlarge', checkFamilies: true });
  }

  /** An Inferentia/Trainium node group: inf2.xlarge (one Inferentia2), AL2023 Neuron, tainted `aws.amazon.com/neuron`. */
  public static neuron(options: NodeGroupOptions = {}): NodeGroup {
    return new NodeGroup(options, { accelerator: NodeGroupAccelerator.NEURON, defaultName: 'neuron', defaultInstanceType: 'inf2.xlarge', checkFamilies: true });
  }

  /** A node group of any instance types and AMI: the accelerator only decides labels, taints and resource tags. */
  public static custom(options: CustomNodeGroupOptions): NodeGroup {
    return new NodeGroup(options, { accelerator: options.accelerator ?? NodeGroupAccelerator.NONE, checkFamilies: false });
  }

  public readonly name: string;
  public readonly accelerator: NodeGroupAccelerator;
  /** The instance types, as EC2 names (`g5.xlarge`). */
  public readonly instanceTypes: readonly string[];
  public readonly amiType: eks.NodegroupAmiType;
  public readonly minSize: number;
  public readonly maxSize: number;
  public readonly desiredSize: number;
  public readonly diskSize: number;
  public readonly volumeType: ec2.EbsDeviceVolumeType;
  /** Provisioned IOPS of the root volume (io1, or gp3 when set); undefined: EBS' baseline (gp2, gp3). */
  public readonly volumeIops?: number;
  /** Throughput of the root volume in MiB/s (gp3, when set); undefined: EBS' baseline. */
  public readonly volumeThroughput?: number;
  public readonly spot: boolean;
  public readonly onDemandBaseCapacity: number;
  public readonly priority: number;
  /** All node labels: the extra ones, `accelerator` and `cortex.dev/node-group`. */
  public readonly labels: Readonly<Record<string, string>>;
  /** All taints: the accelerator's first, then the extra ones. */
  public readonly taints: readonly Required<NodeGroupTaint>[];
  /** Devices per node announced to the cluster-autoscaler; undefined when none (CPU) or unknown. */
  public readonly acceleratorsPerNode?: number;
  public readonly imdsHopLimit: number;

  private constructor(options: NodeGroupOptions, kind: NodeGroupKind) {
    const instanceTypes = options.instanceTypes ?? (kind.defaultInstanceType ? [new ec2.InstanceType(kind.defaultInstanceType)] : []);
    this.name = options.name ?? kind.defaultName ?? '';
    this.accelerator = kind.accelerator;
    this.instanceTypes = instanceTypes.map((t) => t.toString());
    this.spot = options.spot ?? false;
    this.minSize = options.minSize ?? (kind.accelerator === NodeGroupAccelerator.NONE ? 1 : 0);
    this.maxSize = options.maxSize ?? 5;
    this.desiredSize = options.desiredSize ?? this.minSize;
    this.diskSize = options.diskSize ?? 50;
    this.volumeType = options.volumeType ?? ec2.EbsDeviceVolumeType.GP3;
    this.volumeIops = options.volumeIops ?? defaultVolumeIops(this.volumeType, this.diskSize);
    this.volumeThroughput = options.volumeThroughput;
    this.onDemandBaseCapacity = options.onDemandBaseCapacity ?? 0;
    this.priority = options.priority ?? (this.spot ? 10 : 1);
    this.imdsHopLimit = options.imdsHopLimit ?? 1;

    checkNodeGroupName('name', this.name);
    checkInstanceTypes(this.name, this.instanceTypes);
    if (kind.checkFamilies) {
      checkInstanceFamilies(this.name, this.accelerator, this.instanceTypes);
    }
    checkScaling(this.name, { minSize: this.minSize, maxSize: this.maxSize, desiredSize: this.desiredSize });
    checkDiskSize(this.name, this.diskSize);
    checkRootVolume(this.name, { volumeType: this.volumeType, diskSize: this.diskSize, iops: options.volumeIops, throughput: options.volumeThroughput });
    checkOnDemandBaseCapacity(this.name, { spot: this.spot, onDemandBaseCapacity: this.onDemandBaseCapacity, maxSize: this.maxSize });
    checkPriority(this.name, this.priority);
    checkImdsHopLimit(this.name, this.imdsHopLimit);

    this.amiType = options.amiType ?? defaultAmiType(this.name, this.accelerator, instanceTypes);
    this.labels = resolveLabels(this.name, this.accelerator, options.labels ?? {});
    this.taints = resolveTaints(this.name, this.accelerator, options.taints ?? []);
    if (options.acceleratorsPerNode !== undefined) {
      checkAcceleratorsPerNode(this.name, this.accelerator, options.acceleratorsPerNode);
    }
    this.acceleratorsPerNode = options.acceleratorsPerNode ?? devicesPerNode(this.accelerator, this.instanceTypes);
    // The tags depend on the cluster only through one key of bounded length: check EKS' limits now.
    this.autoscalerTags('cluster', this.capacityGroups[0]);
  }

  /** The extended resource the group's nodes offer (`nvidia.com/gpu`, `aws.amazon.com/neuron`), if any. */
  public get acceleratorResource(): string | undefined {
    switch (this.accelerator) {
      case NodeGroupAccelerator.NVIDIA:
        return GPU_RESOURCE;
      case NodeGroupAccelerator.NEURON:
        return NEURON_RESOURCE;
      default:
        return undefined;
    }
  }

  /**
   * The EKS managed node groups this group becomes: itself (spot or on demand) and, for a spot group
   * with an on-demand base, a fixed-size on-demand group of `onDemandBaseCapacity` nodes, with the
   * spot group's sizes reduced by as many.
   */
  public get capacityGroups(): CapacityGroup[] {
    const base = this.spot ? this.onDemandBaseCapacity : 0;
    const main: CapacityGroup = {
      key: this.name,
      nodegroupName: this.nodegroupName(this.name, this.spot ? eks.CapacityType.SPOT : eks.CapacityType.ON_DEMAND),
      capacityType: this.spot ? eks.CapacityType.SPOT : eks.CapacityType.ON_DEMAND,
      minSize: Math.max(this.minSize - base, 0),
      maxSize: this.maxSize - base,
      desiredSize: Math.max(this.desiredSize - base, 0),
    };
    if (base === 0) {
      return [main];
    }
    const key = `${this.name}-on-demand`;
    return [
      main,
      {
        key,
        nodegroupName: this.nodegroupName(key, eks.CapacityType.ON_DEMAND),
        capacityType: eks.CapacityType.ON_DEMAND,
        minSize: base,
        maxSize: base,
        desiredSize: base,
      },
    ];
  }

  /**
   * The tags of one of the group's EKS node groups: the cluster-autoscaler's auto-discovery tags and
   * its node-template tags (labels, taints, devices) for scaling from zero.
   *
   * EKS copies neither onto the node group's Auto Scaling group. The auto-discovery tags it sets on
   * the ASG itself; the cluster-autoscaler (≥ 1.24, with `eks:DescribeNodegroup`) reads the labels,
   * taints and these node-template resource tags of an empty managed group from DescribeNodegroup.
   * Older autoscalers need the node-template tags on the ASG (see docs/cluster.md).
   */
  public autoscalerTags(clusterName: string, capacity: CapacityGroup): Record<string, string> {
    if (Token.isUnresolved(clusterName)) {
      throw new CortexValidationError(
        `clusterName must be known at synth time for the cluster-autoscaler's tag k8s.io/cluster-autoscaler/<clusterName>, got a token`,
      );
    }
    const tags: Record<string, string> = {
      [AUTOSCALER_ENABLED_TAG]: 'true',
      [`k8s.io/cluster-autoscaler/${clusterName}`]: 'owned',
    };
    const labels = { ...this.labels, [CAPACITY_TYPE_LABEL]: capacity.capacityType };
    for (const [key, value] of Object.entries(labels)) {
      tags[`${NODE_TEMPLATE_TAG_PREFIX}/label/${key}`] = value;
    }
    for (const taint of this.taints) {
      tags[`${NODE_TEMPLATE_TAG_PREFIX}/taint/${taint.key}`] = `${taint.value}:${kubernetesTaintEffect(taint.effect)}`;
    }
    const resource = this.acceleratorResource;
    if (resource && this.acceleratorsPerNode !== undefined) {
      tags[`${NODE_TEMPLATE_TAG_PREFIX}/resources/${resource}`] = String(this.acceleratorsPerNode);
    }
    checkTags(this.name, tags);
    return tags;
  }

  private nodegroupName(key: string, capacityType: eks.CapacityType): string {
    const replacing = JSON.stringify({ amiType: this.amiType, capacityType, instanceTypes: this.instanceTypes });
    return `${key}-${createHash('sha256').update(replacing).digest('hex').slice(0, 8)}`;
  }
}

/** The EKS API's taint effect (`NO_SCHEDULE`) as Kubernetes spells it (`NoSchedule`). */
export function kubernetesTaintEffect(effect: eks.TaintEffect): string {
  switch (effect) {
    case eks.TaintEffect.NO_EXECUTE:
      return 'NoExecute';
    case eks.TaintEffect.PREFER_NO_SCHEDULE:
      return 'PreferNoSchedule';
    default:
      return 'NoSchedule';
  }
}


/** A node-group name: a DNS-1123 label of at most 40 characters. */
export function checkNodeGroupName(prop: string, name: string): void {
  if (name.length > MAX_NODE_GROUP_NAME_LENGTH || !DNS_1123_LABEL.test(name)) {
    throw new CortexValidationError(
      `${prop} (${JSON.stringify(name)}) must be a DNS-1123 label of at most ${MAX_NODE_GROUP_NAME_LENGTH} characters: ` +
        `lowercase letters, digits and "-", starting and ending with a letter or digit`,
    );
  }
}

/** At least one instance type, each spelled `family.size`. Tokens pass. */
export function checkInstanceTypes(group: string, instanceTypes: readonly string[]): void {
  if (instanceTypes.length === 0) {
    throw new CortexValidationError(`instanceTypes of node group "${group}" must hold at least one instance type, got []`);
  }
  for (const type of instanceTypes) {
    if (!Token.isUnresolved(type) && !INSTANCE_TYPE.test(type)) {
      throw new CortexValidationError(
        `instanceTypes of node group "${group}" must be EC2 instance types like "m6i.xlarge", got ${JSON.stringify(type)}`,
      );
    }
  }
}

/**
 * The instance families fit the accelerator: NVIDIA groups on NVIDIA GPU families, Neuron groups on
 * Inferentia/Trainium families, CPU groups on no accelerated family. Tokens pass.
 */
export function checkInstanceFamilies(group: string, accelerator: NodeGroupAccelerator, instanceTypes: readonly string[]): void {
  for (const type of instanceTypes) {
    if (Token.isUnresolved(type)) continue;
    const family = instanceFamily(type);
    switch (accelerator) {
      case NodeGroupAccelerator.NVIDIA:
        if (!NVIDIA_INSTANCE_FAMILIES.includes(family)) {
          throw new CortexValidationError(
            `instanceTypes of GPU node group "${group}" must be NVIDIA GPU instances (families ${NVIDIA_INSTANCE_FAMILIES.join(', ')}), ` +
              `got ${JSON.stringify(type)}` + hint(family),
          );
        }
        break;
      case NodeGroupAccelerator.NEURON:
        if (!NEURON_INSTANCE_FAMILIES.includes(family)) {
          throw new CortexValidationError(
            `instanceTypes of Neuron node group "${group}" must be Inferentia/Trainium instances (families ${NEURON_INSTANCE_FAMILIES.join(', ')}), ` +
              `got ${JSON.stringify(type)}` + hint(family),
          );
        }
        break;
      default:
        if (ACCELERATED_FAMILY.test(family)) {
          throw new CortexValidationError(
            `instanceTypes of CPU node group "${group}" must be CPU instances, got ${JSON.stringify(type)} (an accelerated family)` + hint(family),
          );
        }
    }
  }
}

function hint(family: string): string {
  if (NVIDIA_INSTANCE_FAMILIES.includes(family)) return ': use NodeGroup.gpu() for NVIDIA GPUs';
  if (NEURON_INSTANCE_FAMILIES.includes(family)) return ': use NodeGroup.neuron() for Inferentia/Trainium';
  if (ACCELERATED_FAMILY.test(family)) return ': use NodeGroup.custom() for other accelerators';
  return '';
}

/** Sizes are integers, minSize ≥ 0, maxSize ≥ 1, minSize ≤ desiredSize ≤ maxSize. Tokens pass. */
export function checkScaling(group: string, sizes: { minSize: number; maxSize: number; desiredSize: number }): void {
  for (const [prop, value] of Object.entries(sizes)) {
    if (Token.isUnresolved(value)) continue;
    if (!Number.isInteger(value) || value < 0) {
      throw new CortexValidationError(`${prop} of node group "${group}" must be an integer >= 0, got ${value}`);
    }
  }
  const { minSize, maxSize, desiredSize } = sizes;
  if (Token.isUnresolved(minSize) || Token.isUnresolved(maxSize) || Token.isUnresolved(desiredSize)) return;
  if (maxSize < 1) {
    throw new CortexValidationError(`maxSize of node group "${group}" must be >= 1, got ${maxSize}`);
  }
  if (minSize > maxSize) {
    throw new CortexValidationError(`maxSize of node group "${group}" (${maxSize}) must be >= minSize (${minSize})`);
  }
  if (desiredSize < minSize || desiredSize > maxSize) {
    throw new CortexValidationError(
      `desiredSize of node group "${group}" (${desiredSize}) must be between minSize (${minSize}) and maxSize (${maxSize})`,
    );
  }
}

/** The root volume: an integer of GiB from 20 (what the AMIs need) to 16384 (gp3's largest). */
export function checkDiskSize(group: string, diskSize: number): void {
  if (Token.isUnresolved(diskSize)) return;
  if (!Number.isInteger(diskSize) || diskSize < 20 || diskSize > 16384) {
    throw new CortexValidationError(`diskSize of node group "${group}" must be an integer from 20 to 16384 (GiB), got ${diskSize}`);
  }
}

/** Root volume types a node boots from (EBS refuses st1 and sc1 as boot volumes). */
export const ROOT_VOLUME_TYPES: readonly ec2.EbsDeviceVolumeType[] = [
  ec2.EbsDeviceVolumeType.GP3,
  ec2.EbsDeviceVolumeType.GP2,
  ec2.EbsDeviceVolumeType.IO1,
];

/**
 * io1 needs its IOPS named: 50 per GiB, at most 3000 (as Cortex did). gp3 left alone gets its baseline (3000 IOPS,
 * 125 MiB/s) from EBS, without a value in the template.
 */
function defaultVolumeIops(volumeType: ec2.EbsDeviceVolumeType, diskSize: number): number | undefined {
  if (volumeType === ec2.EbsDeviceVolumeType.IO1 && !Token.isUnresolved(diskSize)) return Math.min(diskSize * 50, 3000);
  return undefined;
}

/**
 * The root volume's type, IOPS and throughput, by EBS' rules: IOPS for gp3 (3000–16000, ≤ 500 per GiB) and io1
 * (100–64000, ≤ 50 per GiB), throughput for gp3 only (125–1000 MiB/s, ≤ IOPS / 4). Tokens pass.
 */
export function checkRootVolume(
  group: string,
  volume: { volumeType: ec2.EbsDeviceVolumeType; diskSize: number; iops?: number; throughput?: number },
): void {
  const { volumeType, diskSize, iops, throughput } = volume;
  if (!ROOT_VOLUME_TYPES.includes(volumeType)) {
    throw new CortexValidationError(
      `volumeType of node group "${group}" must be one of ${ROOT_VOLUME_TYPES.join(', ')}, got ${JSON.stringify(volumeType)}: EBS does not boot from st1, sc1 or standard volumes`,
    );
  }
  const gp3 = volumeType === ec2.EbsDeviceVolumeType.GP3;
  if (iops !== undefined && !Token.isUnresolved(iops)) {
    const [min, max, perGiB] = gp3 ? [3000, 16000, 500] : [100, 64000, 50];
    if (volumeType === ec2.EbsDeviceVolumeType.GP2) {
      throw new CortexValidationError(`volumeIops of node group "${group}" applies to gp3 and io1 volumes, got ${iops} with gp2`);
    }
    if (!Number.isInteger(iops) || iops < min || iops > max) {
      throw new CortexValidationError(`volumeIops of node group "${group}" must be an integer from ${min} to ${max} for ${volumeType}, got ${iops}`);
    }
    if (!Token.isUnresolved(diskSize) && iops > diskSize * perGiB) {
      throw new CortexValidationError(
        `volumeIops of node group "${group}" (${iops}) must be at most ${perGiB} per GiB of ${volumeType} (${diskSize * perGiB} for ${diskSize} GiB)`,
      );
    }
  }
  if (throughput !== undefined && !Token.isUnresolved(throughput)) {
    if (!gp3) {
      throw new CortexValidationError(`volumeThroughput of node group "${group}" applies to gp3 volumes only, got ${throughput} with ${volumeType}`);
    }
    if (!Number.isInteger(throughput) || throughput < 125 || throughput > 1000) {
      throw new CortexValidationError(`volumeThroughput of node group "${group}" must be an integer from 125 to 1000 (MiB/s), got ${throughput}`);
    }
    const effectiveIops = iops ?? 3000;
    if (!Token.isUnresolved(effectiveIops) && throughput * 4 > effectiveIops) {
      throw new CortexValidationError(
        `volumeThroughput of node group "${group}" (${throughput} MiB/s) must be at most a quarter of its IOPS (${effectiveIops}): raise volumeIops to ${throughput * 4} or more`,
      );
    }
  }
}

/** Only with spot; an integer ≥ 0 below maxSize, so the spot group keeps room for a node. */
export function checkOnDemandBaseCapacity(group: string, options: { spot: boolean; onDemandBaseCapacity: number; maxSize: number }): void {
  const { spot, onDemandBaseCapacity: base, maxSize } = options;
  if (Token.isUnresolved(base)) return;
  if (!Number.isInteger(base) || base < 0) {
    throw new CortexValidationError(`onDemandBaseCapacity of node group "${group}" must be an integer >= 0, got ${base}`);
  }
  if (base > 0 && !spot) {
    throw new CortexValidationError(
      `onDemandBaseCapacity of node group "${group}" (${base}) needs spot: true: an on-demand group is on demand throughout`,
    );
  }
  if (base > 0 && !Token.isUnresolved(maxSize) && base >= maxSize) {
    throw new CortexValidationError(
      `onDemandBaseCapacity of node group "${group}" (${base}) must be < maxSize (${maxSize}), so that the spot group can hold at least one node`,
    );
  }
}

/** A priority-expander priority: an integer from 1 to 100. */
export function checkPriority(group: string, priority: number): void {
  if (!Number.isInteger(priority) || priority < 1 || priority > 100) {
    throw new CortexValidationError(`priority of node group "${group}" must be an integer from 1 to 100, got ${priority}`);
  }
}

/** The IMDSv2 hop limit: an integer from 1 to 64. */
export function checkImdsHopLimit(group: string, hopLimit: number): void {
  if (!Number.isInteger(hopLimit) || hopLimit < 1 || hopLimit > 64) {
    throw new CortexValidationError(`imdsHopLimit of node group "${group}" must be an integer from 1 to 64, got ${hopLimit}`);
  }
}

/** Only accelerator groups announce devices, at least one per node. */
export function checkAcceleratorsPerNode(group: string, accelerator: NodeGroupAccelerator, count: number): void {
  if (accelerator === NodeGroupAccelerator.NONE) {
    throw new CortexValidationError(`acceleratorsPerNode of CPU node group "${group}" must be left out, got ${count}`);
  }
  if (!Number.isInteger(count) || count < 1) {
    throw new CortexValidationError(`acceleratorsPerNode of node group "${group}" must be an integer >= 1, got ${count}`);
  }
}

/**
 * The AL2023 AMI type of the accelerator and the instance types' architecture (which must be one).
 * GPU and Neuron AMIs here are x86_64, as are all their supported families.
 */
export function defaultAmiType(group: string, accelerator: NodeGroupAccelerator, instanceTypes: readonly ec2.InstanceType[]): eks.NodegroupAmiType {
  const architectures = new Set(instanceTypes.filter((t) => !Token.isUnresolved(t.toString())).map((t) => architectureOf(t)));
  if (architectures.size > 1) {
    throw new CortexValidationError(
      `instanceTypes of node group "${group}" must share one architecture, got ${instanceTypes.map((t) => `${t} (${architectureOf(t)})`).join(', ')}`,
    );
  }
  const arm64 = architectures.has(ec2.InstanceArchitecture.ARM_64);
  switch (accelerator) {
    case NodeGroupAccelerator.NVIDIA:
      return arm64 ? eks.NodegroupAmiType.AL2023_ARM_64_NVIDIA : eks.NodegroupAmiType.AL2023_X86_64_NVIDIA;
    case NodeGroupAccelerator.NEURON:
      if (arm64) {
        throw new CortexValidationError(`instanceTypes of Neuron node group "${group}" must be x86_64: the Neuron AMI has no arm64 variant`);
      }
      return eks.NodegroupAmiType.AL2023_X86_64_NEURON;
    default:
      return arm64 ? eks.NodegroupAmiType.AL2023_ARM_64_STANDARD : eks.NodegroupAmiType.AL2023_X86_64_STANDARD;
  }
}

function architectureOf(instanceType: ec2.InstanceType): ec2.InstanceArchitecture {
  try {
    return instanceType.architecture;
  } catch {
    return ec2.InstanceArchitecture.X86_64;
  }
}

/** The smallest device count among the instance types, when every one is in the table. */
export function devicesPerNode(accelerator: NodeGroupAccelerator, instanceTypes: readonly string[]): number | undefined {
  if (accelerator === NodeGroupAccelerator.NONE) return undefined;
  const counts = instanceTypes.map((t) => DEVICES_PER_INSTANCE[t]);
  if (counts.some((n) => n === undefined)) return undefined;
  return Math.min(...counts);
}

function resolveLabels(group: string, accelerator: NodeGroupAccelerator, extra: Record<string, string>): Record<string, string> {
  for (const [key, value] of Object.entries(extra)) {
    if (key === NODE_GROUP_LABEL || key === ACCELERATOR_LABEL) {
      throw new CortexValidationError(`labels of node group "${group}" must not set ${JSON.stringify(key)}: the node group sets it`);
    }
    if (key.length > 316 || !LABEL_KEY.test(key)) {
      throw new CortexValidationError(
        `labels of node group "${group}" must have Kubernetes label keys ([prefix/]name, the name at most 63 characters), got ${JSON.stringify(key)}`,
      );
    }
    if (!Token.isUnresolved(value) && !LABEL_VALUE.test(value)) {
      throw new CortexValidationError(
        `labels of node group "${group}": the value of ${JSON.stringify(key)} must be at most 63 letters, digits, "-", "_" or ".", ` +
          `starting and ending with a letter or digit, got ${JSON.stringify(value)}`,
      );
    }
  }
  const labels: Record<string, string> = { ...extra };
  if (accelerator !== NodeGroupAccelerator.NONE) {
    labels[ACCELERATOR_LABEL] = accelerator;
  }
  labels[NODE_GROUP_LABEL] = group;
  return labels;
}

function resolveTaints(group: string, accelerator: NodeGroupAccelerator, extra: readonly NodeGroupTaint[]): Required<NodeGroupTaint>[] {
  const taints: Required<NodeGroupTaint>[] = [];
  if (accelerator === NodeGroupAccelerator.NVIDIA) {
    taints.push({ key: GPU_TAINT_KEY, value: 'true', effect: eks.TaintEffect.NO_SCHEDULE });
  } else if (accelerator === NodeGroupAccelerator.NEURON) {
    taints.push({ key: NEURON_TAINT_KEY, value: 'true', effect: eks.TaintEffect.NO_SCHEDULE });
  }
  for (const taint of extra) {
    if (!LABEL_KEY.test(taint.key)) {
      throw new CortexValidationError(
        `taints of node group "${group}" must have Kubernetes keys ([prefix/]name, the name at most 63 characters), got ${JSON.stringify(taint.key)}`,
      );
    }
    const value = taint.value ?? '';
    if (!LABEL_VALUE.test(value)) {
      throw new CortexValidationError(
        `taints of node group "${group}": the value of ${JSON.stringify(taint.key)} must be at most 63 letters, digits, "-", "_" or ".", got ${JSON.stringify(value)}`,
      );
    }
    if (taints.some((t) => t.key === taint.key)) {
      throw new CortexValidationError(`taints of node group "${group}" hold ${JSON.stringify(taint.key)} twice (the accelerator's taint is set by the group)`);
    }
    taints.push({ key: taint.key, value, effect: taint.effect ?? eks.TaintEffect.NO_SCHEDULE });
  }
  return taints;
}

/** EKS takes at most 50 tags, keys of at most 128 characters. */
function checkTags(group: string, tags: Record<string, string>): void {
  const keys = Object.keys(tags);
  if (keys.length > MAX_TAGS) {
    throw new CortexValidationError(
      `node group "${group}" needs ${keys.length} tags for the cluster-autoscaler (one per label and taint), more than EKS' ${MAX_TAGS}: use fewer labels or taints`,
    );
  }
  const long = keys.find((k) => k.length > MAX_TAG_KEY_LENGTH);
  if (long) {
    throw new CortexValidationError(
      `node group "${group}": the cluster-autoscaler tag ${JSON.stringify(long)} is longer than EKS' ${MAX_TAG_KEY_LENGTH} characters: use a shorter label or taint key`,
    );
  }
}
