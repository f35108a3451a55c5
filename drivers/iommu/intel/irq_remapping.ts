// SPDX-License-Identifier: GPL-2.0-only
// drivers/iommu/intel/irq_remapping.c: the "INTEL-IR" remapping domain
// between the x86 vector domain and the per-device MSI domains, and the
// unit's enable sequence. Remapped (not posted) format only. The IRTE
// allocator, modify_irte() with its IEC flush and the source-id rules are in
// irq_remapping_irte.ts.
//
// Why the device message never changes: compose returns a remappable
// message naming the IRTE (handle + subhandle); affinity changes rewrite the
// IRTE and flush the entry cache, and intel_ir_set_affinity() answers
// IRQ_SET_MASK_OK_DONE so the MSI layer does not touch the device.
//
// Linux keeps this in drivers/iommu/, and so does irqlab: the chip calls
// qi_submit_sync(), and irqchip/ may not import drivers/ (DESIGN.md §3).

import { site_of } from "../../../lib/kernel/stacktrace.ts";
import { EINVAL, ENODEV, ENOMEM } from "../../../lib/kernel/errno.ts";
import { readl, writel, writeq } from "../../../lib/kernel/io.ts";
import { dma_alloc_coherent, GFP_KERNEL } from "../../../lib/kernel/dma.ts";
import { raw_spin_lock_irqsave, raw_spin_unlock_irqrestore } from "../../../lib/kernel/spinlock.ts";
import { WARN, BUG_ON } from "../../../lib/kernel/bug.ts";
import { pr_err, pr_info, pr_info_once, pr_warn, KERN_WARNING } from "../../../lib/kernel/printk.ts";
import type { cpumask } from "../../../lib/kernel/cpumask.ts";
import type { device } from "../../../lib/kernel/device.ts";
import { IRQ_SET_MASK_OK_DONE, type irq_chip, type irq_data } from "../../../lib/irq/irq.ts";
import { irq_data_set_chip } from "../../../lib/irq/chip.ts";
import { irq_chip_orig } from "../../../lib/irq/trace.ts";
import {
  DOMAIN_BUS_DMAR,
  IRQ_DOMAIN_FLAG_ISOLATED_MSI,
  IRQ_DOMAIN_FLAG_MSI_PARENT,
  irq_domain_alloc_irqs_parent,
  irq_domain_alloc_named_id_fwnode,
  irq_domain_create_hierarchy,
  irq_domain_free_fwnode,
  irq_domain_free_irqs_common,
  irq_domain_get_irq_data,
  irq_domain_remove,
  irq_domain_reset_irq_data,
  irq_domain_update_bus_token,
  type irq_domain,
  type irq_domain_ops,
} from "../../../lib/irq/irqdomain.ts";
import { MSI_FLAG_MULTI_PCI_MSI, MSI_FLAG_PCI_IMS, msi_parent_init_dev_msi_info } from "../../../lib/irq/msi.ts";
import { msi_msg, type msi_parent_ops } from "../../../lib/irq/msi_types.ts";
import { apic_ack_irq, irqd_cfg, x86_vector_domain, X86_MSI_BASE_ADDRESS_HIGH, X86_MSI_BASE_ADDRESS_LOW, type irq_alloc_info, type irq_cfg } from "../../../irqchip/x86/vector.ts";
import { vector_schedule_cleanup } from "../../../irqchip/x86/vector_cleanup.ts";
import { X86_IRQ_ALLOC_TYPE_HPET, X86_IRQ_ALLOC_TYPE_IOAPIC, X86_IRQ_ALLOC_TYPE_PCI_MSI, X86_IRQ_ALLOC_TYPE_PCI_MSIX, X86_VECTOR_MSI_FLAGS_SUPPORTED } from "../../../irqchip/x86/msi.ts";
import { pci_dev } from "../../pci/pci.ts";
import { dmar_fault, dmar_iommus, dmar_ir_support, dmar_table_init, IOMMU_WAIT_OP } from "./dmar.ts";
import { dmar_disable_qi, dmar_enable_qi, qi_global_iec } from "./dmar_qi.ts";
import {
  DMA_GCMD_CFI,
  DMA_GCMD_IRE,
  DMA_GCMD_SIRTP,
  DMA_GSTS_CFIS,
  DMA_GSTS_IRES,
  DMA_GSTS_IRTPS,
  DMAR_GCMD_REG,
  DMAR_GSTS_REG,
  DMAR_IRTA_REG,
  INTR_REMAP_TABLE_ENTRIES,
  INTR_REMAP_TABLE_REG_SIZE,
  VTD_FLAG_IRQ_REMAP_PRE_ENABLED,
  cap_esirtps,
  ecap_eim_support,
  ecap_ir_support,
  irte_zero,
  type intel_iommu,
  type irte,
} from "./iommu.ts";
import {
  alloc_irte,
  clear_entries,
  IR_X2APIC_MODE,
  IRQ_POSTING,
  IRQ_REMAP_X2APIC_MODE,
  IRQ_REMAP_XAPIC_MODE,
  IRQ_REMAPPING,
  IRTE_DEST,
  irq_remapping_enabled,
  irs,
  map_dev_to_ir,
  modify_irte,
  set_msi_sid,
  type intel_ir_data,
  type irq_2_iommu,
} from "./irq_remapping_irte.ts";

