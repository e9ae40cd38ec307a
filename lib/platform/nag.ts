import { Stack, Validations } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';
import { isMapping } from '../config/describe-value';

/**
 * Acknowledgements of cdk-nag findings, recorded with aws-cdk-lib's own `Validations.acknowledge()`
 * (which cdk-nag 3 reads), so that the library needs no cdk-nag at run time. Each says why.
 */

/**
 * How cdk-nag names a value in its findings: CloudFormation references flattened to `<LogicalId>` and
 * `<LogicalId.Attribute>`, pseudo parameters to `<AWS::Region>`, joins concatenated.
 */
export function nagText(scope: IConstruct, value: string): string {
  return flatten(Stack.of(scope).resolve(value));
}

function flatten(node: unknown): string {
  if (typeof node === 'string') {
    return node.replace(/\$\{/g, '<').replace(/\}/g, '>');
  }
  if (isMapping(node)) {
    if (Array.isArray(node['Fn::Join'])) {
      const [delimiter, items] = node['Fn::Join'] as [string, unknown[]];
      return items.map(flatten).join(delimiter);
    }
    if (Array.isArray(node['Fn::GetAtt'])) {
      const [resource, attribute] = node['Fn::GetAtt'] as [unknown, unknown];
      return `<${flatten(resource)}.${flatten(attribute)}>`;
    }
    if (node.Ref !== undefined) {
      return `<${flatten(node.Ref)}>`;
    }
  }
  return JSON.stringify(node);
}

/** Acknowledges the `AwsSolutions-IAM5` finding of a wildcard resource on `scope`'s policies. */
export function acknowledgeWildcardResource(scope: IConstruct, resource: string, reason: string): void {
  Validations.of(scope).acknowledge({ id: `AwsSolutions-IAM5[Resource::${nagText(scope, resource)}]`, reason });
}

/** Acknowledges the `AwsSolutions-IAM4` finding of an AWS managed policy attached to `scope`. */
export function acknowledgeManagedPolicy(scope: IConstruct, policyName: string, reason: string): void {
  Validations.of(scope).acknowledge({
    id: `AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/${policyName}]`,
    reason,
  });
}
