// SPDX-License-Identifier: GPL-2.0-only
// arch/x86/kernel/apic/vector.c: the x86 vector domain, the root of every
// interrupt hierarchy on x86. Vectors are allocated per CPU from the matrix
// (kernel/irq/matrix.c); reservation mode defers the real assignment to
// activation; an affinity change keeps the old vector until the first
// interrupt arrives on the new one, then a timer on the old CPU frees it
// (vector_cleanup.ts). The lapic_controller chip is in vector_chip.ts and the
// asm header definitions in hw_irq.ts; both are re-exported here.

import { site_of } from "../../lib/kernel/stacktrace.ts";
import { K } from "../../lib/kernel/kernel.ts";
import { EBUSY, EINVAL } from "../../lib/kernel/errno.ts";
import { BUG_ON, WARN_ON_ONCE } from "../../lib/kernel/bug.ts";
import { pr_err, pr_warn } from "../../lib/kernel/printk.ts";
import { raw_spinlock_t, raw_spin_lock, raw_spin_unlock, raw_spin_lock_irqsave, raw_spin_unlock_irqrestore } from "../../lib/kernel/spinlock.ts";
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
import { timer_list, timer_setup } from "../../lib/kernel/timer.ts";
import { trace_event } from "../../lib/kernel/tracepoint.ts";
import {
  irqd_affinity_is_managed,
  irqd_can_reserve,
  irqd_is_managed_and_shutdown,
  irqd_set_affinity_on_activate,
  irqd_set_can_reserve,
  irqd_set_handle_enforce_irqctx,
  irqd_set_single_target,
  type irq_data,
  type seq_file,
} from "../../lib/irq/irq.ts";
import { irq_data_set_chip, irq_data_update_effective_affinity } from "../../lib/irq/chip.ts";
import { irq_to_desc } from "../../lib/irq/irqdesc.ts";
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
  irq_matrix_online,
  irq_matrix_remove_managed,
  irq_matrix_remove_reserved,
  irq_matrix_reserve,
  irq_matrix_reserve_managed,
  type irq_matrix,
} from "../../lib/irq/matrix.ts";
import {
  FIRST_EXTERNAL_VECTOR,
  FIRST_SYSTEM_VECTOR,
  IA32_SYSCALL_VECTOR,
  MANAGED_IRQ_SHUTDOWN_VECTOR,
  NR_VECTORS,
  VECTOR_RETRIGGERED,
  VECTOR_SHUTDOWN,
  VECTOR_UNUSED,
  type irq_alloc_info,
  type irq_cfg,
  type vector_irq_entry,
} from "./hw_irq.ts";
import { apicd_hw_irq_cfg, hlist_del_init, vector_cleanup_callback, type vector_cleanup } from "./vector_cleanup.ts";
import { lapic_controller } from "./vector_chip.ts";

export * from "./hw_irq.ts";
export { apic_ack_edge, apic_ack_irq, lapic_controller, __irq_msi_compose_msg } from "./vector_chip.ts";

/** System vectors with IDT entries on x86-64 (system_vectors bitmap). */
const SYSTEM_VECTORS = [IA32_SYSCALL_VECTOR, 0xec, 0xef, 0xf2, 0xf3, 0xf4, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd, 0xfe, 0xff];

