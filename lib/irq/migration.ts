// SPDX-License-Identifier: GPL-2.0-only
// kernel/irq/migration.c: deferred affinity moves for chips that can only
// move an interrupt from the interrupt path (IRQCHIP_MOVE_DEFERRED) (B33).

import { EBUSY } from "../kernel/errno.ts";
import { WARN_ON } from "../kernel/bug.ts";
import { cpumask_clear, cpumask_empty, cpumask_intersects, cpu_online_mask } from "../kernel/cpumask.ts";
import {
  irqd_clear,
  irqd_irq_disabled,
  irqd_irq_masked,
  irqd_is_per_cpu,
  irqd_is_setaffinity_pending,
  irqd_set,
  IRQD_SETAFFINITY_PENDING,
  type irq_data,
} from "./irq.ts";
import { irq_to_desc, type irq_desc } from "./irqdesc.ts";
import { irq_do_set_affinity } from "./manage_affinity.ts";

// kernel/irq/migration.c: irq_fixup_move_pending()
export function irq_fixup_move_pending(desc: irq_desc, force_clear: boolean): boolean {
  const data = desc.irq_data;
  if (!irqd_is_setaffinity_pending(data)) return false;
  // The outgoing CPU might be the last online target in a pending
  // interrupt move. If that's the case clear the pending move bit.
  if (!cpumask_intersects(desc.pending_mask, cpu_online_mask())) {
    irqd_clear(data, IRQD_SETAFFINITY_PENDING);
    return false;
  }
  if (force_clear) irqd_clear(data, IRQD_SETAFFINITY_PENDING);
  return true;
}

// kernel/irq/migration.c: irq_move_masked_irq()
export function irq_move_masked_irq(idata: irq_data): void {
  const desc = irq_to_desc(idata.irq)!;
  const data = desc.irq_data;
  const chip = data.chip;
  if (!irqd_is_setaffinity_pending(data)) return;
  irqd_clear(data, IRQD_SETAFFINITY_PENDING);
  // Paranoia: cpu-local interrupts shouldn't be calling in here anyway.
  if (irqd_is_per_cpu(data)) {
    WARN_ON(1);
    return;
  }
  if (cpumask_empty(desc.pending_mask)) return;
  if (!chip.irq_set_affinity) return;
  // If there was a valid mask to work with, please do the disable,
  // re-program, enable sequence. This is *not* particularly important for
  // level triggered but in a edge trigger case, we might be setting rte
  // when an active trigger is coming in. This could cause some ioapics to
  // mal-function. Being paranoid i guess!
  //
  // For correct operation this depends on the caller masking the irqs.
  if (cpumask_intersects(desc.pending_mask, cpu_online_mask())) {
    const ret = irq_do_set_affinity(data, desc.pending_mask, false);
    // If the there is a cleanup pending in the underlying vector
    // management, reschedule the move for the next interrupt. Leave
    // desc->pending_mask intact.
    if (ret === -EBUSY) {
      irqd_set(data, IRQD_SETAFFINITY_PENDING);
      return;
    }
  }
  cpumask_clear(desc.pending_mask);
}

// kernel/irq/migration.c: __irq_move_irq()
export function __irq_move_irq(idata: irq_data): void {
  const desc = irq_to_desc(idata.irq)!;
  // Get top level irq_data when CONFIG_IRQ_DOMAIN_HIERARCHY is enabled,
  // and it should be optimized away when CONFIG_IRQ_DOMAIN_HIERARCHY is
  // disabled. So we avoid an "#ifdef CONFIG_IRQ_DOMAIN_HIERARCHY" here.
  const data = desc.irq_data;
  if (irqd_irq_disabled(data)) return;
  // Be careful vs. already masked interrupts. If this is a threaded
  // interrupt with ONESHOT set, we can end up with an interrupt storm.
  const masked = irqd_irq_masked(data);
  if (!masked) data.chip.irq_mask!(data);
  irq_move_masked_irq(data);
  if (!masked) data.chip.irq_unmask!(data);
}

/** irq_move_irq(): perform a pending move (called from the interrupt path with desc->lock held). */
export function irq_move_irq(data: irq_data): void {
  if (irqd_is_setaffinity_pending(data)) __irq_move_irq(data);
}

// kernel/irq/migration.c: irq_force_complete_move(): the first chip up the hierarchy that has it
export function irq_force_complete_move(desc: irq_desc): boolean {
  for (let d: irq_data | null = desc.irq_data; d; d = d.parent_data) {
    if (d.chip.irq_force_complete_move) {
      d.chip.irq_force_complete_move(d);
      return true;
    }
  }
  return false;
}
