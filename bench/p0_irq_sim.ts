// SPDX-License-Identifier: GPL-2.0-only
// P0, the genirq core alone: interrupts per CPU-second through irq_sim, on a
// bare machine (arch "none": no APIC, no vectors, no devices).
//  - "irq_sim raise": a task on CPU0 raises the line with
//    irq_set_irqchip_state(PENDING); irq_sim's HARD irq_work runs
//    handle_simple_irq() in hardirq context. irq_sim_handle_irq() calls
//    handle_simple_irq() directly, as kernel/irq/irq_sim.c does, whatever
//    the descriptor's flow handler is.
//  - "edge": the same irq_sim chip with a no-op irq_ack (handle_edge_irq()
//    calls irq_ack unconditionally, and irq_sim's chip has none, so the
//    kernel would oops without it) and handle_edge_irq as the flow handler;
//    a HARD irq_work of the bench's own demultiplexes it with
//    generic_handle_irq(), the way a chained parent does.
// Tracing off and on, measured alternately in this one process.

import { createMachine, type Machine } from "../lib/machine.ts";
import { irq_domain_create_sim } from "../lib/irq/irq_sim.ts";
import { irq_create_mapping } from "../lib/irq/irqdomain.ts";
import { irq_set_irqchip_state, request_irq } from "../lib/irq/manage.ts";
import { irq_set_chip_and_handler } from "../lib/irq/chip.ts";
import { irq_get_chip, irq_to_desc, generic_handle_irq_desc_y } from "../lib/irq/irqdesc.ts";
import { IRQ_WORK_INIT_HARD, irq_work_queue } from "../lib/kernel/irq_work.ts";
import { handle_edge_irq } from "../lib/irq/flow.ts";
import { IRQ_HANDLED } from "../lib/irq/interrupt.ts";
import { IRQCHIP_STATE_PENDING } from "../lib/irq/irq.ts";
import { forgetMachines, cpuNow, report, row, type Row } from "./util.ts";

interface SimRig {
  m: Machine;
  virq: number;
  handled: () => number;
  /** Raise once, from task context. */
  fire: () => Promise<unknown>;
}

async function simRig(trace: boolean, edge: boolean): Promise<SimRig> {
  const m = await createMachine({ cpus: 2, seed: 1, trace, arch: "none" });
  let handled = 0;
  const virq = await m.run(async () => {
    const d = await irq_domain_create_sim(null, 1);
    if (typeof d === "number") throw new Error(`irq_domain_create_sim: ${d}`);
    const v = await irq_create_mapping(d, 0);
    if (edge) irq_set_chip_and_handler(v, { ...irq_get_chip(v)!, name: "irq_sim-edge", irq_ack: () => {} }, handle_edge_irq);
    const ret = await request_irq(
      v,
      () => {
        handled++;
        return IRQ_HANDLED;
      },
      0,
      "p0-edge",
      m,
    );
    if (ret) throw new Error(`request_irq: ${ret}`);
    return v;
  });
  if (!edge) return { m, virq, handled: () => handled, fire: () => irq_set_irqchip_state(virq, IRQCHIP_STATE_PENDING, true) };
  const desc = irq_to_desc(virq)!;
  const demux = IRQ_WORK_INIT_HARD(() => generic_handle_irq_desc_y(desc));
  return {
    m,
    virq,
    handled: () => handled,
    fire: () => {
      irq_work_queue(demux);
      return Promise.resolve();
    },
  };
}

/** Raise `n` edges one after the other; returns handled interrupts per CPU-second. */
async function raise(r: SimRig, n: number): Promise<number> {
  const before = r.handled();
  const t0 = cpuNow();
  await r.m.run(async () => {
    for (let k = 0; k < n; k++) await r.fire();
  });
  const dt = (cpuNow() - t0) / 1e9;
  const got = r.handled() - before;
  if (got !== n) throw new Error(`P0: ${n} raises but ${got} handled`);
  return got / dt;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

export async function p0(opts: { n?: number; rounds?: number } = {}): Promise<Row[]> {
  const n = opts.n ?? 200_000;
  const rounds = opts.rounds ?? 3;
  const rigs = [await simRig(false, false), await simRig(true, false), await simRig(false, true), await simRig(true, true)];
  const nOf = (i: number): number => (i % 2 ? Math.max(1000, n >> 3) : n);
  for (const [i, r] of rigs.entries()) await raise(r, nOf(i) >> 4);
  const rates: number[][] = rigs.map(() => []);
  for (let k = 0; k < rounds; k++) for (const [i, r] of rigs.entries()) rates[i]!.push(await raise(r, nOf(i)));
  forgetMachines();
  const [simOff, simOn, edgeOff, edgeOn] = rates.map(median) as [number, number, number, number];
  const note = `median of ${rounds} rounds, bare machine, 1 CPU raising`;
  return [
    row("P0", "irq_sim raise → handle_simple_irq, tracing off", simOff, "irq/s", undefined, note),
    row("P0", "irq_sim raise → handle_simple_irq, tracing on", simOn, "irq/s", undefined, "the recorder keeps every event"),
    row("P0", "irq_sim chip → handle_edge_irq, tracing off", edgeOff, "irq/s", undefined, "generic_handle_irq() from a HARD irq_work"),
    row("P0", "irq_sim chip → handle_edge_irq, tracing on", edgeOn, "irq/s"),
    row("P0", "edge: tracing on / off", edgeOn / edgeOff, "ratio"),
  ];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [n, rounds] = process.argv.slice(2).map(Number);
  report(await p0({ n: n || undefined, rounds: rounds || undefined }));
}
