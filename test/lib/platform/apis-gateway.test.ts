import { Template } from 'aws-cdk-lib/assertions';
import { DEFAULT_GATEWAY_URL } from '../../../constructs/names';
import { ApisGateway, gatewayObject, loadBalancerAnnotations } from '../../../lib/platform/apis-gateway';
import { validateObjects } from '../../schema/validate';
import { dependsOn, helmRelease, helmValues, importedCluster, manifestObjects, manifests, newStack, resources } from './fixtures';

describe('loadBalancerAnnotations', () => {
  test('internet-facing: an NLB of the cloud provider, scheme internet-facing', () => {
    expect(loadBalancerAnnotations(true)).toEqual({
      'service.beta.kubernetes.io/aws-load-balancer-type': 'nlb',
      'service.beta.kubernetes.io/aws-load-balancer-scheme': 'internet-facing',
    });
  });

  test('internal: the cloud provider\'s "internal" annotation, and scheme internal', () => {
    expect(loadBalancerAnnotations(false)).toEqual({
      'service.beta.kubernetes.io/aws-load-balancer-type': 'nlb',
      'service.beta.kubernetes.io/aws-load-balancer-scheme': 'internal',
      'service.beta.kubernetes.io/aws-load-balancer-internal': 'true',
    });
  });

  test('never the Load Balancer Controller-only type "external", which the cloud provider ignores', () => {
    expect(Object.values(loadBalancerAnnotations(true))).not.toContain('external');
    expect(Object.values(loadBalancerAnnotations(false))).not.toContain('external');
  });
});

describe('ApisGateway', () => {
  // GIVEN the gateway with its defaults, synthesized once
  const stack = newStack();
  const gateway = new ApisGateway(stack, 'Gateway', { cluster: importedCluster(stack) });
  const template = Template.fromStack(stack);

  test("Istio's gateway chart, release apis-gateway in istio-system, Istio's version", () => {
    expect(helmRelease(template, 'apis-gateway').properties).toMatchObject({
      Chart: 'gateway',
      Repository: 'https://istio-release.storage.googleapis.com/charts',
      Version: '1.30.3',
      Namespace: 'istio-system',
    });
  });

  test('a LoadBalancer Service with internet-facing NLB annotations, ports 15021 and 80, pods labelled istio: apis-gateway', () => {
    const values = helmValues(template, 'apis-gateway');
    expect(values.service.type).toBe('LoadBalancer');
    expect(values.service.annotations).toEqual(loadBalancerAnnotations(true));
    expect(values.service.ports.map((p: { port: number }) => p.port)).toEqual([15021, 80]);
    expect(values.service).not.toHaveProperty('loadBalancerSourceRanges');
    expect(values.labels).toEqual({ istio: 'apis-gateway' });
    expect(values.autoscaling).toEqual({ minReplicas: 2 });
    expect(values.podDisruptionBudget).toEqual({ minAvailable: 1 });
    expect(gateway.internetFacing).toBe(true);
  });

  test('the Gateway object apis-gateway: port 80, HTTP, every host, selecting the chart\'s pods; after the chart', () => {
    const [manifest] = manifests(template, '"kind":"Gateway"');
    const [object] = manifestObjects(manifest);
    expect(object).toMatchObject({
      apiVersion: 'networking.istio.io/v1',
      kind: 'Gateway',
      metadata: { name: 'apis-gateway', namespace: 'istio-system' },
      spec: { selector: { istio: 'apis-gateway' }, servers: [{ port: { number: 80, protocol: 'HTTP' }, hosts: ['*'] }] },
    });
    expect(dependsOn(template, manifest.logicalId, helmRelease(template, 'apis-gateway').logicalId)).toBe(true);
  });

  test('the Gateway object is valid against the Istio 1.30 schema', () => {
    expect(validateObjects([gatewayObject()])).toEqual([]);
  });

  test("the endpoint URL is http:// and the Service's load balancer hostname, read after the chart", () => {
    const [value] = resources(template, 'Custom::AWSCDK-EKS-KubernetesObjectValue');
    expect(value.properties).toMatchObject({
      ObjectType: 'service',
      ObjectName: 'apis-gateway',
      ObjectNamespace: 'istio-system',
      JsonPath: '.status.loadBalancer.ingress[0].hostname',
    });
    expect(dependsOn(template, value.logicalId, helmRelease(template, 'apis-gateway').logicalId)).toBe(true);
    expect(stack.resolve(gateway.endpointUrl)).toEqual({
      'Fn::Join': ['', ['http://', { 'Fn::GetAtt': [value.logicalId, 'Value'] }]],
    });
    expect(gateway.url).toBe(DEFAULT_GATEWAY_URL);
  });

  test('internal, with source ranges and overridden values', () => {
    const other = newStack();
    new ApisGateway(other, 'Gateway', {
      cluster: importedCluster(other),
      internetFacing: false,
      loadBalancerSourceRanges: ['10.0.0.0/8'],
      values: { autoscaling: { maxReplicas: 10 } },
    });
    const values = helmValues(Template.fromStack(other), 'apis-gateway');
    expect(values.service.annotations).toEqual(loadBalancerAnnotations(false));
    expect(values.service.loadBalancerSourceRanges).toEqual(['10.0.0.0/8']);
    expect(values.autoscaling).toEqual({ minReplicas: 2, maxReplicas: 10 });
  });

  test('refuses a source range that is not a CIDR block', () => {
    const other = newStack();
    expect(
      () => new ApisGateway(other, 'Gateway', { cluster: importedCluster(other), loadBalancerSourceRanges: ['10.0.0.0/8', 'office'] }),
    ).toThrow(/gateway\.loadBalancerSourceRanges\[1\] \("office"\) must be a CIDR block/);
  });
});
