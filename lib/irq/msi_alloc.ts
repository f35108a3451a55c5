// SPDX-License-Identifier: GPL-2.0-only
// kernel/irq/msi.c: allocating and freeing MSI interrupts and the MSI
// domain ops (C46-C53). Allocation may sleep (descriptor mutex, domain
// mutex), so it is async; nothing is awaited unless something sleeps.

import { EEXIST, EINVAL, ENODEV, ENOMEM, ENOSPC, ENOTSUPP } from "../kernel/errno.ts";
import { BUG_ON, WARN_ON_ONCE } from "../kernel/bug.ts";
import { cpumask_intersects, cpu_online_mask, type cpumask } from "../kernel/cpumask.ts";
import { dev_to_node, type device } from "../kernel/device.ts";
import {
  irqd_affinity_is_managed,
  irqd_clr_activated,
  irqd_clr_can_reserve,
  irqd_is_activated,
  irqd_set,
  IRQ_SET_MASK_OK_DONE,
  IRQD_MANAGED_SHUTDOWN,
  type irq_data,
} from "./irq.ts";
import { msi_msg, type msi_desc } from "./msi_types.ts";
import type { irq_affinity_desc } from "./interrupt.ts";
import { irq_to_desc } from "./irqdesc.ts";
import { irq_chip_compose_msi_msg, irq_get_msi_desc, irq_set_msi_desc, irq_set_msi_desc_off } from "./chip.ts";
import {
  __irq_domain_alloc_irqs,
  irq_domain_alloc_irqs_hierarchy,
  irq_domain_free_irqs_common,
  irq_domain_msi_hooks,
  irq_domain_activate_irq,
  irq_domain_alloc_irqs_parent,
  irq_domain_deactivate_irq,
  irq_domain_free_irqs,
  irq_domain_free_irqs_top,
  irq_domain_get_irq_data,
  irq_find_mapping,
  DOMAIN_BUS_PCI_DEVICE_MSI,
  DOMAIN_BUS_PCI_DEVICE_MSIX,
  DOMAIN_BUS_PCI_MSI,
  DOMAIN_BUS_VMD_MSI,
  type irq_domain,
  type irq_fwspec,
} from "./irqdomain.ts";
import {
  MSI_DESC_ALL,
  MSI_FLAG_ACTIVATE_EARLY,
  MSI_FLAG_ALLOC_SIMPLE_MSI_DESCS,
  MSI_FLAG_DEV_SYSFS,
  MSI_FLAG_FREE_MSI_DESCS,
  MSI_FLAG_MUST_REACTIVATE,
  MSI_FLAG_NOMASK_QUIRK,
  VIRQ_ACTIVATE,
  VIRQ_CAN_RESERVE,
  VIRQ_NOMASK_QUIRK,
  MSI_ANY_INDEX,
  MSI_DEFAULT_DOMAIN,
  msi_alloc_desc,
  msi_ctrl_valid,
  msi_descs_in_range,
  msi_domain_add_simple_msi_descs,
  msi_domain_free_msi_descs_range,
  msi_domain_get_hwsize,
  msi_first_desc,
  msi_get_device_domain,
  msi_insert_desc,
  msi_lock_descs,
  msi_unlock_descs,
  type msi_alloc_info_t,
  type msi_ctrl,
  type msi_domain_info,
  type msi_instance_cookie,
  type msi_map,
} from "./msi.ts";

/** pci_msi_ignore_mask (arch/x86: only under Xen PV) */
const pci_msi_ignore_mask = false;

// kernel/irq/msi.c: msi_check_level(); irqlab composes one message, so msg[1] stays zero
function msi_check_level(_domain: irq_domain, _msg: msi_msg): void {}

/* ------------------------------------------------------ irq_domain_ops */

