// SPDX-License-Identifier: GPL-2.0-only
// Named scenarios the CLI runs (`irqlab run|trace|explore <scenario>`) and
// the golden tests render. Each boots a machine, drives it and returns it
// with the irqs worth looking at. A scenario may declare invariants
// (`check`), which `irqlab explore` evaluates on every seed.

import { createMachine, type Machine, type MachineOptions } from "../machine.ts";
import { msleep } from "../kernel/delay.ts";
import { cpumask_of } from "../kernel/cpumask.ts";
import type { TestNic } from "../hw/devices/testnic.ts";
import { IRQ_HANDLED, type irqreturn_t } from "../irq/interrupt.ts";
import { IRQCHIP_STATE_PENDING } from "../irq/irq.ts";
import { irq_create_mapping, type irq_domain } from "../irq/irqdomain.ts";
import { irq_domain_create_sim } from "../irq/irq_sim.ts";
import { irq_set_affinity } from "../irq/manage_affinity.ts";
import { free_irq, irq_set_irqchip_state, request_irq } from "../irq/manage.ts";
import { pci_get_device_by_name } from "../../drivers/pci/pci.ts";
import { testnic_probe, type testnic_priv } from "../../drivers/net/testnic/testnic.ts";

export interface ScenarioRun {
  m: Machine;
  /** The irqs the scenario is about (for callback traces and pictures). */
  irqs: number[];
  /** Scenario state its invariants look at. */
  state?: unknown;
}

export interface Scenario {
  name: string;
  description: string;
  run(opts: MachineOptions): Promise<ScenarioRun>;
  /** Invariants of a finished run: a list of problems (empty: fine). */
  check?(run: ScenarioRun): string[];
}

export const NIC_BDF = "0000:3b:00.0";

async function probeNic(m: Machine, record = false): Promise<testnic_priv> {
  return m.run(async () => {
    const r = await testnic_probe(pci_get_device_by_name(NIC_BDF)!, { record });
    if (typeof r === "number") throw new Error(`testnic_probe failed: ${r}`);
    return r;
  });
}

/** Test NIC traffic: `raises` per queue in virtual time, one queue moved to CPU2 half way. */
function nicTraffic(name: string, ir: boolean): Scenario {
  const queues = 4;
  const count = 5;
  return {
    name,
    description: `test NIC, ${queues} MSI-X queues with seeded traffic (${count} interrupts each), then queue 1 moved to the last CPU and raised twice more; interrupt remapping ${ir ? "on" : "off"}`,
    async run(opts) {
      const m = await createMachine({
        ...opts,
        iommu: { interruptRemapping: ir },
        pci: { devices: [{ type: "testnic", bdf: NIC_BDF, vectors: queues, traffic: { periodNs: 200_000, jitterNs: 50_000, count } }] },
      });
      const priv = await probeNic(m, true);
      await m.run(async () => {
        await msleep(1);
        irq_set_affinity(priv.queues[1]!.irq, cpumask_of(m.options.cpus - 1));
        // interrupts after the change complete a deferred move and let the old vector be freed
        for (let i = 0; i < 2; i++) {
          await msleep(1);
          m.pci.device<TestNic>(NIC_BDF).raise(1);
        }
        await msleep(10);
      });
      return { m, irqs: priv.queues.map((q) => q.irq), state: priv };
    },
    check(run) {
      const priv = run.state as testnic_priv;
      const hw = run.m.pci.device<TestNic>(NIC_BDF);
      const problems: string[] = [];
      for (const q of priv.queues) {
        const c = hw.counters(q.index);
        // every message the device sent reached the handler (MSI is edge: none coalesce at these rates)
        if (q.count !== c.emitted) problems.push(`${q.name}: the device sent ${c.emitted} messages, the handler ran ${q.count} times`);
      }
      return problems;
    },
  };
}

// the irq_sim scenario's handler: hardirq context
function sim_handler(_irq: number, dev_id: unknown): irqreturn_t {
  (dev_id as { count: number }).count++;
  return IRQ_HANDLED;
}

export const scenarios: Record<string, Scenario> = {
  default: {
    name: "default",
    description: "boot the default machine with a test NIC (2 MSI-X queues, remapping on), raise each queue once and idle for 100 ms",
    async run(opts) {
      const m = await createMachine({ ...opts, pci: { devices: [{ type: "testnic", bdf: NIC_BDF, vectors: 2 }] } });
      const priv = await probeNic(m);
      const hw = m.pci.device<TestNic>(NIC_BDF);
      for (const q of priv.queues) hw.raise(q.index);
      await m.run(() => msleep(100));
      return { m, irqs: priv.queues.map((q) => q.irq), state: priv };
    },
    check(run) {
      const priv = run.state as testnic_priv;
      return priv.queues.filter((q) => q.count !== 1).map((q) => `${q.name} ran ${q.count} times for one raise`);
    },
  },
  testnic: nicTraffic("testnic", true),
  "testnic-noir": nicTraffic("testnic-noir", false),
  irq_sim: {
    name: "irq_sim",
    description: "kernel/irq/irq_sim.c: a 4-line simulator domain, two lines requested and fired three times each",
    async run(opts) {
      const m = await createMachine(opts);
      const seen = [{ count: 0 }, { count: 0 }];
      const irqs = await m.run(async () => {
        const d = await irq_domain_create_sim(null, 4);
        if (typeof d === "number") throw new Error(`irq_domain_create_sim failed: ${d}`);
        const out: number[] = [];
        for (const [i, s] of seen.entries()) {
          const virq = await irq_create_mapping(d as irq_domain, i);
          const ret = await request_irq(virq, sim_handler, 0, `irqsim-${i}`, s);
          if (ret) throw new Error(`request_irq(${virq}) failed: ${ret}`);
          out.push(virq);
        }
        for (let round = 0; round < 3; round++) {
          for (const virq of out) await irq_set_irqchip_state(virq, IRQCHIP_STATE_PENDING, true);
          await msleep(1);
        }
        await free_irq(out[1]!, seen[1]);
        return out;
      });
      return { m, irqs, state: seen };
    },
    check(run) {
      const seen = run.state as { count: number }[];
      return seen.filter((s) => s.count !== 3).map((s, i) => `irqsim-${i} ran ${s.count} times for three triggers`);
    },
  },
};

/** The scenario called `name`, or null. */
export function findScenario(name: string): Scenario | null {
  return Object.hasOwn(scenarios, name) ? scenarios[name]! : null;
}
