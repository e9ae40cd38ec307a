import {
  CloudFormationClient,
  DescribeStacksCommand,
  GetTemplateCommand,
  paginateListStackResources,
  type StackResourceSummary,
} from '@aws-sdk/client-cloudformation';
import * as YAML from 'yaml';
import { classifyAwsError } from '../aws-errors';
import { DiffError, REQUIRED_ACTIONS } from './errors';
import { type CfnTemplate, type LoadedTemplate, NESTED_STACK_TYPE, type StackTemplates, withNestedTemplates } from './templates';

/** How to reach CloudFormation. */
export interface DeployedOptions {
  /**
   * The region of stacks whose assembly names none (environment-agnostic stacks).
   * @default - the SDK's: AWS_REGION, then the profile's region
   */
  readonly region?: string;
  /**
   * The named profile of the shared AWS config and credentials files.
   * @default - the SDK's: AWS_PROFILE, then `default`
   */
  readonly profile?: string;
  /**
   * Makes the client of a region (undefined: the SDK's default region).
   * @default - a CloudFormationClient with the region and profile above
   */
  readonly client?: (region: string | undefined) => CloudFormationClient;
}

/** The deployed side: the stacks found, and those that are not deployed (every API in them is added). */
export interface DeployedSnapshot {
  readonly stacks: StackTemplates[];
  readonly notDeployed: string[];
}

/** Stack states that hold nothing deployed: a change set never executed, a first create rolled back. */
const NOTHING_DEPLOYED = new Set(['REVIEW_IN_PROGRESS', 'ROLLBACK_COMPLETE', 'DELETE_COMPLETE']);

/**
 * The deployed templates of `stacks` (those of the assembly to deploy), nested stacks included: each stack
 * by its name, in its environment's region; each nested stack by the physical id its parent's resource has.
 */
export async function readDeployed(
  stacks: ReadonlyArray<Pick<StackTemplates, 'stackName' | 'region'>>,
  options: DeployedOptions = {},
): Promise<DeployedSnapshot> {
  const clients = new Map<string | undefined, CloudFormationClient>();
  const clientFor = (region: string | undefined): CloudFormationClient => {
    let client = clients.get(region);
    if (client === undefined) {
      client = options.client ? options.client(region) : new CloudFormationClient({ region, profile: options.profile });
      clients.set(region, client);
    }
    return client;
  };
  const out: StackTemplates[] = [];
  const notDeployed: string[] = [];
  for (const stack of stacks) {
    const region = stack.region ?? options.region;
    const reader = new StackReader(clientFor(region), stack.stackName);
    const root = await reader.rootTemplate();
    if (root === undefined) {
      notDeployed.push(stack.stackName);
      continue;
    }
    const templates = await withNestedTemplates({ stackName: stack.stackName, template: root.template, stackId: root.stackId }, (parent, logicalId) =>
      reader.nestedTemplate(parent, logicalId),
    );
    out.push({ stackName: stack.stackName, region, templates });
  }
  return { stacks: out, notDeployed };
}

class StackReader {
  private readonly resources = new Map<string, Promise<StackResourceSummary[]>>();

  constructor(
    private readonly client: CloudFormationClient,
    private readonly stackName: string,
  ) {}

  /** The stack's template; undefined when the stack is not deployed. */
  public async rootTemplate(): Promise<{ template: CfnTemplate; stackId: string } | undefined> {
    let stack;
    try {
      stack = (await this.client.send(new DescribeStacksCommand({ StackName: this.stackName }))).Stacks?.[0];
    } catch (e) {
      if (isStackMissing(e)) return undefined;
      throw awsError(e, `stack ${this.stackName}`);
    }
    if (stack === undefined || NOTHING_DEPLOYED.has(String(stack.StackStatus))) return undefined;
    const stackId = stack.StackId ?? this.stackName;
    const template = await this.template(stackId, `stack ${this.stackName}`);
    return template === undefined ? undefined : { template, stackId };
  }

  /** A nested stack's template, found through its parent's resource; undefined when it is not deployed. */
  public async nestedTemplate(parent: LoadedTemplate, logicalId: string): Promise<{ template: CfnTemplate; stackId: string } | undefined> {
    const parentId = parent.stackId!;
    const resource = (await this.listResources(parentId)).find((r) => r.LogicalResourceId === logicalId);
    const stackId = resource?.PhysicalResourceId;
    if (resource === undefined || !stackId || resource.ResourceType !== NESTED_STACK_TYPE || resource.ResourceStatus === 'CREATE_FAILED') {
      return undefined;
    }
    const template = await this.template(stackId, `nested stack ${logicalId} of ${parent.displayPath}`);
    return template === undefined ? undefined : { template, stackId };
  }

  private listResources(stackId: string): Promise<StackResourceSummary[]> {
    let listed = this.resources.get(stackId);
    if (listed === undefined) {
      listed = (async () => {
        const all: StackResourceSummary[] = [];
        try {
          for await (const page of paginateListStackResources({ client: this.client }, { StackName: stackId })) {
            all.push(...(page.StackResourceSummaries ?? []));
          }
        } catch (e) {
          throw awsError(e, `the resources of ${this.stackName}`);
        }
        return all;
      })();
      this.resources.set(stackId, listed);
    }
    return listed;
  }

  /**
   * The template as it was submitted (`Original`): the form `cdk synth` writes, so that both sides compare
   * like for like. `Processed` is the template after transforms (macros, `AWS::LanguageExtensions`), which
   * a synthesized assembly never shows.
   */
  private async template(stackName: string, what: string): Promise<CfnTemplate | undefined> {
    let body: string | undefined;
    try {
      body = (await this.client.send(new GetTemplateCommand({ StackName: stackName, TemplateStage: 'Original' }))).TemplateBody;
    } catch (e) {
      if (isStackMissing(e)) return undefined;
      throw awsError(e, what);
    }
    if (body === undefined) return undefined;
    try {
      return JSON.parse(body) as CfnTemplate;
    } catch {
      // Templates deployed from YAML (not by the CDK); intrinsics' short forms (!Ref) are read as plain values.
      return YAML.parse(body, { logLevel: 'silent' }) as CfnTemplate;
    }
  }
}

/** CloudFormation's answer for a stack that does not exist: a ValidationError saying so. */
function isStackMissing(e: unknown): boolean {
  return classifyAwsError(e).kind === 'not-found';
}

/** An AWS failure as a message that says what to do. */
export function awsError(e: unknown, what: string): DiffError {
  const { kind, name, message } = classifyAwsError(e);
  switch (kind) {
    case 'no-credentials':
      return new DiffError(
        `no AWS credentials to read ${what} (${message}): set AWS_PROFILE (or --profile), or AWS_ACCESS_KEY_ID and ` +
          'AWS_SECRET_ACCESS_KEY; or compare with an assembly synthesized earlier, offline: --from DIR',
      );
    case 'expired-credentials':
    case 'rejected-credentials':
      return new DiffError(`AWS rejected the credentials reading ${what} (${name}: ${message}): refresh them (e.g. aws sso login) and retry`);
    case 'access-denied':
      return new DiffError(`not allowed to read ${what} (${message}): cortex diff needs ${REQUIRED_ACTIONS}`);
    case 'no-region':
      return new DiffError(`no AWS region to read ${what}: the assembly names none for it; set AWS_REGION or pass --region`);
  }
  return new DiffError(`cannot read ${what}: ${name}: ${message}`);
}
