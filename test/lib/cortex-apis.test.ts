import * as fs from 'node:fs';
import * as path from 'node:path';
import * as cdk from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as YAML from 'yaml';
import { generatedConfig } from '../../bench/synth';
import { ConfigError, configFromObject, mergeConfigs, type CortexConfig } from '../../lib/config';
import {
  CortexApis,
  DEFAULT_API_STACKS,
  MANIFEST_OVERHEAD_BYTES,
  TEMPLATE_BYTE_BUDGET,
  TEMPLATE_RESOURCE_BUDGET,
  TOKEN_BYTES,
  apiStackIndex,
  checkMaxUrlOutputs,
  checkStackCount,
  manifestTemplateBytes,
} from '../../lib/cortex-apis';
import { CortexValidationError } from '../../lib/errors';
import { RealtimeApi } from '../../lib/realtime-api';
import { runCli, tempDir, writeFile } from '../util';
import { ENDPOINT_URL, KubeObject, MANIFEST_TYPE, clusterStack, logicalId, manifestsOf, writeProject } from './api-fixtures';

const dir = tempDir('cortex-apis-');

const CORTEX_YAML = `- name: hello
  kind: RealtimeAPI
  pod:
    containers: [{name: api, image: "example.com/hello:1"}]
- name: iris
  kind: RealtimeAPI
  predictor: {type: python, path: predictor.py}
- name: other
  kind: RealtimeAPI
  pod:
    containers: [{name: api, image: "example.com/other:1"}]
  networking: {endpoint: /v2/other}
- name: split
  kind: TrafficSplitter
  apis: [{name: hello, weight: 50}, {name: other, weight: 50}, {name: iris, weight: 10, shadow: true}]
`;

/** The nested stacks' templates, by the nested stack's id. */
function nestedTemplates(apis: CortexApis): Map<string, Template> {
  return new Map(apis.stacks.map((s) => [s.node.id, Template.fromStack(s)]));
}

/** The parent's AWS::CloudFormation::Stack resource of a nested stack. */
function nestedStackResource(parent: Template, stack: cdk.NestedStack): { DependsOn?: string[]; Properties: { Parameters: Record<string, unknown> } } {
  return parent.toJSON().Resources[cdk.Stack.of(stack.nestedStackResource!).resolve(stack.nestedStackResource!.logicalId)];
}

