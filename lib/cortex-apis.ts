import { createHash } from 'node:crypto';
import * as path from 'node:path';
import * as cdk from 'aws-cdk-lib';
import type * as eks from 'aws-cdk-lib/aws-eks-v2';
import { Construct } from 'constructs';
import type { CortexConfig } from './config';
import { loadConfigFileWithLock } from './config/lock';
import { CortexValidationError } from './errors';
import { proxyImageAsset } from './images';
import { ApiPlatform, type IApiPlatform } from './platform/api-platform';
import { RealtimeApi, type RealtimeApiOptions } from './realtime-api';
import { describeFiles } from './stack-description';
import { TrafficSplitter } from './traffic-splitter';

/**
 * How many nested stacks hold the RealtimeAPIs. Fixed, not derived from the number of APIs: an API's stack
 * must never change as the file grows (see {@link apiStackIndex}). An API takes ~12 to 15 KB of template (~18 to 21
 * KB estimated) and 8 resources (its manifest, three alarms, its rollout gate, its role and Pod Identity association,
 * and one resource reserved for the role's default policy); 64 stacks hold about 1,500 within the budgets below
 * (bench/synth.ts; docs/importing.md states it and a test checks it); empty stacks are not made.
 */
export const DEFAULT_API_STACKS = 64;
/** How many nested stacks hold the TrafficSplitters (a splitter is one small VirtualService). */
export const DEFAULT_SPLITTER_STACKS = 4;
/** At most this many nested stacks of each kind (each is a resource and a few parameters of the parent). */
export const MAX_NESTED_STACKS = 128;

/** Per-API URL outputs are made when the APIs and splitters number at most this. */
export const DEFAULT_MAX_URL_OUTPUTS = 50;
/** CloudFormation allows 200 outputs per template; leave room for the app's own. */
export const MAX_URL_OUTPUTS = 150;

/**
 * Budgets of one nested stack's template. CloudFormation's limits are 1,000,000 bytes and 500 resources;
 * the budgets leave room for estimation error. Every resource of an API counts: its manifest, its alarms and
 * dashboard, its rollout gate (whose bytes include its deploy-time inputs), its role and Pod Identity association.
 */
export const TEMPLATE_BYTE_BUDGET = 700_000;
export const TEMPLATE_RESOURCE_BUDGET = 400;

/**
 * What a manifest costs in its template beyond its objects' JSON (escaped once more as a string): the
 * resource's logical id, type, service token, cluster name, prune label, dependencies, path metadata.
 */
export const MANIFEST_OVERHEAD_BYTES = 1_500;
/** What one unresolved token (an image URI, a platform address) grows to in the template (Fn::Join parts, Fn::Sub). */
export const TOKEN_BYTES = 500;

/**
 * Options of {@link CortexApis}, without the cluster and the config: how every API is deployed (the options of
 * {@link RealtimeApi}, given to each API made) and how the APIs are spread over nested stacks.
 */
export interface CortexApisOptions extends RealtimeApiOptions {
  /**
   * How many nested stacks the RealtimeAPIs are spread over, by a hash of their names (empty stacks are not
   * made). Raise it past about 1,500 APIs (synth says when), best before the first deploy: on a deployed app,
   * changing it moves some APIs to another stack, which CloudFormation cannot do in place (docs/importing.md, "Scale").
   * @default 64
   */
  readonly apiStacks?: number;
  /**
   * How many nested stacks the TrafficSplitters are spread over (they depend on the API stacks).
   * @default 4
   */
  readonly splitterStacks?: number;
  /**
   * Per-API URL outputs are made when the APIs and splitters number at most this; past it, one `ApiUrls`
   * output says where they are (CloudFormation allows 200 outputs per template).
   * @default 50
   */
  readonly maxUrlOutputs?: number;
}

