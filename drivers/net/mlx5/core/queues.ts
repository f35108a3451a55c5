// SPDX-License-Identifier: GPL-2.0-only
// irqlab: a small consumer of mlx5_core's completion EQs, in the place of
// mlx5e and mlx5_ib (which irqlab does not render). Attached like an
// auxiliary driver: on attach it takes completion vector i % max for queue i
// (mlx5_comp_eqn_get(), which creates the EQ and its IRQ on first use) and
// creates a CQ on that EQ, as mlx5e_open_cq() would; on detach it destroys
// the CQs (the EQs go with mlx5_unload()). The device's traffic reports
// completions for CQ numbers 0..n-1, and the device numbers CQs in creation
// order, so queue i owns CQ i after every (re)load. Counts survive a
// recovery: they are the queue's, not the CQ's.

import { smp_processor_id } from "../../../../lib/kernel/context.ts";
import { EINVAL } from "../../../../lib/kernel/errno.ts";
import { mlx5_core_cq, mlx5_core_create_cq, mlx5_core_destroy_cq, mlx5_cq_arm, mlx5_irqlab_cq_in, MLX5_CQ_DB_REQ_NOT } from "./cq.ts";
import { mlx5_core_err, type mlx5_core_dev, type mlx5_irqlab_interface } from "./driver.ts";
import { mlx5_comp_eqn_get, mlx5_comp_vectors_max } from "./eq_comp.ts";
import { mlx5_irqlab_register_interface } from "./main.ts";
import { create_cq_out } from "./mlx5_ifc.ts";

/** One queue: its CQ on a completion EQ and what its interrupt handler saw. */
export interface mlx5_irqlab_queue {
  index: number;
  vecidx: number;
  eqn: number;
  irqn: number;
  cq: mlx5_core_cq | null;
  /** Completion EQEs handled for this queue, in total and per CPU. */
  completions: number;
  per_cpu: number[];
}

export class mlx5_irqlab_queues implements mlx5_irqlab_interface {
  readonly name = "mlx5_irqlab_queues";
  readonly queues: mlx5_irqlab_queue[];
  attaches = 0;

  constructor(n: number) {
    this.queues = Array.from({ length: n }, (_, index) => ({ index, vecidx: -1, eqn: -1, irqn: 0, cq: null, completions: 0, per_cpu: [] }));
  }

  get total(): number {
    return this.queues.reduce((s, q) => s + q.completions, 0);
  }

  // mlx5e_open_cq()-like: a CQ per queue on completion vector index % max
  async attach(dev: mlx5_core_dev): Promise<number> {
    const max = mlx5_comp_vectors_max(dev);
    if (max <= 0) return -EINVAL;
    for (const q of this.queues) {
      q.vecidx = q.index % max;
      const r = await mlx5_comp_eqn_get(dev, q.vecidx);
      if (r.err) {
        mlx5_core_err(dev, ["mlx5_irqlab_queues_attach", 0], "queue %d: no completion EQ, err %d\n", q.index, r.err);
        return r.err;
      }
      q.eqn = r.eqn;
      const inb = mlx5_irqlab_cq_in(dev, r.eqn, 10);
      if (typeof inb === "number") return inb;
      const cq = new mlx5_core_cq();
      cq.comp = (): void => {
        const cpu = smp_processor_id();
        q.per_cpu[cpu] = (q.per_cpu[cpu] ?? 0) + 1;
        q.completions++;
      };
      const out = new Uint8Array(create_cq_out.bytes);
      const err = await mlx5_core_create_cq(dev, cq, inb, inb.length, out, out.length);
      if (err) {
        mlx5_core_err(dev, ["mlx5_irqlab_queues_attach", 0], "queue %d: CREATE_CQ failed, err %d\n", q.index, err);
        return err;
      }
      q.cq = cq;
      q.irqn = cq.irqn;
      // mlx5e arms a CQ once it polls it; irqlab's device reports nothing before
      mlx5_cq_arm(cq, MLX5_CQ_DB_REQ_NOT, dev.priv.uar!.map, cq.cons_index);
    }
    this.attaches++;
    return 0;
  }

  async detach(dev: mlx5_core_dev, _suspend: boolean): Promise<void> {
    for (const q of [...this.queues].reverse()) {
      if (!q.cq) continue;
      await mlx5_core_destroy_cq(dev, q.cq);
      q.cq = null;
    }
  }
}

/** Attach `n` queues to a probed device. */
export async function mlx5_irqlab_queues_attach(dev: mlx5_core_dev, n: number): Promise<mlx5_irqlab_queues | number> {
  const qs = new mlx5_irqlab_queues(n);
  const err = await mlx5_irqlab_register_interface(dev, qs);
  return err || qs;
}
