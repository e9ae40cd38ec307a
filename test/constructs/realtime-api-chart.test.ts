import {
  API_KIND_LABEL,
  API_NAME_LABEL,
  DEFAULT_PROMETHEUS_URL,
  NEURON_SCHEDULER_NAME,
  NODE_GROUP_LABEL,
  PROXY_IMAGE_PLACEHOLDER,
  RealtimeApiChart,
  RealtimeApiChartOptions,
  SPEC_HASH_ANNOTATION,
  apiServiceAccountName,
} from '../../constructs';
import { parseConfig } from '../../lib/config';
import { CortexValidationError } from '../../lib/config/errors';
import { PYTHON_PREDICTOR_IMAGE_PLACEHOLDER } from '../../constructs/names';
import { RealtimeApiSpec } from '../../lib/config/types';
import {
  KubeObject,
  compute,
  container,
  containersByName,
  envOf,
  only,
  predictorApi,
  probe,
  realtimeApi,
  synth,
} from './fixtures';
import { validateObjects } from '../schema/validate';

function render(api: RealtimeApiSpec, options: RealtimeApiChartOptions = {}): KubeObject[] {
  return synth((app) => new RealtimeApiChart(app, api.name, { ...options, api }));
}

function synthChart(api: RealtimeApiSpec): RealtimeApiChart {
  let chart: RealtimeApiChart | undefined;
  synth((app) => (chart = new RealtimeApiChart(app, api.name, { api })));
  return chart!;
}

function deploymentOf(api: RealtimeApiSpec, options: RealtimeApiChartOptions = {}): KubeObject {
  return only(render(api, options), 'Deployment');
}

function podSpecOf(api: RealtimeApiSpec, options: RealtimeApiChartOptions = {}): KubeObject {
  return deploymentOf(api, options).spec.template.spec;
}

function specHashOf(api: RealtimeApiSpec, options: RealtimeApiChartOptions = {}): string {
  return deploymentOf(api, options).spec.template.metadata.annotations[SPEC_HASH_ANNOTATION];
}

const SELECTOR = { [API_NAME_LABEL]: 'iris', [API_KIND_LABEL]: 'RealtimeAPI' };

