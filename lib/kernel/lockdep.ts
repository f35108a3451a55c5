// SPDX-License-Identifier: GPL-2.0-only
// kernel/locking/lockdep.c, reduced: the runtime locking correctness validator.
//
// What irqlab's lockdep checks, as Linux does with CONFIG_PROVE_LOCKING:
//  * circular dependencies from the lock-order graph (check_noncircular), so an
//    ABBA order is reported even when the deadlock never happens;
//  * recursive locking of a held class (check_deadlock);
//  * wait-context nesting: a sleeping lock under a spinning one, a spinlock_t
//    under a raw_spinlock_t (check_wait_context, PROVE_RAW_LOCK_NESTING);
//  * irq-safety: a class used both in hardirq context and with hardirqs on
//    (valid_state), and irq-safe -> irq-unsafe dependencies (check_irq_usage),
//    likewise for softirqs.
// As in Linux, the first report turns the validator off (debug_locks_off()).

import { K, state_accessor } from "./kernel.ts";
import { current, type task_struct } from "./sched.ts";
import { HARDIRQ_MASK, SOFTIRQ_OFFSET, SOFTIRQ_MASK } from "./context.ts";
import {
  print_bad_irq_dependency,
  print_circular_bug,
  print_deadlock_bug,
  print_irq_inversion_bug,
  print_lock_invalid_wait_context,
  print_usage_bug,
  type dep_chain_entry,
} from "./lockdep_report.ts";
import { capture_site, capture_trace, site_name, type StackSite } from "./stacktrace.ts";
import { SimulatorError } from "../sim/sim.ts";

/* include/linux/lockdep_types.h: enum lockdep_wait_type */
export const LD_WAIT_INV = 0;
export const LD_WAIT_FREE = 1;
export const LD_WAIT_SPIN = 2;
/** spinlock_t: with CONFIG_PROVE_RAW_LOCK_NESTING it is its own level. */
export const LD_WAIT_CONFIG = 3;
export const LD_WAIT_SLEEP = 4;
export const LD_WAIT_MAX = 5;

/* kernel/locking/lockdep_internals.h: enum lock_usage_bit (two states: HARDIRQ, SOFTIRQ) */
export const LOCK_USED_IN_HARDIRQ = 0;
export const LOCK_USED_IN_HARDIRQ_READ = 1;
export const LOCK_ENABLED_HARDIRQ = 2;
export const LOCK_ENABLED_HARDIRQ_READ = 3;
export const LOCK_USED_IN_SOFTIRQ = 4;
export const LOCK_USED_IN_SOFTIRQ_READ = 5;
export const LOCK_ENABLED_SOFTIRQ = 6;
export const LOCK_ENABLED_SOFTIRQ_READ = 7;
export const LOCK_USED = 8;
export const LOCK_USED_READ = 9;
export const LOCK_USAGE_DIR_MASK = 2;

export const usage_str: readonly string[] = [
  "IN-HARDIRQ-W",
  "IN-HARDIRQ-R",
  "HARDIRQ-ON-W",
  "HARDIRQ-ON-R",
  "IN-SOFTIRQ-W",
  "IN-SOFTIRQ-R",
  "SOFTIRQ-ON-W",
  "SOFTIRQ-ON-R",
  "INITIAL USE",
  "INITIAL READ USE",
];

/** A lock class: all locks initialised at one site (here: with one name and subclass). */
export interface lock_class {
  name: string;
  subclass: number;
  usage_mask: number;
  wait_type_inner: number;
  wait_type_outer: number;
  /** Dependencies: this class -> next, with the stack trace of when it was recorded. */
  after: Map<lock_class, { trace: StackSite; prevHeld: held_lock; nextHeld: held_lock }>;
  /** Stack traces of the first use of each usage bit (decoded when printed). */
  usage_traces: (StackSite | null)[];
}

/** struct lockdep_map: the lockdep view of one lock instance. */
export class lockdep_map {
  constructor(
    readonly name: string,
    readonly wait_type_inner: number,
    readonly wait_type_outer = 0,
  ) {}
}

/** struct held_lock */
export interface held_lock {
  instance: lockdep_map;
  /** The lock object itself, for %px. */
  lock: object;
  cls: lock_class;
  /** 0 task, 1 hardirq, 2 softirq (LOCK_CHAIN_*_CONTEXT). */
  irq_context: number;
  trylock: boolean;
  read: number;
  hardirqs_off: boolean;
  /** Where the lock was taken (the %pS of "at:"), decoded when printed. */
  acquire_ip: StackSite;
}

