/**
 * The warm path of a scale-to-zero API: what one more HTTP/1.1 keep-alive reverse-proxy hop in front of
 * the API's proxy sidecar costs a request. A scale-to-zero API is reached gateway → the KEDA HTTP add-on's
 * interceptor → cortex-proxy → the user's server; an API with min_replicas >= 1 gateway → cortex-proxy →
 * the user's server. This runs, on loopback, in the same interleaved rounds:
 *
 *   proxy      wrk → cortex-proxy → upstream                     (the API's own path)
 *   node-hop   wrk → node-hop.ts → cortex-proxy → upstream       (a minimal Node forwarding proxy)
 *   nginx-hop  wrk → nginx → cortex-proxy → upstream             (a native keep-alive reverse proxy)
 *
 * and prints req/s, p50/p99 and the hop's CPU per request for each, then the p50/p99 each hop adds and the
 * change in throughput, at each concurrency. The real interceptor is not measured: it does not run here
 * (no container runtime, no Go toolchain new enough to build it). It forwards with Go's
 * `httputil.ReverseProxy`; nginx is the lean end of such proxies and Node's `http` module a heavy one, so
 * the two stand-ins give a range, not the interceptor's own figure. Every request carries the route header
 * the gateway sets (`x-cortex-api: default/iris`), on every path alike.
 *
 * Short runs in many interleaved rounds: on a shared machine, a burst of other work then spoils one 2 s
 * run of one path, which the median drops, rather than one path's whole figure.
 *
 *   npm run build && npm run bench:interceptor-hop -- [--duration 2] [--rounds 7] [--concurrency 1,32]
 *
 * Needs wrk and nginx (Debian: `apt-get install -y wrk nginx-light`). The upstream is nginx answering a
 * fixed body and cortex-proxy runs with a breaker that never queues, as in bench/proxy/run.ts; the nginx
 * hop is that benchmark's nginx proxy (one worker, keep-alive pool) pointed at cortex-proxy. All are child
 * processes of this script on 127.0.0.1, stopped by PID at the end. Defaults take about 100 s.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { COLD_START_ROUTE_HEADER, coldStartRouteKey } from '../../constructs/cold-start';
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
  toolVersions,
  waitUntilServing,
  wrk,
  WrkResult,
} from '../proxy/loopback';

const NODE_HOP_MAIN = path.resolve(__dirname, 'node-hop.js');
const ROUTE_KEY = coldStartRouteKey('iris', 'default');
const ROUTE_HEADER = `${COLD_START_ROUTE_HEADER}: ${ROUTE_KEY}`;
const TARGETS = ['proxy', 'node-hop', 'nginx-hop'] as const;
type Target = (typeof TARGETS)[number];
const HOPS = ['node-hop', 'nginx-hop'] as const;

interface Run extends WrkResult {
  /** CPU of the hop's process per request, µs; NaN without a hop. */
  readonly hopCpuUs: number;
  /** CPU of cortex-proxy per request, µs. */
  readonly proxyCpuUs: number;
}

