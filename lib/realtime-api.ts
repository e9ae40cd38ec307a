import * as fs from 'node:fs';
import * as path from 'node:path';
import { Annotations, Aws, Token } from 'aws-cdk-lib';
import * as eks from 'aws-cdk-lib/aws-eks-v2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as ecr_assets from 'aws-cdk-lib/aws-ecr-assets';
import * as cdk8s from 'cdk8s';
import { Construct } from 'constructs';
import { RealtimeApiChart } from '../constructs';
import { ApiAccelerator, ApiMonitoring, apiAccelerator, type ApiMonitoringOptions } from './api-monitoring';
import { configFromObject, realtimeApiSpec, type RealtimeApiDefinition, type RealtimeApiSpec } from './config';
import { CortexApis, type CortexApisFileProps } from './cortex-apis';
import { DEFAULT_MANAGED_POLICIES_QUOTA, iamPolicyArnProblem, MAX_MANAGED_POLICIES_PER_ROLE, modelS3Locations, type S3Location } from './config/iam';
import { CortexValidationError } from './errors';
import { predictorImageAsset, predictorImageVariant, proxyImageAsset } from './images';
import { ACCELERATOR_ROLLOUT_TIMEOUT, RolloutGate, type RolloutGateOptions } from './rollout-gate';
import { knownNodeGroups, kubernetesVersionProblem, placementProblems, placementUnchecked } from './placement';
import { ApiPlatform, type IApiPlatform } from './platform/api-platform';
import { clusterKubernetesVersion } from './platform/kubernetes-version';
import { acknowledgeWildcardResource } from './platform/nag';

/** The principal of EKS Pod Identity, which the API's role trusts (actions sts:AssumeRole and sts:TagSession). */
export const POD_IDENTITY_PRINCIPAL = 'pods.eks.amazonaws.com';

/**
 * What an API's AWS identity adds to its stack's template: the role, its Pod Identity association, and one more
 * resource held in reserve for the role's default policy, which a grant in code (`bucket.grantRead(api)`) adds
 * after the stack's budgets are checked.
 */
export const POD_IDENTITY_RESOURCES = 3;
/** An upper bound of the role's and association's bytes, without their policies. */
export const POD_IDENTITY_TEMPLATE_BYTES = 2_000;
/** What each managed policy and each S3 location of the role adds to it, at most. */
export const MANAGED_POLICY_TEMPLATE_BYTES = 150;
export const S3_LOCATION_TEMPLATE_BYTES = 700;

/**
 * How a RealtimeAPI is deployed, without the cluster and the API: the options of {@link RealtimeApi}, which
 * {@link CortexApis} takes too (`CortexApisOptions` extends them) and gives every API it makes.
 */