interface LockdepState {
  classes: Map<string, lock_class>;
}

const ld_state = state_accessor("lockdep", () => ({ classes: new Map<string, lock_class>() }));
function ld(): LockdepState {
  return ld_state();
}

function enabled(): boolean {
  return K.config.lockdep && K.debug_locks;
}

function class_of(map: lockdep_map, subclass: number): lock_class {
  const key = subclass ? `${map.name}/${subclass}` : map.name;
  const s = ld();
  let c = s.classes.get(key);
  if (!c) {
    c = {
      name: map.name,
      subclass,
      usage_mask: 0,
      wait_type_inner: map.wait_type_inner,
      wait_type_outer: map.wait_type_outer,
      after: new Map(),
      usage_traces: [],
    };
    s.classes.set(key, c);
  }
  return c;
}

/** Irq context of the current code as lockdep sees it. */
function task_irq_context(): number {
  const pc = K.sim.cur.preemptCount;
  if (pc & HARDIRQ_MASK) return 1;
  if (pc & SOFTIRQ_OFFSET) return 2;
  return 0;
}

/** Per-CPU "this hardirq would be threaded" marker (lockdep_hardirq_threaded()). */
const threadedCtx = new WeakMap<object, boolean>();

export function lockdep_hardirq_threaded(): void {
  threadedCtx.set(K.sim.cur, true);
}

export function lockdep_hardirq_enter(): void {
  threadedCtx.set(K.sim.cur, false);
}

// kernel/locking/lockdep.c: task_wait_context()
function task_wait_context(): number {
  const ctx = task_irq_context();
  if (ctx === 1) return threadedCtx.get(K.sim.cur) ? LD_WAIT_CONFIG : LD_WAIT_SPIN;
  if (ctx === 2) return LD_WAIT_CONFIG;
  return LD_WAIT_MAX;
}

/** Stop validating after the first report (kernel/locking/lockdep.c: debug_locks_off()). */
function debug_locks_off(): boolean {
  if (!K.debug_locks) return false;
  K.debug_locks = false;
  return true;
}

// kernel/locking/lockdep.c: check_wait_context()
function check_wait_context(curr: task_struct, next: held_lock): boolean {
  const next_inner = next.cls.wait_type_inner;
  const next_outer = next.cls.wait_type_outer || next_inner;
  if (!next_inner || next.trylock) return true;
  let depth = curr.held_locks.length - 1;
  for (; depth >= 0; depth--) if (curr.held_locks[depth]!.irq_context !== next.irq_context) break;
  depth++;
  let curr_inner = task_wait_context();
  for (; depth < curr.held_locks.length; depth++) {
    const wait = curr.held_locks[depth]!.cls.wait_type_inner;
    if (wait && wait < curr_inner) curr_inner = wait;
  }
  if (next_outer > curr_inner) {
    if (debug_locks_off()) print_lock_invalid_wait_context(curr, next, curr_inner);
    return false;
  }
  return true;
}

// kernel/locking/lockdep.c: check_deadlock()
function check_deadlock(curr: task_struct, next: held_lock): boolean {
  for (let i = curr.held_locks.length - 1; i >= 0; i--) {
    const prev = curr.held_locks[i]!;
    if (prev.irq_context !== next.irq_context) break;
    if (prev.cls !== next.cls) continue;
    if (debug_locks_off()) print_deadlock_bug(curr, prev, next);
    return false;
  }
  return true;
}

/** BFS along dependencies from `from`; returns the path to `to` (inclusive), or null. */
function find_path(from: lock_class, to: lock_class): lock_class[] | null {
  const prevOf = new Map<lock_class, lock_class | null>([[from, null]]);
  const q = [from];
  while (q.length > 0) {
    const c = q.shift()!;
    if (c === to) {
      const path: lock_class[] = [];
      for (let x: lock_class | null = c; x; x = prevOf.get(x) ?? null) path.unshift(x);
      return path;
    }
    for (const n of c.after.keys()) {
      if (!prevOf.has(n)) {
        prevOf.set(n, c);
        q.push(n);
      }
    }
  }
  return null;
}

