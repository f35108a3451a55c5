// SPDX-License-Identifier: GPL-2.0-only
// Queued invalidation errors seen by the submitter (hardware.md 2.5):
// qi_submit_sync() polls its wait descriptor with interrupts off and calls
// qi_check_fault() on every pass. A descriptor the unit rejects stops the
// queue with FSTS.IQE and IQH at it; the submitter dumps the queue, puts its
// own wait descriptor in the bad slot, clears IQE and returns -EINVAL. A
// device-TLB invalidation time-out (FSTS.ITE) aborts every pending wait: the
// submitter resubmits (-EAGAIN, internally), or gives up with -ETIMEDOUT
// when IQER names a requester it does not know.

import { expect } from "chai";
import { cpumask_of } from "../../../../lib/kernel/cpumask.ts";
import { msleep } from "../../../../lib/kernel/delay.ts";
import { EINVAL, ETIMEDOUT } from "../../../../lib/kernel/errno.ts";
import { irq_set_affinity } from "../../../../lib/irq/manage_affinity.ts";
import { qi_global_iec, qi_submit_sync } from "../../../../drivers/iommu/intel/dmar_qi.ts";
import { QI_IEC_TYPE, QI_LENGTH, QI_PGRP_RESP_TYPE, type qi_desc } from "../../../../drivers/iommu/intel/iommu.ts";
import { dmesgLines } from "../../../harness.ts";
import { irRig, irteIndex, target, tracepoints, type IrRig } from "./ir_rig.ts";

const desc = (qw0: bigint, qw1 = 0n): qi_desc => ({ qw0, qw1, qw2: 0n, qw3: 0n });

/** The wait descriptor qi_submit_sync() put in `slot` (status QI_DONE written to desc_status[slot]). */
function waitDesc(rig: IrRig, slot: number): string {
  return `Invalidation Wait qw0 = 0x200000025, qw1 = 0x${(rig.iommu.qi!.desc_status.dma_handle + 4 * slot).toString(16)}`;
}

/** Submit `d` alone; the return code and the dmesg lines it produced. */
async function submit(rig: IrRig, d: qi_desc): Promise<{ rc: number; dmesg: string[]; slot: number }> {
  const { m, iommu } = rig;
  const slot = iommu.qi!.free_head;
  const from = dmesgLines(m).length;
  const rc = await m.run(() => qi_submit_sync(iommu, [d], 1, 0));
  return { rc, dmesg: dmesgLines(m).slice(from), slot };
}

/** The queue is idle and usable: IEC flushes complete and moves still take effect. */
async function stillWorks(rig: IrRig): Promise<void> {
  const { m, hw, priv, iommu, unit } = rig;
  expect(iommu.qi!.free_cnt, "every slot reclaimed").to.equal(QI_LENGTH);
  const before = unit.stats.iecInvalidations;
  await m.run(() => qi_global_iec(iommu));
  expect(unit.stats.iecInvalidations).to.equal(before + 1);
  const q = priv.queues[0]!;
  const cpu = (target(m, q.irq).cpu + 1) % 4;
  await m.run(() => expect(irq_set_affinity(q.irq, cpumask_of(cpu))).to.equal(0));
  expect(unit.readIrte(irteIndex(m, q.irq)).dest_id).to.equal(cpu << 8);
  hw.raise(0);
  await m.run(() => msleep(1));
  expect(q.per_cpu[cpu]).to.equal(1);
}

describe("drivers/iommu/intel: invalidation queue errors", () => {
  it("reports a descriptor of a type the unit rejects (IQE), returns -EINVAL and keeps the queue working", async () => {
    const rig = await irRig();
    // a page group response, on a unit without page requests
    const r = await submit(rig, desc(QI_PGRP_RESP_TYPE));
    expect(r.rc).to.equal(-EINVAL);
    expect(r.dmesg).to.deep.equal([
      "DMAR: VT-d detected Invalidation Queue Error: Reason 3",
      "DMAR: QI HEAD: Page Group Response qw0 = 0x9, qw1 = 0x0",
      `DMAR: QI PRIOR: ${waitDesc(rig, r.slot - 1)}`,
      "DMAR: Invalidation Queue Error (IQE) cleared",
    ]);
    // the bad slot now holds the submitter's wait descriptor, which the unit carried out
    expect(rig.iommu.qi!.desc.le64(r.slot * 16)).to.equal(0x200000025n);
    expect(rig.unit.stats.descriptorsProcessed).to.be.greaterThan(0);
    await stillWorks(rig);
  });

  it("reports reserved bits set in an IEC invalidation descriptor (IQEI 4)", async () => {
    const rig = await irRig();
    const r = await submit(rig, desc(QI_IEC_TYPE | (1n << 5n)));
    expect(r.rc).to.equal(-EINVAL);
    expect(r.dmesg).to.deep.equal([
      "DMAR: VT-d detected Invalidation Queue Error: Reason 4",
      "DMAR: QI HEAD: Interrupt Entry Cache Invalidation qw0 = 0x24, qw1 = 0x0",
      `DMAR: QI PRIOR: ${waitDesc(rig, r.slot - 1)}`,
      "DMAR: Invalidation Queue Error (IQE) cleared",
    ]);
    await stillWorks(rig);
  });

  it("resubmits the batch after an invalidation time-out (ITE) without a requester id", async () => {
    const rig = await irRig();
    const { m, unit } = rig;
    unit.injectIte();
    const from = m.trace().length;
    const r = await submit(rig, desc(QI_IEC_TYPE));
    expect(r.rc).to.equal(0);
    // the unit dropped everything up to the tail: IQH is past our wait descriptor
    expect(r.dmesg).to.deep.equal([
      "DMAR: VT-d detected Invalidation Time-out Error: SID 0",
      "DMAR: QI HEAD: UNKNOWN qw0 = 0x0, qw1 = 0x0",
      `DMAR: QI PRIOR: ${waitDesc(rig, r.slot + 1)}`,
      "DMAR: Invalidation Time-out Error (ITE) cleared",
    ]);
    // -EAGAIN: the same descriptor queued again, in the next slots
    expect(tracepoints(m, "intel_iommu", "qi_submit", from)).to.deep.equal(["qi_submit: iec_inv dmar0: 0x4 0x0 0x0 0x0", "qi_submit: iec_inv dmar0: 0x4 0x0 0x0 0x0"]);
    await stillWorks(rig);
  });

  it("gives up with -ETIMEDOUT when the time-out names a requester the IOMMU driver does not know", async () => {
    const rig = await irRig();
    rig.unit.injectIte(0x3b00);
    const r = await submit(rig, desc(QI_IEC_TYPE));
    expect(r.rc).to.equal(-ETIMEDOUT);
    expect(r.dmesg[0]).to.equal("DMAR: VT-d detected Invalidation Time-out Error: SID 3b00");
    expect(r.dmesg[3]).to.equal("DMAR: Invalidation Time-out Error (ITE) cleared");
    await stillWorks(rig);
  });
});
