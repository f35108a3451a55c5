// SPDX-License-Identifier: GPL-2.0-only
// drivers/net/ethernet/mellanox/mlx5/core/eq.c, the completion EQs: their
// interrupt handler (mlx5_eq_comp_int(), which hands each COMP EQE to the CQ
// whose number it carries), their creation on demand per vector
// (mlx5_comp_eqn_get(), one IRQ each) and the vector lookups. The EQ
// structures, the async EQs and the table live in eq.ts.

import { EINVAL, ENOENT, ENOMEM } from "../../../../lib/kernel/errno.ts";
import { dma_rmb } from "../../../../lib/kernel/dma.ts";
import { cpumask_first, cpumask_local_spread } from "../../../../lib/kernel/cpumask.ts";
import { mutex_lock, mutex_unlock } from "../../../../lib/kernel/mutex.ts";
import { disable_irq, enable_irq } from "../../../../lib/irq/manage.ts";
import { mlx5_core_err, mlx5_core_warn, type mlx5_core_dev } from "./driver.ts";
import { MLX5_COMP_EQ_SIZE, mlx5_eqe } from "./mlx5_ifc.ts";
import { mlx5_irq_get_affinity_mask, mlx5_irq_release_vector, mlx5_irq_request_vector } from "./pci_irq.ts";
import { create_map_eq, destroy_unmap_eq, eq_update_ci, mlx5_eq_cq_get, mlx5_eq_disable, mlx5_eq_enable, MLX5_EQ_POLLING_BUDGET, mlx5_eq_comp, next_eqe_sw, type mlx5_eqe_ref } from "./eq.ts";

// eq.c: mlx5_eq_comp_int(); hardirq, the comp EQ's notifier on its irq
function mlx5_eq_comp_int(eq_comp: mlx5_eq_comp): number {
  const eq = eq_comp.core;
  let num_eqes = 0;
  let eqe: mlx5_eqe_ref | null;
  while ((eqe = next_eqe_sw(eq))) {
    // Make sure we read EQ entry contents after we've checked the ownership bit.
    dma_rmb();
    // Assume (eqe->type) is always MLX5_EVENT_TYPE_COMP
    const cqn = eqe.be32(mlx5_eqe.comp_cqn) & 0xffffff;
    const cq = mlx5_eq_cq_get(eq, cqn);
    if (cq) {
      ++cq.arm_sn;
      cq.comp(cq, eqe);
    }
    ++eq.cons_index;
    eq_comp.eqes++;
    if (++num_eqes >= MLX5_EQ_POLLING_BUDGET) break;
  }
  eq_update_ci(eq, true);
  return 0;
}

// eq.c: mlx5_eq_poll_irq_disabled(): run the handler with the irq disabled; EQEs consumed
export async function mlx5_eq_poll_irq_disabled(eq: mlx5_eq_comp): Promise<number> {
  await disable_irq(eq.core.irqn);
  let count_eqe = eq.core.cons_index;
  mlx5_eq_comp_int(eq);
  count_eqe = eq.core.cons_index - count_eqe;
  await enable_irq(eq.core.irqn);
  return count_eqe;
}

// eq.c: comp_irq_release_pci()
async function comp_irq_release(dev: mlx5_core_dev, vecidx: number): Promise<void> {
  const table = dev.priv.eq_table!;
  const irq = table.comp_irqs.get(vecidx);
  if (!irq) return;
  table.comp_irqs.delete(vecidx);
  await mlx5_irq_release_vector(irq);
}

// eq.c: mlx5_cpumask_default_spread()
function mlx5_cpumask_default_spread(dev: mlx5_core_dev, index: number): number {
  return cpumask_local_spread(index, dev.priv.numa_node);
}

// eq.c: comp_irq_request_pci()
async function comp_irq_request(dev: mlx5_core_dev, vecidx: number): Promise<number> {
  const table = dev.priv.eq_table!;
  const cpu = mlx5_cpumask_default_spread(dev, vecidx);
  const irq = await mlx5_irq_request_vector(dev, cpu, vecidx);
  if (typeof irq === "number") return irq;
  table.comp_irqs.set(vecidx, irq);
  return 0;
}

