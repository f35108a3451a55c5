// SPDX-License-Identifier: GPL-2.0-only
// arch/x86/kernel/apic/vector.c: the x86 vector domain, the root of every
// interrupt hierarchy on x86. Vectors are allocated per CPU from the matrix
// (kernel/irq/matrix.c); reservation mode defers the real assignment to
// activation; an affinity change keeps the old vector until the first
// interrupt arrives on the new one, then a timer on the old CPU frees it.

import { K } from "../../lib/kernel/kernel.ts";
import { EBUSY, EINVAL, EIO } from "../../lib/kernel/errno.ts";
import { BUG_ON, WARN_ON_ONCE } from "../../lib/kernel/bug.ts";
import { pr_err, pr_warn, pr_warn_once } from "../../lib/kernel/printk.ts";
import { raw_spinlock_t, raw_spin_lock, raw_spin_unlock, raw_spin_lock_irqsave, raw_spin_unlock_irqrestore, raw_spin_lock_irq, raw_spin_unlock_irq } from "../../lib/kernel/spinlock.ts";
import { smp_processor_id } from "../../lib/kernel/context.ts";
import {
  cpumask,
  cpumask_and,
  cpumask_empty,
  cpumask_first,
  cpumask_of,
  cpumask_subset,
  cpumask_test_cpu,
  cpu_online,
  cpu_online_mask,
  nr_cpu_ids,
} from "../../lib/kernel/cpumask.ts";
import { jiffies } from "../../lib/kernel/jiffies.ts";
import { timer_list, timer_setup, timer_pending, timer_delete, add_timer_on, mod_timer } from "../../lib/kernel/timer.ts";
import { trace_event } from "../../lib/kernel/tracepoint.ts";
import { apic_eoi, apic_read, default_send_IPI_single_phys, APIC_IRR } from "../../lib/kernel/apic.ts";
import {
  irqd_affinity_is_managed,
  irqd_can_reserve,
  irqd_is_activated,
  irqd_is_managed_and_shutdown,
  irqd_set_affinity_on_activate,
  irqd_set_can_reserve,
  irqd_set_handle_enforce_irqctx,
  irqd_set_single_target,
  IRQ_SET_MASK_OK,
  type irq_chip,
  type irq_data,
  type seq_file,
} from "../../lib/irq/irq.ts";
import { irq_data_set_chip, irq_data_update_effective_affinity } from "../../lib/irq/chip.ts";
import { irq_to_desc, type irq_desc } from "../../lib/irq/irqdesc.ts";
import { irq_move_irq } from "../../lib/irq/migration.ts";
import {
  irq_domain_alloc_named_fwnode,
  irq_domain_create_tree,
  irq_domain_get_irq_data,
  irq_domain_reset_irq_data,
  irq_set_default_domain,
  IRQ_DOMAIN_FLAG_MSI_PARENT,
  type irq_domain,
  type irq_domain_ops,
} from "../../lib/irq/irqdomain.ts";
import {
  irq_alloc_matrix,
  irq_matrix_alloc,
  irq_matrix_alloc_managed,
  irq_matrix_assign_system,
  irq_matrix_debug_show,
  irq_matrix_free,
  irq_matrix_offline,
  irq_matrix_online,
  irq_matrix_remove_managed,
  irq_matrix_remove_reserved,
  irq_matrix_reserve,
  irq_matrix_reserve_managed,
  type irq_matrix,
} from "../../lib/irq/matrix.ts";
import type { msi_msg } from "../../lib/irq/msi_types.ts";

/* arch/x86/include/asm/irq_vectors.h */
export const NR_VECTORS = 256;
export const FIRST_EXTERNAL_VECTOR = 0x20;
export const IA32_SYSCALL_VECTOR = 0x80;
export const LOCAL_TIMER_VECTOR = 0xec;
export const MANAGED_IRQ_SHUTDOWN_VECTOR = 0xef;
export const FIRST_SYSTEM_VECTOR = LOCAL_TIMER_VECTOR;
/** System vectors with IDT entries on x86-64 (system_vectors bitmap). */
const SYSTEM_VECTORS = [IA32_SYSCALL_VECTOR, 0xec, 0xef, 0xf2, 0xf3, 0xf4, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd, 0xfe, 0xff];

/* arch/x86/include/asm/hw_irq.h: vector_irq[] sentinels */
export const VECTOR_UNUSED = null;
export const VECTOR_SHUTDOWN = "shutdown" as const;
export const VECTOR_RETRIGGERED = "retriggered" as const;
export type vector_irq_entry = irq_desc | typeof VECTOR_UNUSED | typeof VECTOR_SHUTDOWN | typeof VECTOR_RETRIGGERED;

/* arch/x86/include/asm/msidef.h / msi.h */
export const X86_MSI_BASE_ADDRESS_LOW = 0xfee00000;
export const X86_MSI_BASE_ADDRESS_HIGH = 0;

