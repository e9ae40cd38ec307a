/**
 * Graceful shutdown. In a pod the proxy gets SIGTERM after its preStop sleep, when the gateway has
 * stopped routing here (docs/kubernetes-objects.md, "Draining"); it then
 *
 * 1. stops accepting connections (the listening socket closes; new connections are refused) and reports
 *    not ready;
 * 2. keeps serving the connections it has: active and queued requests finish, and a request that still
 *    arrives on an open keep-alive connection is served too; every response now says `Connection: close`;
 * 3. once no request is left, or at the deadline, closes every connection and resolves.
 */
import type * as http from 'node:http';
import * as net from 'node:net';
import type { Log } from './log';
import type { ProxyHandler } from './proxy-handler';

export interface DrainResult {
  /** Whether every request finished before the deadline. */
  readonly drained: boolean;
  /** Requests cut at the deadline. */
  readonly abandoned: number;
  readonly elapsedMs: number;
}

/** Drains `server` (whose requests `handler` serves) within `deadlineMs`. */
export async function drainServer(server: http.Server, handler: ProxyHandler, deadlineMs: number): Promise<DrainResult> {
  const started = Date.now();
  handler.startDraining();
  // net.Server's close, not http.Server's: the latter would also drop idle keep-alive connections at once,
  // and a request already on its way over one of them would fail.
  net.Server.prototype.close.call(server);

  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'deadline'>((resolve) => {
    timer = setTimeout(() => resolve('deadline'), deadlineMs);
  });
  const outcome = await Promise.race([handler.whenIdle().then(() => 'idle' as const), deadline]);
  clearTimeout(timer);
  const abandoned = outcome === 'idle' ? 0 : handler.open;
  // Idle connections, and at the deadline the requests still open (their clients see the connection close).
  server.closeAllConnections();
  // http.Server's close now only stops its timers (the listening socket is already closed).
  server.close();
  if (outcome === 'deadline') {
    // Closing the connections finishes their requests at once; bound the wait all the same.
    let grace: NodeJS.Timeout | undefined;
    await Promise.race([handler.whenIdle(), new Promise((resolve) => (grace = setTimeout(resolve, 1000)))]);
    clearTimeout(grace);
  }
  return { drained: outcome === 'idle', abandoned, elapsedMs: Date.now() - started };
}

/** What the signal handlers stop. */
export interface Stoppable {
  drain(): Promise<DrainResult>;
  readonly handler: ProxyHandler;
}

/**
 * SIGTERM (the kubelet) and SIGINT (Ctrl-C): drain, then `exit(0)`. A second signal exits at once
 * (`exit(1)`). Returns a function that removes the handlers.
 */
export function exitOnSignals(proxy: Stoppable, drainTimeoutMs: number, log: Log, exit: (code: number) => void = process.exit): () => void {
  let draining = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (draining) {
      log.info(`${signal} while draining: exiting now with ${proxy.handler.open} requests open`);
      exit(1);
      return;
    }
    draining = true;
    // Logged once the listening socket is closed (drain() closes it synchronously): the line is a fact.
    const drained = proxy.drain();
    log.info(`${signal}: no new connections; draining ${proxy.handler.open} open requests (deadline ${drainTimeoutMs} ms)`);
    drained.then(
      (result) => {
        log.info(
          result.drained
            ? `drained in ${result.elapsedMs} ms; exiting`
            : `drain deadline reached after ${result.elapsedMs} ms: ${result.abandoned} requests cut; exiting`,
        );
        exit(0);
      },
      (error: unknown) => {
        log.info(`drain failed: ${String(error)}; exiting`);
        exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  return () => {
    process.removeListener('SIGTERM', onSignal);
    process.removeListener('SIGINT', onSignal);
  };
}
