/**
 * The fuzzer's engine: the real `cortex-proxy` as a child process in front of the fuzzing upstream, cases
 * of random and mutated client connections run one after another, and the invariants checked after each:
 *
 * - the proxy process is alive;
 * - every response a client got is well-formed HTTP/1.1 (or the stream ended cleanly, or in a body the proxy
 *   had to cut), answers the request it is aligned with, and carries the body the client sent;
 * - what the proxy forwarded is well-formed, unambiguously framed HTTP/1.1;
 * - once the case's sockets are closed: `cortex_in_flight_requests` is back to 0, a plain request through the
 *   main port is answered by the upstream, the upstream connections are no more than the pool keeps idle
 *   (max concurrency) plus a small allowance, and the proxy's open file descriptors do not grow.
 *
 * A case is deterministic for its seed and number (`caseSeed(seed, n)`); timing is not, so a violation is
 * reported with the exact bytes each side sent, and `shrink` looks for a smaller case that still fails.
 */
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import { mix32, Rng } from './prng';
import { buildConnection, ConnectionPlan, RequestPlan } from './requests';
import { headerValue, preview, ResponseStream, StreamEnd } from './responses';
import { bodyDigest, FuzzUpstream, HEALTH_TOKEN, parseEcho, PlayedResponse, UpstreamLog } from './upstream';

const LOOPBACK = '127.0.0.1';

export interface FuzzOptions {
  readonly seed: number;
  /** How many cases (numbered from `first`). */
  readonly cases: number;
  /** Stop starting cases after this long (whichever comes first). */
  readonly seconds?: number;
  /** The compiled proxy's main.js. */
  readonly proxyMain: string;
  /** The first case's number (default 0); with `cases: 1`, reruns one case. */
  readonly first?: number;
  /** Record a violation and go on (the proxy is restarted) instead of stopping at the first. */
  readonly keepGoing?: boolean;
  /** After a violation, look for a smaller case that fails the same way. */
  readonly shrink?: boolean;
  /** The longest a case's client connections may take (then they are closed). Default 1500 ms. */
  readonly caseBudgetMs?: number;
  /** A connection with nothing sent or received for this long is closed by its client. Default 400 ms. */
  readonly quietMs?: number;
  /** Progress and reports. Default: nothing. */
  readonly log?: (line: string) => void;
  /** Replay this recorded case (from a reproducer file) instead of generating cases. */
  readonly replay?: CasePlan;
}

export interface Violation {
  readonly caseIndex: number;
  readonly kind: string;
  readonly detail: string;
  /** Everything needed to reproduce: the exact bytes of both sides, the proxy's output. */
  readonly reproducer: string;
  /** The same as data (base64 bytes), for a file. */
  readonly data: unknown;
  /** When shrunk: the smallest failing case found. */
  shrunk?: { readonly reproducer: string; readonly data: unknown };
}

export interface FuzzReport {
  seed: number;
  cases: number;
  connections: number;
  requests: number;
  /** Final responses received by clients, by status. */
  readonly statuses: Map<number, number>;
  interim: number;
  /** How client connections ended, and other outcomes worth counting. */
  readonly outcomes: Map<string, number>;
  /** Responses the upstream played, by recipe. */
  readonly upstreamKinds: Map<string, number>;
  /** Request kinds generated. */
  readonly requestKinds: Map<string, number>;
  /** Oddities that are not violations: count and first example. */
  readonly notes: Map<string, { count: number; example: string }>;
  readonly violations: Violation[];
  proxyArgs: string[];
  elapsedMs: number;
}

export interface CasePlan {
  readonly caseIndex: number;
  readonly upstreamSeed: number;
  readonly connections: ConnectionPlan[];
  /** Upstream arrivals answered by a plain 200 instead of their recipe (the shrinker's doing). */
  readonly plainArrivals: ReadonlySet<number>;
  /** Replaying a recorded case: the upstream's responses by request line (instead of recipes). */
  readonly replay?: readonly PlayedResponse[];
}

/** A case recorded in a reproducer file (`describeCase`'s data), to be replayed byte for byte. */
export function caseFromData(data: unknown): CasePlan {
  const d = data as {
    caseIndex: number;
    connections: Array<{
      pacing: ConnectionPlan['pacing'];
      ending: ConnectionPlan['ending'];
      stallAt: number;
      neverReads: boolean;
      startDelayMs?: number;
      writes: Array<{ pauseMs: number; base64: string }>;
      requests: Array<{ kind: string; wellFramed: boolean; method?: string; token?: string; body?: string; base64: string }>;
    }>;
    upstream: PlayedResponse[];
  };
  return {
    caseIndex: d.caseIndex,
    upstreamSeed: 0,
    plainArrivals: new Set(),
    replay: d.upstream,
    connections: d.connections.map((c) => ({
      pacing: c.pacing,
      ending: c.ending,
      stallAt: c.stallAt,
      neverReads: c.neverReads,
      startDelayMs: c.startDelayMs ?? 0,
      leaveAfterMs: 0,
      splits: c.requests.map(() => []),
      writes: c.writes.map((w) => ({ pauseMs: w.pauseMs, bytes: Buffer.from(w.base64, 'base64') })),
      requests: c.requests.map((r) => ({
        kind: r.kind,
        wellFramed: r.wellFramed,
        method: r.method,
        token: r.token,
        body: r.body === undefined ? undefined : Buffer.from(r.body, 'base64'),
        bytes: Buffer.from(r.base64, 'base64'),
      })),
    })),
  };
}

