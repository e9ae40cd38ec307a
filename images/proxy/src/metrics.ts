/**
 * The proxy's Prometheus metrics, in the text exposition format (version 0.0.4), written by hand: a
 * request costs a few array increments and two bucket bisections (duration, time to first byte); everything else is computed at scrape
 * time. The names are a contract (docs/kubernetes-objects.md, "Metrics and the Prometheus contract"): the autoscaler's query and
 * `cortex get` read them.
 */

/** The exposition format's content type. */
export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/**
 * Upper bounds (seconds) of both latency histograms' buckets (91, and +Inf). `histogram_quantile` interpolates
 * linearly inside the bucket that holds the quantile, so its error is bounded by the bucket's width relative to
 * its value: from 4.47 ms to 63.1 s the bounds are a geometric series, 20 a decade (`10^(k/20)`, k = -47…36, to three
 * significant digits: each bound 1.12 times the last). Over 5 ms – 60 s the p50 and p99 of a lognormal latency
 * (sigma 0.1–0.5) come out within 4% of the truth, and never more than 12.6% off for any distribution (a
 * constant latency at the worst place in a bucket); test/images/proxy/buckets.test.ts measures it and
 * docs/kubernetes-objects.md states it. Below: the proxy's own answers (1 ms, 2 ms); above: 5 a decade up to the
 * gateway's default timeout (600 s), coarse (up to 58% off).
 */
export const DURATION_BUCKETS: readonly number[] = [
  0.001, 0.002,
  0.00447, 0.00501, 0.00562, 0.00631, 0.00708, 0.00794, 0.00891,
  0.01, 0.0112, 0.0126, 0.0141, 0.0158, 0.0178, 0.02, 0.0224, 0.0251, 0.0282, 0.0316, 0.0355, 0.0398, 0.0447, 0.0501, 0.0562, 0.0631, 0.0708, 0.0794, 0.0891,
  0.1, 0.112, 0.126, 0.141, 0.158, 0.178, 0.2, 0.224, 0.251, 0.282, 0.316, 0.355, 0.398, 0.447, 0.501, 0.562, 0.631, 0.708, 0.794, 0.891,
  1, 1.12, 1.26, 1.41, 1.58, 1.78, 2, 2.24, 2.51, 2.82, 3.16, 3.55, 3.98, 4.47, 5.01, 5.62, 6.31, 7.08, 7.94, 8.91,
  10, 11.2, 12.6, 14.1, 15.8, 17.8, 20, 22.4, 25.1, 28.2, 31.6, 35.5, 39.8, 44.7, 50.1, 56.2, 63.1,
  100, 158, 251, 398, 631,
];

/** A status code the proxy records when the client left before any response was sent (nginx's convention). */
export const CLIENT_CLOSED_REQUEST = 499;

/** The gauges, read from the breaker at scrape time. */
export interface GaugeSnapshot {
  readonly active: number;
  readonly queued: number;
  readonly maxConcurrency: number;
  readonly maxQueueLength: number;
  readonly draining: boolean;
  /** With `--api-keys-file`: the key hashes loaded, and the re-reads of the file that failed. */
  readonly apiKeys?: { readonly loaded: number; readonly reloadFailures: number };
}

/** Status codes are three digits (Node accepts 100 to 999). */
const MAX_CODE = 1000;

/** A histogram over {@link DURATION_BUCKETS}: an observation is one bucket scan and three additions. */
class Histogram {
  /** Per bucket, not cumulative (one increment per observation); the last slot is +Inf. */
  private readonly buckets = new Float64Array(DURATION_BUCKETS.length + 1);
  private sum = 0;
  private count = 0;