describe('CortexApis.fromConfigFile: three APIs and a splitter', () => {
  let fixture: ReturnType<typeof clusterStack>;
  let apis: CortexApis;
  let parent: Template;
  let nested: Map<string, Template>;

  beforeAll(() => {
    // GIVEN
    const project = writeProject(path.join(dir, 'project'));
    const file = writeFile(project, 'cortex.yaml', CORTEX_YAML);
    fixture = clusterStack({ endpointUrl: ENDPOINT_URL });
    // WHEN
    apis = CortexApis.fromConfigFile(fixture.stack, 'CortexApis', file, { cluster: fixture.cluster, platform: fixture.platform });
    parent = Template.fromStack(fixture.stack);
    nested = nestedTemplates(apis);
  });

  test('THEN a construct with the APIs and the splitters by name, in file order', () => {
    expect(apis.node.id).toBe('CortexApis');
    expect([...apis.apis.keys()]).toEqual(['hello', 'iris', 'other']);
    expect([...apis.splitters.keys()]).toEqual(['split']);
  });

  test('THEN each API is one manifest in its nested stack; the parent holds none of them', () => {
    const names = [...nested.values()].flatMap((t) => manifestsOf(t).map((m) => m.objects.find((o) => o.kind !== 'ConfigMap' && o.kind !== 'ServiceAccount')!.metadata.name));
    expect(names.sort()).toEqual(['hello', 'iris', 'other', 'split']);
    expect(manifestsOf(parent).map((m) => m.id)).toEqual([logicalId(fixture.namespace)]);
    for (const [name, api] of apis.apis) {
      const stack = cdk.Stack.of(api);
      expect(stack.nestedStackParent).toBe(fixture.stack);
      expect(stack.node.id).toBe(`Apis${String(apiStackIndex(name, DEFAULT_API_STACKS)).padStart(2, '0')}`);
    }
    expect(cdk.Stack.of(apis.splitters.get('split')!).node.id).toMatch(/^Splitters\d\d$/);
  });

  test('THEN the nested stacks reach the parent\'s kubectl provider and cluster through parameters', () => {
    for (const stack of apis.stacks) {
      const [manifest] = manifestsOf(nested.get(stack.node.id)!);
      const serviceToken = (manifest.properties.ServiceToken as { Ref: string }).Ref;
      const clusterName = (manifest.properties.ClusterName as { Ref: string }).Ref;
      const parameters = nestedStackResource(parent, stack).Properties.Parameters;
      expect(parameters[serviceToken]).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^ClusterKubectlProvider/), 'Arn'] });
      expect(parameters[clusterName]).toEqual({ Ref: logicalId(fixture.cluster) });
    }
  });

  test('THEN every nested stack waits for the platform; the splitter\'s for its targets\' stacks too', () => {
    for (const stack of apis.stacks) {
      expect(nestedStackResource(parent, stack).DependsOn).toContain(logicalId(fixture.namespace));
    }
    const splitterStack = cdk.Stack.of(apis.splitters.get('split')!) as cdk.NestedStack;
    const dependsOn = nestedStackResource(parent, splitterStack).DependsOn;
    for (const target of ['hello', 'iris', 'other']) {
      const apiStack = cdk.Stack.of(apis.apis.get(target)!) as cdk.NestedStack;
      expect(dependsOn).toContain(cdk.Stack.of(fixture.stack).resolve(apiStack.nestedStackResource!.logicalId));
    }
  });

  test('THEN the predictor-form API runs its image asset, resolved inside its nested stack', () => {
    const iris = apis.apis.get('iris')!;
    const [manifest] = manifestsOf(nested.get(cdk.Stack.of(iris).node.id)!).filter((m) => m.text.includes('"iris-predictor"'));
    expect(manifest.text).toContain(`:${iris.predictorImageAsset!.assetHash}'}>`);
    expect(apis.apis.get('hello')!.predictorImageAsset).toBeUndefined();
  });

  test('THEN outputs: the gateway\'s base URL and one URL per API and splitter', () => {
    const outputs = Object.values(parent.toJSON().Outputs) as Array<{ Value: string; Description: string }>;
    expect(outputs.map((o) => o.Value).sort()).toEqual(
      [ENDPOINT_URL, `${ENDPOINT_URL}/hello`, `${ENDPOINT_URL}/iris`, `${ENDPOINT_URL}/v2/other`, `${ENDPOINT_URL}/split`].sort(),
    );
    expect(outputs.find((o) => o.Value === `${ENDPOINT_URL}/split`)!.Description).toBe('URL of the TrafficSplitter split');
    for (const t of nested.values()) {
      expect(t.toJSON().Outputs).toBeUndefined();
    }
  });
});

describe('CortexApis deploys exactly the objects `cortex manifests` prints', () => {
  test('GIVEN a cortex.yaml and the same images THEN the same objects (plus the kubectl handler\'s prune label)', () => {
    // GIVEN
    const project = writeProject(path.join(dir, 'same-objects'));
    const file = writeFile(project, 'cortex.yaml', CORTEX_YAML);
    const images = ['--proxy-image', 'example.com/proxy:1', '--predictor-image', 'example.com/iris:1'];
    const printed = YAML.parseAllDocuments(runCli(['manifests', '-f', file, ...images], project).out).map((d) => d.toJS() as KubeObject);
    // WHEN
    const { stack, cluster } = clusterStack();
    const apis = CortexApis.fromConfigFile(stack, 'Apis', file, { cluster, proxyImage: 'example.com/proxy:1', predictorImage: 'example.com/iris:1' });
    const deployed = apis.stacks.flatMap((s) => manifestsOf(Template.fromStack(s))).flatMap((m) => m.objects);
    // THEN
    const withoutPruneLabel = (o: KubeObject) => ({
      ...o,
      metadata: { ...o.metadata, labels: Object.fromEntries(Object.entries(o.metadata.labels ?? {}).filter(([k]) => !k.startsWith('aws.cdk.eks/prune-'))) },
    });
    const key = (o: KubeObject) => `${o.kind}/${o.metadata.name}`;
    const sorted = (objects: KubeObject[]) => [...objects].sort((a, b) => key(a).localeCompare(key(b)));
    expect(printed.length).toBeGreaterThan(10);
    expect(sorted(deployed.map(withoutPruneLabel))).toEqual(sorted(printed));
  });
});

