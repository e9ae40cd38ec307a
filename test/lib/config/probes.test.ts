import { apiWithContainer, objectProblems, problemsOf, realtimeSpecOf } from './config-fixtures';

const C = '<props>: iris.pod.containers[0]';

function containerOf(overrides: Record<string, unknown>) {
  return realtimeSpecOf(apiWithContainer(overrides)).pod.containers[0];
}

describe('readiness_probe, liveness_probe and startup_probe', () => {
  test('GIVEN an http_get probe with only a port WHEN read THEN path is "/" and every timing has its default', () => {
    expect(containerOf({ readiness_probe: { http_get: { port: 8080 } } }).readinessProbe).toEqual({
      handler: { type: 'http_get', port: 8080, path: '/' },
      initialDelaySeconds: 0,
      timeoutSeconds: 1,
      periodSeconds: 10,
      successThreshold: 1,
      failureThreshold: 3,
    });
  });

  test('GIVEN tcp_socket and exec probes with timings WHEN read THEN they are kept', () => {
    const container = containerOf({
      readiness_probe: { tcp_socket: { port: 9000 }, initial_delay_seconds: 5, success_threshold: 2 },
      liveness_probe: {
        exec: { command: ['tfs_model_status_probe', '-addr', 'localhost:8500'] },
        timeout_seconds: 3,
        period_seconds: 1,
        failure_threshold: 1,
      },
    });
    expect(container.readinessProbe).toMatchObject({ handler: { type: 'tcp_socket', port: 9000 }, initialDelaySeconds: 5, successThreshold: 2 });
    expect(container.livenessProbe).toEqual({
      handler: { type: 'exec', command: ['tfs_model_status_probe', '-addr', 'localhost:8500'] },
      initialDelaySeconds: 0,
      timeoutSeconds: 3,
      periodSeconds: 1,
      successThreshold: 1,
      failureThreshold: 1,
    });
  });

  test('GIVEN a startup probe WHEN read THEN it is kept beside the others, with its own timings', () => {
    const container = containerOf({
      readiness_probe: { http_get: { port: 8080, path: '/health' }, period_seconds: 5 },
      startup_probe: { http_get: { port: 8080, path: '/health' }, period_seconds: 10, failure_threshold: 90 },
    });
    expect(container.startupProbe).toEqual({
      handler: { type: 'http_get', port: 8080, path: '/health' },
      initialDelaySeconds: 0,
      timeoutSeconds: 1,
      periodSeconds: 10,
      successThreshold: 1,
      failureThreshold: 90,
    });
    expect(container.readinessProbe).toMatchObject({ periodSeconds: 5, failureThreshold: 3 });
  });

  test('GIVEN no probes WHEN read THEN the container has none', () => {
    const container = containerOf({});
    expect(container.readinessProbe).toBeUndefined();
    expect(container.livenessProbe).toBeUndefined();
    expect(container.startupProbe).toBeUndefined();
    expect(container.preStop).toBeUndefined();
  });

  const http = { http_get: { port: 8080 } };
  test.each<[string, Record<string, unknown>, string[]]>([
    ['initial_delay_seconds at 0', { readiness_probe: { ...http, initial_delay_seconds: 0 } }, []],
    [
      'initial_delay_seconds below 0',
      { readiness_probe: { ...http, initial_delay_seconds: -1 } },
      [`${C}.readiness_probe.initial_delay_seconds: must be an integer >= 0, got -1`],
    ],
    ['timeout_seconds at 1', { readiness_probe: { ...http, timeout_seconds: 1 } }, []],
    ['timeout_seconds at 0', { readiness_probe: { ...http, timeout_seconds: 0 } }, [`${C}.readiness_probe.timeout_seconds: must be an integer >= 1, got 0`]],
    ['period_seconds at 0', { readiness_probe: { ...http, period_seconds: 0 } }, [`${C}.readiness_probe.period_seconds: must be an integer >= 1, got 0`]],
    [
      'success_threshold at 0',
      { readiness_probe: { ...http, success_threshold: 0 } },
      [`${C}.readiness_probe.success_threshold: must be an integer >= 1, got 0`],
    ],
    [
      'failure_threshold at 0',
      { liveness_probe: { ...http, failure_threshold: 0 } },
      [`${C}.liveness_probe.failure_threshold: must be an integer >= 1, got 0`],
    ],
    ['a readiness success_threshold of 2', { readiness_probe: { ...http, success_threshold: 2 } }, []],
    [
      'a liveness success_threshold of 2',
      { liveness_probe: { ...http, success_threshold: 2 } },
      [`${C}.liveness_probe.success_threshold: must be 1 for a liveness probe (Kubernetes requires it), got 2`],
    ],
    [
      'a startup success_threshold of 2',
      { startup_probe: { ...http, success_threshold: 2 } },
      [`${C}.startup_probe.success_threshold: must be 1 for a startup probe (Kubernetes requires it), got 2`],
    ],
    [
      'a startup probe with no handler',
      { startup_probe: { failure_threshold: 60 } },
      [`${C}.startup_probe: must have exactly one of http_get, tcp_socket or exec, got none`],
    ],
    ['no handler', { readiness_probe: { period_seconds: 5 } }, [`${C}.readiness_probe: must have exactly one of http_get, tcp_socket or exec, got none`]],
    [
      'two handlers',
      { liveness_probe: { ...http, tcp_socket: { port: 1 } } },
      [`${C}.liveness_probe: must have exactly one of http_get, tcp_socket or exec, got http_get and tcp_socket`],
    ],
    ['an http_get port of 65535', { readiness_probe: { http_get: { port: 65535 } } }, []],
    [
      'an http_get port of 0',
      { readiness_probe: { http_get: { port: 0 } } },
      [`${C}.readiness_probe.http_get.port: must be an integer from 1 to 65535, got 0`],
    ],
    [
      'a tcp_socket port of 65536',
      { readiness_probe: { tcp_socket: { port: 65536 } } },
      [`${C}.readiness_probe.tcp_socket.port: must be an integer from 1 to 65535, got 65536`],
    ],
    ['an http_get with no port', { readiness_probe: { http_get: { path: '/' } } }, [`${C}.readiness_probe.http_get.port: required`]],
    [
      'a path without its leading slash',
      { readiness_probe: { http_get: { port: 1, path: 'healthz' } } },
      [`${C}.readiness_probe.http_get.path: must start with "/", got "healthz"`],
    ],
    [
      'an exec with an empty command',
      { readiness_probe: { exec: { command: [] } } },
      [`${C}.readiness_probe.exec.command: must list at least one item: the program to run, then its arguments`],
    ],
    ['an exec with a command string', { readiness_probe: { exec: { command: 'ls' } } }, [`${C}.readiness_probe.exec.command: must be a list, got "ls"`]],
    [
      'a misspelt timing',
      { readiness_probe: { ...http, period_second: 5 } },
      [`${C}.readiness_probe.period_second: unknown field "period_second"; did you mean "period_seconds"?`],
    ],
  ])('GIVEN %s WHEN validated THEN %p', (_, overrides, expected) => {
    expect(objectProblems([apiWithContainer(overrides)])).toEqual(expected);
  });
});

