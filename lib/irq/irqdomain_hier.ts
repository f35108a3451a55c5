// SPDX-License-Identifier: GPL-2.0-only
// kernel/irq/irqdomain.c, CONFIG_IRQ_DOMAIN_HIERARCHY part: allocating,
// freeing (C14-C19) and activating (C20, C21) interrupts through a stack of
// domains.
//
// One irq_data per hierarchy level: the outermost is embedded in the
// descriptor, the inner ones are allocated here and chained through
// parent_data. Allocation and free run under the root domain's mutex.

import { ENOENT, EBUSY, EINVAL, ENOSYS, ENOTCONN } from "../kernel/errno.ts";
import { mutex_unlock } from "../kernel/mutex.ts";
import { may_sleep, sleepable, type Sleepable } from "../kernel/sleepable.ts";
import { WARN, WARN_ON } from "../kernel/bug.ts";
import { pr_debug, pr_info } from "../kernel/printk.ts";
import { irq_data, irq_data as irq_data_struct, irqd_clr_activated, irqd_is_activated, irqd_set_activated, IRQ_NOREQUEST, type irq_chip } from "./irq.ts";
import { irq_free_descs, irq_get_irq_data, irq_to_desc, type irq_flow_handler_t } from "./irqdesc.ts";
import type { irq_affinity_desc } from "./interrupt.ts";
import {
  __irq_set_handler,
  irq_clear_status_flags,
  irq_data_set_chip,
  irq_set_chip_and_handler,
  irq_set_handler,
  irq_set_handler_data,
  irq_set_status_flags,
} from "./chip.ts";
import { synchronize_irq } from "./manage.ts";
import { irq_chip_orig, trace_domain_op } from "./trace.ts";
import {
  irq_domain_is_hierarchy,
  irq_domain_is_msi_device,
  irq_domain_lock,
  irq_domain_msi_hooks,
  irq_domain_state,
  type irq_domain,
} from "./irqdomain.ts";
import { irq_domain_alloc_descs, irq_domain_clear_mapping, irq_domain_fix_revmap, irq_domain_get_irq_data, irq_domain_set_mapping } from "./irqdomain_map.ts";

const pr_fmt = (fmt: string): string => "irq: " + fmt;

/** The chip of a freshly allocated inner level: C's NULL (irq.ts types chip as non-null). */
const NULL_CHIP = null as unknown as irq_chip;

/* ---------------------------------------------------------- ERR_PTR chips (C18) */

const err_chips = new Map<number, irq_chip>();

/** ERR_PTR(err) as a chip pointer, as irq_domain_disconnect_hierarchy() stores it. */
export function irq_chip_err_ptr(err: number): irq_chip {
  let c = err_chips.get(err);
  if (!c) {
    c = Object.freeze({ name: `ERR_PTR(${err})` });
    err_chips.set(err, c);
  }
  return c;
}

/** PTR_ERR(chip) of an ERR_PTR chip, or 0 for a real chip or NULL. */
export function irq_chip_ptr_err(chip: irq_chip | null): number {
  if (!chip) return 0;
  const o = irq_chip_orig(chip);
  for (const [err, c] of err_chips) if (c === o) return err;
  return 0;
}

/* ---------------------------------------------------------- irq_data chains */

// kernel/irq/irqdomain.c: irq_domain_insert_irq(): every level gets a revmap entry and a mapcount
function irq_domain_insert_irq(virq: number): void {
  for (let data = irq_get_irq_data(virq); data; data = data.parent_data) {
    const domain = data.domain!;
    domain.mapcount++;
    irq_domain_set_mapping(domain, data.hwirq, data);
  }
  irq_clear_status_flags(virq, IRQ_NOREQUEST);
}

// kernel/irq/irqdomain.c: irq_domain_remove_irq()
function* irq_domain_remove_irq(virq: number): Sleepable<void> {
  irq_set_status_flags(virq, IRQ_NOREQUEST);
  irq_set_chip_and_handler(virq, null, null);
  yield synchronize_irq(virq);
  for (let data = irq_get_irq_data(virq); data; data = data.parent_data) {
    const domain = data.domain!;
    domain.mapcount--;
    irq_domain_clear_mapping(domain, data.hwirq);
  }
}

