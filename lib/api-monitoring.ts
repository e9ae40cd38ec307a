import * as cdk from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cw_actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import type { RealtimeApiSpec } from './config';
import { CortexValidationError } from './errors';
import { API_METRICS_NAMESPACE, API_METRIC_NAMES } from './platform/api-metrics';

/** Container Insights' namespace: pod, replica and accelerator metrics of the add-on's default agent. */
export const CONTAINER_INSIGHTS_NAMESPACE = 'ContainerInsights';

/** Every alarm evaluates one-minute periods (the resolution of both metric sources). */
export const ALARM_PERIOD = cdk.Duration.minutes(1);
/** The 5XX and latency alarms look at the last five minutes... */
export const ALARM_EVALUATION_PERIODS = 5;
/** ...and fire when three of them breach: a sustained problem, not one slow minute. */
export const ALARM_DATAPOINTS_TO_ALARM = 3;

/** @default of {@link ApiMonitoringOptions.errorRatePercent}. */
export const DEFAULT_ERROR_RATE_PERCENT = 5;
/** @default of {@link ApiMonitoringOptions.latencyP99}. */
export const DEFAULT_LATENCY_P99 = cdk.Duration.seconds(5);
/** @default of {@link ApiMonitoringOptions.noReadyReplicasFor}. */
export const DEFAULT_NO_READY_REPLICAS_FOR = cdk.Duration.minutes(5);
/** CloudWatch evaluates at most a day of periods. */
export const MAX_NO_READY_REPLICAS_MINUTES = 24 * 60;

/**
 * What {@link ApiMonitoring} adds to its stack's template, for the nested stacks' budgets (CortexApis):
 * upper bounds of the synthesized JSON, measured on the longest API names and with token cluster names
 * (test/lib/api-monitoring.test.ts keeps them honest).
 */
export const ALARMS_TEMPLATE_BYTES = 6_000;
export const DASHBOARD_TEMPLATE_BYTES = 8_000;

/** The accelerator an API's pods use: which utilisation the dashboard shows beside CPU and memory. */
export enum ApiAccelerator {
  /** CPU only. */
  NONE = 'none',
  /** NVIDIA GPUs (Container Insights' `pod_gpu_utilization`, from the add-on's DCGM exporter). */
  GPU = 'gpu',
  /** AWS Inferentia/Trainium (Container Insights' `pod_neuroncore_utilization`, from its Neuron monitor). */
  NEURON = 'neuron',
}

/** The accelerator of a spec: GPU or Neuron when any container asks for one. */
export function apiAccelerator(api: RealtimeApiSpec): ApiAccelerator {
  const computes = api.pod.containers.map((c) => c.compute);
  if (computes.some((c) => c.gpu > 0)) return ApiAccelerator.GPU;
  if (computes.some((c) => c.inf > 0)) return ApiAccelerator.NEURON;
  return ApiAccelerator.NONE;
}

/** Which API a set of metrics is about. */
export interface ApiMetricsProps {
  /** The API's name (its Deployment's name, and the `ApiName` dimension). */
  readonly apiName: string;
  /** The API's Kubernetes namespace. */
  readonly namespace: string;
  /** The EKS cluster's name; may be a token. */
  readonly clusterName: string;
}

/**
 * The CloudWatch metrics of one API, at one-minute resolution:
 * - request figures, namespace `Cortex`, dimensions `ClusterName`/`Namespace`/`ApiName` — what the platform's
 *   per-API metrics agent publishes (CloudWatchObservability `apiMetrics`, docs/platform.md);
 * - replicas, CPU, memory, GPU and NeuronCore utilisation, namespace `ContainerInsights`, dimensions
 *   `ClusterName`/`Namespace`/`PodName` — what enhanced Container Insights collects (for a Deployment's
 *   pods and for the Deployment itself, `PodName` is the Deployment's name: the API's).
 */
export class ApiMetrics {
  constructor(public readonly props: ApiMetricsProps) {}

  /** Requests answered per second, any status. */
  public requestsPerSecond(options?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.request(API_METRIC_NAMES.requestsPerSecond, 'Average', options);
  }

  /** Requests answered with a 4XX per second (499: the client left first). */
  public requests4xxPerSecond(options?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.request(API_METRIC_NAMES.requests4xxPerSecond, 'Average', options);
  }

  /** Requests answered with a 5XX per second (503 included: the proxy's queue was full). */
  public requests5xxPerSecond(options?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.request(API_METRIC_NAMES.requests5xxPerSecond, 'Average', options);
  }

