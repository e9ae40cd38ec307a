import * as eks from 'aws-cdk-lib/aws-eks-v2';
import { Construct } from 'constructs';
import { EKS_ADDONS } from './versions';

/**
 * The `eks-pod-identity-agent` add-on, which hands pods the credentials of their Pod Identity
 * associations. An `eks.Cluster` of this app has one of its own (`cluster.eksPodIdentityAgent`, which
 * creates it once, shared with anything else that needs it); on an imported cluster a new one is created
 * under `scope` — import with `podIdentityAgent: false` in the platform when the cluster already has it.
 */
export function podIdentityAgent(scope: Construct, id: string, cluster: eks.ICluster): eks.IAddon {
  return cluster.eksPodIdentityAgent ?? new eks.Addon(scope, id, { cluster, addonName: EKS_ADDONS.podIdentityAgent });
}
