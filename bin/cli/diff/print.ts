import type { ApiChange, ApiDiff, Effect, ReplicaRange, WeightChange } from './api-diff';
import { formatPath, type FieldChange, isRecord } from './object-diff';
import type { ResolvedBound, RolloutPlan } from './rollout';
import { TokenString } from './token-string';

/** What a piece of the output is, for a terminal to colour it. */
export type OutputStyle = 'added' | 'removed' | 'changed' | 'warning' | 'dim';

/** How the diff is printed. */
export interface PrintOptions {
  /**
   * Longest value printed whole; longer ones are elided around what differs (`…`). 0: never elide.
   * @default 60
   */
  readonly maxValueLength?: number;
  /**
   * Styles a piece of text (a terminal's colours). Only ever wraps text: the words are the same.
   * @default - plain text
   */
  readonly style?: (text: string, style: OutputStyle) => string;
}

export const DEFAULT_MAX_VALUE_LENGTH = 60;

/**
 * The diff as plain text: one block per API that changes (marker, name, what the update does; then each
 * object's changed fields, old → new), and a summary line. Unchanged APIs are only counted.
 */
export function formatDiff(diff: ApiDiff, options: PrintOptions = {}): string {
  const max = options.maxValueLength ?? DEFAULT_MAX_VALUE_LENGTH;
  const style = options.style ?? ((text: string) => text);
  const namespaces = new Set([...diff.changes.map((c) => c.namespace), ...diff.unchanged.map((a) => a.namespace)]);
  const stacks = new Set([...diff.changes.map((c) => c.stackName), ...diff.unchanged.map((a) => a.location.stackName)]);
  const blocks = diff.changes.map((change) => formatChange(change, { namespace: namespaces.size > 1, stack: stacks.size > 1 }, max, style));
  return [...blocks, summary(diff) + '\n'].join('\n');
}

/** An API's name; with its namespace when the APIs are in several, and its stack (`[Prod]`) when in several. */
function formatChange(
  change: ApiChange,
  show: { namespace: boolean; stack: boolean },
  max: number,
  style: (text: string, style: OutputStyle) => string,
): string {
  const name = (show.namespace ? `${change.namespace}/${change.name}` : change.name) + (show.stack ? ` [${change.stackName}]` : '');
  const lines: string[] = [];
  switch (change.status) {
    case 'added': {
      lines.push(style(`+ ${name} (${change.kind}): API added`, 'added') + ` — ${kinds(change)}`);
      const facts = addedFacts(change);
      if (facts) lines.push(`    ${facts}`);
      break;
    }
    case 'removed':
      lines.push(style(`- ${name} (${change.kind}): API removed`, 'removed') + ` — ${kinds(change)} deleted`);
      break;
    case 'changed': {
      const kind = change.kind === 'RealtimeAPI' ? '' : ` (${change.kind})`;
      lines.push(style(`~ ${name}${kind}:`, 'changed') + ` ${headline(change.effects)}`);
      for (const warning of change.warnings) lines.push(style(`    ! ${warning}`, 'warning'));
      for (const object of change.objects) {
        if (object.status === 'changed') {
          lines.push(`    ${object.kind}/${object.name}`);
          for (const field of object.fields) lines.push(`      ${formatField(field, max, (path) => style(path, 'dim'))}`);
        } else {
          const sign = object.status === 'added' ? '+' : '-';
          lines.push(style(`    ${sign} ${object.kind}/${object.name} (${object.status})`, object.status));
        }
      }
    }
  }
  return lines.join('\n') + '\n';
}

/** What a changed API's update does, in one line. */
export function headline(effects: readonly Effect[]): string {
  const restarts = effects.some((e) => e.type === 'rolling-update');
  const parts = effects.map((effect) => {
    switch (effect.type) {
      case 'rolling-update':
        return rollout(effect.plan);
      case 'scale':
        return 'scale change' + (effect.replicas ? ` (replicas ${range(effect.replicas.from)} → ${range(effect.replicas.to)})` : '');
      case 'routing': {
        const label = effects.length === 1 ? 'routing-only change' : 'routing change';
        return label + (effect.weights.length > 0 ? ` (${effect.weights.map(weight).join(', ')})` : '');
      }
      case 'config':
        return 'config change';
      case 'strategy':
        return 'rollout strategy change (for the next rollout)';
      case 'disruption-budget':
        return 'disruption budget change';
      default:
        return 'other change';
    }
  });
  const routingOnly = effects.length === 1 && effects[0].type === 'routing';
  return parts.join('; ') + (restarts || routingOnly ? '' : '; no pod restarts');
}

/** `rolling update of 4 replicas, max surge 1 (25%), max unavailable 1 (25%)`. */
export function rollout(plan: RolloutPlan): string {
  const replicas = `${plan.replicas} replica${plan.replicas === 1 ? '' : 's'}`;
  const countedAt = plan.autoscaled && plan.replicas === plan.autoscaled.min ? 'the minimum' : `${plan.replicas}`;
  const autoscaled = plan.autoscaled ? ` (autoscaled ${range(plan.autoscaled)}, counted at ${countedAt})` : '';
  if (plan.strategy === 'Recreate') {
    return `recreate of ${replicas}${autoscaled}: every pod stops before the new ones start (downtime)`;
  }
  return `rolling update of ${replicas}${autoscaled}, max surge ${bound(plan.maxSurge)}, max unavailable ${bound(plan.maxUnavailable)}`;
}

