// SPDX-License-Identifier: GPL-2.0-only
// include/linux/mlx5/mlx5_ifc.h and device.h, reduced to what mlx5_core's
// command, EQ, health and IMS paths use: opcodes, statuses, event types, and
// the bit layouts of the command structures with MLX5_SET()/MLX5_GET().
//
// A layout lists each field as [bit offset, bit width] from the start of the
// structure, big-endian as in mlx5_ifc.h (struct mlx5_ifc_*_bits).
// Structures marked irqlab describe the IMS commands of irqlab's device
// model (lib/hw/devices/mlx5), which no real mlx5 firmware has.

/* ------------------------------------------------------------ opcodes */

export const MLX5_CMD_OP_QUERY_HCA_CAP = 0x100;
export const MLX5_CMD_OP_QUERY_ADAPTER = 0x101;
export const MLX5_CMD_OP_INIT_HCA = 0x102;
export const MLX5_CMD_OP_TEARDOWN_HCA = 0x103;
export const MLX5_CMD_OP_ENABLE_HCA = 0x104;
export const MLX5_CMD_OP_DISABLE_HCA = 0x105;
export const MLX5_CMD_OP_QUERY_PAGES = 0x107;
export const MLX5_CMD_OP_MANAGE_PAGES = 0x108;
export const MLX5_CMD_OP_SET_HCA_CAP = 0x109;
export const MLX5_CMD_OP_QUERY_ISSI = 0x10a;
export const MLX5_CMD_OP_SET_ISSI = 0x10b;
export const MLX5_CMD_OP_SET_DRIVER_VERSION = 0x10d;
export const MLX5_CMD_OP_CREATE_EQ = 0x301;
export const MLX5_CMD_OP_DESTROY_EQ = 0x302;
export const MLX5_CMD_OP_QUERY_EQ = 0x303;
export const MLX5_CMD_OP_GEN_EQE = 0x304;
export const MLX5_CMD_OP_CREATE_CQ = 0x400;
export const MLX5_CMD_OP_DESTROY_CQ = 0x401;
export const MLX5_CMD_OP_QUERY_CQ = 0x402;
export const MLX5_CMD_OP_MODIFY_CQ = 0x403;
export const MLX5_CMD_OP_ALLOC_PD = 0x800;
export const MLX5_CMD_OP_DEALLOC_PD = 0x801;
export const MLX5_CMD_OP_ALLOC_UAR = 0x802;
export const MLX5_CMD_OP_DEALLOC_UAR = 0x803;
export const MLX5_CMD_OP_ACCESS_REG = 0x805;
export const MLX5_CMD_OP_NOP = 0x80d;
export const MLX5_CMD_OP_CREATE_GENERAL_OBJECT = 0xa00;
/* irqlab: the RAM-backed IMS store of irqlab's mlx5 model (no real opcode lives at 0xe00..) */
export const MLX5_CMD_OP_IRQLAB_QUERY_IMS_CAP = 0xe00;
export const MLX5_CMD_OP_IRQLAB_INIT_IMS_STORE = 0xe01;
export const MLX5_CMD_OP_IRQLAB_SET_IMS_ENTRY = 0xe02;
export const MLX5_CMD_OP_IRQLAB_QUERY_IMS_ENTRY = 0xe03;
export const MLX5_CMD_OP_IRQLAB_INVALIDATE_IMS_CACHE = 0xe04;
export const MLX5_CMD_OP_IRQLAB_BIND_EQ_TO_IMS = 0xe05;

/* MLX5_CMD_STAT_* (outbox status) */
export const MLX5_CMD_STAT_OK = 0x0;
export const MLX5_CMD_STAT_INT_ERR = 0x1;
export const MLX5_CMD_STAT_BAD_OP_ERR = 0x2;
export const MLX5_CMD_STAT_BAD_PARAM_ERR = 0x3;
export const MLX5_CMD_STAT_BAD_SYS_STATE_ERR = 0x4;
export const MLX5_CMD_STAT_BAD_RES_ERR = 0x5;
export const MLX5_CMD_STAT_RES_BUSY = 0x6;
export const MLX5_CMD_STAT_NOT_READY = 0x7;
export const MLX5_CMD_STAT_LIM_ERR = 0x8;
export const MLX5_CMD_STAT_BAD_RES_STATE_ERR = 0x9;
export const MLX5_CMD_STAT_IX_ERR = 0xa;
export const MLX5_CMD_STAT_NO_RES_ERR = 0xf;
export const MLX5_CMD_STAT_BAD_INP_LEN_ERR = 0x50;
export const MLX5_CMD_STAT_BAD_OUTP_LEN_ERR = 0x51;
export const MLX5_CMD_STAT_BAD_QP_STATE_ERR = 0x10;
export const MLX5_CMD_STAT_BAD_PKT_ERR = 0x30;
export const MLX5_CMD_STAT_BAD_SIZE_OUTS_CQES_ERR = 0x40;

