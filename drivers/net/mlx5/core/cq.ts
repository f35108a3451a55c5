// SPDX-License-Identifier: GPL-2.0-only
// drivers/net/ethernet/mellanox/mlx5/core/cq.c, reduced: creating and
// destroying a completion queue bound to a completion EQ, and its place in
// the EQs' CQ tables. CQE rings, CQ doorbells and arming are not rendered
// (irqlab's device reports every completion as an EQE).

import { ENOMEM } from "../../../../lib/kernel/errno.ts";
import { cpu_to_be32, writeq } from "../../../../lib/kernel/io.ts";
import { wmb } from "../../../../lib/kernel/dma.ts";
import { synchronize_irq } from "../../../../lib/irq/manage.ts";
import { mlx5_cmd_exec, mlx5_cmd_exec_in } from "./cmd.ts";
import type { mlx5_core_dev } from "./driver.ts";
import { mlx5_eq_add_cq, mlx5_eq_del_cq, mlx5_get_async_eq, type mlx5_eq, type mlx5_eqe_ref } from "./eq.ts";
import { mlx5_eqn2comp_eq } from "./eq_comp.ts";
import { cqc, create_cq_in, create_cq_out, destroy_cq_in, destroy_cq_out, MLX5_ADDR_OF, MLX5_CMD_OP_CREATE_CQ, MLX5_CMD_OP_DESTROY_CQ, MLX5_GET, MLX5_SET } from "./mlx5_ifc.ts";

/** struct mlx5_core_cq */
export class mlx5_core_cq {
  cqn = 0;
  cons_index = 0;
  arm_sn = 0;
  irqn = 0;
  eq: mlx5_eq | null = null;
  uid = 0;
  comp: (cq: mlx5_core_cq, eqe: mlx5_eqe_ref) => void = () => undefined;
}

// cq.c: mlx5_create_cq(): CREATE_CQ on the EQ named in the context, then join the EQs' CQ tables
export async function mlx5_create_cq(dev: mlx5_core_dev, cq: mlx5_core_cq, inb: Uint8Array, inlen: number, out: Uint8Array, outlen: number): Promise<number> {
  const c = MLX5_ADDR_OF(create_cq_in, inb, "cq_context");
  const eqn = MLX5_GET(cqc, c, "c_eqn_or_apu_element");
  const eq = mlx5_eqn2comp_eq(dev, eqn);
  if (typeof eq === "number") return eq;
  out.fill(0);
  MLX5_SET(create_cq_in, inb, "opcode", MLX5_CMD_OP_CREATE_CQ);
  let err = await mlx5_cmd_exec(dev, inb, inlen, out, outlen);
  if (err) return err;
  cq.cqn = MLX5_GET(create_cq_out, out, "cqn");
  cq.cons_index = 0;
  cq.arm_sn = 0;
  cq.eq = eq.core;
  cq.irqn = eq.core.irqn;
  // Add to comp EQ CQ tree to recv comp events
  err = mlx5_eq_add_cq(eq.core, cq);
  if (err) {
    await destroy_cq_cmd(dev, cq);
    return err;
  }
  // Add to async EQ CQ tree to recv async events
  err = mlx5_eq_add_cq(mlx5_get_async_eq(dev), cq);
  if (err) {
    mlx5_eq_del_cq(eq.core, cq);
    await destroy_cq_cmd(dev, cq);
    return err;
  }
  return 0;
}

async function destroy_cq_cmd(dev: mlx5_core_dev, cq: mlx5_core_cq): Promise<number> {
  const inb = new Uint8Array(destroy_cq_in.bytes);
  MLX5_SET(destroy_cq_in, inb, "opcode", MLX5_CMD_OP_DESTROY_CQ);
  MLX5_SET(destroy_cq_in, inb, "cqn", cq.cqn);
  MLX5_SET(destroy_cq_in, inb, "uid", cq.uid);
  return mlx5_cmd_exec_in(dev, destroy_cq_in, inb, destroy_cq_out);
}

// cq.c: mlx5_core_create_cq()
export function mlx5_core_create_cq(dev: mlx5_core_dev, cq: mlx5_core_cq, inb: Uint8Array, inlen: number, out: Uint8Array, outlen: number): Promise<number> {
  return mlx5_create_cq(dev, cq, inb, inlen, out, outlen);
}

// cq.c: mlx5_core_destroy_cq()
export async function mlx5_core_destroy_cq(dev: mlx5_core_dev, cq: mlx5_core_cq): Promise<number> {
  mlx5_eq_del_cq(mlx5_get_async_eq(dev), cq);
  if (cq.eq) mlx5_eq_del_cq(cq.eq, cq);
  const err = await destroy_cq_cmd(dev, cq);
  if (err) return err;
  await synchronize_irq(cq.irqn);
  return 0;
}

/* include/linux/mlx5/cq.h */
export const MLX5_CQ_DOORBELL = 0x20;
export const MLX5_CQ_DB_REQ_NOT_SOL = 1 << 24;
export const MLX5_CQ_DB_REQ_NOT = 0 << 24;

// include/linux/mlx5/cq.h: mlx5_cq_arm(); the doorbell record (cq->arm_db) is not rendered
export function mlx5_cq_arm(cq: mlx5_core_cq, cmd: number, uar_page: number, cons_index: number): void {
  const sn = cq.arm_sn & 3;
  const ci = cons_index & 0xffffff;
  // Make sure that the doorbell record in host memory is written before
  // ringing the doorbell via PCI MMIO.
  wmb();
  const dw0 = cpu_to_be32(((sn << 28) | cmd | ci) >>> 0);
  const dw1 = cpu_to_be32(cq.cqn);
  // mlx5_write64(): both dwords in one 64-bit store, in memory order
  writeq((BigInt(dw1) << 32n) | BigInt(dw0), uar_page + MLX5_CQ_DOORBELL);
}

/** A CREATE_CQ input for a CQ of 2^log_cq_size entries on EQ `eqn` (what mlx5e_create_cq() builds). */
export function mlx5_irqlab_cq_in(dev: mlx5_core_dev, eqn: number, log_cq_size: number): Uint8Array | number {
  const uar = dev.priv.uar;
  if (!uar) return -ENOMEM;
  const inb = new Uint8Array(create_cq_in.bytes);
  const c = MLX5_ADDR_OF(create_cq_in, inb, "cq_context");
  MLX5_SET(cqc, c, "log_cq_size", log_cq_size);
  MLX5_SET(cqc, c, "uar_page", uar.index);
  MLX5_SET(cqc, c, "c_eqn_or_apu_element", eqn);
  MLX5_SET(cqc, c, "log_page_size", 0);
  return inb;
}
