/**
 * `cortex diff`: what deploying a cloud assembly changes, API by API. Reads synthesized (or deployed)
 * templates as JSON — no aws-cdk-lib — finds each API's Kubernetes objects in its KubernetesManifest,
 * diffs them field by field and says what the update does (rolling update, scale, routing).
 */
import { SPEC_HASH_ANNOTATION } from '../../../constructs/names';
import { type ApiManifest, type ApiManifests, apiManifests, type KubeObject, objectKey } from './api-manifests';
import { diffValues, type FieldChange, isRecord, pathStartsWith } from './object-diff';
import { rolloutPlan, type RolloutPlan, scaledObjectBounds } from './rollout';
import type { StackTemplates } from './templates';

/** One object of an API that is added, removed or changed. */
export interface ObjectChange {
  readonly kind: string;
  readonly name: string;
  readonly status: 'added' | 'removed' | 'changed';
  /** The fields that differ (for a changed object). */
  readonly fields: FieldChange[];
}

/** A replica range: `min === max` for a Deployment without an autoscaler. */
export interface ReplicaRange {
  readonly min: number;
  readonly max: number;
}

/** A route's weight before and after (undefined: no such route). */
export interface WeightChange {
  readonly target: string;
  readonly from?: number;
  readonly to?: number;
}

/** What a change does once applied. */
export type Effect =
  /** The pod template changes: the Deployment replaces every pod. */
  | { readonly type: 'rolling-update'; readonly plan: RolloutPlan }
  /** The autoscaler's bounds or target, or the Deployment's replicas, change; running pods stay. */
  | { readonly type: 'scale'; readonly replicas?: { readonly from: ReplicaRange; readonly to: ReplicaRange } }
  /** The VirtualService or Service changes: where requests go, not what serves them. */
  | { readonly type: 'routing'; readonly weights: WeightChange[] }
  /** The rollout strategy changes; it applies to the next rollout. */
  | { readonly type: 'strategy' }
  /** A ConfigMap changes (the pods read it through a rollout: its hash is on the pod template). */
  | { readonly type: 'config' }
  | { readonly type: 'disruption-budget' }
  | { readonly type: 'other' };

export type EffectType = Effect['type'];

/** An API that is added, removed or changed. */
export interface ApiChange {
  readonly status: 'added' | 'removed' | 'changed';
  readonly name: string;
  readonly namespace: string;
  /** The top-level stack its manifest is in. */
  readonly stackName: string;
  readonly kind: string;
  readonly from?: ApiManifest;
  readonly to?: ApiManifest;
  /** The objects that differ; for an added or removed API, every object. */
  readonly objects: ObjectChange[];
  /** What a changed API's update does, most disruptive first. */
  readonly effects: Effect[];
  /** What may make the update fail (an immutable field, a manifest that moves). */
  readonly warnings: string[];
}

export interface ApiDiff {
  /** Removed, added and changed APIs, by name. */
  readonly changes: ApiChange[];
  /** The APIs that are the same on both sides. */
  readonly unchanged: ApiManifest[];
  /** Manifests that could not be read, on either side. */
  readonly problems: string[];
}

const ROUTING_KINDS = new Set(['VirtualService', 'Service', 'DestinationRule', 'Gateway']);
const SCALING_KINDS = new Set(['ScaledObject', 'HorizontalPodAutoscaler']);
const EFFECT_ORDER: EffectType[] = ['rolling-update', 'scale', 'routing', 'config', 'strategy', 'disruption-budget', 'other'];

/** The API changes from the stacks of one side (deployed, or an older assembly) to those of the other. */
export function diffStacks(from: readonly StackTemplates[], to: readonly StackTemplates[]): ApiDiff {
  return diffApis(apiManifests(from), apiManifests(to));
}

/** What changes from the APIs of `from` to those of `to`, API by API (matched by stack, namespace and name). */
export function diffApis(from: ApiManifests, to: ApiManifests): ApiDiff {
  const before = new Map(from.apis.map((a) => [a.key, a]));
  const after = new Map(to.apis.map((a) => [a.key, a]));
  const changes: ApiChange[] = [];
  const unchanged: ApiManifest[] = [];
  for (const key of new Set([...before.keys(), ...after.keys()])) {
    const change = diffApi(before.get(key), after.get(key));
    if (change === undefined) unchanged.push(after.get(key)!);
    else changes.push(change);
  }
  changes.sort((a, b) => a.name.localeCompare(b.name) || a.namespace.localeCompare(b.namespace) || a.stackName.localeCompare(b.stackName));
  return { changes, unchanged, problems: [...from.problems, ...to.problems] };
}