/* MLX5_EVENT_TYPE_* */
export const MLX5_EVENT_TYPE_COMP = 0x0;
export const MLX5_EVENT_TYPE_PATH_MIG = 0x01;
export const MLX5_EVENT_TYPE_COMM_EST = 0x02;
export const MLX5_EVENT_TYPE_SQ_DRAINED = 0x03;
export const MLX5_EVENT_TYPE_SRQ_LAST_WQE = 0x13;
export const MLX5_EVENT_TYPE_SRQ_RQ_LIMIT = 0x14;
export const MLX5_EVENT_TYPE_CQ_ERROR = 0x04;
export const MLX5_EVENT_TYPE_WQ_CATAS_ERROR = 0x05;
export const MLX5_EVENT_TYPE_PATH_MIG_FAILED = 0x07;
export const MLX5_EVENT_TYPE_WQ_INVAL_REQ_ERROR = 0x10;
export const MLX5_EVENT_TYPE_WQ_ACCESS_ERROR = 0x11;
export const MLX5_EVENT_TYPE_SRQ_CATAS_ERROR = 0x12;
export const MLX5_EVENT_TYPE_PORT_CHANGE = 0x09;
export const MLX5_EVENT_TYPE_CMD = 0x0a;
export const MLX5_EVENT_TYPE_PAGE_REQUEST = 0x0b;
export const MLX5_EVENT_TYPE_MAX = 0x100;
export const MLX5_EVENT_TYPE_NOTIFY_ANY = 0xff;

/* include/linux/mlx5/device.h */
export const MLX5_ADAPTER_PAGE_SHIFT = 12;
export const MLX5_ADAPTER_PAGE_SIZE = 1 << MLX5_ADAPTER_PAGE_SHIFT;
export const MLX5_PCI_CMD_XPORT = 7;
export const MLX5_MAX_COMMANDS = 32;
export const MLX5_CMD_DATA_BLOCK_SIZE = 512;
export const MLX5_EQE_SIZE = 64;
export const CMD_OWNER_SW = 0x0;
export const CMD_OWNER_HW = 0x1;
export const MLX5_TRIGGERED_CMD_COMP = 2n ** 32n;

/* include/linux/mlx5/eq.h, lib/eq.h */
export const MLX5_NUM_CMD_EQE = 32;
export const MLX5_NUM_ASYNC_EQE = 0x1000;
export const MLX5_NUM_SPARE_EQE = 0x80;
export const MLX5_COMP_EQ_SIZE = 1024;

/** struct mlx5_init_seg (device.h), byte offsets */
export const mlx5_init_seg = {
  fw_rev: 0x000,
  cmdif_rev_fw_sub: 0x004,
  cmdq_addr_h: 0x010,
  cmdq_addr_l_sz: 0x014,
  cmd_dbell: 0x018,
  initializing: 0x1fc,
  health: 0x200,
  cmd_exec_to: 0xff8,
  cmd_q_init_to: 0xffc,
  internal_timer_h: 0x1000,
  internal_timer_l: 0x1004,
  health_counter: 0x1010,
} as const;

/** struct health_buffer (device.h), byte offsets within the health buffer */
export const health_buffer = {
  assert_var: 0x00,
  assert_exit_ptr: 0x20,
  assert_callra: 0x24,
  time: 0x2c,
  fw_ver: 0x30,
  hw_id: 0x34,
  rfr_severity: 0x38,
  irisc_index: 0x3c,
  synd: 0x3d,
  ext_synd: 0x3e,
} as const;

/** struct mlx5_cmd_layout (device.h), byte offsets */
export const mlx5_cmd_layout = {
  type: 0x00,
  inlen: 0x04,
  in_ptr: 0x08,
  in: 0x10,
  out: 0x20,
  out_ptr: 0x30,
  outlen: 0x38,
  token: 0x3c,
  sig: 0x3d,
  rsvd1: 0x3e,
  status_own: 0x3f,
  size: 64,
} as const;

