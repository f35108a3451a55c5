// SPDX-License-Identifier: GPL-2.0-only
// A booted machine with one test NIC probed by its driver, for the tests of
// the PCI MSI-X, vector and remapping paths.

import { createMachine, type Machine, type MachineOptions } from "../../lib/machine.ts";
import type { TestNic, TestNicOptions } from "../../lib/hw/devices/testnic.ts";
import { pci_get_device_by_name } from "../../drivers/pci/pci.ts";
import { testnic_probe, type testnic_priv, type testnic_probe_options } from "../../drivers/net/testnic/testnic.ts";

export const NIC_BDF = "0000:3b:00.0";

export interface NicRig {
  m: Machine;
  /** the device model */
  hw: TestNic;
  /** the driver's state */
  priv: testnic_priv;
}

export async function nicRig(
  opts: { machine?: MachineOptions; nic?: Partial<TestNicOptions>; probe?: testnic_probe_options } = {},
): Promise<NicRig> {
  const m = await createMachine({
    cpus: 4,
    ...(opts.machine ?? {}),
    pci: { devices: [{ type: "testnic", bdf: NIC_BDF, vectors: 8, ...(opts.nic ?? {}) }] },
  });
  const priv = await m.run(async () => {
    const r = await testnic_probe(pci_get_device_by_name(NIC_BDF)!, opts.probe ?? {});
    if (typeof r === "number") throw new Error(`testnic_probe failed: ${r}`);
    return r;
  });
  return { m, hw: m.pci.device<TestNic>(NIC_BDF), priv };
}