describe('RealtimeApiChart', () => {
  describe('objects and names', () => {
    test('GIVEN a container-form API WHEN rendered THEN one Deployment, Service, VirtualService, ScaledObject, PDB, NetworkPolicy, all named after the API in namespace cortex, and its ServiceAccount iris-sa', () => {
      // GIVEN
      const api = realtimeApi();
      // WHEN
      const objects = render(api);
      // THEN
      expect(objects.map((o) => `${o.apiVersion}/${o.kind}`).sort()).toEqual([
        'apps/v1/Deployment',
        'keda.sh/v1alpha1/ScaledObject',
        'networking.istio.io/v1/VirtualService',
        'networking.k8s.io/v1/NetworkPolicy',
        'policy/v1/PodDisruptionBudget',
        'v1/Service',
        'v1/ServiceAccount',
      ]);
      for (const o of objects) {
        expect(o.metadata.name).toBe(o.kind === 'ServiceAccount' ? 'iris-sa' : 'iris');
        expect(o.metadata.namespace).toBe('cortex');
        expect(o.metadata.labels).toMatchObject(SELECTOR);
      }
    });

    test('GIVEN a namespace WHEN rendered THEN every object is in it and the Service host follows', () => {
      const objects = render(realtimeApi(), { namespace: 'ml' });
      expect(objects.every((o) => o.metadata.namespace === 'ml')).toBe(true);
      expect(only(objects, 'VirtualService').spec.http[0].route[0].destination.host).toBe('iris.ml.svc.cluster.local');
    });

    test('GIVEN the same API under two construct ids WHEN rendered THEN names and selectors are identical', () => {
      const api = realtimeApi();
      const a = synth((app) => new RealtimeApiChart(app, 'first', { api }));
      const b = synth((app) => new RealtimeApiChart(app, 'SomethingElse', { api }));
      expect(a).toEqual(b);
    });
  });

  describe('Deployment', () => {
    test('selector is exactly the two labels, and a subset of the pod template labels', () => {
      const deployment = deploymentOf(realtimeApi());
      expect(deployment.spec.selector).toEqual({ matchLabels: SELECTOR });
      expect(deployment.spec.template.metadata.labels).toMatchObject(SELECTOR);
    });

    test('GIVEN any change to the API WHEN rendered THEN the selector does not change', () => {
      const before = deploymentOf(realtimeApi());
      const after = deploymentOf(
        realtimeApi({
          pod: { port: 9000, containers: [container({ image: 'example.com/iris:2.0', compute: compute({ gpu: 1 }) })] },
          autoscaling: { minReplicas: 3, maxReplicas: 9 },
          nodeGroups: ['gpu'],
        }),
      );
      expect(after.spec.selector).toEqual(before.spec.selector);
    });

    test('GIVEN update_strategy WHEN rendered THEN a RollingUpdate with max_surge / max_unavailable', () => {
      const deployment = deploymentOf(realtimeApi({ updateStrategy: { maxSurge: 2, maxUnavailable: '0%' } }));
      expect(deployment.spec.strategy).toEqual({
        type: 'RollingUpdate',
        rollingUpdate: { maxSurge: 2, maxUnavailable: '0%' },
      });
    });

    test('GIVEN max_concurrency and max_queue_length WHEN rendered THEN the proxy gets them as flags, with the user port', () => {
      const api = realtimeApi({ pod: { port: 9000, maxConcurrency: 4, maxQueueLength: 64 } });
      const proxy = containersByName(deploymentOf(api)).proxy;
      expect(proxy.args).toEqual([
        '--port', '8888', '--admin-port', '15000', '--user-port', '9000', '--max-concurrency', '4', '--max-queue-length', '64',
        // networking.timeout (600 s) bounds the queue and the wait for the user's server, and silence at most
        // 60 s; the drain gets the grace period (620 s) less the preStop sleep (15 s) and the exit slack (5 s).
        '--queue-timeout', '600000ms', '--upstream-timeout', '600000ms',
        '--request-head-timeout', '60000ms', '--body-idle-timeout', '60000ms', '--drain-timeout', '600000ms',
      ]);
    });

    test('the proxy sidecar: ports 8888 and 15000, readiness GET /healthz on 15000, 100m / 100Mi requests, placeholder image by default', () => {
      const proxy = containersByName(deploymentOf(realtimeApi())).proxy;
      expect(proxy.image).toBe(PROXY_IMAGE_PLACEHOLDER);
      expect(proxy.ports.map((p: KubeObject) => p.containerPort)).toEqual([8888, 15000]);
      expect(proxy.readinessProbe.httpGet).toEqual({ path: '/healthz', port: 15000 });
      expect(proxy.resources.requests).toEqual({ cpu: '100m', memory: '100Mi' });
    });

    test('GIVEN a proxyImage WHEN rendered THEN the proxy runs it', () => {
      const proxy = containersByName(deploymentOf(realtimeApi(), { proxyImage: 'example.com/proxy:1' })).proxy;
      expect(proxy.image).toBe('example.com/proxy:1');
    });

    test('GIVEN several containers WHEN rendered THEN each is there, in order, before the proxy, with command, args and image', () => {
      const api = realtimeApi({
        pod: {
          containers: [
            container({ name: 'web', image: 'example.com/web:1', command: ['serve'], args: ['--fast'] }),
            container({ name: 'tfs', image: 'example.com/tfs:1' }),
          ],
        },
      });
      const containers = deploymentOf(api).spec.template.spec.containers;
      expect(containers.map((c: KubeObject) => c.name)).toEqual(['web', 'tfs', 'proxy']);
      expect(containers[0]).toMatchObject({ image: 'example.com/web:1', command: ['serve'], args: ['--fast'] });
      expect(containers[1].image).toBe('example.com/tfs:1');
    });

    test('GIVEN user env WHEN rendered THEN CORTEX_PORT, CORTEX_GATEWAY_URL come first, then the user env in file order', () => {
      const api = realtimeApi({
        pod: { port: 9000, containers: [container({ env: { ZED: '1', ALPHA: '2', MID: '$(CORTEX_PORT)' } })] },
      });
      const env = envOf(containersByName(deploymentOf(api, { gatewayUrl: 'http://gw.example' })).api);
      expect(env.names).toEqual(['CORTEX_API_NAME', 'CORTEX_PORT', 'CORTEX_GATEWAY_URL', 'ZED', 'ALPHA', 'MID']);
      expect(env.map).toMatchObject({ CORTEX_PORT: '9000', CORTEX_GATEWAY_URL: 'http://gw.example', ZED: '1' });
    });

    test('GIVEN cpu and mem WHEN rendered THEN cpu is a request only, mem is request and limit', () => {
      const api = realtimeApi({ pod: { containers: [container({ compute: compute({ cpu: '2', mem: '4Gi' }) })] } });
      expect(containersByName(deploymentOf(api)).api.resources).toEqual({
        requests: { cpu: '2', memory: '4Gi' },
        limits: { memory: '4Gi' },
      });
    });

    test('GIVEN no cpu and no mem WHEN rendered THEN no resources at all (no cdk8s-plus defaults)', () => {
      const api = realtimeApi({ pod: { containers: [container({ compute: compute({ cpu: undefined }) })] } });
      expect(containersByName(deploymentOf(api)).api.resources).toBeUndefined();
    });

    test('no security context is imposed (non-root, read-only root FS): model servers run as their images say', () => {
      const podSpec = podSpecOf(realtimeApi());
      expect(podSpec.securityContext).toBeUndefined();
      for (const c of podSpec.containers) {
        expect(c.securityContext).toBeUndefined();
      }
    });

    test('GIVEN a GPU API WHEN rendered THEN an nvidia.com/gpu limit and the GPU taint toleration, default scheduler', () => {
      const api = realtimeApi({ pod: { containers: [container({ compute: compute({ gpu: 2, mem: '8Gi' }) })] } });
      const podSpec = podSpecOf(api);
      expect(containersByName({ spec: { template: { spec: podSpec } } }).api.resources.limits).toEqual({
        'memory': '8Gi',
        'nvidia.com/gpu': 2,
      });
      expect(podSpec.tolerations).toEqual([{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }]);
      expect(podSpec.schedulerName).toBeUndefined();
    });

    test('GIVEN an Inferentia API WHEN rendered THEN an aws.amazon.com/neuron limit, the Neuron toleration and the Neuron scheduler', () => {
      const api = realtimeApi({ pod: { containers: [container({ compute: compute({ inf: 1 }) })] } });
      const podSpec = podSpecOf(api);
      expect(podSpec.containers[0].resources.limits).toEqual({ 'aws.amazon.com/neuron': 1 });
      expect(podSpec.tolerations).toEqual([{ key: 'aws.amazon.com/neuron', operator: 'Exists', effect: 'NoSchedule' }]);
      expect(podSpec.schedulerName).toBe(NEURON_SCHEDULER_NAME);
    });

    test('GIVEN neuronSchedulerName WHEN an Inferentia API is rendered THEN the pod uses it', () => {
      const api = realtimeApi({ pod: { containers: [container({ compute: compute({ inf: 1 }) })] } });
      expect(podSpecOf(api, { neuronSchedulerName: 'default-scheduler' }).schedulerName).toBe('default-scheduler');
    });

    test('GIVEN a CPU-only API WHEN rendered THEN no tolerations and no affinity', () => {
      const podSpec = podSpecOf(realtimeApi());
      expect(podSpec.tolerations).toBeUndefined();
      expect(podSpec.affinity).toBeUndefined();
    });

    test('GIVEN node_groups WHEN rendered THEN required node affinity on cortex.dev/node-group In those groups', () => {
      const podSpec = podSpecOf(realtimeApi({ nodeGroups: ['gpu-spot', 'gpu'] }));
      expect(podSpec.affinity).toEqual({
        nodeAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: {
            nodeSelectorTerms: [{ matchExpressions: [{ key: NODE_GROUP_LABEL, operator: 'In', values: ['gpu-spot', 'gpu'] }] }],
          },
        },
      });
    });

    test('every container mounts the shared /mnt emptyDir', () => {
      const api = realtimeApi({ pod: { containers: [container({ name: 'a' }), container({ name: 'b' })] } });
      const podSpec = podSpecOf(api);
      expect(podSpec.volumes).toContainEqual({ name: 'mnt', emptyDir: {} });
      for (const c of podSpec.containers) {
        expect(c.volumeMounts).toContainEqual({ name: 'mnt', mountPath: '/mnt' });
      }
    });

    test('GIVEN compute.shm WHEN rendered THEN a memory-backed emptyDir of that size at /dev/shm of that container only', () => {
      const api = realtimeApi({
        pod: { containers: [container({ name: 'a' }), container({ name: 'b', compute: compute({ shm: '2Gi' }) })] },
      });
      const podSpec = podSpecOf(api);
      const shm = podSpec.volumes.find((v: KubeObject) => v.emptyDir?.medium === 'Memory');
      expect(shm.emptyDir.sizeLimit).toBe('2Gi');
      const byName = containersByName({ spec: { template: { spec: podSpec } } });
      expect(byName.b.volumeMounts).toContainEqual({ name: shm.name, mountPath: '/dev/shm' });
      expect(byName.a.volumeMounts.map((m: KubeObject) => m.mountPath)).not.toContain('/dev/shm');
    });

    test('GIVEN no shm WHEN rendered THEN no memory-backed volume', () => {
      const volumes = podSpecOf(realtimeApi()).volumes;
      expect(volumes.some((v: KubeObject) => v.emptyDir?.medium === 'Memory')).toBe(false);
    });

    test('GIVEN http, tcp and exec probes WHEN rendered THEN each maps with every timing field', () => {
      const api = realtimeApi({
        pod: {
          containers: [
            container({
              name: 'a',
              readinessProbe: probe({ type: 'http_get', port: 8080, path: '/healthz' }, { periodSeconds: 5 }),
              livenessProbe: probe({ type: 'tcp_socket', port: 8080 }, { initialDelaySeconds: 30 }),
            }),
            container({ name: 'b', readinessProbe: probe({ type: 'exec', command: ['check', '--ready'] }) }),
          ],
        },
      });
      const byName = containersByName(deploymentOf(api));
      expect(byName.a.readinessProbe).toEqual({
        httpGet: { port: 8080, path: '/healthz' },
        initialDelaySeconds: 0, timeoutSeconds: 1, periodSeconds: 5, successThreshold: 1, failureThreshold: 3,
      });
      expect(byName.a.livenessProbe).toMatchObject({ tcpSocket: { port: 8080 }, initialDelaySeconds: 30 });
      expect(byName.b.readinessProbe).toMatchObject({ exec: { command: ['check', '--ready'] } });
      expect(byName.b.livenessProbe).toBeUndefined();
      expect(byName.a.startupProbe).toBeUndefined();
    });

    test('GIVEN a startup probe WHEN rendered THEN the container has it, every timing explicit', () => {
      const api = realtimeApi({
        pod: {
          containers: [
            container({ startupProbe: probe({ type: 'http_get', port: 8080, path: '/health' }, { periodSeconds: 10, failureThreshold: 90 }) }),
          ],
        },
      });
      expect(containersByName(deploymentOf(api)).api.startupProbe).toEqual({
        httpGet: { port: 8080, path: '/health' },
        initialDelaySeconds: 0, timeoutSeconds: 1, periodSeconds: 10, successThreshold: 1, failureThreshold: 90,
      });
    });

    test('pods opt out of Istio sidecar injection and are scraped on the proxy admin port', () => {
      const metadata = deploymentOf(realtimeApi()).spec.template.metadata;
      expect(metadata.annotations).toMatchObject({
        'sidecar.istio.io/inject': 'false',
        'prometheus.io/scrape': 'true',
        'prometheus.io/port': '15000',
        'prometheus.io/path': '/metrics',
      });
    });

    test('service links are off (one Service per API would flood every container with variables)', () => {
      expect(podSpecOf(realtimeApi()).enableServiceLinks).toBe(false);
    });

    test('GIVEN serviceAccountName WHEN rendered THEN the pods use it and no ServiceAccount is rendered', () => {
      expect(podSpecOf(realtimeApi(), { serviceAccountName: 'model-reader' }).serviceAccountName).toBe('model-reader');
      const objects = render(realtimeApi(), { serviceAccountName: 'model-reader' });
      expect(objects.filter((o) => o.kind === 'ServiceAccount')).toEqual([]);
    });

    test('GIVEN no serviceAccountName WHEN rendered THEN the pods run as the API\'s own ServiceAccount, first in the manifest, without a Kubernetes token', () => {
      // GIVEN / WHEN
      const objects = render(realtimeApi(), { namespace: 'ml' });
      // THEN
      expect(objects[0]).toEqual({
        apiVersion: 'v1',
        kind: 'ServiceAccount',
        metadata: { name: 'iris-sa', namespace: 'ml', labels: expect.objectContaining(SELECTOR) },
        automountServiceAccountToken: false,
      });
      const pod = only(objects, 'Deployment').spec.template.spec;
      expect(pod.serviceAccountName).toBe('iris-sa');
      // The pod itself leaves the token to the ServiceAccount (a service account of the user's may want one).
      expect(pod.automountServiceAccountToken).toBeUndefined();
    });

    test('GIVEN an API named default WHEN rendered THEN its ServiceAccount is not the namespace\'s default one', () => {
      const chart = synthChart(realtimeApi({ name: 'default' }));
      expect(chart.serviceAccountName).toBe('default-sa');
      expect(chart.serviceAccount!.name).toBe(apiServiceAccountName('default'));
    });
  });

  describe('drain', () => {
    test('GIVEN no pre_stop WHEN rendered THEN proxy and user containers sleep in preStop, the user containers longer, and the grace period covers the timeout', () => {
      const podSpec = podSpecOf(realtimeApi({ networking: { timeoutSeconds: 30 } }));
      const byName = containersByName({ spec: { template: { spec: podSpec } } });
      const proxySleep = byName.proxy.lifecycle.preStop.sleep.seconds;
      const userSleep = byName.api.lifecycle.preStop.sleep.seconds;
      expect(proxySleep).toBeGreaterThan(0);
      expect(userSleep).toBeGreaterThan(proxySleep);
      expect(podSpec.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(60);
      expect(podSpec.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(proxySleep + 30);
      expect(podSpec.terminationGracePeriodSeconds).toBeGreaterThan(userSleep);
    });

    test('GIVEN a user pre_stop WHEN rendered THEN it replaces the default sleep of that container only', () => {
      const api = realtimeApi({
        pod: {
          containers: [
            container({ name: 'a', preStop: { type: 'exec', command: ['drain.sh'] } }),
            container({ name: 'b', preStop: { type: 'http_get', port: 8080, path: '/drain' } }),
            container({ name: 'c' }),
          ],
        },
      });
      const byName = containersByName(deploymentOf(api));
      expect(byName.a.lifecycle).toEqual({ preStop: { exec: { command: ['drain.sh'] } } });
      expect(byName.b.lifecycle).toEqual({ preStop: { httpGet: { port: 8080, path: '/drain' } } });
      expect(byName.c.lifecycle.preStop.sleep.seconds).toBeGreaterThan(0);
      expect(byName.proxy.lifecycle.preStop.sleep.seconds).toBeGreaterThan(0);
    });
  });

  describe('replicas and the autoscaler', () => {
    test('GIVEN init_replicas WHEN rendered THEN spec.replicas is init_replicas', () => {
      expect(deploymentOf(realtimeApi({ autoscaling: { minReplicas: 2, initReplicas: 3 } })).spec.replicas).toBe(3);
    });

    test('GIVEN an image, probe, env and autoscaling change WHEN rendered again THEN spec.replicas is unchanged (kubectl apply never patches it)', () => {
      const before = realtimeApi({ autoscaling: { initReplicas: 2 } });
      const after = realtimeApi({
        pod: {
          maxConcurrency: 8,
          containers: [
            container({
              image: 'example.com/iris:2.0',
              env: { NEW: '1' },
              readinessProbe: probe({ type: 'tcp_socket', port: 8080 }),
            }),
          ],
        },
        autoscaling: { initReplicas: 2, minReplicas: 1, maxReplicas: 7, targetInFlight: 3 },
      });
      const replicasBefore = deploymentOf(before).spec.replicas;
      const replicasAfter = deploymentOf(after).spec.replicas;
      expect(replicasAfter).toBe(replicasBefore);
      // and the template did change, so this is a real rollout
      expect(specHashOf(after)).not.toBe(specHashOf(before));
    });
  });

  describe('spec hash', () => {
    test('GIVEN an image change WHEN rendered THEN the spec hash changes', () => {
      const before = realtimeApi();
      const after = realtimeApi({ pod: { containers: [container({ image: 'example.com/iris:2.0' })] } });
      expect(specHashOf(after)).not.toBe(specHashOf(before));
    });

    test('GIVEN autoscaling-only changes (max_replicas, min_replicas, target, window, factors) WHEN rendered THEN the spec hash does not change', () => {
      const before = realtimeApi();
      const after = realtimeApi({
        autoscaling: {
          maxReplicas: 7,
          minReplicas: 2,
          initReplicas: 1,
          targetInFlight: 5,
          windowSeconds: 120,
          maxUpscaleFactor: 3,
          maxDownscaleFactor: 0.5,
          upscaleStabilizationPeriodSeconds: 0,
        },
      });
      expect(specHashOf(after)).toBe(specHashOf(before));
    });

    test('GIVEN a proxy image, pod port or env change WHEN rendered THEN the spec hash changes', () => {
      const base = specHashOf(realtimeApi());
      expect(specHashOf(realtimeApi(), { proxyImage: 'example.com/proxy:2' })).not.toBe(base);
      expect(specHashOf(realtimeApi({ pod: { port: 9000 } }))).not.toBe(base);
      expect(specHashOf(realtimeApi({ pod: { containers: [container({ env: { A: '1' } })] } }))).not.toBe(base);
    });

    test('GIVEN a predictor config change WHEN rendered THEN the spec hash changes though the pod template is otherwise the same', () => {
      const before = predictorApi({ config: { threshold: 0.5 } });
      const after = predictorApi({ config: { threshold: 0.7 } });
      expect(specHashOf(after)).not.toBe(specHashOf(before));
    });
  });

  describe('Service', () => {
    test('ClusterIP, port 80 to the proxy on 8888, selecting the two labels', () => {
      const service = only(render(realtimeApi()), 'Service');
      expect(service.spec).toEqual({
        type: 'ClusterIP',
        selector: SELECTOR,
        ports: [{ name: 'http', port: 80, targetPort: 8888, protocol: 'TCP' }],
      });
    });
  });

  describe('VirtualService', () => {
    test('on the APIs gateway, exact and prefix match of the endpoint, rewrite to /, to the Service, no retries, the timeout', () => {
      const api = realtimeApi({ networking: { endpoint: '/v1/iris', timeoutSeconds: 30 } });
      const vs = only(render(api), 'VirtualService');
      expect(vs.apiVersion).toBe('networking.istio.io/v1');
      expect(vs.spec.gateways).toEqual(['istio-system/apis-gateway']);
      expect(vs.spec.hosts).toEqual(['*']);
      expect(vs.spec.http).toHaveLength(1);
      expect(vs.spec.http[0]).toMatchObject({
        match: [{ uri: { exact: '/v1/iris' } }, { uri: { prefix: '/v1/iris/' } }],
        rewrite: { uri: '/' },
        route: [{ destination: { host: 'iris.cortex.svc.cluster.local', port: { number: 80 } } }],
        retries: { attempts: 0 },
        timeout: '30s',
      });
    });
  });

  describe('ScaledObject', () => {
    test('targets the Deployment with min/max, a Prometheus in-flight trigger at target_in_flight, averaged over the window', () => {
      const api = realtimeApi({ autoscaling: { minReplicas: 2, maxReplicas: 9, targetInFlight: 4, windowSeconds: 30 } });
      const so = only(render(api), 'ScaledObject');
      expect(so.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'iris' });
      expect(so.spec.minReplicaCount).toBe(2);
      expect(so.spec.maxReplicaCount).toBe(9);
      expect(so.spec.triggers).toHaveLength(1);
      const [trigger] = so.spec.triggers;
      expect(trigger).toMatchObject({ type: 'prometheus', metricType: 'AverageValue' });
      expect(trigger.metadata).toMatchObject({ serverAddress: DEFAULT_PROMETHEUS_URL, threshold: '4' });
      expect(trigger.metadata.query).toBe(
        'avg_over_time(sum(cortex_in_flight_requests{namespace="cortex",cortex_dev_api_name="iris"})[30s:10s])',
      );
    });

    test('GIVEN prometheusUrl WHEN rendered THEN the triggers query it', () => {
      const so = only(render(realtimeApi(), { prometheusUrl: 'http://prom.monitoring:9090' }), 'ScaledObject');
      expect(so.spec.triggers[0].metadata.serverAddress).toBe('http://prom.monitoring:9090');
    });

    test('HPA behavior carries the stabilization periods, the factors as Percent policies and the tolerances', () => {
      const api = realtimeApi({
        autoscaling: {
          upscaleStabilizationPeriodSeconds: 30,
          downscaleStabilizationPeriodSeconds: 600,
          maxUpscaleFactor: 2,
          maxDownscaleFactor: 0.5,
          upscaleTolerance: 0.1,
          downscaleTolerance: 0.02,
        },
      });
      const behavior = only(render(api), 'ScaledObject').spec.advanced.horizontalPodAutoscalerConfig.behavior;
      expect(behavior.scaleUp).toMatchObject({
        stabilizationWindowSeconds: 30,
        policies: [{ type: 'Percent', value: 100, periodSeconds: 15 }],
        tolerance: '0.1',
      });
      expect(behavior.scaleDown).toMatchObject({
        stabilizationWindowSeconds: 600,
        policies: [{ type: 'Percent', value: 50, periodSeconds: 15 }],
        tolerance: '0.02',
      });
    });

    test('GIVEN min_replicas 0 WHEN rendered THEN the held-requests and gateway-activity triggers, which exist at zero pods, are added', () => {
      const so = only(render(realtimeApi({ autoscaling: { minReplicas: 0 } })), 'ScaledObject');
      expect(so.spec.minReplicaCount).toBe(0);
      expect(so.spec.triggers.map((t: KubeObject) => t.name)).toEqual(['in-flight', 'held-requests', 'gateway-activity']);
      expect(so.spec.triggers[2].metadata.query).toContain(
        'istio_requests_total{destination_service="iris.cortex.svc.cluster.local"}',
      );
    });
  });

  describe('PodDisruptionBudget', () => {
    test('one pod at a time, unhealthy pods always evictable, the two-label selector', () => {
      const pdb = only(render(realtimeApi()), 'PodDisruptionBudget');
      expect(pdb.spec).toEqual({
        maxUnavailable: 1,
        unhealthyPodEvictionPolicy: 'AlwaysAllow',
        selector: { matchLabels: SELECTOR },
      });
    });
  });

  describe('NetworkPolicy', () => {
    // Exactly the two rules: the proxy port from the gateway's pods, the admin port from Prometheus' server pods.
    const DEFAULT_INGRESS = [
      {
        from: [
          {
            namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'istio-system' } },
            podSelector: { matchLabels: { istio: 'apis-gateway' } },
          },
        ],
        ports: [{ protocol: 'TCP', port: 8888 }],
      },
      {
        from: [
          {
            namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'prometheus' } },
            podSelector: {
              matchLabels: {
                'app.kubernetes.io/name': 'prometheus',
                'app.kubernetes.io/instance': 'prometheus',
                'app.kubernetes.io/component': 'server',
              },
            },
          },
        ],
        ports: [{ protocol: 'TCP', port: 15000 }],
      },
    ];

    test.each([
      ['a container-form API (pod.port 8080)', realtimeApi()],
      ['a predictor-form API (the runtime on 127.0.0.1:8080 and :8081)', predictorApi()],
    ])('GIVEN %s WHEN rendered THEN ingress to its pods: 8888 from the gateway, 15000 from Prometheus, nothing else', (_, api) => {
      // WHEN
      const objects = render(api);
      const policy = only(objects, 'NetworkPolicy');
      // THEN
      expect(policy.apiVersion).toBe('networking.k8s.io/v1');
      expect(policy.metadata).toMatchObject({ name: 'iris', namespace: 'cortex', labels: SELECTOR });
      expect(policy.spec).toEqual({ podSelector: { matchLabels: SELECTOR }, policyTypes: ['Ingress'], ingress: DEFAULT_INGRESS });
      // it selects exactly the Deployment's pods
      const deployment = only(objects, 'Deployment');
      expect(policy.spec.podSelector.matchLabels).toEqual(deployment.spec.selector.matchLabels);
      expect(deployment.spec.template.metadata.labels).toMatchObject(policy.spec.podSelector.matchLabels);
      // the user's port and the runtime's admin port are in no rule
      const ports = policy.spec.ingress.flatMap((rule: KubeObject) => rule.ports.map((p: KubeObject) => p.port));
      expect(ports).not.toContain(api.pod.port);
      expect(ports).not.toContain(8081);
      expect(validateObjects([policy])).toEqual([]);
    });

    test('GIVEN networkPolicy: false WHEN rendered THEN no NetworkPolicy', () => {
      let chart: RealtimeApiChart | undefined;
      const objects = synth((app) => (chart = new RealtimeApiChart(app, 'iris', { api: realtimeApi(), networkPolicy: false })));
      expect(chart!.networkPolicy).toBeUndefined();
      expect(objects.some((o) => o.kind === 'NetworkPolicy')).toBe(false);
    });

    test('GIVEN peers of its own (another Prometheus, no scrapers at all) WHEN rendered THEN those, schema-valid', () => {
      const monitoring = { namespace: 'monitoring', podLabels: { 'app.kubernetes.io/name': 'prometheus' } };
      const policy = only(render(realtimeApi(), { networkPolicy: { metricsScrapers: [monitoring] } }), 'NetworkPolicy');
      expect(policy.spec.ingress[0]).toEqual(DEFAULT_INGRESS[0]);
      expect(policy.spec.ingress[1].from).toEqual([
        {
          namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } },
          podSelector: { matchLabels: { 'app.kubernetes.io/name': 'prometheus' } },
        },
      ]);
      const gatewayOnly = only(
        render(realtimeApi(), { networkPolicy: { gateway: { namespace: 'gateways', podLabels: { app: 'edge' } }, metricsScrapers: [] } }),
        'NetworkPolicy',
      );
      expect(gatewayOnly.spec.ingress).toEqual([
        {
          from: [
            {
              namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'gateways' } },
              podSelector: { matchLabels: { app: 'edge' } },
            },
          ],
          ports: [{ protocol: 'TCP', port: 8888 }],
        },
      ]);
      expect(validateObjects([policy, gatewayOnly])).toEqual([]);
    });

    test('GIVEN a peer without labels WHEN rendered THEN refused, naming the field', () => {
      expect(() => render(realtimeApi(), { networkPolicy: { gateway: { namespace: 'istio-system', podLabels: {} } } })).toThrow(
        /networkPolicy\.gateway\.podLabels \(\{\}\) must name at least one label: an empty selector would let every pod of namespace "istio-system" through/,
      );
    });
  });

  describe('predictor form', () => {
    test('GIVEN a predictor API without image WHEN rendered THEN the api container runs the predictorImage', () => {
      const api = predictorApi();
      expect(containersByName(deploymentOf(api)).api.image).toBe(PYTHON_PREDICTOR_IMAGE_PLACEHOLDER);
      expect(containersByName(deploymentOf(api, { predictorImage: 'example.com/runtime:3' })).api.image).toBe(
        'example.com/runtime:3',
      );
    });

    test('GIVEN a predictor API with predictor.image WHEN rendered THEN that image wins over predictorImage', () => {
      const api = predictorApi({ image: 'example.com/own-runtime:1' });
      expect(containersByName(deploymentOf(api, { predictorImage: 'example.com/runtime:3' })).api.image).toBe(
        'example.com/own-runtime:1',
      );
    });

    test('GIVEN models and batching WHEN rendered THEN a <name>-predictor ConfigMap carries them, mounted read-only, pointed at by env', () => {
      const api = predictorApi(
        {
          type: 'tensorflow',
          models: { path: 's3://models/resnet50/', signatureKey: 'serving_default' },
          serverSideBatching: { maxBatchSize: 8, batchIntervalSeconds: 0.1 },
          processesPerReplica: 4,
          threadsPerProcess: 16,
          config: { classes: 'imagenet' },
          env: { TF_LOG: '2' },
        },
        { tracker: { modelType: 'classification' } },
      );
      const objects = render(api);
      const configMap = only(objects, 'ConfigMap');
      expect(configMap.metadata.name).toBe('iris-predictor');
      const settings = JSON.parse(configMap.data['predictor.json']);
      expect(settings).toMatchObject({
        type: 'tensorflow',
        path: 'predictor.py',
        config: { classes: 'imagenet' },
        models: { path: 's3://models/resnet50/', signature_key: 'serving_default' },
        server_side_batching: { max_batch_size: 8, batch_interval_seconds: 0.1 },
        processes_per_replica: 4,
        threads_per_process: 16,
        log_level: 'info',
        tracker: { model_type: 'classification' },
      });

      const podSpec = only(objects, 'Deployment').spec.template.spec;
      expect(podSpec.volumes).toContainEqual({ name: 'predictor-config', configMap: { name: 'iris-predictor' } });
      const runtime = containersByName({ spec: { template: { spec: podSpec } } }).api;
      expect(runtime.volumeMounts).toContainEqual({ name: 'predictor-config', mountPath: '/etc/cortex', readOnly: true });
      const env = envOf(runtime);
      expect(env.map.CORTEX_PREDICTOR_CONFIG).toBe('/etc/cortex/predictor.json');
      expect(env.map.TF_LOG).toBe('2');
    });

    describe('the runtime is reachable only through the proxy', () => {
      const api = predictorApi({}, { networking: { timeoutSeconds: 30 } });
      const { api: runtime, proxy } = containersByName(deploymentOf(api));

      test('THEN it listens on 127.0.0.1, with its health and metrics on an admin port of their own that the proxy reads', () => {
        expect(envOf(runtime).map).toMatchObject({ CORTEX_HOST: '127.0.0.1', CORTEX_ADMIN_PORT: '8081' });
        expect(runtime.ports).toBeUndefined();
        expect(proxy.args.join(' ')).toContain('--user-port 8080');
        expect(proxy.args.slice(-2)).toEqual(['--user-admin-port', '8081']);
      });

      test('THEN its readiness is asked of the proxy\'s admin port (the kubelet cannot reach 127.0.0.1), and it has no liveness probe', () => {
        expect(runtime.readinessProbe).toMatchObject({ httpGet: { path: '/healthz', port: 15000 } });
        expect(runtime.readinessProbe.periodSeconds).toBeGreaterThan(0);
        expect(runtime.livenessProbe).toBeUndefined();
      });

      test('THEN networking.timeout reaches the runtime\'s watchdog, and its drain fits the grace period', () => {
        // grace 60 s; the runtime's SIGTERM comes after its preStop sleep (15 + 30 s): 60 − 45 − 5 = 10 s left
        expect(envOf(runtime).map).toMatchObject({ CORTEX_REQUEST_TIMEOUT: '30', CORTEX_DRAIN_TIMEOUT: '10' });
        expect(proxy.args.join(' ')).toContain('--queue-timeout 30000ms --upstream-timeout 30000ms');
      });

      test('THEN every object still passes the Kubernetes schemas', () => {
        expect(validateObjects(render(api))).toEqual([]);
      });
    });

    test('GIVEN a container-form API THEN its probes are its own, and the proxy checks its port by TCP', () => {
      const api = realtimeApi({
        pod: { containers: [container({ name: 'api', readinessProbe: probe({ type: 'http_get', port: 8080, path: '/ready' }) })] },
      });
      const { api: user, proxy } = containersByName(deploymentOf(api));
      expect(user.readinessProbe.httpGet).toEqual({ path: '/ready', port: 8080 });
      expect(envOf(user).map.CORTEX_HOST).toBeUndefined();
      expect(proxy.args).not.toContain('--user-admin-port');
    });

    test('GIVEN a container-form API WHEN rendered THEN no ConfigMap and no predictor env', () => {
      const objects = render(realtimeApi());
      expect(objects.some((o) => o.kind === 'ConfigMap')).toBe(false);
      expect(envOf(containersByName(only(objects, 'Deployment')).api).map.CORTEX_PREDICTOR_CONFIG).toBeUndefined();
    });
  });

  describe('kind: api (Cortex 0.10 – 0.12), parsed from a cortex.yaml', () => {
    const yaml = `
- kind: deployment
  name: iris
  python_root: src
- kind: api
  name: classifier
  python: {inference: src/inference.py}
  metadata: {labels: [setosa, versicolor, virginica], threshold: 0.5}
  tracker: {key: label, model_type: classification}
  compute: {min_replicas: 2, max_replicas: 6, init_replicas: 3, target_cpu_utilization: 65, cpu: 1, mem: 1Gi, gpu: 1}
- kind: api
  name: second
  endpoint: /v2/second
  predictor: {path: predictor.py, model: s3://bucket/iris/model.pkl, metadata: {region: us-west-2}}
`;
    const [classifier, second] = parseConfig(yaml, 'cortex.yaml').apis;

    test('THEN the runtime container runs the Python runtime with the compute, behind the proxy at one request at a time', () => {
      // WHEN
      const deployment = deploymentOf(classifier);
      // THEN
      expect(deployment.spec.replicas).toBe(3);
      const { api, proxy } = containersByName(deployment);
      expect(api.image).toBe(PYTHON_PREDICTOR_IMAGE_PLACEHOLDER);
      expect(api.resources).toEqual({ requests: { cpu: '1', memory: '1Gi' }, limits: { memory: '1Gi', 'nvidia.com/gpu': 1 } });
      expect(api.readinessProbe.httpGet).toEqual({ path: '/healthz', port: 15000 });
      expect(envOf(api).map.CORTEX_PREDICTOR_CONFIG).toBe('/etc/cortex/predictor.json');
      expect(proxy.args.join(' ')).toContain('--max-concurrency 1 --max-queue-length 100');
      // KEDA's cpu trigger needs a CPU request on the containers it reads; the proxy has its own.
      expect(proxy.resources.requests.cpu).toBe('100m');
    });

    test('THEN the metadata, the module and the tracker reach the runtime through its settings', () => {
      const settings = JSON.parse(only(render(classifier), 'ConfigMap').data['predictor.json']);
      expect(settings).toMatchObject({
        type: 'python',
        style: 'function',
        path: 'src/inference.py',
        python_path: 'src',
        metadata: { labels: ['setosa', 'versicolor', 'virginica'], threshold: 0.5 },
        models: null,
        threads_per_process: 1,
        tracker: { key: 'label', model_type: 'classification' },
      });
      const secondSettings = JSON.parse(only(render(second), 'ConfigMap').data['predictor.json']);
      expect(secondSettings).toMatchObject({ path: 'predictor.py', metadata: { region: 'us-west-2' }, models: { path: 's3://bucket/iris/model.pkl' } });
    });

    test('THEN a CPU-based ScaledObject with the target, min and max replicas', () => {
      const scaledObject = only(render(classifier), 'ScaledObject');
      expect(scaledObject.spec).toMatchObject({ minReplicaCount: 2, maxReplicaCount: 6 });
      expect(scaledObject.spec.triggers).toEqual([
        { type: 'cpu', name: 'cpu', metricType: 'Utilization', metadata: { value: '65', containerName: 'api' } },
      ]);
      expect(only(render(second), 'ScaledObject').spec.triggers[0].metadata.value).toBe('80');
    });

    test('THEN Prometheus gets the tracker\'s metrics from the proxy\'s admin port, with the proxy\'s: one scrape per pod, none of the runtime', () => {
      // GIVEN classifier has a tracker
      // WHEN
      const objects = render(classifier);
      // THEN the Service has no scrape annotations (the runtime listens on 127.0.0.1, where no scrape reaches)
      expect(only(objects, 'Service').metadata.annotations).toBeUndefined();
      // AND the pods' annotations name the proxy's admin port, where the proxy appends the runtime's /metrics
      const deployment = only(objects, 'Deployment');
      expect(deployment.spec.template.metadata.annotations).toMatchObject({
        'prometheus.io/scrape': 'true',
        'prometheus.io/port': '15000',
        'prometheus.io/path': '/metrics',
      });
      expect(containersByName(deployment).proxy.args.join(' ')).toContain('--user-admin-port 8081');
    });

    test('THEN the endpoint routes on the gateway', () => {
      const matches = only(render(second), 'VirtualService').spec.http[0].match;
      expect(matches).toEqual([{ uri: { exact: '/v2/second' } }, { uri: { prefix: '/v2/second/' } }]);
    });

    test('THEN every object passes the Kubernetes, Istio and KEDA schemas', () => {
      expect(validateObjects([...render(classifier), ...render(second)])).toEqual([]);
    });
  });

  describe('validation', () => {
    const api = realtimeApi();
    const build = (options: RealtimeApiChartOptions, spec: RealtimeApiSpec = api) => () =>
      synth((app) => new RealtimeApiChart(app, 'x', { ...options, api: spec }));

    test('namespace must be a DNS-1123 label', () => {
      expect(build({ namespace: 'Cortex_APIs' })).toThrow(CortexValidationError);
      expect(build({ namespace: 'Cortex_APIs' })).toThrow(/namespace \("Cortex_APIs"\) must be a DNS-1123 label/);
    });

    test('proxyImage must be a non-empty image reference', () => {
      expect(build({ proxyImage: '' })).toThrow(/proxyImage \(""\) must be a non-empty image reference/);
      expect(build({ proxyImage: 'a b' })).toThrow(/proxyImage/);
    });

    test('predictorImage must be a non-empty image reference', () => {
      expect(build({ predictorImage: ' ' })).toThrow(/predictorImage/);
    });

    test('gatewayUrl and prometheusUrl must be http(s) URLs', () => {
      expect(build({ gatewayUrl: 'apis-gateway' })).toThrow(/gatewayUrl \("apis-gateway"\) must be an absolute http/);
      expect(build({ prometheusUrl: 'ftp://prom' })).toThrow(/prometheusUrl/);
    });

    test('neuronSchedulerName must be a non-empty name', () => {
      expect(build({ neuronSchedulerName: '' })).toThrow(/neuronSchedulerName/);
    });

    test('serviceAccountName must be a DNS-1123 subdomain', () => {
      expect(build({ serviceAccountName: 'Model Reader' })).toThrow(/serviceAccountName \("Model Reader"\) must be a DNS-1123 subdomain/);
      expect(build({ serviceAccountName: 'model.reader' })).not.toThrow();
    });

    test('the API name must be a DNS-1035 label', () => {
      expect(build({}, realtimeApi({ name: '1iris' }))).toThrow(/api\.name \("1iris"\) must be a DNS-1035 label/);
    });

    test('a stabilization period beyond the HPA limit is refused', () => {
      expect(build({}, realtimeApi({ autoscaling: { downscaleStabilizationPeriodSeconds: 7200 } }))).toThrow(
        /autoscaling\.downscaleStabilizationPeriodSeconds \(7200\) must be an integer from 0 to 3600/,
      );
    });

    test('unresolved CDK tokens are not checked (their value is known at deploy time only)', () => {
      expect(build({ proxyImage: '${Token[TOKEN.123]}', prometheusUrl: '${Token[TOKEN.124]}' })).not.toThrow();
    });
  });
});
