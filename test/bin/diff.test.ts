import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  CloudFormationClient,
  DescribeStacksCommand,
  GetTemplateCommand,
  ListStackResourcesCommand,
} from '@aws-sdk/client-cloudformation';
import { mockClient } from 'aws-sdk-client-mock';
import { run } from '../../bin/cortex';
import { BASE, CHANGED, synthAssembly, variantYaml } from './diff/fixtures';
import { runCliAsync, tempDir } from '../util';

const dir = tempDir('diff-cli-');
const cloudFormation = mockClient(CloudFormationClient);

/** What `cortex diff` prints for the fixture's changes (after the header line and a blank line). */
const EXPECTED_CHANGES = `+ fresh (RealtimeAPI): API added — ServiceAccount, Deployment, Service, VirtualService, ScaledObject, PodDisruptionBudget, NetworkPolicy
    images: api=example.com/fresh:2.0, proxy=<asset image ${'HASH'}>

~ imaged: rolling update of 4 replicas (autoscaled 4–8, counted at the minimum), max surge 1 (25%), max unavailable 1 (25%)
    Deployment/imaged
      spec.template.spec.containers[api].image: example.com/imaged:1.0 → example.com/imaged:1.1

- legacy (RealtimeAPI): API removed — ServiceAccount, Deployment, Service, VirtualService, ScaledObject, PodDisruptionBudget, NetworkPolicy deleted

~ probed: rolling update of 1 replica (autoscaled 1–100, counted at the minimum), max surge 0, max unavailable 1
    Deployment/probed
      spec.template.spec.containers[api].readinessProbe.httpGet.path: /healthz → /ready

~ scaled: scale change (replicas 2–10 → 4–20); no pod restarts
    Deployment/scaled
      spec.replicas: 2 → 4
    ScaledObject/scaled
      spec.maxReplicaCount: 10 → 20
      spec.minReplicaCount: 2 → 4

~ split (TrafficSplitter): routing-only change (imaged 50% → 80%, steady 50% → 20%)
    VirtualService/split
      spec.http[split].route[imaged.cortex.svc.cluster.local].weight: 50 → 80
      spec.http[split].route[steady.cortex.svc.cluster.local].weight: 50 → 20

4 APIs changed, 1 added, 1 removed, 1 unchanged.
`;

let base: string;
let again: string;
let changed: string;
let expected: string;

beforeAll(() => {
  base = synthAssembly(path.join(dir, 'base'), variantYaml(BASE));
  again = synthAssembly(path.join(dir, 'again'), variantYaml(BASE));
  changed = synthAssembly(path.join(dir, 'cdk.out'), variantYaml(CHANGED));
  // The proxy image asset's hash depends on images/proxy/, not on the test: read it from the assembly.
  const assets = JSON.parse(fs.readFileSync(path.join(changed, 'Models.assets.json'), 'utf8')) as { dockerImages: Record<string, unknown> };
  expected = EXPECTED_CHANGES.replace('HASH', Object.keys(assets.dockerImages)[0].slice(0, 12));
});

beforeEach(() => cloudFormation.reset());

describe('cortex diff --from A --to B (two synthesized assemblies, offline)', () => {
  test('GIVEN an image, replicas, a probe, weights changed, an API added and one removed THEN each API\'s block, readable', async () => {
    const { code, out, err } = await runCliAsync(['diff', '--from', base, '--to', changed], dir);
    expect(err).toBe('');
    expect(code).toBe(0);
    expect(out).toBe(`cortex diff: ${base} → ${changed}\n\n${expected}`);
  });

  test('GIVEN the same config synthesized twice THEN nothing is listed, only counted; --fail-on-change THEN still 0', async () => {
    const { code, out } = await runCliAsync(['diff', '--from', base, '--to', again, '--fail-on-change'], dir);
    expect(code).toBe(0);
    expect(out).toBe(`cortex diff: ${base} → ${again}\n\nNo API changes (6 APIs unchanged).\n`);
  });

  test('GIVEN changes and --fail-on-change THEN exit 3', async () => {
    expect((await runCliAsync(['diff', '--from', base, '--to', changed, '--fail-on-change'], dir)).code).toBe(3);
  });

  test('GIVEN no --to THEN ./cdk.out; GIVEN --api THEN only those APIs, and a warning for a name on neither side', async () => {
    const { code, out, err } = await runCliAsync(['diff', '--from', 'base', '-a', 'split', '--api', 'steady', '--api', 'nope'], dir);
    expect(code).toBe(0);
    expect(out).toMatch(/^cortex diff: base → cdk.out\n\n~ split \(TrafficSplitter\): routing-only change/);
    expect(out).not.toMatch(/imaged:/);
    expect(out).toMatch(/\n1 API changed, 1 unchanged.\n$/);
    expect(err).toBe('cortex diff: warning: no API named "nope" on either side\n');
  });

  test('GIVEN a directory that is no assembly THEN exit 1 and what to do', async () => {
    const { code, err } = await runCliAsync(['diff', '--from', 'missing', '--to', changed], dir);
    expect(code).toBe(1);
    expect(err).toBe(`cortex diff: ${path.join(dir, 'missing')} does not exist: it is not a cloud assembly (run \`npx cdk synth\` to make one)\n`);
  });
});

