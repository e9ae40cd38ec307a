#!/usr/bin/env node
import { CliIo, EXIT_INVALID, EXIT_OK, EXIT_USAGE, processIo, UsageError } from './cli/io';

const usage = `Usage: cortex <command> [options]

Commands:
  validate    check a cortex.yaml (exit 1 with one line per problem)
  manifests   render the Kubernetes objects of every API in a cortex.yaml
  local       run a predictor-form API on this machine, through the proxy
  diff        preview what a deploy changes, API by API (two cloud assemblies, or one against AWS)
  pin         resolve image tags to digests into cortex.lock.json
  get         status of the deployed APIs (kubeconfig), one API in detail with its metrics
  logs        an API's logs from CloudWatch Logs, or follow them live
  keys        create, list and revoke an API's keys (networking.auth.api_keys)

Run "cortex <command> --help" for a command's options.
`;

type Command = (argv: string[], io: CliIo) => number | Promise<number>;

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
  local: {
    load: () => require('./cli/local').localCommand,
    usage: () => require('./cli/local').localUsage,
  },
  diff: {
    load: () => require('./cli/diff').diffCommand,
    usage: () => require('./cli/diff').diffUsage,
  },
  pin: {
    load: () => require('./cli/pin').pinCommand,
    usage: () => require('./cli/pin').pinUsage,
  },
  get: {
    load: () => require('./cli/get').getCommand,
    usage: () => require('./cli/get').getUsage,
  },
  logs: {
    load: () => require('./cli/logs').logsCommand,
    usage: () => require('./cli/logs').logsUsage,
  },
  keys: {
    load: () => require('./cli/keys').keysCommand,
    usage: () => require('./cli/keys').keysUsage,
  },
};

/**
 * Runs the CLI with `argv` (without node and the script) and returns the exit code — at once for the
 * commands that finish at once (validate, manifests), as a promise for those that run (local).
 */
export function run(argv: string[], io: CliIo = processIo): number | Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '-h' || name === '--help' || name === 'help') {
    (name === undefined ? io.err : io.out)(usage);
    return name === undefined ? EXIT_USAGE : EXIT_OK;
  }
  // The AWS SDK (logs, pin, diff) warns on Node 20 about its releases of 2027, which this package pins below;
  // a user of the CLI can do nothing about it, and it would sit in the middle of the output. Left on if set.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const command = commands[name];
  if (!command) {
    io.err(`cortex: unknown command "${name}"\n\n${usage}`);
    return EXIT_USAGE;
  }
  const fail = (e: unknown): number => {
    if (e instanceof UsageError) {
      io.err(`cortex ${name}: ${e.message}\n\n${command.usage()}`);
      return EXIT_USAGE;
    }
    // Anything else is our bug, not the user's input: say so plainly, keep the detail for a report.
    io.err(`cortex ${name}: internal error: ${(e as Error).stack ?? e}\n`);
    return EXIT_INVALID;
  };
  try {
    const result = command.load()(rest, io);
    return typeof result === 'number' ? result : result.catch(fail);
  } catch (e) {
    return fail(e);
  }
}

if (require.main === module) {
  Promise.resolve(run(process.argv.slice(2))).then((code) => {
    process.exitCode = code;
  });
}
