// SPDX-License-Identifier: GPL-2.0-only
// kernel/irq/manage.c: interrupt affinity (B28-B34): irq_set_affinity()
// and friends, irq_do_set_affinity(), default placement, hints, notifiers.
// These take desc->lock only, never the bus lock, and are callable from
// atomic context.

import { K } from "../kernel/kernel.ts";
import { EBUSY, EINVAL, ENOSYS, EOPNOTSUPP } from "../kernel/errno.ts";
import { pr_warn_once } from "../kernel/printk.ts";
import { WARN_ON } from "../kernel/bug.ts";
import { lock_is_held } from "../kernel/lockdep.ts";
import {
  cpumask,
  cpumask_and,
  cpumask_copy,
  cpumask_empty,
  cpumask_intersects,
  cpu_online_mask,
  cpu_possible_mask,
  nr_cpu_ids,
} from "../kernel/cpumask.ts";
import { raw_spinlock_t, raw_spin_lock, raw_spin_unlock, raw_spin_lock_irqsave, raw_spin_unlock_irqrestore } from "../kernel/spinlock.ts";
import { might_sleep } from "../kernel/sched.ts";
import { INIT_WORK, schedule_work, cancel_work_sync, type work_struct } from "../kernel/workqueue.ts";
import {
  irqd_affinity_is_managed,
  irqd_affinity_on_activate,
  irqd_can_balance,
  irqd_is_activated,
  irqd_is_setaffinity_pending,
  irqd_set,
  IRQ_SET_MASK_OK,
  IRQ_SET_MASK_OK_DONE,
  IRQ_SET_MASK_OK_NOCOPY,
  IRQCHIP_MOVE_DEFERRED,
  IRQD_AFFINITY_SET,
  IRQD_SETAFFINITY_PENDING,
  irqd_affinity_was_set,
  irqd_clear,
  type irq_data,
} from "./irq.ts";
import type { irq_affinity_desc, irq_affinity_notify } from "./interrupt.ts";
import { IRQS_NMI } from "./internals.ts";
import { irq_get_desc_checked, irq_to_desc, IRQ_GET_DESC_CHECK_GLOBAL, type irq_desc } from "./irqdesc.ts";
import { irq_set_thread_affinity } from "./manage_thread.ts";

interface AffState {
  irq_default_affinity: cpumask;
  mask_lock: raw_spinlock_t;
  mask: cpumask;
  notify_work: WeakMap<irq_affinity_notify, work_struct>;
}

function as(): AffState {
  return K.state("irq_affinity", () => {
    const def = new cpumask();
    cpumask_copy(def, cpu_possible_mask());
    return {
      irq_default_affinity: def,
      mask_lock: new raw_spinlock_t("mask_lock"),
      mask: new cpumask(),
      notify_work: new WeakMap(),
    };
  });
}

/** irq_default_affinity: where unmanaged interrupts go by default. */
export function irq_default_affinity(): cpumask {
  return as().irq_default_affinity;
}

function desc_of(d: irq_data): irq_desc {
  return irq_to_desc(d.irq)!;
}

// kernel/irq/manage.c: __irq_can_set_affinity()
function __irq_can_set_affinity(desc: irq_desc | null): boolean {
  return !(!desc || !irqd_can_balance(desc.irq_data) || !desc.irq_data.chip || !desc.irq_data.chip.irq_set_affinity);
}

export function irq_can_set_affinity(irq: number): boolean {
  return __irq_can_set_affinity(irq_to_desc(irq));
}

// kernel/irq/manage.c: irq_can_set_affinity_usr(): managed interrupts are not for user space
export function irq_can_set_affinity_usr(irq: number): boolean {
  const desc = irq_to_desc(irq);
  return __irq_can_set_affinity(desc) && !irqd_affinity_is_managed(desc!.irq_data);
}

// kernel/irq/manage.c: irq_validate_effective_affinity()
function irq_validate_effective_affinity(data: irq_data): void {
  if (!cpumask_empty(data.common.effective_affinity)) return;
  pr_warn_once("genirq: irq_chip %s did not update eff. affinity mask of irq %u\n", data.chip.name, data.irq);
}

