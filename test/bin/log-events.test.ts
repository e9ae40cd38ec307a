import { applicationLogGroup, filterPattern, formatLogLine, parseLogEvent, podNamePattern, selects } from '../../bin/cli/log-events';

describe('selecting an API\'s pods by name', () => {
  test('a Deployment\'s pod names match; a longer API\'s whose name starts the same do not', () => {
    const iris = new RegExp(podNamePattern('iris'));
    expect(iris.test('iris-7d9f8c6b5-x2x4z')).toBe(true);
    expect(iris.test('iris-v2-5c6d7f8b9-q8k9m')).toBe(false);
    expect(iris.test('iris-7d9f8c6b5')).toBe(false);
    expect(iris.test('my-iris-7d9f8c6b5-x2x4z')).toBe(false);
    expect(new RegExp(podNamePattern('iris-v2')).test('iris-v2-5c6d7f8b9-q8k9m')).toBe(true);
  });

  test('a name so long that Kubernetes cuts the pod names (to 58 characters, then 5 more)', () => {
    const api = 'a'.repeat(50);
    const rs = `${api}-7d9f8c6b5d`;
    const podName = `${`${rs}-`.slice(0, 58)}x2x4z`; // aaaa…a-7d9f8c6x2x4z
    expect(new RegExp(podNamePattern(api)).test(podName)).toBe(true);
    expect(new RegExp(podNamePattern('a'.repeat(46))).test(`${'a'.repeat(46)}-7d9f8c6b5d-x2x4z`)).toBe(true);
  });

  test('the CloudWatch Logs pattern: namespace, pod name regex, container', () => {
    expect(filterPattern({ apiName: 'iris', namespace: 'cortex' })).toBe(
      '{ ($.kubernetes.namespace_name = "cortex") && ($.kubernetes.pod_name = %^iris-[a-z0-9]+-[a-z0-9]+$%) }',
    );
    expect(filterPattern({ apiName: 'iris', namespace: 'ml', container: 'proxy' })).toBe(
      '{ ($.kubernetes.namespace_name = "ml") && ($.kubernetes.pod_name = %^iris-[a-z0-9]+-[a-z0-9]+$%) && ($.kubernetes.container_name = "proxy") }',
    );
    expect(applicationLogGroup('prod')).toBe('/aws/containerinsights/prod/application');
  });
});

describe('parseLogEvent', () => {
  const message = (log: string) =>
    JSON.stringify({ time: '2025-05-01T10:00:00Z', stream: 'stderr', log, kubernetes: { pod_name: 'iris-a-b', namespace_name: 'cortex', container_name: 'api' } });

  test('the add-on\'s JSON: the line without its newline, pod, container, namespace', () => {
    expect(parseLogEvent(message('Traceback (most recent call last):\n'), 5)).toEqual({
      pod: 'iris-a-b',
      container: 'api',
      namespace: 'cortex',
      text: 'Traceback (most recent call last):',
      timestamp: 5,
    });
  });

  test('anything else is not a container line', () => {
    expect(parseLogEvent('plain text')).toBeUndefined();
    expect(parseLogEvent(JSON.stringify({ log: 'x' }))).toBeUndefined();
  });

  test('selects and formats', () => {
    const line = parseLogEvent(message('hello'), Date.parse('2025-05-01T10:00:00Z'))!;
    expect(selects({ apiName: 'iris', namespace: 'cortex' }, line)).toBe(true);
    expect(selects({ apiName: 'iris', namespace: 'cortex', container: 'proxy' }, line)).toBe(false);
    expect(selects({ apiName: 'iris', namespace: 'default' }, line)).toBe(false);
    expect(formatLogLine(line, { withContainer: true, timestamps: false })).toBe('[iris-a-b api] hello\n');
    expect(formatLogLine(line, { withContainer: false, timestamps: true })).toBe('2025-05-01T10:00:00.000Z [iris-a-b] hello\n');
  });
});
