/** `node_groups`: the node groups an API may run on. */
import { describeValue } from './describe-value';
import { Field } from './field';
import { readList, readString } from './field-readers';
import { DNS_1123_LABEL, DNS_1123_RULE, MAX_DNS_LABEL_LENGTH } from './names';

/**
 * The node-group names; undefined for "any node group" (left out, or null) — and, as with every
 * optional reader, when a problem was reported.
 */
export function readNodeGroups(field: Field): string[] | undefined {
  if (!field.isSet) return undefined;
  const items = readList(field, { minLength: 1, what: 'node group (or leave node_groups out to allow any)' });
  if (!items) return undefined;
  const names: string[] = [];
  for (const item of items) {
    const name = readString(item, { required: true });
    if (name === undefined) continue;
    if (!DNS_1123_LABEL.test(name) || name.length > MAX_DNS_LABEL_LENGTH) {
      item.problem(`must be a node group name (${DNS_1123_RULE}, at most ${MAX_DNS_LABEL_LENGTH} characters), got ${describeValue(name)}`);
    } else if (names.includes(name)) {
      item.problem(`node group ${JSON.stringify(name)} is listed twice`);
    } else {
      names.push(name);
    }
  }
  return names.length === items.length ? names : undefined;
}