export interface RealtimeApiOptions {
  /**
   * The platform the API runs on: namespace, in-cluster addresses, and what the manifest waits for.
   * @default ApiPlatform.existing() - add-ons already installed, namespace 'cortex', nothing to wait for
   */
  readonly platform?: IApiPlatform;
  /**
   * The proxy sidecar's image, for users who mirror images into a registry of their own.
   * @default - the proxy image asset built from `images/proxy/` (one per stack; `CortexApis`: one for every API)
   */
  readonly proxyImage?: string;
  /**
   * The image of a predictor-form API's runtime container, holding the runtime and the project (at
   * `/opt/cortex/project`), e.g. one built by CI from `images/python-predictor/`. Ignored by container-form
   * APIs and by predictor-form APIs with `predictor.image`.
   * @default - for predictor-form APIs, an image asset built from `images/python-predictor/` plus `configDir` (one per project)
   */
  readonly predictorImage?: string;
  /**
   * The directory of the cortex.yaml: the project a predictor-form API's image is built from (its
   * `predictor.path` and dependency files are relative to it). Only read when that image is built here.
   * @default - the directory of the file each API was read from (`api.source.file`); specs built from objects (file `<props>`) must set it
   */
  readonly configDir?: string;
  /**
   * A Kubernetes service account of yours for the pods (of every API, given to `CortexApis`), with AWS
   * permissions of your own making (its own Pod Identity association or IRSA role): then no API gets a
   * ServiceAccount, role or association of its own, and `managedPolicies` and `iam_policy_arns` cannot be set.
   * @default - each API's own ServiceAccount `<api>-sa`, bound by an EKS Pod Identity association to the API's own role
   */
  readonly serviceAccountName?: string;
  /**
   * IAM managed policies attached to the API's role (to every API's, given to `CortexApis`), besides each
   * API's own `iam_policy_arns` (`CortexStack`'s `apiPolicyArns` come here). For permissions of your own, grant
   * to the API instead: `bucket.grantRead(api)`, or `cortexApis.apis.get('iris')!.role` for one API of many.
   * @default - none: each API's role may read the s3:// locations of its own models, and nothing else
   */
  readonly managedPolicies?: iam.IManagedPolicy[];
  /**
   * CloudWatch alarms for the API (5XX rate, p99 latency, no ready replicas: about $0.50 a month per API),
   * optionally notifying an SNS topic, and optionally a dashboard per API ($3 a month each beyond the account's
   * first three), on the metrics the platform publishes (see {@link ApiMonitoring}, docs/platform.md); `false`
   * for none.
   * @default - the three alarms per API, without notifications or dashboards
   */
  readonly monitoring?: ApiMonitoringOptions | false;
  /**
   * The rollout gate: `cdk deploy` waits until the API's new pods are all available, and fails — so that
   * CloudFormation rolls the stack back to the previous manifest — when the rollout fails or outlasts
   * `timeout`, naming the failing pods and why (see {@link RolloutGate}, docs/operations.md); `false`
   * applies the manifest without waiting. `CortexApis` makes a gate per API.
   * @default - a gate with a 10-minute timeout (30 minutes for an API on GPU or Inferentia/Trainium nodes)
   */
  readonly rolloutGate?: RolloutGateOptions | false;
}

/** Props of {@link RealtimeApi}. */
export interface RealtimeApiProps extends RealtimeApiOptions {
  /** The cluster, with a kubectl provider (`kubectlProviderOptions`, or `kubectlProvider` when imported). */
  readonly cluster: eks.ICluster;
  /**
   * The API, validated and fully defaulted: an entry of a parsed cortex.yaml (`loadConfigFile(f).apis[i]`),
   * or one written in code — typed, camelCase, with {@link RealtimeApi.spec} (a `RealtimeApiDefinition`), or
   * in cortex.yaml's snake_case shape with {@link RealtimeApi.specFromObject}. Both apply exactly the file's rules.
   */
  readonly api: RealtimeApiSpec;
}

/**
 * Props of {@link RealtimeApi.fromConfigFile}.
 * @deprecated use `CortexApis.fromConfigFile(scope, id, file, props)` and its {@link CortexApisFileProps}
 */
export interface RealtimeApisFromConfigFileProps extends CortexApisFileProps {
  /**
   * The construct id of the {@link CortexApis} made.
   * @default 'CortexApis'
   */
  readonly id?: string;
}

/**
 * One RealtimeAPI on an EKS cluster: its Kubernetes objects (those `RealtimeApiChart` renders, the same
 * `cortex manifests` prints) as one `KubernetesManifest`, so that `cdk diff` names the API that changes,
 * applied after the platform is ready. Predictor-form APIs get their image built from the Python
 * predictor runtime and the project; every API gets the proxy sidecar's image asset unless told otherwise.
 */
