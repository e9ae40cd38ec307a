/**
 * A whole cortex.yaml: a list of APIs. Reads each entry by its kind, then checks what needs the
 * whole file in view: unique names, unique endpoints, traffic splitters that point at RealtimeAPIs.
 */
import { describeValue, isMapping } from './describe-value';
import { ConfigProblem } from './errors';
import { Field, ValidationContext } from './field';
import { Locator } from './field-path';
import { readString } from './field-readers';
import { readLegacyApi } from './legacy-api';
import { LegacyDeployment, readLegacyDeployment } from './legacy-deployment';
import { defaultEndpoint, endpointProblem } from './networking';
import { DNS_1035_LABEL, DNS_1035_RULE, MAX_API_NAME_LENGTH, RESERVED_API_NAMES } from './names';
import { readRealtimeApi } from './realtime-api';
import { suggest } from './suggest';
import { readTrafficSplitter } from './traffic-splitter';
import { ApiSpec, CortexConfig, RealtimeApiSpec, SourcePosition, TrafficSplitterSpec } from './types';

export const API_KINDS = ['RealtimeAPI', 'TrafficSplitter'] as const;
export type ApiKind = (typeof API_KINDS)[number];

/**
 * The kinds of Cortex 0.10 – 0.12: `api` (read into a RealtimeAPI) and `deployment` (the entry naming
 * the file's deployment, which deploys nothing itself).
 */
export const LEGACY_KINDS = ['api', 'deployment'] as const;
export type LegacyKind = (typeof LEGACY_KINDS)[number];

/** Kinds Cortex had that cortex-cdk does not serve. */
const UNSUPPORTED_KINDS = ['BatchAPI', 'TaskAPI', 'AsyncAPI'];

export interface ValidationResult {
  /** Set when there are no problems. */
  readonly config?: CortexConfig;
  /** Every problem found, ordered by position in the file. */
  readonly problems: ConfigProblem[];
}

/** An entry whose name and kind are valid: what the file-wide checks work with. */
interface NamedEntry {
  readonly index: number;
  readonly field: Field;
  readonly name: string;
  /** A `kind: api` entry counts as the RealtimeAPI it becomes. */
  readonly kind: ApiKind;
  /** Where the entry writes its endpoint: `networking.endpoint`, or `endpoint` for `kind: api`. */
  readonly endpointField: Field;
}

/** Validates a cortex.yaml's value (from YAML, or built in code); `locator` places each problem. */
export function validateConfigValue(value: unknown, file: string, locator: Locator): ValidationResult {
  const context = new ValidationContext(file, locator);
  let specs: (ApiSpec | undefined)[] = [];
  try {
    specs = readEntries(Field.root(context, value));
  } catch (e) {
    // Nothing a user writes should get here; if it does, say so rather than crash the CLI.
    context.report([], { line: 0, column: 0 }, `internal error while validating (please report it): ${(e as Error).message}`);
  }
  const problems = sortByPosition(context.problems);
  if (problems.length > 0) return { problems };
  const complete = specs.filter((spec): spec is ApiSpec => spec !== undefined);
  if (complete.length !== specs.length) {
    const message = 'internal error: an API could not be read, yet no problem was reported (please report it)';
    return { problems: [{ file, line: 0, column: 0, path: '', message }] };
  }
  return { config: toConfig(file, complete), problems };
}

