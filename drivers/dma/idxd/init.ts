// SPDX-License-Identifier: GPL-2.0-only
// drivers/dma/idxd/init.c, reduced to the IMS user hardware.md 1.4 says
// mainline never had: probe reads the capabilities, creates the device's
// PCI/IMS domain over the IMS table in BAR0, and gives every work queue an
// IMS vector whose instance cookie carries the queue's PASID; remove undoes
// it in reverse.

import { EINVAL, ENODEV, ENOMEM } from "../../../lib/kernel/errno.ts";
import { readl, readq } from "../../../lib/kernel/io.ts";
import { dma_alloc_coherent, dma_free_coherent, GFP_KERNEL } from "../../../lib/kernel/dma.ts";
import { dev_err } from "../../../lib/kernel/printk.ts";
import { free_irq, request_irq } from "../../../lib/irq/manage.ts";
import { msi_remove_device_irq_domain, MSI_SECONDARY_DOMAIN } from "../../../lib/irq/msi.ts";
import { INTEL_IDXD_DEV_COOKIE } from "../../../irqchip/irq-pci-intel-idxd.ts";
import { pci_ims_alloc_irq, pci_ims_free_irq } from "../../pci/msi/msi.ts";
import { pci_disable_device, pci_enable_device, pci_iomap, pci_set_drvdata, pci_set_master, type pci_dev } from "../../pci/pci.ts";
import {
  DEVICE_VERSION_1,
  DSA_COMPLETION_RECORD_SIZE,
  DSA_DESC_SIZE,
  gen_cap_max_ims_mult,
  IDXD_GENCAP_OFFSET,
  IDXD_MMIO_BAR,
  IDXD_PORTAL_SIZE,
  IDXD_TABLE_MULT,
  IDXD_TABLE_OFFSET,
  IDXD_VER_OFFSET,
  IDXD_WQ_BAR,
  IDXD_WQCAP_OFFSET,
  offsets_ims,
  PCI_DEVICE_ID_IRQLAB_IMS,
  PCI_VENDOR_ID_IRQLAB_IMS,
  wq_cap_num_wqs,
} from "./registers.ts";
import { pci_intel_idxd_create_ims_domain, pci_ims_array_create_msi_irq_domain } from "./ims.ts";
import { idxd_wq_int_handler } from "./irq.ts";
import type { idxd_device, idxd_ims_chip, idxd_wq } from "./idxd.ts";

export interface idxd_probe_options {
  /** The IMS chip: the 2022 IDXD chip (default) or the 2020 RFC array chip. */
  chip?: idxd_ims_chip;
  /** Work queues to set up (default: all the device has). */
  wqs?: number;
  /** Slots to hand to the IMS domain as hwsize (default: the whole table). */
  ims_slots?: number;
  /** PASID of each queue (default: queue id + 1). The 2020 chip ignores them. */
  pasids?: readonly number[];
  /** Descriptor ring entries per queue (default 32). */
  ring?: number;
}

function idxd_free_wq(idxd: idxd_device, wq: idxd_wq): void {
  dma_free_coherent(idxd.pdev, wq.descs.size, wq.descs, wq.descs.dma_handle);
  dma_free_coherent(idxd.pdev, wq.comps.size, wq.comps, wq.comps.dma_handle);
}

// drivers/dma/idxd/init.c: idxd_setup_interrupts(), for IMS: one vector per
// queue, allocated and requested in queue order
async function idxd_setup_wq(idxd: idxd_device, id: number, pasid: number, ring: number): Promise<idxd_wq | number> {
  const pdev = idxd.pdev;
  const descs = dma_alloc_coherent(pdev, ring * DSA_DESC_SIZE, GFP_KERNEL);
  const comps = dma_alloc_coherent(pdev, ring * DSA_COMPLETION_RECORD_SIZE, GFP_KERNEL);
  if (!descs || !comps) {
    if (descs) dma_free_coherent(pdev, descs.size, descs, descs.dma_handle);
    if (comps) dma_free_coherent(pdev, comps.size, comps, comps.dma_handle);
    return -ENOMEM;
  }
  const map = await pci_ims_alloc_irq(pdev, INTEL_IDXD_DEV_COOKIE(pasid), null);
  const wq: idxd_wq = {
    id,
    portal: idxd.wq_base + id * IDXD_PORTAL_SIZE,
    descs,
    comps,
    size: ring,
    head: 0,
    tail: 0,
    completed: 0,
    failed: 0,
    ie: { id, vector: map.virq, map, int_handle: map.index, pasid, count: 0, empty: 0, cpus: [] },
  };
  if (map.index < 0) {
    dev_err(pdev, "Failed to allocate IMS vector for wq %d: %d\n", id, map.index);
    idxd_free_wq(idxd, wq);
    return map.index;
  }
  const rc = await request_irq(map.virq, idxd_wq_int_handler, 0, "idxd-portal", wq);
  if (rc) {
    dev_err(pdev, "Failed to request irq %d for wq %d: %d\n", map.virq, id, rc);
    await pci_ims_free_irq(pdev, map);
    idxd_free_wq(idxd, wq);
    return rc;
  }
  return wq;
}

