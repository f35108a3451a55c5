// SPDX-License-Identifier: GPL-2.0-only
// kernel/panic.c, lib/bug.c, lib/dump_stack.c: taint, WARN(), BUG(),
// dump_stack() and panic(), in the formats of Linux 6.18 on x86-64.

import { K, type Splat } from "./kernel.ts";
import { printk, pr_crit, pr_emerg, pr_warn, KERN_DEFAULT, KERN_SOH } from "./printk.ts";
import { vsprintf } from "./vsprintf.ts";
import { capture_stack } from "./stacktrace.ts";
import { current } from "./sched.ts";
import { HARDIRQ_MASK, SOFTIRQ_OFFSET } from "./context.ts";

/* include/linux/panic.h: taint flags */
export const TAINT_PROPRIETARY_MODULE = 0;
export const TAINT_FORCED_MODULE = 1;
export const TAINT_CPU_OUT_OF_SPEC = 2;
export const TAINT_FORCED_RMMOD = 3;
export const TAINT_MACHINE_CHECK = 4;
export const TAINT_BAD_PAGE = 5;
export const TAINT_USER = 6;
export const TAINT_DIE = 7;
export const TAINT_OVERRIDDEN_ACPI_TABLE = 8;
export const TAINT_WARN = 9;
export const TAINT_CRAP = 10;
export const TAINT_FIRMWARE_WORKAROUND = 11;
export const TAINT_OOT_MODULE = 12;
export const TAINT_UNSIGNED_MODULE = 13;
export const TAINT_SOFTLOCKUP = 14;
export const TAINT_LIVEPATCH = 15;
export const TAINT_AUX = 16;
export const TAINT_RANDSTRUCT = 17;
export const TAINT_TEST = 18;
export const TAINT_FWCTL = 19;
export const TAINT_FLAGS_COUNT = 20;

/* kernel/panic.c: taint_flags[] (c_true, c_false, desc) */
const taint_flags: readonly [string, string, string][] = [
  ["P", "G", "PROPRIETARY_MODULE"],
  ["F", " ", "FORCED_MODULE"],
  ["S", " ", "CPU_OUT_OF_SPEC"],
  ["R", " ", "FORCED_RMMOD"],
  ["M", " ", "MACHINE_CHECK"],
  ["B", " ", "BAD_PAGE"],
  ["U", " ", "USER"],
  ["D", " ", "DIE"],
  ["A", " ", "OVERRIDDEN_ACPI_TABLE"],
  ["W", " ", "WARN"],
  ["C", " ", "CRAP"],
  ["I", " ", "FIRMWARE_WORKAROUND"],
  ["O", " ", "OOT_MODULE"],
  ["E", " ", "UNSIGNED_MODULE"],
  ["L", " ", "SOFTLOCKUP"],
  ["K", " ", "LIVEPATCH"],
  ["X", " ", "AUX"],
  ["T", " ", "RANDSTRUCT"],
  ["N", " ", "TEST"],
  ["J", " ", "FWCTL"],
];

// kernel/panic.c: add_taint()
export function add_taint(flag: number): void {
  K.taint |= 1 << flag;
}

export function test_taint(flag: number): boolean {
  return (K.taint & (1 << flag)) !== 0;
}

// kernel/panic.c: print_tainted()
export function print_tainted(): string {
  if (!K.taint) return "Not tainted";
  let s = "Tainted: ";
  for (let i = 0; i < TAINT_FLAGS_COUNT; i++) {
    const f = taint_flags[i]!;
    s += K.taint & (1 << i) ? f[0] : f[1];
  }
  return s;
}

// kernel/panic.c: print_tainted_verbose()
export function print_tainted_verbose(): string {
  const parts: string[] = [];
  for (let i = 0; i < TAINT_FLAGS_COUNT; i++) {
    if (K.taint & (1 << i)) parts.push(`[${taint_flags[i]![0]}]=${taint_flags[i]![2]}`);
  }
  return "Tainted: " + parts.join(", ");
}

/** init_utsname()->version: its first token is what splats print. */
const UTS_VERSION_TOKEN = "#1";
/** preempt_model_str() of a Debian-style PREEMPT_DYNAMIC kernel. */
const PREEMPT_MODEL = "PREEMPT(voluntary)";

// kernel/locking/lockdep.c: print_kernel_ident()
export function print_kernel_ident(): void {
  printk("%s %.*s %s\n", K.config.release, UTS_VERSION_TOKEN.length, UTS_VERSION_TOKEN, print_tainted());
}