/** One API's change; undefined when it is the same on both sides. */
export function diffApi(from: ApiManifest | undefined, to: ApiManifest | undefined): ApiChange | undefined {
  const api = (to ?? from)!;
  const base = { name: api.name, namespace: api.namespace, stackName: api.location.stackName, kind: api.kind, from, to };
  if (from === undefined || to === undefined) {
    const status: 'added' | 'removed' = from === undefined ? 'added' : 'removed';
    const objects: ObjectChange[] = api.objects.map((o) => ({ kind: o.kind, name: o.metadata.name, status, fields: [] }));
    return { ...base, status, objects, effects: [], warnings: [] };
  }
  const objects = diffObjects(from.objects, to.objects);
  if (objects.length === 0) return undefined;
  return { ...base, status: 'changed', objects, effects: effectsOf(from, to, objects), warnings: warningsOf(from, to, objects) };
}

function diffObjects(from: KubeObject[], to: KubeObject[]): ObjectChange[] {
  const before = new Map(from.map((o) => [objectKey(o), o]));
  const afterKeys = new Set(to.map(objectKey));
  const changes: ObjectChange[] = [];
  for (const object of to) {
    const old = before.get(objectKey(object));
    if (old === undefined) {
      changes.push({ kind: object.kind, name: object.metadata.name, status: 'added', fields: [] });
      continue;
    }
    const fields = withoutRedundantSpecHash(diffValues(old, object));
    if (fields.length > 0) changes.push({ kind: object.kind, name: object.metadata.name, status: 'changed', fields });
  }
  for (const object of from) {
    if (!afterKeys.has(objectKey(object))) changes.push({ kind: object.kind, name: object.metadata.name, status: 'removed', fields: [] });
  }
  return changes;
}

const SPEC_HASH_PATH = ['spec', 'template', 'metadata', 'annotations', SPEC_HASH_ANNOTATION];

/**
 * The spec hash annotation changes whenever the pod template does; next to the fields that made it change,
 * it says nothing more. Alone (a mounted ConfigMap changed), it is kept: it is what rolls the pods.
 */
function withoutRedundantSpecHash(fields: FieldChange[]): FieldChange[] {
  const isHash = (f: FieldChange) => f.path.length === SPEC_HASH_PATH.length && pathStartsWith(f.path, SPEC_HASH_PATH);
  const others = fields.filter((f) => !isHash(f) && pathStartsWith(f.path, ['spec', 'template']));
  return others.length > 0 ? fields.filter((f) => !isHash(f)) : fields;
}

function effectsOf(from: ApiManifest, to: ApiManifest, objects: ObjectChange[]): Effect[] {
  const types = new Set<EffectType>();
  for (const object of objects) {
    if (object.status !== 'changed') {
      types.add(effectOfKind(object.kind));
      continue;
    }
    for (const field of object.fields) types.add(effectOfField(object.kind, field));
  }
  const effects: Effect[] = [];
  for (const type of EFFECT_ORDER.filter((t) => types.has(t))) {
    switch (type) {
      case 'rolling-update': {
        const deployment = to.objects.find((o) => o.kind === 'Deployment')!;
        effects.push({ type, plan: rolloutPlan(deployment, scalerOf(to, deployment)) });
        break;
      }
      case 'scale':
        effects.push({ type, replicas: replicaChange(from, to) });
        break;
      case 'routing':
        effects.push({ type, weights: weightChanges(from, to) });
        break;
      default:
        effects.push({ type });
    }
  }
  return effects;
}

function effectOfKind(kind: string): EffectType {
  if (ROUTING_KINDS.has(kind)) return 'routing';
  if (SCALING_KINDS.has(kind)) return 'scale';
  if (kind === 'ConfigMap') return 'config';
  if (kind === 'PodDisruptionBudget') return 'disruption-budget';
  return 'other';
}

