// SPDX-License-Identifier: GPL-2.0-only
// drivers/iommu/intel/dmar.c, reduced to the interrupt-remapping side: the
// DRHD units from the ACPI DMAR table, mapping a unit's registers and the
// fault interrupt that prints the kernel's DMAR fault lines. Queued
// invalidation (enable, submit-and-poll, fault checks) is in dmar_qi.ts.
//
// Locking as in the kernel: iommu->register_lock (raw, irqsave) around
// register sequences, qi->q_lock (raw, irqsave) around the ring; the submit
// path polls with interrupts off, so the whole QI round trip is atomic
// context and may be called under a descriptor lock.

import { K } from "../../../lib/kernel/kernel.ts";
import { EINVAL, ENODEV, ENOMEM } from "../../../lib/kernel/errno.ts";
import { readl, readq, writel, ioremap } from "../../../lib/kernel/io.ts";
import { raw_spin_lock_init, raw_spin_lock_irqsave, raw_spin_unlock_irqrestore } from "../../../lib/kernel/spinlock.ts";
import { cpu_relax } from "../../../lib/kernel/delay.ts";
import { panic } from "../../../lib/kernel/bug.ts";
import { pr_err, pr_info, __ratelimit, ratelimit_state } from "../../../lib/kernel/printk.ts";
import { firmware } from "../../../lib/kernel/firmware.ts";
import { IRQ_HANDLED, IRQF_NO_THREAD, type irqreturn_t } from "../../../lib/irq/interrupt.ts";
import { request_irq } from "../../../lib/irq/manage.ts";
import {
  DMA_FECTL_IM,
  DMA_FRCD_F,
  DMA_FSTS_PFO,
  DMA_FSTS_PPF,
  DMA_FSTS_PRO,
  DMA_GCMD_IRE,
  DMA_GCMD_QIE,
  DMA_GCMD_TE,
  DMA_GSTS_IRES,
  DMA_GSTS_QIES,
  DMA_GSTS_TES,
  DMAR_CAP_REG,
  DMAR_ECAP_REG,
  DMAR_FECTL_REG,
  DMAR_FSTS_REG,
  DMAR_GSTS_REG,
  DMAR_OPERATION_TIMEOUT_NS,
  DMAR_PECTL_REG,
  DMAR_VER_MAJOR,
  DMAR_VER_MINOR,
  DMAR_VER_REG,
  cap_fault_reg_offset,
  cap_num_fault_regs,
  dma_frcd_fault_reason,
  dma_frcd_pasid_present,
  dma_frcd_pasid_value,
  dma_frcd_source_id,
  dma_frcd_type,
  dma_fsts_fault_record_index,
  type dmar_drhd_unit,
  type intel_iommu,
} from "./iommu.ts";
import { dmar_alloc_hwirq } from "./dmar_msi.ts";

export const VTD_PAGE_SIZE = 4096;
const IOMMU_PASID_INVALID = 0xffffffff;

interface DmarState {
  units: dmar_drhd_unit[];
  seq: number;
  /** dmar_fault()'s DEFINE_RATELIMIT_STATE(rs, ...) */
  rs: ratelimit_state;
  parsed: boolean;
}

function ds(): DmarState {
  return K.state<DmarState>("dmar", () => ({ units: [], seq: 0, rs: new ratelimit_state(), parsed: false }));
}

/** for_each_iommu(iommu, drhd) */
export function dmar_iommus(): intel_iommu[] {
  return ds()
    .units.map((u) => u.iommu)
    .filter((i): i is intel_iommu => i !== null);
}

// drivers/iommu/intel/iommu.h: IOMMU_WAIT_OP(), polling a status register
// with cpu_relax() and panicking after DMAR_OPERATION_TIMEOUT
export function IOMMU_WAIT_OP(iommu: intel_iommu, offset: number, cond: (sts: number) => boolean): number {
  const start = K.sim.now;
  for (;;) {
    const sts = readl(iommu.reg + offset);
    if (cond(sts)) return sts;
    if (K.sim.now - start > DMAR_OPERATION_TIMEOUT_NS) panic("DMAR hardware is malfunctioning\n");
    cpu_relax();
  }
}

