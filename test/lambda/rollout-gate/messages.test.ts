import { MAX_MESSAGE_LENGTH, failureMessage, formatSeconds, groupProblems, logExcerpt, type ProblemGroup } from '../../../lambda/rollout-gate/messages';
import type { PodProblem } from '../../../lib/private/pod-diagnosis';

const problem = (pod: string, detail: string, fatal = false, container: string | undefined = 'api'): PodProblem => ({
  pod,
  container,
  kind: fatal ? 'crash-loop' : 'not-ready',
  reason: detail.split(':')[0],
  detail,
  fatal,
  wantsLog: false,
  wantsEvents: false,
});

describe('groupProblems', () => {
  test('pods with the same problem share a line; fatal problems come first', () => {
    const groups = groupProblems([problem('a', 'not ready'), problem('b', 'CrashLoopBackOff: exit code 1', true), problem('c', 'not ready'), problem('d', 'CrashLoopBackOff: exit code 1', true)]);
    expect(groups.map((g) => [g.detail, g.pods])).toEqual([
      ['CrashLoopBackOff: exit code 1', ['b', 'd']],
      ['not ready', ['a', 'c']],
    ]);
  });
});

describe('failureMessage', () => {
  const report = (groups: ProblemGroup[]) => ({ apiName: 'iris', namespace: 'cortex', deployment: 'iris', headline: '0 of 2 updated replicas available', groups });

  test('the API, the Deployment, what it reports, then each problem with its pods (at most three named)', () => {
    const groups = groupProblems(['a', 'b', 'c', 'd', 'e'].map((p) => problem(p, 'not ready')));
    expect(failureMessage(report(groups))).toBe(
      'RealtimeAPI "iris" did not roll out (Deployment cortex/iris): 0 of 2 updated replicas available\n' +
        '- pods a, b, c and 2 more, container api: not ready',
    );
  });

  test('never longer than MAX_MESSAGE_LENGTH: older log lines go first, then problems past the first', () => {
    const log = Array.from({ length: 12 }, (_, i) => `line ${i} ${'x'.repeat(300)}`).join('\n');
    const groups = groupProblems(Array.from({ length: 9 }, (_, i) => problem(`p${i}`, `problem ${i} ${'y'.repeat(300)}`, true))).map((g) => ({ ...g, log }));
    const message = failureMessage(report(groups));
    expect(message.length).toBeLessThanOrEqual(MAX_MESSAGE_LENGTH);
    expect(message).toContain('line 11 ');
    expect(message).not.toContain('line 0 ');
    expect(message.split('\n')[1]).toMatch(/^- pod p0, container api: problem 0 y{300}$/);
  });
});

describe('logExcerpt', () => {
  test('the last lines, trailing blank lines and carriage returns dropped', () => {
    const log = Array.from({ length: 20 }, (_, i) => `line ${i}\r`).join('\n') + '\n\n';
    expect(logExcerpt(log).split('\n')).toEqual(Array.from({ length: 12 }, (_, i) => `line ${i + 8}`));
    expect(logExcerpt('\n')).toBe('(the log is empty)');
  });
});

describe('formatSeconds', () => {
  test.each([
    [45, '45s'],
    [600, '10m'],
    [90, '1m30s'],
  ])('%d seconds read %s', (seconds, text) => {
    expect(formatSeconds(seconds)).toBe(text);
  });
});
