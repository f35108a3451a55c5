// SPDX-License-Identifier: GPL-2.0-only
// genirq-B.md B33: deferred affinity moves (kernel/irq/migration.c).
import { expect } from "chai";
import { irq_fixup_move_pending, irq_move_irq } from "../../../lib/irq/migration.ts";
import { irq_set_affinity, irq_set_affinity_notifier } from "../../../lib/irq/manage_affinity.ts";
import type { irq_affinity_notify } from "../../../lib/irq/interrupt.ts";
import { msleep } from "../../../lib/kernel/delay.ts";
import { disable_irq, enable_irq, request_irq } from "../../../lib/irq/manage.ts";
import { handle_edge_irq } from "../../../lib/irq/flow.ts";
import { irq_modify_status } from "../../../lib/irq/chip.ts";
import { irqd_irq_masked, irqd_is_setaffinity_pending, IRQ_PER_CPU, IRQCHIP_MOVE_DEFERRED, type irq_data } from "../../../lib/irq/irq.ts";
import { IRQ_HANDLED } from "../../../lib/irq/interrupt.ts";
import { EBUSY, EIO } from "../../../lib/kernel/errno.ts";
import { cpumask_of, cpumask_from, type cpumask } from "../../../lib/kernel/cpumask.ts";
import { remove_cpu, add_cpu } from "../../../lib/kernel/cpu.ts";
import { raw_spin_lock_irqsave, raw_spin_unlock_irqrestore } from "../../../lib/kernel/spinlock.ts";
import type { irq_desc } from "../../../lib/irq/irqdesc.ts";
import { fire, irq_line, machine, rec_chip, run, setup_irq } from "./fixture.ts";

const list = (m: cpumask): number[] => [...Array(m.nbits).keys()].filter((i) => m.test(i));

function move(desc: irq_desc): void {
  const f = raw_spin_lock_irqsave(desc.lock);
  irq_move_irq(desc.irq_data);
  raw_spin_unlock_irqrestore(desc.lock, f);
}

