import { Template } from 'aws-cdk-lib/assertions';
import * as eks from 'aws-cdk-lib/aws-eks-v2';
import { configFromObject, type CortexConfig, type TrafficSplitterSpec } from '../../lib/config';
import { CortexValidationError } from '../../lib/errors';
import { ApiPlatform } from '../../lib/platform/api-platform';
import { RealtimeApi } from '../../lib/realtime-api';
import { TrafficSplitter, targetApis } from '../../lib/traffic-splitter';
import { ENDPOINT_URL, clusterStack, logicalId, manifestsOf } from './api-fixtures';

const container = (image: string) => ({ containers: [{ name: 'api', image }] });

/** Two APIs, a shadow, and a splitter over them. */
function config(): CortexConfig {
  return configFromObject([
    { name: 'model-a', kind: 'RealtimeAPI', pod: container('example.com/a:1') },
    { name: 'model-b', kind: 'RealtimeAPI', pod: container('example.com/b:1') },
    { name: 'model-c', kind: 'RealtimeAPI', pod: container('example.com/c:1') },
    {
      name: 'model',
      kind: 'TrafficSplitter',
      apis: [
        { name: 'model-a', weight: 70 },
        { name: 'model-b', weight: 30 },
        { name: 'model-c', weight: 10, shadow: true },
      ],
    },
  ]);
}

describe('TrafficSplitter over three APIs (one a shadow)', () => {
  let fixture: ReturnType<typeof clusterStack>;
  let apis: RealtimeApi[];
  let splitter: TrafficSplitter;
  let template: Template;

  beforeAll(() => {
    // GIVEN
    fixture = clusterStack({ endpointUrl: ENDPOINT_URL });
    const { stack, cluster, platform } = fixture;
    const cfg = config();
    apis = cfg.apis.map((api) => new RealtimeApi(stack, api.name, { cluster, platform, api, proxyImage: 'example.com/proxy:1' }));
    // WHEN
    splitter = new TrafficSplitter(stack, 'Splitter', { cluster, platform, splitter: cfg.splitters[0], apis });
    template = Template.fromStack(stack);
  });

  test('THEN its manifest holds exactly one VirtualService: weighted routes and a mirror', () => {
    const manifest = manifestsOf(template).find((m) => m.id === logicalId(splitter.manifest))!;
    expect(manifest.objects).toHaveLength(1);
    const [vs] = manifest.objects;
    expect(vs.kind).toBe('VirtualService');
    expect(vs.metadata).toMatchObject({ name: 'model', namespace: 'cortex' });
    const [http] = vs.spec.http;
    expect(http.route.map((r: { destination: { host: string }; weight: number }) => [r.destination.host, r.weight])).toEqual([
      ['model-a.cortex.svc.cluster.local', 70],
      ['model-b.cortex.svc.cluster.local', 30],
    ]);
    expect(http.mirror.host).toBe('model-c.cortex.svc.cluster.local');
    expect(http.mirrorPercentage).toEqual({ value: 10 });
  });

  test('THEN it is applied after every target API and after the platform', () => {
    const dependsOn = template.toJSON().Resources[logicalId(splitter.manifest)].DependsOn;
    for (const api of apis) {
      expect(dependsOn).toContain(logicalId(api.manifest));
    }
    expect(dependsOn).toContain(logicalId(fixture.namespace));
  });

  test('THEN url, name and namespace', () => {
    expect(splitter.url).toBe(`${ENDPOINT_URL}/model`);
    expect(splitter.name).toBe('model');
    expect(splitter.namespace).toBe('cortex');
  });
});

describe('TrafficSplitter props validation', () => {
  let fixture: ReturnType<typeof clusterStack>;
  let cfg: CortexConfig;
  let apis: RealtimeApi[];

  beforeAll(() => {
    fixture = clusterStack();
    cfg = config();
    apis = cfg.apis.map((api) => new RealtimeApi(fixture.stack, api.name, { cluster: fixture.cluster, api, proxyImage: 'example.com/proxy:1' }));
  });

  test('every target must be among apis', () => {
    const add = () => new TrafficSplitter(fixture.stack, 'Missing', { cluster: fixture.cluster, splitter: cfg.splitters[0], apis: apis.slice(0, 2) });
    expect(add).toThrow(CortexValidationError);
    expect(() => targetApis(cfg.splitters[0], apis.slice(0, 2), 'cortex')).toThrow(
      /^apis \(model-a, model-b\) must include every target of the splitter "model": splitter\.apis\[2\]\.name \("model-c"\) is not among them/,
    );
    expect(() => targetApis(cfg.splitters[0], [], 'cortex')).toThrow(/^apis \(none\)/);
  });

  test('the targets must live in the splitter\'s namespace', () => {
    expect(() =>
      new TrafficSplitter(fixture.stack, 'OtherNamespace', {
        cluster: fixture.cluster,
        splitter: cfg.splitters[0],
        apis,
        platform: ApiPlatform.existing({ namespace: 'ml' }),
      }),
    ).toThrow(/^apis: "model-a" lives in namespace "cortex"; the splitter "model" routes within its own, "ml"/);
  });

  test('the spec must be a TrafficSplitter', () => {
    const notASplitter = cfg.apis[0] as unknown as TrafficSplitterSpec;
    expect(() => new TrafficSplitter(fixture.stack, 'Kind', { cluster: fixture.cluster, splitter: notASplitter, apis })).toThrow(
      /^splitter\.kind \("RealtimeAPI"\) must be "TrafficSplitter"/,
    );
  });

  test('the cluster needs a kubectl provider', () => {
    const cluster = eks.Cluster.fromClusterAttributes(fixture.stack, 'NoKubectl', { clusterName: 'x' });
    expect(() => new TrafficSplitter(fixture.stack, 'NoProvider', { cluster, splitter: cfg.splitters[0], apis })).toThrow(
      /^cluster \(Test\/NoKubectl\) has no kubectl provider/,
    );
  });
});
