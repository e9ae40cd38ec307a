/**
 * Synth scale: how long `cdk synth` takes for a cortex.yaml of 1, 100 and 1,000 RealtimeAPIs (plus a
 * TrafficSplitter per 10 APIs), and how close the largest template comes to CloudFormation's limits
 * (1,000,000 bytes, 500 resources, 200 outputs). The stack is the whole deployment (`CortexStack`: the
 * cluster with its node groups, the platform add-ons, and `CortexApis` with its defaults, 32 API stacks).
 *
 *   npm run build && node dist/bench/synth.js [COUNTS...]     e.g. node dist/bench/synth.js 1 100 1000
 *
 * Offline, no Docker: image assets are only staged.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as cdk from 'aws-cdk-lib';
import { configFromObject } from '../lib/config';
import { CortexStack } from '../lib/cortex-stack';

/** A generated cortex.yaml (as objects): varied container-form APIs, one in ten predictor-form, splitters over pairs. */
export function generatedConfig(apiCount: number, splitterCount: number): unknown[] {
  const apis = Array.from({ length: apiCount }, (_, i) => {
    const name = `api-${String(i).padStart(4, '0')}`;
    if (i % 10 === 9) {
      return { name, kind: 'RealtimeAPI', predictor: { type: 'python', path: 'predictor.py', config: { model: `s3://models/${name}` } } };
    }
    return {
      name,
      kind: 'RealtimeAPI',
      pod: {
        port: 8080,
        max_concurrency: 1 + (i % 8),
        containers: [
          {
            name: 'api',
            image: `123456789012.dkr.ecr.us-east-1.amazonaws.com/models/${name}:1.${i}`,
            env: { MODEL: name, LOG_LEVEL: 'info' },
            compute: { cpu: '500m', mem: '1Gi', gpu: i % 5 === 0 ? 1 : 0 },
            readiness_probe: { http_get: { path: '/healthz', port: 8080 } },
          },
        ],
      },
      autoscaling: { min_replicas: 1, max_replicas: 10 + (i % 20) },
    };
  });
  const splitters = Array.from({ length: splitterCount }, (_, i) => ({
    name: `split-${String(i).padStart(3, '0')}`,
    kind: 'TrafficSplitter',
    apis: [
      { name: apis[(2 * i) % apiCount].name, weight: 80 },
      { name: apis[(2 * i + 1) % apiCount].name, weight: 20 },
    ],
  }));
  return [...apis, ...splitters];
}

interface TemplateFigures {
  readonly file: string;
  readonly bytes: number;
  readonly resources: number;
  readonly outputs: number;
  readonly parameters: number;
}

function templateFigures(outdir: string): TemplateFigures[] {
  return fs
    .readdirSync(outdir)
    .filter((f) => f.endsWith('.template.json'))
    .map((file) => {
      const text = fs.readFileSync(path.join(outdir, file), 'utf8');
      const template = JSON.parse(text);
      return {
        file,
        bytes: Buffer.byteLength(text),
        resources: Object.keys(template.Resources ?? {}).length,
        outputs: Object.keys(template.Outputs ?? {}).length,
        parameters: Object.keys(template.Parameters ?? {}).length,
      };
    });
}

function run(apiCount: number, projectDir: string, print = true): void {
  const splitterCount = Math.floor(apiCount / 10);
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'cortex-bench-synth-'));
  try {
    const start = process.hrtime.bigint();
    const config = configFromObject(generatedConfig(apiCount, splitterCount), path.join(projectDir, 'cortex.yaml'));
    const app = new cdk.App({ outdir });
    // The whole deployment, as bin/app.ts builds it: cluster with CPU/GPU/Neuron groups, platform, APIs.
    const { apis } = new CortexStack(app, 'CortexBench', { config });
    const constructed = process.hrtime.bigint();
    app.synth();
    const end = process.hrtime.bigint();

    const templates = templateFigures(outdir);
    const largest = templates.reduce((a, b) => (b.bytes > a.bytes ? b : a));
    const mostResources = templates.reduce((a, b) => (b.resources > a.resources ? b : a));
    const seconds = (from: bigint, to: bigint) => (Number(to - from) / 1e9).toFixed(1);
    if (!print) return;
    console.log(
      [
        `${String(apiCount).padStart(5)} APIs + ${String(splitterCount).padStart(3)} splitters:`,
        `synth ${seconds(start, end)} s (construct ${seconds(start, constructed)} s, synthesize ${seconds(constructed, end)} s);`,
        `${apis.stacks.length} nested stacks;`,
        `largest template ${largest.bytes.toLocaleString('en-US')} bytes (${largest.file}, ${largest.resources} resources);`,
        `most resources ${mostResources.resources} (${mostResources.file});`,
        `outputs max ${Math.max(...templates.map((t) => t.outputs))}`,
      ].join(' '),
    );
  } finally {
    fs.rmSync(outdir, { recursive: true, force: true });
  }
}

function main(): void {
  const counts = process.argv.slice(2).map(Number);
  const projectDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cortex-bench-project-'));
  fs.writeFileSync(path.join(projectDir, 'predictor.py'), 'class PythonPredictor:\n    pass\n');
  try {
    // Once, unreported: the process's first synth stages the kubectl layer (37 MB), later ones reuse it.
    run(1, projectDir, false);
    for (const count of counts.length > 0 ? counts : [1, 100, 1000]) {
      run(count, projectDir);
    }
  } finally {
    fs.rmSync(projectDir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  main();
}
