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
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import {
  Children,
  childPid,
  cortexProxyArgs,
  cpuTicks,
  cpuUsPerRequest,
  findBinary,
  fmtRps,
  fmtUs,
  freePort,
  median,
  nginxArgs,
  nginxProxyConfig,
  nginxUpstreamConfig,
  percent,
  positiveInteger,
  PROXY_MAIN,
  runMain,
  statusField,
  toolVersions,
  UsageError,
  waitUntilServing,
  wrk,
} from './loopback';

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

const USAGE = `usage: node dist/bench/proxy/run.js [--duration SECONDS] [--rounds N] [--concurrency C1,C2,...]
                                  [--baseline MAIN_JS] [--undici DIR]

The same upstream reached directly, through cortex-proxy and through nginx, loaded by wrk (needs wrk and nginx).
  --duration     seconds per wrk run (default 10)
  --rounds       interleaved rounds; medians are printed (default 3)
  --concurrency  wrk connections, comma-separated (default 1,32,256)
  --baseline     also run another cortex-proxy build, its compiled main.js (cortex-proxy-baseline)
  --undici       also run cortex-proxy with undici in place of upstream.ts; DIR: an undici package directory
`;

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
  const children = new Children(dir);

  try {
    const upstreamConf = nginxUpstreamConfig(dir, 'upstream', upstreamPort);
    const proxyConf = nginxProxyConfig(dir, 'nginx-proxy', nginxPort, upstreamPort);
    children.spawn(nginxPath, nginxArgs(dir, 'upstream', upstreamConf), 'upstream');
    const nginx = children.spawn(nginxPath, nginxArgs(dir, 'nginx-proxy', proxyConf), 'nginx-proxy');
    const mains: Partial<Record<TargetName, string>> = { 'cortex-proxy': PROXY_MAIN, 'cortex-proxy-baseline': baselineMain, 'cortex-proxy-undici': UNDICI_PROXY_MAIN };
    const cpuPid: Partial<Record<TargetName, number>> = {};
    const ports: Partial<Record<TargetName, number>> = { direct: upstreamPort, nginx: nginxPort };
    for (const target of proxyTargets) {
      const [port, adminPort] = [await freePort(), await freePort()];
      const env = target === 'cortex-proxy-undici' ? { ...process.env, CORTEX_BENCH_UNDICI: undiciDir } : undefined;
      const child = children.spawn(process.execPath, [mains[target] as string, ...cortexProxyArgs(port, adminPort, upstreamPort)], target, env);
      cpuPid[target] = child.pid;
      ports[target] = port;
    }
    await waitUntilServing(upstreamPort, 'the upstream (nginx)');
    await waitUntilServing(nginxPort, 'the nginx proxy');
    for (const target of proxyTargets) await waitUntilServing(ports[target] as number, target);
    cpuPid.nginx = childPid(nginx.pid as number);

    const versions = [`node ${process.version}`, ...toolVersions(nginxPath, wrkPath)];
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
          const key = `${target}@${c}`;
          runs.set(key, [...(runs.get(key) ?? []), { ...r, cpuUsPerRequest: cpuUsPerRequest(ticks, r.requests) }]);
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
    await children.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

runMain('bench/proxy', main);
