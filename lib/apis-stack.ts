import { KubectlV36Layer } from '@aws-cdk/lambda-layer-kubectl-v36';
import * as cdk from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as eks from 'aws-cdk-lib/aws-eks-v2';
import { Construct } from 'constructs';
import { configCharts } from '../constructs';
import { CortexConfig } from './config';

/** Props of {@link ApisStack}. */
export interface ApisStackProps extends cdk.StackProps {
  /** The validated cortex.yaml whose APIs the stack deploys. */
  readonly config: CortexConfig;
  /**
   * The namespace of the APIs.
   * @default 'cortex'
   */
  readonly namespace?: string;
}

/**
 * An EKS cluster with one CPU node group, the APIs' namespace, and one KubernetesManifest per
 * API and traffic splitter (so `cdk diff` names the API that changes).
 *
 * The platform add-ons the objects rely on (Istio, KEDA, Prometheus) and the GPU/Neuron node
 * groups are not part of this stack yet: it synthesizes, but a deploy needs them installed.
 */
export class ApisStack extends cdk.Stack {
  public readonly cluster: eks.Cluster;

  constructor(scope: Construct, id: string, props: ApisStackProps) {
    super(scope, id, props);
    const namespace = props.namespace ?? 'cortex';

    this.cluster = new eks.Cluster(this, 'Cluster', {
      version: eks.KubernetesVersion.V1_36,
      kubectlProviderOptions: { kubectlLayer: new KubectlV36Layer(this, 'KubectlLayer') },
      defaultCapacity: 0,
      defaultCapacityType: eks.DefaultCapacityType.NODEGROUP,
      vpc: new ec2.Vpc(this, 'Vpc', { maxAzs: 2, natGateways: 1 }),
    });
    this.cluster.addNodegroupCapacity('Cpu', {
      amiType: eks.NodegroupAmiType.AL2023_X86_64_STANDARD,
      instanceTypes: [new ec2.InstanceType('m6i.large')],
      minSize: 1,
      maxSize: 5,
      diskSize: 50,
    });

    const ns = this.cluster.addManifest('Namespace', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } });
    const charts = configCharts(props.config, { namespace });
    props.config.specs.forEach((spec, i) => {
      const manifest = this.cluster.addCdk8sChart(`Api-${spec.name}`, charts[i]);
      manifest.node.addDependency(ns);
    });
  }
}