export class RealtimeApi extends Construct implements iam.IGrantable {
  /**
   * Every API and TrafficSplitter of a cortex.yaml, spread over nested stacks (see {@link CortexApis}).
   * Problems in the file throw a `ConfigError` listing each with its line.
   * @deprecated use `CortexApis.fromConfigFile(scope, id, file, props)`: the same construct, made by the class
   * it returns, with its id where every construct takes it. This one adds a deprecation warning to the synth
   * (an error under `CDK_BLOCK_DEPRECATIONS`).
   */
  public static fromConfigFile(scope: Construct, file: string, props: RealtimeApisFromConfigFileProps): CortexApis {
    const { id, ...options } = props;
    const apis = CortexApis.fromConfigFile(scope, id ?? 'CortexApis', file, options);
    Annotations.of(apis).addDeprecation(
      'cortex-cdk.RealtimeApi#fromConfigFile',
      `use CortexApis.fromConfigFile(scope, '${apis.node.id}', file, props), which makes the same construct`,
    );
    return apis;
  }

  /**
   * A RealtimeAPI written in code as typed, camelCase props (e.g. `{ name, pod: { maxConcurrency: 4,
   * containers: [{ name: 'api', image, readinessProbe: Probe.httpGet({ port: 8080 }) }] } }`), validated and
   * defaulted by exactly the rules a cortex.yaml entry goes through. Throws a `ConfigError` naming every
   * problem by its camelCase path (`iris.autoscaling.maxReplicas: must be >= minReplicas (5), got 3`).
   */
  public static spec(definition: RealtimeApiDefinition): RealtimeApiSpec {
    return realtimeApiSpec(definition);
  }

  /**
   * A RealtimeAPI written in code, in cortex.yaml's shape (snake_case keys, e.g. `{ name, kind: 'RealtimeAPI',
   * pod: { containers: [...] } }`), validated and defaulted by exactly the rules a file goes through.
   * Throws a `ConfigError` naming every problem.
   */
  public static specFromObject(entry: Record<string, unknown>): RealtimeApiSpec {
    if (entry.kind !== undefined && entry.kind !== 'RealtimeAPI') {
      throw new CortexValidationError(`entry.kind (${JSON.stringify(entry.kind)}) must be "RealtimeAPI" (or left out)`);
    }
    return configFromObject([{ ...entry, kind: 'RealtimeAPI' }]).apis[0];
  }

  /** The API's name. */
  public readonly name: string;
  /** The validated spec. */
  public readonly api: RealtimeApiSpec;
  /** The platform it runs on. */
  public readonly platform: IApiPlatform;
  /** The namespace of its objects. */
  public readonly namespace: string;
  /** The proxy sidecar's image (the asset's URI, a token, unless given). */
  public readonly proxyImage: string;
  /** The runtime image of a predictor-form API without `predictor.image`; undefined otherwise. */
  public readonly predictorImage?: string;
  /**
   * The API's URL from outside the cluster (`<platform.endpointUrl><networking.endpoint>`), usually a token.
   * Undefined when the platform's endpoint is unknown.
   */
  public readonly url?: string;
  /** The chart the objects come from. */
  public readonly chart: RealtimeApiChart;
  /** The Kubernetes objects of the manifest (the chart's, plus the kubectl handler's prune label). */
  public readonly objects: Record<string, unknown>[];
  /** The KubernetesManifest holding every object of the API. */
  public readonly manifest: eks.KubernetesManifest;
  /** The image asset of the predictor runtime with the project, when this API builds one. */
  public readonly predictorImageAsset?: ecr_assets.DockerImageAsset;
  /** The API's alarms (and dashboard), unless `monitoring: false`. */
  public readonly monitoring?: ApiMonitoring;
  /** The gate `cdk deploy` waits on for the API's rollout, unless `rolloutGate: false`. */
  public readonly rolloutGate?: RolloutGate;
  /**
   * The IAM role the API's pods run with (EKS Pod Identity): grant to it (`bucket.grantRead(api.role)`, or
   * `bucket.grantRead(api)`). Undefined when the pods use a `serviceAccountName` of yours.
   */
  public readonly role?: iam.Role;
  /** The Pod Identity association binding the API's ServiceAccount to {@link role}. */
  public readonly podIdentityAssociation?: eks.CfnPodIdentityAssociation;
  /** Whom grants go to: {@link role}, or, with a `serviceAccountName` of yours, nobody (a grant then warns). */
  public readonly grantPrincipal: iam.IPrincipal;
  private managedPolicyCount = 0;

