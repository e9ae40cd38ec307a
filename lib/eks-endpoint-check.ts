import { CfnResource, IAspect, Stack, Token, Validations } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';
import { CortexValidationError } from './errors';

/**
 * The id of the finding "the EKS API endpoint is public to every address", for
 * `Validations.of(scope).acknowledge({ id, reason })` (or {@link acknowledgePublicEndpoint}).
 */
export const PUBLIC_ENDPOINT_FINDING = 'cortex-cdk:eks-endpoint-open-to-all';

/** The addresses that stand for "anyone" in a list of CIDR blocks. */
const EVERY_ADDRESS = ['0.0.0.0/0', '::/0'];

/**
 * What an `AWS::EKS::Cluster`'s `ResourcesVpcConfig` (resolved, camelCase as on the L1) says about its public
 * endpoint: the CIDR block that opens it to every address, or undefined when it is private, restricted, or not
 * known at synth. CloudFormation's defaults apply to what is absent: the endpoint is public, to `0.0.0.0/0`.
 */
export function endpointOpenToAll(vpcConfig: unknown): string | undefined {
  const config = (typeof vpcConfig === 'object' && vpcConfig !== null ? vpcConfig : {}) as {
    endpointPublicAccess?: unknown;
    publicAccessCidrs?: unknown;
  };
  const isPublic = config.endpointPublicAccess ?? true;
  if (isPublic !== true) {
    // false, or a reference only known at deploy time
    return undefined;
  }
  const cidrs = config.publicAccessCidrs ?? [];
  if (!Array.isArray(cidrs)) {
    return undefined;
  }
  if (cidrs.length === 0) {
    return EVERY_ADDRESS[0];
  }
  return cidrs.find((cidr): cidr is string => typeof cidr === 'string' && EVERY_ADDRESS.includes(cidr));
}

/**
 * Warns, on every EKS cluster in its scope, when the Kubernetes API endpoint is public to every address — unless
 * acknowledged with a reason. cdk-nag's `AwsSolutions-EKS1` does the same for the `aws-eks` (v1) cluster only: it
 * tests for that module's L1 class, which `aws-eks-v2` does not use, so this looks at the resource type instead.
 * A warning, not an error: a public endpoint (IAM still authenticates every request) is what lets `cdk deploy`,
 * kubectl and `cortex get` work from a laptop; `cdk synth --strict` makes it fail.
 *
 * `CortexCluster` adds it to itself; for a cluster of your own: `Aspects.of(stack).add(new EksEndpointCheck())`.
 */
export class EksEndpointCheck implements IAspect {
  public visit(node: IConstruct): void {
    if (!CfnResource.isCfnResource(node) || node.cfnResourceType !== 'AWS::EKS::Cluster') {
      return;
    }
    const stack = Stack.of(node);
    const open = endpointOpenToAll(stack.resolve((node as unknown as { resourcesVpcConfig?: unknown }).resourcesVpcConfig));
    if (open === undefined) {
      return;
    }
    const name = (node as unknown as { name?: unknown }).name;
    const which = typeof name === 'string' && !Token.isUnresolved(name) ? `EKS cluster ${name}` : 'this EKS cluster';
    Validations.of(node).addWarning(
      PUBLIC_ENDPOINT_FINDING,
      `${which}: the Kubernetes API endpoint is public to every address (${open}). Requests still need IAM ` +
        'credentials, but the API server is open to the whole internet. Restrict it (CortexCluster endpointAccess: ' +
        "eks.EndpointAccess.PUBLIC_AND_PRIVATE.onlyFrom('203.0.113.0/24'), or eks.EndpointAccess.PRIVATE), or " +
        `acknowledge it with a reason: Validations.of(cluster).acknowledge({ id: '${PUBLIC_ENDPOINT_FINDING}', reason: '...' })`,
    );
  }
}

/**
 * Accepts, for every EKS cluster under `scope`, an API endpoint public to every address, and records why (the
 * reason is kept in the construct metadata, where audits read it).
 */
export function acknowledgePublicEndpoint(scope: IConstruct, reason: string): void {
  if (reason.trim() === '') {
    throw new CortexValidationError(
      `the reason for a public EKS endpoint (${JSON.stringify(reason)}) must say why it is acceptable, e.g. "kubectl from laptops without fixed addresses"`,
    );
  }
  Validations.of(scope).acknowledge({ id: PUBLIC_ENDPOINT_FINDING, reason });
}
