/**
 * The proxy's log: one line per event on stderr, never one per request. Failures that can come in
 * floods (a crashed user server fails every request) are rate-limited per kind: the first is logged, the
 * rest are counted and summarized when the kind is logged again.
 */

export type LogSink = (line: string) => void;

/** stderr; the container runtime collects it. */
export const stderrSink: LogSink = (line) => {
  process.stderr.write(line + '\n');
};

export class Log {
  private readonly last = new Map<string, { at: number; suppressed: number }>();

  /**
   * @param sink where lines go
   * @param intervalMs the least time between two lines of one rate-limited kind
   * @param now the clock (tests)
   */
  constructor(
    private readonly sink: LogSink = stderrSink,
    private readonly intervalMs = 5000,
    private readonly now: () => number = Date.now,
  ) {}

  public info(message: string): void {
    this.sink(`cortex-proxy: ${message}`);
  }

  /** Logs `message` unless a line of the same `kind` went out less than the interval ago. */
  public limited(kind: string, message: string): void {
    const now = this.now();
    const entry = this.last.get(kind);
    if (entry !== undefined && now - entry.at < this.intervalMs) {
      entry.suppressed++;
      return;
    }
    const more = entry !== undefined && entry.suppressed > 0 ? ` (and ${entry.suppressed} more since the last report)` : '';
    this.last.set(kind, { at: now, suppressed: 0 });
    this.sink(`cortex-proxy: ${message}${more}`);
  }
}