  constructor(scope: Construct, id: string, props: RealtimeApiProps) {
    super(scope, id);
    const api = props.api;
    this.platform = props.platform ?? ApiPlatform.existing();
    const configDir = props.configDir ?? defaultConfigDir(api);

    checkRealtimeApiSpec(api);
    checkKubectlProvider(props.cluster);
    checkPredictorTypeServable(api, props.predictorImage);
    checkOwnServiceAccount(api, props.serviceAccountName, props.managedPolicies);

    this.name = api.name;
    this.api = api;
    this.namespace = this.platform.namespace;
    this.url = this.platform.endpointUrl === undefined ? undefined : `${this.platform.endpointUrl}${api.networking.endpoint}`;
    this.checkPlacement(props.cluster);
    const versionProblem = kubernetesVersionProblem(api.name, clusterKubernetesVersion(props.cluster, this.platform.kubernetesVersion));
    if (versionProblem !== undefined) throw new CortexValidationError(versionProblem);

    // The images, once the props are known to be sound: an asset is a side effect on the stack.
    this.proxyImage = props.proxyImage ?? proxyImageAsset(this).imageUri;
    if (needsPredictorImage(api)) {
      if (props.predictorImage !== undefined) {
        this.predictorImage = props.predictorImage;
      } else {
        const projectDir = checkProjectDir(api, configDir);
        this.predictorImageAsset = predictorImageAsset(this, {
          projectDir,
          dependencies: api.predictor!.dependencies,
          type: api.predictor!.type,
          variant: predictorImageVariant(api.pod.containers[0].compute),
        });
        this.predictorImage = this.predictorImageAsset.imageUri;
      }
    }

    // Its own cdk8s App: rendering a chart resolves its whole App (see constructs/config-charts.ts).
    this.chart = new RealtimeApiChart(new cdk8s.App(), api.name, {
      api,
      namespace: this.platform.namespace,
      gatewayUrl: this.platform.gatewayUrl,
      prometheusUrl: this.platform.prometheusUrl,
      neuronSchedulerName: this.platform.neuronSchedulerName,
      proxyImage: this.proxyImage,
      predictorImage: this.predictorImage,
      serviceAccountName: props.serviceAccountName,
      networkPolicy: this.platform.networkPolicy,
      coldStart: this.platform.coldStart,
    });
    this.objects = this.chart.toJson();
    this.manifest = new eks.KubernetesManifest(this, 'Resource', { cluster: props.cluster, manifest: this.objects });
    this.manifest.node.addDependency(this.platform.ready);

    if (this.chart.serviceAccount !== undefined) {
      this.role = this.podRole(api, props.managedPolicies ?? []);
      // The namespace and name of the ServiceAccount the chart rendered, read from it: the two cannot drift apart.
      this.podIdentityAssociation = new eks.CfnPodIdentityAssociation(this, 'PodIdentity', {
        clusterName: props.cluster.clusterName,
        namespace: this.chart.serviceAccount.namespace,
        serviceAccount: this.chart.serviceAccount.name,
        roleArn: this.role.roleArn,
      });
      // Pods get their credentials when they are created: the association must exist before the first one.
      this.manifest.node.addDependency(this.podIdentityAssociation);
    }
    this.grantPrincipal = this.role ?? new iam.UnknownPrincipal({ resource: this });
    if (props.rolloutGate !== false) {
      this.rolloutGate = new RolloutGate(this, 'RolloutGate', {
        ...props.rolloutGate,
        timeout:
          props.rolloutGate?.timeout ?? (apiAccelerator(api) === ApiAccelerator.NONE ? undefined : ACCELERATOR_ROLLOUT_TIMEOUT),
        cluster: props.cluster,
        manifest: this.manifest,
        apiName: api.name,
        namespace: this.namespace,
        specHash: this.chart.specHash,
        deployTimeInputs: podTemplateTokens(this.objects),
      });
    }

    if (props.monitoring !== false) {
      this.monitoring = new ApiMonitoring(this, 'Monitoring', {
        ...props.monitoring,
        apiName: api.name,
        namespace: this.namespace,
        clusterName: props.cluster.clusterName,
        accelerator: apiAccelerator(api),
      });
    }
  }

