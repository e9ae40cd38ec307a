/**
 * A bounded fuzzer for cortex-proxy: the compiled proxy as a child process in front of a fuzzing upstream,
 * random and mutated requests on raw sockets, the invariants checked after every case (see harness.ts).
 *
 *   npm run build && node dist/bench/fuzz-proxy/run.js [--seed N] [--cases N] [--seconds N] [--proxy PATH]
 *       [--case N] [--keep-going] [--shrink] [--budget MS] [--quiet MS]
 *
 * Prints the counts (cases, requests, responses by status, violations). On a violation it prints the seed,
 * the case and the exact bytes of both sides, writes them as JSON to a file in the temporary directory, and
 * stops (or goes on with --keep-going); exit 1. Everything listens on 127.0.0.1 only; the proxy runs as a
 * child process and is stopped by PID.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { CasePlan, caseFromData, formatReport, runFuzz, stopAllProxies } from './harness';

const DEFAULT_PROXY = path.resolve(__dirname, '..', '..', 'images', 'proxy', 'src', 'main.js');

const USAGE = `usage: node dist/bench/fuzz-proxy/run.js [flags]

  --seed N        the run's seed (default 1)
  --cases N       how many cases (default 1000)
  --seconds N     stop starting cases after N seconds (default: no limit)
  --case N        run case N only (reproduce a violation: same --seed)
  --proxy PATH    the proxy's compiled main.js (default ${path.relative(process.cwd(), DEFAULT_PROXY)})
  --keep-going    record violations and go on (a fresh proxy after each) instead of stopping at the first
  --shrink        after a violation, look for the smallest variant of the case that fails the same way
  --replay FILE   play a reproducer file again, byte for byte (FILE[#N]: its Nth violation, 0 first;
                  the shrunk variant when there is one)
  --budget MS     the longest a case's connections may take (default 1500)
  --quiet MS      a client connection silent this long is closed by its client (default 400)
`;

function integer(name: string, text: string | undefined, fallback: number, min = 0): number {
  if (text === undefined) return fallback;
  const value = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(value) || value < min) {
    process.stderr.write(`fuzz-proxy: --${name} (${JSON.stringify(text)}) must be an integer >= ${min}\n`);
    process.exit(2);
  }
  return value;
}

// Interrupted (Ctrl-C, `timeout`): the proxy child goes too.
for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
  process.on(signal, () => {
    stopAllProxies();
    process.exit(code);
  });
}

async function main(): Promise<void> {
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({
      options: {
        seed: { type: 'string' },
        cases: { type: 'string' },
        seconds: { type: 'string' },
        case: { type: 'string' },
        proxy: { type: 'string' },
        'keep-going': { type: 'boolean' },
        shrink: { type: 'boolean' },
        budget: { type: 'string' },
        quiet: { type: 'string' },
        replay: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (error) {
    process.stderr.write(`fuzz-proxy: ${(error as Error).message}\n${USAGE}`);
    process.exit(2);
  }
  if (values.help === true) {
    process.stdout.write(USAGE);
    return;
  }
  const proxyMain = path.resolve(String(values.proxy ?? DEFAULT_PROXY));
  if (!fs.existsSync(proxyMain)) {
    process.stderr.write(`fuzz-proxy: ${proxyMain} does not exist (npm run build compiles the proxy)\n`);
    process.exit(2);
  }
  const seed = integer('seed', values.seed as string | undefined, 1);
  const only = values.case === undefined ? undefined : integer('case', values.case as string, 0);
  let replay: CasePlan | undefined;
  if (typeof values.replay === 'string') {
    const [file, which] = values.replay.split('#');
    const recorded = JSON.parse(fs.readFileSync(file, 'utf8')) as Array<{ data: unknown; shrunk?: { data: unknown } }>;
    const entry = recorded[which === undefined ? 0 : Number(which)];
    if (entry === undefined) {
      process.stderr.write(`fuzz-proxy: ${values.replay}: no such violation in the file\n`);
      process.exit(2);
    }
    replay = caseFromData(entry.shrunk?.data ?? entry.data);
  }
  const report = await runFuzz({
    replay,
    seed,
    proxyMain,
    first: only ?? 0,
    cases: only === undefined ? integer('cases', values.cases as string | undefined, 1000, 1) : 1,
    seconds: values.seconds === undefined ? undefined : integer('seconds', values.seconds as string, 0, 1),
    keepGoing: values['keep-going'] === true,
    shrink: values.shrink === true,
    caseBudgetMs: integer('budget', values.budget as string | undefined, 1500, 50),
    quietMs: integer('quiet', values.quiet as string | undefined, 400, 10),
    log: (line) => process.stdout.write(`${line}\n`),
  });
  process.stdout.write(`\n${formatReport(report)}\n`);
  if (report.violations.length > 0) {
    const file = path.join(os.tmpdir(), `fuzz-proxy-seed${seed}-${Date.now()}.json`);
    fs.writeFileSync(file, JSON.stringify(report.violations.map((v) => ({ ...v, reproducer: undefined })), null, 1));
    process.stdout.write(`reproducers (every byte, base64): ${file}\n`);
    process.exitCode = 1;
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`fuzz-proxy: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
