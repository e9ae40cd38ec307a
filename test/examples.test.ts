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