/** struct irq_cfg */
export interface irq_cfg {
  dest_apicid: number;
  vector: number;
}

/** struct apic_chip_data */
export interface apic_chip_data {
  hw_irq_cfg: irq_cfg;
  vector: number;
  prev_vector: number;
  cpu: number;
  prev_cpu: number;
  irq: number;
  /** On a CPU's vector_cleanup list (the hlist node clist is hashed). */
  clist: boolean;
  move_in_progress: boolean;
  is_managed: boolean;
  can_reserve: boolean;
  has_reserved: boolean;
}

/** struct irq_alloc_info (arch/x86/include/asm/hw_irq.h), the fields the vector domain reads. */
export interface irq_alloc_info {
  type: number;
  flags: number;
  mask: cpumask | null;
  /** Fields of the children (MSI descriptor, IOMMU data) ride along. */
  [key: string]: unknown;
}

export const X86_IRQ_ALLOC_LEGACY = 0x2;

/** init_irq_alloc_info() */
export function init_irq_alloc_info(info: Partial<irq_alloc_info>, mask: cpumask | null): irq_alloc_info {
  for (const k of Object.keys(info)) delete (info as Record<string, unknown>)[k];
  Object.assign(info, { type: 0, flags: 0, mask });
  return info as irq_alloc_info;
}

interface vector_cleanup {
  head: apic_chip_data[];
  timer: timer_list;
}

interface VectorState {
  domain: irq_domain;
  matrix: irq_matrix;
  lock: raw_spinlock_t;
  searchmask: cpumask;
  vector_irq: vector_irq_entry[][];
  cleanup: vector_cleanup[];
}

function vs(): VectorState {
  const s = K.state<VectorState | null>("x86_vector", () => null);
  if (!s) throw new Error("irqlab: the x86 vector domain is not initialized (arch_early_irq_init)");
  return s;
}

/** vector_lock (lock_vector_lock()/unlock_vector_lock()). */
export function vs_lock(): raw_spinlock_t {
  return vs().lock;
}

// arch/x86/kernel/apic/vector.c: lock_vector_lock(); interrupts already off
export function lock_vector_lock(): void {
  raw_spin_lock(vs().lock);
}

// arch/x86/kernel/apic/vector.c: unlock_vector_lock()
export function unlock_vector_lock(): void {
  raw_spin_unlock(vs().lock);
}

/** The x86 vector domain of this machine. */
export function x86_vector_domain(): irq_domain {
  return vs().domain;
}

export function vector_matrix(): irq_matrix {
  return vs().matrix;
}

/** per_cpu(vector_irq, cpu) */
export function vector_irq(cpu: number): vector_irq_entry[] {
  return vs().vector_irq[cpu]!;
}

// arch/x86/kernel/apic/vector.c: apic_chip_data()
export function apic_chip_data(irqd: irq_data | null): apic_chip_data | null {
  if (!irqd) return null;
  while (irqd.parent_data) irqd = irqd.parent_data;
  return irqd.chip_data as apic_chip_data | null;
}

// arch/x86/kernel/apic/vector.c: irqd_cfg()
export function irqd_cfg(irqd: irq_data): irq_cfg | null {
  return apic_chip_data(irqd)?.hw_irq_cfg ?? null;
}

export function irq_cfg_of(irq: number): irq_cfg | null {
  const desc = irq_to_desc(irq);
  return desc ? irqd_cfg(desc.irq_data) : null;
}

/** The APIC driver's calc_dest_apicid(): physical destination mode, APIC ID = CPU number. */
function calc_dest_apicid(cpu: number): number {
  return cpu;
}

// arch/x86/kernel/apic/vector.c: apic_update_irq_cfg()
function apic_update_irq_cfg(irqd: irq_data, vector: number, cpu: number): void {
  const apicd = apic_chip_data(irqd)!;
  apicd.hw_irq_cfg.vector = vector;
  apicd.hw_irq_cfg.dest_apicid = calc_dest_apicid(cpu);
  irq_data_update_effective_affinity(irqd, cpumask_of(cpu));
  trace_event("irq_vectors", "vector_config", "irq=%u vector=%u cpu=%u apicdest=0x%08x", irqd.irq, vector, cpu, apicd.hw_irq_cfg.dest_apicid);
}

