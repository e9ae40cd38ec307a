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

