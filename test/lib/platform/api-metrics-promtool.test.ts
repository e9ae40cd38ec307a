import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { API_NAME_METRIC_LABEL, DURATION_METRIC, IN_FLIGHT_METRIC, NAMESPACE_METRIC_LABEL, QUEUE_METRIC, REQUESTS_METRIC } from '../../../constructs/names';
import { DURATION_BUCKETS } from '../../../images/proxy/src/metrics';
import { API_METRIC_RULES, apiRecordingRules } from '../../../lib/platform/api-metrics';

/**
 * The per-API recording rules (`apiRecordingRules()`, written as the platform renders them) evaluated by Prometheus
 * itself: `promtool test rules` from Debian's `prometheus` package (scripts/test-prerequisites.js installs it), once
 * for the whole file, on one Prometheus' worth of series scraped every 10 s as the platform's Prometheus does, with
 * the labels its pod scrape job gives them. Each API tells one story:
 * - `cortex/iris`: three replicas at 2, 3 and 5 requests per second, with different latencies;
 * - `staging/iris`: the same API name in another namespace, one replica;
 * - `cortex/resnet`: pod `b` is replaced by pod `c` (b's last scrape at 120 s, c's first at 130 s) beside a steady pod `a`;
 * - `cortex/bert`: one replica whose proxy restarts (its counters start again from 0 between 120 s and 130 s);
 * - `cortex/idle`: two replicas that answered requests once and none in the last minutes;
 * - `cortex/mix`: two replicas answering 200, 302, 404, 499, 500 and 503;
 * - and a pod without the API label (not a RealtimeAPI's proxy), which no rule may count.
 *
 * promtool evaluates every group at each `evaluation_interval` step (5 s here), whatever the group's own interval
 * (30 s). The values are read at 5 s past a scrape, so that no sample sits on a range's edge: Debian's promtool
 * (Prometheus 2) and the platform's Prometheus 3 (whose ranges leave out their left edge) read the same samples.
 * Expected values are rounded to 1e-6 on both sides: promtool compares floats exactly, and Prometheus'
 * extrapolation divides.
 */

const STEP = 10; // s, the platform's scrape interval
const STEPS = 30; // samples at 0 … 300 s
const round6 = (v: number) => Math.round(v * 1e6) / 1e6;

const rule = Object.fromEntries(API_METRIC_RULES.map((r) => [r.metricName, r.record])) as Record<string, string>;
const REQUESTS = rule.RequestsPerSecond;
const REQUESTS_4XX = rule.Requests4XXPerSecond;
const REQUESTS_5XX = rule.Requests5XXPerSecond;
const P50 = rule.LatencyP50;
const P99 = rule.LatencyP99;
const IN_FLIGHT = rule.InFlightRequests;
const QUEUE = rule.QueueLength;

interface InputSeries {
  readonly series: string;
  readonly values: string;
}

const input: InputSeries[] = [];

/** A proxy's series as the pod scrape job labels them. */
function add(metric: string, namespace: string, api: string | undefined, pod: string, values: string, extra: Record<string, string> = {}): void {
  const labels: Record<string, string> = {
    job: 'kubernetes-pods',
    instance: `${pod}:15000`,
    [NAMESPACE_METRIC_LABEL]: namespace,
    pod,
    ...(api !== undefined ? { [API_NAME_METRIC_LABEL]: api, cortex_dev_api_kind: 'RealtimeAPI' } : {}),
    ...extra,
  };
  const text = Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .join(',');
  input.push({ series: `${metric}{${text}}`, values });
}

/** A counter growing by `perSecond` from 0 at t = 0, over the whole run: promtool's `0+Nx30`. */
const steady = (perSecond: number) => `0+${perSecond * STEP}x${STEPS}`;
/** A gauge at `value` over the whole run. */
const flat = (value: number) => `${value}x${STEPS}`;

/**
 * A proxy answering `perSecond` requests with code 200 within the bucket that ends at `le`, from t = 0 (with the bucket
 * below it, empty: `histogram_quantile` interpolates the lowest bucket it is given from 0).
 */
function proxy(namespace: string, api: string, pod: string, o: { perSecond: number; le: number; inFlight: number; queued: number }): void {
  add(REQUESTS_METRIC, namespace, api, pod, steady(o.perSecond), { code: '200' });
  add(`${DURATION_METRIC}_bucket`, namespace, api, pod, flat(0), { le: String(DURATION_BUCKETS[DURATION_BUCKETS.indexOf(o.le) - 1]) });
  add(`${DURATION_METRIC}_bucket`, namespace, api, pod, steady(o.perSecond), { le: String(o.le) });
  add(`${DURATION_METRIC}_bucket`, namespace, api, pod, steady(o.perSecond), { le: '+Inf' });
  add(IN_FLIGHT_METRIC, namespace, api, pod, flat(o.inFlight));
  add(QUEUE_METRIC, namespace, api, pod, flat(o.queued));
}

