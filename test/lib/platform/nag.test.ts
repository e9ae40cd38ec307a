import { Aws, Stack, Token } from 'aws-cdk-lib';
import { CfnResource } from 'aws-cdk-lib';
import { nagText } from '../../../lib/platform/nag';

describe('nagText', () => {
  test('flattens references as cdk-nag shows them in findings', () => {
    const stack = new Stack();
    const resource = new CfnResource(stack, 'Cluster', { type: 'AWS::EKS::Cluster' });
    const arn = `arn:${Aws.PARTITION}:eks:${Aws.REGION}:${Aws.ACCOUNT_ID}:nodegroup/${resource.ref}/*/*`;
    expect(nagText(stack, arn)).toBe('arn:<AWS::Partition>:eks:<AWS::Region>:<AWS::AccountId>:nodegroup/<Cluster>/*/*');
    expect(nagText(stack, Token.asString(resource.getAtt('Arn')))).toBe('<Cluster.Arn>');
  });

  test('leaves literal text as it is', () => {
    expect(nagText(new Stack(), '*')).toBe('*');
  });
});