describe("genirq-B deferred moves (kernel/irq/migration.c)", () => {
  it("B33 a pending move is done from the interrupt path: irq_mask, irq_set_affinity(pending), irq_unmask, no IRQD_IRQ_MASKED bookkeeping", async () => {
    const log: string[] = [];
    await run(async () => {
      // x86 style: the chip's ack performs the pending move (apic_ack_irq -> irq_move_irq)
      const chip = rec_chip(log, {
        cbs: ["irq_mask", "irq_unmask", "irq_ack", "irq_set_affinity"],
        flags: IRQCHIP_MOVE_DEFERRED,
        impl: { irq_ack: ((d: irq_data) => irq_move_irq(d)) as never },
      });
      const s = setup_irq(chip, handle_edge_irq);
      const desc = s.desc;
      expect(await request_irq(s.irq, () => IRQ_HANDLED, 0, "b33", null)).to.equal(0);
      expect(irq_set_affinity(s.irq, cpumask_of(1))).to.equal(0);
      expect(irqd_is_setaffinity_pending(desc.irq_data)).to.equal(true);
      log.length = 0;
      await fire(irq_line(desc), 0);
      expect(log).to.deep.equal(["irq_ack", "irq_mask", "irq_set_affinity(1)", "irq_unmask"]);
      expect(irqd_is_setaffinity_pending(desc.irq_data)).to.equal(false);
      expect(list(desc.pending_mask)).to.deep.equal([]);
      expect(list(desc.irq_common_data.affinity)).to.deep.equal([1]);
      expect(irqd_irq_masked(desc.irq_data)).to.equal(false);
    });
  });

  it("B33 a disabled line keeps the move pending; an already masked line is not unmasked", async () => {
    const log: string[] = [];
    await run(async () => {
      const { irq, desc } = setup_irq(rec_chip(log, { cbs: ["irq_mask", "irq_unmask", "irq_ack", "irq_disable", "irq_set_affinity"], flags: IRQCHIP_MOVE_DEFERRED }), handle_edge_irq);
      expect(await request_irq(irq, () => IRQ_HANDLED, 0, "b33d", null)).to.equal(0);
      expect(irq_set_affinity(irq, cpumask_of(1))).to.equal(0);
      await disable_irq(irq);
      log.length = 0;
      move(desc);
      expect(log).to.deep.equal([]);
      expect(irqd_is_setaffinity_pending(desc.irq_data)).to.equal(true);
      await enable_irq(irq);
      desc.irq_common_data.state_use_accessors |= 1 << 17; // masked (e.g. oneshot in progress)
      log.length = 0;
      move(desc);
      expect(log).to.deep.equal(["irq_set_affinity(1)"]);
    });
  });

  it("B33 -EBUSY keeps the move pending with its mask; another error or no online CPU clears it", async () => {
    let ret = -EBUSY;
    await run(async () => {
      const { irq, desc } = setup_irq(rec_chip([], { cbs: ["irq_mask", "irq_unmask", "irq_set_affinity"], flags: IRQCHIP_MOVE_DEFERRED, impl: { irq_set_affinity: () => ret } }));
      ret = 0;
      expect(await request_irq(irq, () => IRQ_HANDLED, 0, "busy", null)).to.equal(0);
      ret = -EBUSY;
      expect(irq_set_affinity(irq, cpumask_of(1))).to.equal(0);
      move(desc);
      expect(irqd_is_setaffinity_pending(desc.irq_data)).to.equal(true);
      expect(list(desc.pending_mask)).to.deep.equal([1]);
      ret = -EIO;
      move(desc);
      expect(irqd_is_setaffinity_pending(desc.irq_data)).to.equal(false);
      expect(list(desc.pending_mask)).to.deep.equal([]);
      expect(irq_set_affinity(irq, cpumask_of(1))).to.equal(0);
      expect(await remove_cpu(1)).to.equal(0);
      expect(irqd_is_setaffinity_pending(desc.irq_data)).to.equal(false);
      await add_cpu(1);
    });
  });

  // kernel/irq/cpuhotplug.c: irq_migrate_all_off_this_cpu() calls
  // irq_affinity_schedule_notify_work() when migrate_one_irq() broke the
  // affinity, so a driver's notifier learns the new mask
  it("a CPU offline that breaks the affinity schedules the affinity notifier with the new mask; one that keeps it does not", async () => {
    const events: string[] = [];
    await run(async () => {
      const { irq } = setup_irq(rec_chip([], { cbs: ["irq_set_affinity"] }));
      const n: irq_affinity_notify = { irq: 0, notify: (_n, mask) => void events.push(`notify ${list(mask).join(",")}`), release: () => {} };
      expect(await irq_set_affinity_notifier(irq, n)).to.equal(0);
      expect(await request_irq(irq, () => IRQ_HANDLED, 0, "brk", null)).to.equal(0);
      expect(irq_set_affinity(irq, cpumask_from([0, 1]))).to.equal(0);
      await msleep(1);
      events.length = 0;
      expect(await remove_cpu(1)).to.equal(0);
      await msleep(1);
      expect(events).to.deep.equal([]);
      await add_cpu(1);
      expect(irq_set_affinity(irq, cpumask_of(1))).to.equal(0);
      await msleep(1);
      expect(events).to.deep.equal(["notify 1"]);
      expect(await remove_cpu(1)).to.equal(0);
      await msleep(1);
      expect(events).to.deep.equal(["notify 1", "notify 0"]);
      await add_cpu(1);
    });
  });

  it("B33 a per-CPU line with a pending move WARNs and drops it", async () => {
    const m = await machine();
    m.expectSplat(/at irq_move_masked_irq$/);
    await m.run(async () => {
      const { irq, desc } = setup_irq(rec_chip([], { cbs: ["irq_mask", "irq_unmask", "irq_set_affinity"], flags: IRQCHIP_MOVE_DEFERRED }));
      expect(await request_irq(irq, () => IRQ_HANDLED, 0, "pcpu", null)).to.equal(0);
      expect(irq_set_affinity(irq, cpumask_of(1))).to.equal(0);
      irq_modify_status(irq, 0, IRQ_PER_CPU);
      move(desc);
      expect(irqd_is_setaffinity_pending(desc.irq_data)).to.equal(false);
    });
  });

  it("B33 irq_fixup_move_pending: false with nothing pending or no online CPU in the pending mask; force_clear clears", async () => {
    await run(() => {
      const { irq, desc } = setup_irq(rec_chip([], { cbs: ["irq_set_affinity"], flags: IRQCHIP_MOVE_DEFERRED }));
      expect(irq_fixup_move_pending(desc, false)).to.equal(false);
      expect(irq_set_affinity(irq, cpumask_from([0, 1]))).to.equal(0);
      expect(irq_fixup_move_pending(desc, false)).to.equal(true);
      expect(irqd_is_setaffinity_pending(desc.irq_data)).to.equal(true);
      expect(irq_fixup_move_pending(desc, true)).to.equal(true);
      expect(irqd_is_setaffinity_pending(desc.irq_data)).to.equal(false);
    });
  });
});
