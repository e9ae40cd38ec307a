import * as path from 'node:path';
import { type ApiChange, type ApiDiff, diffApi, diffApis, type Effect } from '../../../bin/cli/diff/api-diff';
import type { ApiManifest, KubeObject } from '../../../bin/cli/diff/api-manifests';
import { readAssembly } from '../../../bin/cli/diff/assembly';
import { diffStacks } from '../../../bin/cli/diff/api-diff';
import { formatPath } from '../../../bin/cli/diff/object-diff';
import { TokenString } from '../../../bin/cli/diff/token-string';
import { tempDir } from '../../util';
import { BASE, CHANGED, deploymentObjects, synthAssembly, variantYaml } from './fixtures';

const dir = tempDir('diff-api-diff-');

/** An API of `objects`, its manifest at `logicalId`. */
function api(name: string, objects: Record<string, unknown>[], logicalId = 'Manifest'): ApiManifest {
  return {
    key: `App/cortex/${name}`,
    name,
    namespace: 'cortex',
    kind: 'RealtimeAPI',
    location: { stackName: 'App', nestedPath: ['Apis05'], logicalId, display: `App/Apis/Apis05/${logicalId}` },
    objects: objects as unknown as KubeObject[],
  };
}

const effectTypes = (change: ApiChange | undefined) => change?.effects.map((e) => e.type);

describe('diffStacks over two synthesized assemblies: every kind of change', () => {
  let diff: ApiDiff;
  let same: ApiDiff;
  const change = (name: string) => diff.changes.find((c) => c.name === name)!;

  beforeAll(async () => {
    // GIVEN
    const base = await readAssembly(synthAssembly(path.join(dir, 'base'), variantYaml(BASE)));
    const again = await readAssembly(synthAssembly(path.join(dir, 'again'), variantYaml(BASE)));
    const changed = await readAssembly(synthAssembly(path.join(dir, 'changed'), variantYaml(CHANGED)));
    // WHEN
    diff = diffStacks(base.stacks, changed.stacks);
    same = diffStacks(base.stacks, again.stacks);
  });

  test('THEN the same config synthesized twice changes nothing (the proxy image asset is the same token)', () => {
    expect(same.changes).toEqual([]);
    expect(same.unchanged.map((a) => a.name).sort()).toEqual(['imaged', 'legacy', 'probed', 'scaled', 'split', 'steady']);
    expect(same.problems).toEqual([]);
  });

  test('THEN the changes, by name; the unchanged API only counted', () => {
    expect(diff.changes.map((c) => [c.name, c.status])).toEqual([
      ['fresh', 'added'],
      ['imaged', 'changed'],
      ['legacy', 'removed'],
      ['probed', 'changed'],
      ['scaled', 'changed'],
      ['split', 'changed'],
    ]);
    expect(diff.unchanged.map((a) => a.name)).toEqual(['steady']);
  });

  test('THEN an image change is a rolling update over the autoscaler\'s minimum, percentages resolved', () => {
    const imaged = change('imaged');
    expect(imaged.effects).toEqual<Effect[]>([
      {
        type: 'rolling-update',
        plan: { strategy: 'RollingUpdate', replicas: 4, autoscaled: { min: 4, max: 8 }, maxSurge: { spec: '25%', pods: 1 }, maxUnavailable: { spec: '25%', pods: 1 } },
      },
    ]);
    expect(imaged.objects).toEqual([
      {
        kind: 'Deployment',
        name: 'imaged',
        status: 'changed',
        fields: [{ path: ['spec', 'template', 'spec', 'containers', { element: 'api' }, 'image'], from: 'example.com/imaged:1.0', to: 'example.com/imaged:1.1' }],
      },
    ]);
  });

  test('THEN a probe change is a rolling update too, with the API\'s own surge and unavailable', () => {
    const probed = change('probed');
    expect(effectTypes(probed)).toEqual(['rolling-update']);
    expect(probed.effects[0]).toMatchObject({ plan: { maxSurge: { spec: 0, pods: 0 }, maxUnavailable: { spec: 1, pods: 1 } } });
    expect(probed.objects[0].fields.map((f) => [formatPath(f.path), f.from, f.to])).toEqual([
      ['spec.template.spec.containers[api].readinessProbe.httpGet.path', '/healthz', '/ready'],
    ]);
  });

  test('THEN a replicas change is a scale change: no rollout, the bounds before and after', () => {
    const scaled = change('scaled');
    expect(scaled.effects).toEqual([{ type: 'scale', replicas: { from: { min: 2, max: 10 }, to: { min: 4, max: 20 } } }]);
    expect(scaled.objects.map((o) => o.kind)).toEqual(['Deployment', 'ScaledObject']);
  });

  test('THEN new weights are a routing-only change with each target\'s weight', () => {
    const split = change('split');
    expect(split.kind).toBe('TrafficSplitter');
    expect(split.effects).toEqual([
      { type: 'routing', weights: [{ target: 'imaged', from: 50, to: 80 }, { target: 'steady', from: 50, to: 20 }] },
    ]);
  });

  test('THEN an added and a removed API list their objects; no warnings anywhere', () => {
    expect(change('fresh').objects.map((o) => `${o.status} ${o.kind}`)).toEqual([
      'added ServiceAccount',
      'added Deployment',
      'added Service',
      'added VirtualService',
      'added ScaledObject',
      'added PodDisruptionBudget',
      'added NetworkPolicy',
    ]);
    expect(change('legacy').objects.every((o) => o.status === 'removed')).toBe(true);
    expect(diff.changes.flatMap((c) => c.warnings)).toEqual([]);
  });
});

