import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import { DEFAULT_GATEWAY_URL } from '../../../constructs/names';
import {
  ApisGateway,
  ApisGatewayOptions,
  checkListeners,
  gatewayObject,
  healthCheckAnnotations,
  keepaliveEnvoyFilter,
  loadBalancerAnnotations,
  loadBalancerService,
} from '../../../lib/platform/apis-gateway';
import { validateObjects } from '../../schema/validate';
import { dependsOn, helmRelease, helmValues, importedCluster, manifestObjects, manifests, newStack, resources } from './fixtures';

const CERTIFICATE = 'arn:aws:acm:eu-west-1:123456789012:certificate/0a1b2c3d-4e5f-6789-abcd-ef0123456789';

/** The load balancer's Service as synthesized by a gateway with `options`, in a stack of eu-west-1. */
function synthesizedService(options: ApisGatewayOptions): { service: Record<string, any>; template: Template; gateway: ApisGateway; stack: Stack } {
  const stack = new Stack(new App(), 'Test', { env: { account: '123456789012', region: 'eu-west-1' } });
  const gateway = new ApisGateway(stack, 'Gateway', { cluster: importedCluster(stack), ...options });
  const template = Template.fromStack(stack);
  const [manifest] = manifests(template, '"name":"apis-gateway-lb"');
  const [service] = manifestObjects(manifest);
  return { service, template, gateway, stack };
}

