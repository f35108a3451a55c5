// SPDX-License-Identifier: GPL-2.0-only
// genirq-B.md B39-B42: suspend and resume of device interrupts (kernel/irq/pm.c).
import { expect } from "chai";
import { suspend_device_irqs, resume_device_irqs, irq_pm_syscore_resume, rearm_wake_irq, pm_wakeup_irqs } from "../../../lib/irq/pm.ts";
import { disable_irq, enable_irq, free_irq, irq_set_irq_wake, request_irq } from "../../../lib/irq/manage.ts";
import { irq_modify_status, irq_set_chained_handler } from "../../../lib/irq/chip.ts";
import { handle_edge_irq, handle_level_irq } from "../../../lib/irq/flow.ts";
import {
  irqd_irq_disabled,
  irqd_irq_masked,
  irqd_is_enabled_on_suspend,
  irqd_is_wakeup_armed,
  IRQ_NESTED_THREAD,
  IRQCHIP_ENABLE_WAKEUP_ON_SUSPEND,
  IRQCHIP_MASK_ON_SUSPEND,
  IRQCHIP_SKIP_SET_WAKE,
} from "../../../lib/irq/irq.ts";
import { IRQ_HANDLED, IRQF_COND_SUSPEND, IRQF_EARLY_RESUME, IRQF_FORCE_RESUME, IRQF_NO_SUSPEND, IRQF_SHARED } from "../../../lib/irq/interrupt.ts";
import { IRQS_PENDING, IRQS_SUSPENDED } from "../../../lib/irq/internals.ts";
import { K } from "../../../lib/kernel/kernel.ts";
import { msleep } from "../../../lib/kernel/delay.ts";
import { irqlab_handler_busy } from "../../../lib/kernel/frame.ts";
import { fire, irq_line, logged, machine, rec_chip, run, setup_irq } from "./fixture.ts";

const h = (): number => IRQ_HANDLED;