describe('RealtimeApi.fromConfigFile (deprecated: CortexApis.fromConfigFile)', () => {
  test('GIVEN the old call THEN the same CortexApis, named by its id prop or CortexApis, and a deprecation warning naming the call to use', () => {
    // GIVEN
    const file = writeFile(dir, 'deprecated/cortex.yaml', '- name: a\n  kind: RealtimeAPI\n  pod: {containers: [{name: api, image: "a:1"}]}\n');
    const { stack, cluster } = clusterStack();
    // WHEN
    const apis = RealtimeApi.fromConfigFile(stack, file, { cluster, proxyImage: 'p:1' });
    const named = RealtimeApi.fromConfigFile(stack, file, { cluster, proxyImage: 'p:1', id: 'Named' });
    // THEN
    expect(apis).toBeInstanceOf(CortexApis);
    expect([apis.node.id, named.node.id]).toEqual(['CortexApis', 'Named']);
    expect([...apis.apis.keys()]).toEqual(['a']);
    const warnings = Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('RealtimeApi#fromConfigFile'));
    expect(warnings.map((w) => w.id.split('/').pop())).toEqual(['CortexApis', 'Named']);
    expect(String(warnings[0].entry.data)).toMatch(/deprecated: use CortexApis\.fromConfigFile\(scope, 'CortexApis', file, props\)/);
  });

  test('GIVEN CortexApis.fromConfigFile THEN no deprecation warning', () => {
    const file = writeFile(dir, 'not-deprecated/cortex.yaml', '- name: a\n  kind: RealtimeAPI\n  pod: {containers: [{name: api, image: "a:1"}]}\n');
    const { stack, cluster } = clusterStack();
    CortexApis.fromConfigFile(stack, 'Apis', file, { cluster, proxyImage: 'p:1' });
    expect(Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('deprecated'))).toEqual([]);
  });
});

describe('CortexApis in another stack than its cluster', () => {
  test('GIVEN the cluster in stack A WHEN the APIs are in stack B THEN the nested stacks import provider and cluster name from A', () => {
    // GIVEN
    const { app, cluster, stack: clusterStackOfA } = clusterStack();
    const stack = new cdk.Stack(app, 'Apis');
    const config = configFromObject([{ name: 'a', kind: 'RealtimeAPI', pod: { containers: [{ name: 'api', image: 'a:1' }] } }]);
    // WHEN
    const apis = new CortexApis(stack, 'Apis', { cluster, config, proxyImage: 'example.com/proxy:1' });
    // THEN
    const [manifest] = manifestsOf(Template.fromStack(apis.stacks[0]));
    expect(manifest.properties.ServiceToken).toEqual({ 'Fn::ImportValue': expect.stringMatching(/^Test:.*KubectlProvider/) });
    expect(manifest.properties.ClusterName).toEqual({ 'Fn::ImportValue': expect.stringMatching(/^Test:.*Cluster/) });
    expect(stack.dependencies).toContain(clusterStackOfA);
  });
});

