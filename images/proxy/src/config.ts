/**
 * The proxy's configuration: command-line flags, each with an environment-variable equivalent, parsed
 * once into a typed, fully defaulted object. Precedence: flag, then environment, then default.
 */
import { isIP } from 'node:net';
import { parseArgs } from 'node:util';
import {
  DEFAULT_REQUEST_TIMEOUT_SECONDS,
  MAX_CONCURRENCY_RANGE,
  MAX_QUEUE_LENGTH_RANGE,
  PORT_RANGE,
  QUEUE_DEFAULTS,
  SILENCE_TIMEOUT_SECONDS,
} from './limits';

/** Everything the proxy needs to know, every default applied, every value checked. */
export interface ProxyConfig {
  /** Where the two servers listen; `undefined` means every interface (IPv6 and IPv4). */
  readonly host: string | undefined;
  /** The request entry point (the Service's target port). 0 takes any free port. */
  readonly port: number;
  /** `/metrics` and `/healthz`. 0 takes any free port. */
  readonly adminPort: number;
  /** Where the user's server listens. */
  readonly userHost: string;
  readonly userPort: number;
  /**
   * The user server's admin port, with `/healthz` and `/metrics` (the Python runtime's); 0: none. When set,
   * readiness is a GET of its `/healthz` (else a TCP connect to `userPort`) and its metrics join the proxy's.
   */
  readonly userAdminPort: number;
  /** Requests let into the user's server at once. */
  readonly maxConcurrency: number;
  /** Requests that may wait for a slot beyond those; more get 503 at once. */
  readonly maxQueueLength: number;
  /** A request that waited this long for a slot gets 503. */
  readonly queueTimeoutMs: number;
  /** The user's server must start its response (send the headers) within this, else 504. */
  readonly upstreamTimeoutMs: number;
  /** After SIGTERM, how long queued and active requests have to finish before the proxy exits anyway. */
  readonly drainTimeoutMs: number;
  /** Larger request bodies get 413. */
  readonly maxBodyBytes: number;
  /** How long an idle client connection is kept open (longer than the gateway's own idle timeout). */
  readonly keepAliveTimeoutMs: number;
  /** A client must send a complete request head within this (from its connection or its first byte), else 408. */
  readonly requestHeadTimeoutMs: number;
  /**
   * The longest silence while a request body uploads or a response body streams: no byte moved either way
   * for this long, and the exchange is given up (408 or 504 before the response started, a cut response after).
   */
  readonly bodyIdleTimeoutMs: number;
  /** After an answer that closes the connection, how long the proxy reads and discards what the client still sends. */
  readonly lingeringTimeMs: number;
  /**
   * Peers (IP addresses or CIDR ranges; `*`: any) whose X-Forwarded-Proto, X-Forwarded-Host and Forwarded
   * headers are passed on; from any other peer they are replaced with what the proxy sees.
   */
  readonly forwardedAllowIps: readonly string[];
  /**
   * A file of SHA-256 hashes of API keys (`api-keys.ts`): requests on the request port without one of the keys
   * get 401. `undefined`: no keys asked for.
   */
  readonly apiKeysFile: string | undefined;
  /** How often the keys file is read again (a change takes effect without a restart). */
  readonly apiKeysIntervalMs: number;
  /** The API's name: the realm of the 401's `WWW-Authenticate`. */
  readonly apiName: string;
}

/** Bad flags or environment variables: `main` prints the message and exits 2. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

type Kind = 'port' | 'integer' | 'duration' | 'size' | 'host' | 'addresses' | 'file' | 'name';

interface Setting {
  readonly flag: string;
  readonly key: keyof ProxyConfig;
  readonly kind: Kind;
  /** The default, as it would be written on the command line; `undefined`: none (the bind host, the keys file). */
  readonly default: string | undefined;
  readonly min?: number;
  readonly max?: number;
  readonly help: string;
}

/**
 * The timeouts on a request's total time default to 600 s, the default `networking.timeout` of an API (the
 * gateway's timeout): the proxy never gives up on a request before the gateway does. The timeouts on silence
 * (a request head, a body that stops moving) default to nginx's 60 s: they bound what a stalled client or
 * server holds, and do not cut long inference (the wait for the response head is the upstream timeout's).
 */