/** The proxy's --max-body-size while fuzzing: small, so that 413 paths are reached with small bodies. */
export const FUZZ_MAX_BODY = 64 * 1024;
/** The proxy's --max-concurrency while fuzzing. */
export const FUZZ_MAX_CONCURRENCY = 2;
/**
 * Idle upstream connections the proxy may keep beyond max concurrency: its pool keeps max concurrency idle
 * (proxy-handler.ts); the old proxy kept 2 more (kubelet probes bypassed the limit), so the same bound fits both.
 */
const POOL_ALLOWANCE = 2;
/** Beyond that: connections the proxy just closed whose close the upstream has not seen yet. */
const CONNECTION_SLACK = 2;
const SETTLE_MS = 1500;

export function buildCase(seed: number, caseIndex: number): CasePlan {
  const rng = new Rng(mix32(seed, caseIndex));
  const count = rng.weighted<number>([
    [6, 1],
    [3, 2],
    [2, 3],
  ]);
  const connections: ConnectionPlan[] = [];
  for (let c = 0; c < count; c++) connections.push(buildConnection(rng, caseIndex, c, FUZZ_MAX_BODY));
  return { caseIndex, upstreamSeed: mix32(seed, caseIndex, 0x5eed), connections, plainArrivals: new Set() };
}

/**
 * The flags the proxy is started with: small limits, and every timeout it has short (duration flags this
 * fuzzer does not know by name, `--*timeout*` and `--*-time`, get 200ms; idle timeouts 2 s), so that stalls
 * end within a case. Read from its --help: flags the proxy does not have are left out.
 */
export function proxyArgs(proxyMain: string): string[] {
  const help = spawnSync(process.execPath, [proxyMain, '--help'], { encoding: 'utf8' });
  if (help.status !== 0) throw new Error(`${proxyMain} --help failed (exit ${help.status}): ${help.stderr}`);
  const flags = new Set([...help.stdout.matchAll(/^\s+--([a-z0-9-]+)/gm)].map((m) => m[1]));
  const wanted = new Map<string, string>([
    ['max-concurrency', String(FUZZ_MAX_CONCURRENCY)],
    ['max-queue-length', '2'],
    ['queue-timeout', '200ms'],
    ['upstream-timeout', '250ms'],
    ['max-body-size', String(FUZZ_MAX_BODY)],
    ['keep-alive-timeout', '2s'],
    ['drain-timeout', '1s'],
  ]);
  for (const flag of flags) {
    if (wanted.has(flag) || !(flag.includes('timeout') || flag.endsWith('-time'))) continue;
    // An idle timeout longer than the in-flight check's wait: a proxy that misses a client's departure must not
    // be rescued by the timeout before the check looks (the client's own quiet window ends a stalled exchange).
    wanted.set(flag, flag.includes('idle') ? `${SETTLE_MS + 500}ms` : '200ms');
  }
  const args: string[] = [];
  for (const [flag, value] of wanted) if (flags.has(flag)) args.push(`--${flag}`, value);
  return args;
}

/** Proxies started and not yet exited: `stopAllProxies` kills them (a fuzzer interrupted must not leave one behind). */
const liveProxies = new Set<ProxyProcess>();

/** Kills every proxy this process started that is still running (by PID; synchronous, for signal handlers). */
export function stopAllProxies(): void {
  for (const proxy of liveProxies) if (proxy.alive) proxy.child.kill('SIGKILL');
}

/** The proxy as a child process. */
export class ProxyProcess {
  public static async start(main: string, userPort: number, args: string[]): Promise<ProxyProcess> {
    const child = spawn(process.execPath, [main, '--host', LOOPBACK, '--port', '0', '--admin-port', '0', '--user-port', String(userPort), ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { PATH: process.env.PATH },
    });
    const proxy = new ProxyProcess(child);
    liveProxies.add(proxy);
    void proxy.exited.then(() => liveProxies.delete(proxy));
    const deadline = Date.now() + 10_000;
    while (!/listening on/.test(proxy.output)) {
      if (!proxy.alive) throw new Error(`the proxy exited at start (${proxy.exitStatus}):\n${proxy.output}`);
      if (Date.now() > deadline) {
        proxy.stop();
        throw new Error(`the proxy did not start within 10 s:\n${proxy.output}`);
      }
      await delay(5);
    }
    const match = /listening on [^ ]*:(\d+) \(admin [^ ]*:(\d+)\)/.exec(proxy.output);
    if (match === null) {
      proxy.stop();
      throw new Error(`no ports in the proxy's output:\n${proxy.output}`);
    }
    proxy.port = Number(match[1]);
    proxy.adminPort = Number(match[2]);
    return proxy;
  }

