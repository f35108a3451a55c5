// SPDX-License-Identifier: GPL-2.0-only
// irqlab: the designs the 2020 IMS thread weighed against the reference
// chip of irq-mlx5-ims.ts, each as an IMS domain template on the same ops
// table and chip data, so that a test can run one workload on each and
// compare (docs/mlx5-ims.md has the table; hardware.md 1.5 the debate):
//
//  (a) mlx5_ims_spin_template   "MLX5-IMS-SPIN": irq_mask/irq_unmask/
//      irq_write_msi_msg issue SET_IMS_ENTRY and spin for the completion with
//      desc->lock held and interrupts off. Correct while the firmware answers;
//      every callback costs a command round trip with interrupts off, and a
//      slow or hung firmware holds the CPU for the whole timeout (the
//      watchdog's hard lockup).
//  (b) mlx5_ims_sleep_template  "MLX5-IMS-SLEEP": the same callbacks issue
//      the command and wait for it the sleeping way, which genirq's atomic
//      callbacks may not do ("BUG: sleeping function called from invalid
//      context", "BUG: scheduling while atomic"); from hard interrupt
//      context the command never completes.
//  (c) mlx5_ims_irte_template   "MLX5-IMS-IRTE": startup and teardown as the
//      reference design, mask/unmask delegated to the remapping parent (the
//      IRTE's present bit, modify_irte() + IEC flush: atomic-safe). An
//      interrupt arriving at a not-present IRTE is blocked and recorded as a
//      DMAR fault (reason 0x22), so it is lost unless the chip retriggers on
//      unmask: mlx5_ims_irte_retrigger_template does.
//  (5) mlx5_ims_direct_template "MLX5-IMS-DIRECT": every callback stores the
//      entry straight into the RAM store, as if it were an MSI-X table: no
//      command, atomic-safe, and wrong: a cached line keeps the device on the
//      old entry, and with dirty write-back the device writes its line back
//      over the CPU's store.
//
// Each template's chip is copied per domain; irq_get_chip(virq) is the live one.

import { K } from "../lib/kernel/kernel.ts";
import { raw_spin_lock_irqsave, raw_spin_unlock_irqrestore } from "../lib/kernel/spinlock.ts";
import { IRQCHIP_ONESHOT_SAFE, irq_data_get_msi_desc, type irq_chip, type irq_data } from "../lib/irq/irq.ts";
import { irq_chip_retrigger_hierarchy } from "../lib/irq/chip.ts";
import type { msi_domain_info, msi_domain_template } from "../lib/irq/msi.ts";
import type { msi_msg } from "../lib/irq/msi_types.ts";
import {
  MLX5_IMS_CTRL_MASKED,
  mlx5_ims_bus_lock,
  mlx5_ims_bus_sync_unlock,
  mlx5_ims_push,
  mlx5_ims_template,
  mlx5_ims_write_msi_msg,
  type mlx5_ims_chip_data,
  type mlx5_ims_slot,
} from "./irq-mlx5-ims.ts";

function ims_data(d: irq_data): mlx5_ims_chip_data {
  return (d.domain!.host_data as msi_domain_info).data as mlx5_ims_chip_data;
}

function slot_of(d: irq_data): { ims: mlx5_ims_chip_data; s: mlx5_ims_slot | undefined } {
  const ims = ims_data(d);
  const s = ims.slots.get(irq_data_get_msi_desc(d)!.msi_index);
  if (s) s.virq = d.irq;
  return { ims, s };
}

/** Apply `edit` to the shadow under ims->lock; desc->lock held, interrupts off. */
function edit_shadow(ims: mlx5_ims_chip_data, s: mlx5_ims_slot, edit: (e: mlx5_ims_slot["shadow"]) => void): void {
  const flags = raw_spin_lock_irqsave(ims.lock);
  edit(s.shadow);
  raw_spin_unlock_irqrestore(ims.lock, flags);
}

function set_msg(msg: msi_msg): (e: mlx5_ims_slot["shadow"]) => void {
  return (e) => {
    e.addr_lo = msg.address_lo;
    e.addr_hi = msg.address_hi;
    e.data = msg.data;
  };
}

