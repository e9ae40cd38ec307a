import { execFileSync, spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { runCli, tempDir, writeFile } from '../util';

const dir = tempDir('cortex-validate-cluster-');
const examples = path.join(__dirname, '..', '..', 'examples');

const BAD_CLUSTER_YAML = `cluster_name: cortex
region: us-east-1
aws_secret_access_key: wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY
node_groups:
  - name: cpu
    instance_type: m5.large
    min_instances: 3
    max_instances: 2
    instnce_volume_size: 100
prometheus_instance_type: t3.medium
`;

describe('cortex validate -f cluster.yaml', () => {
  test('GIVEN the example cluster.yaml THEN exit 0 and a summary of the cluster', () => {
    const { code, out, err } = runCli(['validate', '-f', path.join(examples, 'cluster.yaml')], dir);
    expect(err).toBe('');
    expect(out).toBe(`${path.join(examples, 'cluster.yaml')}: valid cluster.yaml (cluster cortex in us-east-1, 2 node groups)\n`);
    expect(code).toBe(0);
  });

  test('GIVEN a cluster.yaml with fields without effect here THEN valid, with one warning line each', () => {
    writeFile(dir, 'notes/cluster.yaml', 'region: eu-west-1\nimage_operator: quay.io/cortexlabs/operator:0.42.1\n');
    const { code, out, err } = runCli(['validate', '-f', 'notes/cluster.yaml'], dir);
    expect(err).toBe(
      "notes/cluster.yaml:2:1: image_operator: warning: has no effect here: Cortex's own images are not used; the platform installs " +
        'upstream charts at the versions this release pins (each add-on takes a repository option in code, for a mirror)\n',
    );
    expect(out).toBe("notes/cluster.yaml: valid cluster.yaml (cluster cortex in eu-west-1, the stack's default node groups)\n");
    expect(code).toBe(0);
  });

  test('GIVEN a bad cluster.yaml THEN exit 1, every problem in file order, then the warnings; the secret never printed', () => {
    writeFile(dir, 'bad/cluster.yaml', BAD_CLUSTER_YAML);
    const { code, out, err } = runCli(['validate', '-f', 'bad/cluster.yaml'], dir);
    expect(out).toBe('');
    expect(err.split('\n')).toEqual([
      'bad/cluster.yaml:3:1: aws_secret_access_key: AWS credentials do not belong in cluster.yaml (its value is not shown here): cdk deploy and ' +
        'the cortex CLI use the AWS credential chain (AWS_PROFILE or AWS_ACCESS_KEY_ID in the environment, ~/.aws/credentials, SSO, or an ' +
        'instance or CI role); remove the key, and rotate the key if the file was shared',
      'bad/cluster.yaml:7:20: node_groups[0].min_instances: must be <= max_instances (2), got 3',
      'bad/cluster.yaml:9:5: node_groups[0].instnce_volume_size: unknown field "instnce_volume_size"; did you mean "instance_volume_size"?',
      'bad/cluster.yaml:10:1: prometheus_instance_type: warning: has no effect here: Prometheus runs on the CPU node groups (size them for it), not on a node group of its own',
      '',
    ]);
    expect(err).not.toContain('wJalrXUtnFEMI');
    expect(code).toBe(1);
  });

  test('GIVEN a cortex.yaml THEN it is still read as one (a list is never a cluster.yaml)', () => {
    writeFile(dir, 'api/cortex.yaml', '- name: region\n  kind: RealtimeAPI\n  pod:\n    containers:\n      - {name: api, image: nginx}\n');
    const { code, out } = runCli(['validate', '-f', 'api/cortex.yaml'], dir);
    expect(out).toBe('api/cortex.yaml: valid (1 RealtimeAPI)\n');
    expect(code).toBe(0);
  });
});

describe('the built CLI as a real process, on a cluster.yaml', () => {
  const cli = path.join(__dirname, '..', '..', 'dist', 'bin', 'cortex.js');

  test('exit 0 on the example, 1 with the problem lines on a bad file', () => {
    expect(execFileSync(process.execPath, [cli, 'validate', '-f', path.join(examples, 'cluster.yaml')]).toString()).toMatch(/valid cluster\.yaml/);
    const bad = writeFile(dir, 'p/cluster.yaml', 'region: us-east-1\nnat_gateway: none\n');
    const result = spawnSync(process.execPath, [cli, 'validate', '-f', bad]);
    expect(result.status).toBe(1);
    expect(result.stderr.toString()).toBe(
      `${bad}:2:14: nat_gateway: must be single or highly_available, got "none": the nodes run in private subnets and need a NAT gateway to pull images and reach AWS APIs\n`,
    );
  });

  test('validating a cluster.yaml does not load cdk8s or aws-cdk-lib', () => {
    const file = path.join(examples, 'cluster.yaml');
    const probe = `require(${JSON.stringify(cli)}).run(['validate','-f',${JSON.stringify(file)}]);
      const loaded = Object.keys(require.cache).filter((k) => /node_modules[\\\\/](cdk8s|aws-cdk-lib)/.test(k));
      process.stdout.write(JSON.stringify(loaded));`;
    const loaded = JSON.parse(execFileSync(process.execPath, ['-e', probe]).toString().replace(/^.*valid.*\n/, ''));
    expect(loaded).toEqual([]);
  });
});