export {
  type intel_ir_data,
  type irq_2_iommu,
  irq_remapping_enabled,
  irqlab_ir_disable_sourceid_checking,
  irqlab_ir_skip_iec_flush,
  IRQ_REMAP_X2APIC_MODE,
  IRQ_REMAP_XAPIC_MODE,
} from "./irq_remapping_irte.ts";

// drivers/iommu/intel/irq_remapping.c: iommu_set_irq_remapping()
function iommu_set_irq_remapping(iommu: intel_iommu, mode: boolean): void {
  const addr = BigInt(iommu.ir_table!.base.dma_handle);
  const flags = raw_spin_lock_irqsave(iommu.register_lock);
  writeq(addr | BigInt(IR_X2APIC_MODE(mode)) | BigInt(INTR_REMAP_TABLE_REG_SIZE), iommu.reg + DMAR_IRTA_REG);
  // set the interrupt-remapping table pointer
  writel(iommu.gcmd | DMA_GCMD_SIRTP, iommu.reg + DMAR_GCMD_REG);
  IOMMU_WAIT_OP(iommu, DMAR_GSTS_REG, (sts) => (sts & DMA_GSTS_IRTPS) !== 0);
  raw_spin_unlock_irqrestore(iommu.register_lock, flags);
  // the hardware must not use entries cached from an older table
  if (!cap_esirtps(iommu.cap)) qi_global_iec(iommu);
}

// drivers/iommu/intel/irq_remapping.c: iommu_enable_irq_remapping()
function iommu_enable_irq_remapping(iommu: intel_iommu): void {
  const flags = raw_spin_lock_irqsave(iommu.register_lock);
  iommu.gcmd |= DMA_GCMD_IRE;
  writel(iommu.gcmd, iommu.reg + DMAR_GCMD_REG);
  let sts = IOMMU_WAIT_OP(iommu, DMAR_GSTS_REG, (s) => (s & DMA_GSTS_IRES) !== 0);
  // block compatibility-format MSIs
  if (sts & DMA_GSTS_CFIS) {
    iommu.gcmd &= ~DMA_GCMD_CFI;
    writel(iommu.gcmd, iommu.reg + DMAR_GCMD_REG);
    sts = IOMMU_WAIT_OP(iommu, DMAR_GSTS_REG, (s) => !(s & DMA_GSTS_CFIS));
  }
  if (sts & DMA_GSTS_CFIS) WARN(1, KERN_WARNING + "Compatibility-format IRQs enabled despite intr remapping;\nyou are vulnerable to IRQ injection.\n");
  raw_spin_unlock_irqrestore(iommu.register_lock, flags);
}

