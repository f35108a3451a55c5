// SPDX-License-Identifier: GPL-2.0-only
// Affinity changes of a remapped MSI-X vector (hardware.md 2.4, 2.5): the
// device keeps the remappable message it got at activation; a move is
// intel_ir_set_affinity() -> the vector domain picks the new CPU/vector ->
// modify_irte() rewrites the IRTE and flushes the entry cache through the
// invalidation queue -> vector_schedule_cleanup() -> IRQ_SET_MASK_OK_DONE,
// all in the caller's process context, with no deferral to the next
// interrupt as without remapping (IRQCHIP_MOVE_DEFERRED).

import { expect } from "chai";
import { cpumask_first, cpumask_of } from "../../../../lib/kernel/cpumask.ts";
import { msleep, udelay } from "../../../../lib/kernel/delay.ts";
import { K } from "../../../../lib/kernel/kernel.ts";
import { irq_set_affinity } from "../../../../lib/irq/manage_affinity.ts";
import { irq_get_irq_data } from "../../../../lib/irq/irqdesc.ts";
import { irq_data_get_effective_affinity_mask, irqd_is_setaffinity_pending } from "../../../../lib/irq/irq.ts";
import { remappableMsg, IRTE_DEST } from "../../../../lib/hw/vtd.ts";
import { irqd_cfg } from "../../../../irqchip/x86/vector.ts";
import { dmesgLines } from "../../../harness.ts";
import { irRig, irteIndex, NIC_BDF, NIC_RID, ofKind, target, tracepoints } from "./ir_rig.ts";

interface Move {
  /** virtual time at which irq_set_affinity() was called */
  start: number;
  /** virtual time at which it returned */
  at: number;
  from: { cpu: number; vector: number };
  to: { cpu: number; vector: number };
}

