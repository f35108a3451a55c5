// SPDX-License-Identifier: GPL-2.0-only
// kernel/irq/cpuhotplug.c: moving interrupts off a dying CPU and restoring
// managed interrupts when a CPU comes back.

import { ENOSPC } from "../kernel/errno.ts";
import { pr_warn, pr_warn_ratelimited } from "../kernel/printk.ts";
import { smp_processor_id } from "../kernel/context.ts";
import {
  cpumask_empty,
  cpumask_intersects,
  cpumask_test_cpu,
  cpu_online_mask,
  nr_cpu_ids,
  cpumask_first_and,
  for_each_cpu,
  type cpumask,
} from "../kernel/cpumask.ts";
import { raw_spin_lock, raw_spin_unlock, raw_spin_lock_irq, raw_spin_unlock_irq } from "../kernel/spinlock.ts";
import {
  irqd_affinity_is_managed,
  irqd_irq_masked,
  irqd_is_managed_and_shutdown,
  irqd_is_per_cpu,
  irqd_is_single_target,
  irqd_is_started,
  irqd_set,
  IRQCHIP_MOVE_DEFERRED,
  IRQD_MANAGED_SHUTDOWN,
  type irq_data,
} from "./irq.ts";
import { for_each_irq_desc, type irq_desc } from "./irqdesc.ts";
import { irq_shutdown_and_deactivate, irq_startup_managed } from "./chip.ts";
import { irq_affinity_schedule_notify_work, irq_do_set_affinity, irq_set_affinity_locked } from "./manage_affinity.ts";
import { irq_fixup_move_pending, irq_force_complete_move } from "./migration.ts";

// kernel/irq/cpuhotplug.c: irq_needs_fixup()
function irq_needs_fixup(d: irq_data): boolean {
  let m: cpumask = d.common.effective_affinity;
  const cpu = smp_processor_id();
  // The cpumask_empty() check is a workaround for interrupt chips, which
  // do not implement effective affinity, but the architecture has enabled
  // the config switch. Use the general affinity mask instead.
  if (cpumask_empty(m)) m = d.common.affinity;
  // Sanity check. If the mask is not empty when excluding the outgoing CPU
  // then it must contain at least one online CPU. The outgoing CPU has been
  // removed from the online mask already.
  let anyBut = false;
  for (const c of for_each_cpu(m)) if (c !== cpu) anyBut = true;
  if (anyBut && cpumask_first_and(m, cpu_online_mask()) >= nr_cpu_ids()) {
    // If this happens then there was a missed IRQ fixup at some point.
    // Warn about it and enforce fixup.
    pr_warn("Eff. affinity %*pbl of IRQ %u contains only offline CPUs after offlining CPU %u\n", m.nbits, m, d.irq, cpu);
    return true;
  }
  return cpumask_test_cpu(cpu, m);
}

// kernel/irq/cpuhotplug.c: migrate_one_irq(); desc->lock held, interrupts off
function migrate_one_irq(desc: irq_desc): boolean {
  const d = desc.irq_data;
  const chip = d.chip;
  const maskchip = ((chip.flags ?? 0) & IRQCHIP_MOVE_DEFERRED) !== 0 && !irqd_irq_masked(d);
  let brokeaff = false;
  // IRQ chip might be already torn down, but the irq descriptor is still in
  // the radix tree. Also if the chip has no affinity setter, nothing can be
  // done here.
  if (!chip || !chip.irq_set_affinity) return false;
  // Complete an eventually pending irq move cleanup.
  irq_force_complete_move(desc);
  // No move required, if the interrupt is per cpu, not started, or its
  // affinity does not include this CPU.
  if (irqd_is_per_cpu(d) || !irqd_is_started(d) || !irq_needs_fixup(d)) {
    // If an irq move is pending, abort it if the dying CPU is the sole target.
    irq_fixup_move_pending(desc, false);
    return false;
  }
  // If there is a setaffinity pending, then try to reuse the pending mask,
  // so the last change of the affinity does not get lost.
  let affinity: cpumask = irq_fixup_move_pending(desc, true) ? desc.pending_mask : d.common.affinity;
  // Mask the chip for interrupts which cannot move in process context
  if (maskchip && chip.irq_mask) chip.irq_mask(d);
  if (!cpumask_intersects(affinity, cpu_online_mask())) {
    // If the interrupt is managed, then shut it down and leave the affinity untouched.
    if (irqd_affinity_is_managed(d)) {
      irqd_set(d, IRQD_MANAGED_SHUTDOWN);
      irq_shutdown_and_deactivate(desc);
      return false;
    }
    affinity = cpu_online_mask();
    brokeaff = true;
  }
  // Do not set the force argument of irq_do_set_affinity() as this disables
  // the masking of offline CPUs from the supplied affinity mask and
  // therefore might keep/reassign the irq to the outgoing CPU.
  let err = irq_do_set_affinity(d, affinity, false);
  // If there are online CPUs in the affinity mask, but they have no vectors
  // left to make the migration work, try to break the affinity by migrating
  // to any online CPU.
  if (err === -ENOSPC && !irqd_affinity_is_managed(d) && affinity !== cpu_online_mask()) {
    affinity = cpu_online_mask();
    brokeaff = true;
    err = irq_do_set_affinity(d, affinity, false);
  }
  if (err) {
    pr_warn_ratelimited("IRQ%u: set affinity failed(%d).\n", d.irq, err);
    brokeaff = false;
  }
  if (maskchip && chip.irq_unmask) chip.irq_unmask(d);
  return brokeaff;
}

// kernel/irq/cpuhotplug.c: irq_migrate_all_off_this_cpu(); on the dying CPU, interrupts off
export function irq_migrate_all_off_this_cpu(): void {
  for (const desc of for_each_irq_desc()) {
    raw_spin_lock(desc.lock);
    const affinity_broken = migrate_one_irq(desc);
    if (affinity_broken && desc.affinity_notify) irq_affinity_schedule_notify_work(desc);
    raw_spin_unlock(desc.lock);
  }
}

// kernel/irq/cpuhotplug.c: irq_restore_affinity_of_irq()
function irq_restore_affinity_of_irq(desc: irq_desc, cpu: number): void {
  const data = desc.irq_data;
  const affinity = data.common.affinity;
  if (!irqd_affinity_is_managed(data) || !desc.action || !data.chip || !cpumask_test_cpu(cpu, affinity)) return;
  if (irqd_is_managed_and_shutdown(data)) {
    irq_startup_managed(desc);
    return;
  }
  // If the interrupt can only be directed to a single target CPU then it is
  // already assigned to a CPU in the affinity mask. No point in trying to
  // move it around.
  if (!irqd_is_single_target(data)) irq_set_affinity_locked(data, affinity, false);
}

// kernel/irq/cpuhotplug.c: irq_affinity_online_cpu()
export function irq_affinity_online_cpu(cpu: number): number {
  for (const desc of for_each_irq_desc()) {
    raw_spin_lock_irq(desc.lock);
    irq_restore_affinity_of_irq(desc, cpu);
    raw_spin_unlock_irq(desc.lock);
  }
  return 0;
}
