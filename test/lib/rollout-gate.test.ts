import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as cdk from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as eks from 'aws-cdk-lib/aws-eks-v2';
import { AwsSolutionsChecks } from 'cdk-nag';
import { CortexCluster } from '../../lib/cortex-cluster';
import { CortexValidationError } from '../../lib/errors';
import { NodeGroup } from '../../lib/node-group';
import { ApiPlatform } from '../../lib/platform/api-platform';
import { RealtimeApi } from '../../lib/realtime-api';
import {
  DEFAULT_QUERY_INTERVAL,
  ROLLOUT_GATE_RESOURCE_TYPE,
  RolloutGate,
  RolloutGateProvider,
  checkQueryInterval,
  checkRolloutTimeout,
  endpointNeedsVpc,
  rolloutGateBundleDirectory,
} from '../../lib/rollout-gate';
import { HELLO_WORLD_YAML } from '../util';
import { clusterStack, logicalId } from './api-fixtures';
import { parseConfig } from '../../lib/config';

type Resource = { Type: string; Properties: Record<string, any>; DependsOn?: string[] };

/** A stack with a cluster and a manifest to gate (the fixture's namespace manifest stands in for an API's). */
function gated(options: { endpointAccess?: eks.EndpointAccess } = {}) {
  const fixture = options.endpointAccess ? privateClusterStack(options.endpointAccess) : clusterStack();
  const manifest = fixture.cluster.addManifest('Api', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'iris', namespace: 'cortex' } });
  return { ...fixture, manifest };
}

function privateClusterStack(endpointAccess: eks.EndpointAccess) {
  return clusterStack({ endpointAccess });
}

/** The gate's two handler functions (not the provider framework's, not the kubectl provider's). */
function gateHandlers(template: Template): Resource[] {
  return Object.values(template.findResources('AWS::Lambda::Function') as Record<string, Resource>).filter((f) =>
    String(f.Properties.Description).startsWith('cortex-cdk rollout gate'),
  );
}

/** The statements of the policies attached to the gate handler's role. */
function roleStatements(template: Template, provider: RolloutGateProvider): Array<{ Action: string | string[]; Resource: unknown }> {
  const roleId = logicalId(provider.role);
  return Object.values(template.findResources('AWS::IAM::Policy') as Record<string, Resource>)
    .filter((p) => JSON.stringify(p.Properties.Roles) === JSON.stringify([{ Ref: roleId }]))
    .flatMap((p) => p.Properties.PolicyDocument.Statement);
}

