import { DescribeImagesCommand, ECRClient, ImageNotFoundException } from '@aws-sdk/client-ecr';
import { mockClient } from 'aws-sdk-client-mock';
import { parseConfig } from '../../../lib/config';
import { pinImages } from '../../../bin/cli/pin/pin-images';
import { FakeHttpServer } from '../../support/fake-http';
import { FakeRegistry } from './fake-registry';

const ecr = mockClient(ECRClient);
afterAll(() => ecr.restore());

const ECR_HOST = '123456789012.dkr.ecr.us-east-1.amazonaws.com';
const ECR_DIGEST = `sha256:${'e'.repeat(64)}`;
const OLD_DIGEST = `sha256:${'0'.repeat(64)}`;

let registry: FakeRegistry;
let downUrl: string;
beforeAll(async () => {
  registry = await FakeRegistry.start({ auth: 'anonymous-token' });
  const down = await FakeHttpServer.start();
  downUrl = down.url;
  await down.stop();
});
afterAll(() => registry.stop());
beforeEach(() => {
  ecr.reset();
  ecr.on(DescribeImagesCommand).resolves({ imageDetails: [{ imageDigest: ECR_DIGEST }] });
});

function configWith(images: string[]) {
  const containers = images.map((image, i) => `      - {name: c${i}, image: "${image}"}`).join('\n');
  return parseConfig(`- name: api\n  kind: RealtimeAPI\n  pod:\n    containers:\n${containers}\n`, 'cortex.yaml');
}

function options() {
  const downHost = new URL(downUrl).host;
  return { registryUrls: { [registry.host]: registry.server.url, [downHost]: downUrl } };
}

describe('pinImages', () => {
  test('GIVEN ECR and v2 images and no previous lock THEN every one new, pinned by name and digest', async () => {
    // GIVEN
    const digest = registry.push('team/model', 'v1');
    const config = configWith([`${ECR_HOST}/iris:v2`, `${registry.host}/team/model:v1`]);
    // WHEN
    const result = await pinImages(config, {}, options());
    // THEN
    expect(result.failed).toBe(false);
    expect(result.images).toEqual([
      { image: `${ECR_HOST}/iris:v2`, usages: ['api.pod.containers[0].image'], status: 'new', source: 'ECR us-east-1', pinned: `${ECR_HOST}/iris@${ECR_DIGEST}` },
      { image: `${registry.host}/team/model:v1`, usages: ['api.pod.containers[1].image'], status: 'new', source: registry.host, pinned: `${registry.host}/team/model@${digest}` },
    ]);
    expect(result.lock).toEqual({ [`${ECR_HOST}/iris:v2`]: `${ECR_HOST}/iris@${ECR_DIGEST}`, [`${registry.host}/team/model:v1`]: `${registry.host}/team/model@${digest}` });
  });

  test('GIVEN a previous lock THEN unchanged and changed told apart, with the previous pin; entries no longer used dropped', async () => {
    // GIVEN
    const before = registry.push('team/a', '1');
    const unchanged = `${registry.host}/team/a@${before}`;
    const image = `${registry.host}/team/b:1`;
    const previous = { [`${registry.host}/team/a:1`]: unchanged, [image]: `${registry.host}/team/b@${OLD_DIGEST}`, 'gone:1': `gone@${OLD_DIGEST}` };
    const now = registry.push('team/b', '1');
    // WHEN
    const result = await pinImages(configWith([`${registry.host}/team/a:1`, image]), previous, options());
    // THEN
    expect(result.images.map((i) => [i.status, i.previous])).toEqual([
      ['unchanged', unchanged],
      ['changed', `${registry.host}/team/b@${OLD_DIGEST}`],
    ]);
    expect(result.lock).toEqual({ [`${registry.host}/team/a:1`]: unchanged, [image]: `${registry.host}/team/b@${now}` });
  });

  test('GIVEN an unreachable registry THEN kept: its previous pin if it had one, else the tag, with the reason', async () => {
    // GIVEN
    const downHost = new URL(downUrl).host;
    const pinnedBefore = `${downHost}/a@${OLD_DIGEST}`;
    // WHEN
    const result = await pinImages(configWith([`${downHost}/a:1`, `${downHost}/b:1`]), { [`${downHost}/a:1`]: pinnedBefore }, options());
    // THEN
    expect(result.failed).toBe(false);
    expect(result.images).toEqual([
      expect.objectContaining({ status: 'kept', pinned: pinnedBefore, reason: `${downHost} unreachable (ECONNREFUSED at ${downUrl}); its previous pin is kept` }),
      expect.objectContaining({ status: 'kept', reason: `${downHost} unreachable (ECONNREFUSED at ${downUrl}); the tag is kept` }),
    ]);
    expect(result.images[1].pinned).toBeUndefined();
    expect(result.lock).toEqual({ [`${downHost}/a:1`]: pinnedBefore });
  });

  test('GIVEN an image that is not there THEN failed, and the result says so', async () => {
    ecr.on(DescribeImagesCommand).rejects(new ImageNotFoundException({ message: 'no such image', $metadata: {} }));
    const result = await pinImages(configWith([`${ECR_HOST}/iris:v9`]), {}, options());
    expect(result.failed).toBe(true);
    expect(result.images[0]).toMatchObject({ status: 'failed', reason: expect.stringMatching(/^image not found: ECR repository iris/) });
    expect(result.lock).toEqual({});
  });

  test('GIVEN an image by digest, or one that is not a reference THEN nothing asked: digest, or kept as written', async () => {
    const byDigest = `redis@${OLD_DIGEST}`;
    // `validate` refuses "Redis:7" in a file; a config built in code reaches pin unchecked, and pin keeps it.
    const parsed = configWith([byDigest, 'redis:7']);
    const [api] = parsed.apis;
    const containers = [api.pod.containers[0], { ...api.pod.containers[1], image: 'Redis:7' }];
    const config = { ...parsed, apis: [{ ...api, pod: { ...api.pod, containers } }] };
    const result = await pinImages(config, {}, options());
    expect(result.images).toEqual([
      { image: byDigest, usages: ['api.pod.containers[0].image'], status: 'digest' },
      { image: 'Redis:7', usages: ['api.pod.containers[1].image'], status: 'kept', reason: expect.stringMatching(/^"Redis:7" is not an image reference: the repository part "Redis" .*; the tag is kept$/) },
    ]);
    expect(ecr.calls()).toHaveLength(0);
  });

  test('GIVEN the same image in several containers THEN asked once, every usage listed', async () => {
    const result = await pinImages(configWith([`${ECR_HOST}/iris:v2`, `${ECR_HOST}/iris:v2`]), {}, options());
    expect(ecr.commandCalls(DescribeImagesCommand)).toHaveLength(1);
    expect(result.images[0].usages).toEqual(['api.pod.containers[0].image', 'api.pod.containers[1].image']);
  });

  test('GIVEN a concurrency below 1 THEN refused', async () => {
    await expect(pinImages(configWith(['redis:7']), {}, { concurrency: 0 })).rejects.toThrow(/concurrency \(0\) must be an integer >= 1/);
  });
});
