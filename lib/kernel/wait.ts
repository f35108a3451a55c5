// SPDX-License-Identifier: GPL-2.0-only
// kernel/sched/wait.c and include/linux/wait.h: wait queues and wait_event*().
//
// The condition of wait_event() is a function, evaluated as the C macro
// evaluates its expression: before sleeping and after every wakeup.

import { K } from "./kernel.ts";
import { raw_spinlock_t, raw_spin_lock_irqsave, raw_spin_unlock_irqrestore } from "./spinlock.ts";
import { site_of } from "./stacktrace.ts";
import {
  current,
  might_sleep,
  schedule,
  set_current_state,
  try_to_wake_up,
  TASK_INTERRUPTIBLE,
  TASK_NORMAL,
  TASK_RUNNING,
  TASK_UNINTERRUPTIBLE,
  type task_struct,
} from "./sched.ts";
import { schedule_timeout } from "./delay.ts";

export interface wait_queue_entry {
  task: task_struct;
  exclusive: boolean;
}

export class wait_queue_head {
  readonly lock: raw_spinlock_t;
  readonly head: wait_queue_entry[] = [];
  constructor(readonly name = "wq_head") {
    this.lock = new raw_spinlock_t(`&${name}->lock`);
  }
}

/** DECLARE_WAIT_QUEUE_HEAD / init_waitqueue_head */
export function init_waitqueue_head(name: string): wait_queue_head {
  return new wait_queue_head(name);
}

export function waitqueue_active(wq: wait_queue_head): boolean {
  return wq.head.length > 0;
}

// kernel/sched/wait.c: __wake_up_common()
function __wake_up(wq: wait_queue_head, mode: number, nr_exclusive: number): void {
  const flags = raw_spin_lock_irqsave(wq.lock, 0, __wake_up_ip);
  for (const e of [...wq.head]) {
    if (try_to_wake_up(e.task, mode) && e.exclusive && --nr_exclusive === 0) break;
  }
  raw_spin_unlock_irqrestore(wq.lock, flags);
}
const __wake_up_ip = site_of(__wake_up);

export function wake_up(wq: wait_queue_head): void {
  __wake_up(wq, TASK_NORMAL, 1);
}
export function wake_up_all(wq: wait_queue_head): void {
  __wake_up(wq, TASK_NORMAL, 0);
}
export function wake_up_interruptible(wq: wait_queue_head): void {
  __wake_up(wq, TASK_INTERRUPTIBLE, 1);
}

function add(wq: wait_queue_head, e: wait_queue_entry): void {
  const flags = raw_spin_lock_irqsave(wq.lock, 0, add_ip);
  if (!wq.head.includes(e)) wq.head.push(e);
  raw_spin_unlock_irqrestore(wq.lock, flags);
}
const add_ip = site_of(add);

function remove(wq: wait_queue_head, e: wait_queue_entry): void {
  const flags = raw_spin_lock_irqsave(wq.lock, 0, remove_ip);
  const i = wq.head.indexOf(e);
  if (i >= 0) wq.head.splice(i, 1);
  raw_spin_unlock_irqrestore(wq.lock, flags);
}
const remove_ip = site_of(remove);

/**
 * ___wait_event(): sleep in `state` until cond() holds. Returns the remaining
 * timeout in jiffies (at least 1 when the condition came true, 0 on timeout).
 */
async function ___wait_event(
  wq: wait_queue_head,
  cond: () => boolean,
  state: number,
  timeout: number | null,
  what: string,
): Promise<number> {
  const me = current();
  const e: wait_queue_entry = { task: me, exclusive: false };
  let remaining = timeout ?? 1;
  for (;;) {
    add(wq, e);
    set_current_state(state);
    if (cond()) break;
    me.waitingOn = what;
    if (timeout === null) await schedule();
    else {
      remaining = await schedule_timeout(remaining);
      if (remaining === 0) {
        if (cond()) remaining = 1;
        break;
      }
    }
  }
  set_current_state(TASK_RUNNING);
  remove(wq, e);
  return remaining;
}

/** wait_event(wq, condition): sleeps uninterruptibly; does not await if cond() already holds. */
export async function wait_event(wq: wait_queue_head, cond: () => boolean): Promise<void> {
  might_sleep("include/linux/wait.h", 0);
  if (cond()) return;
  await ___wait_event(wq, cond, TASK_UNINTERRUPTIBLE, null, `wait_event on ${wq.name}`);
}

/** wait_event_interruptible(): no signals in irqlab, so it returns 0 when cond() holds. */
export async function wait_event_interruptible(wq: wait_queue_head, cond: () => boolean): Promise<number> {
  might_sleep("include/linux/wait.h", 0);
  if (cond()) return 0;
  await ___wait_event(wq, cond, TASK_INTERRUPTIBLE, null, `wait_event_interruptible on ${wq.name}`);
  return 0;
}

/** wait_event_timeout(): 0 if the timeout elapsed with cond() false, else the remaining jiffies (>= 1). */
export async function wait_event_timeout(wq: wait_queue_head, cond: () => boolean, timeout: number): Promise<number> {
  might_sleep("include/linux/wait.h", 0);
  if (cond()) return Math.max(1, timeout);
  return ___wait_event(wq, cond, TASK_UNINTERRUPTIBLE, timeout, `wait_event_timeout on ${wq.name}`);
}

export async function wait_event_interruptible_timeout(wq: wait_queue_head, cond: () => boolean, timeout: number): Promise<number> {
  might_sleep("include/linux/wait.h", 0);
  if (cond()) return Math.max(1, timeout);
  return ___wait_event(wq, cond, TASK_INTERRUPTIBLE, timeout, `wait_event_interruptible_timeout on ${wq.name}`);
}

void K;