  /** The share of requests answered with a 5XX, in percent; 0 in a minute without requests. */
  public errorRatePercent(options?: { label?: string; period?: cdk.Duration }): cloudwatch.MathExpression {
    return new cloudwatch.MathExpression({
      expression: 'IF(requests > 0, 100 * FILL(errors, 0) / requests, 0)',
      usingMetrics: { requests: this.requestsPerSecond(), errors: this.requests5xxPerSecond() },
      label: options?.label ?? '5XX (% of requests)',
      period: options?.period ?? ALARM_PERIOD,
    });
  }

  /** The median latency over each minute, queueing in the proxy included. */
  public latencyP50(options?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.request(API_METRIC_NAMES.latencyP50, 'Maximum', options);
  }

  /** The 99th percentile latency over each minute, queueing in the proxy included. */
  public latencyP99(options?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.request(API_METRIC_NAMES.latencyP99, 'Maximum', options);
  }

  /** Requests in the proxies, queued plus active (the autoscaling signal), summed over the replicas. */
  public inFlightRequests(options?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.request(API_METRIC_NAMES.inFlightRequests, 'Average', options);
  }

  /** Requests waiting in the proxies for a slot, summed over the replicas. */
  public queueLength(options?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.request(API_METRIC_NAMES.queueLength, 'Average', options);
  }

  /** The Deployment's ready replicas (`status.readyReplicas`). */
  public readyReplicas(options?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.insights('replicas_ready', 'Minimum', options);
  }

  /** The replicas the Deployment asks for (`spec.replicas`, which the autoscaler sets). */
  public desiredReplicas(options?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.insights('replicas_desired', 'Maximum', options);
  }

  /** CPU used by the API's pods, percent of the node's capacity (Container Insights' definition). */
  public cpuUtilization(options?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.insights('pod_cpu_utilization', 'Average', options);
  }

  /** Memory used by the API's pods, percent of the node's capacity. */
  public memoryUtilization(options?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.insights('pod_memory_utilization', 'Average', options);
  }

  /** GPU utilisation of the API's pods, percent (DCGM, through Container Insights). */
  public gpuUtilization(options?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.insights('pod_gpu_utilization', 'Average', options);
  }

  /** NeuronCore utilisation of the API's pods, percent (Neuron monitor, through Container Insights). */
  public neuronCoreUtilization(options?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.insights('pod_neuroncore_utilization', 'Average', options);
  }

  /** A per-API request metric (namespace `Cortex`, the API as `ApiName`). */
  private request(metricName: string, statistic: string, options?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(API_METRICS_NAMESPACE, 'ApiName', metricName, statistic, options);
  }

  /** A Container Insights metric (the API's Deployment as `PodName`). */
  private insights(metricName: string, statistic: string, options?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(CONTAINER_INSIGHTS_NAMESPACE, 'PodName', metricName, statistic, options);
  }

  private metric(namespace: string, apiDimension: string, metricName: string, statistic: string, options?: cloudwatch.MetricOptions): cloudwatch.Metric {
    const { apiName, clusterName } = this.props;
    return new cloudwatch.Metric({
      namespace,
      metricName,
      dimensionsMap: { ClusterName: clusterName, Namespace: this.props.namespace, [apiDimension]: apiName },
      statistic,
      period: ALARM_PERIOD,
      ...options,
    });
  }
}

/** Options of {@link ApiMonitoring}, without the API (e.g. a RealtimeApi's or CortexApis' `monitoring`). */
export interface ApiMonitoringOptions {
  /**
   * The topic notified when an alarm goes to ALARM and back to OK.
   * @default - no notifications: the alarms show in the CloudWatch console (and `cortex get`) only
   */
  readonly alarmTopic?: sns.ITopic;
  /**
   * A CloudWatch dashboard for the API: requests by status class, 5XX rate, p50/p99 latency, in-flight and
   * queued requests, replicas, CPU/memory (and GPU or NeuronCore) utilisation, and the alarms. Each costs
   * $3 a month beyond the account's first three.
   * @default false
   */
  readonly dashboard?: boolean;
  /**
   * The share of requests answered with a 5XX, in percent, above which the 5XX alarm fires (3 of 5 minutes).
   * @default 5
   */
  readonly errorRatePercent?: number;
  /**
   * The p99 latency above which the latency alarm fires (3 of 5 minutes). Set it to the API's objective:
   * the default only catches a badly degraded API.
   * @default Duration.seconds(5)
   */
  readonly latencyP99?: cdk.Duration;
  /**
   * How long the Deployment may ask for replicas and have none ready before the alarm fires (whole minutes;
   * an API scaled to zero does not ask for any).
   * @default Duration.minutes(5)
   */
  readonly noReadyReplicasFor?: cdk.Duration;
}