describe('pre_stop', () => {
  test('GIVEN an http_get or an exec hook WHEN read THEN it is the handler alone', () => {
    expect(containerOf({ pre_stop: { http_get: { port: 8080, path: '/drain' } } }).preStop).toEqual({
      type: 'http_get',
      port: 8080,
      path: '/drain',
    });
    expect(containerOf({ pre_stop: { exec: { command: ['sleep', '5'] } } }).preStop).toEqual({ type: 'exec', command: ['sleep', '5'] });
  });

  test.each<[string, unknown, string[]]>([
    [
      'a tcp_socket',
      { tcp_socket: { port: 1 } },
      [
        `${C}.pre_stop.tcp_socket: unknown field "tcp_socket"; pre_stop takes http_get or exec (a TCP connection cannot run a hook)`,
        `${C}.pre_stop: must have exactly one of http_get or exec, got none`,
      ],
    ],
    ['both', { http_get: { port: 1 }, exec: { command: ['a'] } }, [`${C}.pre_stop: must have exactly one of http_get or exec, got http_get and exec`]],
    ['timings, which a hook does not have', { exec: { command: ['a'] }, period_seconds: 1 }, [
      `${C}.pre_stop.period_seconds: unknown field "period_seconds"; allowed fields: http_get, exec`,
    ]],
  ])('GIVEN %s WHEN validated THEN %p', (_, preStop, expected) => {
    expect(objectProblems([apiWithContainer({ pre_stop: preStop })])).toEqual(expected);
  });

  test('GIVEN a probe problem in YAML WHEN validated THEN it points at the probe mapping', () => {
    const yaml = `- name: iris
  kind: RealtimeAPI
  pod:
    containers:
      - name: api
        image: a
        readiness_probe:
          timeout_seconds: 3
`;
    expect(problemsOf(yaml)).toEqual([
      'cortex.yaml:8:11: iris.pod.containers[0].readiness_probe: must have exactly one of http_get, tcp_socket or exec, got none',
    ]);
  });
});
