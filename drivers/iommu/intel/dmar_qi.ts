// SPDX-License-Identifier: GPL-2.0-only
// drivers/iommu/intel/dmar.c, queued invalidation: enabling and disabling
// the queue, qi_submit_sync() (submit and poll) and its fault checks. The
// DRHD units, register mapping and the fault interrupt stay in dmar.ts.
//
// Locking as in the kernel: iommu->register_lock (raw, irqsave) around
// register sequences, qi->q_lock (raw, irqsave) around the ring; the submit
// path polls with interrupts off, so the whole QI round trip is atomic
// context and may be called under a descriptor lock.

import { K } from "../../../lib/kernel/kernel.ts";
import { EINVAL, EAGAIN, ENOENT, ENOMEM, ETIMEDOUT } from "../../../lib/kernel/errno.ts";
import { readl, readq, writel, writeq } from "../../../lib/kernel/io.ts";
import { dma_alloc_coherent, GFP_ATOMIC } from "../../../lib/kernel/dma.ts";
import { raw_spin_lock, raw_spin_lock_init, raw_spin_lock_irqsave, raw_spin_unlock, raw_spin_unlock_irqrestore } from "../../../lib/kernel/spinlock.ts";
import { site_of } from "../../../lib/kernel/stacktrace.ts";
import { cpu_relax } from "../../../lib/kernel/delay.ts";
import { pr_err, pr_info } from "../../../lib/kernel/printk.ts";
import { trace_enabled, trace_event } from "../../../lib/kernel/tracepoint.ts";
import {
  DMA_FSTS_ICE,
  DMA_FSTS_IQE,
  DMA_FSTS_ITE,
  DMA_GCMD_QIE,
  DMA_GSTS_QIES,
  DMAR_FSTS_REG,
  DMAR_GCMD_REG,
  DMAR_GSTS_REG,
  DMAR_IQA_REG,
  DMAR_IQER_REG,
  DMAR_IQER_REG_ICESID,
  DMAR_IQER_REG_IQEI,
  DMAR_IQER_REG_ITESID,
  DMAR_IQH_REG,
  DMAR_IQT_REG,
  DMAR_OPERATION_TIMEOUT_NS,
  QI_ABORT,
  QI_CC_TYPE,
  QI_DEIOTLB_TYPE,
  QI_DIOTLB_TYPE,
  QI_DONE,
  QI_EIOTLB_TYPE,
  QI_FREE,
  QI_IEC_TYPE,
  QI_IN_USE,
  QI_IOTLB_TYPE,
  QI_IWD_PRQ_DRAIN,
  QI_IWD_STATUS_DATA,
  QI_IWD_STATUS_WRITE,
  QI_IWD_TYPE,
  QI_LENGTH,
  QI_OPT_WAIT_DRAIN,
  QI_PC_TYPE,
  QI_PGRP_RESP_TYPE,
  ecap_qis,
  ecap_smts,
  type intel_iommu,
  type qi_desc,
} from "./iommu.ts";
import { IOMMU_WAIT_OP, VTD_PAGE_SIZE } from "./dmar.ts";

// drivers/iommu/intel/iommu.h: qi_shift(); 128-bit descriptors without scalable mode
function qi_shift(iommu: intel_iommu): number {
  return ecap_smts(iommu.ecap) ? 5 : 4;
}

function desc_status(iommu: intel_iommu, i: number): number {
  return iommu.qi!.desc_status.le32(i * 4);
}
function set_desc_status(iommu: intel_iommu, i: number, v: number): void {
  iommu.qi!.desc_status.set_le32(i * 4, v);
}

// drivers/iommu/intel/dmar.c: reclaim_free_desc()
function reclaim_free_desc(iommu: intel_iommu): void {
  const qi = iommu.qi!;
  while (desc_status(iommu, qi.free_tail) === QI_FREE && qi.free_tail !== qi.free_head) {
    qi.free_tail = (qi.free_tail + 1) % QI_LENGTH;
    qi.free_cnt++;
  }
}

