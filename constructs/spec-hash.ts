import { createHash } from 'node:crypto';

/** Hex characters kept from the SHA-256 (64 bits: collisions between two revisions of one API are not a concern). */
export const SPEC_HASH_LENGTH = 16;

/**
 * An unresolved AWS CDK token as it appears in a string at synth time (`${Token[TOKEN.123]}`). Its
 * number depends on construction order across the whole CDK app, so it must not reach the hash: the
 * field holding it (an image URI) is in the pod template anyway and rolls the pods when it resolves
 * to something new.
 */
const CDK_TOKEN = /\$\{Token\[[^\]]*\]\}/g;

/**
 * JSON with object keys sorted at every level, so that neither the hash nor a rendered file depends
 * on key order. `indent` pretty-prints (for files people read with kubectl).
 */
export function canonicalJson(value: unknown, indent?: number): string {
  return JSON.stringify(sortKeys(value), null, indent);
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) {
    return value.map(sortKeys);
  }
  if (value !== null && typeof value === 'object') {
    const sorted: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[key];
      if (v !== undefined) {
        sorted[key] = sortKeys(v);
      }
    }
    return sorted;
  }
  return value;
}

/**
 * The hash of everything that shapes an API's pods: the rendered pod template (without the hash
 * annotation itself) and the content of the ConfigMaps the pods mount, which Kubernetes does not
 * roll pods for on its own.
 */
export function specHash(inputs: { template: unknown; configMaps?: Record<string, unknown> }): string {
  const text = canonicalJson({ template: inputs.template, configMaps: inputs.configMaps ?? {} }).replace(
    CDK_TOKEN,
    '${Token}',
  );
  return createHash('sha256').update(text).digest('hex').slice(0, SPEC_HASH_LENGTH);
}