// arch/x86/kernel/apic/vector.c: apic_update_vector()
function apic_update_vector(irqd: irq_data, newvec: number, newcpu: number): void {
  const s = vs();
  const apicd = apic_chip_data(irqd)!;
  const desc = irq_to_desc(irqd.irq)!;
  const managed = irqd_affinity_is_managed(irqd);
  trace_event("irq_vectors", "vector_update", "irq=%u vector=%u cpu=%u prev_vector=%u prev_cpu=%u", irqd.irq, newvec, newcpu, apicd.vector, apicd.cpu);
  // If there is no vector associated or if the associated vector is the
  // shutdown vector, which is associated to make PCI/MSI shutdown mode
  // work, then there is nothing to release. Clear out prev_vector for this
  // and the offlined target case.
  apicd.prev_vector = 0;
  if (apicd.vector && apicd.vector !== MANAGED_IRQ_SHUTDOWN_VECTOR) {
    // If the target CPU of the previous vector is online, then mark the
    // vector as move in progress and store it for cleanup when the first
    // interrupt on the new vector arrives. If the target CPU is offline
    // then the regular release mechanism via the cleanup vector is not
    // possible and the vector can be immediately freed in the underlying
    // matrix allocator.
    if (cpu_online(apicd.cpu)) {
      apicd.move_in_progress = true;
      apicd.prev_vector = apicd.vector;
      apicd.prev_cpu = apicd.cpu;
      WARN_ON_ONCE(apicd.cpu === newcpu, { fn: "apic_update_vector" });
    } else {
      irq_matrix_free(s.matrix, apicd.cpu, apicd.vector, managed);
    }
  }
  apicd.vector = newvec;
  apicd.cpu = newcpu;
  const slot = s.vector_irq[newcpu]![newvec];
  BUG_ON(slot !== VECTOR_UNUSED && slot !== VECTOR_SHUTDOWN && slot !== VECTOR_RETRIGGERED && slot !== undefined, { fn: "apic_update_vector" });
  s.vector_irq[newcpu]![newvec] = desc;
}

// arch/x86/kernel/apic/vector.c: vector_assign_managed_shutdown()
function vector_assign_managed_shutdown(irqd: irq_data): void {
  const cpu = cpumask_first(cpu_online_mask());
  apic_update_irq_cfg(irqd, MANAGED_IRQ_SHUTDOWN_VECTOR, cpu);
}

// arch/x86/kernel/apic/vector.c: reserve_managed_vector()
function reserve_managed_vector(irqd: irq_data): number {
  const s = vs();
  const affmsk = irqd.common.affinity;
  const apicd = apic_chip_data(irqd)!;
  const flags = raw_spin_lock_irqsave(s.lock);
  apicd.is_managed = true;
  const ret = irq_matrix_reserve_managed(s.matrix, affmsk);
  raw_spin_unlock_irqrestore(s.lock, flags);
  trace_event("irq_vectors", "vector_reserve_managed", "irq=%u ret=%d", irqd.irq, ret);
  return ret;
}

// arch/x86/kernel/apic/vector.c: reserve_irq_vector_locked()
function reserve_irq_vector_locked(irqd: irq_data): void {
  const apicd = apic_chip_data(irqd)!;
  irq_matrix_reserve(vs().matrix);
  apicd.can_reserve = true;
  apicd.has_reserved = true;
  irqd_set_can_reserve(irqd);
  trace_event("irq_vectors", "vector_reserve", "irq=%u ret=%d", irqd.irq, 0);
  vector_assign_managed_shutdown(irqd);
}

// arch/x86/kernel/apic/vector.c: reserve_irq_vector()
function reserve_irq_vector(irqd: irq_data): number {
  const s = vs();
  const flags = raw_spin_lock_irqsave(s.lock);
  reserve_irq_vector_locked(irqd);
  raw_spin_unlock_irqrestore(s.lock, flags);
  return 0;
}

// arch/x86/kernel/apic/vector.c: assign_vector_locked(); vector_lock held
function assign_vector_locked(irqd: irq_data, dest: cpumask): number {
  const apicd = apic_chip_data(irqd)!;
  const resvd = apicd.has_reserved;
  let cpu = apicd.cpu;
  let vector = apicd.vector;
  // If the current target CPU is online and in the new requested affinity
  // mask, there is no point in moving the interrupt from one CPU to another.
  if (vector && cpu_online(cpu) && cpumask_test_cpu(cpu, dest)) return 0;
  // Careful here. @apicd might either have move_in_progress set or be
  // enqueued for cleanup. Assigning a new vector would either leave a stale
  // vector on some CPU around or in case of a pending cleanup corrupt the
  // hlist.
  if (apicd.move_in_progress || apicd.clist) return -EBUSY;
  const out = { cpu: 0 };
  vector = irq_matrix_alloc(vs().matrix, dest, resvd, out);
  cpu = out.cpu;
  trace_event("irq_vectors", "vector_alloc", "irq=%u vector=%u reserved=%d ret=%d", irqd.irq, vector < 0 ? 0 : vector, resvd ? 1 : 0, vector < 0 ? vector : 0);
  if (vector < 0) return vector;
  apic_update_vector(irqd, vector, cpu);
  apic_update_irq_cfg(irqd, vector, cpu);
  return 0;
}

// arch/x86/kernel/apic/vector.c: assign_irq_vector()
function assign_irq_vector(irqd: irq_data, dest: cpumask): number {
  const s = vs();
  const flags = raw_spin_lock_irqsave(s.lock);
  cpumask_and(s.searchmask, dest, cpu_online_mask());
  const ret = assign_vector_locked(irqd, s.searchmask);
  raw_spin_unlock_irqrestore(s.lock, flags);
  return ret;
}

