#!/usr/bin/env node
/**
 * What `npm test` needs beyond node_modules: Debian's Python 3 (/usr/bin/python3) with the packages the
 * predictor runtime and its tests import, and Debian's `prometheus` for `promtool` (the `promtool test rules`
 * cases of the autoscaling query and of the per-API recording rules). `npm test` runs this first, so that a fresh machine either gets
 * them (as root, with apt-get) or stops within seconds with the command to run — never a test that waits
 * out a timeout for a missing module.
 *
 *   node scripts/test-prerequisites.js [--check]      (--check: report only, install nothing)
 */
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');

const PYTHON = '/usr/bin/python3';

/** Debian's package for each module the runtime and its tests import. */
const PACKAGES = {
  starlette: 'python3-starlette',
  uvicorn: 'python3-uvicorn',
  multipart: 'python3-multipart',
  pytest: 'python3-pytest',
  xdist: 'python3-pytest-xdist',
  httpx: 'python3-httpx',
  numpy: 'python3-numpy',
  sklearn: 'python3-sklearn',
  joblib: 'python3-joblib',
  boto3: 'python3-boto3',
};

/** Debian's package for each program the tests run. */
const PROGRAMS = { promtool: 'prometheus', openssl: 'openssl' };

function missingPrograms() {
  return Object.entries(PROGRAMS)
    .filter(([program]) => spawnSync('sh', ['-c', `command -v ${program}`], { stdio: 'ignore' }).status !== 0)
    .map(([, pkg]) => pkg);
}

/** The packages whose modules do not import (all of them, with python3 itself, when there is no python3). */
function missingPackages() {
  if (!fs.existsSync(PYTHON)) return ['python3', ...Object.values(PACKAGES)];
  const probe = `
import importlib.util, json
print(json.dumps([m for m in ${JSON.stringify(Object.keys(PACKAGES))} if importlib.util.find_spec(m) is None]))
`;
  const result = spawnSync(PYTHON, ['-c', probe], { encoding: 'utf8', timeout: 30_000 });
  if (result.status !== 0) return ['python3', ...Object.values(PACKAGES)];
  return JSON.parse(result.stdout).map((module) => PACKAGES[module]);
}

function missingAll() {
  return [...missingPackages(), ...missingPrograms()];
}

function canInstall() {
  return process.getuid?.() === 0 && spawnSync('sh', ['-c', 'command -v apt-get'], { stdio: 'ignore' }).status === 0;
}

function install(packages) {
  console.error(`npm test: installing Debian's ${packages.join(' ')} (the Python runtime's tests, promtool and the TLS tests' openssl need them)`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const args of [['update'], ['install', '-y', '--no-install-recommends', ...packages]]) {
    const result = spawnSync('apt-get', args, { stdio: ['ignore', 'ignore', 'inherit'], env });
    if (result.status !== 0) return false;
  }
  return true;
}

function main() {
  let missing = missingAll();
  if (missing.length === 0) return 0;
  if (!process.argv.includes('--check') && canInstall() && install(missing)) missing = missingAll();
  if (missing.length === 0) return 0;
  console.error(
    `npm test needs Debian's Python 3 packages for the predictor runtime's tests, prometheus for promtool and openssl for the TLS tests' certificates; missing: ${missing.join(', ')}.\n` +
      `Install them, then run npm test again:\n  sudo apt-get install -y --no-install-recommends ${missing.join(' ')}`,
  );
  return 1;
}

process.exitCode = main();
