/** A RealtimeAPI in the container form (Cortex v0.42): `pod` with the user's containers. */
import { readAutoscaling } from './autoscaling';
import { Field } from './field';
import { readIamPolicyArns } from './iam';
import { KeyHints, readBoolean, readSection, type Section } from './field-readers';
import { readNetworking } from './networking';
import { readNodeGroups } from './node-groups';
import { readPod } from './pod';
import { RealtimeApiSpec, SourcePosition } from './types';
import { readUpdateStrategy } from './update-strategy';

export const CONTAINER_API_KEYS = [
  'name',
  'kind',
  'pod',
  'autoscaling',
  'update_strategy',
  'networking',
  'node_groups',
  'iam_policy_arns',
  'read_apis',
] as const;

const CONTAINER_API_HINTS: KeyHints = {
  compute: 'in the container form, compute belongs to each container (pod.containers[i].compute)',
  tracker: 'tracker belongs to the predictor form (predictor:); the container form has none',
  apis: 'apis belongs to kind TrafficSplitter',
  endpoint: 'endpoint belongs under networking (networking.endpoint)',
  containers: 'containers belongs under pod (pod.containers)',
};

export interface ApiIdentity {
  /** The API's name when valid. */
  readonly name?: string;
  readonly source: SourcePosition;
}

/** `ignore`: keys already reported on by the caller (a predictor beside the pod). */
export function readContainerApi(
  entry: Field,
  identity: ApiIdentity,
  ignore: readonly string[] = [],
): RealtimeApiSpec | undefined {
  const section = readSection(entry, CONTAINER_API_KEYS, { hints: CONTAINER_API_HINTS, ignore });
  if (!section) return undefined;

  const pod = readPod(section.get('pod'));
  const autoscaling = readAutoscaling(section.get('autoscaling'), {
    maxConcurrency: pod?.maxConcurrency,
    maxQueueLength: pod?.maxQueueLength,
  });
  const settings = readApiSettings(section, identity.name);

  if (identity.name === undefined || !pod || !autoscaling || !settings) return undefined;
  return { kind: 'RealtimeAPI', name: identity.name, pod, autoscaling, ...settings, source: identity.source };
}

/** What both forms of a RealtimeAPI read alike, in the spec's order (its hash depends on it). */
export type ApiSettings = Pick<RealtimeApiSpec, 'updateStrategy' | 'networking' | 'nodeGroups' | 'iamPolicyArns' | 'readApis'>;

/**
 * Reads `update_strategy`, `networking`, `node_groups`, `iam_policy_arns` and `read_apis` of either form of a
 * RealtimeAPI; undefined when one is invalid (its problem reported). The optional ones are left out when unset.
 */
export function readApiSettings(section: Section, name: string | undefined): ApiSettings | undefined {
  const updateStrategy = readUpdateStrategy(section.get('update_strategy'));
  const networking = readNetworking(section.get('networking'), name);
  const nodeGroups = readNodeGroups(section.get('node_groups'));
  const policiesField = section.get('iam_policy_arns');
  const iamPolicyArns = readIamPolicyArns(policiesField);
  const readApis = readBoolean(section.get('read_apis'), { default: false });

  if (!updateStrategy || !networking || readApis === undefined) return undefined;
  if (policiesField.isSet && iamPolicyArns === undefined) return undefined;
  return {
    updateStrategy,
    networking,
    ...(nodeGroups ? { nodeGroups } : {}),
    ...(iamPolicyArns ? { iamPolicyArns } : {}),
    ...(readApis ? { readApis } : {}),
  };
}
