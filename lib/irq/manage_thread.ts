// SPDX-License-Identifier: GPL-2.0-only
// kernel/irq/manage.c: threaded interrupt handlers (B5, B20-B28): creating
// the irq threads, their main loop, ONESHOT finalisation and forced
// threading.

import { K } from "../kernel/kernel.ts";
import { WARN, WARN_ON, WARN_ON_ONCE } from "../kernel/bug.ts";
import { ENOMEM } from "../kernel/errno.ts";
import { pr_err } from "../kernel/printk.ts";
import { cpu_relax } from "../kernel/delay.ts";
import { raw_spin_lock_irq, raw_spin_unlock_irq, raw_spin_lock_irqsave, raw_spin_unlock_irqrestore } from "../kernel/spinlock.ts";
import { local_bh_disable, local_bh_enable, local_irq_disable, local_irq_enable } from "../kernel/context.ts";
import {
  current,
  schedule,
  set_current_state,
  wake_up_process,
  TASK_INTERRUPTIBLE,
  TASK_RUNNING,
  type task_struct,
} from "../kernel/sched.ts";
import { kthread_create, kthread_should_stop, set_task_cpu } from "../kernel/kthread.ts";
import { wake_up } from "../kernel/wait.ts";
import { cpumask_first, cpu_online } from "../kernel/cpumask.ts";
import { irqd_irq_disabled, irqd_irq_inprogress, irqd_irq_masked } from "./irq.ts";
import {
  irqaction,
  IRQ_HANDLED,
  IRQ_NONE,
  IRQ_WAKE_THREAD,
  IRQF_ONESHOT,
  IRQF_NO_THREAD,
  IRQF_PERCPU,
  IRQTF_AFFINITY,
  IRQTF_FORCED_THREAD,
  IRQTF_READY,
  IRQTF_RUNTHREAD,
  type irqreturn_t,
} from "./interrupt.ts";
import { IRQS_ONESHOT, irq_settings_is_per_cpu_devid } from "./internals.ts";
import { irq_to_desc, type irq_desc } from "./irqdesc.ts";
import { unmask_threaded_irq } from "./chip.ts";
import { __irq_wake_thread } from "./handle.ts";
import { chip_bus_lock, chip_bus_sync_unlock } from "./manage.ts";

const bit = (b: number): number => 1 << b;

function test_and_clear_bit(b: number, a: irqaction): boolean {
  const was = (a.thread_flags & bit(b)) !== 0;
  a.thread_flags &= ~bit(b);
  return was;
}

// kernel/irq/manage.c: irq_default_primary_handler()
export function irq_default_primary_handler(_irq: number, _dev_id: unknown): irqreturn_t {
  return IRQ_WAKE_THREAD;
}

// kernel/irq/manage.c: irq_nested_primary_handler()
export function irq_nested_primary_handler(irq: number, _dev_id: unknown): irqreturn_t {
  WARN(1, "Primary handler called for nested irq %d\n", irq);
  return IRQ_NONE;
}

// kernel/irq/manage.c: irq_forced_secondary_handler()
export function irq_forced_secondary_handler(irq: number, _dev_id: unknown): irqreturn_t {
  WARN(1, "Secondary action handler called for irq %d\n", irq);
  return IRQ_NONE;
}

/** force_irqthreads(): the "threadirqs" boot option. */
function force_irqthreads(): boolean {
  return K.config.threadirqs;
}

// kernel/irq/manage.c: irq_setup_forced_threading() (B5)
export function irq_setup_forced_threading(nw: irqaction): number {
  if (!force_irqthreads()) return 0;
  if (nw.flags & (IRQF_NO_THREAD | IRQF_PERCPU | IRQF_ONESHOT)) return 0;
  // No further action required for interrupts which are requested as
  // threaded interrupts already
  if (nw.handler === irq_default_primary_handler) return 0;
  nw.flags |= IRQF_ONESHOT;
  // Handle the case where we have a real primary handler and a thread
  // handler. We force thread them as well by creating a secondary action.
  if (nw.handler && nw.thread_fn) {
    const sec = new irqaction();
    if (!sec) return -ENOMEM;
    sec.handler = irq_forced_secondary_handler;
    sec.thread_fn = nw.thread_fn;
    sec.dev_id = nw.dev_id;
    sec.irq = nw.irq;
    sec.name = nw.name;
    nw.secondary = sec;
  }
  // Deal with the primary handler
  nw.thread_flags |= bit(IRQTF_FORCED_THREAD);
  const h = nw.handler!;
  nw.thread_fn = (irq, dev) => h(irq, dev);
  Object.defineProperty(nw.thread_fn, "name", { value: h.name });
  nw.handler = irq_default_primary_handler;
  return 0;
}

