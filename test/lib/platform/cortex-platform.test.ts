import { Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as eks from 'aws-cdk-lib/aws-eks-v2';
import { AwsSolutionsChecks } from 'cdk-nag';
import { DEFAULT_COLD_START_ROUTING } from '../../../constructs/cold-start';
import { DEFAULT_GATEWAY_URL, DEFAULT_PROMETHEUS_URL, NEURON_SCHEDULER_NAME } from '../../../constructs/names';
import { IApiPlatform } from '../../../lib/platform/api-platform';
import { loadBalancerAnnotations } from '../../../lib/platform/apis-gateway';
import { CortexPlatform } from '../../../lib/platform/cortex-platform';
import {
  dependsOn,
  helmRelease,
  helmValues,
  importedCluster,
  manifestObjects,
  manifests,
  newCluster,
  newStack,
  resources,
} from './fixtures';

const HELM = 'Custom::AWSCDK-EKS-HelmChart';

describe('CortexPlatform on an eks.Cluster of the app', () => {
  // GIVEN a 1.36 cluster with a node group, the platform with node group priorities, and an API manifest
  // that waits for the platform — synthesized once for every test below
  const stack = newStack();
  const cluster = newCluster(stack);
  const nodegroup = new eks.Nodegroup(stack, 'Cpu', {
    cluster,
    amiType: eks.NodegroupAmiType.AL2023_X86_64_STANDARD,
    instanceTypes: [new ec2.InstanceType('m6i.large')],
  });
  const platform = CortexPlatform.onCluster(cluster, {
    capacity: [nodegroup],
    clusterAutoscaler: { nodeGroupPriorities: { gpu: 50, cpu: 10 } },
  });
  const api = new eks.KubernetesManifest(stack, 'Api', {
    cluster,
    manifest: [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'api', namespace: 'cortex' } }],
  });
  api.node.addDependency(platform.ready);
  const template = Template.fromStack(stack);
  const id = (release: string) => helmRelease(template, release).logicalId;
  const [gatewayObject] = manifests(template, '"kind":"Gateway"');
  const [namespace] = manifests(template, '"kind":"Namespace"');
  const [apiManifest] = manifests(template, '"name":"api"');

  test.each([
    ['istio-base', 'base', '1.30.3', 'https://istio-release.storage.googleapis.com/charts', 'istio-system'],
    ['istiod', 'istiod', '1.30.3', 'https://istio-release.storage.googleapis.com/charts', 'istio-system'],
    ['apis-gateway', 'gateway', '1.30.3', 'https://istio-release.storage.googleapis.com/charts', 'istio-system'],
    ['keda', 'keda', '2.20.2', 'https://kedacore.github.io/charts', 'keda'],
    ['keda-add-ons-http', 'keda-add-ons-http', '0.15.0', 'https://kedacore.github.io/charts', 'keda'],
    ['prometheus', 'prometheus', '29.27.0', 'https://prometheus-community.github.io/helm-charts', 'prometheus'],
    ['nvidia-device-plugin', 'nvidia-device-plugin', '0.20.0', 'https://nvidia.github.io/k8s-device-plugin', 'kube-system'],
    ['neuron', 'neuron-helm-chart', '1.9.0', 'oci://public.ecr.aws/neuron/neuron-helm-chart', 'kube-system'],
    ['cluster-autoscaler', 'cluster-autoscaler', '9.59.0', 'https://kubernetes.github.io/autoscaler', 'kube-system'],
    ['metrics-server', 'metrics-server', '3.13.1', 'https://kubernetes-sigs.github.io/metrics-server/', 'kube-system'],
  ])('installs %s: chart %s %s from %s in %s', (release, chart, version, repository, ns) => {
    expect(helmRelease(template, release).properties).toMatchObject({
      Chart: chart,
      Version: version,
      Repository: repository,
      Namespace: ns,
    });
  });

  test('nothing else is installed with Helm, and the CloudWatch add-on with EKS', () => {
    expect(resources(template, HELM)).toHaveLength(10);
    template.hasResourceProperties('AWS::EKS::Addon', { AddonName: 'amazon-cloudwatch-observability' });
  });

  test("per-API metrics on: Prometheus holds the recording rules, the CloudWatch add-on's extra agent federates them", () => {
    expect(helmValues(template, 'prometheus').serverFiles['recording_rules.yml'].groups[0].name).toBe('cortex-api');
    expect(platform.cloudWatchObservability?.apiMetricsLogGroup).toBeDefined();
    const [addon] = resources(template, 'AWS::EKS::Addon', (p) => p.AddonName === 'amazon-cloudwatch-observability');
    expect(JSON.stringify(addon.properties.ConfigurationValues)).toContain('cortex-api-metrics');
  });

  test('the vpc-cni add-on with network policy enforcement, after the node group; the APIs keep the default NetworkPolicy peers', () => {
    const [vpcCni] = resources(template, 'AWS::EKS::Addon', (p) => p.AddonName === 'vpc-cni');
    expect(JSON.parse(vpcCni.properties.ConfigurationValues)).toEqual({ enableNetworkPolicy: 'true' });
    expect(vpcCni.properties.ResolveConflicts).toBe('OVERWRITE');
    expect(dependsOn(template, vpcCni.logicalId, stack.getLogicalId(nodegroup.node.defaultChild as eks.CfnNodegroup))).toBe(true);
    expect(platform.vpcCni?.addon).toBeDefined();
    expect(platform.networkPolicy).toBeUndefined();
  });

  test('the APIs namespace cortex, with sidecar injection disabled', () => {
    const [object] = manifestObjects(namespace);
    expect(object.metadata.name).toBe('cortex');
    expect(object.metadata.labels['istio-injection']).toBe('disabled');
    expect(platform.namespace).toBe('cortex');
  });

  test('order: Istio base before istiod before the gateway before the Gateway object', () => {
    expect(dependsOn(template, id('istiod'), id('istio-base'))).toBe(true);
    expect(dependsOn(template, id('apis-gateway'), id('istiod'))).toBe(true);
    expect(dependsOn(template, gatewayObject.logicalId, id('apis-gateway'))).toBe(true);
    expect(dependsOn(template, id('istio-base'), id('istiod'))).toBe(false);
  });

  test('ready: an API manifest comes after the namespace, Istio, the gateway and its Gateway object, KEDA and its HTTP add-on', () => {
    for (const before of [namespace.logicalId, id('istio-base'), id('istiod'), id('apis-gateway'), gatewayObject.logicalId, id('keda'), id('keda-add-ons-http')]) {
      expect(apiManifest.dependsOn).toContain(before);
    }
    // The add-on's interceptors are scaled by a KEDA ScaledObject.
    expect(dependsOn(template, id('keda-add-ons-http'), id('keda'))).toBe(true);
    expect(platform.coldStart).toEqual(DEFAULT_COLD_START_ROUTING);
    expect(dependsOn(template, apiManifest.logicalId, id('prometheus'))).toBe(false);
    const [hostname] = resources(template, 'Custom::AWSCDK-EKS-KubernetesObjectValue');
    expect(dependsOn(template, apiManifest.logicalId, hostname.logicalId)).toBe(false);
  });

  test('every add-on comes after the given capacity (the node group)', () => {
    const nodegroupId = stack.getLogicalId(nodegroup.node.defaultChild as eks.CfnNodegroup);
    for (const release of resources(template, HELM)) {
      expect(dependsOn(template, release.logicalId, nodegroupId)).toBe(true);
    }
    const [cloudWatch] = resources(template, 'AWS::EKS::Addon', (p) => p.AddonName === 'amazon-cloudwatch-observability');
    expect(dependsOn(template, cloudWatch.logicalId, nodegroupId)).toBe(true);
  });

  test("Pod Identity through the cluster's own eks-pod-identity-agent, which the autoscaler and CloudWatch wait for", () => {
    const agent = resources(template, 'AWS::EKS::Addon', (p) => p.AddonName === 'eks-pod-identity-agent');
    expect(agent).toHaveLength(1);
    expect(platform.podIdentityAgent).toBe(cluster.eksPodIdentityAgent);
    const [cloudWatch] = resources(template, 'AWS::EKS::Addon', (p) => p.AddonName === 'amazon-cloudwatch-observability');
    expect(dependsOn(template, cloudWatch.logicalId, agent[0].logicalId)).toBe(true);
    expect(dependsOn(template, id('cluster-autoscaler'), agent[0].logicalId)).toBe(true);
    template.hasResourceProperties('AWS::EKS::PodIdentityAssociation', { ServiceAccount: 'cluster-autoscaler', Namespace: 'kube-system' });
  });

  test('the gateway: internet-facing NLB, the Gateway object apis-gateway on port 80 for every host', () => {
    expect(manifestObjects(manifests(template, '"name":"apis-gateway-lb"')[0])[0].metadata.annotations).toMatchObject(
      loadBalancerAnnotations(true),
    );
    const [object] = manifestObjects(gatewayObject);
    expect(object.spec).toEqual({
      selector: { istio: 'apis-gateway' },
      servers: [{ port: { number: 80, name: 'http', protocol: 'HTTP' }, hosts: ['*'] }],
    });
  });

  test('the autoscaler: auto-discovery of this cluster, expander priority with the node groups\' priorities', () => {
    const values = JSON.stringify(helmRelease(template, 'cluster-autoscaler').properties.Values);
    expect(values).toContain('\\"expander\\":\\"priority,least-waste\\"');
    expect(values).toContain('^eks-gpu-');
    expect(values).toContain(`\\"autoDiscovery\\":{\\"clusterName\\":\\"",{"Ref":"${stack.getLogicalId(cluster.node.defaultChild as eks.CfnCluster)}"}`);
    expect(values).toContain('\\"tag\\":\\"v1.36.1\\"');
  });

  test('IApiPlatform: namespace, in-cluster URLs, the Neuron scheduler, the endpoint URL from the gateway', () => {
    const asPlatform: IApiPlatform = platform;
    expect(asPlatform.gatewayUrl).toBe(DEFAULT_GATEWAY_URL);
    expect(asPlatform.prometheusUrl).toBe(DEFAULT_PROMETHEUS_URL);
    expect(asPlatform.neuronSchedulerName).toBe(NEURON_SCHEDULER_NAME);
    const [hostname] = resources(template, 'Custom::AWSCDK-EKS-KubernetesObjectValue');
    expect(stack.resolve(asPlatform.endpointUrl)).toEqual({ 'Fn::Join': ['', ['http://', { 'Fn::GetAtt': [hostname.logicalId, 'Value'] }]] });
  });

  test('the add-on constructs and their releases are exposed, for dependencies of your own', () => {
    expect(platform.istio?.base).toBeInstanceOf(eks.HelmChart);
    expect(platform.istio?.istiod).toBeInstanceOf(eks.HelmChart);
    for (const addon of [platform.gateway, platform.keda, platform.kedaHttpAddOn, platform.prometheus, platform.nvidiaDevicePlugin, platform.neuron, platform.clusterAutoscaler, platform.metricsServer]) {
      expect(addon?.chart).toBeInstanceOf(eks.HelmChart);
    }
    expect(platform.cloudWatchObservability?.addon).toBeInstanceOf(eks.Addon);
    expect(platform.node.scope).toBe(cluster);
  });

  test('cdk-nag AwsSolutions: no finding in the platform that is not acknowledged with a reason', () => {
    const report = new AwsSolutionsChecks().validateScope(platform);
    expect(report.violations.map((v) => `${v.ruleName} ${v.violatingResources.map((r) => r.constructPath).join(', ')}`)).toEqual([]);
  });
});

