import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import { API_METRICS_AGENT } from '../../../lib/platform/api-metrics';
import { CloudWatchObservability } from '../../../lib/platform/cloudwatch-observability';
import { EKS_ADDON_VERSIONS } from '../../../lib/platform/versions';
import { importedCluster, newStack, resources } from './fixtures';

/** The add-on's configuration values, parsed, with each CloudFormation reference shown as `<LogicalId>`. */
function configurationValues(template: Template): Record<string, any> {
  const [addon] = resources(template, 'AWS::EKS::Addon');
  const values = addon.properties.ConfigurationValues;
  if (typeof values === 'string') return JSON.parse(values);
  const [separator, parts] = values['Fn::Join'] as [string, unknown[]];
  return JSON.parse(parts.map((p) => (typeof p === 'string' ? p : `<${(p as { Ref: string }).Ref}>`)).join(separator));
}

describe('CloudWatchObservability', () => {
  // GIVEN the add-on with its defaults, synthesized once
  const stack = newStack();
  const cw = new CloudWatchObservability(stack, 'CloudWatch', { cluster: importedCluster(stack) });
  const template = Template.fromStack(stack);

  test('the amazon-cloudwatch-observability EKS add-on, at the pinned version (not the one EKS would pick)', () => {
    const [addon] = resources(template, 'AWS::EKS::Addon');
    expect(addon.properties).toMatchObject({ AddonName: 'amazon-cloudwatch-observability', ClusterName: 'models' });
    expect(EKS_ADDON_VERSIONS.cloudWatchObservability).toBe('v4.10.3-eksbuild.1');
    expect(addon.properties.AddonVersion).toBe('v4.10.3-eksbuild.1');
    expect(cw.addonVersion).toBe('v4.10.3-eksbuild.1');
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

  test('refuses a version without Pod Identity (before v3.1.0)', () => {
    const other = newStack();
    expect(
      () => new CloudWatchObservability(other, 'CloudWatch', { cluster: importedCluster(other), addonVersion: 'v3.0.0-eksbuild.1' }),
    ).toThrow(/cloudWatchObservability\.addonVersion \("v3\.0\.0-eksbuild\.1"\) must be 3\.1\.0 or newer: .*EKS Pod Identity/);
    new CloudWatchObservability(newStack(), 'CloudWatch', { cluster: importedCluster(newStack()), addonVersion: 'v3.1.0-eksbuild.1' });
  });

  test('per-API metrics are off unless asked for (a CortexPlatform asks when it installs Prometheus)', () => {
    template.resourceCountIs('AWS::Logs::LogGroup', 0);
    expect(cw.apiMetricsLogGroup).toBeUndefined();
  });
});

describe('CloudWatchObservability with apiMetrics', () => {
  // GIVEN the add-on with per-API metrics, and the user's own configuration values, synthesized once
  const stack = newStack();
  const cw = new CloudWatchObservability(stack, 'CloudWatch', {
    cluster: importedCluster(stack),
    apiMetrics: true,
    configurationValues: { containerLogs: { enabled: true } },
  });
  const template = Template.fromStack(stack);
  const values = configurationValues(template);
  const [logGroup] = resources(template, 'AWS::Logs::LogGroup');
  const [addon] = resources(template, 'AWS::EKS::Addon');

  test("a second agent after the add-on's default one; the user's values kept", () => {
    expect(values.containerLogs).toEqual({ enabled: true });
    expect(values.agents.map((a: { name: string }) => a.name)).toEqual(['cloudwatch-agent', API_METRICS_AGENT]);
    expect(values.agents[0]).toEqual({ name: 'cloudwatch-agent' });
    expect(values.agents[1]).toMatchObject({ mode: 'deployment', replicas: 1, hostNetwork: false, config: { agent: { region: '<AWS::Region>' } } });
  });

  test("the agent federates the platform's Prometheus and writes EMF for this cluster to the log group", () => {
    const agent = values.agents[1];
    const [scrape] = agent.otelConfig.receivers['prometheus/cortex_api_metrics'].config.scrape_configs;
    expect(scrape.static_configs).toEqual([{ targets: ['prometheus-server.prometheus.svc.cluster.local:80'] }]);
    expect(scrape.metric_relabel_configs).toContainEqual({ target_label: 'ClusterName', replacement: 'models' });
    expect(agent.otelConfig.exporters['awsemf/cortex_api_metrics']).toMatchObject({
      namespace: 'Cortex',
      region: '<AWS::Region>',
      log_group_name: `<${logGroup.logicalId}>`,
    });
  });

  test('the log group: named after the cluster, kept a week, deleted after the add-on (which depends on it)', () => {
    expect(logGroup.properties).toEqual({ LogGroupName: '/aws/containerinsights/models/cortex-api-metrics', RetentionInDays: 7 });
    expect(template.toJSON().Resources[logGroup.logicalId].DeletionPolicy).toBe('Delete');
    expect(addon.dependsOn).toContain(logGroup.logicalId);
    expect(cw.apiMetricsLogGroup).toBeDefined();
  });

  test('another Prometheus and another retention', () => {
    const other = newStack();
    new CloudWatchObservability(other, 'CloudWatch', {
      cluster: importedCluster(other),
      apiMetrics: { prometheusUrl: 'http://prometheus.monitoring.svc:9090', logRetention: logs.RetentionDays.ONE_DAY },
    });
    const t = Template.fromStack(other);
    const agent = configurationValues(t).agents[1];
    const [scrape] = agent.otelConfig.receivers['prometheus/cortex_api_metrics'].config.scrape_configs;
    expect(scrape.static_configs).toEqual([{ targets: ['prometheus.monitoring.svc:9090'] }]);
    t.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 1 });
  });

  test('the pinned version with the agent, and the oldest that takes its otelConfig object (v3.2.0); v3.1.x refused', () => {
    expect(addon.properties.AddonVersion).toBe(EKS_ADDON_VERSIONS.cloudWatchObservability);
    const ok = newStack();
    new CloudWatchObservability(ok, 'CloudWatch', { cluster: importedCluster(ok), apiMetrics: true, addonVersion: 'v3.2.0-eksbuild.1' });
    Template.fromStack(ok).hasResourceProperties('AWS::EKS::Addon', { AddonVersion: 'v3.2.0-eksbuild.1' });
    const old = newStack();
    expect(
      () => new CloudWatchObservability(old, 'CloudWatch', { cluster: importedCluster(old), apiMetrics: true, addonVersion: 'v3.1.0-eksbuild.1' }),
    ).toThrow(/cloudWatchObservability\.addonVersion \("v3\.1\.0-eksbuild\.1"\) must be 3\.2\.0 or newer: apiMetrics .*otelConfig.*apiMetrics: false/);
    // Without the agent, v3.1.x is enough.
    const noMetrics = newStack();
    new CloudWatchObservability(noMetrics, 'CloudWatch', { cluster: importedCluster(noMetrics), apiMetrics: false, addonVersion: 'v3.1.0-eksbuild.1' });
  });

  test('a stack with a region: the region is written as it is', () => {
    const other = new Stack(new App(), 'Regional', { env: { region: 'eu-west-1', account: '123456789012' } });
    new CloudWatchObservability(other, 'CloudWatch', { cluster: importedCluster(other), apiMetrics: true });
    expect(configurationValues(Template.fromStack(other)).agents[1].config).toEqual({ agent: { region: 'eu-west-1' } });
  });

  test('refuses a Prometheus URL it cannot scrape, and an agent of the same name in the values', () => {
    const other = newStack();
    expect(
      () => new CloudWatchObservability(other, 'A', { cluster: importedCluster(other), apiMetrics: { prometheusUrl: 'prometheus:9090' } }),
    ).toThrow(/apiMetrics\.prometheusUrl \("prometheus:9090"\) must be an http:\/\/ or https:\/\/ URL/);
    const third = newStack();
    expect(
      () =>
        new CloudWatchObservability(third, 'A', {
          cluster: importedCluster(third),
          apiMetrics: true,
          configurationValues: { agents: [{ name: API_METRICS_AGENT }] },
        }),
    ).toThrow(/already has an agent named "cortex-api-metrics"/);
  });
});
