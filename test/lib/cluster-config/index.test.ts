import * as path from 'node:path';
import * as cdk from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { applyClusterConfig, ClusterConfig, loadClusterConfig, validateClusterConfig, validateClusterObject } from '../../../lib/cluster-config';
import { ConfigError, loadConfigFile } from '../../../lib/config';
import { CortexStack } from '../../../lib/cortex-stack';
import { validateObjects } from '../../schema/validate';
import { tempDir, writeFile } from '../../util';
import { CERTIFICATE, FULL_CLUSTER_YAML } from './cluster-fixtures';

const examplesDir = path.join(__dirname, '..', '..', '..', 'examples');

type KubeObject = { kind: string; metadata: { name: string; annotations?: Record<string, string> }; spec: Record<string, any> };

/** The Kubernetes objects of the stack's manifests, deploy-time values replaced by a placeholder. */
function manifestObjects(template: Template): KubeObject[] {
  const flatten = (v: unknown): string => {
    if (typeof v === 'string') return v;
    const join = (v as { 'Fn::Join'?: [string, unknown[]] })['Fn::Join'];
    if (join) return join[1].map(flatten).join(join[0]);
    return 'deploy-time-value';
  };
  return Object.values(template.findResources('Custom::AWSCDK-EKS-KubernetesResource')).flatMap((r) => JSON.parse(flatten(r.Properties.Manifest)));
}

