#!/usr/bin/env node
/**
 * The package as a user installs it: `npm pack`, a new CDK app in an empty temporary folder (its own
 * package.json; aws-cdk-lib, constructs and the CDK CLI from the registry; nothing from this checkout but the
 * tarball), then from there:
 *
 *   npx cortex validate / manifests     on a predictor API written into the app (validate: a cluster.yaml too)
 *   npx cortex-proxy --help
 *   npx cortex local                    the predictor answers a request through the proxy (needs Debian's
 *                                       python3-starlette, -uvicorn, -multipart; `.ci/run` installs them)
 *   npx cdk synth                       a stack with CortexCluster, addPlatform and CortexApis (docs/importing.md)
 *
 * Fails (exit 1) when any step fails, or when the install prints a warning about the package itself.
 *
 *   npm run test:package [-- --keep]     (--keep leaves the temporary folder for a look)
 *
 * Uses the npm registry for the app's dependencies; everything it starts listens on 127.0.0.1 and is stopped.
 */
'use strict';
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const pkg = require(path.join(ROOT, 'package.json'));
const keep = process.argv.includes('--keep');

/** The app's own dependencies, at the versions this project is tested with. */
function appDependencies() {
  const pinned = { ...pkg.dependencies, ...pkg.devDependencies };
  const deps = {};
  for (const name of ['aws-cdk-lib', 'constructs', 'aws-cdk']) {
    if (!pinned[name]) throw new Error(`package.json pins no version of ${name} (the app gets the version the tests use)`);
    deps[name] = pinned[name];
  }
  return deps;
}

const PREDICTOR = `class PythonPredictor:
    def __init__(self, config):
        self.greeting = config["greeting"]

    def predict(self, payload):
        return {"message": f"{self.greeting}, {payload['name']}"}
`;

const CORTEX_YAML = `- name: greeter
  kind: RealtimeAPI
  predictor:
    type: python
    path: predictor.py
    config:
      greeting: hello
  compute:
    cpu: 100m
    mem: 128Mi
`;

const CLUSTER_YAML = `cluster_name: models
region: us-east-1
node_groups:
  - name: cpu
    instance_type: m6i.large
api_load_balancer_cidr_white_list: [203.0.113.0/24]
`;

const APP = `const cdk = require('aws-cdk-lib');
const { CortexApis, CortexCluster } = require('cortex-cdk');

const app = new cdk.App();
// Environment-agnostic, so synth needs no AWS account or lookups.
const stack = new cdk.Stack(app, 'Models');
const cortex = new CortexCluster(stack, 'Cluster');
const platform = cortex.addPlatform();
CortexApis.fromConfigFile(stack, 'Apis', 'cortex.yaml', { cluster: cortex.cluster, platform });
`;

let failures = 0;
const children = new Set();

function step(name, fn) {
  const started = Date.now();
  return Promise.resolve()
    .then(fn)
    .then(
      () => console.log(`ok   ${name} (${((Date.now() - started) / 1000).toFixed(1)} s)`),
      (error) => {
        failures++;
        console.log(`FAIL ${name}: ${error.message}`);
      },
    );
}

/** Runs a command to its end; throws with its output when it fails. */
function run(cwd, command, args, options = {}) {
  const result = spawnSync(command, args, {
    cwd,
    encoding: 'utf8',
    timeout: options.timeoutMs ?? 300_000,
    env: { ...process.env, ...(options.env ?? {}) },
    maxBuffer: 64 * 1024 * 1024,
  });
  const output = `${result.stdout ?? ''}${result.stderr ?? ''}`;
  if (result.error) throw new Error(`${command} ${args.join(' ')}: ${result.error.message}\n${output}`);
  if (result.status !== (options.expectStatus ?? 0)) {
    throw new Error(`${command} ${args.join(' ')} exited ${result.status ?? result.signal}:\n${output.slice(-4000)}`);
  }
  return output;
}

function post(port, body) {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, path: '/', method: 'POST', headers: { 'content-type': 'application/json' }, timeout: 10_000 },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode, body: text }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('no answer within 10 s')));
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

