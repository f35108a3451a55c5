// SPDX-License-Identifier: GPL-2.0-only
// drivers/iommu/intel/iommu.h and include/linux/dmar.h, reduced to what
// interrupt remapping uses: the register layout, the capability accessors,
// the queued-invalidation descriptors, struct intel_iommu and struct irte.
//
// These are the kernel's own copies of the VT-d register definitions. The
// hardware model (lib/hw/vtd.ts) has its own, written from the spec side;
// they agree because both follow the VT-d specification, and the layering
// rule keeps drivers from reading the model's internals.

import type { raw_spinlock_t } from "../../../lib/kernel/spinlock.ts";
import type { DmaCoherentBuffer } from "../../../lib/kernel/dma.ts";
import type { iomem } from "../../../lib/kernel/io.ts";
import type { irq_domain } from "../../../lib/irq/irqdomain.ts";

/* drivers/iommu/intel/iommu.h: register offsets */
export const DMAR_VER_REG = 0x0;
export const DMAR_CAP_REG = 0x8;
export const DMAR_ECAP_REG = 0x10;
export const DMAR_GCMD_REG = 0x18;
export const DMAR_GSTS_REG = 0x1c;
export const DMAR_FSTS_REG = 0x34;
export const DMAR_FECTL_REG = 0x38;
export const DMAR_FEDATA_REG = 0x3c;
export const DMAR_FEADDR_REG = 0x40;
export const DMAR_FEUADDR_REG = 0x44;
export const DMAR_IQH_REG = 0x80;
export const DMAR_IQT_REG = 0x88;
export const DMAR_IQA_REG = 0x90;
export const DMAR_ICS_REG = 0x9c;
export const DMAR_IECTL_REG = 0xa0;
export const DMAR_IQER_REG = 0xb0;
export const DMAR_IRTA_REG = 0xb8;
export const DMAR_PECTL_REG = 0xe0;

export function DMAR_VER_MAJOR(v: number): number {
  return (v & 0xf0) >> 4;
}
export function DMAR_VER_MINOR(v: number): number {
  return v & 0x0f;
}

/* GCMD / GSTS bits */
export const DMA_GCMD_TE = 1 << 31;
export const DMA_GCMD_QIE = 1 << 26;
export const DMA_GCMD_IRE = 1 << 25;
export const DMA_GCMD_SIRTP = 1 << 24;
export const DMA_GCMD_CFI = 1 << 23;
export const DMA_GSTS_TES = 1 << 31;
export const DMA_GSTS_QIES = 1 << 26;
export const DMA_GSTS_IRES = 1 << 25;
export const DMA_GSTS_IRTPS = 1 << 24;
export const DMA_GSTS_CFIS = 1 << 23;

/* FSTS bits */
export const DMA_FSTS_PFO = 1 << 0;
export const DMA_FSTS_PPF = 1 << 1;
export const DMA_FSTS_IQE = 1 << 4;
export const DMA_FSTS_ICE = 1 << 5;
export const DMA_FSTS_ITE = 1 << 6;
export const DMA_FSTS_PRO = 1 << 7;
export function dma_fsts_fault_record_index(s: number): number {
  return (s >>> 8) & 0xff;
}

/* FECTL */
export const DMA_FECTL_IM = 1 << 31;

/* fault recording register, upper dword */
export const DMA_FRCD_F = 1 << 31;
export function dma_frcd_type(d: number): number {
  return (d >>> 30) & 1;
}
export function dma_frcd_fault_reason(d: number): number {
  return d & 0xff;
}
export function dma_frcd_pasid_value(d: number): number {
  return (d >>> 8) & 0xfffff;
}
export function dma_frcd_pasid_present(d: number): boolean {
  return ((d >>> 31) & 1) !== 0;
}
export function dma_frcd_source_id(d: number): number {
  return d & 0xffff;
}

/* IQER */
export function DMAR_IQER_REG_IQEI(reg: bigint): bigint {
  return reg & 0xfn;
}
export function DMAR_IQER_REG_ITESID(reg: bigint): bigint {
  return (reg >> 32n) & 0xffffn;
}
export function DMAR_IQER_REG_ICESID(reg: bigint): bigint {
  return (reg >> 48n) & 0xffffn;
}

