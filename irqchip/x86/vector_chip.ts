// SPDX-License-Identifier: GPL-2.0-only
// arch/x86/kernel/apic/vector.c, the chip: static struct irq_chip
// lapic_controller, the irq_chip of every x86 vector domain irq_data, and
// its callbacks (ack = EOI, retrigger = self-IPI, set_affinity = a new
// vector). vector.ts allocates the irq_data it is set on and re-exports it.

import { site_of } from "../../lib/kernel/stacktrace.ts";
import { EIO } from "../../lib/kernel/errno.ts";
import { WARN_ON_ONCE } from "../../lib/kernel/bug.ts";
import { raw_spin_lock, raw_spin_unlock, raw_spin_lock_irqsave, raw_spin_unlock_irqrestore } from "../../lib/kernel/spinlock.ts";
import { cpumask_and, cpu_online_mask, type cpumask } from "../../lib/kernel/cpumask.ts";
import { apic_eoi, default_send_IPI_single_phys } from "../../lib/kernel/apic.ts";
import { irqd_affinity_is_managed, irqd_is_activated, IRQ_SET_MASK_OK, type irq_chip, type irq_data } from "../../lib/irq/irq.ts";
import { irq_move_irq } from "../../lib/irq/migration.ts";
import type { msi_msg } from "../../lib/irq/msi_types.ts";
import { X86_MSI_BASE_ADDRESS_HIGH, X86_MSI_BASE_ADDRESS_LOW, type irq_cfg } from "./hw_irq.ts";
import { apic_chip_data, assign_managed_vector, assign_vector_locked, irqd_cfg, vs } from "./vector.ts";
import { apic_force_complete_move, irq_complete_move } from "./vector_cleanup.ts";

// arch/x86/kernel/apic/vector.c: apic_set_affinity()
function apic_set_affinity(irqd: irq_data, dest: cpumask, _force: boolean): number {
  const s = vs();
  if (WARN_ON_ONCE(!irqd_is_activated(irqd), { fn: "apic_set_affinity" })) return -EIO;
  raw_spin_lock(s.lock, 0, apic_set_affinity_ip);
  cpumask_and(s.searchmask, dest, cpu_online_mask());
  const err = irqd_affinity_is_managed(irqd) ? assign_managed_vector(irqd, s.searchmask) : assign_vector_locked(irqd, s.searchmask);
  raw_spin_unlock(s.lock);
  return err ? err : IRQ_SET_MASK_OK;
}

// arch/x86/kernel/apic/vector.c: apic_ack_irq()
export function apic_ack_irq(irqd: irq_data): void {
  irq_move_irq(irqd);
  apic_eoi();
}

// arch/x86/kernel/apic/vector.c: apic_ack_edge()
export function apic_ack_edge(irqd: irq_data): void {
  irq_complete_move(irqd_cfg(irqd));
  irq_move_irq(irqd);
  apic_eoi();
}

// arch/x86/kernel/apic/vector.c: apic_retrigger_irq(): a self-IPI to the target
function apic_retrigger_irq(irqd: irq_data): number {
  const s = vs();
  const apicd = apic_chip_data(irqd)!;
  const flags = raw_spin_lock_irqsave(s.lock, 0, apic_retrigger_irq_ip);
  default_send_IPI_single_phys(apicd.cpu, apicd.vector);
  raw_spin_unlock_irqrestore(s.lock, flags);
  return 1;
}

// arch/x86/kernel/apic/msi.c: __irq_msi_compose_msg()
export function __irq_msi_compose_msg(cfg: irq_cfg, msg: msi_msg, dmar: boolean): void {
  msg.address_lo = 0;
  msg.address_hi = 0;
  msg.data = 0;
  // base_address 0xfee, dest_mode_logical 0 (physical), destid_0_7
  msg.address_lo = (X86_MSI_BASE_ADDRESS_LOW | ((cfg.dest_apicid & 0xff) << 12)) >>> 0;
  // delivery_mode FIXED (0), vector
  msg.data = cfg.vector & 0xff;
  msg.address_hi = X86_MSI_BASE_ADDRESS_HIGH;
  if (dmar) msg.address_hi = ((cfg.dest_apicid >>> 8) << 8) >>> 0;
  else WARN_ON_ONCE(cfg.dest_apicid > 0xff, { fn: "__irq_msi_compose_msg" });
}

// arch/x86/kernel/apic/vector.c: x86_vector_msi_compose_msg()
function x86_vector_msi_compose_msg(data: irq_data, msg: msi_msg): void {
  __irq_msi_compose_msg(irqd_cfg(data)!, msg, false);
}

/** static struct irq_chip lapic_controller */
export const lapic_controller: irq_chip = {
  name: "APIC",
  irq_ack: apic_ack_edge,
  irq_set_affinity: apic_set_affinity,
  irq_compose_msi_msg: x86_vector_msi_compose_msg,
  irq_retrigger: apic_retrigger_irq,
  irq_force_complete_move: apic_force_complete_move,
};

// lockdep acquire sites (_RET_IP_) of the locks these functions take,
// named instead of captured on every acquisition (lib/kernel/stacktrace.ts)
const apic_set_affinity_ip = site_of(apic_set_affinity);
const apic_retrigger_irq_ip = site_of(apic_retrigger_irq);
