// SPDX-License-Identifier: GPL-2.0-only
// mlx5_core's completion EQs on the queue-backed IMS chip
// (drivers/net/mlx5/core/ims_irq.ts): CPU hotplug migrates them without
// sleeping in atomic context, with and without remapping, and a firmware
// hang -> timeout -> reset -> recovery leaves every entry and binding in
// place, every queue delivering and no completion lost.
import { expect } from "chai";
import { msleep } from "../../../../lib/kernel/delay.ts";
import { cpumask_first, cpumask_of } from "../../../../lib/kernel/cpumask.ts";
import { add_cpu, remove_cpu } from "../../../../lib/kernel/cpu.ts";
import { flush_work } from "../../../../lib/kernel/workqueue.ts";
import { irq_get_irq_data } from "../../../../lib/irq/irqdesc.ts";
import { irq_set_affinity } from "../../../../lib/irq/manage_affinity.ts";
import { mlx5_irqlab_register_recovery_notifier } from "../../../../drivers/net/mlx5/core/health.ts";
import { mlx5_ims_query_entry } from "../../../../drivers/net/mlx5/core/ims.ts";
import { mlx5ImsRig, NO_IR, type Mlx5ImsRig } from "./ims_irq_fixture.ts";

function lost(r: Mlx5ImsRig): number {
  let n = 0;
  for (const q of r.queues.queues) n += r.hw.counters(q.index).produced - q.completions;
  return n;
}

function effectiveCpu(virq: number): number {
  return cpumask_first(irq_get_irq_data(virq)!.common.effective_affinity);
}

/** The CPU the device's entry of `virq` targets now (destination id of addr_lo). */
function deviceCpu(r: Mlx5ImsRig, virq: number): number {
  return (r.hw.ims.ramEntry(r.ims.maps.get(virq)!.index)!.addrLo >>> 12) & 0xff;
}

describe("drivers/net/mlx5 completion EQs on IMS (irqlab)", function () {
  this.timeout(120_000);

  for (const ir of [true, false]) {
    it(`offlining the CPU of every completion vector migrates them without sleeping in atomic context, ${ir ? "under remapping with no command" : "without remapping by the async push"}; nothing is lost`, async () => {
      const r = await mlx5ImsRig({ machine: { trace: false, ...(ir ? {} : NO_IR) }, queues: 4 });
      const { m, hw, ims, queues } = r;
      const out = await m.run(async () => {
        // every vector to CPU3 first (without remapping the move completes on the next interrupts)
        for (const q of queues.queues) expect(irq_set_affinity(q.irqn, cpumask_of(3))).to.equal(0);
        for (let k = 0; k < 3; k++) {
          for (const q of queues.queues) hw.complete(q.index);
          await msleep(1);
        }
        await flush_work(ims.chip.async_work);
        const before = { cpus: queues.queues.map((q) => effectiveCpu(q.irqn)), dev: queues.queues.map((q) => deviceCpu(r, q.irqn)) };
        const c0 = { ...ims.chip.stats };
        // traffic every 20 us on every queue across the offlining and the push
        hw.startTraffic({ periodNs: 20_000, count: 2000 });
        await msleep(1);
        const ret = await remove_cpu(3);
        await msleep(50);
        await flush_work(ims.chip.async_work);
        await msleep(1);
        return {
          before,
          ret,
          after: queues.queues.map((q) => effectiveCpu(q.irqn)),
          dev: queues.queues.map((q) => deviceCpu(r, q.irqn)),
          cmds: ims.chip.stats.commands - c0.commands,
          async: ims.chip.stats.async_commands - c0.async_commands,
          retriggers: ims.chip.stats.retriggers - c0.retriggers,
          onDeadCpu: queues.queues.map((q) => q.per_cpu[3] ?? 0),
        };
      });
      expect(out.before.cpus).to.deep.equal([3, 3, 3, 3]);
      expect(out.ret).to.equal(0);
      for (const c of out.after) expect(c).to.not.equal(3);
      if (ir) {
        expect(out.cmds, "the IRTE moved, the device message did not").to.equal(0);
        expect(out.dev).to.deep.equal(out.before.dev);
      } else {
        expect(out.before.dev).to.deep.equal([3, 3, 3, 3]);
        expect(out.async, "one async SET_IMS_ENTRY per vector").to.equal(4);
        // the old vectors died with the CPU before the device switched: each push is followed by an injected interrupt
        expect(out.retriggers).to.equal(4);
        expect(out.dev).to.deep.equal(out.after);
      }
      expect(lost(r), "completions produced but never handled").to.equal(0);
      for (const q of queues.queues) expect(hw.counters(q.index).waiting).to.equal(0);
      expect(m.splats(), "no sleeping function called from invalid context").to.deep.equal([]);
      await m.run(() => add_cpu(3));
    });
  }

  it("a firmware hang -> command timeout -> reset -> recovery: every live entry on the device equals the chip's shadow, every EQ is bound to its entry, every queue delivers, nothing is lost", async () => {
    const r = await mlx5ImsRig({ machine: { trace: false }, queues: 8 });
    const { m, hw, dev, ims, queues } = r;
    let recovered = 0;
    mlx5_irqlab_register_recovery_notifier(dev, () => {
      recovered++;
      return Promise.resolve();
    });
    const out = await m.run(async () => {
      hw.startTraffic({ periodNs: 50_000_000, jitterNs: 5_000_000, count: 60 });
      await msleep(10);
      hw.hangFirmware({ assertAfterNs: 1_000_000_000 });
      const hung = await mlx5_ims_query_entry(dev, 0);
      while (!recovered || queues.queues.some((q) => hw.counters(q.index).produced < 60)) await msleep(10);
      await msleep(5);
      const atEnd = queues.queues.map((q) => q.completions);
      for (const q of queues.queues) hw.complete(q.index);
      await msleep(2);
      const entries = [];
      for (const q of queues.queues) {
        const index = ims.maps.get(q.irqn)!.index;
        const e = await mlx5_ims_query_entry(dev, index);
        const s = ims.chip.slots.get(index)!;
        entries.push({ dev: e.entry, shadow: s.shadow, eqIms: hw.eq(q.eqn)!.imsIndex, index });
      }
      return { hungErr: hung.err, atEnd, after: queues.queues.map((q) => q.completions), entries };
    });
    expect(hw.fw.resets.sw).to.equal(1);
    expect(recovered).to.equal(1);
    expect(out.hungErr).to.be.lessThan(0);
    expect(m.dmesg()).to.match(/health recovery succeeded\n/);
    for (const e of out.entries) {
      expect(e.dev, `entry ${e.index}`).to.deep.equal(e.shadow);
      expect(e.dev.ctrl, `entry ${e.index} unmasked`).to.equal(0);
      expect(e.eqIms, `EQ bound to entry ${e.index}`).to.equal(e.index);
    }
    expect(out.after.map((n, i) => n - out.atEnd[i]!)).to.deep.equal(queues.queues.map(() => 1));
    expect(lost(r)).to.equal(0);
    for (const q of queues.queues) expect(hw.counters(q.index).waiting).to.equal(0);
    expect(m.splats()).to.deep.equal([]);
  });
});