function bound(b: ResolvedBound): string {
  return typeof b.spec === 'string' && b.spec.endsWith('%') ? `${b.pods} (${b.spec})` : `${b.pods}`;
}

function range(r: ReplicaRange): string {
  return r.min === r.max ? `${r.min}` : `${r.min}–${r.max}`;
}

function weight(w: WeightChange): string {
  const pct = (v: number | undefined) => (v === undefined ? '(none)' : `${v}%`);
  return `${w.target} ${pct(w.from)} → ${pct(w.to)}`;
}

function kinds(change: ApiChange): string {
  return change.objects.map((o) => o.kind).join(', ');
}

/** An added API's images and replicas: what will run. */
function addedFacts(change: ApiChange): string | undefined {
  const deployment = change.to?.objects.find((o) => o.kind === 'Deployment');
  if (deployment === undefined || !isRecord(deployment.spec)) return undefined;
  const template = isRecord(deployment.spec.template) ? deployment.spec.template : {};
  const pod = isRecord(template.spec) ? template.spec : {};
  const containers = Array.isArray(pod.containers) ? pod.containers.filter(isRecord) : [];
  const images = containers.map((c) => `${String(c.name)}=${formatValue(c.image, 0)}`);
  return images.length > 0 ? `images: ${images.join(', ')}` : undefined;
}

/** `path: old → new`, long values elided. */
export function formatField(field: FieldChange, max: number = DEFAULT_MAX_VALUE_LENGTH, stylePath: (path: string) => string = (p) => p): string {
  let from = formatValue(field.from, 0);
  let to = formatValue(field.to, 0);
  if (max > 0 && (from.length > max || to.length > max)) [from, to] = elidePair(from, to, max);
  return `${stylePath(formatPath(field.path) + ':')} ${from} → ${to}`;
}

/**
 * A value as it reads in YAML's flow style: strings bare unless they need quotes, tokens as their readable
 * form, objects `{key: value}`, an absent field `(none)`. `max` > 0 elides the end.
 */
export function formatValue(value: unknown, max: number = DEFAULT_MAX_VALUE_LENGTH): string {
  const text = flow(value);
  return max > 0 && text.length > max ? text.slice(0, max - 1) + '…' : text;
}

function flow(value: unknown): string {
  if (value === undefined) return '(none)';
  if (value instanceof TokenString) return value.text;
  if (typeof value === 'string') return bareString(value) ? value : JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(flow).join(', ')}]`;
  if (isRecord(value)) {
    return `{${Object.entries(value)
      .map(([k, v]) => `${bareString(k) ? k : JSON.stringify(k)}: ${flow(v)}`)
      .join(', ')}}`;
  }
  return String(value);
}

/**
 * Whether a string reads as itself unquoted, as in YAML's flow style: not a number, boolean or null, no
 * spaces (they would blur `old → new`), no flow or comment indicators, no leading indicator character.
 */
function bareString(s: string): boolean {
  if (s === '' || /\s/.test(s)) return false;
  if (/^[-+]?(\d[\d_]*(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/.test(s) || /^0[xo][0-9a-f]+$/i.test(s) || /^[-+]?\.(inf|nan)$/i.test(s)) return false;
  if (/^(true|false|null|yes|no|on|off|y|n|~)$/i.test(s)) return false;
  if (/[,[\]{}#"'`]/.test(s) || /^[?:!&*|>%@(]/.test(s)) return false;
  return true;
}

/**
 * Two long values cut around where they differ: the common start and end replaced by `…` (a little of each
 * kept for context), then each cut to `max`.
 */
function elidePair(a: string, b: string, max: number): [string, string] {
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let end = 0;
  while (end < a.length - start && end < b.length - start && a[a.length - 1 - end] === b[b.length - 1 - end]) end++;
  const context = 8;
  const cut = (s: string) => {
    const from = Math.max(0, start - context);
    const to = Math.min(s.length, s.length - end + context);
    let out = (from > 0 ? '…' : '') + s.slice(from, to) + (to < s.length ? '…' : '');
    if (out.length > max) out = out.slice(0, max - 1) + '…';
    return out;
  };
  return [cut(a), cut(b)];
}

function summary(diff: ApiDiff): string {
  const unchanged = diff.unchanged.length;
  const apis = (n: number) => `${n} API${n === 1 ? '' : 's'}`;
  if (diff.changes.length === 0) {
    return unchanged === 0 ? 'No APIs on either side.' : `No API changes (${apis(unchanged)} unchanged).`;
  }
  const counts: Array<[number, string]> = [
    [diff.changes.filter((c) => c.status === 'changed').length, 'changed'],
    [diff.changes.filter((c) => c.status === 'added').length, 'added'],
    [diff.changes.filter((c) => c.status === 'removed').length, 'removed'],
    [unchanged, 'unchanged'],
  ];
  const parts = counts.filter(([n]) => n > 0).map(([n, word], i) => `${i === 0 ? apis(n) : n} ${word}`);
  return `${parts.join(', ')}.`;
}