// drivers/iommu/intel/irq_remapping.c: iommu_disable_irq_remapping()
export function iommu_disable_irq_remapping(iommu: intel_iommu): void {
  if (!ecap_ir_support(iommu.ecap)) return;
  if (!cap_esirtps(iommu.cap)) qi_global_iec(iommu);
  const flags = raw_spin_lock_irqsave(iommu.register_lock);
  const sts = readl(iommu.reg + DMAR_GSTS_REG);
  if (sts & DMA_GSTS_IRES) {
    iommu.gcmd &= ~DMA_GCMD_IRE;
    writel(iommu.gcmd, iommu.reg + DMAR_GCMD_REG);
    IOMMU_WAIT_OP(iommu, DMAR_GSTS_REG, (s) => !(s & DMA_GSTS_IRES));
  }
  raw_spin_unlock_irqrestore(iommu.register_lock, flags);
}

// drivers/iommu/intel/irq_remapping.c: intel_setup_irq_remapping()
async function intel_setup_irq_remapping(iommu: intel_iommu): Promise<number> {
  if (iommu.ir_table) return 0;
  // 65536 x 16 bytes, page order 8
  const base = dma_alloc_coherent(null, INTR_REMAP_TABLE_ENTRIES * 16, GFP_KERNEL);
  if (!base) {
    pr_err("DMAR-IR: IR%d: failed to allocate pages of order %d\n", iommu.seq_id, 8);
    return -ENOMEM;
  }
  const bitmap = new Uint8Array(INTR_REMAP_TABLE_ENTRIES);
  const fn = irq_domain_alloc_named_id_fwnode("INTEL-IR", iommu.seq_id);
  const domain = await irq_domain_create_hierarchy(x86_vector_domain(), 0, INTR_REMAP_TABLE_ENTRIES, fn, intel_ir_domain_ops, iommu);
  if (!domain) {
    pr_err("DMAR-IR: IR%d: failed to allocate irqdomain\n", iommu.seq_id);
    irq_domain_free_fwnode(fn);
    return -ENOMEM;
  }
  iommu.ir_domain = domain;
  await irq_domain_update_bus_token(domain, DOMAIN_BUS_DMAR);
  domain.flags |= IRQ_DOMAIN_FLAG_MSI_PARENT | IRQ_DOMAIN_FLAG_ISOLATED_MSI;
  domain.msi_parent_ops = dmar_msi_parent_ops;
  iommu.ir_table = { base, bitmap };
  // queued invalidation first: the IEC can only be flushed through it
  if (!iommu.qi) {
    // clear previous faults
    dmar_fault(-1, iommu);
    dmar_disable_qi(iommu);
    if (dmar_enable_qi(iommu)) {
      pr_err("DMAR-IR: Failed to enable queued invalidation\n");
      await irq_domain_remove(domain);
      iommu.ir_domain = null;
      iommu.ir_table = null;
      return -ENOMEM;
    }
  }
  // init_ir_status()
  if (readl(iommu.reg + DMAR_GSTS_REG) & DMA_GSTS_IRES) iommu.flags |= VTD_FLAG_IRQ_REMAP_PRE_ENABLED;
  if (iommu.flags & VTD_FLAG_IRQ_REMAP_PRE_ENABLED) {
    // not a kdump kernel: start from a clean table
    pr_info_once("DMAR-IR: IRQ remapping was enabled on %s but we are not in kdump mode\n", iommu.name);
    iommu.flags &= ~VTD_FLAG_IRQ_REMAP_PRE_ENABLED;
    iommu_disable_irq_remapping(iommu);
  }
  iommu_set_irq_remapping(iommu, irs().eim_mode);
  return 0;
}

// drivers/iommu/intel/irq_remapping.c: intel_prepare_irq_remapping()
export async function intel_prepare_irq_remapping(): Promise<number> {
  if (dmar_table_init() < 0) return -ENODEV;
  if (!dmar_ir_support()) return -ENODEV;
  const iommus = dmar_iommus();
  if (iommus.some((i) => !ecap_ir_support(i.ecap))) return -ENODEV;
  // irqlab runs the xAPIC: no x2APIC, so no extended interrupt mode
  let eim = false;
  for (const iommu of iommus) {
    if (eim && !ecap_eim_support(iommu.ecap)) {
      pr_info("DMAR-IR: %s does not support EIM\n", iommu.name);
      eim = false;
    }
  }
  irs().eim_mode = eim;
  for (const iommu of iommus) {
    if (await intel_setup_irq_remapping(iommu)) {
      pr_err("DMAR-IR: Failed to setup irq remapping for %s\n", iommu.name);
      return -ENODEV;
    }
  }
  return 0;
}

