// SPDX-License-Identifier: GPL-2.0-only
// A booted machine with the IMS array device (lib/hw/devices/ims.ts) and
// the idxd driver, for the tests of the IMS chips and the PCI/IMS API.

import { createMachine, type Machine, type MachineOptions } from "../../../../lib/machine.ts";
import type { ImsDevice, ImsDeviceOptions } from "../../../../lib/hw/devices/ims.ts";
import { pci_get_device_by_name, type pci_dev } from "../../../../drivers/pci/pci.ts";
import { idxd_pci_probe, type idxd_probe_options } from "../../../../drivers/dma/idxd/init.ts";
import type { idxd_device } from "../../../../drivers/dma/idxd/idxd.ts";

export const IMS_BDF = "0000:6a:01.0";

export interface ImsRig {
  m: Machine;
  /** the device model */
  hw: ImsDevice;
  pdev: pci_dev;
  /** the driver's state (null when `probe` is false) */
  idxd: idxd_device;
}

/** A machine with the IMS device; the 2020 chip gets a device of its polarity unless told otherwise. */
export async function imsRig(
  opts: { machine?: MachineOptions; dev?: Partial<ImsDeviceOptions>; probe?: idxd_probe_options | false } = {},
): Promise<ImsRig> {
  const chip = opts.probe ? (opts.probe.chip ?? "idxd") : "idxd";
  const m = await createMachine({
    cpus: 4,
    ...(opts.machine ?? {}),
    pci: { devices: [{ type: "ims", bdf: IMS_BDF, polarity: chip === "rfc2020" ? "rfc2020" : "idxd", ...(opts.dev ?? {}) }] },
  });
  const pdev = pci_get_device_by_name(IMS_BDF)!;
  let idxd = null as unknown as idxd_device;
  if (opts.probe !== false) {
    idxd = await m.run(async () => {
      const r = await idxd_pci_probe(pdev, opts.probe || {});
      if (typeof r === "number") throw new Error(`idxd_pci_probe failed: ${r}`);
      return r;
    });
  }
  return { m, hw: m.pci.device<ImsDevice>(IMS_BDF), pdev, idxd };
}
