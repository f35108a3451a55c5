// SPDX-License-Identifier: GPL-2.0-only
// The queue-backed mlx5 IMS chip, reference design (irqchip/irq-mlx5-ims.ts):
// startup and teardown synchronous through irq_bus_sync_unlock(), lazy
// mask/unmask, no command for an affinity change under remapping, an
// asynchronous push without it, and nothing lost across the vector move.
import { expect } from "chai";
import { msleep } from "../../lib/kernel/delay.ts";
import { cpumask_of } from "../../lib/kernel/cpumask.ts";
import { irq_get_chip, irq_get_irq_data } from "../../lib/irq/irqdesc.ts";
import { disable_irq, enable_irq, free_irq, request_irq } from "../../lib/irq/manage.ts";
import { irq_set_affinity } from "../../lib/irq/manage_affinity.ts";
import { IRQ_HANDLED } from "../../lib/irq/interrupt.ts";
import { flush_work } from "../../lib/kernel/workqueue.ts";
import { pci_ims_alloc_irq, pci_ims_free_irq } from "../../drivers/pci/msi/msi.ts";
import { MLX5_IMS_CTRL_MASKED, mlx5_ims_chip_data_of } from "../../irqchip/irq-mlx5-ims.ts";
import type { Machine } from "../../lib/machine.ts";
import { mlx5ImsRig, NO_IR, type Mlx5ImsRig } from "../drivers/net/mlx5/ims_irq_fixture.ts";

/** Interrupts of Linux IRQ `irq` per CPU, from /proc/interrupts. */
function perCpu(m: Machine, irq: number): number[] {
  const row = m.procInterrupts().split("\n").find((l) => l.trim().startsWith(`${irq}:`));
  if (!row) throw new Error(`no row for IRQ ${irq}`);
  return row.trim().split(/\s+/).slice(1, 1 + m.options.cpus).map(Number);
}

/** Every completion the device produced was handled by a queue. */
function lostCompletions(r: Mlx5ImsRig): number {
  let lost = 0;
  for (const q of r.queues.queues) lost += r.hw.counters(q.index).produced - q.completions;
  return lost;
}

/** The IMS entry behind Linux IRQ `virq`. */
function imsIndex(r: Mlx5ImsRig, virq: number): number {
  return r.ims.maps.get(virq)!.index;
}

/** The CPU the device's entry of queue `q` targets (destination id of addr_lo). */
function entryCpu(r: Mlx5ImsRig, q: { irqn: number }): number {
  return (r.hw.ims.ramEntry(imsIndex(r, q.irqn))!.addrLo >>> 12) & 0xff;
}

