// SPDX-License-Identifier: GPL-2.0-only
import { expect } from "chai";
import { Ram, PAGE_SIZE } from "../../../lib/hw/ram.ts";
import { SimulatorError } from "../../../lib/sim/sim.ts";

describe("lib/hw/ram host memory", () => {
  it("reads never-written memory as zero without allocating pages", () => {
    const ram = new Ram();
    expect(ram.read8(0x1234)).to.equal(0);
    expect(ram.read32(2 ** 40)).to.equal(0);
    expect(ram.read64(0x5000)).to.equal(0n);
    expect([...ram.read(0xfff0, 32)]).to.deep.equal(new Array<number>(32).fill(0));
    expect(ram.pageCount).to.equal(0);
  });

  it("stores multi-byte values little-endian", () => {
    const ram = new Ram();
    ram.write32(0x1000, 0x11223344);
    expect(ram.read8(0x1000)).to.equal(0x44);
    expect(ram.read8(0x1003)).to.equal(0x11);
    expect(ram.read16(0x1000)).to.equal(0x3344);
    expect(ram.read16(0x1002)).to.equal(0x1122);
    ram.write64(0x2000, 0x0102030405060708n);
    expect(ram.read8(0x2000)).to.equal(0x08);
    expect(ram.read32(0x2000)).to.equal(0x05060708);
    expect(ram.read32(0x2004)).to.equal(0x01020304);
    expect(ram.read64(0x2000)).to.equal(0x0102030405060708n);
    ram.write64(0x2008, -1n);
    expect(ram.read64(0x2008)).to.equal(0xffffffffffffffffn);
  });

  it("offers big-endian helpers that are byte-exact", () => {
    const ram = new Ram();
    ram.write32be(0x100, 0x11223344);
    expect([...ram.read(0x100, 4)]).to.deep.equal([0x11, 0x22, 0x33, 0x44]);
    expect(ram.read32(0x100)).to.equal(0x44332211);
    expect(ram.read32be(0x100)).to.equal(0x11223344);
    ram.write16be(0x200, 0xabcd);
    expect(ram.read8(0x200)).to.equal(0xab);
    expect(ram.read16be(0x200)).to.equal(0xabcd);
    ram.write64be(0x300, 0x0102030405060708n);
    expect([...ram.read(0x300, 8)]).to.deep.equal([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(ram.read64be(0x300)).to.equal(0x0102030405060708n);
  });

  it("handles accesses and byte ranges that straddle a page boundary", () => {
    const ram = new Ram();
    const a = PAGE_SIZE - 2;
    ram.write32(a, 0xdeadbeef);
    expect(ram.read32(a)).to.equal(0xdeadbeef);
    expect(ram.read16(PAGE_SIZE)).to.equal(0xdead);
    ram.write64(2 * PAGE_SIZE - 4, 0x1122334455667788n);
    expect(ram.read64(2 * PAGE_SIZE - 4)).to.equal(0x1122334455667788n);
    const bytes = Uint8Array.from({ length: 10000 }, (_, i) => i & 0xff);
    ram.write(0x10000 - 100, bytes);
    expect(ram.read(0x10000 - 100, 10000)).to.deep.equal(bytes);
    ram.zero(0x10000, PAGE_SIZE);
    expect(ram.read8(0x10000 + 5)).to.equal(0);
    expect(ram.read8(0x10000 - 1)).to.equal(99);
  });

  it("rejects addresses outside the simulated address space", () => {
    const ram = new Ram();
    expect(() => ram.read32(-4)).to.throw(SimulatorError);
    expect(() => ram.write8(2 ** 53, 1)).to.throw(SimulatorError);
    expect(() => ram.read32(1.5)).to.throw(SimulatorError);
  });
});
