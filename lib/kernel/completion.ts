// SPDX-License-Identifier: GPL-2.0-only
// kernel/sched/completion.c: completions.

import { raw_spinlock_t, raw_spin_lock_irqsave, raw_spin_unlock_irqrestore } from "./spinlock.ts";
import { site_of } from "./stacktrace.ts";
import {
  current,
  might_sleep,
  schedule,
  set_current_state,
  try_to_wake_up,
  TASK_NORMAL,
  TASK_RUNNING,
  TASK_UNINTERRUPTIBLE,
  type task_struct,
} from "./sched.ts";
import { schedule_timeout } from "./delay.ts";
import { MAX_SCHEDULE_TIMEOUT } from "./sched.ts";

const UINT_MAX = 0xffffffff;

export class completion {
  done = 0;
  readonly waiters: task_struct[] = [];
  /** struct swait_queue_head wait: its raw lock, as lockdep sees it. */
  readonly lock: raw_spinlock_t;
  constructor(readonly name = "completion") {
    this.lock = new raw_spinlock_t(`&${name}->wait`);
  }
}

/** DECLARE_COMPLETION / init_completion */
export function init_completion(name = "completion"): completion {
  return new completion(name);
}

export function reinit_completion(x: completion): void {
  x.done = 0;
}

// kernel/sched/completion.c: complete()
export function complete(x: completion): void {
  const flags = raw_spin_lock_irqsave(x.lock, 0, complete_ip);
  if (x.done !== UINT_MAX) x.done++;
  const t = x.waiters.shift();
  if (t) try_to_wake_up(t, TASK_NORMAL);
  raw_spin_unlock_irqrestore(x.lock, flags);
}
const complete_ip = site_of(complete);

// kernel/sched/completion.c: complete_all()
export function complete_all(x: completion): void {
  const flags = raw_spin_lock_irqsave(x.lock, 0, complete_all_ip);
  x.done = UINT_MAX;
  for (const t of x.waiters.splice(0)) try_to_wake_up(t, TASK_NORMAL);
  raw_spin_unlock_irqrestore(x.lock, flags);
}
const complete_all_ip = site_of(complete_all);

export function completion_done(x: completion): boolean {
  return x.done !== 0;
}

export function try_wait_for_completion(x: completion): boolean {
  if (!x.done) return false;
  const flags = raw_spin_lock_irqsave(x.lock, 0, try_wait_for_completion_ip);
  const ok = x.done !== 0;
  if (ok && x.done !== UINT_MAX) x.done--;
  raw_spin_unlock_irqrestore(x.lock, flags);
  return ok;
}
const try_wait_for_completion_ip = site_of(try_wait_for_completion);

// kernel/sched/completion.c: do_wait_for_common(): returns remaining jiffies, 0 on timeout
async function wait_for_common(x: completion, timeout: number): Promise<number> {
  might_sleep("kernel/sched/completion.c", 111);
  const me = current();
  let flags = raw_spin_lock_irqsave(x.lock, 0, wait_for_common_ip);
  if (!x.done) {
    do {
      if (!x.waiters.includes(me)) x.waiters.push(me);
      set_current_state(TASK_UNINTERRUPTIBLE);
      me.waitingOn = `completion ${x.name}`;
      raw_spin_unlock_irqrestore(x.lock, flags);
      if (timeout === MAX_SCHEDULE_TIMEOUT) await schedule();
      else timeout = await schedule_timeout(timeout);
      flags = raw_spin_lock_irqsave(x.lock, 0, wait_for_common_ip);
    } while (!x.done && timeout);
    const i = x.waiters.indexOf(me);
    if (i >= 0) x.waiters.splice(i, 1);
    set_current_state(TASK_RUNNING);
    if (!x.done) {
      raw_spin_unlock_irqrestore(x.lock, flags);
      return timeout;
    }
  }
  if (x.done !== UINT_MAX) x.done--;
  raw_spin_unlock_irqrestore(x.lock, flags);
  return timeout || 1;
}
const wait_for_common_ip = site_of(wait_for_common);

export async function wait_for_completion(x: completion): Promise<void> {
  await wait_for_common(x, MAX_SCHEDULE_TIMEOUT);
}

/** Returns 0 on timeout, else the remaining jiffies (at least 1). */
export function wait_for_completion_timeout(x: completion, timeout: number): Promise<number> {
  return wait_for_common(x, timeout);
}

/** No signals in irqlab: behaves like wait_for_completion() and returns 0. */
export async function wait_for_completion_interruptible(x: completion): Promise<number> {
  await wait_for_common(x, MAX_SCHEDULE_TIMEOUT);
  return 0;
}

export function wait_for_completion_interruptible_timeout(x: completion, timeout: number): Promise<number> {
  return wait_for_common(x, timeout);
}

export const wait_for_completion_killable = wait_for_completion_interruptible;
