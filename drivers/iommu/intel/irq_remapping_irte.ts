// SPDX-License-Identifier: GPL-2.0-only
// drivers/iommu/intel/irq_remapping.c, the IRTE side: the driver's state,
// the IRTE allocator, modify_irte() with its IEC flush, clear_entries() and
// the source-id rules. The INTEL-IR domain, its chip and the unit's enable
// sequence are in irq_remapping.ts, which re-exports this file's public names.

import { K } from "../../../lib/kernel/kernel.ts";
import { raw_spin_lock_init, raw_spin_lock_irqsave, raw_spin_unlock_irqrestore } from "../../../lib/kernel/spinlock.ts";
import { site_of } from "../../../lib/kernel/stacktrace.ts";
import { pr_err, pr_warn } from "../../../lib/kernel/printk.ts";
import type { irq_domain } from "../../../lib/irq/irqdomain.ts";
import type { msi_msg } from "../../../lib/irq/msi_types.ts";
import { pci_dev_id, type pci_dev } from "../../pci/pci.ts";
import { dmar_find_matched_drhd_unit } from "./dmar.ts";
import { qi_submit_sync } from "./dmar_qi.ts";
import {
  INTR_REMAP_TABLE_ENTRIES,
  PCI_BUS_NUM,
  QI_IEC_IIDEX,
  QI_IEC_IM,
  QI_IEC_SELECTIVE,
  QI_IEC_TYPE,
  SQ_ALL_16,
  SVT_NO_VERIFY,
  SVT_VERIFY_BUS,
  SVT_VERIFY_SID_SQ,
  ecap_max_handle_mask,
  irte_high,
  irte_low,
  type intel_iommu,
  type irte,
} from "./iommu.ts";

/* enum irq_mode */
export const IRQ_REMAPPING = 0;
export const IRQ_POSTING = 1;

/** struct irq_2_iommu */
export interface irq_2_iommu {
  iommu: intel_iommu;
  irte_index: number;
  sub_handle: number;
  irte_mask: number;
  mode: number;
}

/** struct intel_ir_data */
export interface intel_ir_data {
  irq_2_iommu: irq_2_iommu;
  /** the IRTE as software last composed it (the table holds what hardware reads) */
  irte_entry: irte;
  msi_entry: msi_msg;
}

/* include/asm/irq_remapping.h: enum irq_remap_mode */
export const IRQ_REMAP_XAPIC_MODE = 0;
export const IRQ_REMAP_X2APIC_MODE = 1;

interface IrState {
  eim_mode: boolean;
  irq_2_ir_lock: ReturnType<typeof raw_spin_lock_init>;
  irq_remapping_enabled: boolean;
  disable_sourceid_checking: boolean;
  /** irqlab test hook, not a kernel knob: modify_irte() forgets its IEC flush */
  skip_iec_flush: boolean;
}

export function irs(): IrState {
  return K.state<IrState>("intel_ir", () => ({
    eim_mode: false,
    irq_2_ir_lock: raw_spin_lock_init("irq_2_ir_lock"),
    irq_remapping_enabled: false,
    disable_sourceid_checking: false,
    skip_iec_flush: false,
  }));
}

/** irq_remapping_enabled (drivers/iommu/irq_remapping.c) */
export function irq_remapping_enabled(): boolean {
  return irs().irq_remapping_enabled;
}

/**
 * irqlab test hook: make modify_irte() skip qi_flush_iec(), the bug of a
 * driver that updates an IRTE in memory and forgets the interrupt entry
 * cache. Returns the previous setting.
 */
export function irqlab_ir_skip_iec_flush(skip: boolean): boolean {
  const s = irs();
  const old = s.skip_iec_flush;
  s.skip_iec_flush = skip;
  return old;
}

/** intremap=nosid: disable_sourceid_checking */
export function irqlab_ir_disable_sourceid_checking(off: boolean): void {
  irs().disable_sourceid_checking = off;
}

export function IR_X2APIC_MODE(mode: boolean): number {
  return mode ? 1 << 11 : 0;
}
export function IRTE_DEST(dest: number): number {
  return irs().eim_mode ? dest : dest << 8;
}

// lib/bitmap.c: bitmap_find_free_region(): an aligned block of 2^order clear bits
function bitmap_find_free_region(bitmap: Uint8Array, bits: number, order: number): number {
  const n = 1 << order;
  for (let pos = 0; pos + n <= bits; pos += n) {
    let free = true;
    for (let i = 0; i < n; i++) {
      if (bitmap[pos + i]) {
        free = false;
        break;
      }
    }
    if (free) {
      bitmap.fill(1, pos, pos + n);
      return pos;
    }
  }
  return -1;
}

// lib/bitmap.c: bitmap_release_region()
function bitmap_release_region(bitmap: Uint8Array, pos: number, order: number): void {
  bitmap.fill(0, pos, pos + (1 << order));
}

