// SPDX-License-Identifier: GPL-2.0-only
// genirq-A.md A15: the per-CPU, nested and bad flow handlers of
// kernel/irq/chip.c and handle.c (handle_percpu_irq,
// handle_percpu_devid_irq, handle_nested_irq, handle_bad_irq).
import { expect } from "chai";
import {
  handle_level_irq,
  handle_nested_irq,
  handle_percpu_devid_irq,
  handle_percpu_irq,
  handle_simple_irq,
} from "../../../lib/irq/flow.ts";
import { irq_set_status_flags } from "../../../lib/irq/chip.ts";
import { disable_irq, request_irq, request_threaded_irq } from "../../../lib/irq/manage.ts";
import { irq_set_percpu_devid, request_percpu_irq, enable_percpu_irq, disable_percpu_irq } from "../../../lib/irq/manage_percpu.ts";
import { irq_alloc_descs, irq_to_desc } from "../../../lib/irq/irqdesc.ts";
import { IRQ_HANDLED, IRQ_NONE, IRQF_ONESHOT } from "../../../lib/irq/interrupt.ts";
import { IRQ_NESTED_THREAD } from "../../../lib/irq/irq.ts";
import { current } from "../../../lib/kernel/sched.ts";
import { fire, irq_line, logged, machine, rec_chip, run, setup_irq } from "./fixture.ts";
import { dmesgLines } from "../../harness.ts";

describe("genirq-A flow handlers (kernel/irq/chip.c, handle.c)", () => {
  describe("A15 per-CPU, nested and bad flow handlers", () => {
    it("A15 handle_percpu_irq: ack, actions (note_interrupt runs), eoi; no lock, no disabled check", async () => {
      const log: string[] = [];
      await run(async () => {
        const { irq, desc } = setup_irq(rec_chip(log, { cbs: ["irq_mask", "irq_unmask", "irq_ack", "irq_eoi"] }), handle_percpu_irq);
        expect(await request_irq(irq, () => (log.push("handler"), IRQ_NONE), 0, "a15", null)).to.equal(0);
        await disable_irq(irq);
        log.length = 0;
        await fire(irq_line(desc), 1);
        expect(log).to.deep.equal(["irq_ack", "handler", "irq_eoi"]);
        expect(desc.irqs_unhandled).to.equal(1);
      });
    });

    it("A15 handle_percpu_devid_irq passes the per-CPU dev_id; with no action it disables the CPU and says 'Spurious and unmasked percpu IRQ'", async () => {
      const log: string[] = [];
      const m = await machine();
      await m.run(async () => {
        const { irq, desc } = setup_irq(rec_chip(log, { cbs: ["irq_mask", "irq_unmask", "irq_eoi"] }), handle_percpu_devid_irq);
        expect(irq_set_percpu_devid(irq)).to.equal(0);
        const pcpu = { cookie: "pcpu" };
        const seen: unknown[] = [];
        expect(await request_percpu_irq(irq, (_i, dev) => (seen.push(dev), IRQ_HANDLED), "a15p", pcpu)).to.equal(0);
        expect(desc.depth).to.equal(1);
        m.enter(() => enable_percpu_irq(irq, 0), 1);
        const line = irq_line(desc);
        log.length = 0;
        await fire(line, 1);
        expect(seen).to.deep.equal([pcpu]);
        expect(log).to.deep.equal(["irq_eoi"]);
        expect(desc.kstat_irqs[1]).to.equal(1);
        expect(desc.tot_count).to.equal(0);
        // now without an action: the percpu-enabled CPU gets disabled
        desc.action = null;
        log.length = 0;
        await fire(line, 1);
        expect(log).to.deep.equal(["irq_mask", "irq_eoi"]);
        expect(desc.percpu_enabled!.test(1)).to.equal(false);
        await fire(line, 1);
        expect(logged(m, "Spurious")).to.deep.equal([`Spurious and unmasked percpu IRQ${irq} on CPU1`]);
        m.enter(() => disable_percpu_irq(irq), 1);
      });
    });

    it("A15 handle_nested_irq runs the child's thread_fn in the parent's thread and counts it", async () => {
      await run(async () => {
        const parent = setup_irq(rec_chip([]), handle_level_irq);
        const child = setup_irq(rec_chip([]), handle_simple_irq);
        irq_set_status_flags(child.irq, IRQ_NESTED_THREAD);
        const where: string[] = [];
        expect(await request_threaded_irq(child.irq, null, () => (where.push(current().comm), IRQ_HANDLED), IRQF_ONESHOT, "child", null)).to.equal(0);
        expect(child.desc.action!.thread).to.equal(null);
        expect(
          await request_threaded_irq(parent.irq, null, async () => {
            await handle_nested_irq(child.irq);
            return IRQ_HANDLED;
          }, IRQF_ONESHOT, "parent", null),
        ).to.equal(0);
        await fire(irq_line(parent.desc), 0);
        expect(where).to.deep.equal([`irq/${parent.irq}-parent`]);
        expect(child.desc.tot_count).to.equal(1);
        expect(child.desc.threads_active).to.equal(0);
      });
    });

    it("A15 handle_bad_irq prints the descriptor, counts and acks the bad irq", async () => {
      const m = await machine();
      await m.run(async () => {
        const irq = irq_alloc_descs(-1, 1, 1, -1);
        const desc = irq_to_desc(irq)!;
        await fire(irq_line(desc), 1);
        expect(desc.kstat_irqs[1]).to.equal(1);
        expect(desc.tot_count).to.equal(1);
      });
      const lines = dmesgLines(m);
      const i = lines.findIndex((l) => l.startsWith("irq "));
      expect(lines[i]).to.match(/^irq \d+, desc: [0-9a-f]+, depth: 1, count: 0, unhandled: 0$/);
      expect(lines.some((l) => /^unexpected IRQ trap at vector [0-9a-f]{2}$/.test(l))).to.equal(true);
    });
  });
});
