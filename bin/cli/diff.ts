import * as path from 'node:path';
// Module by module: the AWS SDK (deployed.ts) is loaded only when the deployed stacks are read.
import { type ApiDiff, diffStacks } from './diff/api-diff';
import { readAssembly } from './diff/assembly';
import { DiffError, REQUIRED_ACTIONS } from './diff/errors';
import { formatDiff, type OutputStyle } from './diff/print';
import { parseCommandArgs } from './args';
import { CliIo, EXIT_INVALID, EXIT_OK, UsageError } from './io';
import { type Color, paint, useColor } from './term';

const COLORS: Record<OutputStyle, Color> = { added: 'green', removed: 'red', changed: 'yellow', warning: 'red', dim: 'dim' };

/** With --fail-on-change: some API changes (distinct from 1, which says the comparison itself failed). */
export const EXIT_CHANGES = 3;

export const diffUsage = `Usage: cortex diff [--from DIR] [--to DIR] [options]

Previews what deploying a cloud assembly changes, API by API: the fields of each API's Kubernetes objects
that change (old → new) and what that does — a rolling update (over how many replicas, with what max surge
and max unavailable), a scale change, a routing-only change, an API added or removed. APIs are matched by
namespace and name (the cortex.dev/api-name label) within each stack, wherever their manifests live;
unchanged APIs are only counted. Only the APIs' objects are compared: \`npx cdk diff\` shows the rest of
the stacks. Colours on a terminal only (not with NO_COLOR).

Options:
      --from DIR        the assembly deployed now (a cdk.out synthesized earlier), compared offline; without
                        it, the deployed stacks are read from CloudFormation (AWS credentials needed, allowed
                        ${REQUIRED_ACTIONS}); a stack not deployed yet adds all its APIs
      --to DIR          the assembly to deploy (default: cdk.out; make it with \`npx cdk synth\`)
  -a, --api NAME        only this API or traffic splitter (repeatable)
      --region REGION   the region of stacks synthesized without one (default: AWS_REGION, then your AWS config)
      --profile NAME    the AWS profile to read the deployed stacks with (default: AWS_PROFILE, then default)
      --full            print long values whole instead of eliding them
      --fail-on-change  exit ${EXIT_CHANGES} when any API changes (for CI)
  -h, --help            show this help

Exit codes: 0 compared (with --fail-on-change: and nothing changes), ${EXIT_CHANGES} with --fail-on-change: something
changes, 1 an assembly or a deployed stack cannot be read, 2 the command line is wrong.
`;

export async function diffCommand(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseCommandArgs(argv, {
    'from': { type: 'string' },
    'to': { type: 'string', default: 'cdk.out' },
    'api': { type: 'string', short: 'a', multiple: true },
    'region': { type: 'string' },
    'profile': { type: 'string' },
    'full': { type: 'boolean' },
    'fail-on-change': { type: 'boolean' },
  });
  if (values.help) {
    io.out(diffUsage);
    return EXIT_OK;
  }
  const onlyApis = (values as Record<string, unknown>).api as string[] | undefined;
  if (values.from !== undefined && (values.region !== undefined || values.profile !== undefined)) {
    throw new UsageError('--region and --profile read deployed stacks; with --from nothing is read from AWS');
  }

  let diff: ApiDiff;
  let header: string;
  try {
    const toDir = values.to as string;
    const to = await readAssembly(path.resolve(io.cwd, toDir));
    if (values.from !== undefined) {
      const fromDir = values.from as string;
      const from = await readAssembly(path.resolve(io.cwd, fromDir));
      diff = diffStacks(from.stacks, to.stacks);
      header = `cortex diff: ${fromDir} → ${toDir}`;
    } else {
      const { readDeployed } = await import('./diff/deployed');
      const deployed = await readDeployed(to.stacks, { region: values.region as string | undefined, profile: values.profile as string | undefined });
      diff = diffStacks(deployed.stacks, to.stacks);
      const notDeployed = deployed.notDeployed.length > 0 ? ` (not deployed yet: ${deployed.notDeployed.join(', ')})` : '';
      header = `cortex diff: deployed stacks${notDeployed} → ${toDir}`;
    }
  } catch (e) {
    if (e instanceof DiffError) {
      io.err(`cortex diff: ${e.message}\n`);
      return EXIT_INVALID;
    }
    throw e;
  }

  if (onlyApis !== undefined) {
    const known = new Set([...diff.changes.map((c) => c.name), ...diff.unchanged.map((a) => a.name)]);
    for (const name of onlyApis.filter((n) => !known.has(n))) io.err(`cortex diff: warning: no API named "${name}" on either side\n`);
    diff = onlyThese(diff, onlyApis);
  }
  for (const problem of diff.problems) io.err(`cortex diff: warning: ${problem}\n`);
  const color = useColor(io);
  const style = (text: string, kind: OutputStyle) => paint(text, COLORS[kind], color);
  io.out(`${header}\n\n${formatDiff(diff, { maxValueLength: values.full ? 0 : undefined, style })}`);
  return values['fail-on-change'] && diff.changes.length > 0 ? EXIT_CHANGES : EXIT_OK;
}

function onlyThese(diff: ApiDiff, names: string[]): ApiDiff {
  const wanted = new Set(names);
  return {
    changes: diff.changes.filter((c) => wanted.has(c.name)),
    unchanged: diff.unchanged.filter((a) => wanted.has(a.name)),
    problems: diff.problems,
  };
}
