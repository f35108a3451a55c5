// SPDX-License-Identifier: GPL-2.0-only
// genirq-B.md B1-B6, B10, B11: requesting and freeing interrupts
// (kernel/irq/manage.c, lib/irq/manage.ts): validation, __setup_irq and its
// bus-lock callback order, shared-line rules, free_irq and its warnings.
// Disable/enable, synchronize, trigger type, wake, irqchip state and the
// lock-context rules are in manage_state.test.ts.
import { expect } from "chai";
import {
  disable_irq,
  enable_irq,
  free_irq,
  irq_has_action,
  request_any_context_irq,
  request_irq,
  request_threaded_irq,
} from "../../../lib/irq/manage.ts";
import { irq_set_affinity_hint } from "../../../lib/irq/manage_affinity.ts";
import { irq_default_primary_handler, irq_nested_primary_handler } from "../../../lib/irq/manage_thread.ts";
import { irq_modify_status, irq_set_chip } from "../../../lib/irq/chip.ts";
import { handle_edge_irq, handle_level_irq, handle_simple_irq } from "../../../lib/irq/flow.ts";
import { irq_set_percpu_devid } from "../../../lib/irq/manage_percpu.ts";
import {
  irqd_get_trigger_type,
  irqd_is_started,
  irqd_trigger_type_was_set,
  IRQ_LEVEL,
  IRQ_NESTED_THREAD,
  IRQ_NOAUTOEN,
  IRQ_NOPROBE,
  IRQ_NOREQUEST,
  IRQ_PER_CPU_DEVID,
  IRQ_TYPE_EDGE_RISING,
  IRQ_TYPE_LEVEL_LOW,
  IRQCHIP_ONESHOT_SAFE,
  IRQCHIP_SET_TYPE_MASKED,
  irqd_set_trigger_type,
} from "../../../lib/irq/irq.ts";
import {
  IRQ_HANDLED,
  IRQ_NOTCONNECTED,
  IRQC_IS_HARDIRQ,
  IRQC_IS_NESTED,
  IRQF_COND_ONESHOT,
  IRQF_COND_SUSPEND,
  IRQF_NO_AUTOEN,
  IRQF_NO_SUSPEND,
  IRQF_ONESHOT,
  IRQF_PERCPU,
  IRQF_PROBE_SHARED,
  IRQF_SHARED,
  IRQF_TRIGGER_FALLING,
  IRQF_TRIGGER_HIGH,
  IRQF_TRIGGER_RISING,
} from "../../../lib/irq/interrupt.ts";
import { IRQS_AUTODETECT, IRQS_ONESHOT, IRQS_WAITING } from "../../../lib/irq/internals.ts";
import { EBUSY, EINVAL, EIO, ENOSYS, ENOTCONN } from "../../../lib/kernel/errno.ts";
import { K } from "../../../lib/kernel/kernel.ts";
import { msleep } from "../../../lib/kernel/delay.ts";
import { mutex, mutex_lock, mutex_unlock } from "../../../lib/kernel/mutex.ts";
import { cpumask_of } from "../../../lib/kernel/cpumask.ts";
import type { irq_desc } from "../../../lib/irq/irqdesc.ts";
import { fire, irq_line, logged, machine, rec_chip, run, setup_irq } from "./fixture.ts";
import { dmesgLines } from "../../harness.ts";
import { ctx_chip, h } from "./manage_fixture.ts";