/** The proxy's own bucket bounds the cases use (the rules never see the others: a histogram may skip bounds). */
function bound(le: number): number {
  if (!DURATION_BUCKETS.includes(le)) throw new Error(`${le} is not one of the proxy's bucket bounds`);
  return le;
}
const B0178 = bound(0.178);
const B02 = bound(0.2);
const B0224 = bound(0.224);
const B0251 = bound(0.251);
const B00447 = bound(0.0447);
const B00501 = bound(0.0501);
const B0001 = bound(0.001);
const B00891 = bound(0.0891);
const B01 = bound(0.1);

// cortex/iris — three replicas. Latency buckets per second (cumulative, le 0.178 / 0.2 / 0.224 / +Inf):
// a 0/2/2/2, b 0/1/3/3, c 0/5/5/5; summed 0/8/10/10.
for (const [pod, perSecond, le02, inFlight, queued] of [
  ['a', 2, 2, 4, 0],
  ['b', 3, 1, 6, 1],
  ['c', 5, 5, 10, 2],
] as const) {
  add(REQUESTS_METRIC, 'cortex', 'iris', `iris-${pod}`, steady(perSecond), { code: '200' });
  add(`${DURATION_METRIC}_bucket`, 'cortex', 'iris', `iris-${pod}`, flat(0), { le: String(B0178) });
  add(`${DURATION_METRIC}_bucket`, 'cortex', 'iris', `iris-${pod}`, steady(le02), { le: String(B02) });
  for (const le of [String(B0224), '+Inf']) add(`${DURATION_METRIC}_bucket`, 'cortex', 'iris', `iris-${pod}`, steady(perSecond), { le });
  add(IN_FLIGHT_METRIC, 'cortex', 'iris', `iris-${pod}`, flat(inFlight));
  add(QUEUE_METRIC, 'cortex', 'iris', `iris-${pod}`, flat(queued));
}

// staging/iris — one replica.
proxy('staging', 'iris', 'iris-s', { perSecond: 1, le: B0251, inFlight: 1, queued: 0 });

// cortex/resnet — a steady at 4/s; b at 4/s scraped until 120 s, then gone (a stale marker at 130 s); c, its
// replacement, started at 125 s: 20 requests (5 s at 4/s) by its first scrape at 130 s, then 4/s. 3 in flight and 1
// queued on each pod. Every request within (0.224, 0.251].
proxy('cortex', 'resnet', 'resnet-a', { perSecond: 4, le: B0251, inFlight: 3, queued: 1 });
const beforeReplacement = `0+40x12 stale`;
const afterReplacement = `_x13 20+40x17`;
for (const [pod, counter, gauge] of [
  ['resnet-b', beforeReplacement, 'x12 stale'],
  ['resnet-c', afterReplacement, 'x17'],
] as const) {
  const gaugeValues = (v: number) => (pod === 'resnet-b' ? `${v}${gauge}` : `_x13 ${v}${gauge}`);
  add(REQUESTS_METRIC, 'cortex', 'resnet', pod, counter, { code: '200' });
  add(`${DURATION_METRIC}_bucket`, 'cortex', 'resnet', pod, gaugeValues(0), { le: String(B0224) });
  for (const le of [String(B0251), '+Inf']) add(`${DURATION_METRIC}_bucket`, 'cortex', 'resnet', pod, counter, { le });
  add(IN_FLIGHT_METRIC, 'cortex', 'resnet', pod, gaugeValues(3));
  add(QUEUE_METRIC, 'cortex', 'resnet', pod, gaugeValues(1));
}

// cortex/bert — 3/s, the proxy restarts between the scrapes at 120 s (360 requests) and 130 s (15 since the restart).
const restarted = `0+30x12 15+30x17`;
add(REQUESTS_METRIC, 'cortex', 'bert', 'bert-a', restarted, { code: '200' });
add(`${DURATION_METRIC}_bucket`, 'cortex', 'bert', 'bert-a', flat(0), { le: String(B00447) });
for (const le of [String(B00501), '+Inf']) add(`${DURATION_METRIC}_bucket`, 'cortex', 'bert', 'bert-a', restarted, { le });
add(IN_FLIGHT_METRIC, 'cortex', 'bert', 'bert-a', flat(2));
add(QUEUE_METRIC, 'cortex', 'bert', 'bert-a', flat(0));

