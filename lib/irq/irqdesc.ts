// SPDX-License-Identifier: GPL-2.0-only
// kernel/irq/irqdesc.c and include/linux/irqdesc.h: interrupt descriptors,
// their sparse allocation and lookup, kstat counts and the generic entry
// points into flow handlers.

import type { Frame, Wait } from "../sim/cpu.ts";
import { K, state_accessor } from "../kernel/kernel.ts";
import { cpumask, cpumask_clear, cpumask_copy, cpumask_empty, cpumask_first, cpu_possible_mask, cpu_to_node, nr_cpu_ids } from "../kernel/cpumask.ts";
import { raw_spinlock_t, raw_spin_lock_irqsave, raw_spin_unlock_irqrestore } from "../kernel/spinlock.ts";
import { mutex } from "../kernel/mutex.ts";
import { init_waitqueue_head, type wait_queue_head } from "../kernel/wait.ts";
import { EEXIST, EINVAL, ENOMEM, EPERM } from "../kernel/errno.ts";
import { WARN_ONCE, WARN_ON_ONCE } from "../kernel/bug.ts";
import { in_hardirq } from "../kernel/context.ts";
import { drive_sync } from "../kernel/frame.ts";
import {
  irq_common_data,
  irq_data,
  IRQD_AFFINITY_MANAGED,
  IRQD_AFFINITY_SET,
  IRQD_IRQ_DISABLED,
  IRQD_IRQ_MASKED,
  IRQD_MANAGED_SHUTDOWN,
  irqd_is_handle_enforce_irqctx,
  type irq_chip,
} from "./irq.ts";
import type { irqaction, irq_affinity_desc, irq_affinity_notify } from "./interrupt.ts";
import { _IRQ_DEFAULT_INIT_FLAGS, IRQS_SYSFS, irq_settings_is_per_cpu_devid } from "./internals.ts";
import { no_irq_chip } from "./dummychip.ts";
import { handle_bad_irq } from "./handle.ts";
import { __irq_resolve_mapping, type irq_domain } from "./irqdomain.ts";
import { SparseIrqBitmap } from "./irqdesc_bitmap.ts";

/** A flow handler: runs in hardirq context; may return a frame that suspends. */
export type irq_flow_handler_t = (desc: irq_desc) => Frame | void;

/**
 * The members of struct irq_desc that most descriptors leave at zero for
 * their whole life (wakeup and suspend depths, the spurious-interrupt
 * counters, the per-CPU masks, the affinity hint and notifier, the oneshot
 * thread mask, the parent irq of a resend, the module owner). irq_desc
 * reads them through getters that answer zero while this object does not
 * exist, and creates it on the first write of anything else (P2: a
 * million descriptors, docs/performance.md).
 */
class irq_desc_rare {
  wake_depth = 0;
  last_unhandled = 0;
  irqs_unhandled = 0;
  threads_handled = 0;
  threads_handled_last = 0;
  percpu_enabled: cpumask | null = null;
  percpu_affinity: cpumask | null = null;
  affinity_hint: cpumask | null = null;
  affinity_notify: irq_affinity_notify | null = null;
  threads_oneshot = 0n;
  no_suspend_depth = 0;
  cond_suspend_depth = 0;
  force_resume_depth = 0;
  parent_irq = 0;
  owner: unknown = null;
}

/**
 * struct irq_desc. The members most descriptors never use (the request
 * mutex and the thread wait queue, used once an action is requested; the
 * pending affinity mask; the per-CPU counts before the first interrupt) are
 * allocated on first use: a JavaScript object per embedded C struct costs a
 * few hundred bytes, and a machine may hold a million descriptors. The
 * members that stay zero on most descriptors live in irq_desc_rare.
 */
export class irq_desc {
  readonly irq_common_data: irq_common_data;
  readonly irq_data: irq_data;
  handle_irq: irq_flow_handler_t = handle_bad_irq;
  action: irqaction | null = null;
  status_use_accessors = 0;
  /** desc->istate: IRQS_* */
  istate = 0;
  depth = 1;
  tot_count = 0;
  irq_count = 0;
  readonly lock = new raw_spinlock_t("&irq_desc_lock_class");
  threads_active = 0;
  nr_actions = 0;
  /** /proc/irq/N exists. */
  dir = false;
  /** Flow-handler name shown in /proc/interrupts ("edge", "fasteoi", ...). */
  name: string | null = null;
  /** debugfs "device:" line. */
  dev_name: string | null = null;
  private _rare: irq_desc_rare | null = null;
  private _kstat_irqs: Uint32Array | null = null;
  private _pending_mask: cpumask | null = null;
  private _wait_for_threads: wait_queue_head | null = null;
  private _request_mutex: mutex | null = null;