// drivers/iommu/intel/irq_remapping.c: intel_enable_irq_remapping()
export function intel_enable_irq_remapping(): number {
  const iommus = dmar_iommus();
  if (iommus.length === 0) return -1;
  for (const iommu of iommus) if (!(iommu.flags & VTD_FLAG_IRQ_REMAP_PRE_ENABLED)) iommu_enable_irq_remapping(iommu);
  irs().irq_remapping_enabled = true;
  pr_info("DMAR-IR: Enabled IRQ remapping in %s mode\n", irs().eim_mode ? "x2apic" : "xapic");
  return irs().eim_mode ? IRQ_REMAP_X2APIC_MODE : IRQ_REMAP_XAPIC_MODE;
}

/**
 * drivers/iommu/intel/irq_remapping.c: intel_irq_remap_add_device(), run
 * from the DMAR PCI bus notifier: a device whose MSI parent is still the
 * default (the vector domain) gets the remapping domain.
 */
export function intel_irq_remap_add_device(dev: pci_dev): void {
  if (!irq_remapping_enabled() || dev.msi.domain !== x86_vector_domain()) return;
  dev.msi.domain = map_dev_to_ir();
}

// drivers/iommu/intel/irq_remapping.c: prepare_irte()
function prepare_irte(e: irte, vector: number, dest: number): void {
  Object.assign(e, irte_zero());
  e.present = 1;
  // physical destination mode: apic->dest_mode_logical is false
  e.dst_mode = 0;
  // always edge: IO-APIC level semantics stay in the RTE
  e.trigger_mode = 0;
  e.dlvry_mode = 0;
  e.vector = vector;
  e.dest_id = IRTE_DEST(dest);
  e.redir_hint = 1;
}

// drivers/iommu/intel/irq_remapping.c: intel_ir_reconfigure_irte()
function intel_ir_reconfigure_irte(irqd: irq_data, force: boolean): void {
  const ir_data = irqd.chip_data as intel_ir_data;
  const e = ir_data.irte_entry;
  const cfg = irqd_cfg(irqd)!;
  // atomically update the IRTE with the new destination and vector, then flush the IEC
  e.vector = cfg.vector;
  e.dest_id = IRTE_DEST(cfg.dest_apicid);
  if (force || ir_data.irq_2_iommu.mode === IRQ_REMAPPING) modify_irte(ir_data.irq_2_iommu, e);
}

// drivers/iommu/intel/irq_remapping.c: intel_ir_set_affinity()
function intel_ir_set_affinity(data: irq_data, mask: cpumask, force: boolean): number {
  const parent = data.parent_data!;
  const cfg = irqd_cfg(data)!;
  const ret = parent.chip.irq_set_affinity!(parent, mask, force);
  if (ret < 0 || ret === IRQ_SET_MASK_OK_DONE) return ret;
  intel_ir_reconfigure_irte(data, false);
  // After the flush every new interrupt arrives at the new destination, so
  // the previous vector can be cleaned up now.
  vector_schedule_cleanup(cfg);
  return IRQ_SET_MASK_OK_DONE;
}

// drivers/iommu/intel/irq_remapping.c: intel_ir_compose_msi_msg()
function intel_ir_compose_msi_msg(irq_data: irq_data, msg: msi_msg): void {
  const e = (irq_data.chip_data as intel_ir_data).msi_entry;
  msg.address_lo = e.address_lo;
  msg.address_hi = e.address_hi;
  msg.data = e.data;
}

/** static struct irq_chip intel_ir_chip (irq_set_vcpu_affinity: posted mode is not modelled) */
export const intel_ir_chip: irq_chip = {
  name: "INTEL-IR",
  irq_ack: apic_ack_irq,
  irq_set_affinity: intel_ir_set_affinity,
  irq_compose_msi_msg: intel_ir_compose_msi_msg,
};

