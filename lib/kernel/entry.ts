// SPDX-License-Identifier: GPL-2.0-only
// Interrupt entry: the kernel side of the simulated CPUs' interrupt line.
//
// Interrupt sources register here (the local APIC timer now; the APIC's
// device vectors from the arch code). When a CPU takes an interrupt the
// highest-priority pending source runs inside irq_enter()/irq_exit(), and
// softirqs run on the way out as in kernel/softirq.c.

import type { CpuArch, Frame, SimCpu } from "../sim/cpu.ts";
import { K, state_accessor } from "./kernel.ts";
import { irq_enter, irq_exit } from "./softirq.ts";
import { local_apic_timer_interrupt, local_timer_pending } from "./timer.ts";
import { per_cpu } from "./sched.ts";

export interface irq_source {
  name: string;
  /** Higher runs first (x86: the vector's priority class). */
  prio: number;
  pending(cpu: SimCpu): boolean;
  /** Handle one interrupt in hardirq context; may return a frame to suspend. */
  handle(cpu: SimCpu): Frame | void;
}

const sources_state = state_accessor("irq_sources", () => [] as irq_source[]);
function sources(): irq_source[] {
  return sources_state();
}

export function register_irq_source(src: irq_source): void {
  const s = sources();
  s.push(src);
  s.sort((a, b) => b.prio - a.prio);
}

/** Per-CPU count of an arch interrupt row (/proc/interrupts LOC, RES, ...). */
export function arch_irq_stat_inc(cpu: SimCpu, key: string): void {
  const a = per_cpu(cpu).arch;
  const c = (a["irq_stat"] as Record<string, number> | undefined) ?? {};
  c[key] = (c[key] ?? 0) + 1;
  a["irq_stat"] = c;
}

export function arch_irq_stat(cpu: SimCpu, key: string): number {
  const c = per_cpu(cpu).arch["irq_stat"] as Record<string, number> | undefined;
  return c?.[key] ?? 0;
}

/** LOCAL_TIMER_VECTOR (0xec) */
const local_timer_source: irq_source = {
  name: "LOC",
  prio: 0xec,
  pending: (cpu) => local_timer_pending(cpu.id),
  handle: (cpu) => {
    arch_irq_stat_inc(cpu, "LOC");
    local_apic_timer_interrupt(cpu.id);
  },
};

function* irq_entry_frame(cpu: SimCpu, src: irq_source): Frame {
  irq_enter();
  const r = src.handle(cpu);
  if (r) yield* r;
  irq_exit();
}

/** The CpuArch the simulator calls into. */
export const kernel_arch: CpuArch = {
  pending(cpu: SimCpu): boolean {
    for (const s of sources()) if (s.pending(cpu)) return true;
    return false;
  },
  enter(cpu: SimCpu): Frame {
    for (const s of sources()) if (s.pending(cpu)) return irq_entry_frame(cpu, s);
    return irq_entry_frame(cpu, { name: "spurious", prio: 0, pending: () => false, handle: () => undefined });
  },
};

export function entry_init(): void {
  register_irq_source(local_timer_source);
  for (const cpu of K.sim.cpus) cpu.arch = kernel_arch;
}