// kernel/irq/msi.c: msi_domain_alloc() (C46)
export function msi_domain_alloc(domain: irq_domain, virq: number, nr_irqs: number, arg: unknown): number {
  const info = domain.host_data as msi_domain_info;
  const ops = info.ops!;
  const a = arg as msi_alloc_info_t;
  const hwirq = ops.get_hwirq!(info, a);
  if (irq_find_mapping(domain, hwirq) > 0) return -EEXIST;
  if (domain.parent) {
    const ret = irq_domain_alloc_irqs_parent(domain, virq, nr_irqs, arg);
    if (ret < 0) return ret;
  }
  for (let i = 0; i < nr_irqs; i++) {
    const ret = ops.msi_init!(domain, info, virq + i, hwirq + i, a);
    if (ret < 0) {
      if (ops.msi_free) {
        // The kernel's loop stops at i > 0 and never frees index 0 (C46);
        // irqlab keeps that.
        for (i--; i > 0; i--) ops.msi_free(domain, info, virq + i);
      }
      irq_domain_free_irqs_top(domain, virq, nr_irqs);
      return ret;
    }
  }
  return 0;
}

// kernel/irq/msi.c: msi_domain_free()
export function msi_domain_free(domain: irq_domain, virq: number, nr_irqs: number): void {
  const info = domain.host_data as msi_domain_info;
  if (info.ops?.msi_free) for (let i = 0; i < nr_irqs; i++) info.ops.msi_free(domain, info, virq + i);
  irq_domain_free_irqs_top(domain, virq, nr_irqs);
}

// kernel/irq/msi.c: msi_domain_translate() (6.11+). This catches
// allocations through the regular irqdomain path except for MSI domains
// which really support it, e.g. MBIGEN.
export function msi_domain_translate(domain: irq_domain, fwspec: irq_fwspec, out: { hwirq: number; type: number }): number {
  const info = domain.host_data as msi_domain_info;
  if (!info.ops?.msi_translate) return -ENOTSUPP;
  return info.ops.msi_translate(domain, fwspec, out);
}

// kernel/irq/msi.c: msi_domain_activate() (C52)
export function msi_domain_activate(_domain: irq_domain, irq_data: irq_data, _early: boolean): number {
  const msg = new msi_msg();
  BUG_ON(irq_chip_compose_msi_msg(irq_data, msg), { fn: "msi_domain_activate" });
  msi_check_level(irq_data.domain!, msg);
  irq_data.chip.irq_write_msi_msg!(irq_data, msg);
  return 0;
}

// kernel/irq/msi.c: msi_domain_deactivate()
export function msi_domain_deactivate(_domain: irq_domain, irq_data: irq_data): void {
  irq_data.chip.irq_write_msi_msg!(irq_data, new msi_msg());
}

// kernel/irq/msi.c: msi_domain_set_affinity() (C53)
export function msi_domain_set_affinity(irq_data: irq_data, mask: cpumask, force: boolean): number {
  const parent = irq_data.parent_data!;
  const ret = parent.chip.irq_set_affinity!(parent, mask, force);
  if (ret >= 0 && ret !== IRQ_SET_MASK_OK_DONE) {
    const msg = new msi_msg();
    BUG_ON(irq_chip_compose_msi_msg(irq_data, msg), { fn: "msi_domain_set_affinity" });
    msi_check_level(irq_data.domain!, msg);
    irq_data.chip.irq_write_msi_msg!(irq_data, msg);
  }
  return ret;
}

/* --------------------------------------------------------- allocation */

// kernel/irq/msi.c: msi_check_reservation_mode()
function msi_check_reservation_mode(domain: irq_domain, info: msi_domain_info, dev: device): boolean {
  switch (domain.bus_token) {
    case DOMAIN_BUS_PCI_MSI:
    case DOMAIN_BUS_PCI_DEVICE_MSI:
    case DOMAIN_BUS_PCI_DEVICE_MSIX:
    case DOMAIN_BUS_VMD_MSI:
      break;
    default:
      return false;
  }
  if (!(info.flags & MSI_FLAG_MUST_REACTIVATE)) return false;
  if (pci_msi_ignore_mask) return false;
  // Checking the first MSI descriptor is sufficient. MSIX supports masking
  // and MSI does so when the can_mask attribute is set.
  const desc = msi_first_desc(dev, MSI_DESC_ALL);
  return desc !== null && (desc.pci.msi_attrib.is_msix || desc.pci.msi_attrib.can_mask);
}

