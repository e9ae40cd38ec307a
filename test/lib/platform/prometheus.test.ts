import { Template } from 'aws-cdk-lib/assertions';
import { DEFAULT_PROMETHEUS_URL } from '../../../constructs/names';
import { API_METRIC_RULES, apiRecordingRules } from '../../../lib/platform/api-metrics';
import { PROMETHEUS_NAMESPACE, PROMETHEUS_RELEASE, Prometheus } from '../../../lib/platform/prometheus';
import { helmRelease, helmValues, importedCluster, newStack } from './fixtures';

describe('Prometheus', () => {
  // GIVEN Prometheus with its defaults, synthesized once
  const stack = newStack();
  const prometheus = new Prometheus(stack, 'Prometheus', { cluster: importedCluster(stack) });
  const template = Template.fromStack(stack);
  const values = helmValues(template, 'prometheus');

  test('prometheus-community prometheus 29.27.0, release prometheus in prometheus', () => {
    expect(helmRelease(template, 'prometheus').properties).toMatchObject({
      Chart: 'prometheus',
      Repository: 'https://prometheus-community.github.io/helm-charts',
      Version: '29.27.0',
      Namespace: 'prometheus',
    });
  });

  test('the server is where the charts and KEDA look for it', () => {
    expect(`http://${PROMETHEUS_RELEASE}-server.${PROMETHEUS_NAMESPACE}.svc.cluster.local`).toBe(DEFAULT_PROMETHEUS_URL);
    expect(prometheus.url).toBe(DEFAULT_PROMETHEUS_URL);
  });

  test('server only', () => {
    expect(values.alertmanager).toEqual({ enabled: false });
    expect(values['prometheus-pushgateway']).toEqual({ enabled: false });
    expect(values['kube-state-metrics']).toEqual({ enabled: false });
    expect(values['prometheus-node-exporter']).toEqual({ enabled: false });
  });

  test('scrapes every 10 s', () => {
    expect(values.server.global.scrape_interval).toBe('10s');
  });

  test('modest retention on an emptyDir, bounded in size', () => {
    expect(values.server.retention).toBe('2d');
    expect(values.server.retentionSize).toBe('6GB');
    expect(values.server.persistentVolume).toEqual({ enabled: false });
    expect(values.server.emptyDir).toEqual({ sizeLimit: '8Gi' });
  });

  test('requests and a memory limit', () => {
    expect(values.server.resources).toEqual({ requests: { cpu: '250m', memory: '1Gi' }, limits: { memory: '2Gi' } });
  });

  test('the chart default kubernetes-pods scrape job is left on (it honours the prometheus.io annotations)', () => {
    expect(values).not.toHaveProperty('scrapeConfigs');
    // Only the recording rules file: the chart's prometheus.yml (its scrape jobs, its rule_files) stays.
    expect(Object.keys(values.serverFiles)).toEqual(['recording_rules.yml']);
  });

  test('the per-API recording rules, which the CloudWatch per-API metrics agent federates', () => {
    expect(values.serverFiles['recording_rules.yml']).toEqual(apiRecordingRules());
    const [group] = values.serverFiles['recording_rules.yml'].groups;
    expect(group.interval).toBe('30s');
    expect(group.rules.map((r: { record: string }) => r.record)).toEqual(API_METRIC_RULES.map((r) => r.record));
  });

  test('retention and values are overridable', () => {
    const other = newStack();
    new Prometheus(other, 'Prometheus', {
      cluster: importedCluster(other),
      retention: '7d',
      values: { server: { persistentVolume: { enabled: true, storageClass: 'gp3' } } },
    });
    const v = helmValues(Template.fromStack(other), 'prometheus');
    expect(v.server.retention).toBe('7d');
    expect(v.server.persistentVolume).toEqual({ enabled: true, storageClass: 'gp3' });
    expect(v.server.global.scrape_interval).toBe('10s');
  });

  test('refuses a retention that is not a Prometheus duration', () => {
    const other = newStack();
    expect(() => new Prometheus(other, 'Prometheus', { cluster: importedCluster(other), retention: '2 days' })).toThrow(
      /prometheus\.retention \("2 days"\) must be a Prometheus duration/,
    );
  });
});
