import { DEFAULT_GATEWAY_URL, NEURON_SCHEDULER_NAME, PYTHON_PREDICTOR_IMAGE_PLACEHOLDER, SPEC_HASH_ANNOTATION } from '../../constructs/names';
import { drainPlan } from '../../constructs/drain';
import { PodTemplateOptions, renderPodTemplate, runtimeDrainTimeoutSeconds } from '../../constructs/pod-template';
import { RealtimeApiSpec } from '../../lib/config/types';
import { KubeObject, compute, container, predictorApi, realtimeApi } from './fixtures';

function options(api: RealtimeApiSpec, overrides: Partial<PodTemplateOptions> = {}): PodTemplateOptions {
  return {
    api,
    proxyImage: 'example.com/proxy:1',
    predictorImage: PYTHON_PREDICTOR_IMAGE_PLACEHOLDER,
    gatewayUrl: DEFAULT_GATEWAY_URL,
    neuronSchedulerName: NEURON_SCHEDULER_NAME,
    ...overrides,
  };
}

function template(api: RealtimeApiSpec, overrides: Partial<PodTemplateOptions> = {}): KubeObject {
  return renderPodTemplate(options(api, overrides)).template as KubeObject;
}

describe('renderPodTemplate', () => {
  test('the hash annotation holds the returned hash', () => {
    const rendered = renderPodTemplate(options(realtimeApi()));
    expect((rendered.template as KubeObject).metadata.annotations[SPEC_HASH_ANNOTATION]).toBe(rendered.specHash);
  });

  test('the user containers come first, the proxy last', () => {
    const api = realtimeApi({ pod: { containers: [container({ name: 'a' }), container({ name: 'b' })] } });
    expect(template(api).spec.containers.map((c: KubeObject) => c.name)).toEqual(['a', 'b', 'proxy']);
  });

  test('GIVEN two containers with shm THEN one memory volume each, mounted only in its container', () => {
    const api = realtimeApi({
      pod: {
        containers: [
          container({ name: 'a', compute: compute({ shm: '1Gi' }) }),
          container({ name: 'b', compute: compute({ shm: '256Mi' }) }),
        ],
      },
    });
    const spec = template(api).spec;
    expect(spec.volumes).toEqual([
      { name: 'mnt', emptyDir: {} },
      { name: 'shm-0', emptyDir: { medium: 'Memory', sizeLimit: '1Gi' } },
      { name: 'shm-1', emptyDir: { medium: 'Memory', sizeLimit: '256Mi' } },
    ]);
    expect(spec.containers[0].volumeMounts).toContainEqual({ name: 'shm-0', mountPath: '/dev/shm' });
    expect(spec.containers[1].volumeMounts).toContainEqual({ name: 'shm-1', mountPath: '/dev/shm' });
    expect(spec.containers[2].volumeMounts).toEqual([{ name: 'mnt', mountPath: '/mnt' }]);
  });

  test('GIVEN a predictor-form API THEN the ConfigMap data is returned and the runtime container gets the mount', () => {
    const rendered = renderPodTemplate(options(predictorApi()));
    expect(Object.keys(rendered.predictorConfigMapData!)).toEqual(['predictor.json']);
    const runtime = (rendered.template as KubeObject).spec.containers[0];
    expect(runtime.volumeMounts).toContainEqual({ name: 'predictor-config', mountPath: '/etc/cortex', readOnly: true });
  });

  test('GIVEN a predictor-form API with a sidecar of the user THEN only the api container is the runtime', () => {
    const api = predictorApi({}, { pod: { containers: [container({ name: 'api' }), container({ name: 'helper', image: 'example.com/helper:1' })] } });
    const [runtime, helper] = template(api, { predictorImage: 'example.com/runtime:1' }).spec.containers;
    expect(runtime.image).toBe('example.com/runtime:1');
    expect(helper.image).toBe('example.com/helper:1');
    expect(helper.env.map((e: KubeObject) => e.name)).not.toContain('CORTEX_PREDICTOR_CONFIG');
  });

  test('GIVEN a container-form API THEN predictorImage is never used', () => {
    expect(template(realtimeApi(), { predictorImage: 'example.com/runtime:1' }).spec.containers[0].image).toBe('example.com/iris:1.0');
  });

  test('the Neuron scheduler only for pods that ask for Neuron devices', () => {
    expect(template(realtimeApi()).spec.schedulerName).toBeUndefined();
    const inf = realtimeApi({ pod: { containers: [container({ name: 'a' }), container({ name: 'rtd', compute: compute({ inf: 1 }) })] } });
    expect(template(inf).spec.schedulerName).toBe(NEURON_SCHEDULER_NAME);
  });

  test('GIVEN empty node_groups THEN no affinity', () => {
    expect(template(realtimeApi({ nodeGroups: [] })).spec.affinity).toBeUndefined();
  });

  test('GIVEN a gateway timeout change THEN the drain timings and the hash change', () => {
    const a = renderPodTemplate(options(realtimeApi({ networking: { timeoutSeconds: 600 } })));
    const b = renderPodTemplate(options(realtimeApi({ networking: { timeoutSeconds: 20 } })));
    expect(b.drain.userPreStopSleepSeconds).toBeLessThan(a.drain.userPreStopSleepSeconds);
    expect(b.specHash).not.toBe(a.specHash);
  });

  test('GIVEN networking.auth.api_keys THEN the Secret is a volume mounted read-only in the proxy only, which reads it', () => {
    // GIVEN
    const api = realtimeApi({ networking: { auth: { apiKeys: { secret: 'iris-keys' } } } });
    // WHEN
    const spec = template(api).spec;
    // THEN
    expect(spec.volumes).toContainEqual({ name: 'api-keys', secret: { secretName: 'iris-keys', items: [{ key: 'sha256', path: 'sha256' }] } });
    const [user, proxy] = spec.containers;
    expect(proxy.volumeMounts).toContainEqual({ name: 'api-keys', mountPath: '/etc/cortex/api-keys', readOnly: true });
    expect(user.volumeMounts.map((m: KubeObject) => m.name)).not.toContain('api-keys');
    expect(proxy.args.join(' ')).toContain('--api-keys-file /etc/cortex/api-keys/sha256 --api-name iris');
  });

  test('GIVEN a predictor-form API with api keys THEN the same mount in the proxy, not in the runtime', () => {
    const api = { ...predictorApi(), networking: { endpoint: '/iris', timeoutSeconds: 600, auth: { apiKeys: { secret: 'k' } } } };
    const containers: KubeObject[] = template(api).spec.containers;
    expect(containers.find((c) => c.name === 'proxy')?.volumeMounts).toContainEqual({ name: 'api-keys', mountPath: '/etc/cortex/api-keys', readOnly: true });
    expect(containers.filter((c) => c.name !== 'proxy').flatMap((c) => c.volumeMounts ?? []).map((m: KubeObject) => m.name)).not.toContain('api-keys');
  });

  test('GIVEN API keys on or off, or another Secret THEN the hash changes; the Secret\'s content is not in it (keys rotate without a rollout)', () => {
    const off = renderPodTemplate(options(realtimeApi()));
    const on = renderPodTemplate(options(realtimeApi({ networking: { auth: { apiKeys: { secret: 'a' } } } })));
    const other = renderPodTemplate(options(realtimeApi({ networking: { auth: { apiKeys: { secret: 'b' } } } })));
    expect(new Set([off.specHash, on.specHash, other.specHash]).size).toBe(3);
  });

  test('GIVEN Secret-backed variables THEN secretKeyRefs after the literals, each in file order; another Secret or key changes the hash', () => {
    // GIVEN
    const withRefs = (key: string) =>
      realtimeApi({
        pod: {
          containers: [container({ env: { B: 'b', A: 'a' }, secretEnv: { Z_KEY: { secret: 'keys', key }, CORTEX_API_KEY: { secret: 'client', key: 'key' } } })],
        },
      });
    // WHEN
    const rendered = renderPodTemplate(options(withRefs('z')));
    // THEN
    const env: KubeObject[] = (rendered.template as KubeObject).spec.containers[0].env;
    expect(env.map((e) => e.name).slice(-4)).toEqual(['B', 'A', 'Z_KEY', 'CORTEX_API_KEY']);
    expect(env.slice(-2).map((e) => e.valueFrom)).toEqual([
      { secretKeyRef: { name: 'keys', key: 'z', optional: false } },
      { secretKeyRef: { name: 'client', key: 'key', optional: false } },
    ]);
    expect(renderPodTemplate(options(withRefs('y'))).specHash).not.toBe(rendered.specHash);
    expect(renderPodTemplate(options(realtimeApi({ pod: { containers: [container({ env: { B: 'b', A: 'a' } })] } }))).specHash).not.toBe(rendered.specHash);
  });

  test('GIVEN a spec with a name in both env and secretEnv THEN it is refused, naming the variable', () => {
    const api = realtimeApi({ pod: { containers: [container({ name: 'api', env: { K: 'x' }, secretEnv: { K: { secret: 's', key: 'k' } } })] } });
    expect(() => renderPodTemplate(options(api))).toThrow('iris: container api: K is in both env and secretEnv; set each variable in one of them');
  });

  test('GIVEN only the endpoint changes THEN the hash does not (routing does not shape the pods)', () => {
    const a = renderPodTemplate(options(realtimeApi()));
    const b = renderPodTemplate(options(realtimeApi({ networking: { endpoint: '/v2/iris' } })));
    expect(b.specHash).toBe(a.specHash);
  });
});

describe('runtimeDrainTimeoutSeconds', () => {
  test('networking.timeout, unless less of the grace period is left after the runtime\'s preStop sleep', () => {
    // 600 s: grace 620, SIGTERM at 15 + 45 = 60 s, 5 s to exit: 555 s left
    expect(runtimeDrainTimeoutSeconds(600, drainPlan(600))).toBe(555);
    // 10 s: grace 60, SIGTERM at 25 s: 30 s left, but no request outlives 10 s
    expect(runtimeDrainTimeoutSeconds(10, drainPlan(10))).toBe(10);
    // 40 s: grace 60, SIGTERM at 55 s: at least 1 s
    expect(runtimeDrainTimeoutSeconds(40, drainPlan(40))).toBe(1);
  });
});