// kernel/irq/msi.c: msi_handle_pci_fail()
function msi_handle_pci_fail(domain: irq_domain, desc: msi_desc, allocated: number): number {
  switch (domain.bus_token) {
    case DOMAIN_BUS_PCI_MSI:
    case DOMAIN_BUS_PCI_DEVICE_MSI:
    case DOMAIN_BUS_PCI_DEVICE_MSIX:
    case DOMAIN_BUS_VMD_MSI:
      break;
    default:
      return -ENOSPC;
  }
  // Let a failed PCI multi MSI allocation retry
  if (desc.nvec_used > 1) return 1;
  // If there was a successful allocation let the caller know
  return allocated ? allocated : -ENOSPC;
}

// kernel/irq/msi.c: msi_init_virq() (C49)
function msi_init_virq(domain: irq_domain, virq: number, vflags: number): number {
  const irqd = irq_domain_get_irq_data(domain, virq)!;
  if (!(vflags & VIRQ_CAN_RESERVE)) {
    irqd_clr_can_reserve(irqd);
    // If the interrupt is managed but no CPU is available to service it,
    // shut it down until better times.
    if (vflags & VIRQ_ACTIVATE && irqd_affinity_is_managed(irqd) && !cpumask_intersects(irqd.common.affinity, cpu_online_mask())) {
      irqd_set(irqd, IRQD_MANAGED_SHUTDOWN);
      return 0;
    }
  }
  if (!(vflags & VIRQ_ACTIVATE)) return 0;
  const ret = irq_domain_activate_irq(irqd, (vflags & VIRQ_CAN_RESERVE) !== 0);
  if (ret) return ret;
  // If the interrupt uses reservation mode, clear the activated bit so
  // request_irq() will assign the final vector.
  if (vflags & VIRQ_CAN_RESERVE) irqd_clr_activated(irqd);
  return 0;
}

/** The msi_irqs/<irq> sysfs files of each device (DEV_SYSFS). */
const sysfs = new WeakMap<device, Set<number>>();

// kernel/irq/msi.c: msi_mode_show(): MSI vs. MSI-X is per device, read at show time
function msi_mode_show(dev: device): string {
  const is_msix = (dev as unknown as { msix_enabled?: boolean }).msix_enabled ?? false;
  return is_msix ? "msix" : "msi";
}

/** cat /sys/.../msi_irqs/<irq> for every file of the device: irq -> "msix" | "msi". */
export function msi_sysfs_entries(dev: device): ReadonlyMap<number, string> {
  const out = new Map<number, string>();
  for (const irq of [...(sysfs.get(dev) ?? [])].sort((a, b) => a - b)) out.set(irq, msi_mode_show(dev));
  return out;
}

// kernel/irq/msi.c: msi_sysfs_populate_desc(): one file per vector, named "%d" (mode 0444)
function msi_sysfs_populate_desc(dev: device, desc: msi_desc): number {
  let m = sysfs.get(dev);
  if (!m) {
    m = new Set();
    sysfs.set(dev, m);
  }
  for (let i = 0; i < desc.nvec_used; i++) m.add(desc.irq + i);
  return 0;
}

// kernel/irq/msi.c: msi_sysfs_remove_desc()
function msi_sysfs_remove_desc(dev: device, desc: msi_desc): void {
  const m = sysfs.get(dev);
  if (m) for (let i = 0; i < desc.nvec_used; i++) m.delete(desc.irq + i);
}

