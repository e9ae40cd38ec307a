import * as cdk from 'aws-cdk-lib';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { CortexCluster } from '../../lib/cortex-cluster';
import { NodeGroup } from '../../lib/node-group';
import * as eks from 'aws-cdk-lib/aws-eks-v2';
import { ApiPlatform } from '../../lib/platform/api-platform';
import { allocatable, instanceShape, kubernetesVersionProblem, placementProblems, placementUnchecked, podRequests } from '../../lib/placement';
import { RealtimeApi } from '../../lib/realtime-api';
import { clusterStack } from './api-fixtures';

const GiB = 2 ** 30;
const MiB = 2 ** 20;

/** A container-form API with one container of this compute, on these node groups. */
function api(compute: Record<string, unknown>, nodeGroups?: string[]) {
  return RealtimeApi.specFromObject({
    name: 'model',
    pod: { containers: [{ name: 'api', image: 'example.com/model:1', compute }] },
    ...(nodeGroups ? { node_groups: nodeGroups } : {}),
  });
}

const types = (...names: string[]) => names.map((n) => new ec2.InstanceType(n));

describe('instance shapes', () => {
  test.each([
    ['m6i.xlarge', { vcpu: 4, memoryGiB: 16 }],
    ['m7g.large', { vcpu: 2, memoryGiB: 8 }],
    ['c7i.2xlarge', { vcpu: 8, memoryGiB: 16 }],
    ['c5.9xlarge', { vcpu: 36, memoryGiB: 72 }],
    ['r6i.4xlarge', { vcpu: 16, memoryGiB: 128 }],
    ['g5.xlarge', { vcpu: 4, memoryGiB: 16 }],
    ['g6e.xlarge', { vcpu: 4, memoryGiB: 32 }],
    ['inf2.24xlarge', { vcpu: 96, memoryGiB: 384 }],
  ])('%s: %p', (type, shape) => {
    expect(instanceShape(type)).toEqual(shape);
  });

  test.each(['t3.large', 'm5zn.large', 'm6i.metal', 'x2idn.16xlarge', 'c7i-flex.large', 'g5.96xlarge'])('%s is not known (not checked)', (type) => {
    expect(instanceShape(type)).toBeUndefined();
  });

  test("allocatable: the kubelet's reservations and the system DaemonSets come off", () => {
    // m6i.xlarge: CPU 4 - (0.06 + 0.01 + 0.005 * 2) - 0.125; memory 16 GiB - (255 + 11 * 58) MiB - 100 MiB.
    const free = allocatable({ vcpu: 4, memoryGiB: 16 });
    expect(free.cpu).toBeCloseTo(3.795, 6);
    expect(free.memory).toBe(16 * GiB - 993 * MiB);
  });
});

describe('podRequests', () => {
  test("the containers' requests plus the proxy sidecar's", () => {
    expect(podRequests(api({ cpu: '1', mem: '2Gi', gpu: 1 }))).toEqual({ cpu: 1.1, memory: 2 * GiB + 100 * MiB, gpu: 1, inf: 0 });
  });
});

describe('placementProblems', () => {
  const cpuOnly = [NodeGroup.cpu()];
  const all = [NodeGroup.cpu(), NodeGroup.gpu(), NodeGroup.neuron()];

  test('GIVEN a GPU API and no GPU node group THEN the API, compute.gpu and the fix are named', () => {
    expect(placementProblems(api({ gpu: 1 }), cpuOnly)).toEqual([
      'API "model": compute.gpu (1) needs an NVIDIA GPU node group, and the cluster has none; add one (NodeGroup.gpu()) or change the API\'s compute',
    ]);
  });

  test('GIVEN an Inferentia API whose node_groups name only CPU groups THEN it is refused', () => {
    expect(placementProblems(api({ inf: 1 }, ['cpu']), all)).toEqual([
      'API "model": compute.inf (1) needs an Inferentia/Trainium node group, and node_groups (cpu) names none; add one (NodeGroup.neuron()) or change the API\'s compute',
    ]);
  });

  test('GIVEN node_groups naming a group the cluster lacks THEN the groups it has are listed', () => {
    expect(placementProblems(api({}, ['cpu', 'fast']), all)).toEqual([
      'API "model": node_groups names "fast", which the cluster does not have; its node groups are "cpu", "gpu", "neuron"',
    ]);
  });

  test('GIVEN requests larger than any node of the groups THEN what the largest node gives is said', () => {
    expect(placementProblems(api({ cpu: '2', mem: '16Gi' }), cpuOnly)).toEqual([
      'API "model": a pod requests 2.1 CPU, 16.1 GiB (compute of its containers plus the proxy sidecar\'s 100m CPU and 100Mi), ' +
        'more than any node of its CPU node groups (cpu) can give pods: the largest, m6i.xlarge, has about 3.795 CPU, 15.03 GiB for pods; ' +
        "lower the API's compute or add larger instance types",
    ]);
  });

  test('GIVEN more GPUs than a node has THEN it is refused', () => {
    const [problem] = placementProblems(api({ gpu: 2 }), all);
    expect(problem).toMatch(/a pod requests .*, 2 GPU\(s\) .*the largest, g5\.xlarge, has about .*, 1 GPU\(s\) for pods/);
  });

  test('GIVEN a larger instance type in the group THEN the pod fits', () => {
    const groups = [NodeGroup.cpu({ instanceTypes: types('m6i.xlarge', 'm6i.4xlarge') })];
    expect(placementProblems(api({ cpu: '2', mem: '16Gi' }), groups)).toEqual([]);
  });

  test('GIVEN fitting APIs THEN nothing', () => {
    expect(placementProblems(api({ cpu: '200m', mem: '256Mi' }), cpuOnly)).toEqual([]);
    expect(placementProblems(api({ gpu: 1, mem: '8Gi' }), all)).toEqual([]);
    expect(placementProblems(api({ inf: 1 }, ['neuron']), all)).toEqual([]);
  });

  test('GIVEN an instance type not in the table THEN the API is not refused', () => {
    expect(placementProblems(api({ mem: '64Gi' }), [NodeGroup.cpu({ instanceTypes: types('t3.large') })])).toEqual([]);
  });
});

