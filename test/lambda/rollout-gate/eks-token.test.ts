import { createHash, createHmac } from 'node:crypto';
import { EKS_TOKEN_PREFIX, eksToken, regionalHostname } from '../../../lambda/rollout-gate/eks-token';

const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };
const signingDate = new Date('2025-06-01T12:00:00Z');

/** The presigned URL inside a token. */
function presignedUrl(token: string): URL {
  expect(token.startsWith(EKS_TOKEN_PREFIX)).toBe(true);
  const encoded = token.slice(EKS_TOKEN_PREFIX.length);
  // base64url without padding, as aws-iam-authenticator expects.
  expect(encoded).toMatch(/^[A-Za-z0-9_-]+$/);
  return new URL(Buffer.from(encoded, 'base64url').toString('utf8'));
}

/** SigV4 of a presigned GET, computed here from its definition, to check the signer's against. */
function expectedSignature(url: URL, headers: Record<string, string>, secret: string): string {
  const query = [...url.searchParams.entries()]
    .filter(([k]) => k !== 'X-Amz-Signature')
    .map(([k, v]) => [encodeURIComponent(k), encodeURIComponent(v)])
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  const names = Object.keys(headers).sort();
  const canonical = ['GET', '/', query, ...names.map((n) => `${n}:${headers[n]}`), '', names.join(';'), createHash('sha256').update('').digest('hex')].join('\n');
  const [, date, region, service] = url.searchParams.get('X-Amz-Credential')!.split('/');
  const scope = `${date}/${region}/${service}/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', url.searchParams.get('X-Amz-Date'), scope, createHash('sha256').update(canonical).digest('hex')].join('\n');
  const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data).digest();
  const key = [date, region, service, 'aws4_request'].reduce<Buffer | string>((k, part) => hmac(k, part), `AWS4${secret}`);
  return createHmac('sha256', key).update(toSign).digest('hex');
}

describe('eksToken', () => {
  test('GIVEN static credentials WHEN a token is made THEN it is an STS GetCallerIdentity URL presigned for 60 s with the cluster name signed in', async () => {
    const url = presignedUrl(await eksToken({ clusterName: 'cortex-prod', region: 'us-east-1', credentials, signingDate }));
    expect(url.protocol).toBe('https:');
    expect(url.host).toBe('sts.us-east-1.amazonaws.com');
    expect(url.pathname).toBe('/');
    expect(url.searchParams.get('Action')).toBe('GetCallerIdentity');
    expect(url.searchParams.get('Version')).toBe('2011-06-15');
    expect(url.searchParams.get('X-Amz-Algorithm')).toBe('AWS4-HMAC-SHA256');
    expect(url.searchParams.get('X-Amz-Expires')).toBe('60');
    expect(url.searchParams.get('X-Amz-Date')).toBe('20250601T120000Z');
    expect(url.searchParams.get('X-Amz-Credential')).toBe('AKIDEXAMPLE/20250601/us-east-1/sts/aws4_request');
    expect(url.searchParams.get('X-Amz-SignedHeaders')).toBe('host;x-k8s-aws-id');
    expect(url.searchParams.get('X-Amz-Signature')).toBe(
      expectedSignature(url, { host: 'sts.us-east-1.amazonaws.com', 'x-k8s-aws-id': 'cortex-prod' }, credentials.secretAccessKey),
    );
  });

  test('THEN a token for another cluster has another signature (the header is signed)', async () => {
    const signature = async (clusterName: string) =>
      presignedUrl(await eksToken({ clusterName, region: 'us-east-1', credentials, signingDate })).searchParams.get('X-Amz-Signature');
    expect(await signature('a')).not.toBe(await signature('b'));
  });

  test('GIVEN temporary credentials (a Lambda role\'s) THEN the session token travels in the URL', async () => {
    const url = presignedUrl(
      await eksToken({ clusterName: 'c', region: 'eu-west-1', credentials: { ...credentials, sessionToken: 'FwoGZXIvYXdzEXAMPLE' }, signingDate }),
    );
    expect(url.host).toBe('sts.eu-west-1.amazonaws.com');
    expect(url.searchParams.get('X-Amz-Security-Token')).toBe('FwoGZXIvYXdzEXAMPLE');
  });

  test('GIVEN a credentials provider THEN it is asked for them', async () => {
    const provider = jest.fn(async () => credentials);
    await eksToken({ clusterName: 'c', region: 'us-east-1', credentials: provider, signingDate });
    expect(provider).toHaveBeenCalled();
  });

  test('GIVEN a China region THEN the regional endpoint is under amazonaws.com.cn', async () => {
    const url = presignedUrl(await eksToken({ clusterName: 'c', region: 'cn-north-1', credentials, signingDate }));
    expect(url.host).toBe('sts.cn-north-1.amazonaws.com.cn');
  });
});

describe('regionalHostname', () => {
  test('GIVEN a service and a region THEN its endpoint host, under amazonaws.com.cn in China (DescribeCluster\'s default endpoint too)', () => {
    expect(regionalHostname('eks', 'us-east-1')).toBe('eks.us-east-1.amazonaws.com');
    expect(regionalHostname('eks', 'cn-northwest-1')).toBe('eks.cn-northwest-1.amazonaws.com.cn');
  });
});
