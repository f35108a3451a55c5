// SPDX-License-Identifier: GPL-2.0-only
// drivers/irqchip/irq-ims-msi.c of "[patch RFC 38/38] irqchip: Add IMS
// array driver - NOT FOR MERGING" (Thomas Gleixner, 21 Aug 2020), carried
// over to the PCI/IMS API that was merged in v6.2 (hardware.md 1.1, 1.2).
//
// The chip: a slot of four u32 in device memory {address_lo, address_hi,
// data, ctrl}; ctrl bit 0 set means *unmasked* (IMS_VECTOR_CTRL_UNMASK, the
// opposite of MSI-X). Mask and unmask are a read-modify-write of ctrl
// (ioread32, then iowrite32 with the bit changed): whatever else lives in
// ctrl is written back as it was read, so a change the device or another
// agent makes between the read and the write is undone. The message is
// written as three MMIO writes, without masking around them and without a
// read back. No compose callback: the message comes from the parent.
//
// The RFC's domain had ops of its own (msi_alloc_store / msi_free_store: a
// per-domain slot bitmap), which v6.2 has no place for: the core owns the
// index space of a device domain. Here the slot index is desc->msi_index,
// prepare_desc points the descriptor at its slot (the RFC's alloc store),
// and msi_free resets the slot when the interrupt is freed (the RFC's free
// store). Both are irqlab's adaptation, named ims_array_* after the 2021
// IMS_MSI_ARRAY rework.
//
// pci_ims_array_create_msi_irq_domain(), which hands the template to
// pci_create_ims_domain(), lives in drivers/dma/idxd/ims.ts: irqchip/ may not
// import the PCI core (DESIGN.md section 3).

import { ioread32, iowrite32, type iomem } from "../lib/kernel/io.ts";
import { IRQCHIP_SKIP_SET_WAKE, irq_data_get_msi_desc, type irq_chip, type irq_data } from "../lib/irq/irq.ts";
import { irq_chip_retrigger_hierarchy, irq_get_msi_desc } from "../lib/irq/chip.ts";
import { handle_edge_irq } from "../lib/irq/flow.ts";
import { DOMAIN_BUS_PCI_DEVICE_IMS, type irq_domain } from "../lib/irq/irqdomain.ts";
import {
  MSI_FLAG_ALLOC_SIMPLE_MSI_DESCS,
  MSI_FLAG_FREE_MSI_DESCS,
  MSI_FLAG_USE_DEF_CHIP_OPS,
  MSI_FLAG_USE_DEF_DOM_OPS,
  type msi_alloc_info_t,
  type msi_domain_info,
  type msi_domain_template,
} from "../lib/irq/msi.ts";
import type { msi_desc, msi_msg } from "../lib/irq/msi_types.ts";

/* include/linux/irqchip/irq-ims-msi.h: struct ims_array_slot */
export const IMS_SLOT_ADDRESS_LO = 0x0;
export const IMS_SLOT_ADDRESS_HI = 0x4;
export const IMS_SLOT_DATA = 0x8;
export const IMS_SLOT_CTRL = 0xc;
export const IMS_ARRAY_SLOT_SIZE = 16;

/** Bit to unmask the interrupt in slot->ctrl */
export const IMS_VECTOR_CTRL_UNMASK = 0x01;

/** struct ims_array_info: the mapped slot array and its size */
export interface ims_array_info {
  slots: iomem;
  max_slots: number;
}

function ims_slot(desc: msi_desc): iomem {
  return desc.data.dcookie.iobase;
}

// drivers/irqchip/irq-ims-msi.c: ims_mask_irq(); desc->lock held, interrupts off
export function ims_mask_irq(data: irq_data): void {
  const desc = irq_data_get_msi_desc(data)!;
  const ctrl = ims_slot(desc) + IMS_SLOT_CTRL;
  iowrite32(ioread32(ctrl) & ~IMS_VECTOR_CTRL_UNMASK, ctrl);
}