// kernel/irq/manage.c: irq_do_set_affinity() (B30)
export function irq_do_set_affinity(data: irq_data, mask: cpumask, force: boolean): number {
  const desc = desc_of(data);
  const chip = data.chip;
  if (!chip || !chip.irq_set_affinity) return -EINVAL;
  // No housekeeping isolation in irqlab: prog_mask = mask.
  const prog_mask = mask;
  let ret: number;
  if (!force) {
    const tmp = new cpumask(nr_cpu_ids());
    cpumask_and(tmp, prog_mask, cpu_online_mask());
    if (cpumask_empty(tmp)) ret = -EINVAL;
    else ret = chip.irq_set_affinity(data, tmp, force);
  } else {
    ret = chip.irq_set_affinity(data, mask, force);
  }
  if (ret === IRQ_SET_MASK_OK || ret === IRQ_SET_MASK_OK_DONE || ret === IRQ_SET_MASK_OK_NOCOPY) {
    if (ret !== IRQ_SET_MASK_OK_NOCOPY) cpumask_copy(desc.irq_common_data.affinity, mask);
    irq_validate_effective_affinity(data);
    irq_set_thread_affinity(desc);
    ret = 0;
  }
  return ret;
}

// kernel/irq/manage.c: irq_set_affinity_pending()
function irq_set_affinity_pending(data: irq_data, dest: cpumask): number {
  irqd_set(data, IRQD_SETAFFINITY_PENDING);
  cpumask_copy(desc_of(data).pending_mask, dest);
  return 0;
}

// kernel/irq/manage.c: irq_try_set_affinity()
function irq_try_set_affinity(data: irq_data, dest: cpumask, force: boolean): number {
  const ret = irq_do_set_affinity(data, dest, force);
  // In case that the underlying vector management is busy and the
  // architecture supports the generic pending mechanism then utilize this
  // to avoid returning an error to user space.
  if (ret === -EBUSY && !force) return irq_set_affinity_pending(data, dest);
  return ret;
}

// kernel/irq/manage.c: irq_set_affinity_deactivated()
function irq_set_affinity_deactivated(data: irq_data, mask: cpumask): boolean {
  const desc = desc_of(data);
  // Handle irq chips which can handle affinity only in activated state
  // correctly. If the interrupt is not yet activated, just store the
  // affinity mask and do not call the chip driver at all. On activation
  // the driver has to make sure anyway that the interrupt is in a usable
  // state so startup works.
  if (irqd_is_activated(data) || !irqd_affinity_on_activate(data)) return false;
  cpumask_copy(desc.irq_common_data.affinity, mask);
  cpumask_copy(data.common.effective_affinity, mask);
  irqd_set(data, IRQD_AFFINITY_SET);
  return true;
}

// kernel/irq/internals.h: irq_can_move_in_process_context()
function irq_can_move_in_process_context(data: irq_data): boolean {
  return !((data.chip.flags ?? 0) & IRQCHIP_MOVE_DEFERRED);
}

// kernel/irq/manage.c: irq_set_affinity_locked(); desc->lock held
export function irq_set_affinity_locked(data: irq_data, mask: cpumask, force: boolean): number {
  const chip = data.chip;
  const desc = desc_of(data);
  let ret = 0;
  if (!chip || !chip.irq_set_affinity) return -EINVAL;
  if (irq_set_affinity_deactivated(data, mask)) return 0;
  if (irq_can_move_in_process_context(data) && !irqd_is_setaffinity_pending(data)) {
    ret = irq_try_set_affinity(data, mask, force);
  } else {
    irqd_set(data, IRQD_SETAFFINITY_PENDING);
    cpumask_copy(desc.pending_mask, mask);
  }
  if (desc.affinity_notify) irq_affinity_schedule_notify_work(desc);
  irqd_set(data, IRQD_AFFINITY_SET);
  return ret;
}

// kernel/irq/manage.c: __irq_set_affinity()
function __irq_set_affinity(irq: number, mask: cpumask, force: boolean): number {
  const desc = irq_to_desc(irq);
  if (!desc) return -EINVAL;
  const flags = raw_spin_lock_irqsave(desc.lock);
  const ret = irq_set_affinity_locked(desc.irq_data, mask, force);
  raw_spin_unlock_irqrestore(desc.lock, flags);
  return ret;
}

/** irq_set_affinity(): set the affinity of an interrupt; callable from atomic context. */
export function irq_set_affinity(irq: number, cpumask: cpumask): number {
  return __irq_set_affinity(irq, cpumask, false);
}

/** irq_force_affinity(): also to offline CPUs (CPU hotplug). */
export function irq_force_affinity(irq: number, cpumask: cpumask): number {
  return __irq_set_affinity(irq, cpumask, true);
}

