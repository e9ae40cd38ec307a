/**
 * Proxy overhead: the same trivial upstream reached directly, through cortex-proxy, and through nginx as
 * a reverse proxy, loaded by wrk at concurrency 1, 32 and 256. Prints throughput and p50/p99 latency per
 * target and concurrency (medians over the rounds), the CPU each proxy spends per request, the latency
 * each proxy adds at concurrency 1, and cortex-proxy's memory (VmRSS).
 *
 *   npm run build && node dist/bench/proxy/run.js [--duration 10] [--rounds 3] [--concurrency 1,32,256]
 *     [--baseline OTHER/main.js] [--undici DIR]
 *
 * Two more targets on request, in the same interleaved rounds:
 * - `--baseline`: a second cortex-proxy build (its compiled `main.js`, e.g. the code before a change),
 *   labelled cortex-proxy-baseline, with the same flags: before/after in one run on the same machine.
 * - `--undici`: cortex-proxy with undici's Pool in place of upstream.ts (`undici-proxy.ts`); DIR is an
 *   undici package directory (undici is not a dependency: `npm install --no-save undici@7` somewhere).
 *
 * Needs wrk and nginx (Debian: `apt-get install -y wrk nginx-light`). Everything listens on 127.0.0.1
 * only, runs as child processes of this script, and is stopped by PID at the end.
 *
 * - The upstream is nginx itself (one worker, `return 200` with a fixed 23-byte JSON body, no disk): at
 *   ~150k req/s direct it is several times faster than either proxy, so it never limits them, and both
 *   proxies talk to the very same server.
 * - The nginx proxy: one worker (cortex-proxy runs on one thread), a keep-alive upstream pool, HTTP/1.1,
 *   access log off, no buffering of responses, X-Forwarded-For/-Proto and Host set as cortex-proxy does.
 * - cortex-proxy runs with `--max-concurrency 1024 --max-queue-length 1024`: the breaker is on the path
 *   but never queues, so that both proxies do the same work.
 * - wrk uses one thread for every run: on a 2-core machine a second wrk thread takes CPU from the proxy
 *   under test; one wrk thread drives well over 100k req/s.
 */
