import { ApiException, AppsV1Api, CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import type { ConfigurationOptions, CoreV1Event, RequestContext, ResponseContext, V1Deployment, V1Pod } from '@kubernetes/client-node';

/**
 * How long one Kubernetes API call may take. An endpoint that does not answer (a private endpoint the
 * function cannot reach) would otherwise hold the call until the Lambda's own timeout, which fails the
 * look with nothing but "Task timed out". A gate looks at most 7 times per invocation (Deployment, pods,
 * 3 pods' events, 2 logs): 7 × 8 s stays under the isComplete function's minute.
 */
export const DEFAULT_REQUEST_TIMEOUT_MS = 8_000;

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
  /** How long one call may wait for its answer. @default DEFAULT_REQUEST_TIMEOUT_MS */
  readonly requestTimeoutMs?: number;
}

/** A {@link KubeReader} over `@kubernetes/client-node`. */
export function createKubeClient(options: KubeClientOptions): KubeReader {
  let clients: Promise<{ apps: AppsV1Api; core: CoreV1Api }> | undefined;
  const api = () => (clients ??= makeClients(options));
  const requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  const timeout = () => timeoutOptions(requestTimeoutMs);
  return {
    async readDeployment(namespace, name) {
      const { apps } = await api();
      try {
        return await apps.readNamespacedDeployment({ namespace, name }, timeout());
      } catch (e) {
        if (e instanceof ApiException && e.code === 404) return undefined;
        throw kubeApiError(e, `read Deployment ${namespace}/${name}`, requestTimeoutMs);
      }
    },
    async listPods(namespace, labelSelector) {
      const { core } = await api();
      try {
        return (await core.listNamespacedPod({ namespace, labelSelector }, timeout())).items;
      } catch (e) {
        throw kubeApiError(e, `list the pods of ${namespace} with ${labelSelector}`, requestTimeoutMs);
      }
    },
    async listPodEvents(namespace, podName) {
      const { core } = await api();
      const fieldSelector = `involvedObject.kind=Pod,involvedObject.name=${podName}`;
      try {
        return (await core.listNamespacedEvent({ namespace, fieldSelector }, timeout())).items;
      } catch (e) {
        throw kubeApiError(e, `list the events of pod ${namespace}/${podName}`, requestTimeoutMs);
      }
    },
    async readPreviousLog(namespace, podName, container, tailLines) {
      const { core } = await api();
      try {
        return await core.readNamespacedPodLog({ namespace, name: podName, container, tailLines, previous: true }, timeout());
      } catch (e) {
        throw kubeApiError(e, `read the log of ${namespace}/${podName} container ${container}`, requestTimeoutMs);
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

/**
 * Per-call options that abort the call after `ms` (its signal is handed to the HTTP library). The generated
 * client runs call-time middleware through its Observable stub, whose only method it uses is `toPromise`.
 */
function timeoutOptions(ms: number): ConfigurationOptions {
  const resolved = <T>(value: T) => ({ toPromise: () => Promise.resolve(value) });
  const middleware = {
    pre: (context: RequestContext) => {
      context.setSignal(AbortSignal.timeout(ms));
      return resolved(context);
    },
    post: (response: ResponseContext) => resolved(response),
  };
  return { middleware: [middleware as unknown as NonNullable<ConfigurationOptions['middleware']>[number]], middlewareMergeStrategy: 'append' };
}

/** The server's own message (a `Status` body) when there is one, else the error's. */
function kubeApiError(error: unknown, what: string, timeoutMs: number): KubeApiError {
  if (error instanceof ApiException) {
    const body: unknown = typeof error.body === 'string' ? parseJson(error.body) : error.body;
    const message = (body as { message?: unknown } | undefined)?.message;
    return new KubeApiError(`cannot ${what}: HTTP ${error.code}${typeof message === 'string' ? `: ${message}` : ''}`, error.code);
  }
  const cause = error as { name?: string; message?: string; code?: string } | undefined;
  if (cause?.name === 'AbortError' || cause?.name === 'TimeoutError') {
    return new KubeApiError(`cannot ${what}: no answer within ${timeoutMs / 1000}s`, undefined);
  }
  return new KubeApiError(`cannot ${what}: ${cause?.code ?? cause?.message ?? String(error)}`, undefined);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