  constructor(
    readonly irq: number,
    private readonly nbits: number,
  ) {
    this.irq_common_data = new irq_common_data(nbits);
    this.irq_data = new irq_data(irq, this.irq_common_data, no_irq_chip);
  }

  get wake_depth(): number {
    return this._rare ? this._rare.wake_depth : 0;
  }
  set wake_depth(v: number) {
    if (this._rare || v !== 0) (this._rare ??= new irq_desc_rare()).wake_depth = v;
  }
  get last_unhandled(): number {
    return this._rare ? this._rare.last_unhandled : 0;
  }
  set last_unhandled(v: number) {
    if (this._rare || v !== 0) (this._rare ??= new irq_desc_rare()).last_unhandled = v;
  }
  get irqs_unhandled(): number {
    return this._rare ? this._rare.irqs_unhandled : 0;
  }
  set irqs_unhandled(v: number) {
    if (this._rare || v !== 0) (this._rare ??= new irq_desc_rare()).irqs_unhandled = v;
  }
  get threads_handled(): number {
    return this._rare ? this._rare.threads_handled : 0;
  }
  set threads_handled(v: number) {
    if (this._rare || v !== 0) (this._rare ??= new irq_desc_rare()).threads_handled = v;
  }
  get threads_handled_last(): number {
    return this._rare ? this._rare.threads_handled_last : 0;
  }
  set threads_handled_last(v: number) {
    if (this._rare || v !== 0) (this._rare ??= new irq_desc_rare()).threads_handled_last = v;
  }
  get percpu_enabled(): cpumask | null {
    return this._rare ? this._rare.percpu_enabled : null;
  }
  set percpu_enabled(v: cpumask | null) {
    if (this._rare || v !== null) (this._rare ??= new irq_desc_rare()).percpu_enabled = v;
  }
  get percpu_affinity(): cpumask | null {
    return this._rare ? this._rare.percpu_affinity : null;
  }
  set percpu_affinity(v: cpumask | null) {
    if (this._rare || v !== null) (this._rare ??= new irq_desc_rare()).percpu_affinity = v;
  }
  get affinity_hint(): cpumask | null {
    return this._rare ? this._rare.affinity_hint : null;
  }
  set affinity_hint(v: cpumask | null) {
    if (this._rare || v !== null) (this._rare ??= new irq_desc_rare()).affinity_hint = v;
  }
  get affinity_notify(): irq_affinity_notify | null {
    return this._rare ? this._rare.affinity_notify : null;
  }
  set affinity_notify(v: irq_affinity_notify | null) {
    if (this._rare || v !== null) (this._rare ??= new irq_desc_rare()).affinity_notify = v;
  }
  get threads_oneshot(): bigint {
    return this._rare ? this._rare.threads_oneshot : 0n;
  }
  set threads_oneshot(v: bigint) {
    if (this._rare || v !== 0n) (this._rare ??= new irq_desc_rare()).threads_oneshot = v;
  }
  get no_suspend_depth(): number {
    return this._rare ? this._rare.no_suspend_depth : 0;
  }
  set no_suspend_depth(v: number) {
    if (this._rare || v !== 0) (this._rare ??= new irq_desc_rare()).no_suspend_depth = v;
  }
  get cond_suspend_depth(): number {
    return this._rare ? this._rare.cond_suspend_depth : 0;
  }
  set cond_suspend_depth(v: number) {
    if (this._rare || v !== 0) (this._rare ??= new irq_desc_rare()).cond_suspend_depth = v;
  }
  get force_resume_depth(): number {
    return this._rare ? this._rare.force_resume_depth : 0;
  }
  set force_resume_depth(v: number) {
    if (this._rare || v !== 0) (this._rare ??= new irq_desc_rare()).force_resume_depth = v;
  }
  get parent_irq(): number {
    return this._rare ? this._rare.parent_irq : 0;
  }
  set parent_irq(v: number) {
    if (this._rare || v !== 0) (this._rare ??= new irq_desc_rare()).parent_irq = v;
  }
  /** Module reference (try_module_get() target); irqlab has no modules. */
  get owner(): unknown {
    return this._rare ? this._rare.owner : null;
  }
  set owner(v: unknown) {
    if (this._rare || v !== null) (this._rare ??= new irq_desc_rare()).owner = v;
  }
  /** Per-CPU interrupt counts (kstat_irqs). */
  get kstat_irqs(): Uint32Array {
    return (this._kstat_irqs ??= new Uint32Array(this.nbits));
  }
  get pending_mask(): cpumask {
    return (this._pending_mask ??= new cpumask(this.nbits));
  }
  get wait_for_threads(): wait_queue_head {
    return (this._wait_for_threads ??= init_waitqueue_head("desc->wait_for_threads"));
  }
  get request_mutex(): mutex {
    return (this._request_mutex ??= new mutex("&desc->request_mutex"));
  }
  /** desc_set_defaults() clears the counts; none allocated means all zero. */
  clear_kstat_irqs(): void {
    this._kstat_irqs?.fill(0);
  }
}

