import { type CfnTemplate, withNestedTemplates } from '../../../bin/cli/diff/templates';

const nestedResource = (cdkPath: string, parameters: Record<string, unknown>) => ({
  Type: 'AWS::CloudFormation::Stack',
  Properties: { TemplateURL: 'x', Parameters: parameters },
  Metadata: { 'aws:cdk:path': `${cdkPath}.NestedStack/${cdkPath.split('/').pop()}.NestedStackResource` },
});

describe('withNestedTemplates', () => {
  test('GIVEN nested stacks two deep THEN every template, depth first, with the parameters resolved through each parent', async () => {
    // GIVEN
    const root: CfnTemplate = {
      Resources: {
        Repo: { Type: 'AWS::ECR::Repository' },
        Outer: nestedResource('App/Outer', { outerImage: { 'Fn::GetAtt': ['Repo', 'RepositoryUri'] } }),
      },
    };
    const outer: CfnTemplate = { Resources: { Inner: nestedResource('App/Outer/Inner', { innerImage: { Ref: 'outerImage' } }) } };
    const inner: CfnTemplate = { Resources: {} };
    const children: Record<string, CfnTemplate> = { Outer: outer, Inner: inner };
    // WHEN
    const templates = await withNestedTemplates({ stackName: 'App', template: root }, async (_parent, logicalId) => ({ template: children[logicalId] }));
    // THEN
    expect(templates.map((t) => [t.displayPath, t.nestedPath])).toEqual([
      ['App', []],
      ['App/Outer', ['Outer']],
      ['App/Outer/Inner', ['Outer', 'Inner']],
    ]);
    expect(templates[2].parameters.get('innerImage')).toEqual({ 'Fn::GetAtt': ['Repo', 'RepositoryUri'] });
  });

  test('GIVEN a nested stack without a template (not deployed) THEN it is left out', async () => {
    const root: CfnTemplate = { Resources: { Outer: nestedResource('App/Outer', {}) } };
    const templates = await withNestedTemplates({ stackName: 'App', template: root }, async () => undefined);
    expect(templates).toHaveLength(1);
  });
});
