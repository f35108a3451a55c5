// SPDX-License-Identifier: GPL-2.0-only
// DESIGN.md section 2: the concurrent paths of genirq, each run under the FIFO
// strategy and under seeded random schedules. Handlers declare a duration
// (irqlab_handler_busy), so another CPU sees them in progress.
import { expect } from "chai";
import { disable_irq, enable_irq, free_irq, request_irq, request_threaded_irq, synchronize_irq } from "../../../lib/irq/manage.ts";
import { handle_edge_irq, handle_level_irq } from "../../../lib/irq/flow.ts";
import { irqd_irq_disabled, irqd_irq_inprogress, irqd_irq_masked } from "../../../lib/irq/irq.ts";
import { IRQ_HANDLED, IRQ_WAKE_THREAD, IRQF_ONESHOT } from "../../../lib/irq/interrupt.ts";
import { IRQS_PENDING, IRQS_REPLAY } from "../../../lib/irq/internals.ts";
import { K } from "../../../lib/kernel/kernel.ts";
import { msleep } from "../../../lib/kernel/delay.ts";
import { irqlab_handler_busy } from "../../../lib/kernel/frame.ts";
import type { MachineOptions } from "../../../lib/machine.ts";
import { irq_line, rec_chip, run, setup_irq } from "./fixture.ts";

const SCHEDULES: { name: string; opts: MachineOptions }[] = [
  { name: "fifo", opts: { strategy: "fifo" } },
  ...[1, 7, 42, 1234].map((seed) => ({ name: `random seed ${seed}`, opts: { strategy: "random", seed } as MachineOptions })),
];

const US = 1000;

describe("genirq concurrent paths (DESIGN.md section 2)", () => {
  for (const { name, opts } of SCHEDULES) {
    describe(name, () => {
      it("A12 an edge arriving on CPU1 while CPU0 runs the handler is replayed once by CPU0, never lost", async () => {
        for (const offsets of [[1 * US], [2 * US, 5 * US], [9 * US]]) {
          const runs: { cpu: number; t: number }[] = [];
          await run(async () => {
            const { irq, desc } = setup_irq(rec_chip([]), handle_edge_irq);
            expect(
              await request_irq(irq, () => {
                runs.push({ cpu: K.sim.cur.id, t: K.sim.now });
                irqlab_handler_busy(10 * US);
                return IRQ_HANDLED;
              }, 0, "edge", null),
            ).to.equal(0);
            const line = irq_line(desc);
            const t0 = K.sim.now + 100 * US;
            K.sim.at(t0, () => line.raise(0));
            for (const o of offsets) K.sim.at(t0 + o, () => line.raise(1));
            await msleep(2);
            expect(runs.map((r) => r.cpu), `offsets ${offsets.join(",")}`).to.deep.equal([0, 0]);
            expect(runs[1]!.t - runs[0]!.t).to.equal(10 * US);
            expect(desc.tot_count).to.equal(1);
            expect(desc.istate & IRQS_PENDING).to.equal(0);
            expect(irqd_irq_masked(desc.irq_data)).to.equal(false);
            expect(irqd_irq_inprogress(desc.irq_data)).to.equal(false);
          }, opts);
        }
      });

      it("B18 synchronize_irq returns only after the handler on another CPU and its thread finished", async () => {
        await run(async () => {
          const { irq, desc } = setup_irq(rec_chip([]), handle_edge_irq);
          let hard_end = 0;
          let thread_end = 0;
          expect(
            await request_threaded_irq(
              irq,
              () => {
                irqlab_handler_busy(20_000 * US);
                hard_end = K.sim.now + 20_000 * US;
                return IRQ_WAKE_THREAD;
              },
              async () => {
                await msleep(10);
                thread_end = K.sim.now;
                return IRQ_HANDLED;
              },
              0,
              "sync",
              null,
            ),
          ).to.equal(0);
          K.sim.at(K.sim.now + 10 * US, () => irq_line(desc).raise(1));
          await msleep(1);
          expect(irqd_irq_inprogress(desc.irq_data)).to.equal(true);
          await synchronize_irq(irq);
          expect(K.sim.now).to.be.at.least(hard_end);
          expect(thread_end).to.be.greaterThan(0);
          expect(K.sim.now).to.be.at.least(thread_end);
          expect(desc.threads_active).to.equal(0);
        }, opts);
      });

      it("B11 free_irq never returns while the handler or the thread of that action still runs", async () => {
        await run(async () => {
          const { irq, desc } = setup_irq(rec_chip([]), handle_level_irq);
          let hard_end = 0;
          let thread_state = "idle";
          expect(
            await request_threaded_irq(
              irq,
              () => {
                irqlab_handler_busy(20_000 * US);
                hard_end = K.sim.now + 20_000 * US;
                return IRQ_WAKE_THREAD;
              },
              async () => {
                thread_state = "running";
                await msleep(8);
                thread_state = "done";
                return IRQ_HANDLED;
              },
              IRQF_ONESHOT,
              "free",
              null,
            ),
          ).to.equal(0);
          const thread = desc.action!.thread!;
          K.sim.at(K.sim.now + 10 * US, () => irq_line(desc).raise(1));
          await msleep(1);
          expect(irqd_irq_inprogress(desc.irq_data)).to.equal(true);
          expect(await free_irq(irq, null)).to.equal("free");
          expect(K.sim.now).to.be.at.least(hard_end);
          expect(thread_state).to.equal("done");
          expect(thread.done).to.equal(true);
          expect(desc.action).to.equal(null);
          expect(desc.threads_active).to.equal(0);
        }, opts);
      });

      it("B15/B16 disable_irq racing arriving interrupts leaves depth and masking consistent; enable_irq replays a lost edge once", async () => {
        for (const at of [0, 5 * US, 20 * US, 60 * US]) {
          const log: string[] = [];
          await run(async () => {
            const { irq, desc } = setup_irq(rec_chip(log), handle_edge_irq);
            const runs: number[] = [];
            expect(
              await request_irq(irq, () => {
                runs.push(K.sim.now);
                irqlab_handler_busy(30 * US);
                return IRQ_HANDLED;
              }, 0, "race", null),
            ).to.equal(0);
            const line = irq_line(desc);
            const t0 = K.sim.now;
            K.sim.at(t0 + at, () => line.raise(1));
            K.sim.at(t0 + at + 40 * US, () => line.raise(1));
            await disable_irq(irq);
            const t_disabled = K.sim.now;
            await msleep(1);
            // after disable_irq() returned no handler ran or runs
            expect(runs.every((t) => t + 30 * US <= t_disabled), `at ${at}`).to.equal(true);
            expect(desc.depth).to.equal(1);
            expect(irqd_irq_disabled(desc.irq_data)).to.equal(true);
            const lost = (desc.istate & IRQS_PENDING) !== 0;
            // lazy disable: masked exactly when an event arrived while disabled
            expect(irqd_irq_masked(desc.irq_data), `at ${at}`).to.equal(lost);
            const before = runs.length;
            await enable_irq(irq);
            await msleep(1);
            expect(desc.depth).to.equal(0);
            expect(irqd_irq_masked(desc.irq_data)).to.equal(false);
            expect(runs.length - before, `at ${at}`).to.equal(lost ? 1 : 0);
            expect(desc.istate & (IRQS_PENDING | IRQS_REPLAY)).to.equal(0);
          }, opts);
        }
      });
    });
  }
});
