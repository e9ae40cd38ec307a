import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { validateClusterConfig } from '../lib/cluster-config';
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

  test("the secure setup's cluster.yaml is valid, with TLS, the allow-lists and no other note", () => {
    const result = validateClusterConfig(yamlBlockAfter('**The secure setup**'), 'cluster.yaml');
    expect(result.problems).toEqual([]);
    expect(result.notes).toEqual([]);
    expect(result.config?.spec.sslCertificateArn).toMatch(/^arn:aws:acm:us-east-1:/);
  });

  test("the secure setup's API with keys is a valid cortex.yaml next to the iris example's predictor", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'readme-secure-'));
    try {
      fs.cpSync(path.join(root, 'examples/iris-classifier'), dir, { recursive: true });
      fs.writeFileSync(path.join(dir, 'cortex.yaml'), yamlBlockAfter('An API then asks for keys'));
      const { code, out, err } = runCli(['validate', '-f', path.join(dir, 'cortex.yaml')], root);
      expect({ code, err }).toEqual({ code: 0, err: '' });
      expect(out).toContain(': valid (1 RealtimeAPI)');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the two commands stand at the top', () => {
    const top = readme.split('\n').slice(0, 12).join('\n');
    expect(top).toContain('npm ci && npx cdk synth');
    expect(top).toContain('npm test');
  });
});
