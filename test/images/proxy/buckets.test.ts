/**
 * How far Prometheus' `histogram_quantile` lands from the true quantile on the proxy's latency buckets.
 * Synthetic latencies (lognormal, fixed-seed PRNG) go through the proxy's own `Metrics`; the rendered
 * `_bucket{le}` lines are read back and interpolated the way Prometheus does; the estimate is compared with
 * the samples' own quantile.
 */
import { DURATION_BUCKETS, GaugeSnapshot, Metrics } from '../../../images/proxy/src/metrics';

const IDLE: GaugeSnapshot = { active: 0, queued: 0, maxConcurrency: 1, maxQueueLength: 0, draining: false };

/** The buckets before issue 16, to show the measure sees what was wrong. */
const OLD_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];

/** The range where the error is promised (docs/kubernetes-objects.md), and the promise. */
const LOW = 0.005;
const HIGH = 60;
const MAX_ERROR = 0.05;

interface Bucket {
  readonly le: number;
  readonly cumulative: number;
}

/** Mulberry32: a small seeded PRNG, so every run draws the same samples. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `n` lognormal samples of median `median` and log-standard-deviation `sigma` (Box–Muller). */
function lognormal(random: () => number, median: number, sigma: number, n: number): Float64Array {
  const samples = new Float64Array(n);
  for (let i = 0; i < n; i += 2) {
    const u = 1 - random();
    const v = random();
    const radius = Math.sqrt(-2 * Math.log(u));
    samples[i] = median * Math.exp(sigma * radius * Math.cos(2 * Math.PI * v));
    if (i + 1 < n) samples[i + 1] = median * Math.exp(sigma * radius * Math.sin(2 * Math.PI * v));
  }
  return samples;
}

/** The proxy's duration histogram after `samples`, as Prometheus scrapes it: the `_bucket` series in order. */
function scrape(samples: ArrayLike<number>): Bucket[] {
  const metrics = new Metrics();
  for (let i = 0; i < samples.length; i++) metrics.observe(200, samples[i]);
  const buckets: Bucket[] = [];
  for (const line of metrics.render(IDLE).split('\n')) {
    const match = /^cortex_request_duration_seconds_bucket\{le="([^"]+)"\} (\S+)$/.exec(line);
    if (match !== null) buckets.push({ le: match[1] === '+Inf' ? Infinity : Number(match[1]), cumulative: Number(match[2]) });
  }
  return buckets;
}

/** Cumulative buckets on arbitrary bounds (for the old list, which the proxy no longer renders). */
function bucketsOn(bounds: readonly number[], samples: ArrayLike<number>): Bucket[] {
  const counts = new Array<number>(bounds.length + 1).fill(0);
  for (let i = 0; i < samples.length; i++) {
    let b = 0;
    while (b < bounds.length && samples[i] > bounds[b]) b++;
    counts[b]++;
  }
  let cumulative = 0;
  return [...bounds, Infinity].map((le, b) => ({ le, cumulative: (cumulative += counts[b]) }));
}

/**
 * Prometheus' `histogram_quantile` on one histogram: the first bucket whose cumulative count reaches
 * q × count holds the quantile; linear interpolation inside it, from 0 for the lowest bucket; a rank in the
 * +Inf bucket answers the highest finite bound.
 */
function histogramQuantile(q: number, buckets: readonly Bucket[]): number {
  const total = buckets[buckets.length - 1].cumulative;
  let rank = q * total;
  const b = buckets.findIndex((bucket) => bucket.cumulative >= rank);
  if (b === buckets.length - 1) return buckets[buckets.length - 2].le;
  let start = 0;
  let count = buckets[b].cumulative;
  if (b > 0) {
    start = buckets[b - 1].le;
    count -= buckets[b - 1].cumulative;
    rank -= buckets[b - 1].cumulative;
  }
  return start + (buckets[b].le - start) * (rank / count);
}

/** The samples' own q-quantile: the smallest sample with at least q of them at or below it. */
function trueQuantile(q: number, sorted: Float64Array): number {
  return sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)];
}

interface Worst {
  error: number;
  at: string;
}

/**
 * The largest relative error of p50 and p99 over lognormal latencies of spread `sigma`, for every true
 * quantile in [LOW, HIGH] (medians 13 a decade: prime to the buckets' 20, so the quantiles fall at every
 * twentieth of a bucket's width somewhere in the range).
 */
