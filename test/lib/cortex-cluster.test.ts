import { KubectlV36Layer } from '@aws-cdk/lambda-layer-kubectl-v36';
import * as cdk from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as eks from 'aws-cdk-lib/aws-eks-v2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { AwsSolutionsChecks } from 'cdk-nag';
import {
  CortexCluster,
  CortexClusterProps,
  checkClusterName,
  checkKubectlLayer,
  checkNatGateways,
  checkSubnetsFit,
  kubectlLayerMinor,
  subnetMasks,
} from '../../lib/cortex-cluster';
import { CortexValidationError } from '../../lib/errors';
import { NodeGroup } from '../../lib/node-group';

function newStack(): cdk.Stack {
  return new cdk.Stack(new cdk.App(), 'Test');
}

/** An imported VPC, as a user's existing one looks to CDK. */
function existingVpc(stack: cdk.Stack): ec2.IVpc {
  return ec2.Vpc.fromVpcAttributes(stack, 'Existing', {
    vpcId: 'vpc-0123456789abcdef0',
    availabilityZones: ['us-east-1a', 'us-east-1b'],
    publicSubnetIds: ['subnet-0b00000000000001', 'subnet-0b00000000000002'],
    privateSubnetIds: ['subnet-0a00000000000001', 'subnet-0a00000000000002'],
  });
}

describe('CortexCluster with its defaults', () => {
  let stack: cdk.Stack;
  let cluster: CortexCluster;
  let template: Template;

  beforeAll(() => {
    // GIVEN nothing but a stack WHEN a CortexCluster is synthesized
    stack = newStack();
    cluster = new CortexCluster(stack, 'Cluster');
    template = Template.fromStack(stack);
  });

  test('an EKS cluster on Kubernetes 1.36 named at synth time, the main child "Resource"', () => {
    expect(cluster.node.defaultChild).toBe(cluster.cluster);
    expect(cluster.clusterName).toMatch(/^Test-Cluster-[0-9A-F]{8}$/);
    template.resourceCountIs('AWS::EKS::Cluster', 1);
    template.hasResourceProperties('AWS::EKS::Cluster', { Name: cluster.clusterName, Version: '1.36' });
  });

  test('secrets are envelope-encrypted with a new KMS key that rotates', () => {
    template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
    const [keyId] = Object.keys(template.findResources('AWS::KMS::Key'));
    template.hasResourceProperties('AWS::EKS::Cluster', {
      EncryptionConfig: [{ Provider: { KeyArn: { 'Fn::GetAtt': [keyId, 'Arn'] } }, Resources: ['secrets'] }],
    });
  });

  test('the endpoint is public and private', () => {
    template.hasResourceProperties('AWS::EKS::Cluster', {
      ResourcesVpcConfig: Match.objectLike({ EndpointPublicAccess: true, EndpointPrivateAccess: true, PublicAccessCidrs: Match.absent() }),
    });
  });

  test('api, audit and authenticator logs go to a log group made first, kept a month', () => {
    template.hasResourceProperties('AWS::EKS::Cluster', {
      Logging: { ClusterLogging: { EnabledTypes: [{ Type: 'api' }, { Type: 'audit' }, { Type: 'authenticator' }] } },
    });
    template.hasResourceProperties('AWS::Logs::LogGroup', { LogGroupName: `/aws/eks/${cluster.clusterName}/cluster`, RetentionInDays: 30 });
    const [logGroupId] = Object.keys(template.findResources('AWS::Logs::LogGroup', { Properties: { LogGroupName: Match.stringLikeRegexp('^/aws/eks/') } }));
    const [clusterResource] = Object.values(template.findResources('AWS::EKS::Cluster'));
    expect(clusterResource.DependsOn).toContain(logGroupId);
  });

  test('no default capacity and no Auto Mode: one CPU node group', () => {
    template.hasResourceProperties('AWS::EKS::Cluster', { ComputeConfig: { Enabled: false } });
    template.resourceCountIs('AWS::EKS::Nodegroup', 1);
    template.hasResourceProperties('AWS::EKS::Nodegroup', { NodegroupName: Match.stringLikeRegexp('^cpu-'), AmiType: 'AL2023_x86_64_STANDARD' });
    expect(Object.keys(cluster.nodegroups)).toEqual(['cpu']);
    expect(cluster.nodeGroups.map((g) => g.name)).toEqual(['cpu']);
  });

  test('a new VPC: public and private subnets (private /18), one NAT gateway', () => {
    template.resourceCountIs('AWS::EC2::VPC', 1);
    template.resourceCountIs('AWS::EC2::NatGateway', 1);
    // An environment-agnostic stack sees 2 availability zones (3 with an account and region).
    template.resourceCountIs('AWS::EC2::Subnet', 4);
    template.hasResourceProperties('AWS::EC2::Subnet', { CidrBlock: Match.stringLikeRegexp('/18$'), MapPublicIpOnLaunch: false });
  });

  test('subnets are tagged for load balancers', () => {
    template.hasResourceProperties('AWS::EC2::Subnet', {
      MapPublicIpOnLaunch: true,
      Tags: Match.arrayWith([{ Key: 'kubernetes.io/role/elb', Value: '1' }]),
    });
    template.hasResourceProperties('AWS::EC2::Subnet', {
      MapPublicIpOnLaunch: false,
      Tags: Match.arrayWith([{ Key: 'kubernetes.io/role/internal-elb', Value: '1' }]),
    });
  });

  test('the VPC logs rejected traffic to CloudWatch Logs, kept a month', () => {
    template.hasResourceProperties('AWS::EC2::FlowLog', { ResourceType: 'VPC', TrafficType: 'REJECT', LogDestinationType: 'cloud-watch-logs' });
    template.resourceCountIs('AWS::Logs::LogGroup', 2);
  });

  test('a kubectl provider with the kubectl 1.36 layer', () => {
    template.resourceCountIs('AWS::Lambda::LayerVersion', 2); // kubectl + AWS CLI
    const layers = template.findResources('AWS::Lambda::LayerVersion', { Properties: { Description: Match.stringLikeRegexp('kubectl') } });
    const [kubectlLayerId] = Object.keys(layers);
    template.hasResourceProperties('AWS::Lambda::Function', { Layers: Match.arrayWith([{ Ref: kubectlLayerId }]) });
  });

  test('only the deployer and the kubectl provider are administrators', () => {
    template.resourceCountIs('AWS::EKS::AccessEntry', 1);
    template.hasResourceProperties('AWS::EKS::Cluster', { AccessConfig: Match.objectLike({ AuthenticationMode: 'API' }) });
  });

  test('priorities for the cluster-autoscaler, by EKS node-group name', () => {
    expect(cluster.nodeGroupPriorities).toEqual({ [cluster.nodeGroups[0].capacityGroups[0].nodegroupName]: 1 });
  });
});

