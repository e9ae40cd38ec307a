import {
  CloudFormationClient,
  DescribeStacksCommand,
  GetTemplateCommand,
  ListStackResourcesCommand,
} from '@aws-sdk/client-cloudformation';
import { mockClient } from 'aws-sdk-client-mock';
import { diffStacks } from '../../../bin/cli/diff/api-diff';
import { readDeployed } from '../../../bin/cli/diff/deployed';
import { DiffError } from '../../../bin/cli/diff/errors';
import type { StackTemplates } from '../../../bin/cli/diff/templates';
import { deploymentObjects, manifestResource, manifestWithToken } from './fixtures';

const cloudFormation = mockClient(CloudFormationClient);
const PARENT_ID = 'arn:aws:cloudformation:eu-west-1:123456789012:stack/Models/1';
const NESTED_ID = 'arn:aws:cloudformation:eu-west-1:123456789012:stack/Models-Apis05-X/2';

const parentTemplate = {
  Resources: {
    Apis05: {
      Type: 'AWS::CloudFormation::Stack',
      Properties: { TemplateURL: 'https://s3/x.json', Parameters: { referencetoImage: 'example.com/a:1' } },
      Metadata: { 'aws:cdk:path': 'Models/Apis/Apis05.NestedStack/Apis05.NestedStackResource' },
    },
    NotYet: { Type: 'AWS::CloudFormation::Stack', Properties: { TemplateURL: 'https://s3/y.json' } },
  },
};
/** As deployed: `hello`'s image is the parameter its parent passes (example.com/a:1). */
const nestedTemplate = {
  Resources: { hello: manifestWithToken(deploymentObjects('hello', { image: 'IMAGE' }), 'IMAGE', { Ref: 'referencetoImage' }) },
};

/** The stack as the assembly to deploy has it: `hello` with image a:2. */
const local: StackTemplates[] = [
  {
    stackName: 'Models',
    region: 'eu-west-1',
    templates: [
      { stackName: 'Models', nestedPath: [], displayPath: 'Models', template: parentTemplate, parameters: new Map() },
      {
        stackName: 'Models',
        nestedPath: ['Apis05'],
        displayPath: 'Models/Apis/Apis05',
        template: { Resources: { hello: manifestResource(deploymentObjects('hello', { image: 'example.com/a:2' })) } } as never,
        parameters: new Map(),
      },
    ],
  },
];

function deployedStack(status = 'UPDATE_COMPLETE'): void {
  cloudFormation.on(DescribeStacksCommand, { StackName: 'Models' }).resolves({ Stacks: [{ StackName: 'Models', StackId: PARENT_ID, StackStatus: status as never, CreationTime: new Date() }] });
  cloudFormation.on(GetTemplateCommand, { StackName: PARENT_ID }).resolves({ TemplateBody: JSON.stringify(parentTemplate) });
  cloudFormation.on(GetTemplateCommand, { StackName: NESTED_ID }).resolves({ TemplateBody: JSON.stringify(nestedTemplate) });
  cloudFormation.on(ListStackResourcesCommand, { StackName: PARENT_ID }).resolves({
    StackResourceSummaries: [
      { LogicalResourceId: 'Apis05', PhysicalResourceId: NESTED_ID, ResourceType: 'AWS::CloudFormation::Stack', ResourceStatus: 'UPDATE_COMPLETE', LastUpdatedTimestamp: new Date() },
    ],
  });
}

beforeEach(() => cloudFormation.reset());

