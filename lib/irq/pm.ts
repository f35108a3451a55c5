// SPDX-License-Identifier: GPL-2.0-only
// kernel/irq/pm.c: suspend and resume of device interrupts, wakeup
// handling (B39-B42).

import { WARN_ON_ONCE } from "../kernel/bug.ts";
import { raw_spin_lock_irqsave, raw_spin_unlock_irqrestore } from "../kernel/spinlock.ts";
import {
  IRQCHIP_ENABLE_WAKEUP_ON_SUSPEND,
  IRQCHIP_MASK_ON_SUSPEND,
  IRQD_IRQ_DISABLED,
  IRQD_IRQ_ENABLED_ON_SUSPEND,
  IRQD_IRQ_MASKED,
  IRQD_WAKEUP_ARMED,
  irqd_clear,
  irqd_irq_disabled,
  irqd_is_enabled_on_suspend,
  irqd_is_wakeup_set,
  irqd_set,
} from "./irq.ts";
import { IRQF_COND_SUSPEND, IRQF_EARLY_RESUME, IRQF_FORCE_RESUME, IRQF_NO_SUSPEND, type irqaction } from "./interrupt.ts";
import { IRQS_PENDING, IRQS_SUSPENDED, irq_settings_is_nested_thread } from "./internals.ts";
import { for_each_irq_desc, irq_desc_is_chained, type irq_desc } from "./irqdesc.ts";
import { irq_disable, mask_irq } from "./chip.ts";
import { __disable_irq, __enable_irq, synchronize_irq, irq_get_desc_buslock, irq_put_desc_busunlock, IRQ_GET_DESC_CHECK_GLOBAL } from "./manage.ts";
import { K } from "../kernel/kernel.ts";

/** PM-core record of system wakeups (pm_system_irq_wakeup()). */
export function pm_wakeup_irqs(): number[] {
  return K.state("pm_wakeup_irqs", () => [] as number[]);
}

// kernel/irq/pm.c: irq_pm_handle_wakeup() (A2 step 2, B41)
export function irq_pm_handle_wakeup(desc: irq_desc): void {
  irqd_clear(desc.irq_data, IRQD_WAKEUP_ARMED);
  desc.istate |= IRQS_SUSPENDED | IRQS_PENDING;
  desc.depth++;
  irq_disable(desc);
  // drivers/base/power/wakeup.c: pm_system_irq_wakeup()
  pm_wakeup_irqs().push(desc.irq_data.irq);
}

// kernel/irq/pm.c: irq_pm_install_action(); desc->lock held
export function irq_pm_install_action(desc: irq_desc, action: irqaction): void {
  desc.nr_actions++;
  if (action.flags & IRQF_FORCE_RESUME) desc.force_resume_depth++;
  WARN_ON_ONCE(desc.force_resume_depth && desc.force_resume_depth !== desc.nr_actions, { fn: "irq_pm_install_action", line: 1 });
  if (action.flags & IRQF_NO_SUSPEND) desc.no_suspend_depth++;
  else if (action.flags & IRQF_COND_SUSPEND) desc.cond_suspend_depth++;
  WARN_ON_ONCE(desc.no_suspend_depth && desc.no_suspend_depth + desc.cond_suspend_depth !== desc.nr_actions, {
    fn: "irq_pm_install_action",
    line: 2,
  });
}

// kernel/irq/pm.c: irq_pm_remove_action(); desc->lock held
export function irq_pm_remove_action(desc: irq_desc, action: irqaction): void {
  desc.nr_actions--;
  if (action.flags & IRQF_FORCE_RESUME) desc.force_resume_depth--;
  if (action.flags & IRQF_NO_SUSPEND) desc.no_suspend_depth--;
  else if (action.flags & IRQF_COND_SUSPEND) desc.cond_suspend_depth--;
}