  /** What the API's identity adds to its stack's template (see {@link POD_IDENTITY_RESOURCES}); undefined without one. */
  public get podIdentityLoad(): { readonly templateBytes: number; readonly resourceCount: number } | undefined {
    if (this.role === undefined) return undefined;
    const policies = this.managedPolicyCount;
    return {
      resourceCount: POD_IDENTITY_RESOURCES,
      templateBytes:
        POD_IDENTITY_TEMPLATE_BYTES + policies * MANAGED_POLICY_TEMPLATE_BYTES + modelS3Locations(this.api).length * S3_LOCATION_TEMPLATE_BYTES,
    };
  }

  /**
   * The pods' role: trusted by EKS Pod Identity only, with the managed policies named (the stack's, then the
   * API's `iam_policy_arns`), and read access to the s3:// locations of the API's own models.
   */
  private podRole(api: RealtimeApiSpec, managedPolicies: readonly iam.IManagedPolicy[]): iam.Role {
    const policies = [...managedPolicies];
    const known = new Set(managedPolicies.map((p) => p.managedPolicyArn).filter((arn) => !Token.isUnresolved(arn)));
    (api.iamPolicyArns ?? []).forEach((arn, index) => {
      if (known.has(arn)) return;
      known.add(arn);
      policies.push(iam.ManagedPolicy.fromManagedPolicyArn(this, `Policy${index}`, arn));
    });
    checkManagedPolicyCount(this, api.name, policies.length);
    this.managedPolicyCount = policies.length;
    const locations = modelS3Locations(api);
    const role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal(POD_IDENTITY_PRINCIPAL).withSessionTags(),
      description: `cortex-cdk: the pods of the RealtimeAPI ${api.name} (EKS Pod Identity)`,
      managedPolicies: policies,
      inlinePolicies: locations.length === 0 ? undefined : { models: modelsReadPolicy(locations) },
    });
    for (const location of locations) {
      for (const resource of s3ObjectArns(location).filter((arn) => arn.endsWith('*'))) {
        acknowledgeWildcardResource(
          role,
          resource,
          `The objects under the API's own model location s3://${location.bucket}/${location.prefix}, which its runtime lists and downloads (read only).`,
        );
      }
    }
    return role;
  }

  /**
   * That some node group can run the API's pods: at synth, once every node group has been added, when the
   * cluster's groups are known (a CortexCluster's); a warning now when they are not and the API needs
   * particular nodes.
   */
  private checkPlacement(cluster: eks.ICluster): void {
    if (knownNodeGroups(cluster) === undefined) {
      const unchecked = placementUnchecked(this.api);
      if (unchecked !== undefined) Annotations.of(this).addWarningV2('cortex-cdk:placement-unchecked', unchecked);
      return;
    }
    this.node.addValidation({ validate: () => placementProblems(this.api, knownNodeGroups(cluster) ?? []) });
  }
}

/** Whether a spec's runtime image is built here: the predictor form without an image of the user's. */
export function needsPredictorImage(api: RealtimeApiSpec): boolean {
  return api.predictor !== undefined && api.predictor.image === undefined;
}

/**
 * The unresolved CDK tokens of the Deployment's pod template (image asset URIs...), each once, in order:
 * they resolve at deploy time, so the spec hash cannot see them change.
 */
export function podTemplateTokens(objects: readonly Record<string, unknown>[]): string[] {
  const deployment = objects.find((o) => o.kind === 'Deployment') as { spec?: { template?: unknown } } | undefined;
  const text = JSON.stringify(deployment?.spec?.template ?? {});
  return [...new Set(text.match(/\$\{Token\[[^\]]*\]\}/g) ?? [])];
}

/** The directory of the file a spec was read from; undefined for specs built from objects (`<props>`). */
export function defaultConfigDir(api: RealtimeApiSpec): string | undefined {
  const file = api.source.file;
  return file === '' || file.startsWith('<') ? undefined : path.dirname(path.resolve(file));
}

