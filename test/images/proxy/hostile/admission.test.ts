/**
 * Nothing on the request port bypasses admission. The old proxy let any request with
 * `User-Agent: kube-probe/…` skip the concurrency limit, the queue and the metrics: anyone could flood the
 * user's server past max_concurrency by claiming to be the kubelet.
 */
import { expectHealthy, ProxyProcess, RawClient, RecordingUpstream, scrape, startProxyProcess, statusesOf, until, UpstreamRequest } from './harness';

let upstream: RecordingUpstream;
let proxy: ProxyProcess;
const held: UpstreamRequest[] = [];

beforeAll(async () => {
  upstream = await RecordingUpstream.start((r) => held.push(r));
  proxy = await startProxyProcess(upstream.port, { 'max-concurrency': 2, 'max-queue-length': 4 });
});

afterAll(async () => {
  await proxy?.stop();
  await upstream?.close();
});

test('20 slow requests claiming to be kubelet probes: 2 inside, 4 queued, 14 rejected, every one counted', async () => {
  const clients = await Promise.all(Array.from({ length: 20 }, () => RawClient.connect(proxy.port)));
  await Promise.all(clients.map((c, i) => c.write(`GET /probe/${i} HTTP/1.1\r\nHost: api\r\nUser-Agent: kube-probe/1.30\r\nConnection: close\r\n\r\n`)));
  // 14 answered at once (queue full); 6 wait.
  await until(async () => (await scrape(proxy)).get('cortex_requests_total{code="503"}') === 14, '14 rejections', 5000);
  const samples = await scrape(proxy);
  expect(samples.get('cortex_in_flight_requests')).toBe(6);
  expect(samples.get('cortex_active_requests')).toBe(2);
  expect(samples.get('cortex_queue_length')).toBe(4);
  expect(upstream.requests.length).toBe(2);

  // The user's server answers; the queued ones go in, two at a time.
  for (let answered = 0; answered < 6; answered++) {
    await upstream.received(answered + 1);
    expect(upstream.openConnections).toBeLessThanOrEqual(2);
    held[answered].res.end('ok');
  }
  const results = await Promise.all(clients.map((c) => c.closedWithin(5000)));
  const statuses = results.map((r) => statusesOf(r.data)[0]).sort();
  expect(statuses.filter((s) => s === 200).length).toBe(6);
  expect(statuses.filter((s) => s === 503).length).toBe(14);
  const after = await scrape(proxy);
  expect(after.get('cortex_requests_total{code="200"}')).toBe(6);
  expect(after.get('cortex_request_duration_seconds_count')).toBe(20);
  await expectHealthy(proxy, upstream, 2);
});
