// SPDX-License-Identifier: GPL-2.0-only
// kernel/irq/chip.c: the flow handlers (A1-A15).
//
// Flow handlers are generators: they yield where a CPU would wait (a
// contended desc->lock, a handler's busy time, an interrupt in progress on
// another CPU), so the simulator can run other CPUs meanwhile. They hold
// desc->lock as the kernel's guard(raw_spinlock) does: taken at entry,
// dropped around the actions by handle_irq_event(), released on every exit.

import type { Wait } from "../sim/cpu.ts";
import { K } from "../kernel/kernel.ts";
import { WARN_ONCE } from "../kernel/bug.ts";
import { smp_processor_id } from "../kernel/context.ts";
import { cpumask_first } from "../kernel/cpumask.ts";
import { raw_spin_lock_y, raw_spin_unlock, raw_spin_lock_irq, raw_spin_unlock_irq } from "../kernel/spinlock.ts";
import { pr_err_once } from "../kernel/printk.ts";
import { site_of } from "../kernel/stacktrace.ts";
import { might_sleep } from "../kernel/sched.ts";
import {
  irqd_irq_disabled,
  irqd_irq_inprogress,
  irqd_irq_masked,
  irqd_is_single_target,
  irqd_needs_resend_when_in_progress,
  irqd_set,
  IRQD_IRQ_INPROGRESS,
  IRQD_IRQ_MASKED,
  IRQD_WAKEUP_ARMED,
  irqd_clear,
  type irq_chip,
} from "./irq.ts";
import { IRQ_NONE, type irqreturn_t } from "./interrupt.ts";
import { IRQS_ONESHOT, IRQS_PENDING, IRQS_POLL_INPROGRESS, IRQS_REPLAY, IRQS_WAITING, irq_settings_no_debug } from "./internals.ts";
import { __kstat_incr_irqs_this_cpu, irq_to_desc, kstat_incr_irqs_this_cpu, type irq_desc } from "./irqdesc.ts";
import { cond_eoi_irq, cond_unmask_eoi_irq, cond_unmask_irq, irq_percpu_disable, mask_irq, unmask_irq } from "./chip.ts";
import { __handle_irq_event_percpu, handle_irq_event, handle_irq_event_percpu } from "./handle.ts";
import { check_irq_resend } from "./resend.ts";
import { irq_pm_handle_wakeup } from "./pm.ts";
import { irq_poll_cpu, note_interrupt } from "./spurious.ts";
import { wake_threads_waitq } from "./manage_thread.ts";

type FlowGen = Generator<Wait, void, void>;

// The _RET_IP_ of each raw_spin_lock(&desc->lock) below, for lockdep's "at:"
const handle_edge_irq_ip = site_of(handle_edge_irq);
const handle_fasteoi_ack_irq_ip = site_of(handle_fasteoi_ack_irq);
const handle_fasteoi_irq_ip = site_of(handle_fasteoi_irq);
const handle_fasteoi_mask_irq_ip = site_of(handle_fasteoi_mask_irq);
const handle_level_irq_ip = site_of(handle_level_irq);
const handle_simple_irq_ip = site_of(handle_simple_irq);
const handle_untracked_irq_ip = site_of(handle_untracked_irq);
const irq_wait_on_inprogress_ip = site_of(irq_wait_on_inprogress);

// kernel/irq/chip.c: mask_ack_irq()
export function mask_ack_irq(desc: irq_desc): void {
  const chip = desc.irq_data.chip;
  if (chip.irq_mask_ack) {
    chip.irq_mask_ack(desc.irq_data);
    irqd_set(desc.irq_data, IRQD_IRQ_MASKED);
  } else {
    mask_irq(desc);
    if (chip.irq_ack) chip.irq_ack(desc.irq_data);
  }
}

// kernel/irq/chip.c: irq_wait_on_inprogress() (A3); called and returns with desc->lock held
function* irq_wait_on_inprogress(desc: irq_desc): Generator<Wait, boolean, void> {
  const d = desc.irq_data;
  do {
    raw_spin_unlock(desc.lock);
    while (irqd_irq_inprogress(d)) yield { cond: () => !irqd_irq_inprogress(d), what: `irq ${d.irq} in progress elsewhere` };
    yield* raw_spin_lock_y(desc.lock, 0, irq_wait_on_inprogress_ip);
  } while (irqd_irq_inprogress(d));
  // Might have been disabled in meantime
  return !irqd_irq_disabled(d) && desc.action !== null;
}

