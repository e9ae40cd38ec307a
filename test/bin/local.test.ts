import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { freePort, localProxyArgs, localRuntimeEnv } from '../../bin/cli/local';
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
`;

describe('cortex local: what it refuses, clearly', () => {
  const file = writeFile(dir, 'refuse/cortex.yaml', SPLIT_YAML);

  test('an unknown API lists the available ones', async () => {
    const { code, err } = await runCliAsync(['local', 'nope', '-f', file], dir);
    expect(code).toBe(1);
    expect(err).toBe(`cortex local: no RealtimeAPI named "nope" in ${file}; available: hello-world, onnx-api, legacy-onnx\n`);
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

  test('a predictor type other than python is named', async () => {
    const { code, err } = await runCliAsync(['local', 'onnx-api', '-f', file], dir);
    expect(code).toBe(1);
    expect(err).toBe('cortex local: onnx-api has predictor.type onnx; cortex local runs type python predictors\n');
  });

  test('a kind: api model is named as the user wrote it', async () => {
    const { code, err } = await runCliAsync(['local', 'legacy-onnx', '-f', file], dir);
    expect(code).toBe(1);
    expect(err).toBe(
      'cortex local: legacy-onnx serves an onnx model (kind: api, onnx:); cortex local runs python modules (python.inference, predictor.path) and type python predictors\n',
    );
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
    const port = await freePort();
    child = spawn(process.execPath, [cli, 'local', 'iris-classifier', '-f', path.join(project, 'cortex.yaml'), '--port', String(port)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (d) => (output += d));
    child.stderr!.on('data', (d) => (output += d));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    await until(() => output.includes('iris-classifier is ready'), 60_000, () => output);

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
    const port = await freePort();
    child = spawn(process.execPath, [cli, 'local', 'iris-legacy', '-f', path.join(project, 'cortex.yaml'), '--port', String(port)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (d) => (output += d));
    child.stderr!.on('data', (d) => (output += d));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    await until(() => output.includes('iris-legacy is ready'), 60_000, () => output);
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
    expect(localRuntimeEnv(api, ports)).toEqual({
      CORTEX_HOST: '127.0.0.1',
      CORTEX_ADMIN_PORT: '18081',
      CORTEX_REQUEST_TIMEOUT: '2',
      CORTEX_DRAIN_TIMEOUT: '2',
    });
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
    const port = await freePort();
    child = spawn(process.execPath, [cli, 'local', 'hangs', '-f', path.join(project, 'cortex.yaml'), '--port', String(port)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (d) => (output += d));
    child.stderr!.on('data', (d) => (output += d));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    await until(() => output.includes('hangs is ready'), 60_000, () => output);
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
