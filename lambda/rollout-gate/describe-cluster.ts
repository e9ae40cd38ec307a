import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import { regionalHostname } from './eks-token';

/** How long EKS's answer may take (the isComplete function has a minute for its whole look). */
const DESCRIBE_TIMEOUT_MS = 8_000;

/** Where a cluster's Kubernetes API is, and the authority its certificate is signed by. */
export interface ClusterConnection {
  /** The API server's URL. */
  readonly endpoint: string;
  /** The certificate authority, base64-encoded PEM. */
  readonly certificateAuthority: string;
}

/** What {@link describeCluster} needs. */
export interface DescribeClusterOptions {
  readonly clusterName: string;
  readonly region: string;
  readonly credentials: AwsCredentialIdentity | AwsCredentialIdentityProvider;
  /** The EKS API's base URL. @default - the region's, `https://eks.<region>.amazonaws.com` */
  readonly eksEndpoint?: string;
}

/**
 * The cluster's endpoint and certificate authority, from EKS's DescribeCluster (a SigV4-signed
 * `GET /clusters/<name>`): for clusters imported without them, whose handler has `eks:DescribeCluster`
 * on that cluster only. A small signed call rather than the EKS SDK client, to keep the bundle small.
 */
export async function describeCluster(options: DescribeClusterOptions): Promise<ClusterConnection> {
  const base = new URL(options.eksEndpoint ?? `https://${regionalHostname('eks', options.region)}`);
  const path = `/clusters/${encodeURIComponent(options.clusterName)}`;
  const signer = new SignatureV4({ credentials: options.credentials, region: options.region, service: 'eks', sha256: Sha256 });
  const signed = await signer.sign({
    method: 'GET',
    protocol: base.protocol,
    hostname: base.hostname,
    port: base.port === '' ? undefined : Number(base.port),
    path,
    headers: { host: base.host, accept: 'application/json' },
  });
  const what = `cannot describe EKS cluster ${options.clusterName}`;
  const response = await fetch(new URL(path, base), {
    headers: signed.headers as Record<string, string>,
    signal: AbortSignal.timeout(DESCRIBE_TIMEOUT_MS),
  }).catch((e: Error) => {
    const why = e.name === 'TimeoutError' ? `no answer within ${DESCRIBE_TIMEOUT_MS / 1000}s` : ((e.cause as Error | undefined)?.message ?? e.message);
    throw new Error(`rollout gate: ${what}: ${why}`);
  });
  const body = (await response.json().catch(() => ({}))) as {
    cluster?: { endpoint?: string; certificateAuthority?: { data?: string } };
    message?: string;
  };
  if (!response.ok) {
    throw new Error(`rollout gate: ${what}: HTTP ${response.status}${body.message ? `: ${body.message}` : ''}`);
  }
  const endpoint = body.cluster?.endpoint;
  const certificateAuthority = body.cluster?.certificateAuthority?.data;
  if (!endpoint || !certificateAuthority) {
    throw new Error(`rollout gate: ${what}: it has no endpoint or certificate authority yet (is it still being created?)`);
  }
  return { endpoint, certificateAuthority };
}
