import * as http from 'node:http';
import * as https from 'node:https';
import { shownText } from '../term';
import { IN_CLUSTER_CONTEXT, KubeconfigError, KubeCredentials, KubeTarget } from './kubeconfig';

/** The API server answered with an error status. */
export class KubeApiError extends Error {
  constructor(
    message: string,
    /** The HTTP status. */
    public readonly status: number,
    /** The `reason` of the Kubernetes `Status` body (`NotFound`, `Forbidden`...), when there was one. */
    public readonly reason?: string,
  ) {
    super(message);
  }
}

/** The API server could not be reached (DNS, refused, TLS, timeout). */
export class KubeConnectionError extends Error {}

export interface KubeResponse {
  readonly status: number;
  readonly body: string;
}

export interface KubeClientOptions {
  /**
   * How long one request may take.
   * @default 15000
   */
  readonly timeoutMs?: number;
  /**
   * The largest answer read; a larger one is an error (the body is held in memory, and a string of more than
   * 512 MiB cannot even be built).
   * @default 67108864 (64 MiB)
   */
  readonly maxBodyBytes?: number;
}

/** What {@link KubeClient.list} returns: a list whose items are objects with their metadata. */
export interface KubeObjectList<T> {
  readonly items: readonly T[];
}

/**
 * A small client of the Kubernetes API for one kubeconfig context: GET (and the few writes of `cortex keys`)
 * with the context's TLS settings and credentials, JSON answers, and errors that say what went wrong in words
 * a user can act on. Call {@link close} when done (it holds keep-alive connections for `--watch`).
 */
export class KubeClient {
  private readonly agent: http.Agent;
  private readonly credentials: KubeCredentials;
  private readonly timeoutMs: number;
  private readonly maxBodyBytes: number;
  private readonly base: URL;

  constructor(public readonly target: KubeTarget, options: KubeClientOptions = {}) {
    this.base = new URL(target.server);
    this.timeoutMs = options.timeoutMs ?? 15_000;
    this.maxBodyBytes = options.maxBodyBytes ?? 64 * 1024 * 1024;
    this.credentials = new KubeCredentials(target);
    this.agent =
      this.base.protocol === 'https:'
        ? new https.Agent({
            keepAlive: true,
            ca: target.tls.ca,
            rejectUnauthorized: !target.tls.insecure,
            servername: target.tls.serverName,
          })
        : new http.Agent({ keepAlive: true });
  }

  /**
   * GETs `path` (with `query`) and parses the JSON answer, which must be an object; throws KubeApiError on a
   * non-2xx status or another answer.
   */
  public async get<T>(path: string, query?: Record<string, string>): Promise<T> {
    const response = await this.request(path, query);
    if (response.status < 200 || response.status > 299) throw this.apiError(path, response);
    let parsed: unknown;
    try {
      parsed = JSON.parse(response.body);
    } catch {
      throw new KubeApiError(`GET ${path}: the API server answered ${response.status} with a body that is not JSON`, response.status);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      const what = parsed === null ? 'null' : Array.isArray(parsed) ? 'an array' : `a ${typeof parsed}`;
      throw new KubeApiError(`GET ${path}: the API server answered ${response.status} with ${what}, not a Kubernetes object`, response.status);
    }
    return parsed as T;
  }

  /**
   * GETs a list (`path` with `query`): its `items` must be objects with a `metadata` object, what the commands read
   * without checking each; throws KubeApiError otherwise, as {@link get} does.
   */
  public async list<T>(path: string, query?: Record<string, string>): Promise<KubeObjectList<T>> {
    const list = await this.get<{ items?: unknown }>(path, query);
    const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
    if (!Array.isArray(list.items) || !list.items.every((item) => isObject(item) && isObject(item.metadata))) {
      throw new KubeApiError(`GET ${path}: the API server answered 200 with a list whose items are not a list of objects with their metadata`, 200);
    }
    return list as KubeObjectList<T>;
  }

  /** Like {@link list}, but undefined when the kind does not exist. */
  public async listOptional<T>(path: string, query?: Record<string, string>): Promise<KubeObjectList<T> | undefined> {
    try {
      return await this.list<T>(path, query);
    } catch (e) {
      if (e instanceof KubeApiError && e.status === 404) return undefined;
      throw e;
    }
  }

