// SPDX-License-Identifier: GPL-2.0-only
// drivers/pci/{probe.c,access.c,pci.c}, reduced: enumerating PCI functions
// through the ECAM window firmware reports, config space accessors,
// enabling a device, bus mastering, BARs and function-level reset.

import { K } from "../../lib/kernel/kernel.ts";
import { WARN_ONCE } from "../../lib/kernel/bug.ts";
import { EINVAL, ENODEV, ENOTTY } from "../../lib/kernel/errno.ts";
import { readb, readl, readw, writeb, writel, writew, type iomem } from "../../lib/kernel/io.ts";
import { firmware } from "../../lib/kernel/firmware.ts";
import { device } from "../../lib/kernel/device.ts";
import { msleep } from "../../lib/kernel/delay.ts";
import { vsprintf } from "../../lib/kernel/vsprintf.ts";
import { pci_info } from "./print.ts";

/* include/uapi/linux/pci_regs.h */
export const PCI_VENDOR_ID = 0x00;
export const PCI_DEVICE_ID = 0x02;
export const PCI_COMMAND = 0x04;
export const PCI_COMMAND_MEMORY = 0x2;
export const PCI_COMMAND_MASTER = 0x4;
export const PCI_COMMAND_INTX_DISABLE = 0x400;
export const PCI_STATUS = 0x06;
export const PCI_STATUS_CAP_LIST = 0x10;
export const PCI_CLASS_REVISION = 0x08;
export const PCI_HEADER_TYPE = 0x0e;
export const PCI_BASE_ADDRESS_0 = 0x10;
export const PCI_BASE_ADDRESS_MEM_TYPE_MASK = 0x06;
export const PCI_BASE_ADDRESS_MEM_TYPE_64 = 0x04;
export const PCI_BASE_ADDRESS_MEM_MASK = ~0x0f >>> 0;
export const PCI_CAPABILITY_LIST = 0x34;
export const PCI_CAP_LIST_ID = 0;
export const PCI_CAP_LIST_NEXT = 1;
export const PCI_CAP_ID_EXP = 0x10;
export const PCI_CAP_ID_MSIX = 0x11;
export const PCI_EXP_DEVCAP = 0x04;
export const PCI_EXP_DEVCAP_FLR = 0x10000000;
export const PCI_EXP_DEVCTL = 0x08;
export const PCI_EXP_DEVCTL_BCR_FLR = 0x8000;
export const PCIBIOS_SUCCESSFUL = 0x00;
export const PCIBIOS_DEVICE_NOT_FOUND = 0x86;
export const PCI_D0 = 0;
export const PCI_NUM_RESOURCES = 6;

export interface resource {
  start: number;
  end: number;
  flags: number;
}

/** struct pci_dev */
export class pci_dev extends device {
  vendor = 0xffff;
  device_id = 0xffff;
  pcie_cap = 0;
  msix_cap = 0;
  msi_cap = 0;
  msix_enabled = false;
  msi_enabled = false;
  msix_base: iomem = 0;
  /** Legacy INTx irq (none in irqlab). */
  irq = 0;
  current_state = PCI_D0;
  is_busmaster = false;
  enable_cnt = 0;
  readonly resource: resource[] = [];
  /** Driver private data (pci_set_drvdata()). */
  driver_data: unknown = null;
  constructor(
    readonly busnr: number,
    readonly devfn: number,
  ) {
    super(vsprintf("%04x:%02x:%02x.%d", [0, busnr, devfn >> 3, devfn & 7]));
  }
}

export function PCI_SLOT(devfn: number): number {
  return (devfn >> 3) & 0x1f;
}
export function PCI_FUNC(devfn: number): number {
  return devfn & 7;
}
export function pci_name(pdev: pci_dev): string {
  return pdev.dev_name;
}
/** The requester ID (PCI_DEVID()) the device's transactions carry. */
export function pci_dev_id(pdev: pci_dev): number {
  return ((pdev.busnr << 8) | pdev.devfn) & 0xffff;
}

