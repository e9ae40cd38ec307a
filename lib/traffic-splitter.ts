import * as eks from 'aws-cdk-lib/aws-eks-v2';
import * as cdk8s from 'cdk8s';
import { Construct } from 'constructs';
import { TrafficSplitterChart, scaleToZeroTargets } from '../constructs';
import type { TrafficSplitterSpec } from './config';
import { CortexValidationError } from './errors';
import { ApiPlatform, type IApiPlatform } from './platform/api-platform';
import { checkKubectlProvider, type RealtimeApi } from './realtime-api';

/** Options of {@link TrafficSplitter}, without the cluster. */
export interface TrafficSplitterOptions {
  /**
   * The splitter, validated and fully defaulted: an entry of a parsed cortex.yaml, or one written in code
   * with `configFromObject([...targetApis, splitter]).splitters[0]` (the file's rules want its targets beside it).
   */
  readonly splitter: TrafficSplitterSpec;
  /**
   * Its target APIs, each named in `splitter.apis`: the splitter's manifest is applied after theirs, and
   * they must live in its namespace (its routes name their Services there).
   */
  readonly apis: RealtimeApi[];
  /**
   * The platform; its namespace must be the target APIs'.
   * @default ApiPlatform.existing() - add-ons already installed, namespace 'cortex', nothing to wait for
   */
  readonly platform?: IApiPlatform;
}

/** Props of {@link TrafficSplitter}. */
export interface TrafficSplitterProps extends TrafficSplitterOptions {
  /** The cluster, with a kubectl provider. */
  readonly cluster: eks.ICluster;
}

/**
 * A TrafficSplitter on an EKS cluster: its VirtualService (weighted routes to the target APIs, a mirror to
 * the shadow) as one `KubernetesManifest`, applied after the platform is ready and after every target
 * API's manifest.
 */
export class TrafficSplitter extends Construct {
  /** The splitter's name. */
  public readonly name: string;
  /** The validated spec. */
  public readonly splitter: TrafficSplitterSpec;
  /** The platform it runs on. */
  public readonly platform: IApiPlatform;
  /** The target APIs, in `splitter.apis` order. */
  public readonly targets: RealtimeApi[];
  /** The namespace of its VirtualService. */
  public readonly namespace: string;
  /** Its URL from outside the cluster, when the platform's endpoint is known. */
  public readonly url?: string;
  /** The chart the VirtualService comes from. */
  public readonly chart: TrafficSplitterChart;
  /** The Kubernetes objects of the manifest. */
  public readonly objects: Record<string, unknown>[];
  /** The KubernetesManifest holding the VirtualService. */
  public readonly manifest: eks.KubernetesManifest;

  constructor(scope: Construct, id: string, props: TrafficSplitterProps) {
    super(scope, id);
    const splitter = props.splitter;
    this.platform = props.platform ?? ApiPlatform.existing();

    checkTrafficSplitterSpec(splitter);
    checkKubectlProvider(props.cluster);
    this.targets = targetApis(splitter, props.apis, this.platform.namespace);

    this.name = splitter.name;
    this.splitter = splitter;
    this.namespace = this.platform.namespace;
    this.url = this.platform.endpointUrl === undefined ? undefined : `${this.platform.endpointUrl}${splitter.networking.endpoint}`;

    this.chart = new TrafficSplitterChart(new cdk8s.App(), splitter.name, {
      splitter,
      namespace: this.namespace,
      scaleToZeroTargets: scaleToZeroTargets(this.targets.map((t) => t.api)),
      coldStart: this.platform.coldStart,
    });
    this.objects = this.chart.toJson();
    this.manifest = new eks.KubernetesManifest(this, 'Resource', { cluster: props.cluster, manifest: this.objects });
    this.manifest.node.addDependency(this.platform.ready);
    for (const api of this.targets) {
      this.manifest.node.addDependency(api.manifest);
    }
  }
}

/** The spec must be a TrafficSplitter. */
export function checkTrafficSplitterSpec(splitter: TrafficSplitterSpec): void {
  if ((splitter.kind as string) !== 'TrafficSplitter') {
    throw new CortexValidationError(`splitter.kind (${JSON.stringify(splitter.kind)}) must be "TrafficSplitter"`);
  }
}

/**
 * The RealtimeApis a splitter routes to, one per target in `splitter.apis`, each found in `apis` by name
 * and living in the splitter's namespace.
 */
export function targetApis(splitter: TrafficSplitterSpec, apis: readonly RealtimeApi[], namespace: string): RealtimeApi[] {
  const byName = new Map(apis.map((api) => [api.name, api]));
  return splitter.apis.map((target, i) => {
    const api = byName.get(target.name);
    if (api === undefined) {
      const given = apis.length === 0 ? 'none' : apis.map((a) => a.name).join(', ');
      throw new CortexValidationError(
        `apis (${given}) must include every target of the splitter "${splitter.name}": splitter.apis[${i}].name ` +
          `(${JSON.stringify(target.name)}) is not among them`,
      );
    }
    if (api.namespace !== namespace) {
      throw new CortexValidationError(
        `apis: "${api.name}" lives in namespace ${JSON.stringify(api.namespace)}; the splitter "${splitter.name}" ` +
          `routes within its own, ${JSON.stringify(namespace)} (give both the same platform)`,
      );
    }
    return api;
  });
}
