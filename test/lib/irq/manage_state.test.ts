// SPDX-License-Identifier: GPL-2.0-only
// genirq-B.md B14-B19, B35-B38, B43-B46: the state half of the driver-facing
// API of kernel/irq/manage.c (lib/irq/manage_state.ts): enable/disable,
// synchronize, trigger type, wake, irqchip state, the small helpers, and the
// bus-lock and lock-context rules. Requesting and freeing are in
// manage.test.ts.
import { expect } from "chai";
import {
  can_request_irq,
  disable_hardirq,
  disable_irq,
  disable_irq_nosync,
  enable_irq,
  irq_check_status_bit,
  irq_get_irqchip_state,
  irq_has_action,
  irq_set_irq_type,
  irq_set_irq_wake,
  irq_set_irqchip_state,
  irq_set_parent,
  request_irq,
  request_threaded_irq,
  synchronize_hardirq,
  synchronize_irq,
  enable_irq_wake,
  disable_irq_wake,
  irq_set_affinity,
} from "../../../lib/irq/manage.ts";
import { irq_data_set_chip, irq_modify_status } from "../../../lib/irq/chip.ts";
import { handle_edge_irq } from "../../../lib/irq/flow.ts";
import { irq_set_percpu_devid } from "../../../lib/irq/manage_percpu.ts";
import {
  irq_data,
  irqd_get_trigger_type,
  irqd_irq_disabled,
  irqd_irq_masked,
  irqd_is_wakeup_set,
  irqd_trigger_type_was_set,
  IRQ_LEVEL,
  IRQ_NOREQUEST,
  IRQ_PER_CPU_DEVID,
  IRQ_SET_MASK_OK_NOCOPY,
  IRQ_TYPE_EDGE_FALLING,
  IRQ_TYPE_EDGE_RISING,
  IRQ_TYPE_LEVEL_HIGH,
  IRQ_TYPE_LEVEL_LOW,
  IRQCHIP_SET_TYPE_MASKED,
  IRQCHIP_SKIP_SET_WAKE,
  IRQCHIP_STATE_ACTIVE,
  IRQCHIP_STATE_MASKED,
  IRQCHIP_STATE_PENDING,
  IRQD_IRQ_INPROGRESS,
  IRQD_LEVEL,
  irqd_set,
  irqd_clear,
  irqd_set_trigger_type,
} from "../../../lib/irq/irq.ts";
import { IRQ_HANDLED, IRQ_WAKE_THREAD, IRQF_SHARED } from "../../../lib/irq/interrupt.ts";
import { IRQS_SUSPENDED } from "../../../lib/irq/internals.ts";
import { EINVAL, EIO, ENODEV, ENXIO } from "../../../lib/kernel/errno.ts";
import { K } from "../../../lib/kernel/kernel.ts";
import { irqs_disabled } from "../../../lib/kernel/context.ts";
import { msleep } from "../../../lib/kernel/delay.ts";
import { cpumask_of } from "../../../lib/kernel/cpumask.ts";
import { raw_spinlock_t, raw_spin_lock_irqsave, raw_spin_unlock_irqrestore } from "../../../lib/kernel/spinlock.ts";
import { irqlab_handler_busy } from "../../../lib/kernel/frame.ts";
import type { irq_desc } from "../../../lib/irq/irqdesc.ts";
import { fire, irq_line, logged, machine, rec_chip, run, setup_irq, MASK_CHIP } from "./fixture.ts";
import { dmesgLines } from "../../harness.ts";
import { ctx_chip, h } from "./manage_fixture.ts";

