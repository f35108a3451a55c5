// SPDX-License-Identifier: GPL-2.0-only
// include/linux/jiffies.h and kernel/time/time.c: jiffies from virtual time.

import { K } from "./kernel.ts";

export const MSEC_PER_SEC = 1000;
export const USEC_PER_SEC = 1000000;
export const NSEC_PER_SEC = 1000000000;
export const NSEC_PER_MSEC = 1000000;
export const NSEC_PER_USEC = 1000;

/** The HZ of the running machine (CONFIG_HZ). */
export function HZ(): number {
  return K.config.HZ;
}

/** Nanoseconds per tick. */
export function TICK_NSEC(): number {
  return NSEC_PER_SEC / K.config.HZ;
}

/** INITIAL_JIFFIES: ((unsigned long)(unsigned int)(-300*HZ)), so jiffies wraps 5 min after boot. */
export function INITIAL_JIFFIES(): number {
  return 4294967296 - 300 * K.config.HZ;
}

/** The jiffies counter at the current virtual time. */
export function jiffies(): number {
  return INITIAL_JIFFIES() + Math.floor(K.sim.now / TICK_NSEC());
}

/** Virtual time (ns) of the tick at which jiffies becomes `j`. */
export function jiffies_to_time(j: number): number {
  return (j - INITIAL_JIFFIES()) * TICK_NSEC();
}

export function time_after(a: number, b: number): boolean {
  return b - a < 0;
}
export function time_before(a: number, b: number): boolean {
  return time_after(b, a);
}
export function time_after_eq(a: number, b: number): boolean {
  return a - b >= 0;
}
export function time_before_eq(a: number, b: number): boolean {
  return time_after_eq(b, a);
}

/** include/linux/jiffies.h: MAX_JIFFY_OFFSET */
export const MAX_JIFFY_OFFSET = 2 ** 62 - 1;

// kernel/time/time.c: __msecs_to_jiffies() for HZ dividing 1000
export function msecs_to_jiffies(m: number): number {
  if (m < 0) return MAX_JIFFY_OFFSET;
  const per = MSEC_PER_SEC / K.config.HZ;
  return Math.floor((m + per - 1) / per);
}

export function usecs_to_jiffies(u: number): number {
  const per = USEC_PER_SEC / K.config.HZ;
  return Math.floor((u + per - 1) / per);
}

export function nsecs_to_jiffies(n: number): number {
  return Math.floor(n / TICK_NSEC());
}

/** kernel/time/time.c: jiffies_to_msecs(), an unsigned int */
export function jiffies_to_msecs(j: number): number {
  return ((MSEC_PER_SEC / K.config.HZ) * j) % 4294967296;
}

export function jiffies_to_usecs(j: number): number {
  return ((USEC_PER_SEC / K.config.HZ) * j) % 4294967296;
}

/** ktime_get(): nanoseconds of virtual time since boot. */
export function ktime_get(): number {
  return K.sim.now;
}
export const ktime_get_ns = ktime_get;
export const local_clock = ktime_get;
