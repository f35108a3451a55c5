// SPDX-License-Identifier: GPL-2.0-only
// The mlx5-like NIC as its hardware interface defines it: BAR0 layout, the
// initialization segment, the command queue entry and mailbox formats, the
// event queue entry, command opcodes and statuses. Offsets and values follow
// include/linux/mlx5/device.h and mlx5_ifc.h (Linux 6.18); everything marked
// "irqlab" is this model's own invention (no real mlx5 has IMS).
//
// The driver (drivers/net/mlx5) keeps its own copies of these numbers, under
// their kernel names: hardware and driver meet only at the interface.

/* ---------------------------------------------------------------- PCI */

export const MLX5_PCI_VENDOR_ID = 0x15b3; // PCI_VENDOR_ID_MELLANOX
/** ConnectX-6 Dx PF, in mlx5_core_pci_table. */
export const MLX5_PCI_DEVICE_ID = 0x101d;

/* ---------------------------------------------------------------- BAR0 */

export const MLX5_BAR0_SIZE = 0x10000;
/** Initialization segment: struct mlx5_init_seg at offset 0. */
export const MLX5_ISEG_OFFSET = 0x0000;
export const MLX5_ISEG_SIZE = 0x2000;
/** MSI-X table and PBA (where ConnectX parts put them). */
export const MLX5_MSIX_TABLE_OFFSET = 0x2000;
export const MLX5_MSIX_PBA_OFFSET = 0x3000;
/** UAR page i sits at BAR0 + i * 4 KiB (uar2pfn()); FW hands out indices from here. */
export const MLX5_UAR_FIRST_INDEX = 4;
export const MLX5_UAR_PAGE_SIZE = 0x1000;
export const MLX5_UAR_MAX = 12;
/** EQ doorbells in a UAR page (MLX5_EQ_DOORBEL_OFFSET): +0x40 update ci and arm, +0x48 update ci only. */
export const MLX5_UAR_EQ_ARM = 0x40;
export const MLX5_UAR_EQ_CI = 0x48;
/** CQ doorbell in a UAR page (MLX5_CQ_DOORBELL): {sn << 28 | cmd | ci, cqn}, big-endian, one 64-bit write. */
export const MLX5_UAR_CQ_DOORBELL = 0x20;

/* ------------------------------------------------- initialization segment */

export const ISEG_FW_REV = 0x000;
export const ISEG_CMDIF_REV_FW_SUB = 0x004;
export const ISEG_CMDQ_ADDR_H = 0x010;
export const ISEG_CMDQ_ADDR_L_SZ = 0x014;
export const ISEG_CMD_DBELL = 0x018;
export const ISEG_INITIALIZING = 0x1fc;
export const ISEG_HEALTH = 0x200;
export const ISEG_CMD_EXEC_TO = 0xff8;
export const ISEG_CMD_Q_INIT_TO = 0xffc;
export const ISEG_INTERNAL_TIMER_H = 0x1000;
export const ISEG_INTERNAL_TIMER_L = 0x1004;
export const ISEG_HEALTH_COUNTER = 0x1010;

/* struct health_buffer, relative to ISEG_HEALTH */
export const HEALTH_ASSERT_VAR = 0x00;
export const HEALTH_ASSERT_EXIT_PTR = 0x20;
export const HEALTH_ASSERT_CALLRA = 0x24;
export const HEALTH_TIME = 0x2c;
export const HEALTH_FW_VER = 0x30;
export const HEALTH_HW_ID = 0x34;
export const HEALTH_RFR_SEVERITY = 0x38;
export const HEALTH_IRISC_INDEX = 0x3c;
export const HEALTH_SYND = 0x3d;
export const HEALTH_EXT_SYND = 0x3e;