  public port = 0;
  public adminPort = 0;
  public output = '';
  public exitStatus: string | undefined;
  public readonly exited: Promise<void>;

  private constructor(public readonly child: ChildProcess) {
    const keep = (d: Buffer): void => {
      this.output = (this.output + d.toString('utf8')).slice(-20_000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    this.exited = new Promise((resolve) =>
      child.on('exit', (code, signal) => {
        this.exitStatus = signal !== null ? `signal ${signal}` : `exit code ${code}`;
        resolve();
      }),
    );
  }

  public get alive(): boolean {
    return this.exitStatus === undefined;
  }

  public get pid(): number {
    return this.child.pid ?? -1;
  }

  /** Open file descriptors (Linux); undefined elsewhere. */
  public fds(): number | undefined {
    try {
      return fs.readdirSync(`/proc/${this.pid}/fd`).length;
    } catch {
      return undefined;
    }
  }

  public stop(): Promise<void> {
    if (this.alive) this.child.kill('SIGKILL');
    return this.exited;
  }

  /** The last lines it printed. */
  public tail(lines = 30): string {
    return this.output.split('\n').slice(-lines).join('\n');
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** What one client connection did and got. */
interface ConnectionOutcome {
  readonly plan: ConnectionPlan;
  readonly index: number;
  readonly stream: ResponseStream;
  /** Every write as it went out, with the pause before it. */
  readonly writes: Array<{ readonly pauseMs: number; readonly bytes: Buffer }>;
  end: StreamEnd | 'not-read';
  error: string | undefined;
  /** Who ended it: the proxy (close), the client's plan, the quiet window, or the case budget. */
  closedBy: 'proxy' | 'client' | 'quiet' | 'budget';
  /** Requests written (the last one maybe in part). */
  requestsWritten: number;
  /** Requests written whole: a server may answer the others with 408 or 400 (they are incomplete). */
  fullyWritten: number;
}

/** Wakes waiters on socket events; `next(ms)` resolves at the next event or after ms. */
class Signal {
  private waiters: Array<() => void> = [];
  public wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
  public next(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, Math.max(0, ms));
      this.waiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}

/** The case's time bound: its open client sockets, and those it cut. */
interface Budget {
  readonly sockets: Set<net.Socket>;
  readonly cut: Set<net.Socket>;
}

/**
 * Whether final response `index` answers a HEAD request (undefined: the client cannot know, when a request
 * before it was malformed on purpose or it was not written whole).
 */
function headOf(requests: readonly RequestPlan[], index: number, fullyWritten: number): boolean | undefined {
  if (index >= requests.length || index >= fullyWritten) return undefined;
  for (let i = 0; i <= index; i++) if (!requests[i].wellFramed) return undefined;
  return requests[index].method === 'HEAD';
}

async function runConnection(
  port: number,
  plan: ConnectionPlan,
  index: number,
  budget: Budget,
  quietMs: number,
): Promise<ConnectionOutcome> {
  const stream = new ResponseStream((i) => headOf(plan.requests, i, outcome.fullyWritten));
  const outcome: ConnectionOutcome = { plan, index, stream, writes: [], end: 'clean', error: undefined, closedBy: 'proxy', requestsWritten: 0, fullyWritten: 0 };
  const signal = new Signal();
  let closed = false;
  let lastEvent = Date.now();
  const socket = net.connect({ port, host: LOOPBACK, noDelay: true });
  budget.sockets.add(socket);
  socket.on('error', (e: NodeJS.ErrnoException) => {
    outcome.error ??= e.code ?? e.message;
  });
  socket.on('data', (d: Buffer) => {
    lastEvent = Date.now();
    stream.push(d);
    signal.wake();
  });
  const closedPromise = new Promise<void>((resolve) =>
    socket.on('close', () => {
      closed = true;
      budget.sockets.delete(socket);
      signal.wake();
      resolve();
    }),
  );
  if (plan.neverReads) socket.pause();
  await Promise.race([new Promise((resolve) => socket.once('connect', resolve)), closedPromise]);
  if (plan.startDelayMs > 0) await delay(plan.startDelayMs);

  /** Writes `bytes`; false when the connection can no longer take them. */
  const write = (bytes: Buffer, pauseMs: number): boolean => {
    if (bytes.length === 0) return true;
    if (closed || socket.destroyed || !socket.writable) return false;
    outcome.writes.push({ pauseMs, bytes });
    socket.write(bytes);
    lastEvent = Date.now();
    return true;
  };
  const last = plan.writes === undefined ? plan.requests.length - 1 : -1;
  for (const recorded of plan.writes ?? []) {
    if (recorded.pauseMs > 0) await delay(recorded.pauseMs);
    write(recorded.bytes, recorded.pauseMs);
  }
  if (plan.writes !== undefined && !closed) outcome.requestsWritten = outcome.fullyWritten = plan.requests.length;
  for (let i = 0; i <= last && !closed; i++) {
    let pause = 0;
    if (plan.pacing === 'sequential' && i > 0) {
      // One at a time: the next request once the previous one's response is in (or a moment has passed).
      const started = Date.now();
      const patience = Math.min(300, quietMs / 2);
      while (!closed && stream.responses.length < i && Date.now() - started < patience) await signal.next(patience - (Date.now() - started));
      pause = Date.now() - started;
    }
    const request = plan.requests[i];
    const bytes = i === last && plan.ending === 'stall' ? request.bytes.subarray(0, plan.stallAt) : request.bytes;
    let from = 0;
    let whole = bytes.length === request.bytes.length;
    for (const [at, gap] of plan.splits[i]) {
      if (at >= bytes.length || closed) break;
      whole = write(bytes.subarray(from, at), pause) && whole;
      from = at;
      pause = gap;
      if (gap > 0) await delay(gap);
    }
    if (closed) break;
    whole = write(bytes.subarray(from), pause) && whole;
    outcome.requestsWritten++;
    if (whole) outcome.fullyWritten++;
  }

  const allAnswered = (): boolean => plan.requests.every((r) => r.wellFramed) && stream.responses.length >= plan.requests.length;
  switch (plan.ending) {
    case 'destroy':
    case 'reset':
      if (plan.leaveAfterMs > 0) await delay(plan.leaveAfterMs);
      if (!closed) {
        outcome.closedBy = 'client';
        if (plan.ending === 'reset') socket.resetAndDestroy();
        else socket.destroy();
      }
      break;
    default: {
      if (plan.ending === 'half-close' && !closed) socket.end();
      while (!closed) {
        if (plan.ending === 'keep' && allAnswered()) {
          // Everything answered: a moment for stray bytes, then the client leaves.
          await signal.next(20);
          if (!closed) {
            outcome.closedBy = 'client';
            socket.destroy();
          }
          break;
        }
        const idle = Date.now() - lastEvent;
        if (idle >= quietMs) {
          outcome.closedBy = 'quiet';
          socket.destroy();
          break;
        }
        await signal.next(quietMs - idle);
      }
    }
  }
  await closedPromise;
  if (budget.cut.has(socket)) outcome.closedBy = 'budget';
  outcome.end = plan.neverReads ? 'not-read' : stream.end();
  return outcome;
}

/** What the fuzzer knows about the run so far. */
interface Env {
  readonly options: FuzzOptions;
  readonly upstream: FuzzUpstream;
  proxy: ProxyProcess;
  readonly args: string[];
  fdBaseline: number | undefined;
  readonly report: FuzzReport;
  /** Violations the upstream saw during the case under way. */
  upstreamViolations: Array<{ kind: string; detail: string; bytes: Buffer }>;
}

interface CaseResult {
  readonly outcomes: ConnectionOutcome[];
  readonly violation: { kind: string; detail: string } | undefined;
  readonly upstreamLogs: UpstreamLog[];
  readonly played: PlayedResponse[];
}

function count<K>(map: Map<K, number>, key: K, n = 1): void {
  map.set(key, (map.get(key) ?? 0) + n);
}

function note(report: FuzzReport, kind: string, example: string): void {
  const entry = report.notes.get(kind);
  if (entry === undefined) report.notes.set(kind, { count: 1, example });
  else entry.count++;
}

/** The HTTP layer's answers to a malformed request: they never answer a request that was forwarded. */
const CLIENT_ERROR_STATUSES = new Set([400, 408, 431]);

/**
 * Checks one connection's responses against its requests: each response aligned with a well-framed request
 * answers that request (its echo), with the body the client sent, and is not a malformed-request answer when
 * the request reached the upstream (`forwarded`: the tokens the upstream saw).
 */
function checkResponses(caseIndex: number, outcome: ConnectionOutcome, forwarded: ReadonlySet<string>): { kind: string; detail: string } | undefined {
  const { stream, plan, index } = outcome;
  if (stream.violation !== undefined) return { kind: 'malformed-response', detail: `client connection #${index}: ${stream.violation}` };
  for (let k = 0; k < stream.responses.length; k++) {
    const response = stream.responses[k];
    const echo = parseEcho(headerValue(response, 'x-fuzz-echo'));
    const aligned = headOf(plan.requests, k, outcome.fullyWritten) !== undefined;
    if (
      aligned &&
      echo === undefined &&
      CLIENT_ERROR_STATUSES.has(response.status) &&
      response.body?.toString('latin1').startsWith('{"error":') === true &&
      forwarded.has(plan.requests[k].token ?? '')
    ) {
      return {
        kind: 'response-replaced',
        detail:
          `client connection #${index}: request #${k} (${plan.requests[k].kind}, well-formed) was forwarded to the upstream, but the client got the ` +
          `proxy's ${response.status} ${preview(response.body ?? Buffer.alloc(0), 160)} in its place`,
      };
    }
    if (echo === undefined || echo.token === 'none') continue;
    if (echo.token === HEALTH_TOKEN || !plan.requests.some((r) => r.bytes.includes(`/fz/${echo.token}`, 0, 'latin1'))) {
      return { kind: 'response-to-another-client', detail: `client connection #${index} (case ${caseIndex}) got the response to request ${echo.token}` };
    }
    if (!aligned) continue;
    const request = plan.requests[k];
    if (echo.token !== request.token) {
      return { kind: 'response-order', detail: `client connection #${index}: response #${k} answers request ${echo.token}, not ${request.token}` };
    }
    if (echo.digest !== '-' && request.body !== undefined && echo.digest !== bodyDigest(request.body)) {
      return {
        kind: 'body-changed',
        detail: `client connection #${index}: request #${k} (${request.kind}) sent a body of ${bodyDigest(request.body)} (length.fnv32); the user's server received ${echo.digest}`,
      };
    }
  }
  return undefined;
}

function getMetrics(adminPort: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: LOOPBACK, port: adminPort, path: '/metrics', agent: false, timeout: 2000 }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve(text));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
  });
}

