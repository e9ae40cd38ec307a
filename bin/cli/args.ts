import { parseArgs, ParseArgsConfig } from 'node:util';
import { UsageError } from './io';

type Options = NonNullable<ParseArgsConfig['options']>;

/** A command's parsed flags (`help` is always there) and positional arguments. */
export interface ParsedArgs {
  readonly values: Record<string, string | boolean | undefined>;
  readonly positionals: string[];
}

/**
 * parseArgs with our error type: unknown flags and missing values become UsageError,
 * so every command reports them the same way (message + usage, exit 2).
 */
export function parseCommandArgs(argv: string[], options: Options, maxPositionals = 0): ParsedArgs {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError((e as Error).message.replace(/\. To specify a positional argument.*$/s, ''));
  }
  if (parsed.positionals.length > maxPositionals) {
    throw new UsageError(`unexpected argument "${parsed.positionals[maxPositionals]}"`);
  }
  return { values: parsed.values as ParsedArgs['values'], positionals: parsed.positionals };
}