/* for_each_action_of_desc() */
export function* for_each_action_of_desc(desc: irq_desc): Generator<irqaction> {
  for (let a = desc.action; a; a = a.next) yield a;
}

interface DescTable {
  /** Descriptors by irq number (a hole where there is none). */
  descs: (irq_desc | undefined)[];
  /** Number of descriptors in `descs`. */
  count: number;
  /** Numbers with a descriptor, plus 0, which irqlab never hands out. */
  allocated: SparseIrqBitmap;
  nr_irqs: number;
  /** arch_dynirq_lower_bound(): x86 hands out dynamic irqs above the GSIs. */
  dynirq_lower: number;
}

/** IRQ_BITMAP_BITS: the largest irq number + 1 irqlab can allocate. */
export const IRQ_BITMAP_BITS = 1 << 21;

const table = state_accessor("irq_desc_table", (): DescTable => {
  const n = nr_cpu_ids();
  // arch/x86/kernel/apic/vector.c: arch_probe_nr_irqs() with gsi_top 24 and 16 legacy irqs
  const gsi_top = 24;
  let nr = gsi_top + 16 + 8 * n + gsi_top * 16;
  nr = Math.min(nr, 256 * n);
  const allocated = new SparseIrqBitmap(IRQ_BITMAP_BITS);
  // irq 0 is never allocated: a search from 0 starts at 1
  allocated.set(0, 1);
  return { descs: [], count: 0, allocated, nr_irqs: nr, dynirq_lower: gsi_top };
});

/** nr_irqs: the current size of the irq number space (grows on demand). */
export function nr_irqs(): number {
  return table().nr_irqs;
}

/** Set the lowest dynamically allocated irq number (arch_dynirq_lower_bound()). */
export function set_arch_dynirq_lower_bound(from: number): void {
  table().dynirq_lower = from;
}

export function irq_to_desc(irq: number): irq_desc | null {
  return table().descs[irq] ?? null;
}

export function irq_desc_get_irq_data(desc: irq_desc): irq_data {
  return desc.irq_data;
}
export function irq_desc_get_chip(desc: irq_desc): irq_chip {
  return desc.irq_data.chip;
}
export function irq_desc_get_handler_data<T = unknown>(desc: irq_desc): T {
  return desc.irq_common_data.handler_data as T;
}
export function irq_desc_get_irq(desc: irq_desc): number {
  return desc.irq_data.irq;
}
export function irq_get_irq_data(irq: number): irq_data | null {
  return irq_to_desc(irq)?.irq_data ?? null;
}
export function irq_get_chip(irq: number): irq_chip | null {
  return irq_to_desc(irq)?.irq_data.chip ?? null;
}
export function irq_get_chip_data<T = unknown>(irq: number): T | null {
  return (irq_to_desc(irq)?.irq_data.chip_data as T | undefined) ?? null;
}
export function irq_get_handler_data<T = unknown>(irq: number): T | null {
  return (irq_to_desc(irq)?.irq_common_data.handler_data as T | undefined) ?? null;
}
export function irq_desc_has_action(desc: irq_desc): boolean {
  return desc.action !== null;
}
export function irq_desc_is_chained(desc: irq_desc): boolean {
  return desc.action !== null && desc.action.handler === chained_action_handler;
}

// kernel/irq/chip.c: bad_chained_irq(), the handler of the chained_action sentinel
export function chained_action_handler(irq: number, _dev_id: unknown): number {
  WARN_ONCE(1, "Chained irq %d should not call an action\n", irq);
  return 0;
}

