// SPDX-License-Identifier: GPL-2.0-only
// kernel/time/timer.c (the timer wheel) and a minimal kernel/time/hrtimer.c.
//
// A timer is armed on the CPU that arms it. Its expiry is rounded the way
// the wheel's buckets round it (calc_wheel_index()), it fires from the local
// timer interrupt of its CPU and its callback runs in TIMER_SOFTIRQ. hrtimer
// callbacks run in hardirq context from the same interrupt.

import type { SimEvent } from "../sim/events.ts";
import { K } from "./kernel.ts";
import { jiffies, jiffies_to_time } from "./jiffies.ts";
import { per_cpu } from "./sched.ts";
import { raise_softirq, TIMER_SOFTIRQ } from "./softirq.ts";
import { smp_processor_id } from "./context.ts";
import { cpu_online, cpu_online_mask, cpumask_first } from "./cpumask.ts";

/* include/linux/timer.h: timer flags */
export const TIMER_CPUMASK = 0x0003ffff;
export const TIMER_MIGRATING = 0x00040000;
export const TIMER_DEFERRABLE = 0x00080000;
export const TIMER_PINNED = 0x00100000;
export const TIMER_IRQSAFE = 0x00200000;

export class timer_list {
  expires = 0;
  flags = 0;
  /** The queued expiry event, when pending. */
  ev: SimEvent | null = null;
  /** Expired and waiting for the softirq of its CPU. */
  expired = false;
  cpu = 0;
  /**
   * irqlab extension: a daemon timer (a periodic poller) does not keep
   * m.run() from settling.
   */
  irqlab_daemon = false;
  constructor(public function_: ((t: timer_list) => void) | null = null) {}
}

interface TimerBase {
  expired: timer_list[];
  running_timer: timer_list | null;
  /** hrtimers whose expiry passed, to run at the next local timer interrupt. */
  hr_expired: hrtimer[];
  /** A local timer interrupt is pending (LOCAL_TIMER_VECTOR in IRR). */
  tick_pending: boolean;
}

export function timer_base(cpu: number): TimerBase {
  const arch = per_cpu(K.sim.cpus[cpu]!).arch;
  let b = arch["timer_base"] as TimerBase | undefined;
  if (!b) {
    b = { expired: [], running_timer: null, hr_expired: [], tick_pending: false };
    arch["timer_base"] = b;
  }
  return b;
}

/** timer_setup(timer, callback, flags) */
export function timer_setup(t: timer_list, fn: (t: timer_list) => void, flags: number): void {
  t.function_ = fn;
  t.flags = flags;
  t.ev = null;
  t.expired = false;
}

export function timer_pending(t: timer_list): boolean {
  return t.ev !== null || t.expired;
}

/* kernel/time/timer.c: wheel geometry for HZ > 100 */
const LVL_CLK_SHIFT = 3;
const LVL_BITS = 6;
const LVL_SIZE = 1 << LVL_BITS;
const LVL_DEPTH = 9;
const LVL_SHIFT = (n: number): number => n * LVL_CLK_SHIFT;
const LVL_GRAN = (n: number): number => 2 ** (n * LVL_CLK_SHIFT);
const LVL_START = (n: number): number => (LVL_SIZE - 1) * 2 ** ((n - 1) * LVL_CLK_SHIFT);
const WHEEL_TIMEOUT_CUTOFF = LVL_START(LVL_DEPTH);
const WHEEL_TIMEOUT_MAX = WHEEL_TIMEOUT_CUTOFF - LVL_GRAN(LVL_DEPTH - 1);

// kernel/time/timer.c: calc_index() / calc_wheel_index(): the jiffy at which the bucket runs
export function calc_bucket_expiry(expires: number, clk: number): number {
  const delta = expires - clk;
  const idx = (e: number, lvl: number): number => (Math.floor(e / 2 ** LVL_SHIFT(lvl)) + 1) * 2 ** LVL_SHIFT(lvl);
  if (delta < 0) return clk;
  for (let lvl = 0; lvl < LVL_DEPTH - 1; lvl++) if (delta < LVL_START(lvl + 1)) return idx(expires, lvl);
  const e = delta >= WHEEL_TIMEOUT_CUTOFF ? clk + WHEEL_TIMEOUT_MAX : expires;
  return idx(e, LVL_DEPTH - 1);
}

