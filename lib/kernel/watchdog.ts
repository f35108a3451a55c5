// SPDX-License-Identifier: GPL-2.0-only
// kernel/watchdog.c and kernel/watchdog_perf.c: the soft and hard lockup
// detectors, watching the simulator's spins.
//
// Hard lockup: interrupts off on a CPU across a whole NMI period
// (watchdog_thresh seconds, the perf NMI fires every watchdog_thresh).
// Soft lockup: a CPU that has not scheduled for 2*watchdog_thresh, detected
// by the 4 s watchdog hrtimer, which needs interrupts on. Neither panics by
// default; irqlab stops a machine whose CPU can never leave its spin, or that
// spins longer than config.max_spin_secs.

import type { SimCpu } from "../sim/cpu.ts";
import type { SimHooks } from "../sim/sim.ts";
import { K } from "./kernel.ts";
import { pr_emerg } from "./printk.ts";
import { add_taint, dump_stack, print_modules, report_splat, TAINT_SOFTLOCKUP } from "./bug.ts";
import { current } from "./sched.ts";

const SEC = 1e9;
/** running_clock() >> 30: the watchdog's "seconds" */
const secs = (ns: number): number => Math.floor(ns / 2 ** 30);

interface WdCpu {
  hardWarnedFor: number;
  softReportTs: number;
}

function wd(cpu: SimCpu): WdCpu {
  const m = K.state("watchdog", () => new Map<number, WdCpu>());
  let s = m.get(cpu.id);
  if (!s) {
    s = { hardWarnedFor: -1, softReportTs: -1 };
    m.set(cpu.id, s);
  }
  return s;
}

/** Time at which the hard lockup detector fires for an irqs-off episode starting at `since`. */
function hardDeadline(since: number): number {
  const period = K.config.watchdog_thresh * SEC;
  return Math.ceil(since / period) * period + period;
}

/** Time at which the soft lockup detector fires for a CPU busy since `touch`. */
function softDeadline(touch: number): number {
  const thresh = 2 * K.config.watchdog_thresh;
  const sample = (thresh * SEC) / 5;
  let t = Math.ceil(touch / sample) * sample;
  while (!(secs(t) > secs(touch) + thresh)) t += sample;
  return t;
}

function softBase(cpu: SimCpu): number {
  const s = wd(cpu);
  return Math.max(cpu.busySince, s.softReportTs);
}

// kernel/watchdog.c: watchdog_hardlockup_check()
function report_hard(cpu: SimCpu): void {
  wd(cpu).hardWarnedFor = cpu.irqsOffSince;
  report_splat("lockup", `CPU${cpu.id}: Watchdog detected hard LOCKUP on cpu ${cpu.id}`);
  pr_emerg("watchdog: CPU%u: Watchdog detected hard LOCKUP on cpu %u\n", cpu.id, cpu.id);
  print_modules();
  dump_stack();
}

// kernel/watchdog.c: watchdog_timer_fn() soft lockup report
function report_soft(cpu: SimCpu): void {
  const now = K.sim.now;
  const base = softBase(cpu);
  const duration = secs(now) - secs(base);
  wd(cpu).softReportTs = now;
  const t = current();
  report_splat("lockup", `BUG: soft lockup - CPU#${cpu.id} stuck for ${duration}s!`);
  pr_emerg("watchdog: BUG: soft lockup - CPU#%d stuck for %us! [%s:%d]\n", cpu.id, duration, t.comm, t.pid);
  print_modules();
  dump_stack();
  add_taint(TAINT_SOFTLOCKUP);
}

/** Next lockup report time for `cpu`, reporting any that is due now. */
function lockup_check(cpu: SimCpu): number {
  const now = K.sim.now;
  let limit = Infinity;
  if (!cpu.irqsEnabled && wd(cpu).hardWarnedFor !== cpu.irqsOffSince) {
    const d = hardDeadline(cpu.irqsOffSince);
    if (now >= d) report_hard(cpu);
    else limit = d;
  }
  if (cpu.irqsEnabled) {
    const d = softDeadline(softBase(cpu));
    if (now >= d) {
      report_soft(cpu);
      limit = Math.min(limit, softDeadline(softBase(cpu)));
    } else limit = Math.min(limit, d);
  }
  return limit;
}

function max_spin_ns(): number {
  return 12 * K.config.watchdog_thresh * SEC;
}

export const watchdog_hooks: SimHooks = {
  spinAdvance(cpu: SimCpu, next: number): number {
    const limit = lockup_check(cpu);
    if (K.sim.now - cpu.busySince > max_spin_ns()) {
      K.sim.stop(`CPU${cpu.id} spun for more than ${max_spin_ns() / SEC} s of virtual time; irqlab stopped the machine`);
    }
    return Math.min(next, limit);
  },
  spinForever(cpu: SimCpu, what: string): never {
    // Nothing can end this spin. Let the detector report it at the time it
    // would, then stop: the kernel would spin forever.
    const s = wd(cpu);
    if (!cpu.irqsEnabled) {
      if (s.hardWarnedFor !== cpu.irqsOffSince) {
        K.sim.advanceTo(hardDeadline(cpu.irqsOffSince), false);
        report_hard(cpu);
      }
    } else {
      K.sim.advanceTo(softDeadline(softBase(cpu)), false);
      report_soft(cpu);
    }
    return K.sim.stop(`CPU${cpu.id} is stuck ${what}: nothing can end the spin (the kernel would spin forever)`);
  },
};