describe('RolloutGate on a cluster of this app', () => {
  let fixture: ReturnType<typeof gated>;
  let gate: RolloutGate;
  let template: Template;

  beforeAll(() => {
    // GIVEN
    fixture = gated();
    // WHEN
    gate = new RolloutGate(fixture.stack, 'Gate', {
      cluster: fixture.cluster,
      manifest: fixture.manifest,
      apiName: 'iris',
      namespace: 'cortex',
      specHash: '4228a5cc03be191d',
      deployTimeInputs: ['123456789012.dkr.ecr.us-east-1.amazonaws.com/proxy:abc'],
    });
    template = Template.fromStack(fixture.stack);
  });

  test('THEN a custom resource naming the API, its Deployment and revision, created after the manifest and the access entry', () => {
    const [[id, resource]] = Object.entries(template.findResources(ROLLOUT_GATE_RESOURCE_TYPE) as Record<string, Resource>);
    expect(id).toBe(logicalId(gate.resource));
    expect(resource.Properties).toEqual({
      ServiceToken: { 'Fn::GetAtt': [expect.stringMatching(/^ClusterCortexRolloutGateProviderframeworkonEvent/), 'Arn'] },
      ApiName: 'iris',
      Namespace: 'cortex',
      Deployment: 'iris',
      SpecHash: '4228a5cc03be191d',
      TimeoutSeconds: 600,
      DeployTimeInputs: ['123456789012.dkr.ecr.us-east-1.amazonaws.com/proxy:abc'],
    });
    expect(resource.DependsOn).toEqual(expect.arrayContaining([logicalId(fixture.manifest), logicalId(gate.provider.accessEntry)]));
  });

  test('THEN two handler functions on the current Node.js runtime, from the bundle, told where the cluster is', () => {
    const functions = gateHandlers(template);
    expect(functions.map((f) => f.Properties.Handler).sort()).toEqual(['index.isComplete', 'index.onEvent']);
    const clusterId = logicalId(fixture.cluster);
    for (const fn of functions) {
      expect(fn.Properties.Runtime).toBe('nodejs24.x');
      expect(fn.Properties.Environment.Variables).toEqual({
        CORTEX_CLUSTER_NAME: { Ref: clusterId },
        CORTEX_CLUSTER_ENDPOINT: { 'Fn::GetAtt': [clusterId, 'Endpoint'] },
        CORTEX_CLUSTER_CA: { 'Fn::GetAtt': [clusterId, 'CertificateAuthorityData'] },
      });
      expect(fn.Properties.VpcConfig).toBeUndefined();
      // Its own log group, named as the provider framework's error messages say.
      const logGroup = template.toJSON().Resources[fn.Properties.LoggingConfig.LogGroup.Ref];
      expect(logGroup.Properties).toEqual({ LogGroupName: `/aws/lambda/${fn.Properties.FunctionName}`, RetentionInDays: 30 });
    }
    // Both run the one asset: the bundle's folder, staged as it is.
    expect(new Set(functions.map((f) => JSON.stringify(f.Properties.Code))).size).toBe(1);
    const assembly = fixture.app.synth();
    const files = JSON.parse(fs.readFileSync(path.join(assembly.directory, `${fixture.stack.artifactId}.assets.json`), 'utf8')).files;
    const staged = path.join(assembly.directory, files[functions[0].Properties.Code.S3Key.replace('.zip', '')].source.path);
    expect(fs.readdirSync(staged)).toEqual(['index.js']);
    expect(fs.readFileSync(path.join(staged, 'index.js')).equals(fs.readFileSync(path.join(rolloutGateBundleDirectory(), 'index.js')))).toBe(true);
  });

  test('THEN least privilege: the handler role may write its two log groups, nothing else, no wildcard', () => {
    const statements = roleStatements(template, gate.provider);
    expect(statements).toEqual([
      { Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Effect: 'Allow', Resource: { 'Fn::GetAtt': [expect.stringMatching(/OnEventLogs/), 'Arn'] } },
      { Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Effect: 'Allow', Resource: { 'Fn::GetAtt': [expect.stringMatching(/IsCompleteLogs/), 'Arn'] } },
    ]);
    const role = template.toJSON().Resources[logicalId(gate.provider.role)] as Resource;
    expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    expect(gate.provider.describesCluster).toBe(false);
  });

  test('THEN its Kubernetes access: an access entry with AmazonEKSViewPolicy scoped to the namespace', () => {
    template.hasResourceProperties('AWS::EKS::AccessEntry', {
      ClusterName: { Ref: logicalId(fixture.cluster) },
      PrincipalArn: { 'Fn::GetAtt': [logicalId(gate.provider.role), 'Arn'] },
      AccessPolicies: [
        {
          AccessScope: { Type: 'namespace', Namespaces: ['cortex'] },
          PolicyArn: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':eks::aws:cluster-access-policy/AmazonEKSViewPolicy']] },
        },
      ],
    });
  });

  test('THEN the provider framework polls every 15 s for up to an hour (CloudFormation\'s limit for a custom resource)', () => {
    const [machine] = Object.values(template.findResources('AWS::StepFunctions::StateMachine') as Record<string, Resource>);
    const definition = JSON.stringify(machine.Properties.DefinitionString);
    expect(definition).toContain('\\"IntervalSeconds\\":15');
    expect(definition).toContain('\\"MaxAttempts\\":240');
    expect(gate.provider.queryInterval).toBe(DEFAULT_QUERY_INTERVAL);
  });

});