/** The spec must be a RealtimeAPI (a TrafficSplitter goes to {@link TrafficSplitter}). */
export function checkRealtimeApiSpec(api: RealtimeApiSpec): void {
  if ((api.kind as string) !== 'RealtimeAPI') {
    throw new CortexValidationError(
      `api.kind (${JSON.stringify(api.kind)}) must be "RealtimeAPI"; a TrafficSplitter is a TrafficSplitter construct`,
    );
  }
}

/**
 * The runtime cortex-cdk builds serves `python` and `onnx` predictors; a `tensorflow` one needs a
 * TensorFlow Serving container that is not built yet. Refuse it at synth, not as a crash-looping pod
 * after the deploy — unless the API brings a runtime image of its own.
 */
export function checkPredictorTypeServable(api: RealtimeApiSpec, predictorImage: string | undefined): void {
  if (api.predictor?.type !== 'tensorflow' || api.predictor.image !== undefined || predictorImage !== undefined) return;
  if (api.predictor.style === 'function') {
    throw new CortexValidationError(
      `tensorflow (kind: api) of "${api.name}" needs a TensorFlow Serving container, which cortex-cdk does not build ` +
        'yet: set the predictorImage prop to a runtime of your own, or load the model in the init() of a python.inference module',
    );
  }
  throw new CortexValidationError(
    `predictor.type ("tensorflow") of "${api.name}" needs a TensorFlow Serving container, which cortex-cdk does not build ` +
      'yet: set predictor.image (or the predictorImage prop) to a runtime of your own, or load the model in a ' +
      'type python predictor',
  );
}

/** Manifests need the cluster's kubectl provider; say so before aws-eks-v2 does, naming the prop. */
export function checkKubectlProvider(cluster: eks.ICluster): void {
  if (cluster.kubectlProvider === undefined) {
    throw new CortexValidationError(
      `cluster (${cluster.node.path}) has no kubectl provider: create the cluster with kubectlProviderOptions: ` +
        '{ kubectlLayer }, or import it with kubectlProvider (KubectlProvider.fromKubectlProviderAttributes)',
    );
  }
}

/** The project directory of a predictor-form API whose image is built here; it must hold `predictor.path`. */
function checkProjectDir(api: RealtimeApiSpec, configDir: string | undefined): string {
  const predictorPath = api.predictor!.path;
  if (configDir === undefined) {
    throw new CortexValidationError(
      `configDir (undefined) must be set for the predictor-form API "${api.name}" written in code: it is the ` +
        `directory predictor.path (${JSON.stringify(predictorPath)}) is relative to; or set predictorImage`,
    );
  }
  if (!fs.existsSync(configDir) || !fs.statSync(configDir).isDirectory()) {
    throw new CortexValidationError(
      `configDir (${JSON.stringify(configDir)}) must be an existing directory: the project the image of "${api.name}" is built from`,
    );
  }
  // Only a kind: api tensorflow/onnx API without a request handler has no file of its own.
  if (predictorPath !== undefined && !fs.existsSync(path.join(configDir, predictorPath))) {
    throw new CortexValidationError(
      `predictor.path (${JSON.stringify(predictorPath)}) of "${api.name}" must be a file in configDir (${JSON.stringify(configDir)})`,
    );
  }
  return configDir;
}

/**
 * `managedPolicies` and `iam_policy_arns` go to the API's own role; with a `serviceAccountName` of the user's
 * there is none, so they would be silently ignored: refuse them.
 */
