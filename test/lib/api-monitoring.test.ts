import * as cdk from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as sns from 'aws-cdk-lib/aws-sns';
import {
  ALARMS_TEMPLATE_BYTES,
  ApiAccelerator,
  ApiMonitoring,
  DASHBOARD_TEMPLATE_BYTES,
  apiAccelerator,
  checkErrorRatePercent,
  checkLatencyP99,
  checkNoReadyReplicasFor,
  type ApiMonitoringProps,
} from '../../lib/api-monitoring';
import { configFromObject } from '../../lib/config';
import { CortexValidationError } from '../../lib/errors';

const API = { apiName: 'iris', namespace: 'cortex', clusterName: 'models' };
const REQUEST_DIMENSIONS = [
  { Name: 'ApiName', Value: 'iris' },
  { Name: 'ClusterName', Value: 'models' },
  { Name: 'Namespace', Value: 'cortex' },
];
const INSIGHTS_DIMENSIONS = [
  { Name: 'ClusterName', Value: 'models' },
  { Name: 'Namespace', Value: 'cortex' },
  { Name: 'PodName', Value: 'iris' },
];

/** A stack holding one ApiMonitoring, and its template. */
function monitored(props: Partial<ApiMonitoringProps> = {}): { stack: cdk.Stack; monitoring: ApiMonitoring; template: Template } {
  const stack = new cdk.Stack(new cdk.App(), 'Test');
  const monitoring = new ApiMonitoring(stack, 'Monitoring', { ...API, ...props });
  return { stack, monitoring, template: Template.fromStack(stack) };
}

/** The one alarm whose logical id starts with `prefix`. */
function alarm(template: Template, prefix: string): Record<string, any> {
  const found = Object.entries(template.findResources('AWS::CloudWatch::Alarm')).filter(([id]) => id.startsWith(prefix));
  expect(found).toHaveLength(1);
  return found[0][1].Properties;
}

/** The metric (by id) of a metric-math alarm's `Metrics`. */
function metricById(properties: Record<string, any>, id: string): Record<string, any> {
  return properties.Metrics.find((m: { Id: string }) => m.Id === id);
}

/** A dashboard body (a string or an `Fn::Join`), parsed, each reference shown as `<LogicalId>`. */
function dashboardBody(template: Template): { widgets: Array<Record<string, any>> } {
  const [dashboard] = Object.values(template.findResources('AWS::CloudWatch::Dashboard'));
  const body = dashboard.Properties.DashboardBody;
  if (typeof body === 'string') return JSON.parse(body);
  const [separator, parts] = body['Fn::Join'] as [string, unknown[]];
  return JSON.parse(
    parts
      .map((p) => {
        if (typeof p === 'string') return p;
        const ref = p as Record<string, any>;
        return ref.Ref !== undefined ? `<${ref.Ref}>` : `<${ref['Fn::GetAtt'].join('.')}>`;
      })
      .join(separator),
  );
}

function widget(body: { widgets: Array<Record<string, any>> }, title: string): Record<string, any> {
  const found = body.widgets.find((w) => w.properties.title === title);
  expect(found).toBeDefined();
  return found!.properties;
}

