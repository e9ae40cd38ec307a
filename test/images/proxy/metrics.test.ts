import { DURATION_BUCKETS, GaugeSnapshot, Metrics } from '../../../images/proxy/src/metrics';
import { admin, parseMetrics, send, startTestProxy, TestUpstream, waitFor } from './util';

const IDLE: GaugeSnapshot = { active: 0, queued: 0, maxConcurrency: 4, maxQueueLength: 10, draining: false };

describe('Metrics.render', () => {
  test('the names other parts rely on, with HELP and TYPE', () => {
    const text = new Metrics().render(IDLE);
    expect(text).toContain('# TYPE cortex_in_flight_requests gauge');
    expect(text).toContain('# TYPE cortex_requests_total counter');
    expect(text).toContain('# TYPE cortex_request_duration_seconds histogram');
    expect(text).toContain('# TYPE cortex_queue_length gauge');
    expect(text.endsWith('\n')).toBe(true);
    // Every line is a comment or a valid sample.
    expect(() => parseMetrics(text)).not.toThrow();
  });

  test('in-flight is queued plus active; the limits and the drain state are gauges too', () => {
    const samples = parseMetrics(new Metrics().render({ active: 3, queued: 5, maxConcurrency: 4, maxQueueLength: 10, draining: true }));
    expect(samples.get('cortex_in_flight_requests')).toBe(8);
    expect(samples.get('cortex_active_requests')).toBe(3);
    expect(samples.get('cortex_queue_length')).toBe(5);
    expect(samples.get('cortex_max_concurrency')).toBe(4);
    expect(samples.get('cortex_max_queue_length')).toBe(10);
    expect(samples.get('cortex_draining')).toBe(1);
  });

  test('requests by code, and a cumulative histogram (a bound includes its own value)', () => {
    const metrics = new Metrics();
    metrics.observe(200, 0.001);
    metrics.observe(200, 0.0011);
    metrics.observe(503, 0.3);
    metrics.observe(200, 1000);
    metrics.count(400);
    const samples = parseMetrics(metrics.render(IDLE));
    expect(samples.get('cortex_requests_total{code="200"}')).toBe(3);
    expect(samples.get('cortex_requests_total{code="503"}')).toBe(1);
    expect(samples.get('cortex_requests_total{code="400"}')).toBe(1);
    expect(samples.has('cortex_requests_total{code="404"}')).toBe(false);
    expect(samples.get('cortex_request_duration_seconds_bucket{le="0.001"}')).toBe(1);
    expect(samples.get('cortex_request_duration_seconds_bucket{le="0.002"}')).toBe(2);
    expect(samples.get('cortex_request_duration_seconds_bucket{le="0.282"}')).toBe(2);
    expect(samples.get('cortex_request_duration_seconds_bucket{le="0.316"}')).toBe(3);
    expect(samples.get('cortex_request_duration_seconds_bucket{le="631"}')).toBe(3);
    expect(samples.get('cortex_request_duration_seconds_bucket{le="+Inf"}')).toBe(4);
    // count() (a malformed request) has no duration: the histogram holds the four observations only.
    expect(samples.get('cortex_request_duration_seconds_count')).toBe(4);
    expect(samples.get('cortex_request_duration_seconds_sum')).toBeCloseTo(1000.3021, 6);
    expect(metrics.requests(200)).toBe(3);
  });

  test('the time to first byte: a histogram of its own, on the same buckets, beside the duration', () => {
    const metrics = new Metrics();
    metrics.observeFirstByte(0.0001);
    metrics.observeFirstByte(1000);
    metrics.observe(200, 2000);
    const text = metrics.render(IDLE);
    expect(text).toContain('# TYPE cortex_time_to_first_byte_seconds histogram');
    const samples = parseMetrics(text);
    for (const bound of DURATION_BUCKETS) expect(samples.get(`cortex_time_to_first_byte_seconds_bucket{le="${bound}"}`)).toBe(1);
    expect(samples.get('cortex_time_to_first_byte_seconds_bucket{le="+Inf"}')).toBe(2);
    expect(samples.get('cortex_time_to_first_byte_seconds_count')).toBe(2);
    expect(samples.get('cortex_time_to_first_byte_seconds_sum')).toBeCloseTo(1000.0001, 6);
    // Apart from the duration's, and from the requests' count.
    expect(samples.get('cortex_request_duration_seconds_count')).toBe(1);
    expect(samples.get('cortex_requests_total{code="200"}')).toBe(1);
  });

  test('buckets are sorted and every one is rendered', () => {
    expect([...DURATION_BUCKETS].sort((a, b) => a - b)).toEqual(DURATION_BUCKETS);
    const samples = parseMetrics(new Metrics().render(IDLE));
    for (const bound of DURATION_BUCKETS) expect(samples.get(`cortex_request_duration_seconds_bucket{le="${bound}"}`)).toBe(0);
  });
});

describe('GET /metrics on the admin port', () => {
  test('GIVEN held, queued, answered and rejected requests THEN the gauges and counters say so', async () => {
    const upstream = await TestUpstream.start();
    const proxy = await startTestProxy(upstream.port, { maxConcurrency: 1, maxQueueLength: 2 });
    try {
      const first = send(proxy.port, { path: '/a' });
      const held = await upstream.next();
      const queued = [send(proxy.port, { path: '/b' }), send(proxy.port, { path: '/c' })];
      await waitFor(() => proxy.breaker.queued === 2, 'two queued requests');
      const rejected = await send(proxy.port, { path: '/d' });
      expect(rejected.status).toBe(503);

      const during = await admin(proxy, '/metrics');
      expect(during.status).toBe(200);
      expect(during.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
      const now = parseMetrics(during.text);
      expect(now.get('cortex_in_flight_requests')).toBe(3);
      expect(now.get('cortex_active_requests')).toBe(1);
      expect(now.get('cortex_queue_length')).toBe(2);
      expect(now.get('cortex_requests_total{code="503"}')).toBe(1);

      held.respond(200);
      (await upstream.next()).respond(201);
      (await upstream.next()).respond(500);
      expect((await first).status).toBe(200);
      expect((await Promise.all(queued)).map((r) => r.status)).toEqual([201, 500]);

      await waitFor(() => proxy.handler.open === 0, 'every exchange finished');
      const after = parseMetrics((await admin(proxy, '/metrics')).text);
      expect(after.get('cortex_in_flight_requests')).toBe(0);
      expect(after.get('cortex_requests_total{code="200"}')).toBe(1);
      expect(after.get('cortex_requests_total{code="201"}')).toBe(1);
      expect(after.get('cortex_requests_total{code="500"}')).toBe(1);
      expect(after.get('cortex_request_duration_seconds_count')).toBe(4);
      expect(after.get('cortex_request_duration_seconds_bucket{le="+Inf"}')).toBe(4);
      expect(after.get('process_resident_memory_bytes')).toBeGreaterThan(0);
    } finally {
      await proxy.close();
      await upstream.close();
    }
  });
});
