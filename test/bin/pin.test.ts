import * as fs from 'node:fs';
import * as path from 'node:path';
import { DescribeImagesCommand, ECRClient, ImageNotFoundException } from '@aws-sdk/client-ecr';
import { mockClient } from 'aws-sdk-client-mock';
import { Template } from 'aws-cdk-lib/assertions';
import * as YAML from 'yaml';
import { formatLock } from '../../bin/cli/pin/lock-file';
import { CortexApis } from '../../lib/cortex-apis';
import { FakeHttpServer } from '../support/fake-http';
import { clusterStack, KubeObject, manifestsOf } from '../lib/api-fixtures';
import { FakeRegistry } from './pin/fake-registry';
import { runCli, runCliAsync, tempDir, writeFile } from '../util';

const ecr = mockClient(ECRClient);
afterAll(() => ecr.restore());

const dir = tempDir('cortex-pin-');
const ECR_IMAGE = '123456789012.dkr.ecr.us-east-1.amazonaws.com/ml/iris:v2';
const ECR_DIGEST = `sha256:${'e'.repeat(64)}`;
const ECR_DIGEST_2 = `sha256:${'f'.repeat(64)}`;

let registry: FakeRegistry;
beforeAll(async () => {
  registry = await FakeRegistry.start({ auth: 'anonymous-token' });
});
afterAll(() => registry.stop());
beforeEach(() => {
  ecr.reset();
  ecr.on(DescribeImagesCommand).resolves({ imageDetails: [{ imageDigest: ECR_DIGEST }] });
});

/** A project with one API running an ECR image and an image of the fake registry. */
function project(name: string, modelTag = 'v1'): { cwd: string; file: string; modelImage: string } {
  const cwd = path.join(dir, name);
  const modelImage = `${registry.host}/team/model:${modelTag}`;
  const file = writeFile(
    cwd,
    'cortex.yaml',
    `- name: iris
  kind: RealtimeAPI
  pod:
    containers:
      - {name: api, image: "${ECR_IMAGE}"}
      - {name: model, image: "${modelImage}"}
`,
  );
  return { cwd, file, modelImage };
}

function pin(cwd: string, ...args: string[]) {
  return runCliAsync(['pin', '--insecure-registry', registry.host, ...args], cwd);
}

/** The Deployment `cortex manifests` renders, and the images of its containers (a real proxy image: no placeholder note). */
function deployment(cwd: string, ...args: string[]): { images: Record<string, string>; specHash: string } {
  const { code, out, err } = runCli(['manifests', '--proxy-image', 'example.com/proxy:1', ...args], cwd);
  expect({ code, err }).toEqual({ code: 0, err: '' });
  const objects = YAML.parseAllDocuments(out).map((d) => d.toJS() as KubeObject);
  return deploymentOf(objects);
}

function deploymentOf(objects: KubeObject[]): { images: Record<string, string>; specHash: string } {
  const spec = objects.find((o) => o.kind === 'Deployment')!.spec;
  const containers = spec.template.spec.containers as Array<{ name: string; image: string }>;
  return {
    images: Object.fromEntries(containers.filter((c) => c.name !== 'proxy').map((c) => [c.name, c.image])),
    specHash: spec.template.metadata.annotations['cortex.dev/spec-hash'],
  };
}