describe('ApiMonitoring with its defaults', () => {
  // GIVEN the monitoring of an API with no options, synthesized once
  const { monitoring, template } = monitored();

  test('three alarms, no dashboard', () => {
    template.resourceCountIs('AWS::CloudWatch::Alarm', 3);
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 0);
    expect(monitoring.dashboard).toBeUndefined();
    expect(monitoring.resourceCount).toBe(3);
  });

  test('5XX: more than 5% of requests over 3 of 5 minutes; no requests is not breaching', () => {
    const p = alarm(template, 'MonitoringErrorRate');
    expect(p).toMatchObject({
      Threshold: 5,
      ComparisonOperator: 'GreaterThanThreshold',
      EvaluationPeriods: 5,
      DatapointsToAlarm: 3,
      TreatMissingData: 'notBreaching',
    });
    const expression = p.Metrics.find((m: { Expression?: string }) => m.Expression !== undefined);
    expect(expression).toMatchObject({ Expression: 'IF(requests > 0, 100 * FILL(errors, 0) / requests, 0)', ReturnData: true });
    expect(metricById(p, 'requests')).toEqual({
      Id: 'requests',
      ReturnData: false,
      MetricStat: { Metric: { Namespace: 'Cortex', MetricName: 'RequestsPerSecond', Dimensions: REQUEST_DIMENSIONS }, Period: 60, Stat: 'Average' },
    });
    expect(metricById(p, 'errors').MetricStat).toEqual({
      Metric: { Namespace: 'Cortex', MetricName: 'Requests5XXPerSecond', Dimensions: REQUEST_DIMENSIONS },
      Period: 60,
      Stat: 'Average',
    });
  });

  test('latency: the minute p99 above 5 s over 3 of 5 minutes; no requests is not breaching', () => {
    expect(alarm(template, 'MonitoringLatencyP99')).toMatchObject({
      Namespace: 'Cortex',
      MetricName: 'LatencyP99',
      Dimensions: REQUEST_DIMENSIONS,
      Statistic: 'Maximum',
      Period: 60,
      Threshold: 5,
      ComparisonOperator: 'GreaterThanThreshold',
      EvaluationPeriods: 5,
      DatapointsToAlarm: 3,
      TreatMissingData: 'notBreaching',
    });
  });

  test('no ready replicas: replicas asked for and none ready for 5 minutes, from Container Insights; missing data is missing', () => {
    const p = alarm(template, 'MonitoringNoReadyReplicas');
    expect(p).toMatchObject({
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      EvaluationPeriods: 5,
      DatapointsToAlarm: 5,
      TreatMissingData: 'missing',
    });
    const expression = p.Metrics.find((m: { Expression?: string }) => m.Expression !== undefined);
    expect(expression.Expression).toBe('IF(desired > 0 AND ready < 1, 1, 0)');
    expect(metricById(p, 'desired').MetricStat).toEqual({
      Metric: { Namespace: 'ContainerInsights', MetricName: 'replicas_desired', Dimensions: INSIGHTS_DIMENSIONS },
      Period: 60,
      Stat: 'Maximum',
    });
    expect(metricById(p, 'ready').MetricStat).toEqual({
      Metric: { Namespace: 'ContainerInsights', MetricName: 'replicas_ready', Dimensions: INSIGHTS_DIMENSIONS },
      Period: 60,
      Stat: 'Minimum',
    });
  });

  test('no notifications without a topic', () => {
    for (const props of Object.values(template.findResources('AWS::CloudWatch::Alarm')).map((r) => r.Properties)) {
      expect(props.AlarmActions).toBeUndefined();
      expect(props.OKActions).toBeUndefined();
      expect(props.InsufficientDataActions).toBeUndefined();
    }
  });

  test('descriptions say which API, where, and what', () => {
    expect(alarm(template, 'MonitoringErrorRate').AlarmDescription).toBe(
      'iris (in cortex on models): more than 5% of requests answered with a 5XX',
    );
    expect(alarm(template, 'MonitoringLatencyP99').AlarmDescription).toBe('iris (in cortex on models): p99 latency above 5 seconds');
    expect(alarm(template, 'MonitoringNoReadyReplicas').AlarmDescription).toBe(
      'iris (in cortex on models): replicas asked for, none ready, for 5 minutes',
    );
  });
});

