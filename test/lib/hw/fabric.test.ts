// SPDX-License-Identifier: GPL-2.0-only
import { expect } from "chai";
import { rig } from "./rig.ts";
import { composeCompat, type MsiMessage } from "../../../lib/hw/fabric.ts";

const RID = 0x3b00;

describe("lib/hw/fabric MSI delivery", () => {
  it("decodes a compatibility-format message and sets IRR at the destination after the delivery latency", () => {
    const r = rig({ cpus: 4 });
    const m = composeCompat({ dest: 2, vector: 0x61 });
    expect(m).to.deep.equal({ addrLo: 0xfee02000, addrHi: 0, data: 0x4061 });
    r.p.dmaWrite32(RID, m.addrLo, m.addrHi, m.data);
    r.run(199);
    expect(r.p.lapic(2).isIrr(0x61)).to.equal(false);
    r.run(1);
    expect(r.p.lapic(2).isIrr(0x61)).to.equal(true);
    for (const c of [0, 1, 3]) expect(r.p.lapic(c).highestIrr()).to.equal(-1);
    const lvl = composeCompat({ dest: 1, vector: 0x62, levelTrigger: true, deliveryMode: 1 });
    r.p.dmaWrite(RID, lvl.addrLo, lvl.data);
    r.run(1000);
    expect(r.p.lapic(1).isIrr(0x62), "lowest priority to one physical destination").to.equal(true);
    expect(r.p.lapic(1).tmr[0x62 >> 5]! & (1 << (0x62 & 31)), "level trigger sets TMR").to.not.equal(0);
  });

  it("treats only the interrupt window as messages; other writes go to RAM", () => {
    const r = rig();
    r.p.dmaWrite(RID, 0x1000, 0xcafe);
    r.p.dmaWrite(RID, 0x2000, Uint8Array.of(1, 2, 3));
    r.p.dmaWrite32(RID, 0xfee00000, 1, 0x41); // 0x1_FEE0_0000 is RAM
    expect(r.p.ram.read32(0x1000)).to.equal(0xcafe);
    expect([...r.p.dmaRead(RID, 0x2000, 3)]).to.deep.equal([1, 2, 3]);
    expect(r.p.ram.read32(2 ** 32 + 0xfee00000)).to.equal(0x41);
    expect(r.p.fabric.stats.received).to.equal(0);
    r.p.dmaWrite(RID, 0xfee00000, Uint8Array.of(0x41, 0, 0, 0));
    r.p.dmaWrite(RID, 0xfee00000, Uint8Array.of(0x41, 0));
    r.run(1000);
    expect(r.p.fabric.stats.received).to.equal(1);
    expect(r.events("hw.dma").map((e) => e.what)).to.include("malformed-msi");
  });

  it("drops what it does not model and says why: remappable format, logical mode, NMI, absent CPU", () => {
    const r = rig({ cpus: 2 });
    r.p.dmaWrite32(RID, 0xfee00010, 0, 0x41);
    r.p.dmaWrite32(RID, 0xfee00004, 0, 0x41);
    r.p.dmaWrite32(RID, 0xfee00000, 0, 0x441);
    r.p.dmaWrite32(RID, 0xfee07000, 0, 0x41);
    r.run(1000);
    expect(r.events("hw.msi").filter((e) => e.what === "drop").map((e) => e.why)).to.deep.equal([
      "remappable format without an interrupt-remapping unit",
      "logical destination mode is not modelled",
      "delivery mode 4 is not modelled",
      "no CPU with APIC ID 7",
    ]);
    expect(r.p.fabric.stats).to.include({ received: 4, dropped: 4, delivered: 0 });
  });

  it("gives an interrupt-remapping hook every message first, with the requester id", () => {
    const r = rig({ cpus: 2 });
    const seen: [MsiMessage, number, number][] = [];
    r.p.fabric.remapper = (msg, rid, pasid) => {
      seen.push([{ ...msg }, rid, pasid]);
      if (msg.data === 0) return null;
      // remappable format: handle in address bits 19:5
      return composeCompat({ dest: 1, vector: 0x70 + ((msg.addrLo >>> 5) & 0x7fff) });
    };
    r.p.dmaWrite32(RID, 0xfee00010 | (3 << 5), 0, 1, 5);
    r.p.dmaWrite32(RID + 1, 0xfee00010, 0, 0);
    r.run(1000);
    expect(seen).to.deep.equal([
      [{ addrLo: 0xfee00070, addrHi: 0, data: 1 }, RID, 5],
      [{ addrLo: 0xfee00010, addrHi: 0, data: 0 }, RID + 1, -1],
    ]);
    expect(r.p.lapic(1).isIrr(0x73)).to.equal(true);
    expect(r.events("hw.msi").map((e) => e.what)).to.deep.equal(["receive", "remapped", "receive", "drop", "deliver"]);
  });

  it("delivers messages in the order they left, even when they bunch up", () => {
    const r = rig({ cpus: 2 });
    for (let v = 0x30; v < 0x30 + 40; v++) r.p.dmaWrite32(RID, 0xfee01000, 0, v);
    expect(r.p.fabric.inFlight).to.equal(40);
    r.run(1000);
    const got = r.events("hw.msi").filter((e) => e.what === "deliver").map((e) => e.vector);
    expect(got).to.deep.equal(Array.from({ length: 40 }, (_, i) => 0x30 + i));
  });

  it("keeps one queued event for the whole delivery pipeline (no per-message allocation of events)", () => {
    const r = rig({ cpus: 2, vectors: 4 });
    r.rec.stop();
    for (let v = 0; v < 4; v++) r.entry(v, 1, 0x40 + v);
    r.control(true);
    r.run(1000);
    const before = r.sim.eq.size;
    for (let i = 0; i < 10000; i++) r.nic.raise(i & 3);
    expect(r.sim.eq.size - before).to.equal(1);
    r.run(1000);
    expect(r.p.fabric.stats.delivered).to.equal(10000);
    expect(r.p.lapic(1).stats.coalesced).to.equal(10000 - 4);
  });
});