describe("genirq-B management API (kernel/irq/manage.c)", () => {
  describe("B14-B19 enable, disable, synchronize", () => {
    it("B14 enable_irq at depth 0 WARNs 'Unbalanced enable for IRQ %d' and changes nothing", async () => {
      const m = await machine();
      m.expectSplat(/^Unbalanced enable for IRQ \d+$/);
      const log: string[] = [];
      await m.run(async () => {
        const { irq, desc } = setup_irq(rec_chip(log));
        expect(await request_irq(irq, h, 0, "x", null)).to.equal(0);
        const st = desc.irq_common_data.state_use_accessors;
        log.length = 0;
        await enable_irq(irq);
        expect(desc.depth).to.equal(0);
        expect(desc.irq_common_data.state_use_accessors).to.equal(st);
        expect(log).to.deep.equal([]);
      });
      expect(dmesgLines(m).filter((l) => /Unbalanced enable/.test(l))).to.have.length(1);
      expect(dmesgLines(m).some((l) => /^WARNING: CPU: \d+ PID: \d+ at __enable_irq$/.test(l))).to.equal(true);
    });

    it("B14 at depth 1 with IRQS_SUSPENDED the enable is unbalanced too; deeper enables just decrement", async () => {
      const m = await machine();
      m.expectSplat(/^Unbalanced enable for IRQ \d+$/);
      await m.run(async () => {
        const { irq, desc } = setup_irq(rec_chip([]));
        expect(await request_irq(irq, h, 0, "x", null)).to.equal(0);
        await disable_irq(irq);
        await disable_irq(irq);
        desc.istate |= IRQS_SUSPENDED;
        await enable_irq(irq);
        expect(desc.depth).to.equal(1);
        await enable_irq(irq);
        expect(desc.depth).to.equal(1);
        expect(irqd_irq_disabled(desc.irq_data)).to.equal(true);
        desc.istate &= ~IRQS_SUSPENDED;
        await enable_irq(irq);
        expect(desc.depth).to.equal(0);
      });
    });

    it("B14/B15 unknown or per-cpu-devid irqs: enable/disable are silent no-ops", async () => {
      const m = await machine();
      await m.run(async () => {
        await enable_irq(0x7ffff0);
        await disable_irq_nosync(0x7ffff0);
        await disable_irq(0x7ffff0);
        expect(disable_hardirq(0x7ffff0)).to.equal(false);
        const { irq, desc } = setup_irq(rec_chip([]));
        expect(irq_set_percpu_devid(irq)).to.equal(0);
        await disable_irq(irq);
        await enable_irq(irq);
        expect(desc.depth).to.equal(1);
      });
      expect(m.splats()).to.have.length(0);
    });

    it("A35/B15 disable depth nests without bound; only 0->1 calls irq_disable and only 1->0 re-enables", async () => {
      const log: string[] = [];
      await run(async () => {
        const { irq, desc } = setup_irq(rec_chip(log, { cbs: ["irq_enable", "irq_disable", "irq_mask", "irq_unmask"] }));
        expect(await request_irq(irq, h, 0, "x", null)).to.equal(0);
        log.length = 0;
        for (let i = 0; i < 5; i++) await disable_irq_nosync(irq);
        expect(desc.depth).to.equal(5);
        expect(log).to.deep.equal(["irq_disable"]);
        for (let i = 0; i < 4; i++) await enable_irq(irq);
        expect(log).to.deep.equal(["irq_disable"]);
        await enable_irq(irq);
        expect(log).to.deep.equal(["irq_disable", "irq_enable"]);
        expect(desc.depth).to.equal(0);
      });
    });

    it("B16 disable_irq in atomic context reports 'BUG: sleeping function called from invalid context'", async () => {
      const m = await machine();
      m.expectSplat(/sleeping function called from invalid context/);
      await m.run(async () => {
        const { irq, desc } = setup_irq(rec_chip([]));
        expect(await request_irq(irq, h, 0, "x", null)).to.equal(0);
        const l = new raw_spinlock_t("&b16_lock");
        const f = raw_spin_lock_irqsave(l);
        await disable_irq(irq);
        raw_spin_unlock_irqrestore(l, f);
        expect(desc.depth).to.equal(1);
      });
      expect(logged(m, /^BUG: sleeping function called from invalid context at kernel\/irq\/manage\.c:\d+$/)).to.have.length(1);
    });

    it("B17 disable_hardirq returns false while a threaded handler is active, true otherwise", async () => {
      await run(async () => {
        const { irq, desc } = setup_irq(rec_chip([]), handle_edge_irq);
        const dev = {};
        expect(
          await request_threaded_irq(irq, () => IRQ_WAKE_THREAD, async () => {
            await msleep(5);
            return IRQ_HANDLED;
          }, 0, "b17", dev),
        ).to.equal(0);
        await fire(irq_line(desc), 1);
        expect(desc.threads_active).to.equal(1);
        expect(disable_hardirq(irq)).to.equal(false);
        await msleep(10);
        expect(disable_hardirq(irq)).to.equal(true);
        expect(desc.depth).to.equal(2);
      });
    });

    it("B18 synchronize_hardirq/irq on unknown irqs: true / no-op; synchronize_irq also waits for a chip-level ACTIVE state", async () => {
      const log: string[] = [];
      await run(async () => {
        expect(synchronize_hardirq(0x7ffff0)).to.equal(true);
        await synchronize_irq(0x7ffff0);
        let active = 3;
        const { irq } = setup_irq(
          rec_chip(log, {
            cbs: ["irq_get_irqchip_state", "irq_mask", "irq_unmask"],
            impl: {
              irq_get_irqchip_state: (_d: irq_data, which: number, st: { value: boolean }) => {
                st.value = which === IRQCHIP_STATE_ACTIVE && active-- > 0;
                return 0;
              },
            } as never,
          }),
        );
        // synchronize_hardirq never asks the chip
        expect(synchronize_hardirq(irq)).to.equal(true);
        expect(log).to.deep.equal([]);
        await synchronize_irq(irq);
        expect(log).to.deep.equal(["irq_get_irqchip_state(1)", "irq_get_irqchip_state(1)", "irq_get_irqchip_state(1)", "irq_get_irqchip_state(1)"]);
      });
    });

    it("B18 synchronize_hardirq waits while IRQD_IRQ_INPROGRESS is set", async () => {
      await run(() => {
        const { irq, desc } = setup_irq(rec_chip([]));
        irqd_set(desc.irq_data, IRQD_IRQ_INPROGRESS);
        const t0 = K.sim.now;
        K.sim.at(t0 + 7000, () => irqd_clear(desc.irq_data, IRQD_IRQ_INPROGRESS));
        expect(synchronize_hardirq(irq)).to.equal(true);
        expect(K.sim.now - t0).to.be.at.least(7000);
      });
    });
  });

  describe("B35 irq_set_irq_type", () => {
    it("B35 no desc -> -EINVAL; a chip without irq_set_type -> 0 and nothing recorded", async () => {
      await run(async () => {
        expect(await irq_set_irq_type(0x7ffff0, IRQ_TYPE_LEVEL_HIGH)).to.equal(-EINVAL);
        const { irq, desc } = setup_irq(rec_chip([]));
        expect(await irq_set_irq_type(irq, IRQ_TYPE_LEVEL_HIGH)).to.equal(0);
        expect(irqd_get_trigger_type(desc.irq_data)).to.equal(0);
        expect(desc.status_use_accessors & IRQ_LEVEL).to.equal(0);
        irq_modify_status(irq, 0, IRQ_PER_CPU_DEVID);
        expect(await irq_set_irq_type(irq, IRQ_TYPE_LEVEL_HIGH)).to.equal(-EINVAL);
      });
    });

    it("B35 IRQCHIP_SET_TYPE_MASKED: mask, set_type, unmask only if not disabled; LEVEL sets IRQ_LEVEL and IRQD_LEVEL", async () => {
      const log: string[] = [];
      await run(async () => {
        const { irq, desc } = setup_irq(rec_chip(log, { cbs: ["irq_set_type", "irq_mask", "irq_unmask", "irq_bus_lock", "irq_bus_sync_unlock"], flags: IRQCHIP_SET_TYPE_MASKED }));
        expect(await request_irq(irq, h, 0, "x", null)).to.equal(0);
        log.length = 0;
        expect(await irq_set_irq_type(irq, IRQ_TYPE_LEVEL_HIGH | 0x100)).to.equal(0);
        expect(log).to.deep.equal(["irq_bus_lock", "irq_mask", "irq_set_type(4)", "irq_unmask", "irq_bus_sync_unlock"]);
        expect(desc.status_use_accessors & IRQ_LEVEL).to.equal(IRQ_LEVEL);
        expect(desc.irq_common_data.state_use_accessors & IRQD_LEVEL).to.equal(IRQD_LEVEL);
        expect(irqd_trigger_type_was_set(desc.irq_data)).to.equal(false);
        await disable_irq(irq);
        log.length = 0;
        expect(await irq_set_irq_type(irq, IRQ_TYPE_EDGE_RISING)).to.equal(0);
        expect(log).to.deep.equal(["irq_bus_lock", "irq_mask", "irq_set_type(1)", "irq_bus_sync_unlock"]);
        expect(desc.status_use_accessors & IRQ_LEVEL).to.equal(0);
        expect(irqd_irq_masked(desc.irq_data)).to.equal(true);
      });
    });

    it("B35 an error: 'genirq: Setting trigger mode %lu for irq %u failed (%pS)', returned unchanged, state unchanged, unmask still done", async () => {
      const log: string[] = [];
      const m = await machine();
      await m.run(async () => {
        function bad_set_type(): number {
          return -EIO;
        }
        const { irq, desc } = setup_irq(rec_chip(log, { cbs: ["irq_set_type", "irq_mask", "irq_unmask"], flags: IRQCHIP_SET_TYPE_MASKED, impl: { irq_set_type: bad_set_type } }));
        expect(await request_irq(irq, h, 0, "x", null)).to.equal(0);
        log.length = 0;
        const st = desc.irq_common_data.state_use_accessors;
        expect(await irq_set_irq_type(irq, IRQ_TYPE_EDGE_FALLING)).to.equal(-EIO);
        expect(desc.irq_common_data.state_use_accessors).to.equal(st);
        expect(log).to.deep.equal(["irq_mask", "irq_set_type(2)", "irq_unmask"]);
        expect(logged(m, "Setting trigger mode")).to.have.length(1);
        expect(logged(m, "Setting trigger mode")[0]).to.match(new RegExp(`^genirq: Setting trigger mode 2 for irq ${irq} failed \\(`));
      });
    });

    it("B35 IRQ_SET_MASK_OK_NOCOPY: the type the chip stored in irq_data is read back", async () => {
      await run(async () => {
        const { irq, desc } = setup_irq(
          rec_chip([], { cbs: ["irq_set_type"], impl: { irq_set_type: ((d: irq_data) => (irqd_set_trigger_type(d, IRQ_TYPE_LEVEL_LOW), IRQ_SET_MASK_OK_NOCOPY)) as never } }),
        );
        expect(await irq_set_irq_type(irq, IRQ_TYPE_EDGE_RISING)).to.equal(0);
        expect(irqd_get_trigger_type(desc.irq_data)).to.equal(IRQ_TYPE_LEVEL_LOW);
        expect(desc.status_use_accessors & 0xf).to.equal(IRQ_TYPE_LEVEL_LOW);
        expect(desc.status_use_accessors & IRQ_LEVEL).to.equal(IRQ_LEVEL);
      });
    });
  });

  describe("B36 wake", () => {
    it("B36 only the 0<->1 wake_depth edges call irq_set_wake; IRQD_WAKEUP_STATE follows", async () => {
      const log: string[] = [];
      await run(async () => {
        const { irq, desc } = setup_irq(rec_chip(log, { cbs: ["irq_set_wake", "irq_bus_lock", "irq_bus_sync_unlock"] }));
        expect(await enable_irq_wake(irq)).to.equal(0);
        expect(await enable_irq_wake(irq)).to.equal(0);
        expect(desc.wake_depth).to.equal(2);
        expect(irqd_is_wakeup_set(desc.irq_data)).to.equal(true);
        expect(await disable_irq_wake(irq)).to.equal(0);
        expect(await disable_irq_wake(irq)).to.equal(0);
        expect(irqd_is_wakeup_set(desc.irq_data)).to.equal(false);
        expect(log.filter((l) => l.startsWith("irq_set_wake"))).to.deep.equal(["irq_set_wake(1)", "irq_set_wake(0)"]);
        expect(log.filter((l) => l === "irq_bus_lock")).to.have.length(4);
        expect(desc.depth).to.equal(1);
      });
    });

    it("B36 IRQCHIP_SKIP_SET_WAKE succeeds without a call; no irq_set_wake -> -ENXIO with wake_depth restored", async () => {
      const log: string[] = [];
      await run(async () => {
        const a = setup_irq(rec_chip(log, { cbs: ["irq_set_wake"], flags: IRQCHIP_SKIP_SET_WAKE }));
        expect(await irq_set_irq_wake(a.irq, 1)).to.equal(0);
        expect(irqd_is_wakeup_set(a.desc.irq_data)).to.equal(true);
        expect(log).to.deep.equal([]);
        const b = setup_irq(rec_chip(log, { cbs: [] }));
        expect(await irq_set_irq_wake(b.irq, 1)).to.equal(-ENXIO);
        expect(b.desc.wake_depth).to.equal(0);
        expect(irqd_is_wakeup_set(b.desc.irq_data)).to.equal(false);
        expect(await irq_set_irq_wake(0x7ffff0, 1)).to.equal(-EINVAL);
      });
    });

    it("B36 a failing disable restores wake_depth 1; an unbalanced disable WARNs 'Unbalanced IRQ %d wake disable' and returns 0", async () => {
      const m = await machine();
      m.expectSplat(/^Unbalanced IRQ \d+ wake disable$/);
      await m.run(async () => {
        let fail = false;
        const { irq, desc } = setup_irq(rec_chip([], { cbs: ["irq_set_wake"], impl: { irq_set_wake: () => (fail ? -EIO : 0) } }));
        expect(await irq_set_irq_wake(irq, 1)).to.equal(0);
        fail = true;
        expect(await irq_set_irq_wake(irq, 0)).to.equal(-EIO);
        expect(desc.wake_depth).to.equal(1);
        expect(irqd_is_wakeup_set(desc.irq_data)).to.equal(true);
        fail = false;
        expect(await irq_set_irq_wake(irq, 0)).to.equal(0);
        expect(await irq_set_irq_wake(irq, 0)).to.equal(0);
        expect(desc.wake_depth).to.equal(0);
      });
      expect(logged(m, /Unbalanced IRQ \d+ wake disable/)).to.have.length(1);
    });
  });

  describe("B37/B38 irqchip state and small helpers", () => {
    it("B37 the state calls walk up to the first level implementing them; none -> -EINVAL; a NULL chip -> WARN, -ENODEV", async () => {
      const m = await machine();
      m.expectSplat(/__irq_get_irqchip_state|irq_set_irqchip_state/, 2);
      const log: string[] = [];
      await m.run(async () => {
        const { irq, desc } = setup_irq(rec_chip(log, { cbs: [] }));
        expect(await irq_get_irqchip_state(irq, IRQCHIP_STATE_PENDING, { value: false })).to.equal(-EINVAL);
        expect(await irq_set_irqchip_state(irq, IRQCHIP_STATE_MASKED, true)).to.equal(-EINVAL);
        const p = new irq_data(irq, desc.irq_common_data, desc.irq_data.chip);
        irq_data_set_chip(p, rec_chip(log, { name: "parent", cbs: ["irq_get_irqchip_state", "irq_set_irqchip_state"], impl: { irq_set_irqchip_state: () => -EIO } }));
        desc.irq_data.parent_data = p;
        expect(await irq_get_irqchip_state(irq, IRQCHIP_STATE_PENDING, { value: false })).to.equal(0);
        expect(await irq_set_irqchip_state(irq, IRQCHIP_STATE_MASKED, true)).to.equal(-EIO);
        expect(log).to.deep.equal(["irq_get_irqchip_state(0)", "irq_set_irqchip_state(2)"]);
        // setting MASKED through this API does not touch IRQD_IRQ_MASKED
        expect(irqd_irq_masked(desc.irq_data)).to.equal(true);
        expect(await irq_get_irqchip_state(0x7ffff0, IRQCHIP_STATE_PENDING, { value: false })).to.equal(-EINVAL);
        (p as { chip: unknown }).chip = null;
        expect(await irq_get_irqchip_state(irq, IRQCHIP_STATE_PENDING, { value: false })).to.equal(-ENODEV);
        expect(await irq_set_irqchip_state(irq, IRQCHIP_STATE_PENDING, true)).to.equal(-ENODEV);
      });
    });

    it("B38 can_request_irq, irq_set_parent, irq_has_action, irq_check_status_bit", async () => {
      await run(async () => {
        const { irq, desc } = setup_irq(rec_chip([]));
        expect(can_request_irq(irq, 0)).to.equal(true);
        expect(await request_irq(irq, h, IRQF_SHARED, "x", {})).to.equal(0);
        expect(can_request_irq(irq, 0)).to.equal(false);
        expect(can_request_irq(irq, IRQF_SHARED)).to.equal(true);
        expect(can_request_irq(0x7ffff0, IRQF_SHARED)).to.equal(false);
        expect(irq_has_action(irq)).to.equal(true);
        expect(irq_has_action(0x7ffff0)).to.equal(false);
        expect(irq_set_parent(irq, 3)).to.equal(0);
        expect(desc.parent_irq).to.equal(3);
        expect(irq_set_parent(0x7ffff0, 3)).to.equal(-EINVAL);
        irq_modify_status(irq, 0, IRQ_NOREQUEST);
        expect(irq_check_status_bit(irq, IRQ_NOREQUEST)).to.equal(true);
        expect(irq_check_status_bit(irq, IRQ_LEVEL)).to.equal(false);
        expect(can_request_irq(irq, IRQF_SHARED)).to.equal(false);
        irq_modify_status(irq, 0, IRQ_PER_CPU_DEVID);
        expect(can_request_irq(irq, IRQF_SHARED)).to.equal(false);
      });
    });
  });

  describe("B43-B46 the bus lock and lock context", () => {
    it("B44 disable/enable, wake, type and irqchip-state APIs take the bus lock around desc->lock", async () => {
      const log: string[] = [];
      const ctx: string[] = [];
      await run(async () => {
        let desc: irq_desc | null = null;
        const s = setup_irq(ctx_chip(log, ctx, () => desc));
        desc = s.desc;
        expect(await request_irq(s.irq, h, 0, "x", null)).to.equal(0);
        for (const [name, fn] of [
          ["disable_irq_nosync", () => disable_irq_nosync(s.irq)],
          ["disable_irq", () => disable_irq(s.irq)],
          ["enable_irq", () => enable_irq(s.irq)],
          ["irq_set_irq_wake", () => irq_set_irq_wake(s.irq, 1)],
          ["irq_set_irq_type", () => irq_set_irq_type(s.irq, IRQ_TYPE_EDGE_RISING)],
          ["irq_get_irqchip_state", () => irq_get_irqchip_state(s.irq, IRQCHIP_STATE_PENDING, { value: false })],
          ["irq_set_irqchip_state", () => irq_set_irqchip_state(s.irq, IRQCHIP_STATE_PENDING, false)],
        ] as const) {
          ctx.length = 0;
          await (fn as () => Promise<unknown>)();
          // disable_irq() synchronizes after dropping the bus lock (B16)
          if (name === "disable_irq") expect(ctx.pop(), name).to.equal("irq_get_irqchip_state:locked,irqs-off");
          expect(ctx[0], name).to.equal("irq_bus_lock:unlocked");
          expect(ctx[ctx.length - 1], name).to.equal("irq_bus_sync_unlock:unlocked");
          for (const c of ctx.slice(1, -1)) expect(c, name).to.match(/:locked,irqs-off$/);
        }
      });
    });

    it("B45 irq_set_affinity and synchronize_irq do not take the bus lock", async () => {
      const log: string[] = [];
      const ctx: string[] = [];
      await run(async () => {
        let desc: irq_desc | null = null;
        const s = setup_irq(ctx_chip(log, ctx, () => desc));
        desc = s.desc;
        expect(await request_irq(s.irq, h, 0, "x", null)).to.equal(0);
        ctx.length = 0;
        expect(irq_set_affinity(s.irq, cpumask_of(1))).to.equal(0);
        await synchronize_irq(s.irq);
        expect(ctx).to.deep.equal(["irq_set_affinity:locked,irqs-off", "irq_get_irqchip_state:locked,irqs-off"]);
      });
    });

    it("B43 a handler runs with desc->lock dropped and IRQD_IRQ_INPROGRESS set; the ack/eoi callbacks under the lock", async () => {
      const ctx: string[] = [];
      await run(async () => {
        let desc: irq_desc | null = null;
        const chip = rec_chip([], {
          cbs: [...MASK_CHIP, "irq_eoi"],
          impl: {
            irq_ack: () => void ctx.push(`ack locked=${desc!.lock.owner >= 0}`),
          },
        });
        const s = setup_irq(chip, handle_edge_irq);
        desc = s.desc;
        expect(
          await request_irq(s.irq, () => {
            ctx.push(`handler locked=${desc!.lock.owner >= 0} irqs_off=${irqs_disabled()}`);
            irqlab_handler_busy(1000);
            return IRQ_HANDLED;
          }, 0, "x", null),
        ).to.equal(0);
        await fire(irq_line(s.desc), 1);
        expect(ctx).to.deep.equal(["ack locked=true", "handler locked=false irqs_off=true"]);
      });
    });
  });
});