describe('CortexApis nested stack descriptions', () => {
  test('GIVEN APIs from 30 files under a long checkout path THEN every description within the limits (512 characters, 1,024 bytes)', () => {
    // GIVEN: a merged config, as the example app builds it, read from a deep directory
    const { stack, cluster } = clusterStack();
    const root = `/check/${'a-long-directory-name/'.repeat(8)}`;
    const config = mergeConfigs(
      Array.from({ length: 30 }, (_, i) =>
        configFromObject([{ name: `api-${i}`, kind: 'RealtimeAPI', pod: { containers: [{ name: 'api', image: 'a:1' }] } }], `${root}example-${i}/cortex.yaml`),
      ),
    );
    // WHEN
    const apis = new CortexApis(stack, 'Apis', { cluster, config, proxyImage: 'example.com/proxy:1', apiStacks: 4, rolloutGate: false, monitoring: false });
    // THEN
    for (const nested of apis.stacks) {
      const description = Template.fromStack(nested).toJSON().Description as string;
      expect(description.length).toBeLessThanOrEqual(512);
      expect(Buffer.byteLength(description)).toBeLessThanOrEqual(1024);
      expect(description).toMatch(/^cortex-cdk: RealtimeAPIs of \/check\/.*example-0\/cortex\.yaml, .* and \d+ more files, stack \d of 4 \(by name hash\)$/);
    }
  });
});

describe('CortexApis at scale: 300 APIs and 30 splitters', () => {
  let apis: CortexApis;
  let config: CortexConfig;
  let parent: Template;
  let nested: Map<string, Template>;

  beforeAll(() => {
    // GIVEN
    const project = writeProject(path.join(dir, 'scale'));
    config = configFromObject(generatedConfig(300, 30), path.join(project, 'cortex.yaml'));
    const fixture = clusterStack({ endpointUrl: ENDPOINT_URL });
    // WHEN
    apis = new CortexApis(fixture.stack, 'Apis', { cluster: fixture.cluster, config, platform: fixture.platform });
    parent = Template.fromStack(fixture.stack);
    nested = nestedTemplates(apis);
  });

  test('THEN the APIs are spread over many nested stacks, the splitters over their own', () => {
    const ids = [...nested.keys()];
    expect(ids.filter((id) => id.startsWith('Apis')).length).toBeGreaterThan(20);
    expect(ids.filter((id) => id.startsWith('Splitters')).length).toBeGreaterThan(1);
    parent.resourceCountIs('AWS::CloudFormation::Stack', ids.length);
  });

  test('THEN every API and splitter is in exactly one manifest, in exactly one nested stack', () => {
    const names = [...nested.values()].flatMap((t) => manifestsOf(t)).map((m) => m.objects.find((o) => o.kind === 'VirtualService')!.metadata.name);
    expect(names).toHaveLength(330);
    expect(new Set(names).size).toBe(330);
    expect(new Set(names)).toEqual(new Set(config.specs.map((s) => s.name)));
    expect(manifestsOf(parent)).toHaveLength(1); // the namespace
  });

  test('THEN every template is within CloudFormation\'s limits, and within the budgets', () => {
    for (const template of [parent, ...nested.values()]) {
      const json = template.toJSON();
      const bytes = Buffer.byteLength(JSON.stringify(json, undefined, 1));
      const resources = Object.keys(json.Resources).length;
      expect(bytes).toBeLessThan(TEMPLATE_BYTE_BUDGET);
      expect(resources).toBeLessThan(TEMPLATE_RESOURCE_BUDGET);
      expect(Object.keys(json.Outputs ?? {}).length).toBeLessThanOrEqual(200);
      expect(Object.keys(json.Parameters ?? {}).length).toBeLessThanOrEqual(200);
    }
  });

  test('THEN the estimate of a stack\'s size is above what it synthesizes to (the budget check is safe)', () => {
    for (const stack of apis.stacks) {
      const estimate = stack.node.children
        .filter((c): c is RealtimeApi => c instanceof RealtimeApi)
        .reduce((sum, api) => sum + manifestTemplateBytes(api.objects) + (api.monitoring?.templateBytes ?? 0) + (api.rolloutGate?.templateBytes ?? 0) + (api.podIdentityLoad?.templateBytes ?? 0), 0);
      const manifests = manifestsOf(nested.get(stack.node.id)!);
      if (manifests.length === 0 || estimate === 0) continue;
      const actual = Buffer.byteLength(JSON.stringify(nested.get(stack.node.id)!.toJSON(), undefined, 1));
      expect(estimate).toBeGreaterThan(actual);
    }
  });

  test('THEN the default stacks hold as many of these APIs as docs/importing.md says, within the byte budget', () => {
    const text = fs.readFileSync(path.join(__dirname, '../../docs/importing.md'), 'utf8');
    const claim = new RegExp(`${DEFAULT_API_STACKS} stacks hold about ([\\d,]+) APIs of typical size`).exec(text);
    expect(claim).not.toBeNull();
    const documented = Number(claim![1].replace(/,/g, ''));
    // generatedConfig repeats its shapes every 40 APIs: api-N is estimated as api-(N mod 280), same shape, same name length.
    const estimate = (api: RealtimeApi): number =>
      manifestTemplateBytes(api.objects) + (api.monitoring?.templateBytes ?? 0) + (api.rolloutGate?.templateBytes ?? 0) + (api.podIdentityLoad?.templateBytes ?? 0);
    const loads = new Array<number>(DEFAULT_API_STACKS).fill(0);
    for (let i = 0; i < documented; i++) {
      const name = (n: number) => `api-${String(n).padStart(4, '0')}`;
      loads[apiStackIndex(name(i), DEFAULT_API_STACKS)] += estimate(apis.apis.get(name(i % 280))!);
    }
    expect(Math.max(...loads)).toBeLessThanOrEqual(TEMPLATE_BYTE_BUDGET);
  });

  test('THEN past maxUrlOutputs: the gateway URL and one ApiUrls output instead of one per API', () => {
    const outputs = parent.toJSON().Outputs as Record<string, { Value: unknown; Description: string }>;
    expect(Object.keys(outputs)).toHaveLength(2);
    const apiUrls = Object.entries(outputs).find(([id]) => id.includes('ApiUrls'))![1];
    expect(apiUrls.Value).toBe(`${ENDPOINT_URL}/<api-name>`);
    expect(apiUrls.Description).toMatch(/^330 APIs and splitters, more than maxUrlOutputs \(50\)/);
  });
});