// kernel/module/main.c: print_modules() (no modules are loaded in irqlab)
export function print_modules(): void {
  printk(KERN_DEFAULT + "Modules linked in:\n");
}

// lib/dump_stack.c: dump_stack_print_info()
export function dump_stack_print_info(lvl = KERN_DEFAULT): void {
  const t = current();
  printk(
    "%sCPU: %d UID: %u PID: %d Comm: %.20s %s%s %s %.*s %s %s\n",
    lvl,
    K.sim.cur.id,
    0,
    t.pid,
    t.comm,
    "",
    print_tainted(),
    K.config.release,
    UTS_VERSION_TOKEN.length,
    UTS_VERSION_TOKEN,
    PREEMPT_MODEL,
    "",
  );
  if (K.taint) printk("%s%s\n", lvl, print_tainted_verbose());
  printk("%sHardware name: %s\n", lvl, K.config.hardware_name);
}

/**
 * arch/x86/kernel/dumpstack.c: show_trace_log_lvl(), from the JavaScript
 * stack. Interrupt frames are bracketed by <IRQ>/<SOFTIRQ> markers as the
 * kernel does for its irq stack; the frames below the interrupt entry
 * (irq_entry_frame, which stands for the asm_sysvec_* entry) are the
 * interrupted task's, which the kernel prints after the irq stack in a
 * <TASK> section.
 */
export function show_stack(frames: readonly string[], lvl = KERN_DEFAULT): void {
  printk("%sCall Trace:\n", lvl);
  const pc = K.sim.cur.preemptCount;
  const inIrq = (pc & HARDIRQ_MASK) !== 0;
  const inSoftirq = !inIrq && (pc & SOFTIRQ_OFFSET) !== 0;
  if (inIrq || inSoftirq) {
    const entry = frames.indexOf("irq_entry_frame");
    printk("%s %s\n", lvl, inIrq ? "<IRQ>" : "<SOFTIRQ>");
    for (const f of entry < 0 ? frames : frames.slice(0, entry)) printk("%s %s\n", lvl, f);
    printk("%s %s\n", lvl, inIrq ? "</IRQ>" : "</SOFTIRQ>");
    if (entry < 0 || entry === frames.length - 1) return;
    printk("%s <TASK>\n", lvl);
    for (const f of frames.slice(entry + 1)) printk("%s %s\n", lvl, f);
    printk("%s </TASK>\n", lvl);
    return;
  }
  printk("%s <TASK>\n", lvl);
  for (const f of frames) printk("%s %s\n", lvl, f);
  printk("%s </TASK>\n", lvl);
}

// lib/dump_stack.c: dump_stack_lvl()
export function dump_stack_lvl(lvl = KERN_DEFAULT, skip = 1): void {
  dump_stack_print_info(lvl);
  show_stack(["dump_stack_lvl", ...capture_stack(skip)], lvl);
}

export function dump_stack(): void {
  dump_stack_lvl(KERN_DEFAULT, 2);
}

/**
 * Record the start of a splat. The test harness fails a test with a splat it
 * did not expect (test/hooks.ts, Machine.expectSplat()).
 */
export function report_splat(kind: Splat["kind"], title: string): void {
  const k = K;
  const splat: Splat = { kind, title, ts: k.sim.now, firstSeq: k.nextLogSeq, expected: false };
  for (const e of k.expectations) {
    if (e.remaining > 0 && e.pattern.test(title)) {
      splat.expected = true;
      e.remaining--;
      e.matched++;
      break;
    }
  }
  k.splats.push(splat);
}

const CUT_HERE = "------------[ cut here ]------------\n";

/** Where a WARN was raised: the kernel file:line and function, as __bug_table holds them. */
export interface BugSite {
  file: string;
  line: number;
  fn: string;
}

function site_from_stack(skip: number): { site: BugSite; frames: string[] } {
  const frames = capture_stack(skip);
  const fn = frames[0] ?? "0x0";
  return { site: { file: "", line: 0, fn }, frames };
}

// kernel/panic.c: __warn(), the x86 trap path (show_regs() instead of dump_stack())
function __warn(site: BugSite, frames: readonly string[]): void {
  if (site.file) pr_warn("WARNING: CPU: %d PID: %d at %s:%d %s\n", K.sim.cur.id, current().pid, site.file, site.line, site.fn);
  else pr_warn("WARNING: CPU: %d PID: %d at %s\n", K.sim.cur.id, current().pid, site.fn);
  print_modules();
  dump_stack_print_info();
  printk("RIP: 0010:%s\n", site.fn);
  show_stack(frames);
  pr_warn("---[ end trace %016llx ]---\n", 0);
  add_taint(TAINT_WARN);
}