describe('RolloutGate: two on one cluster', () => {
  test('GIVEN a second gate, in another namespace THEN the same provider, its access entry reading both namespaces', () => {
    const fixture = gated();
    const gate = new RolloutGate(fixture.stack, 'Gate', { cluster: fixture.cluster, manifest: fixture.manifest, apiName: 'iris', namespace: 'cortex', specHash: 'abc' });
    const second = new RolloutGate(fixture.stack, 'Second', {
      cluster: fixture.cluster,
      manifest: fixture.manifest,
      apiName: 'other',
      namespace: 'ml',
      specHash: 'abc',
      timeout: cdk.Duration.minutes(20),
    });
    expect(second.provider).toBe(gate.provider);
    const after = Template.fromStack(fixture.stack);
    after.resourceCountIs('AWS::StepFunctions::StateMachine', 1);
    after.hasResourceProperties('AWS::EKS::AccessEntry', { AccessPolicies: [Match.objectLike({ AccessScope: { Type: 'namespace', Namespaces: ['cortex', 'ml'] } })] });
    after.hasResourceProperties(ROLLOUT_GATE_RESOURCE_TYPE, { ApiName: 'other', TimeoutSeconds: 1200, DeployTimeInputs: Match.absent() });
  });
});

describe('RolloutGate in a nested stack', () => {
  test('GIVEN the cluster in the parent THEN the provider stays in the parent and the gate gets its service token as a parameter', () => {
    // GIVEN
    const fixture = gated();
    const nested = new cdk.NestedStack(fixture.stack, 'Apis00');
    const manifest = new eks.KubernetesManifest(nested, 'Iris', { cluster: fixture.cluster, manifest: [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'iris' } }] });
    // WHEN
    const gate = new RolloutGate(nested, 'Gate', { cluster: fixture.cluster, manifest, apiName: 'iris', namespace: 'cortex', specHash: 'abc' });
    // THEN
    const parent = Template.fromStack(fixture.stack);
    const child = Template.fromStack(nested);
    expect(cdk.Stack.of(gate.provider)).toBe(fixture.stack);
    child.resourceCountIs('AWS::Lambda::Function', 0);
    const [resource] = Object.values(child.findResources(ROLLOUT_GATE_RESOURCE_TYPE) as Record<string, Resource>);
    expect(resource.Properties.ServiceToken).toEqual({ Ref: expect.stringMatching(/CortexRolloutGateProviderframeworkonEvent/) });
    expect(resource.DependsOn).toEqual([logicalId(manifest)]);
    // The access entry is in the parent: the whole nested stack waits for it.
    const [nestedResource] = Object.values(parent.findResources('AWS::CloudFormation::Stack') as Record<string, Resource>);
    expect(nestedResource.DependsOn).toContain(logicalId(gate.provider.accessEntry));
  });
});

describe('RolloutGateProvider placement', () => {
  test.each([
    ['private only', eks.EndpointAccess.PRIVATE],
    ['public restricted to CIDRs', eks.EndpointAccess.PUBLIC_AND_PRIVATE.onlyFrom('203.0.113.0/24')],
  ])('GIVEN an endpoint %s THEN the handlers run in the cluster\'s VPC with the cluster security group', (_what, endpointAccess) => {
    const fixture = gated({ endpointAccess });
    const gate = new RolloutGate(fixture.stack, 'Gate', { cluster: fixture.cluster, manifest: fixture.manifest, apiName: 'iris', namespace: 'cortex', specHash: 'abc' });
    const template = Template.fromStack(fixture.stack);
    expect(gate.provider.inVpc).toBe(true);
    const handlers = gateHandlers(template);
    expect(handlers).toHaveLength(2);
    for (const fn of handlers) {
      expect(fn.Properties.VpcConfig.SecurityGroupIds).toEqual([{ 'Fn::GetAtt': [logicalId(fixture.cluster), 'ClusterSecurityGroupId'] }]);
      expect(fn.Properties.VpcConfig.SubnetIds.length).toBeGreaterThan(0);
    }
    // The network interface permissions of a function in a VPC, AWS managed.
    const role = template.toJSON().Resources[logicalId(gate.provider.role)] as Resource;
    expect(JSON.stringify(role.Properties.ManagedPolicyArns)).toContain('service-role/AWSLambdaVPCAccessExecutionRole');
    // The provider framework's own functions stay outside: they call AWS APIs, not the cluster.
    const framework = Object.values(template.findResources('AWS::Lambda::Function') as Record<string, Resource>).filter((f) => String(f.Properties.Description).includes('/CortexRolloutGate/'));
    expect(framework).toHaveLength(3);
    expect(framework.every((f) => f.Properties.VpcConfig === undefined)).toBe(true);
  });

  test('endpointNeedsVpc: public to all or imported: no; private only or CIDR-restricted: yes', () => {
    expect(endpointNeedsVpc(privateClusterStack(eks.EndpointAccess.PUBLIC_AND_PRIVATE).cluster)).toBe(false);
    expect(endpointNeedsVpc(privateClusterStack(eks.EndpointAccess.PUBLIC).cluster)).toBe(false);
    expect(endpointNeedsVpc(privateClusterStack(eks.EndpointAccess.PUBLIC_AND_PRIVATE.onlyFrom('0.0.0.0/0')).cluster)).toBe(false);
    expect(endpointNeedsVpc(privateClusterStack(eks.EndpointAccess.PRIVATE).cluster)).toBe(true);
    const stack = new cdk.Stack();
    expect(endpointNeedsVpc(eks.Cluster.fromClusterAttributes(stack, 'Imported', { clusterName: 'x' }))).toBe(false);
  });
});

