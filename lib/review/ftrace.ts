// SPDX-License-Identifier: GPL-2.0-only
// The ftrace view: /sys/kernel/tracing/trace of the nop tracer as Linux
// prints it, for the kernel's own events on the trace bus (irq:irq_handler_entry
// and irq_handler_exit, and every tracepoint recorded with its TP_printk()
// text: irq_vectors:*, irq_matrix:*, ...). Optionally irqlab's own events
// are interleaved, under event names starting with "irqlab_" so nobody takes
// them for kernel events.
//
// Line format (kernel/trace/trace_output.c): trace_print_context() prints
// "%16s-%-7d " (comm, pid), "[%03d] ", then trace_print_lat_fmt() (irqs-off,
// need-resched, hardirq/softirq, preempt-depth, migrate-disable), then
// " %5lu.%06lu: " and the event. The columns were checked against a Linux
// 6.12 capture (test/lib/review/oracle/ftrace-events.txt).

import type { TraceRecord } from "../sim/trace.ts";
import { formatRid } from "./callbacks.ts";

export interface FtraceOptions {
  /** Interleave irqlab's own events as "irqlab_*" (default false: kernel events only). */
  irqlab?: boolean;
  /** Print the file header (default true). */
  header?: boolean;
  /** Number of online CPUs for "#P:" (default: highest CPU seen + 1). */
  cpus?: number;
  /** Only these events (by name, e.g. "irq_handler_entry", "vector_update"). */
  events?: Iterable<string>;
  /** Only records at or after this sequence number (default 0). */
  fromSeq?: number;
}

// include/linux/preempt.h
const SOFTIRQ_OFFSET = 0x100;
const SOFTIRQ_MASK = 0xff00;
const HARDIRQ_MASK = 0xf0000;
const NMI_MASK = 0xf00000;

/** trace_print_lat_fmt(): the five flag columns of one entry. */
export function latFlags(r: { irqsOff: boolean; preempt: number }): string {
  const pc = r.preempt;
  const nmi = (pc & NMI_MASK) !== 0;
  const hardirq = (pc & HARDIRQ_MASK) !== 0;
  const softirq = (pc & SOFTIRQ_OFFSET) !== 0;
  // TRACE_FLAG_BH_OFF: softirq_count() >> (SOFTIRQ_SHIFT + 1)
  const bhOff = (pc & SOFTIRQ_MASK) >> 9 !== 0;
  const irqsOff = r.irqsOff && bhOff ? "D" : r.irqsOff ? "d" : bhOff ? "b" : ".";
  // irqlab has no TIF_NEED_RESCHED: the column is always '.'
  const needResched = ".";
  const hardsoft = nmi && hardirq ? "Z" : nmi ? "z" : hardirq && softirq ? "H" : hardirq ? "h" : softirq ? "s" : ".";
  // tracing_gen_ctx(): preempt depth is pc & 0xff capped at 0xf; no migrate_disable()
  const depth = Math.min(pc & 0xff, 0xf);
  return `${irqsOff}${needResched}${hardsoft}${depth ? depth.toString(16) : "."}.`;
}

/** trace_print_context() up to and including ": ". */
export function ftracePrefix(r: { comm: string; pid: number; cpu: number; t: number; irqsOff: boolean; preempt: number }): string {
  // trace_find_cmdline(): pid 0 is "<idle>"; comm is TASK_COMM_LEN (16) with the NUL
  const comm = r.pid === 0 ? "<idle>" : r.pid < 0 ? "<...>" : r.comm.slice(0, 15);
  const usecs = Math.floor(r.t / 1000);
  const secs = Math.floor(usecs / 1e6);
  const rem = usecs - secs * 1e6;
  return `${comm.padStart(16)}-${String(r.pid).padEnd(7)} [${String(Math.max(r.cpu, 0)).padStart(3, "0")}] ${latFlags(r)} ${String(secs).padStart(5)}.${String(rem).padStart(6, "0")}: `;
}

