/**
 * Wires the proxy: the request port (breaker + proxy handler) and the admin port (`/metrics`,
 * `/healthz`). No network call at start: readiness follows the user's server through `/healthz`.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { Breaker } from './breaker';
import type { ProxyConfig } from './config';
import { drainServer, DrainResult } from './drain';
import { Health } from './health';
import { Log } from './log';
import { METRICS_CONTENT_TYPE, Metrics } from './metrics';
import { withUserMetrics } from './user-admin';
import { ProxyHandler } from './proxy-handler';

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
  /** SIGTERM's work: stop accepting, let open requests finish within the drain timeout, close everything. */
  drain(): Promise<DrainResult>;
  /** Stops at once: every connection closed, open requests cut (tests). */
  close(): Promise<void>;
}

export interface StartOptions {
  readonly log?: Log;
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
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'Request Timeout'],
};

/** Malformed HTTP: a 400 (431 for oversized headers, 408 for too slow ones) as JSON, then close. */
function answerClientError(metrics: Metrics, error: NodeJS.ErrnoException, socket: Duplex): void {
  const httpMessage = (socket as unknown as { _httpMessage?: http.ServerResponse })._httpMessage;
  if (error.code === 'ECONNRESET' || !socket.writable || (httpMessage !== undefined && httpMessage.headersSent)) {
    socket.destroy();
    return;
  }
  const [status, reason] = CLIENT_ERROR_STATUS[error.code ?? ''] ?? [400, 'Bad Request'];
  const body = JSON.stringify({ error: 'bad_request', message: `malformed HTTP request (${error.code ?? error.message})` }) + '\n';
  metrics.count(status);
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

/** Starts both servers; resolves once they listen. */
export async function startProxy(config: ProxyConfig, options: StartOptions = {}): Promise<RunningProxy> {
  const log = options.log ?? new Log();
  const breaker = new Breaker({ maxConcurrency: config.maxConcurrency, maxQueueLength: config.maxQueueLength });
  const metrics = new Metrics();
  const handler = new ProxyHandler({
    userHost: config.userHost,
    userPort: config.userPort,
    queueTimeoutMs: config.queueTimeoutMs,
    upstreamTimeoutMs: config.upstreamTimeoutMs,
    maxBodyBytes: config.maxBodyBytes,
    breaker,
    metrics,
    log,
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
      // Uploads may be slow and long; the gateway's timeout bounds a request, not the proxy.
      requestTimeout: 0,
    },
    handler.handle,
  );
  server.keepAliveTimeout = config.keepAliveTimeoutMs;
  server.on('clientError', (error: NodeJS.ErrnoException, socket) => answerClientError(metrics, error, socket));

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
    handler.pool.destroy();
    throw error;
  }

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
    drain() {
      drained ??= drainServer(server, handler, config.drainTimeoutMs).then(async (result) => {
        await closeServer(adminServer);
        handler.pool.destroy();
        return result;
      });
      return drained;
    },
    async close() {
      await Promise.all([closeServer(server), closeServer(adminServer)]);
      handler.pool.destroy();
    },
  };
  return proxy;
}
