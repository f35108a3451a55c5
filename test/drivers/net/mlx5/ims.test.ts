// SPDX-License-Identifier: GPL-2.0-only
// mlx5_core's helpers for irqlab's RAM-backed IMS store (no real mlx5 has
// one): the store handed to the device, entries set, queried and invalidated
// by command, a completion EQ bound to an entry, the dirty write-back policy
// clobbering a direct CPU write while the command path stays correct, and the
// store surviving a recovery.
import { expect } from "chai";
import { msleep } from "../../../../lib/kernel/delay.ts";
import type { Machine } from "../../../../lib/machine.ts";
import type { Mlx5Nic, Mlx5Options } from "../../../../lib/hw/devices/mlx5/mlx5.ts";
import { mlx5_irqlab_register_recovery_notifier } from "../../../../drivers/net/mlx5/core/health.ts";
import { mlx5_eq_bind_ims, mlx5_ims_entry_ram, mlx5_ims_init, mlx5_ims_invalidate, mlx5_ims_query_entry, mlx5_ims_set_entry, mlx5_ims_write_entry_direct, type mlx5_ims_entry } from "../../../../drivers/net/mlx5/core/ims.ts";
import { mlx5Rig, type Mlx5Rig } from "./mlx5_fixture.ts";

/** Interrupts of Linux IRQ `irq` over all CPUs, from /proc/interrupts. */
function irqCount(m: Machine, irq: number): number {
  const row = m.procInterrupts().split("\n").find((l) => l.trim().startsWith(`${irq}:`));
  if (!row) throw new Error(`no row for IRQ ${irq}`);
  return row.trim().split(/\s+/).slice(1, 1 + m.options.cpus).reduce((a, c) => a + Number(c), 0);
}

/** The message MSI-X entry `i` holds now, as an IMS entry. */
function msixMessage(hw: Mlx5Nic, i: number): mlx5_ims_entry {
  const e = hw.msix.entry(i);
  return { addr_lo: e.addrLo, addr_hi: e.addrHi, data: e.data, ctrl: 0 };
}

const K_IDX = 5;

/**
 * Two queues on comp0 and comp1, an IMS store, entry K_IDX set by command to
 * comp0's MSI-X message (A), queue 0's EQ bound to K_IDX. B is comp1's message.
 */
async function imsRig(nic: Partial<Mlx5Options> = {}): Promise<Mlx5Rig & { A: mlx5_ims_entry; B: mlx5_ims_entry; irqA: number; irqB: number; fire: () => Promise<void> }> {
  const r = await mlx5Rig({ machine: { trace: false }, queues: 2, nic: { queues: 2, ...nic } });
  const { m, hw, dev, queues } = r;
  const q0 = queues!.queues[0]!;
  const q1 = queues!.queues[1]!;
  // comp vector i is MSI-X entry i + 1 (entry 0 is the control vector)
  const A = msixMessage(hw, q0.vecidx + 1);
  const B = msixMessage(hw, q1.vecidx + 1);
  await m.run(async () => {
    for (const e of [await mlx5_ims_init(dev), await mlx5_ims_set_entry(dev, K_IDX, A), await mlx5_eq_bind_ims(dev, q0.eqn, K_IDX)]) if (e) throw new Error(`IMS setup: ${e}`);
  });
  const fire = async (): Promise<void> => {
    hw.complete(0);
    await msleep(1);
  };
  return { ...r, A, B, irqA: q0.irqn, irqB: q1.irqn, fire };
}

