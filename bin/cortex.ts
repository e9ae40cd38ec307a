#!/usr/bin/env node
import { CliIo, EXIT_INVALID, EXIT_OK, EXIT_USAGE, processIo, UsageError } from './cli/io';

const usage = `Usage: cortex <command> [options]

Commands:
  validate    check a cortex.yaml (exit 1 with one line per problem)
  manifests   render the Kubernetes objects of every API in a cortex.yaml

Run "cortex <command> --help" for a command's options.
`;

type Command = (argv: string[], io: CliIo) => number;

// Each command is loaded only when asked for, so `validate` never pays for cdk8s or aws-cdk-lib.
const commands: Record<string, { load: () => Command; usage: () => string }> = {
  validate: {
    load: () => require('./cli/validate').validateCommand,
    usage: () => require('./cli/validate').validateUsage,
  },
  manifests: {
    load: () => require('./cli/manifests').manifestsCommand,
    usage: () => require('./cli/manifests').manifestsUsage,
  },
};

/** Runs the CLI with `argv` (without node and the script) and returns the exit code. */
export function run(argv: string[], io: CliIo = processIo): number {
  const [name, ...rest] = argv;
  if (name === undefined || name === '-h' || name === '--help' || name === 'help') {
    (name === undefined ? io.err : io.out)(usage);
    return name === undefined ? EXIT_USAGE : EXIT_OK;
  }
  const command = commands[name];
  if (!command) {
    io.err(`cortex: unknown command "${name}"\n\n${usage}`);
    return EXIT_USAGE;
  }
  try {
    return command.load()(rest, io);
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`cortex ${name}: ${e.message}\n\n${command.usage()}`);
      return EXIT_USAGE;
    }
    // Anything else is our bug, not the user's input: say so plainly, keep the detail for a report.
    io.err(`cortex ${name}: internal error: ${(e as Error).stack ?? e}\n`);
    return EXIT_INVALID;
  }
}

if (require.main === module) {
  process.exitCode = run(process.argv.slice(2));
}
