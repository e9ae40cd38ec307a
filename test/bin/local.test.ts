import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { localProxyArgs, localRuntimeEnv, localSecretEnv } from '../../bin/cli/local';
import { parseConfig } from '../../lib/config';
import { HELLO_WORLD_YAML, runCliAsync, tempDir, writeFile } from '../util';

const root = path.join(__dirname, '..', '..');
const dir = tempDir();

const SPLIT_YAML = `${HELLO_WORLD_YAML}
- name: split
  kind: TrafficSplitter
  apis: [{name: hello-world, weight: 100}]
- name: onnx-api
  kind: RealtimeAPI
  predictor: {type: onnx, path: predictor.py, models: {path: model.onnx}}
- kind: api
  name: legacy-onnx
  onnx: {model: model.onnx}
- name: tf-api
  kind: RealtimeAPI
  predictor: {type: tensorflow, path: predictor.py, models: {path: s3://bucket/model}}
`;

/** An interpreter that sees Debian's packages (python3-uvicorn, python3-starlette) and nothing else: no onnxruntime. */
function debianOnlyPython(): string {
  const python = writeFile(dir, 'debian-only-python', '#!/bin/sh\nPYTHONPATH=/usr/lib/python3/dist-packages exec /usr/bin/python3 -S "$@"\n');
  fs.chmodSync(python, 0o755);
  return python;
}

const ONNX_RUNTIME_REFUSAL =
  "type onnx needs onnxruntime, which PYTHON cannot import; Debian has no package of it: install it from PyPI into a virtual environment that also sees Debian's python3-starlette " +
  'and python3-uvicorn (apt-get install -y python3-venv; python3 -m venv --system-site-packages ~/.venvs/cortex-onnx; ~/.venvs/cortex-onnx/bin/pip install onnxruntime), ' +
  'then pass --python ~/.venvs/cortex-onnx/bin/python';

describe('cortex local: what it refuses, clearly', () => {
  const file = writeFile(dir, 'refuse/cortex.yaml', SPLIT_YAML);

  test('an unknown API lists the available ones', async () => {
    const { code, err } = await runCliAsync(['local', 'nope', '-f', file], dir);
    expect(code).toBe(1);
    expect(err).toBe(`cortex local: no RealtimeAPI named "nope" in ${file}; available: hello-world, onnx-api, legacy-onnx, tf-api\n`);
  });

  test('a traffic splitter names its APIs', async () => {
    const { code, err } = await runCliAsync(['local', 'split', '-f', file], dir);
    expect(code).toBe(1);
    expect(err).toBe('cortex local: split is a TrafficSplitter; run one of its APIs (hello-world)\n');
  });

  test('a container-form API needs a Docker engine', async () => {
    const { code, err } = await runCliAsync(['local', 'hello-world', '-f', file], dir);
    expect(code).toBe(1);
    expect(err).toMatch(/^cortex local: hello-world is a container-form API \(pod\.containers\): it runs from its images, which needs a Docker engine/);
  });

  test('type tensorflow is refused, naming what it needs', async () => {
    const { code, err } = await runCliAsync(['local', 'tf-api', '-f', file], dir);
    expect(code).toBe(1);
    expect(err).toBe(
      'cortex local: tf-api has predictor.type tensorflow; cortex local runs type python and onnx predictors (tensorflow needs a TensorFlow Serving container, which cortex-cdk does not deploy)\n',
    );
  });

  test('GIVEN type onnx and a Python without onnxruntime THEN the refusal says how to get it (Debian has no package of it)', async () => {
    const python = debianOnlyPython();
    for (const api of ['onnx-api', 'legacy-onnx']) {
      const { code, err } = await runCliAsync(['local', api, '-f', file, '--python', python], dir);
      expect(code).toBe(1);
      expect(err).toBe(`cortex local: ${ONNX_RUNTIME_REFUSAL.replace('PYTHON', python)}\n`);
    }
  });

  test('a missing Python interpreter is named', async () => {
    const iris = path.join(root, 'examples', 'iris-classifier', 'cortex.yaml');
    const { code, err } = await runCliAsync(['local', 'iris-classifier', '-f', iris, '--python', '/nonexistent/python3'], dir);
    expect(code).toBe(1);
    expect(err).toBe("cortex local: no Python at /nonexistent/python3 (ENOENT); install Debian's python3 or pass --python PATH\n");
  });

  test('a Python without the runtime packages names the Debian packages', async () => {
    // GIVEN an interpreter whose path hides every package: python3 -S ignores site-packages
    const bare = writeFile(dir, 'bare-python', '#!/bin/sh\nexec /usr/bin/python3 -S -I "$@"\n');
    fs.chmodSync(bare, 0o755);
    const iris = path.join(root, 'examples', 'iris-classifier', 'cortex.yaml');
    const { code, err } = await runCliAsync(['local', 'iris-classifier', '-f', iris, '--python', bare], dir);
    expect(code).toBe(1);
    expect(err).toBe(`cortex local: ${bare} lacks uvicorn, starlette: install them (Debian: apt-get install -y python3-uvicorn python3-starlette)\n`);
  });

  test('GIVEN --python with an empty value THEN a usage error, not a crash in spawn', async () => {
    const { code, err } = await runCliAsync(['local', 'iris-classifier', '--python', ''], dir);
    expect(err).toMatch(/^cortex local: --python must name a Python interpreter, got ""\n/);
    expect(code).toBe(2);
  });

  test('a bad port and a missing API name are usage errors', async () => {
    expect((await runCliAsync(['local', 'x', '--port', '99999'], dir)).code).toBe(2);
    const { code, err } = await runCliAsync(['local'], dir);
    expect(code).toBe(2);
    expect(err).toMatch(/missing API_NAME/);
  });
});

