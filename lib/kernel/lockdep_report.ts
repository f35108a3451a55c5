// SPDX-License-Identifier: GPL-2.0-only
// kernel/locking/lockdep.c: the report printers, in lockdep's own formats.

import { K } from "./kernel.ts";
import { pr_warn, printk, pr_cont } from "./printk.ts";
import { dump_stack, print_kernel_ident, report_splat } from "./bug.ts";
import { current, type task_struct } from "./sched.ts";
import {
  HARDIRQ_MASK,
  HARDIRQ_SHIFT,
  SOFTIRQ_MASK,
  SOFTIRQ_OFFSET,
  SOFTIRQ_SHIFT,
} from "./context.ts";
import {
  LOCK_USAGE_DIR_MASK,
  LOCK_USED_IN_HARDIRQ,
  LOCK_USED_IN_SOFTIRQ,
  usage_str,
  type held_lock,
  type lock_class,
} from "./lockdep.ts";
import { site_name, trace_frames, type StackSite } from "./stacktrace.ts";

export interface dep_chain_entry {
  cls: lock_class;
  held: held_lock;
  trace: StackSite;
}

// kernel/locking/lockdep.c: get_usage_char()
function get_usage_char(cls: lock_class, bit: number): string {
  let c = ".";
  if (cls.usage_mask & (1 << (bit + LOCK_USAGE_DIR_MASK))) {
    c = "+";
    if (cls.usage_mask & (1 << bit)) c = "?";
  } else if (cls.usage_mask & (1 << bit)) c = "-";
  return c;
}

// kernel/locking/lockdep.c: get_usage_chars()
function get_usage_chars(cls: lock_class): string {
  return (
    get_usage_char(cls, LOCK_USED_IN_HARDIRQ) +
    get_usage_char(cls, LOCK_USED_IN_HARDIRQ + 1) +
    get_usage_char(cls, LOCK_USED_IN_SOFTIRQ) +
    get_usage_char(cls, LOCK_USED_IN_SOFTIRQ + 1)
  );
}

// kernel/locking/lockdep.c: __print_lock_name()
export function __print_lock_name(cls: lock_class): string {
  return cls.subclass ? `${cls.name}/${cls.subclass}` : cls.name;
}

// kernel/locking/lockdep.c: print_lock_name()
function lock_name_text(cls: lock_class): string {
  return ` (${__print_lock_name(cls)}){${get_usage_chars(cls)}}-{${cls.wait_type_outer || cls.wait_type_inner}:${cls.wait_type_inner}}`;
}

function print_lock_name(cls: lock_class): void {
  pr_cont("%s", lock_name_text(cls));
}

// kernel/locking/lockdep.c: print_lock()
export function print_lock(h: held_lock): void {
  printk("%px%s, at: %s\n", h.lock, lock_name_text(h.cls), site_name(h.acquire_ip));
}

// kernel/stacktrace.c: stack_trace_print(entries, nr, spaces)
function print_lock_trace(trace: StackSite | null | undefined, spaces: number): void {
  for (const f of trace_frames(trace)) printk("%*c%s\n", 1 + spaces, 32, f);
}

// kernel/locking/lockdep.c: lockdep_print_held_locks()
export function lockdep_print_held_locks(p: task_struct): void {
  const depth = p.held_locks.length;
  if (!depth) printk("no locks held by %s/%d.\n", p.comm, p.pid);
  else printk("%d lock%s held by %s/%d:\n", depth, depth > 1 ? "s" : "", p.comm, p.pid);
  for (let i = 0; i < depth; i++) {
    printk(" #%d: ", i);
    pr_cont("%px%s, at: %s\n", p.held_locks[i]!.lock, lock_name_text(p.held_locks[i]!.cls), site_name(p.held_locks[i]!.acquire_ip));
  }
}

// kernel/locking/lockdep.c: debug_show_held_locks()
export function debug_show_held_locks(t: task_struct): void {
  if (!K.debug_locks) {
    printk("INFO: lockdep is turned off.\n");
    return;
  }
  lockdep_print_held_locks(t);
}

function header(title: string, width: number): void {
  report_splat("lockdep", title);
  pr_warn("\n");
  pr_warn("%s\n", "=".repeat(width));
  pr_warn("%s\n", title);
  print_kernel_ident();
  pr_warn("%s\n", "-".repeat(width));
}