// cortex/idle — two replicas whose counters stand still (one of them once answered 7 500s).
for (const [pod, served] of [
  ['idle-a', 500],
  ['idle-b', 800],
] as const) {
  add(REQUESTS_METRIC, 'cortex', 'idle', pod, flat(served), { code: '200' });
  for (const le of [String(B01), '+Inf']) add(`${DURATION_METRIC}_bucket`, 'cortex', 'idle', pod, flat(served), { le });
  add(IN_FLIGHT_METRIC, 'cortex', 'idle', pod, flat(0));
  add(QUEUE_METRIC, 'cortex', 'idle', pod, flat(0));
}
add(REQUESTS_METRIC, 'cortex', 'idle', 'idle-a', flat(7), { code: '500' });
for (const le of [String(B01), '+Inf']) add(`${DURATION_METRIC}_bucket`, 'cortex', 'idle', 'idle-a', flat(7), { le });

// cortex/mix — a: 200 at 4/s, 404 at 1/s, 499 (the client left) at 0.5/s, all within (0.0891, 0.1];
// b: 200 at 1.5/s, 302 at 0.5/s, 500 at 0.25/s within (0.0891, 0.1], and 503 (queue full) at 1.25/s within 1 ms.
for (const [code, perSecond] of [
  ['200', 4],
  ['404', 1],
  ['499', 0.5],
] as const) {
  add(REQUESTS_METRIC, 'cortex', 'mix', 'mix-a', steady(perSecond), { code });
}
for (const [code, perSecond] of [
  ['200', 1.5],
  ['302', 0.5],
  ['500', 0.25],
  ['503', 1.25],
] as const) {
  add(REQUESTS_METRIC, 'cortex', 'mix', 'mix-b', steady(perSecond), { code });
}
for (const [pod, fast, all] of [
  ['mix-a', 0, 5.5],
  ['mix-b', 1.25, 3.5],
] as const) {
  for (const le of [B0001, B00891]) add(`${DURATION_METRIC}_bucket`, 'cortex', 'mix', pod, steady(fast), { le: String(le) });
  for (const le of [String(B01), '+Inf']) add(`${DURATION_METRIC}_bucket`, 'cortex', 'mix', pod, steady(all), { le });
}
add(IN_FLIGHT_METRIC, 'cortex', 'mix', 'mix-a', flat(5));
add(IN_FLIGHT_METRIC, 'cortex', 'mix', 'mix-b', flat(2));
add(QUEUE_METRIC, 'cortex', 'mix', 'mix-a', flat(0));
add(QUEUE_METRIC, 'cortex', 'mix', 'mix-b', flat(3));

// Not an API's proxy: no cortex.dev/api-name label.
add(REQUESTS_METRIC, 'cortex', undefined, 'stray', steady(100), { code: '200' });
add(IN_FLIGHT_METRIC, 'cortex', undefined, 'stray', flat(50));

/** One expectation: a rule's value for one API at one time (`undefined`: no sample at all). */
interface Expectation {
  readonly record: string;
  readonly namespace?: string;
  readonly api: string;
  readonly at: number;
  readonly value: number | undefined;
}

/**
 * Prometheus' `histogram_quantile` inside the bucket (lower, upper] holding the quantile's rank, which has
 * `below` observations under it and `inside` in it (both per second).
 */
const interpolate = (lower: number, upper: number, rank: number, below: number, inside: number) => lower + ((upper - lower) * (rank - below)) / inside;

