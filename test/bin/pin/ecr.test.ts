import { DescribeImagesCommand, ECRClient, ImageNotFoundException, RepositoryNotFoundException } from '@aws-sdk/client-ecr';
import { mockClient } from 'aws-sdk-client-mock';
import { parseImageReference, type ImageReference } from '../../../lib/config/image-reference';
import { ECR_PIN_ACTION, EcrRegistry, EcrResolver, parseEcrRegistry } from '../../../bin/cli/pin/ecr';

const ecr = mockClient(ECRClient);
beforeEach(() => ecr.reset());
afterAll(() => ecr.restore());

const HOST = '123456789012.dkr.ecr.us-east-1.amazonaws.com';
const DIGEST = `sha256:${'d'.repeat(64)}`;

function ref(text: string): ImageReference {
  const result = parseImageReference(text);
  if ('problem' in result) throw new Error(result.problem);
  return result.reference;
}

async function resolve(text: string, resolver = new EcrResolver()) {
  const reference = ref(text);
  return resolver.resolve(reference, parseEcrRegistry(reference.registry)!);
}

/** An error as the AWS SDK throws them for a service's answer. */
function serviceError(name: string, message: string, httpStatusCode = 400): Error {
  return Object.assign(new Error(message), { name, $fault: 'client', $metadata: { httpStatusCode } });
}

describe('parseEcrRegistry', () => {
  test.each<[string, EcrRegistry | undefined]>([
    [HOST, { accountId: '123456789012', region: 'us-east-1', partition: 'aws' }],
    ['123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com', { accountId: '123456789012', region: 'us-gov-west-1', partition: 'aws-us-gov' }],
    ['123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn', { accountId: '123456789012', region: 'cn-north-1', partition: 'aws-cn' }],
    ['123456789012.dkr-ecr.eu-west-1.on.aws', { accountId: '123456789012', region: 'eu-west-1', partition: 'aws' }],
    ['public.ecr.aws', undefined],
    ['docker.io', undefined],
    ['12345.dkr.ecr.us-east-1.amazonaws.com', undefined],
  ])('%s', (host, expected) => {
    expect(parseEcrRegistry(host)).toEqual(expected);
  });
});

