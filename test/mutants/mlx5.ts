// SPDX-License-Identifier: GPL-2.0-only
// Mutants of mlx5_core's completion EQs and of the queue-backed IMS chip
// (irqchip/irq-mlx5-ims.ts), caught by "no-lost-completion"
// (lib/explore/mlx5.ts): every completion the device produced for a queue
// was reported as an EQE and handled by the queue's driver by the end of
// the run.
//
// The scenarios below probe the mlx5-like NIC with its completion vectors on
// IMS (drivers/net/mlx5/core/ims_irq.ts) and attach two queues; a mutant
// that must reach the driver's objects once they exist (an EQ, the IMS
// store's shadow) sets `mlx5Mutation.afterAttach`, which the scenario calls
// after the queues are up; a chip mutant patches the IMS template, which
// msi_create_device_irq_domain() copies when the probe creates the domain.

import { msleep } from "../../lib/kernel/delay.ts";
import { mutex_unlock } from "../../lib/kernel/mutex.ts";
import { irq_data_get_msi_desc, type irq_data } from "../../lib/irq/irq.ts";
import type { Mlx5Nic } from "../../lib/hw/devices/mlx5/mlx5.ts";
import { watchCompletions } from "../../lib/explore/mlx5.ts";
import type { ExploreScenario, FaultPlan, ScenarioCtx } from "../../lib/explore/index.ts";
import { pci_get_device_by_name } from "../../drivers/pci/pci.ts";
import { mlx5_probe, mlx5_remove } from "../../drivers/net/mlx5/core/main.ts";
import type { mlx5_core_dev } from "../../drivers/net/mlx5/core/driver.ts";
import { mlx5_irqlab_queues_attach, type mlx5_irqlab_queues } from "../../drivers/net/mlx5/core/queues.ts";
import { mlx5_irqlab_ims_irqs, mlx5_ims_irq_table_get } from "../../drivers/net/mlx5/core/ims_irq.ts";
import { mlx5_eq_bind_ims, mlx5_ims_init, mlx5_ims_set_entry } from "../../drivers/net/mlx5/core/ims.ts";
import { mlx5_irqlab_register_recovery_notifier } from "../../drivers/net/mlx5/core/health.ts";
import { mlx5_ims_chip, mlx5_ims_chip_data_of } from "../../irqchip/irq-mlx5-ims.ts";
import { patchChip, type Mutant, type Undo } from "./harness.ts";

export const MLX5_BDF = "0000:3b:00.0";
const QUEUES = 2;
const MS = 1_000_000;

/** What a mutant does to the driver once the queues are attached (set by its apply(), cleared by the undo). */
export const mlx5Mutation: { afterAttach?: (dev: mlx5_core_dev, queues: mlx5_irqlab_queues) => void } = {};

function mutation(fn: NonNullable<typeof mlx5Mutation.afterAttach>): Undo {
  mlx5Mutation.afterAttach = fn;
  return () => {
    delete mlx5Mutation.afterAttach;
  };
}

/** Entry of the IMS store the store-level scenario routes queue 0's EQ through. */
const K_IDX = 5;

/**
 * The mlx5-like NIC with two queues and seeded traffic (a period of
 * `periodNs` to twice that) for `runMs`, then the
 * traffic stops, the run settles and the driver is removed. `ims`:
 * "chip": the completion vectors are IMS interrupts of the queue-backed chip
 * (under remapping); "store": they are MSI-X, and queue 0's EQ signals
 * through IMS entry K_IDX of the driver's store, set by command to queue 0's
 * own MSI-X message, its binding redone by a recovery notifier (as
 * test/drivers/net/mlx5/ims.test.ts does): the entry survives a reset only
 * through mlx5_load()'s replay of the driver's shadow.
 */