// eq.c: destroy_comp_eq()
export async function destroy_comp_eq(dev: mlx5_core_dev, eq: mlx5_eq_comp, vecidx: number): Promise<void> {
  const table = dev.priv.eq_table!;
  table.comp_eqs.delete(vecidx);
  await mlx5_eq_disable(dev, eq.core, eq.irq_nb);
  if (await destroy_unmap_eq(dev, eq.core)) mlx5_core_warn(dev, ["destroy_comp_eq", 946], "failed to destroy comp EQ 0x%x\n", eq.core.eqn);
  await comp_irq_release(dev, vecidx);
  table.curr_comp_eqs--;
}

// eq.c: create_comp_eq(); comp_lock held
async function create_comp_eq(dev: mlx5_core_dev, vecidx: number): Promise<number> {
  const table = dev.priv.eq_table!;
  if (table.curr_comp_eqs === table.max_comp_eqs) {
    mlx5_core_err(dev, ["create_comp_eq", 979], "maximum number of vectors is allocated, %d\n", table.max_comp_eqs);
    return -ENOMEM;
  }
  let err = await comp_irq_request(dev, vecidx);
  if (err) return err;
  const nent = MLX5_COMP_EQ_SIZE;
  const eq = new mlx5_eq_comp();
  const irq = table.comp_irqs.get(vecidx)!;
  eq.irq_nb = { notifier_call: () => mlx5_eq_comp_int(eq) };
  err = await create_map_eq(dev, eq.core, { irq, nent, mask: [] });
  if (err) {
    await comp_irq_release(dev, vecidx);
    return err;
  }
  err = await mlx5_eq_enable(dev, eq.core, eq.irq_nb);
  if (err) {
    await destroy_unmap_eq(dev, eq.core);
    await comp_irq_release(dev, vecidx);
    return err;
  }
  table.comp_eqs.set(vecidx, eq);
  table.curr_comp_eqs++;
  return eq.core.eqn;
}

// eq.c: mlx5_comp_eqn_get(): the completion EQ of vector `vecidx`, created on first use
export async function mlx5_comp_eqn_get(dev: mlx5_core_dev, vecidx: number): Promise<{ err: number; eqn: number }> {
  const table = dev.priv.eq_table!;
  if (vecidx >= table.max_comp_eqs) return { err: -EINVAL, eqn: -1 };
  await mutex_lock(table.comp_lock);
  const eq = table.comp_eqs.get(vecidx);
  if (eq) {
    mutex_unlock(table.comp_lock);
    return { err: 0, eqn: eq.core.eqn };
  }
  const ret = await create_comp_eq(dev, vecidx);
  mutex_unlock(table.comp_lock);
  if (ret < 0) return { err: ret, eqn: -1 };
  return { err: 0, eqn: ret };
}

// eq.c: mlx5_comp_irqn_get()
export async function mlx5_comp_irqn_get(dev: mlx5_core_dev, vector: number): Promise<{ err: number; irqn: number }> {
  const r = await mlx5_comp_eqn_get(dev, vector);
  if (r.err) return { err: r.err, irqn: 0 };
  return { err: 0, irqn: dev.priv.eq_table!.comp_eqs.get(vector)!.core.irqn };
}

// eq.c: mlx5_comp_vectors_max()
export function mlx5_comp_vectors_max(dev: mlx5_core_dev): number {
  return dev.priv.eq_table!.max_comp_eqs;
}

// eq.c: mlx5_comp_vector_get_cpu()
export function mlx5_comp_vector_get_cpu(dev: mlx5_core_dev, vector: number): number {
  const eq = dev.priv.eq_table!.comp_eqs.get(vector);
  if (eq) return cpumask_first(mlx5_irq_get_affinity_mask(eq.core.irq!));
  return mlx5_cpumask_default_spread(dev, vector);
}

// eq.c: mlx5_eqn2comp_eq()
export function mlx5_eqn2comp_eq(dev: mlx5_core_dev, eqn: number): mlx5_eq_comp | number {
  for (const eq of dev.priv.eq_table!.comp_eqs.values()) if (eq.core.eqn === eqn) return eq;
  return -ENOENT;
}