// kernel/irq/irqdomain.c: irq_domain_insert_irq_data(): a zeroed level for `domain` under `child`
function irq_domain_insert_irq_data(domain: irq_domain, child: irq_data): irq_data {
  const d = new irq_data(child.irq, child.common, NULL_CHIP);
  d.domain = domain;
  child.parent_data = d;
  return d;
}

// kernel/irq/irqdomain.c: irq_domain_free_irq_data(): the inner levels go, the embedded one is cut loose
function irq_domain_free_irq_data(virq: number, nr_irqs: number): void {
  for (let i = 0; i < nr_irqs; i++) {
    const d = irq_get_irq_data(virq + i);
    if (!d) continue;
    d.parent_data = null;
    d.domain = null;
  }
}

// kernel/irq/irqdomain.c: irq_domain_alloc_irq_data()
function irq_domain_alloc_irq_data(domain: irq_domain, virq: number, nr_irqs: number): number {
  // The outermost irq_data is embedded in struct irq_desc
  for (let i = 0; i < nr_irqs; i++) {
    let d = irq_get_irq_data(virq + i)!;
    d.domain = domain;
    for (let parent = domain.parent; parent; parent = parent.parent) d = irq_domain_insert_irq_data(parent, d);
  }
  return 0;
}

// kernel/irq/irqdomain.c: irq_domain_disconnect_hierarchy() (C18)
export function irq_domain_disconnect_hierarchy(domain: irq_domain, virq: number): number {
  const irqd = irq_domain_get_irq_data(domain, virq);
  if (!irqd) return -EINVAL;
  irqd.chip = irq_chip_err_ptr(-ENOTCONN);
  return 0;
}

// kernel/irq/irqdomain.c: irq_domain_trim_hierarchy()
function irq_domain_trim_hierarchy(virq: number): number {
  let irq_data = irq_get_irq_data(virq)!;
  let tail: irq_data | null = null;
  // The first entry must have a valid irqchip
  if (!irq_data.chip || irq_chip_ptr_err(irq_data.chip)) return -EINVAL;
  // Validate that the irq_data chain is sane in the presence of a hierarchy trimming marker.
  for (let irqd = irq_data.parent_data; irqd; irq_data = irqd, irqd = irqd.parent_data) {
    // Can't have a valid irqchip after a trim marker
    if (irqd.chip && tail) return -EINVAL;
    // Can't have an empty irqchip before a trim marker
    if (!irqd.chip && !tail) return -EINVAL;
    const err = irq_chip_ptr_err(irqd.chip);
    if (err) {
      // Only -ENOTCONN is a valid trim marker
      if (err !== -ENOTCONN) return -EINVAL;
      tail = irq_data;
    }
  }
  // No trim marker, nothing to do
  if (!tail) return 0;
  pr_info(pr_fmt("IRQ%d: trimming hierarchy from %s\n"), virq, tail.parent_data!.domain!.name);
  // Sever the inner part of the hierarchy...
  tail.parent_data = null;
  return 0;
}

/* ---------------------------------------------------------- per-level setters (C15) */

// kernel/irq/irqdomain.c: irq_domain_set_hwirq_and_chip()
export function irq_domain_set_hwirq_and_chip(domain: irq_domain, virq: number, hwirq: number, chip: irq_chip | null, chip_data: unknown): number {
  const d = irq_domain_get_irq_data(domain, virq);
  if (!d) return -ENOENT;
  d.hwirq = hwirq;
  irq_data_set_chip(d, chip);
  d.chip_data = chip_data;
  return 0;
}

