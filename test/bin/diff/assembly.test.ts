import * as fs from 'node:fs';
import * as path from 'node:path';
import { readAssembly } from '../../../bin/cli/diff/assembly';
import { DiffError } from '../../../bin/cli/diff/errors';
import { tempDir, writeFile } from '../../util';
import { BASE, synthAssembly, variantYaml } from './fixtures';

const dir = tempDir('diff-assembly-');

const HASH = 'ab'.repeat(32);

/** An assembly directory with `artifacts` in its manifest and `files` beside it. */
function writeAssembly(name: string, artifacts: Record<string, unknown>, files: Record<string, unknown>): string {
  const root = path.join(dir, name);
  writeFile(root, 'manifest.json', JSON.stringify({ version: '55.0.0', artifacts }));
  for (const [file, content] of Object.entries(files)) writeFile(root, file, JSON.stringify(content));
  return root;
}

const nestedStackResource = (metadata: Record<string, unknown>) => ({
  Type: 'AWS::CloudFormation::Stack',
  Properties: {
    TemplateURL: { 'Fn::Join': ['', ['https://s3.', { Ref: 'AWS::Region' }, '.', { Ref: 'AWS::URLSuffix' }, '/', { 'Fn::Sub': 'cdk-hnb659fds-assets-${AWS::AccountId}-${AWS::Region}' }, `/${HASH}.json`]] },
    Parameters: { image: 'example.com/a:1' },
  },
  Metadata: metadata,
});

