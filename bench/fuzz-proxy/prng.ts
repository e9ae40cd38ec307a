/**
 * A small seeded PRNG (sfc32, seeded through splitmix32): the same seed gives the same sequence on every
 * machine and Node version, so a fuzz case is reproduced from its seed and number alone.
 */

/** splitmix32: spreads a 32-bit seed (and mixes several into one). */
export function mix32(...values: number[]): number {
  let h = 0x9e3779b9;
  for (const v of values) {
    h = (h + (v >>> 0) + 0x9e3779b9) >>> 0;
    h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
    h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
    h = (h ^ (h >>> 16)) >>> 0;
  }
  return h;
}

export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    this.a = mix32(seed, 1);
    this.b = mix32(seed, 2);
    this.c = mix32(seed, 3);
    this.d = 1;
    for (let i = 0; i < 12; i++) this.next();
  }

  /** A uniform 32-bit unsigned integer. */
  public next(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = ((this.c << 21) | (this.c >>> 11)) >>> 0;
    this.c = (this.c + t) >>> 0;
    return t;
  }

  /** An integer in [0, n). */
  public int(n: number): number {
    return n <= 1 ? 0 : Math.floor((this.next() / 0x1_0000_0000) * n);
  }

  /** An integer in [min, max]. */
  public range(min: number, max: number): number {
    return min + this.int(max - min + 1);
  }

  /** True with probability p. */
  public chance(p: number): boolean {
    return this.next() / 0x1_0000_0000 < p;
  }

  public pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }

  /** One of `items`, each with its weight. */
  public weighted<T>(items: ReadonlyArray<readonly [number, T]>): T {
    const total = items.reduce((sum, [w]) => sum + w, 0);
    let r = this.int(total);
    for (const [w, item] of items) {
      if (r < w) return item;
      r -= w;
    }
    return items[items.length - 1][1];
  }

  /** A length that is usually small and now and then large: min + a log-uniform draw up to max. */
  public size(min: number, max: number): number {
    const span = Math.log2(max - min + 1);
    return Math.min(max, min + Math.floor(2 ** (this.next() / 0x1_0000_0000 * span)) - 1);
  }

  /** A new independent generator (for a sub-plan that must not shift this one's sequence). */
  public fork(): Rng {
    return new Rng(this.next());
  }

  /** `n` random bytes. */
  public bytes(n: number): Buffer {
    const out = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) out[i] = this.next() & 0xff;
    return out;
  }

  /** `n` characters from `alphabet`. */
  public text(n: number, alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'): string {
    let s = '';
    for (let i = 0; i < n; i++) s += alphabet[this.int(alphabet.length)];
    return s;
  }
}