const A = 'service.beta.kubernetes.io/aws-load-balancer';

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

  test("the chart's Service stays in the cluster: ClusterIP, port 80 only (no 443, no status port 15021); pods labelled istio: apis-gateway", () => {
    const values = helmValues(template, 'apis-gateway');
    expect(values.service).toEqual({ type: 'ClusterIP', ports: [{ name: 'http2', port: 80, protocol: 'TCP', targetPort: 80 }] });
    expect(values.labels).toEqual({ istio: 'apis-gateway' });
    // no IMDS probe from the gateway's istio-agent (the nodes' hop limit 1 would make it wait for a timeout)
    expect(values.env).toEqual({ CLOUD_PLATFORM: 'none' });
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

  test("TCP keepalive on the gateway's client connections: an EnvoyFilter beside the Gateway object, on the listener of port 80", () => {
    const [manifest] = manifests(template, '"kind":"EnvoyFilter"');
    expect(manifest.logicalId).toBe(manifests(template, '"kind":"Gateway"')[0].logicalId);
    const filter = manifestObjects(manifest).find((o) => o.kind === 'EnvoyFilter');
    expect(filter).toMatchObject(keepaliveEnvoyFilter());
    expect(keepaliveEnvoyFilter()).toEqual({
      apiVersion: 'networking.istio.io/v1alpha3',
      kind: 'EnvoyFilter',
      metadata: { name: 'apis-gateway-tcp-keepalive', namespace: 'istio-system', labels: { 'app.kubernetes.io/managed-by': 'cortex-cdk' } },
      spec: {
        workloadSelector: { labels: { istio: 'apis-gateway' } },
        configPatches: [
          {
            applyTo: 'LISTENER',
            match: { context: 'GATEWAY', listener: { portNumber: 80 } },
            patch: {
              operation: 'MERGE',
              value: {
                // on the listening socket, inherited by every accepted connection: SO_KEEPALIVE, then
                // TCP_KEEPIDLE 60 s, TCP_KEEPINTVL 60 s, TCP_KEEPCNT 5 (Linux's numbers)
                socket_options: [
                  { level: 1, name: 9, int_value: 1, state: 'STATE_LISTENING' },
                  { level: 6, name: 4, int_value: 60, state: 'STATE_LISTENING' },
                  { level: 6, name: 5, int_value: 60, state: 'STATE_LISTENING' },
                  { level: 6, name: 6, int_value: 5, state: 'STATE_LISTENING' },
                ],
              },
            },
          },
        ],
      },
    });
    expect(validateObjects([keepaliveEnvoyFilter()])).toEqual([]);
  });

  test('the load balancer keeps its idle timeout: no listener or Classic Load Balancer idle-timeout annotation the cloud provider would ignore', () => {
    const [manifest] = manifests(template, '"name":"apis-gateway-lb"');
    const [service] = manifestObjects(manifest);
    expect(Object.keys(service.metadata.annotations).filter((key) => /idle|listener-attributes/.test(key))).toEqual([]);
  });

  test('the load balancer: a LoadBalancer Service apis-gateway-lb, internet-facing NLB, plain HTTP on 80 only, after the chart', () => {
    const [manifest] = manifests(template, '"name":"apis-gateway-lb"');
    const [service] = manifestObjects(manifest);
    expect(service).toMatchObject({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'apis-gateway-lb', namespace: 'istio-system', annotations: { ...loadBalancerAnnotations(true), ...healthCheckAnnotations() } },
      spec: { type: 'LoadBalancer', selector: { istio: 'apis-gateway' }, externalTrafficPolicy: 'Cluster' },
    });
    expect(service.spec.ports).toEqual([{ name: 'http', port: 80, protocol: 'TCP', targetPort: 80 }]);
    expect(service.spec).not.toHaveProperty('loadBalancerSourceRanges');
    expect(Object.keys(service.metadata.annotations).filter((k) => k.includes('ssl'))).toEqual([]);
    expect(dependsOn(template, manifest.logicalId, helmRelease(template, 'apis-gateway').logicalId)).toBe(true);
    expect(gateway.tls).toBe(false);
    expect(gateway.plainHttp).toBe(true);
  });

  test('no listener on the status port 15021: health checks go to the traffic port, over TCP', () => {
    const [service] = manifestObjects(manifests(template, '"name":"apis-gateway-lb"')[0]);
    expect(service.spec.ports.map((p: { port: number }) => p.port)).not.toContain(15021);
    expect(service.spec.ports.map((p: { targetPort: number }) => p.targetPort)).not.toContain(15021);
    expect(service.metadata.annotations).toMatchObject({ [`${A}-healthcheck-port`]: 'traffic-port', [`${A}-healthcheck-protocol`]: 'TCP' });
    expect(JSON.stringify(helmValues(template, 'apis-gateway').service)).not.toContain('15021');
  });

  test("the endpoint URL is http:// and the load balancer Service's hostname, read after that Service", () => {
    const [value] = resources(template, 'Custom::AWSCDK-EKS-KubernetesObjectValue');
    expect(value.properties).toMatchObject({
      ObjectType: 'service',
      ObjectName: 'apis-gateway-lb',
      ObjectNamespace: 'istio-system',
      JsonPath: '.status.loadBalancer.ingress[0].hostname',
    });
    const [lb] = manifests(template, '"name":"apis-gateway-lb"');
    expect(dependsOn(template, value.logicalId, lb.logicalId)).toBe(true);
    expect(stack.resolve(gateway.endpointUrl)).toEqual({
      'Fn::Join': ['', ['http://', { 'Fn::GetAtt': [value.logicalId, 'Value'] }]],
    });
    expect(gateway.url).toBe(DEFAULT_GATEWAY_URL);
  });

  test('internal, with source ranges (IPv4 and IPv6) and overridden values', () => {
    const { service, template: other } = synthesizedService({
      internetFacing: false,
      loadBalancerSourceRanges: ['10.0.0.0/8', '2001:db8::/32'],
      values: { autoscaling: { maxReplicas: 10 } },
    });
    expect(service.metadata.annotations).toMatchObject(loadBalancerAnnotations(false));
    expect(service.spec.loadBalancerSourceRanges).toEqual(['10.0.0.0/8', '2001:db8::/32']);
    expect(helmValues(other, 'apis-gateway').autoscaling).toEqual({ minReplicas: 2, maxReplicas: 10 });
  });

  test('refuses a source range that is not a CIDR block', () => {
    const other = newStack();
    expect(
      () => new ApisGateway(other, 'Gateway', { cluster: importedCluster(other), loadBalancerSourceRanges: ['10.0.0.0/8', 'office'] }),
    ).toThrow(/gateway\.loadBalancerSourceRanges\[1\] \("office"\) must be a CIDR block/);
  });
});

