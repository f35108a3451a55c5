// SPDX-License-Identifier: GPL-2.0-only
// kernel/irq/irqdomain.c, second part: the reverse map (C6), the
// associate/map path of non-hierarchical domains (C7-C9, C12),
// irq_create_fwspec_mapping() (C10), the translation helpers (C11) and
// irq_domain_alloc_descs() (C13).
//
// The mapping calls take the domain's root mutex and may sleep: they return
// a promise only when they really slept (lib/kernel/sleepable.ts).

import { EINVAL, EPERM } from "../kernel/errno.ts";
import { mutex_unlock } from "../kernel/mutex.ts";
import { may_sleep, sleepable, type Sleepable } from "../kernel/sleepable.ts";
import { WARN, WARN_ON } from "../kernel/bug.ts";
import { pr_err, pr_info, pr_warn } from "../kernel/printk.ts";
import { IRQ_NOREQUEST, IRQ_TYPE_NONE, IRQ_TYPE_SENSE_MASK, irqd_set_trigger_type, type irq_data } from "./irq.ts";
import { __irq_alloc_descs, irq_free_desc, irq_get_irq_data, irq_to_desc, nr_irqs, type irq_desc } from "./irqdesc.ts";
import type { irq_affinity_desc } from "./interrupt.ts";
import { irq_clear_status_flags, irq_get_trigger_type, irq_set_chip_and_handler, irq_set_status_flags } from "./chip.ts";
import { synchronize_irq } from "./manage.ts";
import { trace_domain_op } from "./trace.ts";
import {
  DOMAIN_BUS_ANY,
  DOMAIN_BUS_WIRED,
  NUMA_NO_NODE,
  irq_domain_is_hierarchy,
  irq_domain_is_msi_device,
  irq_domain_is_nomap,
  irq_domain_lock,
  irq_domain_state,
  irq_find_matching_fwspec_g,
  lockdep_assert_held,
  of_node_full_name,
  to_of_node,
  type fwnode_handle,
  type irq_domain,
  type irq_domain_ops,
  type irq_fwspec,
} from "./irqdomain.ts";
import { irq_domain_alloc_irqs_locked, irq_domain_free_one_irq_g } from "./irqdomain_hier.ts";

const pr_fmt = (fmt: string): string => "irq: " + fmt;

/* irq_hw_number_t is unsigned: a negative JS number stands for a huge one */
function hwirq_ge(hwirq: number, max: number): boolean {
  return hwirq < 0 || hwirq >= max;
}
function int_cast(v: number): number {
  return Number(BigInt.asIntN(32, BigInt(Math.trunc(v))));
}

/* ---------------------------------------------------------- reverse map (C6) */

// kernel/irq/irqdomain.c: irq_domain_clear_mapping()
export function irq_domain_clear_mapping(domain: irq_domain, hwirq: number): void {
  lockdep_assert_held(domain.root.mutex);
  if (irq_domain_is_nomap(domain)) return;
  if (hwirq >= 0 && hwirq < domain.revmap_size) domain.revmap[hwirq] = null;
  else domain.revmap_tree.delete(hwirq);
}

// kernel/irq/irqdomain.c: irq_domain_set_mapping()
export function irq_domain_set_mapping(domain: irq_domain, hwirq: number, irq_data: irq_data): void {
  // This also makes sure that all domains point to the same root when
  // called from irq_domain_insert_irq() for each domain in a hierarchy.
  lockdep_assert_held(domain.root.mutex);
  if (irq_domain_is_nomap(domain)) return;
  if (hwirq >= 0 && hwirq < domain.revmap_size) domain.revmap[hwirq] = irq_data;
  // radix_tree_insert() refuses an index that is already present (-EEXIST)
  else if (!domain.revmap_tree.has(hwirq)) domain.revmap_tree.set(hwirq, irq_data);
}

// kernel/irq/irqdomain.c: irq_domain_fix_revmap(): the irq_data was moved
export function irq_domain_fix_revmap(d: irq_data): void {
  const domain = d.domain!;
  lockdep_assert_held(domain.root.mutex);
  if (irq_domain_is_nomap(domain)) return;
  if (d.hwirq >= 0 && d.hwirq < domain.revmap_size) domain.revmap[d.hwirq] = d;
  else if (domain.revmap_tree.has(d.hwirq)) domain.revmap_tree.set(d.hwirq, d);
}