/* capability accessors (cap is a 64-bit register, kept as bigint) */
export function cap_esirtps(cap: bigint): boolean {
  return ((cap >> 62n) & 1n) !== 0n;
}
export function cap_pi_support(cap: bigint): boolean {
  return ((cap >> 59n) & 1n) !== 0n;
}
export function cap_num_fault_regs(cap: bigint): number {
  return Number((cap >> 40n) & 0xffn) + 1;
}
export function cap_fault_reg_offset(cap: bigint): number {
  return Number((cap >> 24n) & 0x3ffn) * 16;
}
export function ecap_qis(ecap: bigint): boolean {
  return ((ecap >> 1n) & 1n) !== 0n;
}
export function ecap_ir_support(ecap: bigint): boolean {
  return ((ecap >> 3n) & 1n) !== 0n;
}
export function ecap_eim_support(ecap: bigint): boolean {
  return ((ecap >> 4n) & 1n) !== 0n;
}
export function ecap_max_handle_mask(ecap: bigint): number {
  return Number((ecap >> 20n) & 0xfn);
}
export function ecap_smts(ecap: bigint): boolean {
  return ((ecap >> 43n) & 1n) !== 0n;
}

/* queued invalidation descriptors */
export const QI_LENGTH = 256;
export const QI_CC_TYPE = 0x1n;
export const QI_IOTLB_TYPE = 0x2n;
export const QI_DIOTLB_TYPE = 0x3n;
export const QI_IEC_TYPE = 0x4n;
export const QI_IWD_TYPE = 0x5n;
export const QI_EIOTLB_TYPE = 0x6n;
export const QI_PC_TYPE = 0x7n;
export const QI_DEIOTLB_TYPE = 0x8n;
export const QI_PGRP_RESP_TYPE = 0x9n;
export const QI_IEC_SELECTIVE = 1n << 4n;
export function QI_IEC_IIDEX(idx: number): bigint {
  return BigInt(idx & 0xffff) << 32n;
}
export function QI_IEC_IM(m: number): bigint {
  return BigInt(m & 0x1f) << 27n;
}
export const QI_IWD_STATUS_WRITE = 1n << 5n;
export function QI_IWD_STATUS_DATA(d: number): bigint {
  return BigInt(d >>> 0) << 32n;
}
export const QI_IWD_PRQ_DRAIN = 1n << 7n;
export const QI_OPT_WAIT_DRAIN = 1;

/* enum qi_desc_status */
export const QI_FREE = 0;
export const QI_IN_USE = 1;
export const QI_DONE = 2;
export const QI_ABORT = 3;

/** struct qi_desc (128-bit descriptors; qw2/qw3 exist only in scalable mode) */
export interface qi_desc {
  qw0: bigint;
  qw1: bigint;
  qw2: bigint;
  qw3: bigint;
}

/** struct q_inval */
export interface q_inval {
  q_lock: raw_spinlock_t;
  /** the descriptor ring, one page of host RAM */
  desc: DmaCoherentBuffer;
  /** desc_status[]: host RAM the hardware's wait descriptors write into */
  desc_status: DmaCoherentBuffer;
  free_head: number;
  free_tail: number;
  free_cnt: number;
}

/* interrupt remapping table */
export const INTR_REMAP_PAGE_ORDER = 8;
export const INTR_REMAP_TABLE_REG_SIZE = 0xf;
export const INTR_REMAP_TABLE_REG_SIZE_MASK = 0xf;
export const INTR_REMAP_TABLE_ENTRIES = 65536;

/** struct ir_table */
export interface ir_table {
  /** 65536 IRTEs of 16 bytes in host RAM */
  base: DmaCoherentBuffer;
  /** the allocation bitmap, one entry per IRTE */
  bitmap: Uint8Array;
}