describe("a stack from Cortex's documented cluster.yaml (every field)", () => {
  // GIVEN the file on disk, loaded as a code user would, and a stack of it with one API
  const dir = tempDir('cluster-config-');
  const file = writeFile(dir, 'cluster.yaml', FULL_CLUSTER_YAML);
  const cluster: ClusterConfig = loadClusterConfig(file);
  const app = new cdk.App();
  const stack = new CortexStack(app, 'FromClusterYaml', {
    ...cluster,
    config: loadConfigFile(path.join(examplesDir, 'iris-classifier', 'cortex.yaml')),
  });
  applyClusterConfig(stack, cluster);
  const template = Template.fromStack(stack);
  const nodegroups = Object.values(template.findResources('AWS::EKS::Nodegroup')).map((r) => r.Properties);
  const nodegroup = (prefix: string) => nodegroups.find((n) => (n.NodegroupName as string).startsWith(`${prefix}-`) && !(n.NodegroupName as string).startsWith(`${prefix}-on-demand`))!;

  test('the stack is in the file\'s region, and the EKS cluster has its name', () => {
    expect(stack.region).toBe('us-west-2');
    template.hasResourceProperties('AWS::EKS::Cluster', { Name: 'cortex-prod' });
  });

  test('node groups: instance types (with the spot distribution), sizes, capacity types, AMIs by accelerator', () => {
    expect(nodegroups).toHaveLength(4);
    expect(nodegroup('ng-cpu')).toMatchObject({
      InstanceTypes: ['m5.large'], CapacityType: 'ON_DEMAND', AmiType: 'AL2023_x86_64_STANDARD',
      ScalingConfig: { MinSize: 2, MaxSize: 6, DesiredSize: 2 },
    });
    expect(nodegroup('ng-gpu')).toMatchObject({
      InstanceTypes: ['g4dn.xlarge', 'g5.xlarge'], CapacityType: 'SPOT', AmiType: 'AL2023_x86_64_NVIDIA',
      ScalingConfig: { MinSize: 0, MaxSize: 3, DesiredSize: 0 },
    });
    expect(nodegroup('ng-gpu-on-demand')).toMatchObject({
      InstanceTypes: ['g4dn.xlarge', 'g5.xlarge'], CapacityType: 'ON_DEMAND', ScalingConfig: { MinSize: 1, MaxSize: 1, DesiredSize: 1 },
    });
    expect(nodegroup('ng-inf')).toMatchObject({
      InstanceTypes: ['inf2.xlarge'], CapacityType: 'ON_DEMAND', AmiType: 'AL2023_x86_64_NEURON',
      ScalingConfig: { MinSize: 0, MaxSize: 2, DesiredSize: 0 },
    });
  });

  test("priorities go to the cluster-autoscaler's priority expander", () => {
    const priorities = stack.cortexCluster.nodeGroupPriorities;
    const byGroup = (prefix: string) => Object.entries(priorities).filter(([name]) => name.startsWith(prefix)).map(([, p]) => p);
    expect(byGroup('ng-cpu-')).toEqual([1]);
    expect(byGroup('ng-gpu-')).toEqual([20, 20]);
  });

  test('root volumes: size, type, IOPS and throughput as written, encrypted', () => {
    const volumes = Object.values(template.findResources('AWS::EC2::LaunchTemplate')).map(
      (r) => r.Properties.LaunchTemplateData.BlockDeviceMappings[0].Ebs,
    );
    expect(volumes).toEqual(
      expect.arrayContaining([
        { VolumeSize: 60, VolumeType: 'gp3', Iops: 6000, Throughput: 250, Encrypted: true, DeleteOnTermination: true },
        { VolumeSize: 100, VolumeType: 'io1', Iops: 4000, Encrypted: true, DeleteOnTermination: true },
        { VolumeSize: 50, VolumeType: 'gp2', Encrypted: true, DeleteOnTermination: true },
      ]),
    );
    expect(volumes).toHaveLength(3);
  });

  test('the VPC: its CIDR block, the two zones, private subnets behind a NAT gateway per zone', () => {
    template.hasResourceProperties('AWS::EC2::VPC', { CidrBlock: '192.168.0.0/16' });
    const subnets = Object.values(template.findResources('AWS::EC2::Subnet')).map((r) => [r.Properties.AvailabilityZone, r.Properties.CidrBlock]);
    expect(subnets.sort()).toEqual([
      ['us-west-2a', '192.168.0.0/24'],
      ['us-west-2a', '192.168.64.0/18'],
      ['us-west-2b', '192.168.1.0/24'],
      ['us-west-2b', '192.168.128.0/18'],
    ]);
    template.resourceCountIs('AWS::EC2::NatGateway', 2);
    const nodeSubnets = nodegroups.map((n) => JSON.stringify(n.Subnets));
    expect(nodeSubnets.every((s) => s.includes('Private') && !s.includes('Public'))).toBe(true);
  });

  test('the EKS endpoint: public only from the operator allow-list', () => {
    template.hasResourceProperties('AWS::EKS::Cluster', {
      ResourcesVpcConfig: Match.objectLike({ EndpointPrivateAccess: true, EndpointPublicAccess: true, PublicAccessCidrs: ['203.0.113.0/24'] }),
    });
  });

  test('the load balancer Service: internal, TLS on 443 only with the certificate, the allow-list; schema-valid', () => {
    const lb = manifestObjects(template).find((o) => o.kind === 'Service' && o.metadata.name === 'apis-gateway-lb')!;
    const annotations = lb.metadata.annotations!;
    expect(annotations['service.beta.kubernetes.io/aws-load-balancer-scheme']).toBe('internal');
    expect(annotations['service.beta.kubernetes.io/aws-load-balancer-ssl-cert']).toBe(CERTIFICATE);
    expect(lb.spec.ports).toEqual([{ name: 'https', port: 443, protocol: 'TCP', targetPort: 80 }]);
    expect(lb.spec.loadBalancerSourceRanges).toEqual(['10.0.0.0/8', '2001:db8::/32']);
    expect(validateObjects([lb as never])).toEqual([]);
  });

  test('tags: the stack\'s (CloudFormation copies them to its resources) and on the resources and launch templates themselves', () => {
    const tags = { team: 'ml', 'cost-center': '1234', 'cortex.dev/cluster-name': 'cortex-prod' };
    expect(stack.tags.tagValues()).toEqual(tags);
    template.hasResourceProperties('AWS::EC2::VPC', { Tags: Match.arrayWith([{ Key: 'cortex.dev/cluster-name', Value: 'cortex-prod' }, { Key: 'team', Value: 'ml' }]) });
    template.hasResourceProperties('AWS::EC2::LaunchTemplate', {
      LaunchTemplateData: Match.objectLike({
        TagSpecifications: Match.arrayWith([
          { ResourceType: 'instance', Tags: Match.arrayWith([{ Key: 'team', Value: 'ml' }]) },
          { ResourceType: 'volume', Tags: Match.arrayWith([{ Key: 'team', Value: 'ml' }]) },
        ]),
      }),
    });
  });

  test('iam_policy_arns become the policies of every API\'s role (apiPolicyArns)', () => {
    expect(cluster.apiPolicyArns).toEqual(['arn:aws:iam::aws:policy/AmazonS3FullAccess']);
    const nested = stack.node.findAll().filter((c): c is cdk.NestedStack => c instanceof cdk.NestedStack);
    const roles = nested.flatMap((n) => Object.values(Template.fromStack(n).findResources('AWS::IAM::Role')));
    const apiRoles = roles.filter((r) => JSON.stringify(r.Properties.AssumeRolePolicyDocument).includes('pods.eks.amazonaws.com'));
    expect(apiRoles).toHaveLength(1);
    expect(JSON.stringify(apiRoles[0].Properties.ManagedPolicyArns)).toContain('AmazonS3FullAccess');
  });

  test('the notes are synth warnings, with file, line and field', () => {
    const warnings = Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('cluster-file-note'));
    expect(warnings.map((w) => String(w.entry.data).replace(/ \[ack: .*\]$/, ''))).toEqual(
      expect.arrayContaining([`${file}:49:1: prometheus_instance_type: warning: has no effect here: Prometheus runs on the CPU node groups (size them for it), not on a node group of its own`]),
    );
    expect(warnings).toHaveLength(6);
  });
});

