// SPDX-License-Identifier: GPL-2.0-only
// Kernel-side set-up of the test NIC for tests: what a PCI core and driver
// would do, with the kernel's MMIO accessors, from inside m.run().

import { readl, readw, writel, writew, type iomem } from "../../../../lib/kernel/io.ts";
import type { Machine } from "../../../../lib/machine.ts";
import type { TestNic } from "../../../../lib/hw/devices/testnic.ts";

export interface NicHw {
  cfg: iomem;
  bar: iomem;
  msix: number;
}

/** Enable memory decoding and bus mastering; returns the config page, BAR0 and the MSI-X capability. */
export function nic_enable(m: Machine, nic: TestNic): NicHw {
  const cfg = m.platform.pci.ecamAddress(nic.bus, nic.dev, nic.fn);
  writew(readw(cfg + 4) | 0x6, cfg + 4);
  const bar = (readl(cfg + 0x10) & ~0xf) >>> 0;
  let msix = readl(cfg + 0x34) & 0xfc;
  while (msix && (readl(cfg + msix) & 0xff) !== 0x11) msix = (readl(cfg + msix) >>> 8) & 0xfc;
  return { cfg, bar, msix };
}

/** Point table entry `entry` at (cpu, vector); flushes. */
export function nic_set_vector(h: NicHw, entry: number, cpu: number, vector: number, masked = false): void {
  const e = h.bar + entry * 16;
  writel(1, e + 12);
  writel((0xfee00000 | (cpu << 12)) >>> 0, e);
  writel(0, e + 4);
  writel(vector, e + 8);
  writel(masked ? 1 : 0, e + 12);
  readl(e + 12);
}

/** Write MSI-X message control and flush. */
export function nic_msix_control(h: NicHw, enable: boolean, maskall = false): void {
  writew((enable ? 0x8000 : 0) | (maskall ? 0x4000 : 0), h.cfg + h.msix + 2);
  readw(h.cfg + h.msix + 2);
}
