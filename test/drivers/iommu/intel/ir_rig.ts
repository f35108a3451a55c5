// SPDX-License-Identifier: GPL-2.0-only
// A booted x86 machine with interrupt remapping on, a test NIC probed by its
// driver (its MSI-X vectors in the IR-PCI-MSIX -> INTEL-IR -> VECTOR
// hierarchy) and, optionally, a second NIC at another requester ID that no
// driver owns but that may master the bus: the hardware back door for
// forging interrupt messages (PciFunction.emitMsi).

import { expect } from "chai";
import { createMachine, type Machine, type MachineOptions } from "../../../../lib/machine.ts";
import type { TraceKind, TraceRecord } from "../../../../lib/sim/trace.ts";
import type { TestNic, TestNicOptions } from "../../../../lib/hw/devices/testnic.ts";
import type { VtdUnit } from "../../../../lib/hw/vtd.ts";
import { irq_get_irq_data } from "../../../../lib/irq/irqdesc.ts";
import type { irq_data } from "../../../../lib/irq/irq.ts";
import { irqd_cfg } from "../../../../irqchip/x86/vector.ts";
import { pci_enable_device, pci_get_device_by_name, pci_set_master } from "../../../../drivers/pci/pci.ts";
import { dmar_iommus } from "../../../../drivers/iommu/intel/dmar.ts";
import type { intel_iommu } from "../../../../drivers/iommu/intel/iommu.ts";
import { intel_ir_irte_of } from "../../../../drivers/iommu/intel/irq_remapping.ts";
import { testnic_probe, type testnic_priv, type testnic_probe_options } from "../../../../drivers/net/testnic/testnic.ts";

export const NIC_BDF = "0000:3b:00.0";
export const NIC_RID = 0x3b00;
export const ROGUE_BDF = "0000:3c:00.0";
export const ROGUE_RID = 0x3c00;

export interface IrRig {
  m: Machine;
  /** the probed NIC's device model */
  hw: TestNic;
  /** the driver's state */
  priv: testnic_priv;
  /** the second NIC, bus master but without a driver (only with `rogue`) */
  rogue: TestNic | null;
  /** the remapping unit (hardware) */
  unit: VtdUnit;
  /** its driver state (drivers/iommu/intel) */
  iommu: intel_iommu;
}

export async function irRig(
  opts: { machine?: MachineOptions; nic?: Partial<TestNicOptions>; probe?: testnic_probe_options; rogue?: boolean } = {},
): Promise<IrRig> {
  const devices: { type: "testnic"; bdf: string; vectors: number }[] = [{ type: "testnic", bdf: NIC_BDF, vectors: 8, ...(opts.nic ?? {}) }];
  if (opts.rogue) devices.push({ type: "testnic", bdf: ROGUE_BDF, vectors: 1 });
  const m = await createMachine({ cpus: 4, ...(opts.machine ?? {}), pci: { devices } });
  const priv = await m.run(async () => {
    const r = await testnic_probe(pci_get_device_by_name(NIC_BDF)!, opts.probe ?? {});
    if (typeof r === "number") throw new Error(`testnic_probe failed: ${r}`);
    if (opts.rogue) {
      const pdev = pci_get_device_by_name(ROGUE_BDF)!;
      expect(pci_enable_device(pdev)).to.equal(0);
      pci_set_master(pdev);
    }
    return r;
  });
  const unit = m.iommu;
  if (!unit) throw new Error("the machine has no remapping unit");
  const iommu = m.enter(() => dmar_iommus()[0]!);
  return { m, hw: m.pci.device<TestNic>(NIC_BDF), priv, rogue: opts.rogue ? m.pci.device<TestNic>(ROGUE_BDF) : null, unit, iommu };
}

/** The outermost irq_data of `irq` (the IR-PCI-MSIX level). */
export function irqd(m: Machine, irq: number): irq_data {
  return m.enter(() => irq_get_irq_data(irq)!);
}

/** The IRTE index of a remapped interrupt. */
export function irteIndex(m: Machine, irq: number): number {
  const r = m.enter(() => intel_ir_irte_of(irq_get_irq_data(irq)!));
  if (!r) throw new Error(`irq ${irq} is not remapped`);
  return r.index;
}

/** The (CPU, vector) the vector domain assigned to `irq`. */
export function target(m: Machine, irq: number): { cpu: number; vector: number } {
  const cfg = m.enter(() => irqd_cfg(irq_get_irq_data(irq)!)!);
  return { cpu: cfg.dest_apicid, vector: cfg.vector };
}

/** The text of the tracepoint records `system:event` since trace index `from`, as "event: text". */
export function tracepoints(m: Machine, system: string, event: string, from = 0): string[] {
  const out: string[] = [];
  for (const r of m.trace().slice(from)) if (r.kind === "tp" && r.system === system && r.event === event) out.push(`${event}: ${r.text}`);
  return out;
}

/** The records of one kind, typed. */
export function ofKind<K extends TraceKind>(recs: readonly TraceRecord[], kind: K): Extract<TraceRecord, { kind: K }>[] {
  return recs.filter((r): r is Extract<TraceRecord, { kind: K }> => r.kind === kind);
}
