import * as fs from 'node:fs';
import * as path from 'node:path';
import * as cdk from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as eks from 'aws-cdk-lib/aws-eks-v2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { configCharts } from '../../constructs';
import { ConfigError, configFromObject, loadConfigFile, parseConfig, Probe, type RealtimeApiSpec } from '../../lib/config';
import { CortexValidationError } from '../../lib/errors';
import { ApiPlatform } from '../../lib/platform/api-platform';
import { RealtimeApi, checkPolicyArns, podTemplateTokens } from '../../lib/realtime-api';
import { HELLO_WORLD_YAML, tempDir, writeFile } from '../util';
import { ENDPOINT_URL, KubeObject, clusterStack, logicalId, manifestsOf, objectKeys, writeProject } from './api-fixtures';

const dir = tempDir('cortex-realtime-api-');

/** How an unresolved CDK token looks in a string at synth time. */
const TOKEN_LIKE = '${Token[TOKEN.1]}';

const PREDICTOR_YAML = `- name: iris
  kind: RealtimeAPI
  predictor:
    type: python
    path: predictor.py
    config: {threshold: 0.5}
`;

function helloWorld(): RealtimeApiSpec {
  return parseConfig(HELLO_WORLD_YAML, 'cortex.yaml').apis[0];
}

/** A predictor-form API read from a cortex.yaml in a fresh project directory. */
function predictorApi(name: string): { api: RealtimeApiSpec; projectDir: string } {
  const projectDir = writeProject(path.join(dir, name));
  const file = writeFile(projectDir, 'cortex.yaml', PREDICTOR_YAML);
  return { api: loadConfigFile(file).apis[0], projectDir };
}

function deployment(objects: KubeObject[]): KubeObject {
  return objects.find((o) => o.kind === 'Deployment')!;
}

function containerImage(objects: KubeObject[], container: string): string {
  return deployment(objects).spec.template.spec.containers.find((c: { name: string }) => c.name === container).image;
}

/** The docker image assets of a synthesized stack's assembly. */
function dockerImageAssets(app: cdk.App, stack: cdk.Stack): Record<string, { source: { directory: string; dockerBuildArgs?: Record<string, string>; platform?: string } }> {
  const assembly = app.synth();
  const assetsFile = path.join(assembly.directory, `${stack.artifactId}.assets.json`);
  return JSON.parse(fs.readFileSync(assetsFile, 'utf8')).dockerImages ?? {};
}

