// SPDX-License-Identifier: GPL-2.0-only
// kernel/irq/msi.c (the v6.5..v6.9 generation, which has the PCI/IMS
// secondary domain) and include/linux/msi.h: MSI descriptors, MSI domains
// and per-device MSI domains (C28-C45). Creating and removing MSI domains
// and device domains (C40, C41, C43-C45) is in msi_domain.ts, re-exported here;
// allocation and free are in msi_alloc.ts.

import { EBUSY, EINVAL, ENOMEM, ERANGE } from "../kernel/errno.ts";
import { WARN_ON, WARN_ON_ONCE } from "../kernel/bug.ts";
import { K } from "../kernel/kernel.ts";
import { mutex, __mutex_lock, mutex_unlock } from "../kernel/mutex.ts";
import { lock_is_held } from "../kernel/lockdep.ts";
import { site_of } from "../kernel/stacktrace.ts";
import type { device } from "../kernel/device.ts";
import type { cpumask } from "../kernel/cpumask.ts";
import { IRQD_AFFINITY_MANAGED, type irq_chip, type irq_data } from "./irq.ts";
import { msi_desc, msi_msg } from "./msi_types.ts";
import type { irq_affinity_desc } from "./interrupt.ts";
import type { irq_flow_handler_t } from "./irqdesc.ts";
import { irq_to_desc } from "./irqdesc.ts";
import { __irq_set_handler } from "./chip.ts";
import {
  IRQ_DOMAIN_FLAG_MSI_PARENT,
  type irq_domain,
  type irq_fwspec,
} from "./irqdomain.ts";
import { SparseIrqBitmap } from "./irqdesc_bitmap.ts";

export { msi_desc, msi_msg };
export * from "./msi_domain.ts";

/* include/linux/msi.h: MSI_FLAG_* (v6.2..v6.9 numbering; C42) */
export const MSI_FLAG_USE_DEF_DOM_OPS = 1 << 0;
export const MSI_FLAG_USE_DEF_CHIP_OPS = 1 << 1;
export const MSI_FLAG_ACTIVATE_EARLY = 1 << 2;
export const MSI_FLAG_MUST_REACTIVATE = 1 << 3;
export const MSI_FLAG_DEV_SYSFS = 1 << 4;
export const MSI_FLAG_ALLOC_SIMPLE_MSI_DESCS = 1 << 5;
export const MSI_FLAG_FREE_MSI_DESCS = 1 << 6;
export const MSI_FLAG_NOMASK_QUIRK = 1 << 7;
export const MSI_FLAG_PARENT_PM_DEV = 1 << 8;
export const MSI_FLAG_PCI_MSI_MASK_PARENT = 1 << 9;
export const MSI_GENERIC_FLAGS_MASK = 0x0000ffff;
export const MSI_DOMAIN_FLAGS_MASK = 0xffff0000 | 0;
export const MSI_FLAG_MULTI_PCI_MSI = 1 << 16;
export const MSI_FLAG_PCI_MSIX = 1 << 17;
export const MSI_FLAG_LEVEL_CAPABLE = 1 << 18;
export const MSI_FLAG_MSIX_CONTIGUOUS = 1 << 19;
export const MSI_FLAG_PCI_MSIX_ALLOC_DYN = 1 << 20;
/** v6.2..v6.9: the parent supports PCI/IMS. (Later trees reuse bit 21 for NO_AFFINITY.) */
export const MSI_FLAG_PCI_IMS = 1 << 21;

/* enum msi_domain_ids (v6.2..v6.9) */
export const MSI_DEFAULT_DOMAIN = 0;
export const MSI_SECONDARY_DOMAIN = 1;
export const MSI_MAX_DEVICE_IRQDOMAINS = 2;

