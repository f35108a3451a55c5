// SPDX-License-Identifier: GPL-2.0-only
// arch/x86/kernel/apic/{apic.c,ipi.c} and arch/x86/include/asm/apic.h,
// reduced: xAPIC register access, EOI, fixed IPIs, the spurious-interrupt
// handler, and the CPU's interrupt entry for vectors pending in its APIC.
//
// When a CPU takes a LAPIC interrupt, the entry acknowledges it (the vector
// moves from IRR to ISR) and hands the vector to arch_vector_handler(), the
// dispatch that arch/x86's common_interrupt() does through vector_irq[]. The
// x86 vector domain installs the real one; until then the default only
// sends EOI. Tests replace it with set_arch_vector_handler().

import type { Frame, SimCpu } from "../sim/cpu.ts";
import { K, state_accessor } from "./kernel.ts";
import { hw_platform, readl, writel } from "./io.ts";
import { arch_irq_stat_inc, register_irq_source, type irq_source } from "./entry.ts";
import { local_irq_restore, local_irq_save, smp_processor_id } from "./context.ts";
import { cpu_relax } from "./delay.ts";
import { pr_info } from "./printk.ts";

/* arch/x86/include/asm/apicdef.h */
export const APIC_DEFAULT_PHYS_BASE = 0xfee00000;
export const APIC_ID = 0x20;
export const APIC_LVR = 0x30;
export const APIC_TASKPRI = 0x80;
export const APIC_TPRI_MASK = 0xff;
export const APIC_PROCPRI = 0xa0;
export const APIC_EOI = 0xb0;
export const APIC_EOI_ACK = 0x0;
export const APIC_SPIV = 0xf0;
export const APIC_SPIV_APIC_ENABLED = 1 << 8;
export const APIC_VECTOR_MASK = 0x000ff;
export const APIC_ISR = 0x100;
export const APIC_TMR = 0x180;
export const APIC_IRR = 0x200;
export const APIC_ESR = 0x280;
export const APIC_ICR = 0x300;
export const APIC_DEST_SELF = 0x40000;
export const APIC_DEST_ALLINC = 0x80000;
export const APIC_DEST_ALLBUT = 0xc0000;
export const APIC_ICR_BUSY = 0x01000;
export const APIC_DEST_LOGICAL = 0x00800;
export const APIC_DEST_PHYSICAL = 0x00000;
export const APIC_DM_FIXED = 0x00000;
export const APIC_ICR2 = 0x310;
/* arch/x86/include/asm/irq_vectors.h */
export const SPURIOUS_APIC_VECTOR = 0xff;

// arch/x86/include/asm/apic.h: native_apic_mem_write()
export function native_apic_mem_write(reg: number, v: number): void {
  writel(v, APIC_DEFAULT_PHYS_BASE + reg);
}

// arch/x86/include/asm/apic.h: native_apic_mem_read()
export function native_apic_mem_read(reg: number): number {
  return readl(APIC_DEFAULT_PHYS_BASE + reg);
}

// arch/x86/include/asm/apic.h: apic_write() (xAPIC: the MMIO page)
export function apic_write(reg: number, v: number): void {
  native_apic_mem_write(reg, v);
}

// arch/x86/include/asm/apic.h: apic_read()
export function apic_read(reg: number): number {
  return native_apic_mem_read(reg);
}

// arch/x86/include/asm/apic.h: apic_eoi()
export function apic_eoi(): void {
  native_apic_mem_write(APIC_EOI, APIC_EOI_ACK);
}

// arch/x86/kernel/apic/ipi.c: apic_mem_wait_icr_idle()
export function apic_mem_wait_icr_idle(): void {
  while (native_apic_mem_read(APIC_ICR) & APIC_ICR_BUSY) cpu_relax();
}

// arch/x86/kernel/apic/ipi.c: __prepare_ICR()
function __prepare_ICR(shortcut: number, vector: number, dest: number): number {
  return (shortcut | dest | APIC_DM_FIXED | vector) >>> 0;
}

// arch/x86/kernel/apic/ipi.c: __default_send_IPI_shortcut()
export function __default_send_IPI_shortcut(shortcut: number, vector: number): void {
  apic_mem_wait_icr_idle();
  native_apic_mem_write(APIC_ICR, __prepare_ICR(shortcut, vector, 0));
}

// arch/x86/kernel/apic/ipi.c: __default_send_IPI_dest_field()
export function __default_send_IPI_dest_field(dest_mask: number, vector: number, dest_mode: number): void {
  apic_mem_wait_icr_idle();
  native_apic_mem_write(APIC_ICR2, (dest_mask << 24) >>> 0);
  native_apic_mem_write(APIC_ICR, __prepare_ICR(0, vector, dest_mode));
}

