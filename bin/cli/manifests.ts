import * as fs from 'node:fs';
import * as path from 'node:path';
import * as YAML from 'yaml';
import { ConfigChartsOptions, configCharts } from '../../constructs';
import { CortexConfig, CortexValidationError, formatProblem } from '../../lib/config';
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
      --proxy-image IMAGE    the proxy sidecar's image (default: a placeholder)
      --predictor-image IMAGE  the Python predictor runtime's image (default: a placeholder)
      --lock PATH            the image lock file (default: cortex.lock.json beside the cortex.yaml,
                             when it exists; see "cortex pin")
      --no-lock              render the images as written, ignoring any lock file
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
    });
  } catch (e) {
    if (e instanceof CortexValidationError) {
      io.err(`cortex manifests: ${e.message}\n`);
      return EXIT_INVALID;
    }
    throw e;
  }

  const outDir = values.output as string | undefined;
  if (outDir === undefined) {
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
  return EXIT_OK;
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
}

function render(config: CortexConfig, options: ConfigChartsOptions): RenderedFile[] {
  // Charts are turned into JSON in memory (toJson); nothing is synthesized to disk.
  const charts = configCharts(config, options);
  return config.specs.map((spec, i) => {
    const objects = charts[i].toJson();
    return {
      fileName: `${spec.name}.yaml`,
      kind: spec.kind,
      objectCount: objects.length,
      yaml: objects.map((o) => YAML.stringify(o)).join('---\n'),
    };
  });
}
