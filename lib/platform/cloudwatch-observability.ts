import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as eks from 'aws-cdk-lib/aws-eks-v2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { DEFAULT_PROMETHEUS_URL } from '../../constructs/names';
import { API_METRICS_AGENT, apiMetricsAgent, withApiMetricsAgent } from './api-metrics';
import { acknowledgeManagedPolicy } from './nag';
import { checkAddonVersion, checkMinimumVersion } from './validation';
import {
  EKS_ADDONS,
  EKS_ADDON_VERSIONS,
  MINIMUM_CLOUDWATCH_OBSERVABILITY_VERSION,
  MINIMUM_CLOUDWATCH_OBSERVABILITY_VERSION_FOR_API_METRICS,
} from './versions';

/** The add-on's agent service account (namespace `amazon-cloudwatch`), which Fluent Bit uses too. */
export const CLOUDWATCH_AGENT_SERVICE_ACCOUNT = 'cloudwatch-agent';

/** The AWS managed policy of the add-on's default role. */
export const CLOUDWATCH_AGENT_POLICY = 'CloudWatchAgentServerPolicy';

/** Options of the per-API metrics (see {@link CloudWatchObservabilityOptions.apiMetrics}). */
export interface ApiMetricsOptions {
  /**
   * The Prometheus server holding the `cortex_api:` recording rules (an `http://` or `https://` URL known at
   * synth, without a path).
   * @default 'http://prometheus-server.prometheus.svc.cluster.local' (the platform's Prometheus)
   */
  readonly prometheusUrl?: string;
  /**
   * How long the EMF events the metrics are extracted from are kept (the metrics themselves follow
   * CloudWatch's own retention, 15 months).
   * @default logs.RetentionDays.ONE_WEEK
   */
  readonly logRetention?: logs.RetentionDays;
}

/** Options of the `amazon-cloudwatch-observability` EKS add-on. */
export interface CloudWatchObservabilityOptions {
  /**
   * The add-on version (`aws eks describe-addon-versions --addon-name amazon-cloudwatch-observability
   * --kubernetes-version <minor>` lists those a cluster can take): v3.1.0 or newer (Pod Identity), v3.2.0 or newer
   * with `apiMetrics`. Pinned rather than left to EKS, whose default moves with the cluster and whose later major
   * versions change the agents the add-on runs (docs/platform.md, "CloudWatch").
   * @default 'v4.10.3-eksbuild.1' (`EKS_ADDON_VERSIONS.cloudWatchObservability`)
   */
  readonly addonVersion?: string;
  /**
   * The add-on's configuration values (its JSON schema: `aws eks describe-addon-configuration`).
   * @default - the add-on's defaults: Container Insights and container logs through Fluent Bit
   */
  readonly configurationValues?: Record<string, unknown>;
  /**
   * Per-API request metrics in CloudWatch (namespace `Cortex`: requests per second, 4XX and 5XX per second,
   * p50/p99 latency, in-flight requests, queue length; dimensions `ClusterName`, `Namespace`, `ApiName`),
   * which `ApiMonitoring`'s dashboards and alarms read. An extra CloudWatch agent of the add-on (one pod)
   * federates the platform Prometheus' `cortex_api:` recording rules every minute and writes them as EMF to
   * `/aws/containerinsights/<cluster>/cortex-api-metrics`. Seven custom metrics per API (docs/platform.md).
   * @default false - a CortexPlatform turns it on when it installs Prometheus (which holds the rules)
   */
  readonly apiMetrics?: boolean | ApiMetricsOptions;
  /**
   * The role the agent and Fluent Bit assume through EKS Pod Identity; its trust policy must allow
   * `pods.eks.amazonaws.com` to `sts:AssumeRole` and `sts:TagSession`.
   * @default - a new role with the AWS managed policy CloudWatchAgentServerPolicy
   */
  readonly role?: iam.IRole;
}

/** Props of {@link CloudWatchObservability}. */
export interface CloudWatchObservabilityProps extends CloudWatchObservabilityOptions {
  /** The cluster to install the add-on on (with the `eks-pod-identity-agent` add-on). */
  readonly cluster: eks.ICluster;
}

