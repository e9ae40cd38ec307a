import * as eks from 'aws-cdk-lib/aws-eks-v2';
import { Construct } from 'constructs';
import { HelmAddonOptions, HelmValues, addonChart } from './helm-addon';
import { ACCELERATOR_LABEL } from '../node-group';
import { CRITICAL_ADDONS_ONLY, NVIDIA_GPU_TAINT, NVIDIA_NODE_SELECTOR, toleration } from './scheduling';
import { CHARTS } from './versions';

/** Options of the NVIDIA device plugin. */
export interface NvidiaDevicePluginOptions extends HelmAddonOptions {}

/** Props of {@link NvidiaDevicePlugin}. */
export interface NvidiaDevicePluginProps extends NvidiaDevicePluginOptions {
  /** The cluster to install the device plugin on. */
  readonly cluster: eks.ICluster;
}

/**
 * NVIDIA's device plugin (release `nvidia-device-plugin` in `kube-system`): a DaemonSet on the GPU
 * nodes that advertises `nvidia.com/gpu`. The AL2023 NVIDIA AMI has the driver and container toolkit,
 * not the plugin.
 */
export class NvidiaDevicePlugin extends Construct {
  /** The release. */
  public readonly chart: eks.HelmChart;

  constructor(scope: Construct, id: string, props: NvidiaDevicePluginProps) {
    super(scope, id);
    this.chart = addonChart(this, 'Resource', {
      cluster: props.cluster,
      source: CHARTS.nvidiaDevicePlugin,
      options: props,
      optionsPath: 'nvidiaDevicePlugin',
      release: 'nvidia-device-plugin',
      namespace: 'kube-system',
      values: nvidiaDevicePluginValues(),
    });
  }
}

/**
 * The chart's values: on nodes labelled `accelerator: nvidia`, tolerating their `nvidia.com/gpu` taint.
 * The chart's own node affinity asks for Node Feature Discovery's PCI labels, which nothing installs
 * here: its terms are replaced by the same `accelerator` requirement (a list replaces a list in Helm).
 */
export function nvidiaDevicePluginValues(): HelmValues {
  return {
    nodeSelector: NVIDIA_NODE_SELECTOR,
    affinity: {
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: {
          nodeSelectorTerms: [
            { matchExpressions: [{ key: ACCELERATOR_LABEL, operator: 'In', values: [NVIDIA_NODE_SELECTOR[ACCELERATOR_LABEL]] }] },
          ],
        },
      },
    },
    tolerations: [CRITICAL_ADDONS_ONLY, toleration(NVIDIA_GPU_TAINT)],
  };
}
