// SPDX-License-Identifier: GPL-2.0-only
// drivers/pci/msi/{msi.c,api.c} and msi.h, reduced to MSI-X (the devices of
// irqlab have no plain MSI capability): enabling MSI-X, the descriptors,
// mask/unmask of table entries, writing messages, dynamic allocation, and
// the PCI/IMS allocation API of v6.2..v6.9 (C57, C58).

import { EINVAL, ENODEV, ENOMEM, ENOSPC, ENOTSUPP, ERANGE } from "../../../lib/kernel/errno.ts";
import { WARN_ON, WARN_ON_ONCE } from "../../../lib/kernel/bug.ts";
import { irq_calc_affinity_vectors, irq_create_affinity_masks, type irq_affinity } from "../../../lib/irq/affinity.ts";
import { readl, writel, type iomem } from "../../../lib/kernel/io.ts";
import type { irq_affinity_desc } from "../../../lib/irq/interrupt.ts";
import {
  msi_domain_alloc_irq_at,
  msi_domain_alloc_irqs_all_locked,
  msi_domain_free_irqs_all_locked,
  msi_domain_free_irqs_range,
} from "../../../lib/irq/msi_alloc.ts";
import {
  msi_alloc_desc,
  msi_domain_insert_msi_desc,
  msi_get_domain_info,
  msi_setup_device_data,
  MSI_FLAG_PCI_MSIX,
  msi_for_each_desc,
  msi_get_virq,
  msi_lock_descs,
  msi_unlock_descs,
  MSI_ANY_INDEX,
  MSI_DEFAULT_DOMAIN,
  MSI_DESC_ALL,
  MSI_SECONDARY_DOMAIN,
  type msi_instance_cookie,
  type msi_map,
} from "../../../lib/irq/msi.ts";
import type { msi_desc, msi_msg } from "../../../lib/irq/msi_types.ts";
import { irq_domain_is_hierarchy, irq_domain_is_msi_parent, type irq_domain } from "../../../lib/irq/irqdomain.ts";
import { pci_cfg_readw, pci_write_config_word, PCI_COMMAND, PCI_COMMAND_INTX_DISABLE, PCI_D0, type pci_dev } from "../pci.ts";
import { pci_info } from "../print.ts";
import { pci_msix_can_alloc_dyn, pci_setup_msix_device_domain } from "./irqdomain.ts";

/* include/uapi/linux/pci_regs.h: MSI-X */
export const PCI_MSIX_FLAGS = 2;
export const PCI_MSIX_FLAGS_QSIZE = 0x07ff;
export const PCI_MSIX_FLAGS_MASKALL = 0x4000;
export const PCI_MSIX_FLAGS_ENABLE = 0x8000;
export const PCI_MSIX_TABLE = 4;
export const PCI_MSIX_TABLE_BIR = 0x00000007;
export const PCI_MSIX_TABLE_OFFSET = 0xfffffff8;
export const PCI_MSIX_PBA = 8;
export const PCI_MSIX_ENTRY_SIZE = 16;
export const PCI_MSIX_ENTRY_LOWER_ADDR = 0x0;
export const PCI_MSIX_ENTRY_UPPER_ADDR = 0x4;
export const PCI_MSIX_ENTRY_DATA = 0x8;
export const PCI_MSIX_ENTRY_VECTOR_CTRL = 0xc;
export const PCI_MSIX_ENTRY_CTRL_MASKBIT = 0x1;

/* include/linux/pci.h: pci_alloc_irq_vectors() flags */
export const PCI_IRQ_INTX = 1 << 0;
export const PCI_IRQ_MSI = 1 << 1;
export const PCI_IRQ_MSIX = 1 << 2;
export const PCI_IRQ_AFFINITY = 1 << 3;
export const PCI_IRQ_ALL_TYPES = PCI_IRQ_INTX | PCI_IRQ_MSI | PCI_IRQ_MSIX;

