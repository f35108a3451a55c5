// SPDX-License-Identifier: GPL-2.0-only
// kernel/irq/irqdomain.c, include/linux/irqdomain.h and irqdomain_defs.h:
// interrupt domains and hierarchies. This file has domain creation, naming,
// lookup and the debugfs domain files; the reverse map and the
// associate/map path are in irqdomain_map.ts, the hierarchical allocation,
// free and activation path is in irqdomain_hier.ts, both re-exported here.
//
// Everything that takes irq_domain_mutex or a domain's root mutex may sleep:
// it returns its result, or a promise of it only when it really slept
// (lib/kernel/sleepable.ts), so with nothing contended its effects are
// complete when it returns. Messages printed with
// pr_*() carry the file's pr_fmt prefix "irq: "; WARN() texts do not (the
// kernel's WARN does not apply pr_fmt).

import { site_of } from "../kernel/stacktrace.ts";
import { K, state_accessor } from "../kernel/kernel.ts";
import { mutex, __mutex_lock, mutex_unlock } from "../kernel/mutex.ts";
import { lock_is_held } from "../kernel/lockdep.ts";
import { EINVAL } from "../kernel/errno.ts";
import { WARN_ON } from "../kernel/bug.ts";
import { pr_debug, pr_err, pr_info } from "../kernel/printk.ts";
import { sprintf } from "../kernel/vsprintf.ts";
import { sleepable, type Sleepable } from "../kernel/sleepable.ts";
import type { irq_data } from "./irq.ts";
import type { seq_file } from "./irq.ts";
import { irq_alloc_descs } from "./irqdesc.ts";
import type { msi_parent_ops } from "./msi_types.ts";
import { trace_domain_op } from "./trace.ts";
import { RevmapTree } from "./irqdomain_revmap.ts";
import { irq_domain_associate_many_g } from "./irqdomain_map.ts";

// lockdep's "at:" (the _RET_IP_) of the locks the functions below take
const irq_domain_lock_ip = site_of(irq_domain_lock);

// One import place for the whole of irqdomain.c, as linux/irqdomain.h is.
export * from "./irqdomain_map.ts";
export * from "./irqdomain_hier.ts";

/* include/linux/irqdomain_defs.h: enum irq_domain_bus_token, v6.2..v6.9 set (C24) */
export const DOMAIN_BUS_ANY = 0;
export const DOMAIN_BUS_WIRED = 1;
export const DOMAIN_BUS_GENERIC_MSI = 2;
export const DOMAIN_BUS_PCI_MSI = 3;
export const DOMAIN_BUS_PLATFORM_MSI = 4;
export const DOMAIN_BUS_NEXUS = 5;
export const DOMAIN_BUS_IPI = 6;
export const DOMAIN_BUS_FSL_MC_MSI = 7;
export const DOMAIN_BUS_TI_SCI_INTA_MSI = 8;
export const DOMAIN_BUS_WAKEUP = 9;
export const DOMAIN_BUS_VMD_MSI = 10;
export const DOMAIN_BUS_PCI_DEVICE_MSI = 11;
export const DOMAIN_BUS_PCI_DEVICE_MSIX = 12;
export const DOMAIN_BUS_DMAR = 13;
export const DOMAIN_BUS_AMDVI = 14;
export const DOMAIN_BUS_PCI_DEVICE_IMS = 15;

/* include/linux/irqdomain.h: domain flags (C23) */
export const IRQ_DOMAIN_FLAG_HIERARCHY = 1 << 0;
export const IRQ_DOMAIN_NAME_ALLOCATED = 1 << 1;
export const IRQ_DOMAIN_FLAG_IPI_PER_CPU = 1 << 2;
export const IRQ_DOMAIN_FLAG_IPI_SINGLE = 1 << 3;
export const IRQ_DOMAIN_FLAG_MSI = 1 << 4;
export const IRQ_DOMAIN_FLAG_ISOLATED_MSI = 1 << 5;
export const IRQ_DOMAIN_FLAG_NO_MAP = 1 << 6;
export const IRQ_DOMAIN_FLAG_MSI_PARENT = 1 << 8;
export const IRQ_DOMAIN_FLAG_MSI_DEVICE = 1 << 9;
export const IRQ_DOMAIN_FLAG_DESTROY_GC = 1 << 10;
export const IRQ_DOMAIN_FLAG_NONCORE = 1 << 16;

