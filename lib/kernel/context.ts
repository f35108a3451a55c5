// SPDX-License-Identifier: GPL-2.0-only
// include/linux/preempt.h, irqflags.h, bottom_half.h: preempt_count, the
// context queries and the interrupt flag of the current CPU.
//
// The flag and the count live on the simulated CPU (lib/sim) as the code on it
// sees them; a parked task carries its own copy.

import { K } from "./kernel.ts";
import type { SimCpu } from "../sim/cpu.ts";
import { lockdep_hardirqs_on, lockdep_softirqs_on } from "./lockdep.ts";
import { do_softirq_pending } from "./softirq.ts";

/* include/linux/preempt.h */
export const PREEMPT_BITS = 8;
export const SOFTIRQ_BITS = 8;
export const HARDIRQ_BITS = 4;
export const NMI_BITS = 4;
export const PREEMPT_SHIFT = 0;
export const SOFTIRQ_SHIFT = 8;
export const HARDIRQ_SHIFT = 16;
export const NMI_SHIFT = 20;
export const PREEMPT_MASK = 0x000000ff;
export const SOFTIRQ_MASK = 0x0000ff00;
export const HARDIRQ_MASK = 0x000f0000;
export const NMI_MASK = 0x00f00000;
export const PREEMPT_OFFSET = 1 << PREEMPT_SHIFT;
export const SOFTIRQ_OFFSET = 1 << SOFTIRQ_SHIFT;
export const HARDIRQ_OFFSET = 1 << HARDIRQ_SHIFT;
export const NMI_OFFSET = 1 << NMI_SHIFT;
export const SOFTIRQ_DISABLE_OFFSET = 2 * SOFTIRQ_OFFSET;

/** The CPU executing now. */
export function this_cpu(): SimCpu {
  return K.sim.cur;
}

export function smp_processor_id(): number {
  return K.sim.cur.id;
}

export function raw_smp_processor_id(): number {
  return K.sim.cur.id;
}

export function preempt_count(): number {
  return K.sim.cur.preemptCount;
}

export function hardirq_count(): number {
  return preempt_count() & HARDIRQ_MASK;
}
export function softirq_count(): number {
  return preempt_count() & SOFTIRQ_MASK;
}
export function irq_count(): number {
  return preempt_count() & (NMI_MASK | HARDIRQ_MASK | SOFTIRQ_MASK);
}
export function in_nmi(): boolean {
  return (preempt_count() & NMI_MASK) !== 0;
}
export function in_hardirq(): boolean {
  return hardirq_count() !== 0;
}
/** In softirq context or with bottom halves disabled. */
export function in_softirq(): boolean {
  return softirq_count() !== 0;
}
export function in_serving_softirq(): boolean {
  return (softirq_count() & SOFTIRQ_OFFSET) !== 0;
}
export function in_interrupt(): boolean {
  return irq_count() !== 0;
}
export function in_task(): boolean {
  return (preempt_count() & (NMI_MASK | HARDIRQ_MASK | SOFTIRQ_OFFSET)) === 0;
}
export function in_atomic(): boolean {
  return preempt_count() !== 0;
}
export function preemptible(): boolean {
  return preempt_count() === 0 && !irqs_disabled();
}

export function preempt_count_add(v: number): void {
  K.sim.cur.preemptCount += v;
}
export function preempt_count_sub(v: number): void {
  K.sim.cur.preemptCount -= v;
}

export function preempt_disable(): void {
  K.sim.cur.preemptCount += 1;
}
export function preempt_enable(): void {
  K.sim.cur.preemptCount -= 1;
}
export function preempt_enable_no_resched(): void {
  K.sim.cur.preemptCount -= 1;
}

/* include/linux/irqflags.h. x86 keeps IF in bit 9 of EFLAGS. */
export const X86_EFLAGS_IF = 0x200;

export function irqs_disabled(): boolean {
  return !K.sim.cur.irqsEnabled;
}

export function irqs_disabled_flags(flags: number): boolean {
  return (flags & X86_EFLAGS_IF) === 0;
}

export function raw_local_irq_disable(): void {
  K.sim.setIrqs(K.sim.cur, false);
}

/** Turning interrupts on is an interrupt window: pending interrupts are taken. */
export function raw_local_irq_enable(): void {
  const sim = K.sim;
  const cpu = sim.cur;
  if (!cpu.irqsEnabled) {
    lockdep_hardirqs_on();
    sim.setIrqs(cpu, true);
  }
  sim.window(cpu);
}

export function local_irq_disable(): void {
  raw_local_irq_disable();
}

export function local_irq_enable(): void {
  raw_local_irq_enable();
}

/** unsigned long flags; local_irq_save(flags); */
export function local_irq_save(): number {
  const cpu = K.sim.cur;
  const flags = cpu.irqsEnabled ? X86_EFLAGS_IF : 0;
  K.sim.setIrqs(cpu, false);
  return flags;
}

export function local_irq_restore(flags: number): void {
  if (flags & X86_EFLAGS_IF) raw_local_irq_enable();
  else raw_local_irq_disable();
}

export function local_save_flags(): number {
  return K.sim.cur.irqsEnabled ? X86_EFLAGS_IF : 0;
}

export const raw_local_irq_save = local_irq_save;
export const raw_local_irq_restore = local_irq_restore;

/* include/linux/bottom_half.h */
export function local_bh_disable(): void {
  preempt_count_add(SOFTIRQ_DISABLE_OFFSET);
}

// kernel/softirq.c: __local_bh_enable_ip()
export function local_bh_enable(): void {
  const cpu = K.sim.cur;
  if (softirq_count() === SOFTIRQ_DISABLE_OFFSET) lockdep_softirqs_on();
  cpu.preemptCount -= SOFTIRQ_DISABLE_OFFSET - 1;
  if (!in_interrupt() && !irqs_disabled()) do_softirq_pending(cpu);
  cpu.preemptCount -= 1;
}

/** Short description of the current context for traces and diagnostics. */
export function context_name(): string {
  const pc = preempt_count();
  if (pc & NMI_MASK) return "nmi";
  if (pc & HARDIRQ_MASK) return "hardirq";
  if (pc & SOFTIRQ_OFFSET) return "softirq";
  return K.sim.cur.task ? "task" : "idle";
}
