// SPDX-License-Identifier: GPL-2.0-only
// kernel/locking/mutex.c: sleeping mutual exclusion.
//
// mutex_lock() may sleep, so it returns a promise; an uncontended lock is
// taken before the function returns and nothing is awaited.

import { K } from "./kernel.ts";
import { lock_acquire, lock_release, lockdep_map, LD_WAIT_SLEEP } from "./lockdep.ts";
import { current, schedule, set_current_state, TASK_UNINTERRUPTIBLE, wake_up_process, type task_struct, might_sleep } from "./sched.ts";
import { WARN_ON } from "./bug.ts";
import type { StackSite } from "./stacktrace.ts";

/** The line of kernel/locking/mutex.c whose might_sleep() a lockdep kernel reports. */
export const MUTEX_MIGHT_SLEEP_LINE = 585;

export class mutex {
  owner: task_struct | null = null;
  readonly waiters: task_struct[] = [];
  readonly dep_map: lockdep_map;
  constructor(name = "mutex") {
    this.dep_map = new lockdep_map(name, LD_WAIT_SLEEP);
  }
  get name(): string {
    return this.dep_map.name;
  }
}

/** DEFINE_MUTEX / mutex_init */
export function mutex_init(name: string): mutex {
  return new mutex(name);
}

export function mutex_is_locked(m: mutex): boolean {
  return m.owner !== null;
}

/**
 * kernel/locking/mutex.c: __mutex_lock_common(). Returns nothing when the
 * lock was free, or the promise of the sleep: kernel code awaits only then.
 */
export function __mutex_lock(m: mutex, subclass = 0, ip?: StackSite): Promise<void> | void {
  might_sleep("kernel/locking/mutex.c", MUTEX_MIGHT_SLEEP_LINE);
  lock_acquire(m.dep_map, m, subclass, false, 0, ip);
  const me = current();
  if (m.owner === null) {
    m.owner = me;
    return;
  }
  return mutex_lock_slowpath(m, me);
}

async function mutex_lock_slowpath(m: mutex, me: task_struct): Promise<void> {
  m.waiters.push(me);
  for (;;) {
    set_current_state(TASK_UNINTERRUPTIBLE);
    if (m.owner === me) break;
    me.waitingOn = `mutex ${m.name}`;
    await schedule();
  }
  set_current_state(0);
}

/** mutex_lock(): may sleep. */
export async function mutex_lock(m: mutex, subclass = 0): Promise<void> {
  const p = __mutex_lock(m, subclass);
  if (p) await p;
}

/** mutex_lock_nested(lock, subclass) */
export function mutex_lock_nested(m: mutex, subclass: number): Promise<void> {
  return mutex_lock(m, subclass);
}

/** mutex_lock_interruptible(): irqlab has no signals, so it behaves like mutex_lock() and returns 0. */
export async function mutex_lock_interruptible(m: mutex): Promise<number> {
  await mutex_lock(m);
  return 0;
}

export function mutex_trylock(m: mutex): boolean {
  if (m.owner !== null) return false;
  lock_acquire(m.dep_map, m, 0, true);
  m.owner = current();
  return true;
}

// kernel/locking/mutex.c: __mutex_unlock_slowpath(): hand the lock to the first waiter
export function mutex_unlock(m: mutex): void {
  const me = current();
  WARN_ON(m.owner !== me && K.debug_locks);
  lock_release(m.dep_map);
  const next = m.waiters.shift();
  if (next) {
    m.owner = next;
    wake_up_process(next);
  } else {
    m.owner = null;
  }
}
