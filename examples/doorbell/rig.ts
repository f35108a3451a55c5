// SPDX-License-Identifier: GPL-2.0-only
// The conformance rig of the example doorbell controller: boot a machine
// with the device plugged in, probe the driver so its interrupts are
// allocated, and give the suite the device's back door.

import { Machine, type MachineOptions } from "../../lib/machine.ts";
import { pci_get_device_by_name } from "../../drivers/pci/pci.ts";
import type { ChipRig } from "../../lib/review/conformance.ts";
import { doorbell_probe, doorbell_remove, type DoorbellBugs } from "./chip.ts";
import { DoorbellDevice } from "./device.ts";

export const DOORBELL_BDF = "0000:3c:00.0";

/** A machine with one doorbell controller of `slots` slots, before the driver runs. */
export async function doorbellMachine(slots = 4, opts: MachineOptions = {}): Promise<{ m: Machine; dev: DoorbellDevice }> {
  const m = new Machine({ cpus: 4, ...opts });
  const dev = new DoorbellDevice(m.platform, { bdf: DOORBELL_BDF, slots });
  // plugged in before the boot's PCI scan, like a device on the motherboard
  m.platform.pci.add(dev);
  await m.run(() => m.bootArch(), { comm: "init" });
  return { m, dev };
}

/** The factory the conformance suite calls: `nr` interrupts of the chip with `bugs`. */
export function doorbellRig(bugs: DoorbellBugs = {}, nr = 2): () => Promise<ChipRig> {
  return async () => {
    const { m, dev } = await doorbellMachine();
    const priv = await m.run(async () => {
      const r = await doorbell_probe(pci_get_device_by_name(DOORBELL_BDF)!, nr, dev.slots, bugs);
      if (typeof r === "number") throw new Error(`doorbell_probe failed: ${r}\n${m.dmesg()}`);
      return r;
    });
    // the slots stay the device's after the driver freed the interrupts
    const slots = priv.maps.map((x) => x.index);
    return {
      m,
      irqs: priv.maps.map((x) => x.virq),
      raise: (k) => void dev.raise(slots[k]!),
      message: (k) => {
        const s = dev.slot(slots[k]!);
        return { address_lo: s.addrLo, address_hi: s.addrHi, data: s.data };
      },
      free: () => doorbell_remove(priv),
    };
  };
}
