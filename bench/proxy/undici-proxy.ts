#!/usr/bin/env node
/**
 * cortex-proxy with undici in place of `upstream.ts`: the experiment behind the choice recorded in
 * images/proxy/README.md ("upstream.ts or undici"). The command, the server, the breaker, the metrics and
 * the request path (`proxy-handler.ts`) are cortex-proxy's own; only the pool of connections to the user's
 * server is undici's `Pool`, driven through `dispatch` with a handler that streams into the client's
 * response. `bench/proxy/run.ts --undici DIR` starts it beside cortex-proxy.
 *
 *   CORTEX_BENCH_UNDICI=/tmp/undici-exp/node_modules/undici node dist/bench/proxy/undici-proxy.js <cortex-proxy flags>
 *
 * undici is not a dependency of the project: install it anywhere for the experiment
 * (`npm install --no-save undici@7` in an empty directory) and point CORTEX_BENCH_UNDICI at it.
 *
 * The adapter does what upstream.ts does for the request path, no more: the head the request path built is
 * split back into undici's header list (~0.4 µs for the benchmark's five lines, measured apart), and the
 * response's hop-by-hop headers are dropped. undici's own header and body timeouts are off: the request
 * path has its own, as with upstream.ts.
 */
import { Readable } from 'node:stream';
import { Command, parseCommandLine } from '../../images/proxy/src/config';
import { Log } from '../../images/proxy/src/log';
import { startProxy } from '../../images/proxy/src/server';
import { BodyFraming, listedHeaderNames, UpstreamListener } from '../../images/proxy/src/upstream';

/** The part of undici's API used here (undici's legacy dispatch handler: raw headers, false to pause). */
interface UndiciDispatchHandler {
  onConnect(abort: (error?: Error) => void): void;
  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void, statusText: string): boolean;
  onData(chunk: Buffer): boolean;
  onComplete(trailers: Buffer[] | null): void;
  onError(error: Error & { code?: string }): void;
}
interface UndiciPool {
  dispatch(options: { path: string; method: string; headers: string[]; body: Readable | null }, handler: UndiciDispatchHandler): boolean;
  destroy(): Promise<void>;
}
interface UndiciModule {
  Pool: new (origin: string, options: Record<string, unknown>) => UndiciPool;
}

class UndiciUpstreamPool {
  private readonly pool: UndiciPool;

  constructor(origin: string, connections: number) {
    const dir = process.env.CORTEX_BENCH_UNDICI;
    if (dir === undefined || dir === '') throw new Error('CORTEX_BENCH_UNDICI must name an undici package directory');
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const undici = require(dir) as UndiciModule;
    this.pool = new undici.Pool(origin, {
      connections,
      pipelining: 1,
      keepAliveTimeout: 600_000,
      keepAliveMaxTimeout: 600_000,
      headersTimeout: 0,
      bodyTimeout: 0,
    });
  }

  public acquire(): UndiciExchange {
    return new UndiciExchange(this.pool);
  }

  public destroy(): void {
    void this.pool.destroy();
  }
}

/** One request through undici, with the surface of upstream.ts's `UpstreamConnection` that the request path uses. */
class UndiciExchange implements UndiciDispatchHandler {
  private listener: UpstreamListener | null = null;
  private body: Readable | null = null;
  private abortFn: ((error?: Error) => void) | null = null;
  private resumeFn: (() => void) | null = null;
  private aborted = false;

  constructor(private readonly pool: UndiciPool) {}

