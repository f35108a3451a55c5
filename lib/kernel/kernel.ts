// SPDX-License-Identifier: GPL-2.0-only
// The per-machine kernel instance.
//
// Linux keeps its state in globals; irqlab keeps it in one Kernel object per
// machine, and `K` points at the machine whose code runs now. Machine entry
// points (m.run, m.dmesg, ...) set it; one machine executes at a time.

import type { Sim } from "../sim/sim.ts";

export interface KernelConfig {
  /** CONFIG_HZ. Debian's x86 kernels use 250. */
  HZ: number;
  /** kernel.watchdog_thresh in seconds (hard lockup after thresh, soft lockup after 2*thresh). */
  watchdog_thresh: number;
  /** kernel.hung_task_timeout_secs (0 disables the hung-task detector). */
  hung_task_timeout_secs: number;
  /** CONFIG_PROVE_LOCKING: run the lockdep checker. */
  lockdep: boolean;
  /**
   * irqlab self-check: where a caller names its lock acquire site (site_of(),
   * the hot paths do), capture the stack as well and throw if the two differ.
   * Off by default: the capture is what naming the site saves.
   */
  lockdep_check_ip: boolean;
  /** CONFIG_DEBUG_ATOMIC_SLEEP: might_sleep() splats. */
  debug_atomic_sleep: boolean;
  /** Release string printed in splats (utsname()->release). */
  release: string;
  /** dmi_get_system_info() line of "Hardware name:". */
  hardware_name: string;
  /** "noirqdebug" boot option: no spurious-interrupt detection. */
  noirqdebug: boolean;
  /** "irqfixup" (1) / "irqpoll" (2) boot options. */
  irqfixup: number;
  /** "threadirqs" boot option: force_irqthreads(). */
  threadirqs: boolean;
}

export const DEFAULT_CONFIG: KernelConfig = {
  HZ: 250,
  watchdog_thresh: 10,
  hung_task_timeout_secs: 120,
  lockdep: true,
  lockdep_check_ip: false,
  debug_atomic_sleep: true,
  release: "6.18.0-irqlab",
  hardware_name: "irqlab virtual machine, BIOS irqlab 01/01/2026",
  noirqdebug: false,
  irqfixup: 0,
  threadirqs: false,
};

/** One line of the kernel log. */
export interface LogRecord {
  seq: number;
  /** local_clock() in ns when the line was stored. */
  ts: number;
  /** Console log level 0..7 (KERN_EMERG..KERN_DEBUG). */
  level: number;
  text: string;
}

/** A report the kernel considers a bug: WARN, BUG, lockdep, lockup, hung task. */
export interface Splat {
  kind: "WARNING" | "BUG" | "lockdep" | "lockup" | "hung_task" | "Oops" | "panic";
  title: string;
  ts: number;
  /** Log sequence number of the first line. */
  firstSeq: number;
  expected: boolean;
}

export interface SplatExpectation {
  pattern: RegExp;
  /** How many more splats this expectation may absorb (Infinity for any number). */
  remaining: number;
  matched: number;
}

export class Kernel {
  readonly log: LogRecord[] = [];
  private logSeq = 0;
  /** An unterminated line that KERN_CONT text may extend. */
  contOpen = false;
  taint = 0;
  readonly splats: Splat[] = [];
  readonly expectations: SplatExpectation[] = [];
  /** Per-subsystem state of the upper layers (genirq, drivers), created lazily. */
  private readonly subsys = new Map<string, unknown>();
  nextPid = 1;
  /**
   * Sleeps entered with no task to put to sleep (schedule() from interrupt or
   * atomic context): they never return. The first one's description, and how
   * many, for the report of a run that stalls on their results.
   */
  abandoned_sleeps = 0;
  first_abandoned_sleep = "";
  /** Set once a lockdep report was printed (debug_locks_off()). */
  debug_locks = true;
  /** Identity of this boot, used by "---[ end trace %016llx ]---". */
  readonly traceId = 0n;

  constructor(
    readonly sim: Sim,
    readonly config: KernelConfig,
  ) {}

  /** Per-machine state of a subsystem, created by `init` on first use. */
  state<T>(key: string, init: () => T): T {
    let s = this.subsys.get(key) as T | undefined;
    if (s === undefined) {
      s = init();
      this.subsys.set(key, s);
    }
    return s;
  }

  hasState(key: string): boolean {
    return this.subsys.has(key);
  }

  appendLog(level: number, text: string): LogRecord {
    const rec: LogRecord = { seq: this.logSeq++, ts: this.sim.now, level, text };
    this.log.push(rec);
    return rec;
  }

  get nextLogSeq(): number {
    return this.logSeq;
  }
}

/** The kernel of the machine whose code runs now. */
export let K: Kernel = undefined as unknown as Kernel;

export function set_current_kernel(k: Kernel): void {
  K = k;
}

/**
 * K.state(key, init) for hot paths: the accessor remembers the state of the
 * kernel it saw last, so a call is one comparison instead of a Map lookup
 * and a closure. The state of a kernel never changes identity once created,
 * so the remembered object is the one K.state() would return.
 */
export function state_accessor<T>(key: string, init: () => T): () => T {
  let k: Kernel | null = null;
  let v: T | undefined;
  return () => {
    if (k !== K) {
      v = K.state(key, init);
      k = K;
    }
    return v as T;
  };
}

/** Kernel of the running machine or a clear error outside any machine. */
export function kernel(): Kernel {
  if (!K) throw new Error("irqlab: no machine is active (call kernel functions inside m.run())");
  return K;
}