/** `npx cortex local`, until it says ready; one request; then SIGINT and a clean exit. */
async function cortexLocal(appDir) {
  // --port 0: the proxy takes a free port and the ready line names it (a port picked here could be taken meanwhile).
  const child = spawn('npx', ['--no-install', 'cortex', 'local', 'greeter', '-f', 'cortex.yaml', '--port', '0'], {
    cwd: appDir,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  children.add(child);
  let output = '';
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve(signal ?? code)));
  const ready = new Promise((resolve, reject) => {
    const onData = (data) => {
      output += data;
      const line = /greeter is ready: curl -X POST http:\/\/127\.0\.0\.1:(\d+)\//.exec(output);
      if (line) resolve(Number(line[1]));
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    exited.then((code) => reject(new Error(`cortex local exited (${code}) before it was ready:\n${output}`)));
    setTimeout(() => reject(new Error(`not ready within 120 s:\n${output}`)), 120_000).unref();
  });
  try {
    const port = await ready;
    const response = await post(port, { name: 'world' });
    if (response.status !== 200 || JSON.parse(response.body).message !== 'hello, world') {
      throw new Error(`expected 200 {"message":"hello, world"}, got ${response.status} ${response.body}`);
    }
  } finally {
    // npx runs cortex in a child of its own: signal the whole group.
    try {
      process.kill(-child.pid, 'SIGINT');
    } catch {
      // already gone
    }
    const code = await Promise.race([exited, new Promise((r) => setTimeout(() => r('still running after 20 s'), 20_000))]);
    children.delete(child);
    // npm exec passes the signal on and then ends by the same signal itself.
    if (code !== 0 && code !== 'SIGINT') {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
      throw new Error(`cortex local did not stop cleanly on SIGINT (${code}):\n${output}`);
    }
  }
}

async function main() {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'cortex-cdk-package-'));
  const appDir = path.join(work, 'app');
  fs.mkdirSync(appDir);
  let tarball;
  try {
    await step('npm pack', () => {
      // `npm run test:package` builds dist/ first; packing must not print build output into the JSON.
      if (!fs.existsSync(path.join(ROOT, pkg.bin.cortex))) throw new Error(`${pkg.bin.cortex} is missing: run npm run build first`);
      const out = run(ROOT, 'npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', work]);
      tarball = path.join(work, JSON.parse(out).at(-1).filename);
    });
    if (!tarball) return;

    let installed = false;
    await step('npm install (the tarball into a new CDK app)', () => {
      fs.writeFileSync(
        path.join(appDir, 'package.json'),
        JSON.stringify({ name: 'my-models', version: '1.0.0', private: true, dependencies: appDependencies() }, null, 2),
      );
      const out = run(appDir, 'npm', ['install', '--no-audit', '--no-fund', '--save-exact', tarball]);
      fs.writeFileSync(path.join(appDir, 'predictor.py'), PREDICTOR);
      fs.writeFileSync(path.join(appDir, 'cortex.yaml'), CORTEX_YAML);
      fs.writeFileSync(path.join(appDir, 'app.js'), APP);
      fs.writeFileSync(path.join(appDir, 'cdk.json'), JSON.stringify({ app: 'node app.js' }, null, 2));
      installed = true;
      // What a user sees on every install: no warning about this package or its dependencies.
      const warnings = out.split('\n').filter((line) => /^npm (warn|WARN)/.test(line));
      if (warnings.length > 0) throw new Error(`the install printed warnings:\n${warnings.join('\n')}`);
    });
    if (!installed) return;

    await step('npx cortex validate', () => {
      const out = run(appDir, 'npx', ['--no-install', 'cortex', 'validate', '-f', 'cortex.yaml']);
      if (!out.includes('valid')) throw new Error(`expected "valid", got:\n${out}`);
      fs.writeFileSync(path.join(appDir, 'bad.yaml'), CORTEX_YAML.replace('mem: 128Mi', 'mem: lots'));
      const bad = run(appDir, 'npx', ['--no-install', 'cortex', 'validate', '-f', 'bad.yaml'], { expectStatus: 1 });
      if (!/bad\.yaml:\d+:\d+: greeter\.compute\.mem/.test(bad)) throw new Error(`expected a FILE:LINE:COL problem, got:\n${bad}`);
      // Cortex's cluster.yaml too: recognised by its keys, checked without aws-cdk-lib, a secret never echoed.
      fs.writeFileSync(path.join(appDir, 'cluster.yaml'), CLUSTER_YAML);
      const cluster = run(appDir, 'npx', ['--no-install', 'cortex', 'validate', '-f', 'cluster.yaml']);
      if (!cluster.includes('valid')) throw new Error(`expected cluster.yaml "valid", got:\n${cluster}`);
      fs.writeFileSync(path.join(appDir, 'bad-cluster.yaml'), `${CLUSTER_YAML}aws_secret_access_key: not-to-be-shown\n`);
      const badCluster = run(appDir, 'npx', ['--no-install', 'cortex', 'validate', '-f', 'bad-cluster.yaml'], { expectStatus: 1 });
      if (!/bad-cluster\.yaml:\d+:\d+: aws_secret_access_key/.test(badCluster) || badCluster.includes('not-to-be-shown')) {
        throw new Error(`expected the credentials key refused at its line, without its value, got:\n${badCluster}`);
      }
    });

    await step('npx cortex manifests', () => {
      run(appDir, 'npx', ['--no-install', 'cortex', 'manifests', '-f', 'cortex.yaml', '-o', 'manifests']);
      const text = fs.readFileSync(path.join(appDir, 'manifests', 'greeter.yaml'), 'utf8');
      for (const kind of ['Deployment', 'Service', 'VirtualService', 'ScaledObject']) {
        if (!text.includes(`kind: ${kind}`)) throw new Error(`manifests/greeter.yaml has no ${kind}`);
      }
    });

    await step('npx cortex-proxy --help', () => {
      const out = run(appDir, 'npx', ['--no-install', 'cortex-proxy', '--help']);
      if (!out.includes('--max-concurrency')) throw new Error(`unexpected help:\n${out}`);
    });

    await step('npx cortex local (a Python predictor answers through the proxy)', () => cortexLocal(appDir));

    await step('npx cdk synth (CortexCluster, addPlatform, CortexApis)', () => {
      run(appDir, 'npx', ['--no-install', 'cdk', 'synth', '--quiet'], { env: { CDK_DISABLE_VERSION_CHECK: '1' } });
      const template = JSON.parse(fs.readFileSync(path.join(appDir, 'cdk.out', 'Models.template.json'), 'utf8'));
      const types = new Set(Object.values(template.Resources).map((r) => r.Type));
      for (const type of ['AWS::EKS::Cluster', 'AWS::EKS::Nodegroup']) {
        if (!types.has(type)) throw new Error(`Models.template.json has no ${type}`);
      }
    });
  } finally {
    for (const child of children) {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    if (keep) console.log(`left in ${work}`);
    else fs.rmSync(work, { recursive: true, force: true });
  }
  console.log(failures === 0 ? 'the packaged install works' : `${failures} step(s) failed`);
  process.exitCode = failures === 0 ? 0 : 1;
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
