// SPDX-License-Identifier: GPL-2.0-only
// genirq-A.md A1-A5, A16-A19: what every flow handler of kernel/irq/chip.c
// shares (kstat accounting, irq_can_handle_pm/actions, the mask primitives)
// and the event handling of kernel/irq/handle.c, driven through a real
// hardirq entry on a simulated CPU. The handler families are in
// flow_level_fasteoi.test.ts, flow_edge_simple.test.ts and
// flow_percpu_nested.test.ts.
import { expect } from "chai";
import {
  handle_edge_irq,
  handle_level_irq,
  handle_percpu_irq,
  handle_simple_irq,
  handle_untracked_irq,
  mask_ack_irq,
} from "../../../lib/irq/flow.ts";
import { mask_irq, unmask_irq, unmask_threaded_irq } from "../../../lib/irq/chip.ts";
import { disable_irq, request_irq, request_threaded_irq, irq_set_irq_wake } from "../../../lib/irq/manage.ts";
import { irq_wake_thread } from "../../../lib/irq/manage_thread.ts";
import { suspend_device_irqs, resume_device_irqs, pm_wakeup_irqs } from "../../../lib/irq/pm.ts";
import { irq_alloc_descs, irq_to_desc } from "../../../lib/irq/irqdesc.ts";
import {
  IRQ_HANDLED,
  IRQ_NONE,
  IRQ_WAKE_THREAD,
  IRQF_NO_DEBUG,
  IRQF_ONESHOT,
  IRQF_SHARED,
} from "../../../lib/irq/interrupt.ts";
import {
  IRQS_PENDING,
  IRQS_POLL_INPROGRESS,
  IRQS_REPLAY,
  IRQS_SUSPENDED,
  IRQS_WAITING,
} from "../../../lib/irq/internals.ts";
import {
  IRQCHIP_EOI_THREADED,
  IRQCHIP_SKIP_SET_WAKE,
  IRQD_IRQ_INPROGRESS,
  irqd_irq_disabled,
  irqd_irq_inprogress,
  irqd_irq_masked,
  irqd_is_wakeup_armed,
  irqd_set,
  irqd_set_single_target,
  irqd_clear,
} from "../../../lib/irq/irq.ts";
import { irq_data_update_effective_affinity } from "../../../lib/irq/chip.ts";
import { K } from "../../../lib/kernel/kernel.ts";
import { msleep } from "../../../lib/kernel/delay.ts";
import { irqlab_handler_busy } from "../../../lib/kernel/frame.ts";
import { cpumask_of } from "../../../lib/kernel/cpumask.ts";
import { local_irq_enable, in_hardirq } from "../../../lib/kernel/context.ts";
import { raw_spin_lock_irqsave, raw_spin_unlock_irqrestore } from "../../../lib/kernel/spinlock.ts";
import { MASK_CHIP, fire, irq_line, logged, machine, rec_chip, run, setup_irq } from "./fixture.ts";
import { cpu } from "./flow_fixture.ts";

