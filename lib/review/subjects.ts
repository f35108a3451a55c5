// SPDX-License-Identifier: GPL-2.0-only
// The chips irqlab ships, as conformance subjects (conformance.ts): each
// factory boots a machine with a device, probes it far enough that the
// chip's interrupts are allocated, and hands the suite a back door to raise
// them. Adding a chip is one entry in shippedSubjects().

import { createMachine, type MachineOptions } from "../machine.ts";
import type { TestNic } from "../hw/devices/testnic.ts";
import { pci_alloc_irq_vectors, pci_free_irq_vectors, pci_irq_vector, PCI_IRQ_MSIX } from "../../drivers/pci/msi/msi.ts";
import { pci_disable_device, pci_enable_device, pci_get_device_by_name, pci_set_master } from "../../drivers/pci/pci.ts";
import type { ChipRig, ChipSubject } from "./conformance_types.ts";
import type { ImsDevice } from "../hw/devices/ims.ts";
import { IMSDEV_IMS_OFFSET } from "../hw/devices/ims.ts";
import type { Mlx5Nic } from "../hw/devices/mlx5/mlx5.ts";
import type { msi_domain_template, msi_map } from "../irq/msi.ts";
import { pci_ims_alloc_irq, pci_ims_free_irq } from "../../drivers/pci/msi/msi.ts";
import { pci_iomap } from "../../drivers/pci/pci.ts";
import { pci_intel_idxd_create_ims_domain, pci_ims_array_create_msi_irq_domain } from "../../drivers/dma/idxd/ims.ts";
import { INTEL_IDXD_DEV_COOKIE } from "../../irqchip/irq-pci-intel-idxd.ts";
import { mlx5_probe } from "../../drivers/net/mlx5/core/main.ts";
import { mlx5_irqlab_ims_irqs } from "../../drivers/net/mlx5/core/ims_irq.ts";

export const IMS_BDF = "0000:6a:01.0";
export const MLX5_BDF = "0000:3b:00.0";

/** Machine options for an IMS chip without remapping (the vector domain parents IMS only when told). */
function imsMachine(ir: boolean, machine: MachineOptions): MachineOptions {
  return { cpus: 4, ...machine, iommu: { interruptRemapping: ir }, ...(ir ? {} : { ims: { onVectorDomain: true } }) };
}

/** An IMS array chip (the 2020 RFC's or the 2022 IDXD one) on the idxd-like device, `nvec` slots allocated. */
export function imsArrayRig(chip: "rfc2020" | "idxd", ir: boolean, nvec = 2, machine: MachineOptions = {}): () => Promise<ChipRig> {
  return async () => {
    const m = await createMachine({ ...imsMachine(ir, machine), pci: { devices: [{ type: "ims", bdf: IMS_BDF, polarity: chip }] } });
    const hw = m.pci.device<ImsDevice>(IMS_BDF);
    const pdev = pci_get_device_by_name(IMS_BDF)!;
    const maps = await m.run(async () => {
      if (pci_enable_device(pdev)) throw new Error("pci_enable_device failed");
      pci_set_master(pdev);
      const slots = pci_iomap(pdev, 0, 0) + IMSDEV_IMS_OFFSET;
      const ok = chip === "idxd" ? await pci_intel_idxd_create_ims_domain(pdev, slots, 8) : await pci_ims_array_create_msi_irq_domain(pdev, { slots, max_slots: 8 });
      if (!ok) throw new Error("no IMS domain");
      const out: msi_map[] = [];
      for (let i = 0; i < nvec; i++) {
        const map = await pci_ims_alloc_irq(pdev, INTEL_IDXD_DEV_COOKIE(0x5a), null);
        if (map.virq <= 0) throw new Error(`pci_ims_alloc_irq: ${map.index}`);
        out.push(map);
      }
      return out;
    });
    return {
      m,
      irqs: maps.map((x) => x.virq),
      raise: (k) => void hw.raise(maps[k]!.index),
      message: (k) => {
        const e = hw.slot(maps[k]!.index);
        return { address_lo: e.addrLo, address_hi: e.addrHi, data: e.data };
      },
      free: async () => {
        for (const map of maps) await pci_ims_free_irq(pdev, map);
      },
    };
  };
}

/**
 * The queue-backed mlx5 IMS chip (irqchip/irq-mlx5-ims.ts, reference design,
 * or the variant `template`) on the mlx5-like NIC: mlx5_core probed with IMS completion vectors, `nvec`
 * IMS interrupts allocated beside them; the device signals an entry through
 * its store.
 */
