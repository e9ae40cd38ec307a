import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { IN_FLIGHT_TRIGGER_NAME, scaledObjectSpec } from '../../constructs/autoscaling';
import { toJson_ScaledObjectSpec } from '../../constructs/imports/keda.sh';
import { API_NAME_METRIC_LABEL, IN_FLIGHT_METRIC, NAMESPACE_METRIC_LABEL } from '../../constructs/names';
import { realtimeApi } from './fixtures';

/**
 * The ScaledObject's in-flight query evaluated by Prometheus itself (`promtool test rules`, from Debian's
 * `prometheus` package, which scripts/test-prerequisites.js installs) on series that reproduce a pod
 * replacement, scraped every 10 s as the platform's Prometheus does:
 * - pod a: 10 requests in flight throughout;
 * - pod b: 11 in flight until t = 120 s, then gone (Prometheus writes a stale marker at its next scrape, 130 s);
 * - pod c, b's replacement: 11 in flight from t = 130 s.
 * The API has 21 requests in flight at every moment.
 */

const API = 'iris';
const NAMESPACE = 'cortex';
const WINDOW_SECONDS = 60;
const NEW_RULE = 'test:in_flight:chart';
const OLD_RULE = 'test:in_flight:avg_then_sum';

/** The query the chart renders into the ScaledObject's in-flight trigger. */
function renderedQuery(windowSeconds: number): string {
  const spec = toJson_ScaledObjectSpec(
    scaledObjectSpec({
      apiName: API,
      namespace: NAMESPACE,
      deploymentName: API,
      prometheusUrl: 'http://prom',
      autoscaling: realtimeApi({ autoscaling: { windowSeconds } }).autoscaling,
    }),
  )!;
  const trigger = spec.triggers.find((t: { name?: string }) => t.name === IN_FLIGHT_TRIGGER_NAME);
  return trigger.metadata.query;
}

/** The form the chart used before: each pod's gauge averaged over the window, then summed. */
function avgThenSumQuery(windowSeconds: number): string {
  const selector = `${NAMESPACE_METRIC_LABEL}="${NAMESPACE}",${API_NAME_METRIC_LABEL}="${API}"`;
  return `sum(avg_over_time(${IN_FLIGHT_METRIC}{${selector}}[${windowSeconds}s]))`;
}

function series(pod: string): string {
  return `${IN_FLIGHT_METRIC}{${NAMESPACE_METRIC_LABEL}="${NAMESPACE}",${API_NAME_METRIC_LABEL}="${API}",pod="${pod}"}`;
}

interface Expectation {
  readonly rule: string;
  readonly evalTime: string;
  readonly value: number;
}

/** Runs `promtool test rules` on the two rules, the given input series and expectations; returns its exit status and output. */
function promtoolTest(inputSeries: { series: string; values: string }[], expectations: Expectation[]) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cortex-promtool-'));
  try {
    // JSON is YAML: no quoting rules to get wrong.
    const rules = {
      groups: [
        {
          name: 'autoscaling',
          interval: '5s',
          rules: [
            { record: NEW_RULE, expr: renderedQuery(WINDOW_SECONDS) },
            { record: OLD_RULE, expr: avgThenSumQuery(WINDOW_SECONDS) },
          ],
        },
      ],
    };
    const tests = {
      rule_files: ['rules.yml'],
      evaluation_interval: '5s',
      tests: [
        {
          interval: '10s',
          input_series: inputSeries,
          promql_expr_test: expectations.map(({ rule, evalTime, value }) => ({
            expr: rule,
            eval_time: evalTime,
            exp_samples: [{ labels: rule, value }],
          })),
        },
      ],
    };
    fs.writeFileSync(path.join(dir, 'rules.yml'), JSON.stringify(rules, undefined, 2));
    fs.writeFileSync(path.join(dir, 'tests.yml'), JSON.stringify(tests, undefined, 2));
    const result = spawnSync('promtool', ['test', 'rules', 'tests.yml'], { cwd: dir, encoding: 'utf8', timeout: 30_000 });
    if (result.error) {
      throw new Error(`promtool did not run (${result.error.message}): install Debian's prometheus package (node scripts/test-prerequisites.js)`);
    }
    return { status: result.status, output: `${result.stdout}${result.stderr}` };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const REPLACEMENT = [
  { series: series('a'), values: '10x30' }, // 0 s … 300 s
  { series: series('b'), values: '11x12 stale' }, // 0 s … 120 s, stale at 130 s
  { series: series('c'), values: '_x13 11x17' }, // absent until 120 s, 130 s … 300 s
];

describe('the in-flight query under promtool', () => {
  test('GIVEN the chart\'s query THEN it is the subquery form (sum at each 10 s step, averaged over the window)', () => {
    expect(renderedQuery(WINDOW_SECONDS)).toMatch(/^avg_over_time\(sum\(cortex_in_flight_requests\{.*\}\)\[60s:10s\]\)$/);
  });

  test('GIVEN a pod replacement WHEN evaluated while the old pod\'s samples are in the window THEN the chart\'s query reads the 21 in flight, the avg-then-sum form 32', () => {
    // At 155 s the window [95 s, 155 s] holds b's samples at 100–120 s (11) and c's at 130–150 s (11):
    // the avg-then-sum form adds a (10) + b (11) + c (11) = 32; the subquery sums a + b, then a + c, at each step: 21.
    const { status, output } = promtoolTest(REPLACEMENT, [
      { rule: NEW_RULE, evalTime: '155s', value: 21 },
      { rule: OLD_RULE, evalTime: '155s', value: 32 },
      // One window after b's last sample both read 21 again.
      { rule: NEW_RULE, evalTime: '195s', value: 21 },
      { rule: OLD_RULE, evalTime: '195s', value: 21 },
    ]);
    expect(output).toContain('SUCCESS');
    expect(status).toBe(0);
  });

  test('GIVEN a pod replacement WHEN the chart\'s query is expected to over-count THEN promtool fails the case', () => {
    // Guards the test itself: promtool does check the value, so the 21 above is a real reading.
    const { status, output } = promtoolTest(REPLACEMENT, [{ rule: NEW_RULE, evalTime: '155s', value: 32 }]);
    expect(status).not.toBe(0);
    expect(output).toMatch(/got: \{__name__="test:in_flight:chart"\} 2\.1E\+01/);
  });

  test('GIVEN a step from 21 to 27 in flight without a replacement THEN both forms average the window alike', () => {
    // a goes from 10 to 16 after 60 s. At 95 s the steps 40–60 s read 21 and 70–90 s read 27: the mean is 24.
    const { status, output } = promtoolTest(
      [
        { series: series('a'), values: '10x6 16x12' },
        { series: series('b'), values: '11x18' },
      ],
      [
        { rule: NEW_RULE, evalTime: '95s', value: 24 },
        { rule: OLD_RULE, evalTime: '95s', value: 24 },
      ],
    );
    expect(output).toContain('SUCCESS');
    expect(status).toBe(0);
  });
});