// kernel/irq/irqdomain.c: irq_domain_set_info()
export function irq_domain_set_info(
  domain: irq_domain,
  virq: number,
  hwirq: number,
  chip: irq_chip | null,
  chip_data: unknown,
  handler: irq_flow_handler_t | null,
  handler_data: unknown,
  handler_name: string | null,
): void {
  irq_domain_set_hwirq_and_chip(domain, virq, hwirq, chip, chip_data);
  __irq_set_handler(virq, handler, false, handler_name);
  irq_set_handler_data(virq, handler_data);
}

// kernel/irq/irqdomain.c: irq_domain_reset_irq_data()
export function irq_domain_reset_irq_data(d: irq_data): void {
  d.hwirq = 0;
  irq_data_set_chip(d, null);
  d.chip_data = null;
}

// kernel/irq/irqdomain.c: irq_domain_free_irqs_common(): this level first, then the parent
export function irq_domain_free_irqs_common(domain: irq_domain, virq: number, nr_irqs: number): void {
  for (let i = 0; i < nr_irqs; i++) {
    const d = irq_domain_get_irq_data(domain, virq + i);
    if (d) irq_domain_reset_irq_data(d);
  }
  irq_domain_free_irqs_parent(domain, virq, nr_irqs);
}

// kernel/irq/irqdomain.c: irq_domain_free_irqs_top()
export function irq_domain_free_irqs_top(domain: irq_domain, virq: number, nr_irqs: number): void {
  for (let i = 0; i < nr_irqs; i++) {
    irq_set_handler_data(virq + i, null);
    irq_set_handler(virq + i, null);
  }
  irq_domain_free_irqs_common(domain, virq, nr_irqs);
}

/* ---------------------------------------------------------- ops->alloc / ops->free */

// kernel/irq/irqdomain.c: irq_domain_free_irqs_hierarchy(): ops->free one virq at a time (C16)
function irq_domain_free_irqs_hierarchy(domain: irq_domain, irq_base: number, nr_irqs: number): void {
  const free = domain.ops.free;
  if (!free) return;
  for (let i = 0; i < nr_irqs; i++) {
    const virq = irq_base + i;
    if (irq_domain_get_irq_data(domain, virq)) trace_domain_op("free", domain, virq, 1, () => free.call(domain.ops, domain, virq, 1));
  }
}

// kernel/irq/irqdomain.c: irq_domain_alloc_irqs_hierarchy()
export function irq_domain_alloc_irqs_hierarchy(domain: irq_domain, irq_base: number, nr_irqs: number, arg: unknown): number {
  const alloc = domain.ops.alloc;
  if (!alloc) {
    pr_debug(pr_fmt("domain->ops->alloc() is NULL\n"));
    return -ENOSYS;
  }
  return trace_domain_op("alloc", domain, irq_base, nr_irqs, () => alloc.call(domain.ops, domain, irq_base, nr_irqs, arg));
}

// kernel/irq/irqdomain.c: irq_domain_alloc_irqs_locked() (C14); root mutex held
export function irq_domain_alloc_irqs_locked(
  domain: irq_domain,
  irq_base: number,
  nr_irqs: number,
  node: number,
  arg: unknown,
  realloc: boolean,
  affinity: readonly irq_affinity_desc[] | null,
): number {
  let virq: number;
  if (realloc && irq_base >= 0) {
    virq = irq_base;
  } else {
    virq = irq_domain_alloc_descs(irq_base, nr_irqs, 0, node, affinity);
    if (virq < 0) {
      pr_debug(pr_fmt("cannot allocate IRQ(base %d, count %d)\n"), irq_base, nr_irqs);
      return virq;
    }
  }
  irq_domain_alloc_irq_data(domain, virq, nr_irqs);
  // The core never calls ops->free to undo a failed ops->alloc: a domain
  // whose parent allocation succeeded must undo it itself.
  let ret = irq_domain_alloc_irqs_hierarchy(domain, virq, nr_irqs, arg);
  if (ret < 0) return out_free_irq_data(virq, nr_irqs, ret);
  for (let i = 0; i < nr_irqs; i++) {
    ret = irq_domain_trim_hierarchy(virq + i);
    if (ret) return out_free_irq_data(virq, nr_irqs, ret);
  }
  for (let i = 0; i < nr_irqs; i++) irq_domain_insert_irq(virq + i);
  return virq;
}

