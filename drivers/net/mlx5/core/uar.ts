// SPDX-License-Identifier: GPL-2.0-only
// drivers/net/ethernet/mellanox/mlx5/core/uar.c, reduced: the UAR page the
// driver's EQs ring their doorbells in. A UAR index maps to BAR0 + index *
// PAGE_SIZE (uar2pfn()).

import { ENOMEM } from "../../../../lib/kernel/errno.ts";
import { mlx5_cmd_exec_in, mlx5_cmd_exec_inout } from "./cmd.ts";
import type { mlx5_core_dev, mlx5_uars_page } from "./driver.ts";
import { alloc_uar_in, alloc_uar_out, dealloc_uar_in, dealloc_uar_out, MLX5_CMD_OP_ALLOC_UAR, MLX5_CMD_OP_DEALLOC_UAR, MLX5_GET, MLX5_SET } from "./mlx5_ifc.ts";

// uar.c: mlx5_cmd_alloc_uar()
export async function mlx5_cmd_alloc_uar(dev: mlx5_core_dev): Promise<{ err: number; uarn: number }> {
  const out = new Uint8Array(alloc_uar_out.bytes);
  const inb = new Uint8Array(alloc_uar_in.bytes);
  MLX5_SET(alloc_uar_in, inb, "opcode", MLX5_CMD_OP_ALLOC_UAR);
  const err = await mlx5_cmd_exec_inout(dev, alloc_uar_in, inb, alloc_uar_out, out);
  if (err) return { err, uarn: 0 };
  return { err: 0, uarn: MLX5_GET(alloc_uar_out, out, "uar") };
}

// uar.c: mlx5_cmd_free_uar()
export async function mlx5_cmd_free_uar(dev: mlx5_core_dev, uarn: number): Promise<number> {
  const inb = new Uint8Array(dealloc_uar_in.bytes);
  MLX5_SET(dealloc_uar_in, inb, "opcode", MLX5_CMD_OP_DEALLOC_UAR);
  MLX5_SET(dealloc_uar_in, inb, "uar", uarn);
  return mlx5_cmd_exec_in(dev, dealloc_uar_in, inb, dealloc_uar_out);
}

// uar.c: mlx5_get_uars_page(): one UAR page, mapped
export async function mlx5_get_uars_page(dev: mlx5_core_dev): Promise<mlx5_uars_page | number> {
  const r = await mlx5_cmd_alloc_uar(dev);
  if (r.err) return r.err;
  const map = dev.bar_addr + r.uarn * 4096;
  if (!map) return -ENOMEM;
  return { index: r.uarn, map };
}

// uar.c: mlx5_put_uars_page()
export async function mlx5_put_uars_page(dev: mlx5_core_dev, up: mlx5_uars_page | null): Promise<void> {
  if (!up) return;
  await mlx5_cmd_free_uar(dev, up.index);
}