/** The event name and text of a record, or null when it is not shown. */
export function ftraceEvent(r: TraceRecord, irqlab: boolean): [string, string] | null {
  switch (r.kind) {
    case "irq_handler_entry":
      return ["irq_handler_entry", `irq=${r.irq} name=${r.name}`];
    case "irq_handler_exit":
      return ["irq_handler_exit", `irq=${r.irq} ret=${r.ret}`];
    case "tp":
      return [r.event, r.text];
    default:
      break;
  }
  if (!irqlab) return null;
  const hx = (v: number | undefined): string => `0x${((v ?? 0) >>> 0).toString(16)}`;
  switch (r.kind) {
    case "irq.chip":
      return [`irqlab_chip_${r.phase}`, `irq=${r.irq} hwirq=${hx(r.hwirq)} domain=${r.domain} chip=${r.chip} cb=${r.cb}${r.ret !== undefined ? ` ret=${r.ret}` : ""}`];
    case "irq.domain":
      return [`irqlab_domain_${r.phase}`, `irq=${r.irq} nr=${r.nr} domain=${r.domain} op=${r.op}${r.ret !== undefined ? ` ret=${r.ret}` : ""}`];
    case "irq.api":
      return [`irqlab_api_${r.phase}`, `irq=${r.irq} fn=${r.fn}${r.ret !== undefined ? ` ret=${r.ret}` : ""}`];
    case "hw.msix":
      return ["irqlab_hw_msix", `${r.what} bdf=${r.bdf} vector=${r.vector}${r.data !== undefined ? ` addr=${hx(r.addrHi)}:${hx(r.addrLo)} data=${hx(r.data)}` : ""}${r.why ? ` why=${r.why}` : ""}`];
    case "hw.msi":
      return [
        "irqlab_hw_msi",
        `${r.what} rid=${formatRid(r.rid)}${r.data !== undefined ? ` addr=${hx(r.addrHi)}:${hx(r.addrLo)} data=${hx(r.data)}` : ""}${r.dest !== undefined ? ` dest=${r.dest} vector=${hx(r.vector)}` : ""}${r.why ? ` why=${r.why}` : ""}`,
      ];
    case "hw.apic":
      return ["irqlab_hw_apic", `${r.what} apic=${r.apicId} vector=${hx(r.vector)}${r.why ? ` why=${r.why}` : ""}`];
    default:
      return null;
  }
}

/** The kernel's trace file header of the nop tracer with irq-info on (trace.c: print_func_help_header_irq()). */
export function ftraceHeader(entries: number, cpus: number): string {
  return [
    "# tracer: nop",
    "#",
    `# entries-in-buffer/entries-written: ${entries}/${entries}   #P:${cpus}`,
    "#",
    "#                                _-----=> irqs-off/BH-disabled",
    "#                               / _----=> need-resched",
    "#                              | / _---=> hardirq/softirq",
    "#                              || / _--=> preempt-depth",
    "#                              ||| / _-=> migrate-disable",
    "#                              |||| /     delay",
    "#           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION",
    "#              | |         |   |||||     |         |",
    "",
  ].join("\n");
}

/** The trace as `cat /sys/kernel/tracing/trace` prints it. */
export function renderFtrace(records: readonly TraceRecord[], opts: FtraceOptions = {}): string {
  const only = opts.events ? new Set(opts.events) : null;
  const from = opts.fromSeq ?? 0;
  const lines: string[] = [];
  let maxCpu = 0;
  for (const r of records) {
    if (r.seq < from) continue;
    const ev = ftraceEvent(r, opts.irqlab ?? false);
    if (!ev || (only && !only.has(ev[0]))) continue;
    maxCpu = Math.max(maxCpu, r.cpu);
    lines.push(`${ftracePrefix(r)}${ev[0]}: ${ev[1]}`);
  }
  const body = lines.length ? lines.join("\n") + "\n" : "";
  if (opts.header === false) return body;
  return ftraceHeader(lines.length, opts.cpus ?? maxCpu + 1) + body;
}
