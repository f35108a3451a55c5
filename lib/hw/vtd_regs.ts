// SPDX-License-Identifier: GPL-2.0-only
// The programming interface of the VT-d-like interrupt-remapping unit
// (lib/hw/vtd.ts; hardware.md 2.1-2.3, 2.5, 2.7): its options, the register
// map, bit names, descriptor formats and the IRTE layout. Pure data and
// functions; lib/hw/vtd.ts re-exports all of it.
//
// Names follow drivers/iommu/intel/iommu.h, include/linux/dmar.h and
// drivers/iommu/intel/irq_remapping.c where Linux has a name; the few it
// lacks (the invalidation-event registers, FECTL.IP, ICS.IWC, the wait
// descriptor's IF bit, the fault reason codes) use the VT-d specification's
// field names and say so. 64-bit register values and descriptor quadwords
// are bigint, as everywhere in irqlab.

// ---------------------------------------------------------------- the unit

/**
 * Requester id of the unit's own upstream writes. It lies outside the 16-bit
 * PCI RID space, so no device can alias it; the remapper passes it through.
 */
export const VTD_UNIT_RID = 0x10000;
export const VTD_DEFAULT_BASE = 0xfed90000;

export interface VtdOptions {
  /** MMIO base of the register page (default 0xFED9_0000). */
  base?: number;
  name?: string;
  /** IEC capacity in entries, LRU (default 64; 0 = no cache, as QEMU). */
  irteCacheEntries?: number;
  /** GCMD write arrival to GSTS update (default 1 us). */
  gcmdLatencyNs?: number;
  /** Per queued-invalidation descriptor (default 500 ns). */
  qiDescLatencyNs?: number;
  /** Cost of an IEC miss, accounted in stats and trace only (default 300 ns). */
  irteFetchNs?: number;
  /** CAP.ESIRTPS: SIRTP also invalidates the IEC (default false). */
  esirtps?: boolean;
  /** Number of fault recording registers, 1..256 (default 8). */
  faultRecords?: number;
  /** ECAP.MHMV, 0..15 (default 15). */
  mhmv?: number;
  /** ECAP.EIM: x2APIC destination format supported (default false). */
  eim?: boolean;
  /**
   * GSTS.CFIS set at power-on, as firmware that lets compatibility-format
   * interrupts bypass remapping leaves the unit (default false: reset value).
   */
  firmwareCfi?: boolean;
}

export interface VtdStats {
  remapped: number;
  passedThrough: number;
  blocked: number;
  faultsRecorded: number;
  faultsSuppressed: number;
  faultsOverflowed: number;
  iecHits: number;
  iecMisses: number;
  iecEvictions: number;
  iecInvalidations: number;
  descriptorsProcessed: number;
  irteFetchNs: number;
}

/** The latched interrupt-remapping table. */
export interface IrTable {
  base: number;
  entries: number;
  eime: boolean;
}

// ---------------------------------------------------------------- registers

export const DMAR_VER_REG = 0x00;
export const DMAR_CAP_REG = 0x08;
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
/** Invalidation queue head/tail shift (128-bit descriptors). */
export const DMAR_IQ_SHIFT = 4;
export const DMAR_IQA_REG = 0x90;
export const DMAR_ICS_REG = 0x9c;
// The invalidation-completion event registers: VT-d spec names (Linux never programs them).
export const DMAR_IECTL_REG = 0xa0;
export const DMAR_IEDATA_REG = 0xa4;
export const DMAR_IEADDR_REG = 0xa8;
export const DMAR_IEUADDR_REG = 0xac;
export const DMAR_IQER_REG = 0xb0;
export const DMAR_IRTA_REG = 0xb8;
/** Size of the register page. */
export const DMAR_REG_SIZE = 0x1000;
/** Length of one fault recording register (dmar.c: PRIMARY_FAULT_REG_LEN). */
export const PRIMARY_FAULT_REG_LEN = 16;

// ---------------------------------------------------------------- CAP / ECAP decoders

