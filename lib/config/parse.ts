/** The entry points: a cortex.yaml's text, a file on disk, or a value built in code → a validated config. */
import * as fs from 'node:fs';
import { validateConfigValue, ValidationResult } from './config-file';
import { ConfigError, ConfigProblem } from './errors';
import { NO_POSITIONS } from './field-path';
import { CortexConfig } from './types';
import { readYamlSource } from './yaml-source';

/**
 * Validates a cortex.yaml's text without throwing (what `cortex validate` prints).
 * `file` names the file in problems and in the config's source positions.
 */
export function validateConfig(text: string, file: string): ValidationResult {
  const source = readYamlSource(text);
  if (source.syntaxErrors.length > 0) {
    // The structure of a broken document is the parser's guess; validating it would only add noise.
    const problems = source.syntaxErrors.map(
      (error): ConfigProblem => ({ file, line: error.line, column: error.column, path: '', message: error.message }),
    );
    return { problems };
  }
  return validateConfigValue(source.value, file, source.locator);
}

/** Parses and validates a cortex.yaml's text; throws a {@link ConfigError} with every problem found. */
export function parseConfig(text: string, file: string): CortexConfig {
  return orThrow(validateConfig(text, file));
}

/** Reads, parses and validates a cortex.yaml; a file that cannot be read is a ConfigError too. */
export function loadConfigFile(path: string): CortexConfig {
  let text: string;
  try {
    text = fs.readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError([{ file: path, line: 0, column: 0, path: '', message: readFailure(e) }]);
  }
  return parseConfig(text, path);
}

function readFailure(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EISDIR') return 'is a directory; name the cortex.yaml file itself';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  return `cannot be read: ${(error as Error).message}`;
}

/**
 * Validates a value in cortex.yaml's shape (a list of API objects, snake_case keys) built in code,
 * by exactly the rules a file goes through, without throwing. Problems have no line (0:0).
 */
export function validateConfigObject(value: unknown, file = '<props>'): ValidationResult {
  return validateConfigValue(value, file, NO_POSITIONS);
}

/** Like {@link validateConfigObject}, but throws a {@link ConfigError} with every problem found. */
export function configFromObject(value: unknown, file = '<props>'): CortexConfig {
  return orThrow(validateConfigObject(value, file));
}

function orThrow(result: ValidationResult): CortexConfig {
  if (!result.config) throw new ConfigError(result.problems);
  return result.config;
}
