#!/usr/bin/env node
// Validates rendered Kubernetes objects against the Kubernetes OpenAPI schemas (kubernetes-models)
// and the Istio / KEDA CRD schemas (@kubernetes-models/istio, @kubernetes-models/keda).
//
// Those packages are ESM-only and jest runs this project as CommonJS, so the tests spawn this
// script (test/schema/validate.ts) instead of importing the models.
//
// Kinds without a model package (the KEDA HTTP add-on's InterceptorRoute) are validated against the
// openAPIV3Schema of a CRD file given with `--crd FILE` (repeatable): the pinned CRDs live outside this
// repository, so only CI's extra checks pass them; without one, such an object cannot be judged (exit 2).
// The CRDs' CEL rules (x-kubernetes-validations) are not evaluated here.
//
// stdin:  a JSON array of objects.
// stdout: a JSON array of problems, [{ index, object: "Kind/name", path, message }].
// exit:   0 every object is valid, 1 some are not (the problems are printed),
//         2 the input is not a JSON array of objects, or an object's apiVersion/kind has no model here.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

/** apiVersion/kind → the module exporting its model class (as `kind`). */
const MODELS = {
  'apps/v1/Deployment': 'kubernetes-models/apps/v1/Deployment',
  'v1/Service': 'kubernetes-models/v1/Service',
  'v1/ConfigMap': 'kubernetes-models/v1/ConfigMap',
  'v1/Namespace': 'kubernetes-models/v1/Namespace',
  'v1/ServiceAccount': 'kubernetes-models/v1/ServiceAccount',
  'rbac.authorization.k8s.io/v1/Role': 'kubernetes-models/rbac.authorization.k8s.io/v1/Role',
  'rbac.authorization.k8s.io/v1/RoleBinding': 'kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding',
  'policy/v1/PodDisruptionBudget': 'kubernetes-models/policy/v1/PodDisruptionBudget',
  'networking.k8s.io/v1/NetworkPolicy': 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy',
  'networking.istio.io/v1/VirtualService': '@kubernetes-models/istio/networking.istio.io/v1/VirtualService',
  'networking.istio.io/v1/Gateway': '@kubernetes-models/istio/networking.istio.io/v1/Gateway',
  'networking.istio.io/v1/DestinationRule': '@kubernetes-models/istio/networking.istio.io/v1/DestinationRule',
  'networking.istio.io/v1alpha3/EnvoyFilter': '@kubernetes-models/istio/networking.istio.io/v1alpha3/EnvoyFilter',
  'security.istio.io/v1/RequestAuthentication': '@kubernetes-models/istio/security.istio.io/v1/RequestAuthentication',
  'security.istio.io/v1/AuthorizationPolicy': '@kubernetes-models/istio/security.istio.io/v1/AuthorizationPolicy',
  'keda.sh/v1alpha1/ScaledObject': '@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject',
  'keda.sh/v1alpha1/TriggerAuthentication': '@kubernetes-models/keda/keda.sh/v1alpha1/TriggerAuthentication',
};

/** Input this script cannot judge: exit 2, so that the caller fails instead of passing vacuously. */
class Unjudgeable extends Error {}

function fail(message) {
  throw new Unjudgeable(message);
}

/** `--crd FILE` arguments: apiVersion/kind → a validating function of the CRD version's schema. */
function crdValidators(argv) {
  const files = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] !== '--crd' || argv[i + 1] === undefined) fail(`unknown argument ${argv[i]}; usage: validate-objects.mjs [--crd FILE]...`);
    files.push(argv[++i]);
  }
  const validators = {};
  if (files.length === 0) return validators;
  const require = createRequire(import.meta.url);
  const YAML = require('yaml');
  const Ajv = require('ajv').default;
  const ajv = new Ajv({ strict: false, allErrors: true });
  require('ajv-formats').default(ajv);
  ajv.addFormat('int32', { type: 'number', validate: (n) => Number.isInteger(n) && n >= -(2 ** 31) && n < 2 ** 31 });
  ajv.addFormat('int64', { type: 'number', validate: (n) => Number.isInteger(n) });
  for (const file of files) {
    for (const doc of YAML.parseAllDocuments(readFileSync(file, 'utf8'))) {
      const crd = doc.toJS();
      if (crd?.kind !== 'CustomResourceDefinition') continue;
      for (const version of crd.spec.versions) {
        const key = `${crd.spec.group}/${version.name}/${crd.spec.names.kind}`;
        validators[key] = ajv.compile(version.schema.openAPIV3Schema);
      }
    }
  }
  return validators;
}

async function main() {
  const crds = crdValidators(process.argv.slice(2));
  let objects;
  try {
    objects = JSON.parse(readFileSync(0, 'utf8'));
  } catch (e) {
    fail(`stdin is not JSON: ${e.message}`);
  }
  if (!Array.isArray(objects) || objects.some((o) => o === null || typeof o !== 'object' || Array.isArray(o))) {
    fail('stdin must be a JSON array of objects');
  }

  const problems = [];
  for (const [index, object] of objects.entries()) {
    const key = `${object.apiVersion}/${object.kind}`;
    const label = `${object.kind}/${object.metadata?.name ?? '?'}`;
    if (crds[key] !== undefined) {
      if (!crds[key](object)) {
        for (const err of crds[key].errors) {
          const detail = err.params && Object.keys(err.params).length > 0 ? ` ${JSON.stringify(err.params)}` : '';
          problems.push({ index, object: label, path: err.instancePath || '/', message: `${err.message}${detail}` });
        }
      }
      continue;
    }
    const modulePath = MODELS[key];
    if (modulePath === undefined) {
      fail(`object ${index} (${key}) has no schema model here (a CRD's kind needs --crd FILE); known: ${[...Object.keys(MODELS), ...Object.keys(crds)].join(', ')}`);
    }
    const module = await import(modulePath);
    const Model = module[object.kind];
    try {
      new Model(object).validate();
    } catch (e) {
      const errors = Array.isArray(e.errors) ? e.errors : [{ instancePath: '', message: e.message }];
      for (const err of errors) {
        const detail = err.params && Object.keys(err.params).length > 0 ? ` ${JSON.stringify(err.params)}` : '';
        problems.push({ index, object: label, path: err.instancePath || '/', message: `${err.message}${detail}` });
      }
    }
  }

  process.stdout.write(JSON.stringify(problems, null, 2) + '\n');
  return problems.length > 0 ? 1 : 0;
}

try {
  process.exitCode = await main();
} catch (e) {
  if (!(e instanceof Unjudgeable)) throw e;
  process.stderr.write(`validate-objects: ${e.message}\n`);
  process.exitCode = 2;
}
