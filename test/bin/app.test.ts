import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tempDir, writeFile } from '../util';

const root = path.join(__dirname, '..', '..');
// The compiled app (`npm test` builds first): the code `npx cdk synth` runs through ts-node, in half the time.
const APP = path.join(root, 'dist', 'bin', 'app.js');
beforeAll(() => {
  if (!fs.existsSync(APP)) throw new Error(`${APP} is missing: run npm run build first`);
});
const dir = tempDir('cortex-app-');

/** Runs bin/app.ts as `npx cdk synth -c KEY=VALUE ...` would (the CLI hands the app its context in CDK_CONTEXT_JSON). */
function synth(context: Record<string, string>): { status: number | null; stderr: string } {
  const result = spawnSync(process.execPath, [APP], {
    cwd: root,
    env: { ...process.env, CDK_CONTEXT_JSON: JSON.stringify(context), CDK_OUTDIR: path.join(dir, 'cdk.out') },
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { status: result.status, stderr: result.stderr };
}

describe('bin/app.ts (npx cdk synth)', () => {
  test('GIVEN -c config= naming no file (only commas and blanks) THEN it says so and exits 1, instead of a cluster without APIs', () => {
    const { status, stderr } = synth({ config: ', ,' });
    expect(stderr).toBe('-c config=", ," names no cortex.yaml: give one path, or several separated by commas\n');
    expect(status).toBe(1);
  });

  test('GIVEN an API named constructor (a construct id the constructs library refuses) THEN the problem at its line, without a stack trace', () => {
    const file = writeFile(dir, 'constructor.yaml', '- name: constructor\n  kind: RealtimeAPI\n  pod:\n    containers:\n      - {name: api, image: nginx}\n');
    const { status, stderr } = synth({ config: file });
    expect(stderr).toBe(
      `${file}:1:9: [0].name: "constructor" is reserved (API names become construct ids, and the constructs library cannot take this one); choose another name\n`,
    );
    expect(status).toBe(1);
  });
});

describe("bin/app.ts's EKS endpoint", () => {
  test('GIVEN no cluster.yaml THEN the public endpoint is acknowledged with its reason, not warned about', () => {
    const out = path.join(dir, 'default-out');
    const result = spawnSync(process.execPath, [APP], {
      cwd: root,
      env: { ...process.env, CDK_CONTEXT_JSON: JSON.stringify({ config: 'examples/hello-world/cortex.yaml' }), CDK_OUTDIR: out },
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect({ status: result.status, stderr: result.stderr }).toEqual({ status: 0, stderr: '' });
    const metadata = fs.readFileSync(path.join(out, 'Cortex.metadata.json'), 'utf8');
    const entries = (Object.values(JSON.parse(metadata)) as { type: string; data: unknown }[][]).flat();
    expect(entries.filter((e) => e.type === 'aws:cdk:warning' && JSON.stringify(e.data).includes('eks-endpoint-open-to-all'))).toEqual([]);
    expect(entries.filter((e) => e.type === 'aws:cdk:acknowledged-rules').map((e) => e.data)).toContainEqual({
      'Annotation::cortex-cdk:eks-endpoint-open-to-all':
        'the example app: cdk deploy, kubectl and cortex get from any laptop; restrict it with -c cluster=examples/cluster.yaml',
    });
  });
});

describe('bin/app.ts with -c cluster=cluster.yaml', () => {
  test('GIVEN examples/cluster.yaml and an API THEN a stack in its region, with its node groups, VPC, endpoint, load balancer and tags', () => {
    const out = path.join(dir, 'cluster-out');
    const result = spawnSync(process.execPath, [APP], {
      cwd: root,
      env: {
        ...process.env,
        CDK_CONTEXT_JSON: JSON.stringify({ cluster: 'examples/cluster.yaml', config: 'examples/iris-classifier/cortex.yaml' }),
        CDK_OUTDIR: out,
      },
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    const manifest = JSON.parse(fs.readFileSync(path.join(out, 'manifest.json'), 'utf8'));
    expect(manifest.artifacts.Cortex.environment).toBe('aws://unknown-account/us-east-1');
    expect(manifest.artifacts.Cortex.properties.tags).toEqual({ 'cortex.dev/cluster-name': 'cortex', 'cost-center': '1234', team: 'ml-platform' });
    const resources = Object.values(JSON.parse(fs.readFileSync(path.join(out, 'Cortex.template.json'), 'utf8')).Resources) as {
      Type: string;
      Properties: Record<string, any>;
    }[];
    const ofType = (type: string) => resources.filter((r) => r.Type === type).map((r) => r.Properties);
    expect(ofType('AWS::EKS::Nodegroup').map((n) => [n.InstanceTypes, n.CapacityType, n.ScalingConfig])).toEqual([
      [['m6i.xlarge'], 'ON_DEMAND', { DesiredSize: 1, MaxSize: 5, MinSize: 1 }],
      [['g5.xlarge', 'g6.xlarge'], 'SPOT', { DesiredSize: 0, MaxSize: 3, MinSize: 0 }],
    ]);
    expect(ofType('AWS::EC2::VPC').map((v) => v.CidrBlock)).toEqual(['10.0.0.0/16']);
    expect(ofType('AWS::EC2::NatGateway')).toHaveLength(3);
    expect([...new Set(ofType('AWS::EC2::Subnet').map((s) => s.AvailabilityZone))].sort()).toEqual(['us-east-1a', 'us-east-1b', 'us-east-1c']);
    expect(ofType('AWS::EKS::Cluster')[0]).toMatchObject({ Name: 'cortex', ResourcesVpcConfig: { PublicAccessCidrs: ['203.0.113.0/24'] } });
    const manifests = JSON.stringify(ofType('Custom::AWSCDK-EKS-KubernetesResource').map((r) => r.Manifest));
    expect(manifests).toContain('arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d');
    expect(manifests).toContain('203.0.113.0/24');
    expect(manifests).toContain('198.51.100.0/24');
  });

  test('GIVEN a bad cluster.yaml and a bad cortex.yaml THEN the problems of both, and exit 1 before any synth', () => {
    const cluster = writeFile(dir, 'bad-cluster.yaml', 'region: us-east-1\nsubnet_visibility: public\n');
    const config = writeFile(dir, 'bad-cortex.yaml', '- name: constructor\n  kind: RealtimeAPI\n  pod:\n    containers:\n      - {name: api, image: nginx}\n');
    const { status, stderr } = synth({ cluster, config });
    expect(stderr.split('\n')).toEqual([
      `${cluster}:2:20: subnet_visibility: must be private here, got "public": nodes run in private subnets and reach the internet through a NAT gateway; ` +
        'public IPs on nodes would expose their ports to the internet behind security groups alone. Set private (or remove the field)',
      `${config}:1:9: [0].name: "constructor" is reserved (API names become construct ids, and the constructs library cannot take this one); choose another name`,
      '',
    ]);
    expect(status).toBe(1);
  });

  test('GIVEN -c cluster= naming a missing file THEN it says so and exits 1', () => {
    const { status, stderr } = synth({ cluster: 'nope/cluster.yaml', config: 'examples/iris-classifier/cortex.yaml' });
    expect(stderr).toBe('nope/cluster.yaml: no such file\n');
    expect(status).toBe(1);
  });
});
