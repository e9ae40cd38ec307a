import { substituteParameters } from './intrinsics';

/** The parts of a CloudFormation template the diff reads. */
export interface CfnTemplate {
  readonly Resources?: Record<string, CfnResource>;
  readonly Parameters?: Record<string, unknown>;
}

export interface CfnResource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
  readonly Metadata?: Record<string, unknown>;
}

export const NESTED_STACK_TYPE = 'AWS::CloudFormation::Stack';

/** One template of a stack: the stack's own, or one of its nested stacks' (at any depth). */
export interface LoadedTemplate {
  /** The top-level stack's name. */
  readonly stackName: string;
  /** Logical ids of the nested stack resources from the top-level stack down to this template; empty for the stack's own. */
  readonly nestedPath: readonly string[];
  /** A readable place: the nested stack's construct path (`Cortex/Apis/Apis05`) or the stack's name. */
  readonly displayPath: string;
  readonly template: CfnTemplate;
  /** What this template's parameters are, as the parent passes them (already resolved through the parent's own). */
  readonly parameters: ReadonlyMap<string, unknown>;
  /** The deployed stack's id (name or ARN), when read from CloudFormation. */
  readonly stackId?: string;
}

/** A stack and all its templates. */
export interface StackTemplates {
  readonly stackName: string;
  /** The account and region of the stack's environment, when the assembly names them. */
  readonly account?: string;
  readonly region?: string;
  /** Its own template first, then its nested stacks' (depth first). */
  readonly templates: LoadedTemplate[];
}

/** Reads the template of a nested stack resource of `parent`; undefined when it has none (not deployed yet). */
export type NestedTemplateReader = (
  parent: LoadedTemplate,
  logicalId: string,
  resource: CfnResource,
) => Promise<{ template: CfnTemplate; stackId?: string } | undefined>;

/** A stack's template and, through `readNested`, the templates of its nested stacks at every depth. */
export async function withNestedTemplates(
  root: Omit<LoadedTemplate, 'nestedPath' | 'displayPath' | 'parameters'>,
  readNested: NestedTemplateReader,
): Promise<LoadedTemplate[]> {
  const out: LoadedTemplate[] = [];
  const visit = async (loaded: LoadedTemplate): Promise<void> => {
    out.push(loaded);
    for (const [logicalId, resource] of Object.entries(loaded.template.Resources ?? {})) {
      if (resource.Type !== NESTED_STACK_TYPE) continue;
      const child = await readNested(loaded, logicalId, resource);
      if (child === undefined) continue;
      const passed = (resource.Properties?.Parameters ?? {}) as Record<string, unknown>;
      const parameters = new Map(Object.entries(passed).map(([name, v]) => [name, substituteParameters(v, loaded.parameters)]));
      await visit({
        stackName: loaded.stackName,
        nestedPath: [...loaded.nestedPath, logicalId],
        displayPath: nestedDisplayPath(resource, `${loaded.displayPath}/${logicalId}`),
        template: child.template,
        parameters,
        stackId: child.stackId,
      });
    }
  };
  await visit({ ...root, nestedPath: [], displayPath: root.stackName, parameters: new Map() });
  return out;
}

/** `Cortex/Apis/Apis05` from the nested stack resource's `aws:cdk:path` (`.../Apis05.NestedStack/Apis05.NestedStackResource`). */
function nestedDisplayPath(resource: CfnResource, fallback: string): string {
  const cdkPath = resource.Metadata?.['aws:cdk:path'];
  if (typeof cdkPath !== 'string') return fallback;
  return cdkPath.replace(/\.NestedStack\/[^/]*\.NestedStackResource$/, '').replace(/\/Resource$/, '');
}