describe('readDeployed', () => {
  test('GIVEN a deployed stack with a nested stack (and one not deployed yet) THEN the two deployed templates, original stage, in the stack\'s region', async () => {
    // GIVEN
    deployedStack();
    const regions: Array<string | undefined> = [];
    // WHEN
    const deployed = await readDeployed([{ stackName: 'Models', region: 'eu-west-1' }], {
      region: 'us-east-1',
      client: (region) => {
        regions.push(region);
        return new CloudFormationClient({ region });
      },
    });
    // THEN
    expect(regions).toEqual(['eu-west-1']);
    expect(deployed.notDeployed).toEqual([]);
    const [stack] = deployed.stacks;
    expect(stack.templates.map((t) => [t.displayPath, t.stackId])).toEqual([
      ['Models', PARENT_ID],
      ['Models/Apis/Apis05', NESTED_ID],
    ]);
    expect(cloudFormation.commandCalls(GetTemplateCommand).map((c) => c.args[0].input)).toEqual([
      { StackName: PARENT_ID, TemplateStage: 'Original' },
      { StackName: NESTED_ID, TemplateStage: 'Original' },
    ]);
  });

  test('GIVEN the deployed templates THEN the diff sees the parameter the parent passes (the deployed image)', async () => {
    deployedStack();
    const deployed = await readDeployed([{ stackName: 'Models', region: 'eu-west-1' }]);
    const diff = diffStacks(deployed.stacks, local);
    expect(diff.changes.map((c) => c.objects[0].fields.map((f) => [f.from, f.to]))).toEqual([[['example.com/a:1', 'example.com/a:2']]]);
  });

  test('GIVEN a region-less stack THEN the --region given', async () => {
    deployedStack();
    const regions: Array<string | undefined> = [];
    await readDeployed([{ stackName: 'Models' }], { region: 'ap-south-1', client: (region) => (regions.push(region), new CloudFormationClient({ region })) });
    expect(regions).toEqual(['ap-south-1']);
  });

  test('GIVEN a stack that does not exist, or one only reviewed THEN not deployed (everything in it is added)', async () => {
    cloudFormation.on(DescribeStacksCommand).rejects(Object.assign(new Error('Stack with id Models does not exist'), { name: 'ValidationError' }));
    expect(await readDeployed([{ stackName: 'Models', region: 'eu-west-1' }])).toEqual({ stacks: [], notDeployed: ['Models'] });
    cloudFormation.reset();
    deployedStack('REVIEW_IN_PROGRESS');
    expect((await readDeployed([{ stackName: 'Models', region: 'eu-west-1' }])).notDeployed).toEqual(['Models']);
  });

  test('GIVEN no credentials THEN an error that says how to give them, or to compare offline', async () => {
    cloudFormation.on(DescribeStacksCommand).rejects(Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' }));
    const reading = readDeployed([{ stackName: 'Models', region: 'eu-west-1' }]);
    await expect(reading).rejects.toThrow(DiffError);
    await expect(reading).rejects.toThrow(/^no AWS credentials to read stack Models \(Could not load credentials from any providers\): set AWS_PROFILE .*--from DIR$/);
  });

  test('GIVEN expired credentials, a denied call, no region THEN errors that say what to do', async () => {
    const fail = async (name: string, message: string) => {
      cloudFormation.reset();
      cloudFormation.on(DescribeStacksCommand).rejects(Object.assign(new Error(message), { name }));
      return readDeployed([{ stackName: 'Models', region: 'eu-west-1' }]).catch((e: Error) => e.message);
    };
    expect(await fail('ExpiredToken', 'The security token included in the request is expired')).toMatch(/^AWS rejected the credentials reading stack Models \(ExpiredToken: .*\): refresh them/);
    for (const name of ['ExpiredTokenException', 'InvalidClientTokenId', 'UnrecognizedClientException', 'SignatureDoesNotMatch', 'InvalidSignatureException']) {
      expect(await fail(name, 'no')).toBe(`AWS rejected the credentials reading stack Models (${name}: no): refresh them (e.g. aws sso login) and retry`);
    }
    expect(await fail('AccessDeniedException', 'User x is not authorized')).toMatch(/^not allowed to read stack Models /);
    expect(await fail('AccessDenied', 'User x is not authorized')).toMatch(/^not allowed to read stack Models .*needs cloudformation:DescribeStacks, cloudformation:GetTemplate and cloudformation:ListStackResources$/);
    expect(await fail('Error', 'Region is missing')).toMatch(/^no AWS region to read stack Models: .*set AWS_REGION or pass --region$/);
    expect(await fail('TimeoutError', 'socket hang up')).toBe('cannot read stack Models: TimeoutError: socket hang up');
  });
});