describe('CortexApis props validation', () => {
  let fixture: ReturnType<typeof clusterStack>;
  let small: CortexConfig;
  beforeAll(() => {
    fixture = clusterStack();
    small = configFromObject([{ name: 'a', kind: 'RealtimeAPI', pod: { containers: [{ name: 'api', image: 'a:1' }] } }]);
  });
  let n = 0;
  const add = (props: Partial<ConstructorParameters<typeof CortexApis>[2]>) =>
    new CortexApis(fixture.stack, `Apis${n++}`, { cluster: fixture.cluster, config: small, proxyImage: 'p:1', ...props });

  test.each([0, 129, 1.5])('apiStacks %p', (apiStacks) => {
    expect(() => add({ apiStacks })).toThrow(CortexValidationError);
    expect(() => add({ apiStacks })).toThrow(new RegExp(`^apiStacks \\(${apiStacks}\\) must be an integer from 1 to 128`));
  });

  test('splitterStacks', () => {
    expect(() => add({ splitterStacks: 0 })).toThrow(/^splitterStacks \(0\) must be an integer from 1 to 128/);
  });

  test.each([-1, 151])('maxUrlOutputs %p', (maxUrlOutputs) => {
    expect(() => add({ maxUrlOutputs })).toThrow(new RegExp(`^maxUrlOutputs \\(${maxUrlOutputs}\\) must be an integer from 0 to 150`));
  });

  test('too many APIs for the stacks: the error names apiStacks and the stack', () => {
    const project = writeProject(path.join(dir, 'crowded'));
    const crowded = configFromObject(generatedConfig(150, 0), path.join(project, 'cortex.yaml'));
    expect(() => add({ config: crowded, apiStacks: 1 })).toThrow(
      /^apiStacks \(1\) is too few: nested stack Apis00 would hold 150 manifests of about \d+ KB, over the 700 KB budget/,
    );
  });

  test('the resource budget counts each API\'s role, Pod Identity association and a default policy in reserve', () => {
    // GIVEN APIs without alarms or gates: each is its manifest and its identity
    const config = configFromObject(
      Array.from({ length: 5 }, (_, i) => ({ name: `lean${i}`, kind: 'RealtimeAPI', pod: { containers: [{ name: 'api', image: 'a:1' }] } })),
    );
    // WHEN
    const own = clusterStack();
    const apis = new CortexApis(own.stack, 'Lean', { cluster: own.cluster, config, proxyImage: 'p:1', apiStacks: 1, monitoring: false, rolloutGate: false });
    // THEN each declares 3 resources (2 made, 1 in reserve for a grant in code), and the template holds 1 + 2 per API
    expect([...apis.apis.values()].map((api) => api.podIdentityLoad?.resourceCount)).toEqual([3, 3, 3, 3, 3]);
    const nestedTemplate = Template.fromStack(apis.stacks[0]);
    nestedTemplate.resourceCountIs('AWS::IAM::Role', 5);
    nestedTemplate.resourceCountIs('AWS::EKS::PodIdentityAssociation', 5);
    nestedTemplate.resourceCountIs('AWS::IAM::Policy', 0);
    expect(Object.keys(nestedTemplate.toJSON().Resources)).toHaveLength(15);
  });

  test('lockFile: read by fromConfigFile, with the file; given to the constructor (which once ignored it), an error saying where it goes', () => {
    const file = writeFile(dir, 'lock-prop/cortex.yaml', '- name: a\n  kind: RealtimeAPI\n  pod: {containers: [{name: api, image: "a:1"}]}\n');
    expect(CortexApis.fromConfigFile(fixture.stack, 'FromFile', file, { cluster: fixture.cluster, proxyImage: 'p:1', lockFile: false }).apis.size).toBe(1);
    const withLock = { cluster: fixture.cluster, config: small, proxyImage: 'p:1', lockFile: 'cortex.lock.json' } as ConstructorParameters<typeof CortexApis>[2];
    expect(() => new CortexApis(fixture.stack, 'WithLock', withLock)).toThrow(
      /lockFile \("cortex\.lock\.json"\) is read with the file: pass it to CortexApis\.fromConfigFile/,
    );
  });

  test('a bad cortex.yaml: a ConfigError with the line', () => {
    const file = writeFile(dir, 'bad/cortex.yaml', '- name: x\n  kind: RealtimeAPI\n  pod: {port: 0, containers: [{name: api, image: a}]}\n');
    expect(() => CortexApis.fromConfigFile(fixture.stack, 'Bad', file, { cluster: fixture.cluster })).toThrow(ConfigError);
    expect(() => CortexApis.fromConfigFile(fixture.stack, 'Bad2', file, { cluster: fixture.cluster })).toThrow(/cortex\.yaml:3:\d+: x\.pod\.port/);
  });
});