  /** Like {@link get}, but undefined when the object (or its kind) does not exist. */
  public async getOptional<T>(path: string, query?: Record<string, string>): Promise<T | undefined> {
    try {
      return await this.get<T>(path, query);
    } catch (e) {
      if (e instanceof KubeApiError && e.status === 404) return undefined;
      throw e;
    }
  }

  /** GETs `path` and returns the status and body as they are (for proxied services, whose errors are not Kubernetes'). */
  public request(path: string, query?: Record<string, string>, timeoutMs = this.timeoutMs): Promise<KubeResponse> {
    return this.exchange('GET', path, query, undefined, timeoutMs);
  }

  /**
   * Writes: `method` (POST, PUT, DELETE) on `path` with `body` as JSON; the parsed answer, or KubeApiError on a
   * non-2xx status (409 Conflict: the object changed since it was read, or already exists).
   */
  public async write<T>(method: 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown): Promise<T> {
    const response = await this.exchange(method, path, undefined, body === undefined ? undefined : JSON.stringify(body), this.timeoutMs);
    if (response.status < 200 || response.status > 299) throw this.apiError(path, response, method);
    try {
      return JSON.parse(response.body) as T;
    } catch {
      throw new KubeApiError(`${method} ${path}: the API server answered ${response.status} with a body that is not JSON`, response.status);
    }
  }