/** struct mlx5_cmd_prot_block (device.h), byte offsets */
export const mlx5_cmd_prot_block = {
  data: 0x000,
  rsvd0: 0x200,
  next: 0x230,
  block_num: 0x238,
  rsvd1: 0x23c,
  token: 0x23d,
  ctrl_sig: 0x23e,
  sig: 0x23f,
  size: 0x240,
} as const;

/** struct mlx5_eqe (device.h), byte offsets */
export const mlx5_eqe = {
  type: 0x01,
  sub_type: 0x03,
  data: 0x20,
  cmd_vector: 0x20,
  comp_cqn: 0x38,
  signature: 0x3e,
  owner: 0x3f,
} as const;

/* ------------------------------------------------------------ MLX5_SET / MLX5_GET */

export type ifc_field = readonly [bit: number, width: number];

/** A struct mlx5_ifc_*_bits: its size in bytes and its fields. */
export interface ifc_layout<F extends string = string> {
  readonly bytes: number;
  readonly f: Readonly<Record<F, ifc_field>>;
}

function layout<F extends string>(bytes: number, f: Record<F, ifc_field>): ifc_layout<F> {
  return { bytes, f };
}

const dw = (p: Uint8Array, i: number): number => ((p[i]! << 24) | (p[i + 1]! << 16) | (p[i + 2]! << 8) | p[i + 3]!) >>> 0;
const setdw = (p: Uint8Array, i: number, v: number): void => {
  p[i] = v >>> 24;
  p[i + 1] = (v >>> 16) & 0xff;
  p[i + 2] = (v >>> 8) & 0xff;
  p[i + 3] = v & 0xff;
};

/** MLX5_SET(typ, p, fld, v) for fields of up to 32 bits within one dword. */
export function MLX5_SET<F extends string>(t: ifc_layout<F>, p: Uint8Array, fld: F, v: number): void {
  const [bit, width] = t.f[fld];
  const i = (bit >> 5) * 4;
  const shift = 32 - (bit & 31) - width;
  const mask = width === 32 ? 0xffffffff : ((1 << width) - 1) >>> 0;
  const cur = dw(p, i);
  setdw(p, i, ((cur & ~((mask << shift) >>> 0)) | (((v & mask) << shift) >>> 0)) >>> 0);
}

/** MLX5_GET(typ, p, fld) */
export function MLX5_GET<F extends string>(t: ifc_layout<F>, p: Uint8Array, fld: F): number {
  const [bit, width] = t.f[fld];
  const i = (bit >> 5) * 4;
  const shift = 32 - (bit & 31) - width;
  const mask = width === 32 ? 0xffffffff : ((1 << width) - 1) >>> 0;
  return ((dw(p, i) >>> shift) & mask) >>> 0;
}

/** MLX5_SET64(typ, p, fld, v) for a 64-bit field */
export function MLX5_SET64<F extends string>(t: ifc_layout<F>, p: Uint8Array, fld: F, v: bigint): void {
  const i = t.f[fld][0] >> 3;
  const u = BigInt.asUintN(64, v);
  setdw(p, i, Number(u >> 32n));
  setdw(p, i + 4, Number(u & 0xffffffffn));
}

export function MLX5_GET64<F extends string>(t: ifc_layout<F>, p: Uint8Array, fld: F): bigint {
  const i = t.f[fld][0] >> 3;
  return (BigInt(dw(p, i)) << 32n) | BigInt(dw(p, i + 4));
}

/** MLX5_ADDR_OF(typ, p, fld): the bytes of a sub-structure or array */
export function MLX5_ADDR_OF<F extends string>(t: ifc_layout<F>, p: Uint8Array, fld: F): Uint8Array {
  return p.subarray(t.f[fld][0] >> 3);
}

/** MLX5_ST_SZ_BYTES(typ) */
export function MLX5_ST_SZ_BYTES(t: ifc_layout): number {
  return t.bytes;
}

/** MLX5_BYTE_OFF(typ, fld) */
export function MLX5_BYTE_OFF<F extends string>(t: ifc_layout<F>, fld: F): number {
  return t.f[fld][0] >> 3;
}

/* ------------------------------------------------------------ structures */

const HDR_IN = { opcode: [0x00, 0x10], uid: [0x10, 0x10], op_mod: [0x30, 0x10] } as const;
const HDR_OUT = { status: [0x00, 0x08], syndrome: [0x20, 0x20] } as const;

export const mbox_in = layout(0x10, { ...HDR_IN });
export const mbox_out = layout(0x10, { ...HDR_OUT });

