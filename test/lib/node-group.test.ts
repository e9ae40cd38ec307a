import * as cdk from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as eks from 'aws-cdk-lib/aws-eks-v2';
import { NODE_GROUP_LABEL } from '../../constructs/names';
import { CortexCluster } from '../../lib/cortex-cluster';
import { CortexValidationError } from '../../lib/errors';
import {
  NodeGroup,
  NodeGroupAccelerator,
  checkAcceleratorsPerNode,
  checkDiskSize,
  checkImdsHopLimit,
  checkInstanceFamilies,
  checkInstanceTypes,
  checkNodeGroupName,
  checkOnDemandBaseCapacity,
  checkPriority,
  checkScaling,
  defaultAmiType,
  devicesPerNode,
  instanceFamily,
  kubernetesTaintEffect,
} from '../../lib/node-group';

const types = (...names: string[]) => names.map((n) => new ec2.InstanceType(n));
const TEMPLATE_PREFIX = 'k8s.io/cluster-autoscaler/node-template';

describe('NodeGroup factories', () => {
  test('cpu(): Cortex defaults, AL2023 standard, only the node-group label, no taint', () => {
    const group = NodeGroup.cpu();
    expect(group).toMatchObject({
      name: 'cpu',
      accelerator: NodeGroupAccelerator.NONE,
      instanceTypes: ['m6i.xlarge'],
      amiType: eks.NodegroupAmiType.AL2023_X86_64_STANDARD,
      minSize: 1,
      maxSize: 5,
      desiredSize: 1,
      diskSize: 50,
      spot: false,
      onDemandBaseCapacity: 0,
      priority: 1,
      imdsHopLimit: 1,
    });
    expect(group.labels).toEqual({ [NODE_GROUP_LABEL]: 'cpu' });
    expect(group.taints).toEqual([]);
    expect(group.acceleratorsPerNode).toBeUndefined();
    expect(group.acceleratorResource).toBeUndefined();
  });

  test('gpu(): g5.xlarge, AL2023 NVIDIA, accelerator label, nvidia.com/gpu NoSchedule taint, 1 GPU a node', () => {
    const group = NodeGroup.gpu();
    expect(group).toMatchObject({ name: 'gpu', instanceTypes: ['g5.xlarge'], amiType: eks.NodegroupAmiType.AL2023_X86_64_NVIDIA });
    expect(group.labels).toEqual({ accelerator: 'nvidia', [NODE_GROUP_LABEL]: 'gpu' });
    expect(group.taints).toEqual([{ key: 'nvidia.com/gpu', value: 'true', effect: eks.TaintEffect.NO_SCHEDULE }]);
    expect(group.acceleratorsPerNode).toBe(1);
    expect(group.acceleratorResource).toBe('nvidia.com/gpu');
  });

  test('neuron(): inf2.xlarge, AL2023 Neuron, aws.amazon.com/neuron taint, 1 device a node', () => {
    const group = NodeGroup.neuron();
    expect(group).toMatchObject({ name: 'neuron', instanceTypes: ['inf2.xlarge'], amiType: eks.NodegroupAmiType.AL2023_X86_64_NEURON });
    expect(group.labels).toEqual({ accelerator: 'neuron', [NODE_GROUP_LABEL]: 'neuron' });
    expect(group.taints).toEqual([{ key: 'aws.amazon.com/neuron', value: 'true', effect: eks.TaintEffect.NO_SCHEDULE }]);
    expect(group.acceleratorsPerNode).toBe(1);
    expect(group.acceleratorResource).toBe('aws.amazon.com/neuron');
  });

  test('options left undefined take the defaults', () => {
    expect(NodeGroup.gpu({ name: undefined, instanceTypes: undefined, minSize: undefined })).toMatchObject({ name: 'gpu', instanceTypes: ['g5.xlarge'], minSize: 0 });
  });

  test('accelerator groups start empty (no GPU node billed until an API asks); CPU groups keep one node', () => {
    expect(NodeGroup.gpu()).toMatchObject({ minSize: 0, desiredSize: 0, maxSize: 5 });
    expect(NodeGroup.neuron()).toMatchObject({ minSize: 0, desiredSize: 0, maxSize: 5 });
    expect(NodeGroup.cpu()).toMatchObject({ minSize: 1, desiredSize: 1, maxSize: 5 });
  });

  test('a Graviton CPU group gets the arm64 AMI', () => {
    expect(NodeGroup.cpu({ instanceTypes: types('m7g.xlarge', 'c7g.2xlarge') }).amiType).toBe(eks.NodegroupAmiType.AL2023_ARM_64_STANDARD);
  });

  test('options override the defaults; extra labels and taints join the group\'s own', () => {
    const group = NodeGroup.cpu({
      name: 'batch',
      minSize: 0,
      maxSize: 10,
      desiredSize: 2,
      diskSize: 100,
      priority: 50,
      labels: { team: 'ml' },
      taints: [{ key: 'dedicated', value: 'batch', effect: eks.TaintEffect.NO_EXECUTE }, { key: 'example.com/quiet' }],
      imdsHopLimit: 2,
    });
    expect(group).toMatchObject({ name: 'batch', minSize: 0, maxSize: 10, desiredSize: 2, diskSize: 100, priority: 50, imdsHopLimit: 2 });
    expect(group.labels).toEqual({ team: 'ml', [NODE_GROUP_LABEL]: 'batch' });
    expect(group.taints).toEqual([
      { key: 'dedicated', value: 'batch', effect: eks.TaintEffect.NO_EXECUTE },
      { key: 'example.com/quiet', value: '', effect: eks.TaintEffect.NO_SCHEDULE },
    ]);
  });

  test('the largest sizes announce their device counts; the smallest count of a mix wins', () => {
    expect(NodeGroup.gpu({ instanceTypes: types('p5.48xlarge') }).acceleratorsPerNode).toBe(8);
    expect(NodeGroup.gpu({ instanceTypes: types('g5.12xlarge', 'g6.12xlarge') }).acceleratorsPerNode).toBe(4);
    expect(NodeGroup.neuron({ instanceTypes: types('inf2.48xlarge', 'inf2.24xlarge') }).acceleratorsPerNode).toBe(6);
    expect(NodeGroup.neuron({ instanceTypes: types('trn1.32xlarge') }).acceleratorsPerNode).toBe(16);
    expect(NodeGroup.neuron({ instanceTypes: types('trn2.3xlarge') }).acceleratorsPerNode).toBeUndefined();
    expect(NodeGroup.neuron({ instanceTypes: types('trn2.3xlarge'), acceleratorsPerNode: 1 }).acceleratorsPerNode).toBe(1);
  });

  test('spot groups default to priority 10, so that they scale before on-demand ones', () => {
    expect(NodeGroup.gpu({ spot: true }).priority).toBe(10);
    expect(NodeGroup.gpu({ spot: true, priority: 3 }).priority).toBe(3);
  });

  test('amiType overrides the AL2023 default (e.g. Bottlerocket)', () => {
    const group = NodeGroup.gpu({ amiType: eks.NodegroupAmiType.BOTTLEROCKET_X86_64_NVIDIA });
    expect(group.amiType).toBe(eks.NodegroupAmiType.BOTTLEROCKET_X86_64_NVIDIA);
  });

  test('custom(): any instance family, the accelerator only decides labels and taints', () => {
    const group = NodeGroup.custom({
      name: 'b200',
      instanceTypes: types('p6-b200.48xlarge'),
      amiType: eks.NodegroupAmiType.AL2023_X86_64_NVIDIA,
      accelerator: NodeGroupAccelerator.NVIDIA,
      acceleratorsPerNode: 8,
    });
    expect(group).toMatchObject({ name: 'b200', instanceTypes: ['p6-b200.48xlarge'], acceleratorsPerNode: 8 });
    expect(group.labels).toEqual({ accelerator: 'nvidia', [NODE_GROUP_LABEL]: 'b200' });
    expect(NodeGroup.custom({ name: 'x', instanceTypes: types('g4ad.xlarge'), amiType: eks.NodegroupAmiType.AL2023_X86_64_STANDARD }).accelerator).toBe(
      NodeGroupAccelerator.NONE,
    );
  });
});

