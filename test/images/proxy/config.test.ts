import { ConfigError, configWith, envName, parseCommandLine, ProxyConfig, USAGE } from '../../../images/proxy/src/config';

function config(argv: string[], env: NodeJS.ProcessEnv = {}): ProxyConfig {
  const command = parseCommandLine(argv, env);
  if (command.help) throw new Error('expected a config, got --help');
  return command.config;
}

describe('parseCommandLine', () => {
  test('GIVEN no flags THEN every default', () => {
    expect(config([])).toEqual({
      host: undefined,
      port: 8888,
      adminPort: 15000,
      userHost: '127.0.0.1',
      userPort: 8080,
      userAdminPort: 0,
      maxConcurrency: 1,
      maxQueueLength: 100,
      queueTimeoutMs: 600_000,
      upstreamTimeoutMs: 600_000,
      drainTimeoutMs: 600_000,
      maxBodyBytes: 128 * 1024 * 1024,
      keepAliveTimeoutMs: 3_660_000,
      requestHeadTimeoutMs: 60_000,
      bodyIdleTimeoutMs: 60_000,
      lingeringTimeMs: 30_000,
      forwardedAllowIps: ['127.0.0.1', '::1'],
      apiKeysFile: undefined,
      apiKeysIntervalMs: 2000,
      apiName: 'api',
    });
  });

  test("GIVEN the chart's flags THEN they are read", () => {
    const c = config(['--port', '8888', '--admin-port', '15000', '--user-port', '9000', '--max-concurrency', '4', '--max-queue-length', '0']);
    expect(c).toMatchObject({ port: 8888, adminPort: 15000, userPort: 9000, maxConcurrency: 4, maxQueueLength: 0 });
  });

  test('GIVEN --flag=value THEN it is read like --flag value', () => {
    expect(config(['--max-concurrency=3', '--host=127.0.0.1'])).toMatchObject({ maxConcurrency: 3, host: '127.0.0.1' });
  });

  test('GIVEN environment variables THEN they are read, and a flag wins over its variable', () => {
    const env = { CORTEX_PROXY_USER_PORT: '9001', CORTEX_PROXY_MAX_CONCURRENCY: '7', CORTEX_PROXY_QUEUE_TIMEOUT: '250ms' };
    expect(config([], env)).toMatchObject({ userPort: 9001, maxConcurrency: 7, queueTimeoutMs: 250 });
    expect(config(['--max-concurrency', '2'], env)).toMatchObject({ userPort: 9001, maxConcurrency: 2 });
    // An empty variable counts as unset.
    expect(config([], { CORTEX_PROXY_USER_PORT: '' })).toMatchObject({ userPort: 8080 });
  });

  test('durations: seconds by default, or ms, s, m', () => {
    expect(config(['--queue-timeout', '30']).queueTimeoutMs).toBe(30_000);
    expect(config(['--queue-timeout', '1.5s']).queueTimeoutMs).toBe(1500);
    expect(config(['--upstream-timeout', '250ms']).upstreamTimeoutMs).toBe(250);
    expect(config(['--drain-timeout', '2m']).drainTimeoutMs).toBe(120_000);
  });

  test('sizes: bytes, or k/M/G (powers of 1000) and Ki/Mi/Gi (powers of 1024)', () => {
    expect(config(['--max-body-size', '1000']).maxBodyBytes).toBe(1000);
    expect(config(['--max-body-size', '10M']).maxBodyBytes).toBe(10_000_000);
    expect(config(['--max-body-size', '10Mi']).maxBodyBytes).toBe(10 * 1024 * 1024);
    expect(config(['--max-body-size', '1Gi']).maxBodyBytes).toBe(1024 ** 3);
  });

  test('port 0 (any free port) is allowed for the proxy\'s own ports, not for the user\'s', () => {
    expect(config(['--port', '0', '--admin-port', '0'])).toMatchObject({ port: 0, adminPort: 0 });
    expect(() => config(['--user-port', '0'])).toThrow(/--user-port \("0"\) must be an integer from 1 to 65535/);
  });

  test.each([
    [['--max-concurrency', '0'], /--max-concurrency \("0"\) must be an integer from 1 to 30000/],
    [['--max-concurrency', '1.5'], /--max-concurrency \("1.5"\) must be an integer/],
    [['--max-queue-length=-1'], /--max-queue-length \("-1"\) must be an integer from 0/],
    [['--port', '70000'], /--port \("70000"\) must be an integer from 0 to 65535/],
    [['--queue-timeout', 'soon'], /--queue-timeout \("soon"\) must be a duration/],
    [['--queue-timeout', '0'], /--queue-timeout \("0"\) must be a duration of at least 1ms/],
    [['--max-body-size', '10XB'], /--max-body-size \("10XB"\) must be a positive number of bytes/],
    [['--user-host', ' '], /--user-host \(" "\) must be a host name or an IP address/],
    [['--user-host', 'http://127.0.0.1'], /--user-host \("http:\/\/127\.0\.0\.1"\) must be a host name or an IP address \(no scheme, port or brackets\)/],
    [['--user-host', '127.0.0.1:8080'], /--user-host \("127\.0\.0\.1:8080"\) must be a host name or an IP address/],
    [['--host', 'a b'], /--host \("a b"\) must be a host name or an IP address/],
    [['--host', '[::1]'], /--host \("\[::1\]"\) must be a host name or an IP address/],
    [['--host', '256.0.0.1'], /--host \("256\.0\.0\.1"\) must be a host name or an IP address/],
    [['--host', `${'a'.repeat(64)}.example`], /--host \("a{64}\.example"\) must be a host name or an IP address/],
    [['--port', '9000', '--admin-port', '9000'], /--port \(9000\) and --admin-port \(9000\) must differ/],
    [['--max-concurency', '2'], /Unknown option '--max-concurency'/],
    [['--max-concurrency'], /--max-concurrency/],
    [['extra'], /positional argument/],
  ])('GIVEN %j THEN a ConfigError naming the flag, the value and what is allowed', (argv, message) => {
    expect(() => config(argv)).toThrow(ConfigError);
    expect(() => config(argv)).toThrow(message);
  });

  test.each([['localhost'], ['127.0.0.1'], ['::1'], ['0.0.0.0'], ['api.cortex.svc.cluster.local'], ['my-host.'], ['fe80::1'], ['my_api']])(
    'GIVEN the host %j THEN it is read',
    (host) => {
      expect(config(['--host', host, '--user-host', host])).toMatchObject({ host, userHost: host });
    },
  );

  test('GIVEN a bad environment variable THEN the error names the variable', () => {
    expect(() => config([], { CORTEX_PROXY_MAX_QUEUE_LENGTH: 'lots' })).toThrow(
      /CORTEX_PROXY_MAX_QUEUE_LENGTH \("lots"\) must be an integer from 0 to 30000/,
    );
  });

  test('the timeouts on silence and the lingering time are durations', () => {
    expect(config(['--request-head-timeout', '5s', '--body-idle-timeout', '250ms', '--lingering-time', '1m'])).toMatchObject({
      requestHeadTimeoutMs: 5000,
      bodyIdleTimeoutMs: 250,
      lingeringTimeMs: 60_000,
    });
    expect(() => config(['--body-idle-timeout', '0'])).toThrow(/--body-idle-timeout \("0"\) must be a duration of at least 1ms/);
  });

  test('--forwarded-allow-ips: IP addresses and CIDR ranges, * for any, none for no one', () => {
    expect(config(['--forwarded-allow-ips', '10.0.0.0/8, 192.168.1.7,fd00::/8,::1']).forwardedAllowIps).toEqual(['10.0.0.0/8', '192.168.1.7', 'fd00::/8', '::1']);
    expect(config(['--forwarded-allow-ips', '*']).forwardedAllowIps).toEqual(['*']);
    expect(config(['--forwarded-allow-ips', 'none']).forwardedAllowIps).toEqual([]);
    expect(config([], { CORTEX_PROXY_FORWARDED_ALLOW_IPS: '172.16.0.0/12' }).forwardedAllowIps).toEqual(['172.16.0.0/12']);
    for (const bad of ['gateway', '10.0.0.0/33', '::/129', '10.0.0.0/', '1.2.3.4,,5.6.7.8', '10.0.0.0/8/1', 'none,10.0.0.1']) {
      expect(() => config(['--forwarded-allow-ips', bad])).toThrow(/--forwarded-allow-ips .* must be a comma-separated list of IP addresses or CIDR ranges/);
    }
  });

  test('GIVEN --help or -h THEN help, whatever else is given', () => {
    expect(parseCommandLine(['--help'])).toEqual({ help: true });
    expect(parseCommandLine(['-h', '--port', '1'])).toEqual({ help: true });
  });
});

describe('USAGE', () => {
  test('lists every flag with its environment variable', () => {
    for (const flag of [
      'port', 'admin-port', 'host', 'user-port', 'user-host', 'max-concurrency', 'max-queue-length', 'queue-timeout', 'upstream-timeout',
      'drain-timeout', 'max-body-size', 'keep-alive-timeout', 'request-head-timeout', 'body-idle-timeout', 'lingering-time', 'forwarded-allow-ips',
    ]) {
      expect(USAGE).toContain(`--${flag}`);
      expect(USAGE).toContain(envName(flag));
    }
    expect(envName('max-concurrency')).toBe('CORTEX_PROXY_MAX_CONCURRENCY');
  });
});

describe('configWith', () => {
  test('the defaults with overrides', () => {
    expect(configWith({ maxConcurrency: 9 })).toMatchObject({ maxConcurrency: 9, port: 8888 });
  });
});