function readEntries(root: Field): (ApiSpec | undefined)[] {
  const entries = readApiList(root);
  if (!entries) return [];

  const named: NamedEntry[] = [];
  const firstIndexOfName = new Map<string, number>();
  const deployment = readDeployments(entries);
  const specs = entries.flatMap((entry, index): (ApiSpec | undefined)[] => {
    if (!isMapping(entry.value)) {
      entry.problem(`must be a mapping (an API with name, kind, ...), got ${describeValue(entry.value)}`);
      return [undefined];
    }
    // Its own namespace of names, as in Cortex: a deployment and one of its APIs may share a name.
    if (entry.value.kind === 'deployment') return [];
    const name = readApiName(entry.child('name'));
    if (name !== undefined) {
      entry.context.setApiLabel(index, name);
      const previous = firstIndexOfName.get(name);
      if (previous !== undefined) {
        entry.child('name').problem(`duplicate name ${JSON.stringify(name)} (also entry [${previous}]); names must be unique in the file`);
      } else {
        firstIndexOfName.set(name, index);
      }
    }
    const kind = readKind(entry.child('kind'));
    if (name !== undefined && kind !== undefined && firstIndexOfName.get(name) === index) {
      const legacy = kind === 'api';
      named.push({
        index,
        field: entry,
        name,
        kind: legacy ? 'RealtimeAPI' : kind,
        endpointField: legacy ? entry.child('endpoint') : entry.child('networking').child('endpoint'),
      });
    }

    const position = entry.context.locator.valueAt(entry.path);
    const source: SourcePosition = { file: entry.context.file, line: position.line, column: position.column };
    const identity = { name, source };
    if (kind === 'RealtimeAPI') return [readRealtimeApi(entry, identity)];
    if (kind === 'TrafficSplitter') return [readTrafficSplitter(entry, identity)];
    if (kind === 'api') return [readLegacyApi(entry, identity, deployment)];
    return [undefined];
  });

  if (specs.length === 0) {
    root.problem('must list at least one API; kind: deployment only names the deployment: add kind: api (or RealtimeAPI) entries');
  }
  checkEndpointsUnique(named);
  checkSplitterTargets(named);
  checkSplitterJwt(named, specs);
  return specs;
}

function readApiList(root: Field): Field[] | undefined {
  if (!root.isSet) {
    root.problem('the file is empty; it must be a list of APIs, each starting with "- name: ..."');
    return undefined;
  }
  if (!Array.isArray(root.value)) {
    root.problem(`must be a list of APIs, each starting with "- name: ...", got ${describeValue(root.value)}`);
    return undefined;
  }
  if (root.value.length === 0) {
    root.problem('must list at least one API, got an empty list');
    return undefined;
  }
  return root.value.map((_, index) => root.child(index));
}

/** API names become Kubernetes object names, with a suffix added to pod names. */
function readApiName(field: Field): string | undefined {
  const name = readString(field, { required: true });
  if (name === undefined) return undefined;
  if (!DNS_1035_LABEL.test(name)) {
    field.problem(`must be a DNS-1035 label (${DNS_1035_RULE}), got ${describeValue(name)}`);
    return undefined;
  }
  if (name.length > MAX_API_NAME_LENGTH) {
    field.problem(`must be at most ${MAX_API_NAME_LENGTH} characters (Kubernetes adds a suffix to pod names), got ${name.length}`);
    return undefined;
  }
  if (RESERVED_API_NAMES.includes(name)) {
    field.problem(`${describeValue(name)} is reserved (API names become construct ids, and the constructs library cannot take this one); choose another name`);
    return undefined;
  }
  return name;
}

function readKind(field: Field): ApiKind | 'api' | undefined {
  if (!field.isSet) {
    field.missing(`required: ${API_KINDS.join(' or ')}`);
    return undefined;
  }
  if (API_KINDS.includes(field.value as ApiKind) || field.value === 'api') return field.value as ApiKind | 'api';
  const allowed = `must be one of ${[...API_KINDS, ...LEGACY_KINDS].join(', ')}, got ${describeValue(field.value)}`;
  if (UNSUPPORTED_KINDS.includes(field.value as string)) {
    field.problem(`${allowed} (cortex-cdk does not serve ${field.value}s)`);
    return undefined;
  }
  // A kind written almost right is read as the kind it was meant to be, so that the entry's other
  // problems are reported in the same run ("every problem at once").
  const meant = typeof field.value === 'string' ? (suggest(field.value, API_KINDS) as ApiKind | undefined) : undefined;
  if (meant !== undefined) {
    field.problem(`${allowed}; did you mean ${meant}? (the rest of the entry was checked as a ${meant})`);
    return meant;
  }
  field.problem(allowed);
  return undefined;
}

/**
 * The file's `kind: deployment` entry (Cortex 0.10 – 0.12 had one per file), read before the APIs,
 * which take its `python_root`. A second one is reported; the first one counts.
 */
function readDeployments(entries: readonly Field[]): LegacyDeployment {
  let first: { index: number; deployment: LegacyDeployment } | undefined;
  entries.forEach((entry, index) => {
    if (!isMapping(entry.value) || entry.value.kind !== 'deployment') return;
    const deployment = readLegacyDeployment(entry);
    if (first === undefined) {
      first = { index, deployment };
    } else {
      entry.child('kind').problem(`only one kind: deployment entry per file, got another (the first is entry [${first.index}])`);
    }
  });
  return first?.deployment ?? {};
}

