// SPDX-License-Identifier: GPL-2.0-only
// include/linux/sched.h and kernel/sched/core.c: tasks, current, schedule(),
// wakeups and the sleep-context checks.
//
// A task_struct is a simulator task (an async function). schedule() parks it
// and returns a promise that resolves when the scheduler resumes it, so a
// function that may sleep is async and awaits only where it really sleeps.

import { SimTask, type SimCpu } from "../sim/cpu.ts";
import type { SimEvent } from "../sim/events.ts";
import { K } from "./kernel.ts";
import { HARDIRQ_MASK, NMI_MASK, SOFTIRQ_OFFSET, in_hardirq, in_serving_softirq, irqs_disabled, preempt_count } from "./context.ts";
import type { held_lock } from "./lockdep.ts";
import { __might_resched_report, __schedule_bug } from "./sleep_bugs.ts";
import { wq_worker_running, wq_worker_sleeping } from "./workqueue.ts";

/* include/linux/sched.h: task state bits */
export const TASK_RUNNING = 0x0000;
export const TASK_INTERRUPTIBLE = 0x0001;
export const TASK_UNINTERRUPTIBLE = 0x0002;
export const __TASK_STOPPED = 0x0004;
export const TASK_PARKED = 0x0040;
export const TASK_DEAD = 0x0080;
export const TASK_WAKEKILL = 0x0100;
export const TASK_NOLOAD = 0x0400;
export const TASK_NEW = 0x0800;
export const TASK_KILLABLE = TASK_WAKEKILL | TASK_UNINTERRUPTIBLE;
export const TASK_IDLE = TASK_UNINTERRUPTIBLE | TASK_NOLOAD;
export const TASK_NORMAL = TASK_INTERRUPTIBLE | TASK_UNINTERRUPTIBLE;

/* include/linux/sched.h: per-process flags */
export const PF_IDLE = 0x00000002;
export const PF_EXITING = 0x00000004;
export const PF_WQ_WORKER = 0x00000020;
export const PF_NOFREEZE = 0x00008000;
export const PF_KTHREAD = 0x00200000;

export const MAX_SCHEDULE_TIMEOUT = Number.MAX_SAFE_INTEGER;

/** A sleep that never ends (sleeping from a context that has no task to put to sleep). */
const NEVER: Promise<void> = new Promise<void>(() => undefined);

export class task_struct extends SimTask {
  __state = TASK_RUNNING;
  flags = 0;
  /** lockdep: locks held by this task (and by interrupts taken while it runs). */
  readonly held_locks: held_lock[] = [];
  /** kthread bookkeeping (kernel/kthread.c), when the task is a kthread. */
  kthread: unknown = null;
  /** workqueue worker (kernel/workqueue.c), when the task is a kworker. */
  worker: unknown = null;
  /** Timer armed by schedule_timeout(). */
  timeout_ev: SimEvent | null = null;
  /** Virtual time of the last switch, for the hung-task detector. */
  last_switch_time = 0;
  /** Scheduling policy label for traces ("SCHED_FIFO" for irq threads). */
  policy = "SCHED_NORMAL";
  /** rt_priority: 1..99 for SCHED_FIFO tasks, 0 otherwise. */
  rt_priority = 0;

  constructor(
    readonly pid: number,
    public comm: string,
    cpu: SimCpu,
    body: () => Promise<unknown>,
  ) {
    super(`${comm}/${pid}`, cpu, body);
  }
}

/** Per-CPU kernel data hung off the simulated CPU. */
export interface kcpu {
  idle: task_struct;
  /** Pending softirq vector bits (kernel/softirq.c local_softirq_pending()). */
  softirq_pending: number;
  ksoftirqd: task_struct | null;
  /** Architecture-specific per-CPU data (vector tables, counters). */
  arch: Record<string, unknown>;
}

export function per_cpu(cpu: SimCpu): kcpu {
  return cpu.data as kcpu;
}

/** Create the idle task and per-CPU data of every CPU (kernel/sched/core.c: init_idle()). */
export function sched_init_cpus(): void {
  for (const cpu of K.sim.cpus) {
    const idle = new task_struct(0, `swapper/${cpu.id}`, cpu, () => Promise.resolve());
    idle.flags |= PF_IDLE | PF_KTHREAD;
    const d: kcpu = { idle, softirq_pending: 0, ksoftirqd: null, arch: {} };
    cpu.data = d;
    // init_idle_preempt_count(): the idle loop runs with preemption disabled
    // (PREEMPT_DISABLED), so an interrupt taken in idle shows 0x10001 and a
    // softirq run on its exit 0x101, as Linux prints them
    cpu.idlePreempt = 1;
    if (cpu.task === null) cpu.preemptCount = 1;
  }
}

/** The `current` task: the task on this CPU, or its idle task. */
export function current(): task_struct {
  const cpu = K.sim.cur;
  return (cpu.task as task_struct | null) ?? (cpu.data as kcpu).idle;
}

export function task_pid_nr(t: task_struct): number {
  return t.pid;
}

export function is_idle_task(t: task_struct): boolean {
  return (t.flags & PF_IDLE) !== 0;
}