const onceSites = new WeakMap<object, Set<string>>();

function once(key: string): boolean {
  let s = onceSites.get(K);
  if (!s) {
    s = new Set();
    onceSites.set(K, s);
  }
  if (s.has(key)) return false;
  s.add(key);
  return true;
}

/** Options for WARN sites: an explicit kernel location instead of the JS caller. */
export type WarnAt = Partial<BugSite> | undefined;

function warn_common(fmt: string | null, args: unknown[], at: WarnAt): void {
  const { site, frames } = site_from_stack(3);
  if (at?.fn) site.fn = at.fn;
  if (at?.file) {
    site.file = at.file;
    site.line = at.line ?? 0;
  }
  const title = fmt !== null ? vtitle(fmt, args) : `WARNING: CPU: ${K.sim.cur.id} PID: ${current().pid} at ${site.fn}`;
  report_splat("WARNING", title);
  if (fmt !== null) {
    pr_warn(CUT_HERE.slice(0, -1) + "\n");
    printk(fmt, ...args);
  } else {
    printk(KERN_DEFAULT + CUT_HERE);
  }
  __warn(site, frames);
}

/** The message of WARN(cond, fmt, ...), without its log level: the splat's title. */
function vtitle(fmt: string, args: unknown[]): string {
  let s = vsprintf(fmt, args);
  while (s.length >= 2 && s[0] === KERN_SOH) s = s.slice(2);
  return s.trimEnd();
}

/** WARN(cond, fmt, ...): returns cond. */
export function WARN(cond: unknown, fmt: string, ...args: unknown[]): boolean {
  if (!cond) return false;
  warn_common(fmt, args, undefined);
  return true;
}

/** WARN_ON(cond): returns cond. */
export function WARN_ON(cond: unknown, at?: WarnAt): boolean {
  if (!cond) return false;
  warn_common(null, [], at);
  return true;
}

/** WARN_ONCE(cond, fmt, ...): once per message format per machine. */
export function WARN_ONCE(cond: unknown, fmt: string, ...args: unknown[]): boolean {
  if (!cond) return false;
  if (once("WARN_ONCE:" + fmt)) warn_common(fmt, args, undefined);
  return true;
}

/**
 * WARN_ON_ONCE(cond): once per call site per machine. The call site is the
 * calling kernel function plus an optional discriminator for functions with
 * several WARN_ON_ONCE()s.
 */
export function WARN_ON_ONCE(cond: unknown, at?: WarnAt): boolean {
  if (!cond) return false;
  const fn = at?.fn ?? capture_stack(2)[0] ?? "?";
  if (once(`WARN_ON_ONCE:${fn}:${at?.line ?? 0}`)) warn_common(null, [], at);
  return true;
}

/** Error raised by BUG(): the machine stops, as the kernel oopses. */
export class KernelBug extends Error {
  constructor(message: string) {
    super(message);
    this.name = "KernelBug";
  }
}

// include/asm-generic/bug.h: BUG() -> lib/bug.c report_bug() -> die()
export function BUG(at?: WarnAt): never {
  const frames = capture_stack(2);
  const fn = at?.fn ?? frames[0] ?? "0x0";
  const file = at?.file ?? "lib/irqlab";
  const line = at?.line ?? 0;
  report_splat("BUG", `kernel BUG at ${file}:${line}!`);
  printk(KERN_DEFAULT + CUT_HERE);
  pr_crit("kernel BUG at %s:%u!\n", file, line);
  printk("Oops: invalid opcode: 0000 [#1] SMP NOPTI\n");
  dump_stack_print_info();
  printk("RIP: 0010:%s\n", fn);
  show_stack(frames);
  printk("---[ end trace %016llx ]---\n", 0);
  add_taint(TAINT_DIE);
  return K.sim.stop(`kernel BUG at ${file}:${line} (${fn})`);
}

export function BUG_ON(cond: unknown, at?: WarnAt): void {
  if (cond) BUG(at);
}

// kernel/panic.c: panic()
export function panic(fmt: string, ...args: unknown[]): never {
  const msg = vtitle(fmt, args);
  report_splat("panic", `Kernel panic - not syncing: ${msg}`);
  pr_emerg("Kernel panic - not syncing: %s\n", msg);
  dump_stack_print_info();
  show_stack(capture_stack(2));
  pr_emerg("---[ end Kernel panic - not syncing: %s ]---\n", msg);
  return K.sim.stop(`Kernel panic - not syncing: ${msg}`);
}
