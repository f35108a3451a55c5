// SPDX-License-Identifier: GPL-2.0-only
// The interrupt entry cache (hardware.md 2.5, 6.2, 7.2): the remapping unit
// keeps decoded IRTEs on die and never re-reads the table on its own, so
// modify_irte() must follow every table write with qi_flush_iec(). Skip the
// flush (the irqlab_ir_skip_iec_flush() test hook) and an affinity change
// leaves the unit delivering to the old CPU and vector: first to a vector
// that still works, then, once the vector domain has released it, to
// nothing ("No irq handler for <cpu>.<vector>", the 6.18 wording of
// arch/x86/kernel/irq.c reevaluate_vector()), until some flush makes the unit
// read the table again. QEMU's model reads the table for every interrupt
// (no cache), so it cannot show this bug; neither can a unit built with
// irteCacheEntries: 0.

import { expect } from "chai";
import { cpumask_of } from "../../../../lib/kernel/cpumask.ts";
import { msleep, udelay } from "../../../../lib/kernel/delay.ts";
import { irq_set_affinity } from "../../../../lib/irq/manage_affinity.ts";
import { IRTE_DEST } from "../../../../lib/hw/vtd.ts";
import { qi_global_iec } from "../../../../drivers/iommu/intel/dmar_qi.ts";
import { irqlab_ir_skip_iec_flush } from "../../../../drivers/iommu/intel/irq_remapping.ts";
import { dmesgLines } from "../../../harness.ts";
import { irRig, irteIndex, ofKind, target, tracepoints, type IrRig } from "./ir_rig.ts";

/**
 * Queue 0 has been used once (its IRTE is in the cache), the flush is
 * skipped, and it moves to the next CPU; one interrupt right after the move,
 * one after the old vector's cleanup. Returns what each of them did.
 */
async function staleMove(rig: IrRig): Promise<{ old: { cpu: number; vector: number }; now: { cpu: number; vector: number }; noHandler: string[] }> {
  const { m, hw, priv, unit } = rig;
  const q = priv.queues[0]!;
  const index = irteIndex(m, q.irq);
  const old = target(m, q.irq);
  hw.raise(0);
  await m.run(() => msleep(1));
  expect(q.per_cpu[old.cpu]).to.equal(1);
  const next = (old.cpu + 1) % 4;
  await m.run(() => {
    expect(irqlab_ir_skip_iec_flush(true)).to.equal(false);
    expect(irq_set_affinity(q.irq, cpumask_of(next))).to.equal(0);
    // before the old vector's cleanup (one to two jiffies away)
    hw.raise(0);
    udelay(20);
  });
  const now = target(m, q.irq);
  expect(now.cpu).to.equal(next);
  expect(unit.readIrte(index), "the table holds the new entry").to.include({ present: 1, vector: now.vector, dest_id: IRTE_DEST(next) });
  expect(tracepoints(m, "irq_vectors", "vector_free_moved")).to.include(`vector_free_moved: irq=${q.irq} cpu=${old.cpu} vector=${old.vector} is_managed=0`);
  const from = dmesgLines(m).length;
  hw.raise(0);
  await m.run(() => msleep(1));
  return { old, now, noHandler: dmesgLines(m).slice(from).filter((l) => /No irq handler for/.test(l)) };
}

describe("drivers/iommu/intel: the interrupt entry cache", () => {
  it("keeps delivering to the old CPU and vector after a move without IEC flush, until a global flush", async () => {
    const rig = await irRig();
    const { m, hw, priv, unit, iommu } = rig;
    const q = priv.queues[0]!;
    const index = irteIndex(m, q.irq);
    const from = m.trace().length;
    const { old, now, noHandler } = await staleMove(rig);
    // the interrupt before the cleanup still found the old vector: handled, on the old CPU
    expect(q.per_cpu[old.cpu]).to.equal(2);
    // the one after it found nothing there: lost
    expect(q.count).to.equal(2);
    expect(noHandler).to.deep.equal([`No irq handler for ${old.cpu}.${old.vector}`]);
    const remaps = ofKind(m.trace().slice(from), "hw.vtd").filter((r) => r.what === "remap" && r.index === index);
    expect(remaps.map((r) => [r.dest, r.vector, r.hit])).to.deep.equal([
      [old.cpu, old.vector, false],
      [old.cpu, old.vector, true],
      [old.cpu, old.vector, true],
    ]);
    expect(unit.iecEntries()).to.include(index);
    // a global invalidation drops the stale entry; the next message reads the table
    await m.run(() => qi_global_iec(iommu));
    expect(unit.iecEntries()).to.not.include(index);
    hw.raise(0);
    await m.run(() => msleep(1));
    expect(q.count).to.equal(3);
    expect(q.per_cpu[now.cpu]).to.equal(1);
  });

  it("recovers with the next modify_irte() that flushes the entry", async () => {
    const rig = await irRig();
    const { m, hw, priv } = rig;
    const q = priv.queues[0]!;
    const { old, noHandler } = await staleMove(rig);
    expect(noHandler).to.have.length(1);
    const third = (old.cpu + 2) % 4;
    await m.run(() => {
      expect(irqlab_ir_skip_iec_flush(false)).to.equal(true);
      expect(irq_set_affinity(q.irq, cpumask_of(third))).to.equal(0);
    });
    hw.raise(0);
    await m.run(() => msleep(1));
    expect(q.per_cpu[third]).to.equal(1);
  });

  it("hides the missing flush on a unit without entry cache (irteCacheEntries: 0, as QEMU)", async () => {
    const rig = await irRig({ machine: { iommu: { unit: { irteCacheEntries: 0 } } } });
    const { m, priv, unit } = rig;
    const q = priv.queues[0]!;
    const from = m.trace().length;
    const { old, now, noHandler } = await staleMove(rig);
    expect(noHandler).to.deep.equal([]);
    expect(q.per_cpu[old.cpu]).to.equal(1);
    expect(q.per_cpu[now.cpu]).to.equal(2);
    expect(unit.iecEntries()).to.deep.equal([]);
    const remaps = ofKind(m.trace().slice(from), "hw.vtd").filter((r) => r.what === "remap");
    expect(remaps.map((r) => r.hit)).to.deep.equal([false, false, false]);
  });
});