describe('RealtimeApi, a container-form and a predictor-form API on a cluster with a platform', () => {
  let fixture: ReturnType<typeof clusterStack>;
  let hello: RealtimeApi;
  let iris: RealtimeApi;
  let template: Template;
  let images: ReturnType<typeof dockerImageAssets>;

  beforeAll(() => {
    // GIVEN
    fixture = clusterStack({ endpointUrl: ENDPOINT_URL });
    const { stack, cluster, platform } = fixture;
    // WHEN
    hello = new RealtimeApi(stack, 'Hello', { cluster, platform, api: helloWorld() });
    iris = new RealtimeApi(stack, 'Iris', { cluster, platform, api: predictorApi('iris').api });
    template = Template.fromStack(stack);
    images = dockerImageAssets(fixture.app, stack);
  });

  test('THEN one KubernetesManifest per API, on the cluster, each with exactly its chart\'s objects', () => {
    const manifests = manifestsOf(template).filter((m) => m.id !== logicalId(fixture.namespace));
    expect(manifests.map((m) => m.id).sort()).toEqual([logicalId(hello.manifest), logicalId(iris.manifest)].sort());
    const helloManifest = manifests.find((m) => m.id === logicalId(hello.manifest))!;
    expect(objectKeys(helloManifest.objects)).toEqual(
      [
        'Deployment/hello-world',
        'NetworkPolicy/hello-world',
        'PodDisruptionBudget/hello-world',
        'ScaledObject/hello-world',
        'Service/hello-world',
        'ServiceAccount/hello-world-sa',
        'VirtualService/hello-world',
      ],
    );
    const irisManifest = manifests.find((m) => m.id === logicalId(iris.manifest))!;
    expect(objectKeys(irisManifest.objects)).toContain('ConfigMap/iris-predictor');
    expect(objectKeys(irisManifest.objects)).toContain('ServiceAccount/iris-sa');
    expect(irisManifest.objects).toHaveLength(8);
    expect(helloManifest.properties.ClusterName).toEqual({ Ref: logicalId(fixture.cluster) });
  });

  test('THEN the objects are the chart\'s, with the platform\'s namespace and addresses', () => {
    // `cortex manifests` renders the same chart with the same options.
    const [expected] = configCharts(parseConfig(HELLO_WORLD_YAML, 'cortex.yaml'), {
      namespace: 'cortex',
      gatewayUrl: fixture.platform.gatewayUrl,
      prometheusUrl: fixture.platform.prometheusUrl,
      proxyImage: TOKEN_LIKE,
    }).map((c) => c.toJson());
    const deployed = manifestsOf(template).find((m) => m.id === logicalId(hello.manifest))!.objects;
    const withoutPruneLabel = (o: KubeObject) => ({
      ...o,
      metadata: { ...o.metadata, labels: Object.fromEntries(Object.entries(o.metadata.labels ?? {}).filter(([k]) => !k.startsWith('aws.cdk.eks/prune-'))) },
    });
    const normalized = deployed.map(withoutPruneLabel);
    // The proxy image is the asset's URI, a token (which the spec hash ignores); everything else is identical.
    deployment(normalized).spec.template.spec.containers.find((c: { name: string }) => c.name === 'proxy').image = TOKEN_LIKE;
    expect(normalized).toEqual(expected);
  });

  test('THEN every manifest depends on the platform being ready', () => {
    for (const api of [hello, iris]) {
      expect(template.toJSON().Resources[logicalId(api.manifest)].DependsOn).toContain(logicalId(fixture.namespace));
    }
  });

  test('THEN the predictor-form API gets an image asset: the runtime plus the project, for linux/amd64, its URI in the Deployment', () => {
    expect(iris.predictorImageAsset).toBeDefined();
    const hash = iris.predictorImageAsset!.assetHash;
    const asset = images[hash];
    expect(asset.source.platform).toBe('linux/amd64');
    expect(asset.source.dockerBuildArgs).toEqual({
      CORTEX_SHELL_DEPENDENCIES: 'dependencies.sh',
      CORTEX_CONDA_PACKAGES: 'conda-packages.txt',
      CORTEX_PIP_REQUIREMENTS: 'requirements.txt',
    });
    const staged = path.join(fixture.app.outdir, asset.source.directory);
    expect(fs.existsSync(path.join(staged, 'Dockerfile'))).toBe(true);
    expect(fs.readFileSync(path.join(staged, 'project', 'predictor.py'), 'utf8')).toContain('PythonPredictor');
    const objects = manifestsOf(template).find((m) => m.id === logicalId(iris.manifest))!.objects;
    expect(containerImage(objects, 'api')).toMatch(new RegExp(`^<\\{'Fn::Sub':'.*container-assets.*:${hash}'\\}>$`));
  });

  test('THEN the container-form API gets no predictor asset: its containers keep their images', () => {
    expect(hello.predictorImageAsset).toBeUndefined();
    const objects = manifestsOf(template).find((m) => m.id === logicalId(hello.manifest))!.objects;
    expect(containerImage(objects, 'api')).toBe('hashicorp/http-echo:1.0');
    // The proxy sidecar's asset and the one predictor image: nothing else.
    expect(Object.keys(images)).toHaveLength(2);
  });

  test('THEN both APIs share one proxy image asset, built from images/proxy for linux/amd64', () => {
    const proxyImages = [hello, iris].map((api) => containerImage(manifestsOf(template).find((m) => m.id === logicalId(api.manifest))!.objects, 'proxy'));
    expect(new Set(proxyImages).size).toBe(1);
    const [proxyHash] = Object.keys(images).filter((h) => h !== iris.predictorImageAsset!.assetHash);
    expect(proxyImages[0]).toContain(proxyHash);
    expect(images[proxyHash].source.platform).toBe('linux/amd64');
    expect(fs.readFileSync(path.join(fixture.app.outdir, images[proxyHash].source.directory, 'Dockerfile'), 'utf8')).toContain('proxy');
  });

  test('THEN url is the platform\'s endpoint plus the API\'s endpoint', () => {
    expect(hello.url).toBe(`${ENDPOINT_URL}/hello-world`);
    expect(iris.url).toBe(`${ENDPOINT_URL}/iris`);
    expect(hello.name).toBe('hello-world');
    expect(hello.namespace).toBe('cortex');
  });
});

describe('RealtimeApi with image overrides (mirrored images)', () => {
  let template: Template;
  let images: ReturnType<typeof dockerImageAssets>;
  let api: RealtimeApi;
  const apiManifest = () => manifestsOf(template).find((m) => m.id === logicalId(api.manifest))!;

  beforeAll(() => {
    // GIVEN
    const { app, stack, cluster } = clusterStack();
    // WHEN
    api = new RealtimeApi(stack, 'Iris', {
      cluster,
      api: predictorApi('mirrored').api,
      proxyImage: 'registry.example.com/cortex/proxy:1.0',
      predictorImage: 'registry.example.com/cortex/iris:7',
    });
    template = Template.fromStack(stack);
    images = dockerImageAssets(app, stack);
  });

  test('THEN the Deployment runs the given images and no image asset is made', () => {
    const manifest = apiManifest();
    expect(containerImage(manifest.objects, 'proxy')).toBe('registry.example.com/cortex/proxy:1.0');
    expect(containerImage(manifest.objects, 'api')).toBe('registry.example.com/cortex/iris:7');
    expect(api.predictorImageAsset).toBeUndefined();
    expect(images).toEqual({});
  });

  test('THEN without a platform: namespace cortex, no URL, no dependency but its Pod Identity association', () => {
    const manifest = apiManifest();
    expect(manifest.objects.every((o) => o.metadata.namespace === 'cortex')).toBe(true);
    expect(api.url).toBeUndefined();
    expect(manifest.dependsOn.filter((d) => !d.startsWith('ClusterKubectlReadyBarrier'))).toEqual([cdk.Stack.of(api).resolve(api.podIdentityAssociation!.logicalId)]);
  });
});

