// SPDX-License-Identifier: GPL-2.0-only
// include/linux/interrupt.h and include/linux/irqreturn.h: request flags,
// handler return values and struct irqaction.

import type { cpumask } from "../kernel/cpumask.ts";
import type { task_struct } from "../kernel/sched.ts";

/* include/linux/irqreturn.h */
export const IRQ_NONE = 0;
export const IRQ_HANDLED = 1 << 0;
export const IRQ_WAKE_THREAD = 1 << 1;
export type irqreturn_t = number;

/* IRQF_* */
export const IRQF_TRIGGER_NONE = 0x00000000;
export const IRQF_TRIGGER_RISING = 0x00000001;
export const IRQF_TRIGGER_FALLING = 0x00000002;
export const IRQF_TRIGGER_HIGH = 0x00000004;
export const IRQF_TRIGGER_LOW = 0x00000008;
export const IRQF_TRIGGER_MASK = IRQF_TRIGGER_HIGH | IRQF_TRIGGER_LOW | IRQF_TRIGGER_RISING | IRQF_TRIGGER_FALLING;
export const IRQF_TRIGGER_PROBE = 0x00000010;
export const IRQF_SHARED = 0x00000080;
export const IRQF_PROBE_SHARED = 0x00000100;
export const __IRQF_TIMER = 0x00000200;
export const IRQF_PERCPU = 0x00000400;
export const IRQF_NOBALANCING = 0x00000800;
export const IRQF_IRQPOLL = 0x00001000;
export const IRQF_ONESHOT = 0x00002000;
export const IRQF_NO_SUSPEND = 0x00004000;
export const IRQF_FORCE_RESUME = 0x00008000;
export const IRQF_NO_THREAD = 0x00010000;
export const IRQF_EARLY_RESUME = 0x00020000;
export const IRQF_COND_SUSPEND = 0x00040000;
export const IRQF_NO_AUTOEN = 0x00080000;
export const IRQF_NO_DEBUG = 0x00100000;
export const IRQF_COND_ONESHOT = 0x00200000;
export const IRQF_TIMER = __IRQF_TIMER | IRQF_NO_SUSPEND | IRQF_NO_THREAD;

/** IRQ_NOTCONNECTED: (1U << 31) */
export const IRQ_NOTCONNECTED = 0x80000000;

/* request_any_context_irq() results */
export const IRQC_IS_HARDIRQ = 0;
export const IRQC_IS_NESTED = 1;

/* kernel/irq/internals.h: thread flags */
export const IRQTF_RUNTHREAD = 0;
export const IRQTF_WARNED = 1;
export const IRQTF_AFFINITY = 2;
export const IRQTF_FORCED_THREAD = 3;
export const IRQTF_READY = 4;

export type irq_handler_t = (irq: number, dev_id: unknown) => irqreturn_t;
/** A thread function may sleep: it may return a promise. */
export type irq_thread_fn_t = (irq: number, dev_id: unknown) => irqreturn_t | Promise<irqreturn_t>;

/** struct irqaction */
export class irqaction {
  handler: irq_handler_t | null = null;
  dev_id: unknown = null;
  percpu_dev_id: unknown = null;
  next: irqaction | null = null;
  thread_fn: irq_thread_fn_t | null = null;
  thread: task_struct | null = null;
  secondary: irqaction | null = null;
  irq = 0;
  flags = 0;
  /** Bit numbers IRQTF_* */
  thread_flags = 0;
  /** One bit of a BITS_PER_LONG (64 on x86-64) wide mask. */
  thread_mask = 0n;
  name: string | null = null;
  /** Per-CPU actions: the CPUs it serves. */
  affinity: cpumask | null = null;
}

/** struct irq_affinity_desc */
export interface irq_affinity_desc {
  mask: cpumask;
  is_managed: boolean;
}

/** struct irq_affinity_notify */
export interface irq_affinity_notify {
  irq: number;
  notify: (notify: irq_affinity_notify, mask: cpumask) => void;
  release: (notify: irq_affinity_notify) => void;
}
