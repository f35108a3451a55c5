// SPDX-License-Identifier: GPL-2.0-only
// genirq-B.md B7-B9, B12, B13: NMI and per-CPU requests (kernel/irq/manage.c).
// irqlab delivers no NMIs: these tests check validation, installation and
// teardown; delivery itself is marked not applicable in docs/fidelity.md.
import { expect } from "chai";
import {
  __request_percpu_irq,
  disable_percpu_irq,
  enable_percpu_irq,
  free_nmi,
  free_percpu_irq,
  irq_percpu_is_enabled,
  irq_set_percpu_devid,
  request_nmi,
  request_percpu_irq,
} from "../../../lib/irq/manage_percpu.ts";
import { irq_set_irq_wake, request_irq } from "../../../lib/irq/manage.ts";
import { irq_modify_status } from "../../../lib/irq/chip.ts";
import { handle_percpu_devid_irq } from "../../../lib/irq/flow.ts";
import { IRQ_NOAUTOEN, IRQ_NOREQUEST, IRQ_TYPE_LEVEL_HIGH, IRQCHIP_SUPPORTS_NMI, irqd_is_started } from "../../../lib/irq/irq.ts";
import {
  IRQ_HANDLED,
  IRQ_NOTCONNECTED,
  IRQF_COND_SUSPEND,
  IRQF_IRQPOLL,
  IRQF_NO_AUTOEN,
  IRQF_NO_SUSPEND,
  IRQF_NO_THREAD,
  IRQF_NOBALANCING,
  IRQF_PERCPU,
  IRQF_SHARED,
  IRQF_TIMER,
} from "../../../lib/irq/interrupt.ts";
import { IRQS_NMI } from "../../../lib/irq/internals.ts";
import { EINVAL, EIO, ENOTCONN } from "../../../lib/kernel/errno.ts";
import { logged, machine, rec_chip, run, setup_irq, type ChipCb } from "./fixture.ts";

const h = (): number => IRQ_HANDLED;
const NMI_CBS: ChipCb[] = ["irq_mask", "irq_unmask", "irq_nmi_setup", "irq_nmi_teardown", "irq_startup", "irq_shutdown"];