// kernel/locking/lockdep.c: print_circular_bug()
export function print_circular_bug(curr: task_struct, prev: held_lock, next: held_lock, chain: dep_chain_entry[]): void {
  header("WARNING: possible circular locking dependency detected", 54);
  pr_warn("%s/%d is trying to acquire lock:\n", curr.comm, curr.pid);
  print_lock(next);
  pr_warn("\nbut task is already holding lock:\n");
  print_lock(prev);
  pr_warn("\nwhich lock already depends on the new lock.\n\n");
  pr_warn("\nthe existing dependency chain (in reverse order) is:\n");
  // target = prev's class, then back along the chain to next's class
  const entries = [...chain].reverse();
  let depth = entries.length;
  for (const e of entries) {
    printk("\n-> #%u", depth--);
    print_lock_name(e.cls);
    pr_cont(":\n");
    print_lock_trace(e.trace, 6);
  }
  printk("\nother info that might help us debug this:\n\n");
  const source = next.cls;
  const target = prev.cls;
  const parent = chain.length > 1 ? chain[0]!.cls : source;
  if (parent !== source) {
    printk("Chain exists of:\n  %s --> %s --> %s\n\n", __print_lock_name(source), __print_lock_name(parent), __print_lock_name(target));
  }
  printk(" Possible unsafe locking scenario:\n\n");
  printk("       CPU0                    CPU1\n");
  printk("       ----                    ----\n");
  printk("  lock(%s);\n", __print_lock_name(target));
  printk("                               lock(%s);\n", __print_lock_name(parent));
  printk("                               lock(%s);\n", __print_lock_name(target));
  printk("  lock(%s);\n", __print_lock_name(source));
  printk("\n *** DEADLOCK ***\n\n");
  lockdep_print_held_locks(curr);
  printk("\nstack backtrace:\n");
  dump_stack();
}

// kernel/locking/lockdep.c: print_deadlock_bug()
export function print_deadlock_bug(curr: task_struct, prev: held_lock, next: held_lock): void {
  header("WARNING: possible recursive locking detected", 44);
  pr_warn("%s/%d is trying to acquire lock:\n", curr.comm, curr.pid);
  print_lock(next);
  pr_warn("\nbut task is already holding lock:\n");
  print_lock(prev);
  pr_warn("\nother info that might help us debug this:\n");
  const n = __print_lock_name(next.cls);
  printk(" Possible unsafe locking scenario:\n\n");
  printk("       CPU0\n");
  printk("       ----\n");
  printk("  lock(%s);\n", n);
  printk("  lock(%s);\n", n);
  printk("\n *** DEADLOCK ***\n\n");
  printk(" May be due to missing lock nesting notation\n\n");
  lockdep_print_held_locks(curr);
  pr_warn("\nstack backtrace:\n");
  dump_stack();
}

// kernel/locking/lockdep.c: print_lock_invalid_wait_context()
export function print_lock_invalid_wait_context(curr: task_struct, next: held_lock, curr_inner: number): void {
  header("[ BUG: Invalid wait context ]", 29);
  pr_warn("%s/%d is trying to lock:\n", curr.comm, curr.pid);
  print_lock(next);
  pr_warn("other info that might help us debug this:\n");
  pr_warn("context-{%d:%d}\n", curr_inner, curr_inner);
  lockdep_print_held_locks(curr);
  pr_warn("stack backtrace:\n");
  dump_stack();
}

function irq_state_tag(): string {
  const cpu = K.sim.cur;
  const pc = cpu.preemptCount;
  const hc = (pc & HARDIRQ_MASK) !== 0 ? 1 : 0;
  const sc = (pc & SOFTIRQ_OFFSET) !== 0 ? 1 : 0;
  const he = cpu.irqsEnabled ? 1 : 0;
  const se = (pc & SOFTIRQ_MASK) === 0 ? 1 : 0;
  return `[HC${hc}[${(pc & HARDIRQ_MASK) >> HARDIRQ_SHIFT}]:SC${sc}[${(pc & SOFTIRQ_MASK) >> SOFTIRQ_SHIFT}]:HE${he}:SE${se}]`;
}

// kernel/locking/lockdep.c: print_usage_bug()
export function print_usage_bug(curr: task_struct, h: held_lock, prev_bit: number, new_bit: number): void {
  header("WARNING: inconsistent lock state", 32);
  pr_warn("inconsistent {%s} -> {%s} usage.\n", usage_str[prev_bit], usage_str[new_bit]);
  pr_warn("%s/%d %s takes:\n", curr.comm, curr.pid, irq_state_tag());
  print_lock(h);
  pr_warn("{%s} state was registered at:\n", usage_str[prev_bit]);
  print_lock_trace(h.cls.usage_traces[prev_bit], 1);
  pr_warn("\nother info that might help us debug this:\n");
  const n = __print_lock_name(h.cls);
  printk(" Possible unsafe locking scenario:\n\n");
  printk("       CPU0\n");
  printk("       ----\n");
  printk("  lock(%s);\n", n);
  printk("  <Interrupt>\n");
  printk("    lock(%s);\n", n);
  printk("\n *** DEADLOCK ***\n\n");
  lockdep_print_held_locks(curr);
  pr_warn("\nstack backtrace:\n");
  dump_stack();
}