  private async exchange(method: string, path: string, query: Record<string, string> | undefined, body: string | undefined, timeoutMs: number): Promise<KubeResponse> {
    const credentials = await this.credentials.get();
    const url = new URL(this.base.pathname.replace(/\/$/, '') + path, this.base);
    for (const [key, value] of Object.entries(query ?? {})) url.searchParams.set(key, value);
    const headers: Record<string, string> = { accept: 'application/json', 'user-agent': 'cortex-cdk' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (credentials.token) headers.authorization = `Bearer ${credentials.token}`;
    if (credentials.basic) {
      headers.authorization = `Basic ${Buffer.from(`${credentials.basic.username}:${credentials.basic.password}`).toString('base64')}`;
    }
    const tls = this.target.tls;
    const cert = credentials.cert ?? tls.cert;
    const key = credentials.key ?? tls.key;
    const transport = url.protocol === 'https:' ? https : http;
    return new Promise<KubeResponse>((resolve, reject) => {
      let req: http.ClientRequest;
      try {
        req = transport.request(
          url,
          {
            method,
            headers,
            agent: this.agent,
            // A client certificate from an exec plugin can change between requests, so it goes per request.
            ...(url.protocol === 'https:' ? { cert, key, ca: tls.ca, rejectUnauthorized: !tls.insecure, servername: tls.serverName } : {}),
          },
          (res) => {
            answered = true;
            const chunks: Buffer[] = [];
            let size = 0;
            res.on('data', (c: Buffer) => {
              size += c.length;
              if (size > this.maxBodyBytes) {
                const limit = formatBytes(this.maxBodyBytes);
                fail(Object.assign(new Error(`${method} ${path} answered more than ${limit}, more than the client reads`), { code: 'ETOOLARGE' }));
                req.destroy();
                return;
              }
              chunks.push(c);
            });
            res.on('end', () => {
              if (settled) return;
              settled = true;
              clearTimeout(deadline);
              resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') });
            });
            res.on('error', (e) => fail(e));
          },
        );
      } catch (e) {
        // Thrown before anything is sent: what the kubeconfig (or its credential plugin) gave cannot make a request.
        reject(this.unusableCredentials(e as NodeJS.ErrnoException));
        return;
      }
      let answered = false;
      let settled = false;
      const fail = (e: NodeJS.ErrnoException) => {
        if (settled) return;
        settled = true;
        clearTimeout(deadline);
        reject(this.connectionError(e));
      };
      // The whole exchange, not the silence between two packets: a server that sends a byte now and then must
      // not keep the command waiting for ever.
      const deadline = setTimeout(() => {
        const message = answered ? `${method} ${path}: the answer did not end within ${timeoutMs / 1000} s` : `no answer within ${timeoutMs / 1000} s`;
        req.destroy(Object.assign(new Error(message), { code: 'ETIMEDOUT' }));
      }, timeoutMs);
      req.on('error', (e) => fail(e));
      req.end(body);
    });
  }

  /** Closes the kept-alive connections. */
  public close(): void {
    this.agent.destroy();
  }

  private connectionError(e: NodeJS.ErrnoException): KubeConnectionError {
    // What the server's certificate is checked against: in a pod, the ServiceAccount's ca.crt.
    const ca = this.target.contextName === IN_CLUSTER_CONTEXT ? "the ServiceAccount's ca.crt" : "the kubeconfig's certificate-authority";
    const what: Record<string, string> = {
      ECONNREFUSED: 'connection refused',
      ENOTFOUND: 'no such host',
      EAI_AGAIN: 'the host name does not resolve now',
      ETIMEDOUT: e.message,
      ETOOLARGE: e.message,
      ECONNRESET: 'the connection was reset',
      DEPTH_ZERO_SELF_SIGNED_CERT: `its certificate is self-signed and not ${ca}`,
      SELF_SIGNED_CERT_IN_CHAIN: `its certificate is not signed by ${ca}`,
      UNABLE_TO_VERIFY_LEAF_SIGNATURE: `its certificate is not signed by ${ca}`,
      ERR_TLS_CERT_ALTNAME_INVALID: "its certificate does not name the server's host",
    };
    const reason = (e.code && what[e.code]) ?? e.message;
    return new KubeConnectionError(
      `cannot reach the Kubernetes API at ${this.target.server} (context "${this.target.contextName}"): ${reason}`,
    );
  }

  private unusableCredentials(e: NodeJS.ErrnoException): KubeconfigError {
    const user = `user "${this.target.userName}" (context "${this.target.contextName}")`;
    if (e.code === 'ERR_INVALID_CHAR') {
      return new KubeconfigError(`the token of ${user} holds characters an HTTP header cannot carry (a line break, a control character or non-Latin-1 text)`);
    }
    return new KubeconfigError(`the TLS settings or credentials of ${user} cannot be used: ${e.message}`);
  }

  private apiError(path: string, response: KubeResponse, method = 'GET'): KubeApiError {
    let status: { message?: unknown; reason?: string } = {};
    try {
      const parsed: unknown = JSON.parse(response.body);
      if (parsed !== null && typeof parsed === 'object') status = parsed as typeof status;
    } catch {
      status = { message: response.body.trim().slice(0, 300) };
    }
    // The server's words reach a terminal: its control characters are shown, not sent (an escape sequence
    // could rewrite what the user reads).
    const message = typeof status.message === 'string' ? shownText(status.message.slice(0, 2000)) : '';
    const detail = message || http.STATUS_CODES[response.status] || '';
    const context = `context "${this.target.contextName}"`;
    if (response.status === 401 && this.target.contextName === IN_CLUSTER_CONTEXT) {
      return new KubeApiError(
        `the Kubernetes API at ${this.target.server} did not accept the pod's ServiceAccount token: 401 ${detail}`,
        401,
        status.reason,
      );
    }
    if (response.status === 403 && this.target.contextName === IN_CLUSTER_CONTEXT) {
      return new KubeApiError(
        `the Kubernetes API refused ${method} ${path} to the pod's ServiceAccount: ${detail}. An API's pods may read the ` +
          'APIs of their namespace with read_apis: true in cortex.yaml',
        403,
        status.reason,
      );
    }
    if (response.status === 401) {
      return new KubeApiError(
        `the Kubernetes API at ${this.target.server} did not accept the credentials of user "${this.target.userName}" (${context}): ` +
          `401 ${detail}. For EKS, check the AWS identity ("aws sts get-caller-identity") and its access entry, or rerun "aws eks update-kubeconfig"`,
        401,
        status.reason,
      );
    }
    if (response.status === 403) {
      return new KubeApiError(`the Kubernetes API refused ${method} ${path} (${context}): ${detail}`, 403, status.reason);
    }
    return new KubeApiError(`${method} ${path}: ${response.status} ${detail}`, response.status, status.reason);
  }
}

/** `1 KiB`, `64 MiB`: a limit in messages. */
function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024 && bytes % (1024 * 1024) === 0) return `${bytes / (1024 * 1024)} MiB`;
  if (bytes >= 1024 && bytes % 1024 === 0) return `${bytes / 1024} KiB`;
  return `${bytes} bytes`;
}