export const MSI_MAX_INDEX = 0xffff;
export const MSI_ANY_INDEX = 0xffffffff;
/** MSI_XA_DOMAIN_SIZE: hwsize 0 means a software index space of this size. */
export const MSI_XA_DOMAIN_SIZE = MSI_MAX_INDEX + 1;
/**
 * MSI_XA_MAX_INDEX: an index outside any searchable range (ULONG_MAX - 1 in
 * the kernel; any value above MSI_MAX_INDEX behaves the same).
 */
export const MSI_XA_MAX_INDEX = Number.MAX_SAFE_INTEGER;

/* enum msi_desc_filter */
export const MSI_DESC_ALL = 0;
export const MSI_DESC_NOTASSOCIATED = 1;
export const MSI_DESC_ASSOCIATED = 2;

/* msi_init_virq() flags */
export const VIRQ_CAN_RESERVE = 0x01;
export const VIRQ_ACTIVATE = 0x02;
export const VIRQ_NOMASK_QUIRK = 0x04;

/** msi_alloc_info_t: the architecture's irq_alloc_info; fields are free-form. */
export type msi_alloc_info_t = Record<string, unknown> & { desc?: msi_desc | null; hwirq?: number };

/** struct msi_domain_ops (C39) */
export interface msi_domain_ops {
  get_hwirq?: (info: msi_domain_info, arg: msi_alloc_info_t) => number;
  msi_init?: (domain: irq_domain, info: msi_domain_info, virq: number, hwirq: number, arg: msi_alloc_info_t) => number;
  msi_free?: (domain: irq_domain, info: msi_domain_info, virq: number) => void;
  msi_prepare?: (domain: irq_domain, dev: device, nvec: number, arg: msi_alloc_info_t) => number;
  prepare_desc?: (domain: irq_domain, arg: msi_alloc_info_t, desc: msi_desc) => void;
  set_desc?: (arg: msi_alloc_info_t, desc: msi_desc) => void;
  domain_alloc_irqs?: (domain: irq_domain, dev: device, nvec: number) => number;
  domain_free_irqs?: (domain: irq_domain, dev: device) => void;
  msi_post_free?: (domain: irq_domain, dev: device) => void;
  /** 6.11+: translate a wired fwspec (wire-to-MSI bridges such as MBIGEN). */
  msi_translate?: (domain: irq_domain, fwspec: irq_fwspec, out: { hwirq: number; type: number }) => number;
}

/** struct msi_domain_info (C38) */
export interface msi_domain_info {
  flags: number;
  bus_token: number;
  hwsize: number;
  ops: msi_domain_ops | null;
  chip: irq_chip | null;
  chip_data: unknown;
  handler: irq_flow_handler_t | null;
  handler_data: unknown;
  handler_name: string | null;
  data: unknown;
}

/** struct msi_domain_template */
export interface msi_domain_template {
  name?: string;
  chip: irq_chip;
  ops: msi_domain_ops;
  info: Omit<msi_domain_info, "ops" | "chip" | "hwsize" | "data" | "chip_data"> & Partial<msi_domain_info>;
}

/** struct msi_map */
export interface msi_map {
  index: number;
  virq: number;
}

/** union msi_instance_cookie */
export interface msi_instance_cookie {
  value: bigint;
  ptr?: unknown;
}

/**
 * The descriptor store of one device domain: lib/xarray.c with
 * XA_FLAGS_ALLOC, reduced to what kernel/irq/msi.c uses (load, insert,
 * erase, the lowest free index in a range, and walking from an index).
 * An array by index with an occupancy bitmap: loads are one read, and the
 * lowest free index (pci_ims_alloc_irq() allocates one slot at a time) and
 * the next entry skip occupied stretches a word at a time.
 */
export class msi_xarray {
  /** Descriptors by index (a hole where there is none). */
  private readonly slots: (msi_desc | undefined)[] = [];
  /** The occupied indices, for the lowest free index and the next entry. */
  private readonly used = new SparseIrqBitmap(2 ** 31, 64);
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** xa_load() */
  load(index: number): msi_desc | undefined {
    return this.slots[index];
  }

