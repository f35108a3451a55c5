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
import type { Mlx5Nic } from "../hw/devices/mlx5/mlx5.ts";
import { cpumask_first } from "../kernel/cpumask.ts";
import { irq_get_irq_data } from "../irq/irqdesc.ts";
import { mlx5_probe } from "../../drivers/net/mlx5/core/main.ts";
import { mlx5_irqlab_queues_attach, type mlx5_irqlab_queues } from "../../drivers/net/mlx5/core/queues.ts";
import { mlx5_irqlab_ims_irqs, mlx5_ims_irq_table_get } from "../../drivers/net/mlx5/core/ims_irq.ts";
import { mlx5_ims_query_entry } from "../../drivers/net/mlx5/core/ims.ts";
import { mlx5_irqlab_register_recovery_notifier } from "../../drivers/net/mlx5/core/health.ts";
import type { mlx5_core_dev } from "../../drivers/net/mlx5/core/driver.ts";

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

/** What the mlx5 scenario leaves for its check. */
export interface Mlx5ScenarioState {
  dev: mlx5_core_dev;
  queues: mlx5_irqlab_queues;
  /** Completions handled per queue when the recovery was over, and at the end. */
  atRecovery: number[];
  /** The command issued into the hung firmware, and what it returned. */
  hungCommandErr: number;
  /** Vectors whose effective CPU is the one the rebalance asked for. */
  rebalanced: number;
}

export const MLX5_BDF = "0000:3b:00.0";

/**
 * The default machine: an mlx5-like NIC with its 64 completion vectors on
 * IMS behind interrupt remapping (irqchip/irq-mlx5-ims.ts), traffic on all 64
 * queues, every vector moved to the next CPU, then a firmware hang: a command
 * times out, the firmware's watchdog asserts, the health poller resets and
 * recovers the function, and traffic goes on. Timeouts scaled by 100.
 */
function mlx5Default(name: string): Scenario {
  const nq = 64;
  return {
    name,
    description: `mlx5-like NIC (${MLX5_BDF}), ${nq} completion EQs on IMS behind interrupt remapping, traffic on every queue, an affinity rebalance of every vector, a firmware hang -> command timeout -> reset -> recovery, traffic after it`,
    async run(opts) {
      const m = await createMachine({
        ...opts,
        pci: { devices: [{ type: "mlx5", bdf: MLX5_BDF, timeouts: { scale: 100 }, queues: nq, maxEqs: nq + 8 }] },
      });
      const hw = m.pci.device<Mlx5Nic>(MLX5_BDF);
      const ncpu = m.options.cpus;
      // The trace (irqlab trace default, the golden views) records the boot
      // and the traffic around the rebalance; the probe's and the recovery's
      // few hundred commands each are left out (dmesg tells them).
      const tracing = m.recorder.recording;
      const state = await m.run(async () => {
        const pdev = pci_get_device_by_name(MLX5_BDF)!;
        mlx5_irqlab_ims_irqs(pdev, { comp_vectors: nq });
        m.recorder.stop();
        const dev = await mlx5_probe(pdev);
        if (typeof dev === "number") throw new Error(`mlx5_probe failed: ${dev}`);
        const queues = await mlx5_irqlab_queues_attach(dev, nq);
        if (typeof queues === "number") throw new Error(`queues: ${queues}`);
        if (tracing) m.recorder.start();
        const before = 3;
        hw.startTraffic({ periodNs: 1_000_000, jitterNs: 200_000, count: before });
        await msleep(1);
        // rebalance: every completion vector to the next CPU
        let rebalanced = 0;
        const want = new Map<number, number>();
        for (const q of queues.queues) {
          const cpu = (cpumask_first(irq_get_irq_data(q.irqn)!.common.effective_affinity) + 1) % ncpu;
          if (!irq_set_affinity(q.irqn, cpumask_of(cpu))) want.set(q.irqn, cpu);
        }
        await msleep(3);
        m.recorder.stop();
        for (const [irq, cpu] of want) if (cpumask_first(irq_get_irq_data(irq)!.common.effective_affinity) === cpu) rebalanced++;
        // the firmware hangs; the datapath goes on (a completion every 100 ms
        // per queue, through the reset); the firmware's watchdog gives up 1 s later
        let recovered = false;
        mlx5_irqlab_register_recovery_notifier(dev, () => {
          recovered = true;
          return Promise.resolve();
        });
        const during = 24;
        hw.hangFirmware({ assertAfterNs: 1_000_000_000 });
        hw.startTraffic({ periodNs: 100_000_000, jitterNs: 10_000_000, count: during });
        const hung = await mlx5_ims_query_entry(dev, 0);
        // command timeout, fatal sensor, reset and recovery; then the traffic's end
        while (!recovered || queues.queues.some((q) => hw.counters(q.index).produced < before + during)) await msleep(10);
        const atRecovery = queues.queues.map((q) => q.completions);
        for (const q of queues.queues) hw.complete(q.index);
        await msleep(2);
        return { dev, queues, atRecovery, hungCommandErr: hung.err, rebalanced };
      });
      const irqs = [state.queues.queues[0]!.irqn, state.queues.queues[1]!.irqn];
      return { m, irqs, state };
    },
    check(run) {
      const st = run.state as Mlx5ScenarioState;
      const hw = run.m.pci.device<Mlx5Nic>(MLX5_BDF);
      const problems: string[] = [];
      if (!mlx5_ims_irq_table_get(st.dev)?.active) problems.push("the completion vectors are not on IMS");
      if (st.queues.queues.length < 64) problems.push(`only ${st.queues.queues.length} queues`);
      if (st.rebalanced !== st.queues.queues.length) problems.push(`${st.rebalanced} of ${st.queues.queues.length} vectors moved`);
      if (hw.fw.resets.sw < 1) problems.push("the firmware hang did not end in a reset");
      if (st.dev.priv.health.fatal_reports < 1) problems.push("no fatal report: the health poller did not recover the device");
      if (st.hungCommandErr === 0) problems.push("the command issued into the hung firmware succeeded");
      for (const q of st.queues.queues) {
        const c = hw.counters(q.index);
        if (c.produced !== q.completions) problems.push(`queue ${q.index}: the device produced ${c.produced} completions, the driver handled ${q.completions}`);
        if (c.waiting) problems.push(`queue ${q.index}: ${c.waiting} completions still waiting in the device`);
        if (!(q.completions > st.atRecovery[q.index]!)) problems.push(`queue ${q.index}: no completion after the recovery`);
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
  default: mlx5Default("default"),
  "testnic-basic": {
    name: "testnic-basic",
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