function out_free_irq_data(virq: number, nr_irqs: number, ret: number): number {
  irq_domain_free_irq_data(virq, nr_irqs);
  irq_free_descs(virq, nr_irqs);
  return ret;
}

// kernel/irq/irqdomain.c: __irq_domain_alloc_irqs(): the first virq or a negative errno
function* __irq_domain_alloc_irqs_g(
  domain: irq_domain | null,
  irq_base: number,
  nr_irqs: number,
  node: number,
  arg: unknown,
  realloc: boolean,
  affinity: readonly irq_affinity_desc[] | null,
): Sleepable<number> {
  if (domain === null) {
    domain = irq_domain_state().irq_default_domain;
    if (WARN(!domain, "domain is NULL; cannot allocate IRQ\n")) return -EINVAL;
  }
  const d = domain!;
  const m = d.root.mutex!;
  yield irq_domain_lock(m);
  const ret = irq_domain_alloc_irqs_locked(d, irq_base, nr_irqs, node, arg, realloc, affinity);
  mutex_unlock(m);
  return ret;
}

export function __irq_domain_alloc_irqs(
  domain: irq_domain | null,
  irq_base: number,
  nr_irqs: number,
  node: number,
  arg: unknown,
  realloc: boolean,
  affinity: readonly irq_affinity_desc[] | null,
): number | Promise<number> {
  return sleepable(__irq_domain_alloc_irqs_g(domain, irq_base, nr_irqs, node, arg, realloc, affinity));
}

// include/linux/irqdomain.h: irq_domain_alloc_irqs()
export function irq_domain_alloc_irqs(domain: irq_domain | null, nr_irqs: number, node: number, arg: unknown): number | Promise<number> {
  return __irq_domain_alloc_irqs(domain, -1, nr_irqs, node, arg, false, null);
}

// kernel/irq/irqdomain.c: irq_domain_alloc_irqs_parent(): called from a domain's ops->alloc
export function irq_domain_alloc_irqs_parent(domain: irq_domain, irq_base: number, nr_irqs: number, arg: unknown): number {
  if (!domain.parent) return -ENOSYS;
  return irq_domain_alloc_irqs_hierarchy(domain.parent, irq_base, nr_irqs, arg);
}

// kernel/irq/irqdomain.c: irq_domain_free_irqs_parent(): called from a domain's ops->free
export function irq_domain_free_irqs_parent(domain: irq_domain, irq_base: number, nr_irqs: number): void {
  if (!domain.parent) return;
  irq_domain_free_irqs_hierarchy(domain.parent, irq_base, nr_irqs);
}

// kernel/irq/irqdomain.c: irq_domain_free_irqs() (C16)
function* irq_domain_free_irqs_g(virq: number, nr_irqs: number): Sleepable<void> {
  const data = irq_get_irq_data(virq);
  if (WARN(!data || !data.domain || !data.domain.ops.free, "NULL pointer, cannot free irq\n")) return;
  const domain = data!.domain!;
  const m = domain.root.mutex!;
  yield irq_domain_lock(m);
  for (let i = 0; i < nr_irqs; i++) yield* irq_domain_remove_irq(virq + i);
  irq_domain_free_irqs_hierarchy(domain, virq, nr_irqs);
  mutex_unlock(m);
  irq_domain_free_irq_data(virq, nr_irqs);
  irq_free_descs(virq, nr_irqs);
}

/** irq_domain_free_irqs(): synchronize_irq() makes it return a promise whenever it frees something. */
export function irq_domain_free_irqs(virq: number, nr_irqs: number): void | Promise<void> {
  return sleepable(irq_domain_free_irqs_g(virq, nr_irqs));
}

