// SPDX-License-Identifier: GPL-2.0-only
// drivers/net/ethernet/mellanox/mlx5/core/fw.c and the HCA commands of
// main.c, reduced: querying capabilities and the board id, ENABLE_HCA,
// DISABLE_HCA, INIT_HCA, TEARDOWN_HCA, and setting the general capabilities.

import { EINVAL } from "../../../../lib/kernel/errno.ts";
import { mlx5_cmd_exec_in, mlx5_cmd_exec_inout } from "./cmd.ts";
import { mlx5_core_warn, type mlx5_core_dev } from "./driver.ts";
import {
  disable_hca_in,
  disable_hca_out,
  enable_hca_in,
  enable_hca_out,
  init_hca_in,
  init_hca_out,
  MLX5_ADDR_OF,
  MLX5_CMD_OP_DISABLE_HCA,
  MLX5_CMD_OP_ENABLE_HCA,
  MLX5_CMD_OP_INIT_HCA,
  MLX5_CMD_OP_QUERY_ADAPTER,
  MLX5_CMD_OP_QUERY_HCA_CAP,
  MLX5_CMD_OP_SET_HCA_CAP,
  MLX5_CMD_OP_TEARDOWN_HCA,
  MLX5_SET,
  query_adapter_in,
  query_adapter_out,
  query_adapter_param_block,
  query_hca_cap_in,
  query_hca_cap_out,
  set_hca_cap_in,
  set_hca_cap_out,
  teardown_hca_in,
  teardown_hca_out,
} from "./mlx5_ifc.ts";

export const MLX5_CAP_GENERAL = 0;
export const HCA_CAP_OPMOD_GET_MAX = 0;
export const HCA_CAP_OPMOD_GET_CUR = 1;
export const MLX5_SET_HCA_CAP_OP_MOD_GENERAL_DEVICE = 0;

// main.c: mlx5_core_get_caps_mode()
export async function mlx5_core_get_caps_mode(dev: mlx5_core_dev, cap_type: number, cap_mode: number): Promise<number> {
  const inb = new Uint8Array(query_hca_cap_in.bytes);
  const out = new Uint8Array(query_hca_cap_out.bytes);
  const opmod = (cap_type << 1) | (cap_mode & 0x01);
  MLX5_SET(query_hca_cap_in, inb, "opcode", MLX5_CMD_OP_QUERY_HCA_CAP);
  MLX5_SET(query_hca_cap_in, inb, "op_mod", opmod);
  const err = await mlx5_cmd_exec_inout(dev, query_hca_cap_in, inb, query_hca_cap_out, out);
  if (err) {
    mlx5_core_warn(dev, ["mlx5_core_get_caps_mode", 394], "QUERY_HCA_CAP : type(%x) opmode(%x) Failed(%d)\n", cap_type, cap_mode, err);
    return err;
  }
  const hca_caps = MLX5_ADDR_OF(query_hca_cap_out, out, "capability").subarray(0, 0x1000);
  if (cap_type !== MLX5_CAP_GENERAL) return -EINVAL;
  if (cap_mode === HCA_CAP_OPMOD_GET_MAX) dev.caps.hca_max.set(hca_caps);
  else dev.caps.hca_cur.set(hca_caps);
  return 0;
}

// main.c: mlx5_core_get_caps(): current, then maximum
export async function mlx5_core_get_caps(dev: mlx5_core_dev, cap_type: number): Promise<number> {
  const ret = await mlx5_core_get_caps_mode(dev, cap_type, HCA_CAP_OPMOD_GET_CUR);
  if (ret) return ret;
  return mlx5_core_get_caps_mode(dev, cap_type, HCA_CAP_OPMOD_GET_MAX);
}

// main.c: set_caps()
async function set_caps(dev: mlx5_core_dev, inb: Uint8Array, opmod: number): Promise<number> {
  MLX5_SET(set_hca_cap_in, inb, "opcode", MLX5_CMD_OP_SET_HCA_CAP);
  MLX5_SET(set_hca_cap_in, inb, "op_mod", opmod << 1);
  return mlx5_cmd_exec_in(dev, set_hca_cap_in, inb, set_hca_cap_out);
}