describe('EcrResolver', () => {
  test('GIVEN a tag in ECR WHEN resolved THEN DescribeImages in the registry\'s account, repository and tag, and its digest', async () => {
    // GIVEN
    ecr.on(DescribeImagesCommand).resolves({ imageDetails: [{ imageDigest: DIGEST, imageTags: ['v2'] }] });
    // WHEN
    const resolution = await resolve(`${HOST}/ml/iris:v2`);
    // THEN
    expect(resolution).toEqual({ status: 'resolved', digest: DIGEST });
    expect(ecr.commandCalls(DescribeImagesCommand).map((c) => c.args[0].input)).toEqual([
      { registryId: '123456789012', repositoryName: 'ml/iris', imageIds: [{ imageTag: 'v2' }] },
    ]);
  });

  test('GIVEN no tag THEN latest', async () => {
    ecr.on(DescribeImagesCommand).resolves({ imageDetails: [{ imageDigest: DIGEST }] });
    await resolve(`${HOST}/iris`);
    expect(ecr.commandCalls(DescribeImagesCommand)[0].args[0].input.imageIds).toEqual([{ imageTag: 'latest' }]);
  });

  test('GIVEN registries in two regions THEN one client per region, each in its region', async () => {
    const regions: string[] = [];
    const resolver = new EcrResolver({ ecrClient: (region) => (regions.push(region), new ECRClient({ region })) });
    ecr.on(DescribeImagesCommand).resolves({ imageDetails: [{ imageDigest: DIGEST }] });
    await resolve(`${HOST}/a:1`, resolver);
    await resolve(`${HOST}/b:1`, resolver);
    await resolve('123456789012.dkr.ecr.eu-west-1.amazonaws.com/a:1', resolver);
    expect(regions).toEqual(['us-east-1', 'eu-west-1']);
    resolver.destroy();
  });

  test('GIVEN a tag that is not there THEN failed: image not found, naming repository, account, region and tag', async () => {
    ecr.on(DescribeImagesCommand).rejects(new ImageNotFoundException({ message: "The image with imageId {imageTag:'v9'} does not exist", $metadata: {} }));
    expect(await resolve(`${HOST}/ml/iris:v9`)).toEqual({
      status: 'failed',
      reason: 'image not found: ECR repository ml/iris (account 123456789012, us-east-1) has no tag "v9"',
    });
  });

  test('GIVEN a repository that is not there THEN failed: image not found', async () => {
    ecr.on(DescribeImagesCommand).rejects(new RepositoryNotFoundException({ message: 'The repository does not exist', $metadata: {} }));
    expect(await resolve(`${HOST}/nope:1`)).toEqual({ status: 'failed', reason: 'image not found: there is no ECR repository nope (account 123456789012, us-east-1)' });
  });

  test('GIVEN access denied THEN failed, naming the IAM action and the repository ARN to allow', async () => {
    ecr.on(DescribeImagesCommand).rejects(serviceError('AccessDeniedException', 'User: arn:aws:iam::123456789012:user/ci is not authorized to perform: ecr:DescribeImages', 400));
    const resolution = await resolve(`${HOST}/ml/iris:v2`);
    expect(ECR_PIN_ACTION).toBe('ecr:DescribeImages');
    expect(resolution).toEqual({
      status: 'failed',
      reason:
        'access denied: cortex pin needs ecr:DescribeImages on arn:aws:ecr:us-east-1:123456789012:repository/ml/iris ' +
        '(User: arn:aws:iam::123456789012:user/ci is not authorized to perform: ecr:DescribeImages)',
    });
  });

  test('GIVEN no credentials THEN failed, saying how to provide them', async () => {
    ecr.on(DescribeImagesCommand).rejects(Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' }));
    expect(await resolve(`${HOST}/iris:1`)).toEqual({
      status: 'failed',
      reason: expect.stringMatching(/^no AWS credentials to ask ECR \(account 123456789012, us-east-1\) with: set AWS_PROFILE .*\(Could not load credentials from any providers\)$/),
    });
  });

  test('GIVEN expired credentials THEN failed, saying to refresh them', async () => {
    ecr.on(DescribeImagesCommand).rejects(serviceError('ExpiredTokenException', 'The security token included in the request is expired'));
    expect(await resolve(`${HOST}/iris:1`)).toEqual({
      status: 'failed',
      reason: expect.stringMatching(/refused the AWS credentials: ExpiredTokenException: The security token included in the request is expired \(refresh them/),
    });
  });

  test.each(['ExpiredToken', 'ExpiredTokenException', 'InvalidClientTokenId', 'UnrecognizedClientException', 'SignatureDoesNotMatch', 'InvalidSignatureException'])(
    'GIVEN credentials AWS rejects (%s) THEN failed, saying to refresh them',
    async (name) => {
      ecr.on(DescribeImagesCommand).rejects(serviceError(name, 'no', 403));
      expect(await resolve(`${HOST}/iris:v1`)).toEqual({
        status: 'failed',
        reason: `ECR (account 123456789012, us-east-1) refused the AWS credentials: ${name}: no (refresh them, e.g. "aws sso login")`,
      });
    },
  );

  test('GIVEN ECR unreachable THEN unavailable (a warning, the tag kept)', async () => {
    ecr.on(DescribeImagesCommand).rejects(Object.assign(new Error('getaddrinfo ENOTFOUND api.ecr.us-east-1.amazonaws.com'), { code: 'ENOTFOUND' }));
    expect(await resolve(`${HOST}/iris:1`)).toEqual({ status: 'unavailable', reason: 'ECR unreachable in us-east-1 (ENOTFOUND)' });
  });

  test('GIVEN an answer without a digest THEN failed, saying what came back', async () => {
    ecr.on(DescribeImagesCommand).resolves({ imageDetails: [] });
    expect(await resolve(`${HOST}/iris:1`)).toEqual({ status: 'failed', reason: 'ECR answered DescribeImages without a SHA-256 digest for tag "1" (got nothing)' });
  });

  test('GIVEN any other error THEN failed, with its name and message', async () => {
    ecr.on(DescribeImagesCommand).rejects(serviceError('ServerException', 'internal error', 500));
    expect(await resolve(`${HOST}/iris:1`)).toEqual({ status: 'failed', reason: 'ECR DescribeImages failed (account 123456789012, us-east-1): ServerException: internal error' });
  });
});