export const cap_esirtps = (c: bigint): number => Number((c >> 62n) & 1n);
export const cap_pi_support = (c: bigint): number => Number((c >> 59n) & 1n);
export const cap_num_fault_regs = (c: bigint): number => Number((c >> 40n) & 0xffn) + 1;
export const cap_fault_reg_offset = (c: bigint): number => Number((c >> 24n) & 0x3ffn) * 16;
export const ecap_coherent = (e: bigint): number => Number(e & 1n);
export const ecap_qis = (e: bigint): number => Number((e >> 1n) & 1n);
export const ecap_ir_support = (e: bigint): number => Number((e >> 3n) & 1n);
export const ecap_eim_support = (e: bigint): number => Number((e >> 4n) & 1n);
export const ecap_iotlb_offset = (e: bigint): number => Number((e >> 8n) & 0x3ffn) * 16;
export const ecap_max_handle_mask = (e: bigint): number => Number((e >> 20n) & 0xfn);

// ---------------------------------------------------------------- GCMD / GSTS

export const DMA_GCMD_TE = 0x80000000;
export const DMA_GCMD_SRTP = 1 << 30;
export const DMA_GCMD_SFL = 1 << 29;
export const DMA_GCMD_EAFL = 1 << 28;
export const DMA_GCMD_WBF = 1 << 27;
export const DMA_GCMD_QIE = 1 << 26;
export const DMA_GCMD_IRE = 1 << 25;
export const DMA_GCMD_SIRTP = 1 << 24;
export const DMA_GCMD_CFI = 1 << 23;

export const DMA_GSTS_TES = 0x80000000;
export const DMA_GSTS_RTPS = 1 << 30;
export const DMA_GSTS_FLS = 1 << 29;
export const DMA_GSTS_AFLS = 1 << 28;
export const DMA_GSTS_WBFS = 1 << 27;
export const DMA_GSTS_QIES = 1 << 26;
export const DMA_GSTS_IRES = 1 << 25;
export const DMA_GSTS_IRTPS = 1 << 24;
export const DMA_GSTS_CFIS = 1 << 23;

// ---------------------------------------------------------------- faults

export const DMA_FSTS_PFO = 1 << 0;
export const DMA_FSTS_PPF = 1 << 1;
export const DMA_FSTS_IQE = 1 << 4;
export const DMA_FSTS_ICE = 1 << 5;
export const DMA_FSTS_ITE = 1 << 6;
export const DMA_FSTS_PRO = 1 << 7;
export const dma_fsts_fault_record_index = (s: number): number => (s >>> 8) & 0xff;

export const DMA_FECTL_IM = 0x80000000;
/** FECTL/IECTL interrupt pending (spec name IP; Linux has no macro). */
export const DMA_FECTL_IP = 1 << 30;
/** ICS: invalidation wait descriptor complete (spec name IWC). */
export const DMA_ICS_IWC = 1 << 0;

/** Fault recording register, dword 3 (bits 127:96). */
export const DMA_FRCD_F = 0x80000000;
export const dma_frcd_type = (d: number): number => (d >>> 30) & 1;
export const dma_frcd_fault_reason = (c: number): number => c & 0xff;
export const dma_frcd_source_id = (c: number): number => c & 0xffff;

// Interrupt-remapping fault reasons (hardware.md 2.7; Linux prints them from
// irq_remap_fault_reasons[], code - 0x20). The names are QEMU's.
export const VTD_FR_IR_REQ_RSVD = 0x20;
export const VTD_FR_IR_INDEX_OVER = 0x21;
export const VTD_FR_IR_ENTRY_P = 0x22;
export const VTD_FR_IR_ROOT_INVAL = 0x23;
export const VTD_FR_IR_IRTE_RSVD = 0x24;
export const VTD_FR_IR_REQ_COMPAT = 0x25;
export const VTD_FR_IR_SID_ERR = 0x26;

// ---------------------------------------------------------------- queued invalidation

/** IQA: 256-bit descriptors (only with scalable mode; not supported here). */
export const DMA_IQA_DW = 1 << 11;
export const DMA_IQA_QS_MASK = 0x7;
// IQER.IQEI, why FSTS.IQE was set (VT-d spec names; Linux prints the number:
// "VT-d detected Invalidation Queue Error: Reason %llx").
export const IQEI_INFO_NOT_AVAILABLE = 0;
/** IQT points outside the queue (or is misaligned). */
export const IQEI_INVALID_TAIL = 1;
/** Fetching the descriptor (or carrying it out) failed to access memory. */
export const IQEI_FETCH_ERROR = 2;
export const IQEI_INVALID_DESC_TYPE = 3;
/** A reserved field of a descriptor of a valid type is set. */
export const IQEI_RSVD_FIELD = 4;
/** IQA.DW asks for a descriptor width the unit does not support. */
export const IQEI_INVALID_DESC_WIDTH = 5;
export const DMAR_IQER_REG_IQEI = (reg: bigint): number => Number(reg & 0xfn);