function state_name(bit: number): string {
  return (bit & ~3) === LOCK_USED_IN_HARDIRQ ? "HARDIRQ" : "SOFTIRQ";
}

function print_irq_lock_scenario(safe: lock_class, middle: lock_class, unsafe: lock_class): void {
  if (middle !== unsafe) {
    printk("Chain exists of:\n  %s --> %s --> %s\n\n", __print_lock_name(safe), __print_lock_name(middle), __print_lock_name(unsafe));
  }
  printk(" Possible interrupt unsafe locking scenario:\n\n");
  printk("       CPU0                    CPU1\n");
  printk("       ----                    ----\n");
  printk("  lock(%s);\n", __print_lock_name(unsafe));
  printk("                               local_irq_disable();\n");
  printk("                               lock(%s);\n", __print_lock_name(safe));
  printk("                               lock(%s);\n", __print_lock_name(middle));
  printk("  <Interrupt>\n");
  printk("    lock(%s);\n", __print_lock_name(safe));
  printk("\n *** DEADLOCK ***\n\n");
}

// kernel/locking/lockdep.c: print_bad_irq_dependency()
export function print_bad_irq_dependency(
  curr: task_struct,
  prev: held_lock,
  next: held_lock,
  backwards: lock_class,
  forwards: lock_class,
  irqclass: string,
  used_bit: number,
  enabled_bit: number,
): void {
  header(`WARNING: ${irqclass}-safe -> ${irqclass}-unsafe lock order detected`, 53);
  pr_warn("%s/%d %s is trying to acquire:\n", curr.comm, curr.pid, irq_state_tag());
  print_lock(next);
  pr_warn("\nand this task is already holding:\n");
  print_lock(prev);
  pr_warn("which would create a new lock dependency:\n");
  print_lock_name(prev.cls);
  pr_cont(" ->");
  print_lock_name(next.cls);
  pr_cont("\n");
  pr_warn("\nbut this new dependency connects a %s-irq-safe lock:\n", irqclass);
  print_lock_name(backwards);
  pr_warn("\n... which became %s-irq-safe at:\n", irqclass);
  print_lock_trace(backwards.usage_traces[used_bit], 1);
  pr_warn("\nto a %s-irq-unsafe lock:\n", irqclass);
  print_lock_name(forwards);
  pr_warn("\n... which became %s-irq-unsafe at:\n", irqclass);
  pr_warn("...\n");
  print_lock_trace(forwards.usage_traces[enabled_bit], 1);
  pr_warn("\nother info that might help us debug this:\n\n");
  print_irq_lock_scenario(backwards, prev.cls === backwards ? next.cls : prev.cls, forwards);
  lockdep_print_held_locks(curr);
  pr_warn("\nstack backtrace:\n");
  dump_stack();
}

// kernel/locking/lockdep.c: print_irq_inversion_bug()
export function print_irq_inversion_bug(
  curr: task_struct,
  h: held_lock,
  other: lock_class,
  forwards: boolean,
  bit: number,
  _excl: number,
): void {
  header("WARNING: possible irq lock inversion dependency detected", 56);
  pr_warn("%s/%d just changed the state of lock:\n", curr.comm, curr.pid);
  print_lock(h);
  const irqclass = state_name(bit);
  if (forwards) pr_warn("but this lock took another, %s-unsafe lock in the past:\n", irqclass);
  else pr_warn("but this lock was taken by another, %s-safe lock in the past:\n", irqclass);
  print_lock_name(other);
  pr_warn("\n\nand interrupts could create inverse lock ordering between them.\n\n");
  pr_warn("\nother info that might help us debug this:\n");
  if (forwards) print_irq_lock_scenario(h.cls, h.cls, other);
  else print_irq_lock_scenario(other, other, h.cls);
  lockdep_print_held_locks(curr);
  pr_warn("\nstack backtrace:\n");
  dump_stack();
}

// kernel/locking/lockdep.c: print_held_locks_bug() (debug_check_no_locks_held())
export function print_held_locks_bug(): void {
  const curr = current();
  report_splat("lockdep", `WARNING: ${curr.comm}/${curr.pid} still has locks held!`);
  pr_warn("\n");
  pr_warn("====================================\n");
  pr_warn("WARNING: %s/%d still has locks held!\n", curr.comm, curr.pid);
  print_kernel_ident();
  pr_warn("------------------------------------\n");
  lockdep_print_held_locks(curr);
  pr_warn("\nstack backtrace:\n");
  dump_stack();
}
