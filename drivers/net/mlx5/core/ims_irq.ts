// SPDX-License-Identifier: GPL-2.0-only
// irqlab: completion EQs on IMS interrupts. No real mlx5 has IMS (docs/mlx5.md);
// this is the glue between mlx5_core and the queue-backed IMS chip of
// irqchip/irq-mlx5-ims.ts:
//
//   mlx5_irqlab_ims_irqs(pdev, opts)   ask for it before mlx5_probe() (what a
//                                      module parameter would be): completion
//                                      vectors come from IMS, `comp_vectors`
//                                      of them, beyond the MSI-X table's size
//   mlx5_ims_irq_table_create()        from mlx5_irq_table_create(): the IMS
//                                      store (first load), the IMS domain
//                                      (pci_create_ims_domain() with the chip's
//                                      template and an ops table over the
//                                      mlx5_ims_* commands), the pool's size
//   mlx5_ims_irq_alloc()/_free()       from mlx5_irq_alloc_map() and
//                                      mlx5_system_free_irq(): pci_ims_alloc_irq()
//   mlx5_ims_irq_bind_eq()             from create_map_eq(): the EQ is created
//                                      on the control vector, unarmed, then
//                                      bound to its IMS entry before it is armed
//   mlx5_ims_irq_recover()             a recovery notifier: every live entry
//                                      pushed again from the chip's shadow and
//                                      every IMS EQ bound again
//   mlx5_ims_irq_table_destroy()       from mlx5_irq_table_destroy(): the domain goes

import { ENODEV } from "../../../../lib/kernel/errno.ts";
import { cancel_work_sync } from "../../../../lib/kernel/workqueue.ts";
import type { irq_affinity_desc } from "../../../../lib/irq/interrupt.ts";
import { msi_remove_device_irq_domain, MSI_SECONDARY_DOMAIN, type msi_domain_template, type msi_map } from "../../../../lib/irq/msi.ts";
import { mlx5_ims_chip_data, mlx5_ims_restore, mlx5_ims_store_lost, mlx5_ims_template, type mlx5_ims_chip_ops } from "../../../../irqchip/irq-mlx5-ims.ts";
import { pci_create_ims_domain } from "../../../pci/msi/irqdomain.ts";
import { pci_ims_alloc_irq, pci_ims_free_irq } from "../../../pci/msi/msi.ts";
import type { pci_dev } from "../../../pci/pci.ts";
import { mlx5_core_err, mlx5_core_info, mlx5_core_warn, MLX5_DEVICE_STATE_INTERNAL_ERROR, type mlx5_core_dev } from "./driver.ts";
import { mlx5_irqlab_register_recovery_notifier } from "./health.ts";
import { mlx5_eq_bind_ims, mlx5_ims_init, mlx5_ims_set_entry, mlx5_ims_write_entry_direct, mlx5_irqlab_set_ims_entry_in } from "./ims.ts";
import { mlx5_irqlab_cmd_exec_spin, mlx5_irqlab_cmd_spin_prepare, mlx5_irqlab_cmd_spin_release } from "./ims_spin.ts";
import { irqlab_set_ims_entry_out } from "./mlx5_ifc.ts";
import { mlx5_tout_ms } from "./tout.ts";
import { intel_ir_irqlab_mask_irte } from "../../../iommu/intel/irq_remapping.ts";
import type { mlx5_ims_hw_entry } from "../../../../irqchip/irq-mlx5-ims.ts";

export interface mlx5_ims_irq_params {
  /** Completion vectors on IMS (default 64). */
  comp_vectors?: number;
  /** The IMS domain template (default: the reference design). Variants and tests pass theirs. */
  template?: msi_domain_template;
  /** Extra ops for a variant (spinning submit, direct store writes). */
  ops?: Partial<mlx5_ims_chip_ops>;
}

/** The IMS side of a device's IRQ table. */
export class mlx5_ims_irq_table {
  /** The IMS domain exists (mlx5_irq_table_create() .. _destroy()). */
  active = false;
  recovery_registered = false;
  /** Interrupts allocated from the IMS domain now. */
  readonly maps = new Map<number, msi_map>();
  /** EQ number -> the chip's store generation when it was bound to its IMS entry. */
  readonly bound = new Map<number, number>();
  /** What the last recovery restored. */
  readonly restored = { entries: 0, bindings: 0 };
  constructor(
    readonly chip: mlx5_ims_chip_data,
    readonly comp_vectors: number,
    readonly template: msi_domain_template,
  ) {}
}