// kernel/irq/irqdomain.c: __irq_resolve_mapping(): the descriptor, and its irq in `irq`
export function __irq_resolve_mapping(domain: irq_domain | null, hwirq: number, irq?: { value: number }): irq_desc | null {
  let desc: irq_desc | null = null;
  if (domain === null) domain = irq_domain_state().irq_default_domain;
  if (domain === null) return desc;
  if (irq_domain_is_nomap(domain)) {
    if (!hwirq_ge(hwirq, domain.hwirq_max)) {
      const data = irq_domain_get_irq_data(domain, hwirq);
      if (data && data.hwirq === hwirq) desc = irq_to_desc(data.irq);
      if (irq && desc) irq.value = hwirq;
    }
    return desc;
  }
  const data = hwirq >= 0 && hwirq < domain.revmap_size ? domain.revmap[hwirq] : domain.revmap_tree.get(hwirq);
  if (data) {
    desc = irq_to_desc(data.irq);
    if (irq) irq.value = data.irq;
  }
  return desc;
}

// include/linux/irqdomain.h: irq_find_mapping(): the Linux irq of hwirq, or 0
export function irq_find_mapping(domain: irq_domain | null, hwirq: number): number {
  const irq = { value: 0 };
  if (__irq_resolve_mapping(domain, hwirq, irq)) return irq.value;
  return 0;
}

// kernel/irq/irqdomain.c: irq_domain_get_irq_data(): the level of virq that belongs to domain
export function irq_domain_get_irq_data(domain: irq_domain, virq: number): irq_data | null {
  for (let d = irq_get_irq_data(virq); d; d = d.parent_data) if (d.domain === domain) return d;
  return null;
}

/* ---------------------------------------------------------- associate/map path */

// kernel/irq/irqdomain.c: irq_domain_disassociate() (C8)
function* irq_domain_disassociate(domain: irq_domain, irq: number): Sleepable<void> {
  const irq_data = irq_get_irq_data(irq);
  if (WARN(!irq_data || irq_data.domain !== domain, "virq%i doesn't exist; cannot disassociate\n", irq)) return;
  const d = irq_data!;
  const hwirq = d.hwirq;
  const m = domain.root.mutex!;
  yield irq_domain_lock(m);
  irq_set_status_flags(irq, IRQ_NOREQUEST);
  // remove chip and handler
  irq_set_chip_and_handler(irq, null, null);
  // Make sure it's completed
  yield synchronize_irq(irq);
  // Tell the PIC about it
  const unmap = domain.ops.unmap;
  if (unmap) trace_domain_op("unmap", domain, irq, 1, () => unmap.call(domain.ops, domain, irq));
  d.domain = null;
  d.hwirq = 0;
  domain.mapcount--;
  // Clear reverse map for this hwirq
  irq_domain_clear_mapping(domain, hwirq);
  mutex_unlock(m);
}

// kernel/irq/irqdomain.c: irq_domain_associate_locked() (C7)
function irq_domain_associate_locked(domain: irq_domain, virq: number, hwirq: number): number {
  const irq_data = irq_get_irq_data(virq);
  if (WARN(hwirq_ge(hwirq, domain.hwirq_max), "error: hwirq 0x%x is too large for %s\n", int_cast(hwirq), domain.name)) return -EINVAL;
  if (WARN(!irq_data, "error: virq%i is not allocated", virq)) return -EINVAL;
  const d = irq_data!;
  if (WARN(d.domain, "error: virq%i is already associated", virq)) return -EINVAL;
  d.hwirq = hwirq;
  d.domain = domain;
  const map = domain.ops.map;
  if (map) {
    const ret = trace_domain_op("map", domain, virq, 1, () => map.call(domain.ops, domain, virq, hwirq));
    if (ret !== 0) {
      // -EPERM: protected by the firmware or some other service and shall
      // not be mapped. Don't bother telling the user about it.
      if (ret !== -EPERM) pr_info(pr_fmt("%s didn't like hwirq-0x%lx to VIRQ%i mapping (rc=%d)\n"), domain.name, hwirq, virq, ret);
      d.domain = null;
      d.hwirq = 0;
      return ret;
    }
  }
  domain.mapcount++;
  irq_domain_set_mapping(domain, hwirq, d);
  irq_clear_status_flags(virq, IRQ_NOREQUEST);
  return 0;
}

