import { Fn } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as eks from 'aws-cdk-lib/aws-eks-v2';
import * as iam from 'aws-cdk-lib/aws-iam';
import {
  CLUSTER_AUTOSCALER_DESCRIBE_ACTIONS,
  ClusterAutoscaler,
  clusterAutoscalerValues,
  expanderPriorities,
} from '../../../lib/platform/cluster-autoscaler';
import { dependsOn, helmRelease, helmValuesWithReferences, importedCluster, newStack, resources } from './fixtures';

const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';

describe('expanderPriorities', () => {
  test('priority → exact regular expressions of the node groups\' Auto Scaling group names', () => {
    expect(expanderPriorities({ gpu: 50, 'gpu-spot': 100, cpu: 10, inf: 50 })).toEqual({
      '100': [`^eks-gpu-spot-${UUID}$`],
      '50': [`^eks-gpu-${UUID}$`, `^eks-inf-${UUID}$`],
      '10': [`^eks-cpu-${UUID}$`],
    });
  });

  test("a group's expression does not match another group whose name it prefixes", () => {
    const [gpu] = expanderPriorities({ gpu: 1 })['1'];
    expect(new RegExp(gpu).test('eks-gpu-4ec7a1b2-0c9d-4f5e-8a7b-1234567890ab')).toBe(true);
    expect(new RegExp(gpu).test('eks-gpu-spot-4ec7a1b2-0c9d-4f5e-8a7b-1234567890ab')).toBe(false);
  });
});

describe('clusterAutoscalerValues', () => {
  const base = { clusterName: 'models', region: 'us-east-1', imageTag: 'v1.36.1' };

  test('auto-discovery of the cluster, region, pinned image, our service account, balanced similar groups, local storage not exempt', () => {
    const values = clusterAutoscalerValues({ ...base, nodeGroupPriorities: {} });
    expect(values).toMatchObject({
      cloudProvider: 'aws',
      awsRegion: 'us-east-1',
      autoDiscovery: { clusterName: 'models' },
      image: { tag: 'v1.36.1' },
      rbac: { serviceAccount: { create: false, name: 'cluster-autoscaler' } },
      extraArgs: { 'balance-similar-node-groups': true, 'skip-nodes-with-local-storage': false },
    });
  });

  test('expander priority (then least-waste) with its priorities when given', () => {
    const values = clusterAutoscalerValues({ ...base, nodeGroupPriorities: { gpu: 10 } });
    expect((values.extraArgs as Record<string, unknown>).expander).toBe('priority,least-waste');
    expect(values.expanderPriorities).toEqual({ '10': [`^eks-gpu-${UUID}$`] });
  });

  test('least-waste and no priorities ConfigMap without priorities (the priority expander needs one)', () => {
    const values = clusterAutoscalerValues({ ...base, nodeGroupPriorities: {} });
    expect((values.extraArgs as Record<string, unknown>).expander).toBe('least-waste');
    expect(values).not.toHaveProperty('expanderPriorities');
  });
});