// kernel/irq/irqdomain.c: irq_domain_free_one_irq() (C17)
export function* irq_domain_free_one_irq_g(domain: irq_domain, virq: number): Sleepable<void> {
  if (irq_domain_is_msi_device(domain)) {
    const free = irq_domain_msi_hooks.free_wired;
    if (free) yield* may_sleep(free(domain, virq));
  } else {
    yield* irq_domain_free_irqs_g(virq, 1);
  }
}

/* ---------------------------------------------------------- push/pop (C19) */

/** *dst = *src for two irq_data (every field, as the C struct assignment). */
function irq_data_assign(dst: irq_data, src: irq_data): void {
  Object.assign(dst, src);
}

// kernel/irq/irqdomain.c: irq_domain_push_irq(): put `domain` on top of an existing hierarchy
function* irq_domain_push_irq_g(domain: irq_domain | null, virq: number, arg: unknown): Sleepable<number> {
  const irq_data = irq_get_irq_data(virq);
  // No action must be set: then this does not race with interrupt handling.
  const desc = irq_to_desc(virq);
  if (!desc) return -EINVAL;
  if (WARN_ON(desc.action)) return -EBUSY;
  if (domain === null) return -EINVAL;
  if (WARN_ON(!irq_domain_is_hierarchy(domain))) return -EINVAL;
  if (!irq_data) return -EINVAL;
  if (domain.parent !== irq_data.domain) return -EINVAL;
  const parent_irq_data = new irq_data_struct(irq_data.irq, irq_data.common, irq_data.chip);
  const m = domain.root.mutex!;
  yield irq_domain_lock(m);
  // Copy the original irq_data.
  irq_data_assign(parent_irq_data, irq_data);
  // Overwrite the irq_data, which is embedded in struct irq_desc, with values for this domain.
  irq_data.parent_data = parent_irq_data;
  irq_data.domain = domain;
  irq_data.hwirq = 0;
  irq_data.chip = NULL_CHIP;
  irq_data.chip_data = null;
  // May (probably does) set hwirq, chip, etc.
  const rv = irq_domain_alloc_irqs_hierarchy(domain, virq, 1, arg);
  if (rv) {
    // Restore the original irq_data.
    irq_data_assign(irq_data, parent_irq_data);
  } else {
    irq_domain_fix_revmap(parent_irq_data);
    irq_domain_set_mapping(domain, irq_data.hwirq, irq_data);
  }
  mutex_unlock(m);
  return rv;
}

export function irq_domain_push_irq(domain: irq_domain | null, virq: number, arg: unknown): number | Promise<number> {
  return sleepable(irq_domain_push_irq_g(domain, virq, arg));
}

// kernel/irq/irqdomain.c: irq_domain_pop_irq(): undo irq_domain_push_irq()
function* irq_domain_pop_irq_g(domain: irq_domain | null, virq: number): Sleepable<number> {
  const irq_data = irq_get_irq_data(virq);
  const desc = irq_to_desc(virq);
  if (!desc) return -EINVAL;
  if (WARN_ON(desc.action)) return -EBUSY;
  if (domain === null) return -EINVAL;
  if (!irq_data) return -EINVAL;
  const tmp_irq_data = irq_domain_get_irq_data(domain, virq);
  // We can only "pop" if this domain is at the top of the list
  if (WARN_ON(irq_data !== tmp_irq_data)) return -EINVAL;
  if (WARN_ON(irq_data.domain !== domain)) return -EINVAL;
  const parent_irq_data = irq_data.parent_data;
  if (WARN_ON(!parent_irq_data)) return -EINVAL;
  const m = domain.root.mutex!;
  yield irq_domain_lock(m);
  irq_data.parent_data = null;
  irq_domain_clear_mapping(domain, irq_data.hwirq);
  irq_domain_free_irqs_hierarchy(domain, virq, 1);
  // Restore the original irq_data.
  irq_data_assign(irq_data, parent_irq_data!);
  irq_domain_fix_revmap(irq_data);
  mutex_unlock(m);
  return 0;
}

export function irq_domain_pop_irq(domain: irq_domain | null, virq: number): number | Promise<number> {
  return sleepable(irq_domain_pop_irq_g(domain, virq));
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
