// SPDX-License-Identifier: GPL-2.0-only
// drivers/net/ethernet/mellanox/mlx5/core/pagealloc.c, reduced: the pages
// the firmware asks for at boot and init (QUERY_PAGES, MANAGE_PAGES give),
// and taking them back at teardown (MANAGE_PAGES take). Page-request events
// and the per-function page trees are not rendered.

import { dma_alloc_coherent, dma_free_coherent, GFP_KERNEL, type DmaCoherentBuffer } from "../../../../lib/kernel/dma.ts";
import { ENOMEM } from "../../../../lib/kernel/errno.ts";
import { mlx5_cmd_exec, mlx5_cmd_exec_inout } from "./cmd.ts";
import { mlx5_core_warn, type mlx5_core_dev } from "./driver.ts";
import { manage_pages_in, manage_pages_out, MLX5_ADDR_OF, MLX5_CMD_OP_MANAGE_PAGES, MLX5_CMD_OP_QUERY_PAGES, MLX5_GET, MLX5_SET, query_pages_in, query_pages_out } from "./mlx5_ifc.ts";

const MLX5_PAGES_GIVE = 1;
const MLX5_PAGES_TAKE = 2;
const MLX5_BOOT_PAGES = 1;
const MLX5_INIT_PAGES = 2;

const givenPages = new WeakMap<mlx5_core_dev, DmaCoherentBuffer[]>();

// pagealloc.c: mlx5_cmd_query_pages()
async function mlx5_cmd_query_pages(dev: mlx5_core_dev, boot: boolean): Promise<{ err: number; npages: number }> {
  const out = new Uint8Array(query_pages_out.bytes);
  const inb = new Uint8Array(query_pages_in.bytes);
  MLX5_SET(query_pages_in, inb, "opcode", MLX5_CMD_OP_QUERY_PAGES);
  MLX5_SET(query_pages_in, inb, "op_mod", boot ? MLX5_BOOT_PAGES : MLX5_INIT_PAGES);
  MLX5_SET(query_pages_in, inb, "embedded_cpu_function", dev.caps.embedded_cpu);
  const err = await mlx5_cmd_exec_inout(dev, query_pages_in, inb, query_pages_out, out);
  if (err) return { err, npages: 0 };
  return { err: 0, npages: MLX5_GET(query_pages_out, out, "num_pages") | 0 };
}

// pagealloc.c: give_pages()
async function give_pages(dev: mlx5_core_dev, npages: number): Promise<number> {
  const inlen = manage_pages_in.bytes + 8 * npages;
  const inb = new Uint8Array(inlen);
  const pages: DmaCoherentBuffer[] = [];
  const pas = MLX5_ADDR_OF(manage_pages_in, inb, "pas");
  const dv = new DataView(pas.buffer, pas.byteOffset);
  for (let i = 0; i < npages; i++) {
    const p = dma_alloc_coherent(dev, 4096, GFP_KERNEL);
    if (!p) {
      for (const q of pages) dma_free_coherent(dev, 4096, q, q.dma_handle);
      return -ENOMEM;
    }
    pages.push(p);
    dv.setBigUint64(8 * i, BigInt(p.dma_handle));
  }
  MLX5_SET(manage_pages_in, inb, "opcode", MLX5_CMD_OP_MANAGE_PAGES);
  MLX5_SET(manage_pages_in, inb, "op_mod", MLX5_PAGES_GIVE);
  MLX5_SET(manage_pages_in, inb, "input_num_entries", npages);
  MLX5_SET(manage_pages_in, inb, "embedded_cpu_function", dev.caps.embedded_cpu);
  const out = new Uint8Array(manage_pages_out.bytes);
  const err = await mlx5_cmd_exec(dev, inb, inlen, out, out.length);
  if (err) {
    mlx5_core_warn(dev, ["give_pages", 436], "func_id 0x%x, npages %d, err %d\n", 0, npages, err);
    for (const q of pages) dma_free_coherent(dev, 4096, q, q.dma_handle);
    return err;
  }
  givenPages.set(dev, [...(givenPages.get(dev) ?? []), ...pages]);
  return 0;
}

// pagealloc.c: mlx5_satisfy_startup_pages()
export async function mlx5_satisfy_startup_pages(dev: mlx5_core_dev, boot: boolean): Promise<number> {
  const r = await mlx5_cmd_query_pages(dev, boot);
  if (r.err) return r.err;
  if (r.npages <= 0) return 0;
  return give_pages(dev, r.npages);
}

// pagealloc.c: mlx5_reclaim_startup_pages(): take back what the firmware holds
export async function mlx5_reclaim_startup_pages(dev: mlx5_core_dev): Promise<number> {
  const pages = givenPages.get(dev) ?? [];
  if (!pages.length) return 0;
  const npages = pages.length;
  const inb = new Uint8Array(manage_pages_in.bytes);
  MLX5_SET(manage_pages_in, inb, "opcode", MLX5_CMD_OP_MANAGE_PAGES);
  MLX5_SET(manage_pages_in, inb, "op_mod", MLX5_PAGES_TAKE);
  MLX5_SET(manage_pages_in, inb, "input_num_entries", npages);
  const outlen = manage_pages_out.bytes + 8 * npages;
  const out = new Uint8Array(outlen);
  // The pages are the driver's again whether the firmware answered or not (a reset took them).
  const err = await mlx5_cmd_exec(dev, inb, inb.length, out, outlen);
  for (const p of pages) dma_free_coherent(dev, 4096, p, p.dma_handle);
  givenPages.delete(dev);
  return err;
}
