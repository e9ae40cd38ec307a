import * as fs from 'node:fs';
import * as path from 'node:path';
import { runCli } from './util';

// The README shows an example cortex.yaml and what `cortex manifests` prints for it: keep both true.
const root = path.join(__dirname, '..');
const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');

function yamlBlockAfter(marker: string): string {
  const start = readme.indexOf(marker);
  expect(start).toBeGreaterThanOrEqual(0);
  const match = /```yaml\n([\s\S]*?)```/.exec(readme.slice(start));
  return match![1];
}

describe('README', () => {
  test('the example cortex.yaml is examples/hello-world/cortex.yaml', () => {
    expect(yamlBlockAfter('## A cortex.yaml and what')).toBe(fs.readFileSync(path.join(root, 'examples/hello-world/cortex.yaml'), 'utf8'));
  });

  test('the output shown is what cortex manifests prints for it today', () => {
    const { code, out } = runCli(['manifests', '-f', 'examples/hello-world/cortex.yaml'], root);
    expect(code).toBe(0);
    expect(yamlBlockAfter('<summary>The full output</summary>')).toBe(out);
  });

  test('the two commands stand at the top', () => {
    const top = readme.split('\n').slice(0, 12).join('\n');
    expect(top).toContain('npm ci && npx cdk synth');
    expect(top).toContain('npm test');
  });
});