export const cmd_hca_cap = layout(0x1000, {
  log_max_cq_sz: [0xc8, 0x08],
  log_max_cq: [0xdb, 0x05],
  log_max_eq_sz: [0xe0, 0x08],
  log_max_eq: [0xfc, 0x04],
  num_ports: [0x1b8, 0x08],
  max_num_eqs: [0x470, 0x10],
});

export const query_hca_cap_in = layout(0x10, { ...HDR_IN });
export const query_hca_cap_out = layout(0x1010, { ...HDR_OUT, capability: [0x80, 0x8000] });
export const set_hca_cap_in = layout(0x1010, { ...HDR_IN, capability: [0x80, 0x8000] });
export const set_hca_cap_out = layout(0x10, { ...HDR_OUT });

export const query_adapter_in = layout(0x10, { ...HDR_IN });
export const query_adapter_out = layout(0x110, { ...HDR_OUT, query_adapter_struct: [0x80, 0x800] });
/** mlx5_ifc_query_adapter_param_block_bits: vsd_contd_psid at byte 0xf0 */
export const query_adapter_param_block = layout(0x100, { vsd_contd_psid: [0x780, 0x80] });

export const init_hca_in = layout(0x20, { ...HDR_IN, sw_owner_id: [0x80, 0x80] });
export const init_hca_out = layout(0x10, { ...HDR_OUT });
export const teardown_hca_in = layout(0x10, { ...HDR_IN, profile: [0x50, 0x10] });
export const teardown_hca_out = layout(0x10, { ...HDR_OUT, state: [0x7f, 0x01] });
export const enable_hca_in = layout(0x10, { ...HDR_IN, embedded_cpu_function: [0x40, 0x01], function_id: [0x50, 0x10] });
export const enable_hca_out = layout(0x0c, { ...HDR_OUT });
export const disable_hca_in = layout(0x10, { ...HDR_IN, embedded_cpu_function: [0x40, 0x01], function_id: [0x50, 0x10] });
export const disable_hca_out = layout(0x0c, { ...HDR_OUT });

export const query_pages_in = layout(0x10, { ...HDR_IN, embedded_cpu_function: [0x40, 0x01], function_id: [0x50, 0x10] });
export const query_pages_out = layout(0x10, { ...HDR_OUT, function_id: [0x50, 0x10], num_pages: [0x60, 0x20] });
export const manage_pages_in = layout(0x10, { ...HDR_IN, embedded_cpu_function: [0x40, 0x01], function_id: [0x50, 0x10], input_num_entries: [0x60, 0x20], pas: [0x80, 0x40] });
export const manage_pages_out = layout(0x10, { ...HDR_OUT, output_num_entries: [0x40, 0x20], pas: [0x80, 0x40] });

export const query_issi_in = layout(0x10, { ...HDR_IN });
export const query_issi_out = layout(0x70, { ...HDR_OUT, current_issi: [0x50, 0x10], supported_issi_dw0: [0x360, 0x20] });
export const set_issi_in = layout(0x10, { ...HDR_IN, current_issi: [0x50, 0x10] });
export const set_issi_out = layout(0x10, { ...HDR_OUT });

export const alloc_uar_in = layout(0x10, { ...HDR_IN });
export const alloc_uar_out = layout(0x10, { ...HDR_OUT, uar: [0x48, 0x18] });
export const dealloc_uar_in = layout(0x10, { ...HDR_IN, uar: [0x48, 0x18] });
export const dealloc_uar_out = layout(0x10, { ...HDR_OUT });

export const eqc = layout(0x40, {
  status: [0x00, 0x04],
  st: [0x14, 0x04],
  log_eq_size: [0x63, 0x05],
  uar_page: [0x68, 0x18],
  intr: [0xb4, 0x0c],
  log_page_size: [0xc3, 0x05],
  consumer_counter: [0x148, 0x18],
  producer_counter: [0x168, 0x18],
});
export const create_eq_in = layout(0x110, { ...HDR_IN, eq_context_entry: [0x80, 0x200], event_bitmask: [0x2c0, 0x100], pas: [0x880, 0x40] });
export const create_eq_out = layout(0x10, { ...HDR_OUT, eq_number: [0x58, 0x08] });
export const destroy_eq_in = layout(0x10, { ...HDR_IN, eq_number: [0x58, 0x08] });
export const destroy_eq_out = layout(0x10, { ...HDR_OUT });
export const query_eq_in = layout(0x10, { ...HDR_IN, eq_number: [0x58, 0x08] });
export const query_eq_out = layout(0x110, { ...HDR_OUT, eq_context_entry: [0x80, 0x200], event_bitmask: [0x2c0, 0x40] });
export const gen_eqe_in = layout(0x50, { ...HDR_IN, eq_number: [0x58, 0x08], eqe: [0x80, 0x200] });
export const gen_eqe_out = layout(0x10, { ...HDR_OUT });

