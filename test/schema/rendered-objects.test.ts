import { App } from 'cdk8s';
import { addConfigCharts } from '../../constructs';
import { parseConfig } from '../../lib/config';
import { CortexConfig, RealtimeApiSpec, TrafficSplitterSpec } from '../../lib/config/types';
import {
  KubeObject,
  compute,
  container,
  predictorApi,
  probe,
  realtimeApi,
  trafficSplitter,
} from '../constructs/fixtures';
import { gatewayObject, keepaliveEnvoyFilter } from '../../lib/platform/apis-gateway';
import { validateObjects } from './validate';

/** A cortex.yaml's worth of specs covering every shape the charts render. */
function broadConfig(): CortexConfig {
  const apis: RealtimeApiSpec[] = [
    realtimeApi({ name: 'single' }),
    realtimeApi({
      name: 'multi-container',
      pod: {
        port: 8080,
        maxConcurrency: 4,
        maxQueueLength: 64,
        containers: [
          container({
            name: 'web-server',
            command: ['serve'],
            args: ['--port', '8080'],
            env: { RESPONSE: 'hello', MODEL_URI: 's3://models/x' },
            readinessProbe: probe({ type: 'http_get', port: 8080, path: '/healthz' }),
            livenessProbe: probe({ type: 'tcp_socket', port: 8080 }, { initialDelaySeconds: 20 }),
            preStop: { type: 'http_get', port: 8080, path: '/drain' },
          }),
          container({
            name: 'tfs-server',
            compute: compute({ cpu: '1', mem: '2G' }),
            readinessProbe: probe({ type: 'exec', command: ['tfs_model_status_probe', '-addr', 'localhost:8500'] }),
            preStop: { type: 'exec', command: ['/bin/sh', '-c', 'sleep 5'] },
          }),
        ],
      },
      updateStrategy: { maxSurge: 1, maxUnavailable: 0 },
    }),
    realtimeApi({
      name: 'gpu',
      pod: { containers: [container({ compute: compute({ cpu: '3', mem: '12Gi', gpu: 1, shm: '1Gi' }) })] },
      nodeGroups: ['gpu', 'gpu-spot'],
    }),
    realtimeApi({
      name: 'inf',
      pod: {
        port: 9000,
        containers: [
          container({ name: 'api', env: { NEURON_RTD_ADDRESS: 'unix:/mnt/neuron.sock' } }),
          container({ name: 'rtd', compute: compute({ cpu: undefined, inf: 2, shm: '512Mi' }) }),
        ],
      },
    }),
    realtimeApi({
      name: 'scale-to-zero',
      autoscaling: { minReplicas: 0, maxReplicas: 1, downscaleStabilizationPeriodSeconds: 30, targetInFlight: 2.5 },
      networking: { timeoutSeconds: 30 },
    }),
    realtimeApi({ name: 'api-keys', networking: { auth: { apiKeys: { secret: 'api-keys.example' } } } }),
    realtimeApi({
      name: 'no-downscale',
      autoscaling: { maxDownscaleFactor: 1, maxUpscaleFactor: 10, downscaleTolerance: 0, upscaleTolerance: 0.2 },
    }),
    predictorApi(
      {
        type: 'tensorflow',
        models: { paths: [{ name: 'resnet', path: 's3://m/resnet/', signatureKey: 'serving_default' }], cacheSize: 2 },
        serverSideBatching: { maxBatchSize: 8, batchIntervalSeconds: 0.1 },
        processesPerReplica: 4,
        threadsPerProcess: 64,
        config: { classes: ['a', 'b'], nested: { threshold: 0.5 } },
        env: { TF_CPP_MIN_LOG_LEVEL: '2' },
      },
      { name: 'predictor', compute: { cpu: '2', mem: '4G', inf: 1 }, tracker: { modelType: 'classification' } },
    ),
    predictorApi({ image: 'example.com/own-runtime:1', models: { dir: 's3://m/' } }, { name: 'predictor-own-image' }),
  ];
  const splitters: TrafficSplitterSpec[] = [
    trafficSplitter(
      [
        { name: 'single', weight: 70 },
        { name: 'gpu', weight: 30 },
        { name: 'scale-to-zero', weight: 25, shadow: true },
      ],
      { name: 'splitter' },
    ),
    trafficSplitter([{ name: 'single', weight: 100 }], { name: 'splitter-single', networking: { timeoutSeconds: 5 } }),
  ];
  return { file: 'cortex.yaml', specs: [...apis, ...splitters], apis, splitters };
}