describe('the operator fields: the EKS endpoint', () => {
  const endpointOf = (yaml: string) => validateClusterConfig(`region: us-east-1\n${yaml}`, 'cluster.yaml').config!.cluster!.endpointAccess;

  test('GIVEN none THEN CortexCluster\'s default endpoint (public and private)', () => {
    expect(endpointOf('')).toBeUndefined();
  });

  test('GIVEN operator_load_balancer_scheme: internal THEN a private endpoint', () => {
    expect(endpointOf('operator_load_balancer_scheme: internal\n')!._config).toEqual({ privateAccess: true, publicAccess: false });
  });
});

describe('loadClusterConfig and validateClusterObject', () => {
  const dir = tempDir('cluster-config-bad-');

  test('GIVEN a missing file THEN a ConfigError naming it', () => {
    expect(() => loadClusterConfig('/nonexistent/cluster.yaml')).toThrow(ConfigError);
    expect(() => loadClusterConfig('/nonexistent/cluster.yaml')).toThrow('/nonexistent/cluster.yaml: no such file');
  });

  test('GIVEN an invalid file THEN a ConfigError with every problem', () => {
    const file = writeFile(dir, 'cluster.yaml', 'regoin: us-east-1\n');
    expect(() => loadClusterConfig(file)).toThrow(`${file}:1:1: regoin: unknown field "regoin"; did you mean "region"?\n${file}:1:1: region: required`);
  });

  test('GIVEN the same fields built in code THEN the same rules, without positions', () => {
    const result = validateClusterObject({ region: 'us-east-1', nat_gateway: 'none' });
    expect(result.problems.map((p) => `${p.path}: ${p.message}`)).toEqual([
      'nat_gateway: must be single or highly_available, got "none": the nodes run in private subnets and need a NAT gateway to pull images and reach AWS APIs',
    ]);
  });
});

describe('examples/cluster.yaml (the secure setup)', () => {
  test('validates, with TLS, an allow-list, a CPU and a GPU group, and no notes', () => {
    const cluster = loadClusterConfig(path.join(examplesDir, 'cluster.yaml'));
    expect(cluster.notes).toEqual([]);
    expect(cluster.platform!.gateway).toMatchObject({ sslCertificateArn: expect.stringMatching(/^arn:aws:acm:us-east-1:/), loadBalancerSourceRanges: expect.any(Array) });
    expect(cluster.nodeGroups!.map((g) => [g.name, g.accelerator])).toEqual([
      ['cpu', 'none'],
      ['gpu', 'nvidia'],
    ]);
  });
});