describe('RealtimeApi on an imported cluster, in a stack of its own', () => {
  const SERVICE_TOKEN = 'arn:aws:lambda:us-east-1:123456789012:function:kubectl-provider-handler';
  let template: Template;

  beforeAll(() => {
    // GIVEN an app whose cluster lives elsewhere: only its name and its kubectl provider are known
    const app = new cdk.App();
    const stack = new cdk.Stack(app, 'ImportedApis', { env: { account: '123456789012', region: 'us-east-1' } });
    const cluster = eks.Cluster.fromClusterAttributes(stack, 'Cluster', {
      clusterName: 'production',
      kubectlProvider: eks.KubectlProvider.fromKubectlProviderAttributes(stack, 'KubectlProvider', { serviceToken: SERVICE_TOKEN }),
    });
    // WHEN
    new RealtimeApi(stack, 'Hello', { cluster, api: helloWorld(), platform: ApiPlatform.existing({ namespace: 'ml' }) });
    template = Template.fromStack(stack);
  });

  test('THEN the manifest goes through the imported kubectl provider to the named cluster', () => {
    template.resourceCountIs('Custom::AWSCDK-EKS-KubernetesResource', 1);
    const [manifest] = manifestsOf(template);
    expect(manifest.properties.ServiceToken).toBe(SERVICE_TOKEN);
    expect(manifest.properties.ClusterName).toBe('production');
    expect(manifest.objects.every((o) => o.metadata.namespace === 'ml')).toBe(true);
  });

  test('THEN the stack holds the API and nothing of a cluster', () => {
    expect(Object.keys(template.findResources('AWS::EKS::Cluster'))).toEqual([]);
    // Its only functions are the rollout gate's and its provider framework's.
    const functions = Object.values(template.findResources('AWS::Lambda::Function')).map((f) => String(f.Properties.Description));
    expect(functions.length).toBeGreaterThan(0);
    expect(functions.filter((d) => !/^cortex-cdk rollout gate|\/CortexRolloutGate\//.test(d))).toEqual([]);
  });
});

describe('RealtimeApi in another stack than its cluster', () => {
  test('GIVEN the cluster in stack A WHEN the API is in stack B THEN B imports the provider and the cluster name from A', () => {
    // GIVEN
    const { app, cluster } = clusterStack();
    const apis = new cdk.Stack(app, 'Apis');
    // WHEN
    new RealtimeApi(apis, 'Hello', { cluster, api: helloWorld() });
    // THEN
    const [manifest] = manifestsOf(Template.fromStack(apis));
    expect(manifest.properties.ServiceToken).toEqual({ 'Fn::ImportValue': expect.stringContaining('KubectlProvider') });
    expect(manifest.properties.ClusterName).toEqual({ 'Fn::ImportValue': expect.stringContaining('Cluster') });
  });
});

describe('RealtimeApi props validation', () => {
  let fixture: ReturnType<typeof clusterStack>;
  beforeAll(() => {
    fixture = clusterStack();
  });
  const add = (id: string, props: Partial<ConstructorParameters<typeof RealtimeApi>[2]>) =>
    new RealtimeApi(fixture.stack, id, { cluster: fixture.cluster, api: helloWorld(), ...props });

  test('a TrafficSplitter spec is not an api', () => {
    const config = configFromObject([
      { name: 'a', kind: 'RealtimeAPI', pod: { containers: [{ name: 'api', image: 'a:1' }] } },
      { name: 's', kind: 'TrafficSplitter', apis: [{ name: 'a', weight: 100 }] },
    ]);
    const splitter = config.splitters[0] as unknown as RealtimeApiSpec;
    expect(() => add('Kind', { api: splitter })).toThrow(CortexValidationError);
    expect(() => add('Kind2', { api: splitter })).toThrow(/api\.kind \("TrafficSplitter"\) must be "RealtimeAPI"/);
  });

  test('a cluster without a kubectl provider', () => {
    const cluster = eks.Cluster.fromClusterAttributes(fixture.stack, 'NoKubectl', { clusterName: 'x' });
    expect(() => add('NoProvider', { cluster })).toThrow(/^cluster \(Test\/NoKubectl\) has no kubectl provider/);
  });

  test('a tensorflow predictor is refused at synth (no TF Serving runtime yet), unless it brings its own image', () => {
    const api = RealtimeApi.specFromObject({ name: 'tf', predictor: { type: 'tensorflow', path: 'predictor.py', models: { path: 's3://m/' } } });
    expect(() => add('Tf', { api })).toThrow(
      /^predictor\.type \("tensorflow"\) of "tf" needs a TensorFlow Serving container, which cortex-cdk does not build yet: set predictor\.image/,
    );
    expect(() => add('TfOwnImage', { api, predictorImage: 'example.com/tf-runtime:1' })).not.toThrow();
  });

  test('kind: api: a tensorflow model is refused naming its section; an onnx model without request handler builds', () => {
    // GIVEN the oldest format's model APIs, read from a file beside a project
    const projectDir = writeProject(path.join(dir, 'legacy-models'));
    const file = writeFile(
      projectDir,
      'cortex.yaml',
      '- kind: api\n  name: tf\n  tensorflow: {model: s3://m/tf}\n- kind: api\n  name: onnx\n  onnx: {model: model.onnx}\n',
    );
    const [tf, onnx] = loadConfigFile(file).apis;
    // THEN
    expect(() => add('LegacyTf', { api: tf })).toThrow(
      /^tensorflow \(kind: api\) of "tf" needs a TensorFlow Serving container, which cortex-cdk does not build yet: set the predictorImage prop/,
    );
    expect(() => add('LegacyOnnx', { api: onnx })).not.toThrow();
  });

  test('a predictor-form API written in code needs configDir', () => {
    const api = RealtimeApi.specFromObject({ name: 'iris', predictor: { type: 'python', path: 'predictor.py' } });
    expect(() => add('NoConfigDir', { api })).toThrow(/^configDir \(undefined\) must be set for the predictor-form API "iris"/);
  });

  test('configDir must exist', () => {
    const api = RealtimeApi.specFromObject({ name: 'iris', predictor: { type: 'python', path: 'predictor.py' } });
    expect(() => add('MissingDir', { api, configDir: path.join(dir, 'nowhere') })).toThrow(/^configDir \(".*nowhere"\) must be an existing directory/);
  });

  test('predictor.path must be a file in configDir', () => {
    const projectDir = writeProject(path.join(dir, 'other-predictor'), {});
    const api = RealtimeApi.specFromObject({ name: 'iris', predictor: { type: 'python', path: 'src/missing.py' } });
    expect(() => add('MissingPredictor', { api, configDir: projectDir })).toThrow(/^predictor\.path \("src\/missing\.py"\) of "iris" must be a file in configDir/);
  });

  test('a predictor-form API with its own image needs no project', () => {
    const api = RealtimeApi.specFromObject({ name: 'own', predictor: { type: 'python', path: 'predictor.py', image: 'example.com/runtime:1' } });
    expect(add('OwnImage', { api }).predictorImageAsset).toBeUndefined();
  });

  test('a bad proxyImage is named', () => {
    expect(() => add('BadProxy', { proxyImage: 'not an image' })).toThrow(/^proxyImage \("not an image"\) must be a non-empty image reference/);
  });

  test('a bad platform namespace is named', () => {
    expect(() => add('BadNamespace', { platform: ApiPlatform.existing({ namespace: 'Not_A_Label' }) })).toThrow(/^namespace \("Not_A_Label"\)/);
  });

  test('a bad serviceAccountName is named', () => {
    expect(() => add('BadAccount', { serviceAccountName: 'UPPER' })).toThrow(/^serviceAccountName \("UPPER"\)/);
  });
});

describe('RealtimeApi.specFromObject', () => {
  test('GIVEN an entry in cortex.yaml\'s shape THEN the defaulted spec, as from a file', () => {
    const spec = RealtimeApi.specFromObject({ name: 'hello', pod: { containers: [{ name: 'api', image: 'a:1' }] } });
    expect(spec.kind).toBe('RealtimeAPI');
    expect(spec.autoscaling.maxReplicas).toBe(100);
    expect(spec.networking.endpoint).toBe('/hello');
    expect(spec.source.file).toBe('<props>');
  });

  test('GIVEN a bad entry THEN a ConfigError naming the field', () => {
    expect(() => RealtimeApi.specFromObject({ name: 'hello', pod: { port: 0, containers: [{ name: 'api', image: 'a:1' }] } })).toThrow(ConfigError);
    expect(() => RealtimeApi.specFromObject({ name: 'hello', pod: { port: 0, containers: [{ name: 'api', image: 'a:1' }] } })).toThrow(/hello\.pod\.port/);
  });

  test('GIVEN another kind THEN an error naming kind', () => {
    expect(() => RealtimeApi.specFromObject({ name: 's', kind: 'TrafficSplitter', apis: [] })).toThrow(
      /^entry\.kind \("TrafficSplitter"\) must be "RealtimeAPI"/,
    );
  });
});

describe('RealtimeApi monitoring', () => {
  test('GIVEN no option THEN its three alarms, on its cluster, namespace and name', () => {
    const fixture = clusterStack({ namespace: 'ml' });
    const api = new RealtimeApi(fixture.stack, 'Hello', { cluster: fixture.cluster, api: helloWorld(), platform: fixture.platform });
    const template = Template.fromStack(fixture.stack);
    template.resourceCountIs('AWS::CloudWatch::Alarm', 3);
    expect(api.monitoring?.alarms).toHaveLength(3);
    const latency = template.toJSON().Resources[logicalId(api.monitoring!.latencyAlarm)].Properties;
    expect(latency.Dimensions).toEqual([
      { Name: 'ApiName', Value: 'hello-world' },
      { Name: 'ClusterName', Value: { Ref: logicalId(fixture.cluster) } },
      { Name: 'Namespace', Value: 'ml' },
    ]);
  });

  test('GIVEN options THEN they reach the alarms; GIVEN false THEN none', () => {
    const fixture = clusterStack();
    const api = new RealtimeApi(fixture.stack, 'Hello', {
      cluster: fixture.cluster,
      api: helloWorld(),
      platform: fixture.platform,
      monitoring: { errorRatePercent: 2, dashboard: true },
    });
    expect(api.monitoring?.errorRatePercent).toBe(2);
    expect(api.monitoring?.dashboard).toBeDefined();
    const none = new RealtimeApi(fixture.stack, 'Quiet', { cluster: fixture.cluster, api: helloWorld(), platform: fixture.platform, monitoring: false });
    expect(none.monitoring).toBeUndefined();
  });
});

describe('RealtimeApi rollout gate', () => {
  const GATE_TYPE = 'Custom::CortexRolloutGate';
  type Gate = { Properties: Record<string, any>; DependsOn?: string[] };
  const gates = (template: Template) => template.findResources(GATE_TYPE) as Record<string, Gate>;

  test('GIVEN no option THEN a gate per API, after its manifest, waiting 10 minutes for the chart\'s spec hash', () => {
    // GIVEN
    const { stack, cluster, platform } = clusterStack();
    // WHEN
    const hello = new RealtimeApi(stack, 'Hello', { cluster, platform, api: helloWorld() });
    const iris = new RealtimeApi(stack, 'Iris', { cluster, platform, api: predictorApi('gated').api });
    // THEN
    const template = Template.fromStack(stack);
    expect(Object.keys(gates(template)).sort()).toEqual([logicalId(hello.rolloutGate!.resource), logicalId(iris.rolloutGate!.resource)].sort());
    for (const api of [hello, iris]) {
      const gate = gates(template)[logicalId(api.rolloutGate!.resource)];
      expect(gate.DependsOn).toContain(logicalId(api.manifest));
      expect(gate.Properties).toMatchObject({ ApiName: api.name, Namespace: 'cortex', Deployment: api.name, SpecHash: api.chart.specHash, TimeoutSeconds: 600 });
    }
    // The image assets' URIs resolve at deploy time: a new image updates the gate though the spec hash stays.
    const helloInputs = gates(template)[logicalId(hello.rolloutGate!.resource)].Properties.DeployTimeInputs;
    expect(helloInputs).toEqual([{ 'Fn::Sub': expect.stringContaining('container-assets') }]);
    const irisInputs = gates(template)[logicalId(iris.rolloutGate!.resource)].Properties.DeployTimeInputs;
    expect(irisInputs).toHaveLength(2);
    expect(JSON.stringify(irisInputs)).toContain(iris.predictorImageAsset!.assetHash);
  });

  test('GIVEN an API on GPUs and no timeout THEN its gate waits 30 minutes, as long as its progress deadline', () => {
    // GIVEN
    const { stack, cluster } = clusterStack();
    const gpu = helloWorld();
    const onGpu = {
      ...gpu,
      pod: { ...gpu.pod, containers: gpu.pod.containers.map((c) => ({ ...c, compute: { ...c.compute, gpu: 1 } })) },
    };
    // WHEN
    const api = new RealtimeApi(stack, 'Gpu', { cluster, api: onGpu, proxyImage: 'example.com/proxy:1' });
    // THEN
    const template = Template.fromStack(stack);
    expect(gates(template)[logicalId(api.rolloutGate!.resource)].Properties).toMatchObject({ TimeoutSeconds: 1800 });
    const deployment = api.objects.find((o) => (o as { kind: string }).kind === 'Deployment') as { spec: { progressDeadlineSeconds: number } };
    expect(deployment.spec.progressDeadlineSeconds).toBe(1800);
  });

  test('GIVEN a timeout THEN the gate waits that long; GIVEN false THEN no gate and no provider', () => {
    const { stack, cluster } = clusterStack();
    const slow = new RealtimeApi(stack, 'Slow', { cluster, api: helloWorld(), proxyImage: 'example.com/proxy:1', rolloutGate: { timeout: cdk.Duration.minutes(25) } });
    const template = Template.fromStack(stack);
    expect(gates(template)[logicalId(slow.rolloutGate!.resource)].Properties).toMatchObject({ TimeoutSeconds: 1500 });
    // Images given as they are: nothing resolves at deploy time.
    expect(gates(template)[logicalId(slow.rolloutGate!.resource)].Properties.DeployTimeInputs).toBeUndefined();

    const other = clusterStack();
    const ungated = new RealtimeApi(other.stack, 'Ungated', { cluster: other.cluster, api: helloWorld(), rolloutGate: false });
    expect(ungated.rolloutGate).toBeUndefined();
    const ungatedTemplate = Template.fromStack(other.stack);
    expect(gates(ungatedTemplate)).toEqual({});
    expect(Object.values(ungatedTemplate.findResources('AWS::Lambda::Function')).filter((f) => String(f.Properties.Description).includes('rollout gate'))).toEqual([]);
  });

  test('GIVEN a timeout over 55 minutes THEN an error naming rolloutGate.timeout', () => {
    const { stack, cluster } = clusterStack();
    expect(() => new RealtimeApi(stack, 'TooSlow', { cluster, api: helloWorld(), rolloutGate: { timeout: cdk.Duration.hours(1) } })).toThrow(
      /^rolloutGate\.timeout \(1 hour\) must be whole seconds from 1 minute to 55 minutes/,
    );
  });

  test('podTemplateTokens: the pod template\'s tokens, each once; none from the other objects', () => {
    const objects = [
      { kind: 'Deployment', spec: { template: { spec: { containers: [{ image: '${Token[TOKEN.7]}' }, { image: 'a/${Token[TOKEN.7]}', env: [{ value: '${Token[TOKEN.9]}' }] }] } } } },
      { kind: 'VirtualService', spec: { hosts: ['${Token[TOKEN.11]}'] } },
    ];
    expect(podTemplateTokens(objects)).toEqual(['${Token[TOKEN.7]}', '${Token[TOKEN.9]}']);
    expect(podTemplateTokens([])).toEqual([]);
  });
});

describe('RealtimeApi.spec', () => {
  test('GIVEN a typed definition WHEN it feeds a RealtimeApi THEN the manifest carries what it defines, with the file\'s defaults', () => {
    // GIVEN
    const { stack, cluster, platform } = clusterStack();
    const api = RealtimeApi.spec({
      name: 'echo',
      pod: {
        maxConcurrency: 4,
        containers: [
          {
            name: 'api',
            image: 'hashicorp/http-echo:1.0',
            args: ['-listen=:8080', '-text=hi'],
            env: { GREETING_Text: 'hi' },
            readinessProbe: Probe.httpGet({ port: 8080, path: '/health', periodSeconds: 5 }),
          },
        ],
      },
      autoscaling: { maxReplicas: 5 },
    });
    // WHEN
    const echo = new RealtimeApi(stack, 'Echo', { cluster, platform, api, proxyImage: 'example.com/proxy:1' });
    // THEN
    expect(echo.api).toBe(api);
    expect(api.source.file).toBe('<props>');
    const objects = manifestsOf(Template.fromStack(stack)).find((m) => m.id === logicalId(echo.manifest))!.objects;
    expect(objectKeys(objects)).toEqual([
      'Deployment/echo',
      'NetworkPolicy/echo',
      'PodDisruptionBudget/echo',
      'ScaledObject/echo',
      'Service/echo',
      'ServiceAccount/echo-sa',
      'VirtualService/echo',
    ]);
    const container = deployment(objects).spec.template.spec.containers.find((c: { name: string }) => c.name === 'api');
    expect(container.image).toBe('hashicorp/http-echo:1.0');
    expect(container.env).toContainEqual({ name: 'GREETING_Text', value: 'hi' });
    expect(container.readinessProbe).toMatchObject({ httpGet: { path: '/health', port: 8080 }, periodSeconds: 5 });
    expect(deployment(objects).spec.template.spec.containers.find((c: { name: string }) => c.name === 'proxy').args).toEqual(
      expect.arrayContaining(['--max-concurrency', '4', '--max-queue-length', '100']),
    );
    expect(objects.find((o) => o.kind === 'ScaledObject')!.spec).toMatchObject({ minReplicaCount: 1, maxReplicaCount: 5 });
  });

  test('GIVEN a bad definition THEN a ConfigError naming the camelCase field', () => {
    expect(() => RealtimeApi.spec({ name: 'echo', pod: { maxQueueLength: -1, containers: [{ name: 'api', image: 'a:1' }] } })).toThrow(ConfigError);
    expect(() => RealtimeApi.spec({ name: 'echo', pod: { maxQueueLength: -1, containers: [{ name: 'api', image: 'a:1' }] } })).toThrow(
      '<props>: echo.pod.maxQueueLength: must be an integer from 0 to 30000, got -1',
    );
  });
});

describe('RealtimeApi AWS identity (EKS Pod Identity)', () => {
  const MODELS_YAML = `- name: ranker
  kind: RealtimeAPI
  predictor:
    type: python
    path: predictor.py
    multi_model_reloading:
      paths:
        - {name: a, path: s3://models-bucket/ranker/a/}
        - {name: b, path: s3://models-bucket/ranker/b}
        - {name: c, path: models/c}
      cache_size: 1
  iam_policy_arns:
    - arn:aws:iam::123456789012:policy/team/ranker-extra
`;
  let fixture: ReturnType<typeof clusterStack>;
  let api: RealtimeApi;
  let template: Template;

  beforeAll(() => {
    // GIVEN a predictor-form API with models on S3 and a policy of its own, and a policy for every API
    fixture = clusterStack({ namespace: 'ml' });
    const projectDir = writeProject(path.join(dir, 'ranker'));
    const file = writeFile(projectDir, 'cortex.yaml', MODELS_YAML);
    const stackPolicy = iam.ManagedPolicy.fromAwsManagedPolicyName('CloudWatchReadOnlyAccess');
    // WHEN
    api = new RealtimeApi(fixture.stack, 'Ranker', {
      cluster: fixture.cluster,
      platform: fixture.platform,
      api: loadConfigFile(file).apis[0],
      managedPolicies: [stackPolicy],
    });
    // A grant in code, as a user would make one.
    s3.Bucket.fromBucketName(fixture.stack, 'Features', 'features-bucket').grantRead(api);
    template = Template.fromStack(fixture.stack);
  });

  const roleId = () => cdk.Stack.of(api).resolve((api.role!.node.defaultChild as iam.CfnRole).logicalId) as string;
  const roleOf = () => {
    const roles = template.findResources('AWS::IAM::Role', { Properties: { Description: Match.stringLikeRegexp('RealtimeAPI ranker') } });
    expect(Object.keys(roles)).toHaveLength(1);
    return roles[Object.keys(roles)[0]].Properties;
  };

  test('THEN the role trusts EKS Pod Identity and nothing else: sts:AssumeRole and sts:TagSession', () => {
    expect(roleOf().AssumeRolePolicyDocument).toEqual({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Principal: { Service: 'pods.eks.amazonaws.com' }, Action: ['sts:AssumeRole', 'sts:TagSession'] }],
    });
  });

  test('THEN the association binds the rendered ServiceAccount (same namespace and name) to the role, on the cluster', () => {
    const serviceAccount = manifestsOf(template)
      .find((m) => m.id === logicalId(api.manifest))!
      .objects.find((o) => o.kind === 'ServiceAccount')!;
    expect(serviceAccount.metadata).toMatchObject({ name: api.chart.serviceAccount!.name, namespace: api.chart.serviceAccount!.namespace });
    expect(serviceAccount.metadata).toMatchObject({ name: 'ranker-sa', namespace: 'ml' });
    template.resourceCountIs('AWS::EKS::PodIdentityAssociation', 1);
    template.hasResourceProperties('AWS::EKS::PodIdentityAssociation', {
      ClusterName: { Ref: logicalId(fixture.cluster) },
      Namespace: serviceAccount.metadata.namespace,
      ServiceAccount: serviceAccount.metadata.name,
      RoleArn: { 'Fn::GetAtt': [roleId(), 'Arn'] },
    });
    // The pods run as it.
    expect(deployment(manifestsOf(template).find((m) => m.id === logicalId(api.manifest))!.objects).spec.template.spec.serviceAccountName).toBe('ranker-sa');
  });

  test('THEN the manifest (the pods) waits for the association', () => {
    const manifest = manifestsOf(template).find((m) => m.id === logicalId(api.manifest))!;
    expect(manifest.dependsOn).toContain(cdk.Stack.of(api).resolve(api.podIdentityAssociation!.logicalId));
  });

  test('THEN the managed policies: the stack\'s, then the API\'s iam_policy_arns', () => {
    expect(roleOf().ManagedPolicyArns).toEqual([
      { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::aws:policy/CloudWatchReadOnlyAccess']] },
      'arn:aws:iam::123456789012:policy/team/ranker-extra',
    ]);
  });

  test('THEN read access to its S3 models and nothing more: ListBucket under each prefix, GetObject on its objects', () => {
    const partition = { Ref: 'AWS::Partition' };
    const arn = (rest: string) => ({ 'Fn::Join': ['', ['arn:', partition, `:s3:::${rest}`]] });
    expect(roleOf().Policies).toEqual([
      {
        PolicyName: 'models',
        PolicyDocument: {
          Version: '2012-10-17',
          Statement: [
            { Effect: 'Allow', Action: 's3:ListBucket', Resource: arn('models-bucket'), Condition: { StringLike: { 's3:prefix': ['ranker/a', 'ranker/a/*'] } } },
            { Effect: 'Allow', Action: 's3:GetObject', Resource: [arn('models-bucket/ranker/a'), arn('models-bucket/ranker/a/*')] },
            { Effect: 'Allow', Action: 's3:ListBucket', Resource: arn('models-bucket'), Condition: { StringLike: { 's3:prefix': ['ranker/b', 'ranker/b/*'] } } },
            { Effect: 'Allow', Action: 's3:GetObject', Resource: [arn('models-bucket/ranker/b'), arn('models-bucket/ranker/b/*')] },
          ],
        },
      },
    ]);
  });

  test('THEN the role is the API\'s grant principal: a grant in code lands on it', () => {
    const policies = template.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: roleId() }] } });
    expect(Object.keys(policies)).toHaveLength(1);
    expect(api.grantPrincipal).toBe(api.role);
  });

  test('THEN podIdentityLoad counts its resources for the stack budget: role, association, a default policy in reserve', () => {
    expect(api.podIdentityLoad).toEqual({ resourceCount: 3, templateBytes: 2_000 + 2 * 150 + 2 * 700 });
  });
});