/* ------------------------------------------------------ table entries */

// drivers/pci/msi/msi.h: pci_msix_desc_addr()
export function pci_msix_desc_addr(desc: msi_desc): iomem {
  return desc.pci.mask_base + desc.msi_index * PCI_MSIX_ENTRY_SIZE;
}

// drivers/pci/msi/msi.h: pci_msix_write_vector_ctrl(): no flush
export function pci_msix_write_vector_ctrl(desc: msi_desc, ctrl: number): void {
  const desc_addr = pci_msix_desc_addr(desc);
  if (desc.pci.msi_attrib.can_mask) writel(ctrl, desc_addr + PCI_MSIX_ENTRY_VECTOR_CTRL);
}

// drivers/pci/msi/msi.h: pci_msix_mask()
export function pci_msix_mask(desc: msi_desc): void {
  desc.pci.msix_ctrl |= PCI_MSIX_ENTRY_CTRL_MASKBIT;
  pci_msix_write_vector_ctrl(desc, desc.pci.msix_ctrl);
  // Flush write to device
  readl(desc.pci.mask_base);
}

// drivers/pci/msi/msi.h: pci_msix_unmask()
export function pci_msix_unmask(desc: msi_desc): void {
  desc.pci.msix_ctrl &= ~PCI_MSIX_ENTRY_CTRL_MASKBIT;
  pci_msix_write_vector_ctrl(desc, desc.pci.msix_ctrl);
}

function msi_desc_to_pci_dev(desc: msi_desc): pci_dev {
  return desc.dev as pci_dev;
}

// drivers/pci/msi/msi.c: __pci_write_msi_msg() (MSI-X part)
export function __pci_write_msi_msg(entry: msi_desc, msg: msi_msg): void {
  const dev = msi_desc_to_pci_dev(entry);
  if (dev.current_state !== PCI_D0) {
    // Don't touch the hardware now
  } else if (entry.pci.msi_attrib.is_msix && !entry.pci.msi_attrib.is_virtual) {
    const base = pci_msix_desc_addr(entry);
    const ctrl = entry.pci.msix_ctrl;
    const unmasked = !(ctrl & PCI_MSIX_ENTRY_CTRL_MASKBIT);
    // The specification mandates that the entry is masked when the message
    // is modified: "If software changes the Address or Data value of an
    // entry while the entry is unmasked, the result is undefined."
    if (unmasked) pci_msix_write_vector_ctrl(entry, ctrl | PCI_MSIX_ENTRY_CTRL_MASKBIT);
    writel(msg.address_lo, base + PCI_MSIX_ENTRY_LOWER_ADDR);
    writel(msg.address_hi, base + PCI_MSIX_ENTRY_UPPER_ADDR);
    writel(msg.data, base + PCI_MSIX_ENTRY_DATA);
    if (unmasked) pci_msix_write_vector_ctrl(entry, ctrl);
    // Ensure that the writes are visible in the device
    readl(base + PCI_MSIX_ENTRY_DATA);
  }
  entry.msg.address_lo = msg.address_lo;
  entry.msg.address_hi = msg.address_hi;
  entry.msg.data = msg.data;
}

/** pci_write_msi_msg(irq, msg) */
export function pci_write_msi_msg(entry: msi_desc, msg: msi_msg): void {
  __pci_write_msi_msg(entry, msg);
}

/* ---------------------------------------------------------- enabling */

// drivers/pci/msi/msi.c: pci_msix_clear_and_set_ctrl()
function pci_msix_clear_and_set_ctrl(dev: pci_dev, clear: number, set: number): void {
  let ctrl = pci_cfg_readw(dev, dev.msix_cap + PCI_MSIX_FLAGS);
  ctrl &= ~clear;
  ctrl |= set;
  pci_write_config_word(dev, dev.msix_cap + PCI_MSIX_FLAGS, ctrl);
}

