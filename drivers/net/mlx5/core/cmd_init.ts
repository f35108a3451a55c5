// SPDX-License-Identifier: GPL-2.0-only
// drivers/net/ethernet/mellanox/mlx5/core/cmd.c: setting the command
// interface up and down. mlx5_cmd_init() creates the single-threaded command
// workqueue; mlx5_cmd_enable() reads the queue geometry from the init segment,
// sets up the slot semaphores and the mailbox pool, and hands the command page
// to the firmware (cmdq_addr_h/l); the interface starts in polling mode.

import { EINVAL, ENOMEM } from "../../../../lib/kernel/errno.ts";
import { dma_alloc_coherent, dma_free_coherent, GFP_KERNEL, wmb } from "../../../../lib/kernel/dma.ts";
import { ioread32be, iowrite32be } from "../../../../lib/kernel/io.ts";
import { alloc_ordered_workqueue, destroy_workqueue, flush_workqueue, WQ_MEM_RECLAIM } from "../../../../lib/kernel/workqueue.ts";
import { cmd_set_owner, MLX5_CMD_MASK } from "./cmd.ts";
import { CMD_ALLOWED_OPCODE_ALL, CMD_MODE_POLLING, MLX5_CMDIF_STATE_DOWN, mlx5_core_dbg, mlx5_core_err, type mlx5_cmd, type mlx5_core_dev } from "./driver.ts";
import { dma_pool_create, dma_pool_destroy, sema_init } from "./klib.ts";
import { MLX5_ADAPTER_PAGE_SHIFT, MLX5_ADAPTER_PAGE_SIZE, MLX5_MAX_COMMANDS, mlx5_cmd_prot_block as B, mlx5_init_seg } from "./mlx5_ifc.ts";

const CMD_IF_REV = 5;

// cmd.c: set_wqname()
function set_wqname(dev: mlx5_core_dev): void {
  dev.cmd.wq_name = `mlx5_cmd_${dev.device.dev_name}`;
}

// cmd.c: alloc_cmd_page()
function alloc_cmd_page(dev: mlx5_core_dev, cmd: mlx5_cmd): number {
  const buf = dma_alloc_coherent(dev, MLX5_ADAPTER_PAGE_SIZE, GFP_KERNEL);
  if (!buf) return -ENOMEM;
  // make sure it is aligned to 4K (the coherent allocator hands out whole pages)
  cmd.cmd_alloc_buf = buf;
  cmd.dma = buf.dma_handle;
  cmd.alloc_size = MLX5_ADAPTER_PAGE_SIZE;
  return 0;
}

// cmd.c: free_cmd_page()
function free_cmd_page(dev: mlx5_core_dev, cmd: mlx5_cmd): void {
  if (cmd.cmd_alloc_buf) dma_free_coherent(dev, cmd.alloc_size, cmd.cmd_alloc_buf, cmd.dma);
  cmd.cmd_alloc_buf = null;
}

// cmd.c: cmdif_rev()
function cmdif_rev(dev: mlx5_core_dev): number {
  return ioread32be(dev.iseg + mlx5_init_seg.cmdif_rev_fw_sub) >>> 16;
}

// cmd.c: mlx5_cmd_init(): software state and the single-threaded command workqueue
export function mlx5_cmd_init(dev: mlx5_core_dev): number {
  const cmd = dev.cmd;
  cmd_set_owner(cmd, dev);
  cmd.checksum_disabled = 1;
  set_wqname(dev);
  // create_singlethread_workqueue()
  cmd.wq = alloc_ordered_workqueue("%s", WQ_MEM_RECLAIM, cmd.wq_name);
  if (!cmd.wq) {
    mlx5_core_err(dev, ["mlx5_cmd_init", 2302], "failed to create command workqueue\n");
    return -ENOMEM;
  }
  return 0;
}

