// SPDX-License-Identifier: GPL-2.0-only
// kernel/sched/core.c: the reports of sleeping in atomic context,
// __might_resched() and __schedule_bug().

import { K } from "./kernel.ts";
import { pr_err, printk, KERN_ERR } from "./printk.ts";
import { add_taint, dump_stack, print_modules, report_splat, TAINT_WARN } from "./bug.ts";
import { current, type task_struct } from "./sched.ts";
import { in_atomic, irqs_disabled, preempt_count } from "./context.ts";
import { debug_show_held_locks } from "./lockdep_report.ts";
import { jiffies } from "./jiffies.ts";

/* kernel/sched/core.c: __might_resched() keeps one report per second */
const lastReport = new WeakMap<object, number>();

// kernel/sched/core.c: __might_resched(), the part after the checks
export function __might_resched_report(file: string, line: number, offsets: number): void {
  const k = K;
  const prev = lastReport.get(k);
  const now = jiffies();
  if (prev !== undefined && now - prev < k.config.HZ) return;
  lastReport.set(k, now);
  const t = current();
  report_splat("BUG", `BUG: sleeping function called from invalid context at ${file}:${line}`);
  pr_err("BUG: sleeping function called from invalid context at %s:%d\n", file, line);
  pr_err(
    "in_atomic(): %d, irqs_disabled(): %d, non_block: %d, pid: %d, name: %s\n",
    in_atomic() ? 1 : 0,
    irqs_disabled() ? 1 : 0,
    0,
    t.pid,
    t.comm,
  );
  pr_err("preempt_count: %x, expected: %x\n", preempt_count(), offsets & 0xff);
  pr_err("RCU nest depth: %d, expected: %u\n", 0, offsets >> 8);
  debug_show_held_locks(t);
  dump_stack();
  add_taint(TAINT_WARN);
}

// kernel/sched/core.c: __schedule_bug()
export function __schedule_bug(prev: task_struct): void {
  report_splat("BUG", `BUG: scheduling while atomic: ${prev.comm}/${prev.pid}`);
  printk(KERN_ERR + "BUG: scheduling while atomic: %s/%d/0x%08x\n", prev.comm, prev.pid, preempt_count());
  debug_show_held_locks(prev);
  print_modules();
  dump_stack();
  add_taint(TAINT_WARN);
}