// drivers/pci/msi/msi.c: pci_msix_vec_count()
export function pci_msix_vec_count(dev: pci_dev): number {
  if (!dev.msix_cap) return -EINVAL;
  const control = pci_cfg_readw(dev, dev.msix_cap + PCI_MSIX_FLAGS);
  return (control & PCI_MSIX_FLAGS_QSIZE) + 1;
}

// drivers/pci/msi/msi.c: msix_map_region()
function msix_map_region(dev: pci_dev, _nr_entries: number): iomem {
  const table_offset = readCfgDword(dev, dev.msix_cap + PCI_MSIX_TABLE);
  const bir = table_offset & PCI_MSIX_TABLE_BIR;
  const flags = dev.resource[bir]?.flags ?? 0;
  if (!flags) return 0;
  const phys_addr = (dev.resource[bir]?.start ?? 0) + (table_offset & PCI_MSIX_TABLE_OFFSET);
  return phys_addr;
}

function readCfgDword(dev: pci_dev, where: number): number {
  const lo = pci_cfg_readw(dev, where);
  const hi = pci_cfg_readw(dev, where + 2);
  return (lo | (hi << 16)) >>> 0;
}

// drivers/pci/msi/msi.c: msix_prepare_msi_desc()
export function msix_prepare_msi_desc(dev: pci_dev, desc: msi_desc): void {
  desc.nvec_used = 1;
  desc.pci.msi_attrib.is_msix = true;
  desc.pci.msi_attrib.is_64 = true;
  desc.pci.msi_attrib.default_irq = dev.irq;
  desc.pci.mask_base = dev.msix_base;
  if (!desc.pci.msi_attrib.is_virtual) {
    const addr = pci_msix_desc_addr(desc);
    desc.pci.msi_attrib.can_mask = true;
    desc.pci.msix_ctrl = readl(addr + PCI_MSIX_ENTRY_VECTOR_CTRL);
  }
}

// drivers/pci/msi/msi.c: msix_setup_msi_descs()
function msix_setup_msi_descs(dev: pci_dev, nvec: number, masks: readonly irq_affinity_desc[] | null): number {
  const vec_count = pci_msix_vec_count(dev);
  let ret = 0;
  for (let i = 0; i < nvec; i++) {
    const desc = msi_alloc_desc(dev, 1, masks ? [masks[i]!] : null);
    desc.msi_index = i;
    desc.pci.msi_attrib.is_virtual = desc.msi_index >= vec_count;
    msix_prepare_msi_desc(dev, desc);
    ret = msi_domain_insert_msi_desc(dev, MSI_DEFAULT_DOMAIN, desc);
    if (ret) break;
  }
  return ret;
}

// drivers/pci/msi/msi.c: msix_mask_all()
function msix_mask_all(base: iomem, tsize: number): void {
  const ctrl = PCI_MSIX_ENTRY_CTRL_MASKBIT;
  for (let i = 0; i < tsize; i++, base += PCI_MSIX_ENTRY_SIZE) writel(ctrl, base + PCI_MSIX_ENTRY_VECTOR_CTRL);
}

// drivers/pci/msi/msi.c: pci_intx_for_msi()
function pci_intx_for_msi(dev: pci_dev, enable: boolean): void {
  const cmd = pci_cfg_readw(dev, PCI_COMMAND);
  pci_write_config_word(dev, PCI_COMMAND, enable ? cmd & ~PCI_COMMAND_INTX_DISABLE : cmd | PCI_COMMAND_INTX_DISABLE);
}

// drivers/pci/msi/msi.c: msix_setup_interrupts(); the descriptor lock is taken here
async function msix_setup_interrupts(dev: pci_dev, nvec: number, masks: readonly irq_affinity_desc[] | null): Promise<number> {
  const l = msi_lock_descs(dev);
  if (l) await l;
  try {
    let ret = msix_setup_msi_descs(dev, nvec, masks);
    if (!ret) ret = await msi_domain_alloc_irqs_all_locked(dev, MSI_DEFAULT_DOMAIN, nvec);
    if (ret) await pci_free_msi_irqs(dev);
    return ret;
  } finally {
    msi_unlock_descs(dev);
  }
}

