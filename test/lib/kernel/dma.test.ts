// SPDX-License-Identifier: GPL-2.0-only
import { expect } from "chai";
import { createMachine } from "../../../lib/machine.ts";
import { dma_alloc_coherent, dma_free_coherent, dma_wmb, wmb, GFP_ATOMIC, GFP_KERNEL } from "../../../lib/kernel/dma.ts";
import { raw_spin_lock, raw_spin_unlock, raw_spinlock_t } from "../../../lib/kernel/spinlock.ts";
import { SimulatorError } from "../../../lib/sim/sim.ts";
import { expectSplat } from "../../harness.ts";

describe("lib/kernel/dma coherent memory", () => {
  it("hands out zeroed, naturally aligned blocks that devices and the CPU share", async () => {
    const m = await createMachine({ arch: "none", cpus: 1 });
    await m.run(() => {
      const a = dma_alloc_coherent(null, 100, GFP_KERNEL)!;
      const b = dma_alloc_coherent(null, 3 * 4096, GFP_KERNEL)!;
      expect(a.dma_handle % 4096).to.equal(0);
      expect(b.dma_handle % (4 * 4096), "order-2 block").to.equal(0);
      expect(a.dma_handle).to.be.at.least(2 ** 32);
      expect(a.le32(96)).to.equal(0);
      a.set_be32(0, 0x11223344);
      a.set_le64(8, 0x0102030405060708n);
      wmb();
      dma_wmb();
      // the device sees the CPU's bytes at the bus address
      expect([...m.platform.dmaRead(0x3b00, a.dma_handle, 4)]).to.deep.equal([0x11, 0x22, 0x33, 0x44]);
      expect(m.platform.ram.read32(a.dma_handle + 8)).to.equal(0x05060708);
      // and the CPU sees what the device wrote
      m.platform.dmaWrite(0x3b00, a.dma_handle + 16, Uint8Array.of(0, 0, 0, 0x2a));
      expect(a.be32(16)).to.equal(0x2a);
      expect(a.be64(0)).to.equal(0x1122334400000000n);
      expect(a.u8(19)).to.equal(0x2a);
      dma_free_coherent(null, 100, a, a.dma_handle);
      const c = dma_alloc_coherent(null, 4096, GFP_ATOMIC)!;
      expect(c.dma_handle, "the freed block is reused").to.equal(a.dma_handle);
      expect(c.be32(0), "and zeroed again").to.equal(0);
      dma_free_coherent(null, 4096, c, c.dma_handle);
      dma_free_coherent(null, 3 * 4096, b, b.dma_handle);
      expect(m.platform.coherentBlocks).to.equal(0);
    });
  });

  it("stops at out-of-bounds accesses and at use after free", async () => {
    const m = await createMachine({ arch: "none", cpus: 1 });
    await m.run(() => {
      const a = dma_alloc_coherent(null, 64, GFP_KERNEL)!;
      expect(() => a.le32(62)).to.throw(SimulatorError, /out-of-bounds/);
      expect(() => a.set_u8(-1, 0)).to.throw(SimulatorError, /out-of-bounds/);
      dma_free_coherent(null, 64, a, a.dma_handle);
      expect(() => a.le32(0)).to.throw(SimulatorError, /after dma_free_coherent/);
    });
  });

  it("reports a double free and a size mismatch the way dma-debug does", async () => {
    const m = await createMachine({ arch: "none", cpus: 1 });
    await expectSplat(m, /DMA-API: NULL NULL: device driver tries to free DMA memory it has not allocated/, () =>
      m.run(() => {
        const a = dma_alloc_coherent(null, 64, GFP_KERNEL)!;
        dma_free_coherent(null, 64, a, a.dma_handle);
        dma_free_coherent(null, 64, a, a.dma_handle);
      }),
    );
    await expectSplat(m, /frees DMA memory with different size/, () =>
      m.run(() => {
        const a = dma_alloc_coherent({ init_name: "0000:3b:00.0", driver_name: "testnic" }, 64, GFP_KERNEL)!;
        dma_free_coherent({ init_name: "0000:3b:00.0", driver_name: "testnic" }, 128, a, a.dma_handle);
      }),
    );
    expect(m.dmesg()).to.include("DMA-API: testnic 0000:3b:00.0: device driver frees DMA memory with different size");
  });

  it("may sleep with GFP_KERNEL and not with GFP_ATOMIC", async () => {
    const m = await createMachine({ arch: "none", cpus: 1 });
    await m.run(() => {
      const l = new raw_spinlock_t("dma_lock");
      raw_spin_lock(l);
      const a = dma_alloc_coherent(null, 64, GFP_ATOMIC);
      raw_spin_unlock(l);
      expect(a).to.not.equal(null);
    });
    await expectSplat(m, /sleeping function called from invalid context/, () =>
      m.run(() => {
        const l = new raw_spinlock_t("dma_lock");
        raw_spin_lock(l);
        dma_alloc_coherent(null, 64, GFP_KERNEL);
        raw_spin_unlock(l);
      }),
    );
  });

  it("returns NULL when the pool is exhausted", async () => {
    const m = await createMachine({ arch: "none", cpus: 1, platform: { coherentSize: 4 * 4096 } });
    await m.run(() => {
      expect(dma_alloc_coherent(null, 4 * 4096, GFP_KERNEL)).to.not.equal(null);
      expect(dma_alloc_coherent(null, 1, GFP_KERNEL)).to.equal(null);
      expect(dma_alloc_coherent(null, 0, GFP_KERNEL)).to.equal(null);
    });
  });
});
