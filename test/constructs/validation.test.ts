import {
  checkApiName,
  checkDns1123Label,
  checkDns1123Subdomain,
  checkHttpUrl,
  checkImage,
  checkIntegerInRange,
  checkName,
  isUnresolvedToken,
} from '../../constructs/validation';
import { CortexValidationError } from '../../lib/config/errors';

describe('validation', () => {
  test.each(['cortex', 'ml-apis', 'a', '0abc', 'a'.repeat(63)])('GIVEN namespace %p THEN accepted', (ns) => {
    expect(() => checkDns1123Label('namespace', ns)).not.toThrow();
  });

  test.each(['', 'Cortex', 'ml_apis', '-ml', 'ml-', 'a'.repeat(64), 'ml.apis'])('GIVEN namespace %p THEN refused', (ns) => {
    expect(() => checkDns1123Label('namespace', ns)).toThrow(CortexValidationError);
    expect(() => checkDns1123Label('namespace', ns)).toThrow(/^namespace \(".*"\) must be a DNS-1123 label/);
  });

  test('an API name must start with a letter and leave room for "-predictor"', () => {
    expect(() => checkApiName('api.name', 'iris-classifier')).not.toThrow();
    expect(() => checkApiName('api.name', '9iris')).toThrow(/DNS-1035/);
    expect(() => checkApiName('api.name', 'a'.repeat(54))).toThrow(/at most 53 characters/);
    expect(() => checkApiName('api.name', 'a'.repeat(53))).not.toThrow();
  });

  test('an image must be non-empty without whitespace; a CDK token passes', () => {
    expect(() => checkImage('proxyImage', 'quay.io/x/proxy@sha256:abc')).not.toThrow();
    expect(() => checkImage('proxyImage', '${Token[TOKEN.42]}')).not.toThrow();
    expect(() => checkImage('proxyImage', '')).toThrow(/proxyImage \(""\)/);
    expect(() => checkImage('proxyImage', 'proxy :1')).toThrow(/without whitespace/);
  });

  test('a name must be non-empty without whitespace', () => {
    expect(() => checkName('neuronSchedulerName', 'my-scheduler')).not.toThrow();
    expect(() => checkName('neuronSchedulerName', ' ')).toThrow(/neuronSchedulerName/);
  });

  test('a URL must be absolute http(s)', () => {
    expect(() => checkHttpUrl('prometheusUrl', 'http://prometheus-server.prometheus.svc.cluster.local')).not.toThrow();
    expect(() => checkHttpUrl('prometheusUrl', 'https://prom:9090/api')).not.toThrow();
    expect(() => checkHttpUrl('prometheusUrl', 'prometheus-server')).toThrow(/prometheusUrl \("prometheus-server"\)/);
    expect(() => checkHttpUrl('prometheusUrl', 'grpc://prom')).toThrow(/http/);
  });

  test('an integer range names the prop, the value and the bounds', () => {
    expect(() => checkIntegerInRange('pod.port', 8080, 1, 65535)).not.toThrow();
    expect(() => checkIntegerInRange('pod.port', 0, 1, 65535)).toThrow('pod.port (0) must be an integer from 1 to 65535');
    expect(() => checkIntegerInRange('pod.port', 1.5, 1, 65535)).toThrow(/pod\.port \(1\.5\)/);
  });

  test('a service account name may have dots, not capitals or spaces', () => {
    expect(() => checkDns1123Subdomain('serviceAccountName', 'models.reader')).not.toThrow();
    expect(() => checkDns1123Subdomain('serviceAccountName', 'Models')).toThrow(/DNS-1123 subdomain/);
    expect(() => checkDns1123Subdomain('serviceAccountName', 'a..b')).toThrow(/DNS-1123 subdomain/);
  });

  test('unresolved CDK tokens are recognized and skipped by every string check', () => {
    const token = '${Token[TOKEN.7]}';
    expect(isUnresolvedToken(token)).toBe(true);
    expect(isUnresolvedToken('quay.io/x:1')).toBe(false);
    expect(() => checkHttpUrl('gatewayUrl', token)).not.toThrow();
    expect(() => checkDns1123Label('namespace', token)).not.toThrow();
  });
});