// drivers/iommu/intel/irq_remapping.c: alloc_irte()
export function alloc_irte(iommu: intel_iommu, irq_iommu: { value: irq_2_iommu | null }, count: number): number {
  const table = iommu.ir_table!;
  let mask = 0;
  if (!count) return -1;
  if (count > 1) {
    count = 1 << Math.ceil(Math.log2(count));
    mask = Math.log2(count);
  }
  if (mask > ecap_max_handle_mask(iommu.ecap)) {
    pr_err("DMAR-IR: Requested mask %x exceeds the max invalidation handle mask value %Lx\n", mask, ecap_max_handle_mask(iommu.ecap));
    return -1;
  }
  const flags = raw_spin_lock_irqsave(irs().irq_2_ir_lock, 0, alloc_irte_ip);
  const index = bitmap_find_free_region(table.bitmap, INTR_REMAP_TABLE_ENTRIES, mask);
  if (index < 0) pr_warn("DMAR-IR: IR%d: can't allocate an IRTE\n", iommu.seq_id);
  else irq_iommu.value = { iommu, irte_index: index, sub_handle: 0, irte_mask: mask, mode: IRQ_REMAPPING };
  raw_spin_unlock_irqrestore(irs().irq_2_ir_lock, flags);
  return index;
}

// drivers/iommu/intel/irq_remapping.c: qi_flush_iec(): an index-selective
// IEC invalidation of 2^mask entries from index
function qi_flush_iec(iommu: intel_iommu, index: number, mask: number): number {
  const qw0 = QI_IEC_IIDEX(index) | QI_IEC_TYPE | QI_IEC_IM(mask) | QI_IEC_SELECTIVE;
  return qi_submit_sync(iommu, [{ qw0, qw1: 0n, qw2: 0n, qw3: 0n }], 1, 0);
}

// drivers/iommu/intel/irq_remapping.c: modify_irte(); atomic context (raw
// irq_2_ir_lock, interrupts off), so it can run under a descriptor lock
export function modify_irte(irq_iommu: irq_2_iommu | null, irte_modified: irte): number {
  if (!irq_iommu) return -1;
  const s = irs();
  const flags = raw_spin_lock_irqsave(s.irq_2_ir_lock, 0, modify_irte_ip);
  const iommu = irq_iommu.iommu;
  const index = irq_iommu.irte_index + irq_iommu.sub_handle;
  const base = iommu.ir_table!.base;
  // remapped format: two 64-bit stores, low (present, vector, dest) first
  base.set_le64(index * 16, irte_low(irte_modified));
  base.set_le64(index * 16 + 8, irte_high(irte_modified));
  const rc = s.skip_iec_flush ? 0 : qi_flush_iec(iommu, index, 0);
  irq_iommu.mode = irte_modified.pst ? IRQ_POSTING : IRQ_REMAPPING;
  raw_spin_unlock_irqrestore(s.irq_2_ir_lock, flags);
  return rc;
}
const modify_irte_ip = site_of(modify_irte);

// drivers/iommu/intel/irq_remapping.c: map_dev_to_ir()
export function map_dev_to_ir(): irq_domain | null {
  return dmar_find_matched_drhd_unit()?.iommu?.ir_domain ?? null;
}

// drivers/iommu/intel/irq_remapping.c: clear_entries(), by the sub_handle 0 owner only
export function clear_entries(irq_iommu: irq_2_iommu): number {
  if (irq_iommu.sub_handle) return 0;
  const iommu = irq_iommu.iommu;
  const index = irq_iommu.irte_index;
  const base = iommu.ir_table!.base;
  for (let e = index; e < index + (1 << irq_iommu.irte_mask); e++) {
    base.set_le64(e * 16, 0n);
    base.set_le64(e * 16 + 8, 0n);
  }
  bitmap_release_region(iommu.ir_table!.bitmap, index, irq_iommu.irte_mask);
  return qi_flush_iec(iommu, index, irq_iommu.irte_mask);
}

// drivers/iommu/intel/irq_remapping.c: set_irte_sid()
function set_irte_sid(e: irte, svt: number, sq: number, sid: number): void {
  if (irs().disable_sourceid_checking) svt = SVT_NO_VERIFY;
  e.svt = svt;
  e.sq = sq;
  e.sid = sid;
}

// drivers/iommu/intel/irq_remapping.c: set_irte_verify_bus()
function set_irte_verify_bus(e: irte, start_bus: number, end_bus: number): void {
  set_irte_sid(e, SVT_VERIFY_BUS, SQ_ALL_16, (start_bus << 8) | end_bus);
}

// drivers/iommu/intel/irq_remapping.c: set_msi_sid(). irqlab's PCI has no
// bridges and no DMA alias quirks, so pci_for_each_dma_alias() yields the
// device's own requester ID once and the last rule applies.
export function set_msi_sid(e: irte, dev: pci_dev): number {
  const aliases: { pdev: pci_dev; alias: number }[] = [{ pdev: dev, alias: pci_dev_id(dev) }];
  let count = 0;
  let busmatch_count = 0;
  let last = aliases[0]!;
  for (const a of aliases) {
    if (count === 0 || PCI_BUS_NUM(a.alias) === PCI_BUS_NUM(last.alias)) busmatch_count++;
    last = a;
    count++;
  }
  if (PCI_BUS_NUM(last.alias) !== last.pdev.busnr) set_irte_verify_bus(e, PCI_BUS_NUM(last.alias), dev.busnr);
  else if (count >= 2 && busmatch_count === count) set_irte_verify_bus(e, dev.busnr, dev.busnr);
  else if (last.pdev.busnr !== dev.busnr) set_irte_sid(e, SVT_VERIFY_SID_SQ, SQ_ALL_16, last.alias);
  else set_irte_sid(e, SVT_VERIFY_SID_SQ, SQ_ALL_16, pci_dev_id(dev));
  return 0;
}

// lockdep acquire sites (_RET_IP_) of the locks these functions take,
// named instead of captured on every acquisition (lib/kernel/stacktrace.ts)
const alloc_irte_ip = site_of(alloc_irte);
