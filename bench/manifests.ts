// Benchmark: `cortex validate` and `cortex manifests` on a generated cortex.yaml of many APIs,
// end to end (a real `node dist/bin/cortex.js` process, startup included).
//
//   npm run build && node dist/bench/manifests.js [APIS=1000] [RUNS=3]
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const apiCount = Number(process.argv[2] ?? 1000);
const runs = Number(process.argv[3] ?? 3);
const cli = path.join(__dirname, '..', 'bin', 'cortex.js');

/** A mix like a real fleet: small CPU APIs, multi-container, GPU, Inferentia, Python predictors, splitters. */
export function generateConfig(apis: number): string {
  const entries: string[] = [];
  for (let i = 0; i < apis; i++) {
    const name = `api-${String(i).padStart(4, '0')}`;
    switch (i % 5) {
      case 0:
      case 1:
        entries.push(`- name: ${name}
  kind: RealtimeAPI
  pod:
    port: 8080
    max_concurrency: ${1 + (i % 8)}
    containers:
      - name: api
        image: registry.example.com/models/${name}:v${i % 7}
        env: {MODEL: "${name}", THREADS: "4"}
        readiness_probe: {http_get: {path: /healthz, port: 8080}}
        compute: {cpu: 500m, mem: 1Gi}
  autoscaling: {min_replicas: 1, max_replicas: 20, target_in_flight: 2}`);
        break;
      case 2:
        entries.push(`- name: ${name}
  kind: RealtimeAPI
  pod:
    port: 9000
    max_concurrency: 8
    containers:
      - name: web
        image: registry.example.com/web:1
        readiness_probe: {tcp_socket: {port: 9000}}
      - name: tfs
        image: registry.example.com/tfs:2
        readiness_probe: {exec: {command: [probe, -model, x]}}
        compute: {cpu: 1, mem: 2G, gpu: 1, shm: 1G}
  node_groups: [gpu]`);
        break;
      case 3:
        entries.push(`- name: ${name}
  kind: RealtimeAPI
  pod:
    containers:
      - name: api
        image: registry.example.com/neuron:1
        compute: {inf: 1, cpu: 2, mem: 4Gi}`);
        break;
      default:
        entries.push(`- name: ${name}
  kind: RealtimeAPI
  predictor:
    type: python
    path: predictor.py
    config: {model: s3://bucket/${name}/model.pkl}
    server_side_batching: {max_batch_size: 8, batch_interval: 0.1s}
    threads_per_process: 8
  compute: {cpu: 1, mem: 2Gi}`);
    }
  }
  for (let i = 0; i + 1 < apis && i < 200; i += 2) {
    entries.push(`- name: split-${String(i).padStart(4, '0')}
  kind: TrafficSplitter
  apis:
    - {name: api-${String(i).padStart(4, '0')}, weight: 80}
    - {name: api-${String(i + 1).padStart(4, '0')}, weight: 20}`);
  }
  return entries.join('\n\n') + '\n';
}

function timeCommand(argv: string[]): number {
  const start = process.hrtime.bigint();
  execFileSync(process.execPath, [cli, ...argv], { stdio: ['ignore', 'ignore', 'inherit'], maxBuffer: 1 << 30 });
  return Number(process.hrtime.bigint() - start) / 1e9;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function main(): void {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cortex-bench-'));
  const file = path.join(dir, 'cortex.yaml');
  const yaml = generateConfig(apiCount);
  fs.writeFileSync(file, yaml);
  const out = path.join(dir, 'out');
  const validate: number[] = [];
  const manifests: number[] = [];
  for (let r = 0; r < runs; r++) {
    validate.push(timeCommand(['validate', '-f', file]));
    fs.rmSync(out, { recursive: true, force: true });
    manifests.push(timeCommand(['manifests', '-f', file, '-o', out]));
  }
  const written = fs.readdirSync(out);
  const bytes = written.reduce((n, f) => n + fs.statSync(path.join(out, f)).size, 0);
  const objects = written.reduce((n, f) => n + fs.readFileSync(path.join(out, f), 'utf8').split(/^---$/m).length, 0);
  fs.rmSync(dir, { recursive: true, force: true });

  console.log(`config: ${apiCount} APIs + ${Math.min(100, Math.floor(apiCount / 2))} splitters, ${(yaml.length / 1024).toFixed(0)} KiB of YAML`);
  console.log(`cortex validate:  median ${median(validate).toFixed(2)} s  (runs: ${validate.map((t) => t.toFixed(2)).join(', ')})`);
  console.log(`cortex manifests: median ${median(manifests).toFixed(2)} s  (runs: ${manifests.map((t) => t.toFixed(2)).join(', ')})`);
  console.log(`output: ${written.length} files, ${objects} objects, ${(bytes / 1024 / 1024).toFixed(1)} MiB`);
  console.log(`machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, node ${process.version}`);
}

if (require.main === module) {
  main();
}