  public request(listener: UpstreamListener, method: string, head: string, framing: BodyFraming): void {
    this.listener = listener;
    const lines = head.split('\r\n');
    const requestLine = lines[0];
    const path = requestLine.slice(method.length + 1, requestLine.length - 9);
    const headers: string[] = [];
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i];
      if (line === '') continue;
      const colon = line.indexOf(':');
      const name = line.slice(0, colon);
      // undici frames a streamed body itself (and refuses the header).
      if (name.length === 17 && name.toLowerCase() === 'transfer-encoding') continue;
      headers.push(name, line.slice(colon + 2));
    }
    if (framing !== BodyFraming.None) {
      this.body = new Readable({ read: () => this.listener?.upstreamDrain() });
    }
    this.pool.dispatch({ path, method, headers, body: this.body }, this);
  }

  public write(chunk: Buffer): boolean {
    return this.body === null ? true : this.body.push(chunk);
  }

  public end(): void {
    this.body?.push(null);
  }

  public cork(): void {}
  public uncork(): void {}

  public pause(): void {
    // onData returned false: undici paused; `resume` restarts it.
  }

  public resume(): void {
    const resume = this.resumeFn;
    if (resume !== null) resume();
  }

  public abort(): void {
    this.listener = null;
    if (this.aborted) return;
    this.aborted = true;
    if (this.abortFn !== null) this.abortFn(new Error('aborted by the proxy'));
  }

  public onConnect(abort: (error?: Error) => void): void {
    this.abortFn = abort;
    if (this.aborted) abort(new Error('aborted by the proxy'));
  }

  public onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void, statusText: string): boolean {
    const listener = this.listener;
    if (listener === null) return true;
    this.resumeFn = resume;
    const headers: string[] = [];
    let connection: string | null = null;
    let chunked = false;
    for (let i = 0; i < rawHeaders.length; i += 2) {
      const name = rawHeaders[i].toString('latin1');
      const value = rawHeaders[i + 1].toString('latin1');
      switch (name.length) {
        case 10: {
          const lower = name.toLowerCase();
          if (lower === 'connection') {
            connection = connection === null ? value : `${connection},${value}`;
            continue;
          }
          if (lower === 'keep-alive') continue;
          break;
        }
        case 16:
          if (name.toLowerCase() === 'proxy-connection') continue;
          break;
        case 17:
          if (name.toLowerCase() === 'transfer-encoding') {
            chunked = true;
            continue;
          }
          break;
      }
      headers.push(name, value);
    }
    if (connection !== null) {
      const listed = listedHeaderNames(connection);
      if (listed.length > 0) {
        for (let i = headers.length - 2; i >= 0; i -= 2) if (listed.includes(headers[i].toLowerCase())) headers.splice(i, 2);
      }
    }
    if (chunked) {
      for (let i = headers.length - 2; i >= 0; i -= 2) if (headers[i].toLowerCase() === 'content-length') headers.splice(i, 2);
    }
    listener.upstreamHead(statusCode, statusText, headers);
    return true;
  }

  public onData(chunk: Buffer): boolean {
    const listener = this.listener;
    return listener === null ? true : listener.upstreamBody(chunk);
  }

  public onComplete(): void {
    const listener = this.listener;
    this.listener = null;
    listener?.upstreamEnd(undefined);
  }

  public onError(error: Error & { code?: string }): void {
    const listener = this.listener;
    this.listener = null;
    // undici reports a refused connection with the socket's own code.
    listener?.upstreamError(error.code === 'ECONNREFUSED' ? 'ECONNREFUSED' : error.code ?? error.message, false);
  }
}

async function main(argv: string[]): Promise<void> {
  const log = new Log();
  const command: Command = parseCommandLine(argv, process.env);
  if (command.help) return;
  const config = command.config;
  const proxy = await startProxy(config, { log });
  const host = config.userHost.includes(':') ? `[${config.userHost}]` : config.userHost;
  const undiciPool = new UndiciUpstreamPool(`http://${host}:${config.userPort}`, config.maxConcurrency + 2);
  // Swapped before the first request: the request path only calls acquire() and the connection's methods.
  proxy.handler.pool.destroy();
  (proxy.handler as unknown as { pool: UndiciUpstreamPool }).pool = undiciPool;
  process.once('SIGTERM', () => {
    void proxy.close().then(() => process.exit(0));
  });
  log.info(`cortex-proxy with undici: listening on ${proxy.port} for ${config.userHost}:${config.userPort}`);
}

void main(process.argv.slice(2));
