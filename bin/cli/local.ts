import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { formatProblem, RealtimeApiSpec } from '../../lib/config';
import { parseCommandArgs } from './args';
import { CliIo, EXIT_INVALID, EXIT_OK, UsageError } from './io';
import { loadConfig } from './load';

export const localUsage = `Usage: cortex local API_NAME [-f PATH] [--port PORT]

Runs a predictor-form API (type python or onnx, or a kind: api python module or onnx model) on this
machine: the Python predictor runtime and the proxy sidecar as local processes, wired as in a pod, with the
API's settings (concurrency, queue, batching, models, networking.timeout, predictor.env, whose variables
from Secrets are taken from this shell's environment; the project's .env over them). Each API gets its own
temporary directory (TMPDIR, TMP, TEMP), removed when it stops. Prints the URL, streams both logs, and stops
both on Ctrl-C (they finish the requests in flight, for at most networking.timeout; a second Ctrl-C stops them
at once).

Options:
  -f, --file PATH     the cortex.yaml (default: cortex.yaml)
  -p, --port PORT     the port of the API on 127.0.0.1 (default: 8888; 0: any free port, named when ready)
      --python PATH   the Python interpreter (default: $CORTEX_PYTHON, else /usr/bin/python3)
      --api-keys-file PATH
                      API keys as in the cluster (networking.auth.api_keys): SHA-256 hashes, one a
                      line, the Secret's sha256 (cortex keys create API --keys-file PATH writes one);
                      requests without a key get 401, the file is read again as it changes
  -h, --help          show this help
`;

/** Debian's packages the runtime imports, by module. */
const RUNTIME_MODULES: Record<string, string> = { uvicorn: 'python3-uvicorn', starlette: 'python3-starlette' };

/** Type onnx's module, which Debian does not package: how to get it for a local run. */
const ONNX_RUNTIME_INSTALL =
  "Debian has no package of it: install it from PyPI into a virtual environment that also sees Debian's python3-starlette " +
  'and python3-uvicorn (apt-get install -y python3-venv; python3 -m venv --system-site-packages ~/.venvs/cortex-onnx; ' +
  '~/.venvs/cortex-onnx/bin/pip install onnxruntime), then pass --python ~/.venvs/cortex-onnx/bin/python';

/** How long the API may take to become ready (its __init__ may load a model). */
const READY_TIMEOUT_MS = 300_000;

