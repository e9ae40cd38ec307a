import { Template } from 'aws-cdk-lib/assertions';
import { podIdentityAgent } from '../../../lib/platform/pod-identity-agent';
import { importedCluster, newCluster, newStack, resources } from './fixtures';

describe('podIdentityAgent', () => {
  test("an eks.Cluster's own agent, created once", () => {
    const stack = newStack();
    const cluster = newCluster(stack);
    const agent = podIdentityAgent(stack, 'Agent', cluster);
    expect(agent).toBe(cluster.eksPodIdentityAgent);
    expect(stack.node.tryFindChild('Agent')).toBeUndefined();
  });

  test('a new eks-pod-identity-agent add-on on an imported cluster', () => {
    const stack = newStack();
    podIdentityAgent(stack, 'Agent', importedCluster(stack));
    const [addon] = resources(Template.fromStack(stack), 'AWS::EKS::Addon');
    expect(addon.properties).toEqual({ AddonName: 'eks-pod-identity-agent', ClusterName: 'models' });
  });
});
