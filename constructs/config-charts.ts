import { App, Chart } from 'cdk8s';
import { Construct } from 'constructs';
import type { ApiSpec, CortexConfig, RealtimeApiSpec } from '../lib/config/types';
import { scaleToZeroTargets } from './cold-start';
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
 * name as its id, under `scope`. The CLI (`cortex manifests`) and the CDK stack both render through
 * {@link configCharts}, so they produce exactly the same objects.
 */
export function addConfigCharts(scope: Construct, config: CortexConfig, options: ConfigChartsOptions = {}): Chart[] {
  const atZero = scaleToZeroTargets(realtimeApis(config));
  return config.specs.map((spec) => addSpecChart(scope, spec, options, atZero));
}

/**
 * Like {@link addConfigCharts}, but each chart in a cdk8s App of its own. `Chart.toJson()` validates
 * and resolves its whole App, so 1,000 charts sharing one App cost a million chart visits; alone,
 * rendering stays linear in the number of APIs.
 */
export function configCharts(config: CortexConfig, options: ConfigChartsOptions = {}): Chart[] {
  const atZero = scaleToZeroTargets(realtimeApis(config));
  return config.specs.map((spec) => addSpecChart(new App(), spec, options, atZero));
}

function realtimeApis(config: CortexConfig): RealtimeApiSpec[] {
  return config.specs.filter((spec): spec is RealtimeApiSpec => spec.kind === 'RealtimeAPI');
}

function addSpecChart(scope: Construct, spec: ApiSpec, options: ConfigChartsOptions, atZero: Record<string, number>): Chart {
  const { predictorImages = {}, ...chartOptions } = options;
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
    scaleToZeroTargets: atZero,
    coldStart: chartOptions.coldStart,
    labels: chartOptions.labels,
    disableResourceNameHashes: chartOptions.disableResourceNameHashes,
  });
}
