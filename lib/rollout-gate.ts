import * as fs from 'node:fs';
import * as path from 'node:path';
import { CfnElement, CustomResource, Duration, Lazy, Names, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as eks from 'aws-cdk-lib/aws-eks-v2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct, type IDependable } from 'constructs';
import { ENV_CLUSTER_CA, ENV_CLUSTER_ENDPOINT, ENV_CLUSTER_NAME } from '../lambda/rollout-gate/environment';
import { PROPERTY } from '../lambda/rollout-gate/properties';
import { CortexValidationError } from './errors';

/** How long a rollout may take unless told otherwise. */
export const DEFAULT_ROLLOUT_TIMEOUT = Duration.minutes(10);
/**
 * The default for APIs on GPU or Inferentia/Trainium nodes: those groups start at zero nodes, so a rollout
 * waits for the cluster autoscaler's node (~3–5 minutes) and then pulls images of several GB (CUDA, Neuron).
 */
export const ACCELERATOR_ROLLOUT_TIMEOUT = Duration.minutes(30);
/** The shortest timeout: a new pod rarely even pulls its image sooner. */
export const MIN_ROLLOUT_TIMEOUT = Duration.minutes(1);
/**
 * The longest timeout. CloudFormation waits at most an hour for a custom resource (and the provider
 * framework's waiter is set to that hour); the margin leaves the gate's last look and its reply room.
 */
export const MAX_ROLLOUT_TIMEOUT = Duration.minutes(55);
/** How often the gate looks at a rollout unless told otherwise. */
export const DEFAULT_QUERY_INTERVAL = Duration.seconds(15);
/** The provider framework's total timeout: CloudFormation's own limit for a custom resource. */
const PROVIDER_TOTAL_TIMEOUT = Duration.hours(1);

/** The CloudFormation type of a gate. */
export const ROLLOUT_GATE_RESOURCE_TYPE = 'Custom::CortexRolloutGate';

/**
 * An upper bound of what one gate adds to its template beyond its deploy-time inputs: logical id, type,
 * service token (a parameter of a nested stack), properties, dependencies, path metadata.
 */
export const ROLLOUT_GATE_TEMPLATE_BYTES = 900;
/** What one deploy-time input (an image asset's URI: Fn::Join / Fn::Sub parts) adds to it, at most. */
export const ROLLOUT_GATE_INPUT_BYTES = 500;

/** The id of the provider below its cluster construct (one per cluster). */
const PROVIDER_ID = 'CortexRolloutGate';

/** Options of {@link RolloutGate}, without what the API gives (e.g. `RealtimeApiOptions.rolloutGate`). */
export interface RolloutGateOptions {
  /**
   * How long the rollout may take, from the moment CloudFormation creates or updates the gate, before it
   * fails the deploy. From 1 to 55 minutes (CloudFormation waits at most an hour for a custom resource).
   * @default - 10 minutes; 30 minutes for an API on GPU or Inferentia/Trainium nodes (new nodes, large images)
   */
  readonly timeout?: Duration;
}

/** Props of {@link RolloutGate}. */
export interface RolloutGateProps extends RolloutGateOptions {
  /** The cluster the Deployment runs on. */
  readonly cluster: eks.ICluster;
  /** The manifest holding the Deployment: the gate is created and updated after it. */
  readonly manifest: IDependable;
  /** The API, named in the gate's messages. */
  readonly apiName: string;
  /** The Deployment's namespace: the gate's access entry may read it. */
  readonly namespace: string;
  /**
   * The Deployment's name.
   * @default - the API's name
   */
  readonly deploymentName?: string;
  /**
   * The revision waited for: the pod template's `cortex.dev/spec-hash`. A new one updates the gate,
   * which then waits for the new rollout.
   */
  readonly specHash: string;
  /**
   * The pod template's deploy-time values (image asset URIs...), which the spec hash leaves out. A change of
   * one rolls the pods, so it updates the gate too.
   * @default - none
   */
  readonly deployTimeInputs?: string[];
}

/**
 * Waits, in `cdk deploy`, for an API's Deployment to finish rolling out: the gate (a custom resource
 * after the API's manifest) completes when the new ReplicaSet is fully available, and fails — so that
 * CloudFormation rolls the stack back, re-applying the previous manifest — when the rollout fails or
 * exceeds its timeout, naming the pods and why (crash loop with its last log lines, image pull
 * failure, unschedulable, failing readiness probe...). See docs/operations.md.
 *
 * Its handler is shared by the cluster's gates ({@link RolloutGateProvider}), in the cluster's stack.
 */
export class RolloutGate extends Construct {
  /** The custom resource. */
  public readonly resource: CustomResource;
  /** The cluster's gate provider. */
  public readonly provider: RolloutGateProvider;
  public readonly timeout: Duration;
  public readonly specHash: string;
  public readonly deployTimeInputs: readonly string[];

  constructor(scope: Construct, id: string, props: RolloutGateProps) {
    super(scope, id);
    this.timeout = props.timeout ?? DEFAULT_ROLLOUT_TIMEOUT;
    this.specHash = props.specHash;
    this.deployTimeInputs = [...(props.deployTimeInputs ?? [])];
    const deploymentName = props.deploymentName ?? props.apiName;
    checkRolloutTimeout(this.timeout);

    this.provider = RolloutGateProvider.of(props.cluster);
    this.provider.allowNamespace(props.namespace);
    this.resource = new CustomResource(this, 'Resource', {
      serviceToken: this.provider.serviceToken,
      resourceType: ROLLOUT_GATE_RESOURCE_TYPE,
      properties: {
        [PROPERTY.apiName]: props.apiName,
        [PROPERTY.namespace]: props.namespace,
        [PROPERTY.deployment]: deploymentName,
        [PROPERTY.specHash]: props.specHash,
        [PROPERTY.timeoutSeconds]: this.timeout.toSeconds(),
        ...(this.deployTimeInputs.length > 0 ? { [PROPERTY.deployTimeInputs]: this.deployTimeInputs } : {}),
      },
    });
    this.resource.node.addDependency(props.manifest);
    // The gate reads the cluster as soon as it is created: its access entry must be there.
    this.resource.node.addDependency(this.provider.accessEntry);
  }

  /** How many resources this adds to its stack's template. */
  public get resourceCount(): number {
    return 1;
  }

  /** An upper bound of the bytes this adds to its stack's template. */
  public get templateBytes(): number {
    return ROLLOUT_GATE_TEMPLATE_BYTES + this.deployTimeInputs.length * ROLLOUT_GATE_INPUT_BYTES;
  }
}

/** Options of the cluster's {@link RolloutGateProvider}. */
export interface RolloutGateProviderOptions {
  /**
   * How often a gate looks at its rollout (each look: a Lambda invocation and a few Kubernetes API reads).
   * @default Duration.seconds(15)
   */
  readonly queryInterval?: Duration;
  /**
   * Whether the handler runs in the cluster's VPC (its private subnets, the cluster security group), to
   * reach a private endpoint.
   * @default - true when the endpoint of a cluster made in this app is not open to all (private only, or
   * public restricted to CIDRs, as the kubectl provider then does); false for imported clusters
   */
  readonly inVpc?: boolean;
  /**
   * How long the handler's logs are kept.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
}

/**
 * The rollout gates' handler on one cluster, in the cluster's stack (one per cluster, shared by the gates
 * of every nested stack): two Lambda functions (onEvent, isComplete) from the bundle of
 * `lambda/rollout-gate/`, the CDK provider framework that polls isComplete, a role whose only IAM
 * permissions are writing its two log groups (plus `eks:DescribeCluster` on this cluster when it was imported
 * without endpoint and certificate authority, and the VPC access policy when it runs in the VPC), and an EKS
 * access entry for that role with `AmazonEKSViewPolicy` on the APIs' namespaces only. The handler
 * authenticates with an EKS token it signs itself (an STS GetCallerIdentity presigned URL). See
 * docs/operations.md, "The rollout gate".
 */
export class RolloutGateProvider extends Construct {
  /**
   * The cluster's provider, made on the first call (with `options`) below the cluster's construct.
   * Options given once it exists throw: pass them on the first call, before adding APIs.
   */
  public static of(cluster: eks.ICluster, options?: RolloutGateProviderOptions): RolloutGateProvider {
    const existing = cluster.node.tryFindChild(PROVIDER_ID);
    if (existing instanceof RolloutGateProvider) {
      if (options !== undefined) {
        throw new CortexValidationError(
          `RolloutGateProvider.of(${cluster.node.path}, options): the cluster's rollout gate provider already exists; ` +
            'pass its options on the first call, before adding APIs',
        );
      }
      return existing;
    }
    return new RolloutGateProvider(cluster, PROVIDER_ID, cluster, options ?? {});
  }

  /** The provider framework's service token (a gate in a nested stack receives it as a parameter). */
  public readonly serviceToken: string;
  /** The handler's role, which the access entry names. */
  public readonly role: iam.Role;
  public readonly onEventHandler: lambda.Function;
  public readonly isCompleteHandler: lambda.Function;
  /** The EKS access entry of {@link role}: `AmazonEKSViewPolicy` on {@link namespaces}. */
  public readonly accessEntry: eks.AccessEntry;
  public readonly queryInterval: Duration;
  /** Whether the handler runs in the cluster's VPC. */
  public readonly inVpc: boolean;
  /**
   * Whether the handler learns the cluster's endpoint and certificate authority from EKS (`eks:DescribeCluster`
   * on that cluster only): for a cluster imported without them.
   */
  public readonly describesCluster: boolean;

  private readonly _namespaces = new Set<string>();

  private constructor(scope: Construct, id: string, cluster: eks.ICluster, options: RolloutGateProviderOptions) {
    super(scope, id);
    this.queryInterval = options.queryInterval ?? DEFAULT_QUERY_INTERVAL;
    this.inVpc = options.inVpc ?? endpointNeedsVpc(cluster);
    const logRetention = options.logRetention ?? logs.RetentionDays.ONE_MONTH;
    checkQueryInterval(this.queryInterval);
    const code = lambda.Code.fromAsset(rolloutGateBundleDirectory());
    const endpoint = optionalAttribute(() => cluster.clusterEndpoint);
    const certificateAuthority = optionalAttribute(() => cluster.clusterCertificateAuthorityData);
    this.describesCluster = endpoint === undefined || certificateAuthority === undefined;
    const placement = this.inVpc ? vpcPlacement(cluster) : {};

    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Reads the rollouts of the cortex-cdk APIs on EKS cluster ${cluster.node.path} (rollout gate)`,
    });
    if (this.inVpc) {
      this.role.addManagedPolicy(iam.ManagedPolicy.fromAwsManagedPolicyName('service-role/AWSLambdaVPCAccessExecutionRole'));
    }
    if (this.describesCluster) {
      // An imported cluster without its endpoint and certificate authority: the handler asks EKS for them.
      this.role.addToPolicy(new iam.PolicyStatement({ actions: ['eks:DescribeCluster'], resources: [cluster.clusterArn] }));
    }
    const handler = (name: string, entry: 'onEvent' | 'isComplete', timeout: Duration, description: string): lambda.Function => {
      const scope = new Construct(this, name);
      // Named, and its log group after it, so that the provider framework's "Logs: /aws/lambda/<name>" hint is right.
      const functionName = Names.uniqueResourceName(scope, { maxLength: 64, separator: '-' });
      const logGroup = new logs.LogGroup(scope, 'Logs', {
        logGroupName: `/aws/lambda/${functionName}`,
        retention: logRetention,
        removalPolicy: RemovalPolicy.DESTROY,
      });
      logGroup.grantWrite(this.role);
      const fn = new lambda.Function(scope, 'Resource', {
        functionName,
        description,
        runtime: lambda.Runtime.NODEJS_24_X,
        architecture: lambda.Architecture.ARM_64,
        handler: `index.${entry}`,
        code,
        memorySize: 256,
        timeout,
        role: this.role,
        logGroup,
        loggingFormat: lambda.LoggingFormat.TEXT,
        environment: {
          [ENV_CLUSTER_NAME]: cluster.clusterName,
          [ENV_CLUSTER_ENDPOINT]: this.describesCluster ? '' : endpoint!,
          [ENV_CLUSTER_CA]: this.describesCluster ? '' : certificateAuthority!,
        },
        ...placement,
      });
      return fn;
    };
    this.onEventHandler = handler('OnEvent', 'onEvent', Duration.seconds(30), 'cortex-cdk rollout gate: starts waiting for an API rollout');
    this.isCompleteHandler = handler('IsComplete', 'isComplete', Duration.minutes(1), 'cortex-cdk rollout gate: looks at an API rollout');

    this.accessEntry = new eks.AccessEntry(this, 'AccessEntry', {
      cluster,
      principal: this.role.roleArn,
      accessPolicies: [
        eks.AccessPolicy.fromAccessPolicyName('AmazonEKSViewPolicy', {
          accessScopeType: eks.AccessScopeType.NAMESPACE,
          namespaces: Lazy.list({ produce: () => this.namespaces }),
        }),
      ],
    });

    const provider = new cr.Provider(this, 'Provider', {
      onEventHandler: this.onEventHandler,
      isCompleteHandler: this.isCompleteHandler,
      queryInterval: this.queryInterval,
      totalTimeout: PROVIDER_TOTAL_TIMEOUT,
    });
    this.serviceToken = provider.serviceToken;
    this.node.addValidation({
      validate: () => (this._namespaces.size === 0 ? ['the rollout gate provider has no namespace to read: add a RolloutGate'] : []),
    });
    this.acknowledgeValidations(provider);
  }

  /** The namespaces the access entry may read, sorted. */
  public get namespaces(): string[] {
    return [...this._namespaces].sort();
  }

  /** Lets the handler read one more namespace (through the access entry). */
  public allowNamespace(namespace: string): void {
    this._namespaces.add(namespace);
  }

  /**
   * Findings of cdk-nag's AwsSolutions pack this construct accepts, each with why: they are the provider
   * framework's (AWS CDK builds its functions, roles and waiter state machine and keeps them current).
   */
  private acknowledgeValidations(provider: cr.Provider): void {
    const stack = Stack.of(this);
    const logicalId = (construct: Construct): string => stack.resolve(stack.getLogicalId(construct.node.defaultChild as CfnElement));
    const framework = Validations.of(provider);
    framework.acknowledge(
      {
        id: `${NAG}-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]`,
        reason: "The provider framework's functions log with the AWS managed AWSLambdaBasicExecutionRole, as AWS CDK builds them.",
      },
      {
        id: `${NAG}-SF1`,
        reason: "The provider framework's waiter only retries isComplete; each look is logged by the gate's own functions.",
      },
      {
        id: `${NAG}-SF2`,
        reason: "The provider framework's waiter only retries isComplete; X-Ray traces would show one Lambda call per look.",
      },
    );
    // The framework may invoke any version of the gate's handlers and of its own functions (<ARN>:*).
    const functions = [this.onEventHandler, this.isCompleteHandler, ...provider.node.findAll().filter((c): c is lambda.Function => c instanceof lambda.Function)];
    for (const fn of functions) {
      framework.acknowledge({
        id: `${NAG}-IAM5[Resource::<${logicalId(fn)}.Arn>:*]`,
        reason: 'The provider framework invokes its functions and the gate handlers by ARN and any version (<ARN>:*), as AWS CDK grants.',
      });
    }
    if (this.inVpc) {
      Validations.of(this.role).acknowledge({
        id: `${NAG}-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole]`,
        reason: 'A function in a VPC needs the network interface permissions of AWSLambdaVPCAccessExecutionRole, which AWS keeps current.',
      });
    }
  }
}

const NAG = 'AwsSolutions::AwsSolutions';

/**
 * The bundle's folder, `dist/lambda/rollout-gate/bundle/`, seen from `libDir`: this file's folder, `lib/`
 * (ts-node, jest) or `dist/lib/` (compiled).
 */
export function rolloutGateBundleDirectory(libDir: string = __dirname): string {
  const candidates = [
    path.resolve(libDir, '..', 'dist', 'lambda', 'rollout-gate', 'bundle'),
    path.resolve(libDir, '..', 'lambda', 'rollout-gate', 'bundle'),
  ];
  const found = candidates.find((dir) => fs.existsSync(path.join(dir, 'index.js')));
  // Not a user error: the package is not built. Say where it was looked for and how to make it.
  if (found === undefined) {
    throw new Error(
      `cortex-cdk: the rollout gate's Lambda bundle is missing (looked for index.js in ${candidates.join(', ')}): ` +
        'run npm run build (or node scripts/bundle-lambdas.js), or turn the gate off with rolloutGate: false',
    );
  }
  return found;
}