describe('CortexPlatform on an imported cluster', () => {
  test('everything, given the Kubernetes version: its own eks-pod-identity-agent add-on, an internal gateway', () => {
    // GIVEN
    const stack = newStack();
    const cluster = importedCluster(stack);
    // WHEN
    const platform = new CortexPlatform(stack, 'Platform', {
      cluster,
      kubernetesVersion: eks.KubernetesVersion.V1_35,
      namespace: 'models',
      gateway: { internetFacing: false },
    });
    // THEN
    const template = Template.fromStack(stack);
    expect(resources(template, HELM)).toHaveLength(10);
    expect(manifestObjects(manifests(template, '"name":"apis-gateway-lb"')[0])[0].metadata.annotations).toMatchObject(
      loadBalancerAnnotations(false),
    );
    expect(helmValues(template, 'neuron').scheduler.customScheduler.image.tag).toBe('v1.35.6-eks-1-35-13');
    expect(manifestObjects(manifests(template, '"kind":"Namespace"')[0])[0].metadata.name).toBe('models');
    const [agent] = resources(template, 'AWS::EKS::Addon', (p) => p.AddonName === 'eks-pod-identity-agent');
    expect(agent.properties.ClusterName).toBe('models');
    expect(dependsOn(template, id(template, 'cluster-autoscaler'), agent.logicalId)).toBe(true);
    expect(platform.namespace).toBe('models');
  });

  test('every add-on skipped: only the namespace, no endpoint URL, ready is the namespace', () => {
    const stack = newStack();
    const platform = new CortexPlatform(stack, 'Platform', {
      cluster: importedCluster(stack),
      istio: false,
      gateway: false,
      keda: false,
      kedaHttpAddOn: false,
      prometheus: false,
      nvidiaDevicePlugin: false,
      neuron: false,
      clusterAutoscaler: false,
      metricsServer: false,
      cloudWatchObservability: false,
      vpcCni: false,
      podIdentityAgent: false,
    });
    const template = Template.fromStack(stack);
    template.resourceCountIs(HELM, 0);
    template.resourceCountIs('AWS::EKS::Addon', 0);
    template.resourceCountIs('Custom::AWSCDK-EKS-KubernetesObjectValue', 0);
    expect(resources(template, 'Custom::AWSCDK-EKS-KubernetesResource')).toHaveLength(1);
    expect(platform.endpointUrl).toBeUndefined();
    expect(platform.istio).toBeUndefined();
    expect(platform.gateway).toBeUndefined();
    expect(platform.podIdentityAgent).toBeUndefined();
    expect(platform.vpcCni).toBeUndefined();
    // Without the HTTP add-on, scale-to-zero APIs are routed directly (the chart is told so).
    expect(platform.coldStart).toBe(false);
    expect(platform.ready).toBeDefined();
    // the in-cluster addresses stay those of the names the pieces agree on
    expect(platform.gatewayUrl).toBe(DEFAULT_GATEWAY_URL);
    expect(platform.prometheusUrl).toBe(DEFAULT_PROMETHEUS_URL);
  });

  test('Istio already there: the gateway alone, at the version given; no agent when none is wanted', () => {
    const stack = newStack();
    new CortexPlatform(stack, 'Platform', {
      cluster: importedCluster(stack),
      kubernetesVersion: eks.KubernetesVersion.V1_36,
      istio: false,
      gateway: { version: '1.29.2' },
      podIdentityAgent: false,
      vpcCni: false,
    });
    const template = Template.fromStack(stack);
    expect(() => helmRelease(template, 'istiod')).toThrow();
    expect(helmRelease(template, 'apis-gateway').properties.Version).toBe('1.29.2');
    template.resourceCountIs('AWS::EKS::Addon', 1); // CloudWatch only
  });

  test('no per-API metrics without the platform\'s Prometheus, unless asked for with its address', () => {
    const stack = newStack();
    const platform = new CortexPlatform(stack, 'Platform', {
      cluster: importedCluster(stack),
      kubernetesVersion: eks.KubernetesVersion.V1_36,
      prometheus: false,
    });
    expect(platform.cloudWatchObservability?.apiMetricsLogGroup).toBeUndefined();
    Template.fromStack(stack).resourceCountIs('AWS::Logs::LogGroup', 0);

    const other = newStack();
    const mine = new CortexPlatform(other, 'Platform', {
      cluster: importedCluster(other),
      kubernetesVersion: eks.KubernetesVersion.V1_36,
      prometheus: false,
      cloudWatchObservability: { apiMetrics: { prometheusUrl: 'http://prometheus.monitoring.svc:9090' } },
    });
    expect(mine.cloudWatchObservability?.apiMetricsLogGroup).toBeDefined();
  });

  test('per-API metrics can be turned off with Prometheus installed', () => {
    const stack = newStack();
    const platform = new CortexPlatform(stack, 'Platform', {
      cluster: importedCluster(stack),
      kubernetesVersion: eks.KubernetesVersion.V1_36,
      cloudWatchObservability: { apiMetrics: false },
    });
    expect(platform.cloudWatchObservability?.apiMetricsLogGroup).toBeUndefined();
    const [addon] = resources(Template.fromStack(stack), 'AWS::EKS::Addon', (p) => p.AddonName === 'amazon-cloudwatch-observability');
    expect(addon.properties.ConfigurationValues).toBeUndefined();
  });

  test('the Istio version carries to the gateway chart', () => {
    const stack = newStack();
    new CortexPlatform(stack, 'Platform', {
      cluster: importedCluster(stack),
      kubernetesVersion: eks.KubernetesVersion.V1_36,
      istio: { version: '1.29.2' },
    });
    expect(helmRelease(Template.fromStack(stack), 'apis-gateway').properties.Version).toBe('1.29.2');
  });

  test('the Kubernetes version is required when the autoscaler or the Neuron chart needs it', () => {
    const stack = newStack();
    expect(() => new CortexPlatform(stack, 'Platform', { cluster: importedCluster(stack) })).toThrow(/kubernetesVersion is required/);
    const other = newStack();
    expect(
      () => new CortexPlatform(other, 'Platform', { cluster: importedCluster(other), neuron: false, clusterAutoscaler: false }),
    ).not.toThrow();
  });
});

