import * as eks from 'aws-cdk-lib/aws-eks-v2';
import { Construct, IConstruct } from 'constructs';
import { NEURON_SCHEDULER_NAME } from '../../constructs/names';
import { HelmAddonOptions, HelmValues, addonChart } from './helm-addon';
import { clusterKubernetesVersion, imagesForKubernetesVersion } from './kubernetes-version';
import { CRITICAL_ADDONS_ONLY, NEURON_NODE_SELECTOR, NEURON_TAINT, toleration } from './scheduling';
import { checkName } from '../../constructs/validation';
import { CHARTS } from './versions';

/**
 * The id under which aws-eks-v2's `Cluster.addNodegroupCapacity()` (and `addAutoScalingGroupCapacity()`)
 * adds, by itself, a Neuron device plugin manifest when given inf/trn instance types
 * (`cluster.addManifest('NeuronDevicePlugin', ...)`, a child `manifest-NeuronDevicePlugin`).
 */
export const STALE_NEURON_PLUGIN_ID = 'manifest-NeuronDevicePlugin';

/** Options of the Neuron chart. */
export interface NeuronOptions extends HelmAddonOptions {
  /**
   * The tag of the second scheduler's image (`public.ecr.aws/eks-distro/kubernetes/kube-scheduler`).
   * @default - the EKS Distro tag pinned for the cluster's Kubernetes minor
   */
  readonly schedulerImageTag?: string;
}

/** Props of {@link Neuron}. */
export interface NeuronProps extends NeuronOptions {
  /** The cluster to install the chart on. */
  readonly cluster: eks.ICluster;
  /**
   * The cluster's Kubernetes version, which the scheduler image follows.
   * @default - the version of an `eks.Cluster` of this app; required otherwise, unless `schedulerImageTag` is set
   */
  readonly kubernetesVersion?: eks.KubernetesVersion;
}

/**
 * AWS Neuron's Helm chart (release `neuron` in `kube-system`) with:
 * - the device plugin on nodes labelled `accelerator: neuron`, tolerating `aws.amazon.com/neuron`
 *   (it advertises `aws.amazon.com/neuron` and `aws.amazon.com/neuroncore`);
 * - the scheduler extension, as a second scheduler `my-scheduler` (EKS' own scheduler cannot be
 *   extended) that Neuron pods name in `schedulerName`.
 *
 * On an `eks.Cluster`, node groups given inf/trn instance types through `cluster.addNodegroupCapacity()`
 * make aws-eks-v2 add a Neuron device plugin manifest of its own (a 2020 image for inf1/inf2 only) that
 * would run beside this chart's on the same nodes: synthesis fails with an explanation when it is there.
 */
export class Neuron extends Construct {
  /** The release. */
  public readonly chart: eks.HelmChart;
  /** The second scheduler's name, for the pods' `schedulerName`. */
  public readonly schedulerName: string = NEURON_SCHEDULER_NAME;

  constructor(scope: Construct, id: string, props: NeuronProps) {
    super(scope, id);
    const schedulerImageTag =
      props.schedulerImageTag ??
      imagesForKubernetesVersion(clusterKubernetesVersion(props.cluster, props.kubernetesVersion), {
        what: "the Neuron chart's second scheduler (kube-scheduler)",
        overrideProp: 'neuron.schedulerImageTag',
      }).kubeScheduler;
    checkName('neuron.schedulerImageTag', schedulerImageTag);

    this.chart = addonChart(this, 'Resource', {
      cluster: props.cluster,
      source: CHARTS.neuron,
      options: props,
      optionsPath: 'neuron',
      release: 'neuron',
      namespace: 'kube-system',
      values: neuronValues(schedulerImageTag),
    });

    const cluster = props.cluster;
    this.node.addValidation({ validate: () => staleNeuronPluginProblems(cluster) });
  }
}

/**
 * The chart's values: the device plugin on `accelerator: neuron` nodes (on top of the chart's own
 * affinity to Neuron instance types), the scheduler extension as `my-scheduler` with an image of the
 * cluster's minor, and no node problem detector (it needs IAM for its recovery agent and is not part of
 * serving).
 */
export function neuronValues(schedulerImageTag: string): HelmValues {
  return {
    devicePlugin: {
      nodeSelector: NEURON_NODE_SELECTOR,
      tolerations: [CRITICAL_ADDONS_ONLY, toleration(NEURON_TAINT)],
    },
    scheduler: {
      enabled: true,
      customScheduler: {
        enabled: true,
        fullnameOverride: NEURON_SCHEDULER_NAME,
        image: { tag: schedulerImageTag },
      },
    },
    npd: { enabled: false },
  };
}

/** The problem, if `cluster` holds the Neuron device plugin manifest aws-eks-v2 adds by itself. */
export function staleNeuronPluginProblems(cluster: IConstruct): string[] {
  if (cluster.node.tryFindChild(STALE_NEURON_PLUGIN_ID) === undefined) {
    return [];
  }
  return [
    `${cluster.node.path} has the Neuron device plugin manifest that aws-eks-v2 adds when ` +
      `addNodegroupCapacity()/addAutoScalingGroupCapacity() is given inf/trn instance types (image ` +
      `neuron-device-plugin:1.0.9043.0, inf1/inf2 only). It would run beside the Neuron Helm chart's device ` +
      `plugin on the same nodes, both registering aws.amazon.com/neuron. Create Neuron node groups with ` +
      `new eks.Nodegroup(scope, id, { cluster, ... }) instead, or set neuron: false to keep the old plugin.`,
  ];
}