describe('cortex local iris-classifier, end to end (real processes on loopback)', () => {
  // A copy of the example, so that the model it trains at start is not written into the repository.
  const project = path.join(dir, 'iris');
  fs.cpSync(path.join(root, 'examples', 'iris-classifier'), project, { recursive: true });
  const cli = path.join(root, 'dist', 'bin', 'cortex.js');
  let child: ChildProcess;
  let output = '';

  afterAll(() => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
  });

  test('serves the sample through the proxy, then stops both processes on Ctrl-C', async () => {
    // GIVEN
    child = spawn(process.execPath, [cli, 'local', 'iris-classifier', '-f', path.join(project, 'cortex.yaml'), '--port', '0'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (d) => (output += d));
    child.stderr!.on('data', (d) => (output += d));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    await until(() => output.includes('iris-classifier is ready'), 60_000, () => output);
    const port = readyPort(output, 'iris-classifier');

    // WHEN
    const response = await fetch(`http://127.0.0.1:${port}/`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: fs.readFileSync(path.join(project, 'sample.json')),
    });

    // THEN a class name, through the proxy, as text (a str prediction: Cortex sent text/plain)
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(await response.text()).toBe('setosa');
    // AND Cortex's own route, /predict, serves the same
    const viaPredict = await fetch(`http://127.0.0.1:${port}/predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: fs.readFileSync(path.join(project, 'sample.json')),
    });
    expect([viaPredict.status, await viaPredict.text()]).toEqual([200, 'setosa']);
    expect(output).toMatch(/\[proxy\] cortex-proxy: listening on 127\.0\.0\.1:\d+/);
    expect(output).toMatch(/\[api\] .*iris-classifier: ready/);

    // WHEN Ctrl-C THEN both stop and the port is free again
    child.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(output).toMatch(/\[proxy\] cortex-proxy: drained/);
    await expect(fetch(`http://127.0.0.1:${port}/`)).rejects.toThrow();
  }, 90_000);
});

