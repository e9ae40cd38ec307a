import * as fs from 'node:fs';
import * as path from 'node:path';
import { configCharts } from '../constructs';
import { loadConfigFile } from '../lib/config';
import { validateObjects } from './schema/validate';

// Every example is something a user copies: it must load, render, pass the schemas, and come with
// what its README promises (a sample request).
const examplesDir = path.join(__dirname, '..', 'examples');
const examples = fs.readdirSync(examplesDir).filter((d) => fs.existsSync(path.join(examplesDir, d, 'cortex.yaml')));

describe('examples', () => {
  test('there are the examples the README lists', () => {
    expect(examples.sort()).toEqual(
      [
        'batching',
        'hello-world',
        'inferentia-classifier',
        'iris-classifier',
        'legacy-iris',
        'multi-container',
        'multi-model',
        'text-generator-gpu',
        'token-stream',
        'traffic-splitter',
        'vllm-openai-gpu',
      ].sort(),
    );
  });

  test.each(examples)('%s: loads, and renders objects that pass the Kubernetes, Istio and KEDA schemas', (example) => {
    const config = loadConfigFile(path.join(examplesDir, example, 'cortex.yaml'));
    const objects = configCharts(config).flatMap((chart) => chart.toJson());
    expect(objects.length).toBeGreaterThan(0);
    expect(validateObjects(objects)).toEqual([]);
  });

  test.each(examples)('%s: has a README and a JSON sample request', (example) => {
    expect(fs.existsSync(path.join(examplesDir, example, 'README.md'))).toBe(true);
    expect(() => JSON.parse(fs.readFileSync(path.join(examplesDir, example, 'sample.json'), 'utf8'))).not.toThrow();
  });

  test('API names are unique across the examples, so all of them deploy side by side', () => {
    const names = examples.flatMap((e) => loadConfigFile(path.join(examplesDir, e, 'cortex.yaml')).specs.map((s) => s.name));
    expect(new Set(names).size).toBe(names.length);
  });

  test('predictor-form examples have their predictor file beside the cortex.yaml', () => {
    for (const example of examples) {
      for (const api of loadConfigFile(path.join(examplesDir, example, 'cortex.yaml')).apis) {
        if (api.predictor?.path !== undefined) expect(fs.existsSync(path.join(examplesDir, example, api.predictor.path))).toBe(true);
      }
    }
  });
});

describe('examples/vllm-openai-gpu: what a streaming OpenAI-compatible server on a GPU needs', () => {
  type Json = Record<string, any>;
  let objects: Json[];
  let vllm: Json;
  let pod: Json;
  beforeAll(() => {
    const config = loadConfigFile(path.join(examplesDir, 'vllm-openai-gpu', 'cortex.yaml'));
    objects = configCharts(config).flatMap((chart) => chart.toJson());
    pod = objects.find((o) => o.kind === 'Deployment')!.spec.template.spec;
    vllm = pod.containers.find((c: Json) => c.name === 'vllm');
  });
  const flag = (name: string) => vllm.args[vllm.args.indexOf(name) + 1];

  test('THEN /dev/shm is a memory-backed volume of 2Gi, mounted in the vLLM container', () => {
    const mount = vllm.volumeMounts.find((m: Json) => m.mountPath === '/dev/shm');
    expect(pod.volumes.find((v: Json) => v.name === mount.name)).toEqual({ name: mount.name, emptyDir: { medium: 'Memory', sizeLimit: '2Gi' } });
  });

  test('THEN the probes ask /health on the server port: a startup probe for the long load, short readiness and liveness after it', () => {
    for (const probe of [vllm.startupProbe, vllm.readinessProbe, vllm.livenessProbe]) expect(probe.httpGet).toEqual({ path: '/health', port: 8080 });
    expect(vllm.startupProbe.periodSeconds * vllm.startupProbe.failureThreshold).toBeGreaterThanOrEqual(600);
    expect(vllm.readinessProbe.periodSeconds * vllm.readinessProbe.failureThreshold).toBeLessThanOrEqual(30);
    expect(flag('--port')).toBe('8080');
  });

  test('THEN the gateway waits 600s for a whole stream, and the pod drains that long before it is killed', () => {
    expect(objects.find((o) => o.kind === 'VirtualService')!.spec.http[0].timeout).toBe('600s');
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(600);
    expect(vllm.lifecycle.preStop.exec.command[0]).toBe('python3');
  });

  test('THEN the proxy lets in exactly a full vLLM batch (--max-num-seqs), and the autoscaler aims below it', () => {
    const proxyArgs: string[] = pod.containers.find((c: Json) => c.name === 'proxy').args;
    expect(proxyArgs[proxyArgs.indexOf('--max-concurrency') + 1]).toBe(flag('--max-num-seqs'));
    const threshold = Number(objects.find((o) => o.kind === 'ScaledObject')!.spec.triggers[0].metadata.threshold);
    expect(threshold).toBeLessThan(Number(flag('--max-num-seqs')));
  });
});
