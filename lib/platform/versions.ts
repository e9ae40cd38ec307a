/**
 * Everything the platform installs, pinned: Helm repositories, charts and versions, and the images
 * that must follow the cluster's Kubernetes minor. docs/platform.md lists the same, with the reasons.
 * Moving a version is a change here (and, for Istio and KEDA, of the CRD files `scripts/import-crds.js` generates `constructs/imports/` from, and of the imports
 * generated from them), tested like any other.
 */

/** A Helm chart as the kubectl handler pulls it at deploy time. */
export interface ChartSource {
  /** An `https://` Helm repository, or for OCI registries the `oci://` reference of the chart itself. */
  readonly repository: string;
  /** The chart's name in the repository. */
  readonly chart: string;
  /** The exact chart version. */
  readonly version: string;
}

/** Istio: the version of the CRDs the charts in `constructs/` are generated from (the CRDs as published at that version: `scripts/import-crds.js`). */
export const ISTIO_VERSION = '1.30.3';
const ISTIO_REPOSITORY = 'https://istio-release.storage.googleapis.com/charts';

/** The charts of the platform, by add-on. */
export const CHARTS = {
  /** Istio's CRDs and cluster-wide resources. */
  istioBase: { repository: ISTIO_REPOSITORY, chart: 'base', version: ISTIO_VERSION },
  /** Istio's control plane. */
  istiod: { repository: ISTIO_REPOSITORY, chart: 'istiod', version: ISTIO_VERSION },
  /** Istio's gateway chart (an Envoy Deployment behind a LoadBalancer Service). */
  istioGateway: { repository: ISTIO_REPOSITORY, chart: 'gateway', version: ISTIO_VERSION },
  /** KEDA with its CRDs; the version of the CRDs `constructs/imports/keda.sh.ts` was generated from. */
  keda: { repository: 'https://kedacore.github.io/charts', chart: 'keda', version: '2.20.2' },
  /** The KEDA HTTP add-on (interceptor, scaler, operator) with its CRDs; the version of the CRD `constructs/imports/http.keda.sh.ts` was generated from. */
  kedaHttpAddOn: { repository: 'https://kedacore.github.io/charts', chart: 'keda-add-ons-http', version: '0.15.0' },
  /** prometheus-community `prometheus` (server only); Prometheus v3.14.0. */
  prometheus: { repository: 'https://prometheus-community.github.io/helm-charts', chart: 'prometheus', version: '29.27.0' },
  /** NVIDIA's device plugin, v0.20.0. */
  nvidiaDevicePlugin: { repository: 'https://nvidia.github.io/k8s-device-plugin', chart: 'nvidia-device-plugin', version: '0.20.0' },
  /** AWS Neuron's chart (device plugin, scheduler extension), Neuron SDK 2.31.0. */
  neuron: { repository: 'oci://public.ecr.aws/neuron/neuron-helm-chart', chart: 'neuron-helm-chart', version: '1.9.0' },
  /** kubernetes/autoscaler's chart; the image is pinned per Kubernetes minor (below). */
  clusterAutoscaler: { repository: 'https://kubernetes.github.io/autoscaler', chart: 'cluster-autoscaler', version: '9.59.0' },
  /** metrics-server v0.8.1. */
  metricsServer: { repository: 'https://kubernetes-sigs.github.io/metrics-server/', chart: 'metrics-server', version: '3.13.1' },
} as const satisfies Record<string, ChartSource>;

/**
 * Images that must match the cluster's Kubernetes minor, by minor:
 * - `clusterAutoscaler`: registry.k8s.io/autoscaling/cluster-autoscaler — the autoscaler simulates the
 *   scheduler of its own minor, so its minor must be the cluster's (kubernetes/autoscaler's rule);
 * - `kubeScheduler`: public.ecr.aws/eks-distro/kubernetes/kube-scheduler, the image of the Neuron chart's
 *   second scheduler (`my-scheduler`); the chart's default (1.31) is outside Kubernetes' version skew
 *   policy on newer clusters. Tags from the EKS Distro release manifests.
 */
export const KUBERNETES_VERSION_IMAGES: Readonly<Record<string, { readonly clusterAutoscaler: string; readonly kubeScheduler: string }>> = {
  '1.33': { clusterAutoscaler: 'v1.33.6', kubeScheduler: 'v1.33.13-eks-1-33-31' },
  '1.34': { clusterAutoscaler: 'v1.34.5', kubeScheduler: 'v1.34.9-eks-1-34-21' },
  '1.35': { clusterAutoscaler: 'v1.35.2', kubeScheduler: 'v1.35.6-eks-1-35-13' },
  '1.36': { clusterAutoscaler: 'v1.36.1', kubeScheduler: 'v1.36.2-eks-1-36-7' },
};

/** The Kubernetes minors the platform has pinned images for, oldest first. */
export const SUPPORTED_KUBERNETES_VERSIONS: readonly string[] = Object.keys(KUBERNETES_VERSION_IMAGES);

/**
 * The EKS add-ons the platform creates. `vpc-cni` and `eks-pod-identity-agent` take the version EKS picks for the
 * cluster's Kubernetes version; `amazon-cloudwatch-observability` is pinned ({@link EKS_ADDON_VERSIONS}).
 */
export const EKS_ADDONS = {
  podIdentityAgent: 'eks-pod-identity-agent',
  cloudWatchObservability: 'amazon-cloudwatch-observability',
  /** The VPC CNI, taken over from EKS's self-managed one to turn network policy enforcement on. */
  vpcCni: 'vpc-cni',
} as const;

/**
 * EKS add-on versions the platform pins (each overridable: `cloudWatchObservability.addonVersion`).
 *
 * `amazon-cloudwatch-observability`: the per-API metrics agent is an extra entry of the add-on's `agents` list with
 * its own OpenTelemetry pipeline (`otelConfig`, rendered as an object), which federates the Prometheus recording rules
 * (untyped series: the agent's Prometheus-to-EMF path would drop them; its OpenTelemetry `prometheus` receiver reads
 * them as gauges). The add-on's configuration schema took `agents` in v3.0.0 (the default agent named alone, its
 * settings merged in), `otelConfig` as an object in v3.2.0, and gave an agent of `mode: deployment` a Deployment's
 * update strategy in v4.2.0; Pod Identity needs v3.1.0. Left to EKS, the version moves with the cluster: v6.0.0–v6.1.x
 * turned OTel Container Insights on (a second, cluster-scraper agent, which an `agents` list that names only the
 * default agent leaves out), v5.3.0 dropped a cluster-wide ConfigMap read from the agent's role (restored in v5.3.1).
 * v4.10.3 is the last of the 4.x line (chart release of 2026-03-18, CloudWatch agent 1.300064.1). Check that a
 * cluster's Kubernetes version offers it with
 * `aws eks describe-addon-versions --addon-name amazon-cloudwatch-observability --kubernetes-version 1.36`.
 */
export const EKS_ADDON_VERSIONS = {
  cloudWatchObservability: 'v4.10.3-eksbuild.1',
} as const;

/** The oldest `amazon-cloudwatch-observability` the platform accepts: EKS Pod Identity for the agent and Fluent Bit. */
export const MINIMUM_CLOUDWATCH_OBSERVABILITY_VERSION = '3.1.0';

/** The oldest `amazon-cloudwatch-observability` the per-API metrics agent works with: `otelConfig` as an object. */
export const MINIMUM_CLOUDWATCH_OBSERVABILITY_VERSION_FOR_API_METRICS = '3.2.0';