// drivers/iommu/intel/irq_remapping.c: fill_msi_msg(): the remappable format
function fill_msi_msg(msg: msi_msg, index: number, subhandle: number): void {
  msg.address_lo =
    (X86_MSI_BASE_ADDRESS_LOW |
      ((index & 0x7fff) << 5) | // dmar_index_0_14
      (1 << 4) | // dmar_format
      (1 << 3) | // dmar_subhandle_valid
      (index & 0x8000 ? 1 << 2 : 0)) >>> // dmar_index_15
    0;
  msg.address_hi = X86_MSI_BASE_ADDRESS_HIGH;
  msg.data = subhandle & 0xffff;
}

// drivers/iommu/intel/irq_remapping.c: intel_irq_remapping_prepare_irte();
// composes the IRTE in the cache only, the table is written at activation
function intel_irq_remapping_prepare_irte(data: intel_ir_data, cfg: irq_cfg, info: irq_alloc_info, index: number, sub_handle: number): void {
  prepare_irte(data.irte_entry, cfg.vector, cfg.dest_apicid);
  switch (info.type) {
    case X86_IRQ_ALLOC_TYPE_IOAPIC:
    case X86_IRQ_ALLOC_TYPE_HPET:
      // irqlab has neither IO-APICs nor HPETs
      BUG_ON(1, { fn: "intel_irq_remapping_prepare_irte" });
      break;
    case X86_IRQ_ALLOC_TYPE_PCI_MSI:
    case X86_IRQ_ALLOC_TYPE_PCI_MSIX: {
      const dev = (info.desc as { dev?: device } | undefined)?.dev ?? (info["dev"] as device | undefined);
      if (dev instanceof pci_dev) set_msi_sid(data.irte_entry, dev);
      break;
    }
    default:
      BUG_ON(1, { fn: "intel_irq_remapping_prepare_irte", line: 2 });
  }
  fill_msi_msg(data.msi_entry, index, sub_handle);
}

// drivers/iommu/intel/irq_remapping.c: intel_free_irq_resources()
function intel_free_irq_resources(domain: irq_domain, virq: number, nr_irqs: number): void {
  for (let i = 0; i < nr_irqs; i++) {
    const irq_data = irq_domain_get_irq_data(domain, virq + i);
    if (irq_data?.chip_data) {
      const data = irq_data.chip_data as intel_ir_data;
      const flags = raw_spin_lock_irqsave(irs().irq_2_ir_lock, 0, intel_free_irq_resources_ip);
      clear_entries(data.irq_2_iommu);
      raw_spin_unlock_irqrestore(irs().irq_2_ir_lock, flags);
      irq_domain_reset_irq_data(irq_data);
    }
  }
}

// drivers/iommu/intel/irq_remapping.c: intel_irq_remapping_alloc()
function intel_irq_remapping_alloc(domain: irq_domain, virq: number, nr_irqs: number, arg: unknown): number {
  const iommu = domain.host_data as intel_iommu | null;
  const info = arg as irq_alloc_info | null;
  if (!info || !iommu) return -EINVAL;
  if (nr_irqs > 1 && info.type !== X86_IRQ_ALLOC_TYPE_PCI_MSI) return -EINVAL;
  let ret = irq_domain_alloc_irqs_parent(domain, virq, nr_irqs, arg);
  if (ret < 0) return ret;
  const slot: { value: irq_2_iommu | null } = { value: null };
  const index = alloc_irte(iommu, slot, nr_irqs);
  if (index < 0) {
    pr_warn("DMAR-IR: Failed to allocate IRTE\n");
    irq_domain_free_irqs_common(domain, virq, nr_irqs);
    return -ENOMEM;
  }
  const first = slot.value!;
  let i = 0;
  for (; i < nr_irqs; i++) {
    const irq_data = irq_domain_get_irq_data(domain, virq + i);
    const irq_cfg = irq_data ? irqd_cfg(irq_data) : null;
    if (!irq_data || !irq_cfg) {
      ret = -EINVAL;
      break;
    }
    const ird: intel_ir_data = { irq_2_iommu: i > 0 ? { ...first, sub_handle: i } : first, irte_entry: irte_zero(), msi_entry: new msi_msg() };
    irq_data.hwirq = index * 65536 + i;
    irq_data.chip_data = ird;
    irq_data_set_chip(irq_data, intel_ir_chip);
    intel_irq_remapping_prepare_irte(ird, irq_cfg, info, index, i);
  }
  if (i === nr_irqs) return 0;
  intel_free_irq_resources(domain, virq, i);
  irq_domain_free_irqs_common(domain, virq, nr_irqs);
  return ret;
}

