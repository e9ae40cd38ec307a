/**
 * The rollout gate's handler as Lambda runs it — the esbuild bundle of lambda/rollout-gate/index.ts,
 * built fresh for these tests (jest cannot load the ES module @kubernetes/client-node from the sources) —
 * against a fake Kubernetes API server on loopback.
 */
import * as fs from 'node:fs';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import type * as Gate from '../../../lambda/rollout-gate/index';
import { FakeHttpServer, kubeStatus } from '../../support/fake-http';
import { tempDir } from '../../util';
import {
  API,
  NAMESPACE,
  OLD_SPEC_HASH,
  crashLooping,
  deployment,
  event,
  gateProperties,
  imagePullFailing,
  isCompleteEvent,
  list,
  onEventEvent,
  pod,
  ready,
  runningNotReady,
  unschedulable,
  type Json,
} from './kube-objects';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { bundleLambdas } = require('../../../scripts/bundle-lambdas.js') as { bundleLambdas: (outRoot: string) => Promise<string[]> };

const NOW = new Date('2025-06-01T12:00:00Z');
const minutesAgo = (minutes: number) => new Date(NOW.getTime() - minutes * 60_000);
const DEPLOYMENT_PATH = `/apis/apps/v1/namespaces/${NAMESPACE}/deployments/${API}`;
const PODS_PATH = `/api/v1/namespaces/${NAMESPACE}/pods`;
const EVENTS_PATH = `/api/v1/namespaces/${NAMESPACE}/events`;

const bundleDir = tempDir('rollout-gate-bundle-');
let gate: typeof Gate;
let fake: FakeHttpServer;
let progress: string[];

beforeAll(async () => {
  const [bundle] = await bundleLambdas(bundleDir);
  gate = require(bundle);
});

beforeEach(async () => {
  fake = await FakeHttpServer.start();
  progress = [];
});

afterEach(async () => {
  await fake.stop();
});

/** Serves the API's Deployment, its pods, their events (by pod) and their previous logs (by pod). */
function serve(state: { deployment?: Json; pods?: Json[]; events?: Json[]; logs?: Record<string, string> }): void {
  if (state.deployment) fake.on('GET', DEPLOYMENT_PATH, { body: state.deployment });
  fake.on('GET', PODS_PATH, { body: list('PodList', state.pods ?? []) });
  fake.on('GET', EVENTS_PATH, (req) => ({
    body: list(
      'EventList',
      (state.events ?? []).filter((e) => req.query.get('fieldSelector') === `involvedObject.kind=Pod,involvedObject.name=${e.involvedObject.name}`),
    ),
  }));
  fake.on('GET', new RegExp(`^${PODS_PATH}/([^/]+)/log$`), (_req, match) => ({ body: state.logs?.[match[1]] ?? '' }));
}

/** One isComplete look, `startedAt` being when onEvent started the wait. */
function look(startedAt: Date, properties = gateProperties()) {
  const client = gate.createKubeClient({ endpoint: fake.url, token: async () => 'test-token' });
  return gate.isCompleteHandler(isCompleteEvent(startedAt, 'Update', properties), { client, now: NOW, log: (l) => progress.push(l) });
}

/** The message a look fails with. */
async function failure(startedAt: Date, properties = gateProperties()): Promise<string> {
  try {
    await look(startedAt, properties);
  } catch (e) {
    const error = e as Error;
    expect(error.name).toBe('RolloutFailure');
    // One line: the provider framework appends the trace's other lines to the message.
    expect(error.stack).toBe(`RolloutFailure: ${error.message.split('\n')[0]}`);
    return error.message;
  }
  throw new Error('the look did not fail');
}

const HEAD = `RealtimeAPI "${API}" did not roll out (Deployment ${NAMESPACE}/${API}): `;