/** struct fwnode_handle, reduced to irqchip fwnodes (kernel/irq/irqdomain.c: struct irqchip_fwid). */
export interface fwnode_handle {
  type: "named" | "named_id" | "real" | "of" | "swnode";
  name: string;
  id?: number;
}

/** struct irq_fwspec */
export interface irq_fwspec {
  fwnode: fwnode_handle | null;
  param_count: number;
  param: number[];
}

/** struct irq_domain_ops */
export interface irq_domain_ops {
  match?: (d: irq_domain, node: fwnode_handle | null, bus_token: number) => number;
  select?: (d: irq_domain, fwspec: irq_fwspec, bus_token: number) => number;
  map?: (d: irq_domain, virq: number, hw: number) => number;
  unmap?: (d: irq_domain, virq: number) => void;
  xlate?: (d: irq_domain, node: fwnode_handle | null, intspec: number[], intsize: number, out: { hwirq: number; type: number }) => number;
  alloc?: (d: irq_domain, virq: number, nr_irqs: number, arg: unknown) => number;
  free?: (d: irq_domain, virq: number, nr_irqs: number) => void;
  activate?: (d: irq_domain, irqd: irq_data, reserve: boolean) => number;
  deactivate?: (d: irq_domain, irqd: irq_data) => void;
  translate?: (d: irq_domain, fwspec: irq_fwspec, out: { hwirq: number; type: number }) => number;
  debug_show?: (m: seq_file, d: irq_domain | null, irqd: irq_data | null, ind: number) => void;
}

/** struct irq_domain */
export class irq_domain {
  name = "";
  ops: irq_domain_ops = {};
  host_data: unknown = null;
  flags = 0;
  mapcount = 0;
  root: irq_domain = this;
  bus_token = DOMAIN_BUS_ANY;
  parent: irq_domain | null = null;
  msi_parent_ops: msi_parent_ops | null = null;
  exit: ((d: irq_domain) => void) | null = null;
  hwirq_max = 0;
  revmap_size = 0;
  /** Radix tree part of the reverse map: hwirq -> irq_data of this domain's level. */
  readonly revmap_tree = new RevmapTree<irq_data>();
  /** Linear part of the reverse map. */
  revmap: (irq_data | null)[] = [];
  fwnode: fwnode_handle | null = null;
  dev: unknown = null;
  pm_dev: unknown = null;
  /** domain->mutex (only the root's is used: all domains of a hierarchy share it). */
  mutex: mutex | null = null;
}

/** struct irq_domain_info (C1). Generic chips (dgc_info) are not modelled. */
export interface irq_domain_info {
  fwnode?: fwnode_handle | null;
  domain_flags?: number;
  size?: number;
  hwirq_max?: number;
  direct_max?: number;
  hwirq_base?: number;
  virq_base?: number;
  bus_token?: number;
  name_suffix?: string | null;
  ops: irq_domain_ops;
  host_data?: unknown;
  parent?: irq_domain | null;
  init?: ((d: irq_domain) => number) | null;
  exit?: ((d: irq_domain) => void) | null;
}

/** ERR_PTR(): where C returns an error pointer irqlab returns the negative errno. */
export function IS_ERR<T>(p: T | number): p is number {
  return typeof p === "number";
}
export function PTR_ERR(p: number): number {
  return p;
}

/* ~0U and ~0UL as hwirq limits */
export const UINT_MAX = 0xffffffff;
export const ULONG_MAX = 2 ** 64 - 1;
export const NUMA_NO_NODE = -1;

/* include/linux/irqdomain.h: irqchip fwnode types */
export const IRQCHIP_FWNODE_REAL = 0;
export const IRQCHIP_FWNODE_NAMED = 1;
export const IRQCHIP_FWNODE_NAMED_ID = 2;

const pr_fmt = (fmt: string): string => "irq: " + fmt;