function cfg_addr(busnr: number, devfn: number, where: number): iomem {
  const base = firmware().mcfg_base;
  if (base === null) return 0;
  return base + ((busnr << 20) | (devfn << 12) | (where & 0xfff));
}

// drivers/pci/access.c: pci_bus_read_config_*() through ECAM (pci_mmcfg_read())
function cfg_read(busnr: number, devfn: number, where: number, size: 1 | 2 | 4): number {
  const a = cfg_addr(busnr, devfn, where);
  if (!a) return ~0 >>> 0;
  return size === 1 ? readb(a) : size === 2 ? readw(a) : readl(a);
}

function cfg_write(busnr: number, devfn: number, where: number, size: 1 | 2 | 4, v: number): void {
  const a = cfg_addr(busnr, devfn, where);
  if (!a) return;
  if (size === 1) writeb(v, a);
  else if (size === 2) writew(v, a);
  else writel(v, a);
}

/** pci_read_config_byte(dev, where, &val) */
export function pci_read_config_byte(dev: pci_dev, where: number, val: { value: number }): number {
  val.value = cfg_read(dev.busnr, dev.devfn, where, 1);
  return PCIBIOS_SUCCESSFUL;
}
export function pci_read_config_word(dev: pci_dev, where: number, val: { value: number }): number {
  val.value = cfg_read(dev.busnr, dev.devfn, where, 2);
  return PCIBIOS_SUCCESSFUL;
}
export function pci_read_config_dword(dev: pci_dev, where: number, val: { value: number }): number {
  val.value = cfg_read(dev.busnr, dev.devfn, where, 4);
  return PCIBIOS_SUCCESSFUL;
}
export function pci_write_config_byte(dev: pci_dev, where: number, v: number): number {
  cfg_write(dev.busnr, dev.devfn, where, 1, v);
  return PCIBIOS_SUCCESSFUL;
}
export function pci_write_config_word(dev: pci_dev, where: number, v: number): number {
  cfg_write(dev.busnr, dev.devfn, where, 2, v);
  return PCIBIOS_SUCCESSFUL;
}
export function pci_write_config_dword(dev: pci_dev, where: number, v: number): number {
  cfg_write(dev.busnr, dev.devfn, where, 4, v);
  return PCIBIOS_SUCCESSFUL;
}

/** Read helpers returning the value (irqlab convenience around the out-parameter forms). */
export function pci_cfg_readw(dev: pci_dev, where: number): number {
  return cfg_read(dev.busnr, dev.devfn, where, 2);
}
export function pci_cfg_readl(dev: pci_dev, where: number): number {
  return cfg_read(dev.busnr, dev.devfn, where, 4);
}

// drivers/pci/pci.c: __pci_find_next_cap() / pci_find_capability()
export function pci_find_capability(dev: pci_dev, cap: number): number {
  const status = cfg_read(dev.busnr, dev.devfn, PCI_STATUS, 2);
  if (!(status & PCI_STATUS_CAP_LIST)) return 0;
  let pos = cfg_read(dev.busnr, dev.devfn, PCI_CAPABILITY_LIST, 1) & ~3;
  for (let ttl = 48; ttl > 0 && pos >= 0x40; ttl--) {
    const ent = cfg_read(dev.busnr, dev.devfn, pos, 2);
    const id = ent & 0xff;
    if (id === 0xff) break;
    if (id === cap) return pos;
    pos = (ent >> 8) & ~3;
  }
  return 0;
}

/** The functions found by the last scan, by name. */
function devices(): Map<string, pci_dev> {
  return K.state("pci_devices", () => new Map<string, pci_dev>());
}

