// SPDX-License-Identifier: GPL-2.0-only
// kernel/irq/resend.c: replaying interrupts that arrived while disabled,
// by hardware retrigger or by the software resend tasklet (A36-A39).

import { K } from "../kernel/kernel.ts";
import { EBUSY, EINVAL } from "../kernel/errno.ts";
import { raw_spinlock_t, raw_spin_lock, raw_spin_unlock, raw_spin_lock_irq, raw_spin_unlock_irq } from "../kernel/spinlock.ts";
import { tasklet_struct, tasklet_schedule } from "../kernel/softirq.ts";
import { drive_sync } from "../kernel/frame.ts";
import { irqd_is_activated, irqd_is_handle_enforce_irqctx, IRQCHIP_STATE_PENDING } from "./irq.ts";
import { IRQS_NMI, IRQS_PENDING, IRQS_REPLAY, irq_settings_is_level, irq_settings_is_nested_thread } from "./internals.ts";
import { irq_to_desc, type irq_desc } from "./irqdesc.ts";
import { irq_chip_retrigger_hierarchy } from "./chip.ts";
import { irq_set_irqchip_state, irq_get_desc_buslock, irq_put_desc_busunlock } from "./manage.ts";

interface ResendState {
  list: irq_desc[];
  lock: raw_spinlock_t;
  tasklet: tasklet_struct;
}

function rs(): ResendState {
  return K.state("irq_resend", () => ({
    list: [] as irq_desc[],
    lock: new raw_spinlock_t("irq_resend_lock"),
    tasklet: new tasklet_struct(resend_irqs),
  }));
}

// kernel/irq/resend.c: resend_irqs(): the tasklet runs the flow handlers
function resend_irqs(_t: tasklet_struct): void {
  const s = rs();
  raw_spin_lock_irq(s.lock);
  while (s.list.length > 0) {
    const desc = s.list.shift()!;
    raw_spin_unlock(s.lock);
    const r = desc.handle_irq(desc);
    if (r) drive_sync(r);
    raw_spin_lock(s.lock);
  }
  raw_spin_unlock_irq(s.lock);
}

// kernel/irq/resend.c: irq_sw_resend()
function irq_sw_resend(desc: irq_desc): number {
  // Validate whether this interrupt can be safely injected from non interrupt context
  if (irqd_is_handle_enforce_irqctx(desc.irq_data)) return -EINVAL;
  // If the interrupt is running in the thread context of the parent irq we
  // need to be careful, because we cannot trigger it directly.
  if (irq_settings_is_nested_thread(desc)) {
    if (!desc.parent_irq) return -EINVAL;
    const p = irq_to_desc(desc.parent_irq);
    if (!p) return -EINVAL;
    desc = p;
  }
  const s = rs();
  raw_spin_lock(s.lock);
  // hlist_add_head(): the resend list is LIFO
  if (!s.list.includes(desc)) s.list.unshift(desc);
  raw_spin_unlock(s.lock);
  tasklet_schedule(s.tasklet);
  return 0;
}

// kernel/irq/resend.c: clear_irq_resend()
export function clear_irq_resend(desc: irq_desc): void {
  const s = rs();
  raw_spin_lock(s.lock);
  const i = s.list.indexOf(desc);
  if (i >= 0) s.list.splice(i, 1);
  raw_spin_unlock(s.lock);
}

// kernel/irq/resend.c: try_retrigger()
function try_retrigger(desc: irq_desc): number {
  const d = desc.irq_data;
  if (d.chip.irq_retrigger) return d.chip.irq_retrigger(d);
  return irq_chip_retrigger_hierarchy(d);
}

// kernel/irq/resend.c: check_irq_resend(): called with desc->lock held, interrupts off
export function check_irq_resend(desc: irq_desc, inject: boolean): number {
  let err = 0;
  // We do not resend level type interrupts. Level type interrupts are
  // resent by hardware when they are still active. Clear the pending bit
  // so suspend/resume does not get confused.
  if (irq_settings_is_level(desc)) {
    desc.istate &= ~IRQS_PENDING;
    return -EINVAL;
  }
  if (desc.istate & IRQS_REPLAY) return -EBUSY;
  if (!(desc.istate & IRQS_PENDING) && !inject) return 0;
  desc.istate &= ~IRQS_PENDING;
  if (!try_retrigger(desc)) err = irq_sw_resend(desc);
  // If the retrigger was successful, mark it with the REPLAY bit
  if (!err) desc.istate |= IRQS_REPLAY;
  return err;
}

// kernel/irq/resend.c: irq_inject_interrupt()
export async function irq_inject_interrupt(irq: number): Promise<number> {
  // Try the state injection hardware interface first
  if (!(await irq_set_irqchip_state(irq, IRQCHIP_STATE_PENDING, true))) return 0;
  // That failed, try via the resend mechanism
  let err = -EINVAL;
  const g = await irq_get_desc_buslock(irq, 0);
  if (!g) return err;
  const desc = g.desc;
  // Only try to inject when the interrupt is not NMI type and activated
  if (!(desc.istate & IRQS_NMI) && irqd_is_activated(desc.irq_data)) err = check_irq_resend(desc, true);
  await irq_put_desc_busunlock(desc, g.flags);
  return err;
}
