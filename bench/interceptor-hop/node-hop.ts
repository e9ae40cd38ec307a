#!/usr/bin/env node
/**
 * A minimal forwarding proxy in the interceptor's place, for bench/interceptor-hop/run.ts: the per-request
 * work the KEDA HTTP add-on's interceptor does on the warm path, in its simplest form, on Node's HTTP/1.1
 * server and client. For each request it
 * - reads the route header the gateway sets (`x-cortex-api: <namespace>/<api>`) and looks the API up in its
 *   route table (one API here); an unknown or missing key is a 404, as the interceptor answers;
 * - counts the API's requests in flight (what the interceptor reports to KEDA), until the response ends;
 * - forwards the request through a keep-alive `http.Agent` to the API's proxy (hop-by-hop headers dropped,
 *   X-Forwarded-For appended) and streams the response back unbuffered.
 * It does not wait for a ready replica (there always is one on the warm path) and keeps no metrics.
 *
 *   node dist/bench/interceptor-hop/node-hop.js PORT TARGET_PORT ROUTE_KEY
 */
import * as http from 'node:http';
import { COLD_START_ROUTE_HEADER } from '../../constructs/cold-start';

const HOST = '127.0.0.1';
/** RFC 9110 §7.6.1's connection-specific headers, plus the non-standard ones proxies drop too. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'proxy-authorization', 'proxy-authenticate']);

/** The headers of `message` without the hop-by-hop ones and those its Connection header lists. */
function forwardedHeaders(message: http.IncomingMessage): http.OutgoingHttpHeaders {
  const listed = new Set((message.headers.connection ?? '').split(',').map((name) => name.trim().toLowerCase()));
  const headers: http.OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(message.headers)) {
    if (value !== undefined && !HOP_BY_HOP.has(name) && !listed.has(name)) headers[name] = value;
  }
  return headers;
}

function main(argv: string[]): void {
  const [port, targetPort, routeKey] = [Number(argv[0]), Number(argv[1]), argv[2]];
  if (!Number.isInteger(port) || !Number.isInteger(targetPort) || routeKey === undefined) {
    process.stderr.write('usage: node-hop.js PORT TARGET_PORT ROUTE_KEY\n');
    process.exit(2);
  }
  const routes = new Map<string, { readonly port: number; inFlight: number }>([[routeKey, { port: targetPort, inFlight: 0 }]]);
  const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity, maxFreeSockets: 1024, timeout: 300_000 });

  const server = http.createServer((req, res) => {
    const key = req.headers[COLD_START_ROUTE_HEADER];
    const route = typeof key === 'string' ? routes.get(key) : undefined;
    if (route === undefined) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end(`no route for ${COLD_START_ROUTE_HEADER}: ${String(key)}\n`);
      return;
    }
    route.inFlight++;
    res.once('close', () => route.inFlight--);
    const headers = forwardedHeaders(req);
    const client = req.socket.remoteAddress ?? '';
    headers['x-forwarded-for'] = typeof headers['x-forwarded-for'] === 'string' ? `${headers['x-forwarded-for']}, ${client}` : client;
    const upstream = http.request({ agent, host: HOST, port: route.port, method: req.method, path: req.url, headers }, (upRes) => {
      res.writeHead(upRes.statusCode ?? 502, upRes.statusMessage, forwardedHeaders(upRes));
      upRes.pipe(res);
    });
    upstream.on('error', () => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' }).end('bad gateway\n');
      else res.destroy();
    });
    res.once('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });
    req.pipe(upstream);
  });
  server.keepAliveTimeout = 300_000;
  server.headersTimeout = 301_000;
  server.requestTimeout = 0;
  server.listen(port, HOST);
  process.once('SIGTERM', () => {
    server.close();
    agent.destroy();
    process.exit(0);
  });
}

main(process.argv.slice(2));