// kernel/irq/chip.c: irq_can_handle_pm() (A2)
function* irq_can_handle_pm(desc: irq_desc): Generator<Wait, boolean, void> {
  const irqd = desc.irq_data;
  const st = irqd.common.state_use_accessors;
  if (!(st & (IRQD_IRQ_INPROGRESS | IRQD_WAKEUP_ARMED))) return true;
  if (st & IRQD_WAKEUP_ARMED) {
    irq_pm_handle_wakeup(desc);
    return false;
  }
  // Check whether the interrupt is polled on another CPU
  if (desc.istate & IRQS_POLL_INPROGRESS) {
    if (WARN_ONCE(irq_poll_cpu() === smp_processor_id(), "irq poll in progress on cpu %d for irq %d\n", smp_processor_id(), irqd.irq)) return false;
    return yield* irq_wait_on_inprogress(desc);
  }
  // The below works only for single target interrupts
  if (!irqd_is_single_target(irqd) || desc.handle_irq !== handle_edge_irq) return false;
  // If the interrupt affinity was moved to this CPU and the interrupt is
  // currently handled on the previous target CPU, then busy wait for
  // INPROGRESS to be cleared (the migrated-edge live lock fix).
  if (cpumask_first(irqd.common.effective_affinity) !== smp_processor_id()) return false;
  return yield* irq_wait_on_inprogress(desc);
}

/** irq_can_handle_pm() without the generator on the common path. */
function pm_fast(desc: irq_desc): boolean | null {
  return desc.irq_common_data.state_use_accessors & (IRQD_IRQ_INPROGRESS | IRQD_WAKEUP_ARMED) ? null : true;
}

// kernel/irq/chip.c: irq_can_handle_actions() (A4)
function irq_can_handle_actions(desc: irq_desc): boolean {
  desc.istate &= ~(IRQS_REPLAY | IRQS_WAITING);
  if (!desc.action || irqd_irq_disabled(desc.irq_data)) {
    desc.istate |= IRQS_PENDING;
    return false;
  }
  return true;
}

// kernel/irq/chip.c: irq_can_handle()
function* irq_can_handle(desc: irq_desc): Generator<Wait, boolean, void> {
  let pm = pm_fast(desc);
  if (pm === null) pm = yield* irq_can_handle_pm(desc);
  return pm && irq_can_handle_actions(desc);
}

// kernel/irq/chip.c: handle_simple_irq() (A8)
export function* handle_simple_irq(desc: irq_desc): FlowGen {
  yield* raw_spin_lock_y(desc.lock, 0, handle_simple_irq_ip);
  try {
    let pm = pm_fast(desc);
    if (pm === null) pm = yield* irq_can_handle_pm(desc);
    if (!pm) {
      if (irqd_needs_resend_when_in_progress(desc.irq_data)) desc.istate |= IRQS_PENDING;
      return;
    }
    if (!irq_can_handle_actions(desc)) return;
    kstat_incr_irqs_this_cpu(desc);
    yield* handle_irq_event(desc);
  } finally {
    raw_spin_unlock(desc.lock);
  }
}

// kernel/irq/chip.c: handle_untracked_irq() (A9)
export function* handle_untracked_irq(desc: irq_desc): FlowGen {
  yield* raw_spin_lock_y(desc.lock, 0, handle_untracked_irq_ip);
  try {
    if (!(yield* irq_can_handle(desc))) return;
    desc.istate &= ~IRQS_PENDING;
    irqd_set(desc.irq_data, IRQD_IRQ_INPROGRESS);
  } finally {
    raw_spin_unlock(desc.lock);
  }
  yield* __handle_irq_event_percpu(desc);
  yield* raw_spin_lock_y(desc.lock, 0, handle_untracked_irq_ip);
  irqd_clear(desc.irq_data, IRQD_IRQ_INPROGRESS);
  raw_spin_unlock(desc.lock);
}