function reach(from: lock_class, forward: boolean): lock_class[] {
  const seen = new Set<lock_class>([from]);
  const q = [from];
  const all = [...ld().classes.values()];
  while (q.length > 0) {
    const c = q.shift()!;
    const nexts = forward ? [...c.after.keys()] : all.filter((x) => x.after.has(c));
    for (const n of nexts) {
      if (!seen.has(n)) {
        seen.add(n);
        q.push(n);
      }
    }
  }
  return [...seen];
}

// kernel/locking/lockdep.c: check_irq_usage() for the new edge prev -> next
function check_irq_usage(curr: task_struct, prev: held_lock, next: held_lock): boolean {
  for (const [used, enabled_bit, state] of [
    [LOCK_USED_IN_HARDIRQ, LOCK_ENABLED_HARDIRQ, "HARDIRQ"],
    [LOCK_USED_IN_SOFTIRQ, LOCK_ENABLED_SOFTIRQ, "SOFTIRQ"],
  ] as const) {
    const safe = reach(prev.cls, false).find((c) => c.usage_mask & (1 << used));
    if (!safe) continue;
    const unsafe = reach(next.cls, true).find((c) => c.usage_mask & (1 << enabled_bit));
    if (!unsafe) continue;
    if (debug_locks_off()) print_bad_irq_dependency(curr, prev, next, safe, unsafe, state, used, enabled_bit);
    return false;
  }
  return true;
}

// kernel/locking/lockdep.c: check_prev_add()
function check_prev_add(curr: task_struct, prev: held_lock, next: held_lock): boolean {
  if (prev.cls.after.has(next.cls)) return true;
  const back = find_path(next.cls, prev.cls);
  if (back) {
    if (debug_locks_off()) {
      const chain: dep_chain_entry[] = [];
      for (let i = 0; i + 1 < back.length; i++) {
        const dep = back[i]!.after.get(back[i + 1]!)!;
        chain.push({ cls: back[i + 1]!, held: dep.nextHeld, trace: dep.trace });
      }
      print_circular_bug(curr, prev, next, chain);
    }
    return false;
  }
  if (!check_irq_usage(curr, prev, next)) return false;
  prev.cls.after.set(next.cls, { trace: capture_trace(2), prevHeld: { ...prev }, nextHeld: { ...next } });
  return true;
}

// kernel/locking/lockdep.c: check_prevs_add(): only the closest held lock of
// the same irq context (and trylocks above it) gets a direct dependency.
function check_prevs_add(curr: task_struct, next: held_lock): boolean {
  const hl = curr.held_locks;
  for (let depth = hl.length - 1; depth >= 0; depth--) {
    const prev = hl[depth]!;
    if (prev.irq_context !== next.irq_context) break;
    if (!check_prev_add(curr, prev, next)) return false;
    if (!prev.trylock) break;
  }
  return true;
}

// kernel/locking/lockdep.c: mark_lock() with valid_state() and the
// forward/backward irq-inversion checks of mark_lock_irq()
function mark_lock(curr: task_struct, h: held_lock, bit: number): boolean {
  const cls = h.cls;
  if (cls.usage_mask & (1 << bit)) return true;
  const excl = bit ^ LOCK_USAGE_DIR_MASK;
  if (cls.usage_mask & (1 << excl)) {
    if (debug_locks_off()) print_usage_bug(curr, h, excl, bit);
    return false;
  }
  cls.usage_mask |= 1 << bit;
  cls.usage_traces[bit] = capture_trace(2);
  const dirUsedIn = (bit & LOCK_USAGE_DIR_MASK) === 0;
  // irq-safe now: nothing it leads to may be irq-unsafe; irq-unsafe now: nothing leading to it may be safe
  const other = dirUsedIn ? reach(cls, true) : reach(cls, false);
  const conflict = other.find((c) => c !== cls && c.usage_mask & (1 << excl));
  if (conflict) {
    if (debug_locks_off()) print_irq_inversion_bug(curr, h, conflict, dirUsedIn, bit, excl);
    return false;
  }
  return true;
}