describe('apiStackIndex', () => {
  const names = Array.from({ length: 2000 }, (_, i) => `api-${i}`);

  test('GIVEN a name THEN always the same stack, within the count', () => {
    expect(apiStackIndex('iris-classifier', 32)).toBe(apiStackIndex('iris-classifier', 32));
    for (const name of names.slice(0, 200)) {
      const i = apiStackIndex(name, 32);
      expect(Number.isInteger(i) && i >= 0 && i < 32).toBe(true);
    }
    expect(apiStackIndex('anything', 1)).toBe(0);
  });

  test('GIVEN many names THEN about as many in each stack', () => {
    const counts = new Array(32).fill(0);
    names.forEach((name) => counts[apiStackIndex(name, 32)]++);
    expect(Math.min(...counts)).toBeGreaterThan(30);
    expect(Math.max(...counts)).toBeLessThan(100);
  });

  test('GIVEN the count raised from 32 to 64 THEN only names that move go to a new stack, about half of them', () => {
    const moved = names.filter((name) => apiStackIndex(name, 64) !== apiStackIndex(name, 32));
    expect(moved.every((name) => apiStackIndex(name, 64) >= 32)).toBe(true);
    expect(moved.length / names.length).toBeGreaterThan(0.4);
    expect(moved.length / names.length).toBeLessThan(0.6);
  });
});

