// SPDX-License-Identifier: GPL-2.0-only
// A fixed-order delay line: records of a few numbers that come out, in the
// order they went in, at their due times. The MSI fabric's delivery pipeline
// and MSI-X torn latching use it because they sit on the interrupt hot path:
// a record lives in a typed-array ring and one reusable event drives the line,
// so pushing a record allocates nothing once the ring has grown to the
// traffic's depth.

import type { SimEvent } from "../sim/events.ts";
import type { Sim } from "../sim/sim.ts";

/** Called for each due record with its fields at data[off .. off+stride-1]. */
export type DelayLineSink = (data: Float64Array, off: number) => void;

export class DelayLine {
  private times: Float64Array;
  private data: Float64Array;
  private head = 0;
  private count = 0;
  private readonly ev: SimEvent;
  private armedAt = -1;
  private delivering = false;
  /** Bumped by clear(), so a delivery loop notices a reset made by its sink. */
  private gen = 0;

  constructor(
    private readonly sim: Sim,
    readonly stride: number,
    private readonly sink: DelayLineSink,
    label: string,
    capacity = 16,
  ) {
    this.times = new Float64Array(capacity);
    this.data = new Float64Array(capacity * stride);
    this.ev = sim.eq.create(() => this.fire(), label);
  }

  get length(): number {
    return this.count;
  }

  /**
   * Queue a record due at `at`. A record is never due before the one pushed
   * ahead of it: the line keeps order even if its latency shrinks mid-run.
   */
  push(at: number, f0 = 0, f1 = 0, f2 = 0, f3 = 0): void {
    if (this.count === this.times.length) this.grow();
    const cap = this.times.length;
    if (this.count > 0) {
      const last = this.times[(this.head + this.count - 1) % cap]!;
      if (at < last) at = last;
    }
    const i = (this.head + this.count) % cap;
    this.times[i] = at;
    const o = i * this.stride;
    const d = this.data;
    d[o] = f0;
    if (this.stride > 1) d[o + 1] = f1;
    if (this.stride > 2) d[o + 2] = f2;
    if (this.stride > 3) d[o + 3] = f3;
    this.count++;
    if (this.count === 1) this.arm(at);
  }

  /** Deliver every queued record now, in order (a read flushing posted writes). */
  flush(): void {
    this.deliver(Infinity);
  }

  /** Drop every queued record (a reset). */
  clear(): void {
    this.gen++;
    this.head = 0;
    this.count = 0;
    this.sim.eq.cancel(this.ev);
    this.armedAt = -1;
  }

  private arm(at: number): void {
    if (this.ev.idx >= 0 && this.armedAt === at) return;
    this.armedAt = at;
    this.sim.eq.reschedule(this.ev, at);
  }

  private fire(): void {
    this.armedAt = -1;
    this.deliver(this.sim.now);
  }

  private deliver(upTo: number): void {
    // A sink may push onto this line (the slot being delivered stays occupied
    // until it returns, so a push cannot overwrite it); a nested delivery of
    // the same line would hand out the same record twice, so it waits for the
    // outer loop, which picks up whatever became due.
    if (this.delivering) return;
    this.delivering = true;
    try {
      while (this.count > 0 && this.times[this.head]! <= upTo) {
        const gen = this.gen;
        this.sink(this.data, this.head * this.stride);
        if (gen !== this.gen) break;
        this.head = (this.head + 1) % this.times.length;
        this.count--;
      }
    } finally {
      this.delivering = false;
    }
    if (this.count === 0) {
      this.sim.eq.cancel(this.ev);
      this.armedAt = -1;
    } else this.arm(this.times[this.head]!);
  }

  private grow(): void {
    const cap = this.times.length;
    const times = new Float64Array(cap * 2);
    const data = new Float64Array(cap * 2 * this.stride);
    for (let k = 0; k < this.count; k++) {
      const i = (this.head + k) % cap;
      times[k] = this.times[i]!;
      data.set(this.data.subarray(i * this.stride, (i + 1) * this.stride), k * this.stride);
    }
    this.times = times;
    this.data = data;
    this.head = 0;
  }
}
