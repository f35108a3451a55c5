// SPDX-License-Identifier: GPL-2.0-only
// genirq-A.md A36-A39: kernel/irq/resend.c.
import { expect } from "chai";
import { check_irq_resend, irq_inject_interrupt } from "../../../lib/irq/resend.ts";
import { irq_data_set_chip, irq_modify_status, irq_shutdown } from "../../../lib/irq/chip.ts";
import { handle_edge_irq, handle_simple_irq } from "../../../lib/irq/flow.ts";
import { disable_irq, enable_irq, irq_set_parent, request_irq, request_threaded_irq, free_irq } from "../../../lib/irq/manage.ts";
import { irq_data, irqd_set_handle_enforce_irqctx, IRQ_LEVEL, IRQ_NESTED_THREAD, IRQCHIP_STATE_PENDING } from "../../../lib/irq/irq.ts";
import { IRQ_HANDLED, IRQF_ONESHOT } from "../../../lib/irq/interrupt.ts";
import { IRQS_PENDING, IRQS_REPLAY } from "../../../lib/irq/internals.ts";
import { EBUSY, EINVAL } from "../../../lib/kernel/errno.ts";
import { in_serving_softirq, in_hardirq } from "../../../lib/kernel/context.ts";
import { msleep } from "../../../lib/kernel/delay.ts";
import { raw_spin_lock_irqsave, raw_spin_unlock_irqrestore } from "../../../lib/kernel/spinlock.ts";
import type { irq_desc } from "../../../lib/irq/irqdesc.ts";
import { fire, irq_line, rec_chip, run, setup_irq } from "./fixture.ts";

function locked<T>(desc: irq_desc, fn: () => T): T {
  const f = raw_spin_lock_irqsave(desc.lock);
  try {
    return fn();
  } finally {
    raw_spin_unlock_irqrestore(desc.lock, f);
  }
}