/** Raise the local timer interrupt of `cpu` (the LAPIC timer firing). */
function local_timer_fire(cpu: number): void {
  const b = timer_base(cpu);
  b.tick_pending = true;
  K.sim.kick(K.sim.cpus[cpu]!);
}

/** Armed wheel timers per machine and CPU (for migration off a dead CPU). */
const liveTimers = new WeakMap<object, Map<number, Set<timer_list>>>();

function track(t: timer_list, cpu: number | null): void {
  let m = liveTimers.get(K);
  if (!m) {
    m = new Map();
    liveTimers.set(K, m);
  }
  for (const set of m.values()) set.delete(t);
  if (cpu === null) return;
  let set = m.get(cpu);
  if (!set) {
    set = new Set();
    m.set(cpu, set);
  }
  set.add(t);
}

function enqueue(t: timer_list, cpu: number): void {
  track(t, cpu);
  const clk = jiffies();
  const bucket = calc_bucket_expiry(t.expires, clk);
  const at = Math.max(jiffies_to_time(bucket), K.sim.now);
  t.cpu = cpu;
  t.expired = false;
  const daemon = t.irqlab_daemon || (t.flags & TIMER_DEFERRABLE) !== 0;
  t.ev = K.sim.at(
    at,
    () => {
      t.ev = null;
      t.expired = true;
      track(t, null);
      timer_base(t.cpu).expired.push(t);
      local_timer_fire(t.cpu);
    },
    `timer ${t.function_?.name ?? "?"}`,
    daemon,
  );
}

function detach(t: timer_list): boolean {
  track(t, null);
  if (t.ev) {
    K.sim.eq.cancel(t.ev);
    t.ev = null;
    return true;
  }
  if (t.expired) {
    const b = timer_base(t.cpu);
    const i = b.expired.indexOf(t);
    if (i >= 0) b.expired.splice(i, 1);
    t.expired = false;
    return true;
  }
  return false;
}

// kernel/time/timer.c: mod_timer(): returns 1 if the timer was pending
export function mod_timer(t: timer_list, expires: number): number {
  const was = detach(t) ? 1 : 0;
  t.expires = expires;
  const cpu = t.flags & TIMER_PINNED ? t.cpu : smp_processor_id();
  enqueue(t, cpu);
  return was;
}

export function add_timer(t: timer_list): void {
  mod_timer(t, t.expires);
}

export function add_timer_on(t: timer_list, cpu: number): void {
  detach(t);
  enqueue(t, cpu);
}

/** timer_delete() (formerly del_timer()): returns 1 if the timer was pending. */
export function timer_delete(t: timer_list): number {
  return detach(t) ? 1 : 0;
}
export const del_timer = timer_delete;

/**
 * timer_delete_sync(): also waits for a callback running on another CPU.
 * Callable from any context except the timer's own callback.
 */
export function timer_delete_sync(t: timer_list): number {
  const r = timer_delete(t);
  const b = timer_base(t.cpu);
  if (b.running_timer === t && t.cpu !== smp_processor_id()) {
    K.sim.spinUntil(() => b.running_timer !== t, Infinity, "timer_delete_sync");
  }
  return r;
}
export const del_timer_sync = timer_delete_sync;

/** timer_shutdown_sync(): delete and prevent re-arming (irqlab: delete). */
export function timer_shutdown_sync(t: timer_list): number {
  const r = timer_delete_sync(t);
  t.function_ = null;
  return r;
}