// arch/x86/kernel/apic/vector.c: assign_irq_vector_any_locked() (single NUMA node)
function assign_irq_vector_any_locked(irqd: irq_data): number {
  const s = vs();
  // Get the affinity mask - either irq_default_affinity or (user) set
  const affmsk = irqd.common.affinity;
  // Try the full affinity mask
  cpumask_and(s.searchmask, affmsk, cpu_online_mask());
  if (!assign_vector_locked(irqd, s.searchmask)) return 0;
  // Try the full online mask
  return assign_vector_locked(irqd, cpu_online_mask());
}

// arch/x86/kernel/apic/vector.c: assign_irq_vector_policy()
function assign_irq_vector_policy(irqd: irq_data, info: irq_alloc_info): number {
  if (irqd_affinity_is_managed(irqd)) return reserve_managed_vector(irqd);
  if (info.mask) return assign_irq_vector(irqd, info.mask);
  // Make only a global reservation with no guarantee. A real vector is
  // associated at activation time.
  return reserve_irq_vector(irqd);
}

// arch/x86/kernel/apic/vector.c: assign_managed_vector()
function assign_managed_vector(irqd: irq_data, dest: cpumask): number {
  const s = vs();
  const affmsk = irqd.common.affinity;
  const apicd = apic_chip_data(irqd)!;
  cpumask_and(s.searchmask, dest, affmsk);
  // set_affinity might call here for nothing
  if (apicd.vector && cpumask_test_cpu(apicd.cpu, s.searchmask)) return 0;
  const out = { cpu: 0 };
  const vector = irq_matrix_alloc_managed(s.matrix, s.searchmask, out);
  trace_event("irq_vectors", "vector_alloc_managed", "irq=%u vector=%u ret=%d", irqd.irq, vector < 0 ? 0 : vector, vector < 0 ? vector : 0);
  if (vector < 0) return vector;
  apic_update_vector(irqd, vector, out.cpu);
  apic_update_irq_cfg(irqd, vector, out.cpu);
  return 0;
}

// arch/x86/kernel/apic/vector.c: clear_irq_vector(); vector_lock held
function clear_irq_vector(irqd: irq_data): void {
  const s = vs();
  const apicd = apic_chip_data(irqd)!;
  const managed = irqd_affinity_is_managed(irqd);
  let vector = apicd.vector;
  if (!vector) return;
  trace_event("irq_vectors", "vector_clear", "irq=%u vector=%u cpu=%u prev_vector=%u prev_cpu=%u", irqd.irq, vector, apicd.cpu, apicd.prev_vector, apicd.prev_cpu);
  s.vector_irq[apicd.cpu]![vector] = VECTOR_SHUTDOWN;
  irq_matrix_free(s.matrix, apicd.cpu, vector, managed);
  apicd.vector = 0;
  // Clean up move in progress
  vector = apicd.prev_vector;
  if (!vector) return;
  s.vector_irq[apicd.prev_cpu]![vector] = VECTOR_SHUTDOWN;
  irq_matrix_free(s.matrix, apicd.prev_cpu, vector, managed);
  apicd.prev_vector = 0;
  apicd.move_in_progress = false;
  hlist_del_init(apicd);
}

function hlist_del_init(apicd: apic_chip_data): void {
  if (!apicd.clist) return;
  for (const cl of vs().cleanup) {
    const i = cl.head.indexOf(apicd);
    if (i >= 0) cl.head.splice(i, 1);
  }
  apicd.clist = false;
}

// arch/x86/kernel/apic/vector.c: x86_vector_deactivate()
function x86_vector_deactivate(_dom: irq_domain, irqd: irq_data): void {
  const s = vs();
  const apicd = apic_chip_data(irqd)!;
  trace_event("irq_vectors", "vector_deactivate", "irq=%u is_managed=%d can_reserve=%d reserve=%d", irqd.irq, apicd.is_managed ? 1 : 0, apicd.can_reserve ? 1 : 0, 0);
  // Regular fixed assigned interrupt
  if (!apicd.is_managed && !apicd.can_reserve) return;
  // If the interrupt has a global reservation, nothing to do
  if (apicd.has_reserved) return;
  const flags = raw_spin_lock_irqsave(s.lock);
  clear_irq_vector(irqd);
  if (apicd.can_reserve) reserve_irq_vector_locked(irqd);
  else vector_assign_managed_shutdown(irqd);
  raw_spin_unlock_irqrestore(s.lock, flags);
}

