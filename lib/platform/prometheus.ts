import * as eks from 'aws-cdk-lib/aws-eks-v2';
import { Construct } from 'constructs';
import { DEFAULT_PROMETHEUS_URL, PROMETHEUS_SERVER_NAMESPACE } from '../../constructs/names';
import { apiRecordingRules } from './api-metrics';
import { HelmAddonOptions, HelmValues, addonChart } from './helm-addon';
import { checkPrometheusDuration } from './validation';
import { CHARTS } from './versions';

/** The release name: the server's Service is `<release>-server` (`DEFAULT_PROMETHEUS_URL`). */
export const PROMETHEUS_RELEASE = 'prometheus';
/** Prometheus' namespace. */
export const PROMETHEUS_NAMESPACE = PROMETHEUS_SERVER_NAMESPACE;

/**
 * How often every target is scraped. The autoscaling window (60 s by default, a multiple of 10 s)
 * averages the samples in it, and scale-from-zero waits for the next one: at the chart's 1 m a window
 * would hold a single sample. docs/kubernetes-objects.md relies on this value.
 */
export const SCRAPE_INTERVAL = '10s';

/** Options of Prometheus. */
export interface PrometheusOptions extends HelmAddonOptions {
  /**
   * How long samples are kept (a Prometheus duration). They serve the autoscaler (minutes) and
   * `cortex get` (recent figures); long-term metrics belong in a managed store.
   * @default '2d'
   */
  readonly retention?: string;
}

/** Props of {@link Prometheus}. */
export interface PrometheusProps extends PrometheusOptions {
  /** The cluster to install Prometheus on. */
  readonly cluster: eks.ICluster;
}

/**
 * The prometheus-community `prometheus` chart, server only (release `prometheus` in `prometheus`,
 * reachable at `DEFAULT_PROMETHEUS_URL`), scraping every 10 s with the chart's `kubernetes-pods` job,
 * which keeps pods annotated `prometheus.io/scrape: "true"`: the APIs' proxies and the gateway.
 */
export class Prometheus extends Construct {
  /** The release. */
  public readonly chart: eks.HelmChart;
  /** The server's in-cluster URL. */
  public readonly url: string = DEFAULT_PROMETHEUS_URL;

  constructor(scope: Construct, id: string, props: PrometheusProps) {
    super(scope, id);
    const retention = props.retention ?? '2d';
    checkPrometheusDuration('prometheus.retention', retention);
    this.chart = addonChart(this, 'Resource', {
      cluster: props.cluster,
      source: CHARTS.prometheus,
      options: props,
      optionsPath: 'prometheus',
      release: PROMETHEUS_RELEASE,
      namespace: PROMETHEUS_NAMESPACE,
      values: prometheusValues(retention),
    });
  }
}

/**
 * The chart's values:
 * - server only: alertmanager, pushgateway, kube-state-metrics and node-exporter are off (nothing here
 *   uses them; CloudWatch Container Insights covers nodes);
 * - `scrape_interval` 10 s (see {@link SCRAPE_INTERVAL});
 * - storage on an `emptyDir` (no PersistentVolume: EKS has no default StorageClass and no EBS CSI driver
 *   unless installed; the data is short-lived autoscaling signal, rebuilt within a window after a
 *   restart), bounded by `retentionSize` below the volume's `sizeLimit`;
 * - requests and a memory limit, so the server is scheduled with room and cannot starve a node;
 * - the per-API recording rules (`cortex_api:*`: request rates by status class, p50/p99 latency, in-flight
 *   requests, queue length), which the CloudWatch add-on's per-API metrics agent federates (api-metrics.ts).
 *   They go in the chart's `recording_rules.yml`, which its default `prometheus.yml` already loads.
 */
export function prometheusValues(retention: string): HelmValues {
  return {
    alertmanager: { enabled: false },
    'prometheus-pushgateway': { enabled: false },
    'kube-state-metrics': { enabled: false },
    'prometheus-node-exporter': { enabled: false },
    server: {
      global: { scrape_interval: SCRAPE_INTERVAL, evaluation_interval: '1m' },
      retention,
      retentionSize: '6GB',
      persistentVolume: { enabled: false },
      emptyDir: { sizeLimit: '8Gi' },
      resources: { requests: { cpu: '250m', memory: '1Gi' }, limits: { memory: '2Gi' } },
    },
    serverFiles: { 'recording_rules.yml': apiRecordingRules() },
  };
}