describe("genirq-B power management (kernel/irq/pm.c)", () => {
  it("B39 actions are counted per flavour and freed symmetrically", async () => {
    await run(async () => {
      const { irq, desc } = setup_irq(rec_chip([]));
      const a = {};
      const b = {};
      expect(await request_irq(irq, h, IRQF_SHARED | IRQF_NO_SUSPEND, "a", a)).to.equal(0);
      expect(await request_irq(irq, h, IRQF_SHARED | IRQF_COND_SUSPEND, "b", b)).to.equal(0);
      expect([desc.nr_actions, desc.no_suspend_depth, desc.cond_suspend_depth, desc.force_resume_depth]).to.deep.equal([2, 1, 1, 0]);
      await free_irq(irq, a);
      expect([desc.nr_actions, desc.no_suspend_depth, desc.cond_suspend_depth]).to.deep.equal([1, 0, 1]);
    });
  });

  it("B39 mixing IRQF_NO_SUSPEND with a plain action, or FORCE_RESUME with one without, WARNs (stack only) and the request succeeds", async () => {
    const m = await machine();
    m.expectSplat(/at irq_pm_install_action$/, 2);
    await m.run(async () => {
      const { irq, desc } = setup_irq(rec_chip([]));
      expect(await request_irq(irq, h, IRQF_SHARED | IRQF_NO_SUSPEND, "a", {})).to.equal(0);
      expect(await request_irq(irq, h, IRQF_SHARED, "b", {})).to.equal(0);
      const f = setup_irq(rec_chip([]));
      expect(await request_irq(f.irq, h, IRQF_SHARED | IRQF_FORCE_RESUME, "a", {})).to.equal(0);
      expect(await request_irq(f.irq, h, IRQF_SHARED, "b", {})).to.equal(0);
      expect(desc.nr_actions).to.equal(2);
    });
    expect(logged(m, /^WARNING: .* at irq_pm_install_action$/)).to.have.length(2);
  });

  it("B40/B42 a plain line is lazily disabled on suspend (IRQS_SUSPENDED, depth+1) and re-enabled on resume", async () => {
    const log: string[] = [];
    await run(async () => {
      const { irq, desc } = setup_irq(rec_chip(log), handle_edge_irq);
      expect(await request_irq(irq, h, 0, "plain", null)).to.equal(0);
      log.length = 0;
      await suspend_device_irqs();
      expect(desc.istate & IRQS_SUSPENDED).to.equal(IRQS_SUSPENDED);
      expect(desc.depth).to.equal(1);
      expect(irqd_irq_disabled(desc.irq_data)).to.equal(true);
      expect(log).to.deep.equal([]);
      resume_device_irqs();
      expect(desc.istate & IRQS_SUSPENDED).to.equal(0);
      expect(desc.depth).to.equal(0);
      expect(irqd_irq_disabled(desc.irq_data)).to.equal(false);
    });
  });

  it("B40 IRQCHIP_MASK_ON_SUSPEND also masks non-wake lines at the chip", async () => {
    const log: string[] = [];
    await run(async () => {
      const { irq, desc } = setup_irq(rec_chip(log, { flags: IRQCHIP_MASK_ON_SUSPEND }), handle_edge_irq);
      expect(await request_irq(irq, h, 0, "mos", null)).to.equal(0);
      log.length = 0;
      await suspend_device_irqs();
      expect(log).to.deep.equal(["irq_mask"]);
      expect(irqd_irq_masked(desc.irq_data)).to.equal(true);
      resume_device_irqs();
      expect(log).to.deep.equal(["irq_mask", "irq_unmask"]);
    });
  });

  it("B40 NO_SUSPEND, chained and nested-thread lines are left alone", async () => {
    const log: string[] = [];
    await run(async () => {
      const a = setup_irq(rec_chip(log), handle_edge_irq);
      expect(await request_irq(a.irq, h, IRQF_NO_SUSPEND, "nosusp", null)).to.equal(0);
      const c = setup_irq(rec_chip(log, { cbs: ["irq_startup", "irq_mask", "irq_unmask", "irq_ack"] }));
      irq_set_chained_handler(c.irq, handle_level_irq);
      const n = setup_irq(rec_chip(log), handle_edge_irq);
      irq_modify_status(n.irq, 0, IRQ_NESTED_THREAD);
      expect(await request_irq(n.irq, null as never, 0, "n", null)).to.equal(-22);
      log.length = 0;
      await suspend_device_irqs();
      expect(log).to.deep.equal([]);
      expect([a.desc.depth, c.desc.depth]).to.deep.equal([0, 0]);
      resume_device_irqs();
      expect([a.desc.depth, c.desc.depth]).to.deep.equal([0, 0]);
    });
  });

  it("B40 a wake line is armed, not disabled; with IRQCHIP_ENABLE_WAKEUP_ON_SUSPEND a disabled one is enabled for the suspend", async () => {
    const log: string[] = [];
    await run(async () => {
      const a = setup_irq(rec_chip(log, { flags: IRQCHIP_SKIP_SET_WAKE }), handle_edge_irq);
      expect(await request_irq(a.irq, h, 0, "wake", null)).to.equal(0);
      expect(await irq_set_irq_wake(a.irq, 1)).to.equal(0);
      const b = setup_irq(rec_chip(log, { flags: IRQCHIP_SKIP_SET_WAKE | IRQCHIP_ENABLE_WAKEUP_ON_SUSPEND }), handle_edge_irq);
      expect(await request_irq(b.irq, h, 0, "wake2", null)).to.equal(0);
      expect(await irq_set_irq_wake(b.irq, 1)).to.equal(0);
      await disable_irq(b.irq);
      await suspend_device_irqs();
      expect(irqd_is_wakeup_armed(a.desc.irq_data)).to.equal(true);
      expect(a.desc.depth).to.equal(0);
      expect(b.desc.depth).to.equal(0);
      expect(irqd_is_enabled_on_suspend(b.desc.irq_data)).to.equal(true);
      resume_device_irqs();
      expect(irqd_is_wakeup_armed(a.desc.irq_data)).to.equal(false);
      expect(b.desc.depth).to.equal(1);
      expect(irqd_is_enabled_on_suspend(b.desc.irq_data)).to.equal(false);
      expect(irqd_irq_disabled(b.desc.irq_data)).to.equal(true);
    });
  });

  it("B40 suspend_device_irqs waits for a handler running on another CPU", async () => {
    await run(async () => {
      const { irq, desc } = setup_irq(rec_chip([]), handle_edge_irq);
      let end = 0;
      expect(
        await request_irq(irq, () => {
          irqlab_handler_busy(20_000_000);
          end = K.sim.now + 20_000_000;
          return IRQ_HANDLED;
        }, 0, "busy", null),
      ).to.equal(0);
      irq_line(desc).raise(1);
      await msleep(1);
      expect(end).to.be.greaterThan(K.sim.now);
      await suspend_device_irqs();
      expect(K.sim.now).to.be.at.least(end);
      resume_device_irqs();
    });
  });

  it("B41/B42 a wakeup on an armed line disables it and records the wakeup; resume replays the pending interrupt", async () => {
    const log: string[] = [];
    await run(async () => {
      const { irq, desc } = setup_irq(rec_chip(log, { flags: IRQCHIP_SKIP_SET_WAKE }), handle_edge_irq);
      expect(await request_irq(irq, () => (log.push("handler"), IRQ_HANDLED), 0, "wake", null)).to.equal(0);
      expect(await irq_set_irq_wake(irq, 1)).to.equal(0);
      await suspend_device_irqs();
      log.length = 0;
      await fire(irq_line(desc), 1);
      expect(pm_wakeup_irqs()).to.deep.equal([irq]);
      expect(desc.istate & (IRQS_SUSPENDED | IRQS_PENDING)).to.equal(IRQS_SUSPENDED | IRQS_PENDING);
      expect(desc.depth).to.equal(1);
      expect(log).to.deep.equal(["irq_mask", "irq_ack"]);
      resume_device_irqs();
      await msleep(1);
      expect(desc.depth).to.equal(0);
      expect(log).to.deep.equal(["irq_mask", "irq_ack", "irq_unmask", "irq_ack", "handler"]);
    });
  });

  it("B41 rearm_wake_irq re-arms a suspended wake line; anything else is left alone", async () => {
    await run(async () => {
      const { irq, desc } = setup_irq(rec_chip([], { flags: IRQCHIP_SKIP_SET_WAKE }), handle_edge_irq);
      expect(await request_irq(irq, h, 0, "wake", null)).to.equal(0);
      await rearm_wake_irq(irq);
      expect(irqd_is_wakeup_armed(desc.irq_data)).to.equal(false);
      expect(await irq_set_irq_wake(irq, 1)).to.equal(0);
      await suspend_device_irqs();
      await fire(irq_line(desc), 0);
      expect(desc.depth).to.equal(1);
      await rearm_wake_irq(irq);
      expect(irqd_is_wakeup_armed(desc.irq_data)).to.equal(true);
      expect(desc.istate & IRQS_SUSPENDED).to.equal(0);
      expect(desc.depth).to.equal(0);
      resume_device_irqs();
      await rearm_wake_irq(0x7ffff0);
    });
  });

  it("B42 a line disabled before suspend stays disabled after resume (depth 1 -> 2 -> 1)", async () => {
    await run(async () => {
      const { irq, desc } = setup_irq(rec_chip([]), handle_edge_irq);
      expect(await request_irq(irq, h, 0, "off", null)).to.equal(0);
      await disable_irq(irq);
      await suspend_device_irqs();
      expect(desc.depth).to.equal(2);
      resume_device_irqs();
      expect(desc.depth).to.equal(1);
      expect(irqd_irq_disabled(desc.irq_data)).to.equal(true);
      await enable_irq(irq);
      expect(desc.depth).to.equal(0);
    });
  });

  it("B42 IRQF_FORCE_RESUME re-enables a NO_SUSPEND line at the chip on resume", async () => {
    const log: string[] = [];
    await run(async () => {
      const { irq, desc } = setup_irq(rec_chip(log, { cbs: ["irq_enable", "irq_disable", "irq_mask", "irq_unmask"] }), handle_edge_irq);
      expect(await request_irq(irq, h, IRQF_NO_SUSPEND | IRQF_FORCE_RESUME, "force", null)).to.equal(0);
      await suspend_device_irqs();
      log.length = 0;
      resume_device_irqs();
      expect(log).to.deep.equal(["irq_enable"]);
      expect(desc.depth).to.equal(0);
    });
  });

  it("B42 the syscore (early) pass resumes only IRQF_EARLY_RESUME lines; the full pass does the rest", async () => {
    await run(async () => {
      const a = setup_irq(rec_chip([]), handle_edge_irq);
      const b = setup_irq(rec_chip([]), handle_edge_irq);
      expect(await request_irq(a.irq, h, IRQF_EARLY_RESUME, "early", null)).to.equal(0);
      expect(await request_irq(b.irq, h, 0, "late", null)).to.equal(0);
      await suspend_device_irqs();
      irq_pm_syscore_resume();
      expect([a.desc.depth, b.desc.depth]).to.deep.equal([0, 1]);
      resume_device_irqs();
      expect([a.desc.depth, b.desc.depth]).to.deep.equal([0, 0]);
    });
  });
});