// kernel/irq/pm.c: suspend_device_irq()
function suspend_device_irq(desc: irq_desc): boolean {
  const d = desc.irq_data;
  const chip = d.chip;
  if (!desc.action || irq_desc_is_chained(desc) || desc.no_suspend_depth) return false;
  if (irqd_is_wakeup_set(d)) {
    irqd_set(d, IRQD_WAKEUP_ARMED);
    if ((chip.flags ?? 0) & IRQCHIP_ENABLE_WAKEUP_ON_SUSPEND && irqd_irq_disabled(d)) {
      // Interrupt marked for wakeup is in disabled state. Enable interrupt
      // here to unmask/enable in irqchip to be able to resume with such
      // interrupts.
      __enable_irq(desc);
      irqd_set(d, IRQD_IRQ_ENABLED_ON_SUSPEND);
    }
    // We return true here to force the caller to issue synchronize_irq().
    return true;
  }
  desc.istate |= IRQS_SUSPENDED;
  __disable_irq(desc);
  // Hardware which has no wakeup source configuration facility requires
  // that the non wakeup interrupts are masked at the chip level.
  if ((chip.flags ?? 0) & IRQCHIP_MASK_ON_SUSPEND) mask_irq(desc);
  return true;
}

// kernel/irq/pm.c: suspend_device_irqs()
export async function suspend_device_irqs(): Promise<void> {
  for (const desc of for_each_irq_desc()) {
    if (irq_settings_is_nested_thread(desc)) continue;
    const flags = raw_spin_lock_irqsave(desc.lock);
    const sync = suspend_device_irq(desc);
    raw_spin_unlock_irqrestore(desc.lock, flags);
    if (sync) await synchronize_irq(desc.irq_data.irq);
  }
}

// kernel/irq/pm.c: resume_irq()
function resume_irq(desc: irq_desc): void {
  const d = desc.irq_data;
  irqd_clear(d, IRQD_WAKEUP_ARMED);
  if (irqd_is_enabled_on_suspend(d)) {
    __disable_irq(desc);
    irqd_clear(d, IRQD_IRQ_ENABLED_ON_SUSPEND);
  }
  if (desc.istate & IRQS_SUSPENDED) {
    desc.istate &= ~IRQS_SUSPENDED;
    __enable_irq(desc);
    return;
  }
  // Force resume the interrupt?
  if (!desc.force_resume_depth) return;
  // Pretend that it got disabled !
  desc.depth++;
  irqd_set(d, IRQD_IRQ_DISABLED | IRQD_IRQ_MASKED);
  desc.istate &= ~IRQS_SUSPENDED;
  __enable_irq(desc);
}

// kernel/irq/pm.c: resume_irqs()
function resume_irqs(want_early: boolean): void {
  for (const desc of for_each_irq_desc()) {
    const is_early = desc.action !== null && (desc.action.flags & IRQF_EARLY_RESUME) !== 0;
    if (!is_early && want_early) continue;
    if (irq_settings_is_nested_thread(desc)) continue;
    const flags = raw_spin_lock_irqsave(desc.lock);
    resume_irq(desc);
    raw_spin_unlock_irqrestore(desc.lock, flags);
  }
}

/** kernel/irq/pm.c: irq_pm_syscore_resume(): the early resume pass. */
export function irq_pm_syscore_resume(): void {
  resume_irqs(true);
}

// kernel/irq/pm.c: resume_device_irqs()
export function resume_device_irqs(): void {
  resume_irqs(false);
}

// kernel/irq/pm.c: rearm_wake_irq()
export async function rearm_wake_irq(irq: number): Promise<void> {
  const g = await irq_get_desc_buslock(irq, IRQ_GET_DESC_CHECK_GLOBAL);
  if (!g) return;
  const desc = g.desc;
  if (desc.istate & IRQS_SUSPENDED && irqd_is_wakeup_set(desc.irq_data)) {
    desc.istate &= ~IRQS_SUSPENDED;
    irqd_set(desc.irq_data, IRQD_WAKEUP_ARMED);
    __enable_irq(desc);
  }
  await irq_put_desc_busunlock(desc, g.flags);
}