/** Allocate a pid (deterministic per machine). */
export function alloc_pid(): number {
  return K.nextPid++;
}

/** Is the executing code the body of a task that can be put to sleep? */
export function can_park(): boolean {
  const sim = K.sim;
  const cpu = sim.cur;
  return (
    sim.running !== null &&
    cpu.task === sim.running &&
    cpu.frames.length === 0 &&
    (cpu.preemptCount & (HARDIRQ_MASK | NMI_MASK | SOFTIRQ_OFFSET)) === 0
  );
}

export function set_current_state(state: number): void {
  current().__state = state;
}
export const __set_current_state = set_current_state;

// kernel/sched/core.c: __might_sleep() / __might_resched()
export function __might_sleep(file: string, line: number): void {
  const t = current();
  if (t.__state !== TASK_RUNNING && can_park() && !irqs_disabled() && preempt_count() === 0) {
    // kernel/sched/core.c: __might_sleep() warns about blocking with a
    // non-running state set; irqlab's primitives set the state only right
    // before schedule(), so this cannot trigger from them.
  }
  __might_resched(file, line, 0);
}

// kernel/sched/core.c: __might_resched()
export function __might_resched(file: string, line: number, offsets: number): void {
  if (!K.config.debug_atomic_sleep) return;
  const t = current();
  if (preempt_count() === offsets && !irqs_disabled() && !is_idle_task(t) && can_park()) return;
  __might_resched_report(file, line, offsets);
}

/** might_sleep(): annotate a function that may sleep. */
export function might_sleep(file = "kernel/sched/core.c", line = 0): void {
  __might_sleep(file, line);
}

// kernel/sched/core.c: schedule()
export function schedule(): Promise<void> {
  const sim = K.sim;
  const t = current();
  if (!can_park()) {
    // Interrupt or idle context: there is no task to put to sleep. Linux
    // prints the scheduling-while-atomic splat and then switches away from
    // the interrupted context; irqlab's rendering of "never comes back" is a
    // promise that never resolves: the sleeping code does not continue, and
    // the interrupt code that called it (which cannot await) goes on.
    __schedule_bug(t);
    t.__state = TASK_RUNNING;
    if (K.abandoned_sleeps++ === 0) {
      const ctx = in_hardirq() ? "hard interrupt" : in_serving_softirq() ? "softirq" : sim.running === null ? "outside any task" : "atomic";
      const pc = preempt_count().toString(16).padStart(8, "0");
      // Outside any task, with no interrupt frame, is a state Linux has no
      // counterpart for: the continuation of an async kernel function that
      // no task awaited (a missing await in the caller, or an async chain a
      // synchronous callback started and dropped)
      const why = ctx === "outside any task" ? "outside any task: code continuing after an async kernel call that no task awaited, e.g. a missing `await`" : `${ctx} context`;
      K.first_abandoned_sleep = `${t.comm}/${t.pid}/0x${pc} on CPU${sim.cur.id} at ${(sim.now / 1e9).toFixed(6)} s (${why})`;
    }
    return NEVER;
  }
  const cpu = sim.cur;
  // kernel/sched/core.c: schedule_debug()
  if (cpu.preemptCount !== 0) {
    __schedule_bug(t);
    cpu.preemptCount = 0;
  }
  const runnable = t.__state === TASK_RUNNING;
  t.last_switch_time = sim.now;
  const worker = (t.flags & PF_WQ_WORKER) !== 0;
  if (worker && !runnable) wq_worker_sleeping(t);
  return sim.park(t, runnable, t.waitingOn).then(() => {
    t.__state = TASK_RUNNING;
    t.last_switch_time = sim.now;
    if (worker) wq_worker_running(t);
  });
}

// kernel/sched/core.c: try_to_wake_up()
export function try_to_wake_up(t: task_struct, state: number): boolean {
  if ((t.__state & state) === 0) return false;
  t.__state = TASK_RUNNING;
  K.sim.wake(t);
  return true;
}

export function wake_up_process(t: task_struct): boolean {
  return try_to_wake_up(t, TASK_NORMAL);
}

export function wake_up_state(t: task_struct, state: number): boolean {
  return try_to_wake_up(t, state);
}

/**
 * kernel/sched/core.c: yield(). Gives other runnable tasks of this CPU a
 * turn; costs 1 us of virtual time so that a polling loop lets time pass.
 */
export function sched_yield(): Promise<void> {
  const t = current();
  if (!can_park()) return Promise.resolve();
  const sim = K.sim;
  t.waitingOn = "yield()";
  t.__state = TASK_UNINTERRUPTIBLE;
  const ev = sim.at(sim.now + 1000, () => wake_up_process(t), `yield ${t.comm}`);
  return schedule().then(() => {
    sim.eq.cancel(ev);
  });
}

/**
 * cond_resched(): a voluntary preemption point. Yields only when another task
 * of this CPU is runnable, so it does not await otherwise.
 */
export function cond_resched(): Promise<void> | undefined {
  if (!can_park()) return undefined;
  const sim = K.sim;
  const me = current();
  const other = sim.runqueue.some((c) => c.cpu === me.cpu && c !== me);
  if (!other) return undefined;
  return schedule();
}

export function in_task_context(): boolean {
  return can_park();
}