// kernel/irq/msi.c: __msi_domain_alloc_irqs() (C48)
async function __msi_domain_alloc_irqs(dev: device, domain: irq_domain, ctrl: msi_ctrl): Promise<number> {
  const info = domain.host_data as msi_domain_info;
  const ops = info.ops!;
  let vflags = 0;
  let allocated = 0;
  const arg: msi_alloc_info_t = {};
  let ret = ops.msi_prepare!(domain, dev, ctrl.nirqs, arg);
  if (ret) return ret;
  // This flag is set by the PCI layer as we need to activate the MSI
  // entries before the PCI layer enables MSI in the card. Otherwise the
  // card latches a random msi message.
  if (info.flags & MSI_FLAG_ACTIVATE_EARLY) vflags |= VIRQ_ACTIVATE;
  // Interrupt can use a reserved vector and will not occupy a real device
  // vector until the interrupt is requested.
  if (msi_check_reservation_mode(domain, info, dev)) {
    vflags |= VIRQ_CAN_RESERVE;
    if (info.flags & MSI_FLAG_NOMASK_QUIRK) vflags |= VIRQ_NOMASK_QUIRK;
  }
  for (const desc of msi_descs_in_range(dev, ctrl.domid, ctrl.first, ctrl.last)) {
    if (desc.irq) continue;
    // This should return -ECONFUSED...
    if (WARN_ON_ONCE(allocated >= ctrl.nirqs, { fn: "__msi_domain_alloc_irqs" })) return -EINVAL;
    if (ops.prepare_desc) ops.prepare_desc(domain, arg, desc);
    ops.set_desc!(arg, desc);
    const virq = await __irq_domain_alloc_irqs(domain, -1, desc.nvec_used, dev_to_node(dev), arg, false, desc.affinity);
    if (virq < 0) return msi_handle_pci_fail(domain, desc, allocated);
    for (let i = 0; i < desc.nvec_used; i++) {
      irq_set_msi_desc_off(virq, i, desc);
      // kernel/irq/debugfs.c: irq_debugfs_copy_devname()
      const d = irq_to_desc(virq + i);
      if (d) d.dev_name = dev.dev_name;
      ret = msi_init_virq(domain, virq + i, vflags);
      if (ret) return ret;
    }
    if (info.flags & MSI_FLAG_DEV_SYSFS) {
      ret = msi_sysfs_populate_desc(dev, desc);
      if (ret) return ret;
    }
    allocated++;
  }
  return 0;
}

// kernel/irq/msi.c: __msi_domain_alloc_locked()
async function __msi_domain_alloc_locked(dev: device, ctrl: msi_ctrl): Promise<number> {
  if (!msi_ctrl_valid(dev, ctrl)) return -EINVAL;
  const domain = msi_get_device_domain(dev, ctrl.domid);
  if (!domain) return -ENODEV;
  const info = domain.host_data as msi_domain_info;
  if (info.flags & MSI_FLAG_ALLOC_SIMPLE_MSI_DESCS) {
    const ret = msi_domain_add_simple_msi_descs(dev, ctrl);
    if (ret) return ret;
  }
  const ops = info.ops!;
  if (ops.domain_alloc_irqs) return ops.domain_alloc_irqs(domain, dev, ctrl.nirqs);
  return __msi_domain_alloc_irqs(dev, domain, ctrl);
}

// kernel/irq/msi.c: msi_domain_alloc_locked(): any failure rolls the range back
async function msi_domain_alloc_locked(dev: device, ctrl: msi_ctrl): Promise<number> {
  const ret = await __msi_domain_alloc_locked(dev, ctrl);
  if (ret) await msi_domain_free_locked(dev, ctrl);
  return ret;
}

/** msi_domain_alloc_irqs_range_locked(): the descriptor lock is held. */
export function msi_domain_alloc_irqs_range_locked(dev: device, domid: number, first: number, last: number): Promise<number> {
  return msi_domain_alloc_locked(dev, { domid, first, last, nirqs: last + 1 - first });
}

