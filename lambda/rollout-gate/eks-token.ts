import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';

/** The prefix of every EKS bearer token (what `aws eks get-token` prints). */
export const EKS_TOKEN_PREFIX = 'k8s-aws-v1.';
/** The header naming the cluster; signed, so a token for one cluster is refused by another. */
export const CLUSTER_ID_HEADER = 'x-k8s-aws-id';
/** Seconds the presigned URL is valid for (EKS accepts the token for 15 minutes from signing at most). */
export const PRESIGNED_URL_EXPIRES_SECONDS = 60;

/** What an EKS token is made from. */
export interface EksTokenOptions {
  /** The EKS cluster's name. */
  readonly clusterName: string;
  /** The region whose STS endpoint signs the request (the cluster's). */
  readonly region: string;
  /** The credentials the Kubernetes API server sees as the caller (through the cluster's access entries). */
  readonly credentials: AwsCredentialIdentity | AwsCredentialIdentityProvider;
  /** @default - now */
  readonly signingDate?: Date;
}

/**
 * A bearer token for the Kubernetes API of an EKS cluster, as `aws eks get-token` makes it: an STS
 * GetCallerIdentity request, presigned with the cluster's name in a signed header, base64url-encoded
 * without padding behind `k8s-aws-v1.`. The API server calls STS with it to learn who is asking; no
 * AWS call is made here.
 */
export async function eksToken(options: EksTokenOptions): Promise<string> {
  const hostname = regionalHostname('sts', options.region);
  const signer = new SignatureV4({ credentials: options.credentials, region: options.region, service: 'sts', sha256: Sha256 });
  const presigned = await signer.presign(
    {
      method: 'GET',
      protocol: 'https:',
      hostname,
      path: '/',
      query: { Action: 'GetCallerIdentity', Version: '2011-06-15' },
      headers: { host: hostname, [CLUSTER_ID_HEADER]: options.clusterName },
    },
    { expiresIn: PRESIGNED_URL_EXPIRES_SECONDS, signingDate: options.signingDate },
  );
  const query = Object.entries(presigned.query ?? {})
    .flatMap(([key, value]) => (Array.isArray(value) ? value : [value]).map((v) => `${encodeURIComponent(key)}=${encodeURIComponent(v ?? '')}`))
    .join('&');
  const url = `https://${hostname}/?${query}`;
  return EKS_TOKEN_PREFIX + Buffer.from(url, 'utf8').toString('base64url');
}

/** The host of an AWS service's endpoint in a region: `sts.us-east-1.amazonaws.com` (China's regions have their own suffix). */
export function regionalHostname(service: string, region: string): string {
  return `${service}.${region}.${region.startsWith('cn-') ? 'amazonaws.com.cn' : 'amazonaws.com'}`;
}
