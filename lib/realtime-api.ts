import * as fs from 'node:fs';
import * as path from 'node:path';
import { Annotations } from 'aws-cdk-lib';
import * as eks from 'aws-cdk-lib/aws-eks-v2';
import type * as ecr_assets from 'aws-cdk-lib/aws-ecr-assets';
import * as cdk8s from 'cdk8s';
import { Construct } from 'constructs';
import { RealtimeApiChart } from '../constructs';
import { ApiAccelerator, ApiMonitoring, apiAccelerator, type ApiMonitoringOptions } from './api-monitoring';
import { configFromObject, realtimeApiSpec, type RealtimeApiDefinition, type RealtimeApiSpec } from './config';
import { CortexApis, type CortexApisFileProps } from './cortex-apis';
import { CortexValidationError } from './errors';
import { predictorImageAsset, predictorImageVariant, proxyImageAsset } from './images';
import { ACCELERATOR_ROLLOUT_TIMEOUT, RolloutGate, type RolloutGateOptions } from './rollout-gate';
import { knownNodeGroups, kubernetesVersionProblem, placementProblems, placementUnchecked } from './placement';
import { ApiPlatform, type IApiPlatform } from './platform/api-platform';
import { clusterKubernetesVersion } from './platform/kubernetes-version';

/** Options of {@link RealtimeApi}, without the cluster (e.g. for a `cluster.addRealtimeApi(id, options)`). */
export interface RealtimeApiOptions {
  /**
   * The API, validated and fully defaulted: an entry of a parsed cortex.yaml (`loadConfigFile(f).apis[i]`),
   * or one written in code — typed, camelCase, with {@link RealtimeApi.spec} (a `RealtimeApiDefinition`), or
   * in cortex.yaml's snake_case shape with {@link RealtimeApi.specFromObject}. Both apply exactly the file's rules.
   */
  readonly api: RealtimeApiSpec;
  /**
   * The platform the API runs on: namespace, in-cluster addresses, and what the manifest waits for.
   * @default ApiPlatform.existing() - add-ons already installed, namespace 'cortex', nothing to wait for
   */
  readonly platform?: IApiPlatform;
  /**
   * The proxy sidecar's image, for users who mirror images into a registry of their own.
   * @default - the proxy image asset built from `images/proxy/` (one per stack)
   */
  readonly proxyImage?: string;
  /**
   * The image of a predictor-form API's runtime container, holding the runtime and the project (at
   * `/opt/cortex/project`), e.g. one built by CI from `images/python-predictor/`. Ignored by container-form
   * APIs and by predictor-form APIs with `predictor.image`.
   * @default - for predictor-form APIs, an image asset built from `images/python-predictor/` plus `configDir`
   */
  readonly predictorImage?: string;
  /**
   * The directory of the cortex.yaml: the project a predictor-form API's image is built from (its
   * `predictor.path` and dependency files are relative to it). Only read when that image is built here.
   * @default - the directory of `api.source.file`; specs built from objects (file `<props>`) must set it
   */
  readonly configDir?: string;
  /**
   * The pods' Kubernetes service account (e.g. one with an IAM role to read models from S3).
   * @default - the namespace's `default` service account
   */
  readonly serviceAccountName?: string;
  /**
   * CloudWatch alarms for the API (5XX rate, p99 latency, no ready replicas), optionally notifying an SNS
   * topic, and optionally a dashboard, on the metrics the platform publishes (see {@link ApiMonitoring});
   * `false` for none.
   * @default - the three alarms, without notifications or dashboard
   */
  readonly monitoring?: ApiMonitoringOptions | false;
  /**
   * The rollout gate: `cdk deploy` waits until the API's new pods are all available, and fails — so that
   * CloudFormation rolls the stack back to the previous manifest — when the rollout fails or outlasts
   * `timeout`, naming the failing pods and why (see {@link RolloutGate}, docs/operations.md); `false`
   * applies the manifest without waiting.
   * @default - a gate with a 10-minute timeout (30 minutes for an API on GPU or Inferentia/Trainium nodes)
   */
  readonly rolloutGate?: RolloutGateOptions | false;
}

/** Props of {@link RealtimeApi}. */
export interface RealtimeApiProps extends RealtimeApiOptions {
  /** The cluster, with a kubectl provider (`kubectlProviderOptions`, or `kubectlProvider` when imported). */
  readonly cluster: eks.ICluster;
}

/** Props of {@link RealtimeApi.fromConfigFile}. */
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
export class RealtimeApi extends Construct {
  /**
   * Every API and TrafficSplitter of a cortex.yaml, spread over nested stacks (see {@link CortexApis}).
   * Problems in the file throw a `ConfigError` listing each with its line.
   */
  public static fromConfigFile(scope: Construct, file: string, props: RealtimeApisFromConfigFileProps): CortexApis {
    const { id, ...options } = props;
    return CortexApis.fromConfigFile(scope, id ?? 'CortexApis', file, options);
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

  constructor(scope: Construct, id: string, props: RealtimeApiProps) {
    super(scope, id);
    const api = props.api;
    this.platform = props.platform ?? ApiPlatform.existing();
    const configDir = props.configDir ?? defaultConfigDir(api);

    checkRealtimeApiSpec(api);
    checkKubectlProvider(props.cluster);
    checkPredictorTypeServable(api, props.predictorImage);

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
    });
    this.objects = this.chart.toJson();
    this.manifest = new eks.KubernetesManifest(this, 'Resource', { cluster: props.cluster, manifest: this.objects });
    this.manifest.node.addDependency(this.platform.ready);
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
