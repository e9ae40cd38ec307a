import type { ApiDiff, Effect } from '../../../bin/cli/diff/api-diff';
import { diffApis } from '../../../bin/cli/diff/api-diff';
import type { ApiManifest, KubeObject } from '../../../bin/cli/diff/api-manifests';
import { formatDiff, formatField, formatValue, headline, rollout } from '../../../bin/cli/diff/print';
import type { RolloutPlan } from '../../../bin/cli/diff/rollout';
import { TokenString } from '../../../bin/cli/diff/token-string';
import { deploymentObjects } from './fixtures';

const plan = (over: Partial<RolloutPlan> = {}): RolloutPlan => ({
  strategy: 'RollingUpdate',
  replicas: 4,
  maxSurge: { spec: '25%', pods: 1 },
  maxUnavailable: { spec: 0, pods: 0 },
  ...over,
});

function api(name: string, objects: Record<string, unknown>[], namespace = 'cortex', stackName = 'App'): ApiManifest {
  return {
    key: `${stackName}/${namespace}/${name}`,
    name,
    namespace,
    kind: 'RealtimeAPI',
    location: { stackName, nestedPath: [], logicalId: name, display: name },
    objects: objects as unknown as KubeObject[],
  };
}

describe('formatValue', () => {
  test('GIVEN plain strings, strings YAML would misread, tokens, numbers, objects, an absent field THEN flow-style text', () => {
    expect(formatValue('example.com/a:1.0')).toBe('example.com/a:1.0');
    expect(formatValue('8080')).toBe('"8080"');
    expect(formatValue('true')).toBe('"true"');
    expect(formatValue('two words')).toBe('"two words"');
    expect(formatValue('1.0')).toBe('"1.0"');
    expect(formatValue('600000ms')).toBe('600000ms');
    expect(formatValue('--listen=:8080')).toBe('--listen=:8080');
    expect(formatValue('')).toBe('""');
    expect(formatValue('(none)')).toBe('"(none)"');
    expect(formatValue(new TokenString([{ 'Fn::GetAtt': ['Repo', 'Uri'] }, ':v1']))).toBe('${Repo.Uri}:v1');
    expect(formatValue(8080)).toBe('8080');
    expect(formatValue({ httpGet: { path: '/', port: 8080 }, 'cortex.dev/x': ['a', 1] })).toBe('{httpGet: {path: /, port: 8080}, cortex.dev/x: [a, 1]}');
    expect(formatValue(undefined)).toBe('(none)');
  });

  test('GIVEN a value longer than the limit THEN cut with …; limit 0 THEN whole', () => {
    const long = 'x'.repeat(100);
    expect(formatValue(long, 20)).toBe('x'.repeat(19) + '…');
    expect(formatValue(long, 0)).toBe(long);
  });
});

describe('formatField', () => {
  test('GIVEN two long values that differ in the middle THEN both cut around the difference', () => {
    const a = `--config=${'a'.repeat(60)}-v1-${'b'.repeat(60)}`;
    const b = `--config=${'a'.repeat(60)}-v2-${'b'.repeat(60)}`;
    expect(formatField({ path: ['args', 0], from: a, to: b }, 40)).toBe('args[0]: …aaaaaa-v1-bbbbbbb… → …aaaaaa-v2-bbbbbbb…');
  });

  test('GIVEN short values THEN path: old → new', () => {
    expect(formatField({ path: ['spec', 'minReplicaCount'], from: 1, to: 3 })).toBe('spec.minReplicaCount: 1 → 3');
    expect(formatField({ path: ['spec', 'probe'], from: undefined, to: { path: '/' } })).toBe('spec.probe: (none) → {path: /}');
  });
});