describe('ApiMonitoring with a topic, thresholds and a dashboard', () => {
  // GIVEN a topic and every option set, synthesized once
  const stack = new cdk.Stack(new cdk.App(), 'Test');
  const topic = new sns.Topic(stack, 'Topic');
  const monitoring = new ApiMonitoring(stack, 'Monitoring', {
    ...API,
    alarmTopic: topic,
    dashboard: true,
    errorRatePercent: 1.5,
    latencyP99: cdk.Duration.millis(250),
    noReadyReplicasFor: cdk.Duration.minutes(10),
    accelerator: ApiAccelerator.GPU,
  });
  const template = Template.fromStack(stack);
  const topicRef = { Ref: stack.getLogicalId(topic.node.defaultChild as sns.CfnTopic) };
  const body = dashboardBody(template);

  test('every alarm notifies the topic on ALARM and on OK', () => {
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')).map((r) => r.Properties);
    expect(alarms).toHaveLength(3);
    for (const props of alarms) {
      expect(props.AlarmActions).toEqual([topicRef]);
      expect(props.OKActions).toEqual([topicRef]);
    }
  });

  test('the thresholds given', () => {
    expect(alarm(template, 'MonitoringErrorRate').Threshold).toBe(1.5);
    expect(alarm(template, 'MonitoringLatencyP99').Threshold).toBe(0.25);
    expect(alarm(template, 'MonitoringNoReadyReplicas')).toMatchObject({ EvaluationPeriods: 10, DatapointsToAlarm: 10 });
    expect(monitoring.errorRatePercent).toBe(1.5);
    expect(monitoring.latencyP99.toMilliseconds()).toBe(250);
  });

  test('one dashboard: a header, six graphs and the alarms', () => {
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    expect(monitoring.resourceCount).toBe(4);
    expect(body.widgets.map((w) => w.type)).toEqual(['text', 'metric', 'metric', 'metric', 'metric', 'metric', 'metric', 'alarm']);
    expect(body.widgets[0].properties.markdown).toMatch(/^# iris\nRealtimeAPI in namespace `cortex` of cluster `models`/);
  });

  test('requests by status class, from the per-API metrics', () => {
    expect(widget(body, 'Requests per second').metrics).toEqual([
      ['Cortex', 'RequestsPerSecond', 'ApiName', 'iris', 'ClusterName', 'models', 'Namespace', 'cortex', { label: 'All', period: 60 }],
      ['Cortex', 'Requests4XXPerSecond', 'ApiName', 'iris', 'ClusterName', 'models', 'Namespace', 'cortex', { label: '4XX', period: 60 }],
      ['Cortex', 'Requests5XXPerSecond', 'ApiName', 'iris', 'ClusterName', 'models', 'Namespace', 'cortex', { label: '5XX', period: 60 }],
    ]);
  });

  test('the 5XX rate and the latency, each with its alarm threshold', () => {
    const errors = widget(body, '5XX (% of requests)');
    expect(errors.metrics[0]).toEqual([{ expression: 'IF(requests > 0, 100 * FILL(errors, 0) / requests, 0)', label: '5XX (% of requests)', period: 60 }]);
    expect(errors.annotations.horizontal).toEqual([{ value: 1.5, label: 'Alarm', yAxis: 'left' }]);
    const latency = widget(body, 'Latency (seconds)');
    expect(latency.metrics.map((m: unknown[]) => m[1])).toEqual(['LatencyP50', 'LatencyP99']);
    expect(latency.metrics.map((m: unknown[]) => (m[m.length - 1] as { stat: string }).stat)).toEqual(['Maximum', 'Maximum']);
    expect(latency.annotations.horizontal).toEqual([{ value: 0.25, label: 'p99 alarm', yAxis: 'left' }]);
  });

  test('in-flight and queued requests, replicas, and utilisation with the GPU', () => {
    expect(widget(body, 'In-flight and queued requests').metrics.map((m: unknown[]) => m[1])).toEqual(['InFlightRequests', 'QueueLength']);
    expect(widget(body, 'Replicas').metrics).toEqual([
      ['ContainerInsights', 'replicas_desired', 'ClusterName', 'models', 'Namespace', 'cortex', 'PodName', 'iris', { label: 'Desired', period: 60, stat: 'Maximum' }],
      ['ContainerInsights', 'replicas_ready', 'ClusterName', 'models', 'Namespace', 'cortex', 'PodName', 'iris', { label: 'Ready', period: 60, stat: 'Minimum' }],
    ]);
    expect(widget(body, 'Utilisation (%)').metrics.map((m: unknown[]) => m[1])).toEqual([
      'pod_cpu_utilization',
      'pod_memory_utilization',
      'pod_gpu_utilization',
    ]);
  });

  test('the alarms widget shows the three alarms', () => {
    const alarms = body.widgets[body.widgets.length - 1].properties.alarms as string[];
    expect(alarms).toHaveLength(3);
    for (const a of monitoring.alarms) {
      expect(alarms).toContain(`<${stack.getLogicalId(a.node.defaultChild as cdk.CfnElement)}.Arn>`);
    }
  });
});

describe('ApiMonitoring dashboards by accelerator', () => {
  test.each([
    [ApiAccelerator.NONE, ['pod_cpu_utilization', 'pod_memory_utilization']],
    [ApiAccelerator.NEURON, ['pod_cpu_utilization', 'pod_memory_utilization', 'pod_neuroncore_utilization']],
  ])('%s', (accelerator, metrics) => {
    const { template } = monitored({ dashboard: true, accelerator });
    expect(widget(dashboardBody(template), 'Utilisation (%)').metrics.map((m: unknown[]) => m[1])).toEqual(metrics);
  });

  test.each([
    [{}, ApiAccelerator.NONE],
    [{ gpu: 1 }, ApiAccelerator.GPU],
    [{ inf: 1 }, ApiAccelerator.NEURON],
  ])('apiAccelerator of compute %j: %s', (compute, expected) => {
    const [api] = configFromObject([{ name: 'a', kind: 'RealtimeAPI', pod: { containers: [{ name: 'api', image: 'example.com/a:1', compute }] } }]).apis;
    expect(apiAccelerator(api)).toBe(expected);
  });
});

describe('ApiMonitoring on a cluster whose name is a reference', () => {
  test('the dimensions carry the reference; the template stays within the budgets CortexApis counts', () => {
    // GIVEN the longest API name and a cluster name known at deploy time only
    const stack = new cdk.Stack(new cdk.App(), 'Test');
    const clusterName = new cdk.CfnParameter(stack, 'ClusterName').valueAsString;
    // WHEN
    new ApiMonitoring(stack, 'Monitoring', {
      apiName: 'a'.repeat(63),
      namespace: 'b'.repeat(63),
      clusterName,
      dashboard: true,
      accelerator: ApiAccelerator.GPU,
      alarmTopic: new sns.Topic(stack, 'Topic'),
    });
    // THEN
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Dimensions: Match.arrayWith([{ Name: 'ClusterName', Value: { Ref: 'ClusterName' } }]),
    });
    // As the synthesized template file holds them (indented by one space per level).
    const size = (type: string) =>
      Object.entries(template.findResources(type)).reduce((sum, [id, r]) => sum + JSON.stringify({ [id]: r }, undefined, 1).length, 0);
    expect(size('AWS::CloudWatch::Alarm')).toBeLessThanOrEqual(ALARMS_TEMPLATE_BYTES);
    expect(size('AWS::CloudWatch::Dashboard')).toBeLessThanOrEqual(DASHBOARD_TEMPLATE_BYTES);
  });
});

