import * as cdk from 'aws-cdk-lib';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import * as eks from 'aws-cdk-lib/aws-eks-v2';
import { CortexCluster } from '../../lib/cortex-cluster';
import { acknowledgePublicEndpoint, EksEndpointCheck, endpointOpenToAll, PUBLIC_ENDPOINT_FINDING } from '../../lib/eks-endpoint-check';
import { newCluster } from './platform/fixtures';

const OPEN = Match.stringLikeRegexp('Kubernetes API endpoint is public to every address \\(0\\.0\\.0\\.0/0\\)');

/** The warnings of the finding in a synthesized stack. */
function findings(stack: cdk.Stack): unknown[] {
  return Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp(PUBLIC_ENDPOINT_FINDING));
}

describe('endpointOpenToAll, on ResourcesVpcConfig as the L1 holds it', () => {
  test('public with no CIDR blocks (CloudFormation: 0.0.0.0/0), or absent altogether: open', () => {
    expect(endpointOpenToAll({ endpointPublicAccess: true, endpointPrivateAccess: true })).toBe('0.0.0.0/0');
    expect(endpointOpenToAll({ subnetIds: ['subnet-1'] })).toBe('0.0.0.0/0');
    expect(endpointOpenToAll(undefined)).toBe('0.0.0.0/0');
  });

  test('0.0.0.0/0 or ::/0 among the CIDR blocks: open', () => {
    expect(endpointOpenToAll({ endpointPublicAccess: true, publicAccessCidrs: ['203.0.113.0/24', '0.0.0.0/0'] })).toBe('0.0.0.0/0');
    expect(endpointOpenToAll({ publicAccessCidrs: ['::/0'] })).toBe('::/0');
  });

  test('private, restricted, or decided at deploy time: not open', () => {
    expect(endpointOpenToAll({ endpointPublicAccess: false, endpointPrivateAccess: true })).toBeUndefined();
    expect(endpointOpenToAll({ endpointPublicAccess: true, publicAccessCidrs: ['203.0.113.0/24'] })).toBeUndefined();
    expect(endpointOpenToAll({ endpointPublicAccess: { Ref: 'Public' } })).toBeUndefined();
    expect(endpointOpenToAll({ publicAccessCidrs: { Ref: 'Cidrs' } })).toBeUndefined();
  });
});