// arch/x86/kernel/apic/ipi.c: default_send_IPI_single_phys() (APIC ID = CPU number in irqlab)
export function default_send_IPI_single_phys(cpu: number, vector: number): void {
  const flags = local_irq_save();
  __default_send_IPI_dest_field(cpu, vector, APIC_DEST_PHYSICAL);
  local_irq_restore(flags);
}

// arch/x86/kernel/apic/ipi.c: default_send_IPI_self()
export function default_send_IPI_self(vector: number): void {
  __default_send_IPI_shortcut(APIC_DEST_SELF, vector);
}

/** Dispatch of an acknowledged vector on `cpu` (arch/x86's vector_irq[] lookup). */
export type arch_vector_handler_t = (cpu: SimCpu, vector: number) => Frame | void;

function default_vector_handler(_cpu: SimCpu, _vector: number): void {
  apic_eoi();
}

interface vector_entry_state {
  handler: arch_vector_handler_t;
}

const vstate_state = state_accessor<vector_entry_state>("arch_vector_handler", () => ({ handler: default_vector_handler }));
function vstate(): vector_entry_state {
  return vstate_state();
}

/** Install the dispatch of LAPIC vectors for this machine; returns the previous one. */
export function set_arch_vector_handler(fn: arch_vector_handler_t | null): arch_vector_handler_t {
  const s = vstate();
  const prev = s.handler;
  s.handler = fn ?? default_vector_handler;
  return prev;
}

/** Run the installed dispatch for `vector` on `cpu`. */
export function arch_vector_handler(cpu: SimCpu, vector: number): Frame | void {
  return vstate().handler(cpu, vector);
}

// arch/x86/kernel/apic/apic.c: handle_spurious_interrupt()
export function handle_spurious_interrupt(vector: number): void {
  arch_irq_stat_inc(K.sim.cur, "SPU");
  if (vector === SPURIOUS_APIC_VECTOR) {
    pr_info("Spurious APIC interrupt (vector 0xFF) on CPU#%d, should never happen.\n", smp_processor_id());
    return;
  }
  const v = apic_read(APIC_ISR + ((vector & ~0x1f) >> 1));
  if (v & (1 << (vector & 0x1f))) {
    pr_info("Spurious interrupt (vector 0x%02x) on CPU#%d. Acked\n", vector, smp_processor_id());
    apic_eoi();
  } else {
    pr_info("Spurious interrupt (vector 0x%02x) on CPU#%d. Not pending!\n", vector, smp_processor_id());
  }
}

/**
 * The CPU's interrupt entry for its local APIC. Its priority sits just below
 * LOCAL_TIMER_VECTOR (0xec), whose source lib/kernel/timer.ts models apart
 * from the APIC: device vectors all rank below the timer, as on x86; system
 * vectors above 0xec would rank below it here.
 */
const lapic_source: irq_source = {
  name: "APIC",
  prio: 0xeb,
  pending: (cpu) => hw_platform().lapic(cpu.id).deliverable(),
  handle: (cpu) => {
    const l = hw_platform().lapic(cpu.id);
    // The interrupt acknowledge cycle: hardware, not kernel code.
    const vector = l.inta();
    // Vector 0xff is the spurious vector's IDT entry, whether the APIC
    // found nothing deliverable or a device really sent 0xff.
    if (vector === SPURIOUS_APIC_VECTOR) {
      handle_spurious_interrupt(vector);
      return;
    }
    return arch_vector_handler(cpu, vector);
  },
};

// arch/x86/kernel/apic/apic.c: setup_local_APIC(), reduced to TPR and SVR
export function setup_local_APIC(): void {
  let value = apic_read(APIC_TASKPRI);
  value &= ~APIC_TPRI_MASK;
  value |= 0x10;
  apic_write(APIC_TASKPRI, value);
  value = apic_read(APIC_SPIV);
  value &= ~APIC_VECTOR_MASK;
  value |= APIC_SPIV_APIC_ENABLED;
  value |= SPURIOUS_APIC_VECTOR;
  apic_write(APIC_SPIV, value);
}

/** Bring up every CPU's local APIC and connect it to interrupt entry (once per machine). */
export function lapic_init(): void {
  const s = K.state("lapic_init", () => ({ done: false }));
  if (s.done) return;
  s.done = true;
  register_irq_source(lapic_source);
  for (const cpu of K.sim.cpus) K.sim.on(cpu, () => setup_local_APIC());
}
