import { DescribeImagesCommand, ECRClient } from '@aws-sdk/client-ecr';
import { classifyAwsError } from '../aws-errors';
import { describeValue } from '../../../lib/config/describe-value';
import { ImageReference, SHA256_DIGEST, tagOf } from '../../../lib/config/image-reference';
import { failed, networkFailure, Resolution, resolved, unavailable } from './resolution';

/** An ECR private registry, from its host name. */
export interface EcrRegistry {
  readonly accountId: string;
  readonly region: string;
  /** `aws`, `aws-cn`, `aws-us-gov`... for the ARN in messages. */
  readonly partition: string;
}

/** The IAM action `cortex pin` calls for ECR images (metadata only: it never pulls a manifest or a layer). */
export const ECR_PIN_ACTION = 'ecr:DescribeImages';

// <account>.dkr.ecr[-fips].<region>.amazonaws.com[.cn], and the dual-stack <account>.dkr-ecr[-fips].<region>.on.aws.
const ECR_HOST = /^(\d{12})\.dkr\.ecr(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$/;
const ECR_DUAL_STACK_HOST = /^(\d{12})\.dkr-ecr(?:-fips)?\.([a-z0-9-]+)\.on\.aws$/;

/** The ECR registry a host name is, or undefined for any other registry (ECR Public included: it speaks the v2 API). */
export function parseEcrRegistry(host: string): EcrRegistry | undefined {
  const match = ECR_HOST.exec(host) ?? ECR_DUAL_STACK_HOST.exec(host);
  if (!match) return undefined;
  const [, accountId, region, china] = match;
  const partition = china ? 'aws-cn' : region.startsWith('us-gov-') ? 'aws-us-gov' : 'aws';
  return { accountId, region, partition };
}

/** Options of {@link EcrResolver}. */
export interface EcrResolverOptions {
  /**
   * Makes the ECR client of a region.
   * @default - `new ECRClient({ region })`: credentials from the environment's default chain (AWS_PROFILE, SSO, env vars, instance role)
   */
  readonly ecrClient?: (region: string) => ECRClient;
}

/**
 * Resolves ECR tags with `DescribeImages` (one call per image, in the registry's own region and account), the
 * least the task needs: `BatchGetImage` would also do, but it reads the manifest, a pull permission.
 */
export class EcrResolver {
  private readonly clients = new Map<string, ECRClient>();
  private readonly makeClient: (region: string) => ECRClient;

  constructor(options: EcrResolverOptions = {}) {
    this.makeClient = options.ecrClient ?? ((region) => new ECRClient({ region }));
  }

  public async resolve(reference: ImageReference, registry: EcrRegistry): Promise<Resolution> {
    const tag = tagOf(reference);
    let client = this.clients.get(registry.region);
    if (!client) {
      client = this.makeClient(registry.region);
      this.clients.set(registry.region, client);
    }
    try {
      const output = await client.send(
        new DescribeImagesCommand({ registryId: registry.accountId, repositoryName: reference.repository, imageIds: [{ imageTag: tag }] }),
      );
      const digest = output.imageDetails?.[0]?.imageDigest;
      if (typeof digest !== 'string' || !SHA256_DIGEST.test(digest)) {
        return failed(`ECR answered DescribeImages without a SHA-256 digest for tag "${tag}" (got ${describeValue(digest)})`);
      }
      return resolved(digest);
    } catch (e) {
      return ecrFailure(e, reference, registry);
    }
  }

  /** Closes the clients' connections. */
  public destroy(): void {
    for (const client of this.clients.values()) client.destroy();
    this.clients.clear();
  }
}

/** What an ECR error means for the image, in words that say what to do. */
export function ecrFailure(error: unknown, reference: ImageReference, registry: EcrRegistry): Resolution {
  const { kind, name, message } = classifyAwsError(error);
  const where = `account ${registry.accountId}, ${registry.region}`;
  const arn = `arn:${registry.partition}:ecr:${registry.region}:${registry.accountId}:repository/${reference.repository}`;
  if (name === 'ImageNotFoundException') {
    return failed(`image not found: ECR repository ${reference.repository} (${where}) has no tag "${tagOf(reference)}"`);
  }
  if (name === 'RepositoryNotFoundException') return failed(`image not found: there is no ECR repository ${reference.repository} (${where})`);
  switch (kind) {
    case 'no-credentials':
      return failed(
        `no AWS credentials to ask ECR (${where}) with: set AWS_PROFILE (and run "aws sso login" for SSO profiles) or ` +
          `AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or run where a role is attached (${message})`,
      );
    case 'expired-credentials':
    case 'rejected-credentials':
      return failed(`ECR (${where}) refused the AWS credentials: ${name}: ${message} (refresh them, e.g. "aws sso login")`);
    case 'access-denied':
      return failed(`access denied: cortex pin needs ${ECR_PIN_ACTION} on ${arn} (${message})`);
  }
  const network = networkFailure(error);
  if (network) return unavailable(`ECR unreachable in ${registry.region} (${network})`);
  return failed(`ECR DescribeImages failed (${where}): ${name}: ${message}`);
}