  public observe(seconds: number): void {
    // The first bound the value does not exceed (+Inf's slot past the last), by bisection: 91 bounds.
    const bounds = DURATION_BUCKETS;
    let low = 0;
    let high = bounds.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (seconds > bounds[middle]) low = middle + 1;
      else high = middle;
    }
    this.buckets[low]++;
    this.sum += seconds;
    this.count++;
  }

  public render(lines: string[], name: string, help: string): void {
    lines.push(`# HELP ${name} ${help}`);
    lines.push(`# TYPE ${name} histogram`);
    let cumulative = 0;
    DURATION_BUCKETS.forEach((bound, i) => {
      cumulative += this.buckets[i];
      lines.push(`${name}_bucket{le="${bound}"} ${cumulative}`);
    });
    cumulative += this.buckets[DURATION_BUCKETS.length];
    lines.push(`${name}_bucket{le="+Inf"} ${cumulative}`);
    lines.push(`${name}_sum ${this.sum}`);
    lines.push(`${name}_count ${this.count}`);
  }
}

export class Metrics {
  private readonly codes = new Float64Array(MAX_CODE);
  private readonly duration = new Histogram();
  private readonly firstByte = new Histogram();
  private readonly startTimeSeconds = Date.now() / 1000;

  /** A request was answered with `code` after `seconds` (from its arrival, queueing included). */
  public observe(code: number, seconds: number): void {
    this.count(code);
    this.duration.observe(seconds);
  }

  /**
   * The first byte of a request's response went to the client `seconds` after the request's arrival (queueing
   * included): the response head, which the proxy sends with the first byte of the body.
   */
  public observeFirstByte(seconds: number): void {
    this.firstByte.observe(seconds);
  }

  /** A response without a duration worth recording (a malformed request answered by the HTTP layer). */
  public count(code: number): void {
    this.codes[code >= 100 && code < MAX_CODE ? code : 0]++;
  }

  /** The requests answered with `code` so far. */
  public requests(code: number): number {
    return this.codes[code];
  }

  /** The whole exposition. */
  public render(gauges: GaugeSnapshot): string {
    const lines: string[] = [];
    const gauge = (name: string, help: string, value: number): void => {
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} gauge`, `${name} ${value}`);
    };
    gauge('cortex_in_flight_requests', 'Requests in the proxy, queued plus active (the autoscaling signal).', gauges.active + gauges.queued);
    gauge('cortex_active_requests', "Requests inside the user's server.", gauges.active);
    gauge('cortex_queue_length', 'Requests waiting for a slot.', gauges.queued);
    gauge('cortex_max_concurrency', "The limit on requests inside the user's server.", gauges.maxConcurrency);
    gauge('cortex_max_queue_length', 'The limit on waiting requests.', gauges.maxQueueLength);
    gauge('cortex_draining', '1 once the proxy got SIGTERM and drains.', gauges.draining ? 1 : 0);
    if (gauges.apiKeys !== undefined) {
      gauge('cortex_api_keys', 'API key hashes loaded from --api-keys-file.', gauges.apiKeys.loaded);
      lines.push('# HELP cortex_api_keys_reload_failures_total Re-reads of --api-keys-file that failed (the keys read before stay).');
      lines.push('# TYPE cortex_api_keys_reload_failures_total counter');
      lines.push(`cortex_api_keys_reload_failures_total ${gauges.apiKeys.reloadFailures}`);
    }

    lines.push('# HELP cortex_requests_total Requests answered, by status code (499: the client left first).');
    lines.push('# TYPE cortex_requests_total counter');
    for (let code = 0; code < MAX_CODE; code++) {
      if (this.codes[code] > 0) lines.push(`cortex_requests_total{code="${code}"} ${this.codes[code]}`);
    }

    this.duration.render(lines, 'cortex_request_duration_seconds', "Time from a request's arrival to its response's end, queueing included.");
    this.firstByte.render(
      lines,
      'cortex_time_to_first_byte_seconds',
      "Time from a request's arrival to the first byte of its response sent to the client, queueing included.",
    );

    const memory = process.memoryUsage();
    gauge('process_resident_memory_bytes', 'Resident memory size in bytes.', memory.rss);
    gauge('nodejs_heap_used_bytes', 'V8 heap in use, in bytes.', memory.heapUsed);
    gauge('process_start_time_seconds', 'Start time of the process since the Unix epoch, in seconds.', this.startTimeSeconds);
    return lines.join('\n') + '\n';
  }
}