const EXPECTATIONS: Record<string, Expectation[]> = {
  // At 155 s the range (95 s, 155 s] holds the scrapes at 100 … 150 s, and Prometheus extrapolates the 50 s between
  // them to the whole minute (the first and last are within 1.1 scrape intervals of the range's ends).
  'several replicas: rates and gauges add up, the percentiles come from the summed buckets': [
    { record: REQUESTS, api: 'iris', at: 155, value: 2 + 3 + 5 },
    { record: REQUESTS_4XX, api: 'iris', at: 155, value: 0 },
    { record: REQUESTS_5XX, api: 'iris', at: 155, value: 0 },
    // Summed buckets 0/8/10/10: the median's rank 5 falls in (0.178, 0.2], the 99th's, 9.9, in (0.2, 0.224]. (The
    // replicas' own p99s are 0.1998, 0.2237 and 0.1998: neither their mean nor their maximum is the API's.)
    { record: P50, api: 'iris', at: 155, value: interpolate(B0178, B02, 5, 0, 8) },
    { record: P99, api: 'iris', at: 155, value: interpolate(B02, B0224, 9.9, 8, 2) },
    { record: IN_FLIGHT, api: 'iris', at: 155, value: 4 + 6 + 10 },
    { record: QUEUE, api: 'iris', at: 155, value: 0 + 1 + 2 },
  ],
  'the same API name in another namespace is another API': [
    { record: REQUESTS, namespace: 'staging', api: 'iris', at: 155, value: 1 },
    { record: IN_FLIGHT, namespace: 'staging', api: 'iris', at: 155, value: 1 },
    { record: P50, namespace: 'staging', api: 'iris', at: 155, value: interpolate(B0224, B0251, 0.5, 0, 1) },
  ],
  'a pod replacement: the pod that left stops counting in the gauges at once, and the rate stays the API\'s': [
    // The gauges read each pod's last sample: b's until its stale marker (130 s), c's from its first scrape.
    { record: IN_FLIGHT, api: 'resnet', at: 125, value: 3 + 3 },
    { record: IN_FLIGHT, api: 'resnet', at: 135, value: 3 + 3 },
    { record: IN_FLIGHT, api: 'resnet', at: 155, value: 3 + 3 },
    { record: QUEUE, api: 'resnet', at: 155, value: 1 + 1 },
    // Before the replacement: a 4 + b 4.
    { record: REQUESTS, api: 'resnet', at: 125, value: 8 },
    // At 135 s c has one sample (no rate yet); b's 40 s of samples (80 … 120 s) are extrapolated by 5 s at the start
    // and half a scrape interval past its last one: 160 × 50/40 / 60. The API reads 7.33 instead of 8 for this one
    // evaluation — Prometheus' rate() on a series that is one scrape old, not the rule.
    { record: REQUESTS, api: 'resnet', at: 135, value: 4 + (160 * 50) / 40 / 60 },
    // At 155 s: b (100 … 120 s) is extrapolated to 30 s, c (130 … 150 s, 20 at its first scrape) to 30 s too
    // (5 s back to where its counter would be 0, 5 s forward): 4 + 80 × 30/20/60 + 80 × 30/20/60 = 8.
    { record: REQUESTS, api: 'resnet', at: 155, value: 8 },
    { record: REQUESTS, api: 'resnet', at: 195, value: 8 },
    { record: P50, api: 'resnet', at: 155, value: interpolate(B0224, B0251, 0.5 * 8, 0, 8) },
    { record: P99, api: 'resnet', at: 155, value: interpolate(B0224, B0251, 0.99 * 8, 0, 8) },
  ],
  'a counter reset: the restarted proxy reads as a rate, not as a negative or a burst': [
    // (95 s, 155 s]: 300, 330, 360, then 15, 45, 75: rate() adds the 360 lost at the reset: (75 - 300 + 360) over
    // 50 s, extrapolated to 60 s = 162 in the minute = 2.7/s (3/s less the requests between 120 s and the restart).
    { record: REQUESTS, api: 'bert', at: 155, value: 2.7 },
    { record: REQUESTS, api: 'bert', at: 205, value: 3 },
    { record: REQUESTS_5XX, api: 'bert', at: 155, value: 0 },
    { record: P50, api: 'bert', at: 155, value: interpolate(B00447, B00501, 0.5, 0, 1) },
    { record: P99, api: 'bert', at: 155, value: interpolate(B00447, B00501, 0.99, 0, 1) },
    { record: IN_FLIGHT, api: 'bert', at: 155, value: 2 },
  ],
  'zero traffic: rates and gauges read 0, the percentiles have no value (not NaN)': [
    { record: REQUESTS, api: 'idle', at: 155, value: 0 },
    { record: REQUESTS_4XX, api: 'idle', at: 155, value: 0 },
    { record: REQUESTS_5XX, api: 'idle', at: 155, value: 0 },
    { record: P50, api: 'idle', at: 155, value: undefined },
    { record: P99, api: 'idle', at: 155, value: undefined },
    { record: IN_FLIGHT, api: 'idle', at: 155, value: 0 },
    { record: QUEUE, api: 'idle', at: 155, value: 0 },
  ],
  'a status-code mix: 499 is a 4XX, 503 a 5XX, 302 only in the total': [
    { record: REQUESTS, api: 'mix', at: 155, value: 4 + 1 + 0.5 + 1.5 + 0.5 + 0.25 + 1.25 },
    { record: REQUESTS_4XX, api: 'mix', at: 155, value: 1 + 0.5 },
    { record: REQUESTS_5XX, api: 'mix', at: 155, value: 0.25 + 1.25 },
    // Summed buckets: 1.25 within 1 ms (the 503s), 9 within 0.1 s; the ranks 4.5 and 8.91 fall in (0.0891, 0.1].
    { record: P50, api: 'mix', at: 155, value: interpolate(B00891, B01, 4.5, 1.25, 7.75) },
    { record: P99, api: 'mix', at: 155, value: interpolate(B00891, B01, 8.91, 1.25, 7.75) },
    { record: IN_FLIGHT, api: 'mix', at: 155, value: 5 + 2 },
    { record: QUEUE, api: 'mix', at: 155, value: 3 },
  ],
};

