#!/usr/bin/env node
// Validates rendered Kubernetes objects against the Kubernetes OpenAPI schemas (kubernetes-models)
// and the Istio / KEDA CRD schemas (@kubernetes-models/istio, @kubernetes-models/keda).
//
// Those packages are ESM-only and jest runs this project as CommonJS, so the tests spawn this
// script (test/schema/validate.ts) instead of importing the models.
//
// stdin:  a JSON array of objects.
// stdout: a JSON array of problems, [{ index, object: "Kind/name", path, message }].
// exit:   0 every object is valid, 1 some are not (the problems are printed),
//         2 the input is not a JSON array of objects, or an object's apiVersion/kind has no model here.

import { readFileSync } from 'node:fs';

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

async function main() {
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
    const modulePath = MODELS[key];
    if (modulePath === undefined) {
      fail(`object ${index} (${key}) has no schema model here; known: ${Object.keys(MODELS).join(', ')}`);
    }
    const module = await import(modulePath);
    const Model = module[object.kind];
    const label = `${object.kind}/${object.metadata?.name ?? '?'}`;
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
