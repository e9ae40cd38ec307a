import { App } from 'cdk8s';
import { RealtimeApiChart, TrafficSplitterChart, addConfigCharts, configCharts } from '../../constructs';
import { CortexConfig, RealtimeApiSpec, TrafficSplitterSpec } from '../../lib/config/types';
import { KubeObject, predictorApi, realtimeApi, trafficSplitter } from './fixtures';

function config(...specs: Array<RealtimeApiSpec | TrafficSplitterSpec>): CortexConfig {
  return {
    file: 'cortex.yaml',
    specs,
    apis: specs.filter((s): s is RealtimeApiSpec => s.kind === 'RealtimeAPI'),
    splitters: specs.filter((s): s is TrafficSplitterSpec => s.kind === 'TrafficSplitter'),
  };
}

function deploymentImage(objects: KubeObject[]): string {
  return objects.find((o) => o.kind === 'Deployment')!.spec.template.spec.containers[0].image;
}

describe('addConfigCharts', () => {
  test('GIVEN APIs and a splitter WHEN added THEN one chart each, in file order, with the spec name as id', () => {
    // GIVEN
    const cfg = config(realtimeApi({ name: 'b' }), trafficSplitter([{ name: 'b', weight: 100 }], { name: 'split' }), realtimeApi({ name: 'a' }));
    // WHEN
    const charts = addConfigCharts(new App(), cfg);
    // THEN
    expect(charts.map((c) => c.node.id)).toEqual(['b', 'split', 'a']);
    expect(charts[0]).toBeInstanceOf(RealtimeApiChart);
    expect(charts[1]).toBeInstanceOf(TrafficSplitterChart);
    expect(charts[2]).toBeInstanceOf(RealtimeApiChart);
  });

  test('GIVEN options WHEN added THEN every chart gets them (namespace, proxy image)', () => {
    const cfg = config(realtimeApi({ name: 'a' }), trafficSplitter([{ name: 'a', weight: 100 }], { name: 'split' }));
    const objects = addConfigCharts(new App(), cfg, { namespace: 'ml', proxyImage: 'example.com/proxy:9' }).flatMap((c) => c.toJson());
    expect(objects.every((o) => o.metadata.namespace === 'ml')).toBe(true);
    const proxy = objects.find((o) => o.kind === 'Deployment').spec.template.spec.containers.find((c: KubeObject) => c.name === 'proxy');
    expect(proxy.image).toBe('example.com/proxy:9');
  });

  test('GIVEN per-API predictor images WHEN added THEN each predictor API runs its own, others the default', () => {
    const cfg = config(predictorApi({}, { name: 'p1' }), predictorApi({}, { name: 'p2' }));
    const [p1, p2] = addConfigCharts(new App(), cfg, {
      predictorImage: 'example.com/runtime:default',
      predictorImages: { p1: 'example.com/runtime:p1' },
    }).map((c) => c.toJson());
    expect(deploymentImage(p1)).toBe('example.com/runtime:p1');
    expect(deploymentImage(p2)).toBe('example.com/runtime:default');
  });

  test('GIVEN the same config twice WHEN rendered THEN identical objects (CLI and CDK agree)', () => {
    const cfg = config(realtimeApi({ name: 'a' }), predictorApi({}, { name: 'p' }), trafficSplitter([{ name: 'a', weight: 100 }]));
    const first = addConfigCharts(new App(), cfg).flatMap((c) => c.toJson());
    const second = addConfigCharts(new App(), cfg).flatMap((c) => c.toJson());
    expect(second).toEqual(first);
  });
});

describe('configCharts', () => {
  test('GIVEN a config WHEN rendered THEN each chart stands in an App of its own, with the same objects as addConfigCharts', () => {
    // GIVEN
    const cfg = config(realtimeApi({ name: 'a' }), predictorApi({}, { name: 'p' }), trafficSplitter([{ name: 'a', weight: 100 }], { name: 'split' }));
    // WHEN
    const charts = configCharts(cfg, { namespace: 'ml' });
    // THEN
    expect(charts.map((c) => c.node.id)).toEqual(['a', 'p', 'split']);
    expect(new Set(charts.map((c) => c.node.scope)).size).toBe(3);
    expect(charts.flatMap((c) => c.toJson())).toEqual(addConfigCharts(new App(), cfg, { namespace: 'ml' }).flatMap((c) => c.toJson()));
  });
});