  has(index: number): boolean {
    return this.slots[index] !== undefined;
  }

  /** xa_insert(): -EBUSY if the index is occupied. */
  insert(index: number, desc: msi_desc): number {
    if (this.slots[index] !== undefined) return -EBUSY;
    this.slots[index] = desc;
    this.used.set(index, 1);
    this.count++;
    return 0;
  }

  /** xa_erase() */
  erase(index: number): void {
    if (this.slots[index] === undefined) return;
    this.slots[index] = undefined;
    this.used.clear(index, 1);
    this.count--;
    let top = this.slots.length;
    while (top > 0 && this.slots[top - 1] === undefined) top--;
    if (top < this.slots.length) this.slots.length = top;
  }

  /** xa_alloc() within [min, max]: the lowest free index, or -EBUSY. */
  alloc(min: number, max: number): number {
    const want = this.used.findFreeArea(min, 1);
    return want >= 0 && want <= max ? want : -EBUSY;
  }

  /** xa_find(): the first stored entry at an index >= `start`. */
  find(start: number): [number, msi_desc] | null {
    const index = this.used.findNextSet(start);
    if (index < 0) return null;
    return [index, this.slots[index]!];
  }

  /** The stored descriptors, ascending by index. */
  values(): msi_desc[] {
    const out: msi_desc[] = [];
    for (const d of this.slots) if (d) out.push(d);
    return out;
  }
}

/** struct msi_dev_domain */
interface msi_dev_domain {
  store: msi_xarray;
  domain: irq_domain | null;
}

/** struct msi_device_data (C30) */
export interface msi_device_data {
  properties: number;
  mutex: mutex;
  __domains: msi_dev_domain[];
  __iter_idx: number;
}

/** struct msi_ctrl */
export interface msi_ctrl {
  domid: number;
  first: number;
  last: number;
  nirqs: number;
}

// Exported for the device domain code in msi_domain.ts.
export function md(dev: device): msi_device_data | null {
  return dev.msi.data as msi_device_data | null;
}

// kernel/irq/msi.c: msi_setup_device_data() (C30)
export function msi_setup_device_data(dev: device): number {
  if (dev.msi.data) return 0;
  const data: msi_device_data = {
    properties: 0,
    mutex: new mutex("&md->mutex"),
    __domains: Array.from({ length: MSI_MAX_DEVICE_IRQDOMAINS }, () => ({ store: new msi_xarray(), domain: null })),
    __iter_idx: MSI_XA_MAX_INDEX,
  };
  // If @dev::msi::domain is set and is a global MSI domain, copy the
  // pointer into the domain array so all code can operate on domain ids.
  const dom = dev.msi.domain as irq_domain | null;
  if (dom && !(dom.flags & IRQ_DOMAIN_FLAG_MSI_PARENT)) data.__domains[MSI_DEFAULT_DOMAIN]!.domain = dom;
  dev.msi.data = data;
  return 0;
}

// lockdep's "at:" of the descriptor mutex (named: taken twice per allocation)
const msi_lock_descs_ip = site_of(msi_lock_descs);

// kernel/irq/msi.c: msi_lock_descs(): may sleep only when contended
export function msi_lock_descs(dev: device): Promise<void> | void {
  return __mutex_lock(md(dev)!.mutex, 0, msi_lock_descs_ip);
}

// kernel/irq/msi.c: msi_unlock_descs()
export function msi_unlock_descs(dev: device): void {
  const d = md(dev)!;
  // Invalidate the index which was cached by the iterator
  d.__iter_idx = MSI_XA_MAX_INDEX;
  mutex_unlock(d.mutex);
}

/** lockdep_assert_held(&dev->msi.data->mutex) in kernel function `fn`. */
function lockdep_assert_held_descs(dev: device, fn: string): void {
  if (K.config.lockdep && K.debug_locks) WARN_ON(!lock_is_held(md(dev)!.mutex.dep_map), { fn, file: "kernel/irq/msi.c" });
}

