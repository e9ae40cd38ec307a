import * as eks from 'aws-cdk-lib/aws-eks-v2';
import { Construct } from 'constructs';
import { APIS_GATEWAY } from '../../constructs/names';
import { HelmValues, addonChart } from './helm-addon';
import { checkChartVersion, checkMinimumVersion } from './validation';
import { CHARTS, ISTIO_VERSION } from './versions';

/** Istio's namespace: where the control plane, the APIs gateway and its `Gateway` object live. */
export const ISTIO_NAMESPACE = APIS_GATEWAY.split('/')[0];

/** The oldest Istio that serves `networking.istio.io/v1`, the version of the APIs' VirtualServices. */
export const MINIMUM_ISTIO_VERSION = '1.22.0';

/** Options of Istio's control plane: the `base` chart (CRDs) and `istiod`. */
export interface IstioOptions {
  /**
   * The Istio version, of both charts (and, by default, of the gateway chart). Keep it equal to the
   * CRDs the APIs' objects were generated from.
   * @default '1.30.3'
   */
  readonly version?: string;
  /**
   * Where to pull the charts from, e.g. a mirror.
   * @default 'https://istio-release.storage.googleapis.com/charts'
   */
  readonly repository?: string;
  /**
   * `istiod` values deep-merged over the platform's (mappings merge, anything else replaces).
   * @default - the platform's values only
   */
  readonly values?: HelmValues;
  /**
   * `base` values deep-merged over the platform's.
   * @default - the platform's values only
   */
  readonly baseValues?: HelmValues;
}

/** Props of {@link Istio}. */
export interface IstioProps extends IstioOptions {
  /** The cluster to install Istio on. */
  readonly cluster: eks.ICluster;
}

/**
 * Istio's CRDs and cluster-wide resources (`base`, release `istio-base`), then its control plane
 * (`istiod`, waited for: its admission webhooks must answer before anything creates Istio objects or
 * gateway pods, whose proxy istiod injects).
 */
export class Istio extends Construct {
  /** The `base` release: the CRDs. */
  public readonly base: eks.HelmChart;
  /** The `istiod` release, after `base`. */
  public readonly istiod: eks.HelmChart;
  /** The Istio version installed. */
  public readonly version: string;

  constructor(scope: Construct, id: string, props: IstioProps) {
    super(scope, id);
    this.version = props.version ?? ISTIO_VERSION;
    checkChartVersion('istio.version', this.version);
    checkMinimumVersion(
      'istio.version',
      this.version,
      MINIMUM_ISTIO_VERSION,
      "the APIs' VirtualServices and the APIs gateway are networking.istio.io/v1 objects",
    );

    this.base = addonChart(this, 'Base', {
      cluster: props.cluster,
      source: CHARTS.istioBase,
      options: { version: this.version, repository: props.repository, values: props.baseValues },
      optionsPath: 'istio',
      release: 'istio-base',
      namespace: ISTIO_NAMESPACE,
      values: { defaultRevision: 'default' },
    });
    this.istiod = addonChart(this, 'Istiod', {
      cluster: props.cluster,
      source: CHARTS.istiod,
      options: { version: this.version, repository: props.repository, values: props.values },
      optionsPath: 'istio',
      release: 'istiod',
      namespace: ISTIO_NAMESPACE,
      values: istiodValues(),
      wait: true,
    });
    this.istiod.node.addDependency(this.base);
  }
}

/**
 * TCP keepalive on the gateway's connections to the APIs' pods (`meshConfig.tcpKeepalive`): the first probe after
 * this much silence, then one per interval, the connection closed after that many unanswered probes. Those
 * connections cross the VPC between nodes, where a flow silent for 350 s can be forgotten by the connection tracking
 * of the nodes' network interfaces (AWS' default on recent instance types); a request whose response is silent for
 * minutes keeps its connection alive with these probes. Istio sets no keepalive unless told.
 */
export const UPSTREAM_TCP_KEEPALIVE = { time: '60s', interval: '60s', probes: 5 } as const;

/**
 * istiod's values. Its default requests (500m CPU, 2Gi) size it for a mesh of sidecars; here it
 * configures only the gateway's Envoy (API pods get no sidecar), which needs a fraction of that.
 * The gateway's stream idle timeout is Istio's, 0 (none) on every HTTP listener it builds (Envoy's own default would
 * be 5 minutes): a request is limited by its route's timeout, `networking.timeout`, alone.
 */
export function istiodValues(): HelmValues {
  return {
    resources: { requests: { cpu: '200m', memory: '512Mi' } },
    meshConfig: { tcpKeepalive: { ...UPSTREAM_TCP_KEEPALIVE } },
  };
}
