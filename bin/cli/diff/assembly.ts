import * as fs from 'node:fs';
import * as path from 'node:path';
import { describeValue, isMapping } from '../../../lib/config/describe-value';
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
  await readInto(directory, stacks, []);
  return { directory, stacks };
}

/** `outer`: the real paths of the assemblies `directory` is nested in, to refuse one nested in itself. */
async function readInto(directory: string, stacks: StackTemplates[], outer: readonly string[]): Promise<void> {
  const manifestFile = path.join(directory, 'manifest.json');
  if (!fs.existsSync(manifestFile)) {
    const what = fs.existsSync(directory) ? 'has no manifest.json' : 'does not exist';
    throw new DiffError(`${directory} ${what}: it is not a cloud assembly (run \`npx cdk synth\` to make one)`);
  }
  const here = [...outer, fs.realpathSync(directory)];
  const artifacts = readManifest(manifestFile);
  const fileAssets = assetFiles(directory, artifacts.map(([, artifact]) => artifact));
  for (const [id, artifact] of artifacts) {
    if (artifact.type === 'cdk:cloud-assembly' && artifact.properties?.directoryName) {
      const nested = path.join(directory, artifact.properties.directoryName);
      if (fs.existsSync(nested) && here.includes(fs.realpathSync(nested))) {
        throw new DiffError(`${manifestFile}: artifacts.${id} nests the assembly ${nested} in itself (properties.directoryName)`);
      }
      await readInto(nested, stacks, here);
    }
    if (artifact.type !== 'aws:cloudformation:stack' || !artifact.properties?.templateFile) continue;
    const templateFile = path.join(directory, artifact.properties.templateFile);
    const template = readTemplate(templateFile);
    const stackName = artifact.properties.stackName ?? id;
    // The template files each template is nested in, to refuse a nested stack that names one of them.
    const enclosing = new Map<CfnTemplate, string[]>([[template, [path.resolve(templateFile)]]]);
    const templates = await withNestedTemplates({ stackName, template }, async (parent, logicalId, resource) => {
      const file = nestedTemplateFile(resource, fileAssets);
      if (file === undefined) {
        throw new DiffError(
          `${stackName}: the template of the nested stack ${logicalId} is not in ${directory} ` +
            '(neither its aws:asset:path metadata nor its TemplateURL names a file of the assembly)',
        );
      }
      const nestedFile = path.resolve(directory, file);
      const chain = enclosing.get(parent.template) ?? [];
      if (chain.includes(nestedFile)) {
        throw new DiffError(`${stackName}: the nested stack ${logicalId} names ${path.join(directory, file)} as its template, which it is itself nested in`);
      }
      const nestedTemplate = readTemplate(path.join(directory, file));
      enclosing.set(nestedTemplate, [...chain, nestedFile]);
      return { template: nestedTemplate };
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
    const assetsFile = path.join(directory, artifact.properties.file);
    const assets = readJson(assetsFile);
    if (!isMapping(assets)) throw new DiffError(`${assetsFile} is not an asset manifest: it must be a JSON object, got ${describeValue(assets)}`);
    if (assets.files !== undefined && !isMapping(assets.files)) {
      throw new DiffError(`${assetsFile}: files must be a JSON object, got ${describeValue(assets.files)}`);
    }
    // An entry without a source path is an asset the diff has no use for, not an error.
    for (const [hash, asset] of Object.entries(assets.files ?? {})) {
      const source = isMapping(asset) ? asset.source : undefined;
      const sourcePath = isMapping(source) ? source.path : undefined;
      if (typeof sourcePath === 'string' && sourcePath !== '') files.set(hash, sourcePath);
    }
  }
  return files;
}

/**
 * The artifacts of a manifest.json, checked as far as they are read here: a file written by hand or cut short
 * is an error that names the field, not a crash further on.
 */
function readManifest(file: string): [string, ArtifactManifest][] {
  const manifest = readJson(file);
  if (!isMapping(manifest)) throw new DiffError(`${file} is not a cloud assembly manifest: it must be a JSON object, got ${describeValue(manifest)}`);
  if (manifest.artifacts === undefined) return [];
  if (!isMapping(manifest.artifacts)) throw new DiffError(`${file}: artifacts must be a JSON object, got ${describeValue(manifest.artifacts)}`);
  return Object.entries(manifest.artifacts).map(([id, artifact]): [string, ArtifactManifest] => {
    const where = `${file}: artifacts.${id}`;
    if (!isMapping(artifact)) throw new DiffError(`${where} must be a JSON object, got ${describeValue(artifact)}`);
    if (typeof artifact.type !== 'string') throw new DiffError(`${where}.type must be a string, got ${describeValue(artifact.type)}`);
    if (artifact.environment !== undefined && typeof artifact.environment !== 'string') {
      throw new DiffError(`${where}.environment must be a string (aws://ACCOUNT/REGION), got ${describeValue(artifact.environment)}`);
    }
    const properties = artifact.properties;
    if (properties === undefined) return [id, artifact as unknown as ArtifactManifest];
    if (!isMapping(properties)) throw new DiffError(`${where}.properties must be a JSON object, got ${describeValue(properties)}`);
    for (const key of ['templateFile', 'stackName', 'directoryName', 'file']) {
      const value = properties[key];
      if (value !== undefined && (typeof value !== 'string' || value === '')) {
        throw new DiffError(`${where}.properties.${key} must be a file or stack name, got ${describeValue(value)}`);
      }
    }
    return [id, artifact as unknown as ArtifactManifest];
  });
}

/** A template, checked as far as the diff reads it: a JSON object whose Resources each have a Type. */
function readTemplate(file: string): CfnTemplate {
  const template = readJson(file);
  if (!isMapping(template)) throw new DiffError(`${file} is not a CloudFormation template: it must be a JSON object, got ${describeValue(template)}`);
  const resources = template.Resources;
  if (resources === undefined) return template;
  if (!isMapping(resources)) throw new DiffError(`${file}: Resources must be a JSON object, got ${describeValue(resources)}`);
  for (const [logicalId, resource] of Object.entries(resources)) {
    const where = `${file}: Resources.${logicalId}`;
    if (!isMapping(resource)) throw new DiffError(`${where} must be a JSON object, got ${describeValue(resource)}`);
    if (typeof resource.Type !== 'string') throw new DiffError(`${where}.Type must be a string, got ${describeValue(resource.Type)}`);
    for (const key of ['Properties', 'Metadata']) {
      if (resource[key] !== undefined && !isMapping(resource[key])) {
        throw new DiffError(`${where}.${key} must be a JSON object, got ${describeValue(resource[key])}`);
      }
    }
  }
  return template;
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