export const QI_LENGTH = 256;
// desc_status[] values of qi_submit_sync()
export const QI_FREE = 0;
export const QI_IN_USE = 1;
export const QI_DONE = 2;
export const QI_ABORT = 3;

export const QI_CC_TYPE = 0x1;
export const QI_IOTLB_TYPE = 0x2;
export const QI_DIOTLB_TYPE = 0x3;
export const QI_IEC_TYPE = 0x4;
export const QI_IWD_TYPE = 0x5;
export const QI_EIOTLB_TYPE = 0x6;
export const QI_PC_TYPE = 0x7;

export const QI_IEC_SELECTIVE = 1n << 4n;
export const QI_IEC_IIDEX = (idx: number): bigint => BigInt(idx & 0xffff) << 32n;
export const QI_IEC_IM = (m: number): bigint => BigInt(m & 0x1f) << 27n;

export const QI_IWD_STATUS_DATA = (d: number): bigint => BigInt(d >>> 0) << 32n;
/** Wait descriptor IF: set ICS.IWC and signal the invalidation event (spec name; Linux never sets it). */
export const QI_IWD_IF = 1n << 4n;
export const QI_IWD_STATUS_WRITE = 1n << 5n;
export const QI_IWD_FENCE = 1n << 6n;
export const QI_IWD_PRQ_DRAIN = 1n << 7n;

/** Reserved bits of a legacy IEC descriptor's qw0 (8:5, 26:12, 63:48); qw1 is reserved whole. */
export const QI_IEC_RSVD = 0xffff000007fff1e0n;
/** Reserved bits of a wait descriptor's qw0 (8, 31:12); qw1 bits 1:0 when SW is set. */
export const QI_IWD_RSVD = 0xfffff100n;

/** The descriptor type of a legacy descriptor: bits 3:0 and, since VT-d 3.0, 11:9 as type[6:4]. */
export const qiDescType = (qw0: bigint): number => Number(qw0 & 0xfn) | (Number((qw0 >> 9n) & 7n) << 4);

// ---------------------------------------------------------------- IRTA / remappable MSI

/** drivers/iommu/intel/irq_remapping.c: IRTA.EIME for x2APIC destination format. */
export const IR_X2APIC_MODE = (mode: boolean | number): number => (mode ? 1 << 11 : 0);
export const INTR_REMAP_PAGE_ORDER = 8;
export const INTR_REMAP_TABLE_REG_SIZE = 0xf;
export const INTR_REMAP_TABLE_REG_SIZE_MASK = 0xf;
export const INTR_REMAP_TABLE_ENTRIES = 65536;

// Remappable-format MSI address (the old asm/msidef.h names fill_msi_msg() used).
export const MSI_ADDR_IR_EXT_INT = 1 << 4;
export const MSI_ADDR_IR_SHV = 1 << 3;
export const MSI_ADDR_IR_INDEX1 = (index: number): number => (index & 0x8000) >> 13;
export const MSI_ADDR_IR_INDEX2 = (index: number): number => (index & 0x7fff) << 5;

/** The remappable message Linux composes for IRTE `index` + `subHandle` (SHV always set). */
export function remappableMsg(index: number, subHandle = 0): { addrLo: number; addrHi: number; data: number } {
  const addrLo = (0xfee00000 | MSI_ADDR_IR_EXT_INT | MSI_ADDR_IR_SHV | MSI_ADDR_IR_INDEX1(index) | MSI_ADDR_IR_INDEX2(index)) >>> 0;
  return { addrLo, addrHi: 0, data: subHandle & 0xffff };
}

// ---------------------------------------------------------------- IRTE (struct irte, remapped format)

// include/linux/dmar.h
export const SVT_NO_VERIFY = 0x0;
export const SVT_VERIFY_SID_SQ = 0x1;
export const SVT_VERIFY_BUS = 0x2;
export const SQ_ALL_16 = 0x0;
export const SQ_13_IGNORE_1 = 0x1;
export const SQ_13_IGNORE_2 = 0x2;
export const SQ_13_IGNORE_3 = 0x3;

