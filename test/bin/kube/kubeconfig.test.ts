import * as fs from 'node:fs';
import * as path from 'node:path';
import { eksClusterRef, KubeconfigError, KubeCredentials, loadKubeconfig } from '../../../bin/cli/kube/kubeconfig';
import { tempDir, writeFile } from '../../util';

const dir = tempDir();
let n = 0;
/** A fresh directory per test, so files never mix. */
const fresh = () => fs.mkdtempSync(path.join(dir, `t${n++}-`));

const EKS_ARN = 'arn:aws:eks:us-west-2:123456789012:cluster/ml-prod';

/** What `aws eks update-kubeconfig --name ml-prod --region us-west-2` writes, with `command` instead of aws. */
function eksKubeconfig(command = 'aws', env = ''): string {
  return `apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: ${Buffer.from('the CA').toString('base64')}
    server: https://0123456789ABCDEF.gr7.us-west-2.eks.amazonaws.com
  name: ${EKS_ARN}
contexts:
- context:
    cluster: ${EKS_ARN}
    user: ${EKS_ARN}
  name: ${EKS_ARN}
current-context: ${EKS_ARN}
kind: Config
preferences: {}
users:
- name: ${EKS_ARN}
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      args:
      - --region
      - us-west-2
      - eks
      - get-token
      - --cluster-name
      - ml-prod
      - --output
      - json
      command: ${command}
${env}`;
}

/** A credential plugin that prints `status` as an ExecCredential and counts its runs in `runs`. */
function plugin(home: string, status: Record<string, unknown>, exit = 0): { command: string; runs: string } {
  const runs = path.join(home, 'runs');
  const command = writeFile(
    home,
    'bin/aws',
    `#!/bin/sh
echo run >> ${runs}
echo "$KUBERNETES_EXEC_INFO" > ${path.join(home, 'exec-info')}
echo "$AWS_PROFILE" > ${path.join(home, 'profile')}
${exit === 0 ? `echo '${JSON.stringify({ kind: 'ExecCredential', apiVersion: 'client.authentication.k8s.io/v1beta1', status })}'` : `echo 'An error occurred (ExpiredToken)' >&2; exit ${exit}`}
`,
  );
  fs.chmodSync(command, 0o755);
  return { command, runs };
}

