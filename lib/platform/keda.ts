import * as eks from 'aws-cdk-lib/aws-eks-v2';
import { Construct } from 'constructs';
import { HelmAddonOptions, HelmValues, addonChart } from './helm-addon';
import { CHARTS } from './versions';

/** KEDA's namespace (and release name). */
export const KEDA_NAMESPACE = 'keda';

/** Options of KEDA. */
export interface KedaOptions extends HelmAddonOptions {}

/** Props of {@link Keda}. */
export interface KedaProps extends KedaOptions {
  /** The cluster to install KEDA on. */
  readonly cluster: eks.ICluster;
}

/**
 * KEDA (`kedacore/keda` 2.20.2, release `keda` in `keda`) with its CRDs: every API's `ScaledObject`
 * needs them, and its admission webhook must answer before one is created, so the release is waited for.
 */
export class Keda extends Construct {
  /** The release. */
  public readonly chart: eks.HelmChart;

  constructor(scope: Construct, id: string, props: KedaProps) {
    super(scope, id);
    this.chart = addonChart(this, 'Resource', {
      cluster: props.cluster,
      source: CHARTS.keda,
      options: props,
      optionsPath: 'keda',
      release: 'keda',
      namespace: KEDA_NAMESPACE,
      values: kedaValues(),
      wait: true,
    });
  }
}

/** KEDA's values: the CRDs installed and upgraded with the chart (its default, stated: APIs depend on it). */
export function kedaValues(): HelmValues {
  return { crds: { install: true } };
}