/** A rollout timeout: whole seconds from {@link MIN_ROLLOUT_TIMEOUT} to {@link MAX_ROLLOUT_TIMEOUT}. */
export function checkRolloutTimeout(timeout: Duration): void {
  const seconds = timeout.toSeconds({ integral: false });
  if (Token.isUnresolved(seconds)) return;
  if (!Number.isInteger(seconds) || seconds < MIN_ROLLOUT_TIMEOUT.toSeconds() || seconds > MAX_ROLLOUT_TIMEOUT.toSeconds()) {
    throw new CortexValidationError(
      `rolloutGate.timeout (${timeout.toHumanString()}) must be whole seconds from ${MIN_ROLLOUT_TIMEOUT.toHumanString()} to ` +
        `${MAX_ROLLOUT_TIMEOUT.toHumanString()} (CloudFormation waits at most an hour for a custom resource)`,
    );
  }
}

/** A query interval: whole seconds from 5 to 300. */
export function checkQueryInterval(interval: Duration): void {
  const seconds = interval.toSeconds({ integral: false });
  if (!Number.isInteger(seconds) || seconds < 5 || seconds > 300) {
    throw new CortexValidationError(`queryInterval (${interval.toHumanString()}) must be whole seconds from 5 seconds to 5 minutes`);
  }
}