export function localCommand(argv: string[], io: CliIo): Promise<number> | number {
  const { values, positionals } = parseCommandArgs(
    argv,
    {
      file: { type: 'string', short: 'f', default: 'cortex.yaml' },
      port: { type: 'string', short: 'p', default: '8888' },
      python: { type: 'string' },
      'api-keys-file': { type: 'string' },
    },
    1,
  );
  if (values.help) {
    io.out(localUsage);
    return EXIT_OK;
  }
  const apiName = positionals[0];
  if (apiName === undefined) throw new UsageError('missing API_NAME: the name of the API to run');
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new UsageError(`--port must be an integer from 0 (any free port) to 65535, got "${values.port}"`);
  }
  if (values.python === '') throw new UsageError('--python must name a Python interpreter, got ""');

  const file = values.file as string;
  const { config, problems } = loadConfig(file, io.cwd);
  if (!config) {
    io.err(problems.map((p) => formatProblem(p) + '\n').join(''));
    return EXIT_INVALID;
  }
  const api = config.apis.find((a) => a.name === apiName);
  if (!api) {
    const splitter = config.splitters.find((s) => s.name === apiName);
    const available = config.apis.map((a) => a.name).join(', ') || 'none';
    io.err(
      splitter
        ? `cortex local: ${apiName} is a TrafficSplitter; run one of its APIs (${splitter.apis.map((t) => t.name).join(', ')})\n`
        : `cortex local: no RealtimeAPI named "${apiName}" in ${file}; available: ${available}\n`,
    );
    return EXIT_INVALID;
  }
  if (!api.predictor) {
    io.err(
      `cortex local: ${apiName} is a container-form API (pod.containers): it runs from its images, which needs a ` +
        `Docker engine, and ${dockerStatus()}. Predictor-form APIs (predictor: {type: python, ...}) run here without one.\n`,
    );
    return EXIT_INVALID;
  }
  if (api.predictor.type === 'tensorflow') {
    io.err(
      api.predictor.style === 'function'
        ? `cortex local: ${apiName} serves a tensorflow model (kind: api, tensorflow:); cortex local runs python modules (python.inference, predictor.path), onnx models and type python and onnx predictors (tensorflow needs a TensorFlow Serving container, which cortex-cdk does not deploy)\n`
        : `cortex local: ${apiName} has predictor.type tensorflow; cortex local runs type python and onnx predictors (tensorflow needs a TensorFlow Serving container, which cortex-cdk does not deploy)\n`,
    );
    return EXIT_INVALID;
  }

  const apiKeysFile = values['api-keys-file'] === undefined ? undefined : path.resolve(io.cwd, values['api-keys-file'] as string);
  if (apiKeysFile !== undefined) {
    // Checked here as the proxy would at its start, so that a bad file is one message, not a proxy that exits.
    const { ApiKeysFileError, parseApiKeys } = require('../../images/proxy/src/api-keys') as typeof import('../../images/proxy/src/api-keys');
    try {
      parseApiKeys(fs.readFileSync(apiKeysFile, 'utf8'), apiKeysFile);
    } catch (e) {
      if (!(e instanceof ApiKeysFileError) && (e as NodeJS.ErrnoException).code === undefined) throw e;
      io.err(`cortex local: --api-keys-file: ${(e as Error).message}\n`);
      return EXIT_INVALID;
    }
  } else if (api.networking.auth?.apiKeys !== undefined) {
    io.err(`cortex local: note: ${apiName} sets networking.auth.api_keys; without --api-keys-file it answers without asking for a key here\n`);
  }
  // An empty CORTEX_PYTHON is unset, as the shell's `CORTEX_PYTHON= cortex local ...` means.
  const python = (values.python as string | undefined) ?? (process.env.CORTEX_PYTHON || '/usr/bin/python3');
  const missing = missingPythonModules(python, api.predictor.type === 'onnx');
  if (missing !== undefined) {
    io.err(`cortex local: ${missing}\n`);
    return EXIT_INVALID;
  }
  return runLocally(api, { python, port, projectDir: path.dirname(path.resolve(io.cwd, file)), io, apiKeysFile });
}

interface RunOptions {
  readonly python: string;
  readonly port: number;
  readonly projectDir: string;
  readonly io: CliIo;
  /** `--api-keys-file`, absolute. */
  readonly apiKeysFile?: string;
}