describe('diffApi', () => {
  test('GIVEN the same objects THEN undefined (not a change)', () => {
    expect(diffApi(api('a', deploymentObjects('a')), api('a', deploymentObjects('a')))).toBeUndefined();
  });

  test('GIVEN an image token that is the same structure THEN no change; another asset THEN a rolling update', () => {
    const image = (hash: string) => new TokenString([{ 'Fn::Sub': `x/container-assets:${hash}` }]);
    expect(diffApi(api('a', deploymentObjects('a', { image: image('1') })), api('a', deploymentObjects('a', { image: image('1') })))).toBeUndefined();
    const change = diffApi(api('a', deploymentObjects('a', { image: image('1') })), api('a', deploymentObjects('a', { image: image('2') })));
    expect(effectTypes(change)).toEqual(['rolling-update']);
  });

  test('GIVEN the spec hash changes with a field of the template THEN only the field is listed; alone THEN the hash is', () => {
    const withField = diffApi(
      api('a', deploymentObjects('a', { image: 'a:1', specHash: '1111' })),
      api('a', deploymentObjects('a', { image: 'a:2', specHash: '2222' })),
    )!;
    expect(withField.objects[0].fields.map((f) => f.path[f.path.length - 1])).toEqual(['image']);
    const alone = diffApi(api('a', deploymentObjects('a', { specHash: '1111' })), api('a', deploymentObjects('a', { specHash: '2222' })))!;
    expect(alone.objects[0].fields.map((f) => f.path[f.path.length - 1])).toEqual(['cortex.dev/spec-hash']);
    expect(effectTypes(alone)).toEqual(['rolling-update']);
  });

  test('GIVEN the manifest moves to another resource THEN a warning that the deploy fails', () => {
    const change = diffApi(api('a', deploymentObjects('a', { image: 'a:1' }), 'Old'), api('a', deploymentObjects('a', { image: 'a:2' }), 'New'))!;
    expect(change.warnings).toEqual([expect.stringMatching(/^its manifest moves from App\/Apis\/Apis05\/Old to App\/Apis\/Apis05\/New: .* the deploy fails and rolls back/)]);
  });

  test('GIVEN a changed selector THEN a warning that it is immutable', () => {
    const [deployment, scaledObject] = deploymentObjects('a');
    const moved = { ...deployment, spec: { ...(deployment.spec as object), selector: { matchLabels: { app: 'a' } } } };
    const change = diffApi(api('a', [deployment, scaledObject]), api('a', [moved, scaledObject]))!;
    expect(change.warnings).toEqual(['Deployment/a: spec.selector is immutable, so the update fails; delete the API and deploy it again']);
  });

  test('GIVEN only the rollout strategy, a label or a new ConfigMap changes THEN those effects, no rollout', () => {
    const before = deploymentObjects('a');
    const strategy = deploymentObjects('a', { maxSurge: 2 });
    expect(effectTypes(diffApi(api('a', before), api('a', strategy)))).toEqual(['strategy']);
    const configMap = { kind: 'ConfigMap', metadata: { name: 'a-predictor', labels: { 'cortex.dev/api-name': 'a' } }, data: { x: '1' } };
    const change = diffApi(api('a', before), api('a', [...before, configMap]))!;
    expect(effectTypes(change)).toEqual(['config']);
    expect(change.objects).toEqual([{ kind: 'ConfigMap', name: 'a-predictor', status: 'added', fields: [] }]);
  });
});

describe('diffApis', () => {
  test('GIVEN an API in another namespace THEN another API, even with the same name', () => {
    const service = (namespace: string) => [{ kind: 'Service', metadata: { name: 'a', namespace, labels: { 'cortex.dev/api-name': 'a' } } }];
    const side = (namespace: string) => ({ apis: [{ ...api('a', service(namespace)), key: `App/${namespace}/a`, namespace }], problems: ['p'] });
    const diff = diffApis(side('cortex'), side('models'));
    expect(diff.changes.map((c) => `${c.status} ${c.namespace}/${c.name}`)).toEqual(['removed cortex/a', 'added models/a']);
    expect(diff.problems).toEqual(['p', 'p']);
  });
});
