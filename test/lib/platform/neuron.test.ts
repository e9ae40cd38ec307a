import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as eks from 'aws-cdk-lib/aws-eks-v2';
import { Template } from 'aws-cdk-lib/assertions';
import { Construct } from 'constructs';
import { NEURON_SCHEDULER_NAME } from '../../../constructs/names';
import { Neuron, STALE_NEURON_PLUGIN_ID, staleNeuronPluginProblems } from '../../../lib/platform/neuron';
import { helmRelease, helmValues, importedCluster, newCluster, newStack } from './fixtures';

describe('Neuron', () => {
  // GIVEN the chart on an imported 1.36 cluster, synthesized once
  const stack = newStack();
  const neuron = new Neuron(stack, 'Neuron', { cluster: importedCluster(stack), kubernetesVersion: eks.KubernetesVersion.V1_36 });
  const template = Template.fromStack(stack);
  const values = helmValues(template, 'neuron');

  test("AWS Neuron's OCI chart 1.9.0 from public ECR, in kube-system", () => {
    expect(helmRelease(template, 'neuron').properties).toMatchObject({
      Chart: 'neuron-helm-chart',
      Repository: 'oci://public.ecr.aws/neuron/neuron-helm-chart',
      Version: '1.9.0',
      Namespace: 'kube-system',
    });
  });

  test('the device plugin on accelerator: neuron nodes, tolerating aws.amazon.com/neuron', () => {
    expect(values.devicePlugin.nodeSelector).toEqual({ accelerator: 'neuron' });
    expect(values.devicePlugin.tolerations).toContainEqual({ key: 'aws.amazon.com/neuron', operator: 'Exists', effect: 'NoSchedule' });
  });

  test('the scheduler extension as a second scheduler named my-scheduler, of the cluster\'s minor', () => {
    expect(values.scheduler).toEqual({
      enabled: true,
      customScheduler: { enabled: true, fullnameOverride: 'my-scheduler', image: { tag: 'v1.36.2-eks-1-36-7' } },
    });
    expect(neuron.schedulerName).toBe(NEURON_SCHEDULER_NAME);
    expect(values.npd).toEqual({ enabled: false });
  });

  test('the scheduler image tag may be given instead of the Kubernetes version', () => {
    const other = newStack();
    new Neuron(other, 'Neuron', { cluster: importedCluster(other), schedulerImageTag: 'v1.37.0-eks-1-37-1' });
    expect(helmValues(Template.fromStack(other), 'neuron').scheduler.customScheduler.image.tag).toBe('v1.37.0-eks-1-37-1');
  });

  test('an imported cluster without a Kubernetes version is refused', () => {
    const other = newStack();
    expect(() => new Neuron(other, 'Neuron', { cluster: importedCluster(other) })).toThrow(
      /kubernetesVersion is required .*the image of the Neuron chart's second scheduler \(kube-scheduler\) follows .*or set neuron\.schedulerImageTag/,
    );
  });

  test('an unsupported Kubernetes version is refused', () => {
    const other = newStack();
    expect(
      () => new Neuron(other, 'Neuron', { cluster: importedCluster(other), kubernetesVersion: eks.KubernetesVersion.V1_30 }),
    ).toThrow(/kubernetesVersion \("1\.30"\) has no pinned image .*supported are 1\.33, 1\.34, 1\.35, 1\.36; or set neuron\.schedulerImageTag/);
  });
});

describe('the Neuron device plugin aws-eks-v2 adds by itself', () => {
  test('addNodegroupCapacity with inf2 instances adds it, and the Neuron construct refuses to synthesize beside it', () => {
    // GIVEN an eks.Cluster whose Inferentia node group comes from addNodegroupCapacity
    const stack = newStack();
    const cluster = newCluster(stack);
    cluster.addNodegroupCapacity('Inf', {
      amiType: eks.NodegroupAmiType.AL2023_X86_64_NEURON,
      instanceTypes: [new ec2.InstanceType('inf2.xlarge')],
    });
    // WHEN
    const neuron = new Neuron(stack, 'Neuron', { cluster });
    // THEN (node.validate() is what synthesis runs, and fails on)
    expect(cluster.node.tryFindChild(STALE_NEURON_PLUGIN_ID)).toBeDefined();
    const errors = neuron.node.validate();
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/Test\/Cluster has the Neuron device plugin manifest that aws-eks-v2 adds/);
    expect(errors[0]).toMatch(/new eks\.Nodegroup\(scope, id, \{ cluster, \.\.\. \}\) instead, or set neuron: false/);
  });

  test('node groups made with new eks.Nodegroup do not bring it', () => {
    const stack = newStack();
    const cluster = newCluster(stack);
    new eks.Nodegroup(stack, 'Inf', {
      cluster,
      amiType: eks.NodegroupAmiType.AL2023_X86_64_NEURON,
      instanceTypes: [new ec2.InstanceType('inf2.xlarge')],
    });
    expect(staleNeuronPluginProblems(cluster)).toEqual([]);
    expect(new Neuron(stack, 'Neuron', { cluster }).node.validate()).toEqual([]);
  });

  test('staleNeuronPluginProblems looks for the child by its id', () => {
    const root = new Construct(undefined as unknown as Construct, 'Root');
    expect(staleNeuronPluginProblems(root)).toEqual([]);
    new Construct(root, STALE_NEURON_PLUGIN_ID);
    expect(staleNeuronPluginProblems(root)).toHaveLength(1);
  });
});
