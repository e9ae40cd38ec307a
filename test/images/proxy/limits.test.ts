import * as fs from 'fs';
import * as path from 'path';
import { ProxySidecar, ProxySidecarProps } from '../../../constructs/proxy-sidecar';
import { envName, parseCommandLine, USAGE } from '../../../images/proxy/src/config';
import { containerApi, merged, objectProblems, realtimeSpecOf } from '../../lib/config/config-fixtures';

/**
 * A pod's concurrency and queue limits are checked three times — by the cortex.yaml's validation, by the chart
 * (an API spec built in code skips the first) and by the proxy's flags — and the three must accept the same
 * values: a value only the config accepts fails the synth of a valid file, one only the chart accepts starts a
 * proxy that exits at once.
 */
const SIDECAR: ProxySidecarProps = {
  image: 'example.com/proxy:1',
  userPort: 8080,
  maxConcurrency: 1,
  maxQueueLength: 100,
  preStopSleepSeconds: 15,
  requestTimeoutSeconds: 600,
  drainTimeoutSeconds: 620,
};

interface Limit {
  readonly field: 'max_concurrency' | 'max_queue_length';
  readonly prop: 'maxConcurrency' | 'maxQueueLength';
  readonly flag: string;
  readonly min: number;
  readonly max: number;
}

const LIMITS: readonly Limit[] = [
  { field: 'max_concurrency', prop: 'maxConcurrency', flag: '--max-concurrency', min: 1, max: 30000 },
  { field: 'max_queue_length', prop: 'maxQueueLength', flag: '--max-queue-length', min: 0, max: 30000 },
];

function configAccepts(limit: Limit, value: number): boolean {
  return objectProblems([merged(containerApi(), { pod: { [limit.field]: value } })]).length === 0;
}

function chartAccepts(limit: Limit, value: number): boolean {
  try {
    new ProxySidecar({ ...SIDECAR, [limit.prop]: value });
    return true;
  } catch {
    return false;
  }
}

function proxyAccepts(limit: Limit, value: number): boolean {
  try {
    parseCommandLine([limit.flag, String(value)]);
    return true;
  } catch {
    return false;
  }
}

describe('the pod limits the config, the chart and the proxy share', () => {
  describe.each(LIMITS)('pod.$field', (limit) => {
    test.each([
      [limit.min - 1, false],
      [limit.min, true],
      [limit.max, true],
      [limit.max + 1, false],
    ])('GIVEN %p WHEN checked by each THEN all three say %p', (value, accepted) => {
      expect({ config: configAccepts(limit, value), chart: chartAccepts(limit, value), proxy: proxyAccepts(limit, value) }).toEqual({
        config: accepted,
        chart: accepted,
        proxy: accepted,
      });
    });
  });

  test('GIVEN max_queue_length 0 in a cortex.yaml WHEN rendered THEN the proxy runs without a queue', () => {
    const spec = realtimeSpecOf(merged(containerApi(), { pod: { max_queue_length: 0 } }));
    const args = new ProxySidecar({ ...SIDECAR, maxQueueLength: spec.pod.maxQueueLength }).args;
    expect(args.slice(args.indexOf('--max-queue-length'), args.indexOf('--max-queue-length') + 2)).toEqual(['--max-queue-length', '0']);
    const command = parseCommandLine(args);
    expect(command.help === false && command.config.maxQueueLength).toBe(0);
  });

  test('GIVEN no flags THEN the proxy takes the defaults a cortex.yaml gets', () => {
    const command = parseCommandLine([]);
    const spec = realtimeSpecOf(containerApi());
    expect(command.help === false && command.config).toMatchObject({
      maxConcurrency: spec.pod.maxConcurrency,
      maxQueueLength: spec.pod.maxQueueLength,
      queueTimeoutMs: spec.networking.timeoutSeconds * 1000,
      upstreamTimeoutMs: spec.networking.timeoutSeconds * 1000,
    });
  });

  test("GIVEN the README's table of flags THEN each flag's variable and default are the proxy's own", () => {
    const readme = fs.readFileSync(path.join(__dirname, '..', '..', '..', 'images', 'proxy', 'README.md'), 'utf8');
    const rows = readme.split('\n').filter((line) => line.startsWith('| `--'));
    const usage = new Map(
      USAGE.split('\n').flatMap((line) => {
        const match = /^ {2}--(\S+)\s+\S+\s.*?(?:\(default (.*)\))?$/.exec(line);
        return match && match[1] !== 'help,' ? [[match[1], match[2] ?? 'none'] as const] : [];
      }),
    );
    const documented = new Map(
      rows.map((row) => {
        const [flag, variable, defaultCell] = row.slice(1, -1).split('|').map((cell) => cell.trim());
        const name = flag.replace(/`--(.*)`/, '$1');
        expect(variable).toBe(`\`${envName(name)}\``);
        return [name, /^`([^`]*)`/.exec(defaultCell)?.[1] ?? 'none'] as const;
      }),
    );
    expect(documented.size).toBeGreaterThan(10);
    expect(Object.fromEntries(documented)).toEqual(Object.fromEntries(usage));
  });

  test("GIVEN no flags THEN the proxy's largest body is the Python runtime's default (it refuses nothing the proxy lets through)", () => {
    const runtimeConfig = fs.readFileSync(path.join(__dirname, '..', '..', '..', 'images', 'python-predictor', 'cortex_runtime', 'config.py'), 'utf8');
    const product = /^DEFAULT_MAX_BODY_BYTES = ([\d *]+)$/m.exec(runtimeConfig)?.[1];
    expect(product).toBeDefined();
    const runtimeBytes = product!.split('*').reduce((total, factor) => total * Number(factor.trim()), 1);
    const command = parseCommandLine([]);
    expect(command.help === false && command.config.maxBodyBytes).toBe(runtimeBytes);
  });
});