/** Polls a condition until it holds, with a deadline (the process's output is the only signal there is). */
async function until(condition: () => boolean, timeoutMs: number, describe: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out; output so far:\n${describe()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('cortex local iris-legacy: a kind: api module (init/predict), end to end on loopback', () => {
  const project = path.join(dir, 'legacy-iris');
  fs.cpSync(path.join(root, 'examples', 'legacy-iris'), project, { recursive: true });
  const cli = path.join(root, 'dist', 'bin', 'cortex.js');
  let child: ChildProcess;
  let output = '';

  afterAll(() => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
  });

  test('init runs before ready, predict answers through the proxy, ?debug=true logs the sample and the prediction', async () => {
    // GIVEN the first form (python.inference) of the example, run by the CLI
    child = spawn(process.execPath, [cli, 'local', 'iris-legacy', '-f', path.join(project, 'cortex.yaml'), '--port', '0'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (d) => (output += d));
    child.stderr!.on('data', (d) => (output += d));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    await until(() => output.includes('iris-legacy is ready'), 60_000, () => output);
    const port = readyPort(output, 'iris-legacy');
    expect(output).toMatch(/\[api\] .*iris-legacy: serving a python \(kind: api, function-style\) predictor \(inference\.py\)/);

    // WHEN the sample is sent, with ?debug=true
    const response = await fetch(`http://127.0.0.1:${port}/?debug=true`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: fs.readFileSync(path.join(project, 'sample.json')),
    });

    // THEN the class, through the proxy; the raw sample and the returned value in the log
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ label: 'setosa' });
    await until(() => output.includes('debug: prediction'), 10_000, () => output);
    expect(output).toMatch(/\[api\] .*iris-legacy: debug: payload: \{"sepal_length": 5\.2, "sepal_width": 3\.6, "petal_length": 1\.4, "petal_width": 0\.3\}/);
    expect(output).toMatch(/\[api\] .*iris-legacy: debug: prediction: \{"label": "setosa"\}/);

    // WHEN Ctrl-C THEN both stop
    child.kill('SIGINT');
    expect(await exited).toBe(0);
    await expect(fetch(`http://127.0.0.1:${port}/`)).rejects.toThrow();
  }, 90_000);
});

// A predictor that answers, except for a payload asking it to hang (then it never returns).
const HANGING_PREDICTOR = `
import threading

class PythonPredictor:
    def __init__(self, config):
        self.never = threading.Event()

    def predict(self, payload):
        if payload.get("hang"):
            self.never.wait()
        return "setosa"
`;

const HANGING_YAML = `
- name: hangs
  kind: RealtimeAPI
  predictor: {type: python, path: predictor.py}
  tracker: {model_type: classification}
  networking: {timeout: 2s}
`;

describe('cortex local wires the proxy and the runtime as the chart does', () => {
  const [api] = parseConfig(HANGING_YAML, 'cortex.yaml').apis;
  const ports = { port: 18888, adminPort: 15001, runtimePort: 18080, runtimeAdminPort: 18081 };

  test('the proxy: networking.timeout as its queue and upstream timeouts, the runtime\'s admin port, local ports on 127.0.0.1', async () => {
    const args = await localProxyArgs(api, ports);
    const flags = new Map(args.flatMap((a, i) => (a.startsWith('--') ? [[a, args[i + 1]] as const] : [])));
    expect(Object.fromEntries(flags)).toMatchObject({
      '--host': '127.0.0.1',
      '--port': '18888',
      '--admin-port': '15001',
      '--user-port': '18080',
      '--user-admin-port': '18081',
      '--queue-timeout': '2000ms',
      '--upstream-timeout': '2000ms',
      '--drain-timeout': '2000ms',
    });
    expect(args.filter((a) => a === '--port')).toHaveLength(1);
  });

  test('the runtime: 127.0.0.1, its admin port, and networking.timeout for its watchdog and its drain', () => {
    expect(localRuntimeEnv(api, ports.runtimeAdminPort)).toEqual({
      CORTEX_HOST: '127.0.0.1',
      CORTEX_ADMIN_PORT: '18081',
      CORTEX_REQUEST_TIMEOUT: '2',
      CORTEX_DRAIN_TIMEOUT: '2',
    });
  });
});

