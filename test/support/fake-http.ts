import * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import * as fs from 'node:fs';

/** A request the fake server received. */
export interface FakeRequest {
  readonly method: string;
  /** The path without the query string. */
  readonly path: string;
  readonly query: URLSearchParams;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
}

/** What a route answers: a JSON body (or a string, sent as it is) with a status, 200 by default. */
export interface FakeResponse {
  readonly status?: number;
  readonly body?: unknown;
  readonly headers?: Record<string, string>;
}

/** A route's handler: an answer, or a function writing to the raw response itself (streams, slow answers). */
export type FakeHandler =
  | FakeResponse
  | ((req: FakeRequest, match: RegExpMatchArray) => FakeResponse | ((res: http.ServerResponse) => void));

interface Route {
  readonly method: string;
  readonly pattern: RegExp;
  readonly handler: FakeHandler;
}

/**
 * A real HTTP server on 127.0.0.1 whose answers the test sets, route by route — the stand-in for the
 * Kubernetes API server and Prometheus. Routes added later win over earlier ones, so a test can change
 * an answer mid-way. Unknown paths get 404 with a Kubernetes `Status` body, as the API server does.
 */
export class FakeHttpServer {
  /** `tls`: serve HTTPS with this certificate and key (the in-cluster API server, trusted through a CA of the test's). */
  public static async start(options: { tls?: { cert: Buffer; key: Buffer } } = {}): Promise<FakeHttpServer> {
    const fake = new FakeHttpServer(options.tls);
    await new Promise<void>((resolve) => fake.server.listen(0, '127.0.0.1', resolve));
    return fake;
  }

  /** Every request received, in order. */
  public readonly requests: FakeRequest[] = [];
  private readonly routes: Route[] = [];
  private readonly server: http.Server;

  private constructor(private readonly tls?: { cert: Buffer; key: Buffer }) {
    const listener = (req: http.IncomingMessage, res: http.ServerResponse) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => this.answer(req, res, Buffer.concat(chunks).toString('utf8')));
    };
    this.server = tls ? https.createServer({ cert: tls.cert, key: tls.key }, listener) : http.createServer(listener);
  }

  /** `http://127.0.0.1:PORT` (`https://` with TLS), no trailing slash. */
  public get url(): string {
    return `${this.tls ? 'https' : 'http'}://127.0.0.1:${this.port}`;
  }

  public get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** Answers `method` requests whose path (without query) matches `pattern` (a string must match whole). */
  public on(method: string, pattern: string | RegExp, handler: FakeHandler): this {
    const regexp = typeof pattern === 'string' ? new RegExp(`^${escapeRegExp(pattern)}$`) : pattern;
    this.routes.unshift({ method: method.toUpperCase(), pattern: regexp, handler });
    return this;
  }

  /** The requests received for a path (without query). */
  public requestsTo(pathname: string): FakeRequest[] {
    return this.requests.filter((r) => r.path === pathname);
  }

  public async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private answer(req: http.IncomingMessage, res: http.ServerResponse, body: string): void {
    const url = new URL(req.url ?? '/', 'http://fake');
    const request: FakeRequest = {
      method: req.method ?? 'GET',
      path: decodeURIComponent(url.pathname),
      query: url.searchParams,
      headers: req.headers,
      body,
    };
    this.requests.push(request);
    for (const route of this.routes) {
      if (route.method !== request.method) continue;
      const match = request.path.match(route.pattern);
      if (!match) continue;
      const answer = typeof route.handler === 'function' ? route.handler(request, match) : route.handler;
      if (typeof answer === 'function') {
        answer(res);
      } else {
        send(res, answer);
      }
      return;
    }
    send(res, { status: 404, body: kubeStatus(404, 'NotFound', `the server could not find the requested resource (${request.path})`) });
  }
}

function send(res: http.ServerResponse, answer: FakeResponse): void {
  const status = answer.status ?? 200;
  const text = typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body ?? {});
  const type = typeof answer.body === 'string' ? 'text/plain' : 'application/json';
  res.writeHead(status, { 'content-type': type, ...answer.headers });
  res.end(text);
}

/** A Kubernetes `Status` object, as the API server sends with errors. */
export function kubeStatus(code: number, reason: string, message: string): Record<string, unknown> {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
}

/** Writes a kubeconfig whose current context points at `server` with a bearer token, and returns its path. */
export function writeKubeconfig(dir: string, server: string, options: { namespace?: string; token?: string } = {}): string {
  const file = path.join(dir, 'kubeconfig');
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'fake', cluster: { server } }],
    users: [{ name: 'fake', user: { token: options.token ?? 'fake-token' } }],
    contexts: [{ name: 'fake', context: { cluster: 'fake', user: 'fake', namespace: options.namespace } }],
    'current-context': 'fake',
  };
  fs.writeFileSync(file, JSON.stringify(config, null, 2));
  return file;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