describe('cortex pin', () => {
  test('--help prints the usage and exits 0', async () => {
    const { code, out } = await runCliAsync(['pin', '--help'], dir);
    expect(code).toBe(0);
    expect(out).toMatch(/^Usage: cortex pin/);
    expect(out).toMatch(/ecr:DescribeImages/);
  });

  test('GIVEN ECR and registry images WHEN pinned THEN cortex.lock.json beside the cortex.yaml, and a line per image', async () => {
    // GIVEN
    const { cwd, modelImage } = project('first');
    const digest = registry.push('team/model', 'v1');
    // WHEN
    const { code, out, err } = await pin(cwd);
    // THEN
    expect(err).not.toMatch(/cortex pin: (warning|error)/);
    expect(code).toBe(0);
    expect(fs.readFileSync(path.join(cwd, 'cortex.lock.json'), 'utf8')).toBe(
      formatLock({ [ECR_IMAGE]: `123456789012.dkr.ecr.us-east-1.amazonaws.com/ml/iris@${ECR_DIGEST}`, [modelImage]: `${registry.host}/team/model@${digest}` }),
    );
    const lines = out.split('\n');
    expect(lines[0]).toMatch(new RegExp(`^  new  ${escape(ECR_IMAGE)} +sha256:eeeeeeeeeeee…  ECR us-east-1$`));
    expect(lines[1]).toMatch(new RegExp(`^  new  ${escape(modelImage)} +${escape(digest.slice(0, 19))}…  ${escape(registry.host)}$`));
    expect(lines[2]).toBe('cortex.lock.json: written: 2 images pinned (2 new)');
  });

  test('GIVEN a lock WHEN pinned again with nothing re-pushed THEN up to date, the file untouched', async () => {
    const { cwd } = project('again');
    registry.push('team/model', 'v1');
    await pin(cwd);
    const lock = path.join(cwd, 'cortex.lock.json');
    const before = fs.statSync(lock).mtimeMs;
    const { code, out } = await pin(cwd);
    expect(code).toBe(0);
    expect(out).toMatch(/^  unchanged {2}/);
    expect(out).toMatch(/\ncortex\.lock\.json: up to date: 2 images pinned \(2 unchanged\)\n$/);
    expect(fs.statSync(lock).mtimeMs).toBe(before);
  });

  test('GIVEN re-pushed tags WHEN re-pinned THEN changed (was …), and the rendered Deployment rolls: new images, new spec hash', async () => {
    // GIVEN
    const { cwd, file } = project('repush');
    const first = registry.push('team/model', 'v1');
    await pin(cwd);
    const pinned = deployment(cwd, '-f', file);
    // WHEN
    const second = registry.push('team/model', 'v1');
    ecr.on(DescribeImagesCommand).resolves({ imageDetails: [{ imageDigest: ECR_DIGEST_2 }] });
    const { code, out } = await pin(cwd);
    // THEN
    expect(code).toBe(0);
    expect(out).toMatch(/  changed {2}.*sha256:ffffffffffff….*\(was sha256:eeeeeeeeeeee…\)/);
    expect(out).toMatch(/cortex\.lock\.json: written: 2 images pinned \(2 changed\)\n$/);
    const repinned = deployment(cwd, '-f', file);
    expect(pinned.images).toEqual({ api: `123456789012.dkr.ecr.us-east-1.amazonaws.com/ml/iris@${ECR_DIGEST}`, model: `${registry.host}/team/model@${first}` });
    expect(repinned.images).toEqual({ api: `123456789012.dkr.ecr.us-east-1.amazonaws.com/ml/iris@${ECR_DIGEST_2}`, model: `${registry.host}/team/model@${second}` });
    expect(repinned.specHash).not.toBe(pinned.specHash);
  });

  test('GIVEN a tag that is not there THEN exit 1, the error names image, field and why; the lock is not written', async () => {
    const { cwd } = project('not-found', 'v404');
    ecr.on(DescribeImagesCommand).rejects(new ImageNotFoundException({ message: 'not found', $metadata: {} }));
    const { code, out, err } = await pin(cwd);
    expect(code).toBe(1);
    expect(out).toMatch(/  failed {2}.*\(error below\)/);
    expect(err).toContain(`cortex pin: error: ${ECR_IMAGE} (iris.pod.containers[0].image): image not found: ECR repository ml/iris (account 123456789012, us-east-1) has no tag "v2"\n`);
    expect(err).toContain(`cortex pin: error: ${registry.host}/team/model:v404 (iris.pod.containers[1].image): image not found: ${registry.host} has no team/model:v404 (HTTP 404)\n`);
    expect(err).toMatch(/cortex pin: nothing written: 2 images could not be pinned\n$/);
    expect(fs.existsSync(path.join(cwd, 'cortex.lock.json'))).toBe(false);
  });

  test('GIVEN access denied in ECR THEN exit 1, naming the IAM permission; the previous lock left as it was', async () => {
    const { cwd } = project('denied');
    registry.push('team/model', 'v1');
    await pin(cwd);
    const lock = fs.readFileSync(path.join(cwd, 'cortex.lock.json'), 'utf8');
    ecr.on(DescribeImagesCommand).rejects(Object.assign(new Error('not authorized to perform: ecr:DescribeImages'), { name: 'AccessDeniedException', $metadata: { httpStatusCode: 400 } }));
    const { code, err } = await pin(cwd);
    expect(code).toBe(1);
    expect(err).toContain('access denied: cortex pin needs ecr:DescribeImages on arn:aws:ecr:us-east-1:123456789012:repository/ml/iris');
    expect(fs.readFileSync(path.join(cwd, 'cortex.lock.json'), 'utf8')).toBe(lock);
  });

  test('GIVEN no AWS credentials THEN exit 1, saying how to provide them', async () => {
    const { cwd } = project('no-credentials');
    registry.push('team/model', 'v1');
    ecr.on(DescribeImagesCommand).rejects(Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' }));
    const { code, err } = await pin(cwd);
    expect(code).toBe(1);
    expect(err).toMatch(/cortex pin: error: .*iris:v2 \(iris\.pod\.containers\[0\]\.image\): no AWS credentials to ask ECR .* set AWS_PROFILE/);
  });

  test('GIVEN a registry that does not answer THEN a warning, the tag kept, the rest pinned, exit 0', async () => {
    // GIVEN
    const down = await FakeHttpServer.start();
    const downHost = new URL(down.url).host;
    await down.stop();
    const cwd = path.join(dir, 'unreachable');
    writeFile(cwd, 'cortex.yaml', `- {name: a, kind: RealtimeAPI, pod: {containers: [{name: api, image: "${ECR_IMAGE}"}, {name: b, image: "${downHost}/b:1"}]}}\n`);
    // WHEN
    const { code, out, err } = await runCliAsync(['pin', '--insecure-registry', downHost], cwd);
    // THEN
    expect(code).toBe(0);
    expect(err).toBe(`cortex pin: warning: ${downHost}/b:1 (a.pod.containers[1].image): ${downHost} unreachable (ECONNREFUSED at http://${downHost}); the tag is kept\n`);
    expect(out).toMatch(new RegExp(`  kept  ${escape(downHost)}/b:1 +\\(tag kept\\) +${escape(downHost)}  \\(warning below\\)\n`));
    expect(out).toMatch(/cortex\.lock\.json: written: 1 image pinned \(1 new\), 1 image kept as written\n$/);
    expect(JSON.parse(fs.readFileSync(path.join(cwd, 'cortex.lock.json'), 'utf8')).images).toEqual({ [ECR_IMAGE]: `123456789012.dkr.ecr.us-east-1.amazonaws.com/ml/iris@${ECR_DIGEST}` });
  });

  test('--dry-run prints what would be pinned and writes nothing', async () => {
    const { cwd } = project('dry-run');
    registry.push('team/model', 'v1');
    const { code, out } = await pin(cwd, '--dry-run');
    expect(code).toBe(0);
    expect(out).toMatch(/cortex\.lock\.json: not written \(--dry-run\): 2 images pinned \(2 new\)\n$/);
    expect(fs.existsSync(path.join(cwd, 'cortex.lock.json'))).toBe(false);
  });

  test('--lock names another lock file; cortex manifests --lock reads it', async () => {
    const { cwd } = project('other-lock');
    const digest = registry.push('team/model', 'v1');
    const { code, out } = await pin(cwd, '--lock', 'locks/prod.json');
    expect(code).toBe(0);
    expect(out).toMatch(/locks\/prod\.json: written/);
    expect(fs.existsSync(path.join(cwd, 'cortex.lock.json'))).toBe(false);
    expect(deployment(cwd, '--lock', 'locks/prod.json').images.model).toBe(`${registry.host}/team/model@${digest}`);
    expect(deployment(cwd).images.model).toBe(`${registry.host}/team/model:v1`);
  });

  test('GIVEN a file that is not a valid lock THEN exit 1 with its problems, and it is not overwritten', async () => {
    const { cwd } = project('bad-lock');
    writeFile(cwd, 'cortex.lock.json', '{"name": "not a lock"}\n');
    const { code, err } = await pin(cwd);
    expect(code).toBe(1);
    expect(err).toContain('cortex.lock.json:1:2: name: unknown field; a lock file has "version" and "images" only\n');
    expect(err).toContain('cortex pin: cortex.lock.json is not a valid lock file; fix it, or delete it and run cortex pin again\n');
    expect(fs.readFileSync(path.join(cwd, 'cortex.lock.json'), 'utf8')).toBe('{"name": "not a lock"}\n');
  });

  test('GIVEN an invalid cortex.yaml THEN exit 1 with its problems, nothing asked', async () => {
    const cwd = path.join(dir, 'invalid');
    writeFile(cwd, 'cortex.yaml', '- {name: a, kind: RealtimeAPI, pod: {containers: []}}\n');
    const { code, err } = await runCliAsync(['pin'], cwd);
    expect(code).toBe(1);
    expect(err).toMatch(/^cortex\.yaml:1:\d+: a\.pod\.containers: /);
    expect(ecr.calls()).toHaveLength(0);
  });

  test('GIVEN only images built by the app (predictor form) THEN nothing to pin, no file', async () => {
    const cwd = path.join(dir, 'nothing');
    writeFile(cwd, 'cortex.yaml', '- {name: a, kind: RealtimeAPI, predictor: {type: python, path: predictor.py}}\n');
    const { code, out } = await runCliAsync(['pin'], cwd);
    expect(code).toBe(0);
    expect(out).toBe('cortex.yaml: no image to pin; cortex.lock.json not written\n');
  });

  test.each([
    [['--insecure-registry', 'registry.example.com:5000'], /--insecure-registry "registry\.example\.com:5000": must be HOST\[:PORT\] of a loopback host/],
    [['--insecure-registry', 'http://127.0.0.1:5000'], /--insecure-registry "http:\/\/127\.0\.0\.1:5000": must be HOST\[:PORT\]/],
    [['--bogus'], /Unknown option '--bogus'/],
  ])('GIVEN %j THEN a usage error, exit 2', async (args, message) => {
    const { code, err } = await runCliAsync(['pin', ...args], dir);
    expect(code).toBe(2);
    expect(err).toMatch(message);
    expect(err).toMatch(/Usage: cortex pin/);
  });
});

describe('the lock file and the other commands', () => {
  test('cortex manifests renders the pinned images; --no-lock the tags; both flags are a usage error', async () => {
    const { cwd } = project('manifests');
    const digest = registry.push('team/model', 'v1');
    await pin(cwd);
    expect(deployment(cwd).images.model).toBe(`${registry.host}/team/model@${digest}`);
    expect(deployment(cwd, '--no-lock').images.model).toBe(`${registry.host}/team/model:v1`);
    const { code, err } = runCli(['manifests', '--lock', 'x.json', '--no-lock'], cwd);
    expect(code).toBe(2);
    expect(err).toMatch(/--lock and --no-lock cannot be used together/);
  });

  test('cortex manifests with an invalid lock: exit 1, the lock\'s problem', () => {
    const { cwd } = project('manifests-bad-lock');
    writeFile(cwd, 'cortex.lock.json', '{"version": 1, "images": {"redis:7": "redis:8"}}');
    const { code, out, err } = runCli(['manifests'], cwd);
    expect(code).toBe(1);
    expect(out).toBe('');
    expect(err).toMatch(/^cortex\.lock\.json:1:38: images\["redis:7"\]: must be the pinned reference "redis@sha256:<64 hex digits>"/);
  });

  test('cortex validate: a lock that misses an image of the file is a warning (exit 0); an invalid one a problem (exit 1)', async () => {
    const { cwd, modelImage } = project('validate');
    writeFile(cwd, 'cortex.lock.json', formatLock({ [ECR_IMAGE]: `123456789012.dkr.ecr.us-east-1.amazonaws.com/ml/iris@${ECR_DIGEST}` }));
    const valid = runCli(['validate'], cwd);
    expect(valid.code).toBe(0);
    expect(valid.out).toBe('cortex.yaml: valid (1 RealtimeAPI)\n');
    expect(valid.err).toBe(`cortex.lock.json: warning: does not pin "${modelImage}"; deployed as written until "cortex pin -f cortex.yaml"\n`);

    writeFile(cwd, 'cortex.lock.json', '{"version": 2, "images": {}}');
    const invalid = runCli(['validate'], cwd);
    expect(invalid.code).toBe(1);
    expect(invalid.err).toBe('cortex.lock.json:1:13: version: must be 1, the lock format this cortex-cdk reads, got 2 (a newer cortex-cdk wrote it?)\n');
  });

  test('cortex validate without a lock file: no warning', () => {
    const { cwd } = project('validate-no-lock');
    expect(runCli(['validate'], cwd)).toEqual({ code: 0, out: 'cortex.yaml: valid (1 RealtimeAPI)\n', err: '' });
  });
});

describe('synth reads the lock file (CortexApis.fromConfigFile)', () => {
  function synthesizedImages(file: string): Record<string, string> {
    const { stack, cluster } = clusterStack();
    const apis = CortexApis.fromConfigFile(stack, 'Apis', file, { cluster, proxyImage: 'example.com/proxy:1' });
    const objects = apis.stacks.flatMap((s) => manifestsOf(Template.fromStack(s))).flatMap((m) => m.objects);
    return deploymentOf(objects).images;
  }

  // Two synths of a stack with an EKS cluster: seconds each on a busy machine.
  test('GIVEN a lock beside the cortex.yaml THEN the manifest deploys the digests; re-pinned THEN the new ones', async () => {
    // GIVEN
    const { cwd, file } = project('synth');
    const first = registry.push('team/model', 'v1');
    expect(await pin(cwd)).toMatchObject({ code: 0, err: '' });
    // THEN
    expect(synthesizedImages(file).model).toBe(`${registry.host}/team/model@${first}`);
    // WHEN re-pushed and re-pinned
    const second = registry.push('team/model', 'v1');
    expect(await pin(cwd)).toMatchObject({ code: 0, err: '' });
    expect(synthesizedImages(file).model).toBe(`${registry.host}/team/model@${second}`);
  }, 60_000);
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