/** A cortex.yaml in both of Cortex's forms, as a user writes it, for the parser-to-schema path. */
const BOTH_FORMS_YAML = `
- name: resnet50
  kind: RealtimeAPI
  predictor:
    type: tensorflow
    path: predictor.py
    models:
      path: s3://examples/resnet50_neuron/
    server_side_batching:
      max_batch_size: 5
      batch_interval: 0.1s
    processes_per_replica: 4
    threads_per_process: 64
    config:
      input_shape: [224, 224]
    env:
      CORTEX_API_KEY: {secret: hello-client-key, key: key}
  networking:
    auth:
      api_keys: {}
  compute:
    inf: 1
    cpu: 3
    mem: 4G
- name: hello
  kind: RealtimeAPI
  pod:
    port: 8080
    max_concurrency: 2
    max_queue_length: 999
    containers:
    - name: api
      image: quay.io/example/hello:1
      env:
        GREETING: {secret: greetings, key: en.txt}
        RESPONSE: hello
      readiness_probe:
        http_get:
          path: /healthz
          port: 8080
      compute:
        cpu: 200m
        mem: 128Mi
        gpu: 1
  networking:
    auth:
      api_keys: {secret: hello-keys}
  autoscaling:
    min_replicas: 0
    max_replicas: 3
    downscale_stabilization_period: 30s
- name: hello-split
  kind: TrafficSplitter
  apis:
  - name: hello
    weight: 100
  - name: resnet50
    weight: 10
    shadow: true
`;

/**
 * The objects with a schema package here, and the KEDA HTTP add-on's InterceptorRoutes apart: their CRD has no
 * model package, so CI's extra check validates them against the pinned CRD (scripts/check-cortex-configs.js);
 * here, their generated types hold them to its shape and test/constructs/cold-start.test.ts to its CEL rules.
 */
function withoutInterceptorRoutes(objects: KubeObject[]): KubeObject[] {
  return objects.filter((o) => o.kind !== 'InterceptorRoute');
}

function renderAll(config: CortexConfig): KubeObject[] {
  return addConfigCharts(new App(), config, { proxyImage: 'example.com/proxy:1' }).flatMap((c) => c.toJson());
}

