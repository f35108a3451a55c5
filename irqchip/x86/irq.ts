// SPDX-License-Identifier: GPL-2.0-only
// arch/x86/kernel/irq.c: the interrupt entry for device vectors
// (common_interrupt() and its vector_irq[] lookup), fixup_irqs() on a dying
// CPU, and the architecture rows of /proc/interrupts.

import { site_of } from "../../lib/kernel/stacktrace.ts";
import type { Frame, SimCpu } from "../../lib/sim/cpu.ts";
import type { msi_parent_ops } from "../../lib/irq/msi_types.ts";
import { K } from "../../lib/kernel/kernel.ts";
import { printk_ratelimited, KERN_EMERG } from "../../lib/kernel/printk.ts";
import { mdelay } from "../../lib/kernel/delay.ts";
import { smp_processor_id } from "../../lib/kernel/context.ts";
import { raw_spin_lock, raw_spin_unlock } from "../../lib/kernel/spinlock.ts";
import { apic_eoi, apic_read, lapic_init, set_arch_vector_handler, APIC_IRR } from "../../lib/kernel/apic.ts";
import { arch_irq_stat } from "../../lib/kernel/entry.ts";
import { for_each_cpu, cpu_online_mask } from "../../lib/kernel/cpumask.ts";
import { generic_handle_irq_desc_y, irq_desc } from "../../lib/irq/irqdesc.ts";
import { set_ack_bad_irq_hook } from "../../lib/irq/dummychip.ts";
import { irq_migrate_all_off_this_cpu } from "../../lib/irq/cpuhotplug.ts";
import { genirq_set_arch_hooks } from "../../lib/irq/init.ts";
import type { seq_file } from "../../lib/irq/irq.ts";
import {
  arch_early_irq_init,
  lock_vector_lock,
  unlock_vector_lock,
  lapic_online,
  vector_irq,
  FIRST_EXTERNAL_VECTOR,
  NR_VECTORS,
  VECTOR_RETRIGGERED,
  VECTOR_UNUSED,
} from "./vector.ts";
import { lapic_offline } from "./vector_cleanup.ts";
import { x86_vector_msi_parent_ops } from "./msi.ts";

// arch/x86/kernel/irq.c: reevaluate_vector(); vector_lock held, hardirq
function reevaluate_vector(cpu: number, vector: number): irq_desc | null {
  const desc = vector_irq(cpu)[vector];
  if (desc instanceof irq_desc) return desc;
  if (desc === VECTOR_UNUSED || desc === undefined) printk_ratelimited(KERN_EMERG + "No irq handler for %d.%u\n", smp_processor_id(), vector);
  else vector_irq(cpu)[vector] = VECTOR_UNUSED;
  return null;
}

// arch/x86/kernel/irq.c: call_irq_handler() + common_interrupt()
export function* common_interrupt(cpu: SimCpu, vector: number): Frame {
  let desc = vector_irq(cpu.id)[vector];
  if (!(desc instanceof irq_desc)) {
    // Reevaluate with vector_lock held to prevent a race against
    // request_irq() installing a descriptor on this vector of this CPU
    // between the lockless read and the VECTOR_UNUSED write below
    // (6.17+, "x86/irq: Plug vector setup race").
    lock_vector_lock();
    desc = reevaluate_vector(cpu.id, vector);
    unlock_vector_lock();
    if (!desc) {
      apic_eoi();
      return;
    }
  }
  // arch/x86/kernel/irq.c: handle_irq() -> generic_handle_irq_desc()
  yield* generic_handle_irq_desc_y(desc);
}

// arch/x86/kernel/apic/apic.c: is_vector_pending()
function is_vector_pending(vector: number): boolean {
  const irr = apic_read(APIC_IRR + Math.floor(vector / 32) * 0x10);
  return (irr & (1 << (vector % 32))) !== 0;
}

// arch/x86/kernel/irq.c: fixup_irqs(); on the dying CPU, interrupts off
export function fixup_irqs(): void {
  irq_migrate_all_off_this_cpu();
  // We can remove mdelay() and then send spurious interrupts to new cpu
  // targets for all the irqs that were handled previously by this cpu.
  // So for now, retain mdelay(1) and check the IRR and then send those
  // interrupts to new targets as this cpu is already offlined...
  mdelay(1);
  const vi = vector_irq(smp_processor_id());
  for (let vector = FIRST_EXTERNAL_VECTOR; vector < NR_VECTORS; vector++) {
    const desc = vi[vector];
    if (!(desc instanceof irq_desc)) continue;
    if (is_vector_pending(vector)) {
      raw_spin_lock(desc.lock, 0, fixup_irqs_ip);
      const data = desc.irq_data;
      const chip = data.chip;
      if (chip.irq_retrigger) {
        chip.irq_retrigger(data);
        vi[vector] = VECTOR_RETRIGGERED;
      }
      raw_spin_unlock(desc.lock);
    }
    if (vi[vector] !== VECTOR_RETRIGGERED) vi[vector] = VECTOR_UNUSED;
  }
}

/* arch/x86/kernel/irq.c: arch_show_interrupts() rows */
const ROWS: readonly [string, string][] = [
  ["NMI", "  Non-maskable interrupts\n"],
  ["LOC", "  Local timer interrupts\n"],
  ["SPU", "  Spurious interrupts\n"],
  ["PMI", "  Performance monitoring interrupts\n"],
  ["IWI", "  IRQ work interrupts\n"],
  ["RTR", "  APIC ICR read retries\n"],
  ["RES", "  Rescheduling interrupts\n"],
  ["CAL", "  Function call interrupts\n"],
  ["TLB", "  TLB shootdowns\n"],
  ["TRM", "  Thermal event interrupts\n"],
  ["THR", "  Threshold APIC interrupts\n"],
  ["DFR", "  Deferred Error APIC interrupts\n"],
  ["MCE", "  Machine check exceptions\n"],
  ["MCP", "  Machine check polls\n"],
];
const ROWS2: readonly [string, string][] = [
  ["PIN", "  Posted-interrupt notification event\n"],
  ["NPI", "  Nested posted-interrupt event\n"],
  ["PIW", "  Posted-interrupt wakeup event\n"],
];

// arch/x86/kernel/irq.c: arch_show_interrupts()
export function arch_show_interrupts(p: seq_file, prec: number): void {
  const row = (name: string, text: string): void => {
    p.printf("%*s: ", prec, name);
    for (const j of for_each_cpu(cpu_online_mask())) p.printf("%10u ", arch_irq_stat(K.sim.cpus[j]!, name));
    p.puts(text);
  };
  for (const [n, t] of ROWS) row(n, t);
  p.printf("%*s: %10u\n", prec, "ERR", 0);
  p.printf("%*s: %10u\n", prec, "MIS", 0);
  for (const [n, t] of ROWS2) row(n, t);
}

/** Boot the x86 interrupt architecture of a machine: LAPICs, the vector domain, entry. */
export async function x86_irq_init(msi_parent_ops: msi_parent_ops = x86_vector_msi_parent_ops): Promise<void> {
  lapic_init();
  await arch_early_irq_init(msi_parent_ops);
  set_arch_vector_handler(common_interrupt);
  set_ack_bad_irq_hook(() => apic_eoi());
  genirq_set_arch_hooks({
    cpu_disable: () => {
      fixup_irqs();
      lapic_offline();
    },
    cpu_starting: () => lapic_online(),
  });
}

// lockdep acquire sites (_RET_IP_) of the locks these functions take,
// named instead of captured on every acquisition (lib/kernel/stacktrace.ts)
const fixup_irqs_ip = site_of(fixup_irqs);
