// SPDX-License-Identifier: GPL-2.0-only
// The IMS array device model on a bare machine (no interrupt architecture):
// its registers, the slots and their ctrl word in both polarities, PASID
// tagging, masked raises (latch, drop, the pending status bit) and the work
// queues whose descriptors complete through IMS slots.

import { expect } from "chai";
import { createMachine, type Machine } from "../../../../lib/machine.ts";
import { K } from "../../../../lib/kernel/kernel.ts";
import { apic_eoi, set_arch_vector_handler } from "../../../../lib/kernel/apic.ts";
import { msleep, usleep_range } from "../../../../lib/kernel/delay.ts";
import { readl, readq, readw, writel, writeq, writew, type iomem } from "../../../../lib/kernel/io.ts";
import { dma_alloc_coherent, GFP_KERNEL } from "../../../../lib/kernel/dma.ts";
import { SimulatorError } from "../../../../lib/sim/sim.ts";
import {
  IMS_CTRL_PASID_ENABLE,
  IMS_CTRL_PENDING,
  IMSDEV_IMS_OFFSET,
  type ImsDevice,
  type ImsDeviceOptions,
} from "../../../../lib/hw/devices/ims.ts";

const BDF = "0000:6a:01.0";
const RID = 0x6a08;

interface Taken {
  cpu: number;
  vector: number;
  t: number;
}

interface Rig {
  m: Machine;
  hw: ImsDevice;
  taken: Taken[];
}

async function boot(opts: Partial<ImsDeviceOptions> = {}): Promise<Rig> {
  const m = await createMachine({ arch: "none", cpus: 2, pci: { devices: [{ type: "ims", bdf: BDF, ...opts }] } });
  const hw = m.pci.device<ImsDevice>(BDF);
  const taken: Taken[] = [];
  m.enter(() =>
    set_arch_vector_handler((cpu, vector) => {
      taken.push({ cpu: cpu.id, vector, t: K.sim.now });
      apic_eoi();
    }),
  );
  return { m, hw, taken };
}

interface Bars {
  cfg: iomem;
  bar0: iomem;
  bar2: iomem;
}

/** Memory decoding and bus mastering on; the two BARs as firmware assigned them. */
function enable(m: Machine, hw: ImsDevice, master = true): Bars {
  const cfg = m.platform.pci.ecamAddress(hw.bus, hw.dev, hw.fn);
  writew(readw(cfg + 4) | (master ? 0x6 : 0x2), cfg + 4);
  return { cfg, bar0: (readl(cfg + 0x10) & ~0xf) >>> 0, bar2: (readl(cfg + 0x18) & ~0xf) >>> 0 };
}

function slotAddr(b: Bars, k: number): iomem {
  return b.bar0 + IMSDEV_IMS_OFFSET + k * 16;
}

/** Point slot k at (cpu, vector) in compatibility format; ctrl written last. */
function program(b: Bars, k: number, cpu: number, vector: number, ctrl: number): void {
  const s = slotAddr(b, k);
  writel((0xfee00000 | (cpu << 12)) >>> 0, s);
  writel(0, s + 4);
  writel(vector, s + 8);
  writel(ctrl, s + 12);
  readl(s + 12);
}

