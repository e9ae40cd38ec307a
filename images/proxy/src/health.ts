/**
 * Readiness: `/healthz` on the admin port answers 200 only while the user's server accepts TCP connections
 * on its port (checked at every probe, so it follows a crash or a slow model load) — or, with
 * `--user-admin-port`, while the user server's own `/healthz` answers 200 (user-admin.ts) — and 503 once the
 * proxy drains. The pod's readiness probe points here, so the pod gets traffic only when both the proxy
 * and the user's server can take it.
 */
import * as net from 'node:net';
import { checkUserHealth } from './user-admin';

/** The kubelet's probe timeout is 1 s: answer well within it. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 500;

export interface TcpCheck {
  readonly ok: boolean;
  /** Why not, when not ok: the socket error's code or `timeout`. */
  readonly reason?: string;
}

/** Whether a TCP connection to `host:port` is accepted within `timeoutMs`. Never rejects. */
export function checkTcp(host: string, port: number, timeoutMs: number = DEFAULT_CONNECT_TIMEOUT_MS): Promise<TcpCheck> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    let settled = false;
    const finish = (result: TcpCheck): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => finish({ ok: false, reason: 'timeout' }), timeoutMs);
    socket.once('connect', () => finish({ ok: true }));
    socket.once('error', (e: NodeJS.ErrnoException) => finish({ ok: false, reason: e.code ?? e.message }));
  });
}

export interface HealthOptions {
  readonly userHost: string;
  readonly userPort: number;
  /** The user server's admin port: when set (not 0), readiness is its `GET /healthz` answering 200. */
  readonly userAdminPort?: number;
  /** Whether the proxy drains (then not ready, whatever the user's server does). */
  readonly draining: () => boolean;
  readonly connectTimeoutMs?: number;
}

export interface HealthStatus {
  readonly ready: boolean;
  readonly status: 'ok' | 'draining' | 'user server not accepting connections' | 'user server not ready';
  readonly detail?: string;
}

export class Health {
  private readonly connectTimeoutMs: number;

  constructor(private readonly options: HealthOptions) {
    this.connectTimeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  }

  public async check(): Promise<HealthStatus> {
    if (this.options.draining()) return { ready: false, status: 'draining' };
    const { userHost, userPort, userAdminPort } = this.options;
    if (userAdminPort !== undefined && userAdminPort !== 0) {
      const user = await checkUserHealth(userHost, userAdminPort);
      return user.ok ? { ready: true, status: 'ok' } : { ready: false, status: 'user server not ready', detail: user.detail };
    }
    const tcp = await checkTcp(userHost, userPort, this.connectTimeoutMs);
    if (tcp.ok) return { ready: true, status: 'ok' };
    return { ready: false, status: 'user server not accepting connections', detail: `${userHost}:${userPort}: ${tcp.reason}` };
  }
}