describe('CortexCluster: the EKS endpoint', () => {
  test('by default public and private, and the synth warns that it is public to every address, with how to act', () => {
    // GIVEN a cluster with its defaults
    const stack = new cdk.Stack(new cdk.App(), 'Test');
    const cluster = new CortexCluster(stack, 'Cluster', { clusterName: 'models' });
    // THEN
    const template = cdk.assertions.Template.fromStack(stack);
    template.hasResourceProperties('AWS::EKS::Cluster', {
      ResourcesVpcConfig: Match.objectLike({ EndpointPublicAccess: true, EndpointPrivateAccess: true, PublicAccessCidrs: Match.absent() }),
    });
    Annotations.fromStack(stack).hasWarning('/Test/Cluster/Resource/Resource', OPEN);
    const [warning] = findings(stack) as { entry: { data: string } }[];
    expect(warning.entry.data).toContain('EKS cluster models');
    expect(warning.entry.data).toContain("eks.EndpointAccess.PUBLIC_AND_PRIVATE.onlyFrom('203.0.113.0/24')");
    expect(warning.entry.data).toMatch(new RegExp(`\\[ack: (Annotation::)?${PUBLIC_ENDPOINT_FINDING}\\]$`));
    expect(cluster.cluster.node.defaultChild).toBeDefined();
  });

  test('acknowledged with a reason: no warning, and the reason is recorded', () => {
    const stack = new cdk.Stack(new cdk.App(), 'Test');
    const cluster = new CortexCluster(stack, 'Cluster');
    // WHEN acknowledged after the cluster is made (as a user's app does)
    acknowledgePublicEndpoint(cluster, 'kubectl from laptops without fixed addresses; IAM authenticates');
    expect(findings(stack)).toEqual([]);
    const recorded = cluster.node.metadata.filter((m) => m.type === cdk.Validations.ACKNOWLEDGED_RULES_METADATA_KEY);
    expect(JSON.stringify(recorded)).toContain('kubectl from laptops without fixed addresses');
  });

  test("acknowledged with aws-cdk-lib's Validations, on the stack: no warning", () => {
    const stack = new cdk.Stack(new cdk.App(), 'Test');
    cdk.Validations.of(stack).acknowledge({ id: PUBLIC_ENDPOINT_FINDING, reason: 'a development account' });
    new CortexCluster(stack, 'Cluster');
    expect(findings(stack)).toEqual([]);
  });

  test('restricted to CIDR blocks: EKS gets them, and there is no warning', () => {
    const stack = new cdk.Stack(new cdk.App(), 'Test');
    new CortexCluster(stack, 'Cluster', { endpointAccess: eks.EndpointAccess.PUBLIC_AND_PRIVATE.onlyFrom('203.0.113.0/24', '198.51.100.7/32') });
    cdk.assertions.Template.fromStack(stack).hasResourceProperties('AWS::EKS::Cluster', {
      ResourcesVpcConfig: Match.objectLike({
        EndpointPublicAccess: true,
        EndpointPrivateAccess: true,
        PublicAccessCidrs: ['203.0.113.0/24', '198.51.100.7/32'],
      }),
    });
    expect(findings(stack)).toEqual([]);
  });

  test('private: no public endpoint, no warning', () => {
    const stack = new cdk.Stack(new cdk.App(), 'Test');
    new CortexCluster(stack, 'Cluster', { endpointAccess: eks.EndpointAccess.PRIVATE });
    cdk.assertions.Template.fromStack(stack).hasResourceProperties('AWS::EKS::Cluster', {
      ResourcesVpcConfig: Match.objectLike({ EndpointPublicAccess: false, EndpointPrivateAccess: true }),
    });
    expect(findings(stack)).toEqual([]);
  });

  test('onlyFrom("0.0.0.0/0") is still open to every address', () => {
    const stack = new cdk.Stack(new cdk.App(), 'Test');
    new CortexCluster(stack, 'Cluster', { endpointAccess: eks.EndpointAccess.PUBLIC_AND_PRIVATE.onlyFrom('203.0.113.0/24', '0.0.0.0/0') });
    Annotations.fromStack(stack).hasWarning('/Test/Cluster/Resource/Resource', OPEN);
  });

  test('refuses a public CIDR block that is not one, naming the prop, the value and what is allowed', () => {
    const stack = new cdk.Stack(new cdk.App(), 'Test');
    expect(() => new CortexCluster(stack, 'Cluster', { endpointAccess: eks.EndpointAccess.PUBLIC_AND_PRIVATE.onlyFrom('203.0.113.0/24', 'office') })).toThrow(
      /endpointAccess\.onlyFrom\[1\] \("office"\) must be a CIDR block such as "203\.0\.113\.0\/24"/,
    );
  });

  test('an acknowledgement needs a reason', () => {
    const stack = new cdk.Stack(new cdk.App(), 'Test');
    expect(() => acknowledgePublicEndpoint(stack, ' ')).toThrow(/reason for a public EKS endpoint/);
  });
});

describe('EksEndpointCheck on a cluster of your own (aws-eks-v2), which cdk-nag does not see', () => {
  test('warns on an open eks.Cluster once added to the stack; not on a restricted one', () => {
    const stack = new cdk.Stack(new cdk.App(), 'Test');
    newCluster(stack);
    cdk.Aspects.of(stack).add(new EksEndpointCheck());
    Annotations.fromStack(stack).hasWarning('/Test/Cluster/Resource', OPEN);

    const restricted = new cdk.Stack(new cdk.App(), 'Restricted');
    newCluster(restricted, { endpointAccess: eks.EndpointAccess.PUBLIC_AND_PRIVATE.onlyFrom('203.0.113.0/24') });
    cdk.Aspects.of(restricted).add(new EksEndpointCheck());
    expect(findings(restricted)).toEqual([]);
  });
});
