/**
 * AWS permissions of an API's pods: `iam_policy_arns` (IAM managed policies, as in Cortex's cluster.yaml, here
 * also per API) and the S3 locations of the API's own models, which its role may read.
 */
import { describeValue } from './describe-value';
import { Field } from './field';
import { readList, readString } from './field-readers';
import { RealtimeApiSpec } from './types';

/** The AWS partitions a policy ARN may name. */
export const IAM_PARTITIONS = ['aws', 'aws-cn', 'aws-us-gov', 'aws-iso', 'aws-iso-b', 'aws-iso-e', 'aws-iso-f', 'aws-eusc'] as const;

/**
 * An IAM managed policy ARN: `arn:PARTITION:iam::aws:policy/[PATH/]NAME` (an AWS managed policy) or
 * `arn:PARTITION:iam::ACCOUNT:policy/[PATH/]NAME` (a customer managed one, ACCOUNT 12 digits). Names and path
 * parts are IAM's characters: letters, digits and `+=,.@_-`.
 */
const IAM_POLICY_ARN = new RegExp(
  `^arn:(${IAM_PARTITIONS.join('|')}):iam::(aws|\\d{12}):policy/([\\w+=,.@-]+/)*[\\w+=,.@-]{1,128}$`,
);

/** What `iam_policy_arns` allows, for messages. */
export const IAM_POLICY_ARN_RULE =
  'an IAM managed policy ARN: arn:aws:iam::aws:policy/NAME (AWS managed) or arn:aws:iam::ACCOUNT:policy/[PATH/]NAME ' +
  '(ACCOUNT: 12 digits; partition aws, aws-cn, aws-us-gov...)';

/**
 * IAM attaches at most 20 managed policies to a role (10 by default, a quota that can be raised to 20): the
 * stack's and the API's together.
 */
export const MAX_MANAGED_POLICIES_PER_ROLE = 20;
export const DEFAULT_MANAGED_POLICIES_QUOTA = 10;

/** What is wrong with `value` as an IAM managed policy ARN (`must be ...`), or undefined when it is one. */
export function iamPolicyArnProblem(value: unknown): string | undefined {
  if (typeof value === 'string' && IAM_POLICY_ARN.test(value)) return undefined;
  return `must be ${IAM_POLICY_ARN_RULE}, got ${describeValue(value)}${iamPolicyArnHint(value)}`;
}

/** The likely mistakes, each with what to write instead. */
function iamPolicyArnHint(value: unknown): string {
  if (typeof value !== 'string') return '';
  if (/^[\w+=,.@-]+$/.test(value)) return `; a policy's name alone is written as its ARN, e.g. arn:aws:iam::aws:policy/${value}`;
  const arn = /^arn:([^:]*):([^:]*):([^:]*):([^:]*):(.*)$/.exec(value);
  if (!arn) return '';
  const [, partition, service, region, account, resource] = arn;
  if (service === 'iam' && resource.startsWith('role/')) return "; that is a role: name the policies to attach to the API's own role";
  if (!(IAM_PARTITIONS as readonly string[]).includes(partition)) return `; the partition ${describeValue(partition)} is not one of ${IAM_PARTITIONS.join(', ')}`;
  if (service === 'iam' && region !== '') return '; IAM ARNs have no region (arn:aws:iam::...)';
  if (service === 'iam' && account !== 'aws' && !/^\d{12}$/.test(account)) return `; the account ${describeValue(account)} must be aws or 12 digits`;
  return '';
}

/** `iam_policy_arns`: a list of IAM managed policy ARNs, each once. Absent: undefined (no policy). */
export function readIamPolicyArns(field: Field): string[] | undefined {
  if (!field.isSet) return undefined;
  const items = readList(field);
  if (!items) return undefined;
  const arns: string[] = [];
  const seen = new Map<string, number>();
  let valid = true;
  items.forEach((item, index) => {
    const arn = readString(item, { required: true });
    if (arn === undefined) {
      valid = false;
      return;
    }
    const problem = iamPolicyArnProblem(arn);
    if (problem !== undefined) {
      item.problem(problem);
      valid = false;
      return;
    }
    const previous = seen.get(arn);
    if (previous !== undefined) {
      item.problem(`duplicate policy ${JSON.stringify(arn)} (also ${field.key}[${previous}]); name each policy once`);
      valid = false;
      return;
    }
    seen.set(arn, index);
    arns.push(arn);
  });
  if (valid && arns.length > MAX_MANAGED_POLICIES_PER_ROLE) {
    field.problem(`must list at most ${MAX_MANAGED_POLICIES_PER_ROLE} policies (IAM attaches no more to a role), got ${arns.length}`);
    return undefined;
  }
  return valid ? arns : undefined;
}

/** An `s3://bucket/prefix` location: the bucket, and the key prefix without a trailing `/` (`''` for the whole bucket). */
export interface S3Location {
  readonly bucket: string;
  readonly prefix: string;
}

/** `s3://bucket[/prefix]` → its bucket and prefix (trailing `/` dropped); undefined for anything else. */
export function parseS3Uri(uri: string): S3Location | undefined {
  const match = /^s3:\/\/([^/]+)\/?(.*)$/.exec(uri);
  if (!match) return undefined;
  return { bucket: match[1], prefix: match[2].replace(/\/+$/, '') };
}

/**
 * The S3 locations of an API's own models (`models.path`, `models.paths[].path`, `models.dir`, of `models` or
 * `multi_model_reloading`; `kind: api`'s model), each once, in the order written: what its role may read.
 * Locations inside another one listed are left out (`s3://b/models` covers `s3://b/models/a`).
 */
export function modelS3Locations(api: RealtimeApiSpec): S3Location[] {
  const models = api.predictor?.models;
  if (models === undefined) return [];
  const uris = [models.path, ...(models.paths ?? []).map((m) => m.path), models.dir].filter((p): p is string => p !== undefined);
  const locations = uris.map(parseS3Uri).filter((l): l is S3Location => l !== undefined);
  const covers = (outer: S3Location, inner: S3Location) =>
    outer.bucket === inner.bucket && (outer.prefix === '' || inner.prefix === outer.prefix || inner.prefix.startsWith(`${outer.prefix}/`));
  const result: S3Location[] = [];
  for (const location of locations) {
    if (result.some((kept) => covers(kept, location))) continue;
    for (let i = result.length - 1; i >= 0; i--) {
      if (covers(location, result[i])) result.splice(i, 1);
    }
    result.push(location);
  }
  return result;
}