describe('ApisGateway with TLS', () => {
  // GIVEN an ACM certificate of the stack's region WHEN the gateway is synthesized with it
  const { service, template, gateway, stack } = synthesizedService({ sslCertificateArn: CERTIFICATE, domainName: 'api.example.com' });

  test('a TLS listener on 443 with the certificate and TLS 1.3/1.2, forwarding to the gateway\'s HTTP port; no plain HTTP', () => {
    expect(service.spec.ports).toEqual([{ name: 'https', port: 443, protocol: 'TCP', targetPort: 80 }]);
    expect(service.metadata.annotations).toMatchObject({
      [`${A}-ssl-cert`]: CERTIFICATE,
      [`${A}-ssl-ports`]: '443',
      [`${A}-ssl-negotiation-policy`]: 'ELBSecurityPolicy-TLS13-1-2-2021-06',
      [`${A}-type`]: 'nlb',
    });
    expect(gateway.tls).toBe(true);
    expect(gateway.plainHttp).toBe(false);
  });

  test('the in-cluster Service keeps plain HTTP on port 80 (CORTEX_GATEWAY_URL of chained APIs)', () => {
    expect(helmValues(template, 'apis-gateway').service.ports).toEqual([{ name: 'http2', port: 80, protocol: 'TCP', targetPort: 80 }]);
    expect(gateway.url).toBe(DEFAULT_GATEWAY_URL);
  });

  test('the endpoint URL is https:// and the domain name; the load balancer hostname is an output for the DNS record', () => {
    expect(gateway.endpointUrl).toBe('https://api.example.com');
    expect(service.metadata.annotations['cortex.dev/domain-name']).toBe('api.example.com');
    const [value] = resources(template, 'Custom::AWSCDK-EKS-KubernetesObjectValue');
    const outputs = template.findOutputs('*');
    const hostnameOutput = Object.entries(outputs).find(([id]) => id.includes('LoadBalancerHostname'));
    expect(hostnameOutput?.[1].Value).toEqual({ 'Fn::GetAtt': [value.logicalId, 'Value'] });
    expect(hostnameOutput?.[1].Description).toMatch(/api\.example\.com/);
    expect(stack.resolve(gateway.loadBalancerHostname)).toEqual({ 'Fn::GetAtt': [value.logicalId, 'Value'] });
  });

  test('without a domain name, https:// and the load balancer hostname; no extra output', () => {
    const { gateway: bare, template: t, stack: s } = synthesizedService({ sslCertificateArn: CERTIFICATE });
    const [value] = resources(t, 'Custom::AWSCDK-EKS-KubernetesObjectValue');
    expect(s.resolve(bare.endpointUrl)).toEqual({ 'Fn::Join': ['', ['https://', { 'Fn::GetAtt': [value.logicalId, 'Value'] }]] });
    expect(Object.keys(t.findOutputs('*'))).toEqual([]);
  });

  test('plain HTTP on 80 as well only when asked (plainHttp: true), and port 80 stays plain (ssl-ports: 443)', () => {
    const { service: both } = synthesizedService({ sslCertificateArn: CERTIFICATE, plainHttp: true });
    expect(both.spec.ports.map((p: { port: number }) => p.port)).toEqual([443, 80]);
    expect(both.metadata.annotations[`${A}-ssl-ports`]).toBe('443');
  });

  test('another TLS policy, an internal scheme and source ranges together', () => {
    const { service: other } = synthesizedService({
      sslCertificateArn: CERTIFICATE,
      sslPolicy: elbv2.SslPolicy.TLS13_13,
      internetFacing: false,
      loadBalancerSourceRanges: ['10.0.0.0/16'],
    });
    expect(other.metadata.annotations).toMatchObject({
      [`${A}-ssl-negotiation-policy`]: 'ELBSecurityPolicy-TLS13-1-3-2021-06',
      [`${A}-scheme`]: 'internal',
      [`${A}-internal`]: 'true',
    });
    expect(other.spec.loadBalancerSourceRanges).toEqual(['10.0.0.0/16']);
  });

  test("a certificate made in the same stack (a token) goes into the Service's annotation as a reference", () => {
    const s = new Stack(new App(), 'Test', { env: { account: '123456789012', region: 'eu-west-1' } });
    const certificate = new acm.Certificate(s, 'Certificate', { domainName: 'api.example.com' });
    new ApisGateway(s, 'Gateway', { cluster: importedCluster(s), sslCertificateArn: certificate.certificateArn });
    const [manifest] = manifests(Template.fromStack(s), 'apis-gateway-lb');
    const certificateId = Object.keys(Template.fromStack(s).findResources('AWS::CertificateManager::Certificate'))[0];
    expect(JSON.stringify(manifest.properties.Manifest)).toContain(`{"Ref":"${certificateId}"}`);
  });

  test('every load balancer Service is valid against the Kubernetes schema', () => {
    const variants = [
      loadBalancerService({ internetFacing: true, loadBalancerSourceRanges: [], sslPolicy: 'x', plainHttp: true }),
      service,
      loadBalancerService({
        internetFacing: false,
        loadBalancerSourceRanges: ['10.0.0.0/8', '2001:db8::/32'],
        sslCertificateArn: CERTIFICATE,
        sslPolicy: elbv2.SslPolicy.RECOMMENDED_TLS,
        plainHttp: true,
        domainName: 'api.example.com',
      }),
    ];
    expect(validateObjects(variants)).toEqual([]);
  });
});

