// SPDX-License-Identifier: GPL-2.0-only
// Conformance rigs the mutants need beyond lib/review/subjects.ts: the IMS
// array device with the idxd driver and either IMS chip (with a device
// knob: the pending latch, how it shows in ctrl). PCI-MSIX on the test NIC
// is lib/review/subjects.ts's testnicMsixRig().

import { createMachine } from "../../lib/machine.ts";
import type { ImsDevice, ImsPending, ImsPendingStatus } from "../../lib/hw/devices/ims.ts";
import { free_irq } from "../../lib/irq/manage.ts";
import { msi_remove_device_irq_domain, MSI_SECONDARY_DOMAIN } from "../../lib/irq/msi.ts";
import { pci_ims_free_irq } from "../../drivers/pci/msi/msi.ts";
import { pci_get_device_by_name } from "../../drivers/pci/pci.ts";
import { idxd_pci_probe } from "../../drivers/dma/idxd/init.ts";
import type { idxd_ims_chip } from "../../drivers/dma/idxd/idxd.ts";
import type { ChipRig, ChipSubject } from "../../lib/review/conformance.ts";

export const IMS_BDF = "0000:6a:01.0";

export interface ImsRigOptions {
  chip: idxd_ims_chip;
  pending?: ImsPending;
  pendingStatus?: ImsPendingStatus;
  /** interrupts (work queues), default 2 */
  nr?: number;
}

/**
 * The IMS array device under the idxd driver (remapping on: IMS needs the
 * remapping domain, v6.2..v6.9). The driver allocates and requests one IMS
 * interrupt per queue; the rig frees the driver's handlers again, so the
 * suite finds the interrupts allocated and activated without a handler.
 */
export function imsRig(o: ImsRigOptions): () => Promise<ChipRig> {
  return async () => {
    const nr = o.nr ?? 2;
    const m = await createMachine({
      cpus: 4,
      pci: { devices: [{ type: "ims", bdf: IMS_BDF, wqs: nr, polarity: o.chip === "rfc2020" ? "rfc2020" : "idxd", pending: o.pending ?? "latch", pendingStatus: o.pendingStatus ?? "hidden" }] },
    });
    const hw = m.pci.device<ImsDevice>(IMS_BDF);
    const pdev = pci_get_device_by_name(IMS_BDF)!;
    const idxd = await m.run(async () => {
      const r = await idxd_pci_probe(pdev, { chip: o.chip, wqs: nr });
      if (typeof r === "number") throw new Error(`idxd_pci_probe failed: ${r}\n${m.dmesg()}`);
      for (const wq of r.wqs) await free_irq(wq.ie.vector, wq);
      return r;
    });
    const slots = idxd.wqs.map((wq) => wq.ie.int_handle);
    return {
      m,
      irqs: idxd.wqs.map((wq) => wq.ie.vector),
      raise: (k) => void hw.raise(slots[k]!),
      message: (k) => {
        const s = hw.slot(slots[k]!);
        return { address_lo: s.addrLo, address_hi: s.addrHi, data: s.data };
      },
      free: async () => {
        for (const wq of idxd.wqs) await pci_ims_free_irq(pdev, wq.ie.map);
        await msi_remove_device_irq_domain(pdev, MSI_SECONDARY_DOMAIN);
      },
    };
  };
}

export function imsSubject(o: ImsRigOptions): ChipSubject {
  const dev = [o.pending === "drop" ? "drops raises while masked" : null, o.pendingStatus && o.pendingStatus !== "hidden" ? `pending status ${o.pendingStatus}` : null].filter(Boolean).join(", ");
  return {
    name: `IR-${o.chip === "idxd" ? "PCI-IDXD (2022)" : "IMS (2020 RFC)"} on the IMS array device${dev ? ` (${dev})` : ""}`,
    factory: imsRig(o),
  };
}
