import * as fs from 'node:fs';
import * as path from 'node:path';
import { formatProblem } from '../../lib/config';
import { lockFileFor, readLockFile } from '../../lib/config/lock';
import { formatLock } from './pin/lock-file';
import { pinImages, PinnedImage } from './pin/pin-images';
import { isLoopbackHost } from './pin/registry-v2';
import { parseCommandArgs } from './args';
import { CliIo, EXIT_INVALID, EXIT_OK, UsageError } from './io';
import { loadConfig } from './load';
import { plural } from './term';

export const pinUsage = `Usage: cortex pin [-f PATH] [--lock PATH] [--dry-run]

Resolves every image tag of a cortex.yaml to the digest it points at now, and writes them to the lock
file beside it (cortex.yaml → cortex.lock.json). Synth and "cortex manifests" deploy the pinned digests
while the lock file is there: a re-pushed tag changes nothing until "cortex pin" runs again, and then
"cdk diff" shows the new digest as a rolling update.

  ECR images (<account>.dkr.ecr.<region>.amazonaws.com/...) are resolved with ecr:DescribeImages and the
  environment's AWS credentials; other registries through the registry v2 API, anonymously. An image a
  registry cannot be asked about (unreachable, private) keeps its previous pin, or its tag, with a warning;
  an image that is not there (or not readable in ECR) is an error, and nothing is written.

Options:
  -f, --file PATH                  the cortex.yaml (default: cortex.yaml)
      --lock PATH                  the lock file (default: the cortex.yaml's path, .yaml → .lock.json)
      --dry-run                    print what would be pinned; write nothing
      --insecure-registry HOST:PORT  ask this registry over plain HTTP; loopback hosts only (a local
                                   registry); may be repeated
  -h, --help                       show this help
`;

/** `cortex pin`: exit 0 when the lock file is written (warnings or not), 1 when an image failed or the input is bad. */
export async function pinCommand(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseCommandArgs(argv, {
    'file': { type: 'string', short: 'f', default: 'cortex.yaml' },
    'lock': { type: 'string' },
    'dry-run': { type: 'boolean' },
    'insecure-registry': { type: 'string', multiple: true },
  });
  if (values.help) {
    io.out(pinUsage);
    return EXIT_OK;
  }
  const registryUrls = insecureRegistryUrls((values['insecure-registry'] as unknown as string[] | undefined) ?? []);
  const file = values.file as string;
  const lockFile = (values.lock as string | undefined) ?? lockFileFor(file);
  const lockPath = path.resolve(io.cwd, lockFile);

  // The images as written: the keys of the lock.
  const { config, problems } = loadConfig(file, io.cwd, { lockFile: false });
  if (!config) {
    io.err(problems.map((p) => formatProblem(p) + '\n').join(''));
    return EXIT_INVALID;
  }
  let previous: Readonly<Record<string, string>> = {};
  const hadLock = fs.existsSync(lockPath);
  if (hadLock) {
    const read = readLockFile(lockFile, lockPath);
    if (!read.lock) {
      // Never overwrite what may not be a lock at all (a mistyped --lock): the user fixes or deletes it.
      io.err(read.problems.map((p) => formatProblem(p) + '\n').join(''));
      io.err(`cortex pin: ${lockFile} is not a valid lock file; fix it, or delete it and run cortex pin again\n`);
      return EXIT_INVALID;
    }
    previous = read.lock.images;
  }

  const result = await pinImages(config, previous, { registryUrls });
  io.out(report(result.images));
  for (const image of result.images) {
    if (image.status === 'kept') io.err(`cortex pin: warning: ${describe(image)}: ${image.reason}\n`);
  }
  const failures = result.images.filter((i) => i.status === 'failed');
  if (failures.length > 0) {
    for (const image of failures) io.err(`cortex pin: error: ${describe(image)}: ${image.reason}\n`);
    io.err(`cortex pin: nothing written: ${plural(failures.length, 'image')} could not be pinned\n`);
    return EXIT_INVALID;
  }

  const text = formatLock(result.lock);
  const summary = summarize(result.images);
  if (!hadLock && Object.keys(result.lock).length === 0) {
    io.out(`${file}: no image to pin; ${lockFile} not written\n`);
    return EXIT_OK;
  }
  if (values['dry-run']) {
    io.out(`${lockFile}: not written (--dry-run): ${summary}\n`);
    return EXIT_OK;
  }
  const unchanged = hadLock && fs.readFileSync(lockPath, 'utf8') === text;
  if (!unchanged) {
    fs.mkdirSync(path.dirname(lockPath), { recursive: true });
    fs.writeFileSync(lockPath, text);
  }
  io.out(`${lockFile}: ${unchanged ? 'up to date' : 'written'}: ${summary}\n`);
  return EXIT_OK;
}