async function runLocally(api: RealtimeApiSpec, options: RunOptions): Promise<number> {
  const { io } = options;
  // Loaded here, not at the top: `validate` and `manifests` must not pay for it.
  const { predictorSettings, isPredictorForm } = await import('../../constructs/predictor-config');
  if (!isPredictorForm(api)) return EXIT_INVALID;

  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), `cortex-local-${api.name}-`));
  const settingsFile = path.join(workDir, 'predictor.json');
  // The API's own temporary directory: two local APIs writing $TMPDIR/model do not meet.
  const tmpDir = path.join(workDir, 'tmp');
  fs.mkdirSync(tmpDir);
  // ?debug=true is on under cortex local (the API's own machine) unless the API says allow_debug: false.
  // The runtime's ports are its own choice (`--port 0`, CORTEX_ADMIN_PORT=0), read from the line it logs once it has
  // bound them: a port picked here and handed over could be taken by another process in between.
  fs.writeFileSync(settingsFile, JSON.stringify({ ...predictorSettings(api), allow_debug: api.predictor.allowDebug ?? true }, null, 2));

  const children: ChildProcess[] = [];
  let stopping = false;
  const stop = (code: number) => {
    if (stopping) return;
    stopping = true;
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    finish(code);
  };
  let finish: (code: number) => void = () => undefined;
  const done = new Promise<number>((resolve) => (finish = resolve));

  const fromSecrets = localSecretEnv(api, process.env);
  const userEnv = { ...api.predictor.env, ...fromSecrets.env };
  const tempEnv = localTempEnv(tmpDir);
  io.out(
    `cortex local: ${api.name}: ${'TMPDIR' in api.predictor.env ? `TMPDIR ${api.predictor.env.TMPDIR} (predictor.env)` : 'TMPDIR' in userEnv ? 'TMPDIR from the shell (predictor.env, a Secret in the cluster)' : `its own temporary directory, TMPDIR=${tmpDir} (also TMP, TEMP; removed when it stops)`}` +
      `${Object.keys(userEnv).length > 0 ? `; predictor.env: ${Object.keys(userEnv).join(', ')}` : ''}\n`,
  );
  if (fromSecrets.note !== undefined) io.err(`cortex local: note: ${fromSecrets.note}\n`);
  const runtime = spawn(options.python, ['-m', 'cortex_runtime', '--port', '0'], {
    cwd: options.projectDir,
    env: {
      ...process.env,
      ...tempEnv,
      // predictor.env, as the chart sets it in the container (the project's .env, read by the runtime, goes over it).
      ...userEnv,
      PYTHONPATH: [RUNTIME_DIR, userEnv.PYTHONPATH ?? process.env.PYTHONPATH].filter(Boolean).join(path.delimiter),
      CORTEX_PREDICTOR_CONFIG: settingsFile,
      CORTEX_PROJECT_DIR: options.projectDir,
      ...localRuntimeEnv(api, 0),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const watch = (child: ChildProcess, name: string) => {
    children.push(child);
    child.on('error', (e) => {
      io.err(`cortex local: could not start ${name}: ${e.message}\n`);
      stop(EXIT_INVALID);
    });
    child.on('exit', (code, signal) => {
      if (stopping) return;
      io.err(`cortex local: ${name} exited (${signal ?? `code ${code}`}); stopping\n`);
      stop(EXIT_INVALID);
    });
  };
  watch(runtime, 'the predictor runtime');
  const runtimeBound = announcedPorts(runtime, 'api', io, RUNTIME_LISTENING);
  // The first Ctrl-C drains (each process within its drain timeout); a second one stops them at once.
  const onSignal = () => {
    if (stopping) {
      for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      return;
    }
    stop(EXIT_OK);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  // The proxy once the runtime has bound its ports, on the API's port (`--port`; 0: its choice) and an admin port
  // of its choosing; then ready when both are: the runtime once the predictor's __init__ returned, the proxy once
  // it reaches the runtime.
  const start = async (): Promise<void> => {
    const [runtimePort, runtimeAdminPort] = await Promise.race([runtimeBound, done.then(() => undefined)]) ?? [];
    if (stopping || runtimePort === undefined || runtimeAdminPort === undefined) return;
    const proxyArgs = await localProxyArgs(api, { port: options.port, adminPort: 0, runtimePort, runtimeAdminPort }, options.apiKeysFile);
    const proxy = spawn(process.execPath, [PROXY_MAIN, ...proxyArgs], { stdio: ['ignore', 'pipe', 'pipe'] });
    watch(proxy, 'the proxy');
    if (stopping) proxy.kill('SIGTERM');
    const [port, adminPort] = await Promise.race([announcedPorts(proxy, 'proxy', io, PROXY_LISTENING), done.then(() => undefined)]) ?? [];
    if (stopping || port === undefined) return;
    const readiness = [`http://127.0.0.1:${runtimeAdminPort}/healthz`, `http://127.0.0.1:${adminPort}/healthz`];
    const ready = await waitReady(readiness, READY_TIMEOUT_MS, () => stopping);
    if (stopping) return;
    if (!ready) {
      io.err(`cortex local: ${api.name} did not become ready within ${READY_TIMEOUT_MS / 1000} s; stopping\n`);
      stop(EXIT_INVALID);
      return;
    }
    io.out(`${api.name} is ready: curl -X POST http://127.0.0.1:${port}/ -H 'content-type: application/json' -d @sample.json\n`);
  };
  void start();

  const code = await done;
  process.removeListener('SIGINT', onSignal);
  process.removeListener('SIGTERM', onSignal);
  await Promise.all(children.map((c) => (c.exitCode !== null || c.signalCode !== null ? undefined : new Promise((r) => c.once('exit', r)))));
  // After the processes: requests still draining may use the temporary directory.
  fs.rmSync(workDir, { recursive: true, force: true });
  return code;
}

/**
 * `predictor.env`'s Secret-backed variables (`{secret, key}`) under `cortex local`, which reads no Secret: each
 * from the shell's environment when it is set there (an empty value is set), and a note naming the others, which
 * the runtime then starts without. Values are never shown.
 */
export function localSecretEnv(
  api: RealtimeApiSpec,
  environ: Readonly<Record<string, string | undefined>>,
): { env: Record<string, string>; note?: string } {
  const refs = Object.entries(api.predictor?.secretEnv ?? {});
  const env: [string, string][] = [];
  const unset: string[] = [];
  for (const [name, ref] of refs) {
    const value = Object.prototype.hasOwnProperty.call(environ, name) ? environ[name] : undefined;
    if (value !== undefined) env.push([name, value]);
    else unset.push(`${name} (Secret ${ref.secret}, key ${ref.key})`);
  }
  const note =
    unset.length === 0
      ? undefined
      : `${api.name}: ${unset.join(', ')} ${unset.length === 1 ? 'comes' : 'come'} from a Secret in the cluster, which cortex local ` +
        `does not read, and ${unset.length === 1 ? 'is' : 'are'} not set in this shell: the runtime starts without ${unset.length === 1 ? 'it' : 'them'}; ` +
        `export ${unset.length === 1 ? 'it' : 'them'} before cortex local to pass ${unset.length === 1 ? 'it' : 'them'}`;
  return { env: Object.fromEntries(env), ...(note !== undefined ? { note } : {}) };
}

/** TMPDIR, TMP and TEMP (the names Python's tempfile and most tools read) all pointing at `dir`. */
export function localTempEnv(dir: string): Record<string, string> {
  return { TMPDIR: dir, TMP: dir, TEMP: dir };
}

/** Where the two local processes listen, all on 127.0.0.1. */
export interface LocalPorts {
  /** The API's port (the proxy's request port, `--port`). */
  readonly port: number;
  /** The proxy's `/healthz` and `/metrics`. */
  readonly adminPort: number;
  /** The runtime's predictions (`pod.port` in a pod). */
  readonly runtimePort: number;
  /** The runtime's `/healthz` and `/metrics` (8081 in a pod). */
  readonly runtimeAdminPort: number;
}

/**
 * The proxy's flags: the chart's (constructs/proxy-sidecar.ts: concurrency, queue, `networking.timeout` as
 * the queue and upstream timeouts, the user server's admin port...), with local ports, on 127.0.0.1, and a
 * drain of `networking.timeout` (a pod's is what its grace period leaves).
 */
export async function localProxyArgs(api: RealtimeApiSpec, ports: LocalPorts, apiKeysFile?: string): Promise<string[]> {
  const { ProxySidecar } = await import('../../constructs/proxy-sidecar');
  const sidecar = new ProxySidecar({
    image: 'cortex-proxy:local',
    userPort: ports.runtimePort,
    maxConcurrency: api.pod.maxConcurrency,
    maxQueueLength: api.pod.maxQueueLength,
    preStopSleepSeconds: 0,
    requestTimeoutSeconds: api.networking.timeoutSeconds,
    drainTimeoutSeconds: api.networking.timeoutSeconds,
    userAdminPort: ports.runtimeAdminPort,
    // The chart's keys flags, with the local file in the place of the Secret's mount.
    apiKeys: apiKeysFile === undefined ? undefined : { apiName: api.name, secret: 'local' },
  });
  const local: Record<string, string> = { '--port': String(ports.port), '--admin-port': String(ports.adminPort) };
  if (apiKeysFile !== undefined) local['--api-keys-file'] = apiKeysFile;
  const args = sidecar.args.map((arg, i, all) => local[all[i - 1]] ?? arg);
  return ['--host', '127.0.0.1', ...args];
}

/** The runtime's environment as in a pod (constructs/pod-template.ts), with a local admin port (0: its choice). */
export function localRuntimeEnv(api: RealtimeApiSpec, adminPort: number): Record<string, string> {
  return {
    CORTEX_HOST: '127.0.0.1',
    CORTEX_ADMIN_PORT: String(adminPort),
    CORTEX_REQUEST_TIMEOUT: String(api.networking.timeoutSeconds),
    CORTEX_DRAIN_TIMEOUT: String(api.networking.timeoutSeconds),
  };
}

/** The runtime package and the proxy, wherever this file runs from (bin/cli via ts-node, or dist/bin/cli). */
const PACKAGE_ROOT = findPackageRoot(__dirname);
const RUNTIME_DIR = path.join(PACKAGE_ROOT, 'images', 'python-predictor');
const PROXY_MAIN = path.join(PACKAGE_ROOT, 'dist', 'images', 'proxy', 'src', 'main.js');

function findPackageRoot(dir: string): string {
  let current = dir;
  while (!fs.existsSync(path.join(current, 'package.json'))) {
    const parent = path.dirname(current);
    if (parent === current) return dir;
    current = parent;
  }
  return current;
}

/** What the interpreter lacks to run the API (the runtime's modules; onnxruntime for type onnx), or undefined. */
function missingPythonModules(python: string, onnx: boolean): string | undefined {
  const modules = [...Object.keys(RUNTIME_MODULES), ...(onnx ? ['onnxruntime'] : [])];
  const probe = spawnSync(python, ['-c', `import importlib.util, sys; print(" ".join(m for m in ${JSON.stringify(modules)} if importlib.util.find_spec(m) is None))`], {
    encoding: 'utf8',
  });
  if (probe.error) {
    return `no Python at ${python} (${(probe.error as NodeJS.ErrnoException).code}); install Debian's python3 or pass --python PATH`;
  }
  const missing = probe.stdout.trim().split(/\s+/).filter(Boolean);
  const debian = missing.filter((m) => m in RUNTIME_MODULES);
  if (debian.length > 0) {
    const packages = debian.map((m) => RUNTIME_MODULES[m]).join(' ');
    return `${python} lacks ${debian.join(', ')}: install them (Debian: apt-get install -y ${packages})`;
  }
  if (missing.includes('onnxruntime')) return `type onnx needs onnxruntime, which ${python} cannot import; ${ONNX_RUNTIME_INSTALL}`;
  return undefined;
}

function dockerStatus(): string {
  const info = spawnSync('docker', ['info', '--format', '{{.ServerVersion}}'], { encoding: 'utf8', timeout: 5_000 });
  if (info.error) return 'the docker command is not installed';
  return info.status === 0 ? `one answers (Docker ${info.stdout.trim()}), but running container-form APIs locally is not built yet` : 'no Docker engine answers here';
}

function prefixLines(child: ChildProcess, name: string, io: CliIo, onLine?: (line: string) => void): void {
  for (const [stream, write] of [[child.stdout, io.out], [child.stderr, io.err]] as const) {
    let pending = '';
    stream?.setEncoding('utf8');
    stream?.on('data', (chunk: string) => {
      const lines = (pending + chunk).split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        write(`[${name}] ${line}\n`);
        onLine?.(line);
      }
    });
    stream?.on('end', () => pending && write(`[${name}] ${pending}\n`));
  }
}

/** The runtime's line once it has bound its two sockets: its API port, then its admin port. */
export const RUNTIME_LISTENING = / on http:\/\/127\.0\.0\.1:(\d+) \(health and metrics on http:\/\/127\.0\.0\.1:(\d+)\)/;
/** The proxy's first line: its request port, then its admin port. */
export const PROXY_LISTENING = /cortex-proxy: listening on 127\.0\.0\.1:(\d+) \(admin 127\.0\.0\.1:(\d+)\)/;

/**
 * Shows the child's output under `[name]`, and resolves with the two ports of the first line `listening` matches:
 * the ports the process bound itself (port 0), so that no other process can take them in between.
 */
function announcedPorts(child: ChildProcess, name: string, io: CliIo, listening: RegExp): Promise<[number, number]> {
  return new Promise((resolve) => {
    let announced = false;
    prefixLines(child, name, io, (line) => {
      const match = announced ? null : listening.exec(line);
      if (!match) return;
      announced = true;
      resolve([Number(match[1]), Number(match[2])]);
    });
  });
}

async function waitReady(urls: string[], timeoutMs: number, cancelled: () => boolean): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && !cancelled()) {
    const statuses = await Promise.all(urls.map((url) => fetch(url).then((r) => r.status, () => 0)));
    if (statuses.every((s) => s === 200)) return true;
    await new Promise((r) => setTimeout(r, 200));
  }
  return false;
}