// kernel/sched/syscalls.c: sched_set_fifo(): SCHED_FIFO at MAX_RT_PRIO / 2.
// The forced secondary thread gets the same priority: its one lower
// (sched_set_fifo_secondary()) is 6.19.
function sched_set_fifo(p: task_struct): void {
  p.policy = "SCHED_FIFO";
  p.rt_priority = MAX_RT_PRIO / 2;
}

/** include/linux/sched/prio.h */
const MAX_RT_PRIO = 100;

// kernel/irq/manage.c: setup_irq_thread()
export function setup_irq_thread(nw: irqaction, irq: number, secondary: boolean): number {
  const t = secondary
    ? kthread_create(irq_thread, nw, "irq/%d-s-%s", irq, nw.name)
    : kthread_create(irq_thread, nw, "irq/%d-%s", irq, nw.name);
  nw.thread = t;
  // Tell the thread to set its affinity. This is important for shared
  // interrupt handlers as we do not invoke setup_affinity() for the
  // secondary handlers as everything is already set up. Even for
  // interrupts marked with IRQF_NO_BALANCE this is correct as we want the
  // thread to move to the cpu(s) on which the requesting code placed the
  // interrupt.
  nw.thread_flags |= bit(IRQTF_AFFINITY);
  return 0;
}

// kernel/irq/manage.c: irq_thread_check_affinity(): follow the effective affinity
function irq_thread_check_affinity(desc: irq_desc, action: irqaction): void {
  if (!test_and_clear_bit(IRQTF_AFFINITY, action)) return;
  const flags = raw_spin_lock_irqsave(desc.lock);
  // This code is triggered unconditionally. Check the affinity mask
  // pointer. For CPU_MASK_OFFSTACK=n this is optimized out.
  const m = desc.irq_common_data.effective_affinity;
  const cpu = cpumask_first(m);
  raw_spin_unlock_irqrestore(desc.lock, flags);
  if (cpu < m.nbits && cpu_online(cpu)) set_task_cpu(current(), cpu);
}

// kernel/irq/manage.c: irq_wait_for_interrupt()
async function irq_wait_for_interrupt(desc: irq_desc, action: irqaction): Promise<number> {
  const me = current();
  for (;;) {
    set_current_state(TASK_INTERRUPTIBLE);
    irq_thread_check_affinity(desc, action);
    if (kthread_should_stop()) {
      // may need to run one last time
      if (test_and_clear_bit(IRQTF_RUNTHREAD, action)) {
        set_current_state(TASK_RUNNING);
        return 0;
      }
      set_current_state(TASK_RUNNING);
      return -1;
    }
    if (test_and_clear_bit(IRQTF_RUNTHREAD, action)) {
      set_current_state(TASK_RUNNING);
      return 0;
    }
    me.waitingOn = `irq thread of irq ${action.irq}`;
    await schedule();
  }
}

// kernel/irq/manage.c: irq_finalize_oneshot()
async function irq_finalize_oneshot(desc: irq_desc, action: irqaction): Promise<void> {
  if (!(desc.istate & IRQS_ONESHOT) || action.handler === irq_forced_secondary_handler) return;
  for (;;) {
    const bl = chip_bus_lock(desc);
    if (bl) await bl;
    raw_spin_lock_irq(desc.lock);
    // The thread is faster done than the hard interrupt handler on the
    // other CPU. If we unmask the irq line then the interrupt can come in
    // again and masks the line, leaves due to IRQS_INPROGRESS and the irq
    // line is masked forever.
    if (irqd_irq_inprogress(desc.irq_data)) {
      raw_spin_unlock_irq(desc.lock);
      const su = chip_bus_sync_unlock(desc);
      if (su) await su;
      cpu_relax();
      continue;
    }
    break;
  }
  // Now check again, whether the thread should run. Otherwise we would
  // clear the threads_oneshot bit of this thread which was just set.
  if (!(action.thread_flags & bit(IRQTF_RUNTHREAD))) {
    desc.threads_oneshot &= ~action.thread_mask;
    if (!desc.threads_oneshot && !irqd_irq_disabled(desc.irq_data) && irqd_irq_masked(desc.irq_data)) unmask_threaded_irq(desc);
  }
  raw_spin_unlock_irq(desc.lock);
  const su = chip_bus_sync_unlock(desc);
  if (su) await su;
}