function mlx5Scenario(name: string, description: string, runMs: number, periodNs: number, ims: "chip" | "store"): ExploreScenario {
  return {
    name,
    description,
    machine: () => ({ cpus: 4, pci: { devices: [{ type: "mlx5", bdf: MLX5_BDF, timeouts: { scale: 100 }, queues: QUEUES, maxEqs: 64 }] } }),
    devices: [MLX5_BDF],
    horizonNs: runMs * MS,
    limitNs: (runMs + 5000) * MS,
    async run(ctx: ScenarioCtx) {
      const pdev = pci_get_device_by_name(MLX5_BDF)!;
      if (ims === "chip") mlx5_irqlab_ims_irqs(pdev, { comp_vectors: QUEUES });
      const dev = await mlx5_probe(pdev);
      if (typeof dev === "number") return ctx.fail(`mlx5_probe() = ${dev}`);
      const queues = await mlx5_irqlab_queues_attach(dev, QUEUES);
      if (typeof queues === "number") return ctx.fail(`mlx5_irqlab_queues_attach() = ${queues}`);
      const hw = ctx.m.pci.device<Mlx5Nic>(MLX5_BDF);
      if (ims === "chip") {
        if (!mlx5_ims_irq_table_get(dev)?.active) return ctx.fail("the completion vectors are not on IMS");
      } else {
        const q0 = queues.queues[0]!;
        // comp vector i is MSI-X entry i + 1 (entry 0 is the control vector)
        const e = hw.msix.entry(q0.vecidx + 1);
        for (const err of [await mlx5_ims_init(dev), await mlx5_ims_set_entry(dev, K_IDX, { addr_lo: e.addrLo, addr_hi: e.addrHi, data: e.data, ctrl: 0 }), await mlx5_eq_bind_ims(dev, q0.eqn, K_IDX)]) {
          if (err) return ctx.fail(`IMS store setup: ${err}`);
        }
        mlx5_irqlab_register_recovery_notifier(dev, async (d) => {
          const err = await mlx5_eq_bind_ims(d, q0.eqn, K_IDX);
          if (err) ctx.fail(`rebinding EQ ${q0.eqn} to IMS entry ${K_IDX}: ${err}`);
        });
      }
      watchCompletions(ctx.m, MLX5_BDF, queues.queues);
      mlx5Mutation.afterAttach?.(dev, queues);
      hw.startTraffic({ periodNs: periodNs + ctx.rng.int(periodNs), jitterNs: periodNs / 4 });
      ctx.armFaults();
      await msleep(runMs);
      hw.stopTraffic();
      await ctx.disarmFaults();
      await msleep(10);
      await mlx5_remove(dev);
      await msleep(12);
    },
  };
}

/** IMS chip, traffic only, 20 ms. */
export const mlx5Traffic = mlx5Scenario("mutant-mlx5-traffic", "mlx5-like NIC, completion vectors on the IMS chip, two queues with seeded traffic for 20 ms", 20, 200_000, "chip");

/** IMS store entry, traffic across a firmware-requested reset and the driver's recovery (the health poller starts it about 2 s in). */
export const mlx5Reset = mlx5Scenario(
  "mutant-mlx5-reset",
  "mlx5-like NIC, queue 0's EQ bound to an IMS store entry, two queues with seeded traffic across a health syndrome with reset requested and the recovery",
  2600,
  1_000_000,
  "store",
);

/** The health syndrome "irisc not responding" with the reset-requested bit, 2 ms into the traffic. */
const RESET: FaultPlan = { faults: [{ kind: "mlx5-health", at: 2 * MS, target: MLX5_BDF, params: { syndrome: 0x7, rfr: true } }] };

export const mlx5Mutants: Mutant[] = [
  {
    name: "missing irq_bus_sync_unlock work",
    bug: "the mlx5 IMS chip's irq_bus_sync_unlock releases the bus lock without pushing the dirty entry (no SET_IMS_ENTRY): request_irq() returns with the device's entry still masked and without a message",
    apply() {
      return patchChip(mlx5_ims_chip, "irq_bus_sync_unlock", () => (d: irq_data) => {
        const ims = mlx5_ims_chip_data_of(d);
        ims.bus_locked.delete(irq_data_get_msi_desc(d)!.msi_index);
        mutex_unlock(ims.bus_lock);
      });
    },
    catch: { how: "explore", scenario: mlx5Traffic, seed: 1, strategy: "pct:1:3:48", faults: null, checker: "no-lost-completion" },
  },
  {
    name: "EQ not re-armed",
    bug: "the completion EQs' handler writes its consumer index to the doorbell that does not arm (UAR +0x48 instead of +0x40): the one-shot EQ fires once and never again",
    apply() {
      return mutation((dev) => {
        for (const eq of dev.priv.eq_table!.comp_eqs.values()) eq.core.doorbell += 8;
      });
    },
    catch: { how: "explore", scenario: mlx5Traffic, seed: 1, strategy: "pct:1:3:48", faults: null, checker: "no-lost-completion" },
  },
  {
    name: "IMS entry not restored after reset",
    bug: "after a reset mlx5_load() hands the IMS store back but its replay of the driver's shadow pushes no entry: the device comes back with every entry masked, as INIT_IMS_STORE leaves it, and the EQ bound to one signals into a masked entry",
    apply() {
      return mutation((dev) => {
        // mlx5_ims_load() replays `[...ims.shadow]`: the mutant's shadow iterates nothing
        Object.defineProperty(dev.priv.ims!.shadow, Symbol.iterator, { value: function* (): Generator<never> {} });
      });
    },
    catch: { how: "explore", scenario: mlx5Reset, seed: 1, strategy: "pct:1:3:48", faults: RESET, checker: "no-lost-completion" },
  },
];
