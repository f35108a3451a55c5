// SPDX-License-Identifier: GPL-2.0-only
import { expect } from "chai";
import { createMachine, type Machine } from "../../../lib/machine.ts";
import { readb, readl, readw, writel, writew } from "../../../lib/kernel/io.ts";
import { K } from "../../../lib/kernel/kernel.ts";
import { TESTNIC_ID, TESTNIC_REGS, TESTNIC_REG_SCRATCH, type TestNic } from "../../../lib/hw/devices/testnic.ts";
import {
  CAP_ID_EXP,
  CAP_ID_MSIX,
  CMD_MASTER,
  CMD_MEMORY,
  EXP_DEVCAP,
  EXP_DEVCAP_FLR,
  EXP_DEVCTL,
  EXP_DEVCTL_BCR_FLR,
  parseBdf,
} from "../../../lib/hw/pci.ts";
import { SimulatorError } from "../../../lib/sim/sim.ts";
import { rig } from "./rig.ts";

const BDF = "0000:3b:00.0";

async function nicMachine(): Promise<{ m: Machine; nic: TestNic; cfg: number }> {
  const m = await createMachine({ cpus: 2, pci: { devices: [{ type: "testnic", bdf: BDF, vectors: 16 }] } });
  const nic = m.pci.device<TestNic>(BDF);
  return { m, nic, cfg: m.platform.pci.ecamAddress(0x3b, 0, 0) };
}

/** drivers/pci/pci.c: pci_find_capability(), through ECAM. */
function find_cap(cfg: number, id: number): number {
  let pos = readb(cfg + 0x34) & ~3;
  for (let ttl = 48; pos && ttl > 0; ttl--) {
    if (readb(cfg + pos) === id) return pos;
    pos = readb(cfg + pos + 1) & ~3;
  }
  return 0;
}

