import * as fs from 'node:fs';
import * as path from 'node:path';
// The validation alone, without aws-cdk-lib (which the cluster-config index loads to build props).
import { formatClusterNote, isClusterFileText, validateClusterText } from '../../lib/cluster-config/validate';
import { formatProblem } from '../../lib/config';
import { parseCommandArgs } from './args';
import { CliIo, EXIT_INVALID, EXIT_OK } from './io';
import { loadConfig } from './load';
import { plural } from './term';

export const validateUsage = `Usage: cortex validate [-f PATH]

Checks a cortex.yaml: every field, default and cross-field rule, without AWS or Kubernetes.
Exit 0 when valid; otherwise exit 1 and one line per problem:
  PATH:LINE:COL: <field path>: <what is wrong, the value, what is allowed>
The image lock file beside it (cortex.lock.json, see "cortex pin") is checked too, when there is one.
A cluster.yaml (Cortex's cluster configuration: a mapping with cluster_name, region, node_groups...) is
recognised by its keys and checked by its own rules; fields without effect here are printed as notes.

Options:
  -f, --file PATH   the cortex.yaml to check (default: cortex.yaml)
  -h, --help        show this help
`;

export function validateCommand(argv: string[], io: CliIo): number {
  const { values } = parseCommandArgs(argv, { file: { type: 'string', short: 'f', default: 'cortex.yaml' } });
  if (values.help) {
    io.out(validateUsage);
    return EXIT_OK;
  }
  const file = values.file as string;
  const clusterText = readIfClusterFile(path.resolve(io.cwd, file));
  if (clusterText !== undefined) return validateClusterFile(clusterText, file, io);
  const { config, problems, lockFile, unpinned } = loadConfig(file, io.cwd);
  if (!config) {
    io.err(problems.map((p) => formatProblem(p) + '\n').join(''));
    return EXIT_INVALID;
  }
  if (lockFile !== undefined && unpinned && unpinned.length > 0) {
    // Not a problem (the file stays valid): the lock is behind the file, and these images deploy as tagged.
    io.err(`${lockFile}: warning: does not pin ${unpinned.map((i) => JSON.stringify(i)).join(', ')}; deployed as written until "cortex pin -f ${file}"\n`);
  }
  const apis = config.apis.length;
  const splitters = config.splitters.length;
  io.out(`${file}: valid (${plural(apis, 'RealtimeAPI')}${splitters ? `, ${plural(splitters, 'TrafficSplitter')}` : ''})\n`);
  return EXIT_OK;
}

/** The file's text when it is a cluster.yaml; undefined otherwise (a cortex.yaml, or a file loadConfig reports on). */
function readIfClusterFile(fullPath: string): string | undefined {
  let text: string;
  try {
    text = fs.readFileSync(fullPath, 'utf8');
  } catch {
    return undefined;
  }
  return isClusterFileText(text) ? text : undefined;
}

function validateClusterFile(text: string, file: string, io: CliIo): number {
  const { spec, problems, notes } = validateClusterText(text, file);
  const noteLines = notes.map((note) => `${formatClusterNote(note)}\n`).join('');
  if (!spec) {
    io.err(problems.map((p) => formatProblem(p) + '\n').join('') + noteLines);
    return EXIT_INVALID;
  }
  if (noteLines) io.err(noteLines);
  const groups = spec.nodeGroups;
  const described = groups === undefined ? "the stack's default node groups" : plural(groups.length, 'node group');
  io.out(`${file}: valid cluster.yaml (cluster ${spec.clusterName} in ${spec.region}, ${described})\n`);
  return EXIT_OK;
}
