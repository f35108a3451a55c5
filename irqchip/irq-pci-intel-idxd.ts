// SPDX-License-Identifier: GPL-2.0-only
// drivers/irqchip/irq-pci-intel-idxd.c of "[patch V3 33/33] irqchip: Add
// IDXD Interrupt Message Store driver" (Thomas Gleixner, 25 Nov 2022; never
// merged): the IMS chip of the PCI/IMS API merged in v6.2 (hardware.md 1.3).
//
// Same slot layout as the 2020 array, but ctrl bit 0 is a MASK bit (MSI-X's
// sense) and ctrl carries the PASID (enable bit 3, PASID in 31:12). ctrl is
// never read: mask writes cookie | MASKBIT, unmask writes cookie, where the
// cookie is the PASID the driver handed to pci_ims_alloc_irq(), turned into
// its ctrl bits by prepare_desc. Each ctrl write is flushed by reading the
// same register back, so the device has seen it when the callback returns.
//
// pci_intel_idxd_create_ims_domain(), which hands the template to
// pci_create_ims_domain(), lives in drivers/dma/idxd/ims.ts: irqchip/ may not
// import the PCI core (DESIGN.md section 3).

import { ioread32, iowrite32, type iomem } from "../lib/kernel/io.ts";
import { IRQCHIP_ONESHOT_SAFE, irq_data_get_msi_desc, type irq_data } from "../lib/irq/irq.ts";
import { DOMAIN_BUS_PCI_DEVICE_IMS, type irq_domain } from "../lib/irq/irqdomain.ts";
import {
  MSI_FLAG_ALLOC_SIMPLE_MSI_DESCS,
  MSI_FLAG_FREE_MSI_DESCS,
  MSI_FLAG_PCI_IMS,
  type msi_alloc_info_t,
  type msi_domain_info,
  type msi_domain_template,
  type msi_instance_cookie,
} from "../lib/irq/msi.ts";
import type { msi_desc, msi_msg } from "../lib/irq/msi_types.ts";

/* struct ims_slot (__packed) */
const IMS_SLOT_ADDRESS_LO = 0x0;
const IMS_SLOT_ADDRESS_HI = 0x4;
const IMS_SLOT_DATA = 0x8;
const IMS_SLOT_CTRL = 0xc;
export const IDXD_IMS_SLOT_SIZE = 16;

/** Bit to mask the interrupt in the control word */
export const CTRL_VECTOR_MASKBIT = 1 << 0;
/** Bit to enable PASID in the control word */
export const CTRL_PASID_ENABLE = 1 << 3;
/** Position of PASID.LSB in the control word */
export const CTRL_PASID_SHIFT = 12;

/**
 * include/linux/irqchip/irq-pci-intel-idxd.h: INTEL_IDXD_DEV_COOKIE(pasid),
 * the instance cookie for pci_ims_alloc_irq()
 */
export function INTEL_IDXD_DEV_COOKIE(pasid: number): msi_instance_cookie {
  return { value: BigInt(pasid) };
}

// drivers/irqchip/irq-pci-intel-idxd.c: iowrite32_and_flush()
function iowrite32_and_flush(value: number, addr: iomem): void {
  iowrite32(value, addr);
  ioread32(addr);
}

function idxd_slot(desc: msi_desc): iomem {
  return desc.data.dcookie.iobase;
}

function idxd_cval(desc: msi_desc): number {
  // u32 cval = (u32)desc->data.icookie.value
  return Number(BigInt.asUintN(32, desc.data.icookie.value));
}

// drivers/irqchip/irq-pci-intel-idxd.c: idxd_mask(); desc->lock held, interrupts off
export function idxd_mask(data: irq_data): void {
  const desc = irq_data_get_msi_desc(data)!;
  iowrite32_and_flush((idxd_cval(desc) | CTRL_VECTOR_MASKBIT) >>> 0, idxd_slot(desc) + IMS_SLOT_CTRL);
}

// drivers/irqchip/irq-pci-intel-idxd.c: idxd_unmask(); desc->lock held, interrupts off
export function idxd_unmask(data: irq_data): void {
  const desc = irq_data_get_msi_desc(data)!;
  iowrite32_and_flush(idxd_cval(desc), idxd_slot(desc) + IMS_SLOT_CTRL);
}

// drivers/irqchip/irq-pci-intel-idxd.c: idxd_write_msi_msg()
export function idxd_write_msi_msg(data: irq_data, msg: msi_msg): void {
  const desc = irq_data_get_msi_desc(data)!;
  const slot = idxd_slot(desc);
  iowrite32(msg.address_lo, slot + IMS_SLOT_ADDRESS_LO);
  iowrite32(msg.address_hi, slot + IMS_SLOT_ADDRESS_HI);
  iowrite32_and_flush(msg.data, slot + IMS_SLOT_DATA);
}

// drivers/irqchip/irq-pci-intel-idxd.c: idxd_shutdown(); the PASID bits go with the message
export function idxd_shutdown(data: irq_data): void {
  const desc = irq_data_get_msi_desc(data)!;
  const slot = idxd_slot(desc);
  iowrite32(0, slot + IMS_SLOT_ADDRESS_LO);
  iowrite32(0, slot + IMS_SLOT_ADDRESS_HI);
  iowrite32(0, slot + IMS_SLOT_DATA);
  iowrite32_and_flush(CTRL_VECTOR_MASKBIT, slot + IMS_SLOT_CTRL);
}

// drivers/irqchip/irq-pci-intel-idxd.c: idxd_prepare_desc(); descriptor lock held
function idxd_prepare_desc(domain: irq_domain, arg: msi_alloc_info_t, desc: msi_desc): void {
  const info = domain.host_data as msi_domain_info;
  // Set up the slot address for the irq_chip callbacks
  const slot = (info.data as iomem) + desc.msi_index * IDXD_IMS_SLOT_SIZE;
  desc.data.dcookie.iobase = slot;
  // Mask the interrupt for paranoia sake
  iowrite32_and_flush(CTRL_VECTOR_MASKBIT, slot + IMS_SLOT_CTRL);
  // The caller provided PASID. Shift it to the proper position and set the PASID enable bit.
  desc.data.icookie.value <<= BigInt(CTRL_PASID_SHIFT);
  desc.data.icookie.value |= BigInt(CTRL_PASID_ENABLE);
  arg.hwirq = desc.msi_index;
}

/** static const struct msi_domain_template idxd_ims_template */
export const idxd_ims_template: msi_domain_template = {
  chip: {
    name: "PCI-IDXD",
    irq_mask: idxd_mask,
    irq_unmask: idxd_unmask,
    irq_write_msi_msg: idxd_write_msi_msg,
    irq_shutdown: idxd_shutdown,
    flags: IRQCHIP_ONESHOT_SAFE,
  },
  ops: {
    prepare_desc: idxd_prepare_desc,
  },
  info: {
    flags: MSI_FLAG_ALLOC_SIMPLE_MSI_DESCS | MSI_FLAG_FREE_MSI_DESCS | MSI_FLAG_PCI_IMS,
    bus_token: DOMAIN_BUS_PCI_DEVICE_IMS,
    handler: null,
    handler_data: null,
    handler_name: null,
  },
};
