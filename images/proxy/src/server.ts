/**
 * Wires the proxy: the request port (breaker + proxy handler) and the admin port (`/metrics`,
 * `/healthz`). No network call at start: readiness follows the user's server through `/healthz`.
 */
import * as http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { ApiKeys } from './api-keys';
import { Breaker } from './breaker';
import type { ProxyConfig } from './config';
import { drainServer, DrainResult } from './drain';
import { Health } from './health';
import { closeLingering, isLingering } from './linger';
import { Log } from './log';
import { METRICS_CONTENT_TYPE, Metrics } from './metrics';
import { withUserMetrics } from './user-admin';
import { endBrokenRequest, MAX_REQUEST_HEADERS, ProxyHandler } from './proxy-handler';

/** Where the admin port serves. */
export const METRICS_PATH = '/metrics';
export const HEALTH_PATH = '/healthz';

/** Client request headers may be this large (Envoy forwards up to 60 KiB; Node's default is 16 KiB). */
export const MAX_HEADER_BYTES = 64 * 1024;

export interface RunningProxy {
  /** The ports actually bound (differs from the config's when that asked for 0). */
  readonly port: number;
  readonly adminPort: number;
  readonly config: ProxyConfig;
  readonly breaker: Breaker;
  readonly metrics: Metrics;
  readonly handler: ProxyHandler;
  readonly server: http.Server;
  readonly adminServer: http.Server;
  /** With `--api-keys-file`: the keys, kept current. */
  readonly apiKeys: ApiKeys | undefined;
  /** SIGTERM's work: stop accepting, let open requests finish within the drain timeout, close everything. */
  drain(): Promise<DrainResult>;
  /** Stops at once: every connection closed, open requests cut (tests). */
  close(): Promise<void>;
}

export interface StartOptions {
  readonly log?: Log;
  /** The keys, already loaded (`main` loads them first, to exit 2 on a bad file). @default - loaded from config.apiKeysFile */
  readonly apiKeys?: ApiKeys;
}

