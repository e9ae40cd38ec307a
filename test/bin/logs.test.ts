import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  CloudWatchLogsClient,
  DescribeLogGroupsCommand,
  FilterLogEventsCommand,
  ResourceNotFoundException,
  StartLiveTailCommand,
  StartLiveTailResponseStream,
} from '@aws-sdk/client-cloudwatch-logs';
import { mockClient } from 'aws-sdk-client-mock';
import { CliIo } from '../../bin/cli/io';
import { logsCommand } from '../../bin/cli/logs';
import { FakeHttpServer, writeKubeconfig } from '../support/fake-http';
import { deployment, serveCluster, virtualService } from '../support/kube-fixtures';
import { runCliAsync, tempDir, writeFile } from '../util';

const dir = tempDir();
const cwl = mockClient(CloudWatchLogsClient);
const LOG_GROUP = '/aws/containerinsights/demo/application';
const LOG_GROUP_ARN = `arn:aws:logs:us-east-1:123456789012:log-group:${LOG_GROUP}`;
const PATTERN = '{ ($.kubernetes.namespace_name = "cortex") && ($.kubernetes.pod_name = %^iris-[a-z0-9]+-[a-z0-9]+$%) }';

let kube: FakeHttpServer;
let kubeconfig: string;

beforeEach(async () => {
  cwl.reset();
  kube = await FakeHttpServer.start();
  kubeconfig = writeKubeconfig(fs.mkdtempSync(path.join(dir, 'kube-')), kube.url);
  serveCluster(kube, {
    deployments: [deployment('iris'), deployment('iris-v2')],
    virtualServices: [virtualService('iris-split', 'TrafficSplitter', { routes: [{ api: 'iris', weight: 50 }, { api: 'iris-v2', weight: 50 }] })],
  });
});

afterEach(async () => {
  await kube.stop();
});

/** A log event as the observability add-on's Fluent Bit writes it. */
function event(pod: string, container: string, text: string, options: { namespace?: string; timestamp?: number } = {}) {
  const namespace = options.namespace ?? 'cortex';
  const timestamp = options.timestamp ?? Date.parse('2025-05-01T10:00:00Z');
  return {
    logStreamName: `ip-10-0-1-23.ec2.internal-application.var.log.containers.${pod}_${namespace}_${container}-${'0a'.repeat(32)}.log`,
    timestamp,
    ingestionTime: timestamp + 2_000,
    message: JSON.stringify({
      time: new Date(timestamp).toISOString(),
      stream: 'stdout',
      _p: 'F',
      log: `${text}\n`,
      kubernetes: {
        pod_name: pod,
        namespace_name: namespace,
        pod_id: 'c0ffee00-0000-4000-8000-000000000000',
        host: 'ip-10-0-1-23.ec2.internal',
        container_name: container,
        docker_id: '0a'.repeat(32),
        container_image: `123456789012.dkr.ecr.us-east-1.amazonaws.com/${container}:v1`,
      },
    }),
  };
}

const logs = (...args: string[]) => runCliAsync(['logs', ...args, '--kubeconfig', kubeconfig, '--cluster', 'demo', '--region', 'us-east-1'], dir);