function effectOfField(kind: string, field: FieldChange): EffectType {
  if (field.path[0] === 'metadata' || field.path[0] === 'apiVersion') return 'other';
  if (kind === 'Deployment') {
    if (pathStartsWith(field.path, ['spec', 'template'])) return 'rolling-update';
    if (pathStartsWith(field.path, ['spec', 'replicas'])) return 'scale';
    if (pathStartsWith(field.path, ['spec', 'strategy']) || pathStartsWith(field.path, ['spec', 'minReadySeconds'])) return 'strategy';
    return 'other';
  }
  return effectOfKind(kind);
}

function warningsOf(from: ApiManifest, to: ApiManifest, objects: ObjectChange[]): string[] {
  const warnings: string[] = [];
  for (const object of objects) {
    if (object.kind === 'Deployment' && object.fields.some((f) => pathStartsWith(f.path, ['spec', 'selector']))) {
      warnings.push(
        `Deployment/${object.name}: spec.selector is immutable, so the update fails; delete the API and deploy it again`,
      );
    }
  }
  const a = from.location;
  const b = to.location;
  if (a.stackName !== b.stackName || a.nestedPath.join('/') !== b.nestedPath.join('/') || a.logicalId !== b.logicalId) {
    warnings.push(
      `its manifest moves from ${a.display} to ${b.display}: CloudFormation creates the new resource before deleting ` +
        'the old one, and creating fails on objects that exist, so the deploy fails and rolls back ' +
        '(docs/importing.md, "Scale")',
    );
  }
  return warnings;
}

/** The ScaledObject that scales `deployment`, if any. */
function scalerOf(api: ApiManifest, deployment: KubeObject): KubeObject | undefined {
  return api.objects.find((o) => {
    if (o.kind !== 'ScaledObject' || !isRecord(o.spec)) return false;
    const target = o.spec.scaleTargetRef;
    return isRecord(target) && target.name === deployment.metadata.name;
  });
}

function replicaRange(api: ApiManifest): ReplicaRange | undefined {
  const deployment = api.objects.find((o) => o.kind === 'Deployment');
  if (deployment === undefined) return undefined;
  const scaler = scalerOf(api, deployment);
  const bounds = scaler === undefined ? undefined : scaledObjectBounds(scaler);
  if (bounds !== undefined) return bounds;
  const replicas = isRecord(deployment.spec) && typeof deployment.spec.replicas === 'number' ? deployment.spec.replicas : 1;
  return { min: replicas, max: replicas };
}

function replicaChange(from: ApiManifest, to: ApiManifest): { from: ReplicaRange; to: ReplicaRange } | undefined {
  const a = replicaRange(from);
  const b = replicaRange(to);
  if (a === undefined || b === undefined || (a.min === b.min && a.max === b.max)) return undefined;
  return { from: a, to: b };
}

/** Route weights of an API's VirtualServices, by target (the first label of the destination host); a mirror's percentage as `shadow <target>`. */
function weights(api: ApiManifest): Map<string, number> {
  const out = new Map<string, number>();
  for (const vs of api.objects.filter((o) => o.kind === 'VirtualService')) {
    const http = isRecord(vs.spec) && Array.isArray(vs.spec.http) ? vs.spec.http : [];
    for (const route of http.filter(isRecord)) {
      const destinations = Array.isArray(route.route) ? route.route.filter(isRecord) : [];
      for (const d of destinations) {
        const host = isRecord(d.destination) ? d.destination.host : undefined;
        if (typeof host !== 'string') continue;
        const weight = typeof d.weight === 'number' ? d.weight : destinations.length === 1 ? 100 : 0;
        out.set(host.split('.')[0], weight);
      }
      const mirrorHost = isRecord(route.mirror) ? route.mirror.host : undefined;
      if (typeof mirrorHost === 'string') {
        const percentage = isRecord(route.mirrorPercentage) && typeof route.mirrorPercentage.value === 'number' ? route.mirrorPercentage.value : 100;
        out.set(`shadow ${mirrorHost.split('.')[0]}`, percentage);
      }
    }
  }
  return out;
}

function weightChanges(from: ApiManifest, to: ApiManifest): WeightChange[] {
  const a = weights(from);
  const b = weights(to);
  const targets = [...b.keys(), ...[...a.keys()].filter((k) => !b.has(k))];
  return targets.filter((t) => a.get(t) !== b.get(t)).map((target) => ({ target, from: a.get(target), to: b.get(target) }));
}