for (const ir of [true, false]) {
  const label = ir ? "under interrupt remapping" : "on the bare vector domain";
  describe(`irqchip/irq-mlx5-ims reference design, ${label}`, function () {
    this.timeout(120_000);
    const rig = (queues = 4): Promise<Mlx5ImsRig> => mlx5ImsRig({ machine: { trace: false, ...(ir ? {} : NO_IR) }, queues });

    it(`names the domain's chip ${ir ? "IR-" : ""}MLX5-IMS-<bdf>; the live chip is irq_get_chip(virq)`, async () => {
      const r = await rig(1);
      const virq = r.queues.queues[0]!.irqn;
      const chip = irq_get_chip(virq)!;
      expect(chip.name).to.equal(`${ir ? "IR-" : ""}MLX5-IMS-0000:3b:00.0`);
      expect(mlx5_ims_chip_data_of(irq_get_irq_data(virq)!)).to.equal(r.ims.chip);
      expect(r.m.splats()).to.deep.equal([]);
    });

    it("request_irq() returns with the entry on the device, unmasked; free_irq() returns with it masked and cleared: each change pushed by irq_bus_sync_unlock()", async () => {
      const r = await rig(1);
      const { m, dev, hw, ims } = r;
      const seen: string[] = [];
      const out = await m.run(async () => {
        const map = await pci_ims_alloc_irq(dev.pdev, null, null);
        const chip = irq_get_chip(map.virq)!;
        const sync = chip.irq_bus_sync_unlock!;
        chip.irq_bus_sync_unlock = async (d) => {
          seen.push(`sync_unlock ctrl=${hw.ims.ramEntry(map.index)!.ctrl}`);
          await sync(d);
          seen.push(`pushed ctrl=${hw.ims.ramEntry(map.index)!.ctrl}`);
        };
        const c0 = ims.chip.stats.commands;
        const err = await request_irq(map.virq, () => IRQ_HANDLED, 0, "ims-test", r);
        const afterRequest = { cmds: ims.chip.stats.commands - c0, entry: { ...hw.ims.ramEntry(map.index)! } };
        const c1 = ims.chip.stats.commands;
        await free_irq(map.virq, r);
        const e = hw.ims.ramEntry(map.index)!;
        const afterFree = { cmds: ims.chip.stats.commands - c1, ctrl: e.ctrl, addrLo: e.addrLo, data: e.data };
        chip.irq_bus_sync_unlock = sync;
        await pci_ims_free_irq(dev.pdev, map);
        return { err, afterRequest, afterFree };
      });
      expect(out.err).to.equal(0);
      expect(out.afterRequest.cmds).to.equal(1);
      expect(out.afterRequest.entry.ctrl).to.equal(0);
      expect((out.afterRequest.entry.addrLo & 0xfff00000) >>> 0).to.equal(0xfee00000);
      // __free_irq(): irq_shutdown() masks in the first bus-locked section, the
      // last action's irq_domain_deactivate_irq() clears the message in a second
      expect(out.afterFree).to.deep.equal({ cmds: 2, ctrl: MLX5_IMS_CTRL_MASKED, addrLo: 0, data: 0 });
      expect(seen).to.deep.equal(["sync_unlock ctrl=1", "pushed ctrl=0", "sync_unlock ctrl=0", "pushed ctrl=1", "sync_unlock ctrl=1", "pushed ctrl=1"]);
      expect(m.splats()).to.deep.equal([]);
    });

    it("mask and unmask are lazy: disable_irq()/enable_irq() and an interrupt while disabled issue no command, and the completion is handled after enable_irq()", async () => {
      const r = await rig(1);
      const { m, hw, ims, queues } = r;
      const q = queues.queues[0]!;
      const out = await m.run(async () => {
        const c0 = ims.chip.stats.commands;
        await disable_irq(q.irqn);
        hw.complete(0);
        await msleep(1);
        const whileDisabled = q.completions;
        await enable_irq(q.irqn);
        await msleep(1);
        return { cmds: ims.chip.stats.commands - c0, whileDisabled, after: q.completions, ctrl: hw.ims.ramEntry(imsIndex(r, q.irqn))!.ctrl };
      });
      expect(out).to.deep.equal({ cmds: 0, whileDisabled: 0, after: 1, ctrl: 0 });
      expect(lostCompletions(r)).to.equal(0);
      expect(m.splats()).to.deep.equal([]);
    });

    if (ir) {
      it("an affinity change issues no command: INTEL-IR rewrites its IRTE and the device message stays the same", async () => {
        const r = await rig(4);
        const { m, hw, ims, queues } = r;
        const before = queues.queues.map((q) => ({ ...hw.ims.ramEntry(imsIndex(r, q.irqn))! }));
        const out = await m.run(async () => {
          const c0 = ims.chip.stats.commands;
          const rets = queues.queues.map((q) => irq_set_affinity(q.irqn, cpumask_of((q.index + 1) % 4)));
          for (const q of queues.queues) hw.complete(q.index);
          await msleep(1);
          return { rets, cmds: ims.chip.stats.commands - c0 };
        });
        expect(out.rets).to.deep.equal([0, 0, 0, 0]);
        expect(out.cmds).to.equal(0);
        expect(queues.queues.map((q) => ({ ...hw.ims.ramEntry(imsIndex(r, q.irqn))! }))).to.deep.equal(before);
        for (const q of queues.queues) expect(perCpu(m, q.irqn)[(q.index + 1) % 4], `queue ${q.index}`).to.equal(1);
        expect(lostCompletions(r)).to.equal(0);
        expect(m.splats()).to.deep.equal([]);
      });
    } else {
      it("an affinity change is pushed asynchronously from the ack on the old CPU; the old vector serves until the device switched, nothing is lost", async () => {
        const r = await rig(4);
        const { m, hw, ims, queues } = r;
        const out = await m.run(async () => {
          const c0 = { all: ims.chip.stats.commands, async: ims.chip.stats.async_commands };
          const oldCpu = queues.queues.map((q) => entryCpu(r, q));
          for (const q of queues.queues) expect(irq_set_affinity(q.irqn, cpumask_of((oldCpu[q.index]! + 1) % 4))).to.equal(0);
          // IRQCHIP_MOVE_DEFERRED: nothing moves before an interrupt arrives
          const beforeIrq = queues.queues.map((q) => entryCpu(r, q));
          // back-to-back completions: the first interrupt's ack moves the
          // vector and records the message; the device keeps the old one
          // until the work's SET_IMS_ENTRY completes
          for (let k = 0; k < 20; k++) {
            for (const q of queues.queues) hw.complete(q.index);
            await msleep(0.05);
          }
          await flush_work(ims.chip.async_work);
          await msleep(1);
          for (const q of queues.queues) hw.complete(q.index);
          await msleep(1);
          return { oldCpu, beforeIrq, after: queues.queues.map((q) => entryCpu(r, q)), cmds: ims.chip.stats.commands - c0.all, async: ims.chip.stats.async_commands - c0.async };
        });
        expect(out.beforeIrq).to.deep.equal(out.oldCpu);
        expect(out.after).to.deep.equal(out.oldCpu.map((c) => (c + 1) % 4));
        expect(out.async).to.equal(4);
        expect(out.cmds).to.equal(4);
        for (const q of queues.queues) {
          const pc = perCpu(m, q.irqn);
          expect(pc[out.oldCpu[q.index]!], `queue ${q.index} on the old CPU while the push was in flight`).to.be.greaterThan(0);
          expect(pc[out.after[q.index]!], `queue ${q.index} on the new CPU`).to.be.greaterThan(0);
        }
        expect(lostCompletions(r)).to.equal(0);
        for (const q of queues.queues) expect(hw.counters(q.index).waiting).to.equal(0);
        expect(m.splats()).to.deep.equal([]);
      });
    }
  });
}