// kernel/irq/msi.c: msi_domain_alloc_irqs_range() (C47)
export async function msi_domain_alloc_irqs_range(dev: device, domid: number, first: number, last: number): Promise<number> {
  const l = msi_lock_descs(dev);
  if (l) await l;
  try {
    return await msi_domain_alloc_irqs_range_locked(dev, domid, first, last);
  } finally {
    msi_unlock_descs(dev);
  }
}

/** msi_domain_alloc_irqs(dev, domid, nirqs): indices 0..nirqs-1 */
export function msi_domain_alloc_irqs(dev: device, domid: number, nirqs: number): Promise<number> {
  return msi_domain_alloc_irqs_range(dev, domid, 0, nirqs - 1);
}

// kernel/irq/msi.c: msi_domain_alloc_irqs_all_locked(): caller-provided descriptors
export function msi_domain_alloc_irqs_all_locked(dev: device, domid: number, nirqs: number): Promise<number> {
  return msi_domain_alloc_locked(dev, { domid, first: 0, last: msi_domain_get_hwsize(dev, domid) - 1, nirqs });
}

// kernel/irq/msi.c: __msi_domain_alloc_irq_at(); descriptor mutex held (C50)
async function __msi_domain_alloc_irq_at(
  dev: device,
  domid: number,
  index: number,
  affdesc: irq_affinity_desc | null,
  icookie: msi_instance_cookie | null,
): Promise<msi_map> {
  const map: msi_map = { index: 0, virq: 0 };
  const domain = msi_get_device_domain(dev, domid);
  if (!domain) {
    map.index = -ENODEV;
    return map;
  }
  const desc = msi_alloc_desc(dev, 1, affdesc ? [affdesc] : null);
  if (!desc) {
    map.index = -ENOMEM;
    return map;
  }
  if (icookie) desc.data.icookie = { value: icookie.value, ptr: icookie.ptr ?? null, iobase: 0 };
  let ret = msi_insert_desc(dev, desc, domid, index);
  if (ret) {
    map.index = ret;
    return map;
  }
  const ctrl: msi_ctrl = { domid, first: desc.msi_index, last: desc.msi_index, nirqs: 1 };
  ret = await __msi_domain_alloc_irqs(dev, domain, ctrl);
  if (ret) {
    map.index = ret;
    await msi_domain_free_locked(dev, ctrl);
  } else {
    map.index = desc.msi_index;
    map.virq = desc.irq;
  }
  return map;
}

// kernel/irq/msi.c: msi_domain_alloc_irq_at() (C50)
export async function msi_domain_alloc_irq_at(
  dev: device,
  domid: number,
  index: number,
  affdesc: irq_affinity_desc | null,
  icookie: msi_instance_cookie | null,
): Promise<msi_map> {
  const l = msi_lock_descs(dev);
  if (l) await l;
  try {
    return await __msi_domain_alloc_irq_at(dev, domid, index, affdesc, icookie);
  } finally {
    msi_unlock_descs(dev);
  }
}

/**
 * DOMAIN_BUS_WIRED_TO_MSI (include/linux/irqdomain_defs.h, 6.11+, where it
 * follows DEVICE_MSI = 15). irqlab numbers the tokens below it as v6.9 does
 * (PCI_DEVICE_IMS = 15), and 16 is free there.
 */
export const DOMAIN_BUS_WIRED_TO_MSI = 16;

