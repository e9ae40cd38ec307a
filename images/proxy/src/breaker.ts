/**
 * The breaker, after Knative's `pkg/queue/breaker.go`: at most `maxConcurrency` requests active, at most
 * `maxQueueLength` more waiting in FIFO order, anything beyond rejected at once. Waiters are linked into
 * the queue in place (they are the list's nodes), so queueing allocates nothing, and a waiter that gives
 * up (its client left, its deadline passed) is unlinked in O(1).
 */

/** What a request must be to wait in the breaker's queue. */
export abstract class BreakerWaiter {
  /** @internal the queue's links, owned by the breaker */
  public _prev: BreakerWaiter | null = null;
  /** @internal */
  public _next: BreakerWaiter | null = null;
  /** @internal */
  public _queued = false;

  /** A slot is now this waiter's (it left the queue): go. The slot is held until `release()`. */
  public abstract admit(): void;
}

/** The outcome of {@link Breaker.enter}. */
export type Admission = 'active' | 'queued' | 'rejected';

export interface BreakerOptions {
  /** At least 1. */
  readonly maxConcurrency: number;
  /** At least 0 (no queue: beyond the limit, reject). */
  readonly maxQueueLength: number;
}

export class Breaker {
  public readonly maxConcurrency: number;
  public readonly maxQueueLength: number;
  private activeCount = 0;
  private queuedCount = 0;
  private head: BreakerWaiter | null = null;
  private tail: BreakerWaiter | null = null;
  private pendingReleases = 0;
  private dispatching = false;

  constructor(options: BreakerOptions) {
    const { maxConcurrency, maxQueueLength } = options;
    if (!Number.isSafeInteger(maxConcurrency) || maxConcurrency < 1) {
      throw new RangeError(`maxConcurrency (${maxConcurrency}) must be an integer >= 1`);
    }
    if (!Number.isSafeInteger(maxQueueLength) || maxQueueLength < 0) {
      throw new RangeError(`maxQueueLength (${maxQueueLength}) must be an integer >= 0`);
    }
    this.maxConcurrency = maxConcurrency;
    this.maxQueueLength = maxQueueLength;
  }

  /** Requests holding a slot (inside the user's server). */
  public get active(): number {
    return this.activeCount;
  }

  /** Requests waiting for a slot. */
  public get queued(): number {
    return this.queuedCount;
  }

  /** Queued plus active: the autoscaling signal. */
  public get inFlight(): number {
    return this.activeCount + this.queuedCount;
  }

  /**
   * A request arrives. `'active'`: it holds a slot now (call `release()` when done). `'queued'`: `admit()`
   * is called when a slot frees up, unless it is withdrawn first. `'rejected'`: the queue is full.
   */
  public enter(waiter: BreakerWaiter): Admission {
    // Hand out a free slot only when nobody waits for one: FIFO, even while releases are being dispatched.
    if (this.activeCount < this.maxConcurrency && this.queuedCount === 0) {
      this.activeCount++;
      return 'active';
    }
    if (this.queuedCount >= this.maxQueueLength) {
      return 'rejected';
    }
    waiter._queued = true;
    waiter._prev = this.tail;
    waiter._next = null;
    if (this.tail === null) this.head = waiter;
    else this.tail._next = waiter;
    this.tail = waiter;
    this.queuedCount++;
    return 'queued';
  }

  /** A queued request gives up (client gone, queue timeout). Returns false when it was not queued. */
  public withdraw(waiter: BreakerWaiter): boolean {
    if (!waiter._queued) return false;
    this.unlink(waiter);
    return true;
  }

  /** An active request is done: its slot goes to the oldest waiter, or back to the pool. */
  public release(): void {
    this.pendingReleases++;
    // admit() may finish a request at once and release again: loop instead of recursing.
    if (this.dispatching) return;
    this.dispatching = true;
    try {
      while (this.pendingReleases > 0) {
        this.pendingReleases--;
        const next = this.head;
        if (next === null) {
          if (this.activeCount === 0) throw new Error('Breaker.release() without an active request');
          this.activeCount--;
        } else {
          this.unlink(next);
          next.admit();
        }
      }
    } finally {
      this.dispatching = false;
    }
  }

  private unlink(waiter: BreakerWaiter): void {
    if (waiter._prev === null) this.head = waiter._next;
    else waiter._prev._next = waiter._next;
    if (waiter._next === null) this.tail = waiter._prev;
    else waiter._next._prev = waiter._prev;
    waiter._prev = null;
    waiter._next = null;
    waiter._queued = false;
    this.queuedCount--;
  }
}
