// SPDX-License-Identifier: GPL-2.0-only
// genirq-A.md A40-A44: kernel/irq/spurious.c, the stuck-line detector, the
// misrouted-irq fixup and the spurious poller.
import { expect } from "chai";
import { note_interrupt } from "../../../lib/irq/spurious.ts";
import { handle_edge_irq, handle_level_irq } from "../../../lib/irq/flow.ts";
import { request_irq, request_threaded_irq } from "../../../lib/irq/manage.ts";
import { irqd_irq_disabled, irqd_irq_masked } from "../../../lib/irq/irq.ts";
import { IRQ_HANDLED, IRQ_NONE, IRQ_WAKE_THREAD, IRQF_SHARED, IRQF_TIMER } from "../../../lib/irq/interrupt.ts";
import { IRQS_SPURIOUS_DISABLED } from "../../../lib/irq/internals.ts";
import { K } from "../../../lib/kernel/kernel.ts";
import { msleep } from "../../../lib/kernel/delay.ts";
import { jiffies } from "../../../lib/kernel/jiffies.ts";
import type { Machine } from "../../../lib/machine.ts";
import type { irq_desc } from "../../../lib/irq/irqdesc.ts";
import { fire, irq_line, logged, machine, rec_chip, run, setup_irq } from "./fixture.ts";
import { dmesgFrom } from "../../harness.ts";

/** Bring the detector to the last event of a window with `unhandled` unhandled events so far. */
function near_window_end(desc: irq_desc, unhandled: number): void {
  desc.irq_count = 99999;
  desc.irqs_unhandled = unhandled;
  desc.last_unhandled = jiffies();
}

async function stuck_line(m: Machine): Promise<{ irq: number; desc: irq_desc; log: string[] }> {
  const log: string[] = [];
  const { irq, desc } = setup_irq(rec_chip(log), handle_level_irq);
  function stuck_handler(): number {
    return IRQ_NONE;
  }
  expect(await request_irq(irq, stuck_handler, 0, "stuck", null)).to.equal(0);
  void m;
  return { irq, desc, log };
}