describe('cortex local: predictor.env from Secrets, which it cannot read', () => {
  const api = parseConfig(
    `- name: caller
  kind: RealtimeAPI
  predictor:
    type: python
    path: predictor.py
    env:
      PLAIN: x
      CORTEX_API_KEY: {secret: callee-client-key, key: key}
      HF_TOKEN: {secret: hf, key: token}
`,
    'cortex.yaml',
  ).apis[0];

  test('GIVEN one set in the shell THEN it is taken from there, and one note names the other, its Secret and key, never a value', () => {
    const { env, note } = localSecretEnv(api, { CORTEX_API_KEY: 'k-123-secret', HOME: '/root' });
    expect(env).toEqual({ CORTEX_API_KEY: 'k-123-secret' });
    expect(note).toBe(
      'caller: HF_TOKEN (Secret hf, key token) comes from a Secret in the cluster, which cortex local does not read, and is not set in this shell: ' +
        'the runtime starts without it; export it before cortex local to pass it',
    );
  });

  test('GIVEN all set (an empty value is set) THEN no note; GIVEN none THEN one note naming both', () => {
    expect(localSecretEnv(api, { CORTEX_API_KEY: 'k', HF_TOKEN: '' })).toEqual({ env: { CORTEX_API_KEY: 'k', HF_TOKEN: '' } });
    expect(localSecretEnv(api, {}).note).toMatch(/^caller: CORTEX_API_KEY \(Secret callee-client-key, key key\), HF_TOKEN \(Secret hf, key token\) come from a Secret .* not set in this shell/);
  });
});

describe('cortex local with a predictor that hangs, end to end on loopback', () => {
  const project = path.join(dir, 'hangs');
  fs.mkdirSync(project, { recursive: true });
  fs.writeFileSync(path.join(project, 'cortex.yaml'), HANGING_YAML);
  fs.writeFileSync(path.join(project, 'predictor.py'), HANGING_PREDICTOR);
  const cli = path.join(root, 'dist', 'bin', 'cortex.js');
  let child: ChildProcess;
  let output = '';

  afterAll(() => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
  });

  test('a hung request gets 504 after networking.timeout; /metrics and /healthz are not on the API\'s port; the tracker\'s metrics are on the proxy\'s admin port', async () => {
    // GIVEN the API, networking.timeout 2s
    child = spawn(process.execPath, [cli, 'local', 'hangs', '-f', path.join(project, 'cortex.yaml'), '--port', '0'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (d) => (output += d));
    child.stderr!.on('data', (d) => (output += d));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    await until(() => output.includes('hangs is ready'), 60_000, () => output);
    const port = readyPort(output, 'hangs');
    const post = (body: unknown) =>
      fetch(`http://127.0.0.1:${port}/`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(20_000),
      });
    expect(await (await post({})).text()).toBe('setosa');

    // WHEN a request hangs in predict THEN the proxy answers 504 (not after its 600 s default)
    const hung = await post({ hang: true });
    expect(hung.status).toBe(504);

    // THEN the runtime's /metrics and /healthz are not reachable through the API's port
    expect((await fetch(`http://127.0.0.1:${port}/metrics`)).status).toBe(404);
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(404);
    // AND the proxy's admin port has its own metrics and the tracker's
    const adminPort = /\[proxy\] cortex-proxy: listening on 127\.0\.0\.1:\d+ \(admin 127\.0\.0\.1:(\d+)\)/.exec(output)?.[1];
    expect(adminPort).toBeDefined();
    const metrics = await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text();
    expect(metrics).toMatch(/^cortex_requests_total\{code="504"\} 1$/m);
    expect(metrics).toMatch(/^cortex_prediction_class_total\{api_name="hangs",class="setosa"\} 1$/m);

    // WHEN Ctrl-C THEN both stop (the runtime within its drain timeout, the hung thread notwithstanding)
    child.kill('SIGINT');
    expect(await exited).toBe(0);
    await expect(fetch(`http://127.0.0.1:${port}/`)).rejects.toThrow();
  }, 90_000);
});

/** The API's port in `cortex local`'s ready line (`NAME is ready: curl -X POST http://127.0.0.1:PORT/ ...`). */
function readyPort(output: string, name: string): number {
  const match = new RegExp(`${name} is ready: curl -X POST http://127\\.0\\.0\\.1:(\\d+)/`).exec(output);
  if (!match) throw new Error(`no ready line for ${name} in:\n${output}`);
  return Number(match[1]);
}