export const CMD_IF_REV = 5;
/** cmdq_addr_l_sz reads log_sz 7:4 and log_stride 3:0: 32 entries of 64 bytes. */
export const MLX5_CMDQ_LOG_SZ = 5;
export const MLX5_CMDQ_LOG_STRIDE = 6;
/** NIC interface field, bits 10:8 of cmdq_addr_l_sz (MLX5_NIC_IFC_OFFSET). */
export const MLX5_NIC_IFC_OFFSET = 8;
export const NIC_IFC_FULL_DRIVER = 0;
export const NIC_IFC_DISABLED = 1;
export const NIC_IFC_NO_DRAM_NIC = 2;
export const NIC_IFC_SW_RESET = 7;
/** initializing: bit 31 FW busy initializing, bit 30 FW reset supported. */
export const MLX5_FW_RESET_SUPPORTED_OFFSET = 30;
/** rfr_severity: bit 7 reset-firmware-requested, bit 6 cold reset required, bit 3 severity valid. */
export const MLX5_RFR_BIT_OFFSET = 7;
export const MLX5_CRR_BIT_OFFSET = 6;
export const MLX5_SEVERITY_VALID = 0x8;

/* MLX5_INITIAL_SEG_HEALTH_SYNDROME_* */
export const HEALTH_SYNDROME_FW_INTERNAL_ERR = 0x1;
export const HEALTH_SYNDROME_DEAD_IRISC = 0x7;
export const HEALTH_SYNDROME_HW_FATAL_ERR = 0x8;
export const HEALTH_SYNDROME_ASYNCHRONOUS_EQ_BUF_OVERRUN = 0xc;

/* ---------------------------------------------------- command interface */

/** struct mlx5_cmd_layout (64 bytes) */
export const LAY_TYPE = 0x00;
export const LAY_INLEN = 0x04;
export const LAY_IN_PTR = 0x08;
export const LAY_IN = 0x10;
export const LAY_OUT = 0x20;
export const LAY_OUT_PTR = 0x30;
export const LAY_OUTLEN = 0x38;
export const LAY_TOKEN = 0x3c;
export const LAY_SIG = 0x3d;
export const LAY_RSVD1 = 0x3e;
export const LAY_STATUS_OWN = 0x3f;
export const MLX5_CMD_LAYOUT_SIZE = 64;
export const MLX5_PCI_CMD_XPORT = 7;
export const CMD_OWNER_HW = 0x1;

/** struct mlx5_cmd_prot_block: 512 data bytes, 48 reserved, next, block_num, rsvd, token, ctrl_sig, sig. */
export const MLX5_CMD_DATA_BLOCK_SIZE = 512;
export const BLOCK_NEXT = 0x230;
export const BLOCK_NUM = 0x238;
export const BLOCK_TOKEN = 0x23d;
export const BLOCK_CTRL_SIG = 0x23e;
export const BLOCK_SIG = 0x23f;
export const MLX5_CMD_BLOCK_SIZE = 0x240;
/** Mailboxes come from a pool aligned to roundup_pow_of_two(sizeof block). */
export const MLX5_CMD_BLOCK_ALIGN = 1024;

/* delivery status: status_own >> 1 */
export const DELIV_OK = 0x0;
export const DELIV_SIGNAT_ERR = 0x1;
export const DELIV_TOK_ERR = 0x2;
export const DELIV_BAD_BLK_NUM_ERR = 0x3;
export const DELIV_OUT_PTR_ALIGN_ERR = 0x4;
export const DELIV_IN_PTR_ALIGN_ERR = 0x5;
export const DELIV_FW_ERR = 0x6;
export const DELIV_IN_LENGTH_ERR = 0x7;
export const DELIV_OUT_LENGTH_ERR = 0x8;
export const DELIV_RES_FLD_NOT_CLR_ERR = 0x9;
export const DELIV_CMD_DESCR_ERR = 0x10;

/* outbox status (MLX5_CMD_STAT_*) */
export const STAT_OK = 0x0;
export const STAT_INT_ERR = 0x1;
export const STAT_BAD_OP_ERR = 0x2;
export const STAT_BAD_PARAM_ERR = 0x3;
export const STAT_BAD_SYS_STATE_ERR = 0x4;
export const STAT_BAD_RES_ERR = 0x5;
export const STAT_RES_BUSY = 0x6;
export const STAT_NOT_READY = 0x7;
export const STAT_LIM_ERR = 0x8;
export const STAT_BAD_RES_STATE_ERR = 0x9;
export const STAT_IX_ERR = 0xa;
export const STAT_NO_RES_ERR = 0xf;
export const STAT_BAD_INP_LEN_ERR = 0x50;
export const STAT_BAD_OUTP_LEN_ERR = 0x51;

