import { Chart } from 'cdk8s';
import { Construct } from 'constructs';
import type { CortexConfig } from '../lib/config/types';
import { RealtimeApiChart, RealtimeApiChartOptions } from './realtime-api-chart';
import { TrafficSplitterChart } from './traffic-splitter-chart';

/** Options of {@link addConfigCharts}: those of every RealtimeApiChart, plus per-API runtime images. */
export interface ConfigChartsOptions extends RealtimeApiChartOptions {
  /**
   * Predictor runtime images by API name (e.g. each predictor-form API's image built with its code);
   * an API not listed gets `predictorImage`.
   * @default {}
   */
  readonly predictorImages?: Readonly<Record<string, string>>;
}

/**
 * One chart per API and per traffic splitter of a cortex.yaml, in file order, each with the spec's
 * name as its id. The CLI (`cortex manifests`) and the CDK stack both render through this, so they
 * produce exactly the same objects.
 */
export function addConfigCharts(scope: Construct, config: CortexConfig, options: ConfigChartsOptions = {}): Chart[] {
  const { predictorImages = {}, ...chartOptions } = options;
  return config.specs.map((spec): Chart => {
    if (spec.kind === 'RealtimeAPI') {
      return new RealtimeApiChart(scope, spec.name, {
        ...chartOptions,
        predictorImage: predictorImages[spec.name] ?? chartOptions.predictorImage,
        api: spec,
      });
    }
    return new TrafficSplitterChart(scope, spec.name, {
      splitter: spec,
      namespace: chartOptions.namespace,
      labels: chartOptions.labels,
      disableResourceNameHashes: chartOptions.disableResourceNameHashes,
    });
  });
}
