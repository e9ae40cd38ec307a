import * as fs from 'node:fs';
import * as path from 'node:path';
import { DiffError } from './errors';
import { renderIntrinsic } from './intrinsics';
import { type CfnResource, type CfnTemplate, type StackTemplates, withNestedTemplates } from './templates';

/** A synthesized cloud assembly's stacks, read from its directory (`cdk.out`). */
export interface AssemblySnapshot {
  readonly directory: string;
  readonly stacks: StackTemplates[];
}

interface ArtifactManifest {
  readonly type: string;
  readonly environment?: string;
  readonly properties?: { templateFile?: string; stackName?: string; directoryName?: string; file?: string };
}

/**
 * Every stack of the assembly in `directory` (and of the assemblies nested in it, e.g. CDK Stages), each with
 * its nested stacks' templates: the files the parent's `AWS::CloudFormation::Stack` resources name in their
 * `aws:asset:path` metadata.
 */
export async function readAssembly(directory: string): Promise<AssemblySnapshot> {
  const stacks: StackTemplates[] = [];
  await readInto(directory, stacks);
  return { directory, stacks };
}

async function readInto(directory: string, stacks: StackTemplates[]): Promise<void> {
  const manifestFile = path.join(directory, 'manifest.json');
  if (!fs.existsSync(manifestFile)) {
    const what = fs.existsSync(directory) ? 'has no manifest.json' : 'does not exist';
    throw new DiffError(`${directory} ${what}: it is not a cloud assembly (run \`npx cdk synth\` to make one)`);
  }
  const manifest = readJson(manifestFile) as { artifacts?: Record<string, ArtifactManifest> };
  const fileAssets = assetFiles(directory, Object.values(manifest.artifacts ?? {}));
  for (const [id, artifact] of Object.entries(manifest.artifacts ?? {})) {
    if (artifact.type === 'cdk:cloud-assembly' && artifact.properties?.directoryName) {
      await readInto(path.join(directory, artifact.properties.directoryName), stacks);
    }
    if (artifact.type !== 'aws:cloudformation:stack' || !artifact.properties?.templateFile) continue;
    const template = readJson(path.join(directory, artifact.properties.templateFile)) as CfnTemplate;
    const stackName = artifact.properties.stackName ?? id;
    const templates = await withNestedTemplates({ stackName, template }, async (_parent, logicalId, resource) => {
      const file = nestedTemplateFile(resource, fileAssets);
      if (file === undefined) {
        throw new DiffError(
          `${stackName}: the template of the nested stack ${logicalId} is not in ${directory} ` +
            '(neither its aws:asset:path metadata nor its TemplateURL names a file of the assembly)',
        );
      }
      return { template: readJson(path.join(directory, file)) as CfnTemplate };
    });
    stacks.push({ stackName, ...environment(artifact.environment), templates });
  }
}

/**
 * The assembly's file of a nested stack's template: the `aws:asset:path` metadata `cdk synth` writes, or else
 * (an app synthesized without asset metadata) the file asset whose hash ends the `TemplateURL`.
 */
function nestedTemplateFile(resource: CfnResource, fileAssets: ReadonlyMap<string, string>): string | undefined {
  const file = resource.Metadata?.['aws:asset:path'];
  if (typeof file === 'string' && file.endsWith('.json')) return file;
  const hash = /([0-9a-f]{64})\.json/.exec(renderIntrinsic(resource.Properties?.TemplateURL ?? ''))?.[1];
  return hash === undefined ? undefined : fileAssets.get(hash);
}

/** The file assets of the assembly's asset manifests: hash → path of the source, relative to the assembly. */
function assetFiles(directory: string, artifacts: ArtifactManifest[]): Map<string, string> {
  const files = new Map<string, string>();
  for (const artifact of artifacts) {
    if (artifact.type !== 'cdk:asset-manifest' || !artifact.properties?.file) continue;
    const assets = readJson(path.join(directory, artifact.properties.file)) as { files?: Record<string, { source?: { path?: string } }> };
    for (const [hash, asset] of Object.entries(assets.files ?? {})) {
      if (asset.source?.path) files.set(hash, asset.source.path);
    }
  }
  return files;
}

/** `aws://123456789012/us-east-1`; the `unknown-account` / `unknown-region` of environment-agnostic stacks are left out. */
function environment(env: string | undefined): { account?: string; region?: string } {
  const match = /^aws:\/\/([^/]*)\/(.*)$/.exec(env ?? '');
  if (!match) return {};
  return {
    account: match[1] === 'unknown-account' ? undefined : match[1],
    region: match[2] === 'unknown-region' ? undefined : match[2],
  };
}

function readJson(file: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new DiffError(`cannot read ${file}: ${(e as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new DiffError(`${file} is not valid JSON: ${(e as Error).message}`);
  }
}