// kernel/irq/msi.c: msi_device_domain_alloc_wired() (6.11+, C55): the wired
// hwirq space is sparse, so the index comes from MSI_ANY_INDEX and the hwirq
// and trigger type travel in the instance cookie
export async function msi_device_domain_alloc_wired(domain: irq_domain, hwirq: number, type: number): Promise<number> {
  const dev = domain.dev as device | null;
  if (WARN_ON_ONCE(!dev || domain.bus_token !== DOMAIN_BUS_WIRED_TO_MSI, { fn: "msi_device_domain_alloc_wired" })) return -EINVAL;
  const icookie: msi_instance_cookie = { value: (BigInt(type >>> 0) << 32n) | BigInt(hwirq >>> 0) };
  const l = msi_lock_descs(dev!);
  if (l) await l;
  let map: msi_map;
  try {
    if (WARN_ON_ONCE(msi_get_device_domain(dev!, MSI_DEFAULT_DOMAIN) !== domain, { fn: "msi_device_domain_alloc_wired", line: 2 })) map = { index: -EINVAL, virq: 0 };
    else map = await __msi_domain_alloc_irq_at(dev!, MSI_DEFAULT_DOMAIN, MSI_ANY_INDEX, null, icookie);
  } finally {
    msi_unlock_descs(dev!);
  }
  return map.index >= 0 ? map.virq : map.index;
}

// kernel/irq/msi.c: msi_device_domain_free_wired() (6.11+, C55)
export async function msi_device_domain_free_wired(domain: irq_domain, virq: number): Promise<void> {
  const desc = irq_get_msi_desc(virq);
  const dev = domain.dev as device | null;
  if (WARN_ON_ONCE(!dev || !desc || domain.bus_token !== DOMAIN_BUS_WIRED_TO_MSI, { fn: "msi_device_domain_free_wired" })) return;
  const l = msi_lock_descs(dev!);
  if (l) await l;
  try {
    if (!WARN_ON_ONCE(msi_get_device_domain(dev!, MSI_DEFAULT_DOMAIN) !== domain, { fn: "msi_device_domain_free_wired", line: 2 })) {
      await msi_domain_free_irqs_range_locked(dev!, MSI_DEFAULT_DOMAIN, desc!.msi_index, desc!.msi_index);
    }
  } finally {
    msi_unlock_descs(dev!);
  }
}

// irq_create_fwspec_mapping() and irq_dispose_mapping() reach these for
// IRQ_DOMAIN_FLAG_MSI_DEVICE domains (kernel/irq/irqdomain.c calls them directly)
irq_domain_msi_hooks.alloc_wired = msi_device_domain_alloc_wired;
irq_domain_msi_hooks.free_wired = msi_device_domain_free_wired;

// kernel/irq/msi.c: msi_domain_populate_irqs() (C54): the legacy interface
// (platform MSI device domains call it from their ops->alloc) whose
// descriptor indices are the Linux interrupt numbers themselves. Synchronous
// unless the descriptor mutex is contended.
export function msi_domain_populate_irqs(domain: irq_domain, dev: device, virq_base: number, nvec: number, arg: msi_alloc_info_t): number | Promise<number> {
  const ctrl: msi_ctrl = { domid: MSI_DEFAULT_DOMAIN, first: virq_base, last: virq_base + nvec - 1, nirqs: 0 };
  // As written, the control struct is validated before the descriptor
  // mutex is taken, so the hwsize lookup's lockdep assertion fires here.
  if (!msi_ctrl_valid(dev, ctrl)) return -EINVAL;
  const locked = (): number => {
    try {
      return msi_domain_populate_irqs_locked(domain, dev, ctrl, arg);
    } finally {
      msi_unlock_descs(dev);
    }
  };
  const l = msi_lock_descs(dev);
  return l ? l.then(locked) : locked();
}

