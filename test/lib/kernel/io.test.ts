// SPDX-License-Identifier: GPL-2.0-only
import { expect } from "chai";
import { createMachine, type Machine } from "../../../lib/machine.ts";
import { K } from "../../../lib/kernel/kernel.ts";
import {
  ioread32,
  ioread32be,
  ioremap,
  iounmap,
  iowrite32,
  iowrite32be,
  readb,
  readl,
  readl_poll_timeout,
  readl_poll_timeout_atomic,
  readq,
  readw,
  writel,
  writeq,
  writew,
  __raw_readl,
  readl_relaxed,
  writel_relaxed,
  be32_to_cpu,
  swab64,
} from "../../../lib/kernel/io.ts";
import { ETIMEDOUT } from "../../../lib/kernel/errno.ts";
import { apic_eoi, set_arch_vector_handler } from "../../../lib/kernel/apic.ts";
import { local_irq_disable, local_irq_enable } from "../../../lib/kernel/context.ts";
import { raw_spin_lock, raw_spin_unlock, raw_spinlock_t } from "../../../lib/kernel/spinlock.ts";
import { TESTNIC_REGS, TESTNIC_REG_SCRATCH, type TestNic } from "../../../lib/hw/devices/testnic.ts";
import { nic_enable } from "../hw/devices/nic_setup.ts";
import { expectSplat } from "../../harness.ts";

const BDF = "0000:3b:00.0";

async function boot(): Promise<{ m: Machine; nic: TestNic }> {
  const m = await createMachine({ cpus: 2, pci: { devices: [{ type: "testnic", bdf: BDF, vectors: 4 }] } });
  return { m, nic: m.pci.device<TestNic>(BDF) };
}

describe("lib/kernel/io MMIO accessors", () => {
  it("charges a read its round trip and a posted write nothing", async () => {
    const { m, nic } = await boot();
    await m.run(() => {
      const h = nic_enable(m, nic);
      const scratch = ioremap(h.bar + TESTNIC_REGS + TESTNIC_REG_SCRATCH, 4);
      let t = K.sim.now;
      writel(0x1234, scratch);
      expect(K.sim.now - t).to.equal(0);
      expect(readl(scratch), "the read flushes the posted write").to.equal(0x1234);
      expect(K.sim.now - t).to.equal(1000);
      t = K.sim.now;
      readl(0xfee00020);
      expect(K.sim.now - t, "the local APIC is on the core").to.equal(0);
      iounmap(scratch);
    });
  });

  it("reads and writes little-endian at every width, and swaps for the be variants", async () => {
    const { m, nic } = await boot();
    await m.run(() => {
      const h = nic_enable(m, nic);
      const s = h.bar + TESTNIC_REGS + TESTNIC_REG_SCRATCH;
      iowrite32(0x11223344, s);
      expect(ioread32(s)).to.equal(0x11223344);
      expect(ioread32be(s)).to.equal(0x44332211);
      iowrite32be(0x11223344, s);
      expect(readl(s)).to.equal(0x44332211);
      expect(be32_to_cpu(readl(s))).to.equal(0x11223344);
      writel_relaxed(7, s);
      expect(readl_relaxed(s)).to.equal(7);
      expect(__raw_readl(s)).to.equal(7);
      // MSI-X table entry 0: qword and dword views of the same bytes
      writeq(0x00000001fee01000n, h.bar);
      expect(readl(h.bar)).to.equal(0xfee01000);
      expect(readl(h.bar + 4)).to.equal(1);
      expect(readq(h.bar)).to.equal(0x00000001fee01000n);
      expect(readw(h.cfg)).to.equal(0x1b36);
      expect(readb(h.cfg + 1)).to.equal(0x1b);
      writew(0x0406, h.cfg + 4);
      expect(readw(h.cfg + 4)).to.equal(0x0406);
      expect(swab64(0x0102030405060708n)).to.equal(0x0807060504030201n);
    });
  });

  it("reads all-ones from an address nothing decodes", async () => {
    const { m } = await boot();
    await m.run(() => {
      expect(readl(0xd8000000)).to.equal(0xffffffff);
      expect(readq(0xd8000000)).to.equal(0xffffffffffffffffn);
      expect(ioremap(0xd8000000, 0)).to.equal(0);
    });
  });

  it("is an interrupt window when interrupts are on, and not when they are off", async () => {
    const { m } = await boot();
    const taken: number[] = [];
    m.enter(() =>
      set_arch_vector_handler((_cpu, vector) => {
        taken.push(vector);
        apic_eoi();
      }),
    );
    await m.run(() => {
      const cfg = m.platform.pci.ecamAddress(0x3b, 0, 0);
      local_irq_disable();
      m.platform.lapic(0).accept(0x41, 0);
      writel(0, cfg + 0x3c);
      readl(cfg);
      expect(taken).to.deep.equal([]);
      local_irq_enable();
      expect(taken).to.deep.equal([0x41]);
      m.platform.lapic(0).accept(0x42, 0);
      writel(0, cfg + 0x3c); // an access, nothing else: the vector is taken at it
      expect(taken).to.deep.equal([0x41, 0x42]);
    });
  });
});