// drivers/pci/msi/msi.c: msix_capability_init()
async function msix_capability_init(dev: pci_dev, nvec: number, masks: readonly irq_affinity_desc[] | null): Promise<number> {
  // Some devices require MSI-X to be enabled before the MSI-X registers can
  // be accessed. Mask all the vectors to prevent interrupts coming in
  // before they're fully set up.
  pci_msix_clear_and_set_ctrl(dev, 0, PCI_MSIX_FLAGS_MASKALL | PCI_MSIX_FLAGS_ENABLE);
  // Mark it enabled so setup functions can query it
  dev.msix_enabled = true;
  const control = pci_cfg_readw(dev, dev.msix_cap + PCI_MSIX_FLAGS);
  const tsize = (control & PCI_MSIX_FLAGS_QSIZE) + 1;
  dev.msix_base = msix_map_region(dev, tsize);
  const ret = dev.msix_base ? await msix_setup_interrupts(dev, nvec, masks) : -ENOMEM;
  if (ret) {
    dev.msix_enabled = false;
    pci_msix_clear_and_set_ctrl(dev, PCI_MSIX_FLAGS_MASKALL | PCI_MSIX_FLAGS_ENABLE, 0);
    return ret;
  }
  // Disable INTX
  pci_intx_for_msi(dev, false);
  // Ensure that all table entries are masked to prevent stale entries from
  // firing in a crash kernel. Done late to deal with a broken Marvell NVME
  // device which takes the MSI-X mask bits into account even when MSI-X is
  // disabled, which prevents MSI delivery.
  msix_mask_all(dev.msix_base, tsize);
  pci_msix_clear_and_set_ctrl(dev, PCI_MSIX_FLAGS_MASKALL, 0);
  return 0;
}

// drivers/pci/msi/irqdomain.c: pci_msi_domain_supports(): does the device's
// MSI parent support every feature in `feature_mask`?
export function pci_msi_domain_supports(dev: pci_dev, feature_mask: number, allow_legacy: boolean): boolean {
  const domain = dev.msi.domain as irq_domain | null;
  if (!domain || !irq_domain_is_hierarchy(domain)) return allow_legacy;
  const supported = irq_domain_is_msi_parent(domain) ? domain.msi_parent_ops!.supported_flags : msi_get_domain_info(domain).flags;
  return (supported & feature_mask) === feature_mask;
}

// drivers/pci/msi/msi.c: pci_msi_supported(), reduced: MSI is never disabled
// globally, per bus or per device in irqlab; only the vector count matters
function pci_msi_supported(_dev: pci_dev, nvec: number): boolean {
  return nvec >= 1;
}

// drivers/pci/msi/msi.c: pci_msi_vec_count()
export function pci_msi_vec_count(dev: pci_dev): number {
  if (!dev.msi_cap) return -EINVAL;
  // No irqlab device has an MSI capability (README: MSI is not modelled).
  return -EINVAL;
}

// drivers/pci/msi/msi.c: __pci_enable_msi_range(), as far as irqlab's devices
// get: none of them has an MSI capability
function __pci_enable_msi_range(dev: pci_dev, minvec: number, maxvec: number): number {
  if (!pci_msi_supported(dev, minvec) || dev.current_state !== PCI_D0) return -EINVAL;
  // Check whether driver already requested MSI-X IRQs
  if (dev.msix_enabled) {
    pci_info(dev, "can't enable MSI (MSI-X already enabled)\n");
    return -EINVAL;
  }
  if (maxvec < minvec) return -ERANGE;
  if (WARN_ON_ONCE(dev.msi_enabled, { fn: "__pci_enable_msi_range" })) return -EINVAL;
  // Test for the availability of MSI support
  if (!pci_msi_domain_supports(dev, 0, true)) return -ENOTSUPP;
  return pci_msi_vec_count(dev);
}

