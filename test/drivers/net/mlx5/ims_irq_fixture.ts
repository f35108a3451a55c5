// SPDX-License-Identifier: GPL-2.0-only
// A booted machine with one mlx5-like NIC whose completion vectors come from
// IMS (drivers/net/mlx5/core/ims_irq.ts), probed, with queues attached.

import { createMachine, type Machine, type MachineOptions } from "../../../../lib/machine.ts";
import type { Mlx5Nic, Mlx5Options } from "../../../../lib/hw/devices/mlx5/mlx5.ts";
import { pci_get_device_by_name } from "../../../../drivers/pci/pci.ts";
import { mlx5_irqlab_register_interface, mlx5_probe } from "../../../../drivers/net/mlx5/core/main.ts";
import type { mlx5_core_dev } from "../../../../drivers/net/mlx5/core/driver.ts";
import { mlx5_irqlab_queues } from "../../../../drivers/net/mlx5/core/queues.ts";
import { mlx5_irqlab_ims_irqs, mlx5_ims_irq_table_get, type mlx5_ims_irq_params, type mlx5_ims_irq_table } from "../../../../drivers/net/mlx5/core/ims_irq.ts";

export const MLX5_IMS_BDF = "0000:3b:00.0";

export interface Mlx5ImsRig {
  m: Machine;
  hw: Mlx5Nic;
  dev: mlx5_core_dev;
  queues: mlx5_irqlab_queues;
  ims: mlx5_ims_irq_table;
  /** Attaching the queues did not finish within `hangLimitNs`, or stalled (a design that deadlocks). */
  hung: boolean;
  /** The stall report when attaching stalled (lib/sim/stall.ts), else "". */
  stalled: string;
}

/** Machine option for the IMS chip on the bare vector domain (no remapping). */
export const NO_IR: MachineOptions = { iommu: { interruptRemapping: false }, ims: { onVectorDomain: true } };

/** Boot, ask for IMS completion vectors, probe, attach `queues` queues (one per vector). */
export async function mlx5ImsRig(
  opts: { machine?: MachineOptions; nic?: Partial<Mlx5Options>; queues?: number; params?: mlx5_ims_irq_params; beforeProbe?: (m: Machine) => void; hangLimitNs?: number } = {},
): Promise<Mlx5ImsRig> {
  const nq = opts.queues ?? 4;
  const m = await createMachine({
    cpus: 4,
    ...(opts.machine ?? {}),
    pci: { devices: [{ type: "mlx5", bdf: MLX5_IMS_BDF, timeouts: { scale: 100 }, queues: nq, maxEqs: Math.max(64, nq + 8), ...(opts.nic ?? {}) }] },
  });
  opts.beforeProbe?.(m);
  const pdev = pci_get_device_by_name(MLX5_IMS_BDF)!;
  const dev = await m.run(async () => {
    mlx5_irqlab_ims_irqs(pdev, { comp_vectors: nq, ...(opts.params ?? {}) });
    const r = await mlx5_probe(pdev);
    if (typeof r === "number") throw new Error(`mlx5_probe failed: ${r}\n${m.dmesg()}`);
    return r;
  });
  // mlx5_irqlab_queues_attach(), with the queues at hand even if attaching never returns
  const queues = new mlx5_irqlab_queues(nq);
  let hung = false;
  let stalled = "";
  try {
    const err = await m.run(() => mlx5_irqlab_register_interface(dev, queues), opts.hangLimitNs ? { limitNs: opts.hangLimitNs } : undefined);
    if (err) throw new Error(`queues: ${err}\n${m.dmesg()}`);
  } catch (e) {
    if (!opts.hangLimitNs || !/not settled|simulation stalled/.test(String(e))) throw e;
    if (/simulation stalled/.test(String(e))) stalled = String(e);
    hung = true;
  }
  const ims = mlx5_ims_irq_table_get(dev);
  if (!ims?.active) throw new Error(`no IMS table\n${m.dmesg()}`);
  return { m, hw: m.pci.device<Mlx5Nic>(MLX5_IMS_BDF), dev, queues, ims, hung, stalled };
}