// kernel/irq/chip.c: handle_level_irq() (A10)
export function* handle_level_irq(desc: irq_desc): FlowGen {
  yield* raw_spin_lock_y(desc.lock, 0, handle_level_irq_ip);
  try {
    mask_ack_irq(desc);
    if (!(yield* irq_can_handle(desc))) return;
    kstat_incr_irqs_this_cpu(desc);
    yield* handle_irq_event(desc);
    cond_unmask_irq(desc);
  } finally {
    raw_spin_unlock(desc.lock);
  }
}

// kernel/irq/chip.c: handle_fasteoi_irq() (A11)
export function* handle_fasteoi_irq(desc: irq_desc): FlowGen {
  const chip = desc.irq_data.chip;
  yield* raw_spin_lock_y(desc.lock, 0, handle_fasteoi_irq_ip);
  try {
    // When an affinity change races with IRQ handling, the next interrupt
    // can arrive on the new CPU before the original CPU has completed
    // handling the previous one - it may need to be resent.
    let pm = pm_fast(desc);
    if (pm === null) pm = yield* irq_can_handle_pm(desc);
    if (!pm) {
      if (irqd_needs_resend_when_in_progress(desc.irq_data)) desc.istate |= IRQS_PENDING;
      cond_eoi_irq(chip, desc.irq_data);
      return;
    }
    if (!irq_can_handle_actions(desc)) {
      mask_irq(desc);
      cond_eoi_irq(chip, desc.irq_data);
      return;
    }
    kstat_incr_irqs_this_cpu(desc);
    if (desc.istate & IRQS_ONESHOT) mask_irq(desc);
    yield* handle_irq_event(desc);
    cond_unmask_eoi_irq(desc, chip);
    // When the race described above happens this will resend the interrupt.
    if (desc.istate & IRQS_PENDING) check_irq_resend(desc, false);
  } finally {
    raw_spin_unlock(desc.lock);
  }
}

// kernel/irq/chip.c: handle_edge_irq() (A12)
export function* handle_edge_irq(desc: irq_desc): FlowGen {
  yield* raw_spin_lock_y(desc.lock, 0, handle_edge_irq_ip);
  try {
    if (!(yield* irq_can_handle(desc))) {
      desc.istate |= IRQS_PENDING;
      mask_ack_irq(desc);
      return;
    }
    kstat_incr_irqs_this_cpu(desc);
    // Start handling the irq
    desc.irq_data.chip.irq_ack!(desc.irq_data);
    do {
      if (!desc.action) {
        mask_irq(desc);
        return;
      }
      // When another irq arrived while we were handling one, we could have
      // masked the irq. Reenable it, if it was not disabled in meantime.
      if (desc.istate & IRQS_PENDING) {
        if (!irqd_irq_disabled(desc.irq_data) && irqd_irq_masked(desc.irq_data)) unmask_irq(desc);
      }
      yield* handle_irq_event(desc);
    } while (desc.istate & IRQS_PENDING && !irqd_irq_disabled(desc.irq_data));
  } finally {
    raw_spin_unlock(desc.lock);
  }
}

// kernel/irq/chip.c: handle_fasteoi_ack_irq() (A14)
export function* handle_fasteoi_ack_irq(desc: irq_desc): FlowGen {
  const chip = desc.irq_data.chip;
  yield* raw_spin_lock_y(desc.lock, 0, handle_fasteoi_ack_irq_ip);
  try {
    let pm = pm_fast(desc);
    if (pm === null) pm = yield* irq_can_handle_pm(desc);
    if (!pm) {
      cond_eoi_irq(chip, desc.irq_data);
      return;
    }
    if (!irq_can_handle_actions(desc)) {
      mask_irq(desc);
      cond_eoi_irq(chip, desc.irq_data);
      return;
    }
    kstat_incr_irqs_this_cpu(desc);
    if (desc.istate & IRQS_ONESHOT) mask_irq(desc);
    desc.irq_data.chip.irq_ack!(desc.irq_data);
    yield* handle_irq_event(desc);
    cond_unmask_eoi_irq(desc, chip);
  } finally {
    raw_spin_unlock(desc.lock);
  }
}