// drivers/pci/msi/msi.c: pci_setup_msi_context()
function pci_setup_msi_context(dev: pci_dev): boolean {
  return msi_setup_device_data(dev) === 0;
}

// drivers/pci/msi/msi.c: __pci_enable_msix_range()
async function __pci_enable_msix_range(dev: pci_dev, minvec: number, maxvec: number, affd: irq_affinity | null): Promise<number> {
  let nvec = maxvec;
  if (maxvec < minvec) return -ERANGE;
  if (dev.msi_enabled) {
    pci_info(dev, "can't enable MSI-X (MSI already enabled)\n");
    return -EINVAL;
  }
  if (WARN_ON_ONCE(dev.msix_enabled, { fn: "__pci_enable_msix_range" })) return -EINVAL;
  // Check MSI-X early on irq domain enabled architectures
  if (!pci_msi_domain_supports(dev, MSI_FLAG_PCI_MSIX, true)) return -ENOTSUPP;
  if (!pci_msi_supported(dev, nvec) || dev.current_state !== PCI_D0) return -EINVAL;
  const hwsize = pci_msix_vec_count(dev);
  if (hwsize < 0) return hwsize;
  if (!pci_setup_msi_context(dev)) return -ENOMEM;
  if (!(await pci_setup_msix_device_domain(dev, hwsize))) return -ENODEV;
  if (nvec > hwsize) nvec = hwsize;
  if (nvec < minvec) return -ENOSPC;
  for (;;) {
    // PCI_IRQ_AFFINITY: no more vectors than CPU groups to spread over
    if (affd) {
      nvec = irq_calc_affinity_vectors(minvec, nvec, affd);
      if (nvec < minvec) return -ENOSPC;
    }
    // msix_setup_interrupts(): the spread is computed for the count tried
    const masks = affd ? irq_create_affinity_masks(nvec, affd) : null;
    const rc = await msix_capability_init(dev, nvec, masks);
    if (rc === 0) return nvec;
    if (rc < 0) return rc;
    if (rc < minvec) return -ENOSPC;
    nvec = rc;
  }
}

// drivers/pci/msi/api.c: pci_alloc_irq_vectors_affinity(), MSI-X only
export async function pci_alloc_irq_vectors_affinity(
  dev: pci_dev,
  min_vecs: number,
  max_vecs: number,
  flags: number,
  affd: irq_affinity | null,
): Promise<number> {
  let nvecs = -ENOSPC;
  if (flags & PCI_IRQ_AFFINITY) {
    affd ??= { pre_vectors: 0, post_vectors: 0 };
  } else if (WARN_ON(affd, { fn: "pci_alloc_irq_vectors_affinity" })) {
    affd = null;
  }
  if (flags & PCI_IRQ_MSIX) {
    nvecs = await __pci_enable_msix_range(dev, min_vecs, max_vecs, affd);
    if (nvecs > 0) return nvecs;
  }
  if (flags & PCI_IRQ_MSI) {
    nvecs = __pci_enable_msi_range(dev, min_vecs, max_vecs);
    if (nvecs > 0) return nvecs;
  }
  // PCI_IRQ_INTX would fall back to the legacy line when min_vecs is 1 and
  // dev->irq is set; irqlab models no INTx (dev->irq stays 0).
  return nvecs;
}

/** pci_alloc_irq_vectors(dev, min, max, flags) */
export function pci_alloc_irq_vectors(dev: pci_dev, min_vecs: number, max_vecs: number, flags: number): Promise<number> {
  return pci_alloc_irq_vectors_affinity(dev, min_vecs, max_vecs, flags, null);
}

