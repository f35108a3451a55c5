// SPDX-License-Identifier: GPL-2.0-only
// include/linux/spinlock.h, kernel/locking/spinlock.c: raw_spinlock_t and
// spinlock_t (a non-PREEMPT_RT kernel, so spinlock_t spins too; lockdep still
// gives it its own wait type, CONFIG_PROVE_RAW_LOCK_NESTING).
//
// A spinlock is owned by a CPU. Contention spins in virtual time, so the
// owner (another CPU's suspended interrupt frame) can finish and release.
// Interrupt frames take contended locks through the *_y() variants, which
// yield instead of spinning so that the holder's CPU can run meanwhile.

import type { Wait } from "../sim/cpu.ts";
import { K } from "./kernel.ts";
import { preempt_disable, preempt_enable, local_irq_save, local_irq_restore, local_irq_disable, local_irq_enable } from "./context.ts";
import { lock_acquire, lock_release, lockdep_map, LD_WAIT_CONFIG, LD_WAIT_SPIN } from "./lockdep.ts";
import type { StackSite } from "./stacktrace.ts";

/** Nothing to wait for: the lock was free. */
const NO_WAIT: readonly Wait[] = [];

export class raw_spinlock_t {
  /** CPU id of the owner, or -1. */
  owner = -1;
  readonly dep_map: lockdep_map;
  constructor(name = "raw_spinlock", wait_type = LD_WAIT_SPIN) {
    this.dep_map = new lockdep_map(name, wait_type);
  }
  get name(): string {
    return this.dep_map.name;
  }
}

/** spinlock_t: spins like raw_spinlock_t on !PREEMPT_RT; lockdep wait type CONFIG. */
export class spinlock_t extends raw_spinlock_t {
  constructor(name = "spinlock") {
    super(name, LD_WAIT_CONFIG);
  }
}

/** DEFINE_RAW_SPINLOCK / raw_spin_lock_init */
export function raw_spin_lock_init(name: string): raw_spinlock_t {
  return new raw_spinlock_t(name);
}
export function spin_lock_init(name: string): spinlock_t {
  return new spinlock_t(name);
}

function take(l: raw_spinlock_t): void {
  const cpu = K.sim.cur;
  l.owner = cpu.id;
  cpu.locksHeld++;
}

function what(l: raw_spinlock_t): string {
  return `spinning on lock ${l.name}`;
}

// kernel/locking/spinlock_debug.c: do_raw_spin_lock(): spin until free
function do_raw_spin_lock(l: raw_spinlock_t): void {
  if (l.owner >= 0) {
    const sim = K.sim;
    // On the owner's own CPU this spins forever (recursion): the watchdog reports it.
    sim.spinUntil(() => l.owner < 0, Infinity, what(l), true);
  }
  take(l);
}

export function do_raw_spin_unlock(l: raw_spinlock_t): void {
  if (l.owner >= 0) {
    const cpu = K.sim.cpus[l.owner];
    if (cpu) cpu.locksHeld--;
  }
  l.owner = -1;
}

export function raw_spin_is_locked(l: raw_spinlock_t): boolean {
  return l.owner >= 0;
}
export const spin_is_locked = raw_spin_is_locked;

/**
 * raw_spin_lock(). The optional `ip` names the caller for lockdep's "at:"
 * (site_of(caller), the kernel's _RET_IP_); without it the stack is captured.
 */
export function raw_spin_lock(l: raw_spinlock_t, subclass = 0, ip?: StackSite): void {
  preempt_disable();
  lock_acquire(l.dep_map, l, subclass, false, 0, ip);
  do_raw_spin_lock(l);
}

/** raw_spin_lock_nested(lock, subclass) */
export function raw_spin_lock_nested(l: raw_spinlock_t, subclass: number): void {
  raw_spin_lock(l, subclass);
}

export function raw_spin_unlock(l: raw_spinlock_t): void {
  lock_release(l.dep_map);
  do_raw_spin_unlock(l);
  preempt_enable();
}

export function raw_spin_trylock(l: raw_spinlock_t): boolean {
  preempt_disable();
  if (l.owner >= 0) {
    preempt_enable();
    return false;
  }
  lock_acquire(l.dep_map, l, 0, true);
  take(l);
  return true;
}

export function raw_spin_lock_irq(l: raw_spinlock_t, ip?: StackSite): void {
  local_irq_disable();
  raw_spin_lock(l, 0, ip);
}

export function raw_spin_unlock_irq(l: raw_spinlock_t): void {
  lock_release(l.dep_map);
  do_raw_spin_unlock(l);
  local_irq_enable();
  preempt_enable();
}

/** unsigned long flags; raw_spin_lock_irqsave(lock, flags); */
export function raw_spin_lock_irqsave(l: raw_spinlock_t, subclass = 0, ip?: StackSite): number {
  const flags = local_irq_save();
  raw_spin_lock(l, subclass, ip);
  return flags;
}

export function raw_spin_unlock_irqrestore(l: raw_spinlock_t, flags: number): void {
  lock_release(l.dep_map);
  do_raw_spin_unlock(l);
  local_irq_restore(flags);
  preempt_enable();
}

/* spinlock_t API: identical behaviour on a non-RT kernel */
export const spin_lock = raw_spin_lock;
export const spin_lock_nested = raw_spin_lock_nested;
export const spin_unlock = raw_spin_unlock;
export const spin_trylock = raw_spin_trylock;
export const spin_lock_irq = raw_spin_lock_irq;
export const spin_unlock_irq = raw_spin_unlock_irq;
export const spin_lock_irqsave = raw_spin_lock_irqsave;
export const spin_unlock_irqrestore = raw_spin_unlock_irqrestore;

export function spin_lock_bh(l: spinlock_t): void {
  K.sim.cur.preemptCount += 0x200;
  raw_spin_lock(l);
}

/**
 * raw_spin_lock() for interrupt frames: `yield* raw_spin_lock_y(lock)`.
 * Contention suspends the frame until the lock is free instead of spinning
 * on the simulator stack, so the owner's CPU can run and release it. `ip`
 * names the caller for lockdep (site_of(caller)); without it the stack is
 * captured, which costs more than the rest of a flow handler.
 */
export function raw_spin_lock_y(l: raw_spinlock_t, subclass = 0, ip?: StackSite): Iterable<Wait> {
  preempt_disable();
  lock_acquire(l.dep_map, l, subclass, false, 0, ip);
  if (l.owner < 0) {
    take(l);
    return NO_WAIT;
  }
  return contended_y(l);
}

function* contended_y(l: raw_spinlock_t): Generator<Wait, void, void> {
  if (l.owner === K.sim.cur.id) {
    // recursion: spins forever on this CPU, as in the kernel
    do_raw_spin_lock(l);
    return;
  }
  while (l.owner >= 0) yield { cond: () => l.owner < 0, what: what(l) };
  take(l);
}

/** raw_spin_lock_irqsave() for interrupt frames. */
export function* raw_spin_lock_irqsave_y(l: raw_spinlock_t, out: { flags: number }): Generator<Wait, void, void> {
  out.flags = local_irq_save();
  yield* raw_spin_lock_y(l);
}