/** `--insecure-registry HOST:PORT` → `{ 'HOST:PORT': 'http://HOST:PORT' }`, loopback hosts only. */
function insecureRegistryUrls(registries: string[]): Record<string, string> {
  const urls: Record<string, string> = {};
  for (const registry of registries) {
    let host: string | undefined;
    try {
      const url = new URL(`http://${registry}`);
      host = url.host === registry.toLowerCase() ? url.hostname : undefined;
    } catch {
      host = undefined;
    }
    if (host === undefined || !isLoopbackHost(host)) {
      throw new UsageError(
        `--insecure-registry ${JSON.stringify(registry)}: must be HOST[:PORT] of a loopback host (localhost, 127.0.0.1, [::1]); ` +
          'other registries are always asked over https',
      );
    }
    urls[registry] = `http://${registry}`;
  }
  return urls;
}

/** One line per image: what became of it, the image as written, its digest, where it was asked. */
function report(images: readonly PinnedImage[]): string {
  if (images.length === 0) return '';
  const rows = images.map((i) => [i.status, i.image, digestColumn(i), [i.source, note(i)].filter(Boolean).join('  ')]);
  const widths = [0, 1, 2].map((c) => Math.max(...rows.map((r) => r[c].length)));
  return rows.map((r) => `  ${r.map((cell, c) => (c < 3 ? cell.padEnd(widths[c]) : cell)).join('  ')}`.trimEnd() + '\n').join('');
}

function digestColumn(image: PinnedImage): string {
  if (image.status === 'digest') return '(written with a digest)';
  if (image.pinned === undefined) return image.status === 'failed' ? '(error below)' : '(tag kept)';
  return shortDigest(image.pinned);
}

function note(image: PinnedImage): string {
  if (image.status === 'changed' && image.previous !== undefined) return `(was ${shortDigest(image.previous)})`;
  if (image.status === 'kept') return image.pinned !== undefined ? '(previous pin kept: warning below)' : '(warning below)';
  return '';
}

/** `sha256:` and the first 12 hex digits, as `docker images` shows them. */
function shortDigest(pinned: string): string {
  const digest = pinned.slice(pinned.indexOf('@') + 1);
  return `${digest.slice(0, 'sha256:'.length + 12)}…`;
}

/** The image and where the cortex.yaml uses it. */
function describe(image: PinnedImage): string {
  const [first, ...more] = image.usages;
  return `${image.image} (${first}${more.length > 0 ? ` and ${more.length} more` : ''})`;
}

function summarize(images: readonly PinnedImage[]): string {
  const count = (status: PinnedImage['status']) => images.filter((i) => i.status === status).length;
  const pinned = images.filter((i) => i.pinned !== undefined).length;
  const parts = [`${plural(pinned, 'image')} pinned`];
  const detail = [`${count('new')} new`, `${count('changed')} changed`, `${count('unchanged')} unchanged`].filter((d) => !d.startsWith('0 '));
  const keptPinned = images.filter((i) => i.status === 'kept' && i.pinned !== undefined).length;
  if (keptPinned > 0) detail.push(`${keptPinned} kept from before`);
  if (detail.length > 0) parts[0] += ` (${detail.join(', ')})`;
  const asWritten = images.filter((i) => i.pinned === undefined && i.status !== 'digest').length;
  if (asWritten > 0) parts.push(`${plural(asWritten, 'image')} kept as written`);
  const digests = count('digest');
  if (digests > 0) parts.push(`${plural(digests, 'image')} already by digest`);
  return parts.join(', ');
}