import { spawn, spawnSync, ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';

const HOST = '127.0.0.1';
const BODY = '{"prediction":"setosa"}';
const PROXY_MAIN = path.resolve(__dirname, '..', '..', 'images', 'proxy', 'src', 'main.js');
const UNDICI_PROXY_MAIN = path.resolve(__dirname, 'undici-proxy.js');
type TargetName = 'direct' | 'cortex-proxy' | 'cortex-proxy-baseline' | 'cortex-proxy-undici' | 'nginx';

interface Run {
  readonly rps: number;
  readonly p50us: number;
  readonly p99us: number;
  readonly errors: number;
  /** CPU (user + system) of the proxy process per request, µs; NaN for direct. */
  readonly cpuUsPerRequest: number;
}

function findBinary(name: string): string | undefined {
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

function freePort(): Promise<number> {
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

/** The first child of `pid` (nginx's worker under its master). */
function childPid(pid: number): number {
  const children = fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
  if (children.length === 0) throw new Error(`process ${pid} has no child`);
  return Number(children[0]);
}

function cpuTicks(pid: number): number {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  // utime and stime are fields 14 and 15 of /proc/PID/stat; after "pid (comm) " they are at 11 and 12.
  return Number(fields[11]) + Number(fields[12]);
}

function statusField(pid: number, field: string): string {
  const line = fs.readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith(`${field}:`));
  return line === undefined ? '?' : line.split(/\s+/).slice(1).join(' ');
}

async function waitUntilServing(port: number, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, HOST, () => {
        socket.write(`GET / HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n`);
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

function wrk(wrkPath: string, port: number, connections: number, seconds: number): { rps: number; p50us: number; p99us: number; errors: number; requests: number } {
  const result = spawnSync(wrkPath, ['-t1', `-c${connections}`, `-d${seconds}s`, '--latency', `http://${HOST}:${port}/`], {
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

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

const USAGE = `usage: node dist/bench/proxy/run.js [--duration SECONDS] [--rounds N] [--concurrency C1,C2,...]
                                  [--baseline MAIN_JS] [--undici DIR]

The same upstream reached directly, through cortex-proxy and through nginx, loaded by wrk (needs wrk and nginx).
  --duration     seconds per wrk run (default 10)
  --rounds       interleaved rounds; medians are printed (default 3)
  --concurrency  wrk connections, comma-separated (default 1,32,256)
  --baseline     also run another cortex-proxy build, its compiled main.js (cortex-proxy-baseline)
  --undici       also run cortex-proxy with undici in place of upstream.ts; DIR: an undici package directory
`;

/** An integer >= 1, else an error naming the flag, the value and what is allowed. */
function positiveInteger(flag: string, text: string): number {
  const value = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(value) || value < 1) throw new UsageError(`${flag} (${JSON.stringify(text)}) must be an integer >= 1`);
  return value;
}

class UsageError extends Error {}

const fmtUs = (us: number): string => (us >= 1000 ? `${(us / 1000).toFixed(2)} ms` : `${Math.round(us)} µs`);
const fmtRps = (rps: number): string => Math.round(rps).toLocaleString('en-US');
/** A ratio as a signed difference: 1.043 → "+4.3%". */
const percent = (ratio: number): string => `${ratio >= 1 ? '+' : ''}${((ratio - 1) * 100).toFixed(1)}%`;

function undiciVersion(dir: string): string {
  try {
    return (JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { version?: string }).version ?? '?';
  } catch {
    return '?';
  }
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      duration: { type: 'string', default: '10' },
      rounds: { type: 'string', default: '3' },
      concurrency: { type: 'string', default: '1,32,256' },
      baseline: { type: 'string' },
      undici: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help === true) {
    process.stdout.write(USAGE);
    return 0;
  }
  // Checked before anything starts: wrk would otherwise get `-dNaNs` with nginx already running.
  const seconds = positiveInteger('--duration', values.duration);
  const rounds = positiveInteger('--rounds', values.rounds);
  const levels = values.concurrency.split(',').map((level) => positiveInteger('--concurrency', level));
  const baselineMain = values.baseline === undefined ? undefined : path.resolve(values.baseline);
  if (baselineMain !== undefined && !fs.statSync(baselineMain, { throwIfNoEntry: false })?.isFile()) {
    throw new UsageError(`--baseline (${JSON.stringify(values.baseline)}) must be a cortex-proxy main.js file`);
  }
  const undiciDir = values.undici === undefined ? undefined : path.resolve(values.undici);
  if (undiciDir !== undefined && !fs.existsSync(path.join(undiciDir, 'package.json'))) {
    throw new UsageError(`--undici (${JSON.stringify(values.undici)}) must be an undici package directory (with its package.json)`);
  }
  const proxyTargets: TargetName[] = ['cortex-proxy'];
  if (baselineMain !== undefined) proxyTargets.push('cortex-proxy-baseline');
  if (undiciDir !== undefined) proxyTargets.push('cortex-proxy-undici');
  const targets: TargetName[] = ['direct', ...proxyTargets, 'nginx'];

  const wrkPath = findBinary('wrk');
  const nginxPath = findBinary('nginx');
  if (wrkPath === undefined || nginxPath === undefined) {
    const missing = [wrkPath === undefined ? 'wrk' : '', nginxPath === undefined ? 'nginx' : ''].filter(Boolean).join(' and ');
    process.stderr.write(`bench/proxy: ${missing} not found. Install them first (Debian/Ubuntu):\n  apt-get install -y wrk nginx-light\n`);
    return 1;
  }
  if (!fs.existsSync(PROXY_MAIN)) {
    process.stderr.write(`bench/proxy: ${PROXY_MAIN} is missing: run \`npm run build\` first\n`);
    return 1;
  }

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cortex-proxy-bench-'));
  const [upstreamPort, nginxPort] = [await freePort(), await freePort()];
  const children: ChildProcess[] = [];
  const stopAll = (): void => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) process.kill(child.pid, 'SIGTERM');
  };
  process.once('SIGINT', () => {
    stopAll();
    process.exit(130);
  });

  try {
    const upstreamConf = nginxConfig(
      dir,
      'upstream',
      `  server { listen ${HOST}:${upstreamPort}; location / { default_type application/json; return 200 '${BODY}'; } }`,
    );
    const proxyConf = nginxConfig(
      dir,
      'nginx-proxy',
      `  upstream user { server ${HOST}:${upstreamPort}; keepalive 1024; keepalive_requests 1000000; }
  server {
    listen ${HOST}:${nginxPort};
    location / {
      proxy_pass http://user;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_buffering off;
    }
  }`,
    );
    const spawnLogged = (command: string, args: string[], name: string, env?: NodeJS.ProcessEnv): ChildProcess => {
      const log = fs.openSync(path.join(dir, `${name}.out`), 'w');
      const child = spawn(command, args, { stdio: ['ignore', log, log], env: env ?? process.env });
      children.push(child);
      return child;
    };
    spawnLogged(nginxPath, ['-e', path.join(dir, 'upstream.early.log'), '-p', dir, '-c', upstreamConf], 'upstream');
    const nginx = spawnLogged(nginxPath, ['-e', path.join(dir, 'nginx-proxy.early.log'), '-p', dir, '-c', proxyConf], 'nginx-proxy');
    const mains: Partial<Record<TargetName, string>> = { 'cortex-proxy': PROXY_MAIN, 'cortex-proxy-baseline': baselineMain, 'cortex-proxy-undici': UNDICI_PROXY_MAIN };
    const cpuPid: Partial<Record<TargetName, number>> = {};
    const ports: Partial<Record<TargetName, number>> = { direct: upstreamPort, nginx: nginxPort };
    for (const target of proxyTargets) {
      const [port, adminPort] = [await freePort(), await freePort()];
      const env = target === 'cortex-proxy-undici' ? { ...process.env, CORTEX_BENCH_UNDICI: undiciDir } : undefined;
      const child = spawnLogged(
        process.execPath,
        [mains[target] as string, '--host', HOST, '--port', String(port), '--admin-port', String(adminPort), '--user-port', String(upstreamPort), '--max-concurrency', '1024', '--max-queue-length', '1024'],
        target,
        env,
      );
      cpuPid[target] = child.pid;
      ports[target] = port;
    }
    await waitUntilServing(upstreamPort, 'the upstream (nginx)');
    await waitUntilServing(nginxPort, 'the nginx proxy');
    for (const target of proxyTargets) await waitUntilServing(ports[target] as number, target);
    cpuPid.nginx = childPid(nginx.pid as number);

    const versions = [
      `node ${process.version}`,
      (spawnSync(nginxPath, ['-v'], { encoding: 'utf8' }).stderr ?? '').trim(),
      (spawnSync(wrkPath, ['-v'], { encoding: 'utf8' }).stdout ?? '').split('\n')[0].trim(),
    ];
    process.stdout.write(
      `bench/proxy: ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? '?'}), ${versions.join(', ')}\n` +
        `${seconds} s per run, ${rounds} round(s), concurrency ${levels.join('/')}, wrk -t1; medians over the rounds\n` +
        (baselineMain === undefined ? '' : `cortex-proxy-baseline: ${baselineMain}\n`) +
        (undiciDir === undefined ? '' : `cortex-proxy-undici: undici ${undiciVersion(undiciDir)} (${undiciDir})\n`) +
        '\n',
    );

    // Warm up (the JIT, the connection pools).
    for (const target of [...proxyTargets, 'nginx'] as const) wrk(wrkPath, ports[target] as number, 32, 2);

    const runs = new Map<string, Run[]>();
    for (let round = 0; round < rounds; round++) {
      for (const c of levels) {
        // Interleaved, so that a noisy moment of the machine does not land on one target only.
        for (const target of targets) {
          const pid = cpuPid[target];
          const before = pid === undefined ? 0 : cpuTicks(pid);
          const r = wrk(wrkPath, ports[target] as number, c, seconds);
          const ticks = pid === undefined ? NaN : cpuTicks(pid) - before;
          const cpuUsPerRequest = (ticks * (1_000_000 / 100)) / r.requests; // USER_HZ is 100 on Linux
          const key = `${target}@${c}`;
          runs.set(key, [...(runs.get(key) ?? []), { ...r, cpuUsPerRequest }]);
          process.stderr.write(`  round ${round + 1} c=${c} ${target}: ${fmtRps(r.rps)} req/s, p50 ${fmtUs(r.p50us)}, p99 ${fmtUs(r.p99us)}\n`);
        }
      }
    }

    const med = (target: TargetName, c: number, field: keyof Run): number => median((runs.get(`${target}@${c}`) ?? []).map((r) => r[field]));
    const lines = ['| concurrency | target | req/s | p50 | p99 | proxy CPU per request | errors |', '|---:|---|---:|---:|---:|---:|---:|'];
    for (const c of levels) {
      for (const target of targets) {
        const cpu = med(target, c, 'cpuUsPerRequest');
        const errors = (runs.get(`${target}@${c}`) ?? []).reduce((a, r) => a + r.errors, 0);
        lines.push(`| ${c} | ${target} | ${fmtRps(med(target, c, 'rps'))} | ${fmtUs(med(target, c, 'p50us'))} | ${fmtUs(med(target, c, 'p99us'))} | ${Number.isNaN(cpu) ? '–' : `${cpu.toFixed(1)} µs`} | ${errors} |`);
      }
    }
    process.stdout.write(lines.join('\n') + '\n\n');

    for (const target of proxyTargets) {
      const pid = cpuPid[target] as number;
      process.stdout.write(`${target} memory: VmRSS ${statusField(pid, 'VmRSS')}, peak VmHWM ${statusField(pid, 'VmHWM')}\n`);
    }
    if (levels.includes(1)) {
      const added = (target: TargetName): number => med(target, 1, 'p50us') - med('direct', 1, 'p50us');
      const ours = added('cortex-proxy');
      const others = [...proxyTargets.slice(1), 'nginx' as const].map((target) => `${target} ${fmtUs(added(target))}`).join(', ');
      process.stdout.write(`added p50 at concurrency 1: cortex-proxy ${fmtUs(ours)} (target <= 50 µs: ${ours <= 50 ? 'met' : 'NOT met'}), ${others}\n`);
    }
    if (levels.includes(32)) {
      const ours = med('cortex-proxy', 32, 'rps');
      const theirs = med('nginx', 32, 'rps');
      process.stdout.write(`throughput at concurrency 32: cortex-proxy ${fmtRps(ours)} req/s, nginx ${fmtRps(theirs)} req/s, ratio ${(ours / theirs).toFixed(2)}\n`);
    }
    // Another cortex-proxy against this one: throughput and CPU per request, as ratios to cortex-proxy's.
    for (const other of proxyTargets.slice(1)) {
      const ratios = levels.map((c) => {
        const rps = med(other, c, 'rps') / med('cortex-proxy', c, 'rps');
        const cpu = med(other, c, 'cpuUsPerRequest') / med('cortex-proxy', c, 'cpuUsPerRequest');
        return `c=${c}: req/s ${percent(rps)}, CPU per request ${percent(cpu)}`;
      });
      process.stdout.write(`${other} against cortex-proxy: ${ratios.join('; ')}\n`);
    }
    return 0;
  } finally {
    stopAll();
    await Promise.all(children.map((c) => (c.exitCode !== null || c.signalCode !== null ? undefined : new Promise((resolve) => c.once('exit', resolve)))));
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    // A bad flag is a line, not a stack trace (parseArgs's own errors too: an unknown flag, a missing value).
    const usage = error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS_');
    process.stderr.write(`bench/proxy: ${usage ? `${(error as Error).message} (--help lists the flags)` : error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(usage ? 2 : 1);
  },
);
