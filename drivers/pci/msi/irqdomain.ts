// SPDX-License-Identifier: GPL-2.0-only
// drivers/pci/msi/irqdomain.c (v6.2..v6.9): the per-device PCI/MSI-X domain
// template and the PCI/IMS domain (C56).

import type { irq_data } from "../../../lib/irq/irq.ts";
import { irq_data_get_msi_desc } from "../../../lib/irq/irq.ts";
import { IRQCHIP_ONESHOT_SAFE } from "../../../lib/irq/irq.ts";
import {
  DOMAIN_BUS_PCI_DEVICE_IMS,
  DOMAIN_BUS_PCI_DEVICE_MSI,
  DOMAIN_BUS_PCI_DEVICE_MSIX,
  IRQ_DOMAIN_FLAG_MSI_PARENT,
  type irq_domain,
} from "../../../lib/irq/irqdomain.ts";
import {
  msi_create_device_irq_domain,
  msi_match_device_irq_domain,
  msi_remove_device_irq_domain,
  MSI_DEFAULT_DOMAIN,
  MSI_FLAG_ACTIVATE_EARLY,
  MSI_FLAG_ALLOC_SIMPLE_MSI_DESCS,
  MSI_FLAG_DEV_SYSFS,
  MSI_FLAG_FREE_MSI_DESCS,
  MSI_FLAG_MUST_REACTIVATE,
  MSI_FLAG_PCI_MSIX,
  MSI_FLAG_PCI_MSIX_ALLOC_DYN,
  MSI_SECONDARY_DOMAIN,
  type msi_alloc_info_t,
  type msi_domain_template,
} from "../../../lib/irq/msi.ts";
import type { msi_desc, msi_msg } from "../../../lib/irq/msi_types.ts";
import { WARN_ON_ONCE } from "../../../lib/kernel/bug.ts";
import type { pci_dev } from "../pci.ts";
import { __pci_write_msi_msg, msix_prepare_msi_desc, pci_msi_domain_supports, pci_msix_mask, pci_msix_unmask } from "./msi.ts";

/** MSI_COMMON_FLAGS, with MSI_REACTIVATE = MUST_REACTIVATE (x86 reservation mode) */
export const MSI_COMMON_FLAGS = MSI_FLAG_FREE_MSI_DESCS | MSI_FLAG_ACTIVATE_EARLY | MSI_FLAG_DEV_SYSFS | MSI_FLAG_MUST_REACTIVATE;

// drivers/pci/msi/irqdomain.c: pci_msi_domain_write_msg()
export function pci_msi_domain_write_msg(irq_data: irq_data, msg: msi_msg): void {
  const desc = irq_data_get_msi_desc(irq_data)!;
  // For MSI-X desc->irq is always equal to irq_data->irq. For MSI only the
  // first interrupt of MULTI MSI passes the test.
  if (desc.irq === irq_data.irq) __pci_write_msi_msg(desc, msg);
}

// drivers/pci/msi/irqdomain.c: pci_irq_mask_msix()
function pci_irq_mask_msix(data: irq_data): void {
  pci_msix_mask(irq_data_get_msi_desc(data)!);
}

// drivers/pci/msi/irqdomain.c: pci_irq_unmask_msix()
function pci_irq_unmask_msix(data: irq_data): void {
  pci_msix_unmask(irq_data_get_msi_desc(data)!);
}

// drivers/pci/msi/irqdomain.c: pci_msix_prepare_desc()
function pci_msix_prepare_desc(_domain: irq_domain, _arg: msi_alloc_info_t, desc: msi_desc): void {
  // Don't fiddle with preallocated MSI descriptors
  if (!desc.pci.mask_base) msix_prepare_msi_desc(desc.dev as pci_dev, desc);
}

// drivers/pci/msi/irqdomain.c: pci_device_domain_set_desc()
function pci_device_domain_set_desc(arg: msi_alloc_info_t, desc: msi_desc): void {
  arg.desc = desc;
  arg.hwirq = desc.msi_index;
}

