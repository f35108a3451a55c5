// SPDX-License-Identifier: GPL-2.0-only
// include/linux/pci.h: pci_info()/pci_warn()/pci_err(), which print "pci <name>: ".

import { printk, KERN_ERR, KERN_INFO, KERN_WARNING } from "../../lib/kernel/printk.ts";

interface named {
  dev_name: string;
}

export function pci_info(dev: named, fmt: string, ...args: unknown[]): number {
  return printk(KERN_INFO + "pci " + dev.dev_name + ": " + fmt, ...args);
}
export function pci_warn(dev: named, fmt: string, ...args: unknown[]): number {
  return printk(KERN_WARNING + "pci " + dev.dev_name + ": " + fmt, ...args);
}
export function pci_err(dev: named, fmt: string, ...args: unknown[]): number {
  return printk(KERN_ERR + "pci " + dev.dev_name + ": " + fmt, ...args);
}
