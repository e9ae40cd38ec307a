import { Token } from 'aws-cdk-lib';
import * as eks from 'aws-cdk-lib/aws-eks-v2';
import { CortexValidationError } from '../errors';
import { checkKubernetesMinor } from './validation';
import { KUBERNETES_VERSION_IMAGES, SUPPORTED_KUBERNETES_VERSIONS } from './versions';

/**
 * The Kubernetes minor of a cluster (`1.36`): `given` when set, else the version of an `eks.Cluster`
 * of this app (its `CfnCluster`'s), else undefined (an imported cluster does not say).
 */
export function clusterKubernetesVersion(cluster: eks.ICluster, given?: eks.KubernetesVersion): string | undefined {
  if (given !== undefined) {
    return given.version;
  }
  const resource = cluster.node.defaultChild;
  if (resource instanceof eks.CfnCluster && resource.version !== undefined && !Token.isUnresolved(resource.version)) {
    return resource.version;
  }
  return undefined;
}

/** What needs the cluster's minor, for messages, with the prop that sets its image instead. */
export interface VersionedImage {
  /** Whose image: `the cluster autoscaler` */
  readonly what: string;
  /** `clusterAutoscaler.imageTag` */
  readonly overrideProp: string;
}

/**
 * The pinned images for a Kubernetes minor. Throws when the minor is unknown (`undefined`: an imported
 * cluster without `kubernetesVersion`) or has no pinned images, naming the prop that sets the image instead.
 */
export function imagesForKubernetesVersion(
  version: string | undefined,
  image: VersionedImage,
): (typeof KUBERNETES_VERSION_IMAGES)[string] {
  const supported = SUPPORTED_KUBERNETES_VERSIONS.join(', ');
  if (version === undefined) {
    throw new CortexValidationError(
      `kubernetesVersion is required on a cluster that is not an eks.Cluster of this app (e.g. imported with ` +
        `Cluster.fromClusterAttributes): the image of ${image.what} follows the cluster's Kubernetes minor (one of ${supported}); ` +
        `or set ${image.overrideProp}`,
    );
  }
  checkKubernetesMinor('kubernetesVersion', version);
  const images = KUBERNETES_VERSION_IMAGES[version];
  if (images === undefined) {
    throw new CortexValidationError(
      `kubernetesVersion (${JSON.stringify(version)}) has no pinned image of ${image.what}: supported are ${supported}; ` +
        `or set ${image.overrideProp}`,
    );
  }
  return images;
}