describe('loadKubeconfig', () => {
  test('an "aws eks update-kubeconfig" file: server, CA data, exec plugin, and the EKS cluster it names', () => {
    const home = fresh();
    writeFile(home, '.kube/config', eksKubeconfig());

    const target = loadKubeconfig({ cwd: home, home, env: {} });

    expect(target).toMatchObject({
      contextName: EKS_ARN,
      server: 'https://0123456789ABCDEF.gr7.us-west-2.eks.amazonaws.com',
      auth: { kind: 'exec', exec: { command: 'aws', args: expect.arrayContaining(['get-token']) } },
      eks: { name: 'ml-prod', region: 'us-west-2' },
    });
    expect(target.tls.ca?.toString()).toBe('the CA');
    expect(target.tls.insecure).toBe(false);
  });

  test('KUBECONFIG lists files that merge: the first to define a name or the current context wins; missing files are skipped', () => {
    const home = fresh();
    const a = writeFile(
      home,
      'a.yaml',
      `clusters: [{name: c, cluster: {server: "https://a.example:6443/"}}]
users: [{name: u, user: {token: from-a}}]
contexts: [{name: first, context: {cluster: c, user: u, namespace: team-a}}]
current-context: first
`,
    );
    const b = writeFile(
      home,
      'b.yaml',
      `clusters: [{name: c, cluster: {server: "https://b.example"}}, {name: d, cluster: {server: "https://d.example", insecure-skip-tls-verify: true}}]
users: [{name: u, user: {token: from-b}}, {name: v, user: {tokenFile: token.txt}}]
contexts: [{name: second, context: {cluster: d, user: v}}]
current-context: second
`,
    );
    const env = { KUBECONFIG: [a, path.join(home, 'none.yaml'), b].join(path.delimiter) };

    const first = loadKubeconfig({ cwd: home, env });
    expect(first).toMatchObject({ contextName: 'first', server: 'https://a.example:6443', namespace: 'team-a', auth: { kind: 'token', token: 'from-a' }, files: [a, b] });

    const second = loadKubeconfig({ cwd: home, env, context: 'second' });
    expect(second).toMatchObject({ server: 'https://d.example', tls: { insecure: true }, auth: { kind: 'tokenFile', file: path.join(home, 'token.txt') } });
  });

  test('client certificates and CA from files, relative to the kubeconfig', () => {
    const home = fresh();
    writeFile(home, 'certs/ca.crt', 'CA');
    writeFile(home, 'certs/me.crt', 'CERT');
    writeFile(home, 'certs/me.key', 'KEY');
    const file = writeFile(
      home,
      'conf/kubeconfig',
      `clusters: [{name: c, cluster: {server: "https://k.example", certificate-authority: ../certs/ca.crt, tls-server-name: kubernetes}}]
users: [{name: u, user: {client-certificate: ../certs/me.crt, client-key: ../certs/me.key}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
`,
    );

    const target = loadKubeconfig({ cwd: '/', kubeconfig: file });

    expect(target.tls.ca?.toString()).toBe('CA');
    expect(target.tls.cert?.toString()).toBe('CERT');
    expect(target.tls.key?.toString()).toBe('KEY');
    expect(target.tls.serverName).toBe('kubernetes');
    expect(target.auth).toEqual({ kind: 'none' });
  });

  test('what cannot be used is said, with what to do', () => {
    const home = fresh();
    expect(() => loadKubeconfig({ cwd: home, home, env: {} })).toThrow(
      new KubeconfigError(
        `no kubeconfig: ${path.join(home, '.kube', 'config')} does not exist and KUBECONFIG is not set. Write one with "aws eks update-kubeconfig --name CLUSTER --region REGION", or pass --kubeconfig PATH`,
      ),
    );
    const file = writeFile(home, 'k', `clusters: [{name: c, cluster: {server: "https://k"}}]\ncontexts: [{name: x, context: {cluster: c, user: nobody}}, {name: y, context: {cluster: gone}}]\n`);
    expect(() => loadKubeconfig({ cwd: home, kubeconfig: file })).toThrow(`${file} sets no current-context; pass --context NAME (contexts: x, y)`);
    expect(() => loadKubeconfig({ cwd: home, kubeconfig: file, context: 'z' })).toThrow(`context "z" is not in ${file} (contexts: x, y)`);
    expect(() => loadKubeconfig({ cwd: home, kubeconfig: file, context: 'x' })).toThrow(`context "x" names user "nobody", which is not in ${file}`);
    expect(() => loadKubeconfig({ cwd: home, kubeconfig: file, context: 'y' })).toThrow(`context "y" names cluster "gone", which is not in ${file}`);
    const gcp = writeFile(home, 'gcp', `clusters: [{name: c, cluster: {server: "https://k"}}]\nusers: [{name: u, user: {auth-provider: {name: gcp}}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n`);
    expect(() => loadKubeconfig({ cwd: home, kubeconfig: gcp })).toThrow(/uses auth-provider "gcp", which cortex does not support; use an exec credential plugin/);
    writeFile(home, 'bad', 'clusters: [unclosed');
    expect(() => loadKubeconfig({ cwd: home, kubeconfig: 'bad' })).toThrow(/^cannot read kubeconfig .*bad: /);
  });

  /** A kubeconfig of one context whose cluster has `server` and whose user is `user` (flow YAML). */
  const oneContext = (server: string, user: string) =>
    `clusters: [{name: c, cluster: {server: ${JSON.stringify(server)}}}]\nusers: [{name: u, user: ${user}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n`;

  test.each([
    ['not a URL', 'https://[::1', /cluster "c" in .*k: server "https:\/\/\[::1" is not a URL; it must be https:\/\/HOST\[:PORT\]$/],
    ['a port out of range', 'https://127.0.0.1:99999', /server "https:\/\/127\.0\.0\.1:99999" is not a URL/],
    ['a host and port without a scheme', 'k.example:443', /server "k\.example:443" must be an https:\/\/ \(or http:\/\/\) URL, not k\.example:$/],
    ['another scheme', 'ftp://k.example', /server "ftp:\/\/k\.example" must be an https:\/\/ \(or http:\/\/\) URL, not ftp:$/],
  ])('GIVEN a server that is %s WHEN loaded THEN a KubeconfigError naming the cluster, before any request', (_, server, message) => {
    const home = fresh();
    const file = writeFile(home, 'k', oneContext(server, '{token: t}'));
    expect(() => loadKubeconfig({ cwd: home, kubeconfig: file })).toThrow(KubeconfigError);
    expect(() => loadKubeconfig({ cwd: home, kubeconfig: file })).toThrow(message);
  });

  test.each([
    ['an exec variable whose value is a mapping', '{exec: {command: aws, env: [{name: A, value: {toString: 1}}]}}', /^user "u" in .*k: exec\.env A must be a string, got a mapping$/],
    ['an exec argument that is a mapping', '{exec: {command: aws, args: [eks, {toString: 1}]}}', /^user "u" in .*k: exec\.args\[1\] must be a string, got a mapping$/],
    ['an auth-provider whose name is a mapping', '{auth-provider: {name: {toString: 1}}}', /^user "u" in .*k uses auth-provider "\?", which cortex does not support/],
  ])('GIVEN %s WHEN loaded THEN a KubeconfigError naming the user, not a TypeError', (_, user, message) => {
    const home = fresh();
    const file = writeFile(home, 'k', oneContext('https://k.example', user));
    expect(() => loadKubeconfig({ cwd: home, kubeconfig: file })).toThrow(KubeconfigError);
    expect(() => loadKubeconfig({ cwd: home, kubeconfig: file })).toThrow(message);
  });

  test('GIVEN a file nested thousands of levels deep WHEN loaded THEN it is refused before parsing, with the line and column', () => {
    const home = fresh();
    const file = writeFile(home, 'k', `clusters: ${'['.repeat(20_000)}`);
    expect(() => loadKubeconfig({ cwd: home, kubeconfig: file })).toThrow(
      new KubeconfigError(`cannot read kubeconfig ${file}: nested more than 100 levels deep at line 1, column 110`),
    );
  });
});

