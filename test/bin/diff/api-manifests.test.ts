import { apiManifests, manifestObjects, objectKey } from '../../../bin/cli/diff/api-manifests';
import type { LoadedTemplate, StackTemplates } from '../../../bin/cli/diff/templates';
import { TokenString } from '../../../bin/cli/diff/token-string';
import { apiLabels, deploymentObjects, manifestResource } from './fixtures';

function stacksOf(resources: Record<string, unknown>, extra: Partial<LoadedTemplate> = {}): StackTemplates[] {
  const template: LoadedTemplate = {
    stackName: 'App',
    nestedPath: ['Apis05'],
    displayPath: 'App/Apis/Apis05',
    template: { Resources: resources as never },
    parameters: new Map(),
    ...extra,
  };
  return [{ stackName: 'App', templates: [template] }];
}

describe('apiManifests', () => {
  test('GIVEN manifests of two APIs and of the platform THEN the two APIs, by label, with their objects', () => {
    // GIVEN
    const namespace = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'cortex' } };
    const stacks = stacksOf({
      Platform: manifestResource([namespace]),
      Hello: manifestResource(deploymentObjects('hello'), 'App/Apis/Apis05/hello'),
      Other: manifestResource(deploymentObjects('other')),
    });
    // WHEN
    const { apis, problems } = apiManifests(stacks);
    // THEN
    expect(problems).toEqual([]);
    expect(apis.map((a) => [a.key, a.kind, a.objects.map(objectKey)])).toEqual([
      ['App/cortex/hello', 'RealtimeAPI', ['Deployment/hello', 'ScaledObject/hello']],
      ['App/cortex/other', 'RealtimeAPI', ['Deployment/other', 'ScaledObject/other']],
    ]);
    expect(apis[0].location).toEqual({ stackName: 'App', nestedPath: ['Apis05'], logicalId: 'Hello', display: 'App/Apis/Apis05/hello' });
    expect(apis[1].location.display).toBe('App/Apis/Apis05 (Other)');
  });

  test('GIVEN an API\'s JWT policies in istio-system THEN they count with the API, by its cortex.dev/api-namespace label', () => {
    // GIVEN
    const labels = { ...apiLabels('hello'), 'cortex.dev/api-namespace': 'cortex' };
    const policy = { apiVersion: 'security.istio.io/v1', kind: 'AuthorizationPolicy', metadata: { name: 'hello.cortex', namespace: 'istio-system', labels } };
    // WHEN
    const { apis } = apiManifests(stacksOf({ Hello: manifestResource([...deploymentObjects('hello'), policy]) }));
    // THEN
    expect(apis.map((a) => [a.key, a.objects.map(objectKey)])).toEqual([
      ['App/cortex/hello', ['Deployment/hello', 'ScaledObject/hello', 'AuthorizationPolicy/hello.cortex']],
    ]);
  });

  test('GIVEN the kubectl handler\'s prune label THEN it is dropped (it names the resource, not the API)', () => {
    const service = { kind: 'Service', metadata: { name: 'a', labels: { ...apiLabels('a'), 'aws.cdk.eks/prune-c8abc': '' } } };
    const [api] = apiManifests(stacksOf({ A: manifestResource([service]) })).apis;
    expect(api.objects[0].metadata.labels).toEqual(apiLabels('a'));
  });

  test('GIVEN a manifest referring to a parameter of its nested stack THEN the parent\'s value is used', () => {
    const parts = ['[{"kind":"Deployment","metadata":{"name":"a","labels":{"cortex.dev/api-name":"a"}},"image":"', { Ref: 'referencetoImage' }, '"}]'];
    const stacks = stacksOf({ A: manifestResource({ parts }) }, { parameters: new Map([['referencetoImage', { 'Fn::GetAtt': ['Repo', 'Uri'] }]]) });
    const image = apiManifests(stacks).apis[0].objects[0].image as TokenString;
    expect(image.text).toBe('${Repo.Uri}');
  });

  test('GIVEN a manifest that is not JSON THEN a problem naming it, and the other APIs still read', () => {
    const broken = { Type: 'Custom::AWSCDK-EKS-KubernetesResource', Properties: { Manifest: '[{' } };
    const { apis, problems } = apiManifests(stacksOf({ Broken: broken, Hello: manifestResource(deploymentObjects('hello')) }));
    expect(apis.map((a) => a.name)).toEqual(['hello']);
    expect(problems).toEqual([expect.stringMatching(/^App\/Apis\/Apis05 \(Broken\): the manifest cannot be read \(.*JSON.*\); its objects are not compared$/)]);
  });

  test('GIVEN a manifest nested a hundred thousand levels deep THEN a problem that says so, not the stack overflow\'s message', () => {
    const deep = { Type: 'Custom::AWSCDK-EKS-KubernetesResource', Properties: { Manifest: `${'['.repeat(100_000)}${']'.repeat(100_000)}` } };
    const { apis, problems } = apiManifests(stacksOf({ Deep: deep, Hello: manifestResource(deploymentObjects('hello')) }));
    expect(apis.map((a) => a.name)).toEqual(['hello']);
    expect(problems).toEqual(['App/Apis/Apis05 (Deep): the manifest cannot be read (nested too deeply); its objects are not compared']);
  });
});

test('apiManifests: GIVEN the same API in two top-level stacks (a dev and a prod cluster) THEN two APIs', () => {
  const stack = (stackName: string) => stacksOf({ Hello: manifestResource(deploymentObjects('hello')) }, { stackName })[0];
  const { apis } = apiManifests([{ ...stack('Dev'), stackName: 'Dev' }, { ...stack('Prod'), stackName: 'Prod' }]);
  expect(apis.map((a) => a.key)).toEqual(['Dev/cortex/hello', 'Prod/cortex/hello']);
});

describe('manifestObjects', () => {
  test('GIVEN one object instead of a list, or entries that are not objects THEN the Kubernetes objects only', () => {
    expect(manifestObjects('{"kind":"Service","metadata":{"name":"a"}}')).toHaveLength(1);
    expect(manifestObjects('[1, {"kind":"Service"}, {"kind":"Service","metadata":{"name":"a"}}]')).toHaveLength(1);
  });
});