describe('RolloutGate on an imported cluster', () => {
  const env = { account: '123456789012', region: 'us-east-1' };
  const importedStack = (attrs: Partial<eks.ClusterAttributes> = {}) => {
    const stack = new cdk.Stack(new cdk.App(), 'Imported', { env });
    const kubectlProvider = eks.KubectlProvider.fromKubectlProviderAttributes(stack, 'KubectlProvider', { serviceToken: 'arn:aws:lambda:us-east-1:123456789012:function:kubectl' });
    const cluster = eks.Cluster.fromClusterAttributes(stack, 'Cluster', { clusterName: 'production', kubectlProvider, ...attrs });
    const manifest = cluster.addManifest('Api', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'iris' } });
    return { stack, cluster, manifest };
  };

  test('GIVEN only its name THEN the handler asks EKS for endpoint and CA, allowed eks:DescribeCluster on that cluster only', () => {
    const { stack, cluster, manifest } = importedStack();
    const gate = new RolloutGate(stack, 'Gate', { cluster, manifest, apiName: 'iris', namespace: 'cortex', specHash: 'abc' });
    const template = Template.fromStack(stack);
    expect(gate.provider.describesCluster).toBe(true);
    expect(roleStatements(template, gate.provider)).toContainEqual({
      Action: 'eks:DescribeCluster',
      Effect: 'Allow',
      Resource: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':eks:us-east-1:123456789012:cluster/production']] },
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Handler: 'index.isComplete',
      Environment: { Variables: { CORTEX_CLUSTER_NAME: 'production', CORTEX_CLUSTER_ENDPOINT: '', CORTEX_CLUSTER_CA: '' } },
    });
  });

  test('GIVEN its endpoint and CA THEN no eks: permission at all', () => {
    const { stack, cluster, manifest } = importedStack({ clusterEndpoint: 'https://ABC.eks.amazonaws.com', clusterCertificateAuthorityData: 'Q0E=' });
    const gate = new RolloutGate(stack, 'Gate', { cluster, manifest, apiName: 'iris', namespace: 'cortex', specHash: 'abc' });
    expect(gate.provider.describesCluster).toBe(false);
    expect(JSON.stringify(roleStatements(Template.fromStack(stack), gate.provider))).not.toContain('eks:');
  });

  test('GIVEN inVpc without the cluster\'s VPC THEN an error naming the attribute', () => {
    const { cluster } = importedStack();
    expect(() => RolloutGateProvider.of(cluster, { inVpc: true })).toThrow(CortexValidationError);
    expect(() => RolloutGateProvider.of(importedStack().cluster, { inVpc: true })).toThrow(/cluster \(Imported\/Cluster\) has no vpc, which the rollout gate needs/);
  });

  test('GIVEN inVpc with the cluster\'s VPC and security group THEN the handlers run there', () => {
    const stack = new cdk.Stack(new cdk.App(), 'Imported', { env });
    const vpc = new ec2.Vpc(stack, 'Vpc', { natGateways: 0, subnetConfiguration: [{ name: 'Isolated', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }] });
    const cluster = eks.Cluster.fromClusterAttributes(stack, 'Cluster', { clusterName: 'production', vpc, clusterSecurityGroupId: 'sg-12345678' });
    const provider = RolloutGateProvider.of(cluster, { inVpc: true });
    provider.allowNamespace('cortex');
    Template.fromStack(stack).hasResourceProperties('AWS::Lambda::Function', {
      Handler: 'index.isComplete',
      VpcConfig: { SecurityGroupIds: ['sg-12345678'], SubnetIds: Match.anyValue() },
    });
  });
});

