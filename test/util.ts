import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { run } from '../bin/cortex';

/** A fresh temporary directory, removed after the current test file. */
export function tempDir(prefix = 'cortex-test-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Writes `text` as `name` in `dir` and returns the path. */
export function writeFile(dir: string, name: string, text: string): string {
  const file = path.join(dir, name);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
  return file;
}

/** Runs a CLI command that finishes at once (validate, manifests) in-process and captures what it prints. */
export function runCli(argv: string[], cwd: string): { code: number; out: string; err: string } {
  let out = '';
  let err = '';
  const code = run(argv, { out: (t) => (out += t), err: (t) => (err += t), cwd });
  if (typeof code !== 'number') throw new Error(`cortex ${argv[0]} did not finish at once; use runCliAsync`);
  return { code, out, err };
}

/** Runs any CLI command in-process, waiting for it to finish, and captures what it prints. */
export async function runCliAsync(argv: string[], cwd: string): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await run(argv, { out: (t) => (out += t), err: (t) => (err += t), cwd });
  return { code, out, err };
}

/** A small valid container-form API (the README's example shape). */
export const HELLO_WORLD_YAML = `- name: hello-world
  kind: RealtimeAPI
  pod:
    port: 8080
    max_concurrency: 4
    max_queue_length: 64
    containers:
      - name: api
        image: hashicorp/http-echo:1.0
        args: ["-listen=:8080", "-text=hello"]
        readiness_probe:
          http_get: {path: /, port: 8080}
        compute: {cpu: 200m, mem: 64Mi}
`;