// kernel/irq/msi.c: msi_alloc_desc() (C32)
export function msi_alloc_desc(dev: device, nvec: number, affinity: readonly irq_affinity_desc[] | null): msi_desc {
  const desc = new msi_desc(dev, nvec);
  if (affinity) desc.affinity = affinity.map((a) => ({ mask: a.mask, is_managed: a.is_managed }));
  return desc;
}

// kernel/irq/msi.c: msi_domain_get_hwsize(); descriptor mutex held
export function msi_domain_get_hwsize(dev: device, domid: number): number {
  // The lockdep assertion of the kernel's (static) msi_get_device_domain()
  lockdep_assert_held_descs(dev, "msi_get_device_domain");
  const domain = msi_get_device_domain(dev, domid);
  if (domain) return (domain.host_data as msi_domain_info).hwsize;
  // No domain, default to MSI_XA_DOMAIN_SIZE
  return MSI_XA_DOMAIN_SIZE;
}

// kernel/irq/msi.c: msi_insert_desc() (C33): frees the descriptor on failure
export function msi_insert_desc(dev: device, desc: msi_desc, domid: number, index: number): number {
  const xa = md(dev)!.__domains[domid]!.store;
  const hwsize = msi_domain_get_hwsize(dev, domid);
  if (index === MSI_ANY_INDEX) {
    // Let the xarray allocate a free index within the limit
    const i = xa.alloc(0, hwsize - 1);
    if (i < 0) return i;
    desc.msi_index = i;
    return xa.insert(i, desc);
  }
  if (index >= hwsize) return -ERANGE;
  desc.msi_index = index;
  return xa.insert(index, desc);
}

// kernel/irq/msi.c: msi_domain_insert_msi_desc()
export function msi_domain_insert_msi_desc(dev: device, domid: number, init_desc: msi_desc): number {
  lockdep_assert_held_descs(dev, "msi_domain_insert_msi_desc");
  const desc = msi_alloc_desc(dev, init_desc.nvec_used, init_desc.affinity);
  if (!desc) return -ENOMEM;
  // Copy type specific data to the new descriptor.
  desc.pci = structuredClonePci(init_desc.pci);
  return msi_insert_desc(dev, desc, domid, init_desc.msi_index);
}

function structuredClonePci(p: msi_desc["pci"]): msi_desc["pci"] {
  return { ...p, msi_attrib: { ...p.msi_attrib } };
}

// kernel/irq/msi.c: msi_desc_match() (C34)
function msi_desc_match(desc: msi_desc, filter: number): boolean {
  switch (filter) {
    case MSI_DESC_ALL:
      return true;
    case MSI_DESC_NOTASSOCIATED:
      return !desc.irq;
    case MSI_DESC_ASSOCIATED:
      return !!desc.irq;
  }
  WARN_ON_ONCE(1, { fn: "msi_desc_match" });
  return false;
}

// kernel/irq/msi.c: msi_ctrl_valid() (C35)
export function msi_ctrl_valid(dev: device, ctrl: msi_ctrl): boolean {
  if (WARN_ON_ONCE(ctrl.domid >= MSI_MAX_DEVICE_IRQDOMAINS || (dev.msi.domain && !md(dev)!.__domains[ctrl.domid]!.domain), { fn: "msi_ctrl_valid" })) return false;
  const hwsize = msi_domain_get_hwsize(dev, ctrl.domid);
  if (WARN_ON_ONCE(ctrl.first > ctrl.last || ctrl.first >= hwsize || ctrl.last >= hwsize, { fn: "msi_ctrl_valid", line: 2 })) return false;
  return true;
}

/** The stored descriptors of a domain in [first, last], ascending (xa_for_each_range()). */
export function msi_descs_in_range(dev: device, domid: number, first: number, last: number): msi_desc[] {
  const xa = md(dev)?.__domains[domid]?.store;
  const out: msi_desc[] = [];
  if (!xa) return out;
  for (let e = xa.find(first); e && e[0] <= last; e = xa.find(e[0] + 1)) out.push(e[1]);
  return out;
}