// kernel/locking/lockdep.c: mark_usage()
function mark_usage(curr: task_struct, h: held_lock): boolean {
  const pc = K.sim.cur.preemptCount;
  if (!h.read) {
    if (h.irq_context === 1 && !mark_lock(curr, h, LOCK_USED_IN_HARDIRQ)) return false;
    if (h.irq_context === 2 && !mark_lock(curr, h, LOCK_USED_IN_SOFTIRQ)) return false;
    if (!h.hardirqs_off && !mark_lock(curr, h, LOCK_ENABLED_HARDIRQ)) return false;
    if (!h.hardirqs_off && (pc & SOFTIRQ_MASK) === 0 && !mark_lock(curr, h, LOCK_ENABLED_SOFTIRQ)) return false;
  }
  h.cls.usage_mask |= 1 << (h.read ? LOCK_USED_READ : LOCK_USED);
  return true;
}

/**
 * lock_acquire(): record that the current context takes `map` (before it
 * spins or sleeps for it, as Linux does). `ip` is the acquire site when the
 * caller names it (site_of()); otherwise the stack is captured here.
 */
export function lock_acquire(map: lockdep_map, lock: object, subclass: number, trylock: boolean, read = 0, ip?: StackSite): void {
  const curr = current();
  const h: held_lock = {
    instance: map,
    lock,
    cls: class_of(map, subclass),
    irq_context: task_irq_context(),
    trylock,
    read,
    hardirqs_off: !K.sim.cur.irqsEnabled,
    acquire_ip: ip ?? (K.config.lockdep ? capture_site(8) : {}),
  };
  // captured here, as without ip, so the two see the same frames
  if (ip && K.config.lockdep_check_ip) check_named_site(map, ip, capture_site(8));
  if (enabled()) {
    if (mark_usage(curr, h) && check_wait_context(curr, h) && (trylock || check_deadlock(curr, h))) {
      check_prevs_add(curr, h);
    }
  }
  curr.held_locks.push(h);
}

/** lockdep_check_ip: a named acquire site must be the one the stack shows. */
function check_named_site(map: lockdep_map, ip: StackSite, captured: StackSite): void {
  const seen = site_name(captured);
  if (seen !== site_name(ip)) {
    throw new SimulatorError(`irqlab: lock ${map.name} taken with acquire site ${site_name(ip)}, but the stack shows ${seen}`);
  }
}

/** lock_release(): the current context drops `map`. */
export function lock_release(map: lockdep_map): void {
  const hl = current().held_locks;
  for (let i = hl.length - 1; i >= 0; i--) {
    if (hl[i]!.instance === map) {
      // pop() for the innermost lock, the usual case: splice() allocates the
      // array it returns, and emptying the array with it drops its backing
      // store, which the next acquire then allocates again
      if (i === hl.length - 1) hl.pop();
      else hl.splice(i, 1);
      return;
    }
  }
  // Releasing a lock this context does not hold: lockdep's "bad unlock
  // balance". The lock may legitimately be released by another context for
  // owner-less primitives; irqlab's locks only track their owner.
}

/** kernel/locking/lockdep.c: lockdep_hardirqs_on() -> mark_held_locks(ENABLED_HARDIRQ) */
export function lockdep_hardirqs_on(): void {
  if (!enabled()) return;
  const curr = current();
  const ctx = task_irq_context();
  for (const h of curr.held_locks) {
    if (h.irq_context !== ctx) continue;
    if (!mark_lock(curr, h, h.read ? LOCK_ENABLED_HARDIRQ_READ : LOCK_ENABLED_HARDIRQ)) return;
  }
}

/** kernel/locking/lockdep.c: lockdep_softirqs_on() -> mark_held_locks(ENABLED_SOFTIRQ) */
export function lockdep_softirqs_on(): void {
  if (!enabled()) return;
  const curr = current();
  const ctx = task_irq_context();
  for (const h of curr.held_locks) {
    if (h.irq_context !== ctx) continue;
    if (!mark_lock(curr, h, h.read ? LOCK_ENABLED_SOFTIRQ_READ : LOCK_ENABLED_SOFTIRQ)) return;
  }
}

/** Names of the locks the current context holds (trace bus context). */
export function held_lock_names(t: task_struct): string[] {
  return t.held_locks.map((h) => (h.cls.subclass ? `${h.cls.name}/${h.cls.subclass}` : h.cls.name));
}

/** lockdep_assert_held(): WARN when the current context does not hold `map`. */
export function lock_is_held(map: lockdep_map): boolean {
  return current().held_locks.some((h) => h.instance === map);
}
