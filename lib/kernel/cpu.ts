// SPDX-License-Identifier: GPL-2.0-only
// kernel/cpu.c, reduced: CPU hotplug (remove_cpu()/add_cpu()) with the
// states irqlab's subsystems hook into.
//
// Offlining runs the dying-CPU callbacks on the outgoing CPU with interrupts
// off (the stop_machine context of take_cpu_down()), then moves timers and
// unbound tasks away. Onlining marks the CPU online and runs the online
// callbacks on it.

import { K } from "./kernel.ts";
import { EBUSY, EINVAL, EPERM } from "./errno.ts";
import { set_cpu_active, set_cpu_online, cpu_online, num_online_cpus, cpumask_first, cpu_online_mask } from "./cpumask.ts";
import { might_sleep, per_cpu, PF_KTHREAD, type task_struct } from "./sched.ts";
import { local_irq_disable, local_irq_enable } from "./context.ts";
import { pr_info } from "./printk.ts";
import { migrate_timers_from } from "./timer.ts";
import { workqueue_online_cpu } from "./workqueue.ts";
import { hw_platform } from "./io.ts";
import { setup_local_APIC } from "./apic.ts";

/** A hotplug state (cpuhp_setup_state()-lite). */
export interface cpuhp_state {
  name: string;
  /** Runs on the dying CPU, interrupts off (CPUHP_AP_*_DYING / take_cpu_down()). */
  dying?: (cpu: number) => void;
  /** Runs after the CPU came online (CPUHP_AP_*_ONLINE). */
  online?: (cpu: number) => void;
  /** Runs on a control CPU after the CPU is dead (CPUHP_*_DEAD). */
  dead?: (cpu: number) => void;
}

function states(): cpuhp_state[] {
  return K.state("cpuhp_states", () => [] as cpuhp_state[]);
}

export function cpuhp_setup_state(s: cpuhp_state): void {
  states().push(s);
}

/**
 * Per-CPU smpboot threads (ksoftirqd/N) are parked while their CPU is
 * offline. Per-CPU kworkers are not: unbind_workers() lets them move.
 */
function is_percpu_kthread(t: task_struct): boolean {
  return (t.flags & PF_KTHREAD) !== 0 && /^ksoftirqd\//.test(t.comm);
}

/**
 * kernel/cpu.c: remove_cpu(). May sleep in Linux (cpu_hotplug_lock, waiting
 * for stop_machine); irqlab performs it at once, so the promise is already
 * settled when it returns.
 */
export function remove_cpu(cpu: number): Promise<number> {
  return Promise.resolve(__remove_cpu(cpu));
}

function __remove_cpu(cpu: number): number {
  might_sleep("kernel/cpu.c", 0);
  const sim = K.sim;
  if (cpu < 0 || cpu >= sim.cpus.length) return -EINVAL;
  if (cpu === 0) return -EPERM;
  if (!cpu_online(cpu)) return 0;
  if (num_online_cpus() <= 1) return -EBUSY;
  const c = sim.cpus[cpu]!;
  // The stopper thread runs take_cpu_down() in task context: not before the
  // outgoing CPU left the interrupt it may be handling (a frame suspended in
  // a busy handler or a lock wait), whose exit would turn interrupts back on
  // under the dying callbacks. The caller holds no spinlock (might_sleep), so
  // that CPU's frames run on during this spin.
  if (c.frames.length) sim.spinUntil(() => c.frames.length === 0, Infinity, `stop_machine: CPU${cpu} in an interrupt`);
  // take_cpu_down() on the outgoing CPU, in stop_machine context
  sim.on(c, () => {
    local_irq_disable();
    set_cpu_active(cpu, false);
    set_cpu_online(cpu, false);
    for (const s of states()) s.dying?.(cpu);
    c.irqsEnabled = false;
  });
  c.online = false;
  // the CPU is dead: move what ran there (sched_cpu_dying()). Its kworkers
  // go with the rest: workqueue_offline_cpu() -> unbind_workers() made them
  // unbound earlier (CPUHP_AP_WORKQUEUE_ONLINE, before take_cpu_down()), and
  // none of them can have run in between.
  const target = cpumask_first(cpu_online_mask());
  migrate_timers_from(cpu, target);
  for (const t of sim.tasks) {
    const kt = t as task_struct;
    if (t.cpu === c && !is_percpu_kthread(kt)) sim.migrate(t, sim.cpus[target]!);
  }
  for (const s of states()) s.dead?.(cpu);
  pr_info("smpboot: CPU %d is now offline\n", cpu);
  return 0;
}

/** kernel/cpu.c: add_cpu(); settled when it returns, like remove_cpu(). */
export function add_cpu(cpu: number): Promise<number> {
  return Promise.resolve(__add_cpu(cpu));
}

function __add_cpu(cpu: number): number {
  might_sleep("kernel/cpu.c", 0);
  const sim = K.sim;
  if (cpu < 0 || cpu >= sim.cpus.length) return -EINVAL;
  if (cpu_online(cpu)) return 0;
  const c = sim.cpus[cpu]!;
  // The wakeup's INIT IPI resets the AP's local APIC, so nothing a message
  // left in its IRR while the CPU was down survives, and the AP sets its
  // APIC up again (setup_local_APIC()). irqlab's fabric does not carry INIT:
  // the reset is applied here.
  if (K.hasState("platform")) {
    // arch/x86/kernel/smpboot.c: announce_cpu(), on the control CPU before the
    // wakeup; once the system runs it prints one line per CPU (APIC ID = CPU
    // number, one node)
    pr_info("smpboot: Booting Node %d Processor %d APIC 0x%x\n", 0, cpu, cpu);
    sim.on(c, () => {
      hw_platform().lapic(cpu).reset();
      setup_local_APIC();
    });
  }
  c.irqsEnabled = true;
  set_cpu_online(cpu, true);
  set_cpu_active(cpu, true);
  workqueue_online_cpu(cpu);
  sim.on(c, () => {
    for (const s of states()) s.online?.(cpu);
    local_irq_enable();
  });
  void per_cpu;
  return 0;
}
