import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { tempDir, writeFile } from '../util';

const root = path.join(__dirname, '..', '..');
const dir = tempDir('cortex-app-');

/** Runs bin/app.ts as `npx cdk synth -c KEY=VALUE ...` would (the CLI hands the app its context in CDK_CONTEXT_JSON). */
function synth(context: Record<string, string>): { status: number | null; stderr: string } {
  const result = spawnSync(process.execPath, ['-r', 'ts-node/register/transpile-only', 'bin/app.ts'], {
    cwd: root,
    env: { ...process.env, CDK_CONTEXT_JSON: JSON.stringify(context), CDK_OUTDIR: path.join(dir, 'cdk.out') },
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { status: result.status, stderr: result.stderr };
}

describe('bin/app.ts (npx cdk synth)', () => {
  test('GIVEN -c config= naming no file (only commas and blanks) THEN it says so and exits 1, instead of a cluster without APIs', () => {
    const { status, stderr } = synth({ config: ', ,' });
    expect(stderr).toBe('-c config=", ," names no cortex.yaml: give one path, or several separated by commas\n');
    expect(status).toBe(1);
  });

  test('GIVEN an API named constructor (a construct id the constructs library refuses) THEN the problem at its line, without a stack trace', () => {
    const file = writeFile(dir, 'constructor.yaml', '- name: constructor\n  kind: RealtimeAPI\n  pod:\n    containers:\n      - {name: api, image: nginx}\n');
    const { status, stderr } = synth({ config: file });
    expect(stderr).toBe(
      `${file}:1:9: [0].name: "constructor" is reserved (API names become construct ids, and the constructs library cannot take this one); choose another name\n`,
    );
    expect(status).toBe(1);
  });
});