describe('ApisGateway refuses', () => {
  const build = (options: ApisGatewayOptions, region = 'eu-west-1') => () => {
    const stack = new Stack(new App(), 'Test', { env: { account: '123456789012', region } });
    new ApisGateway(stack, 'Gateway', { cluster: importedCluster(stack), ...options });
  };

  test('a certificate ARN that is not an ACM certificate', () => {
    expect(build({ sslCertificateArn: 'arn:aws:iam::123456789012:server-certificate/api' })).toThrow(
      /gateway\.sslCertificateArn \("arn:aws:iam::123456789012:server-certificate\/api"\) must be the ARN of an ACM certificate/,
    );
  });

  test("a certificate of another region than the stack's", () => {
    expect(build({ sslCertificateArn: CERTIFICATE }, 'us-east-1')).toThrow(
      /gateway\.sslCertificateArn .* is a certificate of eu-west-1, but the stack deploys to us-east-1/,
    );
  });

  test('a certificate of any region in an environment-agnostic stack (the region is only known at deploy)', () => {
    const stack = newStack();
    expect(() => new ApisGateway(stack, 'Gateway', { cluster: importedCluster(stack), sslCertificateArn: CERTIFICATE })).not.toThrow();
  });

  test('no listener at all: plainHttp false without a certificate', () => {
    expect(build({ plainHttp: false })).toThrow(/gateway\.plainHttp \(false\) leaves the load balancer without a listener/);
  });

  test('a TLS policy without a certificate', () => {
    expect(build({ sslPolicy: elbv2.SslPolicy.TLS13_13 })).toThrow(
      /gateway\.sslPolicy \("ELBSecurityPolicy-TLS13-1-3-2021-06"\) applies to the TLS listener/,
    );
  });

  test('a domain name with a scheme, or a single label', () => {
    expect(build({ sslCertificateArn: CERTIFICATE, domainName: 'https://api.example.com' })).toThrow(
      /gateway\.domainName \("https:\/\/api\.example\.com"\) must be a host name/,
    );
    expect(build({ domainName: 'localhost' })).toThrow(/gateway\.domainName \("localhost"\) must be a host name/);
  });

  test('checkListeners alone: TLS, plain HTTP or both pass', () => {
    expect(() => checkListeners({ tls: true, plainHttp: false })).not.toThrow();
    expect(() => checkListeners({ tls: true, plainHttp: true, sslPolicy: 'p' })).not.toThrow();
    expect(() => checkListeners({ tls: false, plainHttp: true })).not.toThrow();
  });
});