// kernel/irq/manage.c: irq_setup_affinity() (B31); desc->lock held
export function irq_setup_affinity(desc: irq_desc): number {
  const s = as();
  const d = desc.irq_data;
  const node = desc.irq_common_data.node;
  // Don't setup affinity for non-balanced or chips without affinity setters
  if (!__irq_can_set_affinity(desc)) return 0;
  raw_spin_lock(s.mask_lock);
  let set = s.irq_default_affinity;
  // Preserve the managed affinity setting and a userspace affinity setup,
  // but make sure that one of the targets is online.
  if (irqd_affinity_is_managed(d) || irqd_affinity_was_set(d)) {
    if (cpumask_intersects(desc.irq_common_data.affinity, cpu_online_mask())) set = desc.irq_common_data.affinity;
    else irqd_clear(d, IRQD_AFFINITY_SET);
  }
  cpumask_and(s.mask, cpu_online_mask(), set);
  if (cpumask_empty(s.mask)) cpumask_copy(s.mask, cpu_online_mask());
  // Single NUMA node in irqlab: nothing to restrict for `node`.
  void node;
  const ret = irq_do_set_affinity(d, s.mask, false);
  raw_spin_unlock(s.mask_lock);
  return ret;
}

// kernel/irq/manage.c: irq_affinity_schedule_notify_work(); desc->lock held, affinity_notify set.
// The kref the kernel takes for the queued work has no counterpart: the
// notifier object lives as long as JavaScript references it.
export function irq_affinity_schedule_notify_work(desc: irq_desc): void {
  if (K.config.lockdep && K.debug_locks) WARN_ON(!lock_is_held(desc.lock.dep_map), { fn: "irq_affinity_schedule_notify_work", file: "kernel/irq/manage.c" });
  schedule_work(notify_work(desc.affinity_notify!));
}

/* ------------------------------------------------------ notifiers, hints */

function notify_work(notify: irq_affinity_notify): work_struct {
  const s = as();
  let w = s.notify_work.get(notify);
  if (!w) {
    // kernel/irq/manage.c: irq_affinity_notify()
    w = INIT_WORK(() => {
      const desc = irq_to_desc(notify.irq);
      if (!desc) return;
      const m = new cpumask();
      const flags = raw_spin_lock_irqsave(desc.lock);
      if (irqd_is_setaffinity_pending(desc.irq_data)) cpumask_copy(m, desc.pending_mask);
      else cpumask_copy(m, desc.irq_common_data.affinity);
      raw_spin_unlock_irqrestore(desc.lock, flags);
      notify.notify(notify, m);
    });
    s.notify_work.set(notify, w);
  }
  return w;
}

// kernel/irq/manage.c: irq_set_affinity_notifier()
export async function irq_set_affinity_notifier(irq: number, notify: irq_affinity_notify | null): Promise<number> {
  might_sleep("kernel/irq/manage.c", 0);
  const desc = irq_to_desc(irq);
  if (!desc || desc.istate & IRQS_NMI) return -EINVAL;
  if (notify) notify.irq = irq;
  const flags = raw_spin_lock_irqsave(desc.lock);
  const old = desc.affinity_notify;
  desc.affinity_notify = notify;
  raw_spin_unlock_irqrestore(desc.lock, flags);
  if (old) {
    await cancel_work_sync(notify_work(old));
    old.release(old);
  }
  return 0;
}

// kernel/irq/manage.c: __irq_apply_affinity_hint()
export function __irq_apply_affinity_hint(irq: number, m: cpumask | null, setaffinity: boolean): number {
  const desc = irq_get_desc_checked(irq, IRQ_GET_DESC_CHECK_GLOBAL);
  if (!desc) return -EINVAL;
  const flags = raw_spin_lock_irqsave(desc.lock);
  desc.affinity_hint = m;
  raw_spin_unlock_irqrestore(desc.lock, flags);
  if (m && setaffinity) __irq_set_affinity(irq, m, false);
  return 0;
}

export function irq_update_affinity_hint(irq: number, m: cpumask | null): number {
  return __irq_apply_affinity_hint(irq, m, false);
}
export function irq_set_affinity_and_hint(irq: number, m: cpumask | null): number {
  return __irq_apply_affinity_hint(irq, m, true);
}
/** Deprecated alias of irq_set_affinity_and_hint(). */
export const irq_set_affinity_hint = irq_set_affinity_and_hint;

/** irq_update_affinity_desc(): not on x86 (CONFIG_GENERIC_IRQ_RESERVATION_MODE). */
export function irq_update_affinity_desc(_irq: number, _affinity: irq_affinity_desc): number {
  return -EOPNOTSUPP;
}

// kernel/irq/manage.c: irq_set_vcpu_affinity()
export function irq_set_vcpu_affinity(irq: number, vcpu_info: unknown): number {
  const desc = irq_to_desc(irq);
  if (!desc) return -EINVAL;
  const flags = raw_spin_lock_irqsave(desc.lock);
  let ret = -ENOSYS;
  for (let d: irq_data | null = desc.irq_data; d; d = d.parent_data) {
    if (d.chip.irq_set_vcpu_affinity) {
      ret = d.chip.irq_set_vcpu_affinity(d, vcpu_info);
      break;
    }
  }
  raw_spin_unlock_irqrestore(desc.lock, flags);
  return ret;
}

void irqd_clear;
