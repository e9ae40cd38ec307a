import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { CloudWatchObservability } from '../../../lib/platform/cloudwatch-observability';
import { importedCluster, newStack, resources } from './fixtures';

describe('CloudWatchObservability', () => {
  // GIVEN the add-on with its defaults, synthesized once
  const stack = newStack();
  const cw = new CloudWatchObservability(stack, 'CloudWatch', { cluster: importedCluster(stack) });
  const template = Template.fromStack(stack);

  test('the amazon-cloudwatch-observability EKS add-on, version chosen by EKS', () => {
    const [addon] = resources(template, 'AWS::EKS::Addon');
    expect(addon.properties).toMatchObject({ AddonName: 'amazon-cloudwatch-observability', ClusterName: 'models' });
    expect(addon.properties.AddonVersion).toBeUndefined();
    expect(addon.properties.ConfigurationValues).toBeUndefined();
  });

  test("its cloudwatch-agent service account gets a role through the add-on's Pod Identity association", () => {
    template.hasResourceProperties('AWS::EKS::Addon', {
      PodIdentityAssociations: [{ ServiceAccount: 'cloudwatch-agent', RoleArn: { 'Fn::GetAtt': [Match.anyValue(), 'Arn'] } }],
    });
  });

  test('the role: assumed by EKS Pod Identity only, with CloudWatchAgentServerPolicy and nothing else', () => {
    const [role] = resources(template, 'AWS::IAM::Role');
    expect(role.properties.AssumeRolePolicyDocument.Statement).toEqual([
      { Action: ['sts:AssumeRole', 'sts:TagSession'], Effect: 'Allow', Principal: { Service: 'pods.eks.amazonaws.com' } },
    ]);
    expect(JSON.stringify(role.properties.ManagedPolicyArns)).toContain(':iam::aws:policy/CloudWatchAgentServerPolicy');
    expect(role.properties.ManagedPolicyArns).toHaveLength(1);
    template.resourceCountIs('AWS::IAM::Policy', 0);
    expect(cw.role).toBeDefined();
  });

  test('version, configuration and role are the user\'s to set', () => {
    const other = newStack();
    const role = iam.Role.fromRoleArn(other, 'Mine', 'arn:aws:iam::123456789012:role/cw-agent');
    new CloudWatchObservability(other, 'CloudWatch', {
      cluster: importedCluster(other),
      addonVersion: 'v4.1.0-eksbuild.1',
      configurationValues: { containerLogs: { enabled: true } },
      role,
    });
    const t = Template.fromStack(other);
    t.hasResourceProperties('AWS::EKS::Addon', {
      AddonVersion: 'v4.1.0-eksbuild.1',
      ConfigurationValues: '{"containerLogs":{"enabled":true}}',
      PodIdentityAssociations: [{ ServiceAccount: 'cloudwatch-agent', RoleArn: 'arn:aws:iam::123456789012:role/cw-agent' }],
    });
    t.resourceCountIs('AWS::IAM::Role', 0);
  });

  test('refuses an add-on version EKS would not know', () => {
    const other = newStack();
    expect(() => new CloudWatchObservability(other, 'CloudWatch', { cluster: importedCluster(other), addonVersion: 'latest' })).toThrow(
      /cloudWatchObservability\.addonVersion \("latest"\) must be an EKS add-on version/,
    );
  });
});