describe("genirq-B management API (kernel/irq/manage.c)", () => {
  describe("B1-B3 requesting", () => {
    it("B1 request_irq adds IRQF_COND_ONESHOT, so a plain action can join a ONESHOT shared line", async () => {
      await run(async () => {
        const { irq, desc } = setup_irq(rec_chip([]), handle_level_irq);
        expect(await request_threaded_irq(irq, null, h, IRQF_SHARED | IRQF_ONESHOT, "first", {})).to.equal(0);
        expect(await request_irq(irq, h, IRQF_SHARED, "second", {})).to.equal(0);
        const second = desc.action!.next!;
        expect(second.flags & (IRQF_COND_ONESHOT | IRQF_ONESHOT)).to.equal(IRQF_COND_ONESHOT | IRQF_ONESHOT);
        expect(second.thread_mask).to.equal(2n);
      });
    });

    it("B1 without IRQF_COND_ONESHOT (request_threaded_irq) the same join is a flags mismatch", async () => {
      const m = await machine();
      await m.run(async () => {
        const { irq } = setup_irq(rec_chip([]), handle_level_irq);
        expect(await request_threaded_irq(irq, null, h, IRQF_SHARED | IRQF_ONESHOT, "first", {})).to.equal(0);
        expect(await request_threaded_irq(irq, h, null, IRQF_SHARED, "second", {})).to.equal(-EBUSY);
        expect(logged(m, "Flags mismatch")).to.deep.equal([`genirq: Flags mismatch irq ${irq}. 00000080 (second) vs. 00002080 (first)`]);
      });
    });

    it("B2 validation order and errnos; bad flags print nothing", async () => {
      const m = await machine();
      m.expectSplat(/request_threaded_irq/);
      await m.run(async () => {
        const { irq, desc } = setup_irq(rec_chip([]));
        const before = dmesgLines(m).length;
        expect(await request_threaded_irq(IRQ_NOTCONNECTED, h, null, IRQF_SHARED, "x", null)).to.equal(-ENOTCONN);
        expect(await request_irq(irq, h, IRQF_SHARED, "x", null)).to.equal(-EINVAL);
        expect(await request_irq(irq, h, IRQF_SHARED | IRQF_NO_AUTOEN, "x", {})).to.equal(-EINVAL);
        expect(await request_irq(irq, h, IRQF_COND_SUSPEND, "x", {})).to.equal(-EINVAL);
        expect(await request_irq(irq, h, IRQF_SHARED | IRQF_NO_SUSPEND | IRQF_COND_SUSPEND, "x", {})).to.equal(-EINVAL);
        expect(await request_irq(0x7ffff0, h, 0, "x", null)).to.equal(-EINVAL);
        expect(await request_threaded_irq(irq, null, null, 0, "x", null)).to.equal(-EINVAL);
        expect(dmesgLines(m).length).to.equal(before);
        expect(desc.action).to.equal(null);
        expect(desc.depth).to.equal(1);
        // IRQ_NOREQUEST: silent; it is checked before the per-cpu-devid WARN_ON
        irq_modify_status(irq, 0, IRQ_NOREQUEST | IRQ_PER_CPU_DEVID);
        expect(await request_irq(irq, h, 0, "x", null)).to.equal(-EINVAL);
        expect(m.splats()).to.have.length(0);
        irq_modify_status(irq, IRQ_NOREQUEST, 0);
        expect(await request_irq(irq, h, 0, "x", null)).to.equal(-EINVAL);
        expect(logged(m, /^WARNING: .* at request_threaded_irq$/)).to.have.length(1);
      });
    });

    it("B2 handler == NULL with a thread_fn installs irq_default_primary_handler", async () => {
      await run(async () => {
        const { irq, desc } = setup_irq(rec_chip([]));
        expect(await request_threaded_irq(irq, null, h, IRQF_ONESHOT, "thr", null)).to.equal(0);
        expect(desc.action!.handler).to.equal(irq_default_primary_handler);
        expect(desc.action!.thread!.comm).to.equal(`irq/${irq}-thr`);
      });
    });

    it("B3 request_any_context_irq: IRQC_IS_NESTED on a nested-thread line (handler becomes the thread fn), else IRQC_IS_HARDIRQ", async () => {
      await run(async () => {
        const a = setup_irq(rec_chip([]));
        irq_modify_status(a.irq, 0, IRQ_NESTED_THREAD);
        expect(await request_any_context_irq(a.irq, h, IRQF_ONESHOT, "nested", null)).to.equal(IRQC_IS_NESTED);
        expect(a.desc.action!.handler).to.equal(irq_nested_primary_handler);
        expect(a.desc.action!.thread_fn).to.equal(h);
        const b = setup_irq(rec_chip([]));
        expect(await request_any_context_irq(b.irq, h, 0, "hard", null)).to.equal(IRQC_IS_HARDIRQ);
        expect(await request_any_context_irq(IRQ_NOTCONNECTED, h, 0, "x", null)).to.equal(-ENOTCONN);
        expect(await request_any_context_irq(0x7ffff0, h, 0, "x", null)).to.equal(-EINVAL);
        expect(await request_any_context_irq(b.irq, h, 0, "again", null)).to.equal(-EBUSY);
      });
    });
  });

  describe("B4 __setup_irq", () => {
    it("B4/B46 first request on a bus-locked chip: irq_bus_lock, irq_request_resources, irq_set_type, irq_startup, affinity, irq_bus_sync_unlock", async () => {
      const log: string[] = [];
      const ctx: string[] = [];
      await run(async () => {
        let desc: irq_desc | null = null;
        const s = setup_irq(ctx_chip(log, ctx, () => desc, { flags: IRQCHIP_SET_TYPE_MASKED }), handle_edge_irq);
        desc = s.desc;
        expect(await request_irq(s.irq, h, IRQF_TRIGGER_RISING, "b4", null)).to.equal(0);
        expect(log).to.deep.equal([
          "irq_bus_lock",
          "irq_request_resources",
          "irq_set_type(1)",
          "irq_startup",
          "irq_set_affinity(0,1)",
          "irq_bus_sync_unlock",
        ]);
        // B46: resources outside desc->lock with interrupts on; the rest under it
        expect(ctx).to.deep.equal([
          "irq_bus_lock:unlocked",
          "irq_request_resources:unlocked",
          "irq_set_type:locked,irqs-off",
          "irq_startup:locked,irqs-off",
          "irq_set_affinity:locked,irqs-off",
          "irq_bus_sync_unlock:unlocked",
        ]);
        expect(desc.depth).to.equal(0);
        expect(irqd_get_trigger_type(desc.irq_data)).to.equal(IRQ_TYPE_EDGE_RISING);
      });
    });

    it("B4 a later shared request only takes the bus lock: no resources, type or startup", async () => {
      const log: string[] = [];
      await run(async () => {
        const { irq } = setup_irq(ctx_chip(log, [], () => null), handle_edge_irq);
        expect(await request_irq(irq, h, IRQF_SHARED | IRQF_TRIGGER_RISING, "a", {})).to.equal(0);
        log.length = 0;
        expect(await request_irq(irq, h, IRQF_SHARED | IRQF_TRIGGER_RISING, "b", {})).to.equal(0);
        expect(log).to.deep.equal(["irq_bus_lock", "irq_bus_sync_unlock"]);
      });
    });

    it("B4 a sleeping irq_bus_lock (slow-bus chip) makes request_irq sleep, and it still completes", async () => {
      const log: string[] = [];
      await run(async () => {
        const bus = new mutex("&slowbus->lock");
        const chip = rec_chip(log, {
          cbs: ["irq_bus_lock", "irq_bus_sync_unlock", "irq_mask", "irq_unmask"],
          impl: {
            irq_bus_lock: () => mutex_lock(bus),
            irq_bus_sync_unlock: async () => {
              await msleep(1); // the I2C write
              mutex_unlock(bus);
            },
          },
        });
        const { irq, desc } = setup_irq(chip, handle_level_irq);
        const t0 = K.sim.now;
        expect(await request_irq(irq, h, 0, "slow", null)).to.equal(0);
        expect(K.sim.now).to.be.greaterThan(t0);
        expect(log).to.deep.equal(["irq_bus_lock", "irq_unmask", "irq_bus_sync_unlock"]);
        expect(desc.depth).to.equal(0);
        log.length = 0;
        await disable_irq(irq);
        await enable_irq(irq);
        expect(log).to.deep.equal(["irq_bus_lock", "irq_bus_sync_unlock", "irq_bus_lock", "irq_bus_sync_unlock"]);
      });
    });

    it("B4 irq_request_resources failure: 'genirq: Failed to request resources ...', no irq_release_resources", async () => {
      const log: string[] = [];
      const m = await machine();
      await m.run(async () => {
        const chip = rec_chip(log, { name: "resfail", cbs: ["irq_bus_lock", "irq_bus_sync_unlock", "irq_request_resources", "irq_release_resources"], impl: { irq_request_resources: () => -EIO } });
        const { irq, desc } = setup_irq(chip);
        expect(await request_irq(irq, h, 0, "dev", null)).to.equal(-EIO);
        expect(log).to.deep.equal(["irq_bus_lock", "irq_request_resources", "irq_bus_sync_unlock"]);
        expect(logged(m, "Failed to request resources")).to.deep.equal([`genirq: Failed to request resources for dev (irq ${irq}) on irqchip resfail`]);
        expect(desc.action).to.equal(null);
      });
    });

    it("B4 a later failure (irq_set_type) releases the resources, keeps nothing and prints the trigger error", async () => {
      const log: string[] = [];
      const m = await machine();
      await m.run(async () => {
        const chip = rec_chip(log, {
          cbs: ["irq_bus_lock", "irq_bus_sync_unlock", "irq_request_resources", "irq_release_resources", "irq_set_type"],
          impl: { irq_set_type: () => -EIO },
        });
        const { irq, desc } = setup_irq(chip);
        expect(await request_irq(irq, h, IRQF_TRIGGER_HIGH, "dev", null)).to.equal(-EIO);
        expect(log).to.deep.equal(["irq_bus_lock", "irq_request_resources", "irq_set_type(4)", "irq_release_resources", "irq_bus_sync_unlock"]);
        expect(desc.action).to.equal(null);
        expect(desc.depth).to.equal(1);
        expect(logged(m, "Setting trigger mode")).to.have.length(1);
        expect(logged(m, "Setting trigger mode")[0]).to.match(new RegExp(`^genirq: Setting trigger mode 4 for irq ${irq} failed \\(.*\\)$`));
      });
    });

    it("B4 no_irq_chip -> -ENOSYS; nested without thread_fn -> -EINVAL; a ONESHOT_SAFE chip strips IRQF_ONESHOT", async () => {
      await run(async () => {
        const a = setup_irq(rec_chip([]));
        irq_set_chip(a.irq, null);
        expect(await request_irq(a.irq, h, 0, "x", null)).to.equal(-ENOSYS);
        const b = setup_irq(rec_chip([]));
        irq_modify_status(b.irq, 0, IRQ_NESTED_THREAD);
        expect(await request_irq(b.irq, h, 0, "x", null)).to.equal(-EINVAL);
        const c = setup_irq(rec_chip([], { flags: IRQCHIP_ONESHOT_SAFE }));
        expect(await request_threaded_irq(c.irq, null, h, IRQF_ONESHOT, "safe", null)).to.equal(0);
        expect(c.desc.action!.flags & IRQF_ONESHOT).to.equal(0);
        expect(c.desc.istate & IRQS_ONESHOT).to.equal(0);
        expect(c.desc.action!.thread_mask).to.equal(0n);
        // and the threaded-only request without ONESHOT is fine on it
        const d = setup_irq(rec_chip([], { flags: IRQCHIP_ONESHOT_SAFE }));
        expect(await request_threaded_irq(d.irq, null, h, 0, "safe2", null)).to.equal(0);
      });
    });

    it("B4 handler=NULL without ONESHOT: 'genirq: Threaded irq requested with handler=NULL and !ONESHOT for %s (irq %d)', -EINVAL", async () => {
      const m = await machine();
      await m.run(async () => {
        const { irq, desc } = setup_irq(rec_chip([]));
        expect(await request_threaded_irq(irq, null, h, 0, "nullh", null)).to.equal(-EINVAL);
        expect(logged(m, "Threaded irq requested")).to.deep.equal([`genirq: Threaded irq requested with handler=NULL and !ONESHOT for nullh (irq ${irq})`]);
        expect(desc.action).to.equal(null);
        await msleep(1);
        // the thread created for it was stopped again
        expect([...K.sim.tasks].some((t) => (t as { comm?: string }).comm === `irq/${irq}-nullh` && !t.done)).to.equal(false);
      });
    });

    it("B4 an existing trigger type is re-applied on the first request and inherited by flag-less requests", async () => {
      const log: string[] = [];
      await run(async () => {
        const { irq, desc } = setup_irq(rec_chip(log, { cbs: ["irq_set_type", "irq_mask", "irq_unmask"] }));
        irqd_set_trigger_type(desc.irq_data, IRQ_TYPE_LEVEL_LOW);
        expect(await request_irq(irq, h, 0, "inherit", null)).to.equal(0);
        expect(log).to.deep.equal(["irq_set_type(8)", "irq_unmask"]);
        expect(desc.action!.flags & 0xf).to.equal(IRQ_TYPE_LEVEL_LOW);
        expect(desc.status_use_accessors & IRQ_LEVEL).to.equal(IRQ_LEVEL);
      });
    });

    it("B4/B19 IRQF_NO_AUTOEN / IRQ_NOAUTOEN: depth 1, not started; an extra disable makes depth 2 silently; the first enable to depth 0 starts it", async () => {
      const log: string[] = [];
      await run(async () => {
        const a = setup_irq(rec_chip(log, { cbs: ["irq_startup", "irq_mask", "irq_unmask"] }));
        expect(await request_irq(a.irq, h, IRQF_NO_AUTOEN, "noauto", null)).to.equal(0);
        expect(a.desc.depth).to.equal(1);
        expect(irqd_is_started(a.desc.irq_data)).to.equal(false);
        await disable_irq(a.irq);
        expect(a.desc.depth).to.equal(2);
        expect(log).to.deep.equal([]);
        await enable_irq(a.irq);
        expect(log).to.deep.equal([]);
        await enable_irq(a.irq);
        expect(log).to.deep.equal(["irq_startup"]);
        expect(a.desc.depth).to.equal(0);
        expect(a.desc.status_use_accessors & IRQ_NOPROBE).to.equal(IRQ_NOPROBE);
        const b = setup_irq(rec_chip([]));
        irq_modify_status(b.irq, 0, IRQ_NOAUTOEN);
        expect(await request_irq(b.irq, h, 0, "noauto2", null)).to.equal(0);
        expect(b.desc.depth).to.equal(1);
        expect(irqd_is_started(b.desc.irq_data)).to.equal(false);
      });
    });

    it("B4 the first request clears AUTODETECT|SPURIOUS_DISABLED|ONESHOT|WAITING and every request resets the detector counts", async () => {
      await run(async () => {
        const { irq, desc } = setup_irq(rec_chip([]));
        desc.istate |= IRQS_AUTODETECT | IRQS_WAITING | IRQS_ONESHOT;
        expect(await request_irq(irq, h, IRQF_SHARED, "a", {})).to.equal(0);
        expect(desc.istate & (IRQS_AUTODETECT | IRQS_WAITING | IRQS_ONESHOT)).to.equal(0);
        desc.irq_count = 10;
        desc.irqs_unhandled = 5;
        expect(await request_irq(irq, h, IRQF_SHARED, "b", {})).to.equal(0);
        expect(desc.irq_count).to.equal(0);
        expect(desc.irqs_unhandled).to.equal(0);
      });
    });
  });

  describe("B6 shared-line rules", () => {
    it("B6 mismatches are -EBUSY with 'genirq: Flags mismatch irq %d. %08x (%s) vs. %08x (%s)'; IRQF_PROBE_SHARED only silences it", async () => {
      const m = await machine();
      await m.run(async () => {
        const { irq, desc } = setup_irq(rec_chip([], { cbs: ["irq_set_type", "irq_mask", "irq_unmask"] }));
        expect(await request_irq(irq, h, IRQF_SHARED | IRQF_TRIGGER_RISING, "first", {})).to.equal(0);
        expect(await request_irq(irq, h, 0, "unshared", {})).to.equal(-EBUSY);
        expect(await request_irq(irq, h, IRQF_SHARED | IRQF_TRIGGER_FALLING, "falling", {})).to.equal(-EBUSY);
        expect(await request_irq(irq, h, IRQF_SHARED | IRQF_PERCPU | IRQF_TRIGGER_RISING, "percpu", {})).to.equal(-EBUSY);
        expect(await request_threaded_irq(irq, null, h, IRQF_SHARED | IRQF_ONESHOT | IRQF_TRIGGER_RISING, "oneshot", {})).to.equal(-EBUSY);
        expect(await request_irq(irq, h, IRQF_PROBE_SHARED | IRQF_TRIGGER_FALLING, "probe", {})).to.equal(-EBUSY);
        expect(logged(m, "Flags mismatch")).to.deep.equal([
          `genirq: Flags mismatch irq ${irq}. 00200001 (unshared) vs. 00200081 (first)`,
          `genirq: Flags mismatch irq ${irq}. 00200082 (falling) vs. 00200081 (first)`,
          `genirq: Flags mismatch irq ${irq}. 00200481 (percpu) vs. 00200081 (first)`,
          `genirq: Flags mismatch irq ${irq}. 00002081 (oneshot) vs. 00200081 (first)`,
        ]);
        expect(desc.action!.next).to.equal(null);
        expect(desc.depth).to.equal(0);
      });
    });

    it("B6 a flag-less shared request inherits the recorded trigger; the comparison is against the first action", async () => {
      await run(async () => {
        const { irq, desc } = setup_irq(rec_chip([], { cbs: ["irq_set_type", "irq_mask", "irq_unmask"] }));
        expect(await request_irq(irq, h, IRQF_SHARED | IRQF_TRIGGER_HIGH, "a", {})).to.equal(0);
        expect(irqd_trigger_type_was_set(desc.irq_data)).to.equal(false);
        expect(await request_irq(irq, h, IRQF_SHARED, "b", {})).to.equal(0);
        expect(desc.action!.next!.flags & 0xf).to.equal(IRQF_TRIGGER_HIGH);
        expect(await request_irq(irq, h, IRQF_SHARED | IRQF_TRIGGER_HIGH, "c", {})).to.equal(0);
        expect([desc.action!.name, desc.action!.next!.name, desc.action!.next!.next!.name]).to.deep.equal(["a", "b", "c"]);
      });
    });

    it("B6 oneshot actions get consecutive thread_mask bits; the mask is BITS_PER_LONG (64) wide on x86-64", async () => {
      await run(async () => {
        const { irq, desc } = setup_irq(rec_chip([]));
        for (let i = 0; i < 64; i++) expect(await request_threaded_irq(irq, null, h, IRQF_SHARED | IRQF_ONESHOT, `t${i}`, { i }), `action ${i}`).to.equal(0);
        expect(await request_threaded_irq(irq, null, h, IRQF_SHARED | IRQF_ONESHOT, "t64", {})).to.equal(-EBUSY);
        let n = 0;
        for (let a = desc.action; a; a = a.next) n++;
        expect(n).to.equal(64);
        expect(desc.action!.next!.thread_mask).to.equal(2n);
        expect(desc.action!.next!.next!.thread_mask).to.equal(4n);
      });
    });
  });

  describe("B10/B11 freeing", () => {
    it("B10 free_irq returns the devname, removes the first matching dev_id and shuts the line down on the last free", async () => {
      const log: string[] = [];
      await run(async () => {
        const { irq, desc } = setup_irq(rec_chip(log, { cbs: ["irq_startup", "irq_shutdown", "irq_mask", "irq_unmask"] }));
        const dev = {};
        expect(await request_irq(irq, h, IRQF_SHARED, "one", dev)).to.equal(0);
        expect(await request_irq(irq, h, IRQF_SHARED, "two", dev)).to.equal(0);
        log.length = 0;
        expect(await free_irq(irq, dev)).to.equal("one");
        expect(log).to.deep.equal([]);
        expect(desc.depth).to.equal(0);
        expect(await free_irq(irq, dev)).to.equal("two");
        expect(log).to.deep.equal(["irq_shutdown"]);
        expect(desc.depth).to.equal(1);
        expect(desc.action).to.equal(null);
        expect(irq_has_action(irq)).to.equal(false);
      });
    });

    it("B11/B46 callback order of a last free on a bus-locked chip, with deactivate and release after synchronize", async () => {
      const log: string[] = [];
      const ctx: string[] = [];
      await run(async () => {
        let desc: irq_desc | null = null;
        const s = setup_irq(ctx_chip(log, ctx, () => desc));
        desc = s.desc;
        const dlog: string[] = [];
        s.desc.irq_data.domain = { name: "d", ops: { activate: () => (dlog.push("activate"), log.push("activate"), 0), deactivate: () => void log.push("deactivate") } } as never;
        expect(await request_irq(s.irq, h, 0, "b11", null)).to.equal(0);
        log.length = 0;
        ctx.length = 0;
        expect(await free_irq(s.irq, null)).to.equal("b11");
        expect(log).to.deep.equal([
          "irq_bus_lock",
          "irq_shutdown",
          "irq_bus_sync_unlock",
          "irq_get_irqchip_state(1)",
          "irq_bus_lock",
          "deactivate",
          "irq_release_resources",
          "irq_bus_sync_unlock",
        ]);
        expect(ctx).to.deep.equal([
          "irq_bus_lock:unlocked",
          "irq_shutdown:locked,irqs-off",
          "irq_bus_sync_unlock:unlocked",
          "irq_get_irqchip_state:locked,irqs-off",
          "irq_bus_lock:unlocked",
          "irq_release_resources:unlocked",
          "irq_bus_sync_unlock:unlocked",
        ]);
      });
    });

    it("B11 freeing an unknown dev_id or freeing twice WARNs 'Trying to free already-free IRQ %d', returns NULL and changes nothing", async () => {
      const m = await machine();
      m.expectSplat(/^Trying to free already-free IRQ \d+$/, 2);
      const log: string[] = [];
      await m.run(async () => {
        const { irq, desc } = setup_irq(rec_chip(log, { cbs: ["irq_bus_lock", "irq_bus_sync_unlock", "irq_mask", "irq_unmask"] }));
        const dev = {};
        expect(await request_irq(irq, h, 0, "x", dev)).to.equal(0);
        log.length = 0;
        expect(await free_irq(irq, {})).to.equal(null);
        expect(log).to.deep.equal(["irq_bus_lock", "irq_bus_sync_unlock"]);
        expect(desc.action!.name).to.equal("x");
        expect(desc.depth).to.equal(0);
        expect(await free_irq(irq, dev)).to.equal("x");
        expect(await free_irq(irq, dev)).to.equal(null);
        expect(desc.depth).to.equal(1);
      });
      expect(logged(m, /Trying to free already-free IRQ/)).to.have.length(2);
    });

    it("B10 free_irq of an unknown irq is silent; of a per-cpu-devid irq WARNs and returns NULL", async () => {
      const m = await machine();
      m.expectSplat(/at free_irq$/);
      await m.run(async () => {
        expect(await free_irq(0x7ffff0, null)).to.equal(null);
        expect(m.splats()).to.have.length(0);
        const { irq } = setup_irq(rec_chip([]));
        expect(irq_set_percpu_devid(irq)).to.equal(0);
        expect(await free_irq(irq, null)).to.equal(null);
      });
    });

    it("B10/B11 a left-over affinity notifier WARNs and is dropped; a left-over hint WARNs once and is cleared", async () => {
      const m = await machine();
      m.expectSplat(/at free_irq$/);
      m.expectSplat(/at __free_irq$/);
      await m.run(async () => {
        const { irq, desc } = setup_irq(rec_chip([], { cbs: ["irq_set_affinity", "irq_mask", "irq_unmask"] }));
        expect(await request_irq(irq, h, 0, "x", null)).to.equal(0);
        desc.affinity_notify = { irq, notify: () => undefined, release: () => undefined };
        expect(irq_set_affinity_hint(irq, cpumask_of(1))).to.equal(0);
        expect(await free_irq(irq, null)).to.equal("x");
        expect(desc.affinity_notify).to.equal(null);
        expect(desc.affinity_hint).to.equal(null);
      });
    });

    it("B11 free_irq from hard interrupt context WARNs 'Trying to free IRQ %d from IRQ context!'", async () => {
      const m = await machine();
      m.expectSplat(/^Trying to free IRQ \d+ from IRQ context!$/);
      // as in the kernel, __free_irq() then takes request_mutex in hardirq context
      m.expectSplat(/sleeping function called from invalid context/);
      m.expectSplat(/inconsistent lock state/);
      await m.run(async () => {
        const victim = setup_irq(rec_chip([]));
        expect(await request_irq(victim.irq, h, 0, "victim", null)).to.equal(0);
        const { irq, desc } = setup_irq(rec_chip([]), handle_simple_irq);
        expect(
          await request_irq(irq, () => {
            void free_irq(victim.irq, null);
            return IRQ_HANDLED;
          }, 0, "freer", null),
        ).to.equal(0);
        await fire(irq_line(desc), 1);
        expect(victim.desc.action).to.equal(null);
      });
    });
  });
});