/** `cortex local` as a user runs it, its output collected; `stop()` is Ctrl-C and resolves with its exit code. */
function startLocal(args: string[], env: NodeJS.ProcessEnv = process.env) {
  const cli = path.join(root, 'dist', 'bin', 'cortex.js');
  const child = spawn(process.execPath, [cli, 'local', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    output: () => output,
    /** Waits for the API to be ready; resolves with its port (`--port 0`: the proxy's choice, named in that line). */
    ready: async (name: string) => {
      await until(() => output.includes(`${name} is ready`), 60_000, () => output);
      return readyPort(output, name);
    },
    stop: () => {
      child.kill('SIGINT');
      return exited;
    },
  };
}

async function postJson(port: number, body: unknown): Promise<unknown> {
  const response = await fetch(`http://127.0.0.1:${port}/`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(20_000),
  });
  expect(response.status).toBe(200);
  return response.json();
}

// Writes "the model" where a predictor would, in the temporary directory, at start; predict reads it back.
const TEMP_WRITER = `
import os
import tempfile

class PythonPredictor:
    def __init__(self, config):
        self.path = os.path.join(tempfile.gettempdir(), "model")
        with open(self.path, "w") as f:
            f.write(os.environ["WHO"])

    def predict(self, payload):
        with open(self.path) as f:
            return {"model": f.read(), "tmpdir": os.environ["TMPDIR"], "tmp": os.environ["TMP"], "temp": os.environ["TEMP"]}
`;

const TEMP_WRITERS_YAML = `
- name: writer-a
  kind: RealtimeAPI
  predictor: {type: python, path: predictor.py, env: {WHO: a}}
- name: writer-b
  kind: RealtimeAPI
  predictor: {type: python, path: predictor.py, env: {WHO: b}}
`;

describe('cortex local: predictor.env, and a temporary directory for each API', () => {
  const project = path.join(dir, 'temp-writers');
  writeFile(project, 'cortex.yaml', TEMP_WRITERS_YAML);
  writeFile(project, 'predictor.py', TEMP_WRITER);
  const running: Array<ReturnType<typeof startLocal>> = [];

  afterAll(() => {
    for (const { child } of running) if (child.exitCode === null) child.kill('SIGKILL');
  });

  test('two APIs writing $TMPDIR/model at once each read back their own; predictor.env is applied; each directory is removed when its API stops', async () => {
    // GIVEN writer-a running, then writer-b started after it (both write <tempdir>/model in __init__)
    const a = startLocal(['writer-a', '-f', path.join(project, 'cortex.yaml'), '--port', '0']);
    running.push(a);
    const portA = await a.ready('writer-a');
    const b = startLocal(['writer-b', '-f', path.join(project, 'cortex.yaml'), '--port', '0']);
    running.push(b);
    const portB = await b.ready('writer-b');

    // WHEN each is asked what its model file holds
    const fromA = (await postJson(portA, {})) as Record<string, string>;
    const fromB = (await postJson(portB, {})) as Record<string, string>;

    // THEN each reads what it wrote (WHO from its predictor.env), in a directory of its own, named in the log
    expect(fromA.model).toBe('a');
    expect(fromB.model).toBe('b');
    expect(fromA.tmpdir).not.toBe(fromB.tmpdir);
    expect([fromA.tmp, fromA.temp]).toEqual([fromA.tmpdir, fromA.tmpdir]);
    expect(path.basename(path.dirname(fromA.tmpdir))).toMatch(/^cortex-local-writer-a-/);
    expect(a.output()).toContain(`cortex local: writer-a: its own temporary directory, TMPDIR=${fromA.tmpdir} (also TMP, TEMP; removed when it stops); predictor.env: WHO\n`);

    // WHEN Ctrl-C THEN each stops and its directory is gone
    expect(await a.stop()).toBe(0);
    expect(fs.existsSync(fromA.tmpdir)).toBe(false);
    expect(fs.existsSync(fromB.tmpdir)).toBe(true);
    expect(await b.stop()).toBe(0);
    expect(fs.existsSync(fromB.tmpdir)).toBe(false);
  }, 120_000);
});

// A stand-in for onnxruntime, which no Debian package ships: a session that sums its one input.
const FAKE_ONNXRUNTIME = `
class _Arg:
    def __init__(self, name):
        self.name = name


class InferenceSession:
    def __init__(self, path, providers=None):
        self.path = path

    def get_inputs(self):
        return [_Arg("x")]

    def get_outputs(self):
        return [_Arg("sum")]

    def run(self, outputs, feed):
        return [sum(feed["x"])]


def get_available_providers():
    return ["CPUExecutionProvider"]
`;

