// SPDX-License-Identifier: GPL-2.0-only
// What the generic checkers need to know about IMS array devices
// (lib/hw/devices/ims.ts): where their messages live (msi-message-composed)
// and which slots hold one (no-leaks).

import type { Machine } from "../machine.ts";
import { irq_get_irq_data } from "../irq/irqdesc.ts";
import { irqd_irq_masked } from "../irq/irq.ts";
import { MSI_SECONDARY_DOMAIN } from "../irq/msi.ts";
import { ImsDevice } from "../hw/devices/ims.ts";
import { pci_all_devices, pci_name } from "../../drivers/pci/pci.ts";
import { msiDescs, registerLeakProbe, registerMessageProbe, type DeviceMessage } from "./check.ts";

function imsDevices(m: Machine): ImsDevice[] {
  return m.pci.devices().filter((d): d is ImsDevice => d instanceof ImsDevice);
}

/**
 * The IMS slots of every device the kernel has an IMS domain on. The IMS
 * chips write the slot and nothing else (msi_desc->msg stays as the core
 * left it, unlike __pci_write_msi_msg()), so there is no cache to compare
 * with: the checker compares the slot with what the hierarchy composes.
 * The kernel's view of the mask is the interrupt's IRQD_IRQ_MASKED.
 */
registerMessageProbe({
  name: "pci-ims",
  messages(m) {
    const out: DeviceMessage[] = [];
    for (const pdev of pci_all_devices()) {
      const descs = msiDescs(pdev, MSI_SECONDARY_DOMAIN);
      if (!descs.length) continue;
      const fn = m.pci.devices().find((d) => d.bdf === pci_name(pdev));
      // IMS writes are posted without a read back: compare once they landed.
      // A function reset behind the kernel's back (bus mastering off) has
      // no slots the kernel's view can be compared with.
      if (!(fn instanceof ImsDevice) || !fn.busMaster || m.platform.mmio.pendingWrites(fn) > 0) continue;
      for (const desc of descs) {
        const d = desc.irq ? irq_get_irq_data(desc.irq) : null;
        if (!d) continue;
        const slot = fn.slot(desc.msi_index);
        out.push({
          where: `${pci_name(pdev)} ims ${desc.msi_index}`,
          irq: desc.irq,
          device: { address_lo: slot.addrLo, address_hi: slot.addrHi, data: slot.data, masked: slot.masked },
          cache: null,
          cacheMasked: irqd_irq_masked(d),
        });
      }
    }
    return out;
  },
});

registerLeakProbe({
  name: "ims",
  read(m) {
    let programmed = 0;
    let unmasked = 0;
    for (const dev of imsDevices(m)) {
      for (let k = 0; k < dev.slots; k++) {
        const s = dev.slot(k);
        if (s.addrLo || s.addrHi || s.data) programmed++;
        if (!s.masked) unmasked++;
      }
    }
    return { programmed, unmasked };
  },
});