/** The expression promtool checks: the rule's series for one API, rounded (which also drops the metric name). */
function checked(e: Expectation): string {
  return `round(${e.record}{${NAMESPACE_METRIC_LABEL}="${e.namespace ?? 'cortex'}",${API_NAME_METRIC_LABEL}="${e.api}"} * 1e6) / 1e6`;
}

/** A deliberately wrong expectation (resnet's old pod counted after it left): promtool must report it. */
const GUARD: Expectation = { record: IN_FLIGHT, api: 'resnet', at: 145, value: 9 };

/** A time as promtool prints it (Go's duration format; every time here is past a minute). */
const goDuration = (seconds: number) => `${Math.floor(seconds / 60)}m${seconds % 60}s`;

interface Failure {
  readonly expr: string;
  readonly time: string;
  readonly exp: string;
  readonly got: string;
}

let output = '';
let failures: Failure[] = [];

beforeAll(() => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cortex-api-rules-'));
  try {
    const promqlTests = [...Object.values(EXPECTATIONS).flat(), GUARD].map((e) => ({
      expr: checked(e),
      eval_time: `${e.at}s`,
      exp_samples:
        e.value === undefined
          ? []
          : [{ labels: `{${NAMESPACE_METRIC_LABEL}="${e.namespace ?? 'cortex'}",${API_NAME_METRIC_LABEL}="${e.api}"}`, value: round6(e.value) }],
    }));
    promqlTests.push({
      // One series per API, per rule that has a value: no other API, and nothing from the unlabelled pod.
      expr: `count by (__name__) ({__name__=~"${REQUESTS}|${IN_FLIGHT}"})`,
      eval_time: '155s',
      exp_samples: [REQUESTS, IN_FLIGHT].map((name) => ({ labels: `{__name__="${name}"}`, value: 6 })),
    });
    const tests = {
      rule_files: ['rules.yml'],
      evaluation_interval: '5s',
      tests: [{ interval: `${STEP}s`, input_series: input, promql_expr_test: promqlTests }],
    };
    // JSON is YAML: no quoting rules to get wrong. The rules file is the platform's, as rendered.
    fs.writeFileSync(path.join(dir, 'rules.yml'), JSON.stringify(apiRecordingRules(), undefined, 2));
    fs.writeFileSync(path.join(dir, 'tests.yml'), JSON.stringify(tests, undefined, 2));
    const result = spawnSync('promtool', ['test', 'rules', 'tests.yml'], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
    if (result.error) {
      throw new Error(`promtool did not run (${result.error.message}): install Debian's prometheus package (node scripts/test-prerequisites.js)`);
    }
    output = `${result.stdout}${result.stderr}`;
    failures = [...output.matchAll(/expr: "((?:[^"\\]|\\.)*)", time: (\S+),\n\s*exp: (.*)\n\s*got: (.*)/g)].map((m) => ({
      expr: JSON.parse(`"${m[1]}"`),
      time: m[2],
      exp: m[3].trim(),
      got: m[4].trim(),
    }));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

describe('the per-API recording rules under promtool', () => {
  test('GIVEN a wrong expectation THEN promtool reports it, with the value the rule really has (so the rest are real readings)', () => {
    expect(failures).toEqual([
      {
        expr: checked(GUARD),
        time: goDuration(GUARD.at),
        exp: '{cortex_dev_api_name="resnet", namespace="cortex"} 9E+00',
        got: '{cortex_dev_api_name="resnet", namespace="cortex"} 6E+00',
      },
    ]);
  });

  test('every rule is checked, and each API has exactly one series per rule (no pod, code or le label left over)', () => {
    const all = Object.values(EXPECTATIONS).flat();
    expect(new Set(all.map((e) => e.record))).toEqual(new Set(API_METRIC_RULES.map((r) => r.record)));
    expect(output).not.toMatch(/count by \(__name__\)/);
  });

  test.each(Object.keys(EXPECTATIONS))('%s', (scenario) => {
    const mine = new Set(EXPECTATIONS[scenario].map((e) => `${checked(e)} at ${goDuration(e.at)}`));
    expect(failures.filter((f) => mine.has(`${f.expr} at ${f.time}`))).toEqual([]);
  });
});
