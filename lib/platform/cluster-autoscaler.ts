import { ArnFormat, CfnJson, Stack, Token } from 'aws-cdk-lib';
import * as eks from 'aws-cdk-lib/aws-eks-v2';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { checkName } from '../../constructs/validation';
import { CortexValidationError } from '../errors';
import { HelmAddonOptions, HelmValues, addonChart } from './helm-addon';
import { clusterKubernetesVersion, imagesForKubernetesVersion } from './kubernetes-version';
import { acknowledgeWildcardResource } from './nag';
import { checkNodeGroupPriorities } from './validation';
import { CHARTS } from './versions';

/** The autoscaler's namespace and service account. */
export const CLUSTER_AUTOSCALER_NAMESPACE = 'kube-system';
export const CLUSTER_AUTOSCALER_SERVICE_ACCOUNT = 'cluster-autoscaler';

/** Read-only calls the autoscaler makes to discover groups, instance types and launch templates. */
export const CLUSTER_AUTOSCALER_DESCRIBE_ACTIONS: readonly string[] = [
  'autoscaling:DescribeAutoScalingGroups',
  'autoscaling:DescribeAutoScalingInstances',
  'autoscaling:DescribeLaunchConfigurations',
  'autoscaling:DescribeScalingActivities',
  'autoscaling:DescribeTags',
  'ec2:DescribeImages',
  'ec2:DescribeInstanceTypes',
  'ec2:DescribeLaunchTemplateVersions',
  'ec2:GetInstanceTypesFromInstanceRequirements',
];

/** The calls that change capacity, allowed only on the cluster's own groups. */
export const CLUSTER_AUTOSCALER_SCALING_ACTIONS: readonly string[] = [
  'autoscaling:SetDesiredCapacity',
  'autoscaling:TerminateInstanceInAutoScalingGroup',
];

/** Options of the cluster autoscaler. */
export interface ClusterAutoscalerOptions extends HelmAddonOptions {
  /**
   * How the autoscaler's pod gets its IAM role: EKS Pod Identity (needs the `eks-pod-identity-agent`
   * add-on, which `CortexPlatform` installs) or IAM roles for service accounts (needs the cluster's OIDC provider).
   * @default eks.IdentityType.POD_IDENTITY
   */
  readonly identityType?: eks.IdentityType;
  /**
   * Node group name → priority, for the priority expander: when pending pods fit several groups, the
   * autoscaler grows the one of highest priority (ties: the one that wastes least). Groups not named
   * here are used only when no named group fits.
   * @default - no priorities: the group that wastes least CPU and memory
   */
  readonly nodeGroupPriorities?: Record<string, number>;
  /**
   * The tag of `registry.k8s.io/autoscaling/cluster-autoscaler`.
   * @default - the tag pinned for the cluster's Kubernetes minor
   */
  readonly imageTag?: string;
}

/** Props of {@link ClusterAutoscaler}. */
export interface ClusterAutoscalerProps extends ClusterAutoscalerOptions {
  /** The cluster whose managed node groups the autoscaler scales. */
  readonly cluster: eks.ICluster;
  /**
   * The cluster's Kubernetes version, which the autoscaler's image follows.
   * @default - the version of an `eks.Cluster` of this app; required otherwise, unless `imageTag` is set
   */
  readonly kubernetesVersion?: eks.KubernetesVersion;
}

/**
 * The Kubernetes cluster autoscaler (release `cluster-autoscaler` in `kube-system`): discovers the
 * cluster's Auto Scaling groups by their `k8s.io/cluster-autoscaler/<cluster>` tags (EKS managed node
 * groups carry them) and scales them to fit pending pods, from zero when the node-template tags say
 * what a node would offer. Its IAM role may describe anything, but change the capacity only of groups
 * tagged `k8s.io/cluster-autoscaler/<cluster>: owned`, and describe only this cluster's node groups.
 */
export class ClusterAutoscaler extends Construct {
  /** The release. */
  public readonly chart: eks.HelmChart;
  /** The service account (with its IAM role) the release runs as; created before it. */
  public readonly serviceAccount: eks.ServiceAccount;
  /** How the service account gets its role. */
  public readonly identityType: eks.IdentityType;

  constructor(scope: Construct, id: string, props: ClusterAutoscalerProps) {
    super(scope, id);
    this.identityType = props.identityType ?? eks.IdentityType.POD_IDENTITY;
    const priorities = props.nodeGroupPriorities ?? {};
    checkNodeGroupPriorities('clusterAutoscaler.nodeGroupPriorities', priorities);
    const imageTag =
      props.imageTag ??
      imagesForKubernetesVersion(clusterKubernetesVersion(props.cluster, props.kubernetesVersion), {
        what: 'the cluster autoscaler',
        overrideProp: 'clusterAutoscaler.imageTag',
      }).clusterAutoscaler;
    checkName('clusterAutoscaler.imageTag', imageTag);
    if (this.identityType === eks.IdentityType.IRSA) {
      checkHasOidcProvider(props.cluster);
    }

    this.serviceAccount = new eks.ServiceAccount(this, 'ServiceAccount', {
      cluster: props.cluster,
      name: CLUSTER_AUTOSCALER_SERVICE_ACCOUNT,
      namespace: CLUSTER_AUTOSCALER_NAMESPACE,
      identityType: this.identityType,
    });
    this.grantScaling(props.cluster.clusterName);

    this.chart = addonChart(this, 'Resource', {
      cluster: props.cluster,
      source: CHARTS.clusterAutoscaler,
      options: props,
      optionsPath: 'clusterAutoscaler',
      release: 'cluster-autoscaler',
      namespace: CLUSTER_AUTOSCALER_NAMESPACE,
      values: clusterAutoscalerValues({
        clusterName: props.cluster.clusterName,
        region: Stack.of(this).region,
        imageTag,
        nodeGroupPriorities: priorities,
      }),
    });
    this.chart.node.addDependency(this.serviceAccount);
  }