// drivers/pci/msi/msi.c: pci_free_msi_irqs(); descriptor lock held
async function pci_free_msi_irqs(dev: pci_dev): Promise<void> {
  await msi_domain_free_irqs_all_locked(dev, MSI_DEFAULT_DOMAIN);
  dev.msix_base = dev.msix_enabled ? dev.msix_base : 0;
}

// drivers/pci/msi/msi.c: pci_msix_shutdown()
function pci_msix_shutdown(dev: pci_dev): void {
  // Return the device with MSI-X masked as initial states
  for (const desc of msi_for_each_desc(dev, MSI_DESC_ALL)) pci_msix_mask(desc);
  pci_msix_clear_and_set_ctrl(dev, PCI_MSIX_FLAGS_ENABLE, 0);
  pci_intx_for_msi(dev, true);
  dev.msix_enabled = false;
}

// drivers/pci/msi/api.c: pci_disable_msix()
export async function pci_disable_msix(dev: pci_dev): Promise<void> {
  if (!dev.msix_enabled) return;
  const l = msi_lock_descs(dev);
  if (l) await l;
  try {
    pci_msix_shutdown(dev);
    await pci_free_msi_irqs(dev);
    dev.msix_base = 0;
  } finally {
    msi_unlock_descs(dev);
  }
}

// drivers/pci/msi/api.c: pci_free_irq_vectors()
export async function pci_free_irq_vectors(dev: pci_dev): Promise<void> {
  await pci_disable_msix(dev);
}

// drivers/pci/msi/api.c: pci_irq_vector()
export function pci_irq_vector(dev: pci_dev, nr: number): number {
  if (!dev.msi_enabled && !dev.msix_enabled) return !nr ? dev.irq : -EINVAL;
  const irq = msi_get_virq(dev, nr);
  return irq ? irq : -EINVAL;
}

// drivers/pci/msi/api.c: pci_msix_alloc_irq_at()
export async function pci_msix_alloc_irq_at(dev: pci_dev, index: number, affdesc: irq_affinity_desc | null): Promise<msi_map> {
  const map: msi_map = { index: -ENOTSUPP, virq: 0 };
  if (!dev.msix_enabled) return map;
  if (!pci_msix_can_alloc_dyn(dev)) return map;
  return msi_domain_alloc_irq_at(dev, MSI_DEFAULT_DOMAIN, index, affdesc, null);
}

// drivers/pci/msi/api.c: pci_msix_free_irq()
export async function pci_msix_free_irq(dev: pci_dev, map: msi_map): Promise<void> {
  if (WARN_ON_ONCE(map.index < 0 || map.virq <= 0, { fn: "pci_msix_free_irq" })) return;
  if (WARN_ON_ONCE(!pci_msix_can_alloc_dyn(dev), { fn: "pci_msix_free_irq", line: 2 })) return;
  await msi_domain_free_irqs_range(dev, MSI_DEFAULT_DOMAIN, map.index, map.index);
}

// drivers/pci/msi/api.c: pci_ims_alloc_irq() (v6.2..v6.9, C57)
export function pci_ims_alloc_irq(dev: pci_dev, icookie: msi_instance_cookie | null, affdesc: irq_affinity_desc | null): Promise<msi_map> {
  return msi_domain_alloc_irq_at(dev, MSI_SECONDARY_DOMAIN, MSI_ANY_INDEX, affdesc, icookie);
}

// drivers/pci/msi/api.c: pci_ims_free_irq() (C58); as merged, the draft's
// !map.virq became map.virq <= 0 (the caller may make up any map)
export async function pci_ims_free_irq(dev: pci_dev, map: msi_map): Promise<void> {
  if (WARN_ON_ONCE(map.index < 0 || map.virq <= 0, { fn: "pci_ims_free_irq" })) return;
  await msi_domain_free_irqs_range(dev, MSI_SECONDARY_DOMAIN, map.index, map.index);
}
