import { API_KIND_LABEL, API_NAME_LABEL, TrafficSplitterChart, TrafficSplitterChartProps } from '../../constructs';
import { CortexValidationError } from '../../lib/config/errors';
import { KubeObject, only, synth, trafficSplitter } from './fixtures';

function render(props: TrafficSplitterChartProps): KubeObject[] {
  return synth((app) => new TrafficSplitterChart(app, props.splitter.name, props));
}

describe('TrafficSplitterChart', () => {
  test('GIVEN weighted targets WHEN rendered THEN one VirtualService with weighted routes to their Services', () => {
    // GIVEN
    const splitter = trafficSplitter([{ name: 'iris-onnx', weight: 30 }, { name: 'iris-pytorch', weight: 70 }], { name: 'iris' });
    // WHEN
    const objects = render({ splitter });
    // THEN
    expect(objects).toHaveLength(1);
    const vs = only(objects, 'VirtualService');
    expect(vs.apiVersion).toBe('networking.istio.io/v1');
    expect(vs.metadata).toMatchObject({
      name: 'iris',
      namespace: 'cortex',
      labels: { [API_NAME_LABEL]: 'iris', [API_KIND_LABEL]: 'TrafficSplitter' },
    });
    expect(vs.spec.http[0].route).toEqual([
      { destination: { host: 'iris-onnx.cortex.svc.cluster.local', port: { number: 80 } }, weight: 30 },
      { destination: { host: 'iris-pytorch.cortex.svc.cluster.local', port: { number: 80 } }, weight: 70 },
    ]);
    expect(vs.spec.http[0].mirror).toBeUndefined();
  });

  test('same gateway, match, rewrite, timeout and no-retry style as an API', () => {
    const splitter = trafficSplitter([{ name: 'a', weight: 100 }], { name: 'split', networking: { endpoint: '/split', timeoutSeconds: 45 } });
    const vs = only(render({ splitter }), 'VirtualService');
    expect(vs.spec.gateways).toEqual(['istio-system/apis-gateway']);
    expect(vs.spec.hosts).toEqual(['*']);
    expect(vs.spec.http[0]).toMatchObject({
      match: [{ uri: { exact: '/split' } }, { uri: { prefix: '/split/' } }],
      rewrite: { uri: '/' },
      retries: { attempts: 0 },
      timeout: '45s',
    });
  });

  test('GIVEN a shadow target WHEN rendered THEN it is a mirror at its weight, not a route', () => {
    const splitter = trafficSplitter([
      { name: 'a', weight: 50 },
      { name: 'b', weight: 50 },
      { name: 'shadow', weight: 20, shadow: true },
    ]);
    const http = only(render({ splitter }), 'VirtualService').spec.http[0];
    expect(http.route.map((r: KubeObject) => r.destination.host)).toEqual(['a.cortex.svc.cluster.local', 'b.cortex.svc.cluster.local']);
    expect(http.mirror).toEqual({ host: 'shadow.cortex.svc.cluster.local', port: { number: 80 } });
    expect(http.mirrorPercentage).toEqual({ value: 20 });
  });

  test('GIVEN a namespace WHEN rendered THEN the VirtualService and the target hosts are in it', () => {
    const vs = only(render({ splitter: trafficSplitter([{ name: 'a', weight: 100 }]), namespace: 'ml' }), 'VirtualService');
    expect(vs.metadata.namespace).toBe('ml');
    expect(vs.spec.http[0].route[0].destination.host).toBe('a.ml.svc.cluster.local');
  });

  test('validation: namespace, name, at least one non-shadow target, at most one shadow', () => {
    const ok = trafficSplitter([{ name: 'a', weight: 100 }]);
    expect(() => render({ splitter: ok, namespace: 'Bad' })).toThrow(/namespace \("Bad"\)/);
    expect(() => render({ splitter: { ...ok, name: 'Bad_Name' } })).toThrow(/splitter\.name/);
    expect(() => render({ splitter: trafficSplitter([{ name: 's', weight: 10, shadow: true }]) })).toThrow(CortexValidationError);
    expect(() =>
      render({
        splitter: trafficSplitter([
          { name: 'a', weight: 100 },
          { name: 's1', weight: 10, shadow: true },
          { name: 's2', weight: 10, shadow: true },
        ]),
      }),
    ).toThrow(/s1, s2\) may have at most one shadow/);
  });
});