describe('ClusterAutoscaler', () => {
  // GIVEN the autoscaler on an imported cluster named "models", synthesized once
  const stack = newStack();
  const autoscaler = new ClusterAutoscaler(stack, 'ClusterAutoscaler', {
    cluster: importedCluster(stack),
    kubernetesVersion: eks.KubernetesVersion.V1_36,
    nodeGroupPriorities: { gpu: 50, cpu: 10 },
  });
  const template = Template.fromStack(stack);
  const release = helmRelease(template, 'cluster-autoscaler');

  test('kubernetes/autoscaler chart 9.59.0 in kube-system, image of the cluster\'s minor', () => {
    expect(release.properties).toMatchObject({
      Chart: 'cluster-autoscaler',
      Repository: 'https://kubernetes.github.io/autoscaler',
      Version: '9.59.0',
      Namespace: 'kube-system',
    });
    const values = helmValuesWithReferences(template, 'cluster-autoscaler');
    expect(values.image).toEqual({ tag: 'v1.36.1' });
    expect(values.autoDiscovery).toEqual({ clusterName: 'models' });
    expect(values.awsRegion).toBe('<AWS::Region>');
    expect(values.extraArgs.expander).toBe('priority,least-waste');
    expect(values.expanderPriorities).toEqual({ '50': [`^eks-gpu-${UUID}$`], '10': [`^eks-cpu-${UUID}$`] });
  });

  test('Pod Identity: an association of the service account kube-system/cluster-autoscaler with its role', () => {
    template.hasResourceProperties('AWS::EKS::PodIdentityAssociation', {
      ClusterName: 'models',
      Namespace: 'kube-system',
      ServiceAccount: 'cluster-autoscaler',
    });
    template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Action: ['sts:AssumeRole', 'sts:TagSession'], Principal: { Service: 'pods.eks.amazonaws.com' } }),
        ]),
      },
    });
    expect(autoscaler.identityType).toBe(eks.IdentityType.POD_IDENTITY);
  });

  test('the release comes after its service account', () => {
    const [serviceAccount] = resources(template, 'Custom::AWSCDK-EKS-KubernetesResource', (p) =>
      JSON.stringify(p.Manifest).includes('ServiceAccount'),
    );
    expect(dependsOn(template, release.logicalId, serviceAccount.logicalId)).toBe(true);
  });

  describe('least-privilege IAM', () => {
    const [policy] = resources(template, 'AWS::IAM::Policy');
    const statements: Array<Record<string, any>> = policy.properties.PolicyDocument.Statement;
    const bySid = (sid: string) => statements.find((s) => s.Sid === sid) as Record<string, any>;

    test('describe calls on *', () => {
      expect(bySid('Describe')).toMatchObject({ Effect: 'Allow', Resource: '*' });
      expect(bySid('Describe').Action).toEqual([...CLUSTER_AUTOSCALER_DESCRIBE_ACTIONS].sort());
      expect(bySid('Describe').Action).not.toContain('autoscaling:SetDesiredCapacity');
    });

    test('SetDesiredCapacity and TerminateInstanceInAutoScalingGroup only on groups tagged k8s.io/cluster-autoscaler/models=owned', () => {
      const scale = bySid('ScaleOwnedGroups');
      expect(scale.Action).toEqual(['autoscaling:SetDesiredCapacity', 'autoscaling:TerminateInstanceInAutoScalingGroup']);
      expect(scale.Condition).toEqual({ StringEquals: { 'aws:ResourceTag/k8s.io/cluster-autoscaler/models': 'owned' } });
      expect(JSON.stringify(scale.Resource)).toContain(':autoScalingGroup:*:autoScalingGroupName/*');
    });

    test('eks:DescribeNodegroup (scale from zero) on the cluster\'s node groups only', () => {
      const describe = bySid('DescribeNodegroups');
      expect(describe.Action).toBe('eks:DescribeNodegroup');
      expect(JSON.stringify(describe.Resource)).toContain(':nodegroup/models/*/*');
    });

    test('no other statement', () => {
      expect(statements.map((s) => s.Sid).sort()).toEqual(['Describe', 'DescribeNodegroups', 'ScaleOwnedGroups']);
    });
  });

  test('a cluster name known only at deploy time goes through CfnJson (a condition key cannot hold a reference)', () => {
    const other = newStack();
    new ClusterAutoscaler(other, 'CA', {
      cluster: importedCluster(other, { clusterName: Fn.importValue('ModelsClusterName') }),
      imageTag: 'v1.36.1',
    });
    const t = Template.fromStack(other);
    const [json] = resources(t, 'Custom::AWSCDKCfnJson');
    expect(JSON.stringify(json.properties.Value)).toContain('aws:ResourceTag/k8s.io/cluster-autoscaler/');
    expect(JSON.stringify(json.properties.Value)).toContain('ModelsClusterName');
    const [policy] = resources(t, 'AWS::IAM::Policy');
    const scale = policy.properties.PolicyDocument.Statement.find((st: { Sid: string }) => st.Sid === 'ScaleOwnedGroups');
    expect(scale.Condition).toEqual({ StringEquals: { 'Fn::GetAtt': [json.logicalId, 'Value'] } });
  });

  test('IRSA on an imported cluster needs its OIDC provider', () => {
    const other = newStack();
    expect(
      () =>
        new ClusterAutoscaler(other, 'CA', {
          cluster: importedCluster(other),
          kubernetesVersion: eks.KubernetesVersion.V1_36,
          identityType: eks.IdentityType.IRSA,
        }),
    ).toThrow(/clusterAutoscaler\.identityType \(IRSA\) needs the cluster's OpenID Connect provider/);
  });

  test('IRSA with the OIDC provider: a role for the service account through its federated principal, no association', () => {
    const other = newStack();
    const provider = iam.OpenIdConnectProvider.fromOpenIdConnectProviderArn(
      other,
      'Oidc',
      'arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/ABC',
    );
    new ClusterAutoscaler(other, 'CA', {
      cluster: importedCluster(other, { openIdConnectProvider: provider }),
      kubernetesVersion: eks.KubernetesVersion.V1_36,
      identityType: eks.IdentityType.IRSA,
    });
    const t = Template.fromStack(other);
    t.resourceCountIs('AWS::EKS::PodIdentityAssociation', 0);
    t.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: {
        Statement: [Match.objectLike({ Action: 'sts:AssumeRoleWithWebIdentity', Principal: { Federated: provider.openIdConnectProviderArn } })],
      },
    });
  });

  test('the image tag may be given instead of the Kubernetes version', () => {
    const other = newStack();
    new ClusterAutoscaler(other, 'CA', { cluster: importedCluster(other), imageTag: 'v1.37.0' });
    expect(JSON.stringify(helmRelease(Template.fromStack(other), 'cluster-autoscaler').properties.Values)).toContain('v1.37.0');
  });

  test('refuses an imported cluster without a Kubernetes version, and bad priorities', () => {
    const other = newStack();
    expect(() => new ClusterAutoscaler(other, 'A', { cluster: importedCluster(other) })).toThrow(
      /kubernetesVersion is required .*the image of the cluster autoscaler follows .*or set clusterAutoscaler\.imageTag/,
    );
    expect(
      () =>
        new ClusterAutoscaler(other, 'B', {
          cluster: importedCluster(newStack()),
          imageTag: 'v1.36.1',
          nodeGroupPriorities: { gpu: -5 },
        }),
    ).toThrow('clusterAutoscaler.nodeGroupPriorities["gpu"] (-5) must be an integer >= 0');
  });
});
