import {
  COLD_START_ROUTE_HEADER,
  DEFAULT_COLD_START_ROUTING,
  RealtimeApiChart,
  RealtimeApiChartOptions,
  TrafficSplitterChart,
  scaleToZeroTargets,
} from '../../constructs';
import { RealtimeApiSpec } from '../../lib/config/types';
import { validateObjects } from '../schema/validate';
import { problemsOf, realtimeSpecOf } from '../lib/config/config-fixtures';
import { KubeObject, only, realtimeApi, synth, trafficSplitter } from './fixtures';

function render(api: RealtimeApiSpec, options: RealtimeApiChartOptions = {}): KubeObject[] {
  return synth((app) => new RealtimeApiChart(app, api.name, { ...options, api }));
}

const INTERCEPTOR = { host: 'keda-add-ons-http-interceptor-proxy.keda.svc.cluster.local', port: { number: 8080 } };
const SERVICE = { host: 'iris.cortex.svc.cluster.local', port: { number: 80 } };
const atZero = (overrides: Partial<RealtimeApiSpec['autoscaling']> = {}) => realtimeApi({ autoscaling: { minReplicas: 0, ...overrides } });

/** The CRD's CEL rules (x-kubernetes-validations), which no schema validator here evaluates. */
function celProblems(route: KubeObject): string[] {
  const problems: string[] = [];
  const { target, scalingMetric, coldStart, rules } = route.spec;
  if ((target.port === undefined) === (target.portName === undefined)) problems.push("target: exactly one of 'port' or 'portName' must be set");
  if (scalingMetric.concurrency === undefined && scalingMetric.requestRate === undefined) problems.push('scalingMetric: one of concurrency, requestRate');
  if (coldStart !== undefined && coldStart.fallback === undefined && coldStart.placeholder === undefined) problems.push('coldStart: fallback or placeholder');
  for (const rule of rules ?? []) {
    for (const header of rule.headers ?? []) if (!header.name) problems.push('rules[].headers[].name: minLength 1');
  }
  return problems;
}