function gauge(metrics: string, name: string): number | undefined {
  const match = new RegExp(`^${name} (\\S+)$`, 'm').exec(metrics);
  return match === null ? undefined : Number(match[1]);
}

/** A plain request through the main port; resolves with what came back. */
async function health(port: number): Promise<{ ok: boolean; what: string }> {
  const stream = new ResponseStream(() => false);
  const socket = net.connect({ port, host: LOOPBACK });
  let error: string | undefined;
  socket.on('error', (e: NodeJS.ErrnoException) => (error = e.code ?? e.message));
  socket.on('data', (d: Buffer) => stream.push(d));
  socket.on('connect', () => socket.write(`GET /fz/${HEALTH_TOKEN} HTTP/1.1\r\nHost: fuzz.local\r\nConnection: close\r\n\r\n`));
  const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  const timer = setTimeout(() => socket.destroy(), 2000);
  await closed;
  clearTimeout(timer);
  stream.end();
  const response = stream.responses[0];
  if (response === undefined) return { ok: false, what: `no response (${error ?? 'closed'})` };
  const echo = parseEcho(headerValue(response, 'x-fuzz-echo'));
  const ok = response.status === 200 && echo?.token === HEALTH_TOKEN;
  return { ok, what: `${response.status} ${response.reason}${response.body === undefined ? '' : ` ${preview(response.body, 120)}`}` };
}

