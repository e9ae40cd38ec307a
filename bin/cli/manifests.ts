import * as fs from 'node:fs';
import * as path from 'node:path';
import * as YAML from 'yaml';
import { ConfigChartsOptions, configCharts } from '../../constructs';
import { CortexConfig, CortexValidationError, formatProblem } from '../../lib/config';
import { PROXY_IMAGE_PLACEHOLDER, PYTHON_PREDICTOR_IMAGE_PLACEHOLDER } from '../../constructs/names';
import { parseCommandArgs } from './args';
import { CliIo, EXIT_INVALID, EXIT_OK } from './io';
import { loadConfig, lockOption } from './load';

export const manifestsUsage = `Usage: cortex manifests [-f PATH] [-o DIR] [options]

Renders the Kubernetes objects of every API and traffic splitter in a cortex.yaml — exactly
those the CDK stack deploys — as multi-document YAML. No AWS account or cluster needed.

Options:
  -f, --file PATH            the cortex.yaml (default: cortex.yaml)
  -o, --output DIR           write one file per API/splitter, DIR/<name>.yaml (created if missing);
                             without it, everything is printed to standard output
  -n, --namespace NS         the namespace of the APIs (default: cortex)
      --proxy-image IMAGE    the proxy sidecar's image (default: a placeholder that no registry has,
                             named on standard error and in the files: build images/proxy and push it)
      --predictor-image IMAGE  the Python predictor runtime's image, with your project in it
                             (default: a placeholder, named the same way)
      --lock PATH            the image lock file (default: cortex.lock.json beside the cortex.yaml,
                             when it exists; see "cortex pin")
      --no-lock              render the images as written, ignoring any lock file
      --no-cold-start        for a cluster without the KEDA HTTP add-on (the platform's kedaHttpAddOn:
                             false, ApiPlatform.existing({ coldStart: false })): APIs with min_replicas 0
                             are routed to their Service, with no InterceptorRoute (at zero, the gateway
                             answers 503 until a replica is ready)
  -h, --help                 show this help
`;

export function manifestsCommand(argv: string[], io: CliIo): number {
  const { values } = parseCommandArgs(argv, {
    'file': { type: 'string', short: 'f', default: 'cortex.yaml' },
    'output': { type: 'string', short: 'o' },
    'namespace': { type: 'string', short: 'n' },
    'proxy-image': { type: 'string' },
    'predictor-image': { type: 'string' },
    'lock': { type: 'string' },
    'no-lock': { type: 'boolean' },
    'no-cold-start': { type: 'boolean' },
  });
  if (values.help) {
    io.out(manifestsUsage);
    return EXIT_OK;
  }
  const { config, problems } = loadConfig(values.file as string, io.cwd, { lockFile: lockOption(values) });
  if (!config) {
    io.err(problems.map((p) => formatProblem(p) + '\n').join(''));
    return EXIT_INVALID;
  }

  // Render everything before writing anything: a bad option never leaves half a directory behind.
  let files: RenderedFile[];
  try {
    files = render(config, {
      namespace: values.namespace as string | undefined,
      proxyImage: values['proxy-image'] as string | undefined,
      predictorImage: values['predictor-image'] as string | undefined,
      ...(values['no-cold-start'] ? { coldStart: false as const } : {}),
    });
  } catch (e) {
    if (e instanceof CortexValidationError) {
      io.err(`cortex manifests: ${e.message}\n`);
      return EXIT_INVALID;
    }
    throw e;
  }

  const placeholders = placeholderNotes(files);
  const outDir = values.output as string | undefined;
  if (outDir === undefined) {
    io.err(placeholders);
    io.out(files.map((f) => f.yaml).join('---\n'));
    return EXIT_OK;
  }
  const dir = path.resolve(io.cwd, outDir);
  try {
    makeDirectory(dir);
    for (const f of files) {
      fs.writeFileSync(path.join(dir, f.fileName), f.yaml);
    }
  } catch (e) {
    io.err(`cortex manifests: -o ${outDir}: cannot write there: ${writeFailure(e as NodeJS.ErrnoException)}\n`);
    return EXIT_INVALID;
  }
  io.out(files.map((f) => `${path.join(outDir, f.fileName)}  (${f.kind}, ${f.objectCount} objects)\n`).join(''));
  io.err(placeholders);
  return EXIT_OK;
}

/** The placeholder images, each with what to do instead: nobody should find out from an ImagePullBackOff. */
const PLACEHOLDER_HELP: ReadonlyArray<readonly [image: string, help: string]> = [
  [
    PROXY_IMAGE_PLACEHOLDER,
    "the proxy sidecar's image: build it from images/proxy of the cortex-cdk package " +
      '(docker build -t REGISTRY/cortex-proxy:TAG images/proxy), push it, and pass --proxy-image REGISTRY/cortex-proxy:TAG',
  ],
  [
    PYTHON_PREDICTOR_IMAGE_PLACEHOLDER,
    "the Python predictor runtime's image with your project: build it as docs/importing.md describes (or let " +
      'npx cdk deploy build it), push it, and pass --predictor-image IMAGE',
  ],
];

/** A note on standard error for each placeholder image the files name; the files say so in a comment too. */
function placeholderNotes(files: RenderedFile[]): string {
  return PLACEHOLDER_HELP.filter(([image]) => files.some((f) => f.placeholders.includes(image)))
    .map(([image, help]) => `cortex manifests: note: image ${image} is a placeholder that no registry has; it stands for ${help}\n`)
    .join('');
}

/**
 * `mkdir -p`, one level at a time: Node's own recursive mkdirSync never returns when the parent exists but
 * refuses new entries with ENOENT (as /proc does).
 */
function makeDirectory(dir: string): void {
  try {
    fs.mkdirSync(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' && fs.statSync(dir).isDirectory()) return;
    const parent = path.dirname(dir);
    if (code !== 'ENOENT' || parent === dir) throw e;
    makeDirectory(parent);
    fs.mkdirSync(dir);
  }
}

function writeFailure(error: NodeJS.ErrnoException): string {
  if (error.code === 'EEXIST') return `${error.path} is a file, not a directory`;
  if (error.code === 'ENOTDIR') return `a part of ${error.path} is a file, not a directory`;
  if (error.code === 'EISDIR') return `${error.path} is a directory`;
  if (error.code === 'EACCES' || error.code === 'EPERM' || error.code === 'EROFS') return 'permission denied';
  if (error.code === 'ENOENT') return 'no such directory can be made there';
  return error.message;
}

interface RenderedFile {
  readonly fileName: string;
  readonly kind: string;
  readonly objectCount: number;
  readonly yaml: string;
  /** The placeholder images its objects name. */
  readonly placeholders: readonly string[];
}

function render(config: CortexConfig, options: ConfigChartsOptions): RenderedFile[] {
  // Charts are turned into JSON in memory (toJson); nothing is synthesized to disk.
  const charts = configCharts(config, options);
  return config.specs.map((spec, i) => {
    const objects = charts[i].toJson();
    const yaml = objects.map((o) => YAML.stringify(o)).join('---\n');
    const placeholders = PLACEHOLDER_HELP.map(([image]) => image).filter((image) => yaml.includes(`image: ${image}\n`));
    const warning = placeholders.map((image) => `# Not deployable as is: ${image} is a placeholder image (see cortex manifests --help).\n`).join('');
    return { fileName: `${spec.name}.yaml`, kind: spec.kind, objectCount: objects.length, yaml: warning + yaml, placeholders };
  });
}
