import { Breaker, BreakerWaiter } from '../../../images/proxy/src/breaker';

/** A waiter that records when it is admitted, and may do something then. */
class Waiter extends BreakerWaiter {
  public admitted = false;
  constructor(
    public readonly name: string,
    private readonly log: string[],
    private readonly onAdmit?: () => void,
  ) {
    super();
  }
  public admit(): void {
    this.admitted = true;
    this.log.push(this.name);
    this.onAdmit?.();
  }
}

describe('Breaker', () => {
  test('bad parameters throw at construction', () => {
    expect(() => new Breaker({ maxConcurrency: 0, maxQueueLength: 1 })).toThrow(/maxConcurrency \(0\) must be an integer >= 1/);
    expect(() => new Breaker({ maxConcurrency: 1.5, maxQueueLength: 1 })).toThrow(/maxConcurrency \(1.5\)/);
    expect(() => new Breaker({ maxConcurrency: 1, maxQueueLength: -1 })).toThrow(/maxQueueLength \(-1\) must be an integer >= 0/);
    expect(() => new Breaker({ maxConcurrency: 1, maxQueueLength: NaN })).toThrow(RangeError);
  });

  test('GIVEN N=2, M=2 THEN two active, two queued, the fifth rejected; in-flight counts both', () => {
    const breaker = new Breaker({ maxConcurrency: 2, maxQueueLength: 2 });
    const log: string[] = [];
    const outcomes = ['a', 'b', 'c', 'd', 'e'].map((n) => breaker.enter(new Waiter(n, log)));
    expect(outcomes).toEqual(['active', 'active', 'queued', 'queued', 'rejected']);
    expect([breaker.active, breaker.queued, breaker.inFlight]).toEqual([2, 2, 4]);
  });

  test('slots go to the waiters in FIFO order; a slot nobody waits for goes back', () => {
    const breaker = new Breaker({ maxConcurrency: 1, maxQueueLength: 3 });
    const log: string[] = [];
    breaker.enter(new Waiter('first', log));
    for (const n of ['b', 'c', 'd']) expect(breaker.enter(new Waiter(n, log))).toBe('queued');
    breaker.release();
    breaker.release();
    expect(log).toEqual(['b', 'c']);
    expect([breaker.active, breaker.queued]).toEqual([1, 1]);
    breaker.release();
    breaker.release();
    expect(log).toEqual(['b', 'c', 'd']);
    expect([breaker.active, breaker.queued]).toEqual([0, 0]);
  });

  test('a waiter that gives up leaves the queue and frees its place; the others keep their order', () => {
    const breaker = new Breaker({ maxConcurrency: 1, maxQueueLength: 2 });
    const log: string[] = [];
    breaker.enter(new Waiter('active', log));
    const b = new Waiter('b', log);
    const c = new Waiter('c', log);
    breaker.enter(b);
    breaker.enter(c);
    expect(breaker.enter(new Waiter('rejected', log))).toBe('rejected');
    expect(breaker.withdraw(b)).toBe(true);
    expect(breaker.withdraw(b)).toBe(false);
    expect(breaker.queued).toBe(1);
    expect(breaker.enter(new Waiter('d', log))).toBe('queued');
    breaker.release();
    breaker.release();
    expect(log).toEqual(['c', 'd']);
    expect(b.admitted).toBe(false);
  });

  test('withdrawing the head, the tail or the only waiter keeps the list consistent', () => {
    const breaker = new Breaker({ maxConcurrency: 1, maxQueueLength: 3 });
    const log: string[] = [];
    breaker.enter(new Waiter('active', log));
    const [x, y, z] = ['x', 'y', 'z'].map((n) => new Waiter(n, log));
    [x, y, z].forEach((w) => breaker.enter(w));
    breaker.withdraw(x);
    breaker.withdraw(z);
    breaker.release();
    expect(log).toEqual(['y']);
    breaker.withdraw(y); // admitted already: not queued
    expect(breaker.queued).toBe(0);
    const w = new Waiter('w', log);
    breaker.enter(w);
    breaker.withdraw(w);
    breaker.release();
    expect(log).toEqual(['y']);
    expect(breaker.active).toBe(0);
  });

  test('GIVEN no queue (M=0) THEN beyond the limit everything is rejected', () => {
    const breaker = new Breaker({ maxConcurrency: 1, maxQueueLength: 0 });
    const log: string[] = [];
    expect(breaker.enter(new Waiter('a', log))).toBe('active');
    expect(breaker.enter(new Waiter('b', log))).toBe('rejected');
  });

  test('a waiter that finishes at once when admitted releases again without recursion, in order', () => {
    const breaker = new Breaker({ maxConcurrency: 1, maxQueueLength: 10_000 });
    const log: string[] = [];
    breaker.enter(new Waiter('active', log));
    // Each admitted waiter is done immediately: deep recursion would overflow the stack.
    for (let i = 0; i < 10_000; i++) breaker.enter(new Waiter(String(i), log, () => breaker.release()));
    breaker.release();
    expect(log.length).toBe(10_000);
    expect(log[0]).toBe('0');
    expect(log[9_999]).toBe('9999');
    expect([breaker.active, breaker.queued]).toEqual([0, 0]);
  });

  test('a request arriving while slots are being handed out queues behind the waiters (FIFO holds)', () => {
    const breaker = new Breaker({ maxConcurrency: 1, maxQueueLength: 5 });
    const log: string[] = [];
    breaker.enter(new Waiter('active', log));
    const late = new Waiter('late', log);
    breaker.enter(
      new Waiter('b', log, () => {
        expect(breaker.enter(late)).toBe('queued');
        breaker.release();
      }),
    );
    breaker.enter(new Waiter('c', log));
    breaker.release();
    expect(log).toEqual(['b', 'c']);
    breaker.release();
    expect(log).toEqual(['b', 'c', 'late']);
  });

  test('releasing without an active request is a bug, and says so', () => {
    const breaker = new Breaker({ maxConcurrency: 1, maxQueueLength: 0 });
    expect(() => breaker.release()).toThrow(/release\(\) without an active request/);
  });
});