export const cqc = layout(0x40, {
  log_cq_size: [0x63, 0x05],
  uar_page: [0x68, 0x18],
  c_eqn_or_apu_element: [0xa0, 0x20],
  log_page_size: [0xc3, 0x05],
});
export const create_cq_in = layout(0x110, { ...HDR_IN, cq_context: [0x80, 0x200], pas: [0x880, 0x40] });
export const create_cq_out = layout(0x10, { ...HDR_OUT, cqn: [0x48, 0x18] });
export const destroy_cq_in = layout(0x10, { ...HDR_IN, cqn: [0x48, 0x18] });
export const destroy_cq_out = layout(0x10, { ...HDR_OUT });

export const access_register_in = layout(0x10, { ...HDR_IN, register_id: [0x50, 0x10], argument: [0x60, 0x20], register_data: [0x80, 0x20] });
export const access_register_out = layout(0x10, { ...HDR_OUT, register_data: [0x80, 0x20] });
export const MLX5_REG_DTOR = 0xc00e;
/** mlx5_ifc_dtor_reg_bits; each field is a default_timeout {to_multiplier[0x3], rsvd[0x9], to_value[0x14]} */
export const dtor_reg = layout(0x40, {
  pcie_toggle_to: [0x20, 0x20],
  health_poll_to: [0xa0, 0x20],
  full_crdump_to: [0xc0, 0x20],
  fw_reset_to: [0xe0, 0x20],
  flush_on_err_to: [0x100, 0x20],
  pci_sync_update_to: [0x120, 0x20],
  tear_down_to: [0x140, 0x20],
  fsm_reactivate_to: [0x160, 0x20],
  reclaim_pages_to: [0x180, 0x20],
  reclaim_vfs_pages_to: [0x1a0, 0x20],
  reset_unload_to: [0x1c0, 0x20],
});
export const default_timeout = layout(0x04, { to_multiplier: [0x00, 0x03], to_value: [0x0c, 0x14] });

export const nop_in = layout(0x10, { ...HDR_IN });
export const nop_out = layout(0x10, { ...HDR_OUT });

/* irqlab: the IMS commands of irqlab's device model */
export const irqlab_query_ims_cap_in = layout(0x10, { ...HDR_IN });
export const irqlab_query_ims_cap_out = layout(0x10, { ...HDR_OUT, max_entries: [0x40, 0x20], cache_size: [0x60, 0x20] });
export const irqlab_init_ims_store_in = layout(0x20, { ...HDR_IN, store_addr: [0x40, 0x40], num_entries: [0x80, 0x20] });
export const irqlab_init_ims_store_out = layout(0x10, { ...HDR_OUT });
export const irqlab_ims_entry = layout(0x10, { addr_lo: [0x00, 0x20], addr_hi: [0x20, 0x20], data: [0x40, 0x20], ctrl: [0x60, 0x20] });
export const irqlab_set_ims_entry_in = layout(0x20, { ...HDR_IN, index: [0x40, 0x20], entry: [0x80, 0x80] });
export const irqlab_set_ims_entry_out = layout(0x10, { ...HDR_OUT });
export const irqlab_query_ims_entry_in = layout(0x10, { ...HDR_IN, index: [0x40, 0x20] });
export const irqlab_query_ims_entry_out = layout(0x20, { ...HDR_OUT, pending: [0x5e, 0x01], cached: [0x5f, 0x01], entry: [0x80, 0x80] });
export const irqlab_invalidate_ims_cache_in = layout(0x10, { ...HDR_IN, index: [0x40, 0x20] });
export const irqlab_invalidate_ims_cache_out = layout(0x10, { ...HDR_OUT });
export const irqlab_bind_eq_to_ims_in = layout(0x10, { ...HDR_IN, eq_number: [0x58, 0x08], ims_index: [0x60, 0x20] });
export const irqlab_bind_eq_to_ims_out = layout(0x10, { ...HDR_OUT });
export const IRQLAB_IMS_CTRL_MASKED = 0x1;
export const IRQLAB_INVALIDATE_IMS_CACHE_OP_MOD_ALL = 0x1;
export const IRQLAB_BIND_EQ_TO_IMS_OP_MOD_UNBIND = 0x1;
