// SPDX-License-Identifier: GPL-2.0-only
// genirq-A.md A6, A7, A10, A11, A13, A14: the level and fasteoi flow
// handlers of kernel/irq/chip.c (handle_level_irq, handle_fasteoi_irq and
// the hierarchy variants handle_fasteoi_ack_irq/handle_fasteoi_mask_irq)
// with cond_unmask_irq/cond_eoi_irq, on a simulated CPU.
import { expect } from "chai";
import * as flow from "../../../lib/irq/flow.ts";
import {
  handle_fasteoi_ack_irq,
  handle_fasteoi_irq,
  handle_fasteoi_mask_irq,
  handle_level_irq,
} from "../../../lib/irq/flow.ts";
import { disable_irq, enable_irq, request_irq, request_threaded_irq } from "../../../lib/irq/manage.ts";
import { IRQ_HANDLED, IRQF_ONESHOT } from "../../../lib/irq/interrupt.ts";
import { IRQS_ONESHOT, IRQS_PENDING, IRQS_REPLAY } from "../../../lib/irq/internals.ts";
import {
  IRQCHIP_EOI_IF_HANDLED,
  IRQCHIP_EOI_THREADED,
  IRQD_IRQ_INPROGRESS,
  irqd_irq_masked,
  irqd_set,
  irqd_set_resend_when_in_progress,
  irqd_clear,
} from "../../../lib/irq/irq.ts";
import { K } from "../../../lib/kernel/kernel.ts";
import { msleep } from "../../../lib/kernel/delay.ts";
import { irqlab_handler_busy } from "../../../lib/kernel/frame.ts";
import { fire, irq_line, rec_chip, run, setup_irq } from "./fixture.ts";
import { cpu } from "./flow_fixture.ts";

