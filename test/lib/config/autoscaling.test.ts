import { containerApi, containerApiProblems, merged, predictorApi, predictorApiProblems, problemsOf, realtimeSpecOf } from './config-fixtures';

const A = '<props>: iris.autoscaling';

describe('autoscaling (container form)', () => {
  test('GIVEN no autoscaling WHEN read THEN every default applies, and the target is max_concurrency', () => {
    expect(realtimeSpecOf(containerApi()).autoscaling).toEqual({
      minReplicas: 1,
      maxReplicas: 100,
      initReplicas: 1,
      targetInFlight: 1,
      windowSeconds: 60,
      downscaleStabilizationPeriodSeconds: 300,
      upscaleStabilizationPeriodSeconds: 60,
      maxDownscaleFactor: 0.75,
      maxUpscaleFactor: 1.5,
      downscaleTolerance: 0.05,
      upscaleTolerance: 0.05,
    });
  });

  test('GIVEN max_concurrency 8 WHEN the target is left out THEN it is 8', () => {
    expect(realtimeSpecOf(merged(containerApi(), { pod: { max_concurrency: 8 } })).autoscaling.targetInFlight).toBe(8);
  });

  test('GIVEN min_replicas WHEN init_replicas is left out THEN it starts at min_replicas', () => {
    expect(realtimeSpecOf(merged(containerApi(), { autoscaling: { min_replicas: 3 } })).autoscaling.initReplicas).toBe(3);
  });

  test('GIVEN scale to zero WHEN read THEN min and init are 0', () => {
    const yaml = `- name: hello-world
  kind: RealtimeAPI
  pod:
    max_queue_length: 999
    containers:
    - name: api
      image: example/hello:1
  autoscaling:
    min_replicas: 0
    max_replicas: 1
    downscale_stabilization_period: 30s
`;
    expect(problemsOf(yaml)).toEqual([]);
    expect(realtimeSpecOf(merged(containerApi(), { autoscaling: { min_replicas: 0, max_replicas: 1, downscale_stabilization_period: '30s' } })).autoscaling).toMatchObject({
      minReplicas: 0,
      maxReplicas: 1,
      initReplicas: 0,
      downscaleStabilizationPeriodSeconds: 30,
    });
  });

  test('GIVEN every field WHEN read THEN durations are in seconds', () => {
    const autoscaling = {
      min_replicas: 2,
      max_replicas: 10,
      init_replicas: 4,
      target_in_flight: 2.5,
      window: '1m30s',
      downscale_stabilization_period: '10m',
      upscale_stabilization_period: '0s',
      max_downscale_factor: 0.5,
      max_upscale_factor: 3,
      downscale_tolerance: 0.1,
      upscale_tolerance: 0,
    };
    expect(realtimeSpecOf(merged(containerApi(), { pod: { max_concurrency: 4 }, autoscaling })).autoscaling).toEqual({
      minReplicas: 2,
      maxReplicas: 10,
      initReplicas: 4,
      targetInFlight: 2.5,
      windowSeconds: 90,
      downscaleStabilizationPeriodSeconds: 600,
      upscaleStabilizationPeriodSeconds: 0,
      maxDownscaleFactor: 0.5,
      maxUpscaleFactor: 3,
      downscaleTolerance: 0.1,
      upscaleTolerance: 0,
    });
  });

  test.each<[string, Record<string, unknown>, string[]]>([
    ['min_replicas 0', { min_replicas: 0 }, []],
    ['min_replicas -1', { min_replicas: -1 }, [`${A}.min_replicas: must be an integer >= 0, got -1`]],
    ['max_replicas 1', { max_replicas: 1 }, []],
    ['max_replicas 0', { max_replicas: 0, min_replicas: 0 }, [`${A}.max_replicas: must be an integer >= 1, got 0`]],
    ['min equal to max', { min_replicas: 5, max_replicas: 5 }, []],
    ['min above max', { min_replicas: 5, max_replicas: 3 }, [`${A}.max_replicas: must be >= min_replicas (5), got 3`]],
    ['min above the default max', { min_replicas: 101 }, [`${A}.min_replicas: must be <= max_replicas (100), got 101`]],
    ['init at min', { min_replicas: 2, init_replicas: 2 }, []],
    ['init below min', { min_replicas: 2, init_replicas: 1 }, [`${A}.init_replicas: must be >= min_replicas (2), got 1`]],
    ['init at max', { max_replicas: 5, init_replicas: 5 }, []],
    ['init above max', { max_replicas: 5, init_replicas: 6 }, [`${A}.init_replicas: must be <= max_replicas (5), got 6`]],
    ['a fractional target', { target_in_flight: 0.5 }, []],
    ['a target of 0', { target_in_flight: 0 }, [`${A}.target_in_flight: must be a number > 0, got 0`]],
    ['a target at max_concurrency + max_queue_length', { target_in_flight: 101 }, []],
    [
      'a target just above',
      { target_in_flight: 101.5 },
      [`${A}.target_in_flight: must be <= max_concurrency + max_queue_length (1 + 100 = 101), got 101.5`],
    ],
    ['window 10s', { window: '10s' }, []],
    ['window 0s', { window: '0s' }, [`${A}.window: must be at least 10s, got "0s"`]],
    ['window 9s', { window: '9s' }, [`${A}.window: must be at least 10s, got "9s"`]],
    ['window 15s', { window: '15s' }, [`${A}.window: must be a multiple of 10s, got "15s"`]],
    ['window 2m', { window: '2m' }, []],
    ['window 60 (no unit)', { window: 60 }, [`${A}.window: must be a duration with a unit, such as 30s, 5m or 1h30m, got 60`]],
    ['downscale_stabilization_period 0s', { downscale_stabilization_period: '0s' }, []],
    [
      'downscale_stabilization_period -1s',
      { downscale_stabilization_period: '-1s' },
      [`${A}.downscale_stabilization_period: must be at least 0s, got "-1s"`],
    ],
    ['upscale_stabilization_period -1s', { upscale_stabilization_period: '-1s' }, [`${A}.upscale_stabilization_period: must be at least 0s, got "-1s"`]],
    ['downscale_stabilization_period 1h (the HPA maximum)', { downscale_stabilization_period: '1h' }, []],
    [
      'downscale_stabilization_period 1h1s',
      { downscale_stabilization_period: '1h1s' },
      [`${A}.downscale_stabilization_period: must be at most 1h, got "1h1s"`],
    ],
    ['upscale_stabilization_period 61m', { upscale_stabilization_period: '61m' }, [`${A}.upscale_stabilization_period: must be at most 1h, got "61m"`]],
    ['max_downscale_factor 0', { max_downscale_factor: 0 }, []],
    ['max_downscale_factor 0.99', { max_downscale_factor: 0.99 }, []],
    ['max_downscale_factor 1', { max_downscale_factor: 1 }, [`${A}.max_downscale_factor: must be a number >= 0 and < 1, got 1`]],
    ['max_downscale_factor -0.1', { max_downscale_factor: -0.1 }, [`${A}.max_downscale_factor: must be a number >= 0 and < 1, got -0.1`]],
    ['max_upscale_factor 1.01', { max_upscale_factor: 1.01 }, []],
    ['max_upscale_factor 1', { max_upscale_factor: 1 }, [`${A}.max_upscale_factor: must be a number > 1, got 1`]],
    ['downscale_tolerance 0', { downscale_tolerance: 0 }, []],
    ['downscale_tolerance 1', { downscale_tolerance: 1 }, [`${A}.downscale_tolerance: must be a number >= 0 and < 1, got 1`]],
    ['upscale_tolerance 0.99', { upscale_tolerance: 0.99 }, []],
    ['upscale_tolerance -0.01', { upscale_tolerance: -0.01 }, [`${A}.upscale_tolerance: must be a number >= 0 and < 1, got -0.01`]],
    [
      "the predictor form's max_replica_concurrency",
      { max_replica_concurrency: 16 },
      [
        `${A}.max_replica_concurrency: unknown field "max_replica_concurrency"; max_replica_concurrency is from the predictor form (Cortex v0.30); in the container form use pod.max_concurrency and pod.max_queue_length`,
      ],
    ],
    [
      "the predictor form's target_replica_concurrency",
      { target_replica_concurrency: 16 },
      [
        `${A}.target_replica_concurrency: unknown field "target_replica_concurrency"; target_replica_concurrency is from the predictor form (Cortex v0.30); in the container form use target_in_flight`,
      ],
    ],
  ])('GIVEN %s WHEN validated THEN %p', (_, autoscaling, expected) => {
    expect(containerApiProblems({ autoscaling })).toEqual(expected);
  });

  test('GIVEN a larger queue WHEN the target is at the new limit THEN it passes', () => {
    expect(containerApiProblems({ pod: { max_concurrency: 2, max_queue_length: 3 }, autoscaling: { target_in_flight: 5 } })).toEqual([]);
    expect(containerApiProblems({ pod: { max_concurrency: 2, max_queue_length: 3 }, autoscaling: { target_in_flight: 6 } })).toEqual([
      `${A}.target_in_flight: must be <= max_concurrency + max_queue_length (2 + 3 = 5), got 6`,
    ]);
  });

  test('GIVEN an invalid max_concurrency WHEN the target is checked THEN no follow-up error is added', () => {
    expect(containerApiProblems({ pod: { max_concurrency: 0 }, autoscaling: { target_in_flight: 500 } })).toEqual([
      '<props>: iris.pod.max_concurrency: must be an integer from 1 to 30000, got 0',
    ]);
  });
});

