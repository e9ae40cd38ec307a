import * as cdk from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { parseConfig } from '../../lib/config';
import { ApisStack } from '../../lib/apis-stack';
import { HELLO_WORLD_YAML, runCli, tempDir, writeFile } from '../util';
import * as YAML from 'yaml';

const TWO_APIS_AND_A_SPLITTER = `${HELLO_WORLD_YAML}
- name: other
  kind: RealtimeAPI
  pod:
    containers: [{name: api, image: "example.com/other:1"}]
- name: split
  kind: TrafficSplitter
  apis: [{name: hello-world, weight: 50}, {name: other, weight: 50}]
`;

function synth(yaml: string): Template {
  const app = new cdk.App();
  const stack = new ApisStack(app, 'Apis', { config: parseConfig(yaml, 'cortex.yaml') });
  return Template.fromStack(stack);
}

describe('ApisStack', () => {
  test('GIVEN two APIs and a splitter THEN one KubernetesManifest each, plus the namespace', () => {
    const template = synth(TWO_APIS_AND_A_SPLITTER);
    const manifests = template.findResources('Custom::AWSCDK-EKS-KubernetesResource');
    const bodies = Object.values(manifests).map((r) => JSON.parse(r.Properties.Manifest));
    const names = bodies.map((objects: { kind: string; metadata: { name: string } }[]) => objects.map((o) => `${o.kind}/${o.metadata.name}`));
    expect(names).toContainEqual(['Namespace/cortex']);
    expect(names.filter((n) => n.includes('Deployment/hello-world'))).toHaveLength(1);
    expect(names.filter((n) => n.includes('Deployment/other'))).toHaveLength(1);
    expect(names.filter((n) => n.length === 1 && n[0] === 'VirtualService/split')).toHaveLength(1);
    expect(bodies).toHaveLength(4);
  });

  test('every API manifest depends on the namespace', () => {
    const template = synth(HELLO_WORLD_YAML);
    const manifests = template.findResources('Custom::AWSCDK-EKS-KubernetesResource');
    const [nsId] = Object.entries(manifests).find(([, r]) => r.Properties.Manifest.includes('"Namespace"'))!;
    const api = Object.values(manifests).find((r) => r.Properties.Manifest.includes('"Deployment"'))!;
    expect(api.DependsOn).toContain(nsId);
  });

  test('the node group uses an AL2023 AMI, never the CDK default', () => {
    synth(HELLO_WORLD_YAML).hasResourceProperties('AWS::EKS::Nodegroup', {
      AmiType: 'AL2023_x86_64_STANDARD',
      ScalingConfig: Match.objectLike({ MinSize: 1, MaxSize: 5 }),
    });
  });
});

const dir = tempDir();

type KubeObject = { kind: string; metadata: { name: string; labels: Record<string, string> } };

/** The kubectl handler's own label, which lets it prune objects that leave a manifest. */
function withoutPruneLabel(o: KubeObject): KubeObject {
  const labels = Object.fromEntries(Object.entries(o.metadata.labels).filter(([k]) => !k.startsWith('aws.cdk.eks/prune-')));
  return { ...o, metadata: { ...o.metadata, labels } };
}

test('GIVEN a cortex.yaml THEN the stack deploys exactly the objects `cortex manifests` prints (plus the kubectl handler\'s prune label)', () => {
  // GIVEN
  const file = writeFile(dir, 'cortex.yaml', TWO_APIS_AND_A_SPLITTER);
  const printed = YAML.parseAllDocuments(runCli(['manifests', '-f', file], dir).out).map((d) => d.toJS());
  // WHEN
  const manifests = synth(TWO_APIS_AND_A_SPLITTER).findResources('Custom::AWSCDK-EKS-KubernetesResource');
  const deployed = Object.values(manifests)
    .flatMap((r) => JSON.parse(r.Properties.Manifest))
    .filter((o: KubeObject) => o.kind !== 'Namespace')
    .map(withoutPruneLabel);
  // THEN
  const key = (o: KubeObject) => `${o.kind}/${o.metadata.name}`;
  const sorted = (objects: KubeObject[]) => [...objects].sort((a, b) => key(a).localeCompare(key(b)));
  expect(deployed.length).toBeGreaterThan(5);
  expect(sorted(deployed)).toEqual(sorted(printed));
});
