import * as fs from 'fs';
import * as path from 'path';
import * as ts from 'typescript';
import * as defaults from '../../../lib/config/defaults';
import {
  AUTOSCALING_DEFAULTS,
  COMPUTE_DEFAULTS,
  LEGACY_API_DEFAULTS,
  LEGACY_API_LIMITS,
  NETWORKING_DEFAULTS,
  POD_DEFAULTS,
  PREDICTOR_DEFAULTS,
  PROBE_DEFAULTS,
  UPDATE_STRATEGY_DEFAULTS,
} from '../../../lib/config/defaults';
import { formatDuration, parseDuration } from '../../../lib/config/duration';

// The documented defaults (docs/configuration.md, Cortex v0.42's docs): a change here is a change for users.
describe('defaults', () => {
  test('GIVEN the pod and compute defaults THEN they are Cortex v0.42\'s', () => {
    expect(POD_DEFAULTS).toEqual({ port: 8080, maxConcurrency: 1, maxQueueLength: 100 });
    expect(COMPUTE_DEFAULTS).toEqual({ cpu: '200m', gpu: 0, inf: 0 });
    expect(PROBE_DEFAULTS).toEqual({
      httpGetPath: '/',
      initialDelaySeconds: 0,
      timeoutSeconds: 1,
      periodSeconds: 10,
      successThreshold: 1,
      failureThreshold: 3,
    });
  });

  test('GIVEN the autoscaling defaults THEN durations are in seconds', () => {
    expect(AUTOSCALING_DEFAULTS).toEqual({
      minReplicas: 1,
      maxReplicas: 100,
      windowSeconds: 60,
      downscaleStabilizationPeriodSeconds: 300,
      upscaleStabilizationPeriodSeconds: 60,
      maxDownscaleFactor: 0.75,
      maxUpscaleFactor: 1.5,
      downscaleTolerance: 0.05,
      upscaleTolerance: 0.05,
      maxReplicaConcurrency: 1024,
      coldStartTimeoutSeconds: 600,
    });
  });

  test('GIVEN the remaining defaults THEN they match the docs', () => {
    expect(UPDATE_STRATEGY_DEFAULTS).toEqual({ maxSurge: '25%', maxUnavailable: '25%' });
    expect(NETWORKING_DEFAULTS).toEqual({ timeoutSeconds: 600 });
    expect(PREDICTOR_DEFAULTS).toMatchObject({ logLevel: 'info', processesPerReplica: 1, threadsPerProcess: 1 });
  });

  test("GIVEN kind: api's compute defaults THEN they are Cortex 0.10's, plus one request at a time", () => {
    expect(LEGACY_API_DEFAULTS).toEqual({
      minReplicas: 1,
      maxReplicas: 100,
      targetCpuUtilization: 80,
      cpu: '200m',
      gpu: 0,
      maxConcurrency: 1,
      maxQueueLength: 100,
    });
    expect(LEGACY_API_LIMITS).toEqual({ minReplicas: 1, minTargetCpuUtilization: 1, maxTargetCpuUtilization: 100 });
  });
});

/**
 * One truth for each default and limit: defaults.ts holds it; docs/configuration.md's tables, the `@default` tags of
 * the spec types (types.ts, in spec units: seconds) and of the typed definitions (definition.ts, as a cortex.yaml
 * writes it) must say the same. Each documented field names the constants it shows; every constant of defaults.ts is
 * named by some field (or listed with why it is not a cortex.yaml field), so a new one cannot go undocumented.
 */