describe("genirq-B NMI and per-CPU requests (kernel/irq/manage.c)", () => {
  it("B7 request_nmi validation: -ENOTCONN, then -EINVAL for shared/cond-suspend/irqpoll, no IRQF_PERCPU, no handler, autoenable, NOREQUEST, no NMI support", async () => {
    await run(async () => {
      const { irq, desc } = setup_irq(rec_chip([], { cbs: NMI_CBS, flags: IRQCHIP_SUPPORTS_NMI }));
      const ok = IRQF_PERCPU | IRQF_NO_AUTOEN;
      expect(await request_nmi(IRQ_NOTCONNECTED, h, ok, "nmi", null)).to.equal(-ENOTCONN);
      for (const f of [IRQF_SHARED, IRQF_COND_SUSPEND, IRQF_IRQPOLL]) expect(await request_nmi(irq, h, ok | f, "nmi", {})).to.equal(-EINVAL);
      expect(await request_nmi(irq, h, IRQF_NO_AUTOEN, "nmi", null)).to.equal(-EINVAL);
      expect(await request_nmi(irq, null, ok, "nmi", null)).to.equal(-EINVAL);
      expect(await request_nmi(irq, h, IRQF_PERCPU, "nmi", null)).to.equal(-EINVAL);
      expect(await request_nmi(0x7ffff0, h, ok, "nmi", null)).to.equal(-EINVAL);
      irq_modify_status(irq, 0, IRQ_NOREQUEST);
      expect(await request_nmi(irq, h, ok, "nmi", null)).to.equal(-EINVAL);
      irq_modify_status(irq, IRQ_NOREQUEST, 0);
      const plain = setup_irq(rec_chip([], { cbs: NMI_CBS }));
      expect(await request_nmi(plain.irq, h, ok, "nmi", null)).to.equal(-EINVAL);
      const bus = setup_irq(rec_chip([], { cbs: [...NMI_CBS, "irq_bus_lock", "irq_bus_sync_unlock"], flags: IRQCHIP_SUPPORTS_NMI }));
      expect(await request_nmi(bus.irq, h, ok, "nmi", null)).to.equal(-EINVAL);
      expect(desc.action).to.equal(null);
    });
  });

  it("B7 a successful request_nmi: NO_THREAD|NOBALANCING added, IRQS_NMI set, irq_nmi_setup called; sharing it is refused", async () => {
    const log: string[] = [];
    const m = await machine();
    await m.run(async () => {
      const { irq, desc } = setup_irq(rec_chip(log, { name: "nmichip", cbs: NMI_CBS, flags: IRQCHIP_SUPPORTS_NMI }));
      expect(await request_nmi(irq, h, IRQF_PERCPU | IRQF_NO_AUTOEN, "nmi", null)).to.equal(0);
      expect(desc.istate & IRQS_NMI).to.equal(IRQS_NMI);
      expect(desc.action!.flags & (IRQF_NO_THREAD | IRQF_NOBALANCING)).to.equal(IRQF_NO_THREAD | IRQF_NOBALANCING);
      expect(log).to.deep.equal(["irq_nmi_setup"]);
      expect(desc.depth).to.equal(1);
      expect(await request_irq(irq, h, IRQF_SHARED, "other", {})).to.equal(-EINVAL);
      expect(logged(m, "Invalid attempt to share NMI")).to.deep.equal([`genirq: Invalid attempt to share NMI for other (irq ${irq}) on irqchip nmichip.`]);
      expect(await irq_set_irq_wake(irq, 1)).to.equal(-EINVAL);
      // B12: free_nmi of a disabled NMI tears it down and returns the name
      log.length = 0;
      expect(await free_nmi(irq, null)).to.equal("nmi");
      expect(log).to.deep.equal(["irq_nmi_teardown"]);
      expect(desc.istate & IRQS_NMI).to.equal(0);
      expect(desc.action).to.equal(null);
    });
  });

  it("B7 an irq_nmi_setup failure is collapsed to -EINVAL and undone", async () => {
    await run(async () => {
      const { irq, desc } = setup_irq(rec_chip([], { cbs: NMI_CBS, flags: IRQCHIP_SUPPORTS_NMI, impl: { irq_nmi_setup: () => -EIO } }));
      expect(await request_nmi(irq, h, IRQF_PERCPU | IRQF_NO_AUTOEN, "nmi", null)).to.equal(-EINVAL);
      expect(desc.action).to.equal(null);
      expect(desc.istate & IRQS_NMI).to.equal(0);
      expect(desc.nr_actions).to.equal(0);
    });
  });

  it("B12 free_nmi: WARN and NULL for a non-NMI line; an enabled NMI WARNs and is disabled first", async () => {
    const m = await machine();
    m.expectSplat(/at free_nmi$/, 2);
    await m.run(async () => {
      const a = setup_irq(rec_chip([]));
      expect(await free_nmi(a.irq, null)).to.equal(null);
      const { irq, desc } = setup_irq(rec_chip([], { cbs: NMI_CBS, flags: IRQCHIP_SUPPORTS_NMI }));
      irq_modify_status(irq, 0, IRQ_NOAUTOEN);
      expect(await request_nmi(irq, h, IRQF_PERCPU, "nmi", null)).to.equal(0);
      desc.depth = 0;
      expect(await free_nmi(irq, null)).to.equal("nmi");
      expect(desc.istate & IRQS_NMI).to.equal(0);
      expect(await free_nmi(0x7ffff0, null)).to.equal(null);
    });
    expect(logged(m, /^WARNING: .* at free_nmi$/)).to.have.length(2);
  });

  it("B8 __request_percpu_irq validation: NULL cookie, no desc, NOREQUEST, not per-cpu-devid, flags other than IRQF_TIMER -> -EINVAL", async () => {
    await run(async () => {
      const { irq, desc } = setup_irq(rec_chip([]), handle_percpu_devid_irq);
      const pcpu = {};
      expect(await request_percpu_irq(irq, h, "pcpu", pcpu)).to.equal(-EINVAL);
      expect(irq_set_percpu_devid(irq)).to.equal(0);
      expect(irq_set_percpu_devid(irq)).to.equal(-EINVAL);
      expect(await request_percpu_irq(irq, h, "pcpu", null)).to.equal(-EINVAL);
      expect(await request_percpu_irq(0x7ffff0, h, "pcpu", pcpu)).to.equal(-EINVAL);
      expect(await __request_percpu_irq(irq, h, IRQF_SHARED, "pcpu", null, pcpu)).to.equal(-EINVAL);
      irq_modify_status(irq, 0, IRQ_NOREQUEST);
      expect(await request_percpu_irq(irq, h, "pcpu", pcpu)).to.equal(-EINVAL);
      irq_modify_status(irq, IRQ_NOREQUEST, 0);
      expect(await __request_percpu_irq(irq, h, IRQF_TIMER, "pcpu", null, pcpu)).to.equal(0);
      expect(desc.action!.flags & (IRQF_PERCPU | IRQF_NO_SUSPEND)).to.equal(IRQF_PERCPU | IRQF_NO_SUSPEND);
      // per-cpu-devid descs are NOAUTOEN: depth 1, not started
      expect(desc.depth).to.equal(1);
      expect(irqd_is_started(desc.irq_data)).to.equal(false);
    });
  });

  it("B9 enable_percpu_irq sets the type and enables on this CPU only; a set_type failure WARNs 'failed to set type for IRQ%d'", async () => {
    const log: string[] = [];
    const m = await machine();
    m.expectSplat(/^failed to set type for IRQ\d+$/);
    await m.run(async () => {
      let fail = false;
      const { irq, desc } = setup_irq(rec_chip(log, { cbs: ["irq_mask", "irq_unmask", "irq_set_type"], impl: { irq_set_type: () => (fail ? -EIO : 0) } }), handle_percpu_devid_irq);
      irq_set_percpu_devid(irq);
      expect(await request_percpu_irq(irq, h, "pcpu", {})).to.equal(0);
      log.length = 0;
      enable_percpu_irq(irq, IRQ_TYPE_LEVEL_HIGH);
      expect(log).to.deep.equal(["irq_set_type(4)", "irq_unmask"]);
      expect(irq_percpu_is_enabled(irq)).to.equal(true);
      expect(m.enter(() => irq_percpu_is_enabled(irq), 1)).to.equal(false);
      fail = true;
      log.length = 0;
      m.enter(() => enable_percpu_irq(irq, 0), 1);
      expect(log).to.deep.equal(["irq_set_type(4)"]);
      expect(desc.percpu_enabled!.test(1)).to.equal(false);
      disable_percpu_irq(irq);
      expect(irq_percpu_is_enabled(irq)).to.equal(false);
      // a global irq is silently ignored by the per-CPU calls
      const g = setup_irq(rec_chip(log));
      log.length = 0;
      enable_percpu_irq(g.irq, 0);
      expect(log).to.deep.equal([]);
      expect(irq_percpu_is_enabled(g.irq)).to.equal(false);
    });
  });

  it("B13 free_percpu_irq refuses while a CPU has it enabled and for a wrong cookie, then frees", async () => {
    const m = await machine();
    m.expectSplat(/^percpu IRQ \d+ still enabled on CPU0!$/);
    m.expectSplat(/^Trying to free already-free IRQ \d+$/);
    await m.run(async () => {
      const { irq, desc } = setup_irq(rec_chip([]), handle_percpu_devid_irq);
      irq_set_percpu_devid(irq);
      const pcpu = {};
      expect(await request_percpu_irq(irq, h, "pcpu", pcpu)).to.equal(0);
      enable_percpu_irq(irq, 0);
      await free_percpu_irq(irq, pcpu);
      expect(desc.action).to.not.equal(null);
      disable_percpu_irq(irq);
      await free_percpu_irq(irq, {});
      expect(desc.action).to.not.equal(null);
      await free_percpu_irq(irq, pcpu);
      expect(desc.action).to.equal(null);
      // not per-cpu-devid: silent
      const g = setup_irq(rec_chip([]));
      await free_percpu_irq(g.irq, pcpu);
    });
    expect(logged(m, /still enabled on CPU0!/)).to.have.length(1);
  });
});
