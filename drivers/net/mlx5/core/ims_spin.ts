// SPDX-License-Identifier: GPL-2.0-only
// irqlab (no kernel counterpart): an atomic command submission, for the IMS
// chip variant (a) that issues SET_IMS_ENTRY from irq_mask()/irq_unmask()/
// irq_write_msi_msg() with desc->lock held and interrupts off
// (irqchip/irq-mlx5-ims-variants.ts). mlx5_core has no such path: its
// commands take a semaphore and sleep (cmd.c). This one takes a regular slot
// only if one is free at once (down_trylock()), writes the layout with the
// input inline, rings the doorbell and spins on the ownership bit with
// cpu_relax(), interrupts as the caller left them. It returns the driver's
// errno for the delivery and outbox statuses.
//
// What a real driver would have to change for it, and irqlab does not:
// cmd->alloc_lock and cmd->token_lock are spinlock_t, which may not nest in
// desc->lock (a raw spinlock); here the slot and token are taken without
// them (the model runs one CPU's code at a time inside an atomic section).
// On a spin timeout the slot stays busy (leaked, as a timed-out command's
// slot is until its completion); a late completion event finds no entry.

import { K } from "../../../../lib/kernel/kernel.ts";
import { EBUSY, EINVAL, ENOMEM, ENXIO, ETIMEDOUT } from "../../../../lib/kernel/errno.ts";
import { cpu_relax } from "../../../../lib/kernel/delay.ts";
import { dma_alloc_coherent, dma_free_coherent, GFP_KERNEL, rmb, wmb, type DmaCoherentBuffer } from "../../../../lib/kernel/dma.ts";
import { iowrite32be } from "../../../../lib/kernel/io.ts";
import { mlx5_cmd_is_down } from "./cmd.ts";
import { get_inst, page } from "./cmd_msg.ts";
import { cmd_status_to_err, deliv_status_to_err } from "./cmd_str.ts";
import type { mlx5_core_dev } from "./driver.ts";
import { down_trylock, up } from "./klib.ts";
import { CMD_OWNER_HW, MLX5_PCI_CMD_XPORT, mlx5_cmd_layout as L, mlx5_cmd_prot_block as B, mlx5_init_seg } from "./mlx5_ifc.ts";

/** Commands issued through the spinning path, and the longest spin in ns. */
export interface mlx5_cmd_spin_stats {
  issued: number;
  timeouts: number;
  max_spin_ns: number;
}

const stats = new WeakMap<mlx5_core_dev, mlx5_cmd_spin_stats>();
/** One input mailbox per device, allocated in task context beforehand (no allocation while spinning). */
const mailboxes = new WeakMap<mlx5_core_dev, DmaCoherentBuffer>();

/** Task context: allocate the spinning path's input mailbox. 0 or -ENOMEM. */
export function mlx5_irqlab_cmd_spin_prepare(dev: mlx5_core_dev): number {
  if (mailboxes.has(dev)) return 0;
  const buf = dma_alloc_coherent(dev, 4096, GFP_KERNEL);
  if (!buf) return -ENOMEM;
  mailboxes.set(dev, buf);
  return 0;
}

export function mlx5_irqlab_cmd_spin_stats(dev: mlx5_core_dev): mlx5_cmd_spin_stats {
  let s = stats.get(dev);
  if (!s) stats.set(dev, (s = { issued: 0, timeouts: 0, max_spin_ns: 0 }));
  return s;
}

/** Task context: free the input mailbox (the IMS domain goes away). */
export function mlx5_irqlab_cmd_spin_release(dev: mlx5_core_dev): void {
  const buf = mailboxes.get(dev);
  if (!buf) return;
  mailboxes.delete(dev);
  dma_free_coherent(dev, 4096, buf, buf.dma_handle);
}

/**
 * Execute a command whose input and output fit the 16 inline bytes, spinning
 * for its completion at most `timeout_us`. Atomic-safe. 0 or a negative errno.
 */
export function mlx5_irqlab_cmd_exec_spin(dev: mlx5_core_dev, inb: Uint8Array, out: Uint8Array, timeout_us: number): number {
  const cmd = dev.cmd;
  const mbox = mailboxes.get(dev);
  if (out.length > 16 || inb.length > 16 + 512 || (inb.length > 16 && !mbox)) return -EINVAL;
  if (mlx5_cmd_is_down(dev)) return -ENXIO;
  if (down_trylock(cmd.vars.sem)) return -EBUSY;
  let idx = 0;
  while (idx < cmd.vars.max_reg_cmds && !((cmd.vars.bitmask >>> idx) & 1)) idx++;
  if (idx >= cmd.vars.max_reg_cmds) {
    up(cmd.vars.sem);
    return -EBUSY;
  }
  cmd.vars.bitmask = (cmd.vars.bitmask & ~(1 << idx)) >>> 0;
  cmd.ent_arr[idx] = null;
  cmd.token = (cmd.token + 1) & 0xff || 1;
  const p = page(cmd);
  const lay = get_inst(cmd, idx);
  p.zero(lay, L.size);
  p.write(lay + L.in, inb.subarray(0, 16));
  p.set_be32(lay + L.inlen, inb.length);
  if (inb.length > 16) {
    // the rest of the input in one mailbox block (block 0, no next)
    mbox!.zero(0, B.size);
    mbox!.write(B.data, inb.subarray(16));
    mbox!.set_u8(B.token, cmd.token);
    p.set_be64(lay + L.in_ptr, BigInt(mbox!.dma_handle));
  }
  p.set_be32(lay + L.outlen, out.length);
  p.set_u8(lay + L.type, MLX5_PCI_CMD_XPORT);
  p.set_u8(lay + L.token, cmd.token);
  p.set_u8(lay + L.status_own, CMD_OWNER_HW);
  const st = mlx5_irqlab_cmd_spin_stats(dev);
  st.issued++;
  wmb();
  iowrite32be((1 << idx) >>> 0, dev.iseg + mlx5_init_seg.cmd_dbell);
  const t0 = K.sim.now;
  const deadline = t0 + timeout_us * 1000;
  while (p.u8(lay + L.status_own) & CMD_OWNER_HW) {
    if (K.sim.now >= deadline) {
      st.timeouts++;
      st.max_spin_ns = Math.max(st.max_spin_ns, K.sim.now - t0);
      return -ETIMEDOUT;
    }
    cpu_relax();
  }
  st.max_spin_ns = Math.max(st.max_spin_ns, K.sim.now - t0);
  rmb();
  const deliv = p.u8(lay + L.status_own) >> 1;
  out.set(p.read(lay + L.out, Math.min(16, out.length)));
  cmd.vars.bitmask = (cmd.vars.bitmask | (1 << idx)) >>> 0;
  up(cmd.vars.sem);
  if (deliv) return deliv_status_to_err(deliv);
  return cmd_status_to_err(out[0]!);
}
