import * as fs from 'node:fs';
import * as path from 'node:path';
import * as cdk from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { CortexConfig, configFromObject, loadConfigFile, mergeConfigs } from '../../lib/config';
import { CortexStack } from '../../lib/cortex-stack';
import { validateObjects } from '../schema/validate';

// aws-cdk-lib's built-in CloudFormation validation, off in the other files (test/support/global-setup.js),
// checks every template of the example app here (jest gives each test file a copy of process.env).
process.env.CDK_VALIDATION = 'true';

// The example app, as `npx cdk synth` builds it: every example's APIs on a cluster with the platform.
/** What synthesizing the app throws (cdk-nag's findings stop it), or '' when it synthesizes. */
function synthError(app: cdk.App): string {
  try {
    app.synth();
    return '';
  } catch (e) {
    return String(e);
  }
}

const examplesDir = path.join(__dirname, '..', '..', 'examples');
function examplesConfig(): CortexConfig {
  const files = fs
    .readdirSync(examplesDir)
    .map((d) => path.join(examplesDir, d, 'cortex.yaml'))
    .filter((f) => fs.existsSync(f));
  return mergeConfigs(files.map((f) => loadConfigFile(f)));
}

type KubeObject = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string } };

/** A manifest property with its deploy-time tokens (image URIs...) replaced by a placeholder string. */
function manifestObjects(manifest: unknown): KubeObject[] {
  const flatten = (v: unknown): string => {
    if (typeof v === 'string') return v;
    const join = (v as { 'Fn::Join'?: [string, unknown[]] })['Fn::Join'];
    if (join) return join[1].map(flatten).join(join[0]);
    return 'deploy-time-value';
  };
  return JSON.parse(flatten(manifest));
}

function allTemplates(stack: cdk.Stack): Template[] {
  const nested = stack.node.findAll().filter((c): c is cdk.NestedStack => c instanceof cdk.NestedStack);
  return [Template.fromStack(stack), ...nested.map((n) => Template.fromStack(n))];
}

describe('CortexStack with every example', () => {
  let stack: CortexStack;
  let templates: Template[];
  let objects: KubeObject[];

  beforeAll(() => {
    const app = new cdk.App();
    stack = new CortexStack(app, 'Cortex', { config: examplesConfig() });
    templates = allTemplates(stack);
    objects = templates.flatMap((t) =>
      Object.values(t.findResources('Custom::AWSCDK-EKS-KubernetesResource')).flatMap((r) => manifestObjects(r.Properties.Manifest)),
    );
  });

  test('one cluster with a CPU, a GPU and an Inferentia node group, each with its AL2023 AMI', () => {
    const parent = templates[0];
    parent.resourceCountIs('AWS::EKS::Cluster', 1);
    const amiTypes = Object.values(parent.findResources('AWS::EKS::Nodegroup')).map((r) => r.Properties.AmiType);
    expect(amiTypes.sort()).toEqual(['AL2023_x86_64_NEURON', 'AL2023_x86_64_NVIDIA', 'AL2023_x86_64_STANDARD']);
  });

  test('the platform charts are in the parent stack', () => {
    const charts = Object.values(templates[0].findResources('Custom::AWSCDK-EKS-HelmChart')).map((r) => r.Properties.Chart);
    expect(charts).toEqual(expect.arrayContaining(['base', 'istiod', 'gateway', 'keda', 'prometheus', 'nvidia-device-plugin', 'cluster-autoscaler', 'metrics-server']));
  });

  test('every API and splitter of the examples is deployed, each exactly once', () => {
    const config = examplesConfig();
    const deployments = objects.filter((o) => o.kind === 'Deployment').map((o) => o.metadata.name);
    expect(deployments.sort()).toEqual(config.apis.map((a) => a.name).sort());
    const virtualServices = objects.filter((o) => o.kind === 'VirtualService').map((o) => o.metadata.name);
    expect(virtualServices.sort()).toEqual(config.specs.map((s) => s.name).sort());
  });

  test('every Kubernetes object in the templates passes the Kubernetes, Istio and KEDA schemas', () => {
    expect(objects.length).toBeGreaterThan(40);
    expect(validateObjects(objects)).toEqual([]);
  });

  test('no template nears CloudFormation limits', () => {
    for (const t of templates) {
      const json = t.toJSON();
      expect(JSON.stringify(json).length).toBeLessThan(1_000_000);
      expect(Object.keys(json.Resources ?? {}).length).toBeLessThan(500);
    }
  });

  test('the gateway URL is an output', () => {
    expect(Object.keys(templates[0].findOutputs('*')).some((k) => k.includes('GatewayUrl'))).toBe(true);
  });
});

test('cdk-nag AwsSolutions finds nothing unacknowledged in the example stack', () => {
  const app = new cdk.App();
  cdk.Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  new CortexStack(app, 'Cortex', { config: examplesConfig() });
  expect(synthError(app)).toBe('');
});

test('the cdk-nag check is not vacuous: a finding in the stack fails the synth', () => {
  const app = new cdk.App();
  cdk.Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  const stack = new cdk.Stack(app, 'Bad');
  new cdk.aws_s3.Bucket(stack, 'Unencrypted'); // no SSL enforcement, no access logs: AwsSolutions-S1, S10
  expect(() => app.synth()).toThrow(/AwsSolutions-S/);
});

