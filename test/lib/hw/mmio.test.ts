// SPDX-License-Identifier: GPL-2.0-only
import { expect } from "chai";
import { Sim } from "../../../lib/sim/sim.ts";
import { TraceRecorder } from "../../../lib/sim/trace.ts";
import { MmioMap, type MmioOwner, type AccessWidth } from "../../../lib/hw/mmio.ts";

/** A device with a register file that logs when each write arrives. */
function device(sim: Sim, name = "dev", posted = true) {
  const regs = new Map<number, number>();
  const log: { t: number; off: number; v: number; w: number }[] = [];
  const owner: MmioOwner = { name, posted };
  const region = (base: number, size = 0x100) => ({
    base,
    size,
    owner,
    name,
    read: (off: number) => regs.get(off) ?? 0,
    write: (off: number, v: number, w: AccessWidth) => {
      log.push({ t: sim.now, off, v, w });
      regs.set(off, v);
    },
  });
  return { regs, log, owner, region };
}

/** Fire hardware events at their own times up to `t`. */
function until(sim: Sim, t: number): void {
  sim.spinFor(t - sim.now);
}

function setup() {
  const sim = new Sim({ cpus: 2, seed: 1 });
  const rec = new TraceRecorder(sim.trace);
  rec.start();
  const mmio = new MmioMap(sim);
  return { sim, rec, mmio };
}