const wanted = new WeakMap<pci_dev, mlx5_ims_irq_params>();
const tables = new WeakMap<mlx5_core_dev, mlx5_ims_irq_table>();

/** irqlab: completion vectors of this function come from IMS (call before mlx5_probe()). */
export function mlx5_irqlab_ims_irqs(pdev: pci_dev, params: mlx5_ims_irq_params = {}): void {
  wanted.set(pdev, params);
}

/** The device's IMS table, or null when its completion vectors are MSI-X. */
export function mlx5_ims_irq_table_get(dev: mlx5_core_dev): mlx5_ims_irq_table | null {
  return tables.get(dev) ?? null;
}

/** The completion interrupts come from IMS now. */
export function mlx5_ims_irq_active(dev: mlx5_core_dev): boolean {
  return tables.get(dev)?.active ?? false;
}

// The ops table the chip gets as its domain data: every device access is a
// command of drivers/net/mlx5/core/ims.ts.
function mlx5_ims_chip_ops_for(dev: mlx5_core_dev, extra: Partial<mlx5_ims_chip_ops>): mlx5_ims_chip_ops {
  return {
    set_entry: (index, e) => mlx5_ims_set_entry(dev, index, e),
    set_entry_spin: (index, e, timeout_us) => mlx5_ims_set_entry_spin(dev, index, e, timeout_us),
    write_entry_direct: (index, e) => mlx5_ims_write_entry_direct(dev, index, e),
    irte_mask: (d, masked) => intel_ir_irqlab_mask_irte(d, masked),
    report_error: (index, err, what) => {
      // a device in internal error answers every command with an emulated status: nothing to report
      if (dev.state === MLX5_DEVICE_STATE_INTERNAL_ERROR) return;
      mlx5_core_err(dev, ["mlx5_ims_irq", 0], "IMS entry %d: %s failed, err(%d)\n", index, what, err);
    },
    ...extra,
  };
}

/**
 * Variant (a)'s SET_IMS_ENTRY: posted and spun for with interrupts as the
 * caller left them (off, under desc->lock). The driver's shadow of the store
 * follows a successful command, as mlx5_ims_set_entry() keeps it.
 */
function mlx5_ims_set_entry_spin(dev: mlx5_core_dev, index: number, e: mlx5_ims_hw_entry, timeout_us: number): number {
  const err = mlx5_irqlab_cmd_exec_spin(dev, mlx5_irqlab_set_ims_entry_in(index, e), new Uint8Array(irqlab_set_ims_entry_out.bytes), timeout_us);
  if (!err) dev.priv.ims?.shadow.set(index, { ...e });
  return err;
}

/**
 * From mlx5_irq_table_create(): set up IMS if it was asked for. Returns the
 * completion vectors IMS provides (0: MSI-X as usual) or a negative errno.
 */
export async function mlx5_ims_irq_table_create(dev: mlx5_core_dev): Promise<number> {
  const params = wanted.get(dev.pdev);
  if (!params) return 0;
  let t = tables.get(dev);
  if (!t) {
    // the store outlives reloads: mlx5_ims_load() gives it back after a reset
    if (!dev.priv.ims) {
      const err = await mlx5_ims_init(dev);
      if (err) {
        mlx5_core_warn(dev, ["mlx5_ims_irq_table_create", 0], "IMS store unavailable, err(%d); completion vectors on MSI-X\n", err);
        return 0;
      }
    }
    const n = Math.min(params.comp_vectors ?? 64, dev.priv.ims!.num);
    t = new mlx5_ims_irq_table(new mlx5_ims_chip_data(mlx5_ims_chip_ops_for(dev, params.ops ?? {})), n, params.template ?? mlx5_ims_template);
    // variant (a) spins for at most the command timeout the firmware reports
    t.chip.spin_timeout_us = mlx5_tout_ms(dev, "CMD") * 1000;
    tables.set(dev, t);
  }
  if (!(await pci_create_ims_domain(dev.pdev, t.template, dev.priv.ims!.num, t.chip))) {
    mlx5_core_warn(dev, ["mlx5_ims_irq_table_create", 0], "no IMS domain for this device; completion vectors on MSI-X\n");
    return 0;
  }
  // variant (a)'s input mailbox, while the domain exists
  const err = mlx5_irqlab_cmd_spin_prepare(dev);
  if (err) {
    await msi_remove_device_irq_domain(dev.pdev, MSI_SECONDARY_DOMAIN);
    return err;
  }
  t.active = true;
  if (!t.recovery_registered) {
    t.recovery_registered = true;
    mlx5_irqlab_register_recovery_notifier(dev, mlx5_ims_irq_recover);
  }
  mlx5_core_info(dev, "%d completion vectors on IMS\n", t.comp_vectors);
  return t.comp_vectors;
}