describe('docs/configuration.md and the @default tags agree with defaults.ts', () => {
  const ROOT = path.join(__dirname, '..', '..', '..');
  const used = new Set<string>();

  /** `table[key]`, remembered as documented. */
  function read<T extends Record<string, unknown>, K extends keyof T & string>(table: T, key: K): T[K] {
    const name = Object.entries(defaults).find(([, value]) => (value as unknown) === table)?.[0];
    used.add(`${name}.${key}`);
    return table[key];
  }
  function readConstant(name: keyof typeof defaults & string): number {
    used.add(name);
    return defaults[name] as number;
  }

  interface Documented {
    /** The docs' heading the table sits under, as written (ending with ":": its start). */
    readonly section: string;
    /** The first cell of the row. */
    readonly path: string;
    /** The default as the spec holds it (durations in seconds); `undefined`: the row documents limits only. */
    readonly value?: number | string | boolean | Record<string, never>;
    readonly duration?: boolean;
    /** What the rules cell must say, built from the code's limits. */
    readonly rules?: readonly string[];
    /** `Interface.property` (nested: `Interface.property.property`) in types.ts and definition.ts. */
    readonly tags?: readonly string[];
  }

  const range = (min: number, max: number) => `${min} – ${max}`;
  const d = formatDuration;
  const { minPort, maxPort } = defaults.POD_LIMITS;

  const POD = '### `pod`';
  const COMPUTE = "### `compute` (a container's; the predictor form's top-level `compute`)";
  const PROBES = '### Probes:';
  const AUTOSCALING = '### `autoscaling`';
  const PREDICTOR = '### `predictor` (or `handler`)';
  const PREDICTOR_AUTOSCALING = '### `autoscaling` in the predictor form';
  const LEGACY_COMPUTE = '### `compute`';

  const FIELDS: readonly Documented[] = [
    { section: POD, path: 'pod.port', value: read(defaults.POD_DEFAULTS, 'port'), rules: [range(read(defaults.POD_LIMITS, 'minPort'), read(defaults.POD_LIMITS, 'maxPort'))], tags: ['PodSpec.port', 'PodDefinition.port'] },
    { section: POD, path: 'pod.max_concurrency', value: read(defaults.POD_DEFAULTS, 'maxConcurrency'), rules: [range(read(defaults.POD_LIMITS, 'minMaxConcurrency'), read(defaults.POD_LIMITS, 'maxConcurrency'))], tags: ['PodSpec.maxConcurrency', 'PodDefinition.maxConcurrency'] },
    { section: POD, path: 'pod.max_queue_length', value: read(defaults.POD_DEFAULTS, 'maxQueueLength'), rules: [range(read(defaults.POD_LIMITS, 'minQueueLength'), read(defaults.POD_LIMITS, 'maxQueueLength'))], tags: ['PodSpec.maxQueueLength', 'PodDefinition.maxQueueLength'] },
    { section: '### `pod.containers[]`', path: 'env', value: {}, tags: ['ContainerSpec.env', 'ContainerDefinition.env'] },
    { section: COMPUTE, path: 'compute.cpu', value: read(defaults.COMPUTE_DEFAULTS, 'cpu'), rules: [`At least \`${read(defaults.COMPUTE_LIMITS, 'minCpu')}\``], tags: ['ComputeSpec.cpu', 'ComputeDefinition.cpu'] },
    { section: COMPUTE, path: 'compute.mem', rules: [`At least \`${read(defaults.COMPUTE_LIMITS, 'minMem')}\``] },
    { section: COMPUTE, path: 'compute.gpu', value: read(defaults.COMPUTE_DEFAULTS, 'gpu'), rules: ['≥ 0'], tags: ['ComputeSpec.gpu', 'ComputeDefinition.gpu'] },
    { section: COMPUTE, path: 'compute.inf', value: read(defaults.COMPUTE_DEFAULTS, 'inf'), rules: ['≥ 0'], tags: ['ComputeSpec.inf', 'ComputeDefinition.inf'] },
    { section: PROBES, path: 'http_get.port', rules: [range(minPort, maxPort)] },
    { section: PROBES, path: 'tcp_socket.port', rules: [range(minPort, maxPort)] },
    { section: PROBES, path: 'http_get.path', value: read(defaults.PROBE_DEFAULTS, 'httpGetPath'), tags: ['HttpGetHandler.path', 'HttpGetDefinition.path'] },
    ...(['initialDelaySeconds', 'timeoutSeconds', 'periodSeconds', 'successThreshold', 'failureThreshold'] as const).map((key) => ({
      section: PROBES,
      path: key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`),
      value: read(defaults.PROBE_DEFAULTS, key),
      tags: [`ProbeSpec.${key}`, `ProbeTimingDefinition.${key}`],
    })),
    { section: AUTOSCALING, path: 'autoscaling.min_replicas', value: read(defaults.AUTOSCALING_DEFAULTS, 'minReplicas'), rules: ['≥ 0'], tags: ['AutoscalingSpec.minReplicas', 'AutoscalingDefinition.minReplicas'] },
    { section: AUTOSCALING, path: 'autoscaling.max_replicas', value: read(defaults.AUTOSCALING_DEFAULTS, 'maxReplicas'), rules: ['≥ 1'], tags: ['AutoscalingSpec.maxReplicas', 'AutoscalingDefinition.maxReplicas'] },
    {
      section: AUTOSCALING,
      path: 'autoscaling.window',
      value: read(defaults.AUTOSCALING_DEFAULTS, 'windowSeconds'),
      duration: true,
      rules: [`≥ \`${d(read(defaults.AUTOSCALING_LIMITS, 'minWindowSeconds'))}\``, `a multiple of \`${d(read(defaults.AUTOSCALING_LIMITS, 'windowStepSeconds'))}\``],
      tags: ['AutoscalingSpec.windowSeconds', 'AutoscalingDefinition.window'],
    },
    ...(['downscale', 'upscale'] as const).map((way) => ({
      section: AUTOSCALING,
      path: `autoscaling.${way}_stabilization_period`,
      value: read(defaults.AUTOSCALING_DEFAULTS, `${way}StabilizationPeriodSeconds`),
      duration: true,
      rules: [`\`0s\` to \`${d(read(defaults.AUTOSCALING_LIMITS, 'maxStabilizationPeriodSeconds'))}\``],
      tags: [`AutoscalingSpec.${way}StabilizationPeriodSeconds`, `AutoscalingDefinition.${way}StabilizationPeriod`],
    })),
    { section: AUTOSCALING, path: 'autoscaling.max_downscale_factor', value: read(defaults.AUTOSCALING_DEFAULTS, 'maxDownscaleFactor'), rules: ['0 ≤ x < 1'], tags: ['AutoscalingSpec.maxDownscaleFactor', 'AutoscalingDefinition.maxDownscaleFactor'] },
    { section: AUTOSCALING, path: 'autoscaling.max_upscale_factor', value: read(defaults.AUTOSCALING_DEFAULTS, 'maxUpscaleFactor'), rules: ['> 1'], tags: ['AutoscalingSpec.maxUpscaleFactor', 'AutoscalingDefinition.maxUpscaleFactor'] },
    { section: AUTOSCALING, path: 'autoscaling.downscale_tolerance', value: read(defaults.AUTOSCALING_DEFAULTS, 'downscaleTolerance'), rules: ['0 ≤ x < 1'], tags: ['AutoscalingSpec.downscaleTolerance', 'AutoscalingDefinition.downscaleTolerance'] },
    { section: AUTOSCALING, path: 'autoscaling.upscale_tolerance', value: read(defaults.AUTOSCALING_DEFAULTS, 'upscaleTolerance'), rules: ['0 ≤ x < 1'], tags: ['AutoscalingSpec.upscaleTolerance', 'AutoscalingDefinition.upscaleTolerance'] },
    {
      section: AUTOSCALING,
      path: 'autoscaling.cold_start_timeout',
      value: read(defaults.AUTOSCALING_DEFAULTS, 'coldStartTimeoutSeconds'),
      duration: true,
      rules: [`\`${d(read(defaults.AUTOSCALING_LIMITS, 'minColdStartTimeoutSeconds'))}\` to \`${d(read(defaults.AUTOSCALING_LIMITS, 'maxColdStartTimeoutSeconds'))}\``],
      tags: ['AutoscalingSpec.coldStartTimeoutSeconds', 'AutoscalingDefinition.coldStartTimeout'],
    },
    { section: '### `read_apis`', path: 'read_apis', value: false, tags: ['RealtimeApiSpec.readApis', 'RealtimeApiDefinition.readApis'] },
    { section: '### `update_strategy`', path: 'update_strategy.max_surge', value: read(defaults.UPDATE_STRATEGY_DEFAULTS, 'maxSurge'), tags: ['UpdateStrategySpec.maxSurge', 'UpdateStrategyDefinition.maxSurge'] },
    { section: '### `update_strategy`', path: 'update_strategy.max_unavailable', value: read(defaults.UPDATE_STRATEGY_DEFAULTS, 'maxUnavailable'), tags: ['UpdateStrategySpec.maxUnavailable', 'UpdateStrategyDefinition.maxUnavailable'] },
    {
      section: '### `networking`',
      path: 'networking.timeout',
      value: read(defaults.NETWORKING_DEFAULTS, 'timeoutSeconds'),
      duration: true,
      rules: [`at most \`${d(readConstant('MAX_NETWORKING_TIMEOUT_SECONDS'))}\``],
      tags: ['NetworkingSpec.timeoutSeconds', 'NetworkingDefinition.timeout'],
    },
    { section: PREDICTOR, path: 'predictor.config', value: {}, tags: ['PredictorSpec.config', 'PredictorDefinition.config'] },
    { section: PREDICTOR, path: 'predictor.env', value: {}, tags: ['PredictorSpec.env', 'PredictorDefinition.env'] },
    { section: PREDICTOR, path: 'predictor.log_level', value: read(defaults.PREDICTOR_DEFAULTS, 'logLevel'), tags: ['PredictorSpec.logLevel', 'PredictorDefinition.logLevel'] },
    ...(['pip', 'conda', 'shell'] as const).map((key) => ({
      section: PREDICTOR,
      path: `predictor.dependencies.${key}`,
      value: read(defaults.PREDICTOR_DEFAULTS, key),
      tags: [`PredictorSpec.dependencies.${key}`, `DependenciesDefinition.${key}`],
    })),
    {
      section: PREDICTOR,
      path: 'predictor.server_side_batching.max_batch_size',
      rules: [range(read(defaults.PREDICTOR_LIMITS, 'minBatchSize'), read(defaults.PREDICTOR_LIMITS, 'maxBatchSize'))],
    },
    {
      section: PREDICTOR,
      path: 'predictor.processes_per_replica',
      value: read(defaults.PREDICTOR_DEFAULTS, 'processesPerReplica'),
      rules: [range(1, read(defaults.PREDICTOR_LIMITS, 'maxProcessesPerReplica'))],
      tags: ['PredictorSpec.processesPerReplica', 'PredictorDefinition.processesPerReplica'],
    },
    {
      section: PREDICTOR,
      path: 'predictor.threads_per_process',
      value: read(defaults.PREDICTOR_DEFAULTS, 'threadsPerProcess'),
      rules: [range(1, read(defaults.PREDICTOR_LIMITS, 'maxThreadsPerProcess')), `\`processes_per_replica × threads_per_process\` ≤ ${defaults.POD_LIMITS.maxConcurrency}`],
      tags: ['PredictorSpec.threadsPerProcess', 'PredictorDefinition.threadsPerProcess'],
    },
    {
      section: PREDICTOR_AUTOSCALING,
      path: 'autoscaling.max_replica_concurrency',
      value: read(defaults.AUTOSCALING_DEFAULTS, 'maxReplicaConcurrency'),
      rules: [range(defaults.POD_LIMITS.minMaxConcurrency, defaults.POD_LIMITS.maxConcurrency)],
      tags: ['AutoscalingDefinition.maxReplicaConcurrency'],
    },
    { section: '## TrafficSplitter', path: 'apis[].weight', rules: [range(0, read(defaults.TRAFFIC_SPLITTER_LIMITS, 'maxWeight')), `add up to exactly ${read(defaults.TRAFFIC_SPLITTER_LIMITS, 'totalWeight')}`] },
    { section: '## TrafficSplitter', path: 'apis[].shadow', value: false, tags: ['TrafficSplitterTarget.shadow', 'TrafficSplitterTargetDefinition.shadow'] },
    { section: LEGACY_COMPUTE, path: 'compute.min_replicas', value: read(defaults.LEGACY_API_DEFAULTS, 'minReplicas'), rules: [`≥ ${read(defaults.LEGACY_API_LIMITS, 'minReplicas')}`] },
    { section: LEGACY_COMPUTE, path: 'compute.max_replicas', value: read(defaults.LEGACY_API_DEFAULTS, 'maxReplicas') },
    {
      section: LEGACY_COMPUTE,
      path: 'compute.target_cpu_utilization',
      value: read(defaults.LEGACY_API_DEFAULTS, 'targetCpuUtilization'),
      rules: [range(read(defaults.LEGACY_API_LIMITS, 'minTargetCpuUtilization'), read(defaults.LEGACY_API_LIMITS, 'maxTargetCpuUtilization'))],
    },
    { section: LEGACY_COMPUTE, path: 'compute.cpu', value: read(defaults.LEGACY_API_DEFAULTS, 'cpu'), rules: [`At least \`${defaults.COMPUTE_LIMITS.minCpu}\``] },
    { section: LEGACY_COMPUTE, path: 'compute.mem', rules: [`At least \`${defaults.COMPUTE_LIMITS.minMem}\``] },
    { section: LEGACY_COMPUTE, path: 'compute.gpu', value: read(defaults.LEGACY_API_DEFAULTS, 'gpu') },
    { section: LEGACY_COMPUTE, path: 'compute.max_concurrency', value: read(defaults.LEGACY_API_DEFAULTS, 'maxConcurrency'), rules: [range(1, defaults.PREDICTOR_LIMITS.maxThreadsPerProcess)] },
    {
      section: LEGACY_COMPUTE,
      path: 'compute.max_queue_length',
      value: read(defaults.LEGACY_API_DEFAULTS, 'maxQueueLength'),
      rules: [range(defaults.POD_LIMITS.minQueueLength, defaults.POD_LIMITS.maxQueueLength)],
    },
  ];

  /** Constants of defaults.ts that are not a cortex.yaml field's default or limit. */
  const NOT_FIELDS: Record<string, string> = {
    'PREDICTOR_DEFAULTS.healthPath': "the runtime's readiness path, not a field",
  };
  /** Literal `@default` tags with no row of their own. */
  const UNDOCUMENTED_TAGS: Record<string, string> = {
    'PredictorSpec.style': "set by the reader from the entry's kind, not a field",
    'RealtimeApiDefinition.kind': 'a cortex.yaml requires kind; a definition in code may leave it out',
  };

  const rows = documentedRows(fs.readFileSync(path.join(ROOT, 'docs', 'configuration.md'), 'utf8'));
  const specTags = defaultTags(path.join(ROOT, 'lib', 'config', 'types.ts'));
  const tags = new Map([...specTags, ...defaultTags(path.join(ROOT, 'lib', 'config', 'definition.ts'))]);

  test.each(FIELDS.map((field) => [`${field.section} ${field.path}`, field] as const))('GIVEN %s THEN the docs say what the code does', (_, field) => {
    const inSection = (heading: string) => heading === field.section || (field.section.endsWith(':') && heading.startsWith(field.section));
    const row = rows.find((r) => inSection(r.section) && r.path === field.path);
    expect(row).toBeDefined();
    if (field.value !== undefined) {
      expect({ path: field.path, default: literal(row!.default, field.duration) }).toEqual({ path: field.path, default: field.value });
    }
    for (const rule of field.rules ?? []) expect({ path: field.path, rules: row!.rules }).toEqual({ path: field.path, rules: expect.stringContaining(rule) });
    for (const tag of field.tags ?? []) {
      // types.ts holds durations in seconds (a bare number); definition.ts as a cortex.yaml writes them.
      const duration = field.duration && !(specTags.has(tag) && /^\d+(\.\d+)?$/.test(specTags.get(tag)!));
      expect({ tag, value: tags.has(tag) ? literal(tags.get(tag)!, duration) : 'no literal @default' }).toEqual({ tag, value: field.value });
    }
  });

  test('GIVEN every default and limit of defaults.ts THEN a documented field shows it (or it is no field)', () => {
    const constants = Object.entries(defaults).flatMap(([name, value]) => {
      if (typeof value === 'number') return [name];
      if (typeof value === 'object' && value !== null) return Object.keys(value).map((key) => `${name}.${key}`);
      return [];
    });
    expect(constants.filter((c) => !used.has(c) && !(c in NOT_FIELDS))).toEqual([]);
  });

  test('GIVEN every literal @default of types.ts and definition.ts THEN a documented field checks it', () => {
    const checked = new Set(FIELDS.flatMap((field) => field.tags ?? []));
    expect([...tags.keys()].filter((tag) => !checked.has(tag) && !(tag in UNDOCUMENTED_TAGS))).toEqual([]);
  });
});

interface DocumentedRow {
  readonly section: string;
  readonly path: string;
  readonly default: string;
  readonly rules: string;
}

/** The rows of the "YAML path | type | default | rules" tables, with the heading each sits under. */
function documentedRows(markdown: string): DocumentedRow[] {
  const rows: DocumentedRow[] = [];
  let section = '';
  let inTable = false;
  for (const line of markdown.split('\n')) {
    if (line.startsWith('#')) section = line;
    const cells = line.startsWith('|') ? line.slice(1, -1).split(/(?<!\\)\|/).map((cell) => cell.trim()) : undefined;
    if (cells === undefined) {
      inTable = false;
    } else if (cells[0] === 'YAML path' && cells[2] === 'default') {
      inTable = true;
    } else if (inTable && /^`[^`]+`$/.test(cells[0])) {
      rows.push({ section, path: cells[0].slice(1, -1), default: cells[2], rules: cells[3] });
    }
  }
  return rows;
}

/** The literal `@default` tags (not `@default - behaviour`) of every property, by `Interface.property`. */
function defaultTags(file: string): Map<string, string> {
  const source = ts.createSourceFile(file, fs.readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true);
  const found = new Map<string, string>();
  const visit = (node: ts.Node, owner: string): void => {
    if (ts.isInterfaceDeclaration(node)) {
      node.members.forEach((member) => visit(member, node.name.text));
    } else if (ts.isPropertySignature(node)) {
      const name = `${owner}.${node.name.getText(source)}`;
      for (const tag of ts.getJSDocTags(node)) {
        const text = ts.getTextOfJSDocComment(tag.comment)?.trim() ?? '';
        if (tag.tagName.text === 'default' && !text.startsWith('-')) found.set(name, text);
      }
      if (node.type && ts.isTypeLiteralNode(node.type)) node.type.members.forEach((member) => visit(member, name));
    } else {
      ts.forEachChild(node, (child) => visit(child, owner));
    }
  };
  visit(source, '');
  return found;
}

/** A default as the docs or a tag write it (`` `60s` ``, `"25%"`, `1.5`, `{}`), as the spec holds it. */
function literal(text: string, duration?: boolean): unknown {
  const match = /^`([^`]*)`/.exec(text);
  const value = (match ? match[1] : text).trim().replace(/^(["'])(.*)\1$/, '$2');
  if (duration) return parseDuration(value);
  if (value === '{}') return {};
  if (value === 'true' || value === 'false') return value === 'true';
  return value !== '' && Number.isFinite(Number(value)) && !/^0\d/.test(value) ? Number(value) : value;
}