// kernel/irq/irqdomain.c: irq_domain_associate()
function* irq_domain_associate_g(domain: irq_domain, virq: number, hwirq: number): Sleepable<number> {
  const m = domain.root.mutex!;
  yield irq_domain_lock(m);
  const ret = irq_domain_associate_locked(domain, virq, hwirq);
  mutex_unlock(m);
  return ret;
}

export function irq_domain_associate(domain: irq_domain, virq: number, hwirq: number): number | Promise<number> {
  return sleepable(irq_domain_associate_g(domain, virq, hwirq));
}

// kernel/irq/irqdomain.c: irq_domain_associate_many(): errors of single associations are ignored
export function* irq_domain_associate_many_g(domain: irq_domain, irq_base: number, hwirq_base: number, count: number): Sleepable<void> {
  for (let i = 0; i < count; i++) yield* irq_domain_associate_g(domain, irq_base + i, hwirq_base + i);
}

export function irq_domain_associate_many(domain: irq_domain, irq_base: number, hwirq_base: number, count: number): void | Promise<void> {
  return sleepable(irq_domain_associate_many_g(domain, irq_base, hwirq_base, count));
}

// kernel/irq/irqdomain.c: irq_create_direct_mapping() (CONFIG_IRQ_DOMAIN_NOMAP)
function* irq_create_direct_mapping_g(domain: irq_domain | null): Sleepable<number> {
  if (domain === null) domain = irq_domain_state().irq_default_domain;
  if (domain === null) return 0;
  const virq = __irq_alloc_descs(-1, 1, 1, NUMA_NO_NODE, null);
  if (!virq) return 0;
  if (virq < 0 || virq >= domain.hwirq_max) {
    pr_err(pr_fmt("ERROR: no free irqs available below %lu maximum\n"), domain.hwirq_max);
    if (virq > 0) irq_free_desc(virq);
    return 0;
  }
  if (yield* irq_domain_associate_g(domain, virq, virq)) {
    irq_free_desc(virq);
    return 0;
  }
  return virq;
}

export function irq_create_direct_mapping(domain: irq_domain | null): number | Promise<number> {
  return sleepable(irq_create_direct_mapping_g(domain));
}

// kernel/irq/irqdomain.c: irq_domain_alloc_descs() (C13)
export function irq_domain_alloc_descs(virq: number, cnt: number, hwirq: number, node: number, affinity: readonly irq_affinity_desc[] | null): number {
  if (virq >= 0) return __irq_alloc_descs(virq, virq, cnt, node, affinity);
  let hint = hwirq % nr_irqs();
  if (hint === 0) hint++;
  virq = __irq_alloc_descs(-1, hint, cnt, node, affinity);
  if (virq <= 0 && hint > 1) virq = __irq_alloc_descs(-1, 1, cnt, node, affinity);
  return virq;
}

// kernel/irq/irqdomain.c: irq_create_mapping_affinity_locked()
function irq_create_mapping_affinity_locked(domain: irq_domain, hwirq: number, affinity: readonly irq_affinity_desc[] | null): number {
  // Allocate a virtual interrupt number
  const virq = irq_domain_alloc_descs(-1, 1, hwirq, NUMA_NO_NODE, affinity);
  if (virq <= 0) return 0;
  if (irq_domain_associate_locked(domain, virq, hwirq)) {
    irq_free_desc(virq);
    return 0;
  }
  return virq;
}

// kernel/irq/irqdomain.c: irq_create_mapping_affinity() (C9): the Linux irq or 0
function* irq_create_mapping_affinity_g(domain: irq_domain | null, hwirq: number, affinity: readonly irq_affinity_desc[] | null): Sleepable<number> {
  // Look for default domain if necessary
  if (domain === null) domain = irq_domain_state().irq_default_domain;
  if (domain === null) {
    WARN(1, "%s(, %lx) called with NULL domain\n", "irq_create_mapping_affinity", hwirq);
    return 0;
  }
  const m = domain.root.mutex!;
  yield irq_domain_lock(m);
  // Check if mapping already exists
  let virq = irq_find_mapping(domain, hwirq);
  if (!virq) virq = irq_create_mapping_affinity_locked(domain, hwirq, affinity);
  mutex_unlock(m);
  return virq;
}