// kernel/irq/irqdesc.c: desc_set_defaults()
function desc_set_defaults(desc: irq_desc, node: number, affinity: cpumask | null): void {
  desc.irq_common_data.handler_data = null;
  desc.irq_common_data.msi_desc = null;
  desc.irq_data.chip = no_irq_chip;
  desc.irq_data.chip_data = null;
  desc.irq_common_data.state_use_accessors = IRQD_IRQ_DISABLED | IRQD_IRQ_MASKED;
  desc.status_use_accessors = _IRQ_DEFAULT_INIT_FLAGS;
  desc.handle_irq = handle_bad_irq;
  desc.depth = 1;
  desc.irq_count = 0;
  desc.irqs_unhandled = 0;
  desc.tot_count = 0;
  desc.name = null;
  desc.owner = null;
  desc.clear_kstat_irqs();
  desc.irq_common_data.node = node;
  cpumask_copy(desc.irq_common_data.affinity, affinity ?? cpu_possible_mask());
  cpumask_clear(desc.irq_common_data.effective_affinity);
}

// kernel/irq/irqdesc.c: irq_find_free_area(): the lowest free range of `cnt` at or above `from`
function irq_find_free_area(t: DescTable, from: number, cnt: number): number {
  return t.allocated.findFreeArea(from, cnt);
}

// kernel/irq/irqdesc.c: alloc_descs()
function alloc_descs(start: number, cnt: number, node: number, affinity: readonly irq_affinity_desc[] | null): number {
  const t = table();
  if (affinity) {
    for (let i = 0; i < cnt; i++) if (cpumask_empty(affinity[i]!.mask)) return -EINVAL;
  }
  const nbits = nr_cpu_ids();
  for (let i = 0; i < cnt; i++) {
    const desc = new irq_desc(start + i, nbits);
    if (affinity) {
      const a = affinity[i]!;
      let flags = IRQD_AFFINITY_SET;
      if (a.is_managed) flags |= IRQD_AFFINITY_MANAGED | IRQD_MANAGED_SHUTDOWN;
      // the node of the mask's first CPU, not the caller's (dev_to_node())
      node = cpu_to_node(cpumask_first(a.mask));
      desc_set_defaults(desc, node, a.mask);
      desc.irq_common_data.state_use_accessors |= flags;
    } else {
      desc_set_defaults(desc, node, null);
    }
    t.descs[start + i] = desc;
    // irq_sysfs_add(): /sys/kernel/irq/N exists from postcore_initcall on,
    // so every descriptor irqlab allocates is in sysfs
    desc.istate |= IRQS_SYSFS;
  }
  t.count += cnt;
  t.allocated.set(start, cnt);
  return start;
}

// kernel/irq/irqdesc.c: __irq_alloc_descs()
export function __irq_alloc_descs(irq: number, from: number, cnt: number, node: number, affinity: readonly irq_affinity_desc[] | null = null): number {
  if (!cnt) return -EINVAL;
  const t = table();
  if (irq >= 0) {
    if (from > irq) return -EINVAL;
    from = irq;
  } else {
    // arch_dynirq_lower_bound(): only dynamic allocations are pushed above the GSIs
    from = Math.max(from, t.dynirq_lower);
  }
  const start = irq_find_free_area(t, from, cnt);
  if (start < 0) return -ENOMEM;
  if (irq >= 0 && start !== irq) return -EEXIST;
  if (start + cnt > t.nr_irqs) {
    // kernel/irq/irqdesc.c: irq_expand_nr_irqs()
    if (start + cnt > IRQ_BITMAP_BITS) return -ENOMEM;
    t.nr_irqs = start + cnt;
  }
  return alloc_descs(start, cnt, node, affinity);
}

/** irq_alloc_descs(irq, from, cnt, node) */
export function irq_alloc_descs(irq: number, from: number, cnt: number, node: number): number {
  return __irq_alloc_descs(irq, from, cnt, node, null);
}
export function irq_alloc_desc(node: number): number {
  return irq_alloc_descs(-1, 1, 1, node);
}

// kernel/irq/irqdesc.c: irq_free_descs()
export function irq_free_descs(from: number, cnt: number): void {
  const t = table();
  if (from >= t.nr_irqs || from + cnt > t.nr_irqs) return;
  for (let i = 0; i < cnt; i++) {
    if (t.descs[from + i] === undefined) continue;
    t.descs[from + i] = undefined;
    t.count--;
    t.allocated.clear(from + i, 1);
  }
  // let the array shrink once the top of the irq space is free
  let top = t.descs.length;
  while (top > 0 && t.descs[top - 1] === undefined) top--;
  if (top < t.descs.length) t.descs.length = top;
}
export function irq_free_desc(irq: number): void {
  irq_free_descs(irq, 1);
}