async function checkInvariants(env: Env): Promise<{ kind: string; detail: string } | undefined> {
  const { proxy, upstream } = env;
  const exited = async (): Promise<{ kind: string; detail: string } | undefined> => {
    await Promise.race([proxy.exited, delay(200)]);
    if (proxy.alive) return undefined;
    return { kind: 'proxy-exited', detail: `the proxy exited (${proxy.exitStatus}); its last output:\n${proxy.tail()}` };
  };
  if (!proxy.alive) return exited();

  // In flight back to 0 once every socket of the case is closed.
  const deadline = Date.now() + SETTLE_MS;
  let metrics = '';
  for (;;) {
    try {
      metrics = await getMetrics(proxy.adminPort);
    } catch (error) {
      return (await exited()) ?? { kind: 'admin-unreachable', detail: `GET /metrics failed: ${(error as Error).message}` };
    }
    if (gauge(metrics, 'cortex_in_flight_requests') === 0) break;
    if (Date.now() > deadline) {
      const lines = metrics.split('\n').filter((l) => /^cortex_(in_flight|active|queue_length)/.test(l));
      return { kind: 'in-flight-stuck', detail: `${SETTLE_MS} ms after the case's sockets closed: ${lines.join('; ')}` };
    }
    await delay(10);
  }

  // A plain request still goes through to the upstream and back.
  let last = '';
  for (let attempt = 0; attempt < 3; attempt++) {
    const result = await health(proxy.port);
    if (result.ok) {
      last = '';
      break;
    }
    last = result.what;
    if (!proxy.alive) return exited();
    await delay(50);
  }
  if (last !== '') return (await exited()) ?? { kind: 'health-failed', detail: `a plain GET through the proxy got: ${last} (3 attempts)` };

  // Upstream connections: no more than the pool keeps idle (plus a few it is closing).
  const bound = FUZZ_MAX_CONCURRENCY + POOL_ALLOWANCE + CONNECTION_SLACK;
  const connectionsDeadline = Date.now() + SETTLE_MS;
  while (upstream.sockets.size > bound) {
    if (Date.now() > connectionsDeadline) {
      return { kind: 'upstream-connections', detail: `${upstream.sockets.size} connections to the upstream stay open (at most ${bound} expected)` };
    }
    await delay(10);
  }

  // File descriptors: no more than at start plus the pool.
  if (env.fdBaseline !== undefined) {
    const fdBound = env.fdBaseline + FUZZ_MAX_CONCURRENCY + POOL_ALLOWANCE + 6;
    const fdDeadline = Date.now() + SETTLE_MS;
    let fds = proxy.fds();
    while (fds !== undefined && fds > fdBound) {
      if (Date.now() > fdDeadline) return { kind: 'fd-leak', detail: `the proxy has ${fds} open file descriptors (${env.fdBaseline} at start, at most ${fdBound} expected)` };
      await delay(10);
      fds = proxy.fds();
    }
  }
  return undefined;
}

