// SPDX-License-Identifier: GPL-2.0-only
// Exploration scenarios of the mutant corpus: narrower than the churn
// scenarios of lib/explore, each aimed at the window one bug needs, still
// seeded (the gaps, the order of operations, the device's jitter) and
// judged by lib/explore's named checkers. Not registered: the mutant
// entries pass the scenario object to runSeed().

import { K } from "../../lib/kernel/kernel.ts";
import { msleep } from "../../lib/kernel/delay.ts";
import { cpumask_of } from "../../lib/kernel/cpumask.ts";
import { smp_processor_id } from "../../lib/kernel/context.ts";
import { irqlab_handler_busy } from "../../lib/kernel/frame.ts";
import { IRQ_HANDLED, type irqreturn_t } from "../../lib/irq/interrupt.ts";
import { free_irq, request_irq } from "../../lib/irq/manage.ts";
import { irq_set_affinity } from "../../lib/irq/manage_affinity.ts";
import type { TestNic } from "../../lib/hw/devices/testnic.ts";
import { pci_get_device_by_name } from "../../drivers/pci/pci.ts";
import { testnic_kick, testnic_probe, testnic_remove, type testnic_priv, type testnic_queue } from "../../drivers/net/testnic/testnic.ts";
import { join, sleep_until, spawn } from "../../lib/explore/scenarios.ts";
import type { ExploreScenario, ScenarioCtx } from "../../lib/explore/index.ts";

export const NIC_BDF = "0000:3b:00.0";
const US = 1000;

/** A slow queue handler (hardirq context): the window a racing free_irq() needs. */
const HANDLER_NS = 20 * US;
function mutant_slow_interrupt(_irq: number, dev_id: unknown): irqreturn_t {
  const q = dev_id as testnic_queue;
  const cpu = smp_processor_id();
  q.per_cpu[cpu] = (q.per_cpu[cpu] ?? 0) + 1;
  q.count++;
  // a busy handler whose frame suspends (other CPUs' tasks run meanwhile)
  irqlab_handler_busy(HANDLER_NS);
  return IRQ_HANDLED;
}

async function probe(ctx: ScenarioCtx): Promise<{ priv: testnic_priv; hw: TestNic } | null> {
  const priv = await testnic_probe(pci_get_device_by_name(NIC_BDF)!, {});
  if (typeof priv === "number") {
    ctx.fail(`testnic_probe() = ${priv}`);
    return null;
  }
  const hw = ctx.m.pci.device<TestNic>(NIC_BDF);
  ctx.watch(priv.queues.map((q) => ({ bdf: NIC_BDF, index: q.index, irq: q.irq, name: q.name })));
  return { priv, hw };
}

/**
 * free_irq() racing the handler: queue 2 is bound to CPU2; a thread on
 * CPU1 kicks the queue's doorbell, waits a seeded 0-30 us (the handler
 * takes 20 us), frees the interrupt and requests it again, six times.
 */
export const freeRace: ExploreScenario = {
  name: "mutant-free-race",
  description: "test NIC, a 20 us handler on CPU2, free_irq()/request_irq() from CPU1 a seeded 0-30 us after a doorbell",
  machine: () => ({ cpus: 4, iommu: { interruptRemapping: false }, pci: { devices: [{ type: "testnic", bdf: NIC_BDF, vectors: 4 }] } }),
  devices: [NIC_BDF],
  horizonNs: 400_000,
  async run(ctx) {
    const p = await probe(ctx);
    if (!p) return;
    const q = p.priv.queues[2]!;
    // the driver's handler is private to it: take the line over with the slow one
    await free_irq(q.irq, q);
    if ((await request_irq(q.irq, mutant_slow_interrupt, 0, q.name, q)) !== 0) ctx.fail(`request_irq(${q.irq}) failed`);
    if (irq_set_affinity(q.irq, cpumask_of(2))) ctx.fail(`irq_set_affinity(${q.irq}, 2) failed`);
    ctx.armFaults();
    const t = spawn(1, "mutant/%d", async () => {
      for (let i = 0; i < 6; i++) {
        testnic_kick(p.priv, q.index);
        await sleep_until(K.sim.now + 1 + ctx.rng.int(30 * US));
        const name = await free_irq(q.irq, q);
        if (name !== q.name) ctx.fail(`free_irq(${q.irq}) returned ${String(name)}`);
        await sleep_until(K.sim.now + 40 * US);
        const ret = await request_irq(q.irq, mutant_slow_interrupt, 0, q.name, q);
        if (ret) ctx.fail(`request_irq(${q.irq}) = ${ret}`);
        await sleep_until(K.sim.now + 40 * US);
      }
    });
    await join([t]);
    await ctx.disarmFaults();
    await msleep(1);
    await testnic_remove(p.priv);
    await msleep(12);
  },
};

/**
 * Deferred moves of a non-remapped MSI-X vector against a device that
 * latches address and data 1.5 us apart (test/irqchip/x86/msi.test.ts):
 * queues 1-3 crowd CPU2 so that queue 0 changes vector number when it
 * moves; each round moves queue 0 between CPU1 and CPU2 and raises it
 * twice a seeded 0-2.5 us apart, while the move runs in the first one's ack.
 */
export const tornMove: ExploreScenario = {
  name: "mutant-torn-move",
  description: "test NIC with torn MSI-X latching (1.5 us), queue 0 moved between CPU1 and CPU2 and raised twice a seeded gap apart, 12 rounds",
  machine: () => ({ cpus: 4, iommu: { interruptRemapping: false }, pci: { devices: [{ type: "testnic", bdf: NIC_BDF, vectors: 4, latching: "torn", tearWindowNs: 1500 }] } }),
  devices: [NIC_BDF],
  horizonNs: 200_000,
  limitNs: 400_000_000,
  async run(ctx) {
    const p = await probe(ctx);
    if (!p) return;
    const { priv, hw } = p;
    const q = priv.queues[0]!;
    for (const o of priv.queues.slice(1)) irq_set_affinity(o.irq, cpumask_of(2));
    irq_set_affinity(q.irq, cpumask_of(1));
    ctx.armFaults();
    // the pending moves happen in the ack of each queue's next interrupt
    for (let r = 0; r < 2; r++) {
      for (const o of priv.queues) hw.raise(o.index);
      await msleep(10);
    }
    for (let i = 0; i < 12; i++) {
      irq_set_affinity(q.irq, cpumask_of(i % 2 ? 1 : 2));
      hw.raise(q.index);
      K.sim.spinFor(ctx.rng.int(2500), "mutant gap");
      hw.raise(q.index);
      await msleep(1);
      // an interrupt on the new CPU lets the old vector be cleaned up (one jiffy later)
      hw.raise(q.index);
      await msleep(10);
    }
    await ctx.disarmFaults();
    await testnic_remove(priv);
    await msleep(12);
  },
};