describe('NodeGroup.capacityGroups', () => {
  test('an on-demand group is one EKS node group named <name>-<hash>', () => {
    const [only, ...rest] = NodeGroup.cpu().capacityGroups;
    expect(rest).toEqual([]);
    expect(only).toMatchObject({ key: 'cpu', capacityType: eks.CapacityType.ON_DEMAND, minSize: 1, maxSize: 5, desiredSize: 1 });
    expect(only.nodegroupName).toMatch(/^cpu-[0-9a-f]{8}$/);
  });

  test('a spot group with an on-demand base: a fixed on-demand group of the base, the spot group sized by the rest', () => {
    const group = NodeGroup.gpu({ spot: true, onDemandBaseCapacity: 2, minSize: 3, maxSize: 10, desiredSize: 4 });
    const [spot, base] = group.capacityGroups;
    expect(spot).toMatchObject({ key: 'gpu', capacityType: eks.CapacityType.SPOT, minSize: 1, maxSize: 8, desiredSize: 2 });
    expect(base).toMatchObject({ key: 'gpu-on-demand', capacityType: eks.CapacityType.ON_DEMAND, minSize: 2, maxSize: 2, desiredSize: 2 });
    expect(base.nodegroupName).toMatch(/^gpu-on-demand-[0-9a-f]{8}$/);
  });

  test('the spot part never goes below zero', () => {
    const [spot] = NodeGroup.gpu({ spot: true, onDemandBaseCapacity: 2, minSize: 0, maxSize: 5 }).capacityGroups;
    expect(spot).toMatchObject({ minSize: 0, maxSize: 3, desiredSize: 0 });
  });

  test('the EKS name changes with what replaces the group (instance types, AMI, capacity type), not with sizes', () => {
    const name = (group: NodeGroup) => group.capacityGroups[0].nodegroupName;
    expect(name(NodeGroup.cpu({ maxSize: 9, diskSize: 80 }))).toBe(name(NodeGroup.cpu()));
    expect(name(NodeGroup.cpu({ instanceTypes: types('m7i.xlarge') }))).not.toBe(name(NodeGroup.cpu()));
    expect(name(NodeGroup.cpu({ spot: true }))).not.toBe(name(NodeGroup.cpu()));
    expect(name(NodeGroup.cpu({ amiType: eks.NodegroupAmiType.BOTTLEROCKET_X86_64 }))).not.toBe(name(NodeGroup.cpu()));
  });
});