/**
 * The `amazon-cloudwatch-observability` EKS add-on: the CloudWatch agent (Container Insights) and
 * Fluent Bit, which ships every container's logs to `/aws/containerinsights/<cluster>/application`
 * (what `cortex logs` reads); with `apiMetrics`, a second agent that publishes per-API request metrics. Its permissions come through an EKS Pod Identity association of its
 * `cloudwatch-agent` service account, so only its pods hold them — not every pod through the node role.
 */
export class CloudWatchObservability extends Construct {
  /** The add-on. */
  public readonly addon: eks.Addon;
  /** The role its pods assume. */
  public readonly role: iam.IRole;
  /** The add-on version installed. */
  public readonly addonVersion: string;
  /** The log group of the per-API metrics' EMF events, when `apiMetrics` is on. */
  public readonly apiMetricsLogGroup?: logs.LogGroup;

  constructor(scope: Construct, id: string, props: CloudWatchObservabilityProps) {
    super(scope, id);
    const apiMetrics = props.apiMetrics === true ? {} : props.apiMetrics === false ? undefined : props.apiMetrics;
    this.addonVersion = props.addonVersion ?? EKS_ADDON_VERSIONS.cloudWatchObservability;
    checkAddonVersion('cloudWatchObservability.addonVersion', this.addonVersion);
    checkMinimumVersion(
      'cloudWatchObservability.addonVersion',
      this.addonVersion,
      MINIMUM_CLOUDWATCH_OBSERVABILITY_VERSION,
      "the agent's and Fluent Bit's credentials come through EKS Pod Identity, which the add-on supports from v3.1.0",
    );
    if (apiMetrics !== undefined) {
      checkMinimumVersion(
        'cloudWatchObservability.addonVersion',
        this.addonVersion,
        MINIMUM_CLOUDWATCH_OBSERVABILITY_VERSION_FOR_API_METRICS,
        "apiMetrics adds an agent to the add-on's `agents` with an `otelConfig` object, which its configuration takes from v3.2.0 (or set apiMetrics: false)",
      );
    }

    this.role = props.role ?? this.defaultRole();
    let configurationValues = props.configurationValues;
    if (apiMetrics !== undefined) {
      // Created here, and deleted after the add-on (which depends on it), so that no agent recreates it on the way out.
      this.apiMetricsLogGroup = new logs.LogGroup(this, 'ApiMetricsLogGroup', {
        logGroupName: `/aws/containerinsights/${props.cluster.clusterName}/${API_METRICS_AGENT}`,
        retention: apiMetrics.logRetention ?? logs.RetentionDays.ONE_WEEK,
        removalPolicy: RemovalPolicy.DESTROY,
      });
      const agent = apiMetricsAgent({
        clusterName: props.cluster.clusterName,
        region: Stack.of(this).region,
        prometheusUrl: apiMetrics.prometheusUrl ?? DEFAULT_PROMETHEUS_URL,
        logGroupName: this.apiMetricsLogGroup.logGroupName,
      });
      configurationValues = withApiMetricsAgent(configurationValues, agent);
    }
    this.addon = new eks.Addon(this, 'Resource', {
      cluster: props.cluster,
      addonName: EKS_ADDONS.cloudWatchObservability,
      addonVersion: this.addonVersion,
      configurationValues,
    });
    if (this.apiMetricsLogGroup !== undefined) {
      this.addon.node.addDependency(this.apiMetricsLogGroup);
    }
    // The L2 does not expose the add-on's own Pod Identity associations (AWS::EKS::Addon PodIdentityAssociations).
    const resource = this.addon.node.defaultChild as eks.CfnAddon;
    resource.podIdentityAssociations = [{ serviceAccount: CLOUDWATCH_AGENT_SERVICE_ACCOUNT, roleArn: this.role.roleArn }];
  }

  private defaultRole(): iam.Role {
    const role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('pods.eks.amazonaws.com').withSessionTags(),
      description: 'amazon-cloudwatch-observability: the CloudWatch agent and Fluent Bit (EKS Pod Identity)',
      managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName(CLOUDWATCH_AGENT_POLICY)],
    });
    acknowledgeManagedPolicy(
      role,
      CLOUDWATCH_AGENT_POLICY,
      'The policy AWS documents for the add-on, kept current by AWS as the agent changes; it is granted only to ' +
        "the add-on's cloudwatch-agent service account (Pod Identity), not to the node role.",
    );
    return role;
  }
}