describe('ApiMonitoring validation', () => {
  test.each([0, -1, 100, 150, Number.NaN])('errorRatePercent %p is refused', (value) => {
    expect(() => checkErrorRatePercent(value)).toThrow(CortexValidationError);
    expect(() => checkErrorRatePercent(value)).toThrow(/monitoring\.errorRatePercent \(.*\) must be a percentage above 0 and below 100/);
  });

  test.each([0.1, 5, 99.9])('errorRatePercent %p is accepted', (value) => {
    expect(() => checkErrorRatePercent(value)).not.toThrow();
  });

  test('latencyP99: above 0, at most the gateway timeout', () => {
    expect(() => checkLatencyP99(cdk.Duration.millis(0))).toThrow(/monitoring\.latencyP99 \(0 millis\) must be above 0 and at most 10 minutes/);
    expect(() => checkLatencyP99(cdk.Duration.minutes(11))).toThrow(/monitoring\.latencyP99 \(11 minutes\)/);
    expect(() => checkLatencyP99(cdk.Duration.millis(1))).not.toThrow();
    expect(() => checkLatencyP99(cdk.Duration.minutes(10))).not.toThrow();
  });

  test('noReadyReplicasFor: whole minutes from 1 to a day, known at synth', () => {
    expect(checkNoReadyReplicasFor(cdk.Duration.minutes(1))).toBe(1);
    expect(checkNoReadyReplicasFor(cdk.Duration.hours(24))).toBe(1440);
    expect(() => checkNoReadyReplicasFor(cdk.Duration.seconds(90))).toThrow(
      /monitoring\.noReadyReplicasFor \(1 minute 30 seconds\) must be whole minutes, from 1 minute to 1 day/,
    );
    expect(() => checkNoReadyReplicasFor(cdk.Duration.seconds(30))).toThrow(/must be whole minutes/);
    expect(() => checkNoReadyReplicasFor(cdk.Duration.days(2))).toThrow(/must be whole minutes/);
    const stack = new cdk.Stack();
    const minutes = cdk.Duration.minutes(new cdk.CfnParameter(stack, 'M', { type: 'Number' }).valueAsNumber);
    expect(() => checkNoReadyReplicasFor(minutes)).toThrow(/monitoring\.noReadyReplicasFor \(a token\) must be known at synth/);
  });

  test('the construct checks its props', () => {
    expect(() => monitored({ errorRatePercent: 100 })).toThrow(/errorRatePercent \(100\)/);
    expect(() => monitored({ noReadyReplicasFor: cdk.Duration.seconds(30) })).toThrow(/noReadyReplicasFor/);
  });
});