async function runCase(env: Env, plan: CasePlan): Promise<CaseResult> {
  const { options, upstream, report } = env;
  const budgetMs = options.caseBudgetMs ?? 1500;
  const quietMs = options.quietMs ?? 400;
  env.upstreamViolations = [];
  upstream.beginCase(plan.upstreamSeed, plan.plainArrivals, plan.replay);
  const budget: Budget = { sockets: new Set(), cut: new Set() };
  const timer = setTimeout(() => {
    for (const socket of budget.sockets) {
      budget.cut.add(socket);
      socket.destroy();
    }
  }, budgetMs);
  const outcomes = await Promise.all(plan.connections.map((c, i) => runConnection(env.proxy.port, c, i, budget, quietMs)));
  clearTimeout(timer);
  const upstreamLogs = upstream.logs;
  const played = upstream.played;

  let violation: { kind: string; detail: string } | undefined;
  for (const outcome of outcomes) {
    report.connections++;
    report.requests += outcome.requestsWritten;
    for (const r of outcome.plan.requests) count(report.requestKinds, r.kind);
    for (const response of outcome.stream.responses) count(report.statuses, response.status);
    report.interim += outcome.stream.interim;
    count(report.outcomes, `stream end: ${outcome.end}`);
    count(report.outcomes, `closed by: ${outcome.closedBy}`);
    if (outcome.error !== undefined) count(report.outcomes, `client socket error: ${outcome.error}`);
    if (outcome.end === 'cut-head') note(report, 'a response cut in its head', `case ${plan.caseIndex}`);
    if (outcome.error === 'ECONNRESET' && outcome.stream.received === 0 && outcome.plan.ending !== 'reset') {
      note(report, 'connection reset before any response', `case ${plan.caseIndex} connection #${outcome.index}: ${outcome.plan.requests.map((r) => r.kind).join(', ')}`);
    }
    if (outcome.closedBy === 'budget') note(report, 'connection still open at the case budget', `case ${plan.caseIndex} connection #${outcome.index}`);
    violation ??= checkResponses(plan.caseIndex, outcome, upstream.seen);
  }
  const invariant = await checkInvariants(env);
  const fromUpstream = env.upstreamViolations[0];
  // A dead proxy explains everything else: report it first.
  if (invariant?.kind === 'proxy-exited') violation = invariant;
  violation ??= fromUpstream === undefined ? undefined : { kind: fromUpstream.kind, detail: `${fromUpstream.detail}: ${preview(fromUpstream.bytes, 400)}` };
  violation ??= invariant;
  return { outcomes, violation, upstreamLogs, played };
}

/** The reproducer of a case as text (previews) and as data (every byte, base64). */
function describeCase(env: Env, plan: CasePlan, result: CaseResult, violation: { kind: string; detail: string }): { text: string; data: unknown } {
  const { options } = env;
  const lines: string[] = [];
  lines.push(`VIOLATION ${violation.kind} in case ${plan.caseIndex} (seed ${options.seed}): ${violation.detail}`);
  const timing = `${options.caseBudgetMs === undefined ? '' : ` --budget ${options.caseBudgetMs}`}${options.quietMs === undefined ? '' : ` --quiet ${options.quietMs}`}`;
  lines.push(
    options.replay === undefined
      ? `  rerun: node dist/bench/fuzz-proxy/run.js --proxy ${options.proxyMain} --seed ${options.seed} --case ${plan.caseIndex}${timing}`
      : `  replayed from a reproducer file (--replay)`,
  );
  lines.push(`  proxy flags: ${env.args.join(' ')}`);
  if (plan.plainArrivals.size > 0) lines.push(`  upstream arrivals answered plainly: ${[...plan.plainArrivals].join(', ')}`);
  const connections = result.outcomes.map((o) => {
    lines.push(
      `  client connection #${o.index}: ${o.plan.pacing}, ending ${o.plan.ending}${o.plan.ending === 'stall' ? ` (after ${o.plan.stallAt} bytes of the last request)` : ''}` +
        `${o.plan.neverReads ? ', never reads' : ''}; closed by ${o.closedBy}${o.error === undefined ? '' : ` (${o.error})`}, stream end ${o.end}, ${o.stream.received} bytes received`,
    );
    o.plan.requests.forEach((r, i) => lines.push(`    request #${i} ${r.kind}${r.wellFramed ? '' : ' (malformed)'}: ${preview(r.bytes, 300)}`));
    o.writes.forEach((w, i) => lines.push(`    write ${i}${w.pauseMs > 0 ? ` after ${w.pauseMs} ms` : ''}: ${w.bytes.toString('base64').length > 2000 ? `${w.bytes.length} bytes (base64 in the JSON reproducer)` : `base64 ${w.bytes.toString('base64')}`}`));
    o.stream.responses.forEach((res, i) => lines.push(`    response #${i}: ${res.status} ${JSON.stringify(res.reason)} (${res.bodyLength} body bytes)`));
    return {
      pacing: o.plan.pacing,
      ending: o.plan.ending,
      stallAt: o.plan.stallAt,
      neverReads: o.plan.neverReads,
      writes: o.writes.map((w) => ({ pauseMs: w.pauseMs, base64: w.bytes.toString('base64') })),
      startDelayMs: o.plan.startDelayMs,
      requests: o.plan.requests.map((r) => ({
        kind: r.kind,
        wellFramed: r.wellFramed,
        method: r.method,
        token: r.token,
        body: r.body?.toString('base64'),
        base64: r.bytes.toString('base64'),
      })),
      responses: o.stream.responses.map((r) => ({ status: r.status, reason: r.reason, headers: r.headers, bodyLength: r.bodyLength })),
      received: Buffer.concat(o.stream.firstBytes).toString('base64'),
      closedBy: o.closedBy,
      error: o.error,
    };
  });
  for (const log of result.upstreamLogs) {
    lines.push(`  upstream connection u${log.id}:`);
    for (const line of log.lines) lines.push(`    ${line}`);
  }
  lines.push('  proxy output (last lines):');
  for (const line of env.proxy.tail(15).split('\n')) if (line !== '') lines.push(`    ${line}`);
  return {
    text: lines.join('\n'),
    data: {
      seed: options.seed,
      caseIndex: plan.caseIndex,
      violation,
      proxy: options.proxyMain,
      proxyArgs: env.args,
      plainArrivals: [...plan.plainArrivals],
      connections,
      upstream: result.played,
      proxyOutput: env.proxy.tail(40),
    },
  };
}

