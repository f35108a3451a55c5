// SPDX-License-Identifier: GPL-2.0-only
// drivers/net/ethernet/mellanox/mlx5/core/port.c, reduced: register access
// through the ACCESS_REG command.

import { mlx5_cmd_exec } from "./cmd.ts";
import type { mlx5_core_dev } from "./driver.ts";
import { access_register_in, access_register_out, MLX5_ADDR_OF, MLX5_CMD_OP_ACCESS_REG, MLX5_SET, MLX5_ST_SZ_BYTES } from "./mlx5_ifc.ts";

// port.c: mlx5_core_access_reg(): write (`write` = 1) or query a register
export async function mlx5_core_access_reg(dev: mlx5_core_dev, data_in: Uint8Array, size_in: number, data_out: Uint8Array, size_out: number, reg_id: number, arg: number, write: number): Promise<number> {
  const outlen = MLX5_ST_SZ_BYTES(access_register_out) + size_out;
  const inlen = MLX5_ST_SZ_BYTES(access_register_in) + size_in;
  const inb = new Uint8Array(inlen);
  const out = new Uint8Array(outlen);
  MLX5_ADDR_OF(access_register_in, inb, "register_data").set(data_in.subarray(0, size_in));
  MLX5_SET(access_register_in, inb, "op_mod", write ? 0 : 1);
  MLX5_SET(access_register_in, inb, "register_id", reg_id);
  MLX5_SET(access_register_in, inb, "argument", arg);
  MLX5_SET(access_register_in, inb, "opcode", MLX5_CMD_OP_ACCESS_REG);
  const err = await mlx5_cmd_exec(dev, inb, inlen, out, outlen);
  if (err) return err;
  data_out.set(MLX5_ADDR_OF(access_register_out, out, "register_data").subarray(0, size_out));
  return 0;
}
