import { Log } from '../../../images/proxy/src/log';

describe('Log', () => {
  test('info: one prefixed line', () => {
    const lines: string[] = [];
    new Log((l) => lines.push(l)).info('started');
    expect(lines).toEqual(['cortex-proxy: started']);
  });

  test('limited: the first line of a kind goes out, the next ones within the interval are counted, then summarized', () => {
    const lines: string[] = [];
    let now = 1000;
    const log = new Log((l) => lines.push(l), 5000, () => now);
    log.limited('refused', 'refused (1)');
    log.limited('refused', 'refused (2)');
    log.limited('refused', 'refused (3)');
    log.limited('timeout', 'timeout (1)');
    expect(lines).toEqual(['cortex-proxy: refused (1)', 'cortex-proxy: timeout (1)']);
    now += 5000;
    log.limited('refused', 'refused (4)');
    expect(lines[2]).toBe('cortex-proxy: refused (4) (and 2 more since the last report)');
    now += 5000;
    log.limited('refused', 'refused (5)');
    expect(lines[3]).toBe('cortex-proxy: refused (5)');
  });
});
