#!/usr/bin/env node
// Regenerates constructs/imports/ from the Istio, KEDA and KEDA HTTP add-on CRDs with `cdk8s import`, offline.
// Only the kinds the charts use are imported, to keep the generated code (and the compile) small.
//
//   node scripts/import-crds.js ../shared/crds            (the pinned CRD files: istio-*-crds.yaml, keda-*-crds.yaml, keda-http-add-on-*-crds.yaml)
//
// Needs cdk8s-cli (`npx --yes cdk8s-cli@2.207.60`); it is a tool for maintainers, not a dependency.
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const YAML = require('yaml');

const KEEP = {
  'networking.istio.io': ['VirtualService', 'Gateway', 'DestinationRule'],
  'security.istio.io': ['RequestAuthentication', 'AuthorizationPolicy'],
  'keda.sh': ['ScaledObject', 'TriggerAuthentication'],
  'http.keda.sh': ['InterceptorRoute'],
};

const crdDir = process.argv[2];
if (!crdDir || !fs.existsSync(crdDir)) {
  console.error('usage: node scripts/import-crds.js CRD_DIR   (a folder with istio-*-crds.yaml and keda-*-crds.yaml)');
  process.exit(2);
}
const out = path.resolve(__dirname, '..', 'constructs', 'imports');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'crds-'));
for (const file of fs.readdirSync(crdDir).filter((f) => /-crds\.ya?ml$/.test(f))) {
  const docs = YAML.parseAllDocuments(fs.readFileSync(path.join(crdDir, file), 'utf8'))
    .map((d) => d.toJS())
    .filter((crd) => crd && crd.kind === 'CustomResourceDefinition')
    .filter((crd) => (KEEP[crd.spec.group] ?? []).includes(crd.spec.names.kind));
  if (docs.length === 0) continue;
  const filtered = path.join(tmp, file);
  fs.writeFileSync(filtered, docs.map((d) => YAML.stringify(d)).join('---\n'));
  execFileSync(process.env.CDK8S_CLI ?? 'npx', [...(process.env.CDK8S_CLI ? [] : ['--yes', 'cdk8s-cli@2.207.60']), 'import', '--language', 'typescript', '--output', out, filtered], {
    stdio: 'inherit',
  });
  console.log(`${file}: ${docs.map((d) => d.spec.names.kind).join(', ')}`);
}
fs.rmSync(tmp, { recursive: true, force: true });