/** Props of {@link ApiMonitoring}. */
export interface ApiMonitoringProps extends ApiMonitoringOptions, ApiMetricsProps {
  /**
   * The accelerator the API's pods use, for the dashboard's utilisation graph.
   * @default ApiAccelerator.NONE
   */
  readonly accelerator?: ApiAccelerator;
}

/**
 * CloudWatch alarms for one API — 5XX rate, p99 latency, no ready replicas — with an optional SNS topic
 * for their ALARM and OK transitions, and an optional dashboard. The request metrics come from the
 * platform's per-API metrics agent, the replicas from Container Insights (both installed by the
 * `amazon-cloudwatch-observability` add-on of a CortexPlatform; see docs/platform.md).
 *
 * Missing data: no requests means no latency and no 5XX datapoints, which is not an outage (not breaching);
 * a Deployment always reports its replicas, so their absence means Container Insights is not reporting —
 * the replicas alarm then goes to INSUFFICIENT_DATA rather than paging.
 */
export class ApiMonitoring extends Construct {
  /** The API's metrics. */
  public readonly metrics: ApiMetrics;
  /** The 5XX share of requests. */
  public readonly errorRateAlarm: cloudwatch.Alarm;
  /** The p99 latency. */
  public readonly latencyAlarm: cloudwatch.Alarm;
  /** Replicas asked for, none ready. */
  public readonly noReadyReplicasAlarm: cloudwatch.Alarm;
  /** The dashboard, when asked for. */
  public readonly dashboard?: cloudwatch.Dashboard;
  public readonly errorRatePercent: number;
  public readonly latencyP99: cdk.Duration;
  public readonly noReadyReplicasFor: cdk.Duration;

