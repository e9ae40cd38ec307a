#!/usr/bin/env node
/**
 * The two suites of `npm test`, side by side: jest (the TypeScript: constructs, CLI, proxy) and pytest (the
 * Python predictor runtime). pytest spends most of its time waiting on the runtime processes it starts, so it
 * runs beside jest instead of after it; its output is held and printed when jest has finished, so the two
 * reports do not interleave. Exits non-zero when either suite fails (or cannot start).
 *
 *   node scripts/test-suites.js            (npm test runs it after the prerequisites and the build)
 */
'use strict';
const { spawn } = require('node:child_process');
const path = require('node:path');

const ROOT = path.join(__dirname, '..');
const PYTHON = '/usr/bin/python3';
const PYTEST_WORKERS = 4;

/** Starts a suite; resolves with its exit code, the seconds it took and (when held) its output. */
function run(name, command, args, { env = process.env, hold = false } = {}) {
  const started = process.hrtime.bigint();
  const child = spawn(command, args, { cwd: ROOT, env, stdio: hold ? ['ignore', 'pipe', 'pipe'] : 'inherit' });
  const chunks = [];
  if (hold) {
    child.stdout.on('data', (chunk) => chunks.push(chunk));
    child.stderr.on('data', (chunk) => chunks.push(chunk));
  }
  const done = new Promise((resolve) => {
    child.on('error', (error) => {
      chunks.push(Buffer.from(`${name}: cannot start ${command}: ${error.message}\n`));
      resolve(127);
    });
    child.on('close', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  }).then((code) => ({
    name,
    code,
    seconds: Number(process.hrtime.bigint() - started) / 1e9,
    output: Buffer.concat(chunks).toString('utf8'),
  }));
  return { child, done };
}

async function main() {
  const jest = run('jest', process.execPath, [require.resolve('jest/bin/jest')]);
  // Four pytest workers (pytest-xdist): its tests wait on the runtime processes they start far more than they compute.
  const pytest = run('pytest', PYTHON, ['-m', 'pytest', 'test/images/python-predictor', '-q', '-n', String(PYTEST_WORKERS)], {
    env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' },
    hold: true,
  });
  const children = [jest.child, pytest.child];
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.on(signal, () => {
      for (const child of children) if (child.exitCode === null) child.kill(signal);
    });
  }

  const jestResult = await jest.done;
  if (pytest.child.exitCode === null && pytest.child.signalCode === null) {
    console.error('\n== pytest (test/images/python-predictor) is still running; its report follows when it ends');
  }
  const pytestResult = await pytest.done;
  process.stdout.write(`\n== pytest (test/images/python-predictor), run beside jest\n${pytestResult.output}`);

  const results = [jestResult, pytestResult];
  const summary = results.map((r) => `${r.name} ${r.code === 0 ? 'passed' : `FAILED (exit ${r.code})`} in ${r.seconds.toFixed(0)} s`);
  console.log(`\n== ${summary.join(', ')}`);
  return results.find((r) => r.code !== 0)?.code ?? 0;
}

main().then(
  (code) => process.exit(code),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