describe('cold starts that wait (min_replicas 0, through the KEDA HTTP add-on)', () => {
  const objects = render(atZero());

  test('an InterceptorRoute named as the API: its header → its Service port 80, concurrency target from target_in_flight, the cold-start wait', () => {
    const route = only(objects, 'InterceptorRoute');
    expect(route.apiVersion).toBe('http.keda.sh/v1beta1');
    expect(route.metadata).toMatchObject({ name: 'iris', namespace: 'cortex' });
    expect(route.spec).toEqual({
      target: { service: 'iris', port: 80 },
      rules: [{ hosts: ['apis.cortex.internal'], headers: [{ name: 'x-cortex-api', value: 'cortex/iris' }] }],
      scalingMetric: { concurrency: { targetValue: 1 } },
      timeouts: { readiness: '600s', request: '0s', responseHeader: '0s' },
    });
    expect(celProblems(route)).toEqual([]);
  });

  test('the gateway routes to the interceptor, setting the route header; the timeout is networking.timeout + cold_start_timeout', () => {
    const http = only(objects, 'VirtualService').spec.http[0];
    expect(http.route).toEqual([{ destination: INTERCEPTOR, headers: { request: { set: { [COLD_START_ROUTE_HEADER]: 'cortex/iris' } } } }]);
    expect(http.timeout).toBe('1200s');
    expect(http.retries).toEqual({ attempts: 0 });
    // The client's Host is replaced: the interceptor looks exact hosts up first, so a client naming another
    // InterceptorRoute's host in the cluster would otherwise be forwarded there.
    expect(http.rewrite).toEqual({ uri: '/', authority: 'apis.cortex.internal' });
  });

  test('the ScaledObject reads the held requests through the add-on scaler (external-push), beside in-flight and gateway activity', () => {
    const so = only(objects, 'ScaledObject');
    expect(so.spec.minReplicaCount).toBe(0);
    expect(so.spec.triggers.map((t: KubeObject) => t.name)).toEqual(['in-flight', 'held-requests', 'gateway-activity']);
    expect(so.spec.triggers[1]).toEqual({
      type: 'external-push',
      name: 'held-requests',
      metadata: { scalerAddress: 'keda-add-ons-http-external-scaler.keda:9090', interceptorRoute: 'iris' },
    });
  });

  test("the interceptor's pods may reach the proxy port, beside the gateway's", () => {
    const rule = only(objects, 'NetworkPolicy').spec.ingress[0];
    expect(rule.ports).toEqual([{ protocol: 'TCP', port: 8888 }]);
    expect(rule.from).toEqual([
      { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'istio-system' } }, podSelector: { matchLabels: { istio: 'apis-gateway' } } },
      {
        namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'keda' } },
        podSelector: { matchLabels: { 'app.kubernetes.io/component': 'interceptor', 'app.kubernetes.io/name': 'http-add-on' } },
      },
    ]);
  });

  test('every other object is schema-valid (the InterceptorRoute is checked against its CRD in CI: scripts/check-cortex-configs.js)', () => {
    expect(validateObjects(objects.filter((o) => o.kind !== 'InterceptorRoute'))).toEqual([]);
  });

  test('GIVEN a fractional target and cold_start_timeout 90 s THEN the concurrency target rounds up and the waits follow', () => {
    const api = atZero({ targetInFlight: 2.5, coldStartTimeoutSeconds: 90 });
    const rendered = render(api);
    expect(only(rendered, 'InterceptorRoute').spec).toMatchObject({
      scalingMetric: { concurrency: { targetValue: 3 } },
      timeouts: { readiness: '90s' },
    });
    expect(only(rendered, 'VirtualService').spec.http[0].timeout).toBe('690s');
  });

  test('GIVEN fractional networking.timeout and cold_start_timeout THEN the route timeout is their exact sum (no binary noise)', () => {
    const api = realtimeApi({ networking: { ...realtimeApi().networking, timeoutSeconds: 0.1 }, autoscaling: { minReplicas: 0, coldStartTimeoutSeconds: 2.2 } });
    expect(only(render(api), 'VirtualService').spec.http[0].timeout).toBe('2.3s');
  });

  test('GIVEN the same API name in two namespaces THEN their route keys differ', () => {
    const a = only(render(atZero(), { namespace: 'team-a' }), 'InterceptorRoute');
    const b = only(render(atZero(), { namespace: 'team-b' }), 'InterceptorRoute');
    expect([a.spec.rules[0].headers[0].value, b.spec.rules[0].headers[0].value]).toEqual(['team-a/iris', 'team-b/iris']);
  });

  test('GIVEN min_replicas 1 THEN today\'s direct path: no InterceptorRoute, the route to the Service, the in-flight trigger alone, the gateway alone at the proxy port', () => {
    const direct = render(realtimeApi());
    expect(direct.filter((o) => o.kind === 'InterceptorRoute')).toEqual([]);
    const http = only(direct, 'VirtualService').spec.http[0];
    expect(http.route).toEqual([{ destination: SERVICE }]);
    expect(http.timeout).toBe('600s');
    expect(http.rewrite).toEqual({ uri: '/' });
    expect(only(direct, 'ScaledObject').spec.triggers.map((t: KubeObject) => t.name)).toEqual(['in-flight']);
    expect(only(direct, 'NetworkPolicy').spec.ingress[0].from).toHaveLength(1);
  });

  test('GIVEN coldStart false (no add-on) THEN a scale-to-zero API is routed directly and woken by gateway activity', () => {
    const direct = render(atZero(), { coldStart: false });
    expect(direct.filter((o) => o.kind === 'InterceptorRoute')).toEqual([]);
    expect(only(direct, 'VirtualService').spec.http[0]).toMatchObject({ route: [{ destination: SERVICE }], timeout: '600s' });
    expect(only(direct, 'ScaledObject').spec.triggers.map((t: KubeObject) => t.name)).toEqual(['in-flight', 'gateway-activity']);
  });

  test('GIVEN an add-on installed elsewhere THEN its Service, scaler and pods are the ones used', () => {
    const routing = {
      interceptorHost: 'interceptor.http-add-on.svc.cluster.local',
      interceptorPort: 9091,
      scalerAddress: 'scaler.http-add-on:9090',
      interceptorPeer: { namespace: 'http-add-on', podLabels: { app: 'interceptor' } },
    };
    const rendered = render(atZero(), { coldStart: routing });
    expect(only(rendered, 'VirtualService').spec.http[0].route[0].destination).toEqual({ host: routing.interceptorHost, port: { number: 9091 } });
    expect(only(rendered, 'ScaledObject').spec.triggers[1].metadata.scalerAddress).toBe('scaler.http-add-on:9090');
    expect(only(rendered, 'NetworkPolicy').spec.ingress[0].from[1].podSelector).toEqual({ matchLabels: { app: 'interceptor' } });
  });

  test('a TrafficSplitter routes its scale-to-zero targets through the interceptor, the others directly, mirrors directly; its timeout covers the longest wait', () => {
    const apis = [atZero({ coldStartTimeoutSeconds: 120 }), realtimeApi({ name: 'warm' }), realtimeApi({ name: 'shadow', autoscaling: { minReplicas: 0 } })];
    const splitter = trafficSplitter([
      { name: 'iris', weight: 50 },
      { name: 'warm', weight: 50 },
      { name: 'shadow', weight: 10, shadow: true },
    ]);
    const targets = scaleToZeroTargets(apis);
    expect(targets).toEqual({ iris: 120, shadow: 600 });
    const http = only(synth((app) => new TrafficSplitterChart(app, 'split', { splitter, scaleToZeroTargets: targets })), 'VirtualService').spec.http[0];
    expect(http.route).toEqual([
      { destination: INTERCEPTOR, headers: { request: { set: { 'x-cortex-api': 'cortex/iris' } } }, weight: 50 },
      { destination: { host: 'warm.cortex.svc.cluster.local', port: { number: 80 } }, weight: 50 },
    ]);
    expect(http.mirror).toEqual({ host: 'shadow.cortex.svc.cluster.local', port: { number: 80 } });
    expect(http.timeout).toBe('720s');
    expect(http.rewrite).toEqual({ uri: '/', authority: 'apis.cortex.internal' });
    const direct = only(synth((app) => new TrafficSplitterChart(app, 'split', { splitter, scaleToZeroTargets: targets, coldStart: false })), 'VirtualService');
    expect(direct.spec.http[0].route[0].destination.host).toBe('iris.cortex.svc.cluster.local');
  });

  test('GIVEN an add-on address no VirtualService or ScaledObject can carry THEN synth says which, before any deploy', () => {
    const bad = (change: Record<string, unknown>) => () => render(atZero(), { coldStart: { ...DEFAULT_COLD_START_ROUTING, ...change } });
    expect(bad({ interceptorPort: 70000 })).toThrow('coldStart.interceptorPort (70000) must be an integer from 1 to 65535');
    expect(bad({ interceptorHost: 'Interceptor_Proxy' })).toThrow(/coldStart\.interceptorHost \("Interceptor_Proxy"\) must be a DNS-1123 subdomain/);
    expect(bad({ scalerAddress: 'scaler.keda' })).toThrow(/coldStart\.scalerAddress \("scaler\.keda"\) must be HOST:PORT/);
    expect(bad({ interceptorPeer: { namespace: 'keda', podLabels: {} } })).toThrow(/coldStart\.interceptorPeer\.podLabels \(\{\}\) must name at least one label/);
    const splitter = trafficSplitter([{ name: 'iris', weight: 100 }]);
    expect(() => synth((app) => new TrafficSplitterChart(app, 'split', { splitter, coldStart: { ...DEFAULT_COLD_START_ROUTING, interceptorPort: 0 } }))).toThrow(
      'coldStart.interceptorPort (0) must be an integer from 1 to 65535',
    );
    // A min_replicas >= 1 API renders as before whatever the add-on, as long as its address is one.
    expect(() => render(realtimeApi(), { coldStart: DEFAULT_COLD_START_ROUTING })).not.toThrow();
  });

  test('DEFAULT_COLD_START_ROUTING: the chart keda-add-ons-http in keda, as the platform installs it', () => {
    expect(DEFAULT_COLD_START_ROUTING).toEqual({
      interceptorHost: 'keda-add-ons-http-interceptor-proxy.keda.svc.cluster.local',
      interceptorPort: 8080,
      scalerAddress: 'keda-add-ons-http-external-scaler.keda:9090',
      interceptorPeer: { namespace: 'keda', podLabels: { 'app.kubernetes.io/component': 'interceptor', 'app.kubernetes.io/name': 'http-add-on' } },
    });
  });
});