const masked = (e: mlx5_ims_slot["shadow"]): void => {
  e.ctrl |= MLX5_IMS_CTRL_MASKED;
};
const unmasked = (e: mlx5_ims_slot["shadow"]): void => {
  e.ctrl &= ~MLX5_IMS_CTRL_MASKED;
};

function template_with(chip: irq_chip): msi_domain_template {
  return { chip, ops: { ...mlx5_ims_template.ops }, info: { ...mlx5_ims_template.info } };
}

/* ------------------------------------------------------------ (a) spin */

/** Variant (a)'s spin budget per command in us (the driver's command timeout when the ops leave it 0). */
export const MLX5_IMS_SPIN_TIMEOUT_US = 60_000_000;

// irqlab: variant (a): the shadow, then SET_IMS_ENTRY with a spin for its
// completion. desc->lock held, interrupts off, for the whole round trip.
function mlx5_ims_spin_update(d: irq_data, edit: (e: mlx5_ims_slot["shadow"]) => void): void {
  const { ims, s } = slot_of(d);
  if (!s) return;
  edit_shadow(ims, s, edit);
  if (!ims.ops.set_entry_spin) return;
  const e = { ...s.shadow };
  const t0 = K.sim.now;
  ims.stats.commands++;
  const err = ims.ops.set_entry_spin(s.index, e, ims.spin_timeout_us || MLX5_IMS_SPIN_TIMEOUT_US);
  ims.spin_ns_max = Math.max(ims.spin_ns_max, K.sim.now - t0);
  if (err) {
    ims.stats.errors++;
    ims.ops.report_error?.(s.index, err, "spinning update");
    return;
  }
  s.device = e;
  s.pushed_gen = ims.generation;
}

// irqlab: variant (a) irq_mask()
export function mlx5_ims_spin_mask(d: irq_data): void {
  mlx5_ims_spin_update(d, masked);
}

// irqlab: variant (a) irq_unmask()
export function mlx5_ims_spin_unmask(d: irq_data): void {
  mlx5_ims_spin_update(d, unmasked);
}

// irqlab: variant (a) irq_write_msi_msg()
export function mlx5_ims_spin_write_msi_msg(d: irq_data, msg: msi_msg): void {
  mlx5_ims_spin_update(d, set_msg(msg));
}

/** Variant (a): commands from the atomic callbacks, spinning with interrupts off. */
export const mlx5_ims_spin_template: msi_domain_template = template_with({
  name: "MLX5-IMS-SPIN",
  irq_mask: mlx5_ims_spin_mask,
  irq_unmask: mlx5_ims_spin_unmask,
  irq_write_msi_msg: mlx5_ims_spin_write_msi_msg,
  flags: IRQCHIP_ONESHOT_SAFE,
});

/* ----------------------------------------------------------- (b) sleep */

// irqlab: variant (b): the shadow, then the sleeping SET_IMS_ENTRY, from an
// atomic callback. The command path's first sleeping primitive runs before
// the callback returns (might_sleep() splats); the rest of the push is left
// to a task that, from hard interrupt context, never resumes.
function mlx5_ims_sleep_update(d: irq_data, edit: (e: mlx5_ims_slot["shadow"]) => void): void {
  const { ims, s } = slot_of(d);
  if (!s) return;
  edit_shadow(ims, s, edit);
  void mlx5_ims_push(ims, s, false);
}

// irqlab: variant (b) irq_mask()
export function mlx5_ims_sleep_mask(d: irq_data): void {
  mlx5_ims_sleep_update(d, masked);
}

// irqlab: variant (b) irq_unmask()
export function mlx5_ims_sleep_unmask(d: irq_data): void {
  mlx5_ims_sleep_update(d, unmasked);
}

// irqlab: variant (b) irq_write_msi_msg()
export function mlx5_ims_sleep_write_msi_msg(d: irq_data, msg: msi_msg): void {
  mlx5_ims_sleep_update(d, set_msg(msg));
}

/** Variant (b): commands from the atomic callbacks, sleeping for them. */
export const mlx5_ims_sleep_template: msi_domain_template = template_with({
  name: "MLX5-IMS-SLEEP",
  irq_mask: mlx5_ims_sleep_mask,
  irq_unmask: mlx5_ims_sleep_unmask,
  irq_write_msi_msg: mlx5_ims_sleep_write_msi_msg,
  flags: IRQCHIP_ONESHOT_SAFE,
});

