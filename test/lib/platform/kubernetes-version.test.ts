import * as eks from 'aws-cdk-lib/aws-eks-v2';
import { clusterKubernetesVersion, imagesForKubernetesVersion } from '../../../lib/platform/kubernetes-version';
import { importedCluster, newCluster, newStack } from './fixtures';

const image = { what: 'the cluster autoscaler', overrideProp: 'clusterAutoscaler.imageTag' };

describe('clusterKubernetesVersion', () => {
  test("an eks.Cluster's own version", () => {
    const stack = newStack();
    expect(clusterKubernetesVersion(newCluster(stack))).toBe('1.36');
  });

  test('unknown for an imported cluster, unless given', () => {
    const stack = newStack();
    const cluster = importedCluster(stack);
    expect(clusterKubernetesVersion(cluster)).toBeUndefined();
    expect(clusterKubernetesVersion(cluster, eks.KubernetesVersion.V1_35)).toBe('1.35');
  });
});

describe('imagesForKubernetesVersion', () => {
  test('the pinned images of a supported minor', () => {
    expect(imagesForKubernetesVersion('1.36', image)).toEqual({
      clusterAutoscaler: 'v1.36.1',
      kubeScheduler: 'v1.36.2-eks-1-36-7',
    });
  });

  test('an unknown version asks for kubernetesVersion or the image tag', () => {
    expect(() => imagesForKubernetesVersion(undefined, image)).toThrow(
      /kubernetesVersion is required on a cluster that is not an eks\.Cluster of this app .*the image of the cluster autoscaler follows the cluster's Kubernetes minor \(one of 1\.33, 1\.34, 1\.35, 1\.36\); or set clusterAutoscaler\.imageTag/,
    );
  });

  test('an unsupported minor names the supported ones', () => {
    expect(() => imagesForKubernetesVersion('1.29', image)).toThrow(
      `kubernetesVersion ("1.29") has no pinned image of the cluster autoscaler: supported are 1.33, 1.34, 1.35, 1.36; or set clusterAutoscaler.imageTag`,
    );
  });

  test('a malformed version', () => {
    expect(() => imagesForKubernetesVersion('1.36.2', image)).toThrow('kubernetesVersion ("1.36.2") must be a Kubernetes minor version');
  });
});