/** From mlx5_irq_table_destroy() / _free_irqs(), after the pool's interrupts were freed. */
export async function mlx5_ims_irq_table_destroy(dev: mlx5_core_dev): Promise<void> {
  const t = tables.get(dev);
  if (!t?.active) return;
  t.active = false;
  await cancel_work_sync(t.chip.async_work);
  mlx5_irqlab_cmd_spin_release(dev);
  // mlx5_unload(): the device forgets the store and every binding with the reset or teardown that follows
  mlx5_ims_store_lost(t.chip);
  t.bound.clear();
  await msi_remove_device_irq_domain(dev.pdev, MSI_SECONDARY_DOMAIN);
}

/** From mlx5_irq_alloc_map(): a completion interrupt from the IMS domain. */
export async function mlx5_ims_irq_alloc(dev: mlx5_core_dev, af_desc: irq_affinity_desc | null): Promise<msi_map> {
  const t = tables.get(dev);
  if (!t?.active) return { index: -ENODEV, virq: 0 };
  const map = await pci_ims_alloc_irq(dev.pdev, null, af_desc);
  if (map.virq > 0) t.maps.set(map.virq, map);
  return map;
}

/** From mlx5_system_free_irq(). */
export async function mlx5_ims_irq_free(dev: mlx5_core_dev, map: msi_map): Promise<void> {
  tables.get(dev)?.maps.delete(map.virq);
  await pci_ims_free_irq(dev.pdev, map);
}

/** From create_map_eq(): route EQ `eqn` through IMS entry `index`; the EQ is not armed yet. */
export async function mlx5_ims_irq_bind_eq(dev: mlx5_core_dev, eqn: number, index: number): Promise<number> {
  const err = await mlx5_eq_bind_ims(dev, eqn, index);
  const t = tables.get(dev);
  if (!err && t) t.bound.set(eqn, t.chip.generation);
  if (err) mlx5_core_err(dev, ["mlx5_ims_irq_bind_eq", 0], "failed to bind EQ 0x%x to IMS entry %d, err(%d)\n", eqn, index, err);
  return err;
}

/**
 * The recovery notifier: the device was reset and reloaded (the devlink lock
 * held, the interfaces attached again). Every live entry the device has not
 * been told since it lost its store is pushed again from the chip's shadow
 * (the truth: the driver's replay in mlx5_ims_load() also replays entries
 * freed since), and every EQ on an IMS interrupt not bound since is bound
 * again; mlx5_eq_table_poll_all() follows. With mlx5_core's reload, which
 * frees and requests every completion interrupt and recreates every EQ, both
 * lists are empty: request_irq() pushed each entry and create_map_eq() bound
 * each EQ; what survives a reload is restored here.
 */
export async function mlx5_ims_irq_recover(dev: mlx5_core_dev): Promise<void> {
  const t = tables.get(dev);
  if (!t?.active) return;
  const n = await mlx5_ims_restore(t.chip);
  if (n < 0) mlx5_core_err(dev, ["mlx5_ims_irq_recover", 0], "failed to restore IMS entries, err(%d)\n", n);
  else t.restored.entries += n;
  const table = dev.priv.eq_table;
  if (!table) return;
  for (const eq of table.comp_eqs.values()) {
    const irq = eq.core.irq;
    if (!irq?.ims || t.bound.get(eq.core.eqn) === t.chip.generation) continue;
    if (!(await mlx5_ims_irq_bind_eq(dev, eq.core.eqn, irq.map.index))) t.restored.bindings++;
  }
}
