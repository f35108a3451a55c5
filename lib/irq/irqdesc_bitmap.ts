// SPDX-License-Identifier: GPL-2.0-only
// The allocation map of irq numbers: which numbers have a descriptor (and,
// the same structure, the occupied indices of an MSI descriptor store).
//
// Linux 6.18 keeps descriptors in the sparse_irqs maple tree and finds a free
// range with mas_empty_area() (kernel/irq/irqdesc.c: irq_find_free_area()):
// the lowest range of `cnt` free numbers at or above `from`. This is the same
// query on a bitmap with a summary level (one bit per full 32-bit word), so a
// search skips 1024 allocated numbers per summary word instead of testing
// them one by one: the cost of an allocation does not grow with the number
// of descriptors already allocated.

const FULL = 0xffffffff;

/** Number of trailing zero bits of a non-zero 32-bit word. */
function ctz(w: number): number {
  return 31 - Math.clz32(w & -w);
}

export class SparseIrqBitmap {
  /** One bit per irq number. */
  private words: Uint32Array;
  /** One bit per word of `words`: set when that word is all ones. */
  private full: Uint32Array;

  /** `limit`: numbers are 0..limit-1; the map grows on demand up to it. */
  constructor(
    readonly limit: number,
    initialBits = 1 << 12,
  ) {
    const nw = Math.ceil(Math.min(initialBits, limit) / 32);
    this.words = new Uint32Array(nw);
    this.full = new Uint32Array(Math.ceil(nw / 32));
  }

  /** Bits the map covers now (numbers at or above are free). */
  get size(): number {
    return this.words.length * 32;
  }

  private grow(bits: number): void {
    if (bits <= this.size) return;
    let nw = this.words.length;
    while (nw * 32 < bits) nw *= 2;
    nw = Math.min(nw, Math.ceil(this.limit / 32));
    const w = new Uint32Array(nw);
    w.set(this.words);
    const f = new Uint32Array(Math.ceil(nw / 32));
    f.set(this.full);
    this.words = w;
    this.full = f;
  }

  test(n: number): boolean {
    const wi = n >>> 5;
    return wi < this.words.length && (this.words[wi]! & (1 << (n & 31))) !== 0;
  }

  private markWord(wi: number): void {
    const fi = wi >>> 5;
    const b = 1 << (wi & 31);
    if (this.words[wi] === FULL) this.full[fi]! |= b;
    else this.full[fi]! &= ~b;
  }

  /** Mark numbers start..start+cnt-1 allocated (bitmap_set()). */
  set(start: number, cnt: number): void {
    this.grow(start + cnt);
    const w = this.words;
    for (let n = start, end = start + cnt; n < end; ) {
      const wi = n >>> 5;
      const lo = n & 31;
      const hi = Math.min(32, lo + (end - n));
      const mask = hi - lo === 32 ? FULL : ((1 << (hi - lo)) - 1) << lo;
      w[wi] = (w[wi]! | mask) >>> 0;
      this.markWord(wi);
      n += hi - lo;
    }
  }

  /** Mark numbers start..start+cnt-1 free (bitmap_clear()). */
  clear(start: number, cnt: number): void {
    const w = this.words;
    const end = Math.min(start + cnt, this.size);
    for (let n = start; n < end; ) {
      const wi = n >>> 5;
      const lo = n & 31;
      const hi = Math.min(32, lo + (end - n));
      const mask = hi - lo === 32 ? FULL : ((1 << (hi - lo)) - 1) << lo;
      w[wi] = (w[wi]! & ~mask) >>> 0;
      this.markWord(wi);
      n += hi - lo;
    }
  }

  /** The first free number at or after `n` (every number past the map is free). */
  private nextZero(n: number): number {
    const w = this.words;
    let wi = n >>> 5;
    if (wi >= w.length) return n;
    const inv = ~w[wi]! & (FULL << (n & 31));
    if (inv) return (wi << 5) + ctz(inv);
    // the rest of this word is allocated: find the next word that is not full
    wi++;
    const f = this.full;
    let fi = wi >>> 5;
    if (fi < f.length) {
      let notFull = ~f[fi]! & (wi & 31 ? FULL << (wi & 31) : FULL);
      for (;;) {
        if (notFull) {
          const nwi = (fi << 5) + ctz(notFull);
          if (nwi >= w.length) return w.length << 5;
          return (nwi << 5) + ctz(~w[nwi]!);
        }
        if (++fi >= f.length) break;
        notFull = ~f[fi]!;
      }
    }
    return w.length << 5;
  }

  /** The first allocated number in n..end-1, or -1. */
  private nextSet(n: number, end: number): number {
    const w = this.words;
    end = Math.min(end, w.length << 5);
    while (n < end) {
      const wi = n >>> 5;
      const bits = w[wi]! & (FULL << (n & 31));
      if (bits) {
        const s = (wi << 5) + ctz(bits);
        return s < end ? s : -1;
      }
      n = (wi + 1) << 5;
    }
    return -1;
  }

  /** The first allocated number at or after `n`, or -1. */
  findNextSet(n: number): number {
    return n < this.size ? this.nextSet(n, this.size) : -1;
  }

  /**
   * The lowest start >= `from` with start..start+cnt-1 all free and below
   * `limit`, or -1 (mas_empty_area() on the descriptor tree).
   */
  findFreeArea(from: number, cnt: number): number {
    let start = this.nextZero(from);
    for (;;) {
      if (start + cnt > this.limit) return -1;
      const s = this.nextSet(start, start + cnt);
      if (s < 0) return start;
      start = this.nextZero(s + 1);
    }
  }
}
