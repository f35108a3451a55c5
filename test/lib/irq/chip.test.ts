// SPDX-License-Identifier: GPL-2.0-only
// genirq-A.md A20-A30, A34, A45-A48: startup/shutdown/enable/disable, chained
// handlers, the chip/handler/status setters and the flag vocabularies of
// kernel/irq/chip.c and include/linux/irq.h. The hierarchy *_parent helpers
// (A31-A33) are in chip_hierarchy.test.ts.
import { expect } from "chai";
import {
  __irq_disable,
  irq_activate,
  irq_activate_and_startup,
  irq_disable,
  irq_enable,
  irq_modify_status,
  irq_percpu_disable,
  irq_percpu_enable,
  irq_set_chained_handler,
  irq_set_chained_handler_and_data,
  irq_set_chip,
  irq_set_handler,
  irq_shutdown,
  irq_shutdown_and_deactivate,
  irq_startup,
  irq_startup_managed,
  irq_chip_is_none,
} from "../../../lib/irq/chip.ts";
import { handle_bad_irq } from "../../../lib/irq/handle.ts";
import { handle_edge_irq, handle_level_irq, handle_simple_irq } from "../../../lib/irq/flow.ts";
import { __irq_alloc_descs, irq_desc_is_chained, irq_to_desc } from "../../../lib/irq/irqdesc.ts";
import { disable_irq, enable_irq, free_irq, request_irq, irq_set_irq_type } from "../../../lib/irq/manage.ts";
import { remove_cpu, add_cpu } from "../../../lib/kernel/cpu.ts";
import * as I from "../../../lib/irq/irq.ts";
import * as S from "../../../lib/irq/internals.ts";
import {
  irq_data,
  irqd_affinity_is_managed,
  irqd_irq_disabled,
  irqd_irq_masked,
  irqd_is_activated,
  irqd_is_managed_and_shutdown,
  irqd_is_started,
  irqd_set,
  IRQ_TYPE_LEVEL_HIGH,
  IRQCHIP_AFFINITY_PRE_STARTUP,
} from "../../../lib/irq/irq.ts";
import { IRQ_HANDLED } from "../../../lib/irq/interrupt.ts";
import { IRQS_PENDING, IRQS_REPLAY } from "../../../lib/irq/internals.ts";
import { EINVAL, EIO, ENOSPC } from "../../../lib/kernel/errno.ts";
import { cpumask_of, cpumask_from } from "../../../lib/kernel/cpumask.ts";
import { raw_spin_lock_irqsave, raw_spin_unlock_irqrestore } from "../../../lib/kernel/spinlock.ts";
import type { irq_domain } from "../../../lib/irq/irqdomain.ts";
import type { irq_desc } from "../../../lib/irq/irqdesc.ts";
import { fire, irq_line, logged, machine, rec_chip, run, setup_irq } from "./fixture.ts";

/** Run `fn` with desc->lock held, as the core's callers do. */
function locked<T>(desc: irq_desc, fn: () => T): T {
  const f = raw_spin_lock_irqsave(desc.lock);
  try {
    return fn();
  } finally {
    raw_spin_unlock_irqrestore(desc.lock, f);
  }
}

/** A domain stand-in whose activate/deactivate ops are logged (A25, A27). */
function fake_domain(log: string[], activate_ret = 0): irq_domain {
  return {
    name: "fakedom",
    ops: {
      activate: () => (log.push("activate"), activate_ret),
      deactivate: () => void log.push("deactivate"),
    },
  } as unknown as irq_domain;
}