describe('headline', () => {
  test('GIVEN a rolling update THEN replicas, surge and unavailable (percentages with what they resolve to)', () => {
    expect(rollout(plan())).toBe('rolling update of 4 replicas, max surge 1 (25%), max unavailable 0');
    expect(rollout(plan({ replicas: 1, autoscaled: { min: 1, max: 5 } }))).toBe(
      'rolling update of 1 replica (autoscaled 1–5, counted at the minimum), max surge 1 (25%), max unavailable 0',
    );
    expect(rollout(plan({ replicas: 1, autoscaled: { min: 0, max: 5 } }))).toMatch(/\(autoscaled 0–5, counted at 1\)/);
    expect(rollout(plan({ strategy: 'Recreate' }))).toBe('recreate of 4 replicas: every pod stops before the new ones start (downtime)');
  });

  test('GIVEN no rollout THEN "no pod restarts" is said, except for a routing-only change', () => {
    const scale: Effect = { type: 'scale', replicas: { from: { min: 1, max: 5 }, to: { min: 2, max: 5 } } };
    const routing: Effect = { type: 'routing', weights: [{ target: 'a', from: 50, to: 80 }, { target: 'b', from: 50, to: undefined }] };
    expect(headline([scale])).toBe('scale change (replicas 1–5 → 2–5); no pod restarts');
    expect(headline([routing])).toBe('routing-only change (a 50% → 80%, b 50% → (none))');
    expect(headline([scale, { type: 'routing', weights: [] }])).toBe('scale change (replicas 1–5 → 2–5); routing change; no pod restarts');
    expect(headline([{ type: 'rolling-update', plan: plan() }, { type: 'disruption-budget' }])).toBe(
      'rolling update of 4 replicas, max surge 1 (25%), max unavailable 0; disruption budget change',
    );
  });
});

describe('formatDiff', () => {
  const before = [api('a', deploymentObjects('a', { image: 'a:1' })), api('gone', deploymentObjects('gone')), api('same', deploymentObjects('same'))];
  const after = [api('a', deploymentObjects('a', { image: 'a:2' })), api('new', deploymentObjects('new', { image: 'n:1' })), api('same', deploymentObjects('same'))];

  test('GIVEN changed, added, removed and unchanged APIs THEN a block per change and a summary', () => {
    const text = formatDiff(diffApis({ apis: before, problems: [] }, { apis: after, problems: [] }));
    expect(text).toBe(
      [
        '~ a: rolling update of 1 replica (autoscaled 1–5, counted at the minimum), max surge 1 (25%), max unavailable 0 (25%)',
        '    Deployment/a',
        '      spec.template.spec.containers[api].image: a:1 → a:2',
        '',
        '- gone (RealtimeAPI): API removed — Deployment, ScaledObject deleted',
        '',
        '+ new (RealtimeAPI): API added — Deployment, ScaledObject',
        '    images: api=n:1',
        '',
        '1 API changed, 1 added, 1 removed, 1 unchanged.',
        '',
      ].join('\n'),
    );
  });

  test('GIVEN nothing changes THEN one line that counts the APIs; no APIs at all THEN says so', () => {
    const same: ApiDiff = { changes: [], unchanged: before, problems: [] };
    expect(formatDiff(same)).toBe('No API changes (3 APIs unchanged).\n');
    expect(formatDiff({ changes: [], unchanged: [], problems: [] })).toBe('No APIs on either side.\n');
  });

  test('GIVEN APIs in several namespaces THEN names are namespace/name', () => {
    const text = formatDiff(diffApis({ apis: [api('a', deploymentObjects('a'), 'x')], problems: [] }, { apis: [api('a', deploymentObjects('a'), 'y')], problems: [] }));
    expect(text).toContain('- x/a (RealtimeAPI): API removed');
    expect(text).toContain('+ y/a (RealtimeAPI): API added');
  });

  test('GIVEN a warning (the manifest moves) THEN it is printed under the headline, marked !', () => {
    const old = api('a', deploymentObjects('a', { image: 'a:1' }));
    const moved = { ...api('a', deploymentObjects('a', { image: 'a:2' })), location: { ...old.location, logicalId: 'Other', display: 'App/Apis/Apis07/a' } };
    const lines = formatDiff(diffApis({ apis: [old], problems: [] }, { apis: [moved], problems: [] })).split('\n');
    expect(lines[0]).toMatch(/^~ a: rolling update/);
    expect(lines[1]).toMatch(/^ {4}! its manifest moves from a to App\/Apis\/Apis07\/a: /);
    expect(lines[2]).toBe('    Deployment/a');
  });

  test('GIVEN APIs in several stacks THEN each name is followed by its stack', () => {
    const dev = api('a', deploymentObjects('a', { image: 'a:1' }), 'cortex', 'Dev');
    const prod = api('a', deploymentObjects('a', { image: 'a:1' }), 'cortex', 'Prod');
    const text = formatDiff(diffApis({ apis: [dev, prod], problems: [] }, { apis: [{ ...dev, objects: api('a', deploymentObjects('a', { image: 'a:2' })).objects }, prod], problems: [] }));
    expect(text).toMatch(/^~ a \[Dev\]: rolling update/);
    expect(text).toMatch(/\n1 API changed, 1 unchanged.\n$/);
  });
});
