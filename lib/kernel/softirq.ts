// SPDX-License-Identifier: GPL-2.0-only
// kernel/softirq.c: softirqs, tasklets, ksoftirqd and irq_enter()/irq_exit().

import type { SimCpu } from "../sim/cpu.ts";
import { K, state_accessor } from "./kernel.ts";
import {
  HARDIRQ_OFFSET,
  SOFTIRQ_OFFSET,
  in_interrupt,
  local_irq_disable,
  local_irq_enable,
  local_irq_save,
  local_irq_restore,
  preempt_count_add,
  preempt_count_sub,
} from "./context.ts";
import { per_cpu, schedule, set_current_state, wake_up_process, TASK_INTERRUPTIBLE, TASK_RUNNING, type task_struct } from "./sched.ts";
import { lockdep_hardirq_enter } from "./lockdep.ts";
import { run_timer_softirq } from "./timer.ts";
import { WARN_ON_ONCE } from "./bug.ts";

/* include/linux/interrupt.h */
export const HI_SOFTIRQ = 0;
export const TIMER_SOFTIRQ = 1;
export const NET_TX_SOFTIRQ = 2;
export const NET_RX_SOFTIRQ = 3;
export const BLOCK_SOFTIRQ = 4;
export const IRQ_POLL_SOFTIRQ = 5;
export const TASKLET_SOFTIRQ = 6;
export const SCHED_SOFTIRQ = 7;
export const HRTIMER_SOFTIRQ = 8;
export const RCU_SOFTIRQ = 9;
export const NR_SOFTIRQS = 10;

export const softirq_to_name = ["HI", "TIMER", "NET_TX", "NET_RX", "BLOCK", "IRQ_POLL", "TASKLET", "SCHED", "HRTIMER", "RCU"];

const MAX_SOFTIRQ_RESTART = 10;

type softirq_action = () => void;

interface SoftirqState {
  vec: (softirq_action | null)[];
  /** Per-CPU softirq counts, /proc/softirqs. */
  counts: number[][];
}

const st_state = state_accessor("softirq", () => ({
  vec: Array.from({ length: NR_SOFTIRQS }, () => null),
  counts: Array.from({ length: NR_SOFTIRQS }, () => new Array<number>(K.sim.cpus.length).fill(0)),
}));
function st(): SoftirqState {
  return st_state();
}

export function open_softirq(nr: number, action: softirq_action): void {
  st().vec[nr] = action;
}

export function local_softirq_pending(cpu: SimCpu = K.sim.cur): number {
  return per_cpu(cpu).softirq_pending;
}

function wakeup_softirqd(cpu: SimCpu): void {
  const t = per_cpu(cpu).ksoftirqd;
  if (t) wake_up_process(t);
}

// kernel/softirq.c: raise_softirq_irqoff()
export function raise_softirq_irqoff(nr: number): void {
  const cpu = K.sim.cur;
  per_cpu(cpu).softirq_pending |= 1 << nr;
  if (!in_interrupt()) wakeup_softirqd(cpu);
}

export function raise_softirq(nr: number): void {
  const flags = local_irq_save();
  raise_softirq_irqoff(nr);
  local_irq_restore(flags);
}

// kernel/softirq.c: handle_softirqs()
function __do_softirq(cpu: SimCpu): void {
  const pc = per_cpu(cpu);
  const s = st();
  let restart = MAX_SOFTIRQ_RESTART;
  preempt_count_add(SOFTIRQ_OFFSET);
  for (;;) {
    let pending = pc.softirq_pending;
    pc.softirq_pending = 0;
    local_irq_enable();
    for (let nr = 0; pending; nr++, pending >>>= 1) {
      if (!(pending & 1)) continue;
      s.counts[nr]![cpu.id]!++;
      const h = s.vec[nr];
      if (h) h();
    }
    local_irq_disable();
    if (pc.softirq_pending && --restart > 0) continue;
    if (pc.softirq_pending) wakeup_softirqd(cpu);
    break;
  }
  preempt_count_sub(SOFTIRQ_OFFSET);
}

/** Run pending softirqs here if allowed (local_bh_enable(), irq_exit()). */
export function do_softirq_pending(cpu: SimCpu): void {
  if (in_interrupt() || !per_cpu(cpu).softirq_pending) return;
  const flags = local_irq_save();
  if (per_cpu(cpu).softirq_pending) __do_softirq(cpu);
  local_irq_restore(flags);
}

// kernel/softirq.c: irq_enter() / irq_enter_rcu()
export function irq_enter(): void {
  preempt_count_add(HARDIRQ_OFFSET);
  lockdep_hardirq_enter();
}

