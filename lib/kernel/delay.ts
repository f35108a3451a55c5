// SPDX-License-Identifier: GPL-2.0-only
// kernel/time/sleep_timeout.c and include/linux/delay.h: sleeping and
// busy-waiting for a while.
//
// Sleeps park the task on a timer; busy-waits spin the CPU in virtual time,
// during which hardware events fire and, with interrupts on, this CPU takes
// its interrupts.

import { K } from "./kernel.ts";
import { jiffies, msecs_to_jiffies, NSEC_PER_USEC } from "./jiffies.ts";
import {
  current,
  schedule,
  set_current_state,
  wake_up_process,
  MAX_SCHEDULE_TIMEOUT,
  TASK_INTERRUPTIBLE,
  TASK_UNINTERRUPTIBLE,
} from "./sched.ts";
import { timer_list, timer_setup, mod_timer, timer_delete_sync, hrtimer, hrtimer_start, hrtimer_cancel, HRTIMER_MODE_ABS, HRTIMER_NORESTART } from "./timer.ts";
import { pr_err } from "./printk.ts";
import { dump_stack } from "./bug.ts";

// kernel/time/sleep_timeout.c: schedule_timeout(): returns the jiffies left (0 when it expired)
export async function schedule_timeout(timeout: number): Promise<number> {
  if (timeout === MAX_SCHEDULE_TIMEOUT) {
    await schedule();
    return MAX_SCHEDULE_TIMEOUT;
  }
  if (timeout < 0) {
    pr_err("%s: wrong timeout value %lx\n", "schedule_timeout", timeout);
    dump_stack();
    current().__state = 0;
    return 0;
  }
  const expire = timeout + jiffies();
  const t = current();
  const timer = new timer_list();
  timer_setup(timer, () => wake_up_process(t), 0);
  mod_timer(timer, expire);
  if (!t.waitingOn) t.waitingOn = "schedule_timeout";
  await schedule();
  timer_delete_sync(timer);
  const left = expire - jiffies();
  return left < 0 ? 0 : left;
}

export function schedule_timeout_uninterruptible(timeout: number): Promise<number> {
  set_current_state(TASK_UNINTERRUPTIBLE);
  return schedule_timeout(timeout);
}

export function schedule_timeout_interruptible(timeout: number): Promise<number> {
  set_current_state(TASK_INTERRUPTIBLE);
  return schedule_timeout(timeout);
}

// kernel/time/sleep_timeout.c: msleep()
export async function msleep(msecs: number): Promise<void> {
  let timeout = msecs_to_jiffies(msecs);
  current().waitingOn = `msleep(${msecs})`;
  while (timeout) timeout = await schedule_timeout_uninterruptible(timeout);
}

/** msleep_interruptible(): no signals in irqlab; returns 0. */
export async function msleep_interruptible(msecs: number): Promise<number> {
  let timeout = msecs_to_jiffies(msecs);
  while (timeout) timeout = await schedule_timeout_interruptible(timeout);
  return 0;
}

export async function ssleep(seconds: number): Promise<void> {
  await msleep(seconds * 1000);
}

// kernel/time/sleep_timeout.c: usleep_range_state() on an hrtimer; sleeps `min` us
export async function usleep_range(min: number, max: number): Promise<void> {
  void max;
  const t = current();
  const exp = K.sim.now + min * NSEC_PER_USEC;
  const timer = new hrtimer((): number => {
    wake_up_process(t);
    return HRTIMER_NORESTART;
  });
  for (;;) {
    set_current_state(TASK_UNINTERRUPTIBLE);
    t.waitingOn = `usleep_range(${min}, ${max})`;
    hrtimer_start(timer, exp, HRTIMER_MODE_ABS);
    await schedule();
    hrtimer_cancel(timer);
    if (K.sim.now >= exp) break;
  }
}

/** fsleep(): the kernel picks udelay/usleep_range/msleep by duration. */
export async function fsleep(usecs: number): Promise<void> {
  if (usecs <= 10) udelay(usecs);
  else if (usecs <= 20000) await usleep_range(usecs, 2 * usecs);
  else await msleep(Math.ceil(usecs / 1000));
}

/** ndelay(): busy-wait `ns` nanoseconds of virtual time. */
export function ndelay(ns: number): void {
  K.sim.spinFor(ns, `ndelay(${ns})`);
}

export function udelay(us: number): void {
  K.sim.spinFor(us * 1000, `udelay(${us})`);
}

export function mdelay(ms: number): void {
  K.sim.spinFor(ms * 1e6, `mdelay(${ms})`);
}

/** cpu_relax(): one iteration of a busy-wait loop (PAUSE). */
export function cpu_relax(): void {
  K.sim.relax();
}
