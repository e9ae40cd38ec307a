import { formatProblem } from '../../lib/config';
import { parseCommandArgs } from './args';
import { CliIo, EXIT_INVALID, EXIT_OK } from './io';
import { loadConfig } from './load';

export const validateUsage = `Usage: cortex validate [-f PATH]

Checks a cortex.yaml: every field, default and cross-field rule, without AWS or Kubernetes.
Exit 0 when valid; otherwise exit 1 and one line per problem:
  PATH:LINE:COL: <field path>: <what is wrong, the value, what is allowed>

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
  const { config, problems } = loadConfig(file, io.cwd);
  if (!config) {
    io.err(problems.map((p) => formatProblem(p) + '\n').join(''));
    return EXIT_INVALID;
  }
  const apis = config.apis.length;
  const splitters = config.splitters.length;
  io.out(`${file}: valid (${plural(apis, 'RealtimeAPI')}${splitters ? `, ${plural(splitters, 'TrafficSplitter')}` : ''})\n`);
  return EXIT_OK;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
