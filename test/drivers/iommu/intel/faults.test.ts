// SPDX-License-Identifier: GPL-2.0-only
// Interrupt-remapping faults end to end (hardware.md 2.7): a message the
// unit refuses is dropped, recorded in a fault recording register (unless
// the IRTE has FPD set), and the fault event -- a compatibility-format MSI
// of the unit itself, on the DMAR-MSI domain -- runs dmar_fault(), which
// prints "DRHD: handling fault status reg" and one "[INTR-REMAP]" line per
// record, as drivers/iommu/intel/dmar.c does. Messages are forged with the
// hardware back door PciFunction.emitMsi() of a second NIC that no driver
// owns, or written into the table through the RAM back door.

import { expect } from "chai";
import { msleep } from "../../../../lib/kernel/delay.ts";
import { readl } from "../../../../lib/kernel/io.ts";
import { disable_irq, enable_irq } from "../../../../lib/irq/manage.ts";
import { composeCompat } from "../../../../lib/hw/fabric.ts";
import { remappableMsg } from "../../../../lib/hw/vtd.ts";
import type { Machine } from "../../../../lib/machine.ts";
import { qi_global_iec } from "../../../../drivers/iommu/intel/dmar_qi.ts";
import { DMAR_FSTS_REG } from "../../../../drivers/iommu/intel/iommu.ts";
import { dmesgLines } from "../../../harness.ts";
import { irRig, irteIndex, NIC_RID, ofKind, ROGUE_RID, type IrRig } from "./ir_rig.ts";

const SID_ERR = "Blocked an interrupt request due to source-id verification failure";

/** Send a message from `rid`'s device, let the fault interrupt run; what it changed. */
async function send(
  rig: IrRig,
  dev: "rogue" | "nic",
  msg: { addrLo: number; addrHi?: number; data: number },
): Promise<{ dmesg: string[]; faults: { reason?: number; rid: number; index?: number; recorded?: boolean }[]; delivered: number; dropped: string[] }> {
  const { m } = rig;
  const from = m.trace().length;
  const lines = dmesgLines(m).length;
  const fn = dev === "rogue" ? rig.rogue! : rig.hw;
  expect(fn.emitMsi(msg.addrLo, msg.addrHi ?? 0, msg.data)).to.equal(true);
  await m.run(() => msleep(1));
  const tr = m.trace().slice(from);
  const rid = dev === "rogue" ? ROGUE_RID : NIC_RID;
  return {
    dmesg: dmesgLines(m).slice(lines),
    faults: ofKind(tr, "hw.vtd")
      .filter((r) => r.what === "fault")
      .map((r) => ({ reason: r.reason, rid: r.rid!, index: r.index, recorded: r.recorded })),
    delivered: ofKind(tr, "hw.msi").filter((r) => r.what === "deliver" && r.rid === rid).length,
    dropped: ofKind(tr, "hw.msi")
      .filter((r) => r.what === "drop" && r.rid === rid)
      .map((r) => r.why ?? ""),
  };
}

/** The dmar0 row's total count in /proc/interrupts. */
function dmarCount(m: Machine): number {
  const row = m.procInterrupts().split("\n").find((l) => l.endsWith(" dmar0"))!;
  return row
    .trim()
    .split(/\s+/)
    .slice(1, 5)
    .reduce((n, c) => n + Number(c), 0);
}

const blocked = ["blocked by the interrupt-remapping unit"];