/** static const struct msi_domain_template pci_msix_template */
export const pci_msix_template: msi_domain_template = {
  chip: {
    name: "PCI-MSIX",
    irq_mask: pci_irq_mask_msix,
    irq_unmask: pci_irq_unmask_msix,
    irq_write_msi_msg: pci_msi_domain_write_msg,
    flags: IRQCHIP_ONESHOT_SAFE,
  },
  ops: {
    prepare_desc: pci_msix_prepare_desc,
    set_desc: pci_device_domain_set_desc,
  },
  info: {
    flags: MSI_COMMON_FLAGS | MSI_FLAG_PCI_MSIX | MSI_FLAG_PCI_MSIX_ALLOC_DYN,
    bus_token: DOMAIN_BUS_PCI_DEVICE_MSIX,
    handler: null,
    handler_data: null,
    handler_name: null,
  },
};

// drivers/pci/msi/irqdomain.c: pci_match_device_domain()
function pci_match_device_domain(pdev: pci_dev, bus_token: number): Promise<boolean> {
  return msi_match_device_irq_domain(pdev, MSI_DEFAULT_DOMAIN, bus_token);
}

// drivers/pci/msi/irqdomain.c: pci_create_device_domain()
async function pci_create_device_domain(pdev: pci_dev, tmpl: msi_domain_template, hwsize: number): Promise<boolean> {
  const domain = pdev.msi.domain as irq_domain | null;
  if (!domain || !(domain.flags & IRQ_DOMAIN_FLAG_MSI_PARENT)) return true;
  return msi_create_device_irq_domain(pdev, MSI_DEFAULT_DOMAIN, tmpl, hwsize, null, null);
}

// drivers/pci/msi/irqdomain.c: pci_setup_msix_device_domain()
export async function pci_setup_msix_device_domain(pdev: pci_dev, hwsize: number): Promise<boolean> {
  if (WARN_ON_ONCE(pdev.msi_enabled, { fn: "pci_setup_msix_device_domain" })) return false;
  // Keep the MSIX domain if it exists
  if (await pci_match_device_domain(pdev, DOMAIN_BUS_PCI_DEVICE_MSIX)) return true;
  // Remove a MSI domain if it exists
  if (await pci_match_device_domain(pdev, DOMAIN_BUS_PCI_DEVICE_MSI)) await msi_remove_device_irq_domain(pdev, MSI_DEFAULT_DOMAIN);
  return pci_create_device_domain(pdev, pci_msix_template, hwsize);
}

// drivers/pci/msi/irqdomain.c: pci_msix_can_alloc_dyn(): asks the MSI parent
// (or a global domain), so it holds before the device domain exists
export function pci_msix_can_alloc_dyn(pdev: pci_dev): boolean {
  return pci_msi_domain_supports(pdev, MSI_FLAG_PCI_MSIX_ALLOC_DYN, false);
}

// drivers/pci/msi/irqdomain.c: pci_create_ims_domain() (v6.2..v6.9, C56)
export async function pci_create_ims_domain(pdev: pci_dev, template: msi_domain_template, hwsize: number, data: unknown): Promise<boolean> {
  const domain = pdev.msi.domain as irq_domain | null;
  if (!domain || !(domain.flags & IRQ_DOMAIN_FLAG_MSI_PARENT)) return false;
  if (
    template.info.bus_token !== DOMAIN_BUS_PCI_DEVICE_IMS ||
    !(template.info.flags & MSI_FLAG_ALLOC_SIMPLE_MSI_DESCS) ||
    !(template.info.flags & MSI_FLAG_FREE_MSI_DESCS) ||
    !template.chip.irq_mask ||
    !template.chip.irq_unmask ||
    !template.chip.irq_write_msi_msg ||
    template.chip.irq_set_affinity
  ) {
    return false;
  }
  return msi_create_device_irq_domain(pdev, MSI_SECONDARY_DOMAIN, template, hwsize, data, null);
}