describe("lib/hw/pci functions, BARs and ECAM", () => {
  it("presents a type 0 header and a capability list through ECAM", async () => {
    const { m, cfg } = await nicMachine();
    await m.run(() => {
      expect(readl(cfg)).to.equal((0x7e57 << 16) | 0x1b36);
      expect(readl(cfg + 0x08) >>> 8).to.equal(0x020000);
      expect(readb(cfg + 0x0e)).to.equal(0);
      expect(readw(cfg + 0x06) & 0x10, "capabilities list").to.equal(0x10);
      const exp = find_cap(cfg, CAP_ID_EXP);
      const msix = find_cap(cfg, CAP_ID_MSIX);
      expect(exp).to.be.greaterThan(0x3f);
      expect(msix).to.be.greaterThan(exp);
      expect(readl(cfg + exp + EXP_DEVCAP) & EXP_DEVCAP_FLR).to.equal(EXP_DEVCAP_FLR);
      expect(readw(cfg + msix + 2) & 0x7ff, "table size N-1").to.equal(15);
      expect(readl(cfg + msix + 4), "table at BAR0+0").to.equal(0);
      expect(readl(cfg + msix + 8), "PBA at BAR0+0x8000").to.equal(0x8000);
      // functions that do not exist read all-ones (master abort)
      expect(readl(m.platform.pci.ecamAddress(0x3b, 1, 0))).to.equal(0xffffffff);
    });
  });

  it("lets software change only the writable command bits", async () => {
    const { m, cfg } = await nicMachine();
    await m.run(() => {
      writew(0xffff, cfg + 4);
      expect(readw(cfg + 4)).to.equal(0x0406);
      writew(0, cfg + 4);
      writel(0x12345678, cfg); // vendor/device are read-only
      expect(readl(cfg)).to.equal((0x7e57 << 16) | 0x1b36);
    });
  });

  it("sizes a 64-bit BAR with all-ones and decodes it where software puts it", async () => {
    const { m, nic, cfg } = await nicMachine();
    await m.run(() => {
      const fw = readl(cfg + 0x10);
      expect(fw & 0xf, "64-bit memory BAR").to.equal(0x4);
      const fwAddr = (fw & ~0xf) >>> 0;
      expect(fwAddr).to.be.greaterThan(0);
      expect(readl(fwAddr + TESTNIC_REGS), "no decode before Memory Space Enable").to.equal(0xffffffff);
      // drivers/pci/probe.c: __pci_read_base() sizing with decode off
      writel(0xffffffff, cfg + 0x10);
      writel(0xffffffff, cfg + 0x14);
      const lo = readl(cfg + 0x10);
      const hi = readl(cfg + 0x14);
      expect(lo).to.equal(0xffff0004);
      expect(hi).to.equal(0xffffffff);
      const mask = BigInt(hi) * 2n ** 32n + BigInt((lo & ~0xf) >>> 0);
      expect(Number(BigInt.asUintN(64, ~mask) + 1n)).to.equal(0x10000);
      writel(0xd0000000, cfg + 0x10);
      writel(0, cfg + 0x14);
      writew(CMD_MEMORY, cfg + 4);
      expect(readl(0xd0000000 + TESTNIC_REGS)).to.equal(TESTNIC_ID);
      expect(nic.barMappedAt(0)).to.equal(0xd0000000);
      writel(0x5a5a, 0xd0000000 + TESTNIC_REGS + TESTNIC_REG_SCRATCH);
      expect(readl(0xd0000000 + TESTNIC_REGS + TESTNIC_REG_SCRATCH)).to.equal(0x5a5a);
      expect(readl(fwAddr + TESTNIC_REGS), "old address no longer decodes").to.equal(0xffffffff);
      writew(0, cfg + 4);
      expect(readl(0xd0000000 + TESTNIC_REGS), "decode off again").to.equal(0xffffffff);
    });
    const kinds = m.trace().filter((r) => r.kind === "hw.pci").map((r) => (r.kind === "hw.pci" ? `${r.what}:${(r.addr ?? 0).toString(16)}` : ""));
    expect(kinds).to.deep.equal(["bar-map:d0000000", "bar-unmap:d0000000"]);
  });

  it("keeps a device silent while bus mastering is off", () => {
    const r = rig({ vectors: 4 });
    r.entry(0, 1, 0x41);
    r.control(true);
    r.w16(r.cfg + 4, CMD_MEMORY);
    r.run(1000);
    expect(r.nic.raise(0)).to.equal("emitted");
    r.run(1000);
    expect(r.p.lapic(1).isIrr(0x41)).to.equal(false);
    expect(r.nic.counters(0)).to.include({ raised: 1, emitted: 0, blocked: 1 });
    expect(r.events("hw.pci").map((e) => e.what)).to.include("dma-blocked");
    expect(r.events("hw.msi")).to.have.length(0);
    r.w16(r.cfg + 4, CMD_MEMORY | CMD_MASTER);
    r.run(1000);
    r.nic.raise(0);
    r.run(1000);
    expect(r.p.lapic(1).isIrr(0x41)).to.equal(true);
    expect(r.nic.counters(0)).to.include({ raised: 2, emitted: 1, blocked: 1 });
  });

  it("resets config space, MSI-X and device state on a function-level reset", async () => {
    const { m, nic, cfg } = await nicMachine();
    await m.run(() => {
      const bar = (readl(cfg + 0x10) & ~0xf) >>> 0;
      writew(CMD_MEMORY | CMD_MASTER, cfg + 4);
      writel(0x77, bar + TESTNIC_REGS + TESTNIC_REG_SCRATCH);
      writel(0xfee01000, bar);
      writel(0x45, bar + 8);
      writel(0, bar + 12);
      const msix = nic.msix.cap;
      writew(0xc000, cfg + msix + 2);
      readw(cfg + msix + 2);
      nic.raise(0);
      expect(nic.msix.pending(0)).to.equal(true);
      const exp = nic.expCap;
      writew(readw(cfg + exp + EXP_DEVCTL) | EXP_DEVCTL_BCR_FLR, cfg + exp + EXP_DEVCTL);
      // pcie_flr(): the write is posted; a config read flushes it
      expect(readw(cfg + 4), "decode and bus mastering off").to.equal(0);
      expect(readw(cfg + exp + EXP_DEVCTL) & EXP_DEVCTL_BCR_FLR, "Initiate FLR reads as 0").to.equal(0);
      expect(readl(cfg + 0x10), "BAR unassigned").to.equal(0x4);
      expect(readw(cfg + msix + 2), "MSI-X off, unmasked, N-1 kept").to.equal(15);
      expect(readl(bar), "BAR no longer decodes").to.equal(0xffffffff);
    });
    expect(nic.stats.flr).to.equal(1);
    expect(nic.msix.entry(0)).to.deep.equal({ addrLo: 0, addrHi: 0, data: 0, masked: true });
    expect(nic.msix.pending(0)).to.equal(false);
    await m.run(() => {
      writel(0xd0000000, cfg + 0x10);
      writew(CMD_MEMORY, cfg + 4);
      expect(readl(0xd0000000 + TESTNIC_REGS + TESTNIC_REG_SCRATCH), "device registers reset").to.equal(0);
      expect(K.sim.now).to.be.greaterThan(0);
    });
  });

  it("answers misaligned and oversized config accesses with an unsupported request", () => {
    const r = rig({ vectors: 1 });
    expect(r.r32(r.cfg + 2)).to.equal(0xffffffff);
    expect(r.p.mmio.read64(0, r.cfg)).to.equal(0xffffffffffffffffn);
    r.w32(r.cfg + 0x11, 0);
    r.run(1000);
    expect(r.events("hw.ur").map((e) => `${e.space}/${e.op}/${e.width}`)).to.deep.equal(["config/read/4", "config/read/8", "config/write/4"]);
    expect(r.nic.barAddress(0)).to.be.greaterThan(0);
  });

  it("marks function 0 multi-function when a sibling function is plugged in", () => {
    const r = rig({ vectors: 1 });
    expect(r.nic.cfgRead(0x0e, 1)).to.equal(0);
    r.p.pci.add(new (r.nic.constructor as typeof import("../../../lib/hw/devices/testnic.ts").TestNic)(r.p, { bdf: "0000:3b:00.1", vectors: 1 }));
    expect(r.nic.cfgRead(0x0e, 1)).to.equal(0x80);
    expect(r.p.pci.device("0000:3b:00.1")!.rid).to.equal((0x3b << 8) | 1);
  });

  it("rejects malformed PCI addresses and duplicate functions", async () => {
    expect(() => parseBdf("3b:00.0")).to.throw(SimulatorError, /bad PCI address/);
    expect(() => parseBdf("0000:3b:20.0")).to.throw(SimulatorError, /device number/);
    expect(parseBdf("0000:3B:1f.7")).to.deep.equal({ domain: 0, bus: 0x3b, dev: 0x1f, fn: 7 });
    let err: unknown;
    try {
      await createMachine({ pci: { devices: [{ type: "testnic", bdf: BDF, vectors: 1 }, { type: "testnic", bdf: BDF, vectors: 1 }] } });
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(SimulatorError);
    const m = await createMachine({ pci: { devices: [{ type: "testnic", bdf: BDF, vectors: 1 }] } });
    expect(() => m.pci.device("0000:3c:00.0")).to.throw(SimulatorError, /no PCI function/);
  });
});
