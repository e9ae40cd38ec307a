/**
 * The real `cortex-proxy` as a child process (the compiled `dist/images/proxy/src/main.js`; `npm test`
 * builds it first): its command line, the drain on SIGTERM under load, and a user server that is killed
 * under load and comes back.
 */
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as path from 'node:path';
import { accepts, freePort, LOOPBACK, parseMetrics, send, TestUpstream, waitFor } from './util';

// CORTEX_PROXY_MAIN may name another build of the command (as in the hostile suite).
const MAIN = process.env.CORTEX_PROXY_MAIN ?? path.resolve(__dirname, '../../../dist/images/proxy/src/main.js');

beforeAll(() => {
  if (!fs.existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npm run build\` (npm test does)`);
});

/** A running child process with what it printed so far and its exit. */
interface Child {
  readonly process: ChildProcess;
  readonly output: () => string;
  readonly exited: Promise<number | null>;
  /** Resolves once the output contains `text` `times` times. */
  printed(text: string, times?: number): Promise<void>;
}

const children: ChildProcess[] = [];
afterEach(() => {
  // Stop what a failed test left running, by PID.
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

function spawnChild(args: string[], env: NodeJS.ProcessEnv = {}): Child {
  const child = spawn(process.execPath, args, { env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let output = '';
  const waiters: Array<() => void> = [];
  const onData = (d: Buffer): void => {
    output += d.toString();
    waiters.splice(0).forEach((w) => w());
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    process: child,
    output: () => output,
    exited,
    async printed(text: string, times = 1) {
      while (output.split(text).length - 1 < times) {
        if (child.exitCode !== null) throw new Error(`exited (${child.exitCode}) before printing ${JSON.stringify(text)}:\n${output}`);
        await new Promise<void>((resolve) => waiters.push(resolve));
      }
    },
  };
}

interface ProxyChild extends Child {
  readonly port: number;
  readonly adminPort: number;
}

async function startProxyChild(userPort: number, extra: string[] = []): Promise<ProxyChild> {
  const child = spawnChild([MAIN, '--host', LOOPBACK, '--port', '0', '--admin-port', '0', '--user-port', String(userPort), ...extra]);
  await child.printed('listening on');
  const match = /listening on 127\.0\.0\.1:(\d+) \(admin 127\.0\.0\.1:(\d+)\)/.exec(child.output());
  if (match === null) throw new Error(`no ports in: ${child.output()}`);
  return Object.assign(child, { port: Number(match[1]), adminPort: Number(match[2]) });
}

async function metricsOf(adminPort: number): Promise<Map<string, number>> {
  return parseMetrics((await send(adminPort, { path: '/metrics' })).text);
}

/** Polls an asynchronous condition, for states only observable from outside (a child's metrics). */
async function until(condition: () => Promise<boolean>, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Clients that send requests back to back over keep-alive connections until told to stop. */
class Load {
  public readonly statuses: number[] = [];
  public readonly errors: string[] = [];
  /** Requests that were sent before `stopping` was set, and how each ended. */
  public readonly beforeStop: Array<number | string> = [];
  public stopping = false;
  public readonly done: Promise<void>;
  private readonly agents: http.Agent[] = [];

  constructor(port: number, clients: number, pathOf: (i: number) => string) {
    const loops = Array.from({ length: clients }, async (_, i) => {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      this.agents.push(agent);
      while (!this.stopping) {
        const sentBeforeStop = !this.stopping;
        try {
          const r = await send(port, { path: pathOf(i), agent });
          this.statuses.push(r.status);
          if (sentBeforeStop) this.beforeStop.push(r.status);
        } catch (e) {
          this.errors.push(String(e));
          if (sentBeforeStop) this.beforeStop.push(String(e));
        }
      }
    });
    this.done = Promise.all(loops).then(() => this.agents.forEach((a) => a.destroy()));
  }

  public count(status: number): number {
    return this.statuses.filter((s) => s === status).length;
  }
}

describe('cortex-proxy (the command)', () => {
  test('--help: the flags and their environment variables, exit 0', () => {
    const r = spawnSync(process.execPath, [MAIN, '--help'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/usage: cortex-proxy/);
    expect(r.stdout).toMatch(/--max-concurrency\s+CORTEX_PROXY_MAX_CONCURRENCY/);
  });

  test.each([
    [['--max-concurrency', '0'], {}, /--max-concurrency \("0"\) must be an integer from 1/],
    [['--bogus'], {}, /Unknown option '--bogus'/],
    [[], { CORTEX_PROXY_USER_PORT: 'eighty' }, /CORTEX_PROXY_USER_PORT \("eighty"\) must be an integer/],
  ])('bad arguments %j %j: a clear message and exit 2', (args, env, message) => {
    const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', env: { PATH: process.env.PATH, ...env } });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toMatch(/cortex-proxy --help/);
  });

  test('a port already taken: exit 1 with the reason', async () => {
    const taken = net.createServer();
    await new Promise<void>((resolve) => taken.listen(0, LOOPBACK, () => resolve()));
    try {
      const port = (taken.address() as net.AddressInfo).port;
      const child = spawnChild([MAIN, '--host', LOOPBACK, '--port', String(port), '--admin-port', '0']);
      expect(await child.exited).toBe(1);
      expect(child.output()).toMatch(/cannot start: .*EADDRINUSE/);
    } finally {
      taken.close();
    }
  });
});

describe('SIGTERM under load', () => {
  test('stops accepting, finishes every active and queued request, exits 0: no request accepted before SIGTERM fails', async () => {
    const upstream = await TestUpstream.start({ autoRespond: true });
    const proxy = await startProxyChild(upstream.port, ['--max-concurrency', '2', '--max-queue-length', '16']);
    const load = new Load(proxy.port, 8, (i) => `/load/${i}`);
    try {
      // Running: requests flow through.
      await waitFor(() => load.count(200) >= 200, '200 answered requests');
      // From now on the user server holds what arrives: the 8 clients' next requests pile up, 2 inside, 6 queued.
      upstream.autoRespond = false;
      await until(async () => (await metricsOf(proxy.adminPort)).get('cortex_in_flight_requests') === 8, '8 requests in flight');
      const inFlight = await metricsOf(proxy.adminPort);
      expect(inFlight.get('cortex_active_requests')).toBe(2);
      expect(inFlight.get('cortex_queue_length')).toBe(6);

      load.stopping = true;
      proxy.process.kill('SIGTERM');
      await proxy.printed('SIGTERM: no new connections; draining 8 open requests');
      expect(await accepts(proxy.port)).toBe(false);
      expect((await send(proxy.adminPort, { path: '/healthz' })).status).toBe(503);

      // The user server answers at last: everything queued and active finishes, then the proxy exits 0.
      upstream.releaseAll();
      expect(await proxy.exited).toBe(0);
      await load.done;
      expect(proxy.output()).toMatch(/drained in \d+ ms; exiting/);
      expect(load.beforeStop.length).toBeGreaterThanOrEqual(208);
      expect(load.beforeStop.filter((s) => s !== 200)).toEqual([]);
      expect(load.errors).toEqual([]);
    } finally {
      load.stopping = true;
      await upstream.close();
    }
  });

  test('a request that outlives the drain timeout is cut, and the proxy exits 0 at the deadline', async () => {
    const upstream = await TestUpstream.start();
    const proxy = await startProxyChild(upstream.port, ['--drain-timeout', '150ms']);
    try {
      const stuck = send(proxy.port).catch((e: Error) => e);
      await upstream.next();
      proxy.process.kill('SIGTERM');
      expect(await proxy.exited).toBe(0);
      expect(proxy.output()).toMatch(/drain deadline reached after \d+ ms: 1 requests cut; exiting/);
      expect(String(await stuck)).toMatch(/socket hang up|ECONNRESET/);
    } finally {
      await upstream.close();
    }
  });
});

/** A user server in its own process: answers at once, except `/hold`, which it never answers. */
const UPSTREAM_SCRIPT = `
const http = require('node:http');
const server = http.createServer((req, res) => {
  if (req.url === '/hold') { process.stdout.write('held\\n'); return; }
  res.writeHead(200, { 'Content-Type': 'text/plain' });
  res.end('ok');
});
server.keepAliveTimeout = 60000;
server.listen(Number(process.argv[1]), '127.0.0.1', () => process.stdout.write('listening\\n'));
`;

describe('the user server dies under load', () => {
  test('the proxy survives, answers 502/503 while it is gone, and serves again when it returns', async () => {
    const userPort = await freePort();
    const first = spawnChild(['-e', UPSTREAM_SCRIPT, String(userPort)]);
    await first.printed('listening');
    const proxy = await startProxyChild(userPort, ['--max-concurrency', '4', '--max-queue-length', '16']);
    const load = new Load(proxy.port, 4, () => '/fast');
    try {
      const held = [1, 2].map(() => send(proxy.port, { method: 'POST', path: '/hold', body: '{"x":1}' }));
      await first.printed('held', 2);
      await waitFor(() => load.count(200) >= 100, '100 answered requests');

      first.process.kill('SIGKILL');
      await first.exited;
      // What was inside the dead server: 502; what comes after: 503 (refused).
      expect((await Promise.all(held)).map((r) => r.status)).toEqual([502, 502]);
      const okBefore = load.count(200);
      await waitFor(() => load.count(503) >= 20, '503s while the user server is down');
      const down = await send(proxy.adminPort, { path: '/healthz' });
      expect(down.status).toBe(503);

      const second = spawnChild(['-e', UPSTREAM_SCRIPT, String(userPort)]);
      await second.printed('listening');
      await waitFor(() => load.count(200) >= okBefore + 100, '100 answered requests after the return');
      expect((await send(proxy.adminPort, { path: '/healthz' })).status).toBe(200);
      load.stopping = true;
      await load.done;

      expect(proxy.process.exitCode).toBeNull();
      // A request the dying server had already read gets 502; those after, 503; every one an answer.
      expect([...new Set(load.statuses)].filter((s) => ![200, 502, 503].includes(s))).toEqual([]);
      expect(load.errors).toEqual([]);
      const metrics = await metricsOf(proxy.adminPort);
      expect(metrics.get('cortex_requests_total{code="502"}')).toBe(2 + load.count(502));
      expect(metrics.get('cortex_requests_total{code="503"}')).toBe(load.count(503));
      expect(proxy.output()).toMatch(/refused a connection: answering 503/);

      proxy.process.kill('SIGTERM');
      expect(await proxy.exited).toBe(0);
      second.process.kill('SIGTERM');
      await second.exited;
    } finally {
      load.stopping = true;
    }
  });
});