describe("genirq-A resend (kernel/irq/resend.c)", () => {
  it("A36 a level irq is never resent: IRQS_PENDING is cleared and -EINVAL returned", async () => {
    const log: string[] = [];
    await run(() => {
      const { irq, desc } = setup_irq(rec_chip(log, { cbs: ["irq_retrigger"], impl: { irq_retrigger: () => 1 } }), handle_edge_irq);
      irq_modify_status(irq, 0, IRQ_LEVEL);
      desc.istate |= IRQS_PENDING;
      expect(locked(desc, () => check_irq_resend(desc, false))).to.equal(-EINVAL);
      expect(desc.istate & IRQS_PENDING).to.equal(0);
      expect(locked(desc, () => check_irq_resend(desc, true))).to.equal(-EINVAL);
      expect(log).to.deep.equal([]);
    });
  });

  it("A36 IRQS_REPLAY blocks a second resend with -EBUSY and leaves IRQS_PENDING alone", async () => {
    const log: string[] = [];
    await run(() => {
      const { desc } = setup_irq(rec_chip(log, { cbs: ["irq_retrigger"], impl: { irq_retrigger: () => 1 } }), handle_edge_irq);
      desc.istate |= IRQS_PENDING;
      expect(locked(desc, () => check_irq_resend(desc, false))).to.equal(0);
      expect(desc.istate & (IRQS_PENDING | IRQS_REPLAY)).to.equal(IRQS_REPLAY);
      desc.istate |= IRQS_PENDING;
      expect(locked(desc, () => check_irq_resend(desc, false))).to.equal(-EBUSY);
      expect(desc.istate & IRQS_PENDING).to.equal(IRQS_PENDING);
      expect(log).to.deep.equal(["irq_retrigger"]);
    });
  });

  it("A36 nothing pending and no injection: 0, no retrigger", async () => {
    const log: string[] = [];
    await run(() => {
      const { desc } = setup_irq(rec_chip(log, { cbs: ["irq_retrigger"], impl: { irq_retrigger: () => 1 } }), handle_edge_irq);
      expect(locked(desc, () => check_irq_resend(desc, false))).to.equal(0);
      expect(desc.istate & IRQS_REPLAY).to.equal(0);
      expect(log).to.deep.equal([]);
    });
  });

  it("A36/A38 a retrigger result of 0 falls back to the resend tasklet, which runs the flow handler in softirq context", async () => {
    const log: string[] = [];
    await run(async () => {
      const { irq, desc } = setup_irq(rec_chip(log, { cbs: ["irq_mask", "irq_unmask", "irq_ack", "irq_retrigger"] }), handle_edge_irq);
      expect(
        await request_irq(irq, () => {
          log.push(`handler softirq=${in_serving_softirq()} hardirq=${in_hardirq()}`);
          return IRQ_HANDLED;
        }, 0, "a38", null),
      ).to.equal(0);
      await disable_irq(irq);
      await fire(irq_line(desc), 0);
      log.length = 0;
      await enable_irq(irq);
      expect(desc.istate & (IRQS_PENDING | IRQS_REPLAY)).to.equal(IRQS_REPLAY);
      await msleep(1);
      expect(log).to.deep.equal(["irq_unmask", "irq_retrigger", "irq_ack", "handler softirq=true hardirq=false"]);
      expect(desc.istate & IRQS_REPLAY).to.equal(0);
    });
  });

  it("A37 try_retrigger asks the parent levels when the chip has no irq_retrigger", async () => {
    const log: string[] = [];
    await run(() => {
      const { desc } = setup_irq(rec_chip(log, { cbs: [] }), handle_edge_irq);
      const p = new irq_data(desc.irq, desc.irq_common_data, desc.irq_data.chip);
      irq_data_set_chip(p, rec_chip(log, { name: "parent", cbs: ["irq_retrigger"], impl: { irq_retrigger: () => 1 } }));
      desc.irq_data.parent_data = p;
      desc.istate |= IRQS_PENDING;
      expect(locked(desc, () => check_irq_resend(desc, false))).to.equal(0);
      expect(log).to.deep.equal(["irq_retrigger"]);
      expect(desc.istate & IRQS_REPLAY).to.equal(IRQS_REPLAY);
    });
  });

  it("A38 IRQD_HANDLE_ENFORCE_IRQCTX forbids software resend (-EINVAL, REPLAY not set)", async () => {
    await run(() => {
      const { desc } = setup_irq(rec_chip([]), handle_edge_irq);
      irqd_set_handle_enforce_irqctx(desc.irq_data);
      desc.istate |= IRQS_PENDING;
      expect(locked(desc, () => check_irq_resend(desc, false))).to.equal(-EINVAL);
      expect(desc.istate & (IRQS_PENDING | IRQS_REPLAY)).to.equal(0);
    });
  });

  it("A38 a nested-thread irq without parent_irq is not resent; with one, the parent's flow handler runs", async () => {
    const log: string[] = [];
    await run(async () => {
      const child = setup_irq(rec_chip([]), handle_simple_irq);
      irq_modify_status(child.irq, 0, IRQ_NESTED_THREAD);
      child.desc.istate |= IRQS_PENDING;
      expect(locked(child.desc, () => check_irq_resend(child.desc, false))).to.equal(-EINVAL);
      const parent = setup_irq(rec_chip([]), handle_simple_irq);
      expect(await request_threaded_irq(parent.irq, null, () => (log.push("parent thread"), IRQ_HANDLED), IRQF_ONESHOT, "parent", null)).to.equal(0);
      expect(irq_set_parent(child.irq, parent.irq)).to.equal(0);
      child.desc.istate |= IRQS_PENDING;
      expect(locked(child.desc, () => check_irq_resend(child.desc, false))).to.equal(0);
      await msleep(1);
      expect(log).to.deep.equal(["parent thread"]);
      expect(parent.desc.tot_count).to.equal(1);
    });
  });

  it("A38 a descriptor is queued at most once and irq_shutdown drops it from the resend list", async () => {
    const log: string[] = [];
    await run(async () => {
      const { irq, desc } = setup_irq(rec_chip([]), handle_simple_irq);
      expect(await request_irq(irq, () => (log.push("handler"), IRQ_HANDLED), 0, "a38q", null)).to.equal(0);
      desc.istate |= IRQS_PENDING;
      expect(locked(desc, () => check_irq_resend(desc, false))).to.equal(0);
      desc.istate = (desc.istate & ~IRQS_REPLAY) | IRQS_PENDING;
      expect(locked(desc, () => check_irq_resend(desc, false))).to.equal(0);
      await msleep(1);
      expect(log).to.deep.equal(["handler"]);
      log.length = 0;
      desc.istate |= IRQS_PENDING;
      locked(desc, () => {
        expect(check_irq_resend(desc, false)).to.equal(0);
        irq_shutdown(desc);
      });
      await msleep(1);
      expect(log).to.deep.equal([]);
      await free_irq(irq, null);
    });
  });

  it("A39 irq_inject_interrupt prefers irq_set_irqchip_state(PENDING)", async () => {
    const log: string[] = [];
    await run(async () => {
      const { irq } = setup_irq(rec_chip(log, { cbs: ["irq_set_irqchip_state", "irq_retrigger"] }), handle_edge_irq);
      expect(await irq_inject_interrupt(irq)).to.equal(0);
      expect(log).to.deep.equal([`irq_set_irqchip_state(${IRQCHIP_STATE_PENDING})`]);
    });
  });

  it("A39 otherwise it resends with inject=true on an activated line; -EINVAL for unknown, not activated or level, -EBUSY while replaying", async () => {
    const log: string[] = [];
    await run(async () => {
      expect(await irq_inject_interrupt(0x7ffff0)).to.equal(-EINVAL);
      const { irq, desc } = setup_irq(rec_chip(log, { cbs: [] }), handle_simple_irq);
      expect(await irq_inject_interrupt(irq)).to.equal(-EINVAL);
      expect(await request_irq(irq, () => (log.push("handler"), IRQ_HANDLED), 0, "a39", null)).to.equal(0);
      expect(await irq_inject_interrupt(irq)).to.equal(0);
      expect(desc.istate & IRQS_REPLAY).to.equal(IRQS_REPLAY);
      expect(await irq_inject_interrupt(irq)).to.equal(-EBUSY);
      await msleep(1);
      expect(log).to.deep.equal(["handler"]);
      irq_modify_status(irq, 0, IRQ_LEVEL);
      expect(await irq_inject_interrupt(irq)).to.equal(-EINVAL);
    });
  });
});