export interface DomainState {
  /** irq_domain_list, head first. */
  list: irq_domain[];
  irq_domain_mutex: mutex;
  irq_default_domain: irq_domain | null;
  unknown_domains: number;
  /** /sys/kernel/debug/irq/domains/<name> */
  debugfs: Map<string, irq_domain>;
  /** CONFIG_IRQ_DOMAIN_NOMAP */
  nomap: boolean;
}

/** Per-machine state of the domain code (irqdomain.c's globals). */
const irq_domain_state_state = state_accessor("irq_domain", () => ({
  list: [] as irq_domain[],
  irq_domain_mutex: new mutex("irq_domain_mutex"),
  irq_default_domain: null as irq_domain | null,
  unknown_domains: 0,
  debugfs: new Map<string, irq_domain>(),
  // x86 does not select IRQ_DOMAIN_NOMAP; irqlab builds it in so that
  // direct-mapped controllers can be prototyped (irq_domain_set_nomap_config()).
  nomap: true,
}));
export function irq_domain_state(): DomainState {
  return irq_domain_state_state();
}

/** CONFIG_IRQ_DOMAIN_NOMAP of this machine (irqlab: on unless switched off). */
export function irq_domain_set_nomap_config(on: boolean): void {
  irq_domain_state().nomap = on;
}

export function irq_domain_lock(m: mutex): Promise<void> | void {
  return __mutex_lock(m, 0, irq_domain_lock_ip);
}

// include/linux/lockdep.h: lockdep_assert_held()
export function lockdep_assert_held(m: mutex | null): void {
  if (K.config.lockdep && K.debug_locks) WARN_ON(!m || !lock_is_held(m.dep_map));
}

/* ---------------------------------------------------------- predicates */

export function irq_domain_is_hierarchy(d: irq_domain): boolean {
  return (d.flags & IRQ_DOMAIN_FLAG_HIERARCHY) !== 0;
}
export function irq_domain_is_ipi(d: irq_domain): boolean {
  return (d.flags & (IRQ_DOMAIN_FLAG_IPI_PER_CPU | IRQ_DOMAIN_FLAG_IPI_SINGLE)) !== 0;
}
export function irq_domain_is_ipi_per_cpu(d: irq_domain): boolean {
  return (d.flags & IRQ_DOMAIN_FLAG_IPI_PER_CPU) !== 0;
}
export function irq_domain_is_ipi_single(d: irq_domain): boolean {
  return (d.flags & IRQ_DOMAIN_FLAG_IPI_SINGLE) !== 0;
}
export function irq_domain_is_msi(d: irq_domain): boolean {
  return (d.flags & IRQ_DOMAIN_FLAG_MSI) !== 0;
}
export function irq_domain_is_msi_parent(d: irq_domain): boolean {
  return (d.flags & IRQ_DOMAIN_FLAG_MSI_PARENT) !== 0;
}
export function irq_domain_is_msi_device(d: irq_domain): boolean {
  return (d.flags & IRQ_DOMAIN_FLAG_MSI_DEVICE) !== 0;
}
// kernel/irq/irqdomain.c: irq_domain_is_nomap()
export function irq_domain_is_nomap(d: irq_domain): boolean {
  return irq_domain_state().nomap && (d.flags & IRQ_DOMAIN_FLAG_NO_MAP) !== 0;
}

/* ---------------------------------------------------------- fwnodes, names */

export function is_fwnode_irqchip(f: fwnode_handle | null | undefined): boolean {
  return !!f && (f.type === "named" || f.type === "named_id" || f.type === "real");
}
function is_of_like(f: fwnode_handle): boolean {
  return f.type === "of" || f.type === "swnode";
}