/** struct apic_chip_data */
export interface apic_chip_data {
  hw_irq_cfg: apicd_hw_irq_cfg;
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

/** init_irq_alloc_info() */
export function init_irq_alloc_info(info: Partial<irq_alloc_info>, mask: cpumask | null): irq_alloc_info {
  for (const k of Object.keys(info)) delete (info as Record<string, unknown>)[k];
  Object.assign(info, { type: 0, flags: 0, mask });
  return info as irq_alloc_info;
}

export interface VectorState {
  domain: irq_domain;
  matrix: irq_matrix;
  lock: raw_spinlock_t;
  searchmask: cpumask;
  vector_irq: vector_irq_entry[][];
  cleanup: vector_cleanup[];
}

// Exported for the move and cleanup machinery in vector_cleanup.ts.
export function vs(): VectorState {
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
  raw_spin_lock(vs().lock, 0, lock_vector_lock_ip);
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
  const flags = raw_spin_lock_irqsave(s.lock, 0, reserve_managed_vector_ip);
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
  const flags = raw_spin_lock_irqsave(s.lock, 0, reserve_irq_vector_ip);
  reserve_irq_vector_locked(irqd);
  raw_spin_unlock_irqrestore(s.lock, flags);
  return 0;
}

// arch/x86/kernel/apic/vector.c: assign_vector_locked(); vector_lock held
// Exported for apic_set_affinity() in vector_chip.ts.
export function assign_vector_locked(irqd: irq_data, dest: cpumask): number {
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
  const flags = raw_spin_lock_irqsave(s.lock, 0, assign_irq_vector_ip);
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
// Exported for apic_set_affinity() in vector_chip.ts.
export function assign_managed_vector(irqd: irq_data, dest: cpumask): number {
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

// arch/x86/kernel/apic/vector.c: x86_vector_deactivate()
function x86_vector_deactivate(_dom: irq_domain, irqd: irq_data): void {
  const s = vs();
  const apicd = apic_chip_data(irqd)!;
  trace_event("irq_vectors", "vector_deactivate", "irq=%u is_managed=%d can_reserve=%d reserve=%d", irqd.irq, apicd.is_managed ? 1 : 0, apicd.can_reserve ? 1 : 0, 0);
  // Regular fixed assigned interrupt
  if (!apicd.is_managed && !apicd.can_reserve) return;
  // If the interrupt has a global reservation, nothing to do
  if (apicd.has_reserved) return;
  const flags = raw_spin_lock_irqsave(s.lock, 0, x86_vector_deactivate_ip);
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
  const flags = raw_spin_lock_irqsave(s.lock, 0, x86_vector_activate_ip);
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
      const flags = raw_spin_lock_irqsave(s.lock, 0, x86_vector_free_irqs_ip);
      clear_irq_vector(irqd);
      vector_free_reserved_and_managed(irqd);
      const apicd = irqd.chip_data as apic_chip_data;
      irq_domain_reset_irq_data(irqd);
      raw_spin_unlock_irqrestore(s.lock, flags);
      // free_apic_chip_data(apicd): its cfg no longer leads back to it
      apicd.hw_irq_cfg.apicd = null;
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
      hw_irq_cfg: new apicd_hw_irq_cfg(),
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
    apicd.hw_irq_cfg.apicd = apicd;
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
  const flags = raw_spin_lock_irqsave(s.lock, 0, lapic_online_ip);
  // Online the vector matrix array for this CPU
  irq_matrix_online(s.matrix);
  // The interrupt affinity logic never targets interrupts to offline CPUs.
  // irqlab has no legacy PIC interrupts, the only ones __setup_vector_irq()
  // would install on every CPU, so every slot starts out unused.
  s.vector_irq[smp_processor_id()]!.fill(VECTOR_UNUSED);
  raw_spin_unlock_irqrestore(s.lock, flags);
}

// lockdep acquire sites (_RET_IP_) of the locks these functions take,
// named instead of captured on every acquisition (lib/kernel/stacktrace.ts)
const lock_vector_lock_ip = site_of(lock_vector_lock);
const reserve_managed_vector_ip = site_of(reserve_managed_vector);
const reserve_irq_vector_ip = site_of(reserve_irq_vector);
const assign_irq_vector_ip = site_of(assign_irq_vector);
const x86_vector_deactivate_ip = site_of(x86_vector_deactivate);
const x86_vector_activate_ip = site_of(x86_vector_activate);
const x86_vector_free_irqs_ip = site_of(x86_vector_free_irqs);
const lapic_online_ip = site_of(lapic_online);