const ONNX_PREDICTOR = `
class ONNXPredictor:
    def __init__(self, onnx_client, config):
        self.client = onnx_client

    def predict(self, payload):
        return self.client.predict(payload["x"])
`;

describe('cortex local with type onnx, when the Python can import onnxruntime', () => {
  const project = path.join(dir, 'onnx-sum');
  writeFile(project, 'cortex.yaml', '- name: onnx-sum\n  kind: RealtimeAPI\n  predictor: {type: onnx, path: predictor.py, models: {path: model}}\n');
  writeFile(project, 'predictor.py', ONNX_PREDICTOR);
  writeFile(project, 'model/model.onnx', '');
  const site = path.join(dir, 'fake-site');
  writeFile(site, 'onnxruntime/__init__.py', FAKE_ONNXRUNTIME);
  let local: ReturnType<typeof startLocal> | undefined;

  afterAll(() => {
    if (local && local.child.exitCode === null) local.child.kill('SIGKILL');
  });

  test('runs the ONNXPredictor with its onnx_client, through the proxy', async () => {
    // GIVEN onnxruntime (a stand-in) on PYTHONPATH
    local = startLocal(['onnx-sum', '-f', path.join(project, 'cortex.yaml'), '--port', '0'], { ...process.env, PYTHONPATH: site });
    const port = await local.ready('onnx-sum');
    expect(local.output()).toMatch(/\[api\] .*onnx-sum: serving an onnx predictor \(predictor\.py\)/);

    // WHEN THEN the model's session ran on the payload
    expect(await postJson(port, { x: [1, 2, 3] })).toEqual([6]);
    expect(await local.stop()).toBe(0);
  }, 90_000);
});

const STREAMING_PREDICTOR = `
import asyncio
import os


class PythonPredictor:
    def __init__(self, config):
        self.dir = config["dir"]

    async def predict(self, payload):
        # One event, then none until the test creates the barrier file; the finally marks how the stream ended.
        name = payload["name"]
        try:
            yield "first"
            while not os.path.exists(os.path.join(self.dir, name + ".release")):
                await asyncio.sleep(0.02)
            yield "second"
        finally:
            open(os.path.join(self.dir, name + ".ended"), "w").close()
`;

describe('cortex local streams a generator through the proxy, end to end on loopback', () => {
  const project = path.join(dir, 'streams');
  const marks = path.join(project, 'marks');
  fs.mkdirSync(marks, { recursive: true });
  fs.writeFileSync(path.join(project, 'predictor.py'), STREAMING_PREDICTOR);
  // One thread, one process: the proxy admits one request at a time, so a stream that kept its slot after its
  // client left would turn the next request away (503).
  fs.writeFileSync(
    path.join(project, 'cortex.yaml'),
    `- name: streams\n  kind: RealtimeAPI\n  predictor: {type: python, path: predictor.py, threads_per_process: 1, config: {dir: ${JSON.stringify(marks)}}}\n`,
  );
  let local: ReturnType<typeof startLocal> | undefined;

  afterAll(() => {
    if (local && local.child.exitCode === null) local.child.kill('SIGKILL');
  });

  /** A streaming request on a raw connection: its events as they come, and a way to leave mid-stream. */
  function openStream(port: number, name: string) {
    const socket = net.connect(port, '127.0.0.1');
    const body = JSON.stringify({ name });
    socket.write(
      `POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
    let received = '';
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => (received += d));
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    socket.on('error', () => undefined);
    return { received: () => received, closed, leave: () => socket.destroy() };
  }

  test('each event reaches the client as it is yielded; a client that leaves stops the generator and frees the slot; time to first byte is measured', async () => {
    // GIVEN the API, run by the CLI on ports of its own choosing
    local = startLocal(['streams', '-f', path.join(project, 'cortex.yaml'), '--port', '0']);
    const port = await local.ready('streams');
    const admin = Number(/cortex-proxy: listening on 127\.0\.0\.1:\d+ \(admin 127\.0\.0\.1:(\d+)\)/.exec(local.output())![1]);

    // WHEN a client asks for a stream THEN its first event arrives while the generator waits for the barrier
    const a = openStream(port, 'a');
    await until(() => a.received().includes('data: first\n\n'), 20_000, () => `${a.received()}\n${local!.output()}`);
    expect(a.received()).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(a.received()).toMatch(/content-type: text\/event-stream/i);
    expect(a.received()).not.toContain('second');
    expect(fs.existsSync(path.join(marks, 'a.ended'))).toBe(false);

    // WHEN that client leaves mid-stream THEN the generator is stopped (its finally runs) without its barrier
    a.leave();
    await until(() => fs.existsSync(path.join(marks, 'a.ended')), 20_000, () => local!.output());

    // THEN the one slot is free: the next stream is admitted and, its barrier released, ends whole
    const b = openStream(port, 'b');
    await until(() => b.received().includes('data: first\n\n'), 20_000, () => `${b.received()}\n${local!.output()}`);
    fs.writeFileSync(path.join(marks, 'b.release'), '');
    await b.closed;
    // (chunked: each event its own chunk, then the last chunk)
    expect(b.received()).toMatch(/\r\ndata: first\n\n\r\n[0-9a-f]+\r\ndata: second\n\n\r\n0\r\n\r\n$/);
    expect(fs.existsSync(path.join(marks, 'b.ended'))).toBe(true);

    // THEN the proxy counted a time to first byte for each of the two streams
    const metrics = await (await fetch(`http://127.0.0.1:${admin}/metrics`)).text();
    const counts = [...metrics.matchAll(/^cortex_time_to_first_byte_seconds_count(?:\{[^}]*\})? (\d+)$/gm)].map((m) => Number(m[1]));
    expect(counts.reduce((sum, n) => sum + n, 0)).toBe(2);
    expect(await local.stop()).toBe(0);
  }, 90_000);
});

