// SPDX-License-Identifier: GPL-2.0-only
// drivers/dma/idxd/idxd.h, reduced: the device, its work queues and the
// interrupt entry of each queue, which here is an IMS vector with the
// queue's PASID in its instance cookie.

import type { iomem } from "../../../lib/kernel/io.ts";
import type { DmaCoherentBuffer } from "../../../lib/kernel/dma.ts";
import type { msi_map } from "../../../lib/irq/msi.ts";
import type { pci_dev } from "../../pci/pci.ts";

/** Which IMS chip the driver puts on the device's slots. */
export type idxd_ims_chip = "idxd" | "rfc2020";

/** struct idxd_irq_entry */
export interface idxd_irq_entry {
  id: number;
  /** the Linux irq (ie->vector) */
  vector: number;
  /** what pci_ims_alloc_irq() returned */
  map: msi_map;
  /** the interrupt handle the queue's descriptors carry: the IMS index */
  int_handle: number;
  pasid: number;
  /** handler runs, and those that found nothing to reap */
  count: number;
  empty: number;
  /** CPU of each handler run */
  cpus: number[];
}

/** struct idxd_wq */
export interface idxd_wq {
  id: number;
  portal: iomem;
  /** descriptor ring and completion records, `size` entries each */
  descs: DmaCoherentBuffer;
  comps: DmaCoherentBuffer;
  size: number;
  /** next entry to submit, next entry to reap (free-running) */
  head: number;
  tail: number;
  /** descriptors reaped with DSA_COMP_SUCCESS, and with another status */
  completed: number;
  failed: number;
  ie: idxd_irq_entry;
}

/** struct idxd_device */
export interface idxd_device {
  pdev: pci_dev;
  reg_base: iomem;
  wq_base: iomem;
  /** the IMS table in BAR0 and its size from GENCAP */
  ims_base: iomem;
  ims_size: number;
  /** slots handed to the IMS domain (hwsize) */
  nr_ims: number;
  max_wqs: number;
  chip: idxd_ims_chip;
  wqs: idxd_wq[];
}