function worstError(sigma: number, histogram: (samples: Float64Array) => Bucket[], seed: number): Worst {
  const random = prng(seed);
  const worst: Worst = { error: 0, at: '' };
  const perDecade = 13;
  for (let k = Math.floor(perDecade * Math.log10(LOW / 3)); k <= Math.ceil(perDecade * Math.log10(HIGH)); k++) {
    const median = 10 ** (k / perDecade);
    const samples = lognormal(random, median, sigma, 5_000);
    const sorted = Float64Array.from(samples).sort();
    const buckets = histogram(samples);
    for (const q of [0.5, 0.99]) {
      const truth = trueQuantile(q, sorted);
      if (truth < LOW || truth > HIGH) continue;
      const error = Math.abs(histogramQuantile(q, buckets) - truth) / truth;
      if (error > worst.error) Object.assign(worst, { error, at: `p${q * 100} ${truth.toPrecision(3)} s (median ${median.toPrecision(3)} s)` });
    }
  }
  return worst;
}

describe('the latency buckets', () => {
  test("an observation lands in the first bucket whose bound it does not exceed (the proxy's bisection, against a plain scan)", () => {
    const values = [0, ...DURATION_BUCKETS.flatMap((le) => [le, le * (1 + 1e-9), le * (1 - 1e-9)]), 1e6];
    expect(scrape(values)).toEqual(bucketsOn(DURATION_BUCKETS, values));
  });

  test('sorted, distinct, from below 5 ms (5 ms is not in the lowest bucket, interpolated from 0) to past 60 s and the 600 s gateway timeout', () => {
    expect([...DURATION_BUCKETS].sort((a, b) => a - b)).toEqual(DURATION_BUCKETS);
    expect(new Set(DURATION_BUCKETS).size).toBe(DURATION_BUCKETS.length);
    expect(DURATION_BUCKETS[0]).toBeLessThan(LOW);
    expect(DURATION_BUCKETS.findIndex((le) => le >= LOW)).toBeGreaterThan(0);
    expect(DURATION_BUCKETS[DURATION_BUCKETS.length - 1]).toBeGreaterThanOrEqual(600);
    expect(DURATION_BUCKETS.some((le) => le >= HIGH)).toBe(true);
    expect(DURATION_BUCKETS).toHaveLength(91);
  });

  test('every bucket that can hold a value in 5 ms – 60 s is at most 12.7% wider than its lower bound (20 a decade)', () => {
    const first = DURATION_BUCKETS.findIndex((le) => le >= LOW);
    const last = DURATION_BUCKETS.findIndex((le) => le >= HIGH);
    for (let i = first; i <= last; i++) expect(DURATION_BUCKETS[i] / DURATION_BUCKETS[i - 1]).toBeLessThan(1.127);
  });

  test.each([0.1, 0.25, 0.5])('lognormal latencies of sigma %s: p50 and p99 within 5%% over 5 ms – 60 s', (sigma) => {
    const worst = worstError(sigma, scrape, 16);
    // Measured (a failure names where): the p99s 4.0% off at sigma 0.1, 2.4% at 0.25, 2.2% at 0.5; the p50s under 1%.
    if (worst.error >= MAX_ERROR) throw new Error(`${(worst.error * 100).toFixed(1)}% off at ${worst.at}`);
    expect(worst.error).toBeLessThan(MAX_ERROR);
  });

  test('a constant latency (the worst case for any distribution): within 12.6% (0.99 of a bucket’s width: 12.7% of its lower bound)', () => {
    let worst = 0;
    for (let k = 0; k <= 2000; k++) {
      const latency = LOW * (HIGH / LOW) ** (k / 2000);
      const buckets = scrape([latency]);
      for (const q of [0.5, 0.99]) worst = Math.max(worst, Math.abs(histogramQuantile(q, buckets) - latency) / latency);
    }
    expect(worst).toBeGreaterThan(MAX_ERROR);
    expect(worst).toBeLessThan(0.13);
  });

  test('the old buckets fail the same measure: a 200 ms API is 12% off at p50, 21% at p99', () => {
    const random = prng(200);
    const samples = lognormal(random, 0.2, 0.1, 20_000);
    const sorted = Float64Array.from(samples).sort();
    const off = (q: number, buckets: Bucket[]) => Math.abs(histogramQuantile(q, buckets) - trueQuantile(q, sorted)) / trueQuantile(q, sorted);
    expect(off(0.5, bucketsOn(OLD_BUCKETS, samples))).toBeGreaterThan(0.1);
    expect(off(0.99, bucketsOn(OLD_BUCKETS, samples))).toBeGreaterThan(0.15);
    expect(off(0.5, scrape(samples))).toBeLessThan(0.01);
    expect(off(0.99, scrape(samples))).toBeLessThan(0.02);
    expect(worstError(0.25, (s) => bucketsOn(OLD_BUCKETS, s), 16).error).toBeGreaterThan(0.3);
  });
});