describe("lib/hw/mmio address map", () => {
  it("posts writes: a device sees them writeLatencyNs later, in issue order", () => {
    const { sim, mmio } = setup();
    const d = device(sim);
    mmio.map(d.region(0x1000));
    mmio.write(0, 0x1000, 1, 4);
    until(sim, 30);
    mmio.write(0, 0x1004, 2, 4);
    mmio.write(0, 0x1000, 3, 4);
    expect(d.log).to.deep.equal([]);
    expect(mmio.pendingWrites(d.owner)).to.equal(3);
    until(sim, 99);
    expect(d.log).to.deep.equal([]);
    until(sim, 1000);
    expect(d.log).to.deep.equal([
      { t: 100, off: 0, v: 1, w: 4 },
      { t: 130, off: 4, v: 2, w: 4 },
      { t: 130, off: 0, v: 3, w: 4 },
    ]);
    expect(mmio.pendingWrites(d.owner)).to.equal(0);
  });

  it("keeps a device's writes in order when the latency shrinks mid-run", () => {
    const { sim, mmio } = setup();
    const d = device(sim);
    mmio.map(d.region(0x1000));
    mmio.write(0, 0x1000, 1, 4);
    mmio.timing.writeLatencyNs = 10;
    mmio.write(0, 0x1004, 2, 4);
    until(sim, 1000);
    expect(d.log.map((l) => [l.t, l.v])).to.deep.equal([
      [100, 1],
      [100, 2],
    ]);
  });

  it("flushes a device's posted writes before a read of it samples", () => {
    const { sim, mmio } = setup();
    const d = device(sim);
    mmio.map(d.region(0x1000));
    mmio.write(0, 0x1008, 0xabc, 4);
    expect(mmio.read(0, 0x1008, 4)).to.equal(0xabc);
    expect(d.log).to.deep.equal([{ t: 0, off: 8, v: 0xabc, w: 4 }]);
    until(sim, 1000);
    expect(d.log).to.have.length(1);
  });

  it("orders per device: a read of one device does not push another's writes", () => {
    const { sim, mmio } = setup();
    const a = device(sim, "a");
    const b = device(sim, "b");
    mmio.map(a.region(0x1000));
    mmio.map(b.region(0x2000));
    mmio.write(0, 0x1000, 5, 4);
    mmio.read(0, 0x2000, 4);
    expect(a.log).to.deep.equal([]);
    until(sim, 100);
    expect(a.log).to.have.length(1);
  });

  it("applies writes to a non-posted owner at once", () => {
    const { sim, mmio } = setup();
    const d = device(sim, "lapic-like", false);
    mmio.map(d.region(0x3000));
    mmio.write(1, 0x3010, 7, 4);
    expect(d.log).to.deep.equal([{ t: 0, off: 0x10, v: 7, w: 4 }]);
  });

  it("reads all-ones and drops writes at unmapped addresses, and traces both", () => {
    const { sim, rec, mmio } = setup();
    expect(mmio.read(0, 0x5000, 4)).to.equal(0xffffffff);
    expect(mmio.read(0, 0x5000, 2)).to.equal(0xffff);
    expect(mmio.read(1, 0x5000, 1)).to.equal(0xff);
    expect(mmio.read64(0, 0x5000)).to.equal(0xffffffffffffffffn);
    mmio.write(1, 0x5004, 1, 4);
    mmio.write64(0, 0x5008, 1n);
    until(sim, 1000);
    const ev = rec.records.filter((r) => r.kind === "hw.mmio").map((r) => (r.kind === "hw.mmio" ? `${r.op}@${r.addr.toString(16)}/${r.width} by ${r.by}` : ""));
    expect(ev).to.deep.equal([
      "unmapped-read@5000/4 by 0",
      "unmapped-read@5000/2 by 0",
      "unmapped-read@5000/1 by 1",
      "unmapped-read@5000/8 by 0",
      "unmapped-write@5004/4 by 1",
      "unmapped-write@5008/8 by 0",
    ]);
    expect(sim.eq.size).to.equal(0);
  });

  it("refuses overlapping regions and finds regions by address", () => {
    const { sim, mmio } = setup();
    const a = device(sim, "a");
    const b = device(sim, "b");
    expect(mmio.map(a.region(0x1000, 0x1000))).to.equal(true);
    expect(mmio.map(b.region(0x1800, 0x1000))).to.equal(false);
    expect(mmio.map(b.region(0x2000, 0x1000))).to.equal(true);
    expect(mmio.find(0x1fff)?.name).to.equal("a");
    expect(mmio.find(0x2000)?.name).to.equal("b");
    expect(mmio.find(0x3000)).to.equal(null);
    expect(mmio.unmap(mmio.find(0x1000)!)).to.equal(true);
    expect(mmio.find(0x1000)).to.equal(null);
  });

  it("splits a 64-bit access, low dword first, for a region without 64-bit handlers", () => {
    const { sim, mmio } = setup();
    const d = device(sim);
    mmio.map(d.region(0x1000));
    mmio.write64(0, 0x1010, 0x1111222233334444n);
    until(sim, 1000);
    expect(d.log.map((l) => [l.off, l.v])).to.deep.equal([
      [0x10, 0x33334444],
      [0x14, 0x11112222],
    ]);
    expect(mmio.read64(0, 0x1010)).to.equal(0x1111222233334444n);
  });
});

describe("lib/hw/mmio decode behind posted writes", () => {
  it("lets earlier posted writes land before decoding an address that decodes nowhere yet", () => {
    const { sim, mmio } = setup();
    const d = device(sim);
    const late = d.region(0x8000);
    // a "config" register whose write maps a second region of the same owner
    mmio.map({ ...d.region(0x1000), write: () => mmio.map(late) });
    mmio.write(0, 0x1000, 1, 4);
    mmio.write(0, 0x8004, 9, 4);
    expect(d.regs.get(4), "not yet at the device").to.equal(undefined);
    until(sim, 1000);
    expect(d.regs.get(4)).to.equal(9);
  });

  it("follows a decode change made by the owner's own pending writes", () => {
    const { sim, mmio } = setup();
    const d = device(sim);
    const bar = d.region(0x8000);
    mmio.map(bar);
    mmio.map({ ...d.region(0x1000), write: () => mmio.unmap(bar) });
    d.regs.set(0, 5);
    mmio.write(0, 0x1000, 0, 4);
    mmio.write(0, 0x8000, 6, 4);
    expect(mmio.read(0, 0x8000, 4), "decode was turned off ahead of the read").to.equal(0xffffffff);
    until(sim, 1000);
    expect(d.regs.get(0), "the queued write found no decoder").to.equal(5);
  });
});