describe('CortexCluster with an existing VPC and every option', () => {
  let stack: cdk.Stack;
  let cluster: CortexCluster;
  let template: Template;
  let admin: iam.IRole;

  beforeAll(() => {
    stack = newStack();
    admin = iam.Role.fromRoleArn(stack, 'Admin', 'arn:aws:iam::123456789012:role/ops');
    cluster = new CortexCluster(stack, 'Cluster', {
      vpc: existingVpc(stack),
      clusterName: 'prod',
      version: eks.KubernetesVersion.V1_35,
      endpointAccess: eks.EndpointAccess.PUBLIC_AND_PRIVATE.onlyFrom('203.0.113.0/24'),
      secretsEncryptionKey: kms.Key.fromKeyArn(stack, 'Key', 'arn:aws:kms:us-east-1:123456789012:key/abcd'),
      adminRoles: [admin],
      clusterLogging: [eks.ClusterLoggingTypes.AUDIT],
      logRetention: logs.RetentionDays.ONE_YEAR,
      nodeGroups: [
        NodeGroup.cpu(),
        NodeGroup.gpu({ spot: true, onDemandBaseCapacity: 1, minSize: 0 }),
        NodeGroup.neuron({ minSize: 0, priority: 20 }),
      ],
    });
    cluster.addNodeGroup(NodeGroup.cpu({ name: 'cpu-spot', spot: true, minSize: 0 }));
    template = Template.fromStack(stack);
  });

  test('the cluster runs in the given VPC: no VPC, NAT gateway or flow log of its own', () => {
    expect(cluster.vpc.vpcId).toBe('vpc-0123456789abcdef0');
    template.resourceCountIs('AWS::EC2::VPC', 0);
    template.resourceCountIs('AWS::EC2::NatGateway', 0);
    template.resourceCountIs('AWS::EC2::FlowLog', 0);
    template.hasResourceProperties('AWS::EKS::Cluster', {
      ResourcesVpcConfig: Match.objectLike({ SubnetIds: ['subnet-0b00000000000001', 'subnet-0b00000000000002', 'subnet-0a00000000000001', 'subnet-0a00000000000002'] }),
    });
  });

  test('node groups go to the private subnets', () => {
    for (const ng of Object.values(template.findResources('AWS::EKS::Nodegroup'))) {
      expect(ng.Properties.Subnets).toEqual(['subnet-0a00000000000001', 'subnet-0a00000000000002']);
    }
  });

  test('name, version, restricted endpoint, given key, chosen log types', () => {
    template.hasResourceProperties('AWS::EKS::Cluster', {
      Name: 'prod',
      Version: '1.35',
      ResourcesVpcConfig: Match.objectLike({ EndpointPublicAccess: true, EndpointPrivateAccess: true, PublicAccessCidrs: ['203.0.113.0/24'] }),
      EncryptionConfig: [{ Provider: { KeyArn: 'arn:aws:kms:us-east-1:123456789012:key/abcd' }, Resources: ['secrets'] }],
      Logging: { ClusterLogging: { EnabledTypes: [{ Type: 'audit' }] } },
    });
    template.resourceCountIs('AWS::KMS::Key', 0);
    template.hasResourceProperties('AWS::Logs::LogGroup', { LogGroupName: '/aws/eks/prod/cluster', RetentionInDays: 365 });
  });

  test('admin roles get cluster-admin access entries', () => {
    template.hasResourceProperties('AWS::EKS::AccessEntry', {
      PrincipalArn: 'arn:aws:iam::123456789012:role/ops',
      AccessPolicies: [
        {
          AccessScope: { Type: 'cluster' },
          PolicyArn: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy']] },
        },
      ],
    });
  });

  test('node groups by name, the on-demand base under <name>-on-demand; addNodeGroup adds to them', () => {
    expect(Object.keys(cluster.nodegroups)).toEqual(['cpu', 'gpu', 'gpu-on-demand', 'neuron', 'cpu-spot']);
    template.resourceCountIs('AWS::EKS::Nodegroup', 5);
    template.hasResourceProperties('AWS::EKS::Nodegroup', { NodegroupName: Match.stringLikeRegexp('^cpu-spot-'), CapacityType: 'SPOT' });
  });

  test('the cluster-autoscaler tags name the cluster', () => {
    for (const ng of Object.values(template.findResources('AWS::EKS::Nodegroup'))) {
      expect(ng.Properties.Tags).toMatchObject({ 'k8s.io/cluster-autoscaler/enabled': 'true', 'k8s.io/cluster-autoscaler/prod': 'owned' });
    }
  });

  test('nodeGroupPriorities: EKS node-group name → priority (spot 10, on demand 1, or as set; bases as their group)', () => {
    const names = Object.fromEntries(cluster.nodeGroups.flatMap((g) => g.capacityGroups).map((c) => [c.key, c.nodegroupName]));
    expect(cluster.nodeGroupPriorities).toEqual({
      [names.cpu]: 1,
      [names.gpu]: 10,
      [names['gpu-on-demand']]: 10,
      [names.neuron]: 20,
      [names['cpu-spot']]: 10,
    });
    const synthesized = Object.values(template.findResources('AWS::EKS::Nodegroup')).map((ng) => ng.Properties.NodegroupName);
    expect(Object.keys(cluster.nodeGroupPriorities).sort()).toEqual(synthesized.sort());
  });

  test('a node group name taken twice is refused, on-demand bases included', () => {
    expect(() => cluster.addNodeGroup(NodeGroup.gpu())).toThrow(CortexValidationError);
    expect(() => cluster.addNodeGroup(NodeGroup.gpu())).toThrow(/node group names must be unique in a cluster: node group "gpu" is already taken/);
    expect(() => cluster.addNodeGroup(NodeGroup.cpu({ name: 'gpu-on-demand' }))).toThrow(/node group "gpu-on-demand" is already taken/);
    expect(() => cluster.addNodeGroup(NodeGroup.cpu({ name: 'neuron', spot: true, onDemandBaseCapacity: 1 }))).toThrow(/"neuron" is already taken/);
  });
});

