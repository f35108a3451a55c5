// SPDX-License-Identifier: GPL-2.0-only
// genirq-B.md B5, B20-B28: threaded interrupt handlers of kernel/irq/manage.c.
import { expect } from "chai";
import { disable_irq, enable_irq, free_irq, irq_set_affinity, request_irq, request_threaded_irq } from "../../../lib/irq/manage.ts";
import { irq_default_primary_handler, irq_wake_thread } from "../../../lib/irq/manage_thread.ts";
import { irq_modify_status } from "../../../lib/irq/chip.ts";
import { irq_set_percpu_devid } from "../../../lib/irq/manage_percpu.ts";
import { handle_edge_irq, handle_fasteoi_irq, handle_level_irq } from "../../../lib/irq/flow.ts";
import { IRQ_NESTED_THREAD, irqd_irq_masked } from "../../../lib/irq/irq.ts";
import {
  IRQ_HANDLED,
  IRQ_NONE,
  IRQ_WAKE_THREAD,
  IRQF_NO_THREAD,
  IRQF_ONESHOT,
  IRQF_SHARED,
  IRQTF_FORCED_THREAD,
  IRQTF_READY,
} from "../../../lib/irq/interrupt.ts";
import { in_hardirq, in_softirq, irqs_disabled } from "../../../lib/kernel/context.ts";
import { current, PF_EXITING } from "../../../lib/kernel/sched.ts";
import { msleep } from "../../../lib/kernel/delay.ts";
import { cpumask_of } from "../../../lib/kernel/cpumask.ts";
import { K } from "../../../lib/kernel/kernel.ts";
import { fire, irq_line, logged, machine, rec_chip, run, setup_irq } from "./fixture.ts";