describe('cortex logs API (FilterLogEvents)', () => {
  test('reads every page, prints the API pods\' lines prefixed with pod and container, and nothing of iris-v2', async () => {
    // GIVEN two pages; the second also holds lines of iris-v2 and of another namespace
    cwl
      .on(FilterLogEventsCommand)
      .resolvesOnce({
        events: [event('iris-7d9f8c6b5-x2x4z', 'api', 'loading model'), event('iris-7d9f8c6b5-x2x4z', 'proxy', 'cortex-proxy: listening on 0.0.0.0:8888')],
        nextToken: 'page-2',
      })
      .resolvesOnce({ events: [], nextToken: 'page-3' })
      .resolvesOnce({
        events: [
          event('iris-v2-5c6d7f8b9-q8k9m', 'api', 'not mine'),
          event('iris-7d9f8c6b5-x2x4z', 'other', 'not mine either', { namespace: 'default' }),
          event('iris-7d9f8c6b5-n5v7w', 'api', 'ready'),
        ],
      });
    const before = Date.now();

    // WHEN
    const { code, out, err } = await logs('iris');

    // THEN
    expect(err).toBe('');
    expect(code).toBe(0);
    expect(out).toBe(
      '[iris-7d9f8c6b5-x2x4z api] loading model\n' +
        '[iris-7d9f8c6b5-x2x4z proxy] cortex-proxy: listening on 0.0.0.0:8888\n' +
        '[iris-7d9f8c6b5-n5v7w api] ready\n',
    );
    const calls = cwl.commandCalls(FilterLogEventsCommand).map((c) => c.args[0].input);
    expect(calls.map((c) => c.nextToken)).toEqual([undefined, 'page-2', 'page-3']);
    for (const input of calls) {
      expect(input).toMatchObject({ logGroupName: LOG_GROUP, filterPattern: PATTERN });
      // the default range: the last hour
      expect(input.startTime).toBeGreaterThanOrEqual(before - 3_600_000);
      expect(input.startTime).toBeLessThanOrEqual(Date.now() - 3_600_000);
    }
  });

  test('--container keeps one container, and the prefix names only the pod; --timestamps adds the time', async () => {
    cwl.on(FilterLogEventsCommand).resolves({ events: [event('iris-7d9f8c6b5-x2x4z', 'api', 'predicting'), event('iris-7d9f8c6b5-x2x4z', 'proxy', 'not this one')] });

    const { out } = await logs('iris', '-c', 'api', '--timestamps', '--since', '2025-05-01T09:00:00Z');

    expect(out).toBe('2025-05-01T10:00:00.000Z [iris-7d9f8c6b5-x2x4z] predicting\n');
    expect(cwl.commandCalls(FilterLogEventsCommand)[0].args[0].input).toMatchObject({
      filterPattern: PATTERN.replace(' }', ' && ($.kubernetes.container_name = "api") }'),
      startTime: Date.parse('2025-05-01T09:00:00Z'),
    });
  });

  test('no lines in the range: says so on stderr, exit 0', async () => {
    cwl.on(FilterLogEventsCommand).resolves({ events: [] });
    const { code, out, err } = await logs('iris', '--since', '10m');
    expect(code).toBe(0);
    expect(out).toBe('');
    expect(err).toBe(`cortex logs: no lines of iris in ${LOG_GROUP} since 10m\n`);
  });

  test('the cluster and region of an "aws eks update-kubeconfig" context, its exec plugin run for the API check', async () => {
    // GIVEN the kubeconfig the AWS CLI writes, with a stand-in for `aws` that prints an ExecCredential
    const home = fs.mkdtempSync(path.join(dir, 'eks-'));
    const aws = writeFile(
      home,
      'bin/aws',
      `#!/bin/sh\necho '{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1beta1","spec":{},"status":{"token":"k8s-aws-v1.abc","expirationTimestamp":"2999-01-01T00:00:00Z"}}'\n`,
    );
    fs.chmodSync(aws, 0o755);
    const arn = 'arn:aws:eks:eu-west-1:123456789012:cluster/prod-ml';
    const config = writeFile(
      home,
      'config',
      `apiVersion: v1
kind: Config
clusters:
- cluster:
    server: ${kube.url}
  name: ${arn}
contexts:
- context:
    cluster: ${arn}
    user: ${arn}
  name: ${arn}
current-context: ${arn}
users:
- name: ${arn}
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      command: ${aws}
      args: [--region, eu-west-1, eks, get-token, --cluster-name, prod-ml, --output, json]
`,
    );
    cwl.on(FilterLogEventsCommand).resolves({ events: [event('iris-7d9f8c6b5-x2x4z', 'api', 'hello')] });

    // WHEN
    const { code, out } = await runCliAsync(['logs', 'iris', '--kubeconfig', config], dir);

    // THEN
    expect(code).toBe(0);
    expect(out).toBe('[iris-7d9f8c6b5-x2x4z api] hello\n');
    expect(cwl.commandCalls(FilterLogEventsCommand)[0].args[0].input.logGroupName).toBe('/aws/containerinsights/prod-ml/application');
    expect(await (cwl.call(0).thisValue as CloudWatchLogsClient).config.region()).toBe('eu-west-1');
    expect(kube.requests[0].headers.authorization).toBe('Bearer k8s-aws-v1.abc');
  });
});