const SETTINGS: readonly Setting[] = [
  { flag: 'port', key: 'port', kind: 'port', default: '8888', min: 0, help: 'port for requests (the Service targets it)' },
  { flag: 'admin-port', key: 'adminPort', kind: 'port', default: '15000', min: 0, help: 'port for /metrics and /healthz' },
  { flag: 'host', key: 'host', kind: 'host', default: undefined, help: 'address both ports bind to (default: every interface)' },
  { flag: 'user-port', key: 'userPort', kind: 'port', default: '8080', min: 1, help: "port of the user's server" },
  { flag: 'user-host', key: 'userHost', kind: 'host', default: '127.0.0.1', help: "address of the user's server" },
  { flag: 'user-admin-port', key: 'userAdminPort', kind: 'port', default: '0', min: 0, help: "port of the user server's /healthz and /metrics (0: none, readiness is a TCP connect)" },
  { flag: 'max-concurrency', key: 'maxConcurrency', kind: 'integer', default: String(QUEUE_DEFAULTS.maxConcurrency), ...MAX_CONCURRENCY_RANGE, help: "requests inside the user's server at once" },
  { flag: 'max-queue-length', key: 'maxQueueLength', kind: 'integer', default: String(QUEUE_DEFAULTS.maxQueueLength), ...MAX_QUEUE_LENGTH_RANGE, help: 'requests that may wait beyond those (more: 503)' },
  { flag: 'queue-timeout', key: 'queueTimeoutMs', kind: 'duration', default: `${DEFAULT_REQUEST_TIMEOUT_SECONDS}s`, help: 'longest wait in the queue (then 503)' },
  { flag: 'upstream-timeout', key: 'upstreamTimeoutMs', kind: 'duration', default: `${DEFAULT_REQUEST_TIMEOUT_SECONDS}s`, help: "longest wait for the user's server to start responding (then 504)" },
  { flag: 'drain-timeout', key: 'drainTimeoutMs', kind: 'duration', default: `${DEFAULT_REQUEST_TIMEOUT_SECONDS}s`, help: 'after SIGTERM, longest wait for queued and active requests' },
  { flag: 'max-body-size', key: 'maxBodyBytes', kind: 'size', default: '128Mi', help: 'largest request body (then 413)' },
  { flag: 'keep-alive-timeout', key: 'keepAliveTimeoutMs', kind: 'duration', default: '3660s', help: 'idle client connections are closed after this' },
  { flag: 'request-head-timeout', key: 'requestHeadTimeoutMs', kind: 'duration', default: `${SILENCE_TIMEOUT_SECONDS}s`, help: 'longest wait for a complete request head (then 408)' },
  { flag: 'body-idle-timeout', key: 'bodyIdleTimeoutMs', kind: 'duration', default: `${SILENCE_TIMEOUT_SECONDS}s`, help: 'longest silence while a request or response body streams' },
  { flag: 'lingering-time', key: 'lingeringTimeMs', kind: 'duration', default: '30s', help: 'after an answer that closes the connection, longest read-and-discard' },
  { flag: 'forwarded-allow-ips', key: 'forwardedAllowIps', kind: 'addresses', default: '127.0.0.1,::1', help: 'peers trusted with X-Forwarded-Proto/-Host (IPs, CIDRs, * or none)' },
  { flag: 'api-keys-file', key: 'apiKeysFile', kind: 'file', default: undefined, help: 'SHA-256 hashes of the API keys, one a line (default: no keys asked for)' },
  { flag: 'api-keys-interval', key: 'apiKeysIntervalMs', kind: 'duration', default: '2s', help: 'how often the keys file is read again' },
  { flag: 'api-name', key: 'apiName', kind: 'name', default: 'api', help: "the API's name, the realm of a 401's WWW-Authenticate" },
];

/** The environment variable of a flag: `--max-concurrency` → `CORTEX_PROXY_MAX_CONCURRENCY`. */
export function envName(flag: string): string {
  return `CORTEX_PROXY_${flag.toUpperCase().replace(/-/g, '_')}`;
}

export const USAGE = [
  'usage: cortex-proxy [flags]',
  '',
  "The proxy sidecar of a Cortex API pod: a concurrency limit and a bounded queue in front of the user's",
  'server, Prometheus metrics, readiness and a graceful drain on SIGTERM.',
  '',
  'flags (each also read from the environment variable shown; a flag wins):',
  ...SETTINGS.map((s) => {
    const def = s.default === undefined ? '' : ` (default ${s.default})`;
    return `  --${s.flag.padEnd(21)} ${envName(s.flag).padEnd(34)} ${s.help}${def}`;
  }),
  '  --help, -h',
  '',
  'durations: 30 (seconds), 30s, 500ms, 2m; sizes: bytes, or with k/M/G (1000s) or Ki/Mi/Gi (1024s).',
  '',
].join('\n');

const SIZE_UNITS: Record<string, number> = { '': 1, k: 1e3, K: 1e3, M: 1e6, G: 1e9, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3 };
const DURATION_UNITS: Record<string, number> = { ms: 1, '': 1000, s: 1000, m: 60_000 };