// drivers/iommu/intel/dmar.c: map_iommu()
function map_iommu(iommu: intel_iommu, drhd: dmar_drhd_unit): number {
  iommu.reg_phys = drhd.reg_base_addr;
  iommu.reg_size = VTD_PAGE_SIZE;
  iommu.reg = ioremap(iommu.reg_phys, iommu.reg_size);
  if (!iommu.reg) {
    pr_err("DMAR: Can't map the region\n");
    return -ENOMEM;
  }
  iommu.cap = readq(iommu.reg + DMAR_CAP_REG);
  iommu.ecap = readq(iommu.reg + DMAR_ECAP_REG);
  if (iommu.cap === 0xffffffffffffffffn && iommu.ecap === 0xffffffffffffffffn) {
    pr_err("DMAR: [Firmware Bug]: Your BIOS is broken; DMAR reported at address %llx returns all ones!\n", drhd.reg_base_addr);
    return -EINVAL;
  }
  return 0;
}

// drivers/iommu/intel/dmar.c: alloc_iommu()
function alloc_iommu(drhd: dmar_drhd_unit): number {
  if (!drhd.reg_base_addr) return -EINVAL;
  const s = ds();
  const seq_id = s.seq++;
  const iommu: intel_iommu = {
    reg: 0,
    reg_phys: 0,
    reg_size: 0,
    cap: 0n,
    ecap: 0n,
    gcmd: 0,
    register_lock: raw_spin_lock_init("&iommu->register_lock"),
    seq_id,
    name: `dmar${seq_id}`,
    segment: drhd.segment,
    flags: 0,
    irq: 0,
    pr_irq: 0,
    qi: null,
    ir_table: null,
    ir_domain: null,
    node: -1,
    drhd,
  };
  const err = map_iommu(iommu, drhd);
  if (err) {
    pr_err("DMAR: Failed to map %s\n", iommu.name);
    return err;
  }
  const ver = readl(iommu.reg + DMAR_VER_REG);
  pr_info("DMAR: %s: reg_base_addr %llx ver %d:%d cap %llx ecap %llx\n", iommu.name, drhd.reg_base_addr, DMAR_VER_MAJOR(ver), DMAR_VER_MINOR(ver), iommu.cap, iommu.ecap);
  // Reflect status in gcmd
  const sts = readl(iommu.reg + DMAR_GSTS_REG);
  if (sts & DMA_GSTS_IRES) iommu.gcmd |= DMA_GCMD_IRE;
  if (sts & DMA_GSTS_TES) iommu.gcmd |= DMA_GCMD_TE;
  if (sts & DMA_GSTS_QIES) iommu.gcmd |= DMA_GCMD_QIE;
  drhd.iommu = iommu;
  return 0;
}

// drivers/iommu/intel/dmar.c: dmar_table_init() (parse_dmar_table() + dmar_parse_one_drhd())
export function dmar_table_init(): number {
  const s = ds();
  if (s.parsed) return s.units.length ? 0 : -ENODEV;
  s.parsed = true;
  const fw = firmware();
  if (fw.dmar_units.length === 0) {
    pr_info("DMAR: No DMAR devices found\n");
    return -ENODEV;
  }
  pr_info("DMAR: Host address width 39\n");
  for (const u of fw.dmar_units) {
    pr_info("DMAR: DRHD base: %#016Lx flags: %#x\n", u.address, u.include_all ? 1 : 0);
    const drhd: dmar_drhd_unit = { reg_base_addr: u.address, reg_size: VTD_PAGE_SIZE, segment: u.segment, include_all: u.include_all, iommu: null };
    const ret = alloc_iommu(drhd);
    if (ret) return ret;
    s.units.push(drhd);
  }
  return 0;
}

/** dmar_ir_support(): the DMAR table's INTR_REMAP flag. */
export function dmar_ir_support(): boolean {
  return (firmware().dmar_flags & 0x1) !== 0;
}

/** dmar_find_matched_drhd_unit(), reduced: irqlab's firmware lists INCLUDE_PCI_ALL units only. */
export function dmar_find_matched_drhd_unit(): dmar_drhd_unit | null {
  return ds().units.find((u) => u.include_all && u.iommu) ?? null;
}