describe("genirq-B threaded handlers (kernel/irq/manage.c)", () => {
  describe("B5 forced threading (threadirqs)", () => {
    it("B5 a plain handler is moved into a thread 'irq/N-name' behind irq_default_primary_handler and made ONESHOT", async () => {
      const seen: string[] = [];
      await run(async () => {
        const { irq, desc } = setup_irq(rec_chip([]), handle_level_irq);
        function dev_handler(): number {
          seen.push(`${current().comm} hardirq=${in_hardirq()}`);
          return IRQ_HANDLED;
        }
        expect(await request_irq(irq, dev_handler, 0, "forced", null)).to.equal(0);
        const a = desc.action!;
        expect(a.handler).to.equal(irq_default_primary_handler);
        expect(a.flags & IRQF_ONESHOT).to.equal(IRQF_ONESHOT);
        expect(a.thread_flags & (1 << IRQTF_FORCED_THREAD)).to.not.equal(0);
        expect(a.secondary).to.equal(null);
        await fire(irq_line(desc), 1);
        expect(seen).to.deep.equal([`irq/${irq}-forced hardirq=false`]);
      }, { config: { threadirqs: true } });
    });

    it("B5/B24 irq_forced_thread_fn runs the forced handler with bottom halves and interrupts disabled (!PREEMPT_RT)", async () => {
      const seen: string[] = [];
      await run(async () => {
        const { irq, desc } = setup_irq(rec_chip([]), handle_level_irq);
        expect(
          await request_irq(irq, () => {
            seen.push(`irqs_disabled=${irqs_disabled()} bh_disabled=${in_softirq()}`);
            return IRQ_HANDLED;
          }, 0, "forced", null),
        ).to.equal(0);
        await fire(irq_line(desc), 0);
        expect(seen).to.deep.equal(["irqs_disabled=true bh_disabled=true"]);
      }, { config: { threadirqs: true } });
    });

    it("B5 a handler with a thread_fn gets a secondary action and thread 'irq/N-s-name'", async () => {
      const seen: string[] = [];
      await run(async () => {
        const { irq, desc } = setup_irq(rec_chip([]), handle_level_irq);
        expect(
          await request_threaded_irq(irq, () => (seen.push(`primary ${current().comm}`), IRQ_WAKE_THREAD), () => (seen.push(`thread ${current().comm}`), IRQ_HANDLED), 0, "two", null),
        ).to.equal(0);
        expect(desc.action!.secondary!.thread!.comm).to.equal(`irq/${irq}-s-two`);
        await fire(irq_line(desc), 1);
        expect(seen).to.deep.equal([`primary irq/${irq}-two`, `thread irq/${irq}-s-two`]);
        expect(desc.threads_active).to.equal(0);
        expect(irqd_irq_masked(desc.irq_data)).to.equal(false);
      }, { config: { threadirqs: true } });
    });

    it("B5 IRQF_NO_THREAD and IRQF_ONESHOT actions are not forced", async () => {
      await run(async () => {
        const a = setup_irq(rec_chip([]), handle_level_irq);
        const hh = (): number => IRQ_HANDLED;
        expect(await request_irq(a.irq, hh, IRQF_NO_THREAD, "nothread", null)).to.equal(0);
        expect(a.desc.action!.handler).to.equal(hh);
        expect(a.desc.action!.thread).to.equal(null);
        const b = setup_irq(rec_chip([]), handle_level_irq);
        expect(await request_threaded_irq(b.irq, hh, hh, IRQF_ONESHOT, "oneshot", null)).to.equal(0);
        expect(b.desc.action!.handler).to.equal(hh);
        expect(b.desc.action!.secondary).to.equal(null);
      }, { config: { threadirqs: true } });
    });
  });

  describe("B20-B24 waking and running threads", () => {
    it("B20 a dying thread (PF_EXITING) is not woken: the interrupt counts as handled", async () => {
      await run(async () => {
        const { irq, desc } = setup_irq(rec_chip([]), handle_edge_irq);
        let runs = 0;
        expect(await request_threaded_irq(irq, () => IRQ_WAKE_THREAD, () => (runs++, IRQ_HANDLED), 0, "b20", null)).to.equal(0);
        desc.action!.thread!.flags |= PF_EXITING;
        await fire(irq_line(desc), 0);
        expect(runs).to.equal(0);
        expect(desc.threads_active).to.equal(0);
        desc.action!.thread!.flags &= ~PF_EXITING;
      });
    });

    it("B21 irq_wake_thread: unknown irq and dev_id are silent; a per-cpu-devid irq WARNs", async () => {
      const m = await machine();
      m.expectSplat(/at irq_wake_thread$/);
      await m.run(async () => {
        irq_wake_thread(0x7ffff0, null);
        const { irq, desc } = setup_irq(rec_chip([]));
        const d1 = {};
        const d2 = {};
        const runs: string[] = [];
        expect(await request_threaded_irq(irq, () => IRQ_NONE, () => (runs.push("one"), IRQ_HANDLED), IRQF_SHARED, "one", d1)).to.equal(0);
        expect(await request_threaded_irq(irq, () => IRQ_NONE, () => (runs.push("two"), IRQ_HANDLED), IRQF_SHARED, "two", d2)).to.equal(0);
        irq_wake_thread(irq, {});
        irq_wake_thread(irq, d2);
        await msleep(1);
        expect(runs).to.deep.equal(["two"]);
        expect(m.splats()).to.have.length(0);
        const p = setup_irq(rec_chip([]));
        irq_set_percpu_devid(p.irq);
        irq_wake_thread(p.irq, null);
        void desc;
      });
      expect(logged(m, /^WARNING: .* at irq_wake_thread$/)).to.have.length(1);
    });

    it("B22 the thread is READY (and SCHED_FIFO) before request returns; every wake is balanced by one completed run", async () => {
      await run(async () => {
        const { irq, desc } = setup_irq(rec_chip([]), handle_edge_irq);
        expect(await request_threaded_irq(irq, () => IRQ_WAKE_THREAD, () => IRQ_HANDLED, 0, "b22", null)).to.equal(0);
        const a = desc.action!;
        expect(a.thread_flags & (1 << IRQTF_READY)).to.not.equal(0);
        expect(a.thread!.policy).to.equal("SCHED_FIFO");
        for (let i = 0; i < 3; i++) await fire(irq_line(desc), i % 2);
        expect(desc.threads_active).to.equal(0);
        expect(desc.threads_handled).to.equal(3);
      });
    });

    it("B23 RUNTHREAD is consumed before the handler runs: an interrupt during the thread produces another run", async () => {
      await run(async () => {
        const { irq, desc } = setup_irq(rec_chip([]), handle_edge_irq);
        let runs = 0;
        expect(
          await request_threaded_irq(irq, () => IRQ_WAKE_THREAD, async () => {
            runs++;
            await msleep(5);
            return IRQ_HANDLED;
          }, 0, "b23", null),
        ).to.equal(0);
        const line = irq_line(desc);
        line.raise(1);
        K.sim.at(K.sim.now + 2_000_000, () => line.raise(1));
        K.sim.at(K.sim.now + 3_000_000, () => line.raise(1));
        await msleep(30);
        expect(runs).to.equal(2);
        expect(desc.threads_active).to.equal(0);
      });
    });

    it("B24 threads_handled counts only IRQ_HANDLED thread results", async () => {
      await run(async () => {
        const { irq, desc } = setup_irq(rec_chip([]), handle_edge_irq);
        let ret = IRQ_NONE;
        expect(await request_threaded_irq(irq, () => IRQ_WAKE_THREAD, () => ret, 0, "b24", null)).to.equal(0);
        await fire(irq_line(desc), 0);
        expect(desc.threads_handled).to.equal(0);
        ret = IRQ_HANDLED;
        await fire(irq_line(desc), 0);
        expect(desc.threads_handled).to.equal(1);
      });
    });
  });

  describe("B25 irq_finalize_oneshot", () => {
    it("B25 on a shared oneshot line the unmask comes only after the last woken thread", async () => {
      const log: string[] = [];
      await run(async () => {
        const { irq, desc } = setup_irq(rec_chip(log), handle_level_irq);
        expect(
          await request_threaded_irq(irq, null, () => {
            log.push("t1");
            return IRQ_HANDLED;
          }, IRQF_SHARED | IRQF_ONESHOT, "t1", { a: 1 }),
        ).to.equal(0);
        expect(
          await request_threaded_irq(irq, null, async () => {
            await msleep(3);
            log.push(`t2 masked=${irqd_irq_masked(desc.irq_data)} oneshot=${desc.threads_oneshot}`);
            return IRQ_HANDLED;
          }, IRQF_SHARED | IRQF_ONESHOT, "t2", { a: 2 }),
        ).to.equal(0);
        log.length = 0;
        await fire(irq_line(desc), 1);
        await msleep(5);
        expect(log).to.deep.equal(["irq_mask", "irq_ack", "t1", "t2 masked=true oneshot=2", "irq_unmask"]);
      });
    });

    it("B25 a line disabled while its thread ran is not unmasked by the thread; enable_irq unmasks it", async () => {
      const log: string[] = [];
      await run(async () => {
        const { irq, desc } = setup_irq(rec_chip(log, { cbs: ["irq_mask", "irq_unmask", "irq_eoi"] }), handle_fasteoi_irq);
        expect(
          await request_threaded_irq(irq, null, async () => {
            await msleep(3);
            return IRQ_HANDLED;
          }, IRQF_ONESHOT, "b25", null),
        ).to.equal(0);
        log.length = 0;
        await fire(irq_line(desc), 1);
        await disable_irq(irq); // waits for the thread
        expect(log).to.deep.equal(["irq_mask", "irq_eoi"]);
        expect(irqd_irq_masked(desc.irq_data)).to.equal(true);
        expect(desc.threads_oneshot).to.equal(0n);
        await enable_irq(irq);
        expect(log).to.deep.equal(["irq_mask", "irq_eoi", "irq_unmask"]);
      });
    });

    it("B25 the unmask from the thread takes the bus lock", async () => {
      const log: string[] = [];
      await run(async () => {
        const { irq, desc } = setup_irq(rec_chip(log, { cbs: ["irq_mask", "irq_unmask", "irq_ack", "irq_bus_lock", "irq_bus_sync_unlock"] }), handle_level_irq);
        expect(await request_threaded_irq(irq, null, () => (log.push("thread"), IRQ_HANDLED), IRQF_ONESHOT, "bus", null)).to.equal(0);
        log.length = 0;
        await fire(irq_line(desc), 0);
        expect(log).to.deep.equal(["irq_mask", "irq_ack", "thread", "irq_bus_lock", "irq_unmask", "irq_bus_sync_unlock"]);
      });
    });
  });

  describe("B27/B28 nested threads and thread affinity", () => {
    it("B27 a nested-thread action gets no thread; its primary WARNs 'Primary handler called for nested irq %d' if run as a hard handler", async () => {
      const m = await machine();
      m.expectSplat(/^Primary handler called for nested irq \d+$/);
      await m.run(async () => {
        const { irq, desc } = setup_irq(rec_chip([]), handle_edge_irq);
        irq_modify_status(irq, 0, IRQ_NESTED_THREAD);
        expect(await request_threaded_irq(irq, null, () => IRQ_HANDLED, IRQF_ONESHOT, "nested", null)).to.equal(0);
        expect(desc.action!.thread).to.equal(null);
        await fire(irq_line(desc), 0);
        expect(desc.irqs_unhandled).to.equal(1);
      });
    });

    it("B28 the thread follows the effective affinity lazily, on its next pass", async () => {
      const cpus: number[] = [];
      await run(async () => {
        const { irq, desc } = setup_irq(rec_chip([], { cbs: ["irq_set_affinity", "irq_mask", "irq_unmask", "irq_ack"] }), handle_edge_irq);
        expect(await request_threaded_irq(irq, () => IRQ_WAKE_THREAD, () => (cpus.push(K.sim.cur.id), IRQ_HANDLED), 0, "b28", null)).to.equal(0);
        expect(irq_set_affinity(irq, cpumask_of(0))).to.equal(0);
        await fire(irq_line(desc), 0);
        expect(irq_set_affinity(irq, cpumask_of(1))).to.equal(0);
        await msleep(1);
        await fire(irq_line(desc), 1);
        expect(cpus).to.deep.equal([0, 1]);
        expect(await free_irq(irq, null)).to.equal("b28");
      });
    });
  });
});
