import { KubectlV36Layer } from '@aws-cdk/lambda-layer-kubectl-v36';
import { Annotations, Aspects, CfnCondition, CfnElement, Names, RemovalPolicy, Stack, Tags, Token, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as eks from 'aws-cdk-lib/aws-eks-v2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { EksEndpointCheck } from './eks-endpoint-check';
import { CortexValidationError } from './errors';
import { CapacityGroup, NodeGroup, NodeGroupAccelerator } from './node-group';
import { registerNodeGroups } from './placement';
import { CortexPlatform, CortexPlatformOptions } from './platform/cortex-platform';
import { checkCidr } from './platform/validation';

/** The Kubernetes version a new cluster runs: the newest with a kubectl layer (`@aws-cdk/lambda-layer-kubectl-v36`). */
export const DEFAULT_KUBERNETES_VERSION = eks.KubernetesVersion.V1_36;
/** The kubectl minor version of the layer this package brings. */
const BUNDLED_KUBECTL_MINOR = 36;

/** Control-plane log types a new cluster sends to CloudWatch Logs. */
export const DEFAULT_CLUSTER_LOGGING: readonly eks.ClusterLoggingTypes[] = [
  eks.ClusterLoggingTypes.API,
  eks.ClusterLoggingTypes.AUDIT,
  eks.ClusterLoggingTypes.AUTHENTICATOR,
];

const CLUSTER_NAME = /^[0-9A-Za-z][A-Za-z0-9\-_]*$/;

/** Props of {@link CortexCluster}. */
export interface CortexClusterProps {
  /**
   * The VPC of the cluster; its private subnets (with egress) hold the nodes.
   * @default - a new VPC over up to 3 availability zones (2 in an environment-agnostic stack), a public
   * /24 and a private /18 subnet in each (pods take VPC addresses), `natGateways` NAT gateways, subnets
   * tagged for load balancers (`kubernetes.io/role/elb`, `kubernetes.io/role/internal-elb`)
   */
  readonly vpc?: ec2.IVpc;
  /**
   * NAT gateways of the new VPC (only without `vpc`), from 1 to 3. One is cheapest (about 32 USD a
   * month plus traffic) but its zone's outage cuts every node's egress; one per zone is highly available.
   * @default 1
   */
  readonly natGateways?: number;
  /**
   * The primary CIDR block of the new VPC (only without `vpc`), an IPv4 block of /16 to /24. Its private subnets
   * take the larger share (pods take VPC addresses): a quarter of it each for up to 3 zones, an eighth for 4 to 7.
   * @default '10.0.0.0/16'
   */
  readonly vpcCidr?: string;
  /**
   * The availability zones of the new VPC (only without `vpc`), at least 2, all of the stack's region.
   * @default - up to 3 zones of the region (2 in an environment-agnostic stack, which cannot look zones up)
   */
  readonly availabilityZones?: string[];
  /**
   * Flow logs of the new VPC's rejected traffic, to CloudWatch Logs (only without `vpc`).
   * @default true
   */
  readonly flowLogs?: boolean;
  /**
   * The Kubernetes version.
   * @default eks.KubernetesVersion.V1_36
   */
  readonly version?: eks.KubernetesVersion;
  /**
   * The Lambda layer with kubectl and helm for the kubectl provider, within one minor version of `version`.
   * @default - a KubectlV36Layer (kubectl 1.36), for versions 1.35 to 1.37
   */
  readonly kubectlLayer?: lambda.ILayerVersion;
  /**
   * The EKS cluster's name (1 to 100 letters, digits, "-" and "_", starting with a letter or digit),
   * known at synth time: the cluster-autoscaler tags carry it. A name fixed by CloudFormation means a
   * change that would replace the cluster fails instead, which for a cluster is the safer outcome.
   * @default - a name unique to the construct path, e.g. `MyStack-Cluster-1A2B3C4D`
   */
  readonly clusterName?: string;
  /**
   * The managed node groups; more with {@link CortexCluster.addNodeGroup}. At least one must be a CPU
   * group with a node: the platform's add-ons do not tolerate the accelerator taints.
   * @default [NodeGroup.cpu()]
   */
  readonly nodeGroups?: NodeGroup[];
  /**
   * Who reaches the Kubernetes API endpoint: public, private (from the VPC) or both, and from which CIDR blocks
   * the public side. Restrict the public side with `eks.EndpointAccess.PUBLIC_AND_PRIVATE.onlyFrom('203.0.113.0/24')`
   * (the kubectl provider then reaches it from inside the VPC), or make it `eks.EndpointAccess.PRIVATE` (kubectl,
   * `cortex get` and `cortex logs` then need a way into the VPC). Cortex had no such field: its clusters were public.
   * Public to every address gives a synth warning until acknowledged with a reason
   * (`acknowledgePublicEndpoint(cluster, reason)`: see `EksEndpointCheck`).
   * @default eks.EndpointAccess.PUBLIC_AND_PRIVATE - nodes use the private side; `cdk deploy`, kubectl and
   * `cortex get` work from anywhere, authenticated by IAM, and the synth warns that the endpoint is public to 0.0.0.0/0
   */
  readonly endpointAccess?: eks.EndpointAccess;
  /**
   * The KMS key that envelope-encrypts Kubernetes secrets.
   * @default - a new key with yearly rotation (1 USD a month)
   */
  readonly secretsEncryptionKey?: kms.IKey;
  /**
   * IAM roles made cluster administrators (access entries with AmazonEKSClusterAdminPolicy), e.g. the
   * role you run kubectl and `cortex get` with.
   * @default - only the deployer (the role CloudFormation deploys with) and the kubectl provider
   */
  readonly adminRoles?: iam.IRole[];
  /**
   * Control-plane log types sent to CloudWatch Logs (0.50 USD per GB ingested, plus storage).
   * @default - api, audit, authenticator
   */
  readonly clusterLogging?: eks.ClusterLoggingTypes[];
  /**
   * How long the control-plane logs and the VPC flow logs are kept.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
}

/**
 * An EKS cluster for Cortex-style APIs: a VPC (new or given), an `aws-eks-v2` cluster with its kubectl
 * provider, secrets encrypted with KMS, control-plane logging, and managed node groups
 * ({@link NodeGroup}) tagged for the cluster-autoscaler.
 *
 * ```ts
 * const cluster = new CortexCluster(this, 'Cluster', {
 *   nodeGroups: [NodeGroup.cpu(), NodeGroup.gpu({ minSize: 0, spot: true }), NodeGroup.neuron({ minSize: 0 })],
 * });
 * ```
 */
export class CortexCluster extends Construct {
  /** The EKS cluster (with a kubectl provider). */
  public readonly cluster: eks.Cluster;
  public readonly vpc: ec2.IVpc;
  /** The cluster's name, known at synth time. */
  public readonly clusterName: string;
  public readonly version: eks.KubernetesVersion;
  /** The key encrypting Kubernetes secrets. */
  public readonly secretsEncryptionKey: kms.IKey;
  /** The control-plane log group `/aws/eks/<clusterName>/cluster`; undefined when logging is off. */
  public readonly controlPlaneLogGroup?: logs.ILogGroup;

  private readonly groups: NodeGroup[] = [];
  private readonly _nodegroups: Record<string, eks.Nodegroup> = {};
  private readonly capacities: { group: NodeGroup; capacity: CapacityGroup }[] = [];

  constructor(scope: Construct, id: string, props: CortexClusterProps = {}) {
    super(scope, id);
    this.version = props.version ?? DEFAULT_KUBERNETES_VERSION;
    this.clusterName = props.clusterName ?? defaultClusterName(this);
    const natGateways = props.natGateways ?? 1;
    const flowLogs = props.flowLogs ?? true;
    const clusterLogging = props.clusterLogging ?? [...DEFAULT_CLUSTER_LOGGING];
    const logRetention = props.logRetention ?? logs.RetentionDays.ONE_MONTH;
    const endpointAccess = props.endpointAccess ?? eks.EndpointAccess.PUBLIC_AND_PRIVATE;
    const nodeGroups = props.nodeGroups ?? [NodeGroup.cpu()];

    checkClusterName(this.clusterName);
    if (props.vpc && props.natGateways !== undefined) {
      throw new CortexValidationError(`natGateways (${props.natGateways}) applies to the VPC the cluster creates: leave it out with vpc`);
    }
    if (props.vpc && props.flowLogs !== undefined) {
      throw new CortexValidationError(`flowLogs (${props.flowLogs}) applies to the VPC the cluster creates: leave it out with vpc`);
    }
    for (const prop of ['vpcCidr', 'availabilityZones'] as const) {
      if (props.vpc && props[prop] !== undefined) {
        throw new CortexValidationError(`${prop} applies to the VPC the cluster creates: leave it out with vpc`);
      }
    }
    if (props.vpcCidr !== undefined) checkVpcCidr(props.vpcCidr);
    if (props.availabilityZones !== undefined) checkAvailabilityZones(props.availabilityZones);
    if (props.vpcCidr !== undefined) checkSubnetsFit(props.vpcCidr, props.availabilityZones?.length ?? 3);
    checkNatGateways(natGateways, props.availabilityZones?.length);
    (endpointAccess._config.publicCidrs ?? []).forEach((cidr, i) => checkCidr(`endpointAccess.onlyFrom[${i}]`, cidr));
    const kubectlLayer = props.kubectlLayer ?? defaultKubectlLayer(this, this.version);
    checkKubectlLayer(this.version.version, kubectlLayerMinor(kubectlLayer));

    this.vpc = props.vpc ?? this.newVpc({ natGateways, flowLogs, retention: logRetention, cidr: props.vpcCidr, zones: props.availabilityZones });
    this.secretsEncryptionKey =
      props.secretsEncryptionKey ??
      new kms.Key(this, 'SecretsKey', {
        description: `Envelope encryption of the Kubernetes secrets of EKS cluster ${this.clusterName}`,
        enableKeyRotation: true,
      });

    if (clusterLogging.length > 0) {
      // Made before the cluster, so that EKS writes into it (with a retention) instead of creating
      // one that keeps logs forever.
      this.controlPlaneLogGroup = new logs.LogGroup(this, 'ControlPlaneLogs', {
        logGroupName: `/aws/eks/${this.clusterName}/cluster`,
        retention: logRetention,
        removalPolicy: RemovalPolicy.DESTROY,
      });
    }

    this.cluster = new eks.Cluster(this, 'Resource', {
      clusterName: this.clusterName,
      version: this.version,
      vpc: this.vpc,
      kubectlProviderOptions: { kubectlLayer },
      defaultCapacity: 0,
      defaultCapacityType: eks.DefaultCapacityType.NODEGROUP,
      endpointAccess,
      secretsEncryptionKey: this.secretsEncryptionKey,
      clusterLogging: clusterLogging.length > 0 ? clusterLogging : undefined,
    });
    if (this.controlPlaneLogGroup) {
      this.cluster.node.findChild('Resource').node.addDependency(this.controlPlaneLogGroup);
    }
    (props.adminRoles ?? []).forEach((role, i) => this.cluster.grantClusterAdmin(`Admin${i}`, role.roleArn));

    for (const group of nodeGroups) {
      this.addNodeGroup(group);
    }
    // APIs on this cluster check at synth that some node group can run their pods (lib/placement.ts).
    registerNodeGroups(this.cluster, () => this.nodeGroups);
    this.node.addValidation({ validate: () => this.validateNodeGroups() });
    Aspects.of(this).add(new EksEndpointCheck());
    this.acknowledgeValidations();
  }

  /** The node groups' values, in the order added. */
  public get nodeGroups(): readonly NodeGroup[] {
    return [...this.groups];
  }

  /**
   * The EKS managed node groups by key: a group's name, and `<name>-on-demand` for the on-demand base
   * of a spot group.
   */
  public get nodegroups(): Readonly<Record<string, eks.Nodegroup>> {
    return { ...this._nodegroups };
  }

  /**
   * The priority of every EKS managed node group for the cluster-autoscaler's priority expander, keyed
   * by EKS node-group name (`gpu-1a2b3c4d`, `gpu-on-demand-5e6f7a8b`: see {@link CapacityGroup.nodegroupName}),
   * whose Auto Scaling group EKS names `eks-<nodegroupName>-<uuid>`. The on-demand base of a spot group
   * has the group's priority. This is what `CortexPlatform`'s `clusterAutoscaler.nodeGroupPriorities` takes.
   */
  public get nodeGroupPriorities(): Record<string, number> {
    return Object.fromEntries(this.capacities.map(({ group, capacity }) => [capacity.nodegroupName, group.priority]));
  }

  /**
   * The platform add-ons on this cluster, wired to it: its Kubernetes version, its node groups as the
   * capacity the add-ons wait for, and their priorities for the cluster-autoscaler's priority expander.
   * Add node groups before calling it.
   */
  public addPlatform(options: CortexPlatformOptions = {}, id = 'Platform'): CortexPlatform {
    const autoscaler = options.clusterAutoscaler;
    return new CortexPlatform(this, id, {
      kubernetesVersion: this.version,
      capacity: Object.values(this._nodegroups),
      ...options,
      clusterAutoscaler: autoscaler === false ? false : { nodeGroupPriorities: this.nodeGroupPriorities, ...autoscaler },
      cluster: this.cluster,
    });
  }

  /**
   * Adds a node group: its launch template (IMDSv2 with the group's hop limit, 1 by default; encrypted gp3 root
   * volume) and its EKS managed
   * node group(s), labelled, tainted and tagged for the cluster-autoscaler.
   * @returns the group's main EKS node group (the spot one, for a spot group with an on-demand base)
   */
  public addNodeGroup(group: NodeGroup): eks.Nodegroup {
    const taken = new Set([...this.groups.map((g) => g.name), ...Object.keys(this._nodegroups)]);
    for (const capacity of group.capacityGroups) {
      if (taken.has(capacity.key)) {
        const what = capacity.key === group.name ? 'node group' : `on-demand base of spot node group "${group.name}"`;
        throw new CortexValidationError(
          `node group names must be unique in a cluster: ${what} "${capacity.key}" is already taken`,
        );
      }
    }

    const scope = new Construct(this, `NodeGroup-${group.name}`);
    const launchTemplate = new ec2.LaunchTemplate(scope, 'LaunchTemplate', {
      requireImdsv2: true,
      httpTokens: ec2.LaunchTemplateHttpTokens.REQUIRED,
      httpEndpoint: true,
      httpPutResponseHopLimit: group.imdsHopLimit,
      blockDevices: [
        {
          deviceName: rootDeviceName(group.amiType),
          volume: ec2.BlockDeviceVolume.ebs(group.diskSize, {
            volumeType: group.volumeType,
            iops: group.volumeIops,
            throughput: group.volumeThroughput,
            encrypted: true,
            deleteOnTermination: true,
          }),
        },
      ],
    });
    // Names the instances and volumes in the console (the launch template's tags go to both).
    Tags.of(launchTemplate).add('Name', `${this.clusterName}/${group.name}`);

    let main: eks.Nodegroup | undefined;
    for (const capacity of group.capacityGroups) {
      const nodegroup = new eks.Nodegroup(scope, capacity.key === group.name ? 'Resource' : 'OnDemandBase', {
        cluster: this.cluster,
        nodegroupName: capacity.nodegroupName,
        capacityType: capacity.capacityType,
        minSize: capacity.minSize,
        maxSize: capacity.maxSize,
        desiredSize: capacity.desiredSize,
        launchTemplateSpec: { id: launchTemplate.launchTemplateId!, version: launchTemplate.latestVersionNumber },
        labels: { ...group.labels },
        taints: group.taints.length > 0 ? group.taints.map((t) => ({ key: t.key, value: t.value, effect: t.effect })) : undefined,
        tags: group.autoscalerTags(this.clusterName, capacity),
      });
      // Set on the L1: the L2's AMI/architecture check predates trn1/trn2/p5 and the AL2023 accelerator AMIs.
      const cfn = nodegroup.node.defaultChild as eks.CfnNodegroup;
      cfn.amiType = group.amiType;
      cfn.instanceTypes = [...group.instanceTypes];
      acknowledgeNodeRole(nodegroup);

      this._nodegroups[capacity.key] = nodegroup;
      this.capacities.push({ group, capacity });
      main ??= nodegroup;
    }
    if (group.accelerator === NodeGroupAccelerator.NEURON && group.acceleratorsPerNode === undefined) {
      Annotations.of(scope).addWarningV2(
        'cortex-cdk:unknownNeuronDevices',
        `node group "${group.name}": Neuron devices per node of ${group.instanceTypes.join(', ')} are unknown; ` +
          `set acceleratorsPerNode so that the cluster-autoscaler can scale the group from zero`,
      );
    }
    this.groups.push(group);
    return main!;
  }

  private newVpc(options: {
    natGateways: number;
    flowLogs: boolean;
    retention: logs.RetentionDays;
    cidr?: string;
    zones?: string[];
  }): ec2.Vpc {
    const { natGateways, flowLogs, retention, cidr, zones } = options;
    const masks = subnetMasks(cidr === undefined ? 16 : Number(cidr.split('/')[1]), zones?.length ?? 3);
    const vpc = new ec2.Vpc(this, 'Vpc', {
      ...(cidr !== undefined ? { ipAddresses: ec2.IpAddresses.cidr(cidr) } : {}),
      ...(zones !== undefined ? { availabilityZones: [...zones] } : { maxAzs: 3 }),
      natGateways,
      subnetConfiguration: [
        { name: 'Public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: masks.public },
        { name: 'Private', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: masks.private },
      ],
    });
    if (!flowLogs) {
      Validations.of(vpc).acknowledge({
        id: `${NAG}-VPC7`,
        reason: 'flowLogs: false was chosen for this cluster (CortexClusterProps.flowLogs).',
      });
    } else {
      vpc.addFlowLog('FlowLog', {
        trafficType: ec2.FlowLogTrafficType.REJECT,
        destination: ec2.FlowLogDestination.toCloudWatchLogs(
          new logs.LogGroup(this, 'FlowLogs', { retention, removalPolicy: RemovalPolicy.DESTROY }),
        ),
      });
    }
    return vpc;
  }

  private validateNodeGroups(): string[] {
    if (this.groups.length === 0) {
      return ['nodeGroups: the cluster has no node group; add at least NodeGroup.cpu()'];
    }
    const cpuNodes = this.groups
      .filter((g) => g.accelerator === NodeGroupAccelerator.NONE)
      .reduce((sum, g) => sum + g.desiredSize, 0);
    if (cpuNodes < 1) {
      return [
        `nodeGroups must start at least one CPU node (a NodeGroup.cpu() with desiredSize or minSize >= 1), got ${cpuNodes}: ` +
          `the platform's add-ons (CoreDNS, Istio, KEDA, Prometheus, the cluster-autoscaler) do not tolerate the GPU/Neuron taints`,
      ];
    }
    return [];
  }

  /**
   * Findings of cdk-nag's AwsSolutions pack (and CloudFormation's validation) this construct accepts on
   * purpose, each with why. The node roles are acknowledged in {@link acknowledgeNodeRole}.
   */
  private acknowledgeValidations(): void {
    const cluster = Validations.of(this.cluster);
    cluster.acknowledge(
      {
        id: `${NAG}-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/AmazonEKSClusterPolicy]`,
        reason: 'The EKS cluster role needs exactly the AWS managed AmazonEKSClusterPolicy, which AWS keeps current with the service.',
      },
      {
        id: 'CloudFormation-Validate::W9009',
        reason: 'aws-eks-v2 sets EncryptionConfig.Resources to ["secrets"], which EKS still requires for envelope encryption with our KMS key.',
      },
    );
    // The kubectl provider (two functions, their roles) is built and kept current by aws-cdk-lib/aws-eks-v2.
    // cdk-nag names each managed policy and wildcard in its finding, so each is acknowledged by that name.
    const kubectlProvider = this.cluster.node.tryFindChild('KubectlProvider');
    const handler = kubectlProvider?.node.tryFindChild('Handler');
    if (!kubectlProvider || !handler) return;
    const stack = Stack.of(this);
    const logicalId = (element: CfnElement): string => stack.resolve(stack.getLogicalId(element));
    const managed = ['service-role/AWSLambdaBasicExecutionRole', 'service-role/AWSLambdaVPCAccessExecutionRole', 'AmazonEC2ContainerRegistryReadOnly']
      .map((policy) => `Policy::arn:<AWS::Partition>:iam::aws:policy/${policy}`);
    const ecrPublic = handler.node.tryFindChild('HasEcrPublic');
    if (ecrPublic instanceof CfnCondition) {
      managed.push(
        `Policy::{"Fn::If":["${logicalId(ecrPublic)}",{"Fn::Join":["",["arn:",{"Ref":"AWS::Partition"},` +
          `":iam::aws:policy/AmazonElasticContainerRegistryPublicReadOnly"]]},{"Ref":"AWS::NoValue"}]}`,
      );
    }
    for (const finding of managed) {
      Validations.of(kubectlProvider).acknowledge({
        id: `${NAG}-IAM4[${finding}]`,
        reason:
          'aws-eks-v2 gives the kubectl provider functions the AWS managed policies to log, run in the VPC and pull ' +
          'charts from ECR; AWS keeps them current.',
      });
    }
    Validations.of(kubectlProvider).acknowledge(
      {
        id: `${NAG}-IAM5[Resource::<${logicalId(handler.node.defaultChild as CfnElement)}.Arn>:*]`,
        reason: 'The provider framework may invoke any version of its own kubectl handler (<handler ARN>:*), as aws-eks-v2 grants.',
      },
      {
        id: `${NAG}-L1`,
        reason: "aws-eks-v2 pins the kubectl handler's runtime to the one its kubectl/helm layer is built and tested for.",
      },
    );
  }
}

const NAG = 'AwsSolutions::AwsSolutions';

/** The managed policies EKS documents for a node role; aws-eks-v2 attaches exactly these. */
function acknowledgeNodeRole(nodegroup: eks.Nodegroup): void {
  for (const policy of ['AmazonEKSWorkerNodePolicy', 'AmazonEKS_CNI_Policy', 'AmazonEC2ContainerRegistryReadOnly']) {
    Validations.of(nodegroup.role).acknowledge({
      id: `${NAG}-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/${policy}]`,
      reason: `EKS documents ${policy} as part of the node IAM role (join the cluster, run the VPC CNI, pull images from ECR).`,
    });
  }
}

/** A unique, synth-time cluster name from the construct path (`MyStack-Cluster-1A2B3C4D`). */
function defaultClusterName(scope: Construct): string {
  return Names.uniqueResourceName(scope, { maxLength: 100, separator: '-' });
}

/** The root device of the AMI: Bottlerocket keeps the OS on /dev/xvda and containers on /dev/xvdb. */
function rootDeviceName(amiType: eks.NodegroupAmiType): string {
  return amiType.startsWith('BOTTLEROCKET') ? '/dev/xvdb' : '/dev/xvda';
}

function defaultKubectlLayer(scope: Construct, version: eks.KubernetesVersion): lambda.ILayerVersion {
  const minor = minorOf(version.version);
  if (minor !== undefined && Math.abs(minor - BUNDLED_KUBECTL_MINOR) > 1) {
    throw new CortexValidationError(
      `kubectlLayer is required for version ${version.version}: the default KubectlV${BUNDLED_KUBECTL_MINOR}Layer (kubectl 1.${BUNDLED_KUBECTL_MINOR}) ` +
        `serves 1.${BUNDLED_KUBECTL_MINOR - 1} to 1.${BUNDLED_KUBECTL_MINOR + 1}; install @aws-cdk/lambda-layer-kubectl-v${minor} and pass its KubectlV${minor}Layer`,
    );
  }
  return new KubectlV36Layer(scope, 'KubectlLayer');
}

function minorOf(version: string): number | undefined {
  const match = /^1\.(\d+)$/.exec(version);
  return match ? Number(match[1]) : undefined;
}

/** The kubectl minor version of a layer from `@aws-cdk/lambda-layer-kubectl-vNN`, when its class tells. */
export function kubectlLayerMinor(layer: lambda.ILayerVersion): number | undefined {
  const match = /^KubectlV(\d+)Layer$/.exec(layer.constructor.name);
  return match ? Number(match[1]) : undefined;
}

/** kubectl serves API servers within one minor version of its own. Unknown versions pass. */
export function checkKubectlLayer(version: string, layerMinor: number | undefined): void {
  const minor = minorOf(version);
  if (minor === undefined || layerMinor === undefined) return;
  if (Math.abs(minor - layerMinor) > 1) {
    throw new CortexValidationError(
      `kubectlLayer (KubectlV${layerMinor}Layer, kubectl 1.${layerMinor}) does not match version (${version}): kubectl serves ` +
        `clusters within one minor version of its own; use KubectlV${minor}Layer from @aws-cdk/lambda-layer-kubectl-v${minor}`,
    );
  }
}

/** An EKS cluster name: 1 to 100 letters, digits, "-" and "_", starting with a letter or digit, known at synth time. */
export function checkClusterName(name: string): void {
  if (Token.isUnresolved(name)) {
    throw new CortexValidationError(
      'clusterName must be a literal, got a token: the cluster-autoscaler tag k8s.io/cluster-autoscaler/<clusterName> needs it at synth time',
    );
  }
  if (name.length < 1 || name.length > 100 || !CLUSTER_NAME.test(name)) {
    throw new CortexValidationError(
      `clusterName (${JSON.stringify(name)}) must be 1 to 100 letters, digits, "-" and "_", starting with a letter or digit`,
    );
  }
}

/** NAT gateways of a new VPC: an integer from 1 (cheapest) to one per zone (3, or the number of `availabilityZones`). */
export function checkNatGateways(natGateways: number, zones = 3): void {
  if (!Number.isInteger(natGateways) || natGateways < 1 || natGateways > zones) {
    throw new CortexValidationError(
      `natGateways must be an integer from 1 to ${zones}, got ${natGateways}: the nodes live in private subnets and reach the internet through them`,
    );
  }
}

/**
 * The subnet masks of a new VPC of prefix length `vpcMask` over `zones` zones: private subnets of a quarter of the
 * VPC each (an eighth from 4 zones on), public ones of a 256th (at most /28), leaving room to spare. A /16 over 3
 * zones gets /18 and /24.
 */
export function subnetMasks(vpcMask: number, zones: number): { public: number; private: number } {
  return { private: vpcMask + Math.ceil(Math.log2(zones + 1)), public: Math.min(vpcMask + 8, 28) };
}

/** The public subnets must fit in the share of the VPC the private ones leave. */
export function checkSubnetsFit(vpcCidr: string, zones: number): void {
  const vpcMask = Number(vpcCidr.split('/')[1]);
  const masks = subnetMasks(vpcMask, zones);
  if (zones * 2 ** (vpcMask - masks.public) > 2 ** (vpcMask - masks.private)) {
    throw new CortexValidationError(
      `vpcCidr (${JSON.stringify(vpcCidr)}) is too small for a public and a private subnet in each of ${zones} zones: use a larger block (a smaller prefix length) or fewer zones`,
    );
  }
}

/** The new VPC's CIDR block: IPv4, /16 (the largest a VPC takes) to /24. */
export function checkVpcCidr(cidr: string): void {
  const match = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(cidr);
  const valid = match !== null && match.slice(1, 5).every((octet) => Number(octet) <= 255);
  if (!valid || Number(match![5]) < 16 || Number(match![5]) > 24) {
    throw new CortexValidationError(`vpcCidr (${JSON.stringify(cidr)}) must be an IPv4 CIDR block from /16 to /24, such as "10.0.0.0/16"`);
  }
}

/** At least two zones (EKS needs subnets in two), none twice. Tokens pass. */
export function checkAvailabilityZones(zones: readonly string[]): void {
  if (zones.some((zone) => Token.isUnresolved(zone))) return;
  if (zones.length < 2) {
    throw new CortexValidationError(`availabilityZones must name at least 2 zones (EKS needs subnets in two), got ${zones.length}`);
  }
  const repeated = zones.find((zone, i) => zones.indexOf(zone) !== i);
  if (repeated !== undefined) {
    throw new CortexValidationError(`availabilityZones names ${JSON.stringify(repeated)} twice`);
  }
  if (zones.length > 7) {
    throw new CortexValidationError(`availabilityZones must name at most 7 zones (the VPC's subnets are sized for 7), got ${zones.length}`);
  }
}