describe('RealtimeApi AWS identity: defaults, a service account of the user\'s, limits', () => {
  let fixture: ReturnType<typeof clusterStack>;
  beforeAll(() => {
    fixture = clusterStack();
  });
  const add = (id: string, props: Partial<ConstructorParameters<typeof RealtimeApi>[2]>) =>
    new RealtimeApi(fixture.stack, id, { cluster: fixture.cluster, api: helloWorld(), ...props });
  const withPolicies = (count: number) =>
    RealtimeApi.specFromObject({
      name: `p${count}`,
      pod: { containers: [{ name: 'api', image: 'a:1' }] },
      iam_policy_arns: Array.from({ length: count }, (_, i) => `arn:aws:iam::123456789012:policy/p${i}`),
    });

  test('GIVEN no policy and no S3 model THEN a role with no permission at all', () => {
    const api = add('Plain', {});
    const role = cdk.Stack.of(api).resolve((api.role!.node.defaultChild as iam.CfnRole)._toCloudFormation()) as {
      Resources: Record<string, { Properties: Record<string, unknown> }>;
    };
    const properties = Object.values(role.Resources)[0].Properties;
    expect(properties.ManagedPolicyArns).toBeUndefined();
    expect(properties.Policies).toBeUndefined();
  });

  test('GIVEN a serviceAccountName of the user\'s THEN no role, no association, and grants warn instead', () => {
    const api = add('OwnAccount', { serviceAccountName: 'model-reader' });
    expect(api.role).toBeUndefined();
    expect(api.podIdentityAssociation).toBeUndefined();
    expect(api.podIdentityLoad).toBeUndefined();
    expect(api.grantPrincipal).toBeInstanceOf(iam.UnknownPrincipal);
    expect(api.chart.serviceAccount).toBeUndefined();
  });

  test('GIVEN a serviceAccountName and policies THEN an error naming both', () => {
    expect(() => add('OwnAccountPolicies', { serviceAccountName: 'model-reader', api: withPolicies(1) })).toThrow(
      new CortexValidationError(
        'serviceAccountName ("model-reader") cannot be used with iam_policy_arns of "p1": the policies go to the API\'s own role, ' +
          "which a service account of yours replaces; attach them to your service account's role, or drop serviceAccountName",
      ),
    );
    expect(() =>
      add('OwnAccountManaged', { serviceAccountName: 'model-reader', managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName('ReadOnlyAccess')] }),
    ).toThrow(/^serviceAccountName \("model-reader"\) cannot be used with managedPolicies:/);
  });

  test('GIVEN more than 10 managed policies THEN a warning about IAM\'s default quota; more than 20 THEN an error', () => {
    const api = add('Eleven', { api: withPolicies(11) });
    const warnings = fixture.app.synth().getStackByName(fixture.stack.stackName).messages.filter((m) => m.id.endsWith(api.node.path));
    expect(warnings.map((w) => String(w.entry.data))).toEqual([
      expect.stringContaining('the role of "p11" has 11 managed policies; IAM\'s default quota is 10 per role'),
    ]);
    const stackPolicies = Array.from({ length: 11 }, (_, i) => iam.ManagedPolicy.fromManagedPolicyArn(fixture.stack, `Shared${i}`, `arn:aws:iam::123456789012:policy/s${i}`));
    expect(() => add('TwentyTwo', { api: withPolicies(11), managedPolicies: stackPolicies })).toThrow(
      new CortexValidationError(
        'the role of "p11" would have 22 managed policies (the stack\'s apiPolicyArns and managedPolicies, then the API\'s ' +
          'iam_policy_arns), more than IAM attaches to a role (20); combine some into a customer managed policy',
      ),
    );
  });

  test('GIVEN the same policy from the stack and the API THEN it is attached once', () => {
    const shared = iam.ManagedPolicy.fromManagedPolicyArn(fixture.stack, 'SharedP0', 'arn:aws:iam::123456789012:policy/p0');
    const api = add('Shared', { api: withPolicies(1), managedPolicies: [shared] });
    const resolved = cdk.Stack.of(api).resolve((api.role!.node.defaultChild as iam.CfnRole).managedPolicyArns);
    expect(resolved).toEqual(['arn:aws:iam::123456789012:policy/p0']);
  });
});

