/**
 * The pieces the proxy benchmarks share (bench/proxy/run.ts, bench/interceptor-hop/run.ts): the compiled
 * cortex-proxy and its flags, nginx as a trivial upstream or a keep-alive reverse proxy, wrk as the load
 * generator, child processes stopped by PID, CPU and memory read from /proc, and the figures' formatting.
 * Everything listens on 127.0.0.1 only.
 */
import { spawn, spawnSync, ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';

export const HOST = '127.0.0.1';
/** The upstream's answer: a fixed 23-byte JSON body, like a small model's prediction. */
export const BODY = '{"prediction":"setosa"}';
export const PROXY_MAIN = path.resolve(__dirname, '..', '..', 'images', 'proxy', 'src', 'main.js');

export interface WrkResult {
  readonly rps: number;
  readonly p50us: number;
  readonly p99us: number;
  readonly errors: number;
  readonly requests: number;
}

export function findBinary(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(':'), '/usr/sbin', '/usr/local/sbin', '/sbin'];
  for (const dir of dirs) {
    const candidate = path.join(dir, name);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, HOST, () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

function nginxConfig(dir: string, name: string, http: string): string {
  const file = path.join(dir, `${name}.conf`);
  fs.writeFileSync(
    file,
    `worker_processes 1;
daemon off;
pid ${dir}/${name}.pid;
error_log ${dir}/${name}.error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  keepalive_timeout 300s;
  client_body_temp_path ${dir}/${name}-body;
  proxy_temp_path ${dir}/${name}-proxy;
  fastcgi_temp_path ${dir}/${name}-fastcgi;
  uwsgi_temp_path ${dir}/${name}-uwsgi;
  scgi_temp_path ${dir}/${name}-scgi;
${http}
}
`,
  );
  return file;
}

/** nginx as the upstream: one worker answering `return 200` with BODY, no disk. Returns the config file. */
export function nginxUpstreamConfig(dir: string, name: string, port: number): string {
  return nginxConfig(dir, name, `  server { listen ${HOST}:${port}; location / { default_type application/json; return 200 '${BODY}'; } }`);
}

/**
 * nginx as a reverse proxy from `port` to `targetPort`: one worker, a keep-alive pool of HTTP/1.1
 * connections to the target, no buffering of responses, X-Forwarded-For/-Proto and Host set as
 * cortex-proxy does. Returns the config file.
 */
export function nginxProxyConfig(dir: string, name: string, port: number, targetPort: number): string {
  return nginxConfig(
    dir,
    name,
    `  upstream target { server ${HOST}:${targetPort}; keepalive 1024; keepalive_requests 1000000; }
  server {
    listen ${HOST}:${port};
    location / {
      proxy_pass http://target;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_buffering off;
    }
  }`,
  );
}

/** nginx's command line for a config file of `nginxUpstreamConfig`/`nginxProxyConfig`. */
export function nginxArgs(dir: string, name: string, config: string): string[] {
  return ['-e', path.join(dir, `${name}.early.log`), '-p', dir, '-c', config];
}

/**
 * cortex-proxy's command line on `port` in front of `upstreamPort`, with `--max-concurrency 1024
 * --max-queue-length 1024`: the breaker is on the path but never queues, so that it does the same work as
 * a plain proxy.
 */
export function cortexProxyArgs(port: number, adminPort: number, upstreamPort: number): string[] {
  return ['--host', HOST, '--port', String(port), '--admin-port', String(adminPort), '--user-port', String(upstreamPort), '--max-concurrency', '1024', '--max-queue-length', '1024'];
}

/**
 * The benchmark's child processes: each one's output goes to `DIR/NAME.out`; `stop` ends them by PID
 * (also on Ctrl-C) and waits for them to exit.
 */
export class Children {
  private readonly children: ChildProcess[] = [];
  private readonly onInterrupt = (): void => {
    this.signalAll();
    process.exit(130);
  };

  constructor(private readonly dir: string) {
    process.once('SIGINT', this.onInterrupt);
  }

  public spawn(command: string, args: string[], name: string, env?: NodeJS.ProcessEnv): ChildProcess {
    const log = fs.openSync(path.join(this.dir, `${name}.out`), 'w');
    const child = spawn(command, args, { stdio: ['ignore', log, log], env: env ?? process.env });
    fs.closeSync(log);
    this.children.push(child);
    return child;
  }

  public async stop(): Promise<void> {
    process.removeListener('SIGINT', this.onInterrupt);
    this.signalAll();
    await Promise.all(this.children.map((c) => (c.exitCode !== null || c.signalCode !== null ? undefined : new Promise((resolve) => c.once('exit', resolve)))));
  }

  private signalAll(): void {
    for (const child of this.children) if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) process.kill(child.pid, 'SIGTERM');
  }
}

/** The first child of `pid` (nginx's worker under its master). */
export function childPid(pid: number): number {
  const children = fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
  if (children.length === 0) throw new Error(`process ${pid} has no child`);
  return Number(children[0]);
}

/** CPU time (user + system) of a process so far, in USER_HZ ticks (100 a second on Linux). */
export function cpuTicks(pid: number): number {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  // utime and stime are fields 14 and 15 of /proc/PID/stat; after "pid (comm) " they are at 11 and 12.
  return Number(fields[11]) + Number(fields[12]);
}

/** CPU per request, µs, from the ticks a process spent over a run of `requests` requests. */
export function cpuUsPerRequest(ticks: number, requests: number): number {
  return (ticks * (1_000_000 / 100)) / requests; // USER_HZ is 100 on Linux
}

export function statusField(pid: number, field: string): string {
  const line = fs.readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith(`${field}:`));
  return line === undefined ? '?' : line.split(/\s+/).slice(1).join(' ');
}