/* drivers/iommu/intel/dmar.c: irq_remap_fault_reasons[] */
const irq_remap_fault_reasons = [
  "Detected reserved fields in the decoded interrupt-remapped request",
  "Interrupt index exceeded the interrupt-remapping table size",
  "Present field in the IRTE entry is clear",
  "Error accessing interrupt-remapping table pointed by IRTA_REG",
  "Detected reserved fields in the IRTE entry",
  "Blocked a compatibility format interrupt request",
  "Blocked an interrupt request due to source-id verification failure",
];

const INTR_REMAP = 1;
const DMA_REMAP = 0;
const UNKNOWN = 2;

// drivers/iommu/intel/dmar.c: dmar_get_fault_reason(), interrupt-remapping
// reasons only (irqlab models no DMA translation)
function dmar_get_fault_reason(fault_reason: number): { reason: string; type: number } {
  if (fault_reason >= 0x20 && fault_reason - 0x20 < irq_remap_fault_reasons.length) return { reason: irq_remap_fault_reasons[fault_reason - 0x20]!, type: INTR_REMAP };
  if (fault_reason < 0x20) return { reason: "Unknown", type: DMA_REMAP };
  return { reason: "Unknown", type: UNKNOWN };
}

function PCI_SLOT(devfn: number): number {
  return (devfn >> 3) & 0x1f;
}
function PCI_FUNC(devfn: number): number {
  return devfn & 7;
}

// drivers/iommu/intel/dmar.c: dmar_fault_do_one()
function dmar_fault_do_one(type: number, fault_reason: number, pasid: number, source_id: number, addr: bigint): number {
  const { reason, type: fault_type } = dmar_get_fault_reason(fault_reason);
  if (fault_type === INTR_REMAP) {
    pr_err(
      "DMAR: [INTR-REMAP] Request device [%02x:%02x.%d] fault index 0x%llx [fault reason 0x%02x] %s\n",
      source_id >> 8,
      PCI_SLOT(source_id & 0xff),
      PCI_FUNC(source_id & 0xff),
      addr >> 48n,
      fault_reason,
      reason,
    );
    return 0;
  }
  if (pasid === IOMMU_PASID_INVALID)
    pr_err(
      "DMAR: [%s NO_PASID] Request device [%02x:%02x.%d] fault addr 0x%llx [fault reason 0x%02x] %s\n",
      type ? "DMA Read" : "DMA Write",
      source_id >> 8,
      PCI_SLOT(source_id & 0xff),
      PCI_FUNC(source_id & 0xff),
      addr,
      fault_reason,
      reason,
    );
  else
    pr_err(
      "DMAR: [%s PASID 0x%x] Request device [%02x:%02x.%d] fault addr 0x%llx [fault reason 0x%02x] %s\n",
      type ? "DMA Read" : "DMA Write",
      pasid,
      source_id >> 8,
      PCI_SLOT(source_id & 0xff),
      PCI_FUNC(source_id & 0xff),
      addr,
      fault_reason,
      reason,
    );
  return 0;
}

const PRIMARY_FAULT_REG_LEN = 16;

// drivers/iommu/intel/dmar.c: dmar_fault(), the handler of the fault event
// interrupt (IRQF_NO_THREAD, hardirq context); walks the fault recording
// registers from FSTS.FRI, prints and clears each
export function dmar_fault(_irq: number, dev_id: unknown): irqreturn_t {
  const iommu = dev_id as intel_iommu;
  const rs = ds().rs;
  let flag = raw_spin_lock_irqsave(iommu.register_lock);
  const fault_status = readl(iommu.reg + DMAR_FSTS_REG);
  if (fault_status && __ratelimit(rs)) pr_err("DMAR: DRHD: handling fault status reg %x\n", fault_status);
  if (fault_status & DMA_FSTS_PPF) {
    let fault_index = dma_fsts_fault_record_index(fault_status);
    const reg = cap_fault_reg_offset(iommu.cap);
    for (;;) {
      // printing stops when rate-limited; the fault is still cleared
      const ratelimited = !__ratelimit(rs);
      const rec = iommu.reg + reg + fault_index * PRIMARY_FAULT_REG_LEN;
      let data = readl(rec + 12);
      if (!(data & DMA_FRCD_F)) break;
      let fault_reason = 0;
      let type = 0;
      let pasid = 0;
      let source_id = 0;
      let guest_addr = 0n;
      let pasid_present = false;
      if (!ratelimited) {
        fault_reason = dma_frcd_fault_reason(data);
        type = dma_frcd_type(data);
        pasid = dma_frcd_pasid_value(data);
        data = readl(rec + 8);
        source_id = dma_frcd_source_id(data);
        pasid_present = dma_frcd_pasid_present(data);
        guest_addr = readq(rec) & ~0xfffn;
      }
      writel(DMA_FRCD_F, rec + 12);
      raw_spin_unlock_irqrestore(iommu.register_lock, flag);
      if (!ratelimited) dmar_fault_do_one(type, fault_reason, pasid_present ? pasid : IOMMU_PASID_INVALID, source_id, guest_addr);
      fault_index++;
      if (fault_index >= cap_num_fault_regs(iommu.cap)) fault_index = 0;
      flag = raw_spin_lock_irqsave(iommu.register_lock);
    }
    writel(DMA_FSTS_PFO | DMA_FSTS_PPF | DMA_FSTS_PRO, iommu.reg + DMAR_FSTS_REG);
  }
  raw_spin_unlock_irqrestore(iommu.register_lock, flag);
  return IRQ_HANDLED;
}