// kernel/irq/msi.c: msi_domain_free_descs(); descriptor mutex held (C36)
function msi_domain_free_descs(dev: device, ctrl: msi_ctrl): void {
  lockdep_assert_held_descs(dev, "msi_domain_free_descs");
  if (!msi_ctrl_valid(dev, ctrl)) return;
  const xa = md(dev)!.__domains[ctrl.domid]!.store;
  for (const desc of msi_descs_in_range(dev, ctrl.domid, ctrl.first, ctrl.last)) {
    xa.erase(desc.msi_index);
    // Leak the descriptor when it is still referenced
    if (WARN_ON_ONCE(msi_desc_match(desc, MSI_DESC_ASSOCIATED), { fn: "msi_domain_free_descs" })) continue;
  }
}

// kernel/irq/msi.c: msi_domain_free_msi_descs_range() (C36)
export function msi_domain_free_msi_descs_range(dev: device, domid: number, first: number, last: number): void {
  msi_domain_free_descs(dev, { domid, first, last, nirqs: 0 });
}

export function msi_free_msi_descs(dev: device): void {
  msi_domain_free_msi_descs_range(dev, MSI_DEFAULT_DOMAIN, 0, MSI_MAX_INDEX);
}

// kernel/irq/msi.c: msi_domain_add_simple_msi_descs() (C36)
export function msi_domain_add_simple_msi_descs(dev: device, ctrl: msi_ctrl): number {
  lockdep_assert_held_descs(dev, "msi_domain_add_simple_msi_descs");
  if (!msi_ctrl_valid(dev, ctrl)) return -EINVAL;
  for (let idx = ctrl.first; idx <= ctrl.last; idx++) {
    const desc = msi_alloc_desc(dev, 1, null);
    const ret = msi_insert_desc(dev, desc, ctrl.domid, idx);
    if (ret) {
      // the whole range goes, descriptors stored before this call included
      msi_domain_free_descs(dev, ctrl);
      return ret;
    }
  }
  return 0;
}

// kernel/irq/msi.c: msi_find_desc(): from the cursor on
function msi_find_desc(d: msi_device_data, domid: number, filter: number): msi_desc | null {
  const xa = d.__domains[domid]!.store;
  for (let e = xa.find(d.__iter_idx); e; e = xa.find(e[0] + 1)) {
    d.__iter_idx = e[0];
    if (msi_desc_match(e[1], filter)) return e[1];
  }
  d.__iter_idx = MSI_XA_MAX_INDEX;
  return null;
}

// kernel/irq/msi.c: msi_domain_first_desc(); descriptor mutex held (C34)
export function msi_domain_first_desc(dev: device, domid: number, filter: number): msi_desc | null {
  const d = md(dev);
  if (WARN_ON_ONCE(!d || domid >= MSI_MAX_DEVICE_IRQDOMAINS, { fn: "msi_domain_first_desc" })) return null;
  lockdep_assert_held_descs(dev, "msi_domain_first_desc");
  d!.__iter_idx = 0;
  return msi_find_desc(d!, domid, filter);
}

// kernel/irq/msi.c: msi_next_desc(); descriptor mutex held (C34)
export function msi_next_desc(dev: device, domid: number, filter: number): msi_desc | null {
  const d = md(dev);
  if (WARN_ON_ONCE(!d || domid >= MSI_MAX_DEVICE_IRQDOMAINS, { fn: "msi_next_desc" })) return null;
  lockdep_assert_held_descs(dev, "msi_next_desc");
  if (d!.__iter_idx >= MSI_MAX_INDEX) return null;
  d!.__iter_idx++;
  return msi_find_desc(d!, domid, filter);
}