function msi_domain_populate_irqs_locked(domain: irq_domain, dev: device, ctrl: msi_ctrl, arg: msi_alloc_info_t): number {
  const ops = (domain.host_data as msi_domain_info).ops!;
  let ret = msi_domain_add_simple_msi_descs(dev, ctrl);
  if (ret) return ret;
  let virq = ctrl.first;
  for (; virq <= ctrl.last; virq++) {
    const desc = msi_descs_in_range(dev, MSI_DEFAULT_DOMAIN, virq, virq)[0]!;
    desc.irq = virq;
    ops.set_desc!(arg, desc);
    ret = irq_domain_alloc_irqs_hierarchy(domain, virq, 1, arg);
    if (ret) break;
    irq_set_msi_desc(virq, desc);
  }
  if (!ret) return 0;
  for (--virq; virq >= ctrl.first; virq--) irq_domain_free_irqs_common(domain, virq, 1);
  // As written, desc->irq is still set on the failed descriptor and the
  // ones before it, so freeing the range WARNs and leaks them (C36).
  msi_domain_free_msi_descs_range(dev, MSI_DEFAULT_DOMAIN, ctrl.first, ctrl.last);
  return ret;
}

/* -------------------------------------------------------------- free */

// kernel/irq/msi.c: __msi_domain_free_irqs()
async function __msi_domain_free_irqs(dev: device, domain: irq_domain, ctrl: msi_ctrl): Promise<void> {
  const info = domain.host_data as msi_domain_info;
  for (const desc of msi_descs_in_range(dev, ctrl.domid, ctrl.first, ctrl.last)) {
    // Only handle MSI entries which have an interrupt associated
    if (!desc.irq) continue;
    // Make sure all interrupts are deactivated
    for (let i = 0; i < desc.nvec_used; i++) {
      const irqd = irq_domain_get_irq_data(domain, desc.irq + i);
      if (irqd && irqd_is_activated(irqd)) irq_domain_deactivate_irq(irqd);
    }
    await irq_domain_free_irqs(desc.irq, desc.nvec_used);
    if (info.flags & MSI_FLAG_DEV_SYSFS) msi_sysfs_remove_desc(dev, desc);
    desc.irq = 0;
  }
}

// kernel/irq/msi.c: msi_domain_free_locked()
async function msi_domain_free_locked(dev: device, ctrl: msi_ctrl): Promise<void> {
  if (!msi_ctrl_valid(dev, ctrl)) return;
  const domain = msi_get_device_domain(dev, ctrl.domid);
  if (!domain) return;
  const info = domain.host_data as msi_domain_info;
  const ops = info.ops!;
  if (ops.domain_free_irqs) ops.domain_free_irqs(domain, dev);
  else await __msi_domain_free_irqs(dev, domain, ctrl);
  if (ops.msi_post_free) ops.msi_post_free(domain, dev);
  if (info.flags & MSI_FLAG_FREE_MSI_DESCS) msi_domain_free_msi_descs_range(dev, ctrl.domid, ctrl.first, ctrl.last);
}

/** msi_domain_free_irqs_range_locked(): the descriptor lock is held. */
export function msi_domain_free_irqs_range_locked(dev: device, domid: number, first: number, last: number): Promise<void> {
  return msi_domain_free_locked(dev, { domid, first, last, nirqs: last + 1 - first });
}

// kernel/irq/msi.c: msi_domain_free_irqs_range() (C51)
export async function msi_domain_free_irqs_range(dev: device, domid: number, first: number, last: number): Promise<void> {
  const l = msi_lock_descs(dev);
  if (l) await l;
  try {
    await msi_domain_free_irqs_range_locked(dev, domid, first, last);
  } finally {
    msi_unlock_descs(dev);
  }
}

/** msi_domain_free_irqs_all_locked() */
export function msi_domain_free_irqs_all_locked(dev: device, domid: number): Promise<void> {
  return msi_domain_free_irqs_range_locked(dev, domid, 0, msi_domain_get_hwsize(dev, domid) - 1);
}

export async function msi_domain_free_irqs_all(dev: device, domid: number): Promise<void> {
  const l = msi_lock_descs(dev);
  if (l) await l;
  try {
    await msi_domain_free_irqs_all_locked(dev, domid);
  } finally {
    msi_unlock_descs(dev);
  }
}