describe("genirq-A spurious interrupt detection (kernel/irq/spurious.c)", () => {
  it("A41 a line with more than 99900 of 100000 events unhandled is killed: report, 'Disabling IRQ #%d', depth++, lazy disable", async () => {
    const m = await machine();
    m.expectSplat(/nobody cared/);
    await m.run(async () => {
      const { irq, desc, log } = await stuck_line(m);
      for (let i = 0; i < 99999; i++) note_interrupt(desc, IRQ_NONE);
      expect(desc.istate & IRQS_SPURIOUS_DISABLED).to.equal(0);
      expect(desc.irq_count).to.equal(99999);
      log.length = 0;
      await fire(irq_line(desc), 1);
      expect(desc.istate & IRQS_SPURIOUS_DISABLED).to.equal(IRQS_SPURIOUS_DISABLED);
      expect(desc.depth).to.equal(1);
      expect(irqd_irq_disabled(desc.irq_data)).to.equal(true);
      expect(desc.irqs_unhandled).to.equal(0);
      expect(desc.irq_count).to.equal(0);
      // handle_level_irq had masked it already; the disable itself is lazy (no callback)
      expect(log).to.deep.equal(["irq_mask", "irq_ack"]);
      expect(irqd_irq_masked(desc.irq_data)).to.equal(true);
      const lines = dmesgFrom(m, /nobody cared/);
      expect(lines[0]).to.equal(`irq ${irq}: nobody cared (try booting with the "irqpoll" option)`);
      const h = lines.indexOf("handlers:");
      expect(h).to.be.greaterThan(0);
      expect(lines[h + 1]).to.match(/^\[<[0-9a-f]+>\] stuck_handler$/);
      expect(lines[h + 2]).to.equal(`Disabling IRQ #${irq}`);
    });
  });

  it("A41 the kill threshold is strictly greater than 99900", async () => {
    await run(async (m) => {
      const { desc } = await stuck_line(m);
      near_window_end(desc, 99899);
      note_interrupt(desc, IRQ_NONE); // 99900 unhandled: survives
      expect(desc.istate & IRQS_SPURIOUS_DISABLED).to.equal(0);
      expect(desc.irq_count).to.equal(0);
      expect(desc.irqs_unhandled).to.equal(0);
      expect(desc.depth).to.equal(0);
    });
  });

  it("A41 handled events do not start the window; an unhandled one more than HZ/10 after the last resets the count to 1", async () => {
    await run(async (m) => {
      const { desc } = await stuck_line(m);
      note_interrupt(desc, IRQ_HANDLED);
      expect(desc.irq_count).to.equal(0);
      note_interrupt(desc, IRQ_NONE);
      note_interrupt(desc, IRQ_NONE);
      expect(desc.irqs_unhandled).to.equal(2);
      expect(desc.irq_count).to.equal(2);
      await msleep((1000 / K.config.HZ) * (K.config.HZ / 10 + 1));
      note_interrupt(desc, IRQ_NONE);
      expect(desc.irqs_unhandled).to.equal(1);
      note_interrupt(desc, IRQ_HANDLED);
      expect(desc.irq_count).to.equal(4);
    });
  });

  it("A41 an IRQ_WAKE_THREAD-only result is judged one interrupt later from threads_handled", async () => {
    await run(async () => {
      const { irq, desc } = setup_irq(rec_chip([]), handle_edge_irq);
      let thread_ret = IRQ_HANDLED;
      expect(await request_threaded_irq(irq, () => IRQ_WAKE_THREAD, () => thread_ret, 0, "defer", null)).to.equal(0);
      const line = irq_line(desc);
      await fire(line, 0); // deferred: nothing counted
      expect(desc.threads_handled_last >>> 0).to.equal(0x80000000);
      expect(desc.irqs_unhandled).to.equal(0);
      expect(desc.threads_handled).to.equal(1);
      await fire(line, 0); // the thread handled the previous one: counts as handled
      expect(desc.irqs_unhandled).to.equal(0);
      thread_ret = IRQ_NONE;
      await fire(line, 0); // threads_handled changed since last judgement (the 2nd run handled): handled
      expect(desc.irqs_unhandled).to.equal(0);
      await fire(line, 0); // the 3rd run returned IRQ_NONE: unhandled
      expect(desc.irqs_unhandled).to.equal(1);
    });
  });

  it("A41 a WAKE_THREAD|HANDLED result clears SPURIOUS_DEFERRED and counts as handled", async () => {
    await run(async (m) => {
      const { desc } = await stuck_line(m);
      note_interrupt(desc, IRQ_WAKE_THREAD);
      expect(desc.threads_handled_last >>> 0).to.equal(0x80000000);
      note_interrupt(desc, IRQ_WAKE_THREAD | IRQ_HANDLED);
      expect(desc.threads_handled_last >>> 0).to.equal(0);
      expect(desc.irqs_unhandled).to.equal(0);
    });
  });

  it("A42/A43 a bogus return value (> 3) is reported as 'irq event %d: bogus return value %x' and not counted", async () => {
    const m = await machine();
    m.expectSplat(/bogus return value/);
    await m.run(async () => {
      const { irq, desc } = setup_irq(rec_chip([]), handle_edge_irq);
      function bogus_handler(): number {
        return 0x10;
      }
      expect(await request_irq(irq, bogus_handler, 0, "bogus", null)).to.equal(0);
      await fire(irq_line(desc), 0);
      expect(desc.irqs_unhandled).to.equal(0);
      expect(desc.irq_count).to.equal(0);
      const lines = dmesgFrom(m, /bogus return value/);
      expect(lines[0]).to.equal(`irq event ${irq}: bogus return value 10`);
      const h = lines.indexOf("handlers:");
      expect(lines[h + 1]).to.match(/^\[<[0-9a-f]+>\] bogus_handler$/);
    });
  });

  it("A43 report_bad_irq is limited to 100 reports system-wide", async () => {
    const m = await machine();
    m.expectSplat(/bogus return value/, Infinity);
    await m.run(async () => {
      const { desc } = setup_irq(rec_chip([]), handle_edge_irq);
      expect(await request_irq(desc.irq, () => 7, 0, "bogus", null)).to.equal(0);
      for (let i = 0; i < 120; i++) note_interrupt(desc, 7);
    });
    expect(logged(m, /bogus return value 7$/)).to.have.length(100);
  });

  it("A43 a threaded action is reported with ' threaded [<%p>] %ps'", async () => {
    const m = await machine();
    m.expectSplat(/nobody cared/);
    await m.run(async () => {
      const { irq, desc } = setup_irq(rec_chip([]), handle_level_irq);
      function primary_fn(): number {
        return IRQ_NONE;
      }
      function thread_fn(): number {
        return IRQ_NONE;
      }
      expect(await request_threaded_irq(irq, primary_fn, thread_fn, 0, "thr", null)).to.equal(0);
      near_window_end(desc, 99999);
      note_interrupt(desc, IRQ_NONE);
    });
    const lines = dmesgFrom(m, /^handlers:$/);
    expect(lines[1]).to.match(/^\[<[0-9a-f]+>\] primary_fn threaded \[<[0-9a-f]+>\] thread_fn$/);
  });

  it("A44 irqfixup: an unhandled irq polls the other shared lines and a handled poll cancels the unhandled count", async () => {
    const order: string[] = [];
    await run(async () => {
      const a = setup_irq(rec_chip([]), handle_edge_irq);
      const b = setup_irq(rec_chip([]), handle_edge_irq);
      const c = setup_irq(rec_chip([]), handle_edge_irq);
      const t = setup_irq(rec_chip([]), handle_edge_irq);
      expect(await request_irq(a.irq, () => (order.push("a"), IRQ_NONE), 0, "a", null)).to.equal(0);
      expect(await request_irq(b.irq, () => (order.push("b"), IRQ_HANDLED), IRQF_SHARED, "b", {})).to.equal(0);
      expect(await request_irq(c.irq, () => (order.push("c-unshared"), IRQ_HANDLED), 0, "c", null)).to.equal(0);
      expect(await request_irq(t.irq, () => (order.push("timer"), IRQ_HANDLED), IRQF_SHARED | IRQF_TIMER, "t", {})).to.equal(0);
      await fire(irq_line(a.desc), 0);
      expect(order).to.deep.equal(["a", "b"]);
      expect(a.desc.irqs_unhandled).to.equal(0);
      // the poller counts nothing on the polled line
      expect(b.desc.tot_count).to.equal(0);
    }, { config: { irqfixup: 1 } });
  });

  it("A44 without irqfixup nothing is polled", async () => {
    const order: string[] = [];
    await run(async () => {
      const a = setup_irq(rec_chip([]), handle_edge_irq);
      const b = setup_irq(rec_chip([]), handle_edge_irq);
      expect(await request_irq(a.irq, () => (order.push("a"), IRQ_NONE), 0, "a", null)).to.equal(0);
      expect(await request_irq(b.irq, () => (order.push("b"), IRQ_HANDLED), IRQF_SHARED, "b", {})).to.equal(0);
      await fire(irq_line(a.desc), 0);
      expect(order).to.deep.equal(["a"]);
      expect(a.desc.irqs_unhandled).to.equal(1);
    });
  });

  it("A44 after a kill the poll timer polls the spurious-disabled shared line every HZ/10", async () => {
    const m = await machine();
    m.expectSplat(/nobody cared/);
    const polls: number[] = [];
    await m.run(async () => {
      const { irq, desc } = setup_irq(rec_chip([]), handle_level_irq);
      expect(await request_irq(irq, () => (polls.push(jiffies()), IRQ_NONE), IRQF_SHARED, "polled", {})).to.equal(0);
      near_window_end(desc, 99999);
      note_interrupt(desc, IRQ_NONE);
      expect(desc.istate & IRQS_SPURIOUS_DISABLED).to.equal(IRQS_SPURIOUS_DISABLED);
      await msleep(350);
    });
    expect(polls.length).to.equal(3);
    // mod_timer(jiffies + HZ/10); the timer wheel rounds a level-0 expiry up by one jiffy
    expect(polls[1]! - polls[0]!).to.equal((K.config.HZ / 10 | 0) + 1);
  });

  it("A40/B4 a new shared request re-enables a line the detector killed", async () => {
    const m = await machine();
    m.expectSplat(/nobody cared/);
    await m.run(async () => {
      const { irq, desc } = setup_irq(rec_chip([]), handle_level_irq);
      expect(await request_irq(irq, () => IRQ_NONE, IRQF_SHARED, "first", {})).to.equal(0);
      near_window_end(desc, 99999);
      note_interrupt(desc, IRQ_NONE);
      expect(desc.depth).to.equal(1);
      expect(await request_irq(irq, () => IRQ_HANDLED, IRQF_SHARED, "second", {})).to.equal(0);
      expect(desc.istate & IRQS_SPURIOUS_DISABLED).to.equal(0);
      expect(desc.depth).to.equal(0);
      expect(irqd_irq_disabled(desc.irq_data)).to.equal(false);
    });
  });
});