describe('manifestTemplateBytes', () => {
  test('the escaped JSON, the resource\'s overhead, and each token\'s growth', () => {
    const objects = [{ kind: 'Service', metadata: { name: 'a' } }];
    const plain = JSON.stringify(JSON.stringify(objects)).length;
    expect(manifestTemplateBytes(objects)).toBe(plain + MANIFEST_OVERHEAD_BYTES);
    const withToken = [{ kind: 'Service', metadata: { name: '${Token[TOKEN.12]}' } }];
    expect(manifestTemplateBytes(withToken)).toBe(JSON.stringify(JSON.stringify(withToken)).length + MANIFEST_OVERHEAD_BYTES + TOKEN_BYTES);
  });
});

describe('range checks', () => {
  test('checkStackCount', () => {
    expect(() => checkStackCount('apiStacks', 1)).not.toThrow();
    expect(() => checkStackCount('apiStacks', 128)).not.toThrow();
    expect(() => checkStackCount('apiStacks', 129)).toThrow(/^apiStacks \(129\)/);
  });

  test('checkMaxUrlOutputs', () => {
    expect(() => checkMaxUrlOutputs(0)).not.toThrow();
    expect(() => checkMaxUrlOutputs(150)).not.toThrow();
    expect(() => checkMaxUrlOutputs(NaN)).toThrow(/^maxUrlOutputs \(NaN\)/);
  });
});

test('manifests are custom resources of the kubectl provider', () => {
  expect(MANIFEST_TYPE).toBe('Custom::AWSCDK-EKS-KubernetesResource');
});

describe('CortexApis monitoring', () => {
  const YAML_TWO = `- name: hello
  kind: RealtimeAPI
  pod:
    containers: [{name: api, image: "example.com/hello:1"}]
- name: gpu
  kind: RealtimeAPI
  pod:
    containers: [{name: api, image: "example.com/gpu:1", compute: {gpu: 1}}]
`;

  function synth(monitoring?: ConstructorParameters<typeof CortexApis>[2]['monitoring']): { apis: CortexApis; alarms: number; dashboards: number } {
    const fixture = clusterStack();
    const config = configFromObject(YAML.parse(YAML_TWO), path.join(dir, 'monitoring.yaml'));
    const apis = new CortexApis(fixture.stack, 'Apis', { cluster: fixture.cluster, config, platform: fixture.platform, monitoring });
    const templates = [...nestedTemplates(apis).values()];
    const count = (type: string) => templates.reduce((sum, t) => sum + Object.keys(t.findResources(type)).length, 0);
    return { apis, alarms: count('AWS::CloudWatch::Alarm'), dashboards: count('AWS::CloudWatch::Dashboard') };
  }

  test('GIVEN no option THEN three alarms per API, beside its manifest, and no dashboard', () => {
    const { apis, alarms, dashboards } = synth();
    expect(alarms).toBe(6);
    expect(dashboards).toBe(0);
    for (const api of apis.apis.values()) {
      expect(cdk.Stack.of(api.monitoring!.errorRateAlarm)).toBe(cdk.Stack.of(api.manifest));
    }
  });

  test('GIVEN dashboards THEN one per API, with the GPU where the API has one', () => {
    const { apis, dashboards } = synth({ dashboard: true });
    expect(dashboards).toBe(2);
    const bodies = [...nestedTemplates(apis).values()].flatMap((t) =>
      Object.values(t.findResources('AWS::CloudWatch::Dashboard')).map((r) => JSON.stringify(r.Properties.DashboardBody)),
    );
    expect(bodies.filter((b) => b.includes('pod_gpu_utilization')).map((b) => b.includes('# gpu'))).toEqual([true]);
  });

  test('GIVEN monitoring: false THEN no alarm', () => {
    const { apis, alarms } = synth(false);
    expect(alarms).toBe(0);
    expect(apis.apis.get('hello')!.monitoring).toBeUndefined();
  });
});

