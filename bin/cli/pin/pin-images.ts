/**
 * `cortex pin`: image tags resolved to digests, for the lock file synth reads (`lib/config/lock.ts`).
 * Loads the AWS SDK's ECR client: keep it out of what `validate` and `manifests` import.
 */
import { parseImageReference, pinnedReference } from '../../../lib/config/image-reference';
import { configImages, isDigestReference } from '../../../lib/config/lock';
import { CortexConfig } from '../../../lib/config/types';
import { CortexValidationError } from '../../../lib/errors';
import { EcrResolver, EcrResolverOptions, parseEcrRegistry } from './ecr';
import { RegistryV2Resolver, RegistryV2ResolverOptions } from './registry-v2';
import { Resolution } from './resolution';

/** Options of {@link pinImages}. */
export interface PinOptions extends EcrResolverOptions, RegistryV2ResolverOptions {
  /**
   * How many images are resolved at once.
   * @default 8
   */
  readonly concurrency?: number;
}

/**
 * What became of an image:
 * - `new`: pinned, and the previous lock did not have it;
 * - `unchanged`: pinned to the digest the previous lock had;
 * - `changed`: pinned to another digest than the previous lock's (the tag was re-pushed: a rolling update);
 * - `kept`: not resolved (see `reason`): its previous pin is kept if it had one, otherwise the tag;
 * - `failed`: the registry ruled it out (see `reason`);
 * - `digest`: written with a digest already; nothing to pin.
 */
export type PinStatus = 'new' | 'unchanged' | 'changed' | 'kept' | 'failed' | 'digest';

/** One image of the config, pinned or not. */
export interface PinnedImage {
  /** The reference as written in the cortex.yaml: the lock's key. */
  readonly image: string;
  /** The fields that name it (`iris.pod.containers[0].image`). */
  readonly usages: readonly string[];
  readonly status: PinStatus;
  /** What was asked: `ECR us-east-1`, or the registry's host. @default - nothing was asked */
  readonly source?: string;
  /** The lock's entry for it from now on. @default - none: the image deploys as written */
  readonly pinned?: string;
  /** The previous lock's entry. @default - none */
  readonly previous?: string;
  /** Why it was kept or failed. @default - none */
  readonly reason?: string;
}

/** The outcome of pinning a config's images. */
export interface PinResult {
  /** Every image of the config, in file order. */
  readonly images: readonly PinnedImage[];
  /** The new lock's entries: the images pinned (or kept pinned); none the config no longer uses. */
  readonly lock: Readonly<Record<string, string>>;
  /** Whether an image failed; the lock should then not be written. */
  readonly failed: boolean;
}

/**
 * Resolves the tag of every image of a config to its digest now: ECR images with `ecr:DescribeImages`, others
 * through the registry v2 API, anonymously. `previous` is the lock's current entries: an image whose registry
 * does not answer keeps its previous pin, so a registry that is down never unpins an image.
 */
export async function pinImages(config: CortexConfig, previous: Readonly<Record<string, string>> = {}, options: PinOptions = {}): Promise<PinResult> {
  const concurrency = options.concurrency ?? 8;
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new CortexValidationError(`concurrency (${concurrency}) must be an integer >= 1`);
  }
  const ecr = new EcrResolver(options);
  const registries = new RegistryV2Resolver(options);
  const images = configImages(config);
  const results: PinnedImage[] = new Array(images.length);
  let next = 0;
  const worker = async () => {
    while (next < images.length) {
      const index = next++;
      const { image, usages } = images[index];
      const before = Object.prototype.hasOwnProperty.call(previous, image) ? previous[image] : undefined;
      results[index] = { image, usages, ...(before !== undefined ? { previous: before } : {}), ...(await pinOne(image, before, ecr, registries)) };
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(concurrency, images.length) }, worker));
  } finally {
    ecr.destroy();
  }
  const lock: Record<string, string> = {};
  for (const r of results) if (r.pinned !== undefined) lock[r.image] = r.pinned;
  return { images: results, lock, failed: results.some((r) => r.status === 'failed') };
}

type Outcome = Pick<PinnedImage, 'status' | 'source' | 'pinned' | 'reason'>;

async function pinOne(image: string, before: string | undefined, ecr: EcrResolver, registries: RegistryV2Resolver): Promise<Outcome> {
  if (isDigestReference(image)) return { status: 'digest' };
  const parsed = parseImageReference(image);
  if ('problem' in parsed) return keep(before, undefined, parsed.problem);
  const { reference } = parsed;
  const ecrRegistry = parseEcrRegistry(reference.registry);
  const source = ecrRegistry ? `ECR ${ecrRegistry.region}` : reference.registry;
  const resolution: Resolution = ecrRegistry ? await ecr.resolve(reference, ecrRegistry) : await registries.resolve(reference);
  switch (resolution.status) {
    case 'resolved': {
      const pinned = pinnedReference(reference, resolution.digest);
      const status = before === undefined ? 'new' : before === pinned ? 'unchanged' : 'changed';
      return { status, source, pinned };
    }
    case 'unavailable':
      return keep(before, source, resolution.reason);
    case 'failed':
      return { status: 'failed', source, reason: resolution.reason };
  }
}

function keep(before: string | undefined, source: string | undefined, reason: string): Outcome {
  const kept = before === undefined ? 'the tag is kept' : 'its previous pin is kept';
  return { status: 'kept', ...(source ? { source } : {}), ...(before !== undefined ? { pinned: before } : {}), reason: `${reason}; ${kept}` };
}