export function irq_create_mapping_affinity(domain: irq_domain | null, hwirq: number, affinity: readonly irq_affinity_desc[] | null): number | Promise<number> {
  return sleepable(irq_create_mapping_affinity_g(domain, hwirq, affinity));
}

// include/linux/irqdomain.h: irq_create_mapping()
export function irq_create_mapping(domain: irq_domain | null, hwirq: number): number | Promise<number> {
  return irq_create_mapping_affinity(domain, hwirq, null);
}

// kernel/irq/irqdomain.c: irq_domain_translate() (C11)
function irq_domain_translate(d: irq_domain, fwspec: irq_fwspec, out: { hwirq: number; type: number }): number {
  const { translate, xlate } = d.ops;
  if (translate) return trace_domain_op("translate", d, 0, 0, () => translate.call(d.ops, d, fwspec, out));
  if (xlate) return trace_domain_op("xlate", d, 0, 0, () => xlate.call(d.ops, d, to_of_node(fwspec.fwnode), fwspec.param, fwspec.param_count, out));
  // If domain has no translation, then we assume interrupt line
  out.hwirq = fwspec.param[0] ?? 0;
  return 0;
}

/** The MSI core's wired-interrupt hooks (kernel/irq/msi.c), installed by the MSI code. */
export const irq_domain_msi_hooks: {
  alloc_wired: ((domain: irq_domain, hwirq: number, type: number) => number | Promise<number>) | null;
  free_wired: ((domain: irq_domain, virq: number) => void | Promise<void>) | null;
} = { alloc_wired: null, free_wired: null };

// kernel/irq/irqdomain.c: irq_create_fwspec_mapping() (C10): the Linux irq or 0
function* irq_create_fwspec_mapping_g(fwspec: irq_fwspec): Sleepable<number> {
  let domain: irq_domain | null;
  if (fwspec.fwnode) {
    domain = yield* irq_find_matching_fwspec_g(fwspec, DOMAIN_BUS_WIRED);
    if (!domain) domain = yield* irq_find_matching_fwspec_g(fwspec, DOMAIN_BUS_ANY);
  } else {
    domain = irq_domain_state().irq_default_domain;
  }
  if (!domain) {
    pr_warn(pr_fmt("no irq domain found for %s !\n"), of_node_full_name(to_of_node(fwspec.fwnode)));
    return 0;
  }
  const out = { hwirq: 0, type: IRQ_TYPE_NONE };
  if (irq_domain_translate(domain, fwspec, out)) return 0;
  const hwirq = out.hwirq;
  let type = out.type;
  // WARN if the irqchip returns a type with bits outside the sense mask set and clear these bits.
  if (WARN_ON(type & ~IRQ_TYPE_SENSE_MASK)) type &= IRQ_TYPE_SENSE_MASK;
  const m = domain.root.mutex!;
  yield irq_domain_lock(m);
  let virq = irq_find_mapping(domain, hwirq);
  if (virq) {
    // If we've already configured this interrupt, don't do it again, or hell will break loose.
    if (type !== IRQ_TYPE_NONE && type !== irq_get_trigger_type(virq)) {
      if (irq_get_trigger_type(virq) === IRQ_TYPE_NONE) {
        const irq_data = irq_get_irq_data(virq);
        if (!irq_data) virq = 0;
        else irqd_set_trigger_type(irq_data, type);
      } else {
        pr_warn(pr_fmt("type mismatch, failed to map hwirq-%lu for %s!\n"), hwirq, of_node_full_name(to_of_node(fwspec.fwnode)));
        virq = 0;
      }
    }
    mutex_unlock(m);
    return virq;
  }
  if (irq_domain_is_hierarchy(domain)) {
    if (irq_domain_is_msi_device(domain)) {
      mutex_unlock(m);
      const alloc = irq_domain_msi_hooks.alloc_wired;
      virq = alloc ? yield* may_sleep(alloc(domain, hwirq, type)) : 0;
      yield irq_domain_lock(m);
    } else {
      virq = irq_domain_alloc_irqs_locked(domain, -1, 1, NUMA_NO_NODE, fwspec, false, null);
    }
    if (virq <= 0) virq = 0;
  } else {
    // Create mapping
    virq = irq_create_mapping_affinity_locked(domain, hwirq, null);
  }
  if (virq) {
    const irq_data = irq_get_irq_data(virq);
    if (WARN_ON(!irq_data)) virq = 0;
    // Store trigger type
    else irqd_set_trigger_type(irq_data!, type);
  }
  mutex_unlock(m);
  return virq;
}