describe('RolloutGate props validation', () => {
  test('checkRolloutTimeout: whole seconds from 1 to 55 minutes', () => {
    expect(() => checkRolloutTimeout(cdk.Duration.minutes(1))).not.toThrow();
    expect(() => checkRolloutTimeout(cdk.Duration.minutes(55))).not.toThrow();
    expect(() => checkRolloutTimeout(cdk.Duration.seconds(30))).toThrow(
      'rolloutGate.timeout (30 seconds) must be whole seconds from 1 minute to 55 minutes (CloudFormation waits at most an hour for a custom resource)',
    );
    expect(() => checkRolloutTimeout(cdk.Duration.hours(1))).toThrow(/^rolloutGate\.timeout \(1 hour\) must be/);
    expect(() => checkRolloutTimeout(cdk.Duration.millis(90_500))).toThrow(CortexValidationError);
  });

  test('checkQueryInterval: whole seconds from 5 s to 5 minutes', () => {
    expect(() => checkQueryInterval(cdk.Duration.seconds(5))).not.toThrow();
    expect(() => checkQueryInterval(cdk.Duration.seconds(2))).toThrow('queryInterval (2 seconds) must be whole seconds from 5 seconds to 5 minutes');
  });

  test('a gate with a bad timeout throws before anything is made', () => {
    const fixture = gated();
    expect(() =>
      new RolloutGate(fixture.stack, 'Gate', { cluster: fixture.cluster, manifest: fixture.manifest, apiName: 'iris', namespace: 'cortex', specHash: 'abc', timeout: cdk.Duration.hours(2) }),
    ).toThrow(/rolloutGate\.timeout \(2 hours\)/);
    expect(fixture.cluster.node.tryFindChild('CortexRolloutGate')).toBeUndefined();
  });

  test('provider options once the provider exists throw: they would be ignored', () => {
    const fixture = gated();
    RolloutGateProvider.of(fixture.cluster, { queryInterval: cdk.Duration.seconds(30) }).allowNamespace('cortex');
    expect(RolloutGateProvider.of(fixture.cluster).queryInterval.toSeconds()).toBe(30);
    expect(() => RolloutGateProvider.of(fixture.cluster, { queryInterval: cdk.Duration.seconds(10) })).toThrow(/already exists; pass its options on the first call/);
  });

  test('the bundle is found from lib/ (sources) and from dist/lib/ (compiled); missing, an error says how to build it', () => {
    const root = path.resolve(__dirname, '..', '..');
    const bundle = path.join(root, 'dist', 'lambda', 'rollout-gate', 'bundle');
    expect(rolloutGateBundleDirectory(path.join(root, 'lib'))).toBe(bundle);
    expect(rolloutGateBundleDirectory(path.join(root, 'dist', 'lib'))).toBe(bundle);
    const elsewhere = path.join(os.tmpdir(), 'cortex-cdk-not-built', 'lib');
    expect(() => rolloutGateBundleDirectory(elsewhere)).toThrow(
      /^cortex-cdk: the rollout gate's Lambda bundle is missing \(looked for index\.js in .*\): run npm run build \(or node scripts\/bundle-lambdas\.js\)/,
    );
  });
});

test('cdk-nag AwsSolutions finds nothing unacknowledged in a private cluster\'s gated API', () => {
  // GIVEN a CortexCluster (which acknowledges its own findings) with a private endpoint, so the gate runs in the VPC
  const app = new cdk.App();
  cdk.Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  const stack = new cdk.Stack(app, 'Nag');
  const cortex = new CortexCluster(stack, 'Cluster', { endpointAccess: eks.EndpointAccess.PRIVATE, nodeGroups: [NodeGroup.cpu()] });
  // WHEN
  const api = new RealtimeApi(stack, 'Hello', {
    cluster: cortex.cluster,
    api: parseConfig(HELLO_WORLD_YAML, 'cortex.yaml').apis[0],
    platform: ApiPlatform.existing(),
    proxyImage: 'example.com/proxy:1',
    monitoring: false,
  });
  // THEN
  expect(api.rolloutGate!.provider.inVpc).toBe(true);
  let error = '';
  try {
    app.synth();
  } catch (e) {
    error = String(e);
  }
  expect(error).toBe('');
});