// drivers/iommu/intel/dmar.c: qi_type_string()
function qi_type_string(type: bigint): string {
  switch (type) {
    case QI_CC_TYPE:
      return "Context-cache Invalidation";
    case QI_IOTLB_TYPE:
      return "IOTLB Invalidation";
    case QI_DIOTLB_TYPE:
      return "Device-TLB Invalidation";
    case QI_IEC_TYPE:
      return "Interrupt Entry Cache Invalidation";
    case QI_IWD_TYPE:
      return "Invalidation Wait";
    case QI_EIOTLB_TYPE:
      return "PASID-based IOTLB Invalidation";
    case QI_PC_TYPE:
      return "PASID-cache Invalidation";
    case QI_DEIOTLB_TYPE:
      return "PASID-based Device-TLB Invalidation";
    case QI_PGRP_RESP_TYPE:
      return "Page Group Response";
    default:
      return "UNKNOWN";
  }
}

// drivers/iommu/intel/dmar.c: qi_dump_fault()
function qi_dump_fault(iommu: intel_iommu, fault: number): void {
  const shift = qi_shift(iommu);
  let head = readl(iommu.reg + DMAR_IQH_REG);
  const iqe_err = readq(iommu.reg + DMAR_IQER_REG);
  const desc = iommu.qi!.desc;
  if (fault & DMA_FSTS_IQE) pr_err("DMAR: VT-d detected Invalidation Queue Error: Reason %llx", DMAR_IQER_REG_IQEI(iqe_err));
  if (fault & DMA_FSTS_ITE) pr_err("DMAR: VT-d detected Invalidation Time-out Error: SID %llx", DMAR_IQER_REG_ITESID(iqe_err));
  if (fault & DMA_FSTS_ICE) pr_err("DMAR: VT-d detected Invalidation Completion Error: SID %llx", DMAR_IQER_REG_ICESID(iqe_err));
  let qw0 = desc.le64(head);
  pr_err("DMAR: QI HEAD: %s qw0 = 0x%llx, qw1 = 0x%llx\n", qi_type_string(qw0 & 0xfn), qw0, desc.le64(head + 8));
  head = (((head >>> shift) + QI_LENGTH - 1) % QI_LENGTH) << shift;
  qw0 = desc.le64(head);
  pr_err("DMAR: QI PRIOR: %s qw0 = 0x%llx, qw1 = 0x%llx\n", qi_type_string(qw0 & 0xfn), qw0, desc.le64(head + 8));
}

// drivers/iommu/intel/dmar.c: qi_check_fault()
function qi_check_fault(iommu: intel_iommu, index: number, wait_index: number): number {
  const qi = iommu.qi!;
  const shift = qi_shift(iommu);
  if (desc_status(iommu, wait_index) === QI_ABORT) return -EAGAIN;
  const fault = readl(iommu.reg + DMAR_FSTS_REG);
  if (fault & (DMA_FSTS_IQE | DMA_FSTS_ITE | DMA_FSTS_ICE)) qi_dump_fault(iommu, fault);
  // With IQE the head points at the offending descriptor and nothing more
  // is fetched until IQE is cleared.
  if (fault & DMA_FSTS_IQE) {
    const head = readl(iommu.reg + DMAR_IQH_REG);
    if (head >>> shift === index) {
      // overwrite the bad descriptor with our wait descriptor, so the
      // hardware completes the batch once IQE is cleared
      qi.desc.write(head, qi.desc.read(wait_index << shift, 1 << shift));
      writel(DMA_FSTS_IQE, iommu.reg + DMAR_FSTS_REG);
      pr_info("DMAR: Invalidation Queue Error (IQE) cleared\n");
      return -EINVAL;
    }
  }
  // With ITE every pending wait descriptor is aborted.
  if (fault & DMA_FSTS_ITE) {
    let head = readl(iommu.reg + DMAR_IQH_REG);
    head = ((head >>> shift) - 1 + QI_LENGTH) % QI_LENGTH;
    let tail = readl(iommu.reg + DMAR_IQT_REG);
    tail = ((tail >>> shift) - 1 + QI_LENGTH) % QI_LENGTH;
    const iqe_err = readq(iommu.reg + DMAR_IQER_REG);
    const ite_sid = DMAR_IQER_REG_ITESID(iqe_err);
    writel(DMA_FSTS_ITE, iommu.reg + DMAR_FSTS_REG);
    pr_info("DMAR: Invalidation Time-out Error (ITE) cleared\n");
    do {
      if (desc_status(iommu, head) === QI_IN_USE) set_desc_status(iommu, head, QI_ABORT);
      head = (head - 1 + QI_LENGTH) % QI_LENGTH;
    } while (head !== tail);
    // irqlab has no ATS devices, so a time-out SID names no present device
    if (ite_sid) return -ETIMEDOUT;
    if (desc_status(iommu, wait_index) === QI_ABORT) return -EAGAIN;
  }
  if (fault & DMA_FSTS_ICE) {
    writel(DMA_FSTS_ICE, iommu.reg + DMAR_FSTS_REG);
    pr_info("DMAR: Invalidation Completion Error (ICE) cleared\n");
  }
  return 0;
}