describe("lib/hw/devices/ims: the IMS array device", () => {
  it("reports its IMS table through GENCAP and OFFSETS as idxd's registers.h lays them out", async () => {
    const { m, hw } = await boot({ slots: 512, wqs: 3 });
    await m.run(() => {
      const b = enable(m, hw);
      expect(readl(b.bar0)).to.equal(0x100);
      // GENCAP.max_ims_mult (bits 30:25) x 256 slots
      expect(Number((readq(b.bar0 + 0x10) >> 25n) & 0x3fn) * 256).to.equal(512);
      // WQCAP.num_wqs (bits 23:16)
      expect(Number((readq(b.bar0 + 0x20) >> 16n) & 0xffn)).to.equal(3);
      // OFFSETS.ims (bits 63:48) in 0x100 units
      expect(Number((readq(b.bar0 + 0x60) >> 48n) & 0xffffn) * 0x100).to.equal(IMSDEV_IMS_OFFSET);
      // the last slot is inside BAR0, one past it is not
      expect(readl(slotAddr(b, 511) + 12)).to.equal(1);
      expect(readl(slotAddr(b, 512) + 12)).to.equal(0xffffffff);
    });
    expect(m.trace().filter((r) => r.kind === "hw.ur")).to.have.length(1);
  });

  it("resets every slot masked: ctrl 1 with a MASK bit, ctrl 0 with the 2020 RFC's UNMASK bit", async () => {
    for (const [polarity, ctrl] of [
      ["idxd", 1],
      ["rfc2020", 0],
    ] as const) {
      const { m, hw } = await boot({ polarity });
      await m.run(() => {
        const b = enable(m, hw);
        for (const k of [0, 17, 255]) expect(readl(slotAddr(b, k) + 12), `${polarity} slot ${k}`).to.equal(ctrl);
      });
      expect(hw.slot(3)).to.deep.equal({ addrLo: 0, addrHi: 0, data: 0, ctrl, masked: true, pending: false });
    }
  });

  it("sends an unmasked slot's message with the function's requester ID and, when enabled, its PASID", async () => {
    const { m, hw, taken } = await boot();
    let t0 = 0;
    await m.run(async () => {
      const b = enable(m, hw);
      program(b, 4, 1, 0x45, 0);
      program(b, 5, 1, 0x46, ((0x2a << 12) | IMS_CTRL_PASID_ENABLE) >>> 0);
      t0 = K.sim.now;
      hw.raise(4);
      hw.raise(5);
      await msleep(1);
    });
    // both arrive together; the APIC takes the higher vector first
    expect(taken).to.deep.equal([
      { cpu: 1, vector: 0x46, t: t0 + 200 },
      { cpu: 1, vector: 0x45, t: t0 + 200 },
    ]);
    const rx = m.trace().flatMap((r) => (r.kind === "hw.msi" && r.what === "receive" ? [[r.rid, r.pasid ?? -1]] : []));
    expect(rx).to.deep.equal([
      [RID, -1],
      [RID, 0x2a],
    ]);
    expect(hw.counters(5)).to.deep.equal({ raised: 1, emitted: 1, latched: 0, dropped: 0, discarded: 0, blocked: 0 });
  });

  it("keeps the PASID bits reserved-zero on a device without PASID support", async () => {
    const { m, hw } = await boot({ pasid: false });
    await m.run(async () => {
      const b = enable(m, hw);
      program(b, 0, 0, 0x40, ((0x2a << 12) | IMS_CTRL_PASID_ENABLE) >>> 0);
      expect(readl(slotAddr(b, 0) + 12)).to.equal(0);
      hw.raise(0);
      await msleep(1);
    });
    const rx = m.trace().filter((r) => r.kind === "hw.msi" && r.what === "receive");
    expect(rx).to.have.length(1);
    expect("pasid" in rx[0]!).to.equal(false);
  });

  it("latches raises on a masked slot and sends one message on unmask, or drops them", async () => {
    for (const pending of ["latch", "drop"] as const) {
      const { m, hw, taken } = await boot({ pending });
      await m.run(async () => {
        const b = enable(m, hw);
        program(b, 2, 0, 0x52, 1);
        hw.raise(2);
        hw.raise(2);
        hw.raise(2);
        await msleep(1);
        expect(taken, pending).to.deep.equal([]);
        writel(0, slotAddr(b, 2) + 12);
        await msleep(1);
      });
      expect(taken.map((x) => x.vector), pending).to.deep.equal(pending === "latch" ? [0x52] : []);
      const c = hw.counters(2);
      expect([c.latched, c.dropped, c.emitted], pending).to.deep.equal(pending === "latch" ? [3, 0, 1] : [0, 3, 0]);
    }
  });

  it("shows the latch in ctrl bit 1 and lets a software write keep or discard it, per pendingStatus", async () => {
    // ctrl written while latched, on the "idxd" device (bit 0 = MASK): what is left pending
    const cases: [ImsDeviceOptions["pendingStatus"], number, boolean, boolean][] = [
      // mode, value written (still masked), bit 1 as read before, latched after
      ["hidden", 1 | IMS_CTRL_PENDING, false, true],
      ["ro", 1, true, true],
      ["ro", 1 | IMS_CTRL_PENDING, true, true],
      ["rw1c", 1, true, true],
      ["rw1c", 1 | IMS_CTRL_PENDING, true, false],
      ["rw", 1 | IMS_CTRL_PENDING, true, true],
      ["rw", 1, true, false],
    ];
    for (const [pendingStatus, value, visible, after] of cases) {
      const { m, hw, taken } = await boot({ pendingStatus });
      await m.run(async () => {
        const b = enable(m, hw);
        program(b, 1, 0, 0x61, 1);
        hw.raise(1);
        const s = slotAddr(b, 1) + 12;
        expect((readl(s) & IMS_CTRL_PENDING) !== 0, `${pendingStatus}: bit 1 visible`).to.equal(visible);
        writel(value, s);
        readl(s);
        expect(hw.slot(1).pending, `${pendingStatus} after writing ${value}`).to.equal(after);
        writel(0, s);
        await msleep(1);
      });
      // "rw" discards on the unmask write too (bit 1 written as 0)
      const sent = after && pendingStatus !== "rw" ? 1 : 0;
      expect(taken.length, `${pendingStatus} ${value}`).to.equal(sent);
      expect(hw.counters(1).discarded, `${pendingStatus} ${value}`).to.equal(1 - sent);
    }
  });

  it("completes a queue's descriptors in order, writes each completion record, then raises the slot it names", async () => {
    const { m, hw, taken } = await boot({ opLatencyNs: 3000 });
    let t0 = 0;
    const status: number[] = [];
    await m.run(async () => {
      const b = enable(m, hw);
      program(b, 7, 1, 0x77, 0);
      const ring = dma_alloc_coherent(null, 4096, GFP_KERNEL)!;
      // desc i at 64 * i, its completion record at 2048 + 32 * i
      const desc = (i: number, opcode: number, flags: number, handle: number): void => {
        ring.set_le32(64 * i + 4, ((opcode << 24) | flags) >>> 0);
        ring.set_le64(64 * i + 8, BigInt(ring.dma_handle + 2048 + 32 * i));
        ring.set_le16(64 * i + 36, handle);
      };
      desc(0, 0, 0x4 | 0x10, 7); // NOOP, CRAV | RCI
      desc(1, 3, 0x4 | 0x10, 7); // MEMMOVE: not implemented
      desc(2, 0, 0x4 | 0x10, 300); // a handle past the 256 slots
      t0 = K.sim.now;
      for (let i = 0; i < 3; i++) writeq(BigInt(ring.dma_handle + 64 * i), b.bar2 + 0x1000);
      await msleep(1);
      for (let i = 0; i < 3; i++) status.push(ring.u8(2048 + 32 * i));
    });
    // DSA_COMP_SUCCESS, DSA_COMP_BAD_OPCODE, DSA_COMP_INT_HANDLE_INVAL
    expect(status).to.deep.equal([0x01, 0x10, 0x19]);
    // the portal writes arrive 100 ns after they are posted; one descriptor per 3 us
    expect(taken).to.deep.equal([
      { cpu: 1, vector: 0x77, t: t0 + 100 + 3000 + 200 },
      { cpu: 1, vector: 0x77, t: t0 + 100 + 6000 + 200 },
    ]);
    expect(hw.queueCounters(1)).to.deep.equal({ submitted: 3, completed: 3 });
  });

  it("fetches no descriptor and sends no message without bus mastering", async () => {
    const { m, hw, taken } = await boot();
    await m.run(async () => {
      const b = enable(m, hw, false);
      program(b, 0, 0, 0x40, 0);
      hw.raise(0);
      const ring = dma_alloc_coherent(null, 4096, GFP_KERNEL)!;
      ring.set_le32(4, 0x14);
      writeq(BigInt(ring.dma_handle), b.bar2);
      await msleep(1);
    });
    expect(taken).to.deep.equal([]);
    expect(hw.counters(0).blocked).to.equal(1);
    expect(hw.queueCounters(0)).to.deep.equal({ submitted: 0, completed: 0 });
  });

  it("returns every slot to its reset state on function-level reset and abandons queued descriptors", async () => {
    const { m, hw, taken } = await boot({ opLatencyNs: 50_000 });
    await m.run(async () => {
      const b = enable(m, hw);
      program(b, 0, 0, 0x40, 0);
      const ring = dma_alloc_coherent(null, 4096, GFP_KERNEL)!;
      ring.set_le32(4, 0x14);
      writeq(BigInt(ring.dma_handle), b.bar2);
      await usleep_range(10, 20);
      hw.flr();
      await msleep(1);
    });
    expect(taken).to.deep.equal([]);
    expect(hw.slot(0)).to.deep.equal({ addrLo: 0, addrHi: 0, data: 0, ctrl: 1, masked: true, pending: false });
    expect(hw.queueCounters(0)).to.deep.equal({ submitted: 1, completed: 0 });
  });

  it("answers accesses that are not aligned dwords, and portal reads, with unsupported requests", async () => {
    const { m, hw } = await boot();
    await m.run(() => {
      const b = enable(m, hw);
      expect(readw(slotAddr(b, 0) + 12)).to.equal(0xffff);
      writel(0, b.bar2 + 8);
      expect(readl(b.bar2)).to.equal(0xffffffff);
    });
    expect(m.trace().filter((r) => r.kind === "hw.ur").map((r) => r.space)).to.deep.equal(["ims", "portal", "portal"]);
    expect(hw.slot(0).masked).to.equal(true);
  });

  it("rejects slot counts GENCAP cannot express and raises of slots it does not have", async () => {
    await expectThrow(() => createMachine({ arch: "none", pci: { devices: [{ type: "ims", bdf: BDF, slots: 100 }] } }), /multiple of 256/);
    const { hw } = await boot();
    expect(() => hw.raise(256)).to.throw(SimulatorError, /no IMS slot 256/);
  });
});

async function expectThrow(fn: () => Promise<unknown>, re: RegExp): Promise<void> {
  let err: unknown = null;
  try {
    await fn();
  } catch (e) {
    err = e;
  }
  expect(err).to.be.instanceOf(SimulatorError);
  expect(String(err)).to.match(re);
}