// arch/x86/kernel/apic/vector.c: activate_reserved()
function activate_reserved(irqd: irq_data): number {
  const apicd = apic_chip_data(irqd)!;
  const ret = assign_irq_vector_any_locked(irqd);
  if (!ret) {
    apicd.has_reserved = false;
    // Core might have disabled reservation mode after allocating the irq
    // descriptor.
    if (!irqd_can_reserve(irqd)) apicd.can_reserve = false;
  }
  // Check to ensure that the effective affinity mask is a subset the user
  // supplied affinity mask, and warn the user if it is not
  if (!cpumask_subset(irqd.common.effective_affinity, irqd.common.affinity)) {
    pr_warn("irq %u: Affinity broken due to vector space exhaustion.\n", irqd.irq);
  }
  return ret;
}

// arch/x86/kernel/apic/vector.c: activate_managed()
function activate_managed(irqd: irq_data): number {
  const s = vs();
  const dest = irqd.common.affinity;
  cpumask_and(s.searchmask, dest, cpu_online_mask());
  if (WARN_ON_ONCE(cpumask_empty(s.searchmask), { fn: "activate_managed" })) {
    // Something in the core code broke! Survive gracefully
    pr_err("Managed startup for irq %u, but no CPU\n", irqd.irq);
    return -EINVAL;
  }
  const ret = assign_managed_vector(irqd, s.searchmask);
  // This should not happen. The vector reservation got buggered. Handle it gracefully.
  if (WARN_ON_ONCE(ret < 0, { fn: "activate_managed", line: 2 })) pr_err("Managed startup irq %u, no vector available\n", irqd.irq);
  return ret;
}

// arch/x86/kernel/apic/vector.c: x86_vector_activate()
function x86_vector_activate(_dom: irq_domain, irqd: irq_data, reserve: boolean): number {
  const s = vs();
  const apicd = apic_chip_data(irqd)!;
  let ret = 0;
  trace_event("irq_vectors", "vector_activate", "irq=%u is_managed=%d can_reserve=%d reserve=%d", irqd.irq, apicd.is_managed ? 1 : 0, apicd.can_reserve ? 1 : 0, reserve ? 1 : 0);
  const flags = raw_spin_lock_irqsave(s.lock);
  if (!apicd.can_reserve && !apicd.is_managed) assign_irq_vector_any_locked(irqd);
  else if (reserve || irqd_is_managed_and_shutdown(irqd)) vector_assign_managed_shutdown(irqd);
  else if (apicd.is_managed) ret = activate_managed(irqd);
  else if (apicd.has_reserved) ret = activate_reserved(irqd);
  raw_spin_unlock_irqrestore(s.lock, flags);
  return ret;
}

// arch/x86/kernel/apic/vector.c: vector_free_reserved_and_managed()
function vector_free_reserved_and_managed(irqd: irq_data): void {
  const s = vs();
  const dest = irqd.common.affinity;
  const apicd = apic_chip_data(irqd)!;
  trace_event("irq_vectors", "vector_teardown", "irq=%u is_managed=%d has_reserved=%d", irqd.irq, apicd.is_managed ? 1 : 0, apicd.has_reserved ? 1 : 0);
  if (apicd.has_reserved) irq_matrix_remove_reserved(s.matrix);
  if (apicd.is_managed) irq_matrix_remove_managed(s.matrix, dest);
}

// arch/x86/kernel/apic/vector.c: x86_vector_free_irqs()
function x86_vector_free_irqs(domain: irq_domain, virq: number, nr_irqs: number): void {
  const s = vs();
  for (let i = 0; i < nr_irqs; i++) {
    const irqd = irq_domain_get_irq_data(s.domain, virq + i);
    if (irqd && irqd.chip_data) {
      const flags = raw_spin_lock_irqsave(s.lock);
      clear_irq_vector(irqd);
      vector_free_reserved_and_managed(irqd);
      const apicd = irqd.chip_data as apic_chip_data;
      irq_domain_reset_irq_data(irqd);
      raw_spin_unlock_irqrestore(s.lock, flags);
      // free_apic_chip_data(apicd): its cfg no longer leads back to it
      cfgOwner.delete(apicd.hw_irq_cfg);
    }
  }
  void domain;
}