// kernel/irq/manage.c: irq_thread_fn()
async function irq_thread_fn(desc: irq_desc, action: irqaction): Promise<irqreturn_t> {
  const r = action.thread_fn!(action.irq, action.dev_id);
  const ret = typeof r === "number" ? r : await r;
  if (ret === IRQ_HANDLED) desc.threads_handled++;
  await irq_finalize_oneshot(desc, action);
  return ret;
}

// kernel/irq/manage.c: irq_forced_thread_fn(): a force-threaded handler keeps
// the bh (and, on !PREEMPT_RT, interrupt) disable of hard interrupt context
async function irq_forced_thread_fn(desc: irq_desc, action: irqaction): Promise<irqreturn_t> {
  local_bh_disable();
  local_irq_disable();
  const ret = await irq_thread_fn(desc, action);
  local_irq_enable();
  local_bh_enable();
  return ret;
}

// kernel/irq/manage.c: wake_threads_waitq()
export function wake_threads_waitq(desc: irq_desc): void {
  if (--desc.threads_active === 0) wake_up(desc.wait_for_threads);
}

// kernel/irq/manage.c: irq_wake_secondary()
function irq_wake_secondary(desc: irq_desc, action: irqaction): void {
  const secondary = action.secondary;
  if (WARN_ON_ONCE(!secondary, { fn: "irq_wake_secondary" })) return;
  raw_spin_lock_irq(desc.lock);
  __irq_wake_thread(desc, secondary!);
  raw_spin_unlock_irq(desc.lock);
}

// kernel/irq/manage.c: irq_thread(): the body of irq/N-name
async function irq_thread(action: irqaction): Promise<number> {
  const desc = irq_to_desc(action.irq)!;
  // irq_thread_set_ready()
  action.thread_flags |= bit(IRQTF_READY);
  wake_up(desc.wait_for_threads);
  sched_set_fifo(current());
  const handler_fn = force_irqthreads() && action.thread_flags & bit(IRQTF_FORCED_THREAD) ? irq_forced_thread_fn : irq_thread_fn;
  while (!(await irq_wait_for_interrupt(desc, action))) {
    const action_ret = await handler_fn(desc, action);
    if (action_ret === IRQ_WAKE_THREAD) irq_wake_secondary(desc, action);
    wake_threads_waitq(desc);
  }
  return 0;
}

// kernel/irq/manage.c: irq_wake_thread() (B21)
export function irq_wake_thread(irq: number, dev_id: unknown): void {
  const desc = irq_to_desc(irq);
  if (!desc || WARN_ON(irq_settings_is_per_cpu_devid(desc))) return;
  const flags = raw_spin_lock_irqsave(desc.lock);
  for (let action = desc.action; action; action = action.next) {
    if (action.dev_id === dev_id) {
      if (action.thread) __irq_wake_thread(desc, action);
      break;
    }
  }
  raw_spin_unlock_irqrestore(desc.lock, flags);
}

// kernel/irq/manage.c: irq_set_thread_affinity(): threads follow lazily (B28)
export function irq_set_thread_affinity(desc: irq_desc): void {
  for (let action = desc.action; action; action = action.next) {
    if (action.thread) {
      action.thread_flags |= bit(IRQTF_AFFINITY);
      wake_up_process(action.thread);
    }
    if (action.secondary?.thread) {
      action.secondary.thread_flags |= bit(IRQTF_AFFINITY);
      wake_up_process(action.secondary.thread);
    }
  }
}

/** The irq thread task of an action (for tests and the review tools). */
export function irq_thread_task(action: irqaction): task_struct | null {
  return action.thread;
}

void pr_err;