/* drivers/iommu/intel/trace.h: qi_submit's __print_symbolic() table */
const QI_SUBMIT_SYMBOLS: Readonly<Record<number, string>> = {
  [Number(QI_CC_TYPE)]: "cc_inv",
  [Number(QI_IOTLB_TYPE)]: "iotlb_inv",
  [Number(QI_DIOTLB_TYPE)]: "dev_tlb_inv",
  [Number(QI_IEC_TYPE)]: "iec_inv",
  [Number(QI_IWD_TYPE)]: "inv_wait",
  [Number(QI_EIOTLB_TYPE)]: "p_iotlb_inv",
  [Number(QI_PC_TYPE)]: "pc_inv",
  [Number(QI_DEIOTLB_TYPE)]: "p_dev_tlb_inv",
  [Number(QI_PGRP_RESP_TYPE)]: "page_grp_resp",
};

// drivers/iommu/intel/trace.h: trace_qi_submit() (intel_iommu:qi_submit)
function trace_qi_submit(iommu: intel_iommu, d: qi_desc): void {
  if (!trace_enabled()) return;
  const type = Number(d.qw0 & 0xfn);
  // __print_symbolic() prints an unlisted value as hex
  const sym = QI_SUBMIT_SYMBOLS[type] ?? `0x${type.toString(16)}`;
  trace_event("intel_iommu", "qi_submit", "%s %s: 0x%llx 0x%llx 0x%llx 0x%llx", sym, iommu.name, d.qw0, d.qw1, d.qw2, d.qw3);
}

// drivers/iommu/intel/dmar.c: qi_submit_sync(): queue `desc` plus a wait
// descriptor whose status write lands in desc_status[], and poll it with
// interrupts off. Never sleeps.
export function qi_submit_sync(iommu: intel_iommu, desc: qi_desc[], count: number, options: number): number {
  const qi = iommu.qi;
  if (!qi) return 0;
  let rc: number;
  for (;;) {
    rc = 0;
    let flags = raw_spin_lock_irqsave(qi.q_lock, 0, qi_submit_sync_ip);
    // room for the descriptors, the wait descriptor and one gap slot
    while (qi.free_cnt < count + 2) {
      raw_spin_unlock_irqrestore(qi.q_lock, flags);
      cpu_relax();
      flags = raw_spin_lock_irqsave(qi.q_lock, 0, qi_submit_sync_ip);
    }
    const index = qi.free_head;
    const wait_index = (index + count) % QI_LENGTH;
    const shift = qi_shift(iommu);
    for (let i = 0; i < count; i++) {
      const off = ((index + i) % QI_LENGTH) << shift;
      const d = desc[i]!;
      qi.desc.set_le64(off, d.qw0);
      qi.desc.set_le64(off + 8, d.qw1);
      set_desc_status(iommu, (index + i) % QI_LENGTH, QI_IN_USE);
      trace_qi_submit(iommu, d);
    }
    set_desc_status(iommu, wait_index, QI_IN_USE);
    let wqw0 = QI_IWD_STATUS_DATA(QI_DONE) | QI_IWD_STATUS_WRITE | QI_IWD_TYPE;
    if (options & QI_OPT_WAIT_DRAIN) wqw0 |= QI_IWD_PRQ_DRAIN;
    const woff = wait_index << shift;
    qi.desc.set_le64(woff, wqw0);
    qi.desc.set_le64(woff + 8, BigInt(qi.desc_status.dma_handle + wait_index * 4));
    qi.free_head = (qi.free_head + count + 1) % QI_LENGTH;
    qi.free_cnt -= count + 1;
    // hand the batch to the hardware
    writel(qi.free_head << shift, iommu.reg + DMAR_IQT_REG);
    // Interrupts stay off while polling, so no interrupt on this CPU can
    // queue more work and wait for slots behind us.
    while (desc_status(iommu, wait_index) !== QI_DONE) {
      rc = qi_check_fault(iommu, index, wait_index);
      if (rc) break;
      raw_spin_unlock(qi.q_lock);
      cpu_relax();
      raw_spin_lock(qi.q_lock, 0, qi_submit_sync_ip);
    }
    // the whole batch, wait descriptor included, can be reclaimed now
    for (let i = 0; i <= count; i++) set_desc_status(iommu, (index + i) % QI_LENGTH, QI_FREE);
    reclaim_free_desc(iommu);
    raw_spin_unlock_irqrestore(qi.q_lock, flags);
    if (rc !== -EAGAIN) break;
  }
  return rc;
}
const qi_submit_sync_ip = site_of(qi_submit_sync);