// drivers/pci/probe.c: __pci_read_base() for the memory BARs of a type 0 header
function pci_read_bases(dev: pci_dev): void {
  for (let i = 0; i < PCI_NUM_RESOURCES; i++) {
    const pos = PCI_BASE_ADDRESS_0 + i * 4;
    const l = cfg_read(dev.busnr, dev.devfn, pos, 4);
    if (l === 0 || l === 0xffffffff) {
      dev.resource[i] = { start: 0, end: 0, flags: 0 };
      continue;
    }
    // size the BAR with the all-ones write, as the kernel does
    cfg_write(dev.busnr, dev.devfn, pos, 4, 0xffffffff);
    const sz = cfg_read(dev.busnr, dev.devfn, pos, 4);
    cfg_write(dev.busnr, dev.devfn, pos, 4, l);
    let start = (l & PCI_BASE_ADDRESS_MEM_MASK) >>> 0;
    let size = (~(sz & PCI_BASE_ADDRESS_MEM_MASK) + 1) >>> 0;
    if ((l & PCI_BASE_ADDRESS_MEM_TYPE_MASK) === PCI_BASE_ADDRESS_MEM_TYPE_64) {
      const hi = cfg_read(dev.busnr, dev.devfn, pos + 4, 4);
      start += hi * 2 ** 32;
      dev.resource[i] = { start, end: start + size - 1, flags: 0x200 };
      i++;
      dev.resource[i] = { start: 0, end: 0, flags: 0 };
      continue;
    }
    if (!size) size = 0;
    dev.resource[i] = { start, end: start + size - 1, flags: 0x200 };
  }
}

/* include/linux/device/bus.h: bus notifier actions */
export const BUS_NOTIFY_ADD_DEVICE = 0x00000001;
export const BUS_NOTIFY_DEL_DEVICE = 0x00000002;

/** A notifier on pci_bus_type (bus_register_notifier()). */
export type pci_bus_notifier = (action: number, dev: pci_dev) => void;

interface PciBusState {
  notifiers: pci_bus_notifier[];
  /** x86_pci_msi_default_domain: what pcibios_device_add() gives every device */
  default_msi_domain: unknown;
}

function pbs(): PciBusState {
  return K.state<PciBusState>("pci_bus", () => ({ notifiers: [], default_msi_domain: null }));
}

/** bus_register_notifier(&pci_bus_type, nb) */
export function pci_bus_register_notifier(nb: pci_bus_notifier): void {
  pbs().notifiers.push(nb);
}

/** arch/x86/kernel/apic/msi.c: x86_pci_msi_default_domain = x86_vector_domain */
export function pci_set_default_msi_domain(domain: unknown): void {
  pbs().default_msi_domain = domain;
}

// arch/x86/pci/common.c: pcibios_device_add(): the default MSI parent domain
function pcibios_device_add(dev: pci_dev): void {
  dev.msi.domain = pbs().default_msi_domain;
}

// drivers/pci/probe.c: pci_device_add() then device_add()'s BUS_NOTIFY_ADD_DEVICE
function pci_device_add(dev: pci_dev): void {
  pcibios_device_add(dev);
  devices().set(dev.dev_name, dev);
  for (const nb of pbs().notifiers) nb(BUS_NOTIFY_ADD_DEVICE, dev);
}

// drivers/pci/probe.c: pci_scan_root_bus() for every host bridge firmware
// reports (acpi_pci_root_add()), type 0 functions only
export function pci_scan_root_bus(): pci_dev[] {
  const found: pci_dev[] = [];
  if (firmware().mcfg_base === null) return found;
  for (const bus of firmware().pci_root_buses) {
    for (let devfn = 0; devfn < 256; devfn++) {
      const vendor = cfg_read(bus, devfn, PCI_VENDOR_ID, 2);
      if (vendor === 0xffff || vendor === 0) continue;
      const dev = new pci_dev(bus, devfn);
      dev.vendor = vendor;
      dev.device_id = cfg_read(bus, devfn, PCI_DEVICE_ID, 2);
      pci_read_bases(dev);
      dev.pcie_cap = pci_find_capability(dev, PCI_CAP_ID_EXP);
      dev.msix_cap = pci_find_capability(dev, PCI_CAP_ID_MSIX);
      pci_info(dev, "[%04x:%04x] type 00 class 0x%06x PCIe Endpoint\n", dev.vendor, dev.device_id, cfg_read(bus, devfn, PCI_CLASS_REVISION, 4) >>> 8);
      pci_device_add(dev);
      found.push(dev);
    }
  }
  return found;
}

