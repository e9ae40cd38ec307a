import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as YAML from 'yaml';
import { HELLO_WORLD_YAML, runCli, tempDir, writeFile } from '../util';

const dir = tempDir();

const SPLITTER_YAML = `${HELLO_WORLD_YAML}
- name: hello-world-b
  kind: RealtimeAPI
  pod:
    containers:
      - name: api
        image: hashicorp/http-echo:1.0

- name: hello
  kind: TrafficSplitter
  apis:
    - {name: hello-world, weight: 90}
    - {name: hello-world-b, weight: 10}
`;

const BAD_YAML = `- name: iris
  kind: RealtimeAPI
  pod:
    max_concurrency: abc
    containers:
      - name: api
        image: iris:1
`;

describe('cortex (no command)', () => {
  test('prints usage and exits 2', () => {
    const { code, err } = runCli([], dir);
    expect(code).toBe(2);
    expect(err).toMatch(/Usage: cortex <command>/);
    expect(err).toMatch(/validate/);
    expect(err).toMatch(/manifests/);
  });

  test('an unknown command names it and exits 2', () => {
    const { code, err } = runCli(['deploy'], dir);
    expect(code).toBe(2);
    expect(err).toMatch(/unknown command "deploy"/);
  });

  test('--help exits 0 on stdout', () => {
    const { code, out } = runCli(['--help'], dir);
    expect(code).toBe(0);
    expect(out).toMatch(/Commands:/);
  });
});

describe('the AWS SDK notice', () => {
  const NOTICE = 'AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED';
  const dir = tempDir();
  test('GIVEN no setting THEN a command turns the SDK\'s Node-version notice off; GIVEN one THEN it is left', () => {
    const saved = process.env[NOTICE];
    try {
      delete process.env[NOTICE];
      runCli(['validate', '--help'], dir);
      expect(process.env[NOTICE]).toBe('true');
      process.env[NOTICE] = 'false';
      runCli(['validate', '--help'], dir);
      expect(process.env[NOTICE]).toBe('false');
    } finally {
      if (saved === undefined) delete process.env[NOTICE];
      else process.env[NOTICE] = saved;
    }
  });
});

describe('cortex validate', () => {
  test('GIVEN a valid file WHEN validated THEN exit 0 and a summary', () => {
    const file = writeFile(dir, 'valid/cortex.yaml', SPLITTER_YAML);
    const { code, out, err } = runCli(['validate', '-f', file], dir);
    expect(err).toBe('');
    expect(code).toBe(0);
    expect(out).toBe(`${file}: valid (2 RealtimeAPIs, 1 TrafficSplitter)\n`);
  });

  test('GIVEN an invalid file THEN exit 1 and FILE:LINE:COL: field: message, with the path as given', () => {
    writeFile(dir, 'bad/cortex.yaml', BAD_YAML);
    const { code, out, err } = runCli(['validate', '-f', 'bad/cortex.yaml'], dir);
    expect(code).toBe(1);
    expect(out).toBe('');
    expect(err).toBe('bad/cortex.yaml:4:22: iris.pod.max_concurrency: must be an integer from 1 to 30000, got "abc"\n');
  });

  test('-f defaults to cortex.yaml in the working directory', () => {
    const cwd = path.join(dir, 'default');
    writeFile(cwd, 'cortex.yaml', HELLO_WORLD_YAML);
    const { code, out } = runCli(['validate'], cwd);
    expect(code).toBe(0);
    expect(out).toMatch(/^cortex\.yaml: valid \(1 RealtimeAPI\)/);
  });

  test('a missing file is a clear message, not a crash', () => {
    const { code, err } = runCli(['validate', '-f', 'nope.yaml'], dir);
    expect(code).toBe(1);
    expect(err).toBe('nope.yaml: no such file\n');
  });

  test('a directory is refused with a hint', () => {
    const { code, err } = runCli(['validate', '-f', '.'], dir);
    expect(code).toBe(1);
    expect(err).toMatch(/^\.: is a directory; pass the cortex\.yaml file itself/);
  });

  test('an unknown flag exits 2 with the usage', () => {
    const { code, err } = runCli(['validate', '--fiel', 'x'], dir);
    expect(code).toBe(2);
    expect(err).toMatch(/cortex validate: Unknown option '--fiel'/);
    expect(err).toMatch(/Usage: cortex validate/);
  });

  test('--help', () => {
    const { code, out } = runCli(['validate', '--help'], dir);
    expect(code).toBe(0);
    expect(out).toMatch(/PATH:LINE:COL/);
  });
});