// kernel/irq/irqdomain.c: __irq_domain_alloc_fwnode()
export function __irq_domain_alloc_fwnode(type: number, id: number, name: string | null, pa: number | null): fwnode_handle {
  switch (type) {
    case IRQCHIP_FWNODE_NAMED:
      return { type: "named", name: sprintf("%s", name) };
    case IRQCHIP_FWNODE_NAMED_ID:
      return { type: "named_id", name: sprintf("%s-%d", name, id), id };
    default:
      return { type: "real", name: sprintf("irqchip@%pa", pa ?? 0) };
  }
}
export function irq_domain_alloc_named_fwnode(name: string): fwnode_handle {
  return __irq_domain_alloc_fwnode(IRQCHIP_FWNODE_NAMED, 0, name, null);
}
export function irq_domain_alloc_named_id_fwnode(name: string, id: number): fwnode_handle {
  return __irq_domain_alloc_fwnode(IRQCHIP_FWNODE_NAMED_ID, id, name, null);
}
export function irq_domain_alloc_fwnode(pa: number): fwnode_handle {
  return __irq_domain_alloc_fwnode(IRQCHIP_FWNODE_REAL, 0, null, pa);
}

// kernel/irq/irqdomain.c: irq_domain_free_fwnode()
export function irq_domain_free_fwnode(fwnode: fwnode_handle | null): void {
  if (!fwnode || WARN_ON(!is_fwnode_irqchip(fwnode))) return;
}

// kernel/irq/irqdomain.c: alloc_name()
function alloc_name(domain: irq_domain, base: string, bus_token: number): number {
  domain.name = bus_token === DOMAIN_BUS_ANY ? sprintf("%s", base) : sprintf("%s-%d", base, bus_token);
  domain.flags |= IRQ_DOMAIN_NAME_ALLOCATED;
  return 0;
}

// kernel/irq/irqdomain.c: alloc_fwnode_name(): "%pfw" is the node's full name
function alloc_fwnode_name(domain: irq_domain, fwnode: fwnode_handle, bus_token: number, suffix: string | null | undefined): number {
  const sep = suffix ? "-" : "";
  const suf = suffix ?? "";
  const name =
    bus_token === DOMAIN_BUS_ANY ? sprintf("%s%s%s", fwnode.name, sep, suf) : sprintf("%s%s%s-%d", fwnode.name, sep, suf, bus_token);
  // fwnode paths contain '/', which debugfs is legitimately unhappy about.
  domain.name = name.replaceAll("/", ":");
  domain.flags |= IRQ_DOMAIN_NAME_ALLOCATED;
  return 0;
}

// kernel/irq/irqdomain.c: alloc_unknown_name()
function alloc_unknown_name(domain: irq_domain, bus_token: number): number {
  const id = ++irq_domain_state().unknown_domains;
  domain.name = bus_token === DOMAIN_BUS_ANY ? sprintf("unknown-%d", id) : sprintf("unknown-%d-%d", id, bus_token);
  domain.flags |= IRQ_DOMAIN_NAME_ALLOCATED;
  return 0;
}

// kernel/irq/irqdomain.c: irq_domain_set_name() (C2)
function irq_domain_set_name(domain: irq_domain, info: irq_domain_info): number {
  const bus_token = info.bus_token ?? DOMAIN_BUS_ANY;
  const fwnode = info.fwnode ?? null;
  if (fwnode && is_fwnode_irqchip(fwnode)) {
    // name_suffix is for several domains of one real device node; an
    // irqchip fwnode already carries an explicit name.
    if (info.name_suffix) return -EINVAL;
    switch (fwnode.type) {
      case "named":
      case "named_id":
        return alloc_name(domain, fwnode.name, bus_token);
      default:
        domain.name = fwnode.name;
        if (bus_token !== DOMAIN_BUS_ANY) return alloc_name(domain, fwnode.name, bus_token);
    }
  } else if (fwnode && is_of_like(fwnode)) {
    return alloc_fwnode_name(domain, fwnode, bus_token, info.name_suffix);
  }
  if (domain.name) return 0;
  if (fwnode) pr_err(pr_fmt("Invalid fwnode type for irqdomain\n"));
  return alloc_unknown_name(domain, bus_token);
}

/* ---------------------------------------------------------- creation */