describe("genirq-A startup, shutdown, enable, disable (kernel/irq/chip.c)", () => {
  it("A20 irq_enable on an enabled line only unmasks; on a disabled one uses irq_enable and clears MASKED, else unmask", async () => {
    const log: string[] = [];
    await run(() => {
      const a = setup_irq(rec_chip(log, { cbs: ["irq_enable", "irq_mask", "irq_unmask"] }));
      const d = a.desc.irq_data;
      locked(a.desc, () => irq_enable(a.desc)); // fresh: disabled + masked
      expect(log).to.deep.equal(["irq_enable"]);
      expect(irqd_irq_disabled(d) || irqd_irq_masked(d)).to.equal(false);
      log.length = 0;
      irqd_set(d, I.IRQD_IRQ_MASKED);
      locked(a.desc, () => irq_enable(a.desc)); // enabled but masked: unmask only
      expect(log).to.deep.equal(["irq_unmask"]);
      log.length = 0;
      const b = setup_irq(rec_chip(log, { cbs: ["irq_mask", "irq_unmask"] }));
      locked(b.desc, () => irq_enable(b.desc));
      expect(log).to.deep.equal(["irq_unmask"]);
      expect(b.desc.depth).to.equal(1);
      expect(irqd_is_started(b.desc.irq_data)).to.equal(false);
    });
  });

  it("A21 __irq_startup returns the chip's irq_startup result, clears DISABLED|MASKED and sets STARTED even on error", async () => {
    const log: string[] = [];
    await run(() => {
      const { desc } = setup_irq(rec_chip(log, { cbs: ["irq_startup", "irq_mask", "irq_unmask"], impl: { irq_startup: () => -EIO } }));
      expect(irq_activate(desc)).to.equal(0);
      const ret = locked(desc, () => irq_startup(desc, false, false));
      expect(ret).to.equal(-EIO);
      expect(log).to.deep.equal(["irq_startup"]);
      expect(irqd_is_started(desc.irq_data)).to.equal(true);
      expect(irqd_irq_disabled(desc.irq_data) || irqd_irq_masked(desc.irq_data)).to.equal(false);
      expect(desc.depth).to.equal(0);
    });
  });

  it("A21 __irq_startup of a line that was never activated WARNs once but starts it anyway", async () => {
    const m = await machine();
    m.expectSplat(/__irq_startup/);
    await m.run(() => {
      const { desc } = setup_irq(rec_chip([], { cbs: ["irq_startup"] }));
      locked(desc, () => irq_startup(desc, false, false));
      expect(irqd_is_started(desc.irq_data)).to.equal(true);
    });
    expect(logged(m, /^WARNING: CPU: \d+ PID: \d+ at __irq_startup$/)).to.have.length(1);
  });

  it("A22/A23 a managed irq whose mask has no online CPU aborts startup: depth 1, MANAGED_SHUTDOWN, not started, no WARN", async () => {
    const log: string[] = [];
    await run(async () => {
      expect(await remove_cpu(1)).to.equal(0);
      const irq = __irq_alloc_descs(-1, 1, 1, -1, [{ is_managed: true, mask: cpumask_of(1) }]);
      const desc = irq_to_desc(irq)!;
      irq_set_chip(irq, rec_chip(log, { cbs: ["irq_startup", "irq_set_affinity", "irq_mask", "irq_unmask"] }));
      irq_set_handler(irq, handle_simple_irq);
      expect(await request_irq(irq, () => IRQ_HANDLED, 0, "a22", null)).to.equal(0);
      expect(log).to.deep.equal([]);
      expect(desc.depth).to.equal(1);
      expect(irqd_is_managed_and_shutdown(desc.irq_data)).to.equal(true);
      expect(irqd_is_started(desc.irq_data)).to.equal(false);
      expect(irqd_is_activated(desc.irq_data)).to.equal(false);
      // A24: the CPU coming back starts it (irq_startup_managed: depth 1 -> 0)
      expect(await add_cpu(1)).to.equal(0);
      expect(log).to.deep.equal(["irq_set_affinity(1)", "irq_startup"]);
      expect(desc.depth).to.equal(0);
      expect(irqd_is_started(desc.irq_data)).to.equal(true);
      await free_irq(irq, null);
    });
  });

  it("A22 enable_irq (force) on a managed irq with no online CPU WARNs once and leaves depth 1", async () => {
    const m = await machine();
    m.expectSplat(/__irq_startup_managed/);
    await m.run(async () => {
      expect(await remove_cpu(1)).to.equal(0);
      const irq = __irq_alloc_descs(-1, 1, 1, -1, [{ is_managed: true, mask: cpumask_of(1) }]);
      const desc = irq_to_desc(irq)!;
      irq_set_chip(irq, rec_chip([], { cbs: ["irq_startup", "irq_set_affinity"] }));
      irq_set_handler(irq, handle_simple_irq);
      expect(await request_irq(irq, () => IRQ_HANDLED, 0, "a22f", null)).to.equal(0);
      await enable_irq(irq);
      expect(desc.depth).to.equal(1);
      expect(irqd_is_managed_and_shutdown(desc.irq_data)).to.equal(true);
      expect(irqd_is_started(desc.irq_data)).to.equal(false);
      await free_irq(irq, null);
      await add_cpu(1);
    });
  });

  it("A23 irq_startup order: irq_startup then affinity; IRQCHIP_AFFINITY_PRE_STARTUP puts the affinity first", async () => {
    const log: string[] = [];
    await run(async () => {
      const a = setup_irq(rec_chip(log, { cbs: ["irq_startup", "irq_set_affinity"] }));
      expect(await request_irq(a.irq, () => IRQ_HANDLED, 0, "post", null)).to.equal(0);
      expect(log).to.deep.equal(["irq_startup", "irq_set_affinity(0,1)"]);
      log.length = 0;
      const b = setup_irq(rec_chip(log, { cbs: ["irq_startup", "irq_set_affinity"], flags: IRQCHIP_AFFINITY_PRE_STARTUP }));
      expect(await request_irq(b.irq, () => IRQ_HANDLED, 0, "pre", null)).to.equal(0);
      expect(log).to.deep.equal(["irq_set_affinity(0,1)", "irq_startup"]);
    });
  });

  it("A23 a managed startup programs the reserved mask before irq_startup; a started line only gets irq_enable", async () => {
    const log: string[] = [];
    await run(async () => {
      const irq = __irq_alloc_descs(-1, 1, 1, -1, [{ is_managed: true, mask: cpumask_of(1) }]);
      const desc = irq_to_desc(irq)!;
      irq_set_chip(irq, rec_chip(log, { cbs: ["irq_startup", "irq_enable", "irq_disable", "irq_set_affinity"] }));
      irq_set_handler(irq, handle_simple_irq);
      expect(await request_irq(irq, () => IRQ_HANDLED, 0, "managed", null)).to.equal(0);
      expect(log).to.deep.equal(["irq_set_affinity(1)", "irq_startup"]);
      expect(irqd_affinity_is_managed(desc.irq_data)).to.equal(true);
      log.length = 0;
      await disable_irq(irq);
      await enable_irq(irq);
      expect(log).to.deep.equal(["irq_disable", "irq_enable"]);
      await free_irq(irq, null);
    });
  });

  it("A23 irq_startup sets depth 0 first and runs check_irq_resend when asked", async () => {
    const log: string[] = [];
    await run(() => {
      const { desc } = setup_irq(rec_chip(log, { cbs: ["irq_startup", "irq_retrigger"], impl: { irq_retrigger: () => 1 } }), handle_edge_irq);
      irq_activate(desc);
      desc.depth = 5;
      desc.istate |= IRQS_PENDING;
      locked(desc, () => irq_startup(desc, false, false));
      expect(desc.depth).to.equal(0);
      expect(log).to.deep.equal(["irq_startup"]);
      expect(desc.istate & IRQS_PENDING).to.equal(IRQS_PENDING);
      locked(desc, () => irq_shutdown(desc));
      log.length = 0;
      locked(desc, () => irq_startup(desc, true, false));
      expect(log).to.deep.equal(["irq_startup", "irq_retrigger"]);
      expect(desc.istate & (IRQS_PENDING | IRQS_REPLAY)).to.equal(IRQS_REPLAY);
    });
  });

  it("A24 irq_startup_managed decrements depth and starts only when it reaches 0", async () => {
    const log: string[] = [];
    await run(() => {
      const irq = __irq_alloc_descs(-1, 1, 1, -1, [{ is_managed: true, mask: cpumask_of(0) }]);
      const desc = irq_to_desc(irq)!;
      irq_set_chip(irq, rec_chip(log, { cbs: ["irq_startup", "irq_set_affinity"] }));
      desc.depth = 2;
      locked(desc, () => irq_startup_managed(desc));
      expect(desc.depth).to.equal(1);
      expect(irqd_is_managed_and_shutdown(desc.irq_data)).to.equal(false);
      expect(log).to.deep.equal([]);
      locked(desc, () => irq_startup_managed(desc));
      expect(desc.depth).to.equal(0);
      expect(log).to.deep.equal(["irq_set_affinity(0)", "irq_startup"]);
    });
  });

  it("A25 irq_activate activates a non-managed line through its domain and defers a managed one", async () => {
    const log: string[] = [];
    await run(() => {
      const a = setup_irq(rec_chip([]));
      a.desc.irq_data.domain = fake_domain(log);
      expect(irq_activate(a.desc)).to.equal(0);
      expect(log).to.deep.equal(["activate"]);
      expect(irqd_is_activated(a.desc.irq_data)).to.equal(true);
      expect(irq_activate(a.desc)).to.equal(0);
      expect(log).to.deep.equal(["activate"]);
      log.length = 0;
      const irq = __irq_alloc_descs(-1, 1, 1, -1, [{ is_managed: true, mask: cpumask_of(0) }]);
      const desc = irq_to_desc(irq)!;
      desc.irq_data.domain = fake_domain(log);
      expect(irq_activate(desc)).to.equal(0);
      expect(log).to.deep.equal([]);
      expect(irqd_is_activated(desc.irq_data)).to.equal(false);
    });
  });

  it("A25 irq_activate_and_startup WARNs and does not start when activation fails", async () => {
    const m = await machine();
    m.expectSplat(/irq_activate_and_startup/);
    const log: string[] = [];
    await m.run(() => {
      const a = setup_irq(rec_chip(log, { cbs: ["irq_startup"] }));
      a.desc.irq_data.domain = fake_domain(log, -ENOSPC);
      expect(locked(a.desc, () => irq_activate_and_startup(a.desc, true))).to.equal(0);
      expect(log).to.deep.equal(["activate"]);
      expect(irqd_is_started(a.desc.irq_data)).to.equal(false);
    });
  });

  it("A26 irq_shutdown: no-op unless started; depth++, irq_shutdown, DISABLED|MASKED, STARTED cleared, ACTIVATED kept", async () => {
    const log: string[] = [];
    await run(async () => {
      const { irq, desc } = setup_irq(rec_chip(log, { cbs: ["irq_startup", "irq_shutdown", "irq_mask", "irq_unmask"] }));
      locked(desc, () => irq_shutdown(desc));
      expect(log).to.deep.equal([]);
      expect(desc.depth).to.equal(1);
      expect(await request_irq(irq, () => IRQ_HANDLED, 0, "a26", null)).to.equal(0);
      await disable_irq(irq);
      log.length = 0;
      locked(desc, () => irq_shutdown(desc));
      expect(log).to.deep.equal(["irq_shutdown"]);
      expect(desc.depth).to.equal(2);
      expect(irqd_irq_disabled(desc.irq_data) && irqd_irq_masked(desc.irq_data)).to.equal(true);
      expect(irqd_is_started(desc.irq_data)).to.equal(false);
      expect(irqd_is_activated(desc.irq_data)).to.equal(true);
    });
  });

  it("A26 without irq_shutdown the line is disabled with a forced mask (irq_disable, else irq_mask)", async () => {
    const log: string[] = [];
    await run(async () => {
      const a = setup_irq(rec_chip(log, { cbs: ["irq_mask", "irq_unmask"] }));
      expect(await request_irq(a.irq, () => IRQ_HANDLED, 0, "a26m", null)).to.equal(0);
      log.length = 0;
      locked(a.desc, () => irq_shutdown(a.desc));
      expect(log).to.deep.equal(["irq_mask"]);
      const b = setup_irq(rec_chip(log, { cbs: ["irq_disable", "irq_mask", "irq_unmask"] }));
      expect(await request_irq(b.irq, () => IRQ_HANDLED, 0, "a26d", null)).to.equal(0);
      log.length = 0;
      locked(b.desc, () => irq_shutdown(b.desc));
      expect(log).to.deep.equal(["irq_disable"]);
      expect(irqd_irq_masked(b.desc.irq_data)).to.equal(true);
    });
  });

  it("A27 irq_shutdown_and_deactivate deactivates even a line that was never started", async () => {
    const log: string[] = [];
    await run(() => {
      const { desc } = setup_irq(rec_chip([]));
      desc.irq_data.domain = fake_domain(log);
      irq_activate(desc);
      locked(desc, () => irq_shutdown_and_deactivate(desc));
      expect(log).to.deep.equal(["activate", "deactivate"]);
      expect(irqd_is_activated(desc.irq_data)).to.equal(false);
    });
  });

  it("A28 disable is lazy without chip irq_disable: DISABLED only, the line stays unmasked until an event arrives", async () => {
    const log: string[] = [];
    await run(async () => {
      const { irq, desc } = setup_irq(rec_chip(log), handle_edge_irq);
      expect(await request_irq(irq, () => IRQ_HANDLED, 0, "a28", null)).to.equal(0);
      log.length = 0;
      await disable_irq(irq);
      expect(log).to.deep.equal([]);
      expect(irqd_irq_disabled(desc.irq_data)).to.equal(true);
      expect(irqd_irq_masked(desc.irq_data)).to.equal(false);
      await fire(irq_line(desc), 0);
      expect(log).to.deep.equal(["irq_mask", "irq_ack"]);
      expect(irqd_irq_masked(desc.irq_data)).to.equal(true);
    });
  });

  it("A28 IRQ_DISABLE_UNLAZY masks at once; a chip irq_disable is called and sets MASKED", async () => {
    const log: string[] = [];
    await run(async () => {
      const a = setup_irq(rec_chip(log), handle_edge_irq);
      irq_modify_status(a.irq, 0, I.IRQ_DISABLE_UNLAZY);
      expect(await request_irq(a.irq, () => IRQ_HANDLED, 0, "unlazy", null)).to.equal(0);
      log.length = 0;
      await disable_irq(a.irq);
      expect(log).to.deep.equal(["irq_mask"]);
      const b = setup_irq(rec_chip(log, { cbs: ["irq_disable", "irq_mask", "irq_unmask"] }), handle_edge_irq);
      expect(await request_irq(b.irq, () => IRQ_HANDLED, 0, "dis", null)).to.equal(0);
      log.length = 0;
      await disable_irq(b.irq);
      await disable_irq(b.irq);
      expect(log).to.deep.equal(["irq_disable"]);
      expect(irqd_irq_masked(b.desc.irq_data)).to.equal(true);
      expect(b.desc.depth).to.equal(2);
    });
  });

  it("A28 __irq_disable on an already disabled line only masks when asked to", async () => {
    const log: string[] = [];
    await run(async () => {
      const { irq, desc } = setup_irq(rec_chip(log, { cbs: ["irq_disable", "irq_mask", "irq_unmask"] }));
      expect(await request_irq(irq, () => IRQ_HANDLED, 0, "a28x", null)).to.equal(0);
      locked(desc, () => irq_disable(desc));
      log.length = 0;
      locked(desc, () => __irq_disable(desc, false));
      expect(log).to.deep.equal([]);
      irqd_set(desc.irq_data, 0);
      desc.irq_common_data.state_use_accessors &= ~I.IRQD_IRQ_MASKED;
      locked(desc, () => __irq_disable(desc, true));
      expect(log).to.deep.equal(["irq_mask"]);
    });
  });

  it("A29 irq_percpu_enable/disable use irq_enable/irq_disable, else irq_unmask/irq_mask, and touch no IRQD state or depth", async () => {
    const log: string[] = [];
    await run(() => {
      const a = setup_irq(rec_chip(log, { cbs: ["irq_mask", "irq_unmask"] }));
      a.desc.percpu_enabled = cpumask_from([]);
      const st = a.desc.irq_common_data.state_use_accessors;
      locked(a.desc, () => irq_percpu_enable(a.desc, 1));
      expect(a.desc.percpu_enabled.test(1)).to.equal(true);
      locked(a.desc, () => irq_percpu_disable(a.desc, 1));
      expect(a.desc.percpu_enabled.test(1)).to.equal(false);
      expect(log).to.deep.equal(["irq_unmask", "irq_mask"]);
      expect(a.desc.irq_common_data.state_use_accessors).to.equal(st);
      expect(a.desc.depth).to.equal(1);
      log.length = 0;
      const b = setup_irq(rec_chip(log, { cbs: ["irq_enable", "irq_disable", "irq_mask", "irq_unmask"] }));
      b.desc.percpu_enabled = cpumask_from([]);
      locked(b.desc, () => irq_percpu_enable(b.desc, 0));
      locked(b.desc, () => irq_percpu_disable(b.desc, 0));
      expect(log).to.deep.equal(["irq_enable", "irq_disable"]);
    });
  });

  describe("A30 chained handlers", () => {
    it("A30 installing a chained handler re-applies the trigger, marks NOPROBE|NOREQUEST|NOTHREAD and starts the line", async () => {
      const log: string[] = [];
      await run(async () => {
        const { irq, desc } = setup_irq(rec_chip(log, { cbs: ["irq_startup", "irq_set_type", "irq_mask", "irq_unmask"] }));
        expect(await irq_set_irq_type(irq, IRQ_TYPE_LEVEL_HIGH)).to.equal(0);
        log.length = 0;
        irq_set_chained_handler_and_data(irq, handle_level_irq, "parentdata");
        expect(log).to.deep.equal(["irq_set_type(4)", "irq_startup"]);
        expect(irq_desc_is_chained(desc)).to.equal(true);
        expect(desc.handle_irq).to.equal(handle_level_irq);
        expect(desc.irq_common_data.handler_data).to.equal("parentdata");
        const want = I.IRQ_NOPROBE | I.IRQ_NOREQUEST | I.IRQ_NOTHREAD;
        expect(desc.status_use_accessors & want).to.equal(want);
        expect(desc.depth).to.equal(0);
        expect(irqd_is_started(desc.irq_data)).to.equal(true);
        expect(await request_irq(irq, () => IRQ_HANDLED, 0, "late", null)).to.equal(-EINVAL);
      });
    });

    it("A30 uninstalling (NULL handler) mask_acks, disables, drops the chained action and sets depth 1", async () => {
      const log: string[] = [];
      await run(() => {
        const { irq, desc } = setup_irq(rec_chip(log, { cbs: ["irq_startup", "irq_mask", "irq_unmask", "irq_ack"] }));
        irq_set_chained_handler(irq, handle_edge_irq);
        log.length = 0;
        irq_set_chained_handler(irq, null);
        expect(log).to.deep.equal(["irq_mask", "irq_ack"]);
        expect(desc.handle_irq).to.equal(handle_bad_irq);
        expect(desc.action).to.equal(null);
        expect(desc.depth).to.equal(1);
        expect(irqd_irq_disabled(desc.irq_data)).to.equal(true);
      });
    });

    it("A30 the chained sentinel action WARNs 'Chained irq %d should not call an action' if a flow handler runs it", async () => {
      const m = await machine();
      m.expectSplat(/^Chained irq \d+ should not call an action$/);
      await m.run(async () => {
        const { irq, desc } = setup_irq(rec_chip([], { cbs: ["irq_startup", "irq_mask", "irq_unmask"] }));
        irq_set_chained_handler(irq, handle_simple_irq);
        // a driver wrongly switches the flow handler: the chained action now runs as an action
        irq_set_handler(irq, handle_simple_irq);
        await fire(irq_line(desc), 0);
        expect(logged(m, `Chained irq ${irq} should not call an action`)).to.have.length(1);
      });
    });

    it("A30 a handler with no real chip anywhere WARNs and is not installed; a chained one on an unset outer level bails", async () => {
      const m = await machine();
      m.expectSplat(/__irq_do_set_handler/, 2);
      await m.run(() => {
        const { irq, desc } = setup_irq(rec_chip([]));
        irq_set_chip(irq, null);
        irq_set_handler(irq, handle_level_irq);
        expect(desc.handle_irq).to.equal(handle_simple_irq);
        // hierarchy: outer level has no chip yet, the parent has one
        const b = setup_irq(rec_chip([], { cbs: ["irq_startup", "irq_mask", "irq_unmask"] }));
        const parent = new irq_data(b.irq, b.desc.irq_common_data, b.desc.irq_data.chip);
        b.desc.irq_data.parent_data = parent;
        irq_set_chip(b.irq, null);
        irq_set_handler(b.irq, handle_level_irq);
        expect(b.desc.handle_irq).to.equal(handle_level_irq);
        irq_set_chained_handler(b.irq, handle_edge_irq);
        expect(b.desc.handle_irq).to.equal(handle_level_irq);
        expect(irq_desc_is_chained(b.desc)).to.equal(false);
      });
    });
  });

  describe("A34 chip, handler and status setters", () => {
    it("A34 irq_set_chip: unknown irq -> -EINVAL; NULL chip installs no_irq_chip", async () => {
      await run(() => {
        const { irq, desc } = setup_irq(rec_chip([]));
        expect(irq_set_chip(0x7ffff0, rec_chip([]))).to.equal(-EINVAL);
        expect(irq_set_chip(irq, null)).to.equal(0);
        expect(irq_chip_is_none(desc.irq_data.chip)).to.equal(true);
      });
    });

    it("A34 irq_modify_status applies only IRQF_MODIFY_MASK bits and recomputes the IRQD mirrors and trigger", async () => {
      await run(() => {
        const { irq, desc } = setup_irq(rec_chip([]));
        const before = desc.status_use_accessors;
        irq_modify_status(irq, 0, I.IRQ_NO_DEBUG | I.IRQ_LEVEL | I.IRQ_PER_CPU | I.IRQ_NO_BALANCING | IRQ_TYPE_LEVEL_HIGH);
        expect(desc.status_use_accessors & I.IRQ_NO_DEBUG).to.equal(0);
        expect(desc.status_use_accessors).to.equal(before | I.IRQ_LEVEL | I.IRQ_PER_CPU | I.IRQ_NO_BALANCING | IRQ_TYPE_LEVEL_HIGH);
        const st = desc.irq_common_data.state_use_accessors;
        expect(st & (I.IRQD_LEVEL | I.IRQD_PER_CPU | I.IRQD_NO_BALANCING)).to.equal(I.IRQD_LEVEL | I.IRQD_PER_CPU | I.IRQD_NO_BALANCING);
        expect(st & I.IRQD_TRIGGER_MASK).to.equal(IRQ_TYPE_LEVEL_HIGH);
        // clearing the settings trigger keeps the IRQD trigger
        irq_modify_status(irq, IRQ_TYPE_LEVEL_HIGH | I.IRQ_LEVEL | I.IRQ_PER_CPU, 0);
        const st2 = desc.irq_common_data.state_use_accessors;
        expect(st2 & I.IRQD_TRIGGER_MASK).to.equal(IRQ_TYPE_LEVEL_HIGH);
        expect(st2 & (I.IRQD_LEVEL | I.IRQD_PER_CPU)).to.equal(0);
        expect(st2 & I.IRQD_NO_BALANCING).to.equal(I.IRQD_NO_BALANCING);
      });
    });

    it("A34 setting IRQ_NOAUTOEN on a line with depth 0 WARNs once (and still sets it)", async () => {
      const m = await machine();
      m.expectSplat(/irq_modify_status/);
      await m.run(async () => {
        const { irq, desc } = setup_irq(rec_chip([]));
        expect(await request_irq(irq, () => IRQ_HANDLED, 0, "a34", null)).to.equal(0);
        irq_modify_status(irq, 0, I.IRQ_NOAUTOEN);
        expect(desc.status_use_accessors & I.IRQ_NOAUTOEN).to.equal(I.IRQ_NOAUTOEN);
      });
      expect(logged(m, /^WARNING: .* at irq_modify_status$/)).to.have.length(1);
    });
  });

  describe("A45-A48 flag vocabularies", () => {
    it("A45 IRQCHIP_* bits", () => {
      expect([
        I.IRQCHIP_SET_TYPE_MASKED,
        I.IRQCHIP_EOI_IF_HANDLED,
        I.IRQCHIP_MASK_ON_SUSPEND,
        I.IRQCHIP_ONOFFLINE_ENABLED,
        I.IRQCHIP_SKIP_SET_WAKE,
        I.IRQCHIP_ONESHOT_SAFE,
        I.IRQCHIP_EOI_THREADED,
        I.IRQCHIP_SUPPORTS_LEVEL_MSI,
        I.IRQCHIP_SUPPORTS_NMI,
        I.IRQCHIP_ENABLE_WAKEUP_ON_SUSPEND,
        I.IRQCHIP_AFFINITY_PRE_STARTUP,
        I.IRQCHIP_IMMUTABLE,
        I.IRQCHIP_MOVE_DEFERRED,
      ]).to.deep.equal([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12].map((b) => 1 << b));
    });

    it("A46 IRQD_* values (bit 15 is a hole)", () => {
      expect(I.IRQD_TRIGGER_MASK).to.equal(0xf);
      const bits: [number, number][] = [
        [I.IRQD_SETAFFINITY_PENDING, 8],
        [I.IRQD_ACTIVATED, 9],
        [I.IRQD_NO_BALANCING, 10],
        [I.IRQD_PER_CPU, 11],
        [I.IRQD_AFFINITY_SET, 12],
        [I.IRQD_LEVEL, 13],
        [I.IRQD_WAKEUP_STATE, 14],
        [I.IRQD_IRQ_DISABLED, 16],
        [I.IRQD_IRQ_MASKED, 17],
        [I.IRQD_IRQ_INPROGRESS, 18],
        [I.IRQD_WAKEUP_ARMED, 19],
        [I.IRQD_FORWARDED_TO_VCPU, 20],
        [I.IRQD_AFFINITY_MANAGED, 21],
        [I.IRQD_IRQ_STARTED, 22],
        [I.IRQD_MANAGED_SHUTDOWN, 23],
        [I.IRQD_SINGLE_TARGET, 24],
        [I.IRQD_DEFAULT_TRIGGER_SET, 25],
        [I.IRQD_CAN_RESERVE, 26],
        [I.IRQD_HANDLE_ENFORCE_IRQCTX, 27],
        [I.IRQD_AFFINITY_ON_ACTIVATE, 28],
        [I.IRQD_IRQ_ENABLED_ON_SUSPEND, 29],
        [I.IRQD_RESEND_WHEN_IN_PROGRESS, 30],
      ];
      for (const [v, b] of bits) expect(v, `bit ${b}`).to.equal(1 << b);
    });

    it("A47 IRQS_* values", () => {
      expect([
        S.IRQS_AUTODETECT,
        S.IRQS_SPURIOUS_DISABLED,
        S.IRQS_POLL_INPROGRESS,
        S.IRQS_ONESHOT,
        S.IRQS_REPLAY,
        S.IRQS_WAITING,
        S.IRQS_PENDING,
        S.IRQS_SUSPENDED,
        S.IRQS_TIMINGS,
        S.IRQS_NMI,
        S.IRQS_SYSFS,
      ]).to.deep.equal([0x1, 0x2, 0x8, 0x20, 0x40, 0x80, 0x200, 0x800, 0x1000, 0x2000, 0x4000]);
    });

    it("A48 IRQ_* status bits and IRQF_MODIFY_MASK (IRQ_NO_DEBUG is not modifiable)", () => {
      const bits: [number, number][] = [
        [I.IRQ_LEVEL, 8],
        [I.IRQ_PER_CPU, 9],
        [I.IRQ_NOPROBE, 10],
        [I.IRQ_NOREQUEST, 11],
        [I.IRQ_NOAUTOEN, 12],
        [I.IRQ_NO_BALANCING, 13],
        [I.IRQ_NESTED_THREAD, 15],
        [I.IRQ_NOTHREAD, 16],
        [I.IRQ_PER_CPU_DEVID, 17],
        [I.IRQ_IS_POLLED, 18],
        [I.IRQ_DISABLE_UNLAZY, 19],
        [I.IRQ_HIDDEN, 20],
        [I.IRQ_NO_DEBUG, 21],
      ];
      for (const [v, b] of bits) expect(v, `bit ${b}`).to.equal(1 << b);
      expect(I.IRQF_MODIFY_MASK).to.equal(0xf | (0x1fbf << 8));
      expect(I.IRQF_MODIFY_MASK & I.IRQ_NO_DEBUG).to.equal(0);
    });
  });
});