describe('rendered objects against the Kubernetes, Istio and KEDA schemas', () => {
  test('GIVEN every shape of API and splitter WHEN rendered THEN every object validates', () => {
    // GIVEN
    const config = broadConfig();
    // WHEN
    const objects = renderAll(config);
    // THEN
    const kinds = new Set(objects.map((o) => o.kind));
    expect([...kinds].sort()).toEqual([
      'ConfigMap',
      'Deployment',
      'InterceptorRoute',
      'NetworkPolicy',
      'PodDisruptionBudget',
      'ScaledObject',
      'Service',
      'ServiceAccount',
      'VirtualService',
    ]);
    expect(objects.length).toBeGreaterThanOrEqual(config.apis.length * 5 + config.splitters.length);
    expect(validateObjects(withoutInterceptorRoutes(objects))).toEqual([]);
  });

  test('GIVEN a cortex.yaml in both forms parsed by lib/config WHEN rendered THEN every object validates', () => {
    const objects = renderAll(parseConfig(BOTH_FORMS_YAML, 'cortex.yaml'));
    const deployments = objects.filter((o) => o.kind === 'Deployment');
    expect(deployments).toHaveLength(2);
    // Both forms with networking.auth.api_keys: the Secret volume is in each pod.
    expect(deployments.map((d) => d.spec.template.spec.volumes.find((v: KubeObject) => v.name === 'api-keys')?.secret.secretName)).toEqual([
      'resnet50-api-keys',
      'hello-keys',
    ]);
    // Secret-backed variables: after the literals, as secretKeyRef (a missing Secret stops the container).
    const userEnv = deployments.map((d) => d.spec.template.spec.containers[0].env.filter((e: KubeObject) => !e.name.startsWith('CORTEX_') || e.valueFrom));
    expect(userEnv[0]).toEqual([{ name: 'CORTEX_API_KEY', valueFrom: { secretKeyRef: { name: 'hello-client-key', key: 'key', optional: false } } }]);
    expect(userEnv[1]).toEqual([
      { name: 'RESPONSE', value: 'hello' },
      { name: 'GREETING', valueFrom: { secretKeyRef: { name: 'greetings', key: 'en.txt', optional: false } } },
    ]);
    // hello scales to zero: its InterceptorRoute, and the splitter's route to it through the interceptor.
    expect(objects.filter((o) => o.kind === 'InterceptorRoute').map((o) => o.metadata.name)).toEqual(['hello']);
    expect(validateObjects(withoutInterceptorRoutes(objects))).toEqual([]);
  });

  test('GIVEN every shape of API WHEN rendered THEN one ServiceAccount per API, <api>-sa without a Kubernetes token, schema-valid, and the pods run as it', () => {
    const config = broadConfig();
    const objects = renderAll(config);
    const accounts = objects.filter((o) => o.kind === 'ServiceAccount');
    expect(accounts.map((a) => a.metadata.name).sort()).toEqual(config.apis.map((a) => `${a.name}-sa`).sort());
    expect(accounts.every((a) => (a as KubeObject & { automountServiceAccountToken?: boolean }).automountServiceAccountToken === false)).toBe(true);
    const deployments = objects.filter((o) => o.kind === 'Deployment');
    expect(deployments.map((d) => d.spec.template.spec.serviceAccountName).sort()).toEqual(accounts.map((a) => a.metadata.name).sort());
    expect(validateObjects(accounts)).toEqual([]);
    // A wrong field is caught, so the check above is not vacuous.
    expect(validateObjects([{ ...accounts[0], automountServiceAccountToken: 'no' } as KubeObject])).not.toEqual([]);
  });

  test('GIVEN every shape of API WHEN rendered THEN one NetworkPolicy per API (none per splitter, which has no pods), schema-valid', () => {
    const config = broadConfig();
    const policies = renderAll(config).filter((o) => o.kind === 'NetworkPolicy');
    expect(policies.map((p) => p.metadata.name).sort()).toEqual(config.apis.map((a) => a.name).sort());
    expect(validateObjects(policies)).toEqual([]);
  });

  test('GIVEN a NetworkPolicy whose policyTypes is a string, not a list WHEN validated THEN the validator reports it', () => {
    const policy = renderAll(broadConfig()).find((o) => o.kind === 'NetworkPolicy')!;
    const broken = { ...policy, spec: { ...policy.spec, policyTypes: 'Ingress' } };
    expect(validateObjects([broken]).map((p) => p.path)).toContain('/spec/policyTypes');
  });

  test('GIVEN an API and a splitter with networking.auth.jwt, parsed by lib/config WHEN rendered THEN their Istio security objects validate', () => {
    // GIVEN
    const yaml = `
- name: iris
  kind: RealtimeAPI
  pod:
    containers: [{name: api, image: "iris:1"}]
  networking:
    auth:
      api_keys: {}
      jwt:
        issuer: https://cognito-idp.us-east-1.amazonaws.com/us-east-1_AbC123
        jwks_uri: https://cognito-idp.us-east-1.amazonaws.com/us-east-1_AbC123/.well-known/jwks.json
        audiences: [client-a, client-b]
- name: iris-split
  kind: TrafficSplitter
  networking:
    auth:
      jwt: {issuer: "https://login.example.com/"}
  apis:
  - {name: iris, weight: 100}
`;
    // WHEN
    const objects = renderAll(parseConfig(yaml, 'cortex.yaml'));
    // THEN
    const security = objects.filter((o) => o.apiVersion === 'security.istio.io/v1');
    expect(security.map((o) => `${o.kind}/${o.metadata.namespace}/${o.metadata.name}`).sort()).toEqual([
      'AuthorizationPolicy/istio-system/iris-split.cortex',
      'AuthorizationPolicy/istio-system/iris.cortex',
      'RequestAuthentication/istio-system/iris-split.cortex',
      'RequestAuthentication/istio-system/iris.cortex',
    ]);
    expect(validateObjects(objects)).toEqual([]);
  });

  test('GIVEN an AuthorizationPolicy whose action is not one of Istio\'s WHEN validated THEN the Istio schema reports it', () => {
    const yaml = '- name: iris\n  kind: RealtimeAPI\n  pod: {containers: [{name: api, image: "iris:1"}]}\n  networking: {auth: {jwt: {issuer: "https://idp.example.com"}}}\n';
    const policy = renderAll(parseConfig(yaml, 'cortex.yaml')).find((o) => o.kind === 'AuthorizationPolicy')!;
    expect(validateObjects([{ ...policy, spec: { ...policy.spec, action: 'REFUSE' } }])).toEqual([expect.objectContaining({ path: '/spec/action' })]);
  });

  test('GIVEN a Deployment with replicas "abc" WHEN validated THEN the validator reports it', () => {
    // GIVEN
    const deployment = renderAll(broadConfig()).find((o) => o.kind === 'Deployment')!;
    const broken = { ...deployment, spec: { ...deployment.spec, replicas: 'abc' } };
    // WHEN
    const problems = validateObjects([broken]);
    // THEN
    expect(problems).toEqual([
      expect.objectContaining({ index: 0, object: `Deployment/${deployment.metadata.name}`, path: '/spec/replicas' }),
    ]);
  });

  test('GIVEN a ScaledObject whose trigger metadata is not all strings WHEN validated THEN the KEDA schema reports it', () => {
    const scaledObject = renderAll(broadConfig()).find((o) => o.kind === 'ScaledObject')!;
    const trigger = { ...scaledObject.spec.triggers[0], metadata: { ...scaledObject.spec.triggers[0].metadata, threshold: 4 } };
    const broken = { ...scaledObject, spec: { ...scaledObject.spec, triggers: [trigger] } };
    expect(validateObjects([broken])).toEqual([expect.objectContaining({ path: '/spec/triggers/0/metadata/threshold' })]);
  });

  test('GIVEN a VirtualService with a numeric timeout WHEN validated THEN the Istio schema reports it', () => {
    const vs = renderAll(broadConfig()).find((o) => o.kind === 'VirtualService')!;
    const broken = { ...vs, spec: { ...vs.spec, http: [{ ...vs.spec.http[0], timeout: 30 }] } };
    expect(validateObjects([broken])).toEqual([expect.objectContaining({ path: '/spec/http/0/timeout' })]);
  });

  test("GIVEN the APIs gateway's Gateway and keepalive EnvoyFilter WHEN validated THEN both are valid; an EnvoyFilter listener match with a port as text is reported", () => {
    expect(validateObjects([gatewayObject(), keepaliveEnvoyFilter()])).toEqual([]);
    const filter = keepaliveEnvoyFilter() as KubeObject;
    const patch = filter.spec.configPatches[0];
    const broken = { ...filter, spec: { ...filter.spec, configPatches: [{ ...patch, match: { ...patch.match, listener: { portNumber: '80' } } }] } };
    expect(validateObjects([broken])).toEqual([expect.objectContaining({ path: '/spec/configPatches/0/match/listener/portNumber' })]);
  });

  test('GIVEN an object of a kind the validator has no model for WHEN validated THEN it throws rather than passing', () => {
    expect(() => validateObjects([{ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' } }])).toThrow(
      /no schema model/,
    );
  });
});

describe('read_apis: the Roles and RoleBindings', () => {
  test('GIVEN an API with read_apis parsed by lib/config WHEN rendered THEN its Roles and RoleBindings validate', () => {
    const yaml = '- name: iris\n  kind: RealtimeAPI\n  read_apis: true\n  pod: {containers: [{name: api, image: "iris:1"}]}\n';
    const objects = renderAll(parseConfig(yaml, 'cortex.yaml'));
    const rbac = objects.filter((o) => o.kind === 'Role' || o.kind === 'RoleBinding');
    expect(rbac.map((o) => `${o.kind} ${o.metadata.namespace}/${o.metadata.name}`)).toEqual([
      'Role cortex/iris-read-apis',
      'RoleBinding cortex/iris-read-apis',
      'Role istio-system/iris.cortex-read-apis',
      'RoleBinding istio-system/iris.cortex-read-apis',
    ]);
    expect(validateObjects([...rbac, ...objects.filter((o) => o.kind === 'Deployment')])).toEqual([]);
    // A wrong field is caught, so the check above is not vacuous.
    expect(validateObjects([{ ...rbac[1], subjects: 'iris-sa' } as KubeObject])).not.toEqual([]);
  });
});