async function startProxy(env: Pick<Env, 'options' | 'upstream' | 'args'>): Promise<{ proxy: ProxyProcess; fdBaseline: number | undefined }> {
  const proxy = await ProxyProcess.start(env.options.proxyMain, env.upstream.port, env.args);
  // One request first: the pool's first connection counts in the baseline.
  const warm = await health(proxy.port);
  if (!warm.ok) {
    await proxy.stop();
    throw new Error(`the proxy does not answer a plain request at start: ${warm.what}\n${proxy.output}`);
  }
  return { proxy, fdBaseline: proxy.fds() };
}

/** Runs a case alone on a fresh proxy: the violation kind it produces, if any. */
async function runAlone(env: Env, plan: CasePlan): Promise<{ result: CaseResult; violation: { kind: string; detail: string } | undefined }> {
  const previous = { proxy: env.proxy, fdBaseline: env.fdBaseline };
  const fresh = await startProxy(env);
  env.proxy = fresh.proxy;
  env.fdBaseline = fresh.fdBaseline;
  try {
    const result = await runCase(env, plan);
    return { result, violation: result.violation };
  } finally {
    await env.proxy.stop();
    env.proxy = previous.proxy;
    env.fdBaseline = previous.fdBaseline;
  }
}

/** Smaller variants of a plan, most reducing first. */
function* candidates(plan: CasePlan, arrivals: number): Generator<CasePlan> {
  const withConnections = (connections: ConnectionPlan[]): CasePlan => ({ ...plan, connections });
  for (let c = 0; c < plan.connections.length && plan.connections.length > 1; c++) {
    yield withConnections(plan.connections.filter((_, i) => i !== c));
  }
  for (let c = 0; c < plan.connections.length; c++) {
    const conn = plan.connections[c];
    for (let r = conn.requests.length - 1; r >= 0 && conn.requests.length > 1; r--) {
      const smaller: ConnectionPlan = {
        ...conn,
        requests: conn.requests.filter((_, i) => i !== r),
        splits: conn.splits.filter((_, i) => i !== r),
        stallAt: r === conn.requests.length - 1 ? conn.requests[r - 1].bytes.length : conn.stallAt,
      };
      yield withConnections(plan.connections.map((x, i) => (i === c ? smaller : x)));
    }
    if (conn.splits.some((s) => s.length > 0)) {
      yield withConnections(plan.connections.map((x, i) => (i === c ? { ...conn, splits: conn.splits.map(() => []) } : x)));
    }
    if (conn.startDelayMs > 0 || conn.neverReads) {
      yield withConnections(plan.connections.map((x, i) => (i === c ? { ...conn, startDelayMs: 0, neverReads: false } : x)));
    }
  }
  for (let a = 0; a < arrivals; a++) {
    if (!plan.plainArrivals.has(a)) yield { ...plan, plainArrivals: new Set([...plan.plainArrivals, a]) };
  }
}

/** Greedy shrinking: keep any smaller variant that fails the same way on a fresh proxy (two tries each). */
async function shrink(env: Env, plan: CasePlan, kind: string, log: (line: string) => void): Promise<{ plan: CasePlan; result: CaseResult; violation: { kind: string; detail: string } } | undefined> {
  let best: { plan: CasePlan; result: CaseResult; violation: { kind: string; detail: string } } | undefined;
  for (let attempt = 0; attempt < 3 && best === undefined; attempt++) {
    const alone = await runAlone(env, plan);
    if (alone.violation?.kind === kind) best = { plan, result: alone.result, violation: alone.violation };
  }
  if (best === undefined) {
    log(`  shrink: case ${plan.caseIndex} alone on a fresh proxy does not fail again (it needs the state earlier cases left)`);
    return undefined;
  }
  let tries = 0;
  let improved = true;
  while (improved && tries < 120) {
    improved = false;
    for (const candidate of candidates(best.plan, env.upstream.caseArrivals + 2)) {
      if (++tries > 120) break;
      for (let attempt = 0; attempt < 2; attempt++) {
        const run = await runAlone(env, candidate);
        if (run.violation?.kind === kind) {
          best = { plan: candidate, result: run.result, violation: run.violation };
          improved = true;
          break;
        }
      }
      if (improved) break;
    }
  }
  log(`  shrink: ${tries} variants tried`);
  return best;
}