// kernel/irq/irqdomain.c: __irq_domain_create()
function __irq_domain_create(info: irq_domain_info): irq_domain | number {
  const size = info.size ?? 0;
  const direct_max = info.direct_max ?? 0;
  const hwirq_max = info.hwirq_max ?? 0;
  if (WARN_ON((size && direct_max) || (!irq_domain_state().nomap && direct_max) || (direct_max && direct_max !== hwirq_max))) return -EINVAL;
  const domain = new irq_domain();
  const err = irq_domain_set_name(domain, info);
  if (err) return err;
  domain.fwnode = info.fwnode ?? null;
  domain.ops = info.ops;
  domain.host_data = info.host_data ?? null;
  domain.bus_token = info.bus_token ?? DOMAIN_BUS_ANY;
  domain.hwirq_max = hwirq_max;
  if (direct_max) domain.flags |= IRQ_DOMAIN_FLAG_NO_MAP;
  domain.revmap_size = size;
  domain.revmap = size ? new Array<irq_data | null>(size).fill(null) : [];
  // Hierarchical domains use the lock of the root (innermost) domain; a
  // root domain points at itself so &domain->root->mutex is always right.
  domain.mutex = new mutex("&domain->mutex");
  domain.root = domain;
  irq_domain_check_hierarchy(domain);
  return domain;
}

// kernel/irq/irqdomain.c: irq_domain_check_hierarchy() (C22)
function irq_domain_check_hierarchy(domain: irq_domain): void {
  // Hierarchy irq_domains must implement callback alloc()
  if (domain.ops.alloc) domain.flags |= IRQ_DOMAIN_FLAG_HIERARCHY;
}

// kernel/irq/irqdomain.c: __irq_domain_publish()
function* __irq_domain_publish(domain: irq_domain): Sleepable<void> {
  const s = irq_domain_state();
  yield irq_domain_lock(s.irq_domain_mutex);
  debugfs_add_domain_dir(domain);
  s.list.unshift(domain);
  mutex_unlock(s.irq_domain_mutex);
  pr_debug(pr_fmt("Added domain %s\n"), domain.name);
}

// kernel/irq/irqdomain.c: __irq_domain_instantiate()
function* __irq_domain_instantiate(info: irq_domain_info, cond_alloc_descs: boolean, force_associate: boolean): Sleepable<irq_domain | number> {
  const domain = __irq_domain_create(info);
  if (IS_ERR(domain)) return domain;
  domain.flags |= info.domain_flags ?? 0;
  domain.exit = info.exit ?? null;
  if (info.parent) {
    domain.root = info.parent.root;
    domain.parent = info.parent;
  }
  if (info.init) {
    const err = info.init(domain);
    if (err) return err;
  }
  yield* __irq_domain_publish(domain);
  const virq_base = info.virq_base ?? 0;
  const size = info.size ?? 0;
  if (cond_alloc_descs && virq_base > 0) {
    // kernel/irq/irqdomain.c: irq_domain_instantiate_descs()
    if (irq_alloc_descs(virq_base, virq_base, size, NUMA_NO_NODE) < 0)
      pr_info(pr_fmt("Cannot allocate irq_descs @ IRQ%d, assuming pre-allocated\n"), virq_base);
  }
  // Legacy interrupt domains have a fixed Linux interrupt number associated.
  // Other interrupt domains can request association by providing a Linux
  // interrupt number > 0.
  if (force_associate || virq_base > 0) {
    const hwirq_base = info.hwirq_base ?? 0;
    yield* irq_domain_associate_many_g(domain, virq_base, hwirq_base, size - hwirq_base);
  }
  return domain;
}

// kernel/irq/irqdomain.c: irq_domain_instantiate() (C1): a domain or a negative errno (ERR_PTR)
export function irq_domain_instantiate(info: irq_domain_info): irq_domain | number | Promise<irq_domain | number> {
  return sleepable(__irq_domain_instantiate(info, false, false));
}

/** The create_*() wrappers: NULL instead of an ERR_PTR. */
type domain_or_null = irq_domain | null | Promise<irq_domain | null>;

function* or_null(g: Sleepable<irq_domain | number>): Sleepable<irq_domain | null> {
  const d = yield* g;
  return IS_ERR(d) ? null : d;
}

