// SPDX-License-Identifier: GPL-2.0-only
// irqlab substrate: simulated CPUs, tasks and interrupt frames.
//
// A CPU's "registers" here are the interrupt flag and the preempt count of the
// code currently on it. Exactly one CPU executes JavaScript at a time (`cur` of
// the simulator); the others are idle, hold a parked task, or hold a suspended
// interrupt frame.

import type { SimEvent } from "./events.ts";

/**
 * What an interrupt frame waits for when it yields: a point in virtual time
 * (`until`, e.g. the end of a handler's duration) and/or a condition that other
 * CPUs or devices make true (`cond`, e.g. a spinlock becoming free).
 */
export interface Wait {
  until?: number;
  cond?: () => boolean;
  /** What is awaited, for diagnostics ("handler duration", "lock &desc->lock"). */
  what: string;
}

/**
 * Interrupt-context code that can be suspended where a real CPU would spin or
 * run for a while: flow handlers are generators that yield a Wait.
 */
export type Frame = Generator<Wait, void, void>;

/** The architecture's side of interrupt entry, installed by the kernel layer. */
export interface CpuArch {
  /** True when the CPU has an interrupt to take (the IF flag is checked by the simulator). */
  pending(cpu: SimCpu): boolean;
  /** Begin the hardirq for the highest-priority pending interrupt. */
  enter(cpu: SimCpu): Frame;
}

export type TaskState = "new" | "runnable" | "running" | "blocked" | "dead";

/** Scheduling state of a process-context task; the kernel's task_struct extends it. */
export class SimTask {
  cpu: SimCpu;
  state: TaskState = "new";
  savedIrqsEnabled = true;
  savedPreempt = 0;
  savedLocks = 0;
  started = false;
  done = false;
  result: unknown = undefined;
  error: unknown = undefined;
  resumeFn: (() => void) | null = null;
  /** Virtual time at which the task last became runnable (for FIFO order). */
  readyAt = 0;
  readySeq = 0;
  /** Human-readable description of what a blocked task waits on. */
  waitingOn = "";
  /** CPU to move to when the task next leaves its CPU (set_cpus_allowed_ptr() on a running task). */
  nextCpu: SimCpu | null = null;

  constructor(
    readonly label: string,
    cpu: SimCpu,
    readonly body: () => Promise<unknown>,
  ) {
    this.cpu = cpu;
  }
}

export interface FrameRec {
  cpu: SimCpu;
  gen: Frame;
  label: string;
  wait: Wait | null;
  /** May the frame stay suspended while control returns elsewhere? */
  async: boolean;
  savedIrqsEnabled: boolean;
  ev: SimEvent | null;
  started: number;
  /** The `until` of the wait has passed; resume at the next progress point. */
  ready: boolean;
}

export class SimCpu {
  online = true;
  /** The IF flag of the code currently on this CPU. */
  irqsEnabled = true;
  /** Virtual time at which interrupts were last disabled on this CPU. */
  irqsOffSince = 0;
  /** preempt_count of the code currently on this CPU. */
  preemptCount = 0;
  /** preempt_count of the CPU's idle context, restored whenever no task is on it (the kernel sets it). */
  idlePreempt = 0;
  /** The task whose context is on this CPU (null: the idle task). */
  task: SimTask | null = null;
  /** Interrupt frames on this CPU, innermost last. */
  readonly frames: FrameRec[] = [];
  /** Greater than zero while this CPU's code is on the JavaScript stack. */
  onStack = 0;
  /**
   * Spinlocks held by the code on this CPU (maintained by the kernel's lock
   * code). While it is non-zero, this CPU's spins do not run other CPUs'
   * interrupt frames, so no nested frame can contend for a lock held beneath it.
   */
  locksHeld = 0;
  /** Virtual time since which the CPU executes without scheduling (watchdog base). */
  busySince = 0;
  arch: CpuArch | null = null;
  /** Opaque per-CPU data of the upper layers (kernel per-CPU state). */
  data: unknown = undefined;
  // cpu_relax() pacing state
  relaxStart = 0;
  relaxLast = -Infinity;
  relaxQ = 0;

  constructor(readonly id: number) {}

  get idle(): boolean {
    return this.task === null && this.frames.length === 0 && this.onStack === 0;
  }
}