describe("drivers/net/mlx5 IMS store helpers (irqlab)", function () {
  this.timeout(120_000);

  it("hands the device a store of every entry it supports, each masked, in coherent RAM", async () => {
    const { m, hw, dev } = await mlx5Rig({ machine: { trace: false }, nic: { imsEntries: 96 } });
    const err = await m.run(() => mlx5_ims_init(dev));
    const ims = dev.priv.ims!;
    expect(err).to.equal(0);
    expect({ num: ims.num, max: ims.max, cache: ims.cache_size }).to.deep.equal({ num: 96, max: 96, cache: 16 });
    expect(hw.ims.base).to.equal(ims.dma);
    expect(new Set(Array.from({ length: 96 }, (_, i) => mlx5_ims_entry_ram(dev, i)!.ctrl))).to.deep.equal(new Set([1]));
  });

  it("routes a bound completion EQ through its IMS entry: the queue's interrupt arrives by IMS, the EQE is handled", async () => {
    const { m, hw, queues, irqA, fire } = await imsRig();
    const before = { irq: irqCount(m, irqA), handled: queues!.queues[0]!.completions, emitted: hw.ims.stats.emitted };
    await m.run(async () => {
      for (let i = 0; i < 3; i++) await fire();
    });
    expect(irqCount(m, irqA) - before.irq).to.equal(3);
    expect(queues!.queues[0]!.completions - before.handled).to.equal(3);
    expect(hw.ims.stats.emitted - before.emitted).to.equal(3);
    expect(hw.eq(queues!.queues[0]!.eqn)!.imsIndex).to.equal(K_IDX);
  });

  it("queries the device's view: cached once used, the RAM entry otherwise", async () => {
    const { m, dev, A, fire } = await imsRig();
    const r = await m.run(async () => {
      const cold = await mlx5_ims_query_entry(dev, K_IDX);
      await fire();
      const warm = await mlx5_ims_query_entry(dev, K_IDX);
      const inv = await mlx5_ims_invalidate(dev, K_IDX);
      const again = await mlx5_ims_query_entry(dev, K_IDX);
      return { cold, warm, inv, again };
    });
    expect(r.cold).to.deep.equal({ err: 0, entry: A, cached: false, pending: false });
    expect(r.warm).to.deep.include({ err: 0, cached: true });
    expect(r.warm.entry).to.deep.equal(A);
    expect(r.inv).to.equal(0);
    expect(r.again.cached).to.equal(false);
  });

  describe("a direct CPU write to the store (comp1's message over comp0's)", () => {
    const scenario = async (imsWriteback: "none" | "dirty") => {
      const rig = await imsRig({ imsWriteback });
      const { m, dev, A, B, irqA, irqB, fire } = rig;
      const r = await m.run(async () => {
        await fire(); // entry K_IDX is cached now
        mlx5_ims_write_entry_direct(dev, K_IDX, B);
        const ramAfterWrite = mlx5_ims_entry_ram(dev, K_IDX);
        await mlx5_ims_invalidate(dev, K_IDX);
        const ramAfterInvalidate = mlx5_ims_entry_ram(dev, K_IDX);
        const a0 = irqCount(m, irqA);
        const b0 = irqCount(m, irqB);
        await fire();
        return { ramAfterWrite, ramAfterInvalidate, toA: irqCount(m, irqA) - a0, toB: irqCount(m, irqB) - b0 };
      });
      return { ...rig, ...r, A, B };
    };

    it("write-back none: the write reaches the device once the line is invalidated", async () => {
      const r = await scenario("none");
      expect(r.ramAfterWrite).to.deep.equal(r.B);
      expect(r.ramAfterInvalidate).to.deep.equal(r.B);
      expect({ toA: r.toA, toB: r.toB }).to.deep.equal({ toA: 0, toB: 1 });
    });

    it("dirty write-back: invalidating the line writes it back over the CPU's store, which is lost", async () => {
      const r = await scenario("dirty");
      expect(r.ramAfterWrite).to.deep.equal(r.B);
      expect(r.ramAfterInvalidate, "the device wrote its cached line back").to.deep.equal(r.A);
      expect({ toA: r.toA, toB: r.toB }).to.deep.equal({ toA: 1, toB: 0 });
      expect(r.hw.ims.stats.writebacks).to.equal(1);
    });

    it("dirty write-back: SET_IMS_ENTRY moves the entry at once, and a write-back keeps it", async () => {
      const { m, dev, A, B, irqA, irqB, fire, hw } = await imsRig({ imsWriteback: "dirty" });
      const r = await m.run(async () => {
        await fire();
        const a0 = irqCount(m, irqA);
        const b0 = irqCount(m, irqB);
        const set = await mlx5_ims_set_entry(dev, K_IDX, B);
        // (comp1's handler does not poll queue 0's EQ: that EQ stays fired, so one interrupt is all it sends)
        await fire();
        const moved = { toA: irqCount(m, irqA) - a0, toB: irqCount(m, irqB) - b0 };
        await mlx5_ims_invalidate(dev, null);
        const q = await mlx5_ims_query_entry(dev, K_IDX);
        return { set, moved, ram: mlx5_ims_entry_ram(dev, K_IDX), q };
      });
      expect(r.set).to.equal(0);
      expect(r.moved).to.deep.equal({ toA: 0, toB: 1 });
      expect(hw.ims.stats.writebacks, "the line was written back").to.equal(1);
      expect(r.ram).to.deep.equal(B);
      expect(r.q).to.deep.include({ err: 0, cached: false });
      expect(r.q.entry).to.deep.equal(B);
      expect(A).to.not.deep.equal(B);
    });
  });

  it("survives a recovery: mlx5_load() gives the store back and replays the entries, a recovery notifier rebinds the EQ", async () => {
    const { m, hw, dev, queues, A, irqA } = await imsRig();
    const rebinds: number[] = [];
    mlx5_irqlab_register_recovery_notifier(dev, async (d) => {
      rebinds.push(await mlx5_eq_bind_ims(d, queues!.queues[0]!.eqn, K_IDX));
    });
    const storeBefore = hw.ims.base;
    hw.hangFirmware({ assertAfterNs: 1e9 });
    await m.run(() => msleep(6000), { limitNs: 30e9 });
    expect(hw.fw.resets.sw).to.equal(1);
    expect(rebinds).to.deep.equal([0]);
    expect(hw.ims.base).to.equal(storeBefore);
    expect(hw.ims.ramEntry(K_IDX)).to.deep.equal({ addrLo: A.addr_lo, addrHi: A.addr_hi, data: A.data, ctrl: 0 });
    const emitted = hw.ims.stats.emitted;
    const irq = irqCount(m, irqA);
    const handled = queues!.queues[0]!.completions;
    await m.run(async () => {
      hw.complete(0);
      await msleep(1);
    });
    expect(hw.ims.stats.emitted - emitted).to.equal(1);
    expect(irqCount(m, irqA) - irq).to.equal(1);
    expect(queues!.queues[0]!.completions - handled).to.equal(1);
  });
});