describe('CortexPlatform validation', () => {
  test.each([
    ['Cortex', /namespace \("Cortex"\) must be a DNS-1123 label/],
    ['kube-system', /namespace \("kube-system"\) must not be one of/],
    ['istio-system', /namespace \("istio-system"\) must not be one of/],
  ])('refuses the namespace %s', (ns, message) => {
    const stack = newStack();
    expect(
      () => new CortexPlatform(stack, 'Platform', { cluster: importedCluster(stack), namespace: ns, neuron: false, clusterAutoscaler: false }),
    ).toThrow(message);
  });

  test("the add-ons' own checks, with the option's path in the message", () => {
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ keda: { version: 'latest' } }, /keda\.version \("latest"\) must be an exact chart version/],
      [{ prometheus: { retention: 'forever' } }, /prometheus\.retention \("forever"\)/],
      [{ gateway: { loadBalancerSourceRanges: ['everyone'] } }, /gateway\.loadBalancerSourceRanges\[0\] \("everyone"\)/],
      [{ istio: { version: '1.20.0' } }, /istio\.version \("1\.20\.0"\) must be 1\.22\.0 or newer/],
      [{ clusterAutoscaler: { imageTag: 'v1.36.1', nodeGroupPriorities: { 'a b': 1 } } }, /clusterAutoscaler\.nodeGroupPriorities has a node group name "a b"/],
      [{ cloudWatchObservability: { addonVersion: '4.0' } }, /cloudWatchObservability\.addonVersion \("4\.0"\)/],
      [{ metricsServer: { version: '3' } }, /metricsServer\.version \("3"\)/],
      [{ nvidiaDevicePlugin: { version: 'v0.20' } }, /nvidiaDevicePlugin\.version \("v0\.20"\)/],
      [{ neuron: { schedulerImageTag: 'v1.36.2-eks-1-36-7', version: '1.x' } }, /neuron\.version \("1\.x"\)/],
      [{ vpcCni: { addonVersion: 'v1.13.4-eksbuild.1' } }, /vpcCni\.addonVersion \("v1\.13\.4-eksbuild\.1"\) must be 1\.14\.0 or newer/],
      [{ networkPolicy: { gateway: { namespace: 'istio-system', podLabels: {} } } }, /networkPolicy\.gateway\.podLabels \(\{\}\) must name at least one label/],
      [
        { networkPolicy: { metricsScrapers: [{ namespace: 'Monitoring', podLabels: { app: 'prometheus' } }] } },
        /networkPolicy\.metricsScrapers\[0\]\.namespace \("Monitoring"\) must be a DNS-1123 label/,
      ],
    ];
    for (const [options, message] of cases) {
      const stack = newStack();
      expect(
        () =>
          new CortexPlatform(stack, 'Platform', {
            cluster: importedCluster(stack),
            kubernetesVersion: eks.KubernetesVersion.V1_36,
            ...options,
          }),
      ).toThrow(message);
    }
  });
});

function id(template: Template, release: string): string {
  return helmRelease(template, release).logicalId;
}