/**
 * Whether a Lambda function must be in the VPC to reach the cluster's endpoint: a cluster made in this
 * app whose endpoint is private only, or public to some CIDRs only. Unknown for imported clusters: false.
 */
export function endpointNeedsVpc(cluster: eks.ICluster): boolean {
  const cfn = cluster.node.defaultChild;
  if (!(cfn instanceof eks.CfnCluster)) return false;
  const config = Stack.of(cluster).resolve(cfn.resourcesVpcConfig) as {
    endpointPublicAccess?: boolean;
    publicAccessCidrs?: string[];
  };
  if (config.endpointPublicAccess === false) return true;
  const cidrs = config.publicAccessCidrs;
  return Array.isArray(cidrs) && cidrs.length > 0 && !cidrs.includes('0.0.0.0/0');
}

/** The handler's place in the cluster's VPC: its default (private) subnets, the cluster security group. */
function vpcPlacement(cluster: eks.ICluster): { vpc: ec2.IVpc; securityGroups: ec2.ISecurityGroup[] } {
  return {
    vpc: clusterAttribute(cluster, 'vpc', () => cluster.vpc),
    securityGroups: [clusterAttribute(cluster, 'clusterSecurityGroupId', () => cluster.clusterSecurityGroup)],
  };
}

/** An attribute of the cluster; undefined when an imported cluster was not given it. */
function optionalAttribute(read: () => string): string | undefined {
  try {
    return read();
  } catch {
    return undefined;
  }
}

/** An attribute of the cluster; an imported cluster without it throws, naming it and the way out. */
function clusterAttribute<T>(cluster: eks.ICluster, name: string, read: () => T): T {
  try {
    return read();
  } catch {
    throw new CortexValidationError(
      `cluster (${cluster.node.path}) has no ${name}, which the rollout gate needs: import the cluster with it ` +
        '(Cluster.fromClusterAttributes), or run the rollout gate outside the VPC (RolloutGateProvider.of(cluster, { inVpc: false }))',
    );
  }
}