describe('placement at synth', () => {
  test('GIVEN a CortexCluster with only CPU nodes WHEN a GPU API is added THEN synth stops with the problem', () => {
    const app = new cdk.App();
    const stack = new cdk.Stack(app, 'Models');
    const cortex = new CortexCluster(stack, 'Cluster');
    new RealtimeApi(stack, 'Model', { cluster: cortex.cluster, api: api({ gpu: 1 }), rolloutGate: false, monitoring: false });
    expect(() => app.synth()).toThrow(/API "model": compute\.gpu \(1\) needs an NVIDIA GPU node group, and the cluster has none/);
  });

  test('GIVEN the GPU group is added after the API THEN synth passes (the check runs at synth)', () => {
    const app = new cdk.App();
    const stack = new cdk.Stack(app, 'Models');
    const cortex = new CortexCluster(stack, 'Cluster');
    new RealtimeApi(stack, 'Model', { cluster: cortex.cluster, api: api({ gpu: 1 }), rolloutGate: false, monitoring: false });
    cortex.addNodeGroup(NodeGroup.gpu());
    expect(() => app.synth()).not.toThrow();
  });

  test('GIVEN a cluster made elsewhere WHEN a GPU API is added THEN a warning says the placement is not checked', () => {
    const { stack, cluster, platform } = clusterStack();
    new RealtimeApi(stack, 'Model', { cluster, platform, api: api({ gpu: 1 }), rolloutGate: false, monitoring: false });
    Annotations.fromStack(stack).hasWarning('/Test/Model', Match.stringLikeRegexp('needs particular nodes \\(compute\\.gpu 1\\).*not a CortexCluster'));
  });

  test('GIVEN a file-read API THEN its problems point at its file and line', () => {
    const spec = { ...api({ gpu: 1 }), source: { file: 'cortex.yaml', line: 3, column: 3 } };
    expect(placementProblems(spec, [NodeGroup.cpu()])[0]).toMatch(/^API "model" \(cortex\.yaml:3\): compute\.gpu/);
  });

  test('placementUnchecked: nothing to say for an API that runs on any CPU node', () => {
    expect(placementUnchecked(api({ cpu: '1' }))).toBeUndefined();
  });
});

describe('the Kubernetes version', () => {
  test('1.30 and later, or unknown: fine; older: the version, what is needed and why', () => {
    expect(kubernetesVersionProblem('model', '1.30')).toBeUndefined();
    expect(kubernetesVersionProblem('model', '1.36')).toBeUndefined();
    expect(kubernetesVersionProblem('model', undefined)).toBeUndefined();
    expect(kubernetesVersionProblem('model', '1.29')).toBe(
      'API "model": the cluster runs Kubernetes 1.29, and the API\'s manifests need 1.30 or later (the preStop sleep action of ' +
        'its Deployment): upgrade the cluster, or set the right kubernetesVersion on its platform',
    );
  });

  test('GIVEN an imported cluster whose platform says 1.29 WHEN an API is added THEN it stops at synth', () => {
    const { stack, cluster } = clusterStack();
    const platform = ApiPlatform.existing({ kubernetesVersion: eks.KubernetesVersion.of('1.29') });
    const imported = eks.Cluster.fromClusterAttributes(stack, 'Imported', { clusterName: 'old', kubectlProvider: cluster.kubectlProvider });
    expect(() => new RealtimeApi(stack, 'Model', { cluster: imported, platform, api: api({}), rolloutGate: false, monitoring: false })).toThrow(
      /API "model": the cluster runs Kubernetes 1\.29, and the API's manifests need 1\.30 or later/,
    );
  });
});