// drivers/dma/idxd/init.c: idxd_pci_probe(); returns the device or a negative errno
export async function idxd_pci_probe(pdev: pci_dev, opts: idxd_probe_options = {}): Promise<idxd_device | number> {
  if (pdev.vendor !== PCI_VENDOR_ID_IRQLAB_IMS || pdev.device_id !== PCI_DEVICE_ID_IRQLAB_IMS) return -ENODEV;
  // really_probe() binds the driver before calling probe (dev_err() prefixes)
  pdev.driver_name = "idxd";
  let rc = pci_enable_device(pdev);
  if (rc) {
    pdev.driver_name = undefined;
    return rc;
  }
  pci_set_master(pdev);
  const reg_base = pci_iomap(pdev, IDXD_MMIO_BAR, 0);
  const wq_base = pci_iomap(pdev, IDXD_WQ_BAR, 0);
  if (readl(reg_base + IDXD_VER_OFFSET) !== DEVICE_VERSION_1) {
    dev_err(pdev, "unsupported device version\n");
    pci_disable_device(pdev);
    pdev.driver_name = undefined;
    return -ENODEV;
  }
  // idxd_read_caps(): the IMS table size and where it is
  const ims_size = gen_cap_max_ims_mult(readq(reg_base + IDXD_GENCAP_OFFSET)) * 256;
  const max_wqs = wq_cap_num_wqs(readq(reg_base + IDXD_WQCAP_OFFSET));
  const ims_base = reg_base + offsets_ims(readq(reg_base + IDXD_TABLE_OFFSET)) * IDXD_TABLE_MULT;
  const nwq = opts.wqs ?? max_wqs;
  const nr_ims = opts.ims_slots ?? ims_size;
  if (nwq < 1 || nwq > max_wqs || nr_ims < 1 || nr_ims > ims_size) {
    pci_disable_device(pdev);
    pdev.driver_name = undefined;
    return -EINVAL;
  }
  const chip = opts.chip ?? "idxd";
  const idxd: idxd_device = { pdev, reg_base, wq_base, ims_base, ims_size, nr_ims, max_wqs, chip, wqs: [] };
  const ok = chip === "idxd" ? await pci_intel_idxd_create_ims_domain(pdev, ims_base, nr_ims) : await pci_ims_array_create_msi_irq_domain(pdev, { slots: ims_base, max_slots: nr_ims });
  if (!ok) {
    dev_err(pdev, "Failed to create IMS domain\n");
    pci_disable_device(pdev);
    pdev.driver_name = undefined;
    return -ENODEV;
  }
  for (let id = 0; id < nwq; id++) {
    const wq = await idxd_setup_wq(idxd, id, opts.pasids?.[id] ?? id + 1, opts.ring ?? 32);
    if (typeof wq === "number") {
      rc = wq;
      await idxd_remove(idxd);
      return rc;
    }
    idxd.wqs.push(wq);
  }
  pci_set_drvdata(pdev, idxd);
  return idxd;
}

// drivers/dma/idxd/init.c: idxd_remove(); interrupts first, then their IMS
// vectors, then the domain
export async function idxd_remove(idxd: idxd_device): Promise<void> {
  const pdev = idxd.pdev;
  for (const wq of idxd.wqs) await free_irq(wq.ie.vector, wq);
  for (const wq of idxd.wqs) {
    await pci_ims_free_irq(pdev, wq.ie.map);
    idxd_free_wq(idxd, wq);
  }
  idxd.wqs = [];
  // devres (msi_device_data_release()) removes the device's MSI domains at
  // driver detach in Linux; irqlab registers no devres for them
  await msi_remove_device_irq_domain(pdev, MSI_SECONDARY_DOMAIN);
  pci_set_drvdata(pdev, null);
  pci_disable_device(pdev);
  pdev.driver_name = undefined;
}