// kernel/softirq.c: irq_exit() -> __irq_exit_rcu() -> invoke_softirq()
export function irq_exit(): void {
  preempt_count_sub(HARDIRQ_OFFSET);
  const cpu = K.sim.cur;
  if (!in_interrupt() && per_cpu(cpu).softirq_pending) __do_softirq(cpu);
}

/** Per-CPU softirq counts (for /proc/softirqs). */
export function softirq_counts(): readonly (readonly number[])[] {
  return st().counts;
}

// ------------------------------------------------------------------ tasklets

/* include/linux/interrupt.h: tasklet state bits */
export const TASKLET_STATE_SCHED = 0;
export const TASKLET_STATE_RUN = 1;

export class tasklet_struct {
  state = 0;
  count = 0;
  constructor(public callback: (t: tasklet_struct) => void) {}
}

export function tasklet_setup(t: tasklet_struct, cb: (t: tasklet_struct) => void): void {
  t.callback = cb;
  t.state = 0;
  t.count = 0;
}

interface TaskletLists {
  normal: tasklet_struct[];
  hi: tasklet_struct[];
}

function tl(cpu: SimCpu): TaskletLists {
  const a = per_cpu(cpu).arch;
  let l = a["tasklets"] as TaskletLists | undefined;
  if (!l) {
    l = { normal: [], hi: [] };
    a["tasklets"] = l;
  }
  return l;
}

function __tasklet_schedule_common(t: tasklet_struct, hi: boolean): void {
  if (t.state & (1 << TASKLET_STATE_SCHED)) return;
  t.state |= 1 << TASKLET_STATE_SCHED;
  const flags = local_irq_save();
  const l = tl(K.sim.cur);
  (hi ? l.hi : l.normal).push(t);
  raise_softirq_irqoff(hi ? HI_SOFTIRQ : TASKLET_SOFTIRQ);
  local_irq_restore(flags);
}

export function tasklet_schedule(t: tasklet_struct): void {
  __tasklet_schedule_common(t, false);
}

export function tasklet_hi_schedule(t: tasklet_struct): void {
  __tasklet_schedule_common(t, true);
}

// kernel/softirq.c: tasklet_action_common()
function tasklet_action_common(hi: boolean): void {
  const cpu = K.sim.cur;
  local_irq_disable();
  const l = tl(cpu);
  const list = hi ? l.hi.splice(0) : l.normal.splice(0);
  local_irq_enable();
  const requeue: tasklet_struct[] = [];
  for (const t of list) {
    if (!(t.state & (1 << TASKLET_STATE_RUN)) && t.count === 0) {
      t.state |= 1 << TASKLET_STATE_RUN;
      WARN_ON_ONCE(!(t.state & (1 << TASKLET_STATE_SCHED)));
      t.state &= ~(1 << TASKLET_STATE_SCHED);
      t.callback(t);
      t.state &= ~(1 << TASKLET_STATE_RUN);
      continue;
    }
    requeue.push(t);
  }
  if (requeue.length > 0) {
    local_irq_disable();
    (hi ? l.hi : l.normal).push(...requeue);
    raise_softirq_irqoff(hi ? HI_SOFTIRQ : TASKLET_SOFTIRQ);
    local_irq_enable();
  }
}

export function tasklet_disable_nosync(t: tasklet_struct): void {
  t.count++;
}
export function tasklet_enable(t: tasklet_struct): void {
  t.count--;
}

/** tasklet_kill(): wait until the tasklet is neither scheduled nor running (process context). */
export function tasklet_kill(t: tasklet_struct): void {
  K.sim.spinUntil(() => (t.state & ((1 << TASKLET_STATE_SCHED) | (1 << TASKLET_STATE_RUN))) === 0, Infinity, "tasklet_kill");
}

/** Register the softirq handlers of the core (kernel/softirq.c: softirq_init()). */
export function softirq_init(): void {
  open_softirq(TASKLET_SOFTIRQ, () => tasklet_action_common(false));
  open_softirq(HI_SOFTIRQ, () => tasklet_action_common(true));
  open_softirq(TIMER_SOFTIRQ, run_timer_softirq);
}

// kernel/softirq.c: run_ksoftirqd() as the body of ksoftirqd/N
export async function ksoftirqd_fn(cpu: SimCpu, self: () => task_struct): Promise<number> {
  for (;;) {
    set_current_state(TASK_INTERRUPTIBLE);
    if (!per_cpu(cpu).softirq_pending) {
      self().waitingOn = "softirqs";
      await schedule();
      continue;
    }
    set_current_state(TASK_RUNNING);
    local_irq_disable();
    if (per_cpu(cpu).softirq_pending) __do_softirq(cpu);
    local_irq_enable();
  }
}