  constructor(scope: Construct, id: string, props: ApiMonitoringProps) {
    super(scope, id);
    this.errorRatePercent = props.errorRatePercent ?? DEFAULT_ERROR_RATE_PERCENT;
    this.latencyP99 = props.latencyP99 ?? DEFAULT_LATENCY_P99;
    this.noReadyReplicasFor = props.noReadyReplicasFor ?? DEFAULT_NO_READY_REPLICAS_FOR;
    checkErrorRatePercent(this.errorRatePercent);
    checkLatencyP99(this.latencyP99);
    const replicaMinutes = checkNoReadyReplicasFor(this.noReadyReplicasFor);

    this.metrics = new ApiMetrics(props);
    const api = props.apiName;
    const where = `in ${props.namespace} on ${props.clusterName}`;

    this.errorRateAlarm = new cloudwatch.Alarm(this, 'ErrorRate', {
      alarmDescription: `${api} (${where}): more than ${this.errorRatePercent}% of requests answered with a 5XX`,
      metric: this.metrics.errorRatePercent(),
      threshold: this.errorRatePercent,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: ALARM_EVALUATION_PERIODS,
      datapointsToAlarm: ALARM_DATAPOINTS_TO_ALARM,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.latencyAlarm = new cloudwatch.Alarm(this, 'LatencyP99', {
      alarmDescription: `${api} (${where}): p99 latency above ${this.latencyP99.toHumanString()}`,
      metric: this.metrics.latencyP99(),
      threshold: this.latencyP99.toMilliseconds() / 1000,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: ALARM_EVALUATION_PERIODS,
      datapointsToAlarm: ALARM_DATAPOINTS_TO_ALARM,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.noReadyReplicasAlarm = new cloudwatch.Alarm(this, 'NoReadyReplicas', {
      alarmDescription: `${api} (${where}): replicas asked for, none ready, for ${replicaMinutes} minutes`,
      metric: new cloudwatch.MathExpression({
        expression: 'IF(desired > 0 AND ready < 1, 1, 0)',
        usingMetrics: { desired: this.metrics.desiredReplicas(), ready: this.metrics.readyReplicas() },
        label: 'Replicas asked for, none ready',
        period: ALARM_PERIOD,
      }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: replicaMinutes,
      datapointsToAlarm: replicaMinutes,
      treatMissingData: cloudwatch.TreatMissingData.MISSING,
    });

    if (props.alarmTopic !== undefined) {
      const action = new cw_actions.SnsAction(props.alarmTopic);
      for (const alarm of this.alarms) {
        alarm.addAlarmAction(action);
        alarm.addOkAction(action);
      }
    }
    if (props.dashboard ?? false) {
      this.dashboard = this.addDashboard(props);
    }
  }

  /** The three alarms. */
  public get alarms(): cloudwatch.Alarm[] {
    return [this.errorRateAlarm, this.latencyAlarm, this.noReadyReplicasAlarm];
  }

  /** How many resources this adds to its stack's template. */
  public get resourceCount(): number {
    return this.alarms.length + (this.dashboard === undefined ? 0 : 1);
  }

  /** An upper bound of the bytes this adds to its stack's template. */
  public get templateBytes(): number {
    return ALARMS_TEMPLATE_BYTES + (this.dashboard === undefined ? 0 : DASHBOARD_TEMPLATE_BYTES);
  }

  private addDashboard(props: ApiMonitoringProps): cloudwatch.Dashboard {
    const m = this.metrics;
    const accelerator = props.accelerator ?? ApiAccelerator.NONE;
    const utilization: cloudwatch.IMetric[] = [m.cpuUtilization({ label: 'CPU' }), m.memoryUtilization({ label: 'Memory' })];
    if (accelerator === ApiAccelerator.GPU) utilization.push(m.gpuUtilization({ label: 'GPU' }));
    if (accelerator === ApiAccelerator.NEURON) utilization.push(m.neuronCoreUtilization({ label: 'NeuronCore' }));
    const graph = (title: string, left: cloudwatch.IMetric[], extra: Partial<cloudwatch.GraphWidgetProps> = {}): cloudwatch.GraphWidget =>
      new cloudwatch.GraphWidget({ title, left, width: 8, height: 6, ...extra });

    const dashboard = new cloudwatch.Dashboard(this, 'Dashboard', { defaultInterval: cdk.Duration.hours(3) });
    dashboard.addWidgets(
      new cloudwatch.TextWidget({
        markdown: `# ${props.apiName}\nRealtimeAPI in namespace \`${props.namespace}\` of cluster \`${props.clusterName}\`. ` +
          'Request figures: namespace `Cortex`; replicas and utilisation: `ContainerInsights`.',
        width: 24,
        height: 2,
      }),
    );
    dashboard.addWidgets(
      graph('Requests per second', [
        m.requestsPerSecond({ label: 'All' }),
        m.requests4xxPerSecond({ label: '4XX' }),
        m.requests5xxPerSecond({ label: '5XX' }),
      ]),
      graph('5XX (% of requests)', [m.errorRatePercent()], {
        leftAnnotations: [{ value: this.errorRatePercent, label: 'Alarm' }],
        leftYAxis: { min: 0, max: 100 },
      }),
      graph('Latency (seconds)', [m.latencyP50({ label: 'p50' }), m.latencyP99({ label: 'p99' })], {
        leftAnnotations: [{ value: this.latencyP99.toMilliseconds() / 1000, label: 'p99 alarm' }],
        leftYAxis: { min: 0 },
      }),
    );
    dashboard.addWidgets(
      graph('In-flight and queued requests', [m.inFlightRequests({ label: 'In flight' }), m.queueLength({ label: 'Queued' })]),
      graph('Replicas', [m.desiredReplicas({ label: 'Desired' }), m.readyReplicas({ label: 'Ready' })], { leftYAxis: { min: 0 } }),
      graph('Utilisation (%)', utilization, { leftYAxis: { min: 0, max: 100 } }),
    );
    dashboard.addWidgets(new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: this.alarms, width: 24, height: 2 }));
    return dashboard;
  }
}

/** The 5XX threshold: a percentage above 0 and below 100 (an alarm at 100% could never fire). */
export function checkErrorRatePercent(value: number): void {
  if (cdk.Token.isUnresolved(value)) return;
  if (!Number.isFinite(value) || value <= 0 || value >= 100) {
    throw new CortexValidationError(`monitoring.errorRatePercent (${value}) must be a percentage above 0 and below 100`);
  }
}

/** The p99 threshold: positive, and at most the gateway's longest timeout (600 s). */
export function checkLatencyP99(value: cdk.Duration): void {
  if (value.isUnresolved()) return;
  const ms = value.toMilliseconds();
  if (ms <= 0 || ms > 600_000) {
    throw new CortexValidationError(`monitoring.latencyP99 (${value.toHumanString()}) must be above 0 and at most 10 minutes`);
  }
}

/** The no-ready-replicas window: whole minutes, 1 to a day. Returns the minutes. */
export function checkNoReadyReplicasFor(value: cdk.Duration): number {
  const what = `monitoring.noReadyReplicasFor (${value.isUnresolved() ? 'a token' : value.toHumanString()})`;
  if (value.isUnresolved()) {
    throw new CortexValidationError(`${what} must be known at synth: it sets the alarm's evaluation periods`);
  }
  const minutes = value.toMilliseconds() / 60_000;
  if (!Number.isInteger(minutes) || minutes < 1 || minutes > MAX_NO_READY_REPLICAS_MINUTES) {
    throw new CortexValidationError(`${what} must be whole minutes, from 1 minute to 1 day`);
  }
  return minutes;
}