describe('cortex manifests', () => {
  test('GIVEN apis and a splitter WHEN -o DIR THEN one multi-document file per API and splitter', () => {
    const file = writeFile(dir, 'm1/cortex.yaml', SPLITTER_YAML);
    const out = path.join(dir, 'm1/out');
    const result = runCli(['manifests', '-f', file, '-o', out, '--proxy-image', 'example.com/proxy:1'], dir);
    expect(result.err).toBe('');
    expect(result.code).toBe(0);
    expect(fs.readdirSync(out).sort()).toEqual(['hello-world-b.yaml', 'hello-world.yaml', 'hello.yaml']);

    const api = YAML.parseAllDocuments(fs.readFileSync(path.join(out, 'hello-world.yaml'), 'utf8')).map((d) => d.toJS());
    const kinds = api.map((o) => o.kind);
    expect(kinds).toEqual(expect.arrayContaining(['Deployment', 'Service', 'VirtualService', 'ScaledObject', 'PodDisruptionBudget', 'NetworkPolicy']));
    for (const o of api) expect(o.metadata.namespace).toBe('cortex');
    const splitter = YAML.parseAllDocuments(fs.readFileSync(path.join(out, 'hello.yaml'), 'utf8')).map((d) => d.toJS());
    expect(splitter.map((o) => o.kind)).toEqual(['VirtualService']);
    expect(result.out).toMatch(/hello-world\.yaml {2}\(RealtimeAPI, \d+ objects\)/);
  });

  test('without -o the YAML goes to stdout', () => {
    const file = writeFile(dir, 'm2/cortex.yaml', HELLO_WORLD_YAML);
    const { code, out } = runCli(['manifests', '-f', file], dir);
    expect(code).toBe(0);
    const docs = YAML.parseAllDocuments(out).map((d) => d.toJS());
    const deployment = docs.find((o) => o.kind === 'Deployment');
    expect(deployment.metadata.name).toBe('hello-world');
  });

  test('GIVEN no --proxy-image THEN the placeholder image is named on stderr and in a comment atop each file that has it', () => {
    const file = writeFile(dir, 'm7/cortex.yaml', SPLITTER_YAML);
    const out = path.join(dir, 'm7/out');
    const { code, err } = runCli(['manifests', '-f', file, '-o', out], dir);
    expect(code).toBe(0);
    expect(err).toBe(
      'cortex manifests: note: image cortex-cdk/proxy:placeholder is a placeholder that no registry has; it stands for ' +
        "the proxy sidecar's image: build it from images/proxy of the cortex-cdk package (docker build -t REGISTRY/cortex-proxy:TAG " +
        'images/proxy), push it, and pass --proxy-image REGISTRY/cortex-proxy:TAG\n',
    );
    expect(fs.readFileSync(path.join(out, 'hello-world.yaml'), 'utf8')).toMatch(
      /^# Not deployable as is: cortex-cdk\/proxy:placeholder is a placeholder image \(see cortex manifests --help\)\.\napiVersion: /,
    );
    // A splitter has no pods, so no image and no comment.
    expect(fs.readFileSync(path.join(out, 'hello.yaml'), 'utf8')).toMatch(/^apiVersion: /);
  });

  test('GIVEN a predictor API without --predictor-image THEN its placeholder is named too', () => {
    const file = writeFile(dir, 'm8/cortex.yaml', '- name: iris\n  kind: RealtimeAPI\n  predictor:\n    type: python\n    path: predictor.py\n');
    writeFile(dir, 'm8/predictor.py', 'class PythonPredictor:\n    pass\n');
    const { code, err, out } = runCli(['manifests', '-f', file, '--proxy-image', 'example.com/proxy:1'], dir);
    expect(code).toBe(0);
    expect(err).toMatch(/^cortex manifests: note: image cortex-cdk\/python-predictor:placeholder is a placeholder .*--predictor-image IMAGE\n$/);
    expect(out).toMatch(/^# Not deployable as is: cortex-cdk\/python-predictor:placeholder/);
  });

  test('--namespace and --proxy-image reach the objects', () => {
    const file = writeFile(dir, 'm3/cortex.yaml', HELLO_WORLD_YAML);
    const { code, out } = runCli(['manifests', '-f', file, '-n', 'models', '--proxy-image', 'example.com/proxy:1'], dir);
    expect(code).toBe(0);
    const docs = YAML.parseAllDocuments(out).map((d) => d.toJS());
    for (const o of docs) expect(o.metadata.namespace).toBe('models');
    const deployment = docs.find((o) => o.kind === 'Deployment');
    const proxy = deployment.spec.template.spec.containers.find((c: { name: string }) => c.name === 'proxy');
    expect(proxy.image).toBe('example.com/proxy:1');
  });

  test('GIVEN a scale-to-zero API and a splitter over it WHEN --no-cold-start (a cluster without the KEDA HTTP add-on) THEN routes go to the Service, no InterceptorRoute', () => {
    const yaml = HELLO_WORLD_YAML + '  autoscaling: {min_replicas: 0}\n' + '- name: split\n  kind: TrafficSplitter\n  apis:\n    - {name: hello-world, weight: 100}\n';
    expect(yaml).toContain('min_replicas: 0');
    const file = writeFile(dir, 'm5/cortex.yaml', yaml);
    const kinds = (args: string[]) => {
      const { code, out } = runCli(['manifests', '-f', file, ...args], dir);
      expect(code).toBe(0);
      const docs = YAML.parseAllDocuments(out).map((d) => d.toJS());
      const hosts = docs.filter((o) => o.kind === 'VirtualService').flatMap((vs) => vs.spec.http[0].route.map((r: { destination: { host: string } }) => r.destination.host));
      return { kinds: docs.map((o) => o.kind), hosts };
    };
    expect(kinds([]).kinds).toContain('InterceptorRoute');
    const direct = kinds(['--no-cold-start']);
    expect(direct.kinds).not.toContain('InterceptorRoute');
    expect(direct.hosts).toEqual(['hello-world.cortex.svc.cluster.local', 'hello-world.cortex.svc.cluster.local']);
  });

  test('GIVEN an invalid config THEN nothing is written', () => {
    const file = writeFile(dir, 'm4/cortex.yaml', BAD_YAML);
    const out = path.join(dir, 'm4/out');
    const { code, err } = runCli(['manifests', '-f', file, '-o', out], dir);
    expect(code).toBe(1);
    expect(err).toMatch(/iris\.pod\.max_concurrency/);
    expect(fs.existsSync(out)).toBe(false);
  });

  test.each([
    ['a file', 'm6/taken', /^cortex manifests: -o .*taken: cannot write there: .*taken is a file, not a directory\n$/],
    ['a path through a file', 'm6/taken/out', /^cortex manifests: -o .*taken\/out: cannot write there: a part of .*taken\/out is a file, not a directory\n$/],
  ])('GIVEN -o naming %s WHEN rendering THEN it says so and exits 1, without a stack trace', (_, output, message) => {
    const file = writeFile(dir, 'm6/cortex.yaml', HELLO_WORLD_YAML);
    writeFile(dir, 'm6/taken', 'not a directory');
    const { code, err } = runCli(['manifests', '-f', file, '-o', path.join(dir, output)], dir);
    expect(err).toMatch(message);
    expect(code).toBe(1);
  });

  test('GIVEN a bad namespace option THEN a clear error and nothing is written', () => {
    const file = writeFile(dir, 'm5/cortex.yaml', HELLO_WORLD_YAML);
    const out = path.join(dir, 'm5/out');
    const { code, err } = runCli(['manifests', '-f', file, '-o', out, '-n', 'Not_A_Namespace'], dir);
    expect(code).toBe(1);
    expect(err).toMatch(/^cortex manifests: .*namespace.*Not_A_Namespace/);
    expect(fs.existsSync(out)).toBe(false);
  });
});

describe('the built CLI as a real process', () => {
  const cli = path.join(__dirname, '..', '..', 'dist', 'bin', 'cortex.js');

  test('validate: exit 0 when valid, 1 with the problem lines when not', () => {
    const good = writeFile(dir, 'p/good.yaml', HELLO_WORLD_YAML);
    expect(execFileSync(process.execPath, [cli, 'validate', '-f', good]).toString()).toMatch(/valid/);
    const bad = writeFile(dir, 'p/bad.yaml', BAD_YAML);
    const result = spawnSync(process.execPath, [cli, 'validate', '-f', bad]);
    expect(result.status).toBe(1);
    expect(result.stderr.toString()).toBe(`${bad}:4:22: iris.pod.max_concurrency: must be an integer from 1 to 30000, got "abc"\n`);
  });

  test('manifests: GIVEN -o under a directory that refuses new entries with ENOENT (/proc) THEN it fails at once rather than hanging', () => {
    // A process of its own, with a timeout: Node's recursive mkdirSync loops there forever, in-process it would stall the suite.
    const file = writeFile(dir, 'p/hello.yaml', HELLO_WORLD_YAML);
    const result = spawnSync(process.execPath, [cli, 'manifests', '-f', file, '-o', '/proc/cortex-manifests'], { timeout: 20_000 });
    expect(result.signal).toBeNull();
    expect(result.stderr.toString()).toMatch(/^cortex manifests: -o \/proc\/cortex-manifests: cannot write there: /);
    expect(result.status).toBe(1);
  });

  test('validate does not load cdk8s or aws-cdk-lib', () => {
    const good = writeFile(dir, 'p/good2.yaml', HELLO_WORLD_YAML);
    const probe = `require(${JSON.stringify(cli)}).run(['validate','-f',${JSON.stringify(good)}]);
      const loaded = Object.keys(require.cache).filter((k) => /node_modules[\\\\/](cdk8s|aws-cdk-lib)/.test(k));
      process.stdout.write(JSON.stringify(loaded));`;
    const loaded = JSON.parse(execFileSync(process.execPath, ['-e', probe]).toString().replace(/^.*valid.*\n/, ''));
    expect(loaded).toEqual([]);
  });
});