describe('cortex logs API --follow (StartLiveTail)', () => {
  async function* stream(...events: StartLiveTailResponseStream[]): AsyncGenerator<StartLiveTailResponseStream> {
    for (const e of events) yield e;
  }
  const sessionStart: StartLiveTailResponseStream = { sessionStart: { sessionId: 's-1', logGroupIdentifiers: [LOG_GROUP_ARN] } };
  const update = (...events: ReturnType<typeof event>[]): StartLiveTailResponseStream => ({
    sessionUpdate: { sessionMetadata: { sampled: false }, sessionResults: events.map((e) => ({ ...e, logGroupIdentifier: LOG_GROUP_ARN })) },
  });

  beforeEach(() => {
    cwl.on(DescribeLogGroupsCommand).resolves({
      logGroups: [
        { logGroupName: LOG_GROUP, arn: `${LOG_GROUP_ARN}:*`, logGroupArn: LOG_GROUP_ARN },
        { logGroupName: `${LOG_GROUP}-old`, arn: `${LOG_GROUP_ARN}-old:*`, logGroupArn: `${LOG_GROUP_ARN}-old` },
      ],
    });
  });

  test('streams the session updates, filtered to the API, with the log group ARN and the pattern', async () => {
    // GIVEN
    cwl.on(StartLiveTailCommand).resolves({
      responseStream: stream(
        sessionStart,
        update(event('iris-7d9f8c6b5-x2x4z', 'api', 'first'), event('iris-v2-5c6d7f8b9-q8k9m', 'api', 'not mine')),
        { sessionUpdate: { sessionMetadata: { sampled: true }, sessionResults: [] } },
        update(event('iris-7d9f8c6b5-x2x4z', 'proxy', 'second')),
      ),
    });

    // WHEN
    const { code, out, err } = await logs('iris', '--follow');

    // THEN
    expect(code).toBe(0);
    expect(out).toBe('[iris-7d9f8c6b5-x2x4z api] first\n[iris-7d9f8c6b5-x2x4z proxy] second\n');
    expect(err).toBe('cortex logs: note: CloudWatch Logs is sampling this live tail (more than 500 lines per second): some lines are not shown\n');
    expect(cwl.commandCalls(DescribeLogGroupsCommand)[0].args[0].input).toEqual({ logGroupNamePrefix: LOG_GROUP });
    expect(cwl.commandCalls(StartLiveTailCommand)[0].args[0].input).toEqual({ logGroupIdentifiers: [LOG_GROUP_ARN], logEventFilterPattern: PATTERN });
    expect(cwl.commandCalls(FilterLogEventsCommand)).toHaveLength(0);
  });

  test('Ctrl-C ends a session that is still open: exit 0', async () => {
    // GIVEN a session that never ends by itself
    let release: () => void = () => undefined;
    async function* endless(): AsyncGenerator<StartLiveTailResponseStream> {
      yield sessionStart;
      yield update(event('iris-7d9f8c6b5-x2x4z', 'api', 'first'));
      await new Promise<void>((resolve) => (release = resolve));
    }
    cwl.on(StartLiveTailCommand).resolves({ responseStream: endless() });
    const controller = new AbortController();
    let out = '';
    const io: CliIo = {
      out: (t) => {
        out += t;
        controller.abort(); // what Ctrl-C does
      },
      err: () => undefined,
      cwd: dir,
    };

    // WHEN
    const code = await logsCommand(['iris', '-f', '--kubeconfig', kubeconfig, '--cluster', 'demo', '--region', 'us-east-1'], io, controller.signal);

    // THEN
    expect(code).toBe(0);
    expect(out).toBe('[iris-7d9f8c6b5-x2x4z api] first\n');
    release();
  });

  test('--since with --follow: the lines since then first, then the live ones, each printed once', async () => {
    const t = Date.now() - 60_000;
    const overlap = event('iris-7d9f8c6b5-x2x4z', 'api', 'written while the history was read', { timestamp: t + 2 });
    cwl.on(FilterLogEventsCommand).resolves({ events: [event('iris-7d9f8c6b5-x2x4z', 'api', 'older', { timestamp: t + 1 }), overlap] });
    cwl.on(StartLiveTailCommand).resolves({ responseStream: stream(sessionStart, update(overlap, event('iris-7d9f8c6b5-x2x4z', 'api', 'newer', { timestamp: t + 3 }))) });

    const { code, out } = await logs('iris', '-f', '--since', '5m');

    expect(code).toBe(0);
    expect(out).toBe(
      '[iris-7d9f8c6b5-x2x4z api] older\n[iris-7d9f8c6b5-x2x4z api] written while the history was read\n[iris-7d9f8c6b5-x2x4z api] newer\n',
    );
  });

  test('a session that times out (after 3 hours) is followed by a new one', async () => {
    cwl
      .on(StartLiveTailCommand)
      .resolvesOnce({ responseStream: stream(sessionStart, update(event('iris-7d9f8c6b5-x2x4z', 'api', 'one')), { SessionTimeoutException: { message: 'Session timed out' } as never }) })
      .resolvesOnce({ responseStream: stream(sessionStart, update(event('iris-7d9f8c6b5-x2x4z', 'api', 'two'))) });

    const { out } = await logs('iris', '-f');

    expect(out).toBe('[iris-7d9f8c6b5-x2x4z api] one\n[iris-7d9f8c6b5-x2x4z api] two\n');
    expect(cwl.commandCalls(StartLiveTailCommand)).toHaveLength(2);
  });

  test('a missing log group: the add-on is not installed, or the cluster or region is wrong', async () => {
    cwl.on(DescribeLogGroupsCommand).resolves({ logGroups: [] });
    const { code, err } = await logs('iris', '-f');
    expect(code).toBe(1);
    expect(err).toBe(
      `cortex logs: log group ${LOG_GROUP} does not exist in us-east-1: is the amazon-cloudwatch-observability add-on installed on cluster demo, ` +
        'and are the cluster and region right (--cluster, --region)?\n',
    );
    expect(cwl.commandCalls(StartLiveTailCommand)).toHaveLength(0);
  });
});

