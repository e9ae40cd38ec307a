import { API_KIND_LABEL, API_NAME_LABEL, API_NAMESPACE_LABEL, DEFAULT_NAMESPACE } from '../../../constructs/names';
import { substituteParameters } from './intrinsics';
import type { LoadedTemplate, StackTemplates } from './templates';
import { parseManifestJson, TokenString } from './token-string';

/** The CloudFormation type of an aws-eks(-v2) KubernetesManifest. */
export const MANIFEST_TYPE = 'Custom::AWSCDK-EKS-KubernetesResource';

/** The label the kubectl handler adds to every object of a manifest, for pruning; it names the resource, not the API. */
const PRUNE_LABEL_PREFIX = 'aws.cdk.eks/prune-';

/** A Kubernetes object of a manifest; strings CloudFormation completes are {@link TokenString}s. */
export interface KubeObject {
  readonly apiVersion?: unknown;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace?: string; readonly labels?: Record<string, unknown> };
  readonly [field: string]: unknown;
}

/** Where an API's manifest is: which template, which resource. */
export interface ManifestLocation {
  readonly stackName: string;
  readonly nestedPath: readonly string[];
  readonly logicalId: string;
  /** Readable: the construct path (`Cortex/Apis/Apis05/hello-world`), else the template's place and the logical id. */
  readonly display: string;
}

/** One API (or TrafficSplitter): its objects, found by their `cortex.dev/api-name` label. */
export interface ApiManifest {
  /**
   * `stack/namespace/name`: what identifies an API across two assemblies, wherever its manifest lives within
   * its top-level stack (the same cortex.yaml deployed by two stacks, e.g. to a dev and a prod cluster,
   * makes two APIs of each name).
   */
  readonly key: string;
  readonly name: string;
  readonly namespace: string;
  /** The `cortex.dev/api-kind` label: `RealtimeAPI` or `TrafficSplitter`. */
  readonly kind: string;
  readonly location: ManifestLocation;
  /** Its objects, without the kubectl handler's prune label. */
  readonly objects: KubeObject[];
}

/** The APIs of some stacks, and what could not be read (a manifest that is not JSON). */
export interface ApiManifests {
  readonly apis: ApiManifest[];
  readonly problems: string[];
}

/**
 * Every API in the KubernetesManifests of `stacks`: objects are grouped by top-level stack, namespace and
 * `cortex.dev/api-name` label; objects without the label (the platform's) are not APIs and are left out.
 */
export function apiManifests(stacks: readonly StackTemplates[]): ApiManifests {
  const apis = new Map<string, { api: ApiManifest; objects: KubeObject[] }>();
  const problems: string[] = [];
  for (const loaded of stacks.flatMap((s) => s.templates)) {
    for (const [logicalId, resource] of Object.entries(loaded.template.Resources ?? {})) {
      if (resource.Type !== MANIFEST_TYPE) continue;
      const location = manifestLocation(loaded, logicalId, resource.Metadata?.['aws:cdk:path']);
      let objects: KubeObject[];
      try {
        objects = manifestObjects(substituteParameters(resource.Properties?.Manifest, loaded.parameters));
      } catch (e) {
        // A RangeError is the stack running out: objects nested thousands deep, which no chart renders.
        const why = e instanceof RangeError ? 'nested too deeply' : (e as Error).message;
        problems.push(`${location.display}: the manifest cannot be read (${why}); its objects are not compared`);
        continue;
      }
      for (const object of objects) {
        const name = labelOf(object, API_NAME_LABEL);
        if (name === undefined) continue;
        // An API's objects in another namespace (its JWT policies, in the gateway's) say the API's in a label.
        const namespace = labelOf(object, API_NAMESPACE_LABEL) ?? text(object.metadata.namespace) ?? DEFAULT_NAMESPACE;
        const key = `${loaded.stackName}/${namespace}/${name}`;
        let entry = apis.get(key);
        if (entry === undefined) {
          const objectsOfApi: KubeObject[] = [];
          entry = {
            objects: objectsOfApi,
            api: { key, name, namespace, kind: labelOf(object, API_KIND_LABEL) ?? 'API', location, objects: objectsOfApi },
          };
          apis.set(key, entry);
        }
        entry.objects.push(withoutPruneLabel(object));
      }
    }
  }
  return { apis: [...apis.values()].map((e) => e.api), problems };
}

/** The objects of a `Manifest` property: a JSON array (or one object) of Kubernetes objects. */
export function manifestObjects(manifest: unknown): KubeObject[] {
  const parsed = parseManifestJson(manifest);
  const list = Array.isArray(parsed) ? parsed : [parsed];
  return list.filter(
    (o): o is KubeObject =>
      o !== null && typeof o === 'object' && typeof (o as KubeObject).kind === 'string' && typeof (o as KubeObject).metadata?.name === 'string',
  );
}

/** `Kind/name`: an object's identity within its API. */
export function objectKey(object: KubeObject): string {
  return `${object.kind}/${object.metadata.name}`;
}

function manifestLocation(loaded: LoadedTemplate, logicalId: string, cdkPath: unknown): ManifestLocation {
  const display =
    typeof cdkPath === 'string' ? cdkPath.replace(/(\/Resource)*(\/Default)?$/, '') : `${loaded.displayPath} (${logicalId})`;
  return { stackName: loaded.stackName, nestedPath: loaded.nestedPath, logicalId, display };
}

function labelOf(object: KubeObject, label: string): string | undefined {
  return text(object.metadata.labels?.[label]);
}

function text(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  return value instanceof TokenString ? value.text : undefined;
}

function withoutPruneLabel(object: KubeObject): KubeObject {
  const labels = object.metadata.labels;
  if (labels === undefined || !Object.keys(labels).some((k) => k.startsWith(PRUNE_LABEL_PREFIX))) return object;
  const kept = Object.fromEntries(Object.entries(labels).filter(([k]) => !k.startsWith(PRUNE_LABEL_PREFIX)));
  return { ...object, metadata: { ...object.metadata, labels: kept } };
}