// arch/x86/kernel/apic/vector.c: x86_vector_alloc_irqs()
function x86_vector_alloc_irqs(domain: irq_domain, virq: number, nr_irqs: number, arg: unknown): number {
  const info = arg as irq_alloc_info;
  for (let i = 0; i < nr_irqs; i++) {
    const irqd = irq_domain_get_irq_data(domain, virq + i);
    BUG_ON(!irqd, { fn: "x86_vector_alloc_irqs" });
    WARN_ON_ONCE(irqd!.chip_data, { fn: "x86_vector_alloc_irqs" });
    const apicd: apic_chip_data = {
      hw_irq_cfg: { dest_apicid: 0, vector: 0 },
      vector: 0,
      prev_vector: 0,
      cpu: 0,
      prev_cpu: 0,
      irq: virq + i,
      clist: false,
      move_in_progress: false,
      is_managed: false,
      can_reserve: false,
      has_reserved: false,
    };
    cfgOwner.set(apicd.hw_irq_cfg, apicd);
    irq_data_set_chip(irqd!, lapic_controller);
    irqd!.chip_data = apicd;
    irqd!.hwirq = virq + i;
    irqd_set_single_target(irqd!);
    // Prevent that any of these interrupts is invoked in non interrupt
    // context via e.g. generic_handle_irq() as that can corrupt the
    // affinity move state.
    irqd_set_handle_enforce_irqctx(irqd!);
    // Don't invoke affinity setter on deactivated interrupts
    irqd_set_affinity_on_activate(irqd!);
    const err = assign_irq_vector_policy(irqd!, info);
    trace_event("irq_vectors", "vector_setup", "irq=%u is_legacy=%d ret=%d", virq + i, 0, err);
    if (err) {
      irqd!.chip_data = null;
      x86_vector_free_irqs(domain, virq, i);
      return err;
    }
  }
  return 0;
}

// arch/x86/kernel/apic/vector.c: x86_vector_debug_show()
function x86_vector_debug_show(m: seq_file, _d: irq_domain | null, irqd: irq_data | null, ind: number): void {
  if (!irqd) {
    irq_matrix_debug_show(m, vs().matrix, ind);
    return;
  }
  if (!irqd.chip_data) {
    m.printf("%*sVector: Not assigned\n", ind, "");
    return;
  }
  const apicd = { ...(irqd.chip_data as apic_chip_data) };
  m.printf("%*sVector: %5u\n", ind, "", apicd.vector);
  m.printf("%*sTarget: %5u\n", ind, "", apicd.cpu);
  if (apicd.prev_vector) {
    m.printf("%*sPrevious vector: %5u\n", ind, "", apicd.prev_vector);
    m.printf("%*sPrevious target: %5u\n", ind, "", apicd.prev_cpu);
  }
  m.printf("%*smove_in_progress: %u\n", ind, "", apicd.move_in_progress ? 1 : 0);
  m.printf("%*sis_managed:       %u\n", ind, "", apicd.is_managed ? 1 : 0);
  m.printf("%*scan_reserve:      %u\n", ind, "", apicd.can_reserve ? 1 : 0);
  m.printf("%*shas_reserved:     %u\n", ind, "", apicd.has_reserved ? 1 : 0);
  m.printf("%*scleanup_pending:  %u\n", ind, "", apicd.clist ? 1 : 0);
}

const x86_vector_domain_ops: irq_domain_ops = {
  alloc: x86_vector_alloc_irqs,
  free: x86_vector_free_irqs,
  activate: x86_vector_activate,
  deactivate: x86_vector_deactivate,
  debug_show: x86_vector_debug_show,
};

/* ------------------------------------------------------ moves and cleanup */

// arch/x86/kernel/apic/vector.c: free_moved_vector()
function free_moved_vector(apicd: apic_chip_data): void {
  const s = vs();
  const vector = apicd.prev_vector;
  const cpu = apicd.prev_cpu;
  const managed = apicd.is_managed;
  trace_event("irq_vectors", "vector_free_moved", "irq=%u cpu=%u vector=%u is_managed=%d", apicd.irq, cpu, vector, managed ? 1 : 0);
  irq_matrix_free(s.matrix, cpu, vector, managed);
  s.vector_irq[cpu]![vector] = VECTOR_UNUSED;
  hlist_del_init(apicd);
  apicd.prev_vector = 0;
  apicd.move_in_progress = false;
}

// arch/x86/kernel/apic/vector.c: __vector_cleanup(); vector_lock held, on the old target CPU
function __vector_cleanup(cl: vector_cleanup, check_irr: boolean): void {
  let rearm = false;
  for (const apicd of [...cl.head]) {
    const vector = apicd.prev_vector;
    // Paranoia: Check if the vector that needs to be cleaned up is
    // registered at the APICs IRR. That's clearly a hardware issue if the
    // vector arrived on the old target _after_ interrupts were disabled
    // above. Keep @apicd on the list and schedule the timer again to give
    // the CPU a chance to handle the pending interrupt.
    const irr = check_irr ? apic_read(APIC_IRR + Math.floor(vector / 32) * 0x10) : 0;
    if (irr & (1 << (vector % 32))) {
      pr_warn_once("Moved interrupt pending in old target APIC %u\n", apicd.irq);
      rearm = true;
      continue;
    }
    free_moved_vector(apicd);
  }
  if (rearm) mod_timer(cl.timer, jiffies() + 1);
}

// arch/x86/kernel/apic/vector.c: vector_cleanup_callback()
function vector_cleanup_callback(cl: vector_cleanup): void {
  const s = vs();
  // Prevent vectors vanishing under us
  raw_spin_lock_irq(s.lock);
  __vector_cleanup(cl, true);
  raw_spin_unlock_irq(s.lock);
}