describe('eksClusterRef', () => {
  const exec = (args: string[], env: Record<string, string> = {}, command = 'aws') => ({ kind: 'exec' as const, exec: { command, args, env, provideClusterInfo: false } });

  test('from the ARN the context is named after', () => {
    expect(eksClusterRef(EKS_ARN, EKS_ARN, 'https://x', { kind: 'none' })).toEqual({ name: 'ml-prod', region: 'us-west-2', profile: undefined });
  });

  test('from the exec plugin (aws eks get-token, aws-iam-authenticator) and the endpoint', () => {
    expect(eksClusterRef('dev', 'dev', 'https://ABC.yl4.eu-central-1.eks.amazonaws.com', exec(['eks', 'get-token', '--cluster-name=dev-1'], { AWS_PROFILE: 'ml' }))).toEqual({
      name: 'dev-1',
      region: 'eu-central-1',
      profile: 'ml',
    });
    expect(eksClusterRef('dev', 'dev', 'https://k', exec(['token', '-i', 'dev-2'], {}, '/usr/local/bin/aws-iam-authenticator'))).toEqual({
      name: 'dev-2',
      region: undefined,
      profile: undefined,
    });
    expect(eksClusterRef('kind-kind', 'kind-kind', 'https://127.0.0.1:6443', { kind: 'token', token: 't' })).toEqual({ name: undefined, region: undefined, profile: undefined });
  });
});

