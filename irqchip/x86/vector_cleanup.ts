// SPDX-License-Identifier: GPL-2.0-only
// arch/x86/kernel/apic/vector.c, the vector move and cleanup machinery: an
// affinity change keeps the old vector (prev_vector/prev_cpu) until the first
// interrupt arrives on the new one (irq_complete_move()), then a timer on the
// old CPU frees it; CPU offline and fixup_irqs() release it at once. The
// domain and the per-CPU state are in vector.ts, the chip in vector_chip.ts.

import { site_of } from "../../lib/kernel/stacktrace.ts";
import { pr_warn, pr_warn_once } from "../../lib/kernel/printk.ts";
import { raw_spin_lock, raw_spin_unlock, raw_spin_lock_irq, raw_spin_unlock_irq } from "../../lib/kernel/spinlock.ts";
import { smp_processor_id } from "../../lib/kernel/context.ts";
import { cpu_online } from "../../lib/kernel/cpumask.ts";
import { WARN_ON_ONCE } from "../../lib/kernel/bug.ts";
import { jiffies } from "../../lib/kernel/jiffies.ts";
import { timer_pending, timer_delete, add_timer_on, mod_timer, type timer_list } from "../../lib/kernel/timer.ts";
import { trace_event } from "../../lib/kernel/tracepoint.ts";
import { apic_read, APIC_IRR } from "../../lib/kernel/apic.ts";
import { irq_matrix_free, irq_matrix_offline } from "../../lib/irq/matrix.ts";
import type { irq_data } from "../../lib/irq/irq.ts";
import { VECTOR_UNUSED, type irq_cfg } from "./hw_irq.ts";
import { apic_chip_data, lock_vector_lock, unlock_vector_lock, vs } from "./vector.ts";

export interface vector_cleanup {
  head: apic_chip_data[];
  timer: timer_list;
}

// Exported for clear_irq_vector() in vector.ts.
export function hlist_del_init(apicd: apic_chip_data): void {
  if (!apicd.clist) return;
  for (const cl of vs().cleanup) {
    const i = cl.head.indexOf(apicd);
    if (i >= 0) cl.head.splice(i, 1);
  }
  apicd.clist = false;
}

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
// Exported for the per-CPU timers arch_early_irq_init() sets up in vector.ts.
export function vector_cleanup_callback(cl: vector_cleanup): void {
  const s = vs();
  // Prevent vectors vanishing under us
  raw_spin_lock_irq(s.lock, vector_cleanup_callback_ip);
  __vector_cleanup(cl, true);
  raw_spin_unlock_irq(s.lock);
}

// arch/x86/kernel/apic/vector.c: __vector_schedule_cleanup()
function __vector_schedule_cleanup(apicd: apic_chip_data): void {
  const s = vs();
  const cpu = apicd.prev_cpu;
  raw_spin_lock(s.lock, 0, __vector_schedule_cleanup_ip);
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

/**
 * The hw_irq_cfg embedded in struct apic_chip_data. C gets from it back to
 * the apic_chip_data with container_of(); the back pointer renders that. It
 * is cleared when the apic_chip_data is freed, and a copy of the cfg (as
 * msi_set_affinity() takes one) is a plain object that leads nowhere.
 */
export class apicd_hw_irq_cfg implements irq_cfg {
  dest_apicid = 0;
  vector = 0;
  apicd: apic_chip_data | null = null;
}

function apicd_of_cfg(cfg: irq_cfg): apic_chip_data | null {
  return cfg instanceof apicd_hw_irq_cfg ? cfg.apicd : null;
}

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
export function apic_force_complete_move(irqd: irq_data): void {
  const s = vs();
  const cpu = smp_processor_id();
  raw_spin_lock(s.lock, 0, apic_force_complete_move_ip);
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

// lockdep acquire sites (_RET_IP_) of the locks these functions take,
// named instead of captured on every acquisition (lib/kernel/stacktrace.ts)
const vector_cleanup_callback_ip = site_of(vector_cleanup_callback);
const __vector_schedule_cleanup_ip = site_of(__vector_schedule_cleanup);
const apic_force_complete_move_ip = site_of(apic_force_complete_move);