// drivers/iommu/intel/irq_remapping.c: intel_irq_remapping_free()
function intel_irq_remapping_free(domain: irq_domain, virq: number, nr_irqs: number): void {
  intel_free_irq_resources(domain, virq, nr_irqs);
  irq_domain_free_irqs_common(domain, virq, nr_irqs);
}

// drivers/iommu/intel/irq_remapping.c: intel_irq_remapping_activate()
function intel_irq_remapping_activate(_domain: irq_domain, irq_data: irq_data, _reserve: boolean): number {
  intel_ir_reconfigure_irte(irq_data, true);
  return 0;
}

// drivers/iommu/intel/irq_remapping.c: intel_irq_remapping_deactivate()
function intel_irq_remapping_deactivate(_domain: irq_domain, irq_data: irq_data): void {
  const data = irq_data.chip_data as intel_ir_data;
  modify_irte(data.irq_2_iommu, irte_zero());
}

const intel_ir_domain_ops: irq_domain_ops = {
  alloc: intel_irq_remapping_alloc,
  free: intel_irq_remapping_free,
  activate: intel_irq_remapping_activate,
  deactivate: intel_irq_remapping_deactivate,
};

/**
 * static const struct msi_parent_ops dmar_msi_parent_ops, as in v6.2..v6.9
 * (MSI_FLAG_PCI_IMS among the supported flags: the remapping domain is what
 * makes IMS possible on x86).
 */
export const dmar_msi_parent_ops: msi_parent_ops = {
  supported_flags: X86_VECTOR_MSI_FLAGS_SUPPORTED | MSI_FLAG_MULTI_PCI_MSI | MSI_FLAG_PCI_IMS,
  prefix: "IR-",
  init_dev_msi_info: msi_parent_init_dev_msi_info as msi_parent_ops["init_dev_msi_info"],
};

/** The IRTE index and sub-handle behind a remapped interrupt (for tests and tooling). */
export function intel_ir_irte_of(irqd: irq_data): { index: number; sub_handle: number; iommu: intel_iommu } | null {
  for (let d: irq_data | null = irqd; d; d = d.parent_data) {
    if (irq_chip_orig(d.chip) === intel_ir_chip) {
      const r = (d.chip_data as intel_ir_data).irq_2_iommu;
      return { index: r.irte_index + r.sub_handle, sub_handle: r.sub_handle, iommu: r.iommu };
    }
  }
  return null;
}

export { IRQ_REMAPPING, IRQ_POSTING };

/**
 * irqlab (no kernel counterpart): mask or unmask a remapped interrupt at its
 * IRTE by clearing or setting the present bit, with modify_irte()'s IEC
 * flush, for the IMS chip variant that delegates mask/unmask to the
 * remapping parent (irqchip/irq-mlx5-ims-variants.ts). Atomic context: the
 * raw irq_2_ir_lock and a synchronous flush, so it may run under desc->lock.
 * A message arriving while the IRTE is not present is blocked by the
 * remapping unit and recorded as fault 0x22 (unless `fpd`): it is lost, not
 * latched. The software copy keeps the bit, so an affinity change
 * (intel_ir_reconfigure_irte()) leaves a masked entry masked.
 */
export function intel_ir_irqlab_mask_irte(irqd: irq_data, masked: boolean, fpd = false): number {
  for (let d: irq_data | null = irqd; d; d = d.parent_data) {
    if (irq_chip_orig(d.chip) !== intel_ir_chip) continue;
    const ir_data = d.chip_data as intel_ir_data;
    ir_data.irte_entry.present = masked ? 0 : 1;
    ir_data.irte_entry.fpd = masked && fpd ? 1 : 0;
    return modify_irte(ir_data.irq_2_iommu, ir_data.irte_entry);
  }
  return -ENODEV;
}

// lockdep acquire sites (_RET_IP_) of the locks these functions take,
// named instead of captured on every acquisition (lib/kernel/stacktrace.ts)
const intel_free_irq_resources_ip = site_of(intel_free_irq_resources);
