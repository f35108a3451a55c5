// SPDX-License-Identifier: GPL-2.0-only
// The creation helpers of the two IMS chips, which Linux keeps next to the
// chips in drivers/irqchip/; they call the PCI core, which irqchip/ may not
// import in irqlab (DESIGN.md section 3), so they live with their user.

import type { iomem } from "../../../lib/kernel/io.ts";
import { pci_create_ims_domain } from "../../pci/msi/irqdomain.ts";
import type { pci_dev } from "../../pci/pci.ts";
import { idxd_ims_template } from "../../../irqchip/irq-pci-intel-idxd.ts";
import { ims_array_template, type ims_array_info } from "../../../irqchip/irq-ims-msi.ts";

// drivers/irqchip/irq-pci-intel-idxd.c: pci_intel_idxd_create_ims_domain()
export function pci_intel_idxd_create_ims_domain(pdev: pci_dev, slots: iomem, nr_slots: number): Promise<boolean> {
  return pci_create_ims_domain(pdev, idxd_ims_template, nr_slots, slots);
}

// drivers/irqchip/irq-ims-msi.c: pci_ims_array_create_msi_irq_domain() (2021
// name of the RFC's pci_ims_create_msi_irq_domain()), on the v6.2 API: the
// template goes to pci_create_ims_domain() with hwsize = max_slots
export function pci_ims_array_create_msi_irq_domain(pdev: pci_dev, ims_info: ims_array_info): Promise<boolean> {
  return pci_create_ims_domain(pdev, ims_array_template, ims_info.max_slots, { slots: ims_info.slots, max_slots: ims_info.max_slots });
}