describe("lib/kernel/io polling", () => {
  it("readl_poll_timeout_atomic() returns 0 and the value once the condition holds", async () => {
    const { m, nic } = await boot();
    await m.run(() => {
      const h = nic_enable(m, nic);
      const s = h.bar + TESTNIC_REGS + TESTNIC_REG_SCRATCH;
      // the device changes the register 25 us from now (a back door)
      const at = K.sim.now + 25_000;
      K.sim.at(at, () => m.platform.mmio.write(1, s, 0x80000001, 4));
      const lock = new raw_spinlock_t("poll_lock");
      raw_spin_lock(lock);
      const r = readl_poll_timeout_atomic(s, (v) => (v & 0x80000000) !== 0, 1, 1000);
      raw_spin_unlock(lock);
      expect(r).to.deep.equal({ ret: 0, val: 0x80000001 });
      expect(K.sim.now).to.be.within(at + 100, at + 4000);
    });
  });

  it("readl_poll_timeout_atomic() gives up with -ETIMEDOUT and the last value after counting its delays", async () => {
    const { m, nic } = await boot();
    await m.run(() => {
      const h = nic_enable(m, nic);
      const s = h.bar + TESTNIC_REGS + TESTNIC_REG_SCRATCH;
      const t0 = K.sim.now;
      const r = readl_poll_timeout_atomic(s, (v) => v === 1, 10, 100);
      expect(r).to.deep.equal({ ret: -ETIMEDOUT, val: 0 });
      // 6.18 counts only the udelay()s and 1 ns per cpu_relax(), not the 1 us reads
      const elapsed = K.sim.now - t0;
      expect(elapsed).to.be.greaterThan(100_000);
      expect(elapsed).to.be.lessThan(200_000);
    });
  });

  it("readl_poll_timeout() sleeps between reads and times out on the clock", async () => {
    const { m, nic } = await boot();
    await m.run(async () => {
      const h = nic_enable(m, nic);
      const s = h.bar + TESTNIC_REGS + TESTNIC_REG_SCRATCH;
      const at = K.sim.now + 300_000;
      K.sim.at(at, () => m.platform.mmio.write(1, s, 5, 4));
      const ok = await readl_poll_timeout(s, (v) => v === 5, 100, 10_000);
      expect(ok).to.deep.equal({ ret: 0, val: 5 });
      expect(K.sim.now).to.be.within(at, at + 100_000);
      const t0 = K.sim.now;
      const late = await readl_poll_timeout(s, (v) => v === 6, 100, 1000);
      expect(late).to.deep.equal({ ret: -ETIMEDOUT, val: 5 });
      expect(K.sim.now - t0).to.be.within(1_000_000, 1_100_000);
    });
  });

  it("readl_poll_timeout() with a sleep in atomic context is a might_sleep() splat", async () => {
    const { m, nic } = await boot();
    await expectSplat(m, /sleeping function called from invalid context/, () =>
      m.run(async () => {
        const h = nic_enable(m, nic);
        const s = h.bar + TESTNIC_REGS + TESTNIC_REG_SCRATCH;
        writel(1, s);
        const lock = new raw_spinlock_t("poll_lock");
        raw_spin_lock(lock);
        const r = await readl_poll_timeout(s, (v) => v === 1, 10, 100);
        raw_spin_unlock(lock);
        expect(r.ret).to.equal(0);
      }),
    );
  });
});
