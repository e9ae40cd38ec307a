import * as eks from 'aws-cdk-lib/aws-eks-v2';
import { Construct } from 'constructs';
import { CortexValidationError } from '../errors';
import { checkAddonVersion, checkMinimumVersion } from './validation';
import { EKS_ADDONS } from './versions';

/** The oldest VPC CNI with the network policy agent (the `aws-eks-nodeagent` container of `aws-node`). */
export const MINIMUM_VPC_CNI_VERSION = '1.14.0';

/** The add-on's configuration key that turns the network policy agent on (a string, in the add-on's schema). */
export const ENABLE_NETWORK_POLICY = 'enableNetworkPolicy';

/** Options of the `vpc-cni` EKS add-on. */
export interface VpcCniOptions {
  /**
   * The add-on version (`aws eks describe-addon-versions --addon-name vpc-cni`); NetworkPolicies need v1.14.0
   * or newer.
   * @default - the version EKS installs by default for the cluster's Kubernetes version
   */
  readonly addonVersion?: string;
  /**
   * The add-on's configuration values (its JSON schema: `aws eks describe-addon-configuration --addon-name vpc-cni`),
   * e.g. `env` for prefix delegation; `enableNetworkPolicy` is the platform's (always `"true"`: without enforcement,
   * leave the add-on out with `vpcCni: false`).
   * @default - the add-on's defaults, with network policy enforcement on
   */
  readonly configurationValues?: Record<string, unknown>;
}

/** Props of {@link VpcCni}. */
export interface VpcCniProps extends VpcCniOptions {
  /** The cluster whose pod networking the add-on runs. */
  readonly cluster: eks.ICluster;
}

/**
 * The `vpc-cni` EKS add-on with the network policy agent on (`enableNetworkPolicy: "true"`), so that the
 * APIs' NetworkPolicies are enforced: EKS's network policy controller resolves them, and the agent in every
 * `aws-node` pod applies them with eBPF on the pods' interfaces. A new cluster runs the CNI as a self-managed
 * DaemonSet that EKS installs; the add-on takes it over (`resolveConflicts: OVERWRITE`: settings made to
 * `aws-node` by hand go back to the add-on's, so set them in `configurationValues`). Removing the add-on keeps
 * the CNI running (`preserveOnDelete`): pods without a CNI would lose their network.
 */
export class VpcCni extends Construct {
  /** The add-on. */
  public readonly addon: eks.Addon;

  constructor(scope: Construct, id: string, props: VpcCniProps) {
    super(scope, id);
    if (props.addonVersion !== undefined) {
      checkAddonVersion('vpcCni.addonVersion', props.addonVersion);
      checkMinimumVersion(
        'vpcCni.addonVersion',
        props.addonVersion,
        MINIMUM_VPC_CNI_VERSION,
        "the network policy agent, which enforces the APIs' NetworkPolicies, came with v1.14.0",
      );
    }
    this.addon = new eks.Addon(this, 'Resource', {
      cluster: props.cluster,
      addonName: EKS_ADDONS.vpcCni,
      addonVersion: props.addonVersion,
      configurationValues: vpcCniConfiguration(props.configurationValues),
      preserveOnDelete: true,
    });
    // The L2 does not expose it: without OVERWRITE, taking over the self-managed aws-node may fail on a conflict.
    (this.addon.node.defaultChild as eks.CfnAddon).resolveConflicts = 'OVERWRITE';
  }
}

/** The user's configuration values with network policy enforcement on; an `enableNetworkPolicy` of theirs must agree. */
export function vpcCniConfiguration(values: Record<string, unknown> = {}): Record<string, unknown> {
  const given = values[ENABLE_NETWORK_POLICY];
  if (given !== undefined && given !== 'true') {
    throw new CortexValidationError(
      `vpcCni.configurationValues.${ENABLE_NETWORK_POLICY} (${JSON.stringify(given)}) must be "true" or left out: ` +
        "the platform enforces the APIs' NetworkPolicies; set vpcCni: false to manage the VPC CNI yourself",
    );
  }
  return { ...values, [ENABLE_NETWORK_POLICY]: 'true' };
}
