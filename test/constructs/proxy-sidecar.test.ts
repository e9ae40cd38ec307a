import { API_KEYS_FILE, PROXY_CONTAINER_NAME, ProxySidecar, ProxySidecarProps } from '../../constructs/proxy-sidecar';
import { parseCommandLine } from '../../images/proxy/src/config';
import { CortexValidationError } from '../../lib/config/errors';

const PROPS: ProxySidecarProps = {
  image: 'example.com/proxy:1',
  userPort: 8080,
  maxConcurrency: 2,
  maxQueueLength: 50,
  preStopSleepSeconds: 15,
  requestTimeoutSeconds: 120.5,
  drainTimeoutSeconds: 40,
};

describe('ProxySidecar', () => {
  test('GIVEN concurrency and queue THEN the cortex-proxy flags', () => {
    expect(new ProxySidecar(PROPS).args).toEqual([
      '--port', '8888', '--admin-port', '15000', '--user-port', '8080', '--max-concurrency', '2', '--max-queue-length', '50',
      '--queue-timeout', '120500ms', '--upstream-timeout', '120500ms',
      '--request-head-timeout', '60000ms', '--body-idle-timeout', '60000ms', '--drain-timeout', '40000ms',
    ]);
  });

  test('the timeouts on silence: 60 s, or networking.timeout when shorter', () => {
    const args = new ProxySidecar({ ...PROPS, requestTimeoutSeconds: 7.5 }).args;
    expect(args[args.indexOf('--request-head-timeout') + 1]).toBe('7500ms');
    expect(args[args.indexOf('--body-idle-timeout') + 1]).toBe('7500ms');
    expect(args[args.indexOf('--upstream-timeout') + 1]).toBe('7500ms');
  });

  test('every flag the chart passes is one cortex-proxy accepts', () => {
    expect(parseCommandLine(new ProxySidecar({ ...PROPS, userAdminPort: 8081 }).args).help).toBe(false);
  });

  test('the container: name, ports, readiness on the admin port, resources, preStop sleep', () => {
    const c = new ProxySidecar({ ...PROPS, volumeMounts: [{ name: 'mnt', mountPath: '/mnt' }] })._toKube();
    expect(c).toMatchObject({
      name: PROXY_CONTAINER_NAME,
      image: 'example.com/proxy:1',
      ports: [
        { name: 'http', containerPort: 8888, protocol: 'TCP' },
        { name: 'admin', containerPort: 15000, protocol: 'TCP' },
      ],
      readinessProbe: { httpGet: { path: '/healthz', port: 15000 } },
      resources: { requests: { cpu: '100m', memory: '100Mi' }, limits: { memory: '512Mi' } },
      volumeMounts: [{ name: 'mnt', mountPath: '/mnt' }],
      lifecycle: { preStop: { sleep: { seconds: 15 } } },
    });
    expect(c).not.toHaveProperty('livenessProbe');
  });

  test('GIVEN the user server\'s admin port THEN --user-admin-port, last', () => {
    expect(new ProxySidecar({ ...PROPS, userAdminPort: 8081 }).args.slice(-2)).toEqual(['--user-admin-port', '8081']);
    expect(new ProxySidecar(PROPS).args).not.toContain('--user-admin-port');
    expect(() => new ProxySidecar({ ...PROPS, userAdminPort: 0 })).toThrow(/userAdminPort \(0\)/);
  });

  test('GIVEN API keys THEN --api-keys-file in the Secret mounted read-only, --api-name the realm, and the volume', () => {
    // GIVEN
    const proxy = new ProxySidecar({ ...PROPS, apiKeys: { apiName: 'iris', secret: 'iris-api-keys' } });
    // THEN
    expect(proxy.args.slice(-4)).toEqual(['--api-keys-file', '/etc/cortex/api-keys/sha256', '--api-name', 'iris']);
    expect(API_KEYS_FILE).toBe('/etc/cortex/api-keys/sha256');
    expect(parseCommandLine(proxy.args)).toMatchObject({ config: { apiKeysFile: API_KEYS_FILE, apiName: 'iris' } });
    expect(proxy._toKube().volumeMounts).toEqual([{ name: 'api-keys', mountPath: '/etc/cortex/api-keys', readOnly: true }]);
    expect(proxy.volumes).toEqual([
      { name: 'api-keys', secret: { secretName: 'iris-api-keys', items: [{ key: 'sha256', path: 'sha256' }] } },
    ]);
  });

  test('GIVEN no API keys THEN no keys flag, mount or volume', () => {
    const proxy = new ProxySidecar(PROPS);
    expect(proxy.args).not.toContain('--api-keys-file');
    expect(proxy._toKube().volumeMounts).toBeUndefined();
    expect(proxy.volumes).toEqual([]);
  });

  test('bad parameters throw at construction', () => {
    expect(() => new ProxySidecar({ ...PROPS, apiKeys: { apiName: 'iris', secret: 'Bad_Name' } })).toThrow(/apiKeys\.secret \("Bad_Name"\) must be a DNS-1123 subdomain/);
    expect(() => new ProxySidecar({ ...PROPS, image: '' })).toThrow(CortexValidationError);
    expect(() => new ProxySidecar({ ...PROPS, maxConcurrency: 0 })).toThrow(/pod\.maxConcurrency \(0\)/);
    expect(() => new ProxySidecar({ ...PROPS, maxQueueLength: -1 })).toThrow(/pod\.maxQueueLength \(-1\)/);
    expect(() => new ProxySidecar({ ...PROPS, userPort: 70000 })).toThrow(/pod\.port \(70000\)/);
  });
});