describe('cortex logs: errors', () => {
  test('no AWS credentials', async () => {
    cwl.on(FilterLogEventsCommand).rejects(Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' }));
    const { code, err } = await logs('iris');
    expect(code).toBe(1);
    expect(err).toBe(
      'cortex logs: no AWS credentials: set AWS_PROFILE or pass --profile, sign in ("aws sso login", "aws configure"), ' +
        'or export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (Could not load credentials from any providers)\n',
    );
  });

  test('a region the SDK cannot use: says to pass a valid --region', async () => {
    // GIVEN the SDK's own failure for a malformed region (raised before any request is sent)
    cwl.on(FilterLogEventsCommand).rejects(new Error('Region not accepted: region="us east 1" is not a valid hostname component.'));

    // WHEN
    const { code, err } = await logs('iris');

    // THEN
    expect(code).toBe(1);
    expect(err).toBe(
      'cortex logs: the AWS region is not valid (region="us east 1" is not a valid hostname component.): pass --region with a region such as us-east-1\n',
    );
  });

  test('ResourceNotFoundException for the log group', async () => {
    cwl.on(FilterLogEventsCommand).rejects(new ResourceNotFoundException({ message: 'The specified log group does not exist.', $metadata: {} }));
    const { code, err } = await runCliAsync(['logs', 'iris', '--kubeconfig', kubeconfig, '--cluster', 'staging', '--region', 'us-east-1'], dir);
    expect(code).toBe(1);
    expect(err).toMatch(/^cortex logs: log group \/aws\/containerinsights\/staging\/application does not exist in us-east-1: is the amazon-cloudwatch-observability add-on installed on cluster staging/);
  });

  test('credentials AWS rejects, by every name its services give them: expired, or not accepted; AccessDenied as the query protocol names it', async () => {
    const said = async (name: string) => {
      cwl.reset();
      cwl.on(FilterLogEventsCommand).rejects(Object.assign(new Error(`${name} says no`), { name, $metadata: { httpStatusCode: 403 } }));
      return (await logs('iris')).err;
    };
    for (const name of ['ExpiredToken', 'ExpiredTokenException']) {
      expect(await said(name)).toBe(`cortex logs: the AWS credentials have expired: sign in again ("aws sso login") (${name} says no)\n`);
    }
    for (const name of ['InvalidClientTokenId', 'UnrecognizedClientException', 'SignatureDoesNotMatch', 'InvalidSignatureException']) {
      expect(await said(name)).toBe(`cortex logs: AWS did not accept the credentials in us-east-1 (${name}: ${name} says no)\n`);
    }
    expect(await said('AccessDenied')).toMatch(/^cortex logs: AWS denied access to \/aws\/containerinsights\/demo\/application in us-east-1: reading logs needs logs:FilterLogEvents/);
  });

  test('access denied names the permissions', async () => {
    cwl.on(FilterLogEventsCommand).rejects(Object.assign(new Error('User is not authorized to perform: logs:FilterLogEvents'), { name: 'AccessDeniedException' }));
    const { err } = await logs('iris');
    expect(err).toMatch(/^cortex logs: AWS denied access to \/aws\/containerinsights\/demo\/application in us-east-1: reading logs needs logs:FilterLogEvents/);
  });

  test('an unknown API: exit 1 naming the deployed ones, before any AWS call', async () => {
    const { code, err } = await logs('iriss');
    expect(code).toBe(1);
    expect(err).toBe('cortex logs: no API named "iriss" in namespace "cortex" (context "fake"); deployed: iris, iris-v2\n');
    expect(cwl.calls()).toHaveLength(0);
  });

  test('a traffic splitter: its logs are its APIs\'', async () => {
    const { code, err } = await logs('iris-split');
    expect(code).toBe(1);
    expect(err).toBe('cortex logs: iris-split is a TrafficSplitter: its logs are those of its APIs (iris, iris-v2)\n');
  });

  test('an unknown container names the API\'s containers', async () => {
    const { code, err } = await logs('iris', '--container', 'predictor');
    expect(code).toBe(1);
    expect(err).toBe('cortex logs: API "iris" has no container "predictor" (containers: api, proxy)\n');
  });

  test('a cluster that cannot be reached: a note, and the logs all the same', async () => {
    await kube.stop();
    kube = await FakeHttpServer.start(); // stopped again after the test
    const gone = writeKubeconfig(fs.mkdtempSync(path.join(dir, 'gone-')), 'http://127.0.0.1:1');
    cwl.on(FilterLogEventsCommand).resolves({ events: [event('iris-7d9f8c6b5-x2x4z', 'api', 'hello')] });

    const { code, out, err } = await runCliAsync(['logs', 'iris', '--kubeconfig', gone, '--cluster', 'demo', '--region', 'us-east-1'], dir);

    expect(code).toBe(0);
    expect(out).toBe('[iris-7d9f8c6b5-x2x4z api] hello\n');
    expect(err).toMatch(/^cortex logs: note: could not check that API "iris" exists \(cannot reach the Kubernetes API at http:\/\/127\.0\.0\.1:1/);
  });

  test('no kubeconfig and no --cluster: which cluster?', async () => {
    const { code, err } = await runCliAsync(['logs', 'iris', '--kubeconfig', 'missing'], dir);
    expect(code).toBe(1);
    expect(err).toBe('cortex logs: which cluster? Pass --cluster NAME (no kubeconfig to tell: --kubeconfig missing: no such file)\n');
  });

  test('a context that is not an EKS cluster\'s', async () => {
    const { code, err } = await runCliAsync(['logs', 'iris', '--kubeconfig', kubeconfig], dir);
    expect(code).toBe(1);
    expect(err).toBe('cortex logs: the kubeconfig\'s context "fake" does not name an EKS cluster; pass --cluster NAME\n');
  });

  test('usage errors', async () => {
    expect((await logs()).err).toMatch(/missing API/);
    expect((await logs('iris', '--since', 'yesterday')).err).toMatch(/--since must be a duration \(10m, 1h30m, 2d\) or a date-time/);
    expect((await logs('Iris')).code).toBe(2);
  });

  test('GIVEN a name no API can have (API names start with a letter) WHEN cortex logs THEN a usage error says what an API name is', async () => {
    const { code, err } = await logs('2iris');
    expect(code).toBe(2);
    expect(err).toMatch(/"2iris" is not an API name \(lower-case letters, digits and "-", starting with a letter and not ending with "-"\)/);
  });
});