function parseValue(setting: Setting, text: string, origin: string): number | string | readonly string[] {
  const bad = (allowed: string): never => {
    throw new ConfigError(`${origin} (${JSON.stringify(text)}) must be ${allowed}`);
  };
  switch (setting.kind) {
    case 'host': {
      const host = text.trim();
      // Checked here, not at listen or at the first request: "http://x" or "host:8080" would resolve nowhere.
      if (!isHost(host)) bad('a host name or an IP address (no scheme, port or brackets): localhost, 127.0.0.1, ::1');
      return host;
    }
    case 'port':
    case 'integer': {
      const min = setting.min ?? 0;
      const max = setting.kind === 'port' ? PORT_RANGE.max : (setting.max ?? Number.MAX_SAFE_INTEGER);
      const value = /^\s*\d+\s*$/.test(text) ? Number(text) : NaN;
      if (!Number.isSafeInteger(value) || value < min || value > max) bad(`an integer from ${min} to ${max}`);
      return value;
    }
    case 'duration': {
      const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m)?\s*$/.exec(text);
      const ms = match === null ? NaN : Math.round(Number(match[1]) * DURATION_UNITS[match[2] ?? '']);
      if (!(ms >= 1) || ms > 2 ** 31 - 1) bad('a duration of at least 1ms and under 24 days: 30 (seconds), 30s, 500ms, 2m');
      return ms;
    }
    case 'addresses': {
      const entries = text.split(',').map((entry) => entry.trim());
      if (entries.length === 1 && entries[0] === 'none') return [];
      if (!entries.every(isAddressRange)) bad('a comma-separated list of IP addresses or CIDR ranges (10.0.0.0/8, ::1), * for any, or none');
      return entries;
    }
    case 'file':
      if (text.trim() === '' || text.includes('\0')) bad('a path to a file');
      return text;
    case 'name':
      // It goes into a quoted-string of WWW-Authenticate: nothing to escape.
      if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$/.test(text)) bad('a name of letters, digits, ".", "_" and "-", such as the API\'s name');
      return text;
    case 'size': {
      const match = /^\s*(\d+)\s*(k|K|M|G|Ki|Mi|Gi)?\s*$/.exec(text);
      const bytes = match === null ? NaN : Number(match[1]) * SIZE_UNITS[match[2] ?? ''];
      if (!Number.isSafeInteger(bytes) || bytes < 1) bad('a positive number of bytes, e.g. 1048576, 100M or 128Mi');
      return bytes;
    }
  }
}

// `_` too: resolvers accept it, and container runtimes name services with it (Docker Compose's `my_api`).
const HOST_LABEL = /^[a-zA-Z0-9_](?:[a-zA-Z0-9_-]{0,61}[a-zA-Z0-9_])?$/;

/** An IP address, or a DNS name (RFC 1123 labels, not all digits as only a malformed IPv4 address would be). */
function isHost(text: string): boolean {
  if (isIP(text) !== 0) return true;
  const name = text.endsWith('.') ? text.slice(0, -1) : text;
  return name.length > 0 && name.length <= 253 && !/^[\d.]+$/.test(name) && name.split('.').every((label) => HOST_LABEL.test(label));
}

/** An IP address, a CIDR range (`10.0.0.0/8`, `fd00::/8`) or `*`. */
function isAddressRange(text: string): boolean {
  if (text === '*') return true;
  const slash = text.indexOf('/');
  if (slash === -1) return isIP(text) !== 0;
  const family = isIP(text.slice(0, slash));
  const bits = text.slice(slash + 1);
  return family !== 0 && /^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128);
}

/** What the command line asks for. */
export type Command = { readonly help: true } | { readonly help: false; readonly config: ProxyConfig };

/**
 * Parses flags and environment once. Throws {@link ConfigError} on an unknown flag, a missing value, or a
 * value out of range; the message names the flag (or variable), the value and what is allowed.
 */
export function parseCommandLine(argv: readonly string[], env: NodeJS.ProcessEnv = {}): Command {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        help: { type: 'boolean', short: 'h' },
        ...Object.fromEntries(SETTINGS.map((s) => [s.flag, { type: 'string' as const }])),
      },
    });
  } catch (e) {
    throw new ConfigError((e as Error).message);
  }
  if (parsed.values.help === true) return { help: true };

  const config: Record<string, number | string | readonly string[] | undefined> = {};
  for (const setting of SETTINGS) {
    const fromFlag = parsed.values[setting.flag];
    const variable = envName(setting.flag);
    const fromEnv = env[variable];
    if (typeof fromFlag === 'string') {
      config[setting.key] = parseValue(setting, fromFlag, `--${setting.flag}`);
    } else if (fromEnv !== undefined && fromEnv !== '') {
      config[setting.key] = parseValue(setting, fromEnv, variable);
    } else {
      config[setting.key] = setting.default === undefined ? undefined : parseValue(setting, setting.default, `default of --${setting.flag}`);
    }
  }
  const result = config as unknown as ProxyConfig;
  if (result.port !== 0 && result.port === result.adminPort) {
    throw new ConfigError(`--port (${result.port}) and --admin-port (${result.adminPort}) must differ`);
  }
  return { help: false, config: result };
}

/** The defaults, with `overrides`: for tests and embedders that build a config without a command line. */
export function configWith(overrides: Partial<ProxyConfig>): ProxyConfig {
  const command = parseCommandLine([]);
  if (command.help) throw new Error('unreachable');
  return { ...command.config, ...overrides };
}