describe('autoscaling (predictor form)', () => {
  const threads = (processes: number, threadsPerProcess: number) => ({
    predictor: { processes_per_replica: processes, threads_per_process: threadsPerProcess },
  });

  test('GIVEN no autoscaling WHEN read THEN max_replica_concurrency 1024 leaves 1023 places in the queue', () => {
    const spec = realtimeSpecOf(predictorApi());
    expect(spec.pod).toMatchObject({ maxConcurrency: 1, maxQueueLength: 1023 });
    expect(spec.autoscaling.targetInFlight).toBe(1);
  });

  test('GIVEN processes and threads WHEN read THEN their product is the pod concurrency and the default target', () => {
    const spec = realtimeSpecOf(merged(predictorApi(), { ...threads(4, 256), autoscaling: { max_replica_concurrency: 16384 } }));
    expect(spec.pod).toMatchObject({ maxConcurrency: 1024, maxQueueLength: 15360 });
    expect(spec.autoscaling.targetInFlight).toBe(1024);
  });

  test('GIVEN target_replica_concurrency or target_in_flight WHEN read THEN either sets the target', () => {
    expect(realtimeSpecOf(merged(predictorApi(), { autoscaling: { target_replica_concurrency: 2.5 } })).autoscaling.targetInFlight).toBe(2.5);
    expect(realtimeSpecOf(merged(predictorApi(), { autoscaling: { target_in_flight: 3 } })).autoscaling.targetInFlight).toBe(3);
  });

  test('GIVEN max_replica_concurrency equal to the concurrency WHEN read THEN no queue: the replica holds exactly that many', () => {
    expect(realtimeSpecOf(merged(predictorApi(), { ...threads(2, 8), autoscaling: { max_replica_concurrency: 16 } })).pod).toMatchObject({
      maxConcurrency: 16,
      maxQueueLength: 0,
    });
  });

  test.each<[string, Record<string, unknown>, string[]]>([
    ['max_replica_concurrency 1', { autoscaling: { max_replica_concurrency: 1 } }, []],
    ['max_replica_concurrency 0', { autoscaling: { max_replica_concurrency: 0 } }, [`${A}.max_replica_concurrency: must be an integer from 1 to 30000, got 0`]],
    ['max_replica_concurrency 30000', { autoscaling: { max_replica_concurrency: 30000 } }, []],
    ['max_replica_concurrency 30001', { autoscaling: { max_replica_concurrency: 30001 } }, [`${A}.max_replica_concurrency: must be an integer from 1 to 30000, got 30001`]],
    [
      'max_replica_concurrency below processes × threads',
      { ...threads(2, 8), autoscaling: { max_replica_concurrency: 15 } },
      [`${A}.max_replica_concurrency: must be >= processes_per_replica × threads_per_process (2 × 8 = 16), got 15`],
    ],
    [
      'processes × threads above the default max_replica_concurrency',
      threads(4, 300),
      [
        '<props>: iris.predictor.threads_per_process: processes_per_replica × threads_per_process (4 × 300 = 1200) must be <= autoscaling.max_replica_concurrency (default 1024); set autoscaling.max_replica_concurrency to at least 1200',
      ],
    ],
    ['processes × threads at the default max_replica_concurrency', threads(4, 256), []],
    ['target_replica_concurrency at max_replica_concurrency', { autoscaling: { max_replica_concurrency: 10, target_replica_concurrency: 10 } }, []],
    [
      'target_replica_concurrency above max_replica_concurrency',
      { autoscaling: { max_replica_concurrency: 10, target_replica_concurrency: 10.5 } },
      [`${A}.target_replica_concurrency: must be <= max_replica_concurrency (10), got 10.5`],
    ],
    ['target_replica_concurrency 0', { autoscaling: { target_replica_concurrency: 0 } }, [`${A}.target_replica_concurrency: must be a number > 0, got 0`]],
    [
      'both target names',
      { autoscaling: { target_replica_concurrency: 1, target_in_flight: 1 } },
      [`${A}.target_replica_concurrency: cannot be set together with target_in_flight (its newer name); keep one`],
    ],
    ['the common fields', { autoscaling: { min_replicas: 2, max_replicas: 2, window: '20s' } }, []],
    ['a common rule', { autoscaling: { window: '5s' } }, [`${A}.window: must be at least 10s, got "5s"`]],
  ])('GIVEN %s WHEN validated THEN %p', (_, overrides, expected) => {
    expect(predictorApiProblems(overrides)).toEqual(expected);
  });
});
