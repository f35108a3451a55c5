// SPDX-License-Identifier: GPL-2.0-only
// Kernel stack traces for splats, taken from the JavaScript stack.
//
// irqlab keeps the kernel's function names, so the JavaScript call stack of
// kernel code reads like a kernel stack. Frames are printed by name only:
// there are no "+0x1f/0x40" offsets in a TypeScript rendering.

/** Frames of the simulator, the hardware models and Node itself are not kernel frames. */
const NOT_KERNEL = /node:|node_modules|\/lib\/sim\/|\/lib\/hw\/|\/lib\/machine\.ts|\/test\/harness\.ts|^native|<anonymous>/;
const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Functions of the reporting machinery itself, never shown in traces. */
const HIDDEN = new Set([
  "capture_stack",
  "capture_site",
  "capture_trace",
  "site_name",
  "dump_stack",
  "dump_stack_lvl",
  "show_stack",
  "__warn",
  "__warn_printk",
  "warn_common",
  "site_from_stack",
  "WARN",
  "WARN_ON",
  "WARN_ONCE",
  "WARN_ON_ONCE",
  "BUG",
  "BUG_ON",
  "caller_name",
  "lock_acquire",
  "spin_acquire",
  "mutex_acquire",
  "report_splat",
  "chip_cb",
  "__might_resched_report",
  "__might_sleep",
  "might_sleep",
  "report_hard",
  "report_soft",
  "lockup_check",
  "spinAdvance",
  "spinForever",
]);

/** Locking entry points: "at:" names their caller, as _RET_IP_ does. */
const LOCK_ENTRY = /^(_?raw_)?spin_(lock|trylock)|^(raw_)?spin_lock|^mutex_(lock|trylock)|^__mutex_|^do_raw_spin_|^lock_/;

function parseFrame(line: string): { name: string; file: string } | null {
  // "    at [async ][Type.]name (file:line:col)" or "    at file:line:col"
  const m = /^\s*at (?:async )?(.*?) \((.*)\)$/.exec(line);
  if (!m) return null;
  let name = m[1]!;
  const dot = name.lastIndexOf(".");
  if (dot >= 0) name = name.slice(dot + 1);
  const br = name.indexOf(" [as ");
  if (br >= 0) name = name.slice(0, br);
  return { name, file: m[2]! };
}

function frames(stack: string | undefined): string[] {
  if (!stack) return [];
  const out: string[] = [];
  for (const line of stack.split("\n").slice(1)) {
    const f = parseFrame(line);
    if (!f || !IDENT.test(f.name) || NOT_KERNEL.test(f.file) || HIDDEN.has(f.name) || f.name.startsWith("print_")) continue;
    if (out.length === 0 && LOCK_ENTRY.test(f.name) && /lib\/kernel\//.test(f.file)) continue;
    if (out[out.length - 1] !== f.name) out.push(f.name);
  }
  return out;
}

/** Kernel function names on the current stack, innermost first, skipping `skip` frames. */
export function capture_stack(skip = 0, limit = 40): string[] {
  const prev = Error.stackTraceLimit;
  Error.stackTraceLimit = limit + skip + 8;
  const s = new Error().stack;
  Error.stackTraceLimit = prev;
  return frames(s);
}

/** A capture of the current stack whose text is formatted only if printed. */
export interface StackSite {
  stack?: string;
  /** A site named by its caller instead of captured (see site_of()). */
  fn?: string;
}

/**
 * The site of code in `fn`, named without capturing the stack: what a hot
 * path passes as the _RET_IP_ of a lock it takes, where a stack capture per
 * acquisition would cost more than the rest of the path.
 */
export function site_of(fn: { readonly name: string }): StackSite {
  return { fn: fn.name };
}

export function capture_site(limit = 6): StackSite {
  const prev = Error.stackTraceLimit;
  Error.stackTraceLimit = limit;
  const o: StackSite = {};
  Error.captureStackTrace(o);
  Error.stackTraceLimit = prev;
  return o;
}

/**
 * capture_stack() deferred: the same frames, captured now, decoded by
 * trace_frames() only when a report prints them. V8 formats a captured
 * stack on first read, so keeping the capture costs no formatting (and no
 * source-map lookups) for the traces lockdep records but never prints.
 */
export function capture_trace(skip = 0, limit = 40): StackSite {
  const prev = Error.stackTraceLimit;
  // capture_stack()'s window without its own frame
  Error.stackTraceLimit = limit + skip + 7;
  const o: StackSite = {};
  Error.captureStackTrace(o, capture_trace);
  Error.stackTraceLimit = prev;
  return o;
}

/** The kernel function names of a trace from capture_trace(), innermost first. */
export function trace_frames(site: StackSite | null | undefined): string[] {
  return site ? frames(site.stack) : [];
}

/** The innermost kernel function of a captured site (the %pS of an "at:" field). */
export function site_name(site: StackSite | null | undefined): string {
  if (!site) return "0x0";
  if (site.fn !== undefined) return site.fn;
  return frames(site.stack)[0] ?? "0x0";
}
