/**
 * The rollout gate's Lambda entry points (`index.onEvent`, `index.isComplete`) for the CDK provider
 * framework, bundled by `scripts/bundle-lambdas.js` into `dist/lambda/rollout-gate/bundle/index.js`.
 * The other exports are for the tests of that bundle.
 */
import { fromNodeProviderChain } from '@aws-sdk/credential-providers';
import type { CdkCustomResourceEvent, CdkCustomResourceIsCompleteEvent } from 'aws-lambda';
import { describeCluster, type ClusterConnection } from './describe-cluster';
import { eksToken } from './eks-token';
import { ENV_CLUSTER_CA, ENV_CLUSTER_ENDPOINT, ENV_CLUSTER_NAME } from './environment';
import { isCompleteHandler, onEventHandler } from './handler';
import { createKubeClient, type KubeReader } from './kube-client';
import { RolloutFailure } from './gate';

export { checkRollout, RolloutFailure } from './gate';
export { createKubeClient, KubeApiError } from './kube-client';
export { describeCluster } from './describe-cluster';
export { eksToken } from './eks-token';
export { isCompleteHandler, onEventHandler, STARTED_AT } from './handler';

// Once per container: warm invocations reuse the credentials (until they near expiry) and the connection.
const credentials = fromNodeProviderChain();
let connection: Promise<ClusterConnection> | undefined;

export async function onEvent(event: CdkCustomResourceEvent) {
  return withOneLineStack(() => onEventHandler(event));
}

export async function isComplete(event: CdkCustomResourceIsCompleteEvent) {
  if (event.RequestType === 'Delete') {
    return isCompleteHandler(event, { client: unusedClient() });
  }
  return withOneLineStack(async () => isCompleteHandler(event, { client: await clusterClient() }));
}

/**
 * The Lambda runtime sends a thrown error's stack as its trace, and the provider framework appends the
 * trace's lines to the status reason CloudFormation shows. Errors other than a {@link RolloutFailure}
 * (which keeps its stack to one line already) have their stack logged, then cut to its first line.
 */
async function withOneLineStack<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (e) {
    if (e instanceof Error && !(e instanceof RolloutFailure)) {
      console.error(e.stack);
      e.stack = `${e.name}: ${e.message.split('\n')[0]}`;
    }
    throw e;
  }
}

/**
 * A client of the cluster the construct named in the environment, authenticated with a fresh EKS token.
 * Its endpoint and certificate authority come from the environment, or, for a cluster imported without
 * them (empty variables), from EKS's DescribeCluster.
 */
async function clusterClient(): Promise<KubeReader> {
  const clusterName = environment(ENV_CLUSTER_NAME);
  const region = environment('AWS_REGION');
  const endpoint = process.env[ENV_CLUSTER_ENDPOINT];
  const known = endpoint ? { endpoint, certificateAuthority: process.env[ENV_CLUSTER_CA] || undefined } : undefined;
  const cluster = known ?? (await (connection ??= describeCluster({ clusterName, region, credentials, eksEndpoint: eksEndpointOverride() }).catch((e) => {
    connection = undefined;
    throw e;
  })));
  return createKubeClient({
    endpoint: cluster.endpoint,
    certificateAuthority: cluster.certificateAuthority,
    token: () => eksToken({ clusterName, region, credentials }),
  });
}

/** The EKS endpoint the AWS SDKs would use instead of the region's (`AWS_ENDPOINT_URL_EKS`, `AWS_ENDPOINT_URL`). */
function eksEndpointOverride(): string | undefined {
  return process.env.AWS_ENDPOINT_URL_EKS || process.env.AWS_ENDPOINT_URL || undefined;
}

/** A delete reads nothing: its client must not be used (nor need a cluster to describe). */
function unusedClient(): KubeReader {
  const fail = async (): Promise<never> => {
    throw new Error('rollout gate: a delete reads nothing from the cluster');
  };
  return { readDeployment: fail, listPods: fail, listPodEvents: fail, readPreviousLog: fail };
}

function environment(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') {
    throw new Error(`rollout gate: the environment variable ${name} is not set (the construct sets it)`);
  }
  return value;
}