describe('cortex diff on a terminal', () => {
  test('GIVEN a TTY THEN the same text with colours: added green, removed red, changed yellow', async () => {
    const noColor = process.env.NO_COLOR;
    delete process.env.NO_COLOR;
    let out = '';
    try {
      await run(['diff', '--from', base, '--to', changed], { out: (t) => (out += t), err: () => undefined, cwd: dir, isTTY: true });
    } finally {
      if (noColor !== undefined) process.env.NO_COLOR = noColor;
    }
    expect(out).toContain('\x1b[32m+ fresh (RealtimeAPI): API added\x1b[39m — ServiceAccount, Deployment');
    expect(out).toContain('\x1b[31m- legacy (RealtimeAPI): API removed\x1b[39m');
    expect(out).toContain('\x1b[33m~ imaged:\x1b[39m rolling update');
    expect(out.replace(/\x1b\[\d+m/g, '')).toBe(`cortex diff: ${base} → ${changed}\n\n${expected}`);
  });
});

describe('cortex diff command line', () => {
  test('GIVEN --help THEN the usage with the exit codes', async () => {
    const { code, out } = await runCliAsync(['diff', '--help'], dir);
    expect(code).toBe(0);
    expect(out).toMatch(/^Usage: cortex diff \[--from DIR\] \[--to DIR\]/);
    expect(out).toMatch(/Exit codes: 0 compared .* 3 with --fail-on-change: something\nchanges, 1 an assembly or a deployed stack cannot be read, 2 the command line is wrong/s);
  });

  test('GIVEN an unknown flag, an argument, or --region with --from THEN exit 2 with the usage', async () => {
    for (const argv of [['--colour'], ['extra'], ['--from', base, '--region', 'eu-west-1']]) {
      const { code, err } = await runCliAsync(['diff', ...argv], dir);
      expect(code).toBe(2);
      expect(err).toMatch(/^cortex diff: .*\n\nUsage: cortex diff/);
    }
  });
});

describe('cortex diff (against the deployed stacks)', () => {
  /** CloudFormation answering with the templates of the assembly in `deployedDir`, as if it were deployed. */
  function deployAssembly(deployedDir: string): void {
    const stackId = 'arn:aws:cloudformation:us-east-1:123456789012:stack/Models/1';
    const parent = JSON.parse(fs.readFileSync(path.join(deployedDir, 'Models.template.json'), 'utf8')) as { Resources: Record<string, any> };
    cloudFormation.on(DescribeStacksCommand, { StackName: 'Models' }).resolves({ Stacks: [{ StackName: 'Models', StackId: stackId, StackStatus: 'UPDATE_COMPLETE', CreationTime: new Date() }] });
    cloudFormation.on(GetTemplateCommand, { StackName: stackId }).resolves({ TemplateBody: JSON.stringify(parent) });
    const nested = Object.entries(parent.Resources).filter(([, r]) => r.Type === 'AWS::CloudFormation::Stack');
    cloudFormation.on(ListStackResourcesCommand, { StackName: stackId }).resolves({
      StackResourceSummaries: nested.map(([logicalId]) => ({
        LogicalResourceId: logicalId,
        PhysicalResourceId: `${stackId}-${logicalId}`,
        ResourceType: 'AWS::CloudFormation::Stack',
        ResourceStatus: 'UPDATE_COMPLETE',
        LastUpdatedTimestamp: new Date(),
      })),
    });
    for (const [logicalId, resource] of nested) {
      const body = fs.readFileSync(path.join(deployedDir, resource.Metadata['aws:asset:path']), 'utf8');
      cloudFormation.on(GetTemplateCommand, { StackName: `${stackId}-${logicalId}` }).resolves({ TemplateBody: body });
    }
  }

  test('GIVEN the base assembly deployed THEN the same changes as offline', async () => {
    deployAssembly(base);
    const { code, out, err } = await runCliAsync(['diff', '--region', 'us-east-1'], dir);
    expect(err).toBe('');
    expect(code).toBe(0);
    expect(out).toBe(`cortex diff: deployed stacks → cdk.out\n\n${expected}`);
  });

  test('GIVEN the stack not deployed yet THEN every API is added, and the header says why', async () => {
    cloudFormation.on(DescribeStacksCommand).rejects(Object.assign(new Error('Stack with id Models does not exist'), { name: 'ValidationError' }));
    const { code, out } = await runCliAsync(['diff', '--region', 'us-east-1'], dir);
    expect(code).toBe(0);
    expect(out).toMatch(/^cortex diff: deployed stacks \(not deployed yet: Models\) → cdk.out\n\n\+ fresh \(RealtimeAPI\): API added/);
    expect(out).toMatch(/\n\+ split \(TrafficSplitter\): API added — VirtualService\n\n\+ steady \(RealtimeAPI\): API added.*\n.*\n\n6 APIs added.\n$/);
  });

  test('GIVEN no credentials THEN exit 1 and how to give them (or to compare offline)', async () => {
    cloudFormation.on(DescribeStacksCommand).rejects(Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' }));
    const { code, out, err } = await runCliAsync(['diff', '--region', 'us-east-1'], dir);
    expect(code).toBe(1);
    expect(out).toBe('');
    expect(err).toMatch(/^cortex diff: no AWS credentials to read stack Models \(Could not load credentials from any providers\): set AWS_PROFILE \(or --profile\).*--from DIR\n$/);
  });
});