// main.c: handle_hca_cap(), reduced to writing back the current general capabilities
export async function handle_hca_cap(dev: mlx5_core_dev): Promise<number> {
  const err = await mlx5_core_get_caps(dev, MLX5_CAP_GENERAL);
  if (err) return err;
  const set_ctx = new Uint8Array(set_hca_cap_in.bytes);
  MLX5_ADDR_OF(set_hca_cap_in, set_ctx, "capability").set(dev.caps.hca_cur);
  return set_caps(dev, set_ctx, MLX5_SET_HCA_CAP_OP_MOD_GENERAL_DEVICE);
}

// fw.c: mlx5_query_hca_caps(), general capabilities only
export function mlx5_query_hca_caps(dev: mlx5_core_dev): Promise<number> {
  return mlx5_core_get_caps(dev, MLX5_CAP_GENERAL);
}

// fw.c: mlx5_query_board_id()
export async function mlx5_query_board_id(dev: mlx5_core_dev): Promise<number> {
  const inb = new Uint8Array(query_adapter_in.bytes);
  const out = new Uint8Array(query_adapter_out.bytes);
  MLX5_SET(query_adapter_in, inb, "opcode", MLX5_CMD_OP_QUERY_ADAPTER);
  const err = await mlx5_cmd_exec_inout(dev, query_adapter_in, inb, query_adapter_out, out);
  if (err) return err;
  const blk = MLX5_ADDR_OF(query_adapter_out, out, "query_adapter_struct");
  const psid = MLX5_ADDR_OF(query_adapter_param_block, blk, "vsd_contd_psid").subarray(0, 16);
  let s = "";
  for (const c of psid) if (c) s += String.fromCharCode(c);
  dev.board_id = s;
  return 0;
}

// fw.c: mlx5_cmd_init_hca()
export function mlx5_cmd_init_hca(dev: mlx5_core_dev, sw_owner_id: readonly number[]): Promise<number> {
  const inb = new Uint8Array(init_hca_in.bytes);
  MLX5_SET(init_hca_in, inb, "opcode", MLX5_CMD_OP_INIT_HCA);
  void sw_owner_id; // MLX5_CAP_GEN(dev, sw_owner_id) is 0 on irqlab's device
  return mlx5_cmd_exec_in(dev, init_hca_in, inb, init_hca_out);
}

// fw.c: mlx5_cmd_teardown_hca()
export function mlx5_cmd_teardown_hca(dev: mlx5_core_dev): Promise<number> {
  const inb = new Uint8Array(teardown_hca_in.bytes);
  MLX5_SET(teardown_hca_in, inb, "opcode", MLX5_CMD_OP_TEARDOWN_HCA);
  return mlx5_cmd_exec_in(dev, teardown_hca_in, inb, teardown_hca_out);
}

// main.c: mlx5_core_enable_hca()
export function mlx5_core_enable_hca(dev: mlx5_core_dev, func_id: number): Promise<number> {
  const inb = new Uint8Array(enable_hca_in.bytes);
  MLX5_SET(enable_hca_in, inb, "opcode", MLX5_CMD_OP_ENABLE_HCA);
  MLX5_SET(enable_hca_in, inb, "function_id", func_id);
  MLX5_SET(enable_hca_in, inb, "embedded_cpu_function", dev.caps.embedded_cpu);
  return mlx5_cmd_exec_in(dev, enable_hca_in, inb, enable_hca_out);
}

// main.c: mlx5_core_disable_hca()
export function mlx5_core_disable_hca(dev: mlx5_core_dev, func_id: number): Promise<number> {
  const inb = new Uint8Array(disable_hca_in.bytes);
  MLX5_SET(disable_hca_in, inb, "opcode", MLX5_CMD_OP_DISABLE_HCA);
  MLX5_SET(disable_hca_in, inb, "function_id", func_id);
  MLX5_SET(disable_hca_in, inb, "embedded_cpu_function", dev.caps.embedded_cpu);
  return mlx5_cmd_exec_in(dev, disable_hca_in, inb, disable_hca_out);
}
