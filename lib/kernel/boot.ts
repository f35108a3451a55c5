// SPDX-License-Identifier: GPL-2.0-only
// init/main.c, reduced: bring up the kernel of one simulated machine.

import type { Sim } from "../sim/sim.ts";
import { Kernel, set_current_kernel, type KernelConfig } from "./kernel.ts";
import { sched_init_cpus, current, per_cpu, type task_struct } from "./sched.ts";
import { softirq_init, ksoftirqd_fn } from "./softirq.ts";
import { entry_init } from "./entry.ts";
import { workqueue_init } from "./workqueue.ts";
import { watchdog_hooks } from "./watchdog.ts";
import { context_name } from "./context.ts";
import { held_lock_names } from "./lockdep.ts";
import { kthread_create_on_cpu } from "./kthread.ts";
import { wake_up_process } from "./sched.ts";
import { pr_info, pr_notice } from "./printk.ts";

export function start_kernel(sim: Sim, config: KernelConfig, cmdline: string): Kernel {
  const k = new Kernel(sim, config);
  set_current_kernel(k);
  sim.hooks = watchdog_hooks;
  sched_init_cpus();
  sim.trace.context = () => {
    const t = current();
    const cpu = sim.cur;
    return {
      ctx: context_name(),
      pid: t.pid,
      comm: t.comm,
      irqsOff: !cpu.irqsEnabled,
      preempt: cpu.preemptCount,
      locks: held_lock_names(t),
    };
  };
  pr_notice("Linux version %s (irqlab@irqlab) (irqlab TypeScript rendering) #1 SMP PREEMPT_DYNAMIC\n", config.release);
  pr_notice("Command line: %s\n", cmdline);
  softirq_init();
  entry_init();
  workqueue_init();
  for (const cpu of sim.cpus) {
    let self: task_struct | null = null;
    self = kthread_create_on_cpu(() => ksoftirqd_fn(cpu, () => self!), null, cpu.id, "ksoftirqd/%u");
    per_cpu(cpu).ksoftirqd = self;
    wake_up_process(self);
  }
  pr_info("smp: Brought up 1 node, %d CPUs\n", sim.cpus.length);
  return k;
}