describe('isComplete', () => {
  test('GIVEN every replica updated and available WHEN it looks THEN it is complete, having asked with the bearer token', async () => {
    serve({ deployment: deployment(), pods: [pod('iris-a'), pod('iris-b')] });
    await expect(look(minutesAgo(1))).resolves.toEqual({ IsComplete: true });
    expect(fake.requestsTo(DEPLOYMENT_PATH)[0].headers.authorization).toBe('Bearer test-token');
    expect(progress).toEqual([`rollout of ${NAMESPACE}/${API} (4228a5cc03be191d) complete: every replica updated and available`]);
  });

  test('GIVEN new replicas still starting WHEN it looks before the timeout THEN it is not complete and says what it waits for', async () => {
    serve({
      deployment: deployment({ updated: 1, total: 3, available: 2 }),
      pods: [pod('iris-a'), pod('iris-b', { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'True' }], containerStatuses: [] })],
    });
    await expect(look(minutesAgo(1))).resolves.toEqual({ IsComplete: false });
    expect(progress[0]).toMatch(/after 60s: 1 of 2 new replicas updated; iris-b: Pending$/);
    expect(fake.requestsTo(PODS_PATH)[0].query.get('labelSelector')).toBe('cortex.dev/api-name=iris,cortex.dev/api-kind=RealtimeAPI');
  });

  test('GIVEN the controller has not seen the new spec WHEN it looks THEN it waits', async () => {
    serve({ deployment: deployment({ generation: 5, observedGeneration: 4 }) });
    await expect(look(minutesAgo(0))).resolves.toEqual({ IsComplete: false });
    expect(progress[0]).toMatch(/waiting for the Deployment controller to observe generation 5/);
  });

  test('GIVEN a failing readiness probe WHEN the timeout passes THEN it fails naming the pod and the probe\'s message', async () => {
    serve({
      deployment: deployment({ updated: 2, total: 2, available: 1 }),
      pods: [pod('iris-a'), pod('iris-b', { containerStatuses: [runningNotReady('api')] })],
      events: [
        event('iris-b', 'Unhealthy', 'Readiness probe failed: Get "http://10.0.1.7:15000/healthz": connection refused', '2025-06-01T11:55:00Z'),
        event('iris-b', 'Unhealthy', 'Readiness probe failed: HTTP probe failed with statuscode: 503', '2025-06-01T11:59:00Z'),
        event('iris-a', 'Unhealthy', 'Readiness probe failed: not this pod'),
      ],
    });
    // Before the timeout, a pod that is not ready yet is waited for.
    await expect(look(minutesAgo(9))).resolves.toEqual({ IsComplete: false });

    const message = await failure(minutesAgo(11));
    expect(message).toBe(
      `${HEAD}did not complete within 10m: 1 of 2 updated replicas available\n` +
        '- pod iris-b, container api: not ready: Readiness probe failed: HTTP probe failed with statuscode: 503',
    );
  });

  test('GIVEN a container crash-looping WHEN it looks THEN it fails at once with the exit code and the last lines of its previous run', async () => {
    const log = [...Array.from({ length: 30 }, (_, i) => `loading shard ${i}`), 'Traceback (most recent call last):', '  File "/mnt/predictor.py", line 3', "ModuleNotFoundError: No module named 'torch'", ''].join('\n');
    serve({
      deployment: deployment({ updated: 2, total: 3, available: 1 }),
      pods: [
        pod('iris-old', { specHash: OLD_SPEC_HASH }),
        pod('iris-a', { containerStatuses: [crashLooping('api', 4), ready('proxy')] }),
        pod('iris-b', { containerStatuses: [crashLooping('api', 4), ready('proxy')] }),
      ],
      logs: { 'iris-a': log },
    });
    const message = await failure(minutesAgo(2));
    expect(message).toBe(
      `${HEAD}1 old replica pending termination\n` +
        '- pods iris-a, iris-b, container api: crash looping: restarted 4 times, last exit code 1; last log lines:\n' +
        [21, 22, 23, 24, 25, 26, 27, 28, 29].map((i) => `    | loading shard ${i}\n`).join('') +
        '    | Traceback (most recent call last):\n' +
        '    |   File "/mnt/predictor.py", line 3\n' +
        "    | ModuleNotFoundError: No module named 'torch'",
    );
    // The log asked for: the crashed run's, its tail, of the crashing container, once for both pods.
    const logRequests = fake.requests.filter((r) => r.path.endsWith('/log'));
    expect(logRequests.map((r) => r.path)).toEqual([`${PODS_PATH}/iris-a/log`]);
    expect(Object.fromEntries(logRequests[0].query)).toEqual({ container: 'api', previous: 'true', tailLines: '12' });
  });

  test('GIVEN a container that crashed once (OOMKilled) WHEN it looks THEN it waits: it may still come up', async () => {
    serve({ deployment: deployment({ available: 1 }), pods: [pod('iris-a', { containerStatuses: [crashLooping('api', 1, 137, 'OOMKilled')] })] });
    await expect(look(minutesAgo(1))).resolves.toEqual({ IsComplete: false });
    expect(progress[0]).toMatch(/iris-a: CrashLoopBackOff$/);

    const message = await failure(minutesAgo(10));
    expect(message).toContain('- pod iris-a, container api: crash looping: restarted 1 time, killed for using more memory than its limit; last log lines:\n    | (the log is empty)');
  });

  test('GIVEN a pod no node can take (insufficient nvidia.com/gpu) WHEN it looks THEN it waits for the autoscaler, and at the timeout names the scheduler\'s reason', async () => {
    const pending = (name: string) =>
      pod(name, { phase: 'Pending', conditions: unschedulable('0/3 nodes are available: 3 Insufficient nvidia.com/gpu.'), containerStatuses: [] });
    serve({
      deployment: deployment({ updated: 2, total: 2, available: 0 }),
      pods: [pending('iris-a'), pending('iris-b')],
      events: [event('iris-a', 'NotTriggerScaleUp', "pod didn't trigger scale-up: 1 max node group size reached")],
    });
    await expect(look(minutesAgo(5))).resolves.toEqual({ IsComplete: false });

    const message = await failure(minutesAgo(10));
    expect(message).toBe(
      `${HEAD}did not complete within 10m: 0 of 2 updated replicas available\n` +
        "- pod iris-a: waiting for GPU capacity (nvidia.com/gpu): 0/3 nodes are available: 3 Insufficient nvidia.com/gpu.; cluster-autoscaler: pod didn't trigger scale-up: 1 max node group size reached\n" +
        '- pod iris-b: waiting for GPU capacity (nvidia.com/gpu): 0/3 nodes are available: 3 Insufficient nvidia.com/gpu.',
    );
  });

  test('GIVEN an image that cannot be pulled WHEN it looks THEN it fails at once naming the image and the registry\'s answer', async () => {
    const image = 'registry.example.com/iris:does-not-exist';
    serve({
      deployment: deployment({ updated: 1, total: 3, available: 2 }),
      pods: [
        pod('iris-a', {
          phase: 'Pending',
          containerStatuses: [imagePullFailing('api', image, 'ImagePullBackOff', `Back-off pulling image "${image}": not found`), ready('proxy')],
        }),
      ],
    });
    const message = await failure(minutesAgo(1));
    expect(message).toBe(
      `${HEAD}1 of 2 new replicas updated\n` +
        `- pod iris-a, container api: image pull failure: cannot pull ${image} (ImagePullBackOff: Back-off pulling image "${image}": not found)`,
    );
  });

  test('GIVEN a container whose Secret is missing WHEN it looks THEN it fails at once (not after the timeout) naming the Secret', async () => {
    const configError = { ...imagePullFailing('api', 'registry.example.com/iris:2', 'CreateContainerConfigError', 'secret "hf-token" not found'), image: 'registry.example.com/iris:2' };
    serve({ deployment: deployment({ updated: 1, total: 3, available: 2 }), pods: [pod('iris-a', { phase: 'Pending', containerStatuses: [configError, ready('proxy')] })] });
    const message = await failure(minutesAgo(1));
    expect(message).toBe(`${HEAD}1 of 2 new replicas updated\n- pod iris-a, container api: cannot start (CreateContainerConfigError: secret "hf-token" not found)`);
  });

  test('GIVEN a first ErrImagePull WHEN it looks THEN it waits: the kubelet retries', async () => {
    serve({ deployment: deployment({ available: 1 }), pods: [pod('iris-a', { containerStatuses: [imagePullFailing('api', 'registry.example.com/iris:2', 'ErrImagePull', 'i/o timeout')] })] });
    await expect(look(minutesAgo(1))).resolves.toEqual({ IsComplete: false });
  });

  test('GIVEN the Deployment deleted WHEN it looks THEN it fails saying so', async () => {
    serve({});
    const message = await failure(minutesAgo(1));
    expect(message).toBe(`${HEAD}the Deployment was not found: it was deleted, or the manifest did not create it`);
  });

  test('GIVEN ProgressDeadlineExceeded WHEN it looks THEN it fails with Kubernetes\' message and the pods\' problems', async () => {
    serve({
      deployment: deployment({
        updated: 1,
        available: 1,
        conditions: [{ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded', message: 'ReplicaSet "iris-5d8c7f" has timed out progressing.' }],
      }),
      pods: [pod('iris-a', { containerStatuses: [runningNotReady('api')] })],
    });
    const message = await failure(minutesAgo(3));
    expect(message).toBe(
      `${HEAD}ProgressDeadlineExceeded: ReplicaSet "iris-5d8c7f" has timed out progressing.\n` + '- pod iris-a, container api: running but not ready',
    );
  });

  test('GIVEN the Deployment runs another revision (a later deploy, or a rollback re-applied the old one) WHEN it looks THEN it is complete without waiting', async () => {
    serve({ deployment: deployment({ specHash: OLD_SPEC_HASH, available: 0 }) });
    await expect(look(minutesAgo(1))).resolves.toEqual({ IsComplete: true });
    expect(progress[0]).toMatch(/now runs spec hash 0123456789abcdef, not 4228a5cc03be191d/);
    expect(fake.requestsTo(PODS_PATH)).toHaveLength(0);
  });

  test('GIVEN the role may not read the namespace WHEN it looks THEN it fails at once pointing at the access entry', async () => {
    fake.on('GET', DEPLOYMENT_PATH, {
      status: 403,
      body: kubeStatus(403, 'Forbidden', 'deployments.apps "iris" is forbidden: User "arn:aws:sts::123456789012:assumed-role/gate" cannot get resource "deployments"'),
    });
    const message = await failure(minutesAgo(0));
    expect(message).toMatch(/^RealtimeAPI "iris": the rollout gate may not read the API's objects in namespace cortex \(cannot read Deployment cortex\/iris: HTTP 403: deployments.apps "iris" is forbidden/);
    expect(message).toMatch(/needs the EKS access entry with AmazonEKSViewPolicy on namespace cortex$/);
  });

  test('GIVEN the API server failing WHEN it looks THEN it tries again until the timeout, then fails with the error', async () => {
    fake.on('GET', DEPLOYMENT_PATH, { status: 503, body: kubeStatus(503, 'ServiceUnavailable', 'etcdserver: leader changed') });
    await expect(look(minutesAgo(1))).resolves.toEqual({ IsComplete: false });
    expect(progress[0]).toMatch(/HTTP 503: etcdserver: leader changed/);
    const message = await failure(minutesAgo(10));
    expect(message).toBe('RealtimeAPI "iris": the rollout could not be followed within 10m: cannot read Deployment cortex/iris: HTTP 503: etcdserver: leader changed');
  });

  test('GIVEN the pods cannot be listed for a moment WHEN it looks THEN it waits, as for the Deployment', async () => {
    serve({ deployment: deployment({ available: 1 }) });
    fake.on('GET', PODS_PATH, { status: 500, body: kubeStatus(500, 'InternalError', 'etcdserver: request timed out') });
    await expect(look(minutesAgo(1))).resolves.toEqual({ IsComplete: false });
    expect(progress[0]).toMatch(/cannot list the pods of cortex with .*: HTTP 500: etcdserver: request timed out$/);
  });

  test('GIVEN the role may read the Deployment but not the pods WHEN it looks THEN it fails at once pointing at the access entry', async () => {
    serve({ deployment: deployment({ available: 1 }) });
    fake.on('GET', PODS_PATH, { status: 403, body: kubeStatus(403, 'Forbidden', 'pods is forbidden') });
    const message = await failure(minutesAgo(1));
    expect(message).toMatch(/^RealtimeAPI "iris": the rollout gate may not read the API's objects in namespace cortex \(cannot list the pods of cortex/);
    expect(message).toMatch(/needs the EKS access entry with AmazonEKSViewPolicy on namespace cortex$/);
  });

  test('GIVEN an endpoint that never answers WHEN it looks THEN each call gives up after the request timeout; at the gate\'s timeout it fails saying the endpoint did not answer', async () => {
    const accepted: Array<() => void> = [];
    fake.on('GET', DEPLOYMENT_PATH, () => (res) => accepted.push(() => res.destroy()));
    const client = gate.createKubeClient({ endpoint: fake.url, token: async () => 'test-token', requestTimeoutMs: 100 });
    const lookWith = (startedAt: Date) => gate.isCompleteHandler(isCompleteEvent(startedAt, 'Update', gateProperties()), { client, now: NOW, log: (l) => progress.push(l) });

    await expect(lookWith(minutesAgo(1))).resolves.toEqual({ IsComplete: false });
    expect(progress[0]).toMatch(/cannot read Deployment cortex\/iris: no answer within 0.1s$/);

    const failed = await lookWith(minutesAgo(10)).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(failed?.name).toBe('RolloutFailure');
    expect(failed?.message).toBe(
      'RealtimeAPI "iris": the rollout could not be followed within 10m: cannot read Deployment cortex/iris: no answer within 0.1s; ' +
        "the cluster's endpoint did not answer the gate's functions (a private endpoint: they must run in the cluster's VPC, " +
        'RolloutGateProvider inVpc, with the cluster security group letting them in)',
    );
    expect(accepted).toHaveLength(2);
    accepted.forEach((close) => close());
  });

  test('GIVEN many failing pods with long logs WHEN it fails THEN the message stays under the limit, the problems first', async () => {
    const longLog = Array.from({ length: 12 }, (_, i) => `${i} ${'x'.repeat(400)}`).join('\n');
    const pods = Array.from({ length: 8 }, (_, i) =>
      pod(`iris-${i}`, { containerStatuses: [i % 2 === 0 ? crashLooping('api', 5, i + 1) : imagePullFailing('api', `registry.example.com/iris:${i}`)] }),
    );
    serve({ deployment: deployment({ replicas: 8, available: 0 }), pods, logs: Object.fromEntries(pods.map((p) => [p.metadata.name, longLog])) });
    const message = await failure(minutesAgo(1));
    expect(message.length).toBeLessThanOrEqual(2_000);
    expect(message).toContain('- pod iris-0, container api: crash looping: restarted 5 times, last exit code 1; last log lines:');
    expect(message).toMatch(/- and \d+ more kinds of problem$/);
  });

  test('GIVEN a delete WHEN it looks THEN it is complete without a call', async () => {
    const client = gate.createKubeClient({ endpoint: fake.url, token: async () => 'test-token' });
    await expect(gate.isCompleteHandler(isCompleteEvent(NOW, 'Delete'), { client, now: NOW })).resolves.toEqual({ IsComplete: true });
    expect(fake.requests).toHaveLength(0);
  });
});

describe('the Kubernetes client over TLS', () => {
  const tls = path.join(__dirname, '..', '..', 'support', 'tls');
  let server: https.Server;
  let endpoint: string;

  beforeAll(async () => {
    server = https.createServer({ cert: fs.readFileSync(path.join(tls, 'localhost.crt')), key: fs.readFileSync(path.join(tls, 'localhost.key')) }, (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(deployment()));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    endpoint = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const readDeployment = (certificateAuthority?: string) =>
    gate.createKubeClient({ endpoint, certificateAuthority, token: async () => 'test-token' }).readDeployment(NAMESPACE, API);

  test('trusts the cluster\'s certificate authority given as base64 PEM, as EKS hands it out', async () => {
    const ca = fs.readFileSync(path.join(tls, 'localhost.crt')).toString('base64');
    await expect(readDeployment(ca)).resolves.toMatchObject({ metadata: { name: API } });
  });

  test('refuses a server its certificate authority did not sign', async () => {
    await expect(readDeployment()).rejects.toMatchObject({ name: 'KubeApiError', status: undefined, message: expect.stringMatching(/^cannot read Deployment cortex\/iris: .*SELF_SIGNED/) });
  });
});

describe('onEvent', () => {
  test('a create or an update starts the wait: the physical id names the Deployment, StartedAt is now', async () => {
    for (const type of ['Create', 'Update'] as const) {
      await expect(gate.onEventHandler(onEventEvent(type), NOW)).resolves.toEqual({
        PhysicalResourceId: 'rollout-gate/cortex/iris',
        Data: { StartedAt: '2025-06-01T12:00:00.000Z' },
      });
    }
  });

  test('a delete has nothing to wait for: it keeps the physical id', async () => {
    await expect(gate.onEventHandler(onEventEvent('Delete'), NOW)).resolves.toEqual({ PhysicalResourceId: 'rollout-gate/cortex/iris' });
  });

  test('properties that are wrong fail the resource, naming the property', async () => {
    await expect(gate.onEventHandler(onEventEvent('Create', gateProperties({ TimeoutSeconds: 'ten minutes' })), NOW)).rejects.toThrow(
      'rollout gate: property TimeoutSeconds ("ten minutes") must be a positive whole number of seconds',
    );
    await expect(gate.onEventHandler(onEventEvent('Create', gateProperties({ SpecHash: undefined })), NOW)).rejects.toThrow(/property SpecHash/);
  });
});

describe('the Lambda entry point isComplete', () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
  });

  test('reads the cluster from its environment and authenticates with an EKS token signed with its credentials', async () => {
    serve({ deployment: deployment() });
    Object.assign(process.env, {
      CORTEX_CLUSTER_NAME: 'cortex-test',
      CORTEX_CLUSTER_ENDPOINT: fake.url,
      CORTEX_CLUSTER_CA: '',
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
      AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
      AWS_SESSION_TOKEN: '',
    });
    delete process.env.AWS_PROFILE;
    const log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
    await expect(gate.isComplete(isCompleteEvent(new Date()))).resolves.toEqual({ IsComplete: true });
    expect(log).toHaveBeenCalledWith(expect.stringMatching(/^rollout of cortex\/iris \(4228a5cc03be191d\) complete/));
    log.mockRestore();
    const authorization = fake.requestsTo(DEPLOYMENT_PATH)[0].headers.authorization!;
    expect(authorization).toMatch(/^Bearer k8s-aws-v1\.[A-Za-z0-9_-]+$/);
    const url = new URL(Buffer.from(authorization.slice('Bearer k8s-aws-v1.'.length), 'base64url').toString('utf8'));
    expect(url.host).toBe('sts.us-east-1.amazonaws.com');
    expect(url.searchParams.get('X-Amz-Credential')).toMatch(/^AKIDEXAMPLE\//);
  });

  test('for a cluster imported without endpoint and CA (empty variables), asks EKS for them first', async () => {
    serve({ deployment: deployment() });
    const eks = await FakeHttpServer.start();
    try {
      eks.on('GET', '/clusters/imported', { body: { cluster: { endpoint: fake.url, certificateAuthority: { data: Buffer.from('unused over http').toString('base64') } } } });
      Object.assign(process.env, {
        CORTEX_CLUSTER_NAME: 'imported',
        CORTEX_CLUSTER_ENDPOINT: '',
        CORTEX_CLUSTER_CA: '',
        AWS_ENDPOINT_URL_EKS: eks.url,
        AWS_REGION: 'us-east-1',
        AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
        AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
      });
      jest.spyOn(console, 'log').mockImplementation(() => undefined);
      await expect(gate.isComplete(isCompleteEvent(new Date()))).resolves.toEqual({ IsComplete: true });
      expect(eks.requestsTo('/clusters/imported')).toHaveLength(1);
      expect(fake.requestsTo(DEPLOYMENT_PATH)[0].headers.authorization).toMatch(/^Bearer k8s-aws-v1\./);
    } finally {
      jest.restoreAllMocks();
      await eks.stop();
    }
  });

  test('a delete is complete without the cluster', async () => {
    delete process.env.CORTEX_CLUSTER_NAME;
    await expect(gate.isComplete(isCompleteEvent(new Date(), 'Delete'))).resolves.toEqual({ IsComplete: true });
  });

  test('without the cluster in its environment it fails naming the variable', async () => {
    delete process.env.CORTEX_CLUSTER_NAME;
    const error = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    const failed = await gate.isComplete(isCompleteEvent(new Date())).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(failed?.message).toMatch('the environment variable CORTEX_CLUSTER_NAME is not set');
    // One line, for CloudFormation's status reason (the provider framework appends the trace); the whole stack is logged.
    expect(failed?.stack).toBe(`Error: ${failed?.message}`);
    expect(error).toHaveBeenCalledWith(expect.stringMatching(/^Error: rollout gate: the environment variable CORTEX_CLUSTER_NAME is not set \(the construct sets it\)\n/));
    error.mockRestore();
  });
});