export function irq_create_fwspec_mapping(fwspec: irq_fwspec): number | Promise<number> {
  return sleepable(irq_create_fwspec_mapping_g(fwspec));
}

// kernel/irq/irqdomain.c: irq_dispose_mapping() (C12)
function* irq_dispose_mapping_g(virq: number): Sleepable<void> {
  const irq_data = virq ? irq_get_irq_data(virq) : null;
  if (!irq_data) return;
  const domain = irq_data.domain;
  if (WARN_ON(domain === null)) return;
  if (irq_domain_is_hierarchy(domain!)) {
    yield* irq_domain_free_one_irq_g(domain!, virq);
  } else {
    yield* irq_domain_disassociate(domain!, virq);
    irq_free_desc(virq);
  }
}

/** irq_dispose_mapping(): synchronize_irq() makes it return a promise whenever it frees something. */
export function irq_dispose_mapping(virq: number): void | Promise<void> {
  return sleepable(irq_dispose_mapping_g(virq));
}

/* ---------------------------------------------------------- xlate/translate helpers */

type hw_out = { hwirq: number; type: number };

// kernel/irq/irqdomain.c: irq_domain_xlate_onecell()
export function irq_domain_xlate_onecell(_d: irq_domain, _ctrlr: fwnode_handle | null, intspec: number[], intsize: number, out: hw_out): number {
  if (WARN_ON(intsize < 1)) return -EINVAL;
  out.hwirq = intspec[0]!;
  out.type = IRQ_TYPE_NONE;
  return 0;
}

// kernel/irq/irqdomain.c: irq_domain_xlate_twocell()
export function irq_domain_xlate_twocell(d: irq_domain, ctrlr: fwnode_handle | null, intspec: number[], intsize: number, out: hw_out): number {
  return irq_domain_translate_twocell(d, { fwnode: ctrlr, param: intspec.slice(0, intsize), param_count: intsize }, out);
}

// kernel/irq/irqdomain.c: irq_domain_xlate_onetwocell()
export function irq_domain_xlate_onetwocell(_d: irq_domain, _ctrlr: fwnode_handle | null, intspec: number[], intsize: number, out: hw_out): number {
  if (WARN_ON(intsize < 1)) return -EINVAL;
  out.hwirq = intspec[0]!;
  out.type = intsize > 1 ? intspec[1]! & IRQ_TYPE_SENSE_MASK : IRQ_TYPE_NONE;
  return 0;
}

/** irq_domain_simple_ops */
export const irq_domain_simple_ops: irq_domain_ops = { xlate: irq_domain_xlate_onetwocell };

// kernel/irq/irqdomain.c: irq_domain_translate_onecell()
export function irq_domain_translate_onecell(_d: irq_domain, fwspec: irq_fwspec, out: hw_out): number {
  if (WARN_ON(fwspec.param_count < 1)) return -EINVAL;
  out.hwirq = fwspec.param[0]!;
  out.type = IRQ_TYPE_NONE;
  return 0;
}

// kernel/irq/irqdomain.c: irq_domain_translate_twocell()
export function irq_domain_translate_twocell(_d: irq_domain, fwspec: irq_fwspec, out: hw_out): number {
  if (WARN_ON(fwspec.param_count < 2)) return -EINVAL;
  out.hwirq = fwspec.param[0]!;
  out.type = fwspec.param[1]! & IRQ_TYPE_SENSE_MASK;
  return 0;
}
