// SPDX-License-Identifier: GPL-2.0-only
// Interrupt-context code that may have to wait (a busy handler, a contended
// lock) is written as a generator yielding a Wait. These helpers run such code
// from plain synchronous code, where waiting means spinning this CPU.

import type { Wait } from "../sim/cpu.ts";
import { K } from "./kernel.ts";

export type { Wait, Frame } from "../sim/cpu.ts";

/** Run a generator to completion on this CPU, spinning through its waits. */
export function drive_sync<R>(gen: Generator<Wait, R, void>): R {
  for (;;) {
    const r = gen.next();
    if (r.done) return r.value;
    const w = r.value;
    K.sim.spinUntil(w.cond ?? (() => false), w.until ?? Infinity, w.what, w.cond !== undefined);
  }
}

/** An empty wait sequence, for `yield*` on a path that does not wait. */
export const NO_WAIT: readonly Wait[] = [];

/**
 * irqlab extension: the running interrupt handler declares that it keeps the
 * CPU busy for `ns` after it returns (its execution time). The flow handler
 * then holds IRQD_IRQ_INPROGRESS for that long, so other CPUs can observe the
 * handler in progress.
 */
export function irqlab_handler_busy(ns: number): void {
  busy.ns += Math.max(0, ns);
}

const busy = { ns: 0 };

/** Take and reset the busy time declared by the last handler. */
export function take_handler_busy(): number {
  const ns = busy.ns;
  busy.ns = 0;
  return ns;
}