/** Every API and splitter has its own path on the one gateway. */
function checkEndpointsUnique(entries: readonly NamedEntry[]): void {
  const owners = new Map<string, string>();
  for (const entry of entries) {
    const endpointField = entry.endpointField;
    const written = endpointField.value;
    if (endpointField.isSet && (typeof written !== 'string' || endpointProblem(written) !== undefined)) continue;
    const endpoint = typeof written === 'string' ? written : defaultEndpoint(entry.name);
    const owner = owners.get(endpoint);
    if (owner === undefined) {
      owners.set(endpoint, entry.name);
    } else if (endpointField.isSet) {
      endpointField.problem(`${JSON.stringify(endpoint)} is already the endpoint of ${owner}; endpoints must be unique in the file`);
    } else {
      const setting = entry.field.child('kind').value === 'api' ? 'endpoint' : 'networking.endpoint';
      endpointField.problem(
        `${JSON.stringify(endpoint)} (the default, from the name) is already the endpoint of ${owner}; set ${setting} to another path`,
      );
    }
  }
}

/** A splitter routes to RealtimeAPIs of the same file, deployed with it. */
function checkSplitterTargets(entries: readonly NamedEntry[]): void {
  const kindOf = new Map(entries.map((entry) => [entry.name, entry.kind]));
  const realtimeApis = entries.filter((entry) => entry.kind === 'RealtimeAPI').map((entry) => entry.name);
  const available = realtimeApis.length ? realtimeApis.join(', ') : 'none';
  for (const splitter of entries.filter((entry) => entry.kind === 'TrafficSplitter')) {
    const apis = splitter.field.child('apis');
    if (!Array.isArray(apis.value)) continue;
    apis.value.forEach((_, index) => {
      const nameField = apis.child(index).child('name');
      const target = nameField.value;
      if (typeof target !== 'string' || kindOf.get(target) === 'RealtimeAPI') return;
      const what = kindOf.get(target) === 'TrafficSplitter' ? 'is a TrafficSplitter, not a RealtimeAPI' : 'is not a RealtimeAPI of this file';
      nameField.problem(`${describeValue(target)} ${what}; available: ${available}`);
    });
  }
}

/**
 * A splitter's endpoint is a path of its own on the gateway, with its own `networking.auth.jwt` check: one that
 * routes to an API requiring a token must require one too, else it would serve that API without.
 */
function checkSplitterJwt(entries: readonly NamedEntry[], specs: readonly (ApiSpec | undefined)[]): void {
  const jwtApis = new Set(
    specs.filter((spec): spec is RealtimeApiSpec => spec?.kind === 'RealtimeAPI' && spec.networking.auth?.jwt !== undefined).map((spec) => spec.name),
  );
  for (const splitter of specs) {
    if (splitter?.kind !== 'TrafficSplitter' || splitter.networking.auth?.jwt !== undefined) continue;
    const entry = entries.find((e) => e.kind === 'TrafficSplitter' && e.name === splitter.name);
    splitter.apis.forEach((target, index) => {
      if (!jwtApis.has(target.name) || entry === undefined) return;
      entry.field
        .child('apis')
        .child(index)
        .child('name')
        .problem(
          `${describeValue(target.name)} requires a JSON Web Token (networking.auth.jwt), and this splitter would serve it at ` +
            `${JSON.stringify(splitter.networking.endpoint)} without one: set networking.auth.jwt on the splitter too`,
        );
    });
  }
}

function sortByPosition(problems: readonly ConfigProblem[]): ConfigProblem[] {
  // Array.prototype.sort is stable: problems at one position (and all of a props object's, at 0:0) keep their order.
  return [...problems].sort((a, b) => a.line - b.line || a.column - b.column);
}

function toConfig(file: string, specs: ApiSpec[]): CortexConfig {
  return {
    file,
    specs,
    apis: specs.filter((spec): spec is RealtimeApiSpec => spec.kind === 'RealtimeAPI'),
    splitters: specs.filter((spec): spec is TrafficSplitterSpec => spec.kind === 'TrafficSplitter'),
  };
}
