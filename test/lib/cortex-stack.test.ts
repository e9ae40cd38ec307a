import * as fs from 'node:fs';
import * as path from 'node:path';
import * as cdk from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { CortexConfig, loadConfigFile, mergeConfigs } from '../../lib/config';
import { CortexStack } from '../../lib/cortex-stack';
import { validateObjects } from '../schema/validate';

// aws-cdk-lib's built-in CloudFormation validation, off in the other files (test/support/global-setup.js),
// checks every template of the example app here (jest gives each test file a copy of process.env).
process.env.CDK_VALIDATION = 'true';

// The example app, as `npx cdk synth` builds it: every example's APIs on a cluster with the platform.
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
  let error = '';
  try {
    app.synth();
  } catch (e) {
    error = String(e);
  }
  expect(error).toBe('');
});

test('the cdk-nag check is not vacuous: a finding in the stack fails the synth', () => {
  const app = new cdk.App();
  cdk.Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  const stack = new cdk.Stack(app, 'Bad');
  new cdk.aws_s3.Bucket(stack, 'Unencrypted'); // no SSL enforcement, no access logs: AwsSolutions-S1, S10
  expect(() => app.synth()).toThrow(/AwsSolutions-S/);
});
