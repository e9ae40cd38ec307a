import * as eks from 'aws-cdk-lib/aws-eks-v2';
import { Construct } from 'constructs';
import { HelmAddonOptions, addonChart } from './helm-addon';
import { CHARTS } from './versions';

/** Options of metrics-server. */
export interface MetricsServerOptions extends HelmAddonOptions {}

/** Props of {@link MetricsServer}. */
export interface MetricsServerProps extends MetricsServerOptions {
  /** The cluster to install metrics-server on. */
  readonly cluster: eks.ICluster;
}

/**
 * metrics-server (release `metrics-server` in `kube-system`): the resource metrics API behind
 * `kubectl top` and CPU/memory HPAs. The chart's defaults work on EKS as they are.
 */
export class MetricsServer extends Construct {
  /** The release. */
  public readonly chart: eks.HelmChart;

  constructor(scope: Construct, id: string, props: MetricsServerProps) {
    super(scope, id);
    this.chart = addonChart(this, 'Resource', {
      cluster: props.cluster,
      source: CHARTS.metricsServer,
      options: props,
      optionsPath: 'metricsServer',
      release: 'metrics-server',
      namespace: 'kube-system',
      values: {},
    });
  }
}
