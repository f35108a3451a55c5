// SPDX-License-Identifier: GPL-2.0-only
// irqlab substrate: the virtual clock and the event queue.
//
// Time is a plain number of nanoseconds (exact up to 2^53 ns, about 104 days of
// virtual time). Events due at the same instant fire in the order they were
// scheduled, so a run is a pure function of its inputs.

export interface SimEvent {
  /** Virtual time at which the event fires. */
  at: number;
  /** Tie-breaker: schedule order. */
  seq: number;
  fn: () => void;
  /** Short description for diagnostics and traces. */
  label: string;
  /** A daemon event does not keep a run alive (periodic pollers, watchdogs). */
  daemon: boolean;
  cancelled: boolean;
  /** Position in the heap, -1 when not queued. */
  idx: number;
}

export class EventQueue {
  now = 0;
  private heap: SimEvent[] = [];
  private seq = 0;
  private liveNonDaemon = 0;

  get size(): number {
    return this.heap.length;
  }

  /** True while a non-daemon event is queued. */
  get hasWork(): boolean {
    return this.liveNonDaemon > 0;
  }

  schedule(at: number, fn: () => void, label = "", daemon = false): SimEvent {
    if (!(at >= this.now)) at = this.now;
    const ev: SimEvent = { at, seq: this.seq++, fn, label, daemon, cancelled: false, idx: -1 };
    this.push(ev);
    if (!daemon) this.liveNonDaemon++;
    return ev;
  }

  after(delay: number, fn: () => void, label = "", daemon = false): SimEvent {
    return this.schedule(this.now + Math.max(0, delay), fn, label, daemon);
  }

  /**
   * An event object that is not queued, for reschedule(): hardware that fires
   * over and over (a delivery pipeline, a periodic source) keeps one event and
   * allocates nothing per firing.
   */
  create(fn: () => void, label = "", daemon = false): SimEvent {
    return { at: this.now, seq: -1, fn, label, daemon, cancelled: true, idx: -1 };
  }

  /** Queue `ev` (queued or not) to fire at `at`, reusing the object. */
  reschedule(ev: SimEvent, at: number): SimEvent {
    if (ev.idx >= 0) this.cancel(ev);
    if (!(at >= this.now)) at = this.now;
    ev.at = at;
    ev.seq = this.seq++;
    ev.cancelled = false;
    this.push(ev);
    if (!ev.daemon) this.liveNonDaemon++;
    return ev;
  }

  cancel(ev: SimEvent | null | undefined): boolean {
    if (!ev || ev.idx < 0) return false;
    this.removeAt(ev.idx);
    ev.cancelled = true;
    if (!ev.daemon) this.liveNonDaemon--;
    return true;
  }

  /** Time of the earliest queued event, or Infinity. */
  peekTime(): number {
    const h = this.heap[0];
    return h ? h.at : Infinity;
  }

  /** Earliest non-daemon event time (linear scan; used only for diagnostics). */
  pending(): readonly SimEvent[] {
    return [...this.heap].sort((a, b) => a.at - b.at || a.seq - b.seq);
  }

  /** Remove and return the earliest event if it is due at or before `t`. */
  popDue(t: number): SimEvent | null {
    const h = this.heap[0];
    if (!h || h.at > t) return null;
    this.removeAt(0);
    if (!h.daemon) this.liveNonDaemon--;
    return h;
  }

  private less(a: SimEvent, b: SimEvent): boolean {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
  }

  private push(ev: SimEvent): void {
    const h = this.heap;
    ev.idx = h.length;
    h.push(ev);
    this.up(ev.idx);
  }

  private removeAt(i: number): void {
    const h = this.heap;
    const ev = h[i]!;
    const last = h.pop()!;
    ev.idx = -1;
    if (i < h.length) {
      h[i] = last;
      last.idx = i;
      this.down(i);
      this.up(last.idx);
    }
  }

  private up(i: number): void {
    const h = this.heap;
    const ev = h[i]!;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const pe = h[p]!;
      if (!this.less(ev, pe)) break;
      h[i] = pe;
      pe.idx = i;
      i = p;
    }
    h[i] = ev;
    ev.idx = i;
  }

  private down(i: number): void {
    const h = this.heap;
    const n = h.length;
    const ev = h[i]!;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      let c = l;
      if (r < n && this.less(h[r]!, h[l]!)) c = r;
      const ce = h[c]!;
      if (!this.less(ce, ev)) break;
      h[i] = ce;
      ce.idx = i;
      i = c;
    }
    h[i] = ev;
    ev.idx = i;
  }
}