// include/linux/irqdomain.h: irq_domain_create_linear() (C3)
export function irq_domain_create_linear(fwnode: fwnode_handle | null, size: number, ops: irq_domain_ops, host_data: unknown): domain_or_null {
  return sleepable(or_null(__irq_domain_instantiate({ fwnode, size, hwirq_max: size, ops, host_data }, false, false)));
}

// include/linux/irqdomain.h: irq_domain_create_tree()
export function irq_domain_create_tree(fwnode: fwnode_handle | null, ops: irq_domain_ops, host_data: unknown): domain_or_null {
  return sleepable(or_null(__irq_domain_instantiate({ fwnode, hwirq_max: ULONG_MAX, ops, host_data }, false, false)));
}

// include/linux/irqdomain.h: irq_domain_create_nomap()
export function irq_domain_create_nomap(fwnode: fwnode_handle | null, max_irq: number, ops: irq_domain_ops, host_data: unknown): domain_or_null {
  return sleepable(or_null(__irq_domain_instantiate({ fwnode, hwirq_max: max_irq, direct_max: max_irq, ops, host_data }, false, false)));
}

// kernel/irq/irqdomain.c: irq_domain_create_simple()
export function irq_domain_create_simple(
  fwnode: fwnode_handle | null,
  size: number,
  first_irq: number,
  ops: irq_domain_ops,
  host_data: unknown,
): domain_or_null {
  return sleepable(or_null(__irq_domain_instantiate({ fwnode, size, hwirq_max: size, virq_base: first_irq, ops, host_data }, true, false)));
}

// kernel/irq/irqdomain.c: irq_domain_create_legacy()
export function irq_domain_create_legacy(
  fwnode: fwnode_handle | null,
  size: number,
  first_irq: number,
  first_hwirq: number,
  ops: irq_domain_ops,
  host_data: unknown,
): domain_or_null {
  const info = { fwnode, size: first_hwirq + size, hwirq_max: first_hwirq + size, hwirq_base: first_hwirq, virq_base: first_irq, ops, host_data };
  return sleepable(or_null(__irq_domain_instantiate(info, false, true)));
}

// kernel/irq/irqdomain.c: irq_domain_create_hierarchy()
export function irq_domain_create_hierarchy(
  parent: irq_domain | null,
  flags: number,
  size: number,
  fwnode: fwnode_handle | null,
  ops: irq_domain_ops,
  host_data: unknown,
): domain_or_null {
  const info: irq_domain_info = { fwnode, size, hwirq_max: size ? size : UINT_MAX, ops, host_data, domain_flags: flags, parent };
  return sleepable(or_null(__irq_domain_instantiate(info, false, false)));
}

// kernel/irq/irqdomain.c: irq_domain_remove() (C4)
function* irq_domain_remove_g(domain: irq_domain): Sleepable<void> {
  const s = irq_domain_state();
  if (domain.exit) domain.exit(domain);
  yield irq_domain_lock(s.irq_domain_mutex);
  debugfs_remove_domain_dir(domain);
  // Only the radix tree is checked: stale linear revmap entries go unnoticed.
  WARN_ON(domain.revmap_tree.size !== 0);
  const i = s.list.indexOf(domain);
  if (i >= 0) s.list.splice(i, 1);
  // If the going away domain is the default one, reset it.
  if (s.irq_default_domain === domain) irq_set_default_domain(null);
  mutex_unlock(s.irq_domain_mutex);
  pr_debug(pr_fmt("Removed domain %s\n"), domain.name);
  domain.fwnode = null;
}

export function irq_domain_remove(domain: irq_domain): void | Promise<void> {
  return sleepable(irq_domain_remove_g(domain));
}

// kernel/irq/irqdomain.c: irq_domain_update_bus_token()
function* irq_domain_update_bus_token_g(domain: irq_domain, bus_token: number): Sleepable<void> {
  if (domain.bus_token === bus_token) return;
  const s = irq_domain_state();
  yield irq_domain_lock(s.irq_domain_mutex);
  domain.bus_token = bus_token;
  const name = sprintf("%s-%d", domain.name, bus_token);
  debugfs_remove_domain_dir(domain);
  domain.flags |= IRQ_DOMAIN_NAME_ALLOCATED;
  domain.name = name;
  debugfs_add_domain_dir(domain);
  mutex_unlock(s.irq_domain_mutex);
}