// drivers/iommu/intel/dmar.c: dmar_msi_reg()
function dmar_msi_reg(iommu: intel_iommu, irq: number): number {
  if (iommu.irq === irq) return DMAR_FECTL_REG;
  if (iommu.pr_irq === irq) return DMAR_PECTL_REG;
  throw new Error("irqlab: BUG in dmar_msi_reg()");
}

// drivers/iommu/intel/dmar.c: dmar_msi_unmask()
export function dmar_msi_unmask(iommu: intel_iommu, irq: number): void {
  const reg = dmar_msi_reg(iommu, irq);
  const flag = raw_spin_lock_irqsave(iommu.register_lock);
  writel(0, iommu.reg + reg);
  // flush the posted write
  readl(iommu.reg + reg);
  raw_spin_unlock_irqrestore(iommu.register_lock, flag);
}

// drivers/iommu/intel/dmar.c: dmar_msi_mask()
export function dmar_msi_mask(iommu: intel_iommu, irq: number): void {
  const reg = dmar_msi_reg(iommu, irq);
  const flag = raw_spin_lock_irqsave(iommu.register_lock);
  writel(DMA_FECTL_IM, iommu.reg + reg);
  readl(iommu.reg + reg);
  raw_spin_unlock_irqrestore(iommu.register_lock, flag);
}

// drivers/iommu/intel/dmar.c: dmar_msi_write()
export function dmar_msi_write(iommu: intel_iommu, irq: number, msg: { address_lo: number; address_hi: number; data: number }): void {
  const reg = dmar_msi_reg(iommu, irq);
  const flag = raw_spin_lock_irqsave(iommu.register_lock);
  writel(msg.data, iommu.reg + reg + 4);
  writel(msg.address_lo, iommu.reg + reg + 8);
  writel(msg.address_hi, iommu.reg + reg + 12);
  raw_spin_unlock_irqrestore(iommu.register_lock, flag);
}

// drivers/iommu/intel/dmar.c: dmar_set_interrupt()
export async function dmar_set_interrupt(iommu: intel_iommu): Promise<number> {
  if (iommu.irq) return 0;
  const irq = await dmar_alloc_hwirq(iommu.seq_id, iommu.node, iommu);
  if (irq > 0) iommu.irq = irq;
  else {
    pr_err("DMAR: No free IRQ vectors\n");
    return -EINVAL;
  }
  const ret = await request_irq(irq, dmar_fault, IRQF_NO_THREAD, iommu.name, iommu);
  if (ret) pr_err("DMAR: Can't request irq\n");
  return ret;
}

// drivers/iommu/intel/dmar.c: enable_drhd_fault_handling()
export async function enable_drhd_fault_handling(): Promise<number> {
  for (const drhd of ds().units) {
    const iommu = drhd.iommu;
    if (!iommu || iommu.irq) continue;
    const ret = await dmar_set_interrupt(iommu);
    if (ret) {
      pr_err("DMAR: DRHD %Lx: failed to enable fault, interrupt, ret %d\n", drhd.reg_base_addr, ret);
      return -1;
    }
    // clear any previous faults
    dmar_fault(iommu.irq, iommu);
    const fault_status = readl(iommu.reg + DMAR_FSTS_REG);
    writel(fault_status, iommu.reg + DMAR_FSTS_REG);
  }
  return 0;
}