describe("drivers/iommu/intel: affinity of a remapped MSI-X vector", () => {
  it("keeps the device message constant while moves under traffic take effect at once, losing and misrouting nothing", async () => {
    const { m, hw, priv, unit } = await irRig();
    const q = priv.queues[0]!;
    const index = irteIndex(m, q.irq);
    const e0 = hw.msix.entry(0);
    const msg = { addrLo: e0.addrLo, addrHi: e0.addrHi, data: e0.data };
    expect(msg, "the remappable message naming the IRTE").to.deep.equal(remappableMsg(index, 0));
    const from = m.trace().length;
    const dmesgFrom = dmesgLines(m).length;
    hw.startTraffic({ periodNs: 40_000, jitterNs: 15_000, queues: [0] });
    const moves: Move[] = [];
    for (const cpu of [2, 3, 0, 1, 3, 2, 0, 1]) {
      const before = target(m, q.irq);
      await m.run(async () => {
        const start = K.sim.now;
        expect(irq_set_affinity(q.irq, cpumask_of(cpu))).to.equal(0);
        const d = irq_get_irq_data(q.irq)!;
        const cfg = irqd_cfg(d)!;
        // applied now, by this task: nothing is left for the next interrupt to do
        expect(irqd_is_setaffinity_pending(d)).to.equal(false);
        expect(cpumask_first(irq_data_get_effective_affinity_mask(d))).to.equal(cpu);
        expect(unit.readIrte(index)).to.include({ present: 1, vector: cfg.vector, dest_id: IRTE_DEST(cpu) });
        moves.push({ start, at: K.sim.now, from: before, to: { cpu, vector: cfg.vector } });
        // three jiffies: the old vector's cleanup timer runs meanwhile
        await msleep(5);
      });
    }
    hw.stopTraffic();
    await m.run(() => msleep(1));
    const trace = m.trace().slice(from);

    // the device's message never changed: no chip wrote it, every message it sent is the first one
    expect(trace.filter((r) => r.kind === "irq.chip" && r.cb === "irq_write_msi_msg" && r.irq === q.irq)).to.deep.equal([]);
    const emits = ofKind(trace, "hw.msix").filter((r) => r.bdf === NIC_BDF && r.what === "emit" && r.vector === 0);
    expect(emits.length).to.be.greaterThan(100);
    for (const r of emits) expect({ addrLo: r.addrLo, addrHi: r.addrHi, data: r.data }).to.deep.equal(msg);

    // the IR level ran each move in the caller's process context
    const irMoves = trace.filter((r) => r.kind === "irq.chip" && r.phase === "enter" && r.chip === "INTEL-IR" && r.cb === "irq_set_affinity");
    expect(irMoves.length).to.equal(moves.length);
    for (const r of irMoves) expect(r.ctx).to.equal("task");

    // once irq_set_affinity() returned, the unit translated every message to
    // the new CPU and vector (until the next move began)
    for (let i = 0; i < moves.length; i++) {
      const mv = moves[i]!;
      const end = moves[i + 1]?.start ?? Infinity;
      const remaps = ofKind(trace, "hw.vtd").filter((r) => r.what === "remap" && r.index === index && r.t >= mv.at && r.t < end);
      expect(remaps.length, `move ${i}`).to.be.greaterThan(100);
      for (const r of remaps) expect({ dest: r.dest, vector: r.vector }, `move ${i}`).to.deep.equal({ dest: mv.to.cpu, vector: mv.to.vector });
      // and the old vector was released on the old CPU a jiffy later, by its cleanup timer
      const freed = trace.filter(
        (r) => r.kind === "tp" && r.event === "vector_free_moved" && r.text === `irq=${q.irq} cpu=${mv.from.cpu} vector=${mv.from.vector} is_managed=0` && r.t > mv.at && r.t < end,
      );
      expect(freed.length, `cleanup of move ${i}`).to.equal(1);
      expect(freed[0]!.cpu).to.equal(mv.from.cpu);
      // expires = jiffies + 1, and the timer wheel rounds level 0 up by one more jiffy (HZ=250)
      expect(freed[0]!.t - mv.at).to.be.within(1, 2 * 4e6);
    }

    // nothing lost: each message sent was handled once, or merged in the IRR with one already pending
    const emitted = hw.counters(0).emitted;
    const coalesced = trace.filter((r) => r.kind === "hw.apic" && r.what === "coalesced").length;
    expect(q.count).to.equal(emitted - coalesced);
    expect(q.per_cpu.filter((n) => n > 0).length, "handled on all four CPUs").to.equal(4);
    // nothing misrouted: every delivery went to a (CPU, vector) the queue owned, no other queue ran
    const owned = new Set(moves.flatMap((mv) => [`${mv.from.cpu}/${mv.from.vector}`, `${mv.to.cpu}/${mv.to.vector}`]));
    for (const r of trace) if (r.kind === "hw.msi" && r.what === "deliver" && r.rid === NIC_RID) expect(owned.has(`${r.dest}/${r.vector}`)).to.equal(true);
    for (const o of priv.queues.slice(1)) expect(o.count, o.name).to.equal(0);
    expect(dmesgLines(m).slice(dmesgFrom).filter((l) => /No irq handler for/.test(l))).to.deep.equal([]);
  });

  // kernel/irq/manage.c irq_try_set_affinity(): the vector domain answers
  // -EBUSY while the previous vector waits for its cleanup, and genirq turns
  // that into a pending move (IRQD_SETAFFINITY_PENDING) that the ack of a
  // later interrupt retries (apic_ack_irq() -> irq_move_irq()), in hardirq
  // context, until the cleanup is done.
  it("defers a second move within a jiffy to the first interrupt after the old vector's cleanup", async () => {
    const { m, hw, priv, unit } = await irRig();
    const q = priv.queues[0]!;
    const index = irteIndex(m, q.irq);
    const start = target(m, q.irq);
    const second = (start.cpu + 1) % 4;
    const third = (start.cpu + 2) % 4;
    const eff = (): number => m.enter(() => cpumask_first(irq_data_get_effective_affinity_mask(irq_get_irq_data(q.irq)!)));
    const pending = (): boolean => m.enter(() => irqd_is_setaffinity_pending(irq_get_irq_data(q.irq)!));
    await m.run(() => {
      expect(irq_set_affinity(q.irq, cpumask_of(second))).to.equal(0);
      expect(irq_set_affinity(q.irq, cpumask_of(third)), "-EBUSY is not returned to the caller").to.equal(0);
      expect(irqd_is_setaffinity_pending(irq_get_irq_data(q.irq)!)).to.equal(true);
      expect(cpumask_first(irq_data_get_effective_affinity_mask(irq_get_irq_data(q.irq)!))).to.equal(second);
      // an interrupt before the cleanup: its ack retries the move, which is still busy
      hw.raise(0);
      udelay(20);
      expect(q.per_cpu[second]).to.equal(1);
      expect(irqd_is_setaffinity_pending(irq_get_irq_data(q.irq)!)).to.equal(true);
    });
    // m.run() returned once the cleanup timer had run
    expect(tracepoints(m, "irq_vectors", "vector_free_moved")).to.include(`vector_free_moved: irq=${q.irq} cpu=${start.cpu} vector=${start.vector} is_managed=0`);
    expect(pending(), "nothing moves it without an interrupt").to.equal(true);
    const from = m.trace().length;
    hw.raise(0);
    await m.run(() => msleep(1));
    expect(q.per_cpu[second]).to.equal(2);
    expect(pending()).to.equal(false);
    expect(eff()).to.equal(third);
    const now = target(m, q.irq);
    expect(unit.readIrte(index)).to.include({ vector: now.vector, dest_id: IRTE_DEST(third) });
    // the retry ran in the interrupt on the second CPU, from the ack
    const ir = m.trace().slice(from).filter((r) => r.kind === "irq.chip" && r.phase === "enter" && r.chip === "INTEL-IR" && r.cb === "irq_set_affinity");
    expect(ir.map((r) => [r.ctx, r.cpu])).to.deep.equal([["hardirq", second]]);
    hw.raise(0);
    await m.run(() => msleep(1));
    expect(q.per_cpu[third]).to.equal(1);
  });
});
