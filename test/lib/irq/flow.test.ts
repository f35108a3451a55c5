// SPDX-License-Identifier: GPL-2.0-only
// genirq-A.md A1-A19: the flow handlers of kernel/irq/chip.c and the event
// handling of kernel/irq/handle.c, driven through a real hardirq entry on a
// simulated CPU.
import { expect } from "chai";
import * as flow from "../../../lib/irq/flow.ts";
import {
  handle_edge_irq,
  handle_fasteoi_ack_irq,
  handle_fasteoi_irq,
  handle_fasteoi_mask_irq,
  handle_level_irq,
  handle_nested_irq,
  handle_percpu_devid_irq,
  handle_percpu_irq,
  handle_simple_irq,
  handle_untracked_irq,
  mask_ack_irq,
} from "../../../lib/irq/flow.ts";
import { mask_irq, unmask_irq, unmask_threaded_irq, irq_set_status_flags } from "../../../lib/irq/chip.ts";
import { disable_irq, enable_irq, request_irq, request_threaded_irq, irq_set_irq_wake } from "../../../lib/irq/manage.ts";
import { irq_wake_thread } from "../../../lib/irq/manage_thread.ts";
import { irq_set_percpu_devid, request_percpu_irq, enable_percpu_irq, disable_percpu_irq } from "../../../lib/irq/manage_percpu.ts";
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
  IRQS_ONESHOT,
  IRQS_PENDING,
  IRQS_POLL_INPROGRESS,
  IRQS_REPLAY,
  IRQS_SUSPENDED,
  IRQS_WAITING,
} from "../../../lib/irq/internals.ts";
import {
  IRQ_NESTED_THREAD,
  IRQCHIP_EOI_IF_HANDLED,
  IRQCHIP_EOI_THREADED,
  IRQCHIP_SKIP_SET_WAKE,
  IRQD_IRQ_INPROGRESS,
  irqd_irq_disabled,
  irqd_irq_inprogress,
  irqd_irq_masked,
  irqd_is_wakeup_armed,
  irqd_set,
  irqd_set_resend_when_in_progress,
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
import { current } from "../../../lib/kernel/sched.ts";
import { MASK_CHIP, fire, irq_line, logged, machine, rec_chip, run, setup_irq } from "./fixture.ts";
import { dmesgLines } from "../../harness.ts";

const cpu = (): number => K.sim.cur.id;

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

