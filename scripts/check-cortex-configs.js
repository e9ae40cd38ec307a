#!/usr/bin/env node
// Compatibility check over published Cortex configurations (CI runs it when ../shared is there):
// every cortex*.yaml under DIR must pass `cortex validate`, render with `cortex manifests`, and
// every rendered object must validate against the Kubernetes / Istio / KEDA schemas.
//
//   npm run build && node scripts/check-cortex-configs.js ../shared/cortex-configs
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const YAML = require('yaml');
const { run } = require('../dist/bin/cortex');

const root = process.argv[2];
if (!root || !fs.existsSync(root)) {
  console.error('usage: node scripts/check-cortex-configs.js DIR');
  process.exit(2);
}

const files = walk(root).filter((f) => /\.ya?ml$/.test(f)).sort();
const outRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'cortex-compat-'));
const failures = [];
const objects = [];
for (const file of files) {
  const validate = capture(['validate', '-f', file]);
  if (validate.code !== 0) {
    failures.push(`${file}: cortex validate exited ${validate.code}\n${validate.err}`);
    continue;
  }
  const outDir = path.join(outRoot, path.basename(file, path.extname(file)));
  const manifests = capture(['manifests', '-f', file, '-o', outDir]);
  if (manifests.code !== 0) {
    failures.push(`${file}: cortex manifests exited ${manifests.code}\n${manifests.err}`);
    continue;
  }
  for (const written of fs.readdirSync(outDir)) {
    const docs = YAML.parseAllDocuments(fs.readFileSync(path.join(outDir, written), 'utf8'));
    for (const doc of docs) objects.push({ source: `${file} → ${written}`, object: doc.toJS() });
  }
}

// One process validates every object: the schema models are ESM-only (see test/schema/validate-objects.mjs).
// Kinds without a model package (the KEDA HTTP add-on's) are checked against the pinned CRDs beside the configs.
const crdDir = path.join(root, '..', 'crds');
const crdArgs = fs.existsSync(crdDir)
  ? fs.readdirSync(crdDir).filter((f) => /^keda-http-add-on-.*-crds\.ya?ml$/.test(f)).flatMap((f) => ['--crd', path.join(crdDir, f)])
  : [];
const validator = spawnSync(process.execPath, [path.join(__dirname, '..', 'test', 'schema', 'validate-objects.mjs'), ...crdArgs], {
  input: JSON.stringify(objects.map((o) => o.object)),
  encoding: 'utf8',
  maxBuffer: 256 << 20,
});
if (validator.status !== 0 && validator.status !== 1) {
  console.error(`schema validator failed (exit ${validator.status}): ${validator.stderr}`);
  process.exit(1);
}
for (const p of JSON.parse(validator.stdout)) {
  failures.push(`${objects[p.index].source}: ${p.object} ${p.path}: ${p.message}`);
}
fs.rmSync(outRoot, { recursive: true, force: true });

console.log(`cortex-configs: ${files.length} files, ${objects.length} objects rendered and schema-checked`);
if (failures.length) {
  console.log(failures.join('\n'));
  console.log(`${files.length - new Set(failures.map((f) => f.split(':')[0])).size} passed, ${failures.length} failed`);
  process.exit(1);
}
console.log(`${files.length} passed, 0 failed`);

function capture(argv) {
  let out = '';
  let err = '';
  const code = run(argv, { out: (t) => (out += t), err: (t) => (err += t), cwd: process.cwd() });
  return { code, out, err };
}

function walk(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const p = path.join(dir, d.name);
    return d.isDirectory() ? walk(p) : [p];
  });
}