/** msi_domain_for_each_desc(desc, dev, domid, filter) as an iterator (C34). */
export function* msi_domain_for_each_desc(dev: device, domid: number, filter: number): Generator<msi_desc> {
  for (let desc = msi_domain_first_desc(dev, domid, filter); desc; desc = msi_next_desc(dev, domid, filter)) yield desc;
}

/** msi_for_each_desc(desc, dev, filter) */
export function msi_for_each_desc(dev: device, filter: number): Generator<msi_desc> {
  return msi_domain_for_each_desc(dev, MSI_DEFAULT_DOMAIN, filter);
}

/** msi_first_desc(dev, filter) */
export function msi_first_desc(dev: device, filter: number): msi_desc | null {
  return msi_domain_first_desc(dev, MSI_DEFAULT_DOMAIN, filter);
}

// kernel/irq/msi.c: msi_domain_get_virq() (C37). The kernel takes the
// descriptor mutex around the lookup; irqlab's callers are synchronous
// (pci_irq_vector()), so the lookup is done without it.
export function msi_domain_get_virq(dev: device, domid: number, index: number): number {
  const d = md(dev);
  if (!d) return 0;
  if (WARN_ON_ONCE(index > MSI_MAX_INDEX || domid >= MSI_MAX_DEVICE_IRQDOMAINS, { fn: "msi_domain_get_virq" })) return 0;
  // This check is only valid for the PCI default MSI domain
  const pcimsi = domid === MSI_DEFAULT_DOMAIN && isPciMsiEnabled(dev);
  const desc = d.__domains[domid]!.store.load(pcimsi ? 0 : index);
  if (!desc || !desc.irq) return 0;
  // PCI-MSI has only one descriptor for multiple interrupts. PCI-MSIX and
  // platform MSI use a descriptor per interrupt.
  if (!pcimsi) return desc.irq;
  return index < desc.nvec_used ? desc.irq + index : 0;
}

/** Hook: does the device have plain PCI MSI (not MSI-X) enabled? Set by the PCI core. */
let pciMsiEnabled: (dev: device) => boolean = () => false;
export function set_pci_msi_enabled_hook(fn: (dev: device) => boolean): void {
  pciMsiEnabled = fn;
}
function isPciMsiEnabled(dev: device): boolean {
  return pciMsiEnabled(dev);
}

export function msi_get_virq(dev: device, index: number): number {
  return msi_domain_get_virq(dev, MSI_DEFAULT_DOMAIN, index);
}

// kernel/irq/msi.c: msi_get_device_domain() (C37). Static in the kernel,
// where it asserts the descriptor mutex; irqlab exports it so tests can
// inspect a device's domains, and asserts the mutex in
// msi_domain_get_hwsize(), the path that reaches it outside the lock.
export function msi_get_device_domain(dev: device, domid: number): irq_domain | null {
  if (WARN_ON_ONCE(domid >= MSI_MAX_DEVICE_IRQDOMAINS, { fn: "msi_get_device_domain" })) return null;
  const domain = md(dev)?.__domains[domid]?.domain ?? null;
  if (!domain) return null;
  if (WARN_ON_ONCE(domain.flags & IRQ_DOMAIN_FLAG_MSI_PARENT, { fn: "msi_get_device_domain", line: 2 })) return null;
  return domain;
}

// kernel/irq/msi.c: get_cached_msi_msg()
export function get_cached_msi_msg(irq: number, msg: msi_msg): void {
  const entry = irq_to_desc(irq)?.irq_common_data.msi_desc;
  if (!entry) return;
  msg.address_lo = entry.msg.address_lo;
  msg.address_hi = entry.msg.address_hi;
  msg.data = entry.msg.data;
}

export function msi_get_domain_info(domain: irq_domain): msi_domain_info {
  return domain.host_data as msi_domain_info;
}

/** Is the interrupt of `d` managed (for msi_init_virq())? */
export function irqd_managed(d: irq_data): boolean {
  return (d.common.state_use_accessors & IRQD_AFFINITY_MANAGED) !== 0;
}

export type { cpumask };