export function checkOwnServiceAccount(
  api: RealtimeApiSpec,
  serviceAccountName: string | undefined,
  managedPolicies: readonly iam.IManagedPolicy[] | undefined,
): void {
  if (serviceAccountName === undefined) return;
  const named = [
    ...(api.iamPolicyArns !== undefined && api.iamPolicyArns.length > 0 ? [`iam_policy_arns of "${api.name}"`] : []),
    ...(managedPolicies !== undefined && managedPolicies.length > 0 ? ['managedPolicies'] : []),
  ];
  if (named.length === 0) return;
  throw new CortexValidationError(
    `serviceAccountName (${JSON.stringify(serviceAccountName)}) cannot be used with ${named.join(' or ')}: the policies go to ` +
      "the API's own role, which a service account of yours replaces; attach them to your service account's role, or drop serviceAccountName",
  );
}

/** IAM attaches at most 20 managed policies to a role, 10 unless the account's quota was raised. */
function checkManagedPolicyCount(scope: Construct, apiName: string, count: number): void {
  if (count > MAX_MANAGED_POLICIES_PER_ROLE) {
    throw new CortexValidationError(
      `the role of "${apiName}" would have ${count} managed policies (the stack's apiPolicyArns and managedPolicies, ` +
        `then the API's iam_policy_arns), more than IAM attaches to a role (${MAX_MANAGED_POLICIES_PER_ROLE}); ` +
        'combine some into a customer managed policy',
    );
  }
  if (count > DEFAULT_MANAGED_POLICIES_QUOTA) {
    Annotations.of(scope).addWarningV2(
      'cortex-cdk:managed-policies-quota',
      `the role of "${apiName}" has ${count} managed policies; IAM's default quota is ${DEFAULT_MANAGED_POLICIES_QUOTA} ` +
        `per role (it can be raised to ${MAX_MANAGED_POLICIES_PER_ROLE}): the deploy fails unless the account's quota was raised`,
    );
  }
}

/** The ARNs of a location's objects: the prefix itself (a single-file model) and everything under it. */
export function s3ObjectArns(location: S3Location): string[] {
  const bucket = `arn:${Aws.PARTITION}:s3:::${location.bucket}`;
  return location.prefix === '' ? [`${bucket}/*`] : [`${bucket}/${location.prefix}`, `${bucket}/${location.prefix}/*`];
}

/**
 * Read access to model locations, the least the runtime needs (images/python-predictor/cortex_runtime/models.py):
 * `s3:ListBucket` on the bucket for keys under the prefix (it lists a model's directory and its versions), and
 * `s3:GetObject` on the objects there (it downloads them). Nothing else of the bucket.
 */
export function modelsReadPolicy(locations: readonly S3Location[]): iam.PolicyDocument {
  const statements: iam.PolicyStatement[] = [];
  for (const location of locations) {
    statements.push(
      new iam.PolicyStatement({
        actions: ['s3:ListBucket'],
        resources: [`arn:${Aws.PARTITION}:s3:::${location.bucket}`],
        conditions: location.prefix === '' ? undefined : { StringLike: { 's3:prefix': [location.prefix, `${location.prefix}/*`] } },
      }),
      new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: s3ObjectArns(location) }),
    );
  }
  return new iam.PolicyDocument({ statements });
}

/**
 * IAM managed policy ARNs given as props (`apiPolicyArns`): each one valid (unresolved tokens pass), each once.
 * The same rule as cortex.yaml's `iam_policy_arns`.
 */
export function checkPolicyArns(prop: string, arns: readonly string[]): void {
  const seen = new Map<string, number>();
  arns.forEach((arn, index) => {
    if (Token.isUnresolved(arn)) return;
    const problem = iamPolicyArnProblem(arn);
    if (problem !== undefined) throw new CortexValidationError(`${prop}[${index}]: ${problem}`);
    const previous = seen.get(arn);
    if (previous !== undefined) {
      throw new CortexValidationError(`${prop}[${index}]: duplicate policy ${JSON.stringify(arn)} (also ${prop}[${previous}]); name each policy once`);
    }
    seen.set(arn, index);
  });
  if (arns.length > MAX_MANAGED_POLICIES_PER_ROLE) {
    throw new CortexValidationError(
      `${prop}: must list at most ${MAX_MANAGED_POLICIES_PER_ROLE} policies (IAM attaches no more to a role), got ${arns.length}`,
    );
  }
}