/** The fields of `struct irte` in remapped format, with Linux's names. */
export interface IrteFields {
  present: number;
  fpd: number;
  /** 1 = logical */
  dst_mode: number;
  redir_hint: number;
  /** 1 = level */
  trigger_mode: number;
  dlvry_mode: number;
  avail: number;
  /** 1 = posted format (not supported by this unit: CAP.PI = 0) */
  pst: number;
  vector: number;
  /** xAPIC: APIC ID in bits 15:8 (IRTE_DEST); x2APIC: the full ID */
  dest_id: number;
  sid: number;
  sq: number;
  svt: number;
}

/** The IRTE destination field for an APIC ID (irq_remapping.c: IRTE_DEST()). */
export const IRTE_DEST = (dest: number, x2apic = false): number => (x2apic ? dest >>> 0 : (dest & 0xff) << 8);

const bit = (v: number | undefined, shift: number, width: number): bigint => BigInt((v ?? 0) & ((1 << width) - 1)) << BigInt(shift);

/** Pack IRTE fields (missing ones are zero) into its two little-endian quadwords. */
export function encodeIrte(f: Partial<IrteFields>): { lo: bigint; hi: bigint } {
  const lo =
    bit(f.present, 0, 1) |
    bit(f.fpd, 1, 1) |
    bit(f.dst_mode, 2, 1) |
    bit(f.redir_hint, 3, 1) |
    bit(f.trigger_mode, 4, 1) |
    bit(f.dlvry_mode, 5, 3) |
    bit(f.avail, 8, 4) |
    bit(f.pst, 15, 1) |
    bit(f.vector, 16, 8) |
    (BigInt((f.dest_id ?? 0) >>> 0) << 32n);
  const hi = bit(f.sid, 0, 16) | bit(f.sq, 16, 2) | bit(f.svt, 18, 2);
  return { lo, hi };
}

/** Unpack an IRTE (reserved bits are ignored here; see irteReservedViolation()). */
export function decodeIrte(lo: bigint, hi: bigint): IrteFields {
  const l = Number(lo & 0xffffffffn);
  const h = Number(hi & 0xffffffffn);
  return {
    present: l & 1,
    fpd: (l >>> 1) & 1,
    dst_mode: (l >>> 2) & 1,
    redir_hint: (l >>> 3) & 1,
    trigger_mode: (l >>> 4) & 1,
    dlvry_mode: (l >>> 5) & 7,
    avail: (l >>> 8) & 0xf,
    pst: (l >>> 15) & 1,
    vector: (l >>> 16) & 0xff,
    dest_id: Number((lo >> 32n) & 0xffffffffn),
    sid: h & 0xffff,
    sq: (h >>> 16) & 3,
    svt: (h >>> 18) & 3,
  };
}

/**
 * Why a present IRTE is malformed (fault 0x24), or null: reserved bits 14:12
 * and 31:24 of the low quadword and 127:84 of the high one, destination bits
 * other than 15:8 in xAPIC mode (`eime` false), posted format without
 * CAP.PI, and the reserved SVT encoding 3.
 */
export function irteReservedViolation(lo: bigint, hi: bigint, eime: boolean, postedSupported = false): string | null {
  if (lo & 0x7000n) return "IRTE reserved bits 14:12 set";
  if (lo & 0xff000000n) return "IRTE reserved bits 31:24 set";
  if (hi & 0xfffffffffff00000n) return "IRTE reserved bits 127:84 set";
  if (!eime && (lo >> 32n) & 0xffff00ffn) return "IRTE destination outside bits 15:8 in xAPIC mode";
  if (lo & 0x8000n && !postedSupported) return "posted IRTE without CAP.PI";
  if (((hi >> 18n) & 3n) === 3n) return "IRTE SVT 3 is reserved";
  return null;
}

/** Does requester `rid` pass the IRTE's source-id verification (hardware.md 2.2)? */
export function irteSourceIdMatches(e: Pick<IrteFields, "sid" | "sq" | "svt">, rid: number): boolean {
  if (e.svt === SVT_VERIFY_SID_SQ) {
    const ignore = [0, 0b100, 0b110, 0b111][e.sq]!;
    return ((rid ^ e.sid) & 0xffff & ~ignore) === 0;
  }
  if (e.svt === SVT_VERIFY_BUS) {
    const bus = (rid >>> 8) & 0xff;
    return bus >= e.sid >>> 8 && bus <= (e.sid & 0xff);
  }
  return true;
}