describe("genirq-A flow handlers (kernel/irq/chip.c, handle.c)", () => {
  describe("A6/A10 handle_level_irq and cond_unmask_irq", () => {
    it("A10 handle_level_irq: mask, ack, actions, unmask", async () => {
      const log: string[] = [];
      await run(async () => {
        const { irq, desc } = setup_irq(rec_chip(log), handle_level_irq);
        expect(await request_irq(irq, () => (log.push(`handler masked=${irqd_irq_masked(desc.irq_data)}`), IRQ_HANDLED), 0, "a10", null)).to.equal(0);
        log.length = 0;
        await fire(irq_line(desc), 1);
        expect(log).to.deep.equal(["irq_mask", "irq_ack", "handler masked=true", "irq_unmask"]);
        expect(irqd_irq_masked(desc.irq_data)).to.equal(false);
      });
    });

    it("A10 a disabled level line stays masked with IRQS_PENDING and is not counted", async () => {
      const log: string[] = [];
      await run(async () => {
        const { irq, desc } = setup_irq(rec_chip(log), handle_level_irq);
        let ran = 0;
        expect(await request_irq(irq, () => (ran++, IRQ_HANDLED), 0, "a10d", null)).to.equal(0);
        await disable_irq(irq);
        log.length = 0;
        await fire(irq_line(desc), 1);
        expect(log).to.deep.equal(["irq_mask", "irq_ack"]);
        expect(ran).to.equal(0);
        expect(irqd_irq_masked(desc.irq_data)).to.equal(true);
        expect(desc.istate & IRQS_PENDING).to.equal(IRQS_PENDING);
        expect(desc.tot_count).to.equal(0);
        log.length = 0;
        // A36: a level irq is never resent; enable just unmasks and clears PENDING
        await enable_irq(irq);
        expect(log).to.deep.equal(["irq_unmask"]);
        expect(desc.istate & IRQS_PENDING).to.equal(0);
      });
    });

    it("A6 cond_unmask_irq leaves a ONESHOT level line masked until its thread has run", async () => {
      const log: string[] = [];
      await run(async () => {
        const { irq, desc } = setup_irq(rec_chip(log), handle_level_irq);
        expect(
          await request_threaded_irq(irq, null, () => {
            log.push(`thread masked=${irqd_irq_masked(desc.irq_data)} oneshot=${desc.threads_oneshot}`);
            return IRQ_HANDLED;
          }, IRQF_ONESHOT, "a6", null),
        ).to.equal(0);
        expect(desc.istate & IRQS_ONESHOT).to.equal(IRQS_ONESHOT);
        log.length = 0;
        await fire(irq_line(desc), 1);
        expect(log).to.deep.equal(["irq_mask", "irq_ack", "thread masked=true oneshot=1", "irq_unmask"]);
        expect(desc.threads_oneshot).to.equal(0n);
        expect(irqd_irq_masked(desc.irq_data)).to.equal(false);
      });
    });
  });

  describe("A7/A11 handle_fasteoi_irq", () => {
    it("A11 a non-ONESHOT fasteoi event: actions, then irq_eoi; never masks or unmasks", async () => {
      const log: string[] = [];
      await run(async () => {
        const { irq, desc } = setup_irq(rec_chip(log, { cbs: ["irq_mask", "irq_unmask", "irq_eoi"] }), handle_fasteoi_irq);
        expect(await request_irq(irq, () => (log.push("handler"), IRQ_HANDLED), 0, "a11", null)).to.equal(0);
        log.length = 0;
        await fire(irq_line(desc), 0);
        expect(log).to.deep.equal(["handler", "irq_eoi"]);
      });
    });

    it("A7 ONESHOT fasteoi: mask, actions, eoi; the thread unmasks", async () => {
      const log: string[] = [];
      await run(async () => {
        const { irq, desc } = setup_irq(rec_chip(log, { cbs: ["irq_mask", "irq_unmask", "irq_eoi"] }), handle_fasteoi_irq);
        expect(await request_threaded_irq(irq, null, () => (log.push("thread"), IRQ_HANDLED), IRQF_ONESHOT, "a7", null)).to.equal(0);
        log.length = 0;
        await fire(irq_line(desc), 0);
        expect(log).to.deep.equal(["irq_mask", "irq_eoi", "thread", "irq_unmask"]);
      });
    });

    it("A7 ONESHOT fasteoi on an IRQCHIP_EOI_THREADED chip defers the eoi to the thread (eoi, then unmask)", async () => {
      const log: string[] = [];
      await run(async () => {
        const chip = rec_chip(log, { cbs: ["irq_mask", "irq_unmask", "irq_eoi"], flags: IRQCHIP_EOI_THREADED });
        const { irq, desc } = setup_irq(chip, handle_fasteoi_irq);
        expect(await request_threaded_irq(irq, null, () => (log.push("thread"), IRQ_HANDLED), IRQF_ONESHOT, "a7t", null)).to.equal(0);
        log.length = 0;
        await fire(irq_line(desc), 0);
        expect(log).to.deep.equal(["irq_mask", "thread", "irq_eoi", "irq_unmask"]);
      });
    });

    it("A7 ONESHOT fasteoi whose primary handled it: eoi and unmask at once (no thread woken)", async () => {
      const log: string[] = [];
      await run(async () => {
        const { irq, desc } = setup_irq(rec_chip(log, { cbs: ["irq_mask", "irq_unmask", "irq_eoi"] }), handle_fasteoi_irq);
        expect(
          await request_threaded_irq(irq, () => (log.push("primary"), IRQ_HANDLED), () => (log.push("thread"), IRQ_HANDLED), IRQF_ONESHOT, "a7p", null),
        ).to.equal(0);
        log.length = 0;
        await fire(irq_line(desc), 0);
        expect(log).to.deep.equal(["irq_mask", "primary", "irq_eoi", "irq_unmask"]);
      });
    });

    it("A11 a disabled fasteoi line is masked and eoi'd; A7 cond_eoi_irq skips the eoi with IRQCHIP_EOI_IF_HANDLED", async () => {
      const log: string[] = [];
      await run(async () => {
        const a = setup_irq(rec_chip(log, { cbs: ["irq_mask", "irq_unmask", "irq_eoi"] }), handle_fasteoi_irq);
        expect(await request_irq(a.irq, () => IRQ_HANDLED, 0, "a11d", null)).to.equal(0);
        await disable_irq(a.irq);
        log.length = 0;
        await fire(irq_line(a.desc), 0);
        expect(log).to.deep.equal(["irq_mask", "irq_eoi"]);
        expect(a.desc.istate & IRQS_PENDING).to.equal(IRQS_PENDING);
        const b = setup_irq(rec_chip(log, { cbs: ["irq_mask", "irq_unmask", "irq_eoi"], flags: IRQCHIP_EOI_IF_HANDLED }), handle_fasteoi_irq);
        expect(await request_irq(b.irq, () => IRQ_HANDLED, 0, "a11e", null)).to.equal(0);
        await disable_irq(b.irq);
        log.length = 0;
        await fire(irq_line(b.desc), 0);
        expect(log).to.deep.equal(["irq_mask"]);
      });
    });

    it("A11 with IRQD_RESEND_WHEN_IN_PROGRESS an event arriving while in progress elsewhere is eoi'd, then resent after the handler", async () => {
      const log: string[] = [];
      await run(async () => {
        const chip = rec_chip(log, { cbs: ["irq_mask", "irq_unmask", "irq_eoi", "irq_retrigger"], impl: { irq_retrigger: () => 1 } });
        const { irq, desc } = setup_irq(chip, handle_fasteoi_irq);
        expect(
          await request_irq(irq, () => {
            log.push(`handler cpu${cpu()}`);
            irqlab_handler_busy(10_000);
            return IRQ_HANDLED;
          }, 0, "a11r", null),
        ).to.equal(0);
        irqd_set_resend_when_in_progress(desc.irq_data);
        const line = irq_line(desc);
        log.length = 0;
        line.raise(0);
        K.sim.at(K.sim.now + 1000, () => line.raise(1));
        await msleep(2);
        // CPU1: pending + eoi; CPU0: handler, eoi, then check_irq_resend -> irq_retrigger
        expect(log).to.deep.equal(["handler cpu0", "irq_eoi", "irq_eoi", "irq_retrigger"]);
        expect(desc.istate & (IRQS_PENDING | IRQS_REPLAY)).to.equal(IRQS_REPLAY);
      });
    });

    it("A11 without IRQD_RESEND_WHEN_IN_PROGRESS the second event is only eoi'd and lost", async () => {
      const log: string[] = [];
      await run(async () => {
        const chip = rec_chip(log, { cbs: ["irq_mask", "irq_unmask", "irq_eoi", "irq_retrigger"] });
        const { irq, desc } = setup_irq(chip, handle_fasteoi_irq);
        expect(
          await request_irq(irq, () => {
            log.push(`handler cpu${cpu()}`);
            irqlab_handler_busy(10_000);
            return IRQ_HANDLED;
          }, 0, "a11l", null),
        ).to.equal(0);
        const line = irq_line(desc);
        log.length = 0;
        line.raise(0);
        K.sim.at(K.sim.now + 1000, () => line.raise(1));
        await msleep(2);
        expect(log).to.deep.equal(["handler cpu0", "irq_eoi", "irq_eoi"]);
        expect(desc.istate & (IRQS_PENDING | IRQS_REPLAY)).to.equal(0);
        expect(desc.tot_count).to.equal(1);
      });
    });
  });

  describe("A13/A14 legacy and hierarchy fasteoi variants", () => {
    it("A13 handle_edge_eoi_irq (removed in 6.14) is not exposed", () => {
      expect((flow as Record<string, unknown>)["handle_edge_eoi_irq"]).to.equal(undefined);
    });

    it("A14 handle_fasteoi_ack_irq: [mask if ONESHOT], ack, actions, eoi; a failed pm check only eoi's", async () => {
      const log: string[] = [];
      await run(async () => {
        const { irq, desc } = setup_irq(rec_chip(log, { cbs: ["irq_mask", "irq_unmask", "irq_ack", "irq_eoi"] }), handle_fasteoi_ack_irq);
        expect(await request_irq(irq, () => (log.push("handler"), IRQ_HANDLED), 0, "a14", null)).to.equal(0);
        log.length = 0;
        await fire(irq_line(desc), 0);
        expect(log).to.deep.equal(["irq_ack", "handler", "irq_eoi"]);
        log.length = 0;
        irqd_set(desc.irq_data, IRQD_IRQ_INPROGRESS);
        await fire(irq_line(desc), 1);
        irqd_clear(desc.irq_data, IRQD_IRQ_INPROGRESS);
        expect(log).to.deep.equal(["irq_eoi"]);
        expect(desc.istate & IRQS_PENDING).to.equal(0);
      });
    });

    it("A14 handle_fasteoi_mask_irq: mask_ack first, actions, eoi; a non-ONESHOT line stays IRQD_IRQ_MASKED", async () => {
      const log: string[] = [];
      await run(async () => {
        const { irq, desc } = setup_irq(rec_chip(log, { cbs: ["irq_mask", "irq_unmask", "irq_ack", "irq_eoi"] }), handle_fasteoi_mask_irq);
        expect(await request_irq(irq, () => (log.push("handler"), IRQ_HANDLED), 0, "a14m", null)).to.equal(0);
        log.length = 0;
        await fire(irq_line(desc), 0);
        expect(log).to.deep.equal(["irq_mask", "irq_ack", "handler", "irq_eoi"]);
        expect(irqd_irq_masked(desc.irq_data)).to.equal(true);
      });
    });
  });
});
