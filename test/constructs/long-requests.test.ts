import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { ENV_RUNTIME_REQUEST_TIMEOUT } from '../../constructs/pod-template';
import { PROXY_CONTAINER_NAME } from '../../constructs/proxy-sidecar';
import { RealtimeApiChart } from '../../constructs/realtime-api-chart';
import { MAX_NETWORKING_TIMEOUT_SECONDS } from '../../lib/config/defaults';
import {
  GATEWAY_TCP_KEEPALIVE_IDLE_SECONDS,
  GATEWAY_TCP_KEEPALIVE_INTERVAL_SECONDS,
  NLB_IDLE_TIMEOUT_SECONDS,
  keepaliveEnvoyFilter,
} from '../../lib/platform/apis-gateway';
import { UPSTREAM_TCP_KEEPALIVE, istiodValues } from '../../lib/platform/istio';
import { ISTIO_VERSION } from '../../lib/platform/versions';
import { KubeObject, containersByName, envOf, only, predictorApi, synth } from './fixtures';

/** Envoy's own stream idle timeout when nothing sets one: 5 minutes. */
const ENVOY_DEFAULT_STREAM_IDLE_TIMEOUT_SECONDS = 300;

/** The flag values of the proxy's command line, by flag. */
function flags(proxy: KubeObject): Record<string, string> {
  const args: string[] = proxy.args;
  return Object.fromEntries(args.flatMap((arg, i) => (arg.startsWith('--') && i + 1 < args.length ? [[arg, args[i + 1]]] : [])));
}

/** `600000ms` → 600. */
function seconds(flag: string): number {
  expect(flag).toMatch(/^\d+ms$/);
  return parseInt(flag, 10) / 1000;
}

/** Every hop's limit on one request, as rendered for an API with `networking.timeout` of `seconds`. */
function hops(timeoutSeconds: number) {
  const api = predictorApi({}, { networking: { timeoutSeconds } });
  const objects = synth((app) => new RealtimeApiChart(app, api.name, { api }));
  const deployment = only(objects, 'Deployment');
  const containers = containersByName(deployment);
  const proxy = flags(containers[PROXY_CONTAINER_NAME]);
  return {
    route: only(objects, 'VirtualService').spec.http[0].timeout as string,
    queue: seconds(proxy['--queue-timeout']),
    upstream: seconds(proxy['--upstream-timeout']),
    runtime: Number(envOf(containers.api).map[ENV_RUNTIME_REQUEST_TIMEOUT]),
    grace: deployment.spec.template.spec.terminationGracePeriodSeconds as number,
  };
}

describe('a 10-minute request: every hop follows networking.timeout', () => {
  test.each([600, 601, MAX_NETWORKING_TIMEOUT_SECONDS])('networking.timeout %ps: the route, the proxy and the runtime', (seconds) => {
    const h = hops(seconds);
    expect(h).toMatchObject({ route: `${seconds}s`, queue: seconds, upstream: seconds, runtime: seconds });
    // a pod that is told to stop lets its last admitted request run to the end
    expect(h.grace).toBeGreaterThan(seconds);
  });

  test('the gateway sets no stream idle timeout of its own: a response silent longer than Envoy\'s 5-minute default is cut by its route timeout only', () => {
    // Istio 1.30 builds every HTTP listener with stream_idle_timeout 0 (none) and gives routes no idle_timeout; from
    // Istio 1.31, ProxyConfig's connectionSettings (meshConfig.defaultConfig) can bring the EDGE profile's 300 s.
    expect(ISTIO_VERSION).toMatch(/^1\.30\./);
    expect(istiodValues().meshConfig).not.toHaveProperty('defaultConfig');
    expect(MAX_NETWORKING_TIMEOUT_SECONDS).toBeGreaterThan(ENVOY_DEFAULT_STREAM_IDLE_TIMEOUT_SECONDS);
  });

  test('no connection of the chain stays silent long enough for the load balancer or the VPC to forget it', () => {
    // client ↔ load balancer ↔ gateway: the gateway's keepalive probes; gateway ↔ the API's pod: istiod's mesh keepalive
    const filter = keepaliveEnvoyFilter() as KubeObject;
    expect(filter.spec.configPatches[0].patch.value.socket_options).toHaveLength(4);
    expect(GATEWAY_TCP_KEEPALIVE_IDLE_SECONDS).toBeLessThan(NLB_IDLE_TIMEOUT_SECONDS);
    expect(GATEWAY_TCP_KEEPALIVE_INTERVAL_SECONDS).toBeLessThan(NLB_IDLE_TIMEOUT_SECONDS);
    expect(parseInt(UPSTREAM_TCP_KEEPALIVE.time, 10)).toBeLessThan(NLB_IDLE_TIMEOUT_SECONDS);
    expect(parseInt(UPSTREAM_TCP_KEEPALIVE.interval, 10)).toBeLessThan(NLB_IDLE_TIMEOUT_SECONDS);
  });
});

describe('docs/timeouts-and-limits.md', () => {
  const doc = readFileSync(path.join(__dirname, '..', '..', 'docs', 'timeouts-and-limits.md'), 'utf8');

  test('names the longest request, the keepalive that carries it through the load balancer, and its sources', () => {
    expect(MAX_NETWORKING_TIMEOUT_SECONDS).toBe(3600);
    expect(doc).toContain('**at most 1 hour**');
    expect(doc).toContain(`${(keepaliveEnvoyFilter() as KubeObject).metadata.namespace}/${(keepaliveEnvoyFilter() as KubeObject).metadata.name}`);
    expect(doc).toContain(`after ${GATEWAY_TCP_KEEPALIVE_IDLE_SECONDS} s without a packet, then every ${GATEWAY_TCP_KEEPALIVE_INTERVAL_SECONDS} s`);
    expect(doc).toContain(`${NLB_IDLE_TIMEOUT_SECONDS} s of silence on the flow`);
    expect(doc).toContain('https://docs.aws.amazon.com/elasticloadbalancing/latest/network/update-idle-timeout.html');
    expect(doc).toContain('https://www.envoyproxy.io/docs/envoy/latest/faq/configuration/timeouts#stream-timeouts');
  });
});
