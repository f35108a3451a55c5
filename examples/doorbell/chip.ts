// SPDX-License-Identifier: GPL-2.0-only
// The irqchip and driver of the example doorbell controller (device.ts):
// a per-device IMS domain (v6.2..v6.9 pci_create_ims_domain()) whose chip
// masks, unmasks and programs one slot of the device, on top of the
// interrupt-remapping MSI parent. This is the part a kernel developer
// prototypes; it translates to C line by line.
//
// `doorbell_template(bugs)` builds the chip; `bugs` switches in deliberate
// mistakes so the conformance suite can be shown catching them.

import { IRQCHIP_ONESHOT_SAFE, irq_data_get_msi_desc, type irq_data } from "../../lib/irq/irq.ts";
import { DOMAIN_BUS_PCI_DEVICE_IMS, type irq_domain } from "../../lib/irq/irqdomain.ts";
import { MSI_FLAG_ALLOC_SIMPLE_MSI_DESCS, MSI_FLAG_FREE_MSI_DESCS, type msi_alloc_info_t, type msi_domain_info, type msi_domain_template, type msi_map } from "../../lib/irq/msi.ts";
import type { msi_desc, msi_msg } from "../../lib/irq/msi_types.ts";
import { ENODEV } from "../../lib/kernel/errno.ts";
import { readl, writel, type iomem } from "../../lib/kernel/io.ts";
import { dev_err } from "../../lib/kernel/printk.ts";
import { pci_create_ims_domain } from "../../drivers/pci/msi/irqdomain.ts";
import { pci_ims_alloc_irq, pci_ims_free_irq } from "../../drivers/pci/msi/msi.ts";
import { pci_disable_device, pci_enable_device, pci_iomap, pci_set_master, type pci_dev } from "../../drivers/pci/pci.ts";
import {
  DOORBELL_CTRL_MASK,
  DOORBELL_CTRL_PENDING,
  DOORBELL_REG_RESEND,
  DOORBELL_SLOT_ADDR_HI,
  DOORBELL_SLOT_ADDR_LO,
  DOORBELL_SLOT_CTRL,
  DOORBELL_SLOT_DATA,
  DOORBELL_SLOT_SIZE,
} from "./device.ts";

/** Deliberate bugs of the example chip (all off: the correct chip). */
export interface DoorbellBugs {
  /** irq_unmask clears the mask bit but does not resend a pending interrupt. */
  unmaskForgetsResend?: boolean;
  /** irq_mask posts the mask write without reading back, so it is not in effect on return. */
  maskNotFlushed?: boolean;
}

interface doorbell_domain_data {
  base: iomem;
}

function slot_of(d: irq_data): iomem {
  return irq_data_get_msi_desc(d)!.data.dcookie.iobase;
}

/** The chip of one doorbell controller, with the given bugs. */
export function doorbell_template(bugs: DoorbellBugs = {}): msi_domain_template {
  // desc->lock held, interrupts off: must not sleep, must be in effect on return
  const doorbell_irq_mask = (d: irq_data): void => {
    const slot = slot_of(d);
    writel(DOORBELL_CTRL_MASK, slot + DOORBELL_SLOT_CTRL);
    // the read pushes the posted write to the device before we return
    if (!bugs.maskNotFlushed) readl(slot + DOORBELL_SLOT_CTRL);
  };

  // desc->lock held, interrupts off. The device keeps a raise that came in
  // while masked as PENDING and does not send it on unmask: resend it here.
  const doorbell_irq_unmask = (d: irq_data): void => {
    const slot = slot_of(d);
    writel(0, slot + DOORBELL_SLOT_CTRL);
    if (bugs.unmaskForgetsResend) return;
    const base = (d.domain!.host_data as msi_domain_info).data as doorbell_domain_data;
    if (readl(slot + DOORBELL_SLOT_CTRL) & DOORBELL_CTRL_PENDING) writel(d.hwirq, base.base + DOORBELL_REG_RESEND);
  };

  // called at activation with the slot masked (reset state) and on affinity
  // changes the parent cannot absorb
  const doorbell_irq_write_msi_msg = (d: irq_data, msg: msi_msg): void => {
    const slot = slot_of(d);
    writel(msg.address_lo, slot + DOORBELL_SLOT_ADDR_LO);
    writel(msg.address_hi, slot + DOORBELL_SLOT_ADDR_HI);
    writel(msg.data, slot + DOORBELL_SLOT_DATA);
  };

  // the descriptor remembers its slot, as ims_array_prepare_desc() does
  const doorbell_prepare_desc = (domain: irq_domain, _arg: msi_alloc_info_t, desc: msi_desc): void => {
    const dd = (domain.host_data as msi_domain_info).data as doorbell_domain_data;
    desc.data.dcookie.iobase = dd.base + desc.msi_index * DOORBELL_SLOT_SIZE;
  };

  // the slot index is the hwirq of the device domain, as pci_device_domain_set_desc() does for MSI-X
  const doorbell_set_desc = (arg: msi_alloc_info_t, desc: msi_desc): void => {
    arg.desc = desc;
    arg.hwirq = desc.msi_index;
  };

  return {
    chip: {
      name: "DOORBELL",
      irq_mask: doorbell_irq_mask,
      irq_unmask: doorbell_irq_unmask,
      irq_write_msi_msg: doorbell_irq_write_msi_msg,
      flags: IRQCHIP_ONESHOT_SAFE,
    },
    ops: { prepare_desc: doorbell_prepare_desc, set_desc: doorbell_set_desc },
    info: {
      flags: MSI_FLAG_ALLOC_SIMPLE_MSI_DESCS | MSI_FLAG_FREE_MSI_DESCS,
      bus_token: DOMAIN_BUS_PCI_DEVICE_IMS,
      handler: null,
      handler_data: null,
      handler_name: null,
    },
  };
}

/** The driver's state. */
export interface doorbell_priv {
  pdev: pci_dev;
  base: iomem;
  maps: msi_map[];
}

/** Probe: enable the function, create its IMS domain, allocate `nr` interrupts. */
export async function doorbell_probe(pdev: pci_dev, nr: number, slots: number, bugs: DoorbellBugs = {}): Promise<doorbell_priv | number> {
  let ret = pci_enable_device(pdev);
  if (ret) return ret;
  pci_set_master(pdev);
  const base = pci_iomap(pdev, 0, 0);
  const dd: doorbell_domain_data = { base };
  if (!(await pci_create_ims_domain(pdev, doorbell_template(bugs), slots, dd))) {
    dev_err(pdev, "failed to create the IMS domain\n");
    pci_disable_device(pdev);
    return -ENODEV;
  }
  const priv: doorbell_priv = { pdev, base, maps: [] };
  for (let i = 0; i < nr; i++) {
    const map = await pci_ims_alloc_irq(pdev, null, null);
    if (map.index < 0) {
      ret = map.index;
      dev_err(pdev, "failed to allocate IMS interrupt %d: %d\n", i, ret);
      await doorbell_remove(priv);
      return ret;
    }
    priv.maps.push(map);
  }
  return priv;
}

/** Remove: free the interrupts (the caller freed their handlers) and disable the function. */
export async function doorbell_remove(priv: doorbell_priv): Promise<void> {
  for (const map of priv.maps) await pci_ims_free_irq(priv.pdev, map);
  priv.maps = [];
  pci_disable_device(priv.pdev);
}
