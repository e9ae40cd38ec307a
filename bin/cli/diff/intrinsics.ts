/**
 * CloudFormation intrinsics (`Ref`, `Fn::GetAtt`, `Fn::Sub`...) inside synthesized values: resolving the
 * parameters a nested stack receives from its parent, rendering an intrinsic readably, and a canonical key
 * so that two intrinsics compare by structure, not by identity.
 */

/** An intrinsic as it appears in a template: an object with one key, `Ref` or `Fn::...`. */
export type Intrinsic = Record<string, unknown>;

export function isIntrinsic(value: unknown): value is Intrinsic {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const keys = Object.keys(value);
  return keys.length === 1 && (keys[0] === 'Ref' || keys[0].startsWith('Fn::'));
}

/**
 * `value` with every `Ref` to one of `parameters` replaced by the parameter's value (and `${Name}` in
 * `Fn::Sub` strings, when that value is a plain string). A nested stack's manifests name its parameters;
 * what changes between two deploys is often the value the parent passes in (an image asset's URI), so
 * the comparison must see through them.
 */
export function substituteParameters(value: unknown, parameters: ReadonlyMap<string, unknown>): unknown {
  if (parameters.size === 0) return value;
  if (Array.isArray(value)) return value.map((v) => substituteParameters(v, parameters));
  if (value === null || typeof value !== 'object') return value;
  const record = value as Record<string, unknown>;
  if (isIntrinsic(record) && typeof record.Ref === 'string' && parameters.has(record.Ref)) {
    return parameters.get(record.Ref);
  }
  if (isIntrinsic(record) && typeof record['Fn::Sub'] === 'string') {
    const text = (record['Fn::Sub'] as string).replace(/\$\{([^!}]+)\}/g, (whole, name: string) => {
      const v = parameters.get(name);
      return typeof v === 'string' ? v : whole;
    });
    return { 'Fn::Sub': text };
  }
  return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, substituteParameters(v, parameters)]));
}

/** JSON with sorted keys: equal for intrinsics that are the same whatever their key order. */
export function canonicalKey(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]),
  );
}

/**
 * A CDK container image asset's URI: `<account>.dkr.ecr.<region>.<suffix>/cdk-<qualifier>-container-assets-...:<hash>`,
 * written with `Fn::Sub` (or `Fn::Join` by older synthesizers). Rendered as its content hash only.
 */
const IMAGE_ASSET_URI = /^\$\{AWS::AccountId\}\.dkr\.ecr\.\$\{AWS::Region\}\.\$\{AWS::URLSuffix\}\/\S*container-assets\S*:([0-9a-f]{64})$/;

/** Characters kept of an image asset's hash: enough to tell two builds apart. */
export const ASSET_HASH_LENGTH = 12;

/**
 * An intrinsic as a person reads it: `${Logical.Attr}` for `Fn::GetAtt`, `${Name}` for `Ref`, the string
 * of `Fn::Sub`, the parts of `Fn::Join`, `<asset image 5cc3690b39c8>` for a CDK image asset.
 */
export function renderIntrinsic(value: unknown): string {
  if (typeof value === 'string') return value;
  if (!isIntrinsic(value)) return JSON.stringify(value);
  const [fn, args] = Object.entries(value)[0];
  const rendered = renderFunction(fn, args);
  const asset = IMAGE_ASSET_URI.exec(rendered);
  return asset ? `<asset image ${asset[1].slice(0, ASSET_HASH_LENGTH)}>` : rendered;
}

function renderFunction(fn: string, args: unknown): string {
  switch (fn) {
    case 'Ref':
      return `\${${String(args)}}`;
    case 'Fn::GetAtt':
      return `\${${Array.isArray(args) ? args.map(renderIntrinsic).join('.') : String(args)}}`;
    case 'Fn::ImportValue':
      return `\${import ${renderIntrinsic(args)}}`;
    case 'Fn::Join':
      if (Array.isArray(args) && typeof args[0] === 'string' && Array.isArray(args[1])) {
        return args[1].map(renderIntrinsic).join(args[0]);
      }
      break;
    case 'Fn::Sub':
      if (typeof args === 'string') return args;
      if (Array.isArray(args) && typeof args[0] === 'string') {
        const variables = (args[1] ?? {}) as Record<string, unknown>;
        return args[0].replace(/\$\{([^!}]+)\}/g, (whole, name: string) =>
          name in variables ? renderIntrinsic(variables[name]) : whole,
        );
      }
      break;
  }
  return `\${${fn}(${canonicalKey(args)})}`;
}
