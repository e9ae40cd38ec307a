import { Duration } from 'aws-cdk-lib';
import * as eks from 'aws-cdk-lib/aws-eks-v2';
import { Construct } from 'constructs';
import { isMapping } from '../config/describe-value';
import { checkChartVersion } from './validation';
import { ChartSource } from './versions';

/** A chart's values, as its `values.yaml` would hold them. */
export type HelmValues = Record<string, unknown>;

/** What every add-on installed from a Helm chart lets the user change. */
export interface HelmAddonOptions {
  /**
   * The chart version, exact: the platform pins what it installs, so Helm ranges are refused.
   * @default - the version cortex-cdk pins for this add-on (see docs/platform.md)
   */
  readonly version?: string;
  /**
   * Where to pull the chart from, e.g. a mirror: an `https://` Helm repository, or the `oci://`
   * reference of the chart itself.
   * @default - the chart's upstream repository
   */
  readonly repository?: string;
  /**
   * Chart values deep-merged over the platform's: mappings merge key by key; anything else (a list,
   * a scalar, `null`) replaces ours. `null` removes a chart default, as it does in Helm.
   * @default - the platform's values only
   */
  readonly values?: HelmValues;
}

/**
 * `override` deep-merged over `base`: mappings merge key by key, everything else in `override`
 * (lists, scalars, `null`, CDK tokens) replaces; `undefined` leaves `base`'s value. Neither input is changed.
 */
export function mergeValues(base: HelmValues, override?: HelmValues): HelmValues {
  if (override === undefined) {
    return base;
  }
  const merged: HelmValues = { ...base };
  for (const [key, value] of Object.entries(override)) {
    if (value === undefined) {
      continue;
    }
    const current = merged[key];
    merged[key] = isMapping(current) && isMapping(value) ? mergeValues(current, value) : value;
  }
  return merged;
}

/** How long a release that waits for its pods may take (image pulls on fresh nodes). */
export const WAIT_TIMEOUT = Duration.minutes(10);

/** Props of {@link addonChart}. */
export interface AddonChartProps {
  readonly cluster: eks.ICluster;
  /** The pinned chart. */
  readonly source: ChartSource;
  /** The user's overrides. */
  readonly options: HelmAddonOptions;
  /** The options' path in the props, for messages: `keda`. */
  readonly optionsPath: string;
  readonly release: string;
  readonly namespace: string;
  /** The platform's values, before the user's. */
  readonly values: HelmValues;
  /**
   * Wait for the release's pods to be ready (charts whose webhooks or CRDs later manifests need).
   * @default false
   */
  readonly wait?: boolean;
}

/** The HelmChart of an add-on: pinned source, user overrides applied, version checked. */
export function addonChart(scope: Construct, id: string, props: AddonChartProps): eks.HelmChart {
  const version = props.options.version ?? props.source.version;
  checkChartVersion(`${props.optionsPath}.version`, version);
  const wait = props.wait ?? false;
  return new eks.HelmChart(scope, id, {
    cluster: props.cluster,
    repository: props.options.repository ?? props.source.repository,
    chart: props.source.chart,
    version,
    release: props.release,
    namespace: props.namespace,
    createNamespace: true,
    values: mergeValues(props.values, props.options.values),
    wait,
    timeout: wait ? WAIT_TIMEOUT : undefined,
  });
}
