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
  ];
}