/** pci_get_domain_bus_and_slot() by name ("0000:3b:00.0"). */
export function pci_get_device_by_name(name: string): pci_dev | null {
  return devices().get(name) ?? null;
}

export function pci_all_devices(): pci_dev[] {
  return [...devices().values()];
}

export function pci_resource_start(dev: pci_dev, bar: number): number {
  return dev.resource[bar]?.start ?? 0;
}
export function pci_resource_len(dev: pci_dev, bar: number): number {
  const r = dev.resource[bar];
  return r && r.end > r.start ? r.end - r.start + 1 : 0;
}

/** pci_iomap(): the BAR's MMIO address (ioremap is the identity). */
export function pci_iomap(dev: pci_dev, bar: number, _maxlen: number): iomem {
  return pci_resource_start(dev, bar);
}

// drivers/pci/pci.c: pci_enable_device(): memory decoding on
export function pci_enable_device(dev: pci_dev): number {
  if (dev.enable_cnt++ > 0) return 0;
  const cmd = pci_cfg_readw(dev, PCI_COMMAND);
  pci_write_config_word(dev, PCI_COMMAND, cmd | PCI_COMMAND_MEMORY);
  return 0;
}

export function pci_disable_device(dev: pci_dev): void {
  // dev_WARN_ONCE(): "<driver or bus> <device>: " + the message
  WARN_ONCE(dev.enable_cnt <= 0, "%s %s: disabling already-disabled device", dev.driver_name ?? "pci", dev.dev_name);
  if (--dev.enable_cnt !== 0) return;
  // do_pci_disable_device(): only bus mastering goes; memory decoding stays
  const cmd = pci_cfg_readw(dev, PCI_COMMAND);
  if (cmd & PCI_COMMAND_MASTER) pci_write_config_word(dev, PCI_COMMAND, cmd & ~PCI_COMMAND_MASTER);
  dev.is_busmaster = false;
}

// drivers/pci/pci.c: __pci_set_master()
function __pci_set_master(dev: pci_dev, enable: boolean): void {
  const old_cmd = pci_cfg_readw(dev, PCI_COMMAND);
  const cmd = enable ? old_cmd | PCI_COMMAND_MASTER : old_cmd & ~PCI_COMMAND_MASTER;
  if (cmd !== old_cmd) pci_write_config_word(dev, PCI_COMMAND, cmd);
  dev.is_busmaster = enable;
}

export function pci_set_master(dev: pci_dev): void {
  __pci_set_master(dev, true);
}
export function pci_clear_master(dev: pci_dev): void {
  __pci_set_master(dev, false);
}

export function pci_set_drvdata<T>(dev: pci_dev, data: T): void {
  dev.driver_data = data;
}
export function pci_get_drvdata<T>(dev: pci_dev): T {
  return dev.driver_data as T;
}

// drivers/pci/pci.c: pcie_flr(): initiate, wait 100 ms, then the device is back
export async function pcie_flr(dev: pci_dev): Promise<number> {
  if (!dev.pcie_cap) return -ENOTTY;
  const ctl = pci_cfg_readw(dev, dev.pcie_cap + PCI_EXP_DEVCTL);
  pci_write_config_word(dev, dev.pcie_cap + PCI_EXP_DEVCTL, ctl | PCI_EXP_DEVCTL_BCR_FLR);
  await msleep(100);
  return 0;
}

/** pcie_has_flr() */
export function pcie_has_flr(dev: pci_dev): boolean {
  if (!dev.pcie_cap) return false;
  return (pci_cfg_readl(dev, dev.pcie_cap + PCI_EXP_DEVCAP) & PCI_EXP_DEVCAP_FLR) !== 0;
}

// drivers/pci/pci.c: pci_reset_function(), FLR only
export async function pci_reset_function(dev: pci_dev): Promise<number> {
  if (!pcie_has_flr(dev)) return -ENOTTY;
  return pcie_flr(dev);
}

void EINVAL;
void ENODEV;