// arch/x86/kernel/apic/vector.c: __vector_schedule_cleanup()
function __vector_schedule_cleanup(apicd: apic_chip_data): void {
  const s = vs();
  const cpu = apicd.prev_cpu;
  raw_spin_lock(s.lock);
  apicd.move_in_progress = false;
  if (cpu_online(cpu)) {
    const cl = s.cleanup[cpu]!;
    cl.head.unshift(apicd);
    apicd.clist = true;
    if (!timer_pending(cl.timer)) {
      cl.timer.expires = jiffies() + 1;
      add_timer_on(cl.timer, cpu);
    }
  } else {
    pr_warn("IRQ %u schedule cleanup for offline CPU %u\n", apicd.irq, cpu);
    free_moved_vector(apicd);
  }
  raw_spin_unlock(s.lock);
}

// arch/x86/kernel/apic/vector.c: vector_schedule_cleanup()
export function vector_schedule_cleanup(cfg: irq_cfg): void {
  const apicd = apicd_of_cfg(cfg);
  if (apicd?.move_in_progress) __vector_schedule_cleanup(apicd);
}

function apicd_of_cfg(cfg: irq_cfg): apic_chip_data | null {
  return cfgOwner.get(cfg) ?? null;
}
const cfgOwner = new WeakMap<irq_cfg, apic_chip_data>();

// arch/x86/kernel/apic/vector.c: irq_complete_move()
export function irq_complete_move(cfg: irq_cfg | null): void {
  if (!cfg) return;
  const apicd = apicd_of_cfg(cfg);
  if (!apicd || !apicd.move_in_progress) return;
  // If the interrupt arrived on the new target CPU, cleanup the vector on
  // the old target CPU. A vector check is not required because an
  // interrupt can never move from one vector to another on the same CPU.
  if (apicd.cpu === smp_processor_id()) __vector_schedule_cleanup(apicd);
}

// arch/x86/kernel/apic/vector.c: apic_force_complete_move(); called from
// fixup_irqs() on the outgoing CPU with desc->lock held, interrupts off
function apic_force_complete_move(irqd: irq_data): void {
  const s = vs();
  const cpu = smp_processor_id();
  raw_spin_lock(s.lock);
  try {
    const apicd = apic_chip_data(irqd);
    if (!apicd) return;
    // If prev_vector is empty or the descriptor is neither currently nor
    // previously on the outgoing CPU no action required.
    const vector = apicd.prev_vector;
    if (!vector || (apicd.cpu !== cpu && apicd.prev_cpu !== cpu)) return;
    // This is tricky. If the cleanup of the old vector has not been done
    // yet, then the following setaffinity call will fail with -EBUSY. This
    // can leave the interrupt in a stale state. All CPUs are stuck in stop
    // machine with interrupts disabled so calling __irq_complete_move()
    // would be completely pointless: release the vector.
    if (apicd.move_in_progress) {
      // No interrupt arrived on the new target since the move: print the
      // irq and the old vector, as the kernel does, for the post-mortem.
      pr_warn("IRQ fixup: irq %d move in progress, old vector %d\n", irqd.irq, vector);
    }
    free_moved_vector(apicd);
  } finally {
    raw_spin_unlock(s.lock);
  }
}

/* -------------------------------------------------------------- the chip */

// arch/x86/kernel/apic/vector.c: apic_set_affinity()
function apic_set_affinity(irqd: irq_data, dest: cpumask, _force: boolean): number {
  const s = vs();
  if (WARN_ON_ONCE(!irqd_is_activated(irqd), { fn: "apic_set_affinity" })) return -EIO;
  raw_spin_lock(s.lock);
  cpumask_and(s.searchmask, dest, cpu_online_mask());
  const err = irqd_affinity_is_managed(irqd) ? assign_managed_vector(irqd, s.searchmask) : assign_vector_locked(irqd, s.searchmask);
  raw_spin_unlock(s.lock);
  return err ? err : IRQ_SET_MASK_OK;
}

// arch/x86/kernel/apic/vector.c: apic_ack_irq()
export function apic_ack_irq(irqd: irq_data): void {
  irq_move_irq(irqd);
  apic_eoi();
}

// arch/x86/kernel/apic/vector.c: apic_ack_edge()
export function apic_ack_edge(irqd: irq_data): void {
  irq_complete_move(irqd_cfg(irqd));
  irq_move_irq(irqd);
  apic_eoi();
}

// arch/x86/kernel/apic/vector.c: apic_retrigger_irq(): a self-IPI to the target
function apic_retrigger_irq(irqd: irq_data): number {
  const s = vs();
  const apicd = apic_chip_data(irqd)!;
  const flags = raw_spin_lock_irqsave(s.lock);
  default_send_IPI_single_phys(apicd.cpu, apicd.vector);
  raw_spin_unlock_irqrestore(s.lock, flags);
  return 1;
}

