#!/usr/bin/env node
/**
 * `cortex-proxy`: parse the command line, start, drain on SIGTERM. Exit codes: 0 after a drain (or
 * `--help`), 1 when the servers cannot start (a port taken) or on a second signal, 2 on bad flags or a
 * missing or bad `--api-keys-file`.
 */
import type { ApiKeys } from './api-keys';
import { Command, ConfigError, parseCommandLine, USAGE } from './config';
import { exitOnSignals } from './drain';
import { Log } from './log';
import { loadApiKeys, RunningProxy, startProxy } from './server';

async function main(argv: string[]): Promise<void> {
  const log = new Log();
  let command: Command;
  try {
    command = parseCommandLine(argv, process.env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`cortex-proxy: ${error.message}\n(cortex-proxy --help lists the flags)\n`);
    process.exit(2);
  }
  if (command.help) {
    process.stdout.write(USAGE);
    return;
  }
  const config = command.config;
  let apiKeys: ApiKeys | undefined;
  try {
    // A keys file is read at start like a flag: missing or bad, the proxy does not start (exit 2).
    apiKeys = loadApiKeys(config, log);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`cortex-proxy: ${error.message}\n`);
    process.exit(2);
  }
  let proxy: RunningProxy;
  try {
    proxy = await startProxy(config, { log, apiKeys });
  } catch (error) {
    log.info(`cannot start: ${(error as Error).message}`);
    process.exit(1);
  }
  exitOnSignals(proxy, config.drainTimeoutMs, log);
  const where = config.host ?? '*';
  log.info(
    `listening on ${where}:${proxy.port} (admin ${where}:${proxy.adminPort}) for ${config.userHost}:${config.userPort}; ` +
      `max concurrency ${config.maxConcurrency}, max queue length ${config.maxQueueLength}` +
      (apiKeys === undefined ? '' : `; API keys required (${apiKeys.size} key hash${apiKeys.size === 1 ? '' : 'es'} from ${apiKeys.file})`),
  );
}

void main(process.argv.slice(2));
