import { ApiException, AppsV1Api, CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import type { CoreV1Event, V1Deployment, V1Pod } from '@kubernetes/client-node';

/**
 * What the rollout gate reads from the Kubernetes API: a Deployment, its pods, their events and the
 * logs of a crashed container. Nothing is written. The only module that touches `@kubernetes/client-node`
 * (an ES module), so that the rest of the handler can be tested without it.
 */
export interface KubeReader {
  /** The Deployment, or undefined when it does not exist. */
  readDeployment(namespace: string, name: string): Promise<V1Deployment | undefined>;
  /** The pods matching a label selector (`a=b,c=d`). */
  listPods(namespace: string, labelSelector: string): Promise<V1Pod[]>;
  /** The events about one pod (scheduling, probes, pulls), oldest first as the API server lists them. */
  listPodEvents(namespace: string, podName: string): Promise<CoreV1Event[]>;
  /** The last lines a container printed before its previous run ended (`kubectl logs --previous --tail`). */
  readPreviousLog(namespace: string, podName: string, container: string, tailLines: number): Promise<string>;
}

/** A failed Kubernetes API call: the HTTP status (undefined when the server was not reached) and the server's message. */
export class KubeApiError extends Error {
  constructor(
    message: string,
    public readonly status: number | undefined,
  ) {
    super(message);
    this.name = 'KubeApiError';
  }
}

/** Where the Kubernetes API is and how to authenticate to it. */
export interface KubeClientOptions {
  /** The API server's URL, e.g. the EKS cluster's endpoint `https://ABC.gr7.us-east-1.eks.amazonaws.com`. */
  readonly endpoint: string;
  /** The cluster's certificate authority, base64-encoded PEM (EKS's `certificateAuthority.data`). @default - the system's CAs */
  readonly certificateAuthority?: string;
  /** Gives the bearer token; called once, on the first request. */
  readonly token: () => Promise<string>;
}

/** A {@link KubeReader} over `@kubernetes/client-node`. */
export function createKubeClient(options: KubeClientOptions): KubeReader {
  let clients: Promise<{ apps: AppsV1Api; core: CoreV1Api }> | undefined;
  const api = () => (clients ??= makeClients(options));
  return {
    async readDeployment(namespace, name) {
      const { apps } = await api();
      try {
        return await apps.readNamespacedDeployment({ namespace, name });
      } catch (e) {
        if (e instanceof ApiException && e.code === 404) return undefined;
        throw kubeApiError(e, `read Deployment ${namespace}/${name}`);
      }
    },
    async listPods(namespace, labelSelector) {
      const { core } = await api();
      try {
        return (await core.listNamespacedPod({ namespace, labelSelector })).items;
      } catch (e) {
        throw kubeApiError(e, `list the pods of ${namespace} with ${labelSelector}`);
      }
    },
    async listPodEvents(namespace, podName) {
      const { core } = await api();
      const fieldSelector = `involvedObject.kind=Pod,involvedObject.name=${podName}`;
      try {
        return (await core.listNamespacedEvent({ namespace, fieldSelector })).items;
      } catch (e) {
        throw kubeApiError(e, `list the events of pod ${namespace}/${podName}`);
      }
    },
    async readPreviousLog(namespace, podName, container, tailLines) {
      const { core } = await api();
      try {
        return await core.readNamespacedPodLog({ namespace, name: podName, container, tailLines, previous: true });
      } catch (e) {
        throw kubeApiError(e, `read the log of ${namespace}/${podName} container ${container}`);
      }
    },
  };
}

async function makeClients(options: KubeClientOptions): Promise<{ apps: AppsV1Api; core: CoreV1Api }> {
  const token = await options.token();
  const config = new KubeConfig();
  // client-node refuses http:// unless told to skip TLS verification, which plain HTTP has none of (a
  // local API server, `kubectl proxy`); an https:// endpoint is always verified.
  const plainHttp = new URL(options.endpoint).protocol === 'http:';
  config.loadFromOptions({
    clusters: [{ name: 'cluster', server: options.endpoint, caData: options.certificateAuthority, skipTLSVerify: plainHttp }],
    users: [{ name: 'rollout-gate', token }],
    contexts: [{ name: 'rollout-gate', cluster: 'cluster', user: 'rollout-gate' }],
    currentContext: 'rollout-gate',
  });
  return { apps: config.makeApiClient(AppsV1Api), core: config.makeApiClient(CoreV1Api) };
}

/** The server's own message (a `Status` body) when there is one, else the error's. */
function kubeApiError(error: unknown, what: string): KubeApiError {
  if (error instanceof ApiException) {
    const body: unknown = typeof error.body === 'string' ? parseJson(error.body) : error.body;
    const message = (body as { message?: unknown } | undefined)?.message;
    return new KubeApiError(`cannot ${what}: HTTP ${error.code}${typeof message === 'string' ? `: ${message}` : ''}`, error.code);
  }
  const cause = error as { message?: string; code?: string } | undefined;
  return new KubeApiError(`cannot ${what}: ${cause?.code ?? cause?.message ?? String(error)}`, undefined);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