describe("genirq-A flow handlers (kernel/irq/chip.c, handle.c)", () => {
  describe("A1 kstat accounting", () => {
    it("A1 kstat_incr_irqs_this_cpu counts on the taking CPU and in tot_count", async () => {
      await run(async () => {
        const { irq, desc } = setup_irq(rec_chip([]), handle_edge_irq);
        expect(await request_irq(irq, () => IRQ_HANDLED, 0, "a1", null)).to.equal(0);
        const line = irq_line(desc);
        await fire(line, 1);
        await fire(line, 1);
        await fire(line, 0);
        expect([...desc.kstat_irqs]).to.deep.equal([1, 2]);
        expect(desc.tot_count).to.equal(3);
      });
    });

    it("A1 per-CPU flows use __kstat_incr_irqs_this_cpu and never touch tot_count", async () => {
      await run(async () => {
        const { irq, desc } = setup_irq(rec_chip([]), handle_percpu_irq);
        expect(await request_irq(irq, () => IRQ_HANDLED, 0, "a1p", null)).to.equal(0);
        await fire(irq_line(desc), 1);
        expect(desc.kstat_irqs[1]).to.equal(1);
        expect(desc.tot_count).to.equal(0);
      });
    });

    it("A1 a disabled (pended) event is not counted; handle_bad_irq always counts", async () => {
      const m = await machine();
      await m.run(async () => {
        const { irq, desc } = setup_irq(rec_chip([]), handle_simple_irq);
        expect(await request_irq(irq, () => IRQ_HANDLED, 0, "a1d", null)).to.equal(0);
        await disable_irq(irq);
        await fire(irq_line(desc), 0);
        expect(desc.tot_count).to.equal(0);
        expect(desc.istate & IRQS_PENDING).to.equal(IRQS_PENDING);
        const bad = irq_to_desc(irq_alloc_descs(-1, 1, 1, -1))!;
        await fire(irq_line(bad), 1);
        expect(bad.tot_count).to.equal(1);
        expect(bad.kstat_irqs[1]).to.equal(1);
      });
    });

    it("A1 handle_untracked_irq never counts and never calls note_interrupt", async () => {
      await run(async () => {
        const { irq, desc } = setup_irq(rec_chip([]), handle_untracked_irq);
        let ran = 0;
        expect(await request_irq(irq, () => (ran++, IRQ_NONE), 0, "a1u", null)).to.equal(0);
        await fire(irq_line(desc), 0);
        expect(ran).to.equal(1);
        expect(desc.tot_count).to.equal(0);
        expect(desc.kstat_irqs[0]).to.equal(0);
        expect(desc.irqs_unhandled).to.equal(0);
      });
    });
  });

  describe("A2/A3 irq_can_handle_pm and irq_wait_on_inprogress", () => {
    it("A2 a wake-armed line reports the wakeup instead of running actions (irq_pm_handle_wakeup)", async () => {
      const log: string[] = [];
      await run(async () => {
        const { irq, desc } = setup_irq(rec_chip(log, { cbs: [...MASK_CHIP], flags: IRQCHIP_SKIP_SET_WAKE }), handle_level_irq);
        let ran = 0;
        expect(await request_irq(irq, () => (ran++, IRQ_HANDLED), 0, "a2", null)).to.equal(0);
        expect(await irq_set_irq_wake(irq, 1)).to.equal(0);
        await suspend_device_irqs();
        expect(irqd_is_wakeup_armed(desc.irq_data)).to.equal(true);
        expect(desc.depth).to.equal(0);
        log.length = 0;
        await fire(irq_line(desc), 1);
        expect(ran).to.equal(0);
        expect(irqd_is_wakeup_armed(desc.irq_data)).to.equal(false);
        expect(desc.istate & (IRQS_SUSPENDED | IRQS_PENDING)).to.equal(IRQS_SUSPENDED | IRQS_PENDING);
        expect(desc.depth).to.equal(1);
        expect(irqd_irq_disabled(desc.irq_data)).to.equal(true);
        expect(pm_wakeup_irqs()).to.deep.equal([irq]);
        // handle_level_irq masks first, unconditionally (A10)
        expect(log).to.deep.equal(["irq_mask", "irq_ack"]);
        expect(desc.tot_count).to.equal(0);
        resume_device_irqs();
        expect(desc.depth).to.equal(0);
      });
    });

    it("A2 step 4: a migrated single-target edge irq busy-waits for the old CPU instead of pending", async () => {
      await run(async () => {
        const { irq, desc } = setup_irq(rec_chip([]), handle_edge_irq);
        const runs: { cpu: number; t: number }[] = [];
        expect(
          await request_irq(irq, () => {
            runs.push({ cpu: cpu(), t: K.sim.now });
            irqlab_handler_busy(10_000);
            return IRQ_HANDLED;
          }, 0, "a2m", null),
        ).to.equal(0);
        irqd_set_single_target(desc.irq_data);
        // the affinity moved to CPU1 while CPU0 still handles the previous one
        irq_data_update_effective_affinity(desc.irq_data, cpumask_of(1));
        const line = irq_line(desc);
        const t0 = K.sim.now;
        line.raise(0);
        K.sim.at(t0 + 1000, () => line.raise(1));
        await msleep(2);
        expect(runs.map((r) => r.cpu)).to.deep.equal([0, 1]);
        expect(runs[1]!.t - runs[0]!.t).to.be.at.least(10_000);
        expect(desc.istate & IRQS_PENDING).to.equal(0);
        expect([...desc.kstat_irqs]).to.deep.equal([1, 1]);
      });
    });

    it("A3 a handler finding IRQS_POLL_INPROGRESS on another CPU waits for the poller, then runs", async () => {
      await run(async () => {
        const { irq, desc } = setup_irq(rec_chip([]), handle_simple_irq);
        const runs: number[] = [];
        expect(await request_irq(irq, () => (runs.push(K.sim.now), IRQ_HANDLED), 0, "a3", null)).to.equal(0);
        const t0 = K.sim.now;
        desc.istate |= IRQS_POLL_INPROGRESS;
        irqd_set(desc.irq_data, IRQD_IRQ_INPROGRESS);
        K.sim.at(t0 + 50_000, () => {
          desc.istate &= ~IRQS_POLL_INPROGRESS;
          irqd_clear(desc.irq_data, IRQD_IRQ_INPROGRESS);
        });
        irq_line(desc).raise(1);
        await msleep(2);
        expect(runs).to.have.length(1);
        expect(runs[0]! - t0).to.be.at.least(50_000);
      });
    });

    it("A3 irq_wait_on_inprogress reports false when the line was disabled meanwhile", async () => {
      await run(async () => {
        const { irq, desc } = setup_irq(rec_chip([]), handle_simple_irq);
        let ran = 0;
        expect(await request_irq(irq, () => (ran++, IRQ_HANDLED), 0, "a3d", null)).to.equal(0);
        const t0 = K.sim.now;
        desc.istate |= IRQS_POLL_INPROGRESS;
        irqd_set(desc.irq_data, IRQD_IRQ_INPROGRESS);
        irq_line(desc).raise(1);
        K.sim.at(t0 + 50_000, () => {
          irqd_set(desc.irq_data, 1 << 16); // IRQD_IRQ_DISABLED
          desc.istate &= ~IRQS_POLL_INPROGRESS;
          irqd_clear(desc.irq_data, IRQD_IRQ_INPROGRESS);
        });
        await msleep(2);
        expect(ran).to.equal(0);
        expect(desc.tot_count).to.equal(0);
        irqd_clear(desc.irq_data, 1 << 16);
      });
    });

    it("A2 step 3: the poller's own CPU warns 'irq poll in progress on cpu %d for irq %d'", async () => {
      const m = await machine({ config: { irqfixup: 1 } });
      m.expectSplat(/^irq poll in progress on cpu 0 for irq \d+$/);
      await m.run(async () => {
        // an unhandled interrupt on CPU0 runs the misrouted poller there (irq_poll_cpu = 0)
        const a = setup_irq(rec_chip([]), handle_simple_irq);
        expect(await request_irq(a.irq, () => IRQ_NONE, 0, "a2none", null)).to.equal(0);
        await fire(irq_line(a.desc), 0);
        const b = setup_irq(rec_chip([]), handle_simple_irq);
        let ran = 0;
        expect(await request_irq(b.irq, () => (ran++, IRQ_HANDLED), 0, "a2b", null)).to.equal(0);
        b.desc.istate |= IRQS_POLL_INPROGRESS;
        irqd_set(b.desc.irq_data, IRQD_IRQ_INPROGRESS);
        await fire(irq_line(b.desc), 0);
        expect(ran).to.equal(0);
        expect(logged(m, `irq poll in progress on cpu 0 for irq ${b.irq}`)).to.have.length(1);
        b.desc.istate &= ~IRQS_POLL_INPROGRESS;
        irqd_clear(b.desc.irq_data, IRQD_IRQ_INPROGRESS);
      });
    });
  });

  describe("A4 irq_can_handle_actions", () => {
    it("A4 clears IRQS_REPLAY and IRQS_WAITING even when it fails, and sets IRQS_PENDING", async () => {
      await run(async () => {
        const { irq, desc } = setup_irq(rec_chip([]), handle_simple_irq);
        expect(await request_irq(irq, () => IRQ_HANDLED, 0, "a4", null)).to.equal(0);
        await disable_irq(irq);
        desc.istate |= IRQS_REPLAY | IRQS_WAITING;
        await fire(irq_line(desc), 1);
        expect(desc.istate & (IRQS_REPLAY | IRQS_WAITING | IRQS_PENDING)).to.equal(IRQS_PENDING);
        desc.istate &= ~IRQS_PENDING;
      });
    });

    it("A4 when the in-progress check fails first, REPLAY/WAITING stay and PENDING is not set", async () => {
      await run(async () => {
        const { irq, desc } = setup_irq(rec_chip([]), handle_simple_irq);
        expect(await request_irq(irq, () => IRQ_HANDLED, 0, "a4s", null)).to.equal(0);
        desc.istate |= IRQS_REPLAY | IRQS_WAITING;
        irqd_set(desc.irq_data, IRQD_IRQ_INPROGRESS);
        await fire(irq_line(desc), 1);
        expect(desc.istate & (IRQS_REPLAY | IRQS_WAITING | IRQS_PENDING)).to.equal(IRQS_REPLAY | IRQS_WAITING);
        irqd_clear(desc.irq_data, IRQD_IRQ_INPROGRESS);
        desc.istate &= ~(IRQS_REPLAY | IRQS_WAITING);
      });
    });
  });

  describe("A5 mask/unmask primitives", () => {
    it("A5 mask_irq/unmask_irq are guarded by IRQD_IRQ_MASKED and skip a missing callback without touching the bit", async () => {
      const log: string[] = [];
      await run(() => {
        const { desc } = setup_irq(rec_chip(log, { cbs: ["irq_mask", "irq_unmask"] }));
        const f = raw_spin_lock_irqsave(desc.lock);
        // a fresh descriptor starts masked
        mask_irq(desc);
        expect(log).to.deep.equal([]);
        unmask_irq(desc);
        unmask_irq(desc);
        mask_irq(desc);
        expect(log).to.deep.equal(["irq_unmask", "irq_mask"]);
        expect(irqd_irq_masked(desc.irq_data)).to.equal(true);
        raw_spin_unlock_irqrestore(desc.lock, f);
        const b = setup_irq(rec_chip(log, { cbs: [] }));
        const g = raw_spin_lock_irqsave(b.desc.lock);
        unmask_irq(b.desc);
        expect(irqd_irq_masked(b.desc.irq_data)).to.equal(true);
        irqd_clear(b.desc.irq_data, 1 << 17);
        mask_irq(b.desc);
        expect(irqd_irq_masked(b.desc.irq_data)).to.equal(false);
        raw_spin_unlock_irqrestore(b.desc.lock, g);
      });
    });

    it("A5 mask_ack_irq calls irq_mask_ack unconditionally, else mask_irq (guarded) then irq_ack", async () => {
      const log: string[] = [];
      await run(() => {
        const a = setup_irq(rec_chip(log, { cbs: ["irq_mask_ack", "irq_mask", "irq_ack"] }));
        const f = raw_spin_lock_irqsave(a.desc.lock);
        mask_ack_irq(a.desc); // already masked: irq_mask_ack is still called
        raw_spin_unlock_irqrestore(a.desc.lock, f);
        expect(log).to.deep.equal(["irq_mask_ack"]);
        log.length = 0;
        const b = setup_irq(rec_chip(log, { cbs: ["irq_mask", "irq_unmask", "irq_ack"] }));
        const g = raw_spin_lock_irqsave(b.desc.lock);
        mask_ack_irq(b.desc); // masked: no irq_mask, but the ack
        unmask_irq(b.desc);
        mask_ack_irq(b.desc);
        raw_spin_unlock_irqrestore(b.desc.lock, g);
        expect(log).to.deep.equal(["irq_ack", "irq_unmask", "irq_mask", "irq_ack"]);
      });
    });

    it("A5 unmask_threaded_irq issues irq_eoi first on IRQCHIP_EOI_THREADED chips", async () => {
      const log: string[] = [];
      await run(() => {
        const a = setup_irq(rec_chip(log, { cbs: ["irq_mask", "irq_unmask", "irq_eoi"], flags: IRQCHIP_EOI_THREADED }));
        const f = raw_spin_lock_irqsave(a.desc.lock);
        unmask_threaded_irq(a.desc);
        raw_spin_unlock_irqrestore(a.desc.lock, f);
        expect(log).to.deep.equal(["irq_eoi", "irq_unmask"]);
        log.length = 0;
        const b = setup_irq(rec_chip(log, { cbs: ["irq_mask", "irq_unmask", "irq_eoi"] }));
        const g = raw_spin_lock_irqsave(b.desc.lock);
        unmask_threaded_irq(b.desc);
        raw_spin_unlock_irqrestore(b.desc.lock, g);
        expect(log).to.deep.equal(["irq_unmask"]);
      });
    });
  });

  describe("A16-A19 handle_irq_event and threads", () => {
    it("A16 handle_irq_event clears IRQS_PENDING and runs actions with desc->lock dropped and IRQD_IRQ_INPROGRESS set", async () => {
      await run(async () => {
        const { irq, desc } = setup_irq(rec_chip([]), handle_edge_irq);
        const seen: string[] = [];
        expect(
          await request_irq(irq, () => {
            seen.push(`inprogress=${irqd_irq_inprogress(desc.irq_data)} locked=${desc.lock.owner >= 0} pending=${(desc.istate & IRQS_PENDING) !== 0} hardirq=${in_hardirq()}`);
            return IRQ_HANDLED;
          }, 0, "a16", null),
        ).to.equal(0);
        desc.istate |= IRQS_PENDING;
        await fire(irq_line(desc), 0);
        expect(seen).to.deep.equal(["inprogress=true locked=false pending=false hardirq=true"]);
        expect(irqd_irq_inprogress(desc.irq_data)).to.equal(false);
      });
    });

    it("A17 every action of a shared line runs in request order and the results are OR-ed", async () => {
      const log: string[] = [];
      await run(async () => {
        const { irq, desc } = setup_irq(rec_chip([]), handle_level_irq);
        const devs = [{ n: 1 }, { n: 2 }, { n: 3 }];
        expect(await request_irq(irq, () => (log.push("a"), IRQ_HANDLED), IRQF_SHARED, "a", devs[0])).to.equal(0);
        expect(await request_irq(irq, () => (log.push("b"), IRQ_NONE), IRQF_SHARED, "b", devs[1])).to.equal(0);
        expect(await request_irq(irq, () => (log.push("c"), IRQ_HANDLED), IRQF_SHARED, "c", devs[2])).to.equal(0);
        await fire(irq_line(desc), 1);
        expect(log).to.deep.equal(["a", "b", "c"]);
        expect(desc.irqs_unhandled).to.equal(0);
      });
    });

    it("A17 IRQ_WAKE_THREAD without a thread function warns once per action", async () => {
      const m = await machine();
      await m.run(async () => {
        const { irq, desc } = setup_irq(rec_chip([]), handle_edge_irq);
        expect(await request_irq(irq, () => IRQ_WAKE_THREAD, 0, "nothread", null)).to.equal(0);
        await fire(irq_line(desc), 0);
        await fire(irq_line(desc), 0);
        expect(logged(m, "returned IRQ_WAKE_THREAD")).to.deep.equal([
          `IRQ ${irq} device nothread returned IRQ_WAKE_THREAD but no thread function available.`,
        ]);
      });
    });

    it("A17 a handler that enables interrupts gets WARN_ONCE 'irq %u handler %pS enabled interrupts' and they are disabled again", async () => {
      const m = await machine();
      m.expectSplat(/^irq \d+ handler bad_enabler enabled interrupts$/);
      await m.run(async () => {
        const { irq, desc } = setup_irq(rec_chip([]), handle_edge_irq);
        const seen: boolean[] = [];
        function bad_enabler(): number {
          local_irq_enable();
          return IRQ_HANDLED;
        }
        expect(await request_irq(irq, bad_enabler, 0, "en", null)).to.equal(0);
        await fire(irq_line(desc), 1);
        seen.push(desc.tot_count === 1);
        expect(seen).to.deep.equal([true]);
        expect(logged(m, `irq ${irq} handler bad_enabler enabled interrupts`)).to.have.length(1);
      });
    });

    it("A18 note_interrupt is skipped for IRQF_NO_DEBUG per-CPU actions and with noirqdebug", async () => {
      await run(async () => {
        const { irq, desc } = setup_irq(rec_chip([]), handle_percpu_irq);
        expect(await request_irq(irq, () => IRQ_NONE, 0x400 /* IRQF_PERCPU */ | IRQF_NO_DEBUG, "nodebug", null)).to.equal(0);
        await fire(irq_line(desc), 0);
        expect(desc.irqs_unhandled).to.equal(0);
      });
      await run(async () => {
        const { irq, desc } = setup_irq(rec_chip([]), handle_edge_irq);
        expect(await request_irq(irq, () => IRQ_NONE, 0, "noirqdebug", null)).to.equal(0);
        await fire(irq_line(desc), 0);
        expect(desc.irqs_unhandled).to.equal(0);
      }, { config: { noirqdebug: true } });
      await run(async () => {
        const { irq, desc } = setup_irq(rec_chip([]), handle_edge_irq);
        expect(await request_irq(irq, () => IRQ_NONE, 0, "debug", null)).to.equal(0);
        await fire(irq_line(desc), 0);
        expect(desc.irqs_unhandled).to.equal(1);
      });
    });

    it("A19 __irq_wake_thread coalesces wakeups: one threads_active increment per run", async () => {
      await run(async () => {
        const { irq, desc } = setup_irq(rec_chip([]), handle_edge_irq);
        let runs = 0;
        const dev = {};
        expect(await request_threaded_irq(irq, () => IRQ_WAKE_THREAD, () => (runs++, IRQ_HANDLED), 0, "a19", dev)).to.equal(0);
        irq_wake_thread(irq, dev);
        irq_wake_thread(irq, dev);
        expect(desc.threads_active).to.equal(1);
        expect(desc.action!.thread_flags & 1).to.equal(1);
        await msleep(1);
        expect(runs).to.equal(1);
        expect(desc.threads_active).to.equal(0);
        expect(desc.threads_handled).to.equal(1);
        // an unknown dev_id is silent
        irq_wake_thread(irq, {});
        expect(desc.threads_active).to.equal(0);
      });
    });

    it("A19 the oneshot bit is set in threads_oneshot on wakeup and cleared by the thread", async () => {
      await run(async () => {
        const { irq, desc } = setup_irq(rec_chip([]), handle_level_irq);
        const seen: bigint[] = [];
        expect(await request_threaded_irq(irq, null, () => (seen.push(desc.threads_oneshot), IRQ_HANDLED), IRQF_ONESHOT, "a19o", null)).to.equal(0);
        expect(desc.action!.thread_mask).to.equal(1n);
        await fire(irq_line(desc), 0);
        expect(seen).to.deep.equal([1n]);
        expect(desc.threads_oneshot).to.equal(0n);
      });
    });
  });
});