describe('checkPolicyArns (the stack\'s apiPolicyArns)', () => {
  test('GIVEN IAM policy ARNs of every partition THEN accepted; tokens are not checked', () => {
    expect(() =>
      checkPolicyArns('apiPolicyArns', [
        'arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess',
        'arn:aws-cn:iam::123456789012:policy/models-read',
        'arn:aws-us-gov:iam::aws:policy/service-role/AmazonEC2RoleforSSM',
        cdk.Lazy.string({ produce: () => 'x' }),
      ]),
    ).not.toThrow();
  });

  test('GIVEN a bad one THEN the prop, the index, the value and what is allowed', () => {
    expect(() => checkPolicyArns('apiPolicyArns', ['arn:aws:iam::aws:policy/ReadOnlyAccess', 'AmazonS3ReadOnlyAccess'])).toThrow(
      new CortexValidationError(
        'apiPolicyArns[1]: must be an IAM managed policy ARN: arn:aws:iam::aws:policy/NAME (AWS managed) or ' +
          'arn:aws:iam::ACCOUNT:policy/[PATH/]NAME (ACCOUNT: 12 digits; partition aws, aws-cn, aws-us-gov...), got ' +
          '"AmazonS3ReadOnlyAccess"; a policy\'s name alone is written as its ARN, e.g. arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess',
      ),
    );
    expect(() => checkPolicyArns('apiPolicyArns', ['arn:aws:iam::123456789012:role/models'])).toThrow(/^apiPolicyArns\[0\]: .*; that is a role/);
    expect(() => checkPolicyArns('apiPolicyArns', ['arn:aws:iam::aws:policy/A', 'arn:aws:iam::aws:policy/A'])).toThrow(
      new CortexValidationError('apiPolicyArns[1]: duplicate policy "arn:aws:iam::aws:policy/A" (also apiPolicyArns[0]); name each policy once'),
    );
  });
});