// drivers/irqchip/irq-ims-msi.c: ims_unmask_irq(); desc->lock held, interrupts off
export function ims_unmask_irq(data: irq_data): void {
  const desc = irq_data_get_msi_desc(data)!;
  const ctrl = ims_slot(desc) + IMS_SLOT_CTRL;
  iowrite32(ioread32(ctrl) | IMS_VECTOR_CTRL_UNMASK, ctrl);
}

// drivers/irqchip/irq-ims-msi.c: ims_write_msi_msg(); three posted writes, no flush
export function ims_write_msi_msg(data: irq_data, msg: msi_msg): void {
  const desc = irq_data_get_msi_desc(data)!;
  const slot = ims_slot(desc);
  iowrite32(msg.address_lo, slot + IMS_SLOT_ADDRESS_LO);
  iowrite32(msg.address_hi, slot + IMS_SLOT_ADDRESS_HI);
  iowrite32(msg.data, slot + IMS_SLOT_DATA);
}

/** static const struct irq_chip ims_msi_controller */
export const ims_msi_controller: irq_chip = {
  name: "IMS",
  irq_mask: ims_mask_irq,
  irq_unmask: ims_unmask_irq,
  irq_write_msi_msg: ims_write_msi_msg,
  irq_retrigger: irq_chip_retrigger_hierarchy,
  flags: IRQCHIP_SKIP_SET_WAKE,
};

// drivers/irqchip/irq-ims-msi.c: ims_reset_slot(); ctrl 0 leaves the slot masked
export function ims_reset_slot(slot: iomem): void {
  iowrite32(0, slot + IMS_SLOT_ADDRESS_LO);
  iowrite32(0, slot + IMS_SLOT_ADDRESS_HI);
  iowrite32(0, slot + IMS_SLOT_DATA);
  iowrite32(0, slot + IMS_SLOT_CTRL);
}

// irqlab: ims_alloc_msi_store() of the RFC on the v6.2 API; the descriptor
// lock is held. The core picked desc->msi_index below hwsize = max_slots.
function ims_array_prepare_desc(domain: irq_domain, arg: msi_alloc_info_t, desc: msi_desc): void {
  const info = domain.host_data as msi_domain_info;
  const ims = info.data as ims_array_info;
  desc.data.dcookie.iobase = ims.slots + desc.msi_index * IMS_ARRAY_SLOT_SIZE;
  arg.hwirq = desc.msi_index;
}

// irqlab: ims_free_msi_store() of the RFC on the v6.2 API, per interrupt
// from msi_domain_free() (descriptor lock and irq_domain_mutex held)
function ims_array_msi_free(_domain: irq_domain, _info: msi_domain_info, virq: number): void {
  const desc = irq_get_msi_desc(virq);
  if (!desc || !desc.data.dcookie.iobase) return;
  ims_reset_slot(desc.data.dcookie.iobase);
  desc.data.dcookie.iobase = 0;
}

/**
 * The RFC's ims_domain_template as a v6.2 msi_domain_template: the RFC's
 * chip and flags (USE_DEF_DOM_OPS, USE_DEF_CHIP_OPS, handle_edge_irq) plus
 * what pci_create_ims_domain() requires (the IMS bus token, simple
 * descriptors allocated and freed by the core).
 */
export const ims_array_template: msi_domain_template = {
  chip: ims_msi_controller,
  ops: {
    prepare_desc: ims_array_prepare_desc,
    msi_free: ims_array_msi_free,
  },
  info: {
    flags: MSI_FLAG_USE_DEF_DOM_OPS | MSI_FLAG_USE_DEF_CHIP_OPS | MSI_FLAG_ALLOC_SIMPLE_MSI_DESCS | MSI_FLAG_FREE_MSI_DESCS,
    bus_token: DOMAIN_BUS_PCI_DEVICE_IMS,
    handler: handle_edge_irq,
    handler_data: null,
    handler_name: "edge",
  },
};