describe('CortexApis rollout gates', () => {
  const GATE_TYPE = 'Custom::CortexRolloutGate';
  type Resource = { Properties: Record<string, any>; DependsOn?: string[] };

  function synth(rolloutGate?: ConstructorParameters<typeof CortexApis>[2]['rolloutGate']) {
    const project = writeProject(path.join(dir, 'gated'));
    const config = configFromObject(YAML.parse(CORTEX_YAML), path.join(project, 'cortex.yaml'));
    const fixture = clusterStack();
    const apis = new CortexApis(fixture.stack, 'Apis', { cluster: fixture.cluster, config, platform: fixture.platform, rolloutGate });
    return { fixture, apis, parent: Template.fromStack(fixture.stack), nested: nestedTemplates(apis) };
  }

  test('GIVEN no option THEN each API\'s nested stack gates it after its manifest, through the one provider of the parent', () => {
    const { fixture, apis, parent, nested } = synth();
    for (const api of apis.apis.values()) {
      const stack = cdk.Stack.of(api) as cdk.NestedStack;
      const template = nested.get(stack.node.id)!;
      const gate = (template.findResources(GATE_TYPE) as Record<string, Resource>)[logicalId(api.rolloutGate!.resource)];
      expect(gate.DependsOn).toContain(logicalId(api.manifest));
      expect(gate.Properties).toMatchObject({ ApiName: api.name, SpecHash: api.chart.specHash, TimeoutSeconds: 600 });
      // The provider's service token arrives as a parameter; its access entry is made before the stack.
      const parameters = nestedStackResource(parent, stack).Properties.Parameters;
      expect(parameters[gate.Properties.ServiceToken.Ref]).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^ClusterCortexRolloutGateProviderframeworkonEvent/), 'Arn'] });
      expect(nestedStackResource(parent, stack).DependsOn).toContain(logicalId(api.rolloutGate!.provider.accessEntry));
      // Its estimate covers what it synthesizes to.
      expect(api.rolloutGate!.templateBytes).toBeGreaterThan(Buffer.byteLength(JSON.stringify({ [logicalId(api.rolloutGate!.resource)]: gate }, undefined, 1)));
    }
    // One provider, in the parent: two handler functions, one access entry; no gate for the splitter.
    expect(Object.values(parent.findResources('AWS::Lambda::Function')).filter((f) => String(f.Properties.Description).startsWith('cortex-cdk rollout gate'))).toHaveLength(2);
    const provider = apis.apis.get('hello')!.rolloutGate!.provider;
    const entries = Object.values(parent.findResources('AWS::EKS::AccessEntry')).filter(
      (e) => JSON.stringify(e.Properties.PrincipalArn) === JSON.stringify({ 'Fn::GetAtt': [logicalId(provider.role), 'Arn'] }),
    );
    expect(entries.map((e) => e.Properties.AccessPolicies[0].AccessScope)).toEqual([{ Type: 'namespace', Namespaces: ['cortex'] }]);
    const gates = [...nested.values()].reduce((sum, t) => sum + Object.keys(t.findResources(GATE_TYPE)).length, 0);
    expect(gates).toBe(3);
    expect(cdk.Stack.of(apis.apis.get('hello')!.rolloutGate!.provider)).toBe(fixture.stack);
  });

  test('GIVEN a timeout THEN every gate waits that long; GIVEN false THEN none', () => {
    const slow = synth({ timeout: cdk.Duration.minutes(30) });
    for (const template of slow.nested.values()) {
      for (const gate of Object.values(template.findResources(GATE_TYPE)) as Resource[]) {
        expect(gate.Properties.TimeoutSeconds).toBe(1800);
      }
    }
    const ungated = synth(false);
    expect([...ungated.nested.values()].flatMap((t) => Object.keys(t.findResources(GATE_TYPE)))).toEqual([]);
    expect([...ungated.apis.apis.values()].every((api) => api.rolloutGate === undefined)).toBe(true);
  });
});
