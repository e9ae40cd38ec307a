import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseConfig } from '../lib/config/parse';

// docs/chaining.md's worked example: its cortex.yaml is valid, and the replica counts it states follow from the
// settings in it by the autoscaler's formula, replicas = ceil(in flight / target_in_flight), in flight = rate × time.
const doc = fs.readFileSync(path.join(__dirname, '..', 'docs', 'chaining.md'), 'utf8');
const yaml = /```yaml\n([\s\S]*?)```/.exec(doc)![1];
const config = parseConfig(yaml, 'docs/chaining.md');
const api = (name: string) => config.apis.find((a) => a.name === name)!;
const preprocess = api('preprocess');
const classifier = api('classifier');

/** What the HPA asks for, before min/max. */
const replicas = (inFlight: number, target: number) => Math.ceil(inFlight / target);

describe('docs/chaining.md', () => {
  test('GIVEN its cortex.yaml THEN it is valid, with the settings the text reasons about', () => {
    expect(preprocess.pod.maxConcurrency).toBe(16);
    expect(preprocess.pod.maxQueueLength).toBe(16);
    expect(preprocess.autoscaling.targetInFlight).toBe(8);
    expect(preprocess.networking.timeoutSeconds).toBe(10);
    expect(classifier.pod.maxConcurrency).toBe(1);
    expect(classifier.pod.maxQueueLength).toBe(2);
    expect(classifier.autoscaling.targetInFlight).toBe(0.8);
    expect(classifier.autoscaling.maxReplicas).toBe(12);
  });

  test('the stated replica counts follow from the settings', () => {
    const [p, c] = [preprocess.autoscaling.targetInFlight, classifier.autoscaling.targetInFlight];
    // At rest: 40/s; classifier 0.2 s; preprocess 0.02 s + 0.2 s.
    expect(replicas(40 * 0.2, c)).toBe(10);
    expect(replicas(40 * 0.22, p)).toBe(2);
    expect(replicas(40 * 0.22, 1)).toBe(9); // one thread per replica, target 1
    // The callee at 0.5 s.
    expect(replicas(40 * 0.5, c)).toBe(25);
    expect(replicas(40 * 0.52, p)).toBe(3);
    // The callee at its max: each replica 1 running + 2 queued; preprocess 60/s × 0.62 s + 20/s × 0.03 s.
    const classifierInFlight = classifier.autoscaling.maxReplicas * (classifier.pod.maxConcurrency + classifier.pod.maxQueueLength);
    expect(classifierInFlight).toBe(36);
    expect(replicas(classifierInFlight, c)).toBe(45);
    expect(replicas(60 * 0.62 + 20 * 0.03, p)).toBe(5);
    // A long queue: 80/s × 5 s of waiting.
    expect(replicas(80 * 5, p)).toBe(50);
    expect(preprocess.autoscaling.maxReplicas * preprocess.pod.maxConcurrency).toBe(160);
    for (const figure of ['**10**', '**2**', '**25**', '**3**', '**12**', '**5**', 'ceil(400 / 8) = 50']) {
      expect(doc).toContain(figure);
    }
  });
});
