// SPDX-License-Identifier: GPL-2.0-only
// genirq-A.md A8, A9, A12: handle_simple_irq, handle_untracked_irq and
// handle_edge_irq of kernel/irq/chip.c (the edge replay loop and a
// disabled edge line), on a simulated CPU.
import { expect } from "chai";
import { handle_edge_irq, handle_simple_irq, handle_untracked_irq } from "../../../lib/irq/flow.ts";
import { disable_irq, enable_irq, request_irq } from "../../../lib/irq/manage.ts";
import { IRQ_HANDLED } from "../../../lib/irq/interrupt.ts";
import { IRQS_PENDING, IRQS_REPLAY } from "../../../lib/irq/internals.ts";
import {
  irqd_irq_inprogress,
  irqd_irq_masked,
  irqd_set,
  irqd_set_resend_when_in_progress,
} from "../../../lib/irq/irq.ts";
import { K } from "../../../lib/kernel/kernel.ts";
import { msleep } from "../../../lib/kernel/delay.ts";
import { irqlab_handler_busy } from "../../../lib/kernel/frame.ts";
import { fire, irq_line, rec_chip, run, setup_irq } from "./fixture.ts";
import { cpu } from "./flow_fixture.ts";

describe("genirq-A flow handlers (kernel/irq/chip.c, handle.c)", () => {
  describe("A8/A9 handle_simple_irq and handle_untracked_irq", () => {
    it("A8 handle_simple_irq calls no chip callback at all", async () => {
      const log: string[] = [];
      await run(async () => {
        const { irq, desc } = setup_irq(rec_chip(log, { cbs: ["irq_mask", "irq_unmask", "irq_ack", "irq_eoi"] }), handle_simple_irq);
        expect(await request_irq(irq, () => (log.push("handler"), IRQ_HANDLED), 0, "a8", null)).to.equal(0);
        log.length = 0;
        await fire(irq_line(desc), 1);
        await disable_irq(irq);
        await fire(irq_line(desc), 1);
        expect(log).to.deep.equal(["handler"]);
        expect(desc.tot_count).to.equal(1);
      });
    });

    it("A8 with IRQD_RESEND_WHEN_IN_PROGRESS an event during an in-progress handler sets IRQS_PENDING (and nothing resends it)", async () => {
      await run(async () => {
        const { irq, desc } = setup_irq(rec_chip([]), handle_simple_irq);
        let ran = 0;
        expect(
          await request_irq(irq, () => {
            ran++;
            irqlab_handler_busy(10_000);
            return IRQ_HANDLED;
          }, 0, "a8r", null),
        ).to.equal(0);
        irqd_set_resend_when_in_progress(desc.irq_data);
        const line = irq_line(desc);
        line.raise(0);
        K.sim.at(K.sim.now + 1000, () => line.raise(1));
        await msleep(2);
        expect(ran).to.equal(1);
        expect(desc.istate & IRQS_PENDING).to.equal(IRQS_PENDING);
      });
    });

    it("A9 handle_untracked_irq runs the actions with IRQD_IRQ_INPROGRESS set and clears IRQS_PENDING", async () => {
      await run(async () => {
        const { irq, desc } = setup_irq(rec_chip([]), handle_untracked_irq);
        const seen: boolean[] = [];
        expect(await request_irq(irq, () => (seen.push(irqd_irq_inprogress(desc.irq_data)), IRQ_HANDLED), 0, "a9", null)).to.equal(0);
        desc.istate |= IRQS_PENDING;
        await fire(irq_line(desc), 0);
        expect(seen).to.deep.equal([true]);
        expect(irqd_irq_inprogress(desc.irq_data)).to.equal(false);
        expect(desc.istate & IRQS_PENDING).to.equal(0);
      });
    });
  });

  describe("A12 handle_edge_irq", () => {
    it("A12 normal edge: ack once, then the actions", async () => {
      const log: string[] = [];
      await run(async () => {
        const { irq, desc } = setup_irq(rec_chip(log), handle_edge_irq);
        expect(await request_irq(irq, () => (log.push("handler"), IRQ_HANDLED), 0, "a12", null)).to.equal(0);
        log.length = 0;
        await fire(irq_line(desc), 0);
        expect(log).to.deep.equal(["irq_ack", "handler"]);
      });
    });

    it("A12 handle_edge_irq replays an edge that arrived while in progress on another CPU, counting it once", async () => {
      const log: string[] = [];
      await run(async () => {
        const { irq, desc } = setup_irq(rec_chip(log), handle_edge_irq);
        expect(
          await request_irq(irq, () => {
            log.push(`handler cpu${cpu()}`);
            irqlab_handler_busy(10_000);
            return IRQ_HANDLED;
          }, 0, "a12r", null),
        ).to.equal(0);
        const line = irq_line(desc);
        log.length = 0;
        line.raise(0);
        K.sim.at(K.sim.now + 1000, () => line.raise(1));
        await msleep(2);
        // CPU1 marks it pending and mask_acks; CPU0's loop unmasks and runs the actions again
        expect(log).to.deep.equal(["irq_ack", "handler cpu0", "irq_mask", "irq_ack", "irq_unmask", "handler cpu0"]);
        expect([...desc.kstat_irqs]).to.deep.equal([1, 0]);
        expect(desc.tot_count).to.equal(1);
        expect(desc.istate & IRQS_PENDING).to.equal(0);
        expect(irqd_irq_masked(desc.irq_data)).to.equal(false);
      });
    });

    it("A12 a disabled edge line: IRQS_PENDING and mask_ack; enable_irq replays it (A36)", async () => {
      const log: string[] = [];
      await run(async () => {
        const { irq, desc } = setup_irq(rec_chip(log), handle_edge_irq);
        expect(await request_irq(irq, () => (log.push("handler"), IRQ_HANDLED), 0, "a12d", null)).to.equal(0);
        await disable_irq(irq);
        log.length = 0;
        await fire(irq_line(desc), 1);
        expect(log).to.deep.equal(["irq_mask", "irq_ack"]);
        expect(desc.istate & IRQS_PENDING).to.equal(IRQS_PENDING);
        log.length = 0;
        await enable_irq(irq);
        await msleep(1);
        // irq_enable -> unmask; check_irq_resend -> no retrigger -> software resend tasklet runs the flow
        expect(log).to.deep.equal(["irq_unmask", "irq_ack", "handler"]);
        expect(desc.istate & (IRQS_PENDING | IRQS_REPLAY)).to.equal(0);
      });
    });

    it("A12 the replay loop stops when the line is disabled meanwhile and masks when the action is gone", async () => {
      const log: string[] = [];
      await run(async () => {
        const { irq, desc } = setup_irq(rec_chip(log), handle_edge_irq);
        let runs = 0;
        expect(
          await request_irq(irq, () => {
            runs++;
            irqlab_handler_busy(10_000);
            return IRQ_HANDLED;
          }, 0, "a12s", null),
        ).to.equal(0);
        const line = irq_line(desc);
        line.raise(0);
        K.sim.at(K.sim.now + 1000, () => line.raise(1));
        K.sim.at(K.sim.now + 2000, () => {
          // disable_irq_nosync from another context while both are in flight
          irqd_set(desc.irq_data, 1 << 16);
          desc.depth = 1;
        });
        await msleep(2);
        expect(runs).to.equal(1);
        expect(desc.istate & IRQS_PENDING).to.equal(IRQS_PENDING);
        expect(irqd_irq_masked(desc.irq_data)).to.equal(true);
      });
    });
  });
});