const LONG_PREDICTOR = `
import time


class PythonPredictor:
    def __init__(self, config):
        pass

    def predict(self, payload):
        if "sleep" in payload:
            time.sleep(payload["sleep"])
            return "done"
        return self.events(payload["events"], payload["every"])

    def events(self, count, every):
        for i in range(count):
            time.sleep(every)
            yield {"event": i}
`;

describe('cortex local: long requests, with networking.timeout scaled down (2 s for 10 min)', () => {
  const project = path.join(dir, 'long');
  fs.mkdirSync(project, { recursive: true });
  fs.writeFileSync(path.join(project, 'predictor.py'), LONG_PREDICTOR);
  fs.writeFileSync(
    path.join(project, 'cortex.yaml'),
    '- name: long\n  kind: RealtimeAPI\n  predictor: {type: python, path: predictor.py}\n  networking: {timeout: 2s}\n',
  );
  let local: ReturnType<typeof startLocal> | undefined;

  afterAll(() => {
    if (local && local.child.exitCode === null) local.child.kill('SIGKILL');
  });

  test('a silent request within networking.timeout passes every hop; a stream twice as long passes while it sends an event more often than the timeout', async () => {
    // GIVEN the API with networking.timeout 2s: the proxy's queue, upstream and body-idle timeouts, and the
    // runtime's stuck-request watchdog, all from it (a 10-minute request is this at 300 times the scale)
    local = startLocal(['long', '-f', path.join(project, 'cortex.yaml'), '--port', '0']);
    const port = await local.ready('long');
    const post = (body: unknown, accept = 'application/json') =>
      fetch(`http://127.0.0.1:${port}/`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(30_000),
      });

    // WHEN a prediction computes for 70% of the timeout, sending nothing meanwhile THEN it is answered
    const silent = await post({ sleep: 1.4 });
    expect([silent.status, await silent.text()]).toEqual([200, 'done']);

    // WHEN a prediction streams for twice the timeout, an event every eighth of it THEN every event arrives
    const stream = await post({ events: 16, every: 0.25 }, 'text/event-stream');
    expect(stream.status).toBe(200);
    const events = (await stream.text()).split('\n\n').filter((e) => e !== '');
    expect(events).toEqual(Array.from({ length: 16 }, (_, i) => `data: {"event":${i}}`));
    expect(await local.stop()).toBe(0);
  }, 90_000);
});