const USAGE = `usage: node dist/bench/interceptor-hop/run.js [--duration SECONDS] [--rounds N] [--concurrency C1,C2,...]

cortex-proxy alone, and behind one more keep-alive reverse-proxy hop (a Node one and nginx), loaded by wrk
(needs wrk and nginx): the latency and throughput the interceptor's hop costs a scale-to-zero API when warm.
  --duration     seconds per wrk run (default 2)
  --rounds       interleaved rounds; medians are printed (default 7)
  --concurrency  wrk connections, comma-separated (default 1,32)
`;

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      duration: { type: 'string', default: '2' },
      rounds: { type: 'string', default: '7' },
      concurrency: { type: 'string', default: '1,32' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help === true) {
    process.stdout.write(USAGE);
    return 0;
  }
  const seconds = positiveInteger('--duration', values.duration);
  const rounds = positiveInteger('--rounds', values.rounds);
  const levels = values.concurrency.split(',').map((level) => positiveInteger('--concurrency', level));

  const wrkPath = findBinary('wrk');
  const nginxPath = findBinary('nginx');
  if (wrkPath === undefined || nginxPath === undefined) {
    const missing = [wrkPath === undefined ? 'wrk' : '', nginxPath === undefined ? 'nginx' : ''].filter(Boolean).join(' and ');
    process.stderr.write(`bench/interceptor-hop: ${missing} not found. Install them first (Debian/Ubuntu):\n  apt-get install -y wrk nginx-light\n`);
    return 1;
  }
  for (const file of [PROXY_MAIN, NODE_HOP_MAIN]) {
    if (!fs.existsSync(file)) {
      process.stderr.write(`bench/interceptor-hop: ${file} is missing: run \`npm run build\` first\n`);
      return 1;
    }
  }

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cortex-interceptor-hop-bench-'));
  const children = new Children(dir);
  try {
    const [upstreamPort, proxyPort, adminPort, nodeHopPort, nginxHopPort] = [await freePort(), await freePort(), await freePort(), await freePort(), await freePort()];
    children.spawn(nginxPath, nginxArgs(dir, 'upstream', nginxUpstreamConfig(dir, 'upstream', upstreamPort)), 'upstream');
    const proxy = children.spawn(process.execPath, [PROXY_MAIN, ...cortexProxyArgs(proxyPort, adminPort, upstreamPort)], 'cortex-proxy');
    const nodeHop = children.spawn(process.execPath, [NODE_HOP_MAIN, String(nodeHopPort), String(proxyPort), ROUTE_KEY], 'node-hop');
    const nginxHop = children.spawn(nginxPath, nginxArgs(dir, 'nginx-hop', nginxProxyConfig(dir, 'nginx-hop', nginxHopPort, proxyPort)), 'nginx-hop');
    const ports: Record<Target, number> = { proxy: proxyPort, 'node-hop': nodeHopPort, 'nginx-hop': nginxHopPort };
    await waitUntilServing(upstreamPort, 'the upstream (nginx)');
    for (const target of TARGETS) await waitUntilServing(ports[target], target, [ROUTE_HEADER]);
    const hopPid: Record<Target, number | undefined> = { proxy: undefined, 'node-hop': nodeHop.pid, 'nginx-hop': childPid(nginxHop.pid as number) };
    const proxyPid = proxy.pid as number;

    const [load1] = os.loadavg();
    process.stdout.write(
      `bench/interceptor-hop: ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? '?'}), load average ${load1.toFixed(2)} at the start, ` +
        `node ${process.version}, ${toolVersions(nginxPath, wrkPath).join(', ')}\n` +
        `${seconds} s per run, ${rounds} round(s), concurrency ${levels.join('/')}, wrk -t1, header "${ROUTE_HEADER}"; medians over the rounds\n\n`,
    );

    // Warm up (the JIT, the connection pools of each hop and of cortex-proxy).
    for (const target of TARGETS) wrk(wrkPath, ports[target], 32, 2, [ROUTE_HEADER]);

    const runs = new Map<string, Run[]>();
    for (let round = 0; round < rounds; round++) {
      for (const c of levels) {
        // Interleaved, so that a noisy moment of the machine does not land on one path only.
        for (const target of TARGETS) {
          const pid = hopPid[target];
          const [hopBefore, proxyBefore] = [pid === undefined ? 0 : cpuTicks(pid), cpuTicks(proxyPid)];
          const r = wrk(wrkPath, ports[target], c, seconds, [ROUTE_HEADER]);
          const hopCpuUs = pid === undefined ? NaN : cpuUsPerRequest(cpuTicks(pid) - hopBefore, r.requests);
          const proxyCpuUs = cpuUsPerRequest(cpuTicks(proxyPid) - proxyBefore, r.requests);
          const key = `${target}@${c}`;
          runs.set(key, [...(runs.get(key) ?? []), { ...r, hopCpuUs, proxyCpuUs }]);
          process.stderr.write(`  round ${round + 1} c=${c} ${target}: ${fmtRps(r.rps)} req/s, p50 ${fmtUs(r.p50us)}, p99 ${fmtUs(r.p99us)}\n`);
        }
      }
    }

    const med = (target: Target, c: number, field: keyof Run): number => median((runs.get(`${target}@${c}`) ?? []).map((r) => r[field]));
    const lines = [
      '| concurrency | path | req/s | p50 | p99 | hop CPU per request | cortex-proxy CPU per request | errors |',
      '|---:|---|---:|---:|---:|---:|---:|---:|',
    ];
    for (const c of levels) {
      for (const target of TARGETS) {
        const hopCpu = med(target, c, 'hopCpuUs');
        const errors = (runs.get(`${target}@${c}`) ?? []).reduce((a, r) => a + r.errors, 0);
        lines.push(
          `| ${c} | ${target} | ${fmtRps(med(target, c, 'rps'))} | ${fmtUs(med(target, c, 'p50us'))} | ${fmtUs(med(target, c, 'p99us'))} | ` +
            `${Number.isNaN(hopCpu) ? '–' : `${hopCpu.toFixed(1)} µs`} | ${med(target, c, 'proxyCpuUs').toFixed(1)} µs | ${errors} |`,
        );
      }
    }
    process.stdout.write(lines.join('\n') + '\n\n');

    // What each hop adds to a request, against the same requests straight to cortex-proxy.
    const signedUs = (us: number): string => `${us >= 0 ? '+' : '-'}${fmtUs(Math.abs(us))}`;
    for (const hop of HOPS) {
      const perLevel = levels.map((c) => {
        const p50 = med(hop, c, 'p50us') - med('proxy', c, 'p50us');
        const p99 = med(hop, c, 'p99us') - med('proxy', c, 'p99us');
        const rps = med(hop, c, 'rps') / med('proxy', c, 'rps');
        return `c=${c}: p50 ${signedUs(p50)}, p99 ${signedUs(p99)}, req/s ${percent(rps)}`;
      });
      process.stdout.write(`${hop} added: ${perLevel.join('; ')}\n`);
    }
    return 0;
  } finally {
    await children.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

runMain('bench/interceptor-hop', main);
