import * as cdk from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { CortexApis, CortexApisOptions } from './cortex-apis';
import { CortexCluster, CortexClusterProps } from './cortex-cluster';
import { CortexConfig } from './config';
import { NodeGroup } from './node-group';
import { checkPolicyArns } from './realtime-api';
import { CortexPlatform, CortexPlatformOptions } from './platform/cortex-platform';

/** Props of {@link CortexStack}. */
export interface CortexStackProps extends cdk.StackProps {
  /** The validated APIs to deploy (`loadConfigFile`, or several files through `mergeConfigs`). */
  readonly config: CortexConfig;
  /**
   * The cluster: VPC, version, endpoint access, encryption...
   * @default - CortexCluster's defaults, with the node groups below
   */
  readonly cluster?: CortexClusterProps;
  /**
   * The node groups.
   * @default - cpu (m6i.xlarge, 1–5 nodes), gpu (g5.xlarge, 0–5) and neuron (inf2.xlarge, 0–5): the
   * accelerator groups start empty and the cluster-autoscaler adds nodes when an API asks for them
   */
  readonly nodeGroups?: NodeGroup[];
  /**
   * The platform add-ons: each can be configured, or skipped with `false`.
   * @default - every add-on, with its defaults
   */
  readonly platform?: CortexPlatformOptions;
  /**
   * How the APIs are built and placed (images, nested stacks, outputs).
   * @default - CortexApis' defaults
   */
  readonly apis?: Omit<CortexApisOptions, 'platform'>;
  /**
   * IAM managed policy ARNs every API's role gets (Cortex's cluster.yaml `iam_policy_arns`), e.g.
   * `['arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess']`; each API adds its own `iam_policy_arns`. Each is
   * `arn:PARTITION:iam::aws:policy/NAME` or `arn:PARTITION:iam::ACCOUNT:policy/[PATH/]NAME`.
   * @default - none (Cortex's default was AmazonS3FullAccess): each API's role may read the s3:// locations
   * of its own models, and nothing else
   */
  readonly apiPolicyArns?: string[];
}

/**
 * A whole deployment in one stack: a {@link CortexCluster} with CPU, GPU and Inferentia node groups,
 * the {@link CortexPlatform} on it, and every API and traffic splitter of `config` ({@link CortexApis},
 * spread over nested stacks). This is what `bin/app.ts` synthesizes.
 */
export class CortexStack extends cdk.Stack {
  public readonly cortexCluster: CortexCluster;
  public readonly platform: CortexPlatform;
  public readonly apis: CortexApis;

  constructor(scope: Construct, id: string, props: CortexStackProps) {
    super(scope, id, props);
    const apiPolicyArns = props.apiPolicyArns ?? [];
    checkPolicyArns('apiPolicyArns', apiPolicyArns);
    const nodeGroups = props.nodeGroups ?? [NodeGroup.cpu(), NodeGroup.gpu({ minSize: 0 }), NodeGroup.neuron({ minSize: 0 })];

    this.cortexCluster = new CortexCluster(this, 'Cluster', { ...props.cluster, nodeGroups });
    this.platform = this.cortexCluster.addPlatform(props.platform);
    const managedPolicies = [
      ...apiPolicyArns.map((arn, index) => iam.ManagedPolicy.fromManagedPolicyArn(this, `ApiPolicy${index}`, arn)),
      ...(props.apis?.managedPolicies ?? []),
    ];
    this.apis = new CortexApis(this, 'Apis', {
      ...props.apis,
      managedPolicies,
      cluster: this.cortexCluster.cluster,
      config: props.config,
      platform: this.platform,
    });
  }
}