describe("drivers/iommu/intel: remapping faults", () => {
  it("blocks a device forging another device's handle (0x26) and dmar_fault() prints it as the kernel does", async () => {
    const rig = await irRig({ rogue: true });
    const { m, priv } = rig;
    const q = priv.queues[2]!;
    const index = irteIndex(m, q.irq);
    const r = await send(rig, "rogue", remappableMsg(index));
    expect(r.delivered).to.equal(0);
    expect(r.dropped).to.deep.equal(blocked);
    expect(r.faults).to.deep.equal([{ reason: 0x26, rid: ROGUE_RID, index, recorded: true }]);
    expect(r.dmesg).to.deep.equal([
      "DMAR: DRHD: handling fault status reg 2",
      `DMAR: [INTR-REMAP] Request device [3c:00.0] fault index 0x${index.toString(16)} [fault reason 0x26] ${SID_ERR}`,
    ]);
    expect(q.count).to.equal(0);
    expect(dmarCount(m)).to.equal(1);
    // the next record goes to the next fault register: FSTS.FRI 1
    const again = await send(rig, "rogue", remappableMsg(index));
    expect(again.dmesg[0]).to.equal("DMAR: DRHD: handling fault status reg 102");
    // the owner's own messages still pass
    rig.hw.raise(2);
    await m.run(() => msleep(1));
    expect(q.count).to.equal(1);
  });

  it("keeps the record in the fault recording register until dmar_fault() reads and clears it", async () => {
    const rig = await irRig({ rogue: true });
    const { m, priv, iommu } = rig;
    const index = irteIndex(m, priv.queues[3]!.irq);
    const from = dmesgLines(m).length;
    // lazy disable: the fault event that arrives meanwhile masks FECTL and stays pending
    await m.run(() => disable_irq(iommu.irq));
    expect(rig.rogue!.emitMsi(remappableMsg(index).addrLo, 0, 0)).to.equal(true);
    await m.run(() => msleep(1));
    const regs = (): { fsts: number; frcd: number[] } =>
      m.enter(() => ({ fsts: readl(iommu.reg + DMAR_FSTS_REG), frcd: [0, 4, 8, 12].map((o) => readl(iommu.reg + 0x400 + o)) }));
    // FSTS: PPF, FRI 0; FRCD 0: fault info (index in 63:48), SID, F | reason
    expect(regs()).to.deep.equal({ fsts: 0x2, frcd: [0, (index << 16) >>> 0, ROGUE_RID, (0x80000000 | 0x26) >>> 0] });
    expect(dmesgLines(m).slice(from)).to.deep.equal([]);
    await m.run(async () => {
      await enable_irq(iommu.irq);
      await msleep(1);
    });
    expect(dmesgLines(m).slice(from)).to.deep.equal([
      "DMAR: DRHD: handling fault status reg 2",
      `DMAR: [INTR-REMAP] Request device [3c:00.0] fault index 0x${index.toString(16)} [fault reason 0x26] ${SID_ERR}`,
    ]);
    expect(regs().fsts).to.equal(0);
    expect(regs().frcd[3]! & 0x80000000, "F cleared").to.equal(0);
  });

  it("blocks a compatibility-format message (0x25): CFI stays clear after boot, even when firmware had set it", async () => {
    for (const firmwareCfi of [false, true]) {
      const rig = await irRig({ rogue: true, machine: { iommu: { unit: { firmwareCfi } } } });
      const { priv } = rig;
      // aimed at queue 0's CPU and vector, as a device that ignores the remapping would
      const r = await send(rig, "rogue", composeCompat({ dest: 1, vector: 0x20 }));
      expect(r.delivered, `firmwareCfi ${firmwareCfi}`).to.equal(0);
      expect(r.dropped).to.deep.equal(blocked);
      expect(r.faults).to.deep.equal([{ reason: 0x25, rid: ROGUE_RID, index: 0, recorded: true }]);
      expect(r.dmesg).to.deep.equal([
        "DMAR: DRHD: handling fault status reg 2",
        "DMAR: [INTR-REMAP] Request device [3c:00.0] fault index 0x0 [fault reason 0x25] Blocked a compatibility format interrupt request",
      ]);
      expect(priv.queues.reduce((n, q) => n + q.count, 0)).to.equal(0);
    }
  });

  it("blocks an index beyond the table (0x21) and a not-present entry (0x22)", async () => {
    const rig = await irRig({ rogue: true });
    // handle 0xfff0 + subhandle 0x20: entry 0x10010 of a 64K-entry table; the
    // fault record keeps the index's low 16 bits
    const over = await send(rig, "rogue", remappableMsg(0xfff0, 0x20));
    expect(over.dropped).to.deep.equal(blocked);
    expect(over.faults).to.deep.equal([{ reason: 0x21, rid: ROGUE_RID, index: 0x10010, recorded: true }]);
    expect(over.dmesg).to.deep.equal([
      "DMAR: DRHD: handling fault status reg 2",
      "DMAR: [INTR-REMAP] Request device [3c:00.0] fault index 0x10 [fault reason 0x21] Interrupt index exceeded the interrupt-remapping table size",
    ]);
    const absent = await send(rig, "rogue", remappableMsg(0x200));
    expect(absent.dropped).to.deep.equal(blocked);
    expect(absent.faults).to.deep.equal([{ reason: 0x22, rid: ROGUE_RID, index: 0x200, recorded: true }]);
    expect(absent.dmesg).to.deep.equal([
      "DMAR: DRHD: handling fault status reg 102",
      "DMAR: [INTR-REMAP] Request device [3c:00.0] fault index 0x200 [fault reason 0x22] Present field in the IRTE entry is clear",
    ]);
  });

  it("blocks reserved fields in the request (0x20) and in a corrupted IRTE (0x24)", async () => {
    const rig = await irRig({ rogue: true });
    const { m, priv, unit, iommu } = rig;
    const q = priv.queues[1]!;
    const index = irteIndex(m, q.irq);
    const msg = remappableMsg(index);
    // address_hi != 0 is not reachable from a device: above 4 GiB the write
    // is outside the interrupt window, an ordinary DMA write the unit never sees
    const from0 = m.trace().length;
    const hi = await send(rig, "rogue", { ...msg, addrHi: 1 });
    expect(hi.faults).to.deep.equal([]);
    expect(hi.dmesg).to.deep.equal([]);
    expect(ofKind(m.trace().slice(from0), "hw.dma").filter((r) => r.rid === ROGUE_RID).map((r) => [r.what, r.addr])).to.deep.equal([["write", 2 ** 32 + msg.addrLo]]);
    // SHV set and data[31:16] not zero, from the owner itself
    const reserved = "Detected reserved fields in the decoded interrupt-remapped request";
    const shv = await send(rig, "nic", { ...msg, data: 0x10000 });
    expect(shv.faults).to.deep.equal([{ reason: 0x20, rid: NIC_RID, index, recorded: true }]);
    expect(shv.dmesg[1]).to.equal(`DMAR: [INTR-REMAP] Request device [3b:00.0] fault index 0x${index.toString(16)} [fault reason 0x20] ${reserved}`);
    // a stray write sets reserved bit 12 of the entry; the unit sees it once the cache entry goes
    const a = unit.activeTable!.base + 16 * index;
    m.platform.ram.write64(a, m.platform.ram.read64(a) | 0x1000n);
    await m.run(() => qi_global_iec(iommu));
    rig.hw.raise(1);
    const from = dmesgLines(m).length;
    await m.run(() => msleep(1));
    expect(dmesgLines(m).slice(from)).to.deep.equal([
      "DMAR: DRHD: handling fault status reg 102",
      `DMAR: [INTR-REMAP] Request device [3b:00.0] fault index 0x${index.toString(16)} [fault reason 0x24] Detected reserved fields in the IRTE entry`,
    ]);
    expect(q.count).to.equal(0);
  });

  it("blocks but neither records nor prints a fault of an IRTE with FPD set", async () => {
    const rig = await irRig({ rogue: true });
    const { m, priv, unit, iommu } = rig;
    const q = priv.queues[0]!;
    const index = irteIndex(m, q.irq);
    const a = unit.activeTable!.base + 16 * index;
    m.platform.ram.write64(a, m.platform.ram.read64(a) | 0x2n);
    await m.run(() => qi_global_iec(iommu));
    expect(unit.readIrte(index).fpd).to.equal(1);
    const r = await send(rig, "rogue", remappableMsg(index));
    expect(r.delivered).to.equal(0);
    expect(r.dropped).to.deep.equal(blocked);
    expect(r.faults).to.deep.equal([{ reason: 0x26, rid: ROGUE_RID, index, recorded: false }]);
    expect(r.dmesg).to.deep.equal([]);
    expect(dmarCount(m)).to.equal(0);
    expect(unit.stats.faultsSuppressed).to.equal(1);
    rig.hw.raise(0);
    await m.run(() => msleep(1));
    expect(q.count).to.equal(1);
  });

  // drivers/iommu/intel/dmar.c dmar_fault(): DEFINE_RATELIMIT_STATE(rs,
  // DEFAULT_RATELIMIT_INTERVAL, DEFAULT_RATELIMIT_BURST), one token for the
  // status line and one per loop pass (the pass that finds no F bit too)
  it("prints at most ten lines per five seconds but still clears every record, then reports the 5 suppressed", async () => {
    const rig = await irRig({ rogue: true });
    const { m, unit } = rig;
    const lines: string[] = [];
    for (let i = 0; i < 5; i++) lines.push(...(await send(rig, "rogue", remappableMsg(0x300 + i))).dmesg);
    const rec = (i: number): string => `DMAR: [INTR-REMAP] Request device [3c:00.0] fault index 0x${(0x300 + i).toString(16)} [fault reason 0x22] Present field in the IRTE entry is clear`;
    expect(lines).to.deep.equal([
      "DMAR: DRHD: handling fault status reg 2",
      rec(0),
      "DMAR: DRHD: handling fault status reg 102",
      rec(1),
      "DMAR: DRHD: handling fault status reg 202",
      rec(2),
      "DMAR: DRHD: handling fault status reg 302",
    ]);
    expect(unit.stats.faultsRecorded).to.equal(5);
    expect(unit.stats.faultsOverflowed).to.equal(0);
    expect(dmarCount(m)).to.equal(5);
    await m.run(() => msleep(5000));
    // lib/ratelimit.c ___ratelimit(): the first call after the interval
    // reports the misses under the rate-limited function's __func__
    expect((await send(rig, "rogue", remappableMsg(0x310))).dmesg).to.deep.equal([
      "dmar_fault: 5 callbacks suppressed",
      "DMAR: DRHD: handling fault status reg 502",
      "DMAR: [INTR-REMAP] Request device [3c:00.0] fault index 0x310 [fault reason 0x22] Present field in the IRTE entry is clear",
    ]);
  });
});
