// SPDX-License-Identifier: GPL-2.0-only
// include/linux/tracepoint.h, reduced: a tracepoint records its TP_printk()
// text on the trace bus, so the ftrace renderer prints it as the kernel does.
// With nobody listening a tracepoint costs one branch.

import { K } from "./kernel.ts";
import { vsprintf } from "./vsprintf.ts";
import { cpu_online } from "./cpumask.ts";

declare module "../sim/trace.ts" {
  interface TraceEventMap {
    /** A kernel tracepoint ("<system>:<event>") with its TP_printk() text. */
    tp: { system: string; event: string; text: string };
  }
}

/** Is tracing on (the tracepoint's static key)? Test it before computing arguments. */
export function trace_enabled(): boolean {
  return K.sim.trace.on;
}

/** Emit `system:event` with the TP_printk() format and arguments. */
export function trace_event(system: string, event: string, fmt: string, ...args: unknown[]): void {
  const bus = K.sim.trace;
  if (!bus.on) return;
  // include/linux/tracepoint.h: DECLARE_TRACE_EVENT()'s cpu_online(raw_smp_processor_id())
  // condition. A CPU that left cpu_online_mask (the dying CPU in fixup_irqs()) records nothing.
  const cpu = bus.cpu();
  if (cpu >= 0 && !cpu_online(cpu)) return;
  bus.emit("tp", { system, event, text: vsprintf(fmt, args) });
}
