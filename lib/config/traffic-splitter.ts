/** A `kind: TrafficSplitter` entry: one endpoint whose requests are shared among RealtimeAPIs. */
import { ApiIdentity } from './container-api';
import { TRAFFIC_SPLITTER_LIMITS } from './defaults';
import { describeValue } from './describe-value';
import { Field } from './field';
import { KeyHints, readBoolean, readInteger, readList, readSection, readString } from './field-readers';
import { readNetworking } from './networking';
import { TrafficSplitterSpec, TrafficSplitterTarget } from './types';

export const TRAFFIC_SPLITTER_KEYS = ['name', 'kind', 'networking', 'apis'] as const;
export const SPLITTER_TARGET_KEYS = ['name', 'weight', 'shadow'] as const;

const REALTIME_ONLY_KEYS = ['pod', 'predictor', 'handler', 'compute', 'autoscaling', 'update_strategy', 'node_groups', 'tracker'];
const SPLITTER_HINTS: KeyHints = {
  ...Object.fromEntries(
    REALTIME_ONLY_KEYS.map((key) => [
      key,
      `${key} belongs to RealtimeAPI entries; a TrafficSplitter has only ${TRAFFIC_SPLITTER_KEYS.join(', ')}`,
    ]),
  ),
  iam_policy_arns:
    "iam_policy_arns belongs to the RealtimeAPIs a TrafficSplitter routes to: a splitter has no pods, each API's pods have their own role",
};

/**
 * Reads the splitter and checks what it can alone: weights, shadow, repeated targets. Whether each
 * target is a RealtimeAPI of the file is checked with the whole file in view.
 */
export function readTrafficSplitter(entry: Field, identity: ApiIdentity): TrafficSplitterSpec | undefined {
  const section = readSection(entry, TRAFFIC_SPLITTER_KEYS, { hints: SPLITTER_HINTS });
  if (!section) return undefined;
  const networking = readNetworking(section.get('networking'), identity.name, { apiKeys: false });
  const apis = readTargets(section.get('apis'));
  if (identity.name === undefined || !networking || !apis) return undefined;
  return { kind: 'TrafficSplitter', name: identity.name, networking, apis, source: identity.source };
}

function readTargets(field: Field): TrafficSplitterTarget[] | undefined {
  const items = readList(field, { required: true, minLength: 1, what: 'API' });
  if (!items) return undefined;

  const targets: TrafficSplitterTarget[] = [];
  const firstIndexOfName = new Map<string, number>();
  let shadowName: string | undefined;
  for (const [index, item] of items.entries()) {
    const section = readSection(item, SPLITTER_TARGET_KEYS, { required: true });
    if (!section) continue;
    const nameField = section.get('name');
    const name = readString(nameField, { required: true });
    const weight = readInteger(section.get('weight'), { min: 0, max: TRAFFIC_SPLITTER_LIMITS.maxWeight, required: true });
    const shadowField = section.get('shadow');
    const shadow = readBoolean(shadowField, { default: false });

    if (name !== undefined) {
      const previous = firstIndexOfName.get(name);
      if (previous !== undefined) {
        nameField.problem(`${describeValue(name)} is already listed (apis[${previous}]); list each API once`);
        continue;
      }
      firstIndexOfName.set(name, index);
    }
    // The gateway mirrors to a single destination.
    if (shadow && shadowName !== undefined) {
      shadowField.problem(`at most one API may be a shadow, and ${describeValue(shadowName)} already is`);
      continue;
    }
    if (shadow && name !== undefined) shadowName = name;
    if (name !== undefined && weight !== undefined && shadow !== undefined) targets.push({ name, weight, shadow });
  }
  if (targets.length !== items.length) return undefined;

  const served = targets.filter((target) => !target.shadow);
  const total = served.reduce((sum, target) => sum + target.weight, 0);
  if (total !== TRAFFIC_SPLITTER_LIMITS.totalWeight) {
    const terms = served.length > 1 ? ` (${served.map((target) => target.weight).join(' + ')})` : '';
    field.problem(`the weights of the APIs that are not shadows must add up to ${TRAFFIC_SPLITTER_LIMITS.totalWeight}, got ${total}${terms}`);
    return undefined;
  }
  return targets;
}
