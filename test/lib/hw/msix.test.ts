// SPDX-License-Identifier: GPL-2.0-only
import { expect } from "chai";
import { rig } from "./rig.ts";
import { TESTNIC_MSIX_PBA } from "../../../lib/hw/devices/testnic.ts";

const MASKED = 1;

describe("lib/hw/msix capability", () => {
  it("comes out of reset disabled with every entry masked and the PBA clear", () => {
    const r = rig({ vectors: 70 });
    expect(r.r16(r.cfg + r.nic.msix.cap + 2)).to.equal(69);
    for (const v of [0, 33, 69]) expect(r.r32(r.bar + v * 16 + 12)).to.equal(MASKED);
    expect(r.r32(r.bar + TESTNIC_MSIX_PBA)).to.equal(0);
    expect(r.nic.msix.pbaSize, "two qwords for 70 vectors").to.equal(16);
  });

  it("drops a vector raised while MSI-X is disabled, without latching it", () => {
    const r = rig();
    r.entry(1, 0, 0x40);
    r.run(1000);
    expect(r.nic.raise(1)).to.equal("dropped");
    expect(r.nic.msix.pending(1)).to.equal(false);
    expect(r.events("hw.msix").map((e) => e.what)).to.deep.equal(["drop"]);
  });

  it("latches a masked vector in the PBA and sends it exactly once on entry unmask", () => {
    const r = rig();
    r.entry(2, 1, 0x51, true);
    r.control(true);
    r.run(1000);
    expect(r.nic.raise(2)).to.equal("latched");
    expect(r.nic.raise(2)).to.equal("latched");
    expect(r.nic.raise(2)).to.equal("latched");
    expect(r.r32(r.bar + TESTNIC_MSIX_PBA)).to.equal(1 << 2);
    expect(r.p.mmio.read64(0, r.bar + TESTNIC_MSIX_PBA)).to.equal(4n);
    r.run(1000);
    expect(r.p.fabric.stats.received).to.equal(0);
    r.w32(r.bar + 2 * 16 + 12, 0);
    r.run(1000);
    expect(r.p.fabric.stats.received).to.equal(1);
    expect(r.p.lapic(1).isIrr(0x51)).to.equal(true);
    expect(r.r32(r.bar + TESTNIC_MSIX_PBA)).to.equal(0);
    expect(r.nic.counters(2)).to.deep.equal({ raised: 3, emitted: 1, latched: 3, dropped: 0, blocked: 0 });
    // masking and unmasking again sends nothing: the event was delivered
    r.w32(r.bar + 2 * 16 + 12, MASKED);
    r.w32(r.bar + 2 * 16 + 12, 0);
    r.run(1000);
    expect(r.p.fabric.stats.received).to.equal(1);
    expect(r.events("hw.msix").map((e) => e.what)).to.deep.equal(["latch", "latch", "latch", "pending-emit"]);
  });

  it("latches under the function mask and sends each pending vector once when it clears", () => {
    const r = rig();
    r.entry(0, 0, 0x41);
    r.entry(5, 1, 0x42);
    r.entry(6, 1, 0x43, true);
    r.control(true, true);
    r.run(1000);
    r.nic.raise(0);
    r.nic.raise(5);
    r.nic.raise(5);
    r.nic.raise(6);
    expect(r.r32(r.bar + TESTNIC_MSIX_PBA)).to.equal((1 << 0) | (1 << 5) | (1 << 6));
    r.control(true, false);
    r.run(1000);
    expect(r.p.fabric.stats.received, "vector 6 is still masked by its entry").to.equal(2);
    expect(r.r32(r.bar + TESTNIC_MSIX_PBA)).to.equal(1 << 6);
    expect(r.p.lapic(0).isIrr(0x41)).to.equal(true);
    expect(r.p.lapic(1).isIrr(0x42)).to.equal(true);
    r.w32(r.bar + 6 * 16 + 12, 0);
    r.run(1000);
    expect(r.p.fabric.stats.received).to.equal(3);
  });

  it("sends a vector left pending when MSI-X is enabled again", () => {
    const r = rig();
    r.entry(3, 0, 0x60);
    r.control(true, true);
    r.run(1000);
    r.nic.raise(3);
    r.control(false, false);
    r.run(1000);
    expect(r.p.fabric.stats.received).to.equal(0);
    expect(r.nic.msix.pending(3)).to.equal(true);
    r.control(true, false);
    r.run(1000);
    expect(r.p.fabric.stats.received).to.equal(1);
    expect(r.nic.msix.pending(3)).to.equal(false);
  });

  it("ignores writes to the read-only PBA and traces them", () => {
    const r = rig();
    r.entry(4, 0, 0x44, true);
    r.control(true);
    r.run(1000);
    r.nic.raise(4);
    r.w32(r.bar + TESTNIC_MSIX_PBA, 0);
    r.p.mmio.write64(0, r.bar + TESTNIC_MSIX_PBA, 0xffn);
    r.run(1000);
    expect(r.r32(r.bar + TESTNIC_MSIX_PBA)).to.equal(1 << 4);
    expect(r.nic.msix.stats.pbaWrites).to.equal(2);
    expect(r.events("hw.msix").filter((e) => e.what === "pba-write")).to.have.length(2);
  });

  it("answers accesses beyond the table, of the wrong width or misaligned with unsupported requests", () => {
    const r = rig({ vectors: 4 });
    const ur = (): string[] => r.events("hw.ur").map((e) => `${e.space} ${e.op} +0x${e.offset.toString(16)}/${e.width}: ${e.why}`);
    expect(r.r32(r.bar + 4 * 16)).to.equal(0xffffffff);
    expect(r.p.mmio.read(0, r.bar + 12, 1)).to.equal(0xff);
    expect(r.p.mmio.read(0, r.bar + 12, 2)).to.equal(0xffff);
    expect(r.r32(r.bar + 2)).to.equal(0xffffffff);
    expect(r.p.mmio.read64(0, r.bar + 4)).to.equal(0xffffffffffffffffn);
    expect(r.r32(r.bar + TESTNIC_MSIX_PBA + 8), "beyond the one-qword PBA").to.equal(0xffffffff);
    r.w32(r.bar + 4 * 16 + 12, 0);
    r.p.mmio.write(0, r.bar + 12, 0, 1);
    r.p.mmio.write(0, r.bar + 14, 0, 2);
    r.run(1000);
    for (let v = 0; v < 4; v++) expect(r.nic.msix.entry(v).masked, `entry ${v}`).to.equal(true);
    expect(ur()).to.deep.equal([
      "msix-table read +0x40/4: beyond the MSI-X table",
      "msix-table read +0xc/1: MSI-X table accesses must be a full DWORD or QWORD",
      "msix-table read +0xc/2: MSI-X table accesses must be a full DWORD or QWORD",
      "msix-table read +0x2/4: misaligned MSI-X table access",
      "msix-table read +0x4/8: misaligned MSI-X table access",
      "msix-pba read +0x8/4: beyond the PBA",
      "msix-table write +0x4c/4: beyond the MSI-X table",
      "msix-table write +0xc/1: MSI-X table accesses must be a full DWORD or QWORD",
      "msix-table write +0xe/2: MSI-X table accesses must be a full DWORD or QWORD",
    ]);
  });

  it("takes qword accesses to the table as one transaction", () => {
    const r = rig({ vectors: 2 });
    r.p.mmio.write64(0, r.bar + 16, 0x00000001fee02000n);
    r.p.mmio.write64(0, r.bar + 16 + 8, 0x0000000000000045n);
    r.run(1000);
    expect(r.nic.msix.entry(1)).to.deep.equal({ addrLo: 0xfee02000, addrHi: 1, data: 0x45, masked: false });
    expect(r.p.mmio.read64(0, r.bar + 16)).to.equal(0x00000001fee02000n);
  });

  it("with torn latching, sends the old address with the new data when the CPU rewrites in between", () => {
    const r = rig({ latching: "torn", tearWindowNs: 500 });
    r.entry(0, 1, 0x40);
    r.control(true);
    r.run(1000);
    const t0 = r.sim.now;
    r.nic.raise(0);
    r.run(50);
    // msi_set_affinity()-style rewrite of an unmasked entry: new CPU 0, new vector 0x50
    r.w32(r.bar + 0, 0xfee00000);
    r.w32(r.bar + 8, 0x50);
    r.run(2000);
    const rx = r.events("hw.msi").filter((e) => e.what === "receive");
    expect(rx).to.have.length(1);
    expect(rx[0]!.t - t0).to.equal(500);
    expect(rx[0]!.addrLo, "address sampled before the rewrite").to.equal(0xfee01000);
    expect(rx[0]!.data, "data sampled after it").to.equal(0x50);
    expect(r.p.lapic(1).isIrr(0x50), "the mixed message lands on the old CPU with the new vector").to.equal(true);
    expect(r.p.lapic(0).isIrr(0x50)).to.equal(false);
    expect(r.nic.msix.stats.specViolations).to.equal(2);
    expect(r.events("hw.msix").filter((e) => e.what === "spec-violation").map((e) => e.why)).to.deep.equal([
      "addr_lo changed while the entry is unmasked",
      "data changed while the entry is unmasked",
    ]);
  });

  it("with atomic latching, sends the message as it was when raised", () => {
    const r = rig({ latching: "atomic" });
    r.entry(0, 1, 0x40);
    r.control(true);
    r.run(1000);
    r.nic.raise(0);
    r.run(50);
    r.w32(r.bar + 0, 0xfee00000);
    r.w32(r.bar + 8, 0x50);
    r.run(2000);
    const rx = r.events("hw.msi").filter((e) => e.what === "receive");
    expect(rx.map((e) => [e.addrLo, e.data])).to.deep.equal([[0xfee01000, 0x40]]);
    expect(r.p.lapic(1).isIrr(0x40)).to.equal(true);
    expect(r.p.lapic(1).isIrr(0x50)).to.equal(false);
    expect(r.p.lapic(0).isIrr(0x50)).to.equal(false);
  });

  it("records no spec violation for rewriting a masked entry", () => {
    const r = rig();
    r.entry(0, 1, 0x40, true);
    r.control(true);
    r.entry(0, 0, 0x41, true);
    r.run(1000);
    expect(r.nic.msix.stats.specViolations).to.equal(0);
  });
});