/* ------------------------------------------------------------ (c) IRTE */

// irqlab: variant (c) irq_mask(): the IRTE's present bit; desc->lock held,
// interrupts off (modify_irte() takes the raw irq_2_ir_lock and flushes the
// IEC synchronously). The device entry is not touched.
export function mlx5_ims_irte_mask(d: irq_data): void {
  const { ims } = slot_of(d);
  ims.irte_masks++;
  ims.ops.irte_mask?.(d, true);
}

// irqlab: variant (c) irq_unmask()
export function mlx5_ims_irte_unmask(d: irq_data): void {
  const { ims } = slot_of(d);
  ims.irte_masks++;
  ims.ops.irte_mask?.(d, false);
}

// irqlab: variant (c') irq_unmask(): unmask, then retrigger, since whatever
// the device sent while the IRTE was not present was blocked, not latched
export function mlx5_ims_irte_unmask_retrigger(d: irq_data): void {
  mlx5_ims_irte_unmask(d);
  ims_data(d).stats.retriggers++;
  irq_chip_retrigger_hierarchy(d);
}

// irqlab: variant (c) irq_write_msi_msg(): the device entry is live exactly
// while the interrupt is activated (a message written at activation, zero at
// deactivation), pushed by irq_bus_sync_unlock() as in the reference design;
// masking happens at the IRTE only.
export function mlx5_ims_irte_write_msi_msg(d: irq_data, msg: msi_msg): void {
  const { ims, s } = slot_of(d);
  if (!s) return;
  edit_shadow(ims, s, msg.address_lo || msg.address_hi || msg.data ? unmasked : masked);
  mlx5_ims_write_msi_msg(d, msg);
}

const irte_chip: irq_chip = {
  name: "MLX5-IMS-IRTE",
  irq_mask: mlx5_ims_irte_mask,
  irq_unmask: mlx5_ims_irte_unmask,
  irq_write_msi_msg: mlx5_ims_irte_write_msi_msg,
  irq_bus_lock: mlx5_ims_bus_lock,
  irq_bus_sync_unlock: mlx5_ims_bus_sync_unlock,
  flags: IRQCHIP_ONESHOT_SAFE,
};

/**
 * Variant (c): mask/unmask at the remapping parent's IRTE; startup, teardown
 * and the message as the reference design. Needs interrupt remapping and an
 * ops.irte_mask from the driver.
 */
export const mlx5_ims_irte_template: msi_domain_template = template_with(irte_chip);

/** Variant (c'): (c) with a retrigger on every unmask. */
export const mlx5_ims_irte_retrigger_template: msi_domain_template = template_with({ ...irte_chip, name: "MLX5-IMS-IRTE-RT", irq_unmask: mlx5_ims_irte_unmask_retrigger });

/* ---------------------------------------------------------- (5) direct */

// irqlab: variant (5): the entry stored straight into the RAM store; desc->lock
// held, interrupts off. The device never hears of it.
function mlx5_ims_direct_update(d: irq_data, edit: (e: mlx5_ims_slot["shadow"]) => void): void {
  const { ims, s } = slot_of(d);
  if (!s) return;
  edit_shadow(ims, s, edit);
  ims.direct_writes++;
  ims.ops.write_entry_direct?.(s.index, { ...s.shadow });
}

// irqlab: variant (5) irq_mask()
export function mlx5_ims_direct_mask(d: irq_data): void {
  mlx5_ims_direct_update(d, masked);
}

// irqlab: variant (5) irq_unmask()
export function mlx5_ims_direct_unmask(d: irq_data): void {
  mlx5_ims_direct_update(d, unmasked);
}

// irqlab: variant (5) irq_write_msi_msg()
export function mlx5_ims_direct_write_msi_msg(d: irq_data, msg: msi_msg): void {
  mlx5_ims_direct_update(d, set_msg(msg));
}

/** Variant (5): the RAM store written like an MSI-X table. */
export const mlx5_ims_direct_template: msi_domain_template = template_with({
  name: "MLX5-IMS-DIRECT",
  irq_mask: mlx5_ims_direct_mask,
  irq_unmask: mlx5_ims_direct_unmask,
  irq_write_msi_msg: mlx5_ims_direct_write_msi_msg,
  flags: IRQCHIP_ONESHOT_SAFE,
});
