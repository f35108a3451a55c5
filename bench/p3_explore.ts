// SPDX-License-Identifier: GPL-2.0-only
// P3, exploration speed: seeded schedules per second of a 2-CPU, 1-IRQ race.
// Each schedule boots a bare machine (arch "none", the default lockdep and
// debug checks on, tracing off) with the random strategy seeded by the
// schedule number, and races request_irq()/free_irq() of an irq_sim
// interrupt on CPU0 against a kthread on CPU1 that raises it
// (irq_set_irqchip_state(PENDING)) and yields between raises. Where the
// raises fall relative to the request decides how many reach the handler
// (irq_sim drops a raise while the line is masked); the table reports how
// many distinct outcomes the seeds found, so a run that explores nothing
// shows.

import { createMachine } from "../lib/machine.ts";
import { irq_domain_create_sim } from "../lib/irq/irq_sim.ts";
import { irq_create_mapping } from "../lib/irq/irqdomain.ts";
import { free_irq, irq_set_irqchip_state, request_irq } from "../lib/irq/manage.ts";
import { IRQ_HANDLED } from "../lib/irq/interrupt.ts";
import { IRQCHIP_STATE_PENDING } from "../lib/irq/irq.ts";
import { kthread_create_on_cpu } from "../lib/kernel/kthread.ts";
import { sched_yield, wake_up_process } from "../lib/kernel/sched.ts";
import { forgetMachines, cpuNow, report, row, type Row } from "./util.ts";

const RAISES = 3;

/** One schedule: returns the number of raises the handler saw. */
export async function schedule(seed: number): Promise<number> {
  const m = await createMachine({ cpus: 2, seed, strategy: "random", trace: false, arch: "none" });
  let handled = 0;
  await m.run(async () => {
    const d = await irq_domain_create_sim(null, 1);
    if (typeof d === "number") throw new Error(`irq_domain_create_sim: ${d}`);
    const virq = await irq_create_mapping(d, 0);
    const raiser = kthread_create_on_cpu(
      async () => {
        for (let k = 0; k < RAISES; k++) {
          await irq_set_irqchip_state(virq, IRQCHIP_STATE_PENDING, true);
          await sched_yield();
        }
        return 0;
      },
      null,
      1,
      "raiser",
    );
    wake_up_process(raiser);
    const ret = await request_irq(
      virq,
      () => {
        handled++;
        return IRQ_HANDLED;
      },
      0,
      "race",
      m,
    );
    if (ret) throw new Error(`request_irq: ${ret}`);
    await sched_yield();
    await free_irq(virq, m);
  });
  forgetMachines();
  return handled;
}

export async function p3(opts: { schedules?: number } = {}): Promise<Row[]> {
  const n = opts.schedules ?? 3000;
  for (let s = 0; s < 50; s++) await schedule(1_000_000 + s);
  const outcomes = new Map<number, number>();
  const t0 = cpuNow();
  for (let s = 1; s <= n; s++) {
    const h = await schedule(s);
    outcomes.set(h, (outcomes.get(h) ?? 0) + 1);
  }
  const dt = (cpuNow() - t0) / 1e9;
  const dist = [...outcomes].sort((a, b) => a[0] - b[0]).map(([h, c]) => `${h} handled: ${c}`).join(", ");
  return [
    row("P3", "race schedules, 2 CPUs 1 irq", n / dt, "sched/s", { min: 2000 }, `${n} seeds, boot + race + teardown each`),
    row("P3", "distinct outcomes", outcomes.size, "", { min: 2 }, dist),
  ];
}

if (import.meta.url === `file://${process.argv[1]}`) report(await p3({ schedules: Number(process.argv[2] ?? 3000) }));
