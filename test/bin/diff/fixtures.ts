/**
 * Fixtures of the `cortex diff` tests: cloud assemblies synthesized from cortex.yaml variants (CortexApis
 * on an imported cluster, so no cluster Lambdas are staged; the proxy's image is the real asset).
 */
import * as path from 'node:path';
import * as cdk from 'aws-cdk-lib';
import { parseConfig } from '../../../lib/config';
import { CortexApis } from '../../../lib/cortex-apis';
import { importedCluster } from '../../lib/platform/fixtures';

/**
 * Synthesizes the APIs of `yaml` (stack `Models`, APIs in nested stacks) into `outdir` and returns it, with
 * the path and asset metadata `npx cdk synth` turns on.
 */
export function synthAssembly(outdir: string, yaml: string): string {
  const app = new cdk.App({ outdir, context: { 'aws:cdk:enable-path-metadata': true, 'aws:cdk:enable-asset-metadata': true } });
  const stack = new cdk.Stack(app, 'Models');
  // No rollout gate: its Lambda bundle comes from a build, and a gate is no KubernetesManifest (the diff skips it).
  const config = parseConfig(yaml, path.join(outdir, 'cortex.yaml'));
  new CortexApis(stack, 'Apis', { cluster: importedCluster(stack), config, rolloutGate: false });
  app.synth();
  return outdir;
}

/** What a variant of the fixture's APIs changes from the base. */
export interface Variant {
  readonly imageTag: string;
  readonly scale: { min: number; max: number };
  readonly probePath: string;
  readonly weights: [number, number];
  /** Whether `legacy` is there (removed in the changed variant) and `fresh` (added). */
  readonly legacy: boolean;
  readonly fresh: boolean;
}

export const BASE: Variant = { imageTag: '1.0', scale: { min: 2, max: 10 }, probePath: '/healthz', weights: [50, 50], legacy: true, fresh: false };
export const CHANGED: Variant = { imageTag: '1.1', scale: { min: 4, max: 20 }, probePath: '/ready', weights: [80, 20], legacy: false, fresh: true };

/**
 * Seven APIs, each changed one way by {@link CHANGED}: `imaged` (its image tag), `scaled` (autoscaling
 * bounds), `probed` (its readiness probe), `split` (a TrafficSplitter's weights), `legacy` (removed), `fresh`
 * (added); `steady` stays as it is.
 */
export function variantYaml(v: Variant): string {
  const api = (name: string, extra = '', image = 'example.com/echo:1.0') => `- name: ${name}
  kind: RealtimeAPI
  pod:
    port: 8080
    containers:
      - name: api
        image: ${image}
${extra}`;
  return [
    api('imaged', '  autoscaling: {min_replicas: 4, max_replicas: 8}\n  update_strategy: {max_surge: "25%", max_unavailable: "25%"}\n', `example.com/imaged:${v.imageTag}`),
    api('scaled', `  autoscaling: {min_replicas: ${v.scale.min}, max_replicas: ${v.scale.max}}\n`),
    api('probed', `        readiness_probe:\n          http_get: {path: ${v.probePath}, port: 8080}\n  update_strategy: {max_surge: 0, max_unavailable: 1}\n`),
    api('steady'),
    v.legacy ? api('legacy') : '',
    v.fresh ? api('fresh', '', 'example.com/fresh:2.0') : '',
    `- name: split
  kind: TrafficSplitter
  apis:
    - {name: imaged, weight: ${v.weights[0]}}
    - {name: steady, weight: ${v.weights[1]}}
`,
  ].join('');
}

/** A KubernetesManifest resource holding `objects`, with JSON text (or `parts` of an `Fn::Join`, tokens among them). */
export function manifestResource(objects: unknown[] | { parts: unknown[] }, cdkPath?: string): Record<string, unknown> {
  const manifest = Array.isArray(objects) ? JSON.stringify(objects) : { 'Fn::Join': ['', objects.parts] };
  return {
    Type: 'Custom::AWSCDK-EKS-KubernetesResource',
    Properties: { ServiceToken: { Ref: 'Provider' }, Manifest: manifest, ClusterName: 'models' },
    ...(cdkPath ? { Metadata: { 'aws:cdk:path': `${cdkPath}/Resource/Resource/Default` } } : {}),
  };
}

/** The labels of an API's objects. */
export function apiLabels(name: string, kind = 'RealtimeAPI'): Record<string, string> {
  return { 'cortex.dev/api-name': name, 'cortex.dev/api-kind': kind, 'app.kubernetes.io/managed-by': 'cortex-cdk' };
}

/** A Deployment and a ScaledObject of an API, with what a test varies. */
export function deploymentObjects(
  name: string,
  options: { image?: unknown; replicas?: number; min?: number; max?: number; maxSurge?: unknown; maxUnavailable?: unknown; specHash?: string } = {},
): Record<string, unknown>[] {
  const metadata = { name, namespace: 'cortex', labels: apiLabels(name) };
  return [
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata,
      spec: {
        replicas: options.replicas ?? 1,
        selector: { matchLabels: { 'cortex.dev/api-name': name } },
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: options.maxSurge ?? '25%', maxUnavailable: options.maxUnavailable ?? '25%' } },
        template: {
          metadata: { annotations: { 'cortex.dev/spec-hash': options.specHash ?? 'aaaa' }, labels: { 'cortex.dev/api-name': name } },
          spec: { containers: [{ name: 'api', image: options.image ?? 'example.com/a:1' }] },
        },
      },
    },
    {
      apiVersion: 'keda.sh/v1alpha1',
      kind: 'ScaledObject',
      metadata,
      spec: { scaleTargetRef: { name }, minReplicaCount: options.min ?? 1, maxReplicaCount: options.max ?? 5 },
    },
  ];
}

/** A KubernetesManifest of `objects` whose string values equal to `marker` are the intrinsic `token`. */
export function manifestWithToken(objects: unknown[], marker: string, token: unknown): Record<string, unknown> {
  const pieces = JSON.stringify(objects).split(JSON.stringify(marker));
  const parts = pieces.flatMap((piece, i) => (i === 0 ? [piece + '"'] : [token, '"' + piece + (i < pieces.length - 1 ? '"' : '')]));
  return manifestResource({ parts });
}