/** Props of {@link CortexApis.fromConfigFile}: the file is read with its lock file. */
export interface CortexApisFileProps extends CortexApisOptions {
  /** The cluster, with a kubectl provider. */
  readonly cluster: eks.ICluster;
  /**
   * The image lock file `cortex pin` writes (images pinned to digests), or `false` to deploy the images as
   * written.
   * @default - the file's path with `.yaml` replaced by `.lock.json` (`cortex.lock.json`), when it exists
   */
  readonly lockFile?: string | false;
}

/** Props of {@link CortexApis}: a config already read (its lock file, if any, applied by whoever read it). */
export interface CortexApisProps extends CortexApisOptions {
  /** The cluster, with a kubectl provider. */
  readonly cluster: eks.ICluster;
  /** The validated cortex.yaml. */
  readonly config: CortexConfig;
}

/**
 * Every RealtimeAPI and TrafficSplitter of a cortex.yaml, each its own KubernetesManifest, spread over
 * nested stacks so that no template nears CloudFormation's limits (1,000,000 bytes, 500 resources): each
 * API goes to the nested stack its name hashes to (`Apis00`...), each splitter to one of the splitter
 * stacks (`Splitters00`...), which deploy after the API stacks. Outputs: the gateway's base URL and one URL
 * per API, when the platform's endpoint is known.
 */
export class CortexApis extends Construct {
  /**
   * Every API and splitter of a cortex.yaml, with the images its lock file pins; problems in either throw a
   * `ConfigError` listing each with its line.
   */
  public static fromConfigFile(scope: Construct, id: string, file: string, props: CortexApisFileProps): CortexApis {
    const { lockFile, ...options } = props;
    return new CortexApis(scope, id, {
      ...options,
      config: loadConfigFileWithLock(file, { lockFile }),
      configDir: props.configDir ?? path.dirname(path.resolve(file)),
    });
  }

  /** The RealtimeAPIs by name, in file order. */
  public readonly apis: ReadonlyMap<string, RealtimeApi>;
  /** The TrafficSplitters by name, in file order. */
  public readonly splitters: ReadonlyMap<string, TrafficSplitter>;
  /** The nested stacks made, API stacks first. */
  public readonly stacks: cdk.NestedStack[];
  public readonly platform: IApiPlatform;
  public readonly apiStackCount: number;
  public readonly splitterStackCount: number;
  public readonly maxUrlOutputs: number;

  constructor(scope: Construct, id: string, props: CortexApisProps) {
    super(scope, id);
    // Not a prop here (the config is read already), but once accepted and silently ignored: say so.
    const lockFile = (props as { readonly lockFile?: unknown }).lockFile;
    if (lockFile !== undefined) {
      throw new CortexValidationError(
        `lockFile (${JSON.stringify(lockFile)}) is read with the file: pass it to CortexApis.fromConfigFile(scope, id, file, { lockFile }); ` +
          'new CortexApis takes a config already read',
      );
    }
    this.platform = props.platform ?? ApiPlatform.existing();
    this.apiStackCount = props.apiStacks ?? DEFAULT_API_STACKS;
    this.splitterStackCount = props.splitterStacks ?? DEFAULT_SPLITTER_STACKS;
    this.maxUrlOutputs = props.maxUrlOutputs ?? DEFAULT_MAX_URL_OUTPUTS;

    checkStackCount('apiStacks', this.apiStackCount);
    checkStackCount('splitterStacks', this.splitterStackCount);
    checkMaxUrlOutputs(this.maxUrlOutputs);

    // One asset (or override) for every API, resolved once.
    const proxyImage = props.proxyImage ?? proxyImageAsset(this).imageUri;
    // Every file the specs came from (a merged config has several), for the nested stacks' descriptions.
    const files = props.config.specs.length > 0 ? props.config.specs.map((s) => s.source.file) : [props.config.file];

    const apiShards = new Shards(this, 'Apis', this.apiStackCount, 'RealtimeAPIs', files);
    const apis = new Map<string, RealtimeApi>();
    for (const spec of props.config.apis) {
      const stack = apiShards.stackFor(spec.name);
      const api = new RealtimeApi(stack, spec.name, {
        cluster: props.cluster,
        api: spec,
        platform: this.platform,
        proxyImage,
        predictorImage: props.predictorImage,
        // Undefined: each API's own file's directory, so configs merged from several files keep their code.
        configDir: props.configDir,
        serviceAccountName: props.serviceAccountName,
        managedPolicies: props.managedPolicies,
        monitoring: props.monitoring,
        rolloutGate: props.rolloutGate,
      });
      apiShards.add(spec.name, api.objects, api.monitoring, api.rolloutGate, api.podIdentityLoad);
      apis.set(spec.name, api);
    }

    const splitterShards = new Shards(this, 'Splitters', this.splitterStackCount, 'TrafficSplitters', files);
    const splitters = new Map<string, TrafficSplitter>();
    for (const spec of props.config.splitters) {
      const splitter = new TrafficSplitter(splitterShards.stackFor(spec.name), spec.name, {
        cluster: props.cluster,
        splitter: spec,
        apis: spec.apis.map((t) => apis.get(t.name)!),
        platform: this.platform,
      });
      splitterShards.add(spec.name, splitter.objects);
      splitters.set(spec.name, splitter);
    }

    apiShards.checkBudgets('apiStacks');
    splitterShards.checkBudgets('splitterStacks');
    this.apis = apis;
    this.splitters = splitters;
    this.stacks = [...apiShards.stacks(), ...splitterShards.stacks()];
    this.addUrlOutputs();
  }

