// SPDX-License-Identifier: GPL-2.0-only
// kernel/irq_work.c and arch/x86/kernel/irq_work.c: work run from hardirq
// context on the CPU that queued it.
//
// x86 raises a self-IPI (IRQ_WORK_VECTOR) for the per-CPU raised list, so a
// queued work runs as soon as that CPU has interrupts enabled. irqlab models
// the IPI as an interrupt source of the CPU; the work's function may return
// a frame (a flow handler run from the work) which runs inside that
// interrupt. Lazy works (IRQ_WORK_LAZY, run from the tick) are not modelled:
// they are raised like the others.

import type { Frame, SimCpu } from "../sim/cpu.ts";
import { K } from "./kernel.ts";
import { register_irq_source, arch_irq_stat_inc } from "./entry.ts";
import { irqs_disabled } from "./context.ts";
import { might_sleep } from "./sched.ts";

/* include/linux/smp_types.h */
export const IRQ_WORK_PENDING = 1 << 0;
export const IRQ_WORK_BUSY = 1 << 1;
export const IRQ_WORK_LAZY = 1 << 2;
export const IRQ_WORK_HARD_IRQ = 1 << 3;
export const IRQ_WORK_CLAIMED = IRQ_WORK_PENDING | IRQ_WORK_BUSY;

/** IRQ_WORK_VECTOR: the priority class of the self-IPI. */
const IRQ_WORK_VECTOR = 0xf6;

/** struct irq_work */
export class irq_work {
  /** node.a_flags */
  flags: number;
  constructor(
    readonly func: (work: irq_work) => Frame | void,
    flags = 0,
  ) {
    this.flags = flags;
  }
}

/** IRQ_WORK_INIT_HARD(func): runs in hard interrupt context even on PREEMPT_RT. */
export function IRQ_WORK_INIT_HARD(func: (work: irq_work) => Frame | void): irq_work {
  return new irq_work(func, IRQ_WORK_HARD_IRQ);
}

/** init_irq_work(work, func) */
export function init_irq_work(func: (work: irq_work) => Frame | void): irq_work {
  return new irq_work(func, 0);
}

export function irq_work_is_pending(work: irq_work): boolean {
  return (work.flags & IRQ_WORK_PENDING) !== 0;
}
export function irq_work_is_busy(work: irq_work): boolean {
  return (work.flags & IRQ_WORK_BUSY) !== 0;
}
export function irq_work_is_hard(work: irq_work): boolean {
  return (work.flags & IRQ_WORK_HARD_IRQ) !== 0;
}

interface IrqWorkState {
  /** Per-CPU raised_list; llist order (newest first when run). */
  raised: irq_work[][];
}

function st(): IrqWorkState {
  return K.state("irq_work", () => {
    const s: IrqWorkState = { raised: K.sim.cpus.map(() => [] as irq_work[]) };
    register_irq_source({
      name: "IWI",
      prio: IRQ_WORK_VECTOR,
      pending: (cpu) => s.raised[cpu.id]!.length > 0,
      handle: (cpu) => sysvec_irq_work(cpu, s),
    });
    return s;
  });
}

// kernel/irq_work.c: irq_work_claim()
function irq_work_claim(work: irq_work): boolean {
  const oflags = work.flags;
  work.flags |= IRQ_WORK_CLAIMED;
  // If the work is already pending, no need to raise the IPI. The pairing
  // smp_mb() in irq_work_single() makes sure everything we did before is
  // visible.
  return (oflags & IRQ_WORK_PENDING) === 0;
}

// kernel/irq_work.c: irq_work_queue(): enqueue on the current CPU
export function irq_work_queue(work: irq_work): boolean {
  if (!irq_work_claim(work)) return false;
  const s = st();
  const cpu = K.sim.cur;
  const list = s.raised[cpu.id]!;
  list.push(work);
  // arch_irq_work_raise(): the self-IPI is delivered at once if this CPU
  // has interrupts enabled, otherwise when it enables them.
  if (list.length === 1) {
    K.sim.kick(cpu);
    if (!irqs_disabled()) K.sim.window(cpu);
  }
  return true;
}

// kernel/irq_work.c: irq_work_single()
function* irq_work_single(work: irq_work): Frame {
  // Clear the PENDING bit, after this point the @work can be re-used.
  const flags = work.flags & ~IRQ_WORK_PENDING;
  work.flags = flags;
  const r = work.func(work);
  if (r) yield* r;
  // Clear the BUSY bit and return to the free state if no-one else claimed it meanwhile.
  if (work.flags === flags) work.flags = flags & ~IRQ_WORK_BUSY;
}

// arch/x86/kernel/irq_work.c: sysvec_irq_work() -> irq_work_run()
function* sysvec_irq_work(cpu: SimCpu, s: IrqWorkState): Frame {
  arch_irq_stat_inc(cpu, "IWI");
  // irq_work_run_list(): llist_del_all() hands the works out newest first
  const list = s.raised[cpu.id]!.splice(0).reverse();
  for (const work of list) yield* irq_work_single(work);
}

// kernel/irq_work.c: irq_work_sync(): x86 has the IPI, so it busy-waits
export function irq_work_sync(work: irq_work): void {
  might_sleep("kernel/irq_work.c", 0);
  if (irq_work_is_busy(work)) K.sim.spinUntil(() => !irq_work_is_busy(work), Infinity, "irq_work_sync");
}

/** Register the IWI source at boot of the kernel's interrupt entry (idempotent). */
export function irq_work_init(): void {
  st();
}