// arch/x86/kernel/apic/msi.c: __irq_msi_compose_msg()
export function __irq_msi_compose_msg(cfg: irq_cfg, msg: msi_msg, dmar: boolean): void {
  msg.address_lo = 0;
  msg.address_hi = 0;
  msg.data = 0;
  // base_address 0xfee, dest_mode_logical 0 (physical), destid_0_7
  msg.address_lo = (X86_MSI_BASE_ADDRESS_LOW | ((cfg.dest_apicid & 0xff) << 12)) >>> 0;
  // delivery_mode FIXED (0), vector
  msg.data = cfg.vector & 0xff;
  msg.address_hi = X86_MSI_BASE_ADDRESS_HIGH;
  if (dmar) msg.address_hi = ((cfg.dest_apicid >>> 8) << 8) >>> 0;
  else WARN_ON_ONCE(cfg.dest_apicid > 0xff, { fn: "__irq_msi_compose_msg" });
}

// arch/x86/kernel/apic/vector.c: x86_vector_msi_compose_msg()
function x86_vector_msi_compose_msg(data: irq_data, msg: msi_msg): void {
  __irq_msi_compose_msg(irqd_cfg(data)!, msg, false);
}

/** static struct irq_chip lapic_controller */
export const lapic_controller: irq_chip = {
  name: "APIC",
  irq_ack: apic_ack_edge,
  irq_set_affinity: apic_set_affinity,
  irq_compose_msi_msg: x86_vector_msi_compose_msg,
  irq_retrigger: apic_retrigger_irq,
  irq_force_complete_move: apic_force_complete_move,
};

/* --------------------------------------------------------------- boot */

/**
 * arch/x86/kernel/apic/vector.c: arch_early_irq_init() +
 * lapic_assign_system_vectors() + lapic_online() on every CPU.
 */
export async function arch_early_irq_init(msi_parent_ops: irq_domain["msi_parent_ops"]): Promise<irq_domain> {
  const fn = irq_domain_alloc_named_fwnode("VECTOR");
  BUG_ON(!fn, { fn: "arch_early_irq_init" });
  const domain = await irq_domain_create_tree(fn, x86_vector_domain_ops, null);
  BUG_ON(domain === null, { fn: "arch_early_irq_init" });
  irq_set_default_domain(domain);
  domain!.flags |= IRQ_DOMAIN_FLAG_MSI_PARENT;
  domain!.msi_parent_ops = msi_parent_ops;
  const n = nr_cpu_ids();
  const matrix = irq_alloc_matrix(NR_VECTORS, FIRST_EXTERNAL_VECTOR, FIRST_SYSTEM_VECTOR);
  const st: VectorState = {
    domain: domain!,
    matrix,
    lock: new raw_spinlock_t("vector_lock"),
    searchmask: new cpumask(n),
    vector_irq: Array.from({ length: n }, () => new Array<vector_irq_entry>(NR_VECTORS).fill(VECTOR_UNUSED)),
    cleanup: [],
  };
  for (let cpu = 0; cpu < n; cpu++) {
    const cl: vector_cleanup = { head: [], timer: new timer_list() };
    timer_setup(cl.timer, () => vector_cleanup_callback(cl), 0x00100000);
    cl.timer.cpu = cpu;
    st.cleanup.push(cl);
  }
  K.state("x86_vector", () => st);
  // lapic_assign_system_vectors()
  for (const v of SYSTEM_VECTORS) irq_matrix_assign_system(matrix, v, false);
  for (const cpu of K.sim.cpus) K.sim.on(cpu, () => lapic_online());
  return domain!;
}

// arch/x86/kernel/apic/vector.c: lapic_online(); start_secondary() calls it
// under lock_vector_lock() with interrupts still off, as done here
export function lapic_online(): void {
  const s = vs();
  const flags = raw_spin_lock_irqsave(s.lock);
  // Online the vector matrix array for this CPU
  irq_matrix_online(s.matrix);
  // The interrupt affinity logic never targets interrupts to offline CPUs.
  // irqlab has no legacy PIC interrupts, the only ones __setup_vector_irq()
  // would install on every CPU, so every slot starts out unused.
  s.vector_irq[smp_processor_id()]!.fill(VECTOR_UNUSED);
  raw_spin_unlock_irqrestore(s.lock, flags);
}

// arch/x86/kernel/apic/vector.c: lapic_offline(); on the dying CPU, interrupts off
export function lapic_offline(): void {
  const s = vs();
  const cl = s.cleanup[smp_processor_id()]!;
  lock_vector_lock();
  // In case the vector cleanup timer has not expired
  __vector_cleanup(cl, false);
  irq_matrix_offline(s.matrix);
  // timer_delete_sync_try(): the callback cannot be running, it runs on
  // this CPU, which is in stop_machine
  timer_delete(cl.timer);
  WARN_ON_ONCE(cl.head.length !== 0, { fn: "lapic_offline" });
  unlock_vector_lock();
}