describe('NodeGroup.autoscalerTags', () => {
  test('GPU group: discovery tags and node-template label, taint and resource tags', () => {
    const group = NodeGroup.gpu({ labels: { team: 'ml' } });
    expect(group.autoscalerTags('prod', group.capacityGroups[0])).toEqual({
      'k8s.io/cluster-autoscaler/enabled': 'true',
      'k8s.io/cluster-autoscaler/prod': 'owned',
      [`${TEMPLATE_PREFIX}/label/team`]: 'ml',
      [`${TEMPLATE_PREFIX}/label/accelerator`]: 'nvidia',
      [`${TEMPLATE_PREFIX}/label/cortex.dev/node-group`]: 'gpu',
      [`${TEMPLATE_PREFIX}/label/eks.amazonaws.com/capacityType`]: 'ON_DEMAND',
      [`${TEMPLATE_PREFIX}/taint/nvidia.com/gpu`]: 'true:NoSchedule',
      [`${TEMPLATE_PREFIX}/resources/nvidia.com/gpu`]: '1',
    });
  });

  test('Neuron group: aws.amazon.com/neuron resource; spot groups say SPOT', () => {
    const group = NodeGroup.neuron({ instanceTypes: types('inf2.24xlarge'), spot: true });
    const tags = group.autoscalerTags('prod', group.capacityGroups[0]);
    expect(tags[`${TEMPLATE_PREFIX}/resources/aws.amazon.com/neuron`]).toBe('6');
    expect(tags[`${TEMPLATE_PREFIX}/taint/aws.amazon.com/neuron`]).toBe('true:NoSchedule');
    expect(tags[`${TEMPLATE_PREFIX}/label/eks.amazonaws.com/capacityType`]).toBe('SPOT');
  });

  test('CPU group: no taint or resource tags', () => {
    const group = NodeGroup.cpu();
    const keys = Object.keys(group.autoscalerTags('prod', group.capacityGroups[0]));
    expect(keys.filter((k) => k.includes('/taint/') || k.includes('/resources/'))).toEqual([]);
  });

  test('a token cluster name is refused: tag keys cannot hold tokens', () => {
    const group = NodeGroup.cpu();
    expect(() => group.autoscalerTags(cdk.Lazy.string({ produce: () => 'x' }), group.capacityGroups[0])).toThrow(/clusterName must be known at synth time/);
  });

  test('too many labels for EKS\' 50 tags are refused when the group is made', () => {
    const labels = Object.fromEntries(Array.from({ length: 47 }, (_, i) => [`l${i}`, 'v']));
    expect(() => NodeGroup.cpu({ labels })).toThrow(/node group "cpu" needs 51 tags for the cluster-autoscaler .* more than EKS' 50/);
    expect(() => NodeGroup.cpu({ labels: Object.fromEntries(Object.entries(labels).slice(1)) })).not.toThrow();
  });

  test('a label key too long for a tag key is refused when the group is made', () => {
    const key = `${'a'.repeat(20)}.com/${'b'.repeat(63)}`;
    expect(() => NodeGroup.cpu({ labels: { [key]: 'v' } })).toThrow(/the cluster-autoscaler tag .* is longer than EKS' 128 characters/);
  });
});

describe('NodeGroup validation (one rule each)', () => {
  test.each([
    ['name not a DNS-1123 label', () => NodeGroup.cpu({ name: 'GPU_1' }), /name \("GPU_1"\) must be a DNS-1123 label of at most 40 characters/],
    ['name too long', () => NodeGroup.cpu({ name: 'a'.repeat(41) }), /must be a DNS-1123 label of at most 40/],
    ['no instance types', () => NodeGroup.cpu({ instanceTypes: [] }), /instanceTypes of node group "cpu" must hold at least one instance type, got \[\]/],
    ['malformed instance type', () => NodeGroup.cpu({ instanceTypes: types('xlarge') }), /must be EC2 instance types like "m6i.xlarge", got "xlarge"/],
    ['GPU group on a CPU family', () => NodeGroup.gpu({ instanceTypes: types('m5.large') }), /GPU node group "gpu" must be NVIDIA GPU instances \(families g4dn, g5, g6, g6e, p4d, p4de, p5, p5e, p5en\), got "m5.large"/],
    ['GPU group on a Neuron family', () => NodeGroup.gpu({ instanceTypes: types('inf2.xlarge') }), /got "inf2.xlarge": use NodeGroup.neuron\(\)/],
    ['Neuron group on a GPU family', () => NodeGroup.neuron({ instanceTypes: types('g5.xlarge') }), /Neuron node group "neuron" must be Inferentia\/Trainium instances \(families inf2, trn1, trn1n, trn2\), got "g5.xlarge": use NodeGroup.gpu\(\)/],
    ['CPU group on a GPU family', () => NodeGroup.cpu({ instanceTypes: types('g5.xlarge') }), /CPU node group "cpu" must be CPU instances, got "g5.xlarge" \(an accelerated family\): use NodeGroup.gpu\(\)/],
    ['CPU group on another accelerator', () => NodeGroup.cpu({ instanceTypes: types('g4ad.xlarge') }), /an accelerated family\): use NodeGroup.custom\(\)/],
    ['mixed architectures', () => NodeGroup.cpu({ instanceTypes: types('m6i.xlarge', 'm7g.xlarge') }), /must share one architecture, got m6i.xlarge \(x86_64\), m7g.xlarge \(arm64\)/],
    ['negative minSize', () => NodeGroup.cpu({ minSize: -1 }), /minSize of node group "cpu" must be an integer >= 0, got -1/],
    ['fractional maxSize', () => NodeGroup.cpu({ maxSize: 2.5 }), /maxSize of node group "cpu" must be an integer >= 0, got 2.5/],
    ['maxSize 0', () => NodeGroup.cpu({ minSize: 0, maxSize: 0 }), /maxSize of node group "cpu" must be >= 1, got 0/],
    ['minSize above maxSize', () => NodeGroup.cpu({ minSize: 6 }), /maxSize of node group "cpu" \(5\) must be >= minSize \(6\)/],
    ['desiredSize above maxSize', () => NodeGroup.cpu({ desiredSize: 7 }), /desiredSize of node group "cpu" \(7\) must be between minSize \(1\) and maxSize \(5\)/],
    ['desiredSize below minSize', () => NodeGroup.cpu({ minSize: 2, desiredSize: 1 }), /desiredSize of node group "cpu" \(1\) must be between minSize \(2\)/],
    ['disk too small', () => NodeGroup.cpu({ diskSize: 10 }), /diskSize of node group "cpu" must be an integer from 20 to 16384 \(GiB\), got 10/],
    ['on-demand base without spot', () => NodeGroup.gpu({ onDemandBaseCapacity: 1 }), /onDemandBaseCapacity of node group "gpu" \(1\) needs spot: true/],
    ['on-demand base filling maxSize', () => NodeGroup.gpu({ spot: true, onDemandBaseCapacity: 5 }), /onDemandBaseCapacity of node group "gpu" \(5\) must be < maxSize \(5\)/],
    ['negative on-demand base', () => NodeGroup.gpu({ spot: true, onDemandBaseCapacity: -1 }), /onDemandBaseCapacity of node group "gpu" must be an integer >= 0, got -1/],
    ['priority out of range', () => NodeGroup.cpu({ priority: 0 }), /priority of node group "cpu" must be an integer from 1 to 100, got 0/],
    ['hop limit out of range', () => NodeGroup.cpu({ imdsHopLimit: 0 }), /imdsHopLimit of node group "cpu" must be an integer from 1 to 64, got 0/],
    ['reserved label', () => NodeGroup.cpu({ labels: { [NODE_GROUP_LABEL]: 'x' } }), /labels of node group "cpu" must not set "cortex.dev\/node-group": the node group sets it/],
    ['bad label key', () => NodeGroup.cpu({ labels: { 'a b': 'x' } }), /must have Kubernetes label keys .*got "a b"/],
    ['bad label value', () => NodeGroup.cpu({ labels: { team: 'a b' } }), /the value of "team" must be at most 63 letters/],
    ['bad taint key', () => NodeGroup.cpu({ taints: [{ key: '/x' }] }), /taints of node group "cpu" must have Kubernetes keys .*got "\/x"/],
    ['taint repeating the accelerator\'s', () => NodeGroup.gpu({ taints: [{ key: 'nvidia.com/gpu' }] }), /taints of node group "gpu" hold "nvidia.com\/gpu" twice/],
    ['acceleratorsPerNode on a CPU group', () => NodeGroup.cpu({ acceleratorsPerNode: 1 }), /acceleratorsPerNode of CPU node group "cpu" must be left out, got 1/],
    ['acceleratorsPerNode 0', () => NodeGroup.gpu({ acceleratorsPerNode: 0 }), /acceleratorsPerNode of node group "gpu" must be an integer >= 1, got 0/],
  ])('%s', (_, make, message) => {
    expect(make).toThrow(CortexValidationError);
    expect(make).toThrow(message);
  });
});

describe('pure checks', () => {
  test('instanceFamily', () => {
    expect(instanceFamily('g5.xlarge')).toBe('g5');
    expect(instanceFamily('p6-b200.48xlarge')).toBe('p6-b200');
  });

  test('checkNodeGroupName', () => {
    expect(() => checkNodeGroupName('name', 'gpu-spot-1')).not.toThrow();
    expect(() => checkNodeGroupName('name', '-gpu')).toThrow(/name \("-gpu"\)/);
  });

  test('checkInstanceTypes lets tokens pass', () => {
    expect(() => checkInstanceTypes('g', [cdk.Lazy.string({ produce: () => 'x' })])).not.toThrow();
    expect(() => checkInstanceTypes('g', ['M5.large'])).toThrow(/got "M5.large"/);
  });

  test('checkInstanceFamilies accepts every listed family for its accelerator', () => {
    expect(() => checkInstanceFamilies('g', NodeGroupAccelerator.NVIDIA, ['g4dn.xlarge', 'g6e.2xlarge', 'p4de.24xlarge', 'p5en.48xlarge'])).not.toThrow();
    expect(() => checkInstanceFamilies('g', NodeGroupAccelerator.NEURON, ['inf2.xlarge', 'trn1n.32xlarge', 'trn2.48xlarge'])).not.toThrow();
    expect(() => checkInstanceFamilies('g', NodeGroupAccelerator.NONE, ['m6i.xlarge', 'c7gn.large', 'r8g.large', 't3.medium'])).not.toThrow();
    expect(() => checkInstanceFamilies('g', NodeGroupAccelerator.NONE, ['trn1.2xlarge'])).toThrow(/use NodeGroup.neuron\(\)/);
  });

  test('checkScaling', () => {
    expect(() => checkScaling('g', { minSize: 0, maxSize: 1, desiredSize: 0 })).not.toThrow();
    expect(() => checkScaling('g', { minSize: 0, maxSize: 1, desiredSize: 2 })).toThrow(/desiredSize of node group "g" \(2\)/);
  });

  test('checkDiskSize', () => {
    expect(() => checkDiskSize('g', 20)).not.toThrow();
    expect(() => checkDiskSize('g', 16385)).toThrow(/got 16385/);
    expect(() => checkDiskSize('g', 50.5)).toThrow(/got 50.5/);
  });

  test('checkOnDemandBaseCapacity', () => {
    expect(() => checkOnDemandBaseCapacity('g', { spot: true, onDemandBaseCapacity: 4, maxSize: 5 })).not.toThrow();
    expect(() => checkOnDemandBaseCapacity('g', { spot: false, onDemandBaseCapacity: 0, maxSize: 5 })).not.toThrow();
    expect(() => checkOnDemandBaseCapacity('g', { spot: true, onDemandBaseCapacity: 6, maxSize: 5 })).toThrow(/\(6\) must be < maxSize \(5\)/);
  });

  test('checkPriority, checkImdsHopLimit, checkAcceleratorsPerNode', () => {
    expect(() => checkPriority('g', 100)).not.toThrow();
    expect(() => checkPriority('g', 101)).toThrow(/got 101/);
    expect(() => checkImdsHopLimit('g', 64)).not.toThrow();
    expect(() => checkImdsHopLimit('g', 1.5)).toThrow(/got 1.5/);
    expect(() => checkAcceleratorsPerNode('g', NodeGroupAccelerator.NEURON, 2)).not.toThrow();
    expect(() => checkAcceleratorsPerNode('g', NodeGroupAccelerator.NEURON, 1.5)).toThrow(/got 1.5/);
  });

  test('defaultAmiType', () => {
    expect(defaultAmiType('g', NodeGroupAccelerator.NONE, types('t4g.medium'))).toBe(eks.NodegroupAmiType.AL2023_ARM_64_STANDARD);
    expect(defaultAmiType('g', NodeGroupAccelerator.NVIDIA, types('p5.48xlarge'))).toBe(eks.NodegroupAmiType.AL2023_X86_64_NVIDIA);
    expect(defaultAmiType('g', NodeGroupAccelerator.NEURON, types('trn1.2xlarge'))).toBe(eks.NodegroupAmiType.AL2023_X86_64_NEURON);
    expect(() => defaultAmiType('g', NodeGroupAccelerator.NEURON, types('m7g.large'))).toThrow(/Neuron AMI has no arm64 variant/);
  });

  test('devicesPerNode', () => {
    expect(devicesPerNode(NodeGroupAccelerator.NVIDIA, ['g6e.12xlarge'])).toBe(2);
    expect(devicesPerNode(NodeGroupAccelerator.NVIDIA, ['g5.xlarge', 'g5.9xlarge'])).toBeUndefined();
    expect(devicesPerNode(NodeGroupAccelerator.NONE, ['m6i.xlarge'])).toBeUndefined();
  });

  test('kubernetesTaintEffect', () => {
    expect(kubernetesTaintEffect(eks.TaintEffect.NO_SCHEDULE)).toBe('NoSchedule');
    expect(kubernetesTaintEffect(eks.TaintEffect.NO_EXECUTE)).toBe('NoExecute');
    expect(kubernetesTaintEffect(eks.TaintEffect.PREFER_NO_SCHEDULE)).toBe('PreferNoSchedule');
  });
});

describe('node groups in a synthesized cluster', () => {
  let template: Template;
  let stack: cdk.Stack;

  beforeAll(() => {
    // GIVEN a cluster with a CPU group, a Graviton group, a spot GPU group with an on-demand base and a Neuron group
    const app = new cdk.App();
    stack = new cdk.Stack(app, 'Nodes');
    new CortexCluster(stack, 'Cluster', {
      clusterName: 'cortex',
      nodeGroups: [
        NodeGroup.cpu(),
        NodeGroup.cpu({ name: 'arm', instanceTypes: types('m7g.xlarge'), minSize: 0, diskSize: 30 }),
        NodeGroup.gpu({ instanceTypes: types('g5.xlarge', 'g6.xlarge'), spot: true, onDemandBaseCapacity: 1, minSize: 0, maxSize: 4 }),
        NodeGroup.neuron({ minSize: 0, diskSize: 100, taints: [{ key: 'dedicated', value: 'inference', effect: eks.TaintEffect.NO_SCHEDULE }] }),
      ],
    });
    // WHEN synthesized
    template = Template.fromStack(stack);
  });

  const nodegroupNamed = (prefix: string) => Match.stringLikeRegexp(`^${prefix}-[0-9a-f]{8}$`);

  test('one EKS node group per group, plus the on-demand base', () => {
    template.resourceCountIs('AWS::EKS::Nodegroup', 5);
    template.resourceCountIs('AWS::EC2::LaunchTemplate', 4);
  });

  test('CPU group: AL2023 standard, m6i.xlarge, 1..5, on demand, node-group label, no taint', () => {
    template.hasResourceProperties('AWS::EKS::Nodegroup', {
      NodegroupName: nodegroupNamed('cpu'),
      AmiType: 'AL2023_x86_64_STANDARD',
      InstanceTypes: ['m6i.xlarge'],
      CapacityType: 'ON_DEMAND',
      ScalingConfig: { MinSize: 1, MaxSize: 5, DesiredSize: 1 },
      Labels: { [NODE_GROUP_LABEL]: 'cpu' },
      Taints: Match.absent(),
      DiskSize: Match.absent(),
    });
  });

  test('Graviton group: AL2023 arm64', () => {
    template.hasResourceProperties('AWS::EKS::Nodegroup', {
      NodegroupName: nodegroupNamed('arm'),
      AmiType: 'AL2023_ARM_64_STANDARD',
      InstanceTypes: ['m7g.xlarge'],
      ScalingConfig: { MinSize: 0, MaxSize: 5, DesiredSize: 0 },
    });
  });

  test('spot GPU group: SPOT, AL2023 NVIDIA, both instance types, label, taint, sizes less the base', () => {
    template.hasResourceProperties('AWS::EKS::Nodegroup', {
      NodegroupName: nodegroupNamed('gpu'),
      AmiType: 'AL2023_x86_64_NVIDIA',
      InstanceTypes: ['g5.xlarge', 'g6.xlarge'],
      CapacityType: 'SPOT',
      ScalingConfig: { MinSize: 0, MaxSize: 3, DesiredSize: 0 },
      Labels: { accelerator: 'nvidia', [NODE_GROUP_LABEL]: 'gpu' },
      Taints: [{ Key: 'nvidia.com/gpu', Value: 'true', Effect: 'NO_SCHEDULE' }],
    });
  });

  test('its on-demand base: ON_DEMAND, fixed at the base, same label and taint', () => {
    template.hasResourceProperties('AWS::EKS::Nodegroup', {
      NodegroupName: nodegroupNamed('gpu-on-demand'),
      AmiType: 'AL2023_x86_64_NVIDIA',
      CapacityType: 'ON_DEMAND',
      ScalingConfig: { MinSize: 1, MaxSize: 1, DesiredSize: 1 },
      Labels: { accelerator: 'nvidia', [NODE_GROUP_LABEL]: 'gpu' },
      Taints: [{ Key: 'nvidia.com/gpu', Value: 'true', Effect: 'NO_SCHEDULE' }],
    });
  });

  test('Neuron group: AL2023 Neuron, inf2.xlarge, neuron taint then the extra one', () => {
    template.hasResourceProperties('AWS::EKS::Nodegroup', {
      NodegroupName: nodegroupNamed('neuron'),
      AmiType: 'AL2023_x86_64_NEURON',
      InstanceTypes: ['inf2.xlarge'],
      Labels: { accelerator: 'neuron', [NODE_GROUP_LABEL]: 'neuron' },
      Taints: [
        { Key: 'aws.amazon.com/neuron', Value: 'true', Effect: 'NO_SCHEDULE' },
        { Key: 'dedicated', Value: 'inference', Effect: 'NO_SCHEDULE' },
      ],
    });
  });

  test('cluster-autoscaler tags: discovery and node-template labels, taints and resources', () => {
    template.hasResourceProperties('AWS::EKS::Nodegroup', {
      NodegroupName: nodegroupNamed('gpu'),
      Tags: {
        'k8s.io/cluster-autoscaler/enabled': 'true',
        'k8s.io/cluster-autoscaler/cortex': 'owned',
        [`${TEMPLATE_PREFIX}/label/cortex.dev/node-group`]: 'gpu',
        [`${TEMPLATE_PREFIX}/label/accelerator`]: 'nvidia',
        [`${TEMPLATE_PREFIX}/label/eks.amazonaws.com/capacityType`]: 'SPOT',
        [`${TEMPLATE_PREFIX}/taint/nvidia.com/gpu`]: 'true:NoSchedule',
        [`${TEMPLATE_PREFIX}/resources/nvidia.com/gpu`]: '1',
      },
    });
    template.hasResourceProperties('AWS::EKS::Nodegroup', {
      NodegroupName: nodegroupNamed('neuron'),
      Tags: Match.objectLike({
        'k8s.io/cluster-autoscaler/cortex': 'owned',
        [`${TEMPLATE_PREFIX}/taint/aws.amazon.com/neuron`]: 'true:NoSchedule',
        [`${TEMPLATE_PREFIX}/taint/dedicated`]: 'inference:NoSchedule',
        [`${TEMPLATE_PREFIX}/resources/aws.amazon.com/neuron`]: '1',
      }),
    });
    template.hasResourceProperties('AWS::EKS::Nodegroup', {
      NodegroupName: nodegroupNamed('cpu'),
      Tags: Match.objectLike({ 'k8s.io/cluster-autoscaler/enabled': 'true', 'k8s.io/cluster-autoscaler/cortex': 'owned' }),
    });
  });

  test('every node group uses its launch template\'s latest version (disk there, not DiskSize)', () => {
    const nodegroups = Object.values(template.findResources('AWS::EKS::Nodegroup'));
    for (const ng of nodegroups) {
      expect(ng.Properties.LaunchTemplate).toEqual({
        Id: { Ref: expect.stringMatching(/LaunchTemplate/) },
        Version: { 'Fn::GetAtt': [expect.stringMatching(/LaunchTemplate/), 'LatestVersionNumber'] },
      });
      expect(ng.Properties.DiskSize).toBeUndefined();
    }
  });

  test('launch templates require IMDSv2 with a hop limit of 1 (pods get no node credentials) and give an encrypted gp3 root volume of the group\'s size', () => {
    for (const size of [50, 30, 100]) {
      template.hasResourceProperties('AWS::EC2::LaunchTemplate', {
        LaunchTemplateData: Match.objectLike({
          MetadataOptions: { HttpTokens: 'required', HttpEndpoint: 'enabled', HttpPutResponseHopLimit: 1 },
          BlockDeviceMappings: [
            { DeviceName: '/dev/xvda', Ebs: { VolumeSize: size, VolumeType: 'gp3', Encrypted: true, DeleteOnTermination: true } },
          ],
        }),
      });
    }
  });

  test('every launch template has the hop limit 1; a group that asks for 2 (pods reaching IMDS) gets 2, the others keep 1', () => {
    const limits = Object.values(template.findResources('AWS::EC2::LaunchTemplate')).map(
      (lt) => lt.Properties.LaunchTemplateData.MetadataOptions.HttpPutResponseHopLimit,
    );
    expect(limits).toEqual([1, 1, 1, 1]);

    const other = new cdk.Stack(new cdk.App(), 'Other');
    new CortexCluster(other, 'Cluster', { nodeGroups: [NodeGroup.cpu(), NodeGroup.cpu({ name: 'legacy', imdsHopLimit: 2 })] });
    const byName = Object.values(Template.fromStack(other).findResources('AWS::EC2::LaunchTemplate')).map((lt) => [
      lt.Properties.LaunchTemplateData.TagSpecifications[0].Tags.find((t: { Key: string }) => t.Key === 'Name').Value,
      lt.Properties.LaunchTemplateData.MetadataOptions.HttpPutResponseHopLimit,
    ]);
    expect(byName).toEqual([
      [expect.stringMatching(/\/cpu$/), 1],
      [expect.stringMatching(/\/legacy$/), 2],
    ]);
  });

  test('launch templates have no user data or instance type (EKS supplies them)', () => {
    for (const lt of Object.values(template.findResources('AWS::EC2::LaunchTemplate'))) {
      expect(lt.Properties.LaunchTemplateData.UserData).toBeUndefined();
      expect(lt.Properties.LaunchTemplateData.InstanceType).toBeUndefined();
      expect(lt.Properties.LaunchTemplateData.ImageId).toBeUndefined();
    }
  });

  test('instances are named after the cluster and group', () => {
    template.hasResourceProperties('AWS::EC2::LaunchTemplate', {
      LaunchTemplateData: Match.objectLike({
        TagSpecifications: Match.arrayWith([{ ResourceType: 'instance', Tags: [{ Key: 'Name', Value: 'cortex/gpu' }] }]),
      }),
    });
  });

  test('no stale Neuron device plugin manifest (the platform installs the Neuron chart)', () => {
    const manifests = Object.values(template.findResources('Custom::AWSCDK-EKS-KubernetesResource'));
    expect(manifests.map((m) => JSON.stringify(m.Properties.Manifest))).not.toContainEqual(expect.stringContaining('neuron-device-plugin'));
  });
});

describe('the root volume: type, IOPS and throughput', () => {
  test('GIVEN nothing THEN gp3 at its baseline (no IOPS or throughput in the template)', () => {
    const group = NodeGroup.cpu();
    expect([group.volumeType, group.volumeIops, group.volumeThroughput]).toEqual([ec2.EbsDeviceVolumeType.GP3, undefined, undefined]);
  });

  test('GIVEN io1 without IOPS THEN 50 per GiB, at most 3000', () => {
    expect(NodeGroup.cpu({ volumeType: ec2.EbsDeviceVolumeType.IO1, diskSize: 20 }).volumeIops).toBe(1000);
    expect(NodeGroup.cpu({ volumeType: ec2.EbsDeviceVolumeType.IO1, diskSize: 200 }).volumeIops).toBe(3000);
  });

  test.each<[string, Parameters<typeof NodeGroup.cpu>[0], string]>([
    ['st1', { volumeType: ec2.EbsDeviceVolumeType.ST1 }, 'volumeType of node group "cpu" must be one of gp3, gp2, io1, got "st1": EBS does not boot from st1, sc1 or standard volumes'],
    ['IOPS on gp2', { volumeType: ec2.EbsDeviceVolumeType.GP2, volumeIops: 3000 }, 'volumeIops of node group "cpu" applies to gp3 and io1 volumes, got 3000 with gp2'],
    ['gp3 IOPS below its baseline', { volumeIops: 2000 }, 'volumeIops of node group "cpu" must be an integer from 3000 to 16000 for gp3, got 2000'],
    ['io1 IOPS over 50 per GiB', { volumeType: ec2.EbsDeviceVolumeType.IO1, diskSize: 20, volumeIops: 2000 }, 'volumeIops of node group "cpu" (2000) must be at most 50 per GiB of io1 (1000 for 20 GiB)'],
    ['throughput on io1', { volumeType: ec2.EbsDeviceVolumeType.IO1, volumeThroughput: 200 }, 'volumeThroughput of node group "cpu" applies to gp3 volumes only, got 200 with io1'],
    ['throughput over 1000', { volumeThroughput: 1200, volumeIops: 16000, diskSize: 100 }, 'volumeThroughput of node group "cpu" must be an integer from 125 to 1000 (MiB/s), got 1200'],
    ['throughput over a quarter of the IOPS', { volumeThroughput: 1000 }, 'volumeThroughput of node group "cpu" (1000 MiB/s) must be at most a quarter of its IOPS (3000): raise volumeIops to 4000 or more'],
  ])('GIVEN %s THEN refused', (_, options, message) => {
    expect(() => NodeGroup.cpu(options)).toThrow(new CortexValidationError(message));
  });

  test('GIVEN gp3 with IOPS and throughput THEN the launch template has them', () => {
    const stack = new cdk.Stack();
    new CortexCluster(stack, 'Cluster', { nodeGroups: [NodeGroup.cpu({ volumeIops: 6000, volumeThroughput: 500 })] });
    Template.fromStack(stack).hasResourceProperties('AWS::EC2::LaunchTemplate', {
      LaunchTemplateData: Match.objectLike({
        BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { VolumeSize: 50, VolumeType: 'gp3', Iops: 6000, Throughput: 500, Encrypted: true, DeleteOnTermination: true } }],
      }),
    });
  });
});