describe('the edge, configured through CortexStackProps', () => {
  // GIVEN TLS with a domain name, an allow-list, and a restricted EKS endpoint, in a stack of eu-west-1
  const certificate = 'arn:aws:acm:eu-west-1:123456789012:certificate/0a1b2c3d-4e5f-6789-abcd-ef0123456789';
  const app = new cdk.App();
  const config = loadConfigFile(path.join(examplesDir, 'iris-classifier', 'cortex.yaml'));
  const stack = new CortexStack(app, 'Secure', {
    env: { account: '123456789012', region: 'eu-west-1' },
    config,
    cluster: { endpointAccess: cdk.aws_eks_v2.EndpointAccess.PUBLIC_AND_PRIVATE.onlyFrom('203.0.113.0/24') },
    platform: { gateway: { sslCertificateArn: certificate, domainName: 'api.example.com', loadBalancerSourceRanges: ['198.51.100.0/24'] } },
  });
  const template = Template.fromStack(stack);

  test('the outputs are https:// URLs on the domain name, and the load balancer host name is one for the DNS record', () => {
    const outputs = template.findOutputs('*');
    const byId = (part: string) => Object.entries(outputs).find(([id]) => id.includes(part))?.[1];
    expect(byId('GatewayUrl')?.Value).toBe('https://api.example.com');
    expect(byId('Urlirisclassifier')?.Value).toBe('https://api.example.com/iris-classifier');
    expect(byId('LoadBalancerHostname')).toBeDefined();
  });

  test('the load balancer Service: TLS on 443 only, the allow-list as its source ranges, valid against the schema', () => {
    const lb = Object.values(template.findResources('Custom::AWSCDK-EKS-KubernetesResource'))
      .flatMap((r) => manifestObjects(r.Properties.Manifest))
      .find((o) => o.metadata.name === 'apis-gateway-lb') as KubeObject & { spec: Record<string, any>; metadata: { annotations: Record<string, string> } };
    expect(lb.spec.ports).toEqual([{ name: 'https', port: 443, protocol: 'TCP', targetPort: 80 }]);
    expect(lb.spec.loadBalancerSourceRanges).toEqual(['198.51.100.0/24']);
    expect(lb.metadata.annotations['service.beta.kubernetes.io/aws-load-balancer-ssl-cert']).toBe(certificate);
    expect(validateObjects([lb])).toEqual([]);
  });

  test('the EKS endpoint is restricted, so no public-endpoint warning; the default stack has one', () => {
    template.hasResourceProperties('AWS::EKS::Cluster', {
      ResourcesVpcConfig: cdk.assertions.Match.objectLike({ PublicAccessCidrs: ['203.0.113.0/24'] }),
    });
    const warnings = (s: cdk.Stack) => cdk.assertions.Annotations.fromStack(s).findWarning('*', cdk.assertions.Match.stringLikeRegexp('eks-endpoint-open-to-all'));
    expect(warnings(stack)).toEqual([]);
    const open = new CortexStack(new cdk.App(), 'Open', { config });
    expect(warnings(open)).toHaveLength(1);
  });
});

describe('AWS permissions for APIs through CortexStackProps (apiPolicyArns)', () => {
  // GIVEN a policy for every API, and an API with its model on S3
  const shared = 'arn:aws:iam::123456789012:policy/cortex/feature-store-read';
  const config = configFromObject([
    { name: 'resnet', kind: 'RealtimeAPI', predictor: { type: 'python', path: 'predictor.py', image: 'example.com/resnet:1', multi_model_reloading: { dir: 's3://models-bucket/resnet/' } } },
    { name: 'echo', kind: 'RealtimeAPI', pod: { containers: [{ name: 'api', image: 'hashicorp/http-echo:1.0' }] } },
  ]);
  const build = (app: cdk.App, apiPolicyArns?: string[]) => new CortexStack(app, 'Permissions', { config, apiPolicyArns });

  test('every API\'s role gets the stack\'s policies; the API with an S3 model may read it', () => {
    const stack = build(new cdk.App(), [shared]);
    const roles = allTemplates(stack).flatMap((t) => Object.values(t.findResources('AWS::IAM::Role', { Properties: { Description: Match.stringLikeRegexp('RealtimeAPI') } })));
    expect(roles.map((r) => r.Properties.Description).sort()).toEqual([
      'cortex-cdk: the pods of the RealtimeAPI echo (EKS Pod Identity)',
      'cortex-cdk: the pods of the RealtimeAPI resnet (EKS Pod Identity)',
    ]);
    expect(roles.every((r) => JSON.stringify(r.Properties.ManagedPolicyArns) === JSON.stringify([shared]))).toBe(true);
    const resnet = roles.find((r) => r.Properties.Description.includes('resnet'))!;
    expect(resnet.Properties.Policies[0].PolicyDocument.Statement.map((s: { Action: string }) => s.Action)).toEqual(['s3:ListBucket', 's3:GetObject']);
    expect(roles.find((r) => r.Properties.Description.includes('echo'))!.Properties.Policies).toBeUndefined();
  });

  test('cdk-nag: the models prefix wildcard is acknowledged with its reason; nothing else is found', () => {
    const app = new cdk.App();
    cdk.Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    build(app, [shared]);
    expect(synthError(app)).toBe('');
  });

  test('a bad ARN stops the synth, naming the prop, the index, the value and what is allowed', () => {
    expect(() => build(new cdk.App(), ['arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess', 'arn:aws:s3:::models-bucket'])).toThrow(
      /^apiPolicyArns\[1\]: must be an IAM managed policy ARN: .*, got "arn:aws:s3:::models-bucket"$/,
    );
  });
});