  private addUrlOutputs(): void {
    const endpointUrl = this.platform.endpointUrl;
    if (endpointUrl === undefined) {
      return;
    }
    new cdk.CfnOutput(this, 'GatewayUrl', {
      value: endpointUrl,
      description: 'Base URL of the APIs: each is at <GatewayUrl><its endpoint> (default endpoint: /<name>)',
    });
    const all: Array<RealtimeApi | TrafficSplitter> = [...this.apis.values(), ...this.splitters.values()];
    if (all.length <= this.maxUrlOutputs) {
      for (const api of all) {
        const kind = api instanceof RealtimeApi ? 'RealtimeAPI' : 'TrafficSplitter';
        new cdk.CfnOutput(this, `Url-${api.name}`, { value: api.url!, description: `URL of the ${kind} ${api.name}` });
      }
      return;
    }
    new cdk.CfnOutput(this, 'ApiUrls', {
      value: `${endpointUrl}/<api-name>`,
      description:
        `${all.length} APIs and splitters, more than maxUrlOutputs (${this.maxUrlOutputs}): each is at ` +
        '<GatewayUrl><networking.endpoint>, by default <GatewayUrl>/<api-name>',
    });
  }
}

/**
 * The stack (0 to count - 1) an API or splitter goes to: Lamport and Veach's jump consistent hash of the
 * name's SHA-256. It depends on the name and the count only — never on the other APIs or their sizes — so
 * an API stays in its stack as the file changes. A move cannot be deployed: the new stack's manifest is
 * created with `kubectl create`, which fails on objects the old stack still holds (and applied instead, the
 * old stack's cleanup would then delete them). Raising the count moves the fewest names possible (about
 * 1 - old/new of them).
 */
export function apiStackIndex(name: string, count: number): number {
  let key = createHash('sha256').update(name).digest().readBigUInt64BE(0);
  let bucket = -1;
  let next = 0;
  while (next < count) {
    bucket = next;
    key = (key * 2862933555777941757n + 1n) & 0xffffffffffffffffn;
    next = Math.floor((bucket + 1) * (2 ** 31 / (Number(key >> 33n) + 1)));
  }
  return bucket;
}