  private grantScaling(clusterName: string): void {
    const stack = Stack.of(this);
    this.serviceAccount.addToPrincipalPolicy(
      new iam.PolicyStatement({ sid: 'Describe', actions: [...CLUSTER_AUTOSCALER_DESCRIBE_ACTIONS], resources: ['*'] }),
    );
    const ownedTag = `aws:ResourceTag/k8s.io/cluster-autoscaler/${clusterName}`;
    // A condition key cannot hold a CloudFormation reference; CfnJson resolves it at deploy time.
    const ownedCondition = Token.isUnresolved(clusterName)
      ? new CfnJson(this, 'OwnedGroupsCondition', { value: { [ownedTag]: 'owned' } })
      : { [ownedTag]: 'owned' };
    const autoScalingGroups = stack.formatArn({
      service: 'autoscaling',
      resource: 'autoScalingGroup',
      resourceName: '*:autoScalingGroupName/*',
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    this.serviceAccount.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'ScaleOwnedGroups',
        actions: [...CLUSTER_AUTOSCALER_SCALING_ACTIONS],
        resources: [autoScalingGroups],
        conditions: { StringEquals: ownedCondition },
      }),
    );
    const nodegroups = stack.formatArn({
      service: 'eks',
      resource: 'nodegroup',
      resourceName: `${clusterName}/*/*`,
      arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
    });
    this.serviceAccount.addToPrincipalPolicy(
      new iam.PolicyStatement({ sid: 'DescribeNodegroups', actions: ['eks:DescribeNodegroup'], resources: [nodegroups] }),
    );

    acknowledgeWildcardResource(
      this.serviceAccount,
      '*',
      'The Describe* and GetInstanceTypesFromInstanceRequirements calls of the cluster autoscaler support no ' +
        'resource-level permissions; they are read-only.',
    );
    acknowledgeWildcardResource(
      this.serviceAccount,
      autoScalingGroups,
      "EKS names the Auto Scaling groups of managed node groups; the condition on the tag " +
        "k8s.io/cluster-autoscaler/<cluster>=owned restricts scaling to this cluster's groups.",
    );
    acknowledgeWildcardResource(
      this.serviceAccount,
      nodegroups,
      "This cluster's node groups, whatever their names (node groups come and go with the cluster's configuration).",
    );
  }
}

/** Props of {@link clusterAutoscalerValues}. */
export interface ClusterAutoscalerValuesProps {
  readonly clusterName: string;
  readonly region: string;
  readonly imageTag: string;
  readonly nodeGroupPriorities: Readonly<Record<string, number>>;
}

/**
 * The chart's values: AWS auto-discovery of the cluster's groups; the region given (pods may not reach
 * the instance metadata service: IMDSv2 with a hop limit of 1); the service account made beforehand
 * (it carries the IAM role); expander `priority` (when priorities are given, then `least-waste` among
 * ties) with its ConfigMap; similar groups (e.g. the same instance type in several zones) balanced;
 * nodes with `emptyDir` volumes (every API pod has one) not exempted from scale-down.
 */
export function clusterAutoscalerValues(props: ClusterAutoscalerValuesProps): HelmValues {
  const priorities = expanderPriorities(props.nodeGroupPriorities);
  const hasPriorities = Object.keys(priorities).length > 0;
  return {
    cloudProvider: 'aws',
    awsRegion: props.region,
    autoDiscovery: { clusterName: props.clusterName },
    image: { tag: props.imageTag },
    rbac: { serviceAccount: { create: false, name: CLUSTER_AUTOSCALER_SERVICE_ACCOUNT } },
    extraArgs: {
      expander: hasPriorities ? 'priority,least-waste' : 'least-waste',
      'balance-similar-node-groups': true,
      'skip-nodes-with-local-storage': false,
    },
    ...(hasPriorities ? { expanderPriorities: priorities } : {}),
    resources: { requests: { cpu: '100m', memory: '300Mi' }, limits: { memory: '600Mi' } },
  };
}

/**
 * The priority expander's configuration (`cluster-autoscaler-priority-expander`, key `priorities`):
 * priority → regular expressions of Auto Scaling group names. EKS names a managed node group's group
 * `eks-<node group name>-<node group UUID>`, so each name is matched exactly, UUID and all.
 */
export function expanderPriorities(nodeGroupPriorities: Readonly<Record<string, number>>): Record<string, string[]> {
  const byPriority: Record<string, string[]> = {};
  for (const [name, priority] of Object.entries(nodeGroupPriorities)) {
    const key = String(priority);
    (byPriority[key] ??= []).push(`^eks-${name}-${UUID_PATTERN}$`);
  }
  return byPriority;
}

const UUID_PATTERN = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';

/** IRSA needs the cluster's OIDC provider; an imported cluster has one only when its attributes name it. */
function checkHasOidcProvider(cluster: eks.ICluster): void {
  if (cluster instanceof eks.Cluster) {
    return;
  }
  try {
    void cluster.openIdConnectProvider;
  } catch {
    throw new CortexValidationError(
      `clusterAutoscaler.identityType (IRSA) needs the cluster's OpenID Connect provider: import the cluster with ` +
        `openIdConnectProvider, or use eks.IdentityType.POD_IDENTITY`,
    );
  }
}
