// SPDX-License-Identifier: GPL-2.0-only
// drivers/dma/idxd/registers.h and include/uapi/linux/idxd.h, reduced to
// what irqlab's IMS device (lib/hw/devices/ims.ts) implements: the
// capability and offset registers, the portals, the descriptor and its
// completion record.

/* PCI IDs of irqlab's IMS array device (not a real DSA: its register set is a subset) */
export const PCI_VENDOR_ID_IRQLAB_IMS = 0x1b36;
export const PCI_DEVICE_ID_IRQLAB_IMS = 0x7e5d;

export const DEVICE_VERSION_1 = 0x100;

export const IDXD_MMIO_BAR = 0;
export const IDXD_WQ_BAR = 2;
export const IDXD_PORTAL_SIZE = 0x1000;

/* MMIO Device BAR0 Registers */
export const IDXD_VER_OFFSET = 0x00;
export const IDXD_GENCAP_OFFSET = 0x10;
export const IDXD_WQCAP_OFFSET = 0x20;
export const IDXD_TABLE_OFFSET = 0x60;
export const IDXD_TABLE_MULT = 0x100;

/** union gen_cap_reg: max_ims_mult, bits 30:25 */
export function gen_cap_max_ims_mult(bits: bigint): number {
  return Number((bits >> 25n) & 0x3fn);
}
/** union wq_cap_reg: num_wqs, bits 23:16 */
export function wq_cap_num_wqs(bits: bigint): number {
  return Number((bits >> 16n) & 0xffn);
}
/** union offsets_reg: ims, bits 63:48 of the first qword */
export function offsets_ims(bits0: bigint): number {
  return Number((bits0 >> 48n) & 0xffffn);
}

/* include/uapi/linux/idxd.h: descriptor flags */
export const IDXD_OP_FLAG_CRAV = 0x0004;
export const IDXD_OP_FLAG_RCR = 0x0008;
export const IDXD_OP_FLAG_RCI = 0x0010;

/* enum dsa_opcode */
export const DSA_OPCODE_NOOP = 0;

/* enum dsa_completion_status */
export const DSA_COMP_NONE = 0;
export const DSA_COMP_SUCCESS = 1;
export const DSA_COMP_BAD_OPCODE = 0x10;
export const DSA_COMP_INT_HANDLE_INVAL = 0x19;
export const DSA_COMP_STATUS_MASK = 0x7f;

/* struct dsa_hw_desc (64 bytes) field offsets */
export const DSA_DESC_SIZE = 64;
export const DSA_DESC_PASID = 0;
export const DSA_DESC_FLAGS_OPCODE = 4;
export const DSA_DESC_COMPLETION_ADDR = 8;
export const DSA_DESC_INT_HANDLE = 36;

/* struct dsa_completion_record (32 bytes) */
export const DSA_COMPLETION_RECORD_SIZE = 32;