describe('KubeCredentials', () => {
  test('runs the exec plugin once while its token is valid, with KUBERNETES_EXEC_INFO and its env', async () => {
    const home = fresh();
    const { command, runs } = plugin(home, { token: 'k8s-aws-v1.token', expirationTimestamp: '2999-01-01T00:00:00Z' });
    const file = writeFile(home, 'config', eksKubeconfig(command, '      env:\n      - name: AWS_PROFILE\n        value: ml-team\n'));
    const credentials = new KubeCredentials(loadKubeconfig({ cwd: home, kubeconfig: file }));

    expect(await credentials.get()).toEqual({ token: 'k8s-aws-v1.token' });
    expect(await credentials.get()).toEqual({ token: 'k8s-aws-v1.token' });

    expect(fs.readFileSync(runs, 'utf8')).toBe('run\n');
    expect(JSON.parse(fs.readFileSync(path.join(home, 'exec-info'), 'utf8'))).toEqual({
      apiVersion: 'client.authentication.k8s.io/v1beta1',
      kind: 'ExecCredential',
      spec: { interactive: false },
    });
    expect(fs.readFileSync(path.join(home, 'profile'), 'utf8')).toBe('ml-team\n');
  });

  test('runs it again once the token is about to expire', async () => {
    const home = fresh();
    const { command, runs } = plugin(home, { token: 't', expirationTimestamp: '2030-01-01T00:00:00Z' });
    const file = writeFile(home, 'config', eksKubeconfig(command));
    let now = Date.parse('2030-01-01T00:00:00Z') - 60_000;
    const credentials = new KubeCredentials(loadKubeconfig({ cwd: home, kubeconfig: file }), () => now);

    await credentials.get();
    now += 45_000; // within the refresh margin
    await credentials.get();

    expect(fs.readFileSync(runs, 'utf8')).toBe('run\nrun\n');
  });

  test('a client certificate from the plugin', async () => {
    const home = fresh();
    const { command } = plugin(home, { clientCertificateData: 'CERT', clientKeyData: 'KEY' });
    const credentials = new KubeCredentials(loadKubeconfig({ cwd: home, kubeconfig: writeFile(home, 'config', eksKubeconfig(command)) }));
    const got = await credentials.get();
    expect(got.cert?.toString()).toBe('CERT');
    expect(got.key?.toString()).toBe('KEY');
  });

  test('a plugin that is not installed, that fails, or that prints no credential', async () => {
    const home = fresh();
    const missing = new KubeCredentials(loadKubeconfig({ cwd: home, kubeconfig: writeFile(home, 'missing', eksKubeconfig('/nonexistent/aws')) }));
    await expect(missing.get()).rejects.toThrow(
      `the credential plugin of user "${EKS_ARN}" (/nonexistent/aws --region us-west-2 eks get-token --cluster-name ml-prod --output json) cannot run: /nonexistent/aws is not installed: install the AWS CLI v2`,
    );

    const failing = plugin(fresh(), {}, 255);
    const failed = new KubeCredentials(loadKubeconfig({ cwd: home, kubeconfig: writeFile(home, 'failing', eksKubeconfig(failing.command)) }));
    await expect(failed.get()).rejects.toThrow(/failed \(exit 255\): An error occurred \(ExpiredToken\)$/);

    const empty = plugin(fresh(), { expirationTimestamp: '2999-01-01T00:00:00Z' });
    const nothing = new KubeCredentials(loadKubeconfig({ cwd: home, kubeconfig: writeFile(home, 'empty', eksKubeconfig(empty.command)) }));
    await expect(nothing.get()).rejects.toThrow(/returned an ExecCredential with neither a token nor a client certificate/);
  });

  test('GIVEN a plugin whose ExecCredential holds a client certificate that is not a string THEN a KubeconfigError, not a TypeError', async () => {
    const home = fresh();
    const { command } = plugin(home, { clientCertificateData: { pem: 'CERT' }, clientKeyData: 'KEY' });
    const credentials = new KubeCredentials(loadKubeconfig({ cwd: home, kubeconfig: writeFile(home, 'config', eksKubeconfig(command)) }));
    await expect(credentials.get()).rejects.toThrow(KubeconfigError);
    await expect(credentials.get()).rejects.toThrow(/\) returned an ExecCredential whose status\.clientCertificateData is not a string$/);
  });

  test('a plugin that cannot start leaves no timer behind (the CLI would linger until it fired)', async () => {
    const home = fresh();
    const missing = new KubeCredentials(loadKubeconfig({ cwd: home, kubeconfig: writeFile(home, 'missing', eksKubeconfig('/nonexistent/aws')) }));
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const before = timers();
    await expect(missing.get()).rejects.toThrow(/is not installed/);
    expect(timers()).toBe(before);
  });

  test('a token file is read at each request', async () => {
    const home = fresh();
    const token = writeFile(home, 'token', 'one\n');
    const file = writeFile(home, 'config', `clusters: [{name: c, cluster: {server: "https://k"}}]\nusers: [{name: u, user: {tokenFile: token}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n`);
    const credentials = new KubeCredentials(loadKubeconfig({ cwd: home, kubeconfig: file }));
    expect(await credentials.get()).toEqual({ token: 'one' });
    fs.writeFileSync(token, 'two');
    expect(await credentials.get()).toEqual({ token: 'two' });
  });
});