describe('readAssembly', () => {
  test('GIVEN a stack with a nested stack named by aws:asset:path THEN both templates, the stack\'s name and environment', async () => {
    // GIVEN
    const root = writeAssembly(
      'asset-path',
      { App: { type: 'aws:cloudformation:stack', environment: 'aws://123456789012/eu-west-1', properties: { templateFile: 'App.template.json', stackName: 'app-prod' } } },
      {
        'App.template.json': { Resources: { Inner: nestedStackResource({ 'aws:asset:path': 'AppInner.nested.template.json' }) } },
        'AppInner.nested.template.json': { Resources: { Thing: { Type: 'AWS::SNS::Topic' } } },
      },
    );
    // WHEN
    const assembly = await readAssembly(root);
    // THEN
    expect(assembly.stacks).toHaveLength(1);
    const [stack] = assembly.stacks;
    expect(stack).toMatchObject({ stackName: 'app-prod', account: '123456789012', region: 'eu-west-1' });
    expect(stack.templates.map((t) => t.nestedPath)).toEqual([[], ['Inner']]);
    expect(stack.templates[1].template.Resources!.Thing.Type).toBe('AWS::SNS::Topic');
    expect(stack.templates[1].parameters.get('image')).toBe('example.com/a:1');
  });

  test('GIVEN no asset metadata THEN the nested template is the file asset whose hash ends the TemplateURL', async () => {
    const root = writeAssembly(
      'template-url',
      {
        'App.assets': { type: 'cdk:asset-manifest', properties: { file: 'App.assets.json' } },
        'App': { type: 'aws:cloudformation:stack', environment: 'aws://unknown-account/unknown-region', properties: { templateFile: 'App.template.json' } },
      },
      {
        'App.assets.json': { files: { [HASH]: { source: { path: 'Inner.nested.template.json', packaging: 'file' } } } },
        'App.template.json': { Resources: { Inner: nestedStackResource({}) } },
        'Inner.nested.template.json': { Resources: { Thing: { Type: 'AWS::SQS::Queue' } } },
      },
    );
    const [stack] = (await readAssembly(root)).stacks;
    expect(stack).toMatchObject({ stackName: 'App', account: undefined, region: undefined });
    expect(stack.templates[1].template.Resources!.Thing.Type).toBe('AWS::SQS::Queue');
  });

  test('GIVEN a nested cloud assembly (a CDK Stage) THEN its stacks too', async () => {
    const root = writeAssembly(
      'stage',
      { 'assembly-Prod': { type: 'cdk:cloud-assembly', properties: { directoryName: 'assembly-Prod' } } },
      {
        'assembly-Prod/manifest.json': { artifacts: { ProdApp: { type: 'aws:cloudformation:stack', properties: { templateFile: 'ProdApp.template.json', stackName: 'Prod-App' } } } },
        'assembly-Prod/ProdApp.template.json': { Resources: {} },
      },
    );
    expect((await readAssembly(root)).stacks.map((s) => s.stackName)).toEqual(['Prod-App']);
  });

  test('GIVEN a directory that is missing or holds no manifest THEN an error that says to synthesize', async () => {
    await expect(readAssembly(path.join(dir, 'nowhere'))).rejects.toThrow(/nowhere does not exist: it is not a cloud assembly \(run `npx cdk synth`/);
    fs.mkdirSync(path.join(dir, 'empty'));
    await expect(readAssembly(path.join(dir, 'empty'))).rejects.toThrow(/empty has no manifest.json/);
  });

  test('GIVEN a template that is not JSON, or a nested template not in the assembly THEN errors naming the file or stack', async () => {
    const broken = writeAssembly('broken', { App: { type: 'aws:cloudformation:stack', properties: { templateFile: 'App.template.json' } } }, {});
    fs.writeFileSync(path.join(broken, 'App.template.json'), '{');
    await expect(readAssembly(broken)).rejects.toThrow(/App.template.json is not valid JSON/);
    const missing = writeAssembly(
      'missing-nested',
      { App: { type: 'aws:cloudformation:stack', properties: { templateFile: 'App.template.json' } } },
      { 'App.template.json': { Resources: { Inner: nestedStackResource({}) } } },
    );
    await expect(readAssembly(missing)).rejects.toThrow(/App: the template of the nested stack Inner is not in/);
  });

  const stack = { App: { type: 'aws:cloudformation:stack', properties: { templateFile: 'App.template.json' } } };

  test.each<[string, string, RegExp]>([
    ['a manifest that is null', 'null', /manifest\.json is not a cloud assembly manifest: it must be a JSON object, got null$/],
    ['artifacts that are a string', '{"artifacts": "x"}', /manifest\.json: artifacts must be a JSON object, got "x"$/],
    ['an artifact that is null', '{"artifacts": {"App": null}}', /manifest\.json: artifacts\.App must be a JSON object, got null$/],
    ['an artifact without a type', '{"artifacts": {"App": {"properties": {}}}}', /manifest\.json: artifacts\.App\.type must be a string, got nothing$/],
    [
      'a template file that is a number',
      '{"artifacts": {"App": {"type": "aws:cloudformation:stack", "properties": {"templateFile": 5}}}}',
      /manifest\.json: artifacts\.App\.properties\.templateFile must be a file or stack name, got 5$/,
    ],
  ])('GIVEN %s THEN an error naming the file and the field, not a TypeError', async (_, manifest, message) => {
    const root = writeAssembly(`bad-manifest-${manifest.length}`, {}, {});
    fs.writeFileSync(path.join(root, 'manifest.json'), manifest);
    await expect(readAssembly(root)).rejects.toThrow(DiffError);
    await expect(readAssembly(root)).rejects.toThrow(message);
  });

  test.each<[string, unknown, RegExp]>([
    ['null', null, /App\.template\.json is not a CloudFormation template: it must be a JSON object, got null$/],
    ['a list', [1], /App\.template\.json is not a CloudFormation template: it must be a JSON object, got a list$/],
    ['Resources that are a string', { Resources: 'x' }, /App\.template\.json: Resources must be a JSON object, got "x"$/],
    ['a resource that is null', { Resources: { Topic: null } }, /App\.template\.json: Resources\.Topic must be a JSON object, got null$/],
    ['a resource without a Type', { Resources: { Topic: { Properties: {} } } }, /App\.template\.json: Resources\.Topic\.Type must be a string, got nothing$/],
    ['Properties that are a list', { Resources: { Topic: { Type: 'AWS::SNS::Topic', Properties: [] } } }, /Resources\.Topic\.Properties must be a JSON object, got an empty list$/],
  ])('GIVEN a template: %s THEN an error naming the file and the field, not a TypeError', async (_, template, message) => {
    const root = writeAssembly(`bad-template-${JSON.stringify(template).length}-${String(message).length}`, stack, { 'App.template.json': template });
    await expect(readAssembly(root)).rejects.toThrow(message);
  });

  test('GIVEN an asset manifest that is null THEN an error naming it', async () => {
    const root = writeAssembly(
      'bad-assets',
      { 'App.assets': { type: 'cdk:asset-manifest', properties: { file: 'App.assets.json' } }, ...stack },
      { 'App.assets.json': null, 'App.template.json': { Resources: {} } },
    );
    await expect(readAssembly(root)).rejects.toThrow(/App\.assets\.json is not an asset manifest: it must be a JSON object, got null$/);
  });

  test('GIVEN a nested cloud assembly that is the assembly itself, or its parent THEN an error, not a loop until memory runs out', async () => {
    const self = writeAssembly('self', { Self: { type: 'cdk:cloud-assembly', properties: { directoryName: '.' } } }, {});
    await expect(readAssembly(self)).rejects.toThrow(/manifest\.json: artifacts\.Self nests the assembly .*self in itself \(properties\.directoryName\)$/);
    const parent = writeAssembly(
      'parent',
      { Child: { type: 'cdk:cloud-assembly', properties: { directoryName: 'child' } } },
      { 'child/manifest.json': { artifacts: { Up: { type: 'cdk:cloud-assembly', properties: { directoryName: '..' } } } } },
    );
    await expect(readAssembly(parent)).rejects.toThrow(/child[/\\]manifest\.json: artifacts\.Up nests the assembly .* in itself/);
  });

  test('GIVEN a nested stack whose template is its own parent\'s THEN an error, not endless recursion', async () => {
    const root = writeAssembly('nested-loop', stack, {
      'App.template.json': { Resources: { Inner: nestedStackResource({ 'aws:asset:path': 'Inner.nested.template.json' }) } },
      'Inner.nested.template.json': { Resources: { Again: nestedStackResource({ 'aws:asset:path': 'App.template.json' }) } },
    });
    await expect(readAssembly(root)).rejects.toThrow(/App: the nested stack Again names .*App\.template\.json as its template, which it is itself nested in$/);
  });

  test('GIVEN a synthesized app with CortexApis THEN the stack and every nested stack of APIs and splitters', async () => {
    const root = synthAssembly(path.join(dir, 'synth'), variantYaml(BASE));
    const [stack] = (await readAssembly(root)).stacks;
    expect(stack.stackName).toBe('Models');
    const nested = stack.templates.slice(1).map((t) => t.displayPath);
    expect(nested.length).toBeGreaterThan(2);
    expect(nested.every((p) => /^Models\/Apis\/(Apis|Splitters)\d\d$/.test(p))).toBe(true);
  });
});