// kernel/time/timer.c: run_timer_softirq() -> __run_timers() -> expire_timers()
export function run_timer_softirq(): void {
  const b = timer_base(smp_processor_id());
  while (b.expired.length > 0) {
    const t = b.expired.shift()!;
    t.expired = false;
    const fn = t.function_;
    if (!fn) continue;
    b.running_timer = t;
    try {
      fn(t);
    } finally {
      b.running_timer = null;
    }
  }
}

// ------------------------------------------------------------------ hrtimers

/* include/linux/hrtimer.h */
export const HRTIMER_NORESTART = 0;
export const HRTIMER_RESTART = 1;
export const HRTIMER_MODE_ABS = 0;
export const HRTIMER_MODE_REL = 1;

export class hrtimer {
  /** Absolute expiry in ns of virtual time. */
  expires = 0;
  ev: SimEvent | null = null;
  cpu = 0;
  irqlab_daemon = false;
  constructor(public function_: ((t: hrtimer) => number) | null = null) {}
}

export function hrtimer_setup(t: hrtimer, fn: (t: hrtimer) => number): void {
  t.function_ = fn;
}

export function hrtimer_active(t: hrtimer): boolean {
  return t.ev !== null || timer_base(t.cpu).hr_expired.includes(t);
}

export function hrtimer_start(t: hrtimer, time: number, mode: number): void {
  hrtimer_cancel(t);
  t.expires = mode === HRTIMER_MODE_REL ? K.sim.now + time : time;
  t.cpu = smp_processor_id();
  t.ev = K.sim.at(
    t.expires,
    () => {
      t.ev = null;
      // hrtimers_cpu_dying() moved the timers of a CPU that went offline
      // since; irqlab moves a pending one when it expires.
      if (!cpu_online(t.cpu)) t.cpu = cpumask_first(cpu_online_mask());
      timer_base(t.cpu).hr_expired.push(t);
      local_timer_fire(t.cpu);
    },
    `hrtimer ${t.function_?.name ?? "?"}`,
    t.irqlab_daemon,
  );
}

export function hrtimer_cancel(t: hrtimer): number {
  if (t.ev) {
    K.sim.eq.cancel(t.ev);
    t.ev = null;
    return 1;
  }
  const b = timer_base(t.cpu);
  const i = b.hr_expired.indexOf(t);
  if (i >= 0) {
    b.hr_expired.splice(i, 1);
    return 1;
  }
  return 0;
}

/**
 * arch/x86/kernel/apic/apic.c: sysvec_apic_timer_interrupt() ->
 * local_apic_timer_interrupt(): runs expired hrtimers in hardirq context and
 * raises TIMER_SOFTIRQ for expired wheel timers.
 */
export function local_apic_timer_interrupt(cpu: number): void {
  const b = timer_base(cpu);
  b.tick_pending = false;
  while (b.hr_expired.length > 0) {
    const t = b.hr_expired.shift()!;
    const r = t.function_ ? t.function_(t) : HRTIMER_NORESTART;
    if (r === HRTIMER_RESTART) hrtimer_start(t, t.expires, HRTIMER_MODE_ABS);
  }
  if (b.expired.length > 0) raise_softirq(TIMER_SOFTIRQ);
}

export function local_timer_pending(cpu: number): boolean {
  return timer_base(cpu).tick_pending;
}

// kernel/time/timer.c: timers_dead_cpu() and hrtimers_cpu_dying(): move the
// timers of a dead CPU to `to`
export function migrate_timers_from(from: number, to: number): void {
  const src = timer_base(from);
  const dst = timer_base(to);
  // pending wheel timers re-arm on the new CPU with their expiry
  for (const t of liveTimers.get(K)?.get(from) ?? []) {
    if (t.ev) {
      K.sim.eq.cancel(t.ev);
      t.ev = null;
      enqueue(t, to);
    }
  }
  while (src.expired.length > 0) {
    const t = src.expired.shift()!;
    t.cpu = to;
    dst.expired.push(t);
  }
  if (dst.expired.length > 0) local_timer_fire(to);
  while (src.hr_expired.length > 0) dst.hr_expired.push(src.hr_expired.shift()!);
}