// kernel/irq/chip.c: handle_fasteoi_mask_irq() (A14)
export function* handle_fasteoi_mask_irq(desc: irq_desc): FlowGen {
  const chip = desc.irq_data.chip;
  yield* raw_spin_lock_y(desc.lock, 0, handle_fasteoi_mask_irq_ip);
  try {
    mask_ack_irq(desc);
    if (!(yield* irq_can_handle(desc))) {
      cond_eoi_irq(chip, desc.irq_data);
      return;
    }
    kstat_incr_irqs_this_cpu(desc);
    yield* handle_irq_event(desc);
    cond_unmask_eoi_irq(desc, chip);
  } finally {
    raw_spin_unlock(desc.lock);
  }
}

// kernel/irq/chip.c: handle_percpu_irq() (A15): no lock, no tot_count
export function* handle_percpu_irq(desc: irq_desc): FlowGen {
  const chip = desc.irq_data.chip;
  // PER CPU interrupts are not serialized. Do not touch desc->tot_count.
  __kstat_incr_irqs_this_cpu(desc);
  if (chip.irq_ack) chip.irq_ack(desc.irq_data);
  yield* handle_irq_event_percpu(desc);
  if (chip.irq_eoi) chip.irq_eoi(desc.irq_data);
}

// kernel/irq/chip.c: handle_percpu_devid_irq() (A15)
export function* handle_percpu_devid_irq(desc: irq_desc): FlowGen {
  const chip = desc.irq_data.chip;
  const irq = desc.irq_data.irq;
  const cpu = smp_processor_id();
  __kstat_incr_irqs_this_cpu(desc);
  if (chip.irq_ack) chip.irq_ack(desc.irq_data);
  let action = desc.action;
  while (action && !(action.affinity?.test(cpu) ?? true)) action = action.next;
  if (action) {
    const trace = K.sim.trace;
    if (trace.on) trace.emit("irq_handler_entry", { irq, name: action.name ?? "" });
    const res = action.handler!(irq, action.percpu_dev_id);
    if (trace.on) trace.emit("irq_handler_exit", { irq, ret: res & 1 ? "handled" : "unhandled" });
  } else {
    const enabled = desc.percpu_enabled?.test(cpu) ?? false;
    if (enabled) irq_percpu_disable(desc, cpu);
    pr_err_once("Spurious%s percpu IRQ%u on CPU%u\n", enabled ? " and unmasked" : "", irq, cpu);
  }
  if (chip.irq_eoi) chip.irq_eoi(desc.irq_data);
  yield* [];
}

// kernel/irq/chip.c: handle_nested_irq() (A15): thread context, may sleep
export async function handle_nested_irq(irq: number): Promise<void> {
  const desc = irq_to_desc(irq);
  if (!desc) return;
  might_sleep("kernel/irq/chip.c", 0);
  raw_spin_lock_irq(desc.lock);
  if (!irq_can_handle_actions(desc)) {
    raw_spin_unlock_irq(desc.lock);
    return;
  }
  kstat_incr_irqs_this_cpu(desc);
  desc.threads_active++;
  raw_spin_unlock_irq(desc.lock);
  let action_ret: irqreturn_t = IRQ_NONE;
  for (let action = desc.action; action; action = action.next) {
    const r = action.thread_fn!(action.irq, action.dev_id);
    action_ret |= typeof r === "number" ? r : await r;
  }
  if (!irq_settings_no_debug(desc)) note_interrupt(desc, action_ret);
  wake_threads_waitq(desc);
}

// include/linux/irqchip/chained_irq.h: chained_irq_enter()
export function chained_irq_enter(chip: irq_chip, desc: irq_desc): void {
  // FastEOI controllers require no action on entry.
  if (chip.irq_eoi) return;
  if (chip.irq_mask_ack) {
    chip.irq_mask_ack(desc.irq_data);
  } else {
    chip.irq_mask!(desc.irq_data);
    if (chip.irq_ack) chip.irq_ack(desc.irq_data);
  }
}

// include/linux/irqchip/chained_irq.h: chained_irq_exit()
export function chained_irq_exit(chip: irq_chip, desc: irq_desc): void {
  if (chip.irq_eoi) chip.irq_eoi(desc.irq_data);
  else chip.irq_unmask!(desc.irq_data);
}