/** Waits (up to 10 s) until GET / on `port`, with `headers` ("Name: value" lines), answers 200. */
export async function waitUntilServing(port: number, what: string, headers: readonly string[] = []): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, HOST, () => {
        socket.write(`GET / HTTP/1.1\r\nHost: bench\r\n${headers.map((h) => `${h}\r\n`).join('')}Connection: close\r\n\r\n`);
      });
      let text = '';
      socket.on('data', (d) => (text += d.toString()));
      socket.on('close', () => resolve(text.startsWith('HTTP/1.1 200')));
      socket.on('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`${what} did not start serving on port ${port}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function toMicroseconds(value: string, unit: string): number {
  const n = Number(value);
  return unit === 'us' ? n : unit === 'ms' ? n * 1000 : n * 1_000_000;
}

/**
 * One wrk run (one thread: on a 2-core machine a second wrk thread takes CPU from the proxy under test) of
 * GET / on `port` with `connections` keep-alive connections; `headers` ("Name: value") are added to every request.
 */
export function wrk(wrkPath: string, port: number, connections: number, seconds: number, headers: readonly string[] = []): WrkResult {
  const headerArgs = headers.flatMap((header) => ['-H', header]);
  const result = spawnSync(wrkPath, ['-t1', `-c${connections}`, `-d${seconds}s`, '--latency', ...headerArgs, `http://${HOST}:${port}/`], {
    encoding: 'utf8',
    timeout: (seconds + 30) * 1000,
  });
  const out = result.stdout ?? '';
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(out);
  const p50 = /^\s+50%\s+([\d.]+)(us|ms|s)\s*$/m.exec(out);
  const p99 = /^\s+99%\s+([\d.]+)(us|ms|s)\s*$/m.exec(out);
  const requests = /(\d+) requests in/.exec(out);
  if (rps === null || p50 === null || p99 === null || requests === null) throw new Error(`cannot read wrk's output:\n${out}\n${result.stderr}`);
  const non2xx = /Non-2xx or 3xx responses:\s+(\d+)/.exec(out);
  const socketErrors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const errors = (non2xx ? Number(non2xx[1]) : 0) + (socketErrors ? socketErrors.slice(1).reduce((a, b) => a + Number(b), 0) : 0);
  return {
    rps: Number(rps[1]),
    p50us: toMicroseconds(p50[1], p50[2]),
    p99us: toMicroseconds(p99[1], p99[2]),
    errors,
    requests: Number(requests[1]),
  };
}

/** nginx's and wrk's versions, for the figures' header line. */
export function toolVersions(nginxPath: string, wrkPath: string): string[] {
  return [(spawnSync(nginxPath, ['-v'], { encoding: 'utf8' }).stderr ?? '').trim(), (spawnSync(wrkPath, ['-v'], { encoding: 'utf8' }).stdout ?? '').split('\n')[0].trim()];
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** A bad command-line flag: printed as one line, not a stack trace. */
export class UsageError extends Error {}

/** An integer >= 1, else an error naming the flag, the value and what is allowed. */
export function positiveInteger(flag: string, text: string): number {
  const value = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(value) || value < 1) throw new UsageError(`${flag} (${JSON.stringify(text)}) must be an integer >= 1`);
  return value;
}

/**
 * Runs a benchmark's `main` and exits with its code; a bad flag (a UsageError, or one of parseArgs's own
 * errors: an unknown flag, a missing value) is one line and exit code 2.
 */
export function runMain(name: string, main: () => Promise<number>): void {
  main().then(
    (code) => process.exit(code),
    (error: unknown) => {
      const usage = error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS_');
      process.stderr.write(`${name}: ${usage ? `${(error as Error).message} (--help lists the flags)` : error instanceof Error ? error.stack : String(error)}\n`);
      process.exit(usage ? 2 : 1);
    },
  );
}

export const fmtUs = (us: number): string => (us >= 1000 ? `${(us / 1000).toFixed(2)} ms` : `${Math.round(us)} µs`);
export const fmtRps = (rps: number): string => Math.round(rps).toLocaleString('en-US');
/** A ratio as a signed difference: 1.043 → "+4.3%". */
export const percent = (ratio: number): string => `${ratio >= 1 ? '+' : ''}${((ratio - 1) * 100).toFixed(1)}%`;