describe('CortexCluster validation (one rule each)', () => {
  test.each<[string, (stack: cdk.Stack) => CortexClusterProps, RegExp]>([
    ['clusterName with a space', () => ({ clusterName: 'my cluster' }), /clusterName \("my cluster"\) must be 1 to 100 letters, digits, "-" and "_"/],
    ['clusterName a token', () => ({ clusterName: cdk.Lazy.string({ produce: () => 'x' }) }), /clusterName must be a literal, got a token/],
    ['natGateways 0', () => ({ natGateways: 0 }), /natGateways must be an integer from 1 to 3, got 0/],
    ['natGateways with a given VPC', (stack) => ({ vpc: existingVpc(stack), natGateways: 2 }), /natGateways \(2\) applies to the VPC the cluster creates: leave it out with vpc/],
    ['flowLogs with a given VPC', (stack) => ({ vpc: existingVpc(stack), flowLogs: false }), /flowLogs \(false\) applies to the VPC the cluster creates: leave it out with vpc/],
    ['a version the default kubectl layer does not serve', () => ({ version: eks.KubernetesVersion.V1_30 }), /kubectlLayer is required for version 1.30: .* install @aws-cdk\/lambda-layer-kubectl-v30/],
  ])('%s', (_, props, message) => {
    const construct = () => {
      const stack = newStack();
      return new CortexCluster(stack, 'Cluster', props(stack));
    };
    expect(construct).toThrow(CortexValidationError);
    expect(construct).toThrow(message);
  });

  test('a kubectl layer far from the version is refused', () => {
    const stack = newStack();
    const layer = new KubectlV36Layer(stack, 'Layer');
    expect(() => new CortexCluster(stack, 'Cluster', { version: eks.KubernetesVersion.V1_33, kubectlLayer: layer })).toThrow(
      /kubectlLayer \(KubectlV36Layer, kubectl 1.36\) does not match version \(1.33\): .* use KubectlV33Layer/,
    );
  });

  test('a layer of unknown version is trusted', () => {
    const stack = newStack();
    const layer = lambda.LayerVersion.fromLayerVersionArn(stack, 'Layer', 'arn:aws:lambda:us-east-1:123456789012:layer:kubectl:1');
    expect(() => new CortexCluster(stack, 'Cluster', { version: eks.KubernetesVersion.V1_30, kubectlLayer: layer })).not.toThrow();
  });

  test('no node group at all fails the synth', () => {
    const stack = newStack();
    new CortexCluster(stack, 'Cluster', { nodeGroups: [] });
    expect(() => Template.fromStack(stack)).toThrow(/nodeGroups: the cluster has no node group; add at least NodeGroup.cpu\(\)/);
  });

  test('no CPU node to start with fails the synth: the add-ons do not tolerate the accelerator taints', () => {
    const stack = newStack();
    new CortexCluster(stack, 'Cluster', { nodeGroups: [NodeGroup.cpu({ minSize: 0 }), NodeGroup.gpu()] });
    expect(() => Template.fromStack(stack)).toThrow(/nodeGroups must start at least one CPU node .* got 0: the platform's add-ons/);
  });
});

describe('pure checks', () => {
  test('checkClusterName', () => {
    expect(() => checkClusterName('cortex_prod-1')).not.toThrow();
    expect(() => checkClusterName('-cortex')).toThrow(/clusterName \("-cortex"\)/);
    expect(() => checkClusterName('a'.repeat(101))).toThrow(/1 to 100/);
    expect(() => checkClusterName('')).toThrow(/1 to 100/);
  });

  test('checkNatGateways', () => {
    expect(() => checkNatGateways(3)).not.toThrow();
    expect(() => checkNatGateways(4)).toThrow(/got 4/);
    expect(() => checkNatGateways(1.5)).toThrow(/got 1.5/);
  });

  test('checkKubectlLayer: within one minor version, unknown versions pass', () => {
    expect(() => checkKubectlLayer('1.36', 36)).not.toThrow();
    expect(() => checkKubectlLayer('1.35', 36)).not.toThrow();
    expect(() => checkKubectlLayer('1.37', 36)).not.toThrow();
    expect(() => checkKubectlLayer('1.34', 36)).toThrow(/does not match version \(1.34\)/);
    expect(() => checkKubectlLayer('1.34', undefined)).not.toThrow();
    expect(() => checkKubectlLayer('2.0', 36)).not.toThrow();
  });

  test('kubectlLayerMinor reads the layer class', () => {
    const stack = newStack();
    expect(kubectlLayerMinor(new KubectlV36Layer(stack, 'Layer'))).toBe(36);
    expect(kubectlLayerMinor(lambda.LayerVersion.fromLayerVersionArn(stack, 'Other', 'arn:aws:lambda:us-east-1:123456789012:layer:x:1'))).toBeUndefined();
  });
});

describe('cdk-nag AwsSolutions', () => {
  const violations = (build: (stack: cdk.Stack) => void): string[] => {
    const app = new cdk.App();
    cdk.Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    build(new cdk.Stack(app, 'Nag'));
    try {
      app.synth();
      return [];
    } catch (e) {
      return [String(e)];
    }
  };

  test('a cluster with CPU, spot GPU and Neuron groups has no unacknowledged finding', () => {
    expect(
      violations((stack) => {
        new CortexCluster(stack, 'Cluster', {
          nodeGroups: [NodeGroup.cpu(), NodeGroup.gpu({ spot: true, onDemandBaseCapacity: 1, minSize: 0 }), NodeGroup.neuron({ minSize: 0 })],
        });
      }),
    ).toEqual([]);
  });

  test('without flow logs, the choice is acknowledged', () => {
    expect(violations((stack) => new CortexCluster(stack, 'Cluster', { flowLogs: false, natGateways: 2 }))).toEqual([]);
  });
});

describe('the new VPC: vpcCidr and availabilityZones', () => {
  test('GIVEN a /20 over two zones THEN that block, those zones, subnets sized to fit, a NAT gateway per zone', () => {
    const stack = new cdk.Stack(undefined, 'Vpc', { env: { region: 'us-west-2' } });
    new CortexCluster(stack, 'Cluster', { vpcCidr: '172.16.0.0/20', availabilityZones: ['us-west-2a', 'us-west-2c'], natGateways: 2 });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::EC2::VPC', { CidrBlock: '172.16.0.0/20' });
    const subnets = Object.values(template.findResources('AWS::EC2::Subnet')).map((r) => `${r.Properties.AvailabilityZone} ${r.Properties.CidrBlock}`);
    expect(subnets.sort()).toEqual(['us-west-2a 172.16.0.0/28', 'us-west-2a 172.16.4.0/22', 'us-west-2c 172.16.0.16/28', 'us-west-2c 172.16.8.0/22']);
    template.resourceCountIs('AWS::EC2::NatGateway', 2);
  });

  test('subnetMasks: /16 over 3 zones keeps /24 and /18; more zones, smaller private subnets', () => {
    expect(subnetMasks(16, 3)).toEqual({ public: 24, private: 18 });
    expect(subnetMasks(16, 4)).toEqual({ public: 24, private: 19 });
    expect(subnetMasks(24, 2)).toEqual({ public: 28, private: 26 });
  });

  test.each<[string, CortexClusterProps, string]>([
    ['a /8', { vpcCidr: '10.0.0.0/8' }, 'vpcCidr ("10.0.0.0/8") must be an IPv4 CIDR block from /16 to /24, such as "10.0.0.0/16"'],
    ['one zone', { availabilityZones: ['us-east-1a'] }, 'availabilityZones must name at least 2 zones (EKS needs subnets in two), got 1'],
    ['a zone twice', { availabilityZones: ['us-east-1a', 'us-east-1a'] }, 'availabilityZones names "us-east-1a" twice'],
    ['more NAT gateways than zones', { availabilityZones: ['us-east-1a', 'us-east-1b'], natGateways: 3 }, 'natGateways must be an integer from 1 to 2, got 3: the nodes live in private subnets and reach the internet through them'],
    ['a /24 over 4 zones', { vpcCidr: '10.0.0.0/24', availabilityZones: ['us-east-1a', 'us-east-1b', 'us-east-1c', 'us-east-1d'] }, 'vpcCidr ("10.0.0.0/24") is too small for a public and a private subnet in each of 4 zones: use a larger block (a smaller prefix length) or fewer zones'],
  ])('GIVEN %s THEN refused', (_, props, message) => {
    expect(() => new CortexCluster(new cdk.Stack(), 'Cluster', props)).toThrow(new CortexValidationError(message));
  });

  test('GIVEN vpcCidr with a VPC of your own THEN refused', () => {
    const stack = new cdk.Stack();
    const vpc = new ec2.Vpc(stack, 'Mine');
    expect(() => new CortexCluster(stack, 'Cluster', { vpc, vpcCidr: '10.0.0.0/16' })).toThrow('vpcCidr applies to the VPC the cluster creates: leave it out with vpc');
  });

  test('checkSubnetsFit: a /23 holds 4 zones', () => {
    expect(() => checkSubnetsFit('10.0.0.0/23', 4)).not.toThrow();
  });
});