/** Every allocated descriptor, in irq order (for_each_irq_desc()). */
export function for_each_irq_desc(): irq_desc[] {
  const out: irq_desc[] = [];
  for (const d of table().descs) if (d) out.push(d);
  return out;
}

/** Number of allocated descriptors. */
export function irq_desc_count(): number {
  return table().count;
}

/* kstat (kernel/irq/internals.h, irqdesc.c) */
export function __kstat_incr_irqs_this_cpu(desc: irq_desc): void {
  desc.kstat_irqs[K.sim.cur.id]!++;
}
export function kstat_incr_irqs_this_cpu(desc: irq_desc): void {
  __kstat_incr_irqs_this_cpu(desc);
  desc.tot_count++;
}
export function kstat_irqs_cpu(irq: number, cpu: number): number {
  return irq_to_desc(irq)?.kstat_irqs[cpu] ?? 0;
}
export function kstat_irqs(irq: number): number {
  const d = irq_to_desc(irq);
  if (!d) return 0;
  let s = 0;
  for (const c of d.kstat_irqs) s += c;
  return s;
}

/* kernel/irq/internals.h: lookup helpers used by the manage API */
export const IRQ_GET_DESC_CHECK_GLOBAL = 1 << 0;
export const IRQ_GET_DESC_CHECK_PERCPU = 1 << 1;

// kernel/irq/irqdesc.c: __irq_get_desc_lock() without the locking part
export function irq_get_desc_checked(irq: number, check: number): irq_desc | null {
  const desc = irq_to_desc(irq);
  if (!desc) return null;
  if (check & IRQ_GET_DESC_CHECK_PERCPU && !irq_settings_is_per_cpu_devid(desc)) return null;
  if (check & IRQ_GET_DESC_CHECK_GLOBAL && irq_settings_is_per_cpu_devid(desc)) return null;
  return desc;
}

/** scoped_irqdesc_get_and_lock(): desc->lock irqsave; null if no desc passes `check`. */
export function irq_get_desc_lock(irq: number, check: number): { desc: irq_desc; flags: number } | null {
  const desc = irq_get_desc_checked(irq, check);
  if (!desc) return null;
  const flags = raw_spin_lock_irqsave(desc.lock);
  return { desc, flags };
}

export function irq_put_desc_unlock(desc: irq_desc, flags: number): void {
  raw_spin_unlock_irqrestore(desc.lock, flags);
}

// kernel/irq/irqdesc.c: generic_handle_irq_desc() as a frame
export function* generic_handle_irq_desc_y(desc: irq_desc): Frame {
  const r = desc.handle_irq(desc);
  if (r) yield* r;
}

// kernel/irq/irqdesc.c: handle_irq_desc()
export function* handle_irq_desc_y(desc: irq_desc | null): Generator<Wait, number, void> {
  if (!desc) return -EINVAL;
  const data = desc.irq_data;
  if (WARN_ON_ONCE(!in_hardirq() && irqd_is_handle_enforce_irqctx(data))) return -EPERM;
  yield* generic_handle_irq_desc_y(desc);
  return 0;
}

/**
 * generic_handle_irq(): call from a chained handler. It runs the child's flow
 * handler to completion here (a busy handler spins this CPU).
 */
export function generic_handle_irq(irq: number): number {
  return drive_sync(handle_irq_desc_y(irq_to_desc(irq)));
}

/** generic_handle_irq_safe(): the same with local interrupts disabled around it. */
export function generic_handle_irq_safe(irq: number): number {
  return generic_handle_irq(irq);
}

/** generic_handle_domain_irq(): translate hwirq in `domain` and handle it. */
export function generic_handle_domain_irq(domain: irq_domain | null, hwirq: number): number {
  return drive_sync(handle_irq_desc_y(irq_resolve_mapping(domain, hwirq)));
}

/** irq_resolve_mapping(): the descriptor of `hwirq` in `domain` (NULL domain: the default domain). */
export function irq_resolve_mapping(domain: irq_domain | null, hwirq: number): irq_desc | null {
  return __irq_resolve_mapping(domain, hwirq);
}
