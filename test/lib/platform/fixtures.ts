import { KubectlV36Layer } from '@aws-cdk/lambda-layer-kubectl-v36';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as eks from 'aws-cdk-lib/aws-eks-v2';
import * as iam from 'aws-cdk-lib/aws-iam';

/** Shared fixtures of the platform tests: clusters to install on, and readers of the synthesized template. */

/** A fresh env-agnostic stack. */
export function newStack(id = 'Test'): Stack {
  return new Stack(new App(), id);
}

/**
 * An `eks.Cluster` as the project builds it: Kubernetes 1.36, a kubectl provider with the v36 layer
 * (aws-eks-v2 refuses Helm charts without one), no default capacity.
 */
export function newCluster(stack: Stack, props: Partial<eks.ClusterProps> = {}): eks.Cluster {
  return new eks.Cluster(stack, 'Cluster', {
    version: eks.KubernetesVersion.V1_36,
    kubectlProviderOptions: { kubectlLayer: new KubectlV36Layer(stack, 'KubectlLayer') },
    defaultCapacity: 0,
    defaultCapacityType: eks.DefaultCapacityType.NODEGROUP,
    vpc: new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1 }),
    ...props,
  });
}

/** The ARN of the imported kubectl provider's Lambda, as a user would paste it. */
export const IMPORTED_PROVIDER_TOKEN = 'arn:aws:lambda:us-east-1:123456789012:function:kubectl-provider';

/**
 * A cluster imported by name with an existing kubectl provider: what `Cluster.fromClusterAttributes`
 * needs in aws-eks-v2 for manifests (`kubectlProvider`) and for Helm charts (the provider's `role`).
 */
export function importedCluster(stack: Stack, attrs: Partial<eks.ClusterAttributes> = {}): eks.ICluster {
  const kubectlProvider = eks.KubectlProvider.fromKubectlProviderAttributes(stack, 'KubectlProvider', {
    serviceToken: IMPORTED_PROVIDER_TOKEN,
    role: iam.Role.fromRoleArn(stack, 'KubectlRole', 'arn:aws:iam::123456789012:role/kubectl-provider'),
  });
  return eks.Cluster.fromClusterAttributes(stack, 'Imported', { clusterName: 'models', kubectlProvider, ...attrs });
}

/** One resource of the template, with its logical id. */
export interface FoundResource {
  readonly logicalId: string;
  readonly type: string;
  readonly properties: Record<string, any>;
  readonly dependsOn: string[];
}

/** Resources of a type, optionally whose properties match `where`. */
export function resources(template: Template, type: string, where: (props: Record<string, any>) => boolean = () => true): FoundResource[] {
  return Object.entries(template.findResources(type))
    .map(([logicalId, r]) => ({
      logicalId,
      type,
      properties: (r.Properties ?? {}) as Record<string, any>,
      dependsOn: ([] as string[]).concat(r.DependsOn ?? []),
    }))
    .filter((r) => where(r.properties));
}

/** The one Helm release with this name; throws when there is not exactly one. */
export function helmRelease(template: Template, release: string): FoundResource {
  const found = resources(template, 'Custom::AWSCDK-EKS-HelmChart', (p) => p.Release === release);
  if (found.length !== 1) {
    throw new Error(`expected one Helm release ${release}, found ${found.length}`);
  }
  return found[0];
}

/** The values of a Helm release, parsed (they may hold CloudFormation functions: see {@link valuesText}). */
export function helmValues(template: Template, release: string): Record<string, any> {
  const values = helmRelease(template, release).properties.Values;
  if (typeof values !== 'string') {
    throw new Error(`values of ${release} are not a literal string: ${JSON.stringify(values)}`);
  }
  return JSON.parse(values);
}

/**
 * The values of a Helm release whose JSON is an `Fn::Join` of text and references, parsed with each
 * reference shown as `<LogicalId>`, `<LogicalId.Attribute>` or `<AWS::Region>`.
 */
export function helmValuesWithReferences(template: Template, release: string): Record<string, any> {
  const values = helmRelease(template, release).properties.Values;
  if (typeof values === 'string') {
    return JSON.parse(values);
  }
  const [separator, parts] = values['Fn::Join'] as [string, unknown[]];
  return JSON.parse(parts.map(referenceText).join(separator));
}

function referenceText(part: unknown): string {
  if (typeof part === 'string') {
    return part;
  }
  const p = part as Record<string, any>;
  if (p.Ref !== undefined) {
    return `<${p.Ref}>`;
  }
  if (p['Fn::GetAtt'] !== undefined) {
    return `<${p['Fn::GetAtt'].join('.')}>`;
  }
  return `<${JSON.stringify(p).replace(/"/g, "'")}>`;
}

/** The values of a Helm release as the template holds them, literal or an `Fn::Join`, as one JSON string. */
export function valuesText(template: Template, release: string): string {
  return JSON.stringify(helmRelease(template, release).properties.Values);
}

/** Every KubernetesManifest whose manifest text (the JSON of its objects) contains `needle`, e.g. `"kind":"Gateway"`. */
export function manifests(template: Template, needle: string): FoundResource[] {
  return resources(template, 'Custom::AWSCDK-EKS-KubernetesResource', (p) =>
    (typeof p.Manifest === 'string' ? p.Manifest : JSON.stringify(p.Manifest)).includes(needle),
  );
}

/** The parsed objects of a manifest whose `Manifest` is a literal string. */
export function manifestObjects(resource: FoundResource): Record<string, any>[] {
  const text = resource.properties.Manifest;
  if (typeof text !== 'string') {
    throw new Error(`manifest ${resource.logicalId} is not a literal string`);
  }
  return JSON.parse(text);
}

/** Whether `from` depends on `to`, directly or through other resources. */
export function dependsOn(template: Template, from: string, to: string): boolean {
  const all = template.toJSON().Resources as Record<string, { DependsOn?: string | string[] }>;
  const seen = new Set<string>();
  const stack = [from];
  while (stack.length > 0) {
    const id = stack.pop() as string;
    for (const next of ([] as string[]).concat(all[id]?.DependsOn ?? [])) {
      if (next === to) {
        return true;
      }
      if (!seen.has(next)) {
        seen.add(next);
        stack.push(next);
      }
    }
  }
  return false;
}