function listen(server: http.Server, port: number, host: string | undefined): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error): void => reject(error);
    server.once('error', onError);
    server.listen({ port, host }, () => {
      server.removeListener('error', onError);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function closeServer(server: http.Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) {
      server.closeAllConnections();
      resolve();
      return;
    }
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

const CLIENT_ERROR_STATUS: Record<string, [number, string]> = {
  HPE_HEADER_OVERFLOW: [431, 'Request Header Fields Too Large'],
  HPE_CHUNK_EXTENSIONS_OVERFLOW: [413, 'Content Too Large'],
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'Request Timeout'],
};

/** What Node's HTTP server keeps on a client socket (undocumented, stable since Node 0.x). */
interface ClientSocket extends Socket {
  /** The response being written on this connection: `null` (or absent) once it finished. */
  _httpMessage?: http.ServerResponse | null;
  /** The connection's parser; `incoming` is the request being read (or whose body is still unread). */
  parser?: { incoming?: http.IncomingMessage | null } | null;
  [kClientError]?: NodeJS.ErrnoException;
}

const kClientError = Symbol('cortex.clientError');

interface ClientErrorContext {
  readonly metrics: Metrics;
  readonly log: Log;
  readonly lingeringTimeMs: number;
}

/**
 * Node's `clientError`: malformed HTTP, a request head too large or too slow, a connection ended mid-request.
 * The answer (400, 408, 431, JSON) goes out after the responses to the requests before it on the same
 * connection (pipelining: their responses are not lost), then the connection closes, lingering. Never throws:
 * an error here must not become the process's.
 */
function onClientError(context: ClientErrorContext, error: NodeJS.ErrnoException, duplex: Duplex): void {
  const socket = duplex as ClientSocket;
  try {
    // Once answered (or closing), the parser reports every later byte as an error again: nothing more to say.
    if (socket[kClientError] !== undefined || isLingering(socket)) return;
    socket[kClientError] = error;
    if (error.code === 'ECONNRESET' || !socket.writable) {
      // The client is gone, or the connection already ends (its last response is being sent: not cut).
      if (error.code === 'ECONNRESET' || socket.writableFinished) socket.destroy();
      return;
    }
    const unread = socket.parser?.incoming;
    const midRequest = unread !== null && unread !== undefined && !unread.complete;
    if (error.code === 'HPE_INVALID_EOF_STATE' && (midRequest || (socket._httpMessage !== null && socket._httpMessage !== undefined))) {
      // The client ended its side (FIN) in the middle of a request, or with responses still to come: it has
      // left, as when it does so between requests (Node then ends those exchanges; nginx logs a 499). Waiting
      // would hold their slots until a timeout, for a client that may be gone for good.
      socket.destroy();
      return;
    }
    if (midRequest) {
      // The error is in a request's body (or the connection ended in it): that request's exchange answers
      // (400, or its response is cut) and closes. If its response already went out, nothing more is said.
      if (!endBrokenRequest(unread, error.code ?? error.message)) closeLingering(socket, context.lingeringTimeMs);
      return;
    }
    answerAfterPendingResponses(context, socket);
  } catch (failure) {
    context.log.limited('client-error', `answering a malformed request failed, connection closed: ${String(failure)}`);
    socket.destroy();
  }
}

function answerAfterPendingResponses(context: ClientErrorContext, socket: ClientSocket): void {
  const pending = socket._httpMessage;
  if (pending !== null && pending !== undefined) {
    // Node hands the connection to the next queued response before that response's 'close': check again then.
    pending.once('close', () => answerAfterPendingResponses(context, socket));
    return;
  }
  if (!socket.writable) return;
  const error = socket[kClientError] as NodeJS.ErrnoException;
  const [status, reason] = CLIENT_ERROR_STATUS[error.code ?? ''] ?? [400, 'Bad Request'];
  context.metrics.count(status);
  if (status === 408) {
    // No body: the head never arrived, and if it was a HEAD's, the client reads no body in the answer.
    socket.write(`HTTP/1.1 408 ${reason}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
  } else {
    const kind = status === 400 ? 'bad_request' : status === 413 ? 'body_too_large' : 'headers_too_large';
    const body = JSON.stringify({ error: kind, message: `malformed HTTP request (${error.code ?? error.message})` }) + '\n';
    socket.write(
      `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  closeLingering(socket, context.lingeringTimeMs);
}

/** How often Node checks request heads against the head timeout (it checks on an interval, 30 s by default). */
function headCheckInterval(requestHeadTimeoutMs: number): number {
  return Math.max(10, Math.min(1000, Math.floor(requestHeadTimeoutMs / 4)));
}

/** The keys of `--api-keys-file`, read now; throws ApiKeysFileError when the file is missing or bad. */
export function loadApiKeys(config: ProxyConfig, log: Log): ApiKeys | undefined {
  if (config.apiKeysFile === undefined) return undefined;
  return ApiKeys.load(config.apiKeysFile, { pollIntervalMs: config.apiKeysIntervalMs, log });
}

/** Starts both servers; resolves once they listen. */
export async function startProxy(config: ProxyConfig, options: StartOptions = {}): Promise<RunningProxy> {
  const log = options.log ?? new Log();
  const apiKeys = options.apiKeys ?? loadApiKeys(config, log);
  const breaker = new Breaker({ maxConcurrency: config.maxConcurrency, maxQueueLength: config.maxQueueLength });
  const metrics = new Metrics();
  const handler = new ProxyHandler({
    userHost: config.userHost,
    userPort: config.userPort,
    queueTimeoutMs: config.queueTimeoutMs,
    upstreamTimeoutMs: config.upstreamTimeoutMs,
    maxBodyBytes: config.maxBodyBytes,
    bodyIdleTimeoutMs: config.bodyIdleTimeoutMs,
    lingeringTimeMs: config.lingeringTimeMs,
    forwardedAllowIps: config.forwardedAllowIps,
    breaker,
    metrics,
    log,
    apiKeys,
    apiName: config.apiName,
  });
  const health = new Health({
    userHost: config.userHost,
    userPort: config.userPort,
    userAdminPort: config.userAdminPort,
    draining: () => handler.draining,
  });

  const server = http.createServer(
    {
      maxHeaderSize: MAX_HEADER_BYTES,
      noDelay: true,
      // Uploads may be long: the body idle timeout bounds silence, the gateway's timeout the whole request.
      requestTimeout: 0,
      // Set explicitly: with requestTimeout 0, Node turns its head timeout off too.
      headersTimeout: config.requestHeadTimeoutMs,
      connectionsCheckingInterval: headCheckInterval(config.requestHeadTimeoutMs),
      // The request handler refuses a missing Host itself (and stops serving that connection).
      requireHostHeader: false,
    },
    handler.handle,
  );
  server.keepAliveTimeout = config.keepAliveTimeoutMs;
  // One more than is forwarded: Node drops headers past its limit silently; the handler refuses them (431).
  server.maxHeadersCount = MAX_REQUEST_HEADERS + 1;
  const clientErrors: ClientErrorContext = { metrics, log, lingeringTimeMs: config.lingeringTimeMs };
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => onClientError(clientErrors, error, socket));
  server.on('checkContinue', handler.handleContinue);

  const adminServer = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { 'Content-Type': 'text/plain', Allow: 'GET, HEAD' }).end('method not allowed\n');
    } else if (path === METRICS_PATH) {
      const body = metrics.render({
        active: breaker.active,
        queued: breaker.queued,
        maxConcurrency: breaker.maxConcurrency,
        maxQueueLength: breaker.maxQueueLength,
        draining: handler.draining,
        apiKeys: apiKeys === undefined ? undefined : { loaded: apiKeys.size, reloadFailures: apiKeys.reloadFailures },
      });
      if (config.userAdminPort === 0) {
        res.writeHead(200, { 'Content-Type': METRICS_CONTENT_TYPE }).end(body);
      } else {
        void withUserMetrics(body, config.userHost, config.userAdminPort)
          .catch(() => body)
          .then((all) => res.writeHead(200, { 'Content-Type': METRICS_CONTENT_TYPE }).end(all));
      }
    } else if (path === HEALTH_PATH) {
      health.check().then((status) => {
        res.writeHead(status.ready ? 200 : 503, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
        res.end(JSON.stringify(status) + '\n');
      });
    } else {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end(`not found: the admin port serves ${METRICS_PATH} and ${HEALTH_PATH}\n`);
    }
  });

  let adminPort: number;
  let port: number;
  try {
    adminPort = await listen(adminServer, config.adminPort, config.host);
    port = await listen(server, config.port, config.host);
  } catch (error) {
    await closeServer(adminServer);
    handler.close();
    apiKeys?.close();
    throw error;
  }
  // A listening server reports failed accepts (EMFILE under a connection flood) as 'error': it goes on listening.
  server.on('error', (error: Error) => log.limited('accept', `the request port: ${error.message}`));
  adminServer.on('error', (error: Error) => log.limited('accept', `the admin port: ${error.message}`));

  let drained: Promise<DrainResult> | undefined;
  const proxy: RunningProxy = {
    port,
    adminPort,
    config,
    breaker,
    metrics,
    handler,
    server,
    adminServer,
    apiKeys,
    drain() {
      drained ??= drainServer(server, handler, config.drainTimeoutMs).then(async (result) => {
        await closeServer(adminServer);
        handler.close();
        apiKeys?.close();
        return result;
      });
      return drained;
    },
    async close() {
      await Promise.all([closeServer(server), closeServer(adminServer)]);
      handler.close();
      apiKeys?.close();
    },
  };
  return proxy;
}