// drivers/iommu/intel/dmar.c: qi_global_iec()
export function qi_global_iec(iommu: intel_iommu): void {
  // should never fail
  qi_submit_sync(iommu, [{ qw0: QI_IEC_TYPE, qw1: 0n, qw2: 0n, qw3: 0n }], 1, 0);
}

// drivers/iommu/intel/dmar.c: dmar_disable_qi()
export function dmar_disable_qi(iommu: intel_iommu): void {
  if (!ecap_qis(iommu.ecap)) return;
  const flags = raw_spin_lock_irqsave(iommu.register_lock);
  const sts = readl(iommu.reg + DMAR_GSTS_REG);
  if (sts & DMA_GSTS_QIES) {
    // give the hardware a chance to finish pending requests
    const start = K.sim.now;
    while (readl(iommu.reg + DMAR_IQT_REG) !== readl(iommu.reg + DMAR_IQH_REG) && K.sim.now - start < DMAR_OPERATION_TIMEOUT_NS) cpu_relax();
    iommu.gcmd &= ~DMA_GCMD_QIE;
    writel(iommu.gcmd, iommu.reg + DMAR_GCMD_REG);
    IOMMU_WAIT_OP(iommu, DMAR_GSTS_REG, (s) => !(s & DMA_GSTS_QIES));
  }
  raw_spin_unlock_irqrestore(iommu.register_lock, flags);
}

// drivers/iommu/intel/dmar.c: __dmar_enable_qi()
function __dmar_enable_qi(iommu: intel_iommu): void {
  const qi = iommu.qi!;
  let val = BigInt(qi.desc.dma_handle);
  qi.free_head = qi.free_tail = 0;
  qi.free_cnt = QI_LENGTH;
  if (ecap_smts(iommu.ecap)) val |= (1n << 11n) | 1n;
  const flags = raw_spin_lock_irqsave(iommu.register_lock);
  writel(0, iommu.reg + DMAR_IQT_REG);
  writeq(val, iommu.reg + DMAR_IQA_REG);
  iommu.gcmd |= DMA_GCMD_QIE;
  writel(iommu.gcmd, iommu.reg + DMAR_GCMD_REG);
  IOMMU_WAIT_OP(iommu, DMAR_GSTS_REG, (s) => (s & DMA_GSTS_QIES) !== 0);
  raw_spin_unlock_irqrestore(iommu.register_lock, flags);
}

// drivers/iommu/intel/dmar.c: dmar_enable_qi()
export function dmar_enable_qi(iommu: intel_iommu): number {
  if (!ecap_qis(iommu.ecap)) return -ENOENT;
  if (iommu.qi) return 0;
  // one page of descriptors (two with 256-bit descriptors), the status array
  const desc = dma_alloc_coherent(null, ecap_smts(iommu.ecap) ? 2 * VTD_PAGE_SIZE : VTD_PAGE_SIZE, GFP_ATOMIC);
  if (!desc) return -ENOMEM;
  const status = dma_alloc_coherent(null, QI_LENGTH * 4, GFP_ATOMIC);
  if (!status) return -ENOMEM;
  iommu.qi = { q_lock: raw_spin_lock_init("&qi->q_lock"), desc, desc_status: status, free_head: 0, free_tail: 0, free_cnt: QI_LENGTH };
  __dmar_enable_qi(iommu);
  return 0;
}

// drivers/iommu/intel/dmar.c: dmar_reenable_qi()
export function dmar_reenable_qi(iommu: intel_iommu): number {
  if (!ecap_qis(iommu.ecap) || !iommu.qi) return -ENOENT;
  dmar_disable_qi(iommu);
  __dmar_enable_qi(iommu);
  return 0;
}