export function irq_domain_update_bus_token(domain: irq_domain, bus_token: number): void | Promise<void> {
  return sleepable(irq_domain_update_bus_token_g(domain, bus_token));
}

/* ---------------------------------------------------------- lookup */

// kernel/irq/irqdomain.c: irq_find_matching_fwspec() (C5)
export function* irq_find_matching_fwspec_g(fwspec: irq_fwspec, bus_token: number): Sleepable<irq_domain | null> {
  const s = irq_domain_state();
  const fwnode = fwspec.fwnode;
  let found: irq_domain | null = null;
  yield irq_domain_lock(s.irq_domain_mutex);
  for (const h of s.list) {
    let rc: number | boolean;
    const { select, match } = h.ops;
    if (select && bus_token !== DOMAIN_BUS_ANY) rc = trace_domain_op("select", h, 0, 0, () => select.call(h.ops, h, fwspec, bus_token));
    else if (match) rc = trace_domain_op("match", h, 0, 0, () => match.call(h.ops, h, to_of_node(fwnode), bus_token));
    else rc = fwnode !== null && h.fwnode === fwnode && (bus_token === DOMAIN_BUS_ANY || h.bus_token === bus_token);
    if (rc) {
      found = h;
      break;
    }
  }
  mutex_unlock(s.irq_domain_mutex);
  return found;
}

export function irq_find_matching_fwspec(fwspec: irq_fwspec, bus_token: number): irq_domain | null | Promise<irq_domain | null> {
  return sleepable(irq_find_matching_fwspec_g(fwspec, bus_token));
}

// include/linux/irqdomain.h: irq_find_matching_fwnode()
export function irq_find_matching_fwnode(fwnode: fwnode_handle | null, bus_token: number): irq_domain | null | Promise<irq_domain | null> {
  return irq_find_matching_fwspec({ fwnode, param_count: 0, param: [] }, bus_token);
}

// include/linux/of.h: to_of_node(): the node only if it is an OF node
export function to_of_node(f: fwnode_handle | null): fwnode_handle | null {
  return f && f.type === "of" ? f : null;
}

// include/linux/of.h: of_node_full_name()
export function of_node_full_name(np: fwnode_handle | null): string {
  return np ? np.name : "<no-node>";
}

// kernel/irq/irqdomain.c: irq_set_default_domain()
export function irq_set_default_domain(domain: irq_domain | null): void {
  pr_debug(pr_fmt("Default domain set to @0x%p\n"), domain);
  irq_domain_state().irq_default_domain = domain;
}

// kernel/irq/irqdomain.c: irq_get_default_domain()
export function irq_get_default_domain(): irq_domain | null {
  return irq_domain_state().irq_default_domain;
}

/** Every published domain, newest first (irq_domain_list). */
export function irq_domain_list(): readonly irq_domain[] {
  return irq_domain_state().list;
}

/* ---------------------------------------------------------- debugfs domain files */

// kernel/irq/irqdomain.c: debugfs_add_domain_dir(): a name that exists already gets no file
function debugfs_add_domain_dir(d: irq_domain): void {
  const files = irq_domain_state().debugfs;
  if (!d.name || d.name === "default" || files.has(d.name)) return;
  files.set(d.name, d);
}

// kernel/irq/irqdomain.c: debugfs_remove_domain_dir(): debugfs_lookup_and_remove() goes by name
function debugfs_remove_domain_dir(d: irq_domain): void {
  irq_domain_state().debugfs.delete(d.name);
}

/** The domain behind /sys/kernel/debug/irq/domains/<name>; undefined when there is no such file. */
export function irq_domain_debugfs_lookup(name: string): irq_domain | undefined {
  return irq_domain_state().debugfs.get(name);
}

/** The file names of /sys/kernel/debug/irq/domains/ besides "default". */
export function irq_domain_debugfs_names(): string[] {
  return [...irq_domain_state().debugfs.keys()].sort();
}