export function emptyReport(seed: number): FuzzReport {
  return {
    seed,
    cases: 0,
    connections: 0,
    requests: 0,
    statuses: new Map(),
    interim: 0,
    outcomes: new Map(),
    upstreamKinds: new Map(),
    requestKinds: new Map(),
    notes: new Map(),
    violations: [],
    proxyArgs: [],
    elapsedMs: 0,
  };
}

/** Runs the cases; resolves with the counts and the violations (stops at the first unless keepGoing). */
export async function runFuzz(options: FuzzOptions): Promise<FuzzReport> {
  const log = options.log ?? (() => undefined);
  const started = Date.now();
  const report = emptyReport(options.seed);
  const args = proxyArgs(options.proxyMain);
  report.proxyArgs = args;
  const pending: Env['upstreamViolations'] = [];
  let env: Env | undefined;
  const upstream = await FuzzUpstream.start({
    violation: (kind, detail, bytes) => (env?.upstreamViolations ?? pending).push({ kind, detail, bytes }),
    note: (kind, example) => note(report, kind, example),
  });
  try {
    const first = await startProxy({ options, upstream, args });
    env = { options, upstream, proxy: first.proxy, args, fdBaseline: first.fdBaseline, report, upstreamViolations: [] };
    const firstCase = options.replay?.caseIndex ?? options.first ?? 0;
    const cases = options.replay === undefined ? options.cases : 1;
    for (let caseIndex = firstCase; caseIndex < firstCase + cases; caseIndex++) {
      if (options.seconds !== undefined && Date.now() - started > options.seconds * 1000) break;
      const plan = options.replay ?? buildCase(options.seed, caseIndex);
      const caseStarted = Date.now();
      const result = await runCase(env, plan);
      const ms = Date.now() - caseStarted;
      count(report.outcomes, `case time: ${ms < 100 ? '<100 ms' : ms < 300 ? '100-300 ms' : ms < 1000 ? '300-1000 ms' : '≥1 s'}`);
      report.cases++;
      if (result.violation === undefined) continue;
      const described = describeCase(env, plan, result, result.violation);
      const violation: Violation = { caseIndex, kind: result.violation.kind, detail: result.violation.detail, reproducer: described.text, data: described.data };
      report.violations.push(violation);
      log(described.text);
      if (options.shrink) {
        log(`shrinking case ${caseIndex} (${result.violation.kind})…`);
        const smaller = await shrink(env, plan, result.violation.kind, log);
        if (smaller !== undefined) {
          const text = describeCase(env, smaller.plan, smaller.result, smaller.violation);
          violation.shrunk = { reproducer: text.text, data: text.data };
          log(`smallest failing variant found:\n${text.text}`);
        }
      }
      if (!options.keepGoing) break;
      // A fresh proxy after a violation, so that one fault does not cascade into the next cases.
      await env.proxy.stop();
      const fresh = await startProxy(env);
      env.proxy = fresh.proxy;
      env.fdBaseline = fresh.fdBaseline;
    }
  } finally {
    await env?.proxy.stop();
    for (const [kind, n] of upstream.kinds) count(report.upstreamKinds, kind, n);
    await upstream.close();
    report.elapsedMs = Date.now() - started;
  }
  return report;
}

/** The counts, printable. */
export function formatReport(report: FuzzReport): string {
  const sorted = <K>(map: Map<K, number>): string =>
    [...map.entries()]
      .sort((a, b) => (typeof a[0] === 'number' && typeof b[0] === 'number' ? a[0] - b[0] : b[1] - a[1]))
      .map(([k, n]) => `${k}: ${n}`)
      .join(', ');
  const responses = [...report.statuses.values()].reduce((a, b) => a + b, 0);
  const lines = [
    `seed ${report.seed}: ${report.cases} cases, ${report.connections} client connections, ${report.requests} requests written, ` +
      `${responses} responses, ${report.violations.length} violations, in ${(report.elapsedMs / 1000).toFixed(1)} s`,
    `proxy flags: ${report.proxyArgs.join(' ')}`,
    `responses by status: ${sorted(report.statuses)}; interim (1xx): ${report.interim}`,
    `connections: ${sorted(report.outcomes)}`,
    `request kinds: ${sorted(report.requestKinds)}`,
    `upstream responses: ${sorted(report.upstreamKinds)}`,
  ];
  for (const [kind, { count: n, example }] of report.notes) lines.push(`note: ${kind} ×${n} (first: ${example})`);
  for (const v of report.violations) lines.push(`VIOLATION ${v.kind} in case ${v.caseIndex}: ${v.detail.split('\n')[0]}`);
  return lines.join('\n');
}