// cmd.c: mlx5_cmd_cleanup()
export async function mlx5_cmd_cleanup(dev: mlx5_core_dev): Promise<void> {
  if (dev.cmd.wq) await destroy_workqueue(dev.cmd.wq);
  dev.cmd.wq = null;
}

// cmd.c: mlx5_cmd_enable(): read the queue geometry, hand the command page to the firmware
export function mlx5_cmd_enable(dev: mlx5_core_dev): number {
  const size = B.size;
  let align = 1;
  while (align < size) align <<= 1;
  const cmd = dev.cmd;
  cmd.vars.cmdif_rev = cmdif_rev(dev);
  if (cmd.vars.cmdif_rev !== CMD_IF_REV) {
    mlx5_core_err(dev, ["mlx5_cmd_enable", 2335], "Driver cmdif rev(%d) differs from firmware's(%d)\n", CMD_IF_REV, cmd.vars.cmdif_rev);
    return -EINVAL;
  }
  let cmd_l = ioread32be(dev.iseg + mlx5_init_seg.cmdq_addr_l_sz) & 0xff;
  cmd.vars.log_sz = (cmd_l >> 4) & 0xf;
  cmd.vars.log_stride = cmd_l & 0xf;
  if (1 << cmd.vars.log_sz > MLX5_MAX_COMMANDS) {
    mlx5_core_err(dev, ["mlx5_cmd_enable", 2343], "firmware reports too many outstanding commands %d\n", 1 << cmd.vars.log_sz);
    return -EINVAL;
  }
  if (cmd.vars.log_sz + cmd.vars.log_stride > MLX5_ADAPTER_PAGE_SHIFT) {
    mlx5_core_err(dev, ["mlx5_cmd_enable", 2349], "command queue size overflow\n");
    return -EINVAL;
  }
  cmd.state = MLX5_CMDIF_STATE_DOWN;
  cmd.vars.max_reg_cmds = (1 << cmd.vars.log_sz) - 1;
  cmd.vars.bitmask = MLX5_CMD_MASK(cmd);
  cmd.ent_arr.fill(null);
  sema_init(cmd.vars.sem, cmd.vars.max_reg_cmds);
  sema_init(cmd.vars.pages_sem, 1);
  cmd.pool = dma_pool_create("mlx5_cmd", dev, size, align, 0);
  if (!cmd.pool) return -ENOMEM;
  let err = alloc_cmd_page(dev, cmd);
  if (err) {
    dma_pool_destroy(cmd.pool);
    return err;
  }
  const cmd_h = Math.floor(cmd.dma / 2 ** 32) >>> 0;
  cmd_l = cmd.dma % 2 ** 32 >>> 0;
  if (cmd_l & 0xfff) {
    mlx5_core_err(dev, ["mlx5_cmd_enable", 2382], "invalid command queue address\n");
    err = -ENOMEM;
    free_cmd_page(dev, cmd);
    dma_pool_destroy(cmd.pool);
    return err;
  }
  iowrite32be(cmd_h, dev.iseg + mlx5_init_seg.cmdq_addr_h);
  iowrite32be(cmd_l, dev.iseg + mlx5_init_seg.cmdq_addr_l_sz);
  // Make sure firmware sees the complete address before we proceed
  wmb();
  mlx5_core_dbg(dev, "descriptor at dma 0x%llx\n", cmd.dma);
  cmd.mode = CMD_MODE_POLLING;
  cmd.allowed_opcode = CMD_ALLOWED_OPCODE_ALL;
  return 0;
}

// cmd.c: mlx5_cmd_disable()
export async function mlx5_cmd_disable(dev: mlx5_core_dev): Promise<void> {
  const cmd = dev.cmd;
  if (cmd.wq) await flush_workqueue(cmd.wq);
  free_cmd_page(dev, cmd);
  dma_pool_destroy(cmd.pool);
  cmd.pool = null;
}

// cmd.c: mlx5_cmd_set_state()
export function mlx5_cmd_set_state(dev: mlx5_core_dev, cmdif_state: number): void {
  dev.cmd.state = cmdif_state;
}
