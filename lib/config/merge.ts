/**
 * Several cortex.yaml files deployed side by side (the example app deploys every example): their APIs
 * share one namespace and one gateway, so names and endpoints must be unique across the files too.
 */
import { ConfigError, ConfigProblem } from './errors';
import { ApiSpec, CortexConfig } from './types';

/** One config holding every spec of `configs`, in order; a name or endpoint used twice is a ConfigError. */
export function mergeConfigs(configs: readonly CortexConfig[]): CortexConfig {
  const problems: ConfigProblem[] = [];
  const byName = new Map<string, ApiSpec>();
  const byEndpoint = new Map<string, ApiSpec>();
  for (const spec of configs.flatMap((c) => c.specs)) {
    const sameName = byName.get(spec.name);
    if (sameName) {
      problems.push(problemAt(spec, 'name', `"${spec.name}" is already the name of an API in ${where(sameName)}; names must be unique across the files deployed together`));
    } else {
      byName.set(spec.name, spec);
    }
    const endpoint = spec.networking.endpoint;
    const sameEndpoint = byEndpoint.get(endpoint);
    if (sameEndpoint && !sameName) {
      problems.push(
        problemAt(spec, 'networking.endpoint', `"${endpoint}" is already the endpoint of ${sameEndpoint.name} in ${where(sameEndpoint)}; endpoints must be unique across the files deployed together`),
      );
    } else if (!sameEndpoint) {
      byEndpoint.set(endpoint, spec);
    }
  }
  if (problems.length > 0) {
    throw new ConfigError(problems);
  }
  const specs = configs.flatMap((c) => c.specs);
  return {
    file: configs.map((c) => c.file).join(', '),
    specs,
    apis: configs.flatMap((c) => c.apis),
    splitters: configs.flatMap((c) => c.splitters),
  };
}

function where(spec: ApiSpec): string {
  return `${spec.source.file}:${spec.source.line}`;
}

function problemAt(spec: ApiSpec, field: string, message: string): ConfigProblem {
  return { file: spec.source.file, line: spec.source.line, column: spec.source.column, path: `${spec.name}.${field}`, message };
}