describe('autoscaling.cold_start_timeout in a cortex.yaml', () => {
  const api = (autoscaling: string) => `- name: hello
  kind: RealtimeAPI
  pod:
    containers:
    - name: api
      image: example/hello:1
  autoscaling:
${autoscaling}`;

  test('GIVEN min_replicas 0 THEN the default is 10 minutes; a duration sets it', () => {
    expect(problemsOf(api('    min_replicas: 0\n    cold_start_timeout: 90s\n'))).toEqual([]);
    expect(realtimeSpecOf([{ name: 'hello', kind: 'RealtimeAPI', pod: { containers: [{ name: 'api', image: 'example/hello:1' }] }, autoscaling: { min_replicas: 0 } }], 'hello').autoscaling.coldStartTimeoutSeconds).toBe(600);
    expect(realtimeSpecOf([{ name: 'hello', kind: 'RealtimeAPI', pod: { containers: [{ name: 'api', image: 'example/hello:1' }] }, autoscaling: { min_replicas: 0, cold_start_timeout: '2m' } }], 'hello').autoscaling.coldStartTimeoutSeconds).toBe(120);
    expect(realtimeSpecOf([{ name: 'hello', kind: 'RealtimeAPI', pod: { containers: [{ name: 'api', image: 'example/hello:1' }] } }], 'hello').autoscaling.coldStartTimeoutSeconds).toBeUndefined();
  });

  test('GIVEN min_replicas >= 1 THEN setting it is an error naming the line, the field and the way out', () => {
    expect(problemsOf(api('    min_replicas: 2\n    cold_start_timeout: 90s\n'))).toEqual([
      'cortex.yaml:9:5: hello.autoscaling.cold_start_timeout: only applies with min_replicas: 0 (requests wait for a first replica); min_replicas is 2: remove cold_start_timeout or set min_replicas to 0',
    ]);
  });

  test('GIVEN no min_replicas THEN the message says 1 is the default', () => {
    expect(problemsOf(api('    cold_start_timeout: 90s\n'))).toEqual([
      'cortex.yaml:8:5: hello.autoscaling.cold_start_timeout: only applies with min_replicas: 0 (requests wait for a first replica); min_replicas is 1 (the default): remove cold_start_timeout or set min_replicas to 0',
    ]);
  });

  test('GIVEN a wait out of 1s – 20m THEN an error with the value and the bound', () => {
    expect(problemsOf(api('    min_replicas: 0\n    cold_start_timeout: 30m\n'))).toEqual([
      'cortex.yaml:9:25: hello.autoscaling.cold_start_timeout: must be at most 20m, got "30m"',
    ]);
    expect(problemsOf(api('    min_replicas: 0\n    cold_start_timeout: 0s\n'))[0]).toMatch(/cold_start_timeout: must be at least 1s, got "0s"/);
  });
});
