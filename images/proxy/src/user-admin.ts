/**
 * The user server's admin port (`--user-admin-port`): the Python runtime serves `/healthz` and `/metrics`
 * there, on 127.0.0.1 in the pod, where clients cannot reach them (the request port forwards to
 * `--user-port` only). When it is set, readiness is an HTTP GET of its `/healthz` answering 200 (not just a
 * TCP connect: the runtime listens before its predictor's `__init__` has returned, and answers 503 while it
 * runs or while the predictor is stuck), and its `/metrics` (the tracker's) are appended to the proxy's own,
 * so that Prometheus scrapes one port per pod. Both requests are bounded in time and size and never reject:
 * a user server that fails, stalls or floods costs the proxy's `/metrics` nothing but a comment line.
 */
import * as http from 'node:http';

export const USER_HEALTH_PATH = '/healthz';
export const USER_METRICS_PATH = '/metrics';
/** The kubelet's probe of the proxy's `/healthz` times out after 1 s: the proxy must answer within it. */
export const USER_HEALTH_TIMEOUT_MS = 800;
/** Prometheus' scrape timeout is 10 s by default; the proxy's own metrics must not wait anywhere near it. */
export const USER_METRICS_TIMEOUT_MS = 2000;
/** Larger user metrics are dropped whole (a cut exposition would be invalid): the proxy never buffers without bound. */
export const USER_METRICS_MAX_BYTES = 4 * 1024 * 1024;
/** What the proxy's `/healthz` quotes of the user server's answer. */
const HEALTH_DETAIL_MAX_BYTES = 1024;

export interface FetchedText {
  /** The status, when a response head arrived. */
  readonly status?: number;
  /** The body, when it arrived whole and within the size limit. */
  readonly body?: string;
  /** Why there is no usable answer: a socket error's code, `timeout`, `too large`. */
  readonly reason?: string;
}

/** `GET http://host:port/path`, on a connection of its own, given up after `timeoutMs`. Never rejects. */
export function fetchText(host: string, port: number, path: string, timeoutMs: number, maxBytes: number): Promise<FetchedText> {
  return new Promise((resolve) => {
    let settled = false;
    let status: number | undefined;
    const finish = (result: FetchedText): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      request.destroy();
      resolve(status === undefined || result.status !== undefined ? result : { status, ...result });
    };
    const request = http.request({ host, port, path, method: 'GET', agent: false, headers: { accept: 'text/plain, application/json' } });
    const timer = setTimeout(() => finish({ reason: 'timeout' }), timeoutMs);
    request.on('error', (e: NodeJS.ErrnoException) => finish({ reason: e.code ?? e.message }));
    request.on('response', (response) => {
      status = response.statusCode;
      const chunks: Buffer[] = [];
      let size = 0;
      response.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > maxBytes) finish({ reason: `too large (over ${maxBytes} bytes)` });
        else chunks.push(chunk);
      });
      response.on('error', (e: NodeJS.ErrnoException) => finish({ reason: e.code ?? e.message }));
      response.on('end', () => finish({ status, body: Buffer.concat(chunks).toString('utf8') }));
    });
    request.end();
  });
}

export interface UserHealth {
  readonly ok: boolean;
  /** Where and why not, when not ok. */
  readonly detail?: string;
}

/** Whether the user server's `/healthz` answers 200 within `timeoutMs`. Never rejects. */
export async function checkUserHealth(host: string, port: number, timeoutMs: number = USER_HEALTH_TIMEOUT_MS): Promise<UserHealth> {
  const answer = await fetchText(host, port, USER_HEALTH_PATH, timeoutMs, HEALTH_DETAIL_MAX_BYTES);
  if (answer.status === 200) return { ok: true };
  const what = answer.status === undefined ? answer.reason : `${answer.status} ${answer.body?.trim() ?? answer.reason ?? ''}`.trim();
  return { ok: false, detail: `${host}:${port}${USER_HEALTH_PATH}: ${what}` };
}

/** The metric family names an exposition declares (`# TYPE name ...`). */
function declaredFamilies(exposition: string): Set<string> {
  const names = new Set<string>();
  for (const match of exposition.matchAll(/^# TYPE (\S+) /gm)) names.add(match[1]);
  return names;
}

/** The first sample or declaration of `text` that would redefine one of `families` (with a histogram's suffixes). */
function collision(text: string, families: Set<string>): string | undefined {
  for (const line of text.split('\n')) {
    const name = line.startsWith('# TYPE ') || line.startsWith('# HELP ') ? line.split(' ')[2] : /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line)?.[0];
    if (name === undefined) continue;
    const family = name.replace(/_(bucket|sum|count)$/, '');
    if (families.has(name) || families.has(family)) return name;
  }
  return undefined;
}

/**
 * The proxy's exposition followed by the user server's metrics, or by a comment saying why they are missing
 * (Prometheus ignores comments). User metrics that would redefine one of the proxy's families are dropped:
 * a duplicate family fails the whole scrape, the autoscaling signal included.
 */
export async function withUserMetrics(own: string, host: string, port: number, timeoutMs: number = USER_METRICS_TIMEOUT_MS): Promise<string> {
  const answer = await fetchText(host, port, USER_METRICS_PATH, timeoutMs, USER_METRICS_MAX_BYTES);
  const where = `http://${host}:${port}${USER_METRICS_PATH}`;
  let problem: string | undefined;
  if (answer.status !== 200 || answer.body === undefined) {
    problem = answer.status === undefined || answer.reason !== undefined ? (answer.reason ?? 'no answer') : `status ${answer.status}`;
  } else {
    const clash = collision(answer.body, declaredFamilies(own));
    if (clash !== undefined) problem = `it redefines ${clash}, one of the proxy's own metrics`;
  }
  if (problem !== undefined) return `${own}# cortex-proxy: the user server's metrics (${where}) are left out: ${problem.replace(/\s+/g, ' ')}\n`;
  const body = answer.body as string;
  return body === '' || body.endsWith('\n') ? own + body : `${own}${body}\n`;
}