export function mlx5ImsRig(ir: boolean, nvec = 2, machine: MachineOptions = {}, template?: msi_domain_template): () => Promise<ChipRig> {
  return async () => {
    const m = await createMachine({ ...imsMachine(ir, machine), pci: { devices: [{ type: "mlx5", bdf: MLX5_BDF, timeouts: { scale: 100 } }] } });
    const hw = m.pci.device<Mlx5Nic>(MLX5_BDF);
    const pdev = pci_get_device_by_name(MLX5_BDF)!;
    const maps = await m.run(async () => {
      mlx5_irqlab_ims_irqs(pdev, { comp_vectors: 2, ...(template ? { template } : {}) });
      const dev = await mlx5_probe(pdev);
      if (typeof dev === "number") throw new Error(`mlx5_probe failed: ${dev}`);
      const out: msi_map[] = [];
      for (let i = 0; i < nvec; i++) {
        const map = await pci_ims_alloc_irq(pdev, null, null);
        if (map.virq <= 0) throw new Error(`pci_ims_alloc_irq: ${map.index}`);
        out.push(map);
      }
      return out;
    });
    return {
      m,
      irqs: maps.map((x) => x.virq),
      raise: (k) => hw.ims.signal(maps[k]!.index),
      message: (k) => {
        const e = hw.ims.ramEntry(maps[k]!.index)!;
        return { address_lo: e.addrLo, address_hi: e.addrHi, data: e.data };
      },
      free: async () => {
        for (const map of maps) await pci_ims_free_irq(pdev, map);
      },
    };
  };
}

export const TESTNIC_BDF = "0000:3b:00.0";

/** PCI-MSIX on the test NIC, `nvec` vectors, with or without interrupt remapping. */
export function testnicMsixRig(ir: boolean, nvec = 2, machine: MachineOptions = {}): () => Promise<ChipRig> {
  return async () => {
    const m = await createMachine({
      cpus: 4,
      ...machine,
      iommu: { interruptRemapping: ir },
      pci: { devices: [{ type: "testnic", bdf: TESTNIC_BDF, vectors: nvec }] },
    });
    const hw = m.pci.device<TestNic>(TESTNIC_BDF);
    const pdev = pci_get_device_by_name(TESTNIC_BDF)!;
    const irqs = await m.run(async () => {
      if (pci_enable_device(pdev)) throw new Error("pci_enable_device failed");
      pci_set_master(pdev);
      const n = await pci_alloc_irq_vectors(pdev, nvec, nvec, PCI_IRQ_MSIX);
      if (n !== nvec) throw new Error(`pci_alloc_irq_vectors returned ${n}`);
      return Array.from({ length: n }, (_, i) => pci_irq_vector(pdev, i));
    });
    return {
      m,
      irqs,
      raise: (k) => void hw.raise(k),
      message: (k) => {
        const e = hw.msix.entry(k);
        return { address_lo: e.addrLo, address_hi: e.addrHi, data: e.data };
      },
      free: async () => {
        await pci_free_irq_vectors(pdev);
        pci_disable_device(pdev);
      },
    };
  };
}

/** Every chip irqlab ships, as a conformance subject. */
export function shippedSubjects(): ChipSubject[] {
  return [
    { name: "PCI-MSIX (test NIC, x86 vector domain)", factory: testnicMsixRig(false) },
    { name: "IR-PCI-MSIX (test NIC, Intel interrupt remapping)", factory: testnicMsixRig(true) },
    // the RFC's ims_mask_irq() ends in a posted write that nothing reads back
    // (docs/ims.md): the mask reaches the slot one posting latency later
    { name: "IMS (2020 RFC array chip, idxd-like device, x86 vector domain)", factory: imsArrayRig("rfc2020", false), options: { mask: { deferredNs: 1000 } } },
    { name: "IR-IMS (2020 RFC array chip, idxd-like device, Intel interrupt remapping)", factory: imsArrayRig("rfc2020", true), options: { mask: { deferredNs: 1000 } } },
    { name: "PCI-IDXD (2022 IDXD IMS chip, x86 vector domain)", factory: imsArrayRig("idxd", false) },
    { name: "IR-PCI-IDXD (2022 IDXD IMS chip, Intel interrupt remapping)", factory: imsArrayRig("idxd", true) },
    // irq_mask() only edits the shadow: the chip relies on genirq's lazy disable (Gleixner's point 3)
    { name: "MLX5-IMS (queue-backed mlx5 IMS, x86 vector domain)", factory: mlx5ImsRig(false), options: { mask: "lazy" } },
    { name: "IR-MLX5-IMS (queue-backed mlx5 IMS, Intel interrupt remapping)", factory: mlx5ImsRig(true), options: { mask: "lazy" } },
  ];
}