/** struct intel_iommu, the fields interrupt remapping reaches. */
export interface intel_iommu {
  reg: iomem;
  reg_phys: number;
  reg_size: number;
  cap: bigint;
  ecap: bigint;
  /** the enabled-feature bits software keeps to write GCMD with */
  gcmd: number;
  register_lock: raw_spinlock_t;
  seq_id: number;
  name: string;
  segment: number;
  flags: number;
  irq: number;
  pr_irq: number;
  qi: q_inval | null;
  ir_table: ir_table | null;
  ir_domain: irq_domain | null;
  node: number;
  drhd: dmar_drhd_unit;
}

export const VTD_FLAG_IRQ_REMAP_PRE_ENABLED = 1 << 1;

/** struct dmar_drhd_unit */
export interface dmar_drhd_unit {
  reg_base_addr: number;
  reg_size: number;
  segment: number;
  include_all: boolean;
  iommu: intel_iommu | null;
}

/** DMAR_OPERATION_TIMEOUT: 10 s (in cycles in C; in ns here). */
export const DMAR_OPERATION_TIMEOUT_NS = 10_000_000_000;

/* include/linux/dmar.h: struct irte, as plain fields (low and high qwords) */
export interface irte {
  present: number;
  fpd: number;
  dst_mode: number;
  redir_hint: number;
  trigger_mode: number;
  dlvry_mode: number;
  avail: number;
  pst: number;
  vector: number;
  dest_id: number;
  sid: number;
  sq: number;
  svt: number;
}

export function irte_zero(): irte {
  return { present: 0, fpd: 0, dst_mode: 0, redir_hint: 0, trigger_mode: 0, dlvry_mode: 0, avail: 0, pst: 0, vector: 0, dest_id: 0, sid: 0, sq: 0, svt: 0 };
}

/** irte.low, the 64-bit word the remapping hardware reads first */
export function irte_low(e: irte): bigint {
  return (
    BigInt(e.present & 1) |
    (BigInt(e.fpd & 1) << 1n) |
    (BigInt(e.dst_mode & 1) << 2n) |
    (BigInt(e.redir_hint & 1) << 3n) |
    (BigInt(e.trigger_mode & 1) << 4n) |
    (BigInt(e.dlvry_mode & 7) << 5n) |
    (BigInt(e.avail & 0xf) << 8n) |
    (BigInt(e.pst & 1) << 15n) |
    (BigInt(e.vector & 0xff) << 16n) |
    (BigInt(e.dest_id >>> 0) << 32n)
  );
}

/** irte.high: source-id verification */
export function irte_high(e: irte): bigint {
  return BigInt(e.sid & 0xffff) | (BigInt(e.sq & 3) << 16n) | (BigInt(e.svt & 3) << 18n);
}

export function irte_from(low: bigint, high: bigint): irte {
  const b = (v: bigint, s: bigint, m: bigint): number => Number((v >> s) & m);
  return {
    present: b(low, 0n, 1n),
    fpd: b(low, 1n, 1n),
    dst_mode: b(low, 2n, 1n),
    redir_hint: b(low, 3n, 1n),
    trigger_mode: b(low, 4n, 1n),
    dlvry_mode: b(low, 5n, 7n),
    avail: b(low, 8n, 0xfn),
    pst: b(low, 15n, 1n),
    vector: b(low, 16n, 0xffn),
    dest_id: b(low, 32n, 0xffffffffn),
    sid: b(high, 0n, 0xffffn),
    sq: b(high, 16n, 3n),
    svt: b(high, 18n, 3n),
  };
}

/* source validation type and qualifier (irq_remapping.c) */
export const SVT_NO_VERIFY = 0x0;
export const SVT_VERIFY_SID_SQ = 0x1;
export const SVT_VERIFY_BUS = 0x2;
export const SQ_ALL_16 = 0x0;
export const SQ_13_IGNORE_1 = 0x1;
export const SQ_13_IGNORE_2 = 0x2;
export const SQ_13_IGNORE_3 = 0x3;

export function PCI_DEVID(bus: number, devfn: number): number {
  return ((bus & 0xff) << 8) | (devfn & 0xff);
}
export function PCI_BUS_NUM(x: number): number {
  return (x >> 8) & 0xff;
}