/** What a manifest of these objects adds to its template, in bytes (an over-estimate; see the constants). */
export function manifestTemplateBytes(objects: unknown): number {
  const text = JSON.stringify(objects);
  const tokens = text.match(/\$\{Token\[/g)?.length ?? 0;
  return JSON.stringify(text).length + MANIFEST_OVERHEAD_BYTES + tokens * TOKEN_BYTES;
}

/** A count of nested stacks: an integer from 1 to {@link MAX_NESTED_STACKS}. */
export function checkStackCount(prop: string, value: number): void {
  if (!Number.isInteger(value) || value < 1 || value > MAX_NESTED_STACKS) {
    throw new CortexValidationError(`${prop} (${value}) must be an integer from 1 to ${MAX_NESTED_STACKS}`);
  }
}

/** The per-API outputs' limit: an integer from 0 to {@link MAX_URL_OUTPUTS}. */
export function checkMaxUrlOutputs(value: number): void {
  if (!Number.isInteger(value) || value < 0 || value > MAX_URL_OUTPUTS) {
    throw new CortexValidationError(
      `maxUrlOutputs (${value}) must be an integer from 0 to ${MAX_URL_OUTPUTS} (CloudFormation allows 200 outputs per template)`,
    );
  }
}

/** One nested stack's load, for the budget check. */
interface ShardLoad {
  readonly stack: cdk.NestedStack;
  names: string[];
  bytes: number;
  resources: number;
}

/** The nested stacks of one kind, made when the first name hashes to them. */
class Shards {
  private readonly loads = new Map<number, ShardLoad>();

  constructor(
    private readonly scope: Construct,
    private readonly prefix: string,
    private readonly count: number,
    private readonly what: string,
    private readonly files: readonly string[],
  ) {}

  public stackFor(name: string): cdk.NestedStack {
    const index = apiStackIndex(name, this.count);
    let load = this.loads.get(index);
    if (load === undefined) {
      const id = `${this.prefix}${String(index).padStart(2, '0')}`;
      const stack = new cdk.NestedStack(this.scope, id, {
        description: describeFiles(`cortex-cdk: ${this.what} of `, this.files, `, stack ${index + 1} of ${this.count} (by name hash)`),
      });
      load = { stack, names: [], bytes: 0, resources: 0 };
      this.loads.set(index, load);
    }
    return load.stack;
  }

  /** A manifest of these objects, plus what else its API adds to the template (its alarms, dashboard, rollout gate). */
  public add(name: string, objects: unknown, ...extras: Array<{ readonly templateBytes: number; readonly resourceCount: number } | undefined>): void {
    const load = this.loads.get(apiStackIndex(name, this.count))!;
    load.names.push(name);
    load.bytes += manifestTemplateBytes(objects);
    load.resources += 1;
    for (const extra of extras) {
      load.bytes += extra?.templateBytes ?? 0;
      load.resources += extra?.resourceCount ?? 0;
    }
  }

  public stacks(): cdk.NestedStack[] {
    return [...this.loads.entries()].sort(([a], [b]) => a - b).map(([, load]) => load.stack);
  }

  /** Throws when a stack's estimated template exceeds a budget, naming the prop that spreads them wider. */
  public checkBudgets(prop: string): void {
    for (const load of this.loads.values()) {
      const id = load.stack.node.id;
      if (load.bytes > TEMPLATE_BYTE_BUDGET) {
        throw new CortexValidationError(
          `${prop} (${this.count}) is too few: nested stack ${id} would hold ${load.names.length} manifests of about ` +
            `${Math.round(load.bytes / 1000)} KB, over the ${TEMPLATE_BYTE_BUDGET / 1000} KB budget per template ` +
            `(CloudFormation's limit: 1,000 KB); raise ${prop} (on a deployed app it moves some APIs: docs/importing.md, "Scale")`,
        );
      }
      if (load.resources > TEMPLATE_RESOURCE_BUDGET) {
        throw new CortexValidationError(
          `${prop} (${this.count}) is too few: nested stack ${id} would hold ${load.names.length} manifests with their alarms, gates and roles, ` +
            `${load.resources} resources, over the ${TEMPLATE_RESOURCE_BUDGET} resources budget per template ` +
            `(CloudFormation's limit: 500); raise ${prop}, or set monitoring: false`,
        );
      }
    }
  }
}
