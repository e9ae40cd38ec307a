import { describeCluster } from '../../../lambda/rollout-gate/describe-cluster';
import { FakeHttpServer } from '../../support/fake-http';

const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };
const CA = Buffer.from('-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n').toString('base64');

describe('describeCluster', () => {
  let eks: FakeHttpServer;
  beforeEach(async () => {
    eks = await FakeHttpServer.start();
  });
  afterEach(async () => {
    await eks.stop();
  });

  const describeProduction = () => describeCluster({ clusterName: 'production', region: 'us-east-1', credentials, eksEndpoint: eks.url });

  test('GIVEN the cluster WHEN described THEN its endpoint and CA, asked with a SigV4-signed GET /clusters/<name> for service eks', async () => {
    eks.on('GET', '/clusters/production', { body: { cluster: { name: 'production', endpoint: 'https://ABC.gr7.us-east-1.eks.amazonaws.com', certificateAuthority: { data: CA } } } });
    await expect(describeProduction()).resolves.toEqual({ endpoint: 'https://ABC.gr7.us-east-1.eks.amazonaws.com', certificateAuthority: CA });
    const [request] = eks.requestsTo('/clusters/production');
    expect(request.headers.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/us-east-1\/eks\/aws4_request, SignedHeaders=accept;host;x-amz-content-sha256;x-amz-date, Signature=[0-9a-f]{64}$/);
  });

  test('GIVEN no permission WHEN described THEN the error says so with EKS\'s message', async () => {
    eks.on('GET', '/clusters/production', { status: 403, body: { message: 'User: arn:aws:sts::123456789012:assumed-role/gate is not authorized to perform: eks:DescribeCluster' } });
    await expect(describeProduction()).rejects.toThrow(
      'rollout gate: cannot describe EKS cluster production: HTTP 403: User: arn:aws:sts::123456789012:assumed-role/gate is not authorized to perform: eks:DescribeCluster',
    );
  });

  test('GIVEN a cluster still being created (no endpoint yet) THEN an error says so', async () => {
    eks.on('GET', '/clusters/production', { body: { cluster: { name: 'production', status: 'CREATING' } } });
    await expect(describeProduction()).rejects.toThrow(/has no endpoint or certificate authority yet/);
  });

  test('GIVEN EKS unreachable WHEN described THEN the error names the cluster and the network error', async () => {
    const closed = await FakeHttpServer.start();
    const url = closed.url;
    await closed.stop();
    await expect(describeCluster({ clusterName: 'production', region: 'us-east-1', credentials, eksEndpoint: url })).rejects.toThrow(
      /^rollout gate: cannot describe EKS cluster production: .*ECONNREFUSED/,
    );
  });
});