/* opcodes (MLX5_CMD_OP_*) */
export const OP_QUERY_HCA_CAP = 0x100;
export const OP_QUERY_ADAPTER = 0x101;
export const OP_INIT_HCA = 0x102;
export const OP_TEARDOWN_HCA = 0x103;
export const OP_ENABLE_HCA = 0x104;
export const OP_DISABLE_HCA = 0x105;
export const OP_QUERY_PAGES = 0x107;
export const OP_MANAGE_PAGES = 0x108;
export const OP_SET_HCA_CAP = 0x109;
export const OP_QUERY_ISSI = 0x10a;
export const OP_SET_ISSI = 0x10b;
export const OP_CREATE_EQ = 0x301;
export const OP_DESTROY_EQ = 0x302;
export const OP_QUERY_EQ = 0x303;
export const OP_GEN_EQE = 0x304;
export const OP_CREATE_CQ = 0x400;
export const OP_DESTROY_CQ = 0x401;
export const OP_ALLOC_UAR = 0x802;
export const OP_DEALLOC_UAR = 0x803;
export const OP_ACCESS_REG = 0x805;
export const OP_NOP = 0x80d;
/**
 * irqlab's own opcodes for the RAM-backed IMS store. They sit at 0xe00, above
 * MLX5_CMD_OP_MAX and the general-command range 0xb00..0xd00 of mlx5_ifc.h,
 * where no real opcode lives. No real mlx5 device implements IMS.
 */
export const OP_IRQLAB_QUERY_IMS_CAP = 0xe00;
export const OP_IRQLAB_INIT_IMS_STORE = 0xe01;
export const OP_IRQLAB_SET_IMS_ENTRY = 0xe02;
export const OP_IRQLAB_QUERY_IMS_ENTRY = 0xe03;
export const OP_IRQLAB_INVALIDATE_IMS_CACHE = 0xe04;
export const OP_IRQLAB_BIND_EQ_TO_IMS = 0xe05;

/** ACCESS_REG register ids */
export const MLX5_REG_DTOR = 0xc00e;

/* ---------------------------------------------------- event queues */

/** struct mlx5_eqe (64 bytes) */
export const MLX5_EQE_SIZE = 64;
export const EQE_TYPE = 0x01;
export const EQE_SUB_TYPE = 0x03;
export const EQE_DATA = 0x20;
export const EQE_SIGNATURE = 0x3e;
export const EQE_OWNER = 0x3f;
/** data.cmd.vector (be32) and data.comp.cqn (be32) */
export const EQE_CMD_VECTOR = EQE_DATA + 0x00;
export const EQE_COMP_CQN = EQE_DATA + 0x18;

/* MLX5_EVENT_TYPE_* */
export const EVENT_TYPE_COMP = 0x00;
export const EVENT_TYPE_CQ_ERROR = 0x04;
export const EVENT_TYPE_CMD = 0x0a;
export const EVENT_TYPE_PAGE_REQUEST = 0x0b;

/* ---------------------------------------------------- irqlab IMS store */

/**
 * One IMS entry in the RAM store (irqlab): four big-endian dwords,
 * {addr_lo, addr_hi, data, ctrl}, 16 bytes, in the field order of an MSI-X
 * table entry. ctrl bit 0 masks the entry; no other ctrl bit is defined. The
 * pending bit (a signal arrived while masked) is kept on die, like a PBA, and
 * reported by IRQLAB_QUERY_IMS_ENTRY (flags bit 1; bit 0: the entry is cached).
 */
export const IMS_ENTRY_SIZE = 16;
export const IMS_ADDR_LO = 0x0;
export const IMS_ADDR_HI = 0x4;
export const IMS_DATA = 0x8;
export const IMS_CTRL = 0xc;
export const IMS_CTRL_MASKED = 0x1;

/** The default timeouts of drivers/net/ethernet/mellanox/mlx5/core/lib/tout.c, in ms. */
export const MLX5_DEFAULT_TIMEOUTS_MS = {
  fwInit: 2000,
  cmd: 60000,
  pciToggle: 2000,
  healthPoll: 2000,
  fullCrdump: 60000,
  fwReset: 60000,
  flushOnError: 2000,
  pciSyncUpdate: 5000,
  teardown: 3000,
  fsmReactivate: 5000,
  reclaimPages: 5000,
  reclaimVfsPages: 120000,
  resetUnload: 300000,
} as const;
