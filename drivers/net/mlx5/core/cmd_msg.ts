// SPDX-License-Identifier: GPL-2.0-only
// drivers/net/ethernet/mellanox/mlx5/core/cmd.c: command messages. A message
// is the 16 bytes that go inline in the struct mlx5_cmd_layout plus a chain
// of mailboxes (struct mlx5_cmd_prot_block, 512 data bytes each) from the
// command DMA pool; signatures are xor8 checksums the firmware checks when
// checksums are enabled (irqlab's driver runs with checksum_disabled, as the
// kernel does by default).

import { ENOMEM } from "../../../../lib/kernel/errno.ts";
import type { gfp_t } from "../../../../lib/kernel/dma.ts";
import { mlx5_cmd_msg, mlx5_core_warn, type mlx5_cmd, type mlx5_cmd_mailbox, type mlx5_cmd_work_ent, type mlx5_core_dev } from "./driver.ts";
import { dma_pool_free, dma_pool_zalloc } from "./klib.ts";
import { MLX5_CMD_DATA_BLOCK_SIZE, mlx5_cmd_layout as L, mlx5_cmd_prot_block as B } from "./mlx5_ifc.ts";

const EHWPOISON = 133;

/** The command page (struct mlx5_cmd_layout entries) as the CPU sees it. */
export function page(cmd: mlx5_cmd) {
  return cmd.cmd_alloc_buf!;
}

// cmd.c: get_inst(): offset of slot idx in the command page
export function get_inst(cmd: mlx5_cmd, idx: number): number {
  return idx << cmd.vars.log_stride;
}

// cmd.c: mlx5_calc_cmd_blocks()
export function mlx5_calc_cmd_blocks(msg: mlx5_cmd_msg): number {
  const size = msg.len;
  const blen = size - Math.min(16, size);
  return Math.ceil(blen / MLX5_CMD_DATA_BLOCK_SIZE);
}

// cmd.c: xor8_buf()
export function xor8_buf(buf: Uint8Array, offset: number, len: number): number {
  let sum = 0;
  for (let i = offset; i < offset + len; i++) sum ^= buf[i]!;
  return sum;
}

// cmd.c: verify_block_sig()
export function verify_block_sig(mb: mlx5_cmd_mailbox): number {
  const block = mb.buf.read(0, B.size);
  if (xor8_buf(block, B.rsvd0, B.size - MLX5_CMD_DATA_BLOCK_SIZE - 1) !== 0xff) return -EHWPOISON;
  if (xor8_buf(block, 0, B.size) !== 0xff) return -EHWPOISON;
  return 0;
}

// cmd.c: calc_block_sig()
export function calc_block_sig(mb: mlx5_cmd_mailbox): void {
  const block = mb.buf.read(0, B.size);
  block[B.ctrl_sig] = 0;
  block[B.sig] = 0;
  mb.buf.set_u8(B.ctrl_sig, ~xor8_buf(block, B.rsvd0, B.size - MLX5_CMD_DATA_BLOCK_SIZE - 2) & 0xff);
  const b2 = mb.buf.read(0, B.size);
  mb.buf.set_u8(B.sig, ~xor8_buf(b2, 0, B.size - 1) & 0xff);
}

// cmd.c: calc_chain_sig()
export function calc_chain_sig(msg: mlx5_cmd_msg): void {
  let next = msg.next;
  const n = mlx5_calc_cmd_blocks(msg);
  for (let i = 0; i < n && next; i++) {
    calc_block_sig(next);
    next = next.next;
  }
}

// cmd.c: set_signature()
export function set_signature(ent: mlx5_cmd_work_ent, csum: boolean): void {
  const p = page(ent.cmd);
  const lay = p.read(ent.lay, L.size);
  p.set_u8(ent.lay + L.sig, ~xor8_buf(lay, 0, L.size) & 0xff);
  if (csum) {
    calc_chain_sig(ent.in_);
    calc_chain_sig(ent.out);
  }
}

// cmd.c: verify_signature()
export function verify_signature(ent: mlx5_cmd_work_ent): number {
  let next = ent.out.next;
  const n = mlx5_calc_cmd_blocks(ent.out);
  const sig = xor8_buf(page(ent.cmd).read(ent.lay, L.size), 0, L.size);
  if (sig !== 0xff) return -EHWPOISON;
  for (let i = 0; i < n && next; i++) {
    if (verify_block_sig(next)) return -EHWPOISON;
    next = next.next;
  }
  return 0;
}

// cmd.c: mlx5_copy_to_msg()
export function mlx5_copy_to_msg(to: mlx5_cmd_msg, from: Uint8Array, size: number, token: number): number {
  let copy = Math.min(size, 16);
  to.first.data.set(from.subarray(0, copy));
  size -= copy;
  let off = copy;
  let next = to.next;
  while (size) {
    if (!next) return -ENOMEM; // this is a BUG
    copy = Math.min(size, MLX5_CMD_DATA_BLOCK_SIZE);
    next.buf.write(B.data, from.subarray(off, off + copy));
    off += copy;
    size -= copy;
    next.buf.set_u8(B.token, token);
    next = next.next;
  }
  return 0;
}

// cmd.c: mlx5_copy_from_msg()
export function mlx5_copy_from_msg(to: Uint8Array, from: mlx5_cmd_msg, size: number): number {
  let copy = Math.min(size, 16);
  to.set(from.first.data.subarray(0, copy));
  size -= copy;
  let off = copy;
  let next = from.next;
  while (size) {
    if (!next) return -ENOMEM; // this is a BUG
    copy = Math.min(size, MLX5_CMD_DATA_BLOCK_SIZE);
    to.set(next.buf.read(B.data, copy), off);
    off += copy;
    size -= copy;
    next = next.next;
  }
  return 0;
}

// cmd.c: alloc_cmd_box()
export function alloc_cmd_box(dev: mlx5_core_dev, flags: gfp_t): mlx5_cmd_mailbox | null {
  const buf = dma_pool_zalloc(dev.cmd.pool!, flags);
  if (!buf) return null;
  return { buf, dma: buf.dma, next: null };
}

// cmd.c: mlx5_alloc_cmd_msg(): the chain is built tail first, block_num n-1 .. 0
export function mlx5_alloc_cmd_msg(dev: mlx5_core_dev, flags: gfp_t, size: number, token: number): mlx5_cmd_msg | number {
  const msg = new mlx5_cmd_msg(size);
  const n = mlx5_calc_cmd_blocks(msg);
  let head: mlx5_cmd_mailbox | null = null;
  for (let i = 0; i < n; i++) {
    const tmp = alloc_cmd_box(dev, flags);
    if (!tmp) {
      mlx5_core_warn(dev, ["mlx5_alloc_cmd_msg", 1381], "failed allocating block\n");
      while (head) {
        dma_pool_free(dev.cmd.pool!, head.buf);
        head = head.next;
      }
      return -ENOMEM;
    }
    tmp.next = head;
    tmp.buf.set_be64(B.next, BigInt(tmp.next ? tmp.next.dma : 0));
    tmp.buf.set_be32(B.block_num, n - i - 1);
    tmp.buf.set_u8(B.token, token);
    head = tmp;
  }
  msg.next = head;
  return msg;
}

// cmd.c: mlx5_free_cmd_msg()
export function mlx5_free_cmd_msg(dev: mlx5_core_dev, msg: mlx5_cmd_msg): void {
  let head = msg.next;
  while (head) {
    dma_pool_free(dev.cmd.pool!, head.buf);
    head = head.next;
  }
}
