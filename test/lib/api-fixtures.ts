/**
 * Fixtures of the RealtimeApi / TrafficSplitter / CortexApis tests: a cluster with a kubectl provider,
 * a platform whose `ready` is a manifest, and readers of synthesized manifests.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { KubectlV36Layer } from '@aws-cdk/lambda-layer-kubectl-v36';
import * as cdk from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as eks from 'aws-cdk-lib/aws-eks-v2';
import { DependencyGroup } from 'constructs';
import type { IApiPlatform } from '../../lib/platform/api-platform';

export const MANIFEST_TYPE = 'Custom::AWSCDK-EKS-KubernetesResource';
export const ENDPOINT_URL = 'http://apis.example.com';

export interface ClusterStack {
  readonly app: cdk.App;
  readonly stack: cdk.Stack;
  readonly cluster: eks.Cluster;
  /** A platform whose `ready` is the namespace manifest (logical id `namespaceId` in the stack). */
  readonly platform: IApiPlatform;
  readonly namespace: eks.KubernetesManifest;
}

/** A stack with an aws-eks-v2 cluster (kubectl provider, no capacity) and a platform that waits for its namespace. */
export function clusterStack(options: { endpointUrl?: string; namespace?: string; endpointAccess?: eks.EndpointAccess } = {}): ClusterStack {
  const app = new cdk.App();
  const stack = new cdk.Stack(app, 'Test');
  const cluster = new eks.Cluster(stack, 'Cluster', {
    version: eks.KubernetesVersion.V1_36,
    defaultCapacity: 0,
    defaultCapacityType: eks.DefaultCapacityType.NODEGROUP,
    endpointAccess: options.endpointAccess,
    kubectlProviderOptions: { kubectlLayer: new KubectlV36Layer(stack, 'KubectlLayer') },
  });
  const name = options.namespace ?? 'cortex';
  const namespace = cluster.addManifest('Namespace', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  const platform: IApiPlatform = {
    namespace: name,
    gatewayUrl: 'http://apis-gateway.istio-system.svc.cluster.local',
    prometheusUrl: 'http://prometheus-server.prometheus.svc.cluster.local',
    neuronSchedulerName: 'my-scheduler',
    endpointUrl: options.endpointUrl,
    ready: new DependencyGroup(namespace),
  };
  return { app, stack, cluster, platform, namespace };
}

/** The logical id of a construct's CloudFormation resource in its stack. */
export function logicalId(construct: { node: { defaultChild?: unknown } } & object): string {
  const resource = (construct as { node: { defaultChild?: cdk.CfnElement } }).node.defaultChild!;
  return cdk.Stack.of(resource).resolve(resource.logicalId);
}

export type KubeObject = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string> }; spec?: any };

export interface SynthesizedManifest {
  readonly id: string;
  readonly objects: KubeObject[];
  /** The manifest text, tokens (Fn::Join parts) shown as their JSON. */
  readonly text: string;
  readonly dependsOn: string[];
  readonly properties: Record<string, unknown>;
}

/** The KubernetesManifests of a template, with their objects parsed (tokens replaced by a marker). */
export function manifestsOf(template: Template): SynthesizedManifest[] {
  return Object.entries(template.findResources(MANIFEST_TYPE)).map(([id, resource]) => {
    const manifest = resource.Properties.Manifest;
    const text =
      typeof manifest === 'string'
        ? manifest
        : (manifest['Fn::Join'][1] as unknown[]).map((part) => (typeof part === 'string' ? part : `<${JSON.stringify(part).replace(/"/g, "'")}>`)).join('');
    return { id, objects: JSON.parse(text), text, dependsOn: resource.DependsOn ?? [], properties: resource.Properties };
  });
}

/** `Kind/name` of each object, sorted. */
export function objectKeys(objects: KubeObject[]): string[] {
  return objects.map((o) => `${o.kind}/${o.metadata.name}`).sort();
}

/** A project directory with a predictor (and a requirements file) in `dir`. */
export function writeProject(dir: string, files: Record<string, string> = {}): string {
  const all = { 'predictor.py': 'class PythonPredictor:\n    def predict(self, payload):\n        return payload\n', 'requirements.txt': 'numpy\n', ...files };
  for (const [name, text] of Object.entries(all)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), text);
  }
  return dir;
}
