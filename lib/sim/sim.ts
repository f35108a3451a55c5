// SPDX-License-Identifier: GPL-2.0-only
// irqlab substrate: the simulator core.
//
// Execution model (DESIGN.md section 2):
//  * One virtual clock, one event queue. Hardware schedules events on it.
//  * Process-context tasks are async functions. A task runs until it parks in a
//    simulator primitive (sleep, block, yield); it takes no virtual time unless
//    it spins. Between parks the strategy picks the next runnable task.
//  * Interrupt frames are generators. A frame started on a CPU that was idle (or
//    whose task is parked) may suspend where a real CPU would be busy: the
//    simulator then runs other CPUs' tasks and resumes the frame when its wait
//    is over. A frame started at an interrupt window of the executing CPU (its
//    own code is beneath it on the stack) is driven to completion on the spot.
//  * Synchronous spins (udelay, cpu_relax, polling) advance the clock and fire
//    due events on the way; they let other CPUs' interrupt frames run, but no
//    task runs during a spin (JavaScript cannot resume an async function from
//    synchronous code). README "Honest limits" says so.

import { EventQueue, type SimEvent } from "./events.ts";
import { Rng } from "./rng.ts";
import { TraceBus } from "./trace.ts";
import { SimCpu, SimTask, type Frame, type FrameRec, type Wait } from "./cpu.ts";
import { FifoStrategy, type Strategy } from "./strategy.ts";
import { MachineStopped, SimulatorError } from "./errors.ts";

export { MachineStopped, SimulatorError };

/** Hooks through which the kernel layer watches spins (watchdog, lockups). */
export interface SimHooks {
  /**
   * Called before a spinning CPU advances the clock to `next`. Returns the time
   * to advance to (possibly earlier, to report a lockup at the right instant).
   * May print and throw MachineStopped.
   */
  spinAdvance(cpu: SimCpu, next: number): number;
  /** A spinning CPU waits for something no future event can bring. Must throw. */
  spinForever(cpu: SimCpu, what: string): never;
  /** A task parked or finished (for held-lock checks). */
  taskSwitched?(t: SimTask): void;
}

const RELAX_MIN_NS = 10;

export class Sim {
  readonly eq = new EventQueue();
  readonly trace = new TraceBus();
  readonly rng: Rng;
  readonly cpus: SimCpu[];
  /** The CPU whose code executes now. */
  cur: SimCpu;
  strategy: Strategy;
  hooks: SimHooks;

  /** The task executing now (between resume and park), if any. */
  running: SimTask | null = null;
  private readonly runq: SimTask[] = [];
  private readySeq = 0;
  private readonly waiters: FrameRec[] = [];
  /**
   * CPUs an interrupt may have become deliverable to, in the order they were
   * kicked, each at most once (kicked[cpu.id]). An array and a flag rather
   * than a Set: a Set that goes from one element to none and back, as this
   * one does around every interrupt, reallocates its hash table each time.
   */
  private readonly kicks: SimCpu[] = [];
  private readonly kicked: Uint8Array;
  private parkSignal: (() => void) | null = null;
  /** Rejects the promise drive() awaits while a task runs (see stalled()). */
  private parkReject: ((e: Error) => void) | null = null;
  /** Task switches so far (parks and exits), for the stall and livelock detectors. */
  switches = 0;
  /** drive() calls it a livelock when this many switches pass with the clock standing still. */
  livelockSwitches = 200_000;
  private polling = 0;
  /** Set when the machine stopped; every later entry point rethrows it. */
  stopped: Error | null = null;
  /** Task failures (exceptions out of task bodies), in order. */
  readonly failures: { task: SimTask; error: unknown }[] = [];
  readonly tasks = new Set<SimTask>();

  constructor(opts: { cpus: number; seed: number; strategy?: Strategy }) {
    if (!Number.isInteger(opts.cpus) || opts.cpus < 1 || opts.cpus > 512) {
      throw new SimulatorError(`irqlab: cpus must be an integer in 1..512, got ${String(opts.cpus)}`);
    }
    this.rng = new Rng(opts.seed);
    this.cpus = Array.from({ length: opts.cpus }, (_, i) => new SimCpu(i));
    this.kicked = new Uint8Array(opts.cpus);
    this.cur = this.cpus[0]!;
    this.strategy = opts.strategy ?? new FifoStrategy();
    this.trace.clock = () => this.eq.now;
    this.trace.cpu = () => this.cur.id;
    this.hooks = {
      spinAdvance: (_c, next) => next,
      spinForever: (c, what) => this.stop(`CPU${c.id} spins forever: ${what}`),
    };
  }

  get now(): number {
    return this.eq.now;
  }

  // ---------------------------------------------------------------- stop

  stop(message: string): never {
    const err = new MachineStopped(message);
    if (!this.stopped) this.stopped = err;
    throw this.stopped;
  }

  checkStopped(): void {
    if (this.stopped) throw this.stopped;
  }

  // ---------------------------------------------------------------- interrupts

  /** An interrupt may have become deliverable to `cpu` (called by hardware models). */
  kick(cpu: SimCpu): void {
    if (this.kicked[cpu.id]) return;
    this.kicked[cpu.id] = 1;
    this.kicks.push(cpu);
  }

  /** May an interrupt start on `cpu` without its own code being beneath it? */
  private interruptibleAsync(cpu: SimCpu): boolean {
    return cpu.online && cpu.onStack === 0 && cpu.frames.length === 0 && cpu.arch !== null;
  }

  /**
   * Interrupt window of the executing CPU: take every pending interrupt while
   * the IF flag is set. Called when code re-enables interrupts, at MMIO
   * accesses and inside spins.
   */
  window(cpu: SimCpu = this.cur): void {
    const arch = cpu.arch;
    if (!arch) return;
    while (cpu.irqsEnabled && cpu.online && arch.pending(cpu)) this.runFrameSync(cpu, arch.enter(cpu), "irq");
  }

  /** Disable/enable the IF flag of `cpu` (keeps the irqs-off timestamp). */
  setIrqs(cpu: SimCpu, enabled: boolean): void {
    if (cpu.irqsEnabled === enabled) return;
    cpu.irqsEnabled = enabled;
    if (!enabled) cpu.irqsOffSince = this.eq.now;
  }

  private beginFrame(cpu: SimCpu, gen: Frame, label: string, async: boolean): FrameRec {
    const rec: FrameRec = {
      cpu,
      gen,
      label,
      wait: null,
      async,
      savedIrqsEnabled: cpu.irqsEnabled,
      ev: null,
      started: this.eq.now,
      ready: false,
    };
    if (cpu.onStack === 0 && cpu.frames.length === 0 && cpu.task === null) cpu.busySince = this.eq.now;
    cpu.frames.push(rec);
    this.setIrqs(cpu, false);
    if (this.trace.on) this.withCpu(cpu, () => this.trace.emit("sim.frame", { what: "enter", label }));
    return rec;
  }

  private endFrame(rec: FrameRec): void {
    const cpu = rec.cpu;
    const top = cpu.frames.pop();
    if (top !== rec) throw new SimulatorError("irqlab: interrupt frames ended out of order");
    if (this.trace.on) this.withCpu(cpu, () => this.trace.emit("sim.frame", { what: "exit", label: rec.label }));
    this.setIrqs(cpu, rec.savedIrqsEnabled);
    if (rec.async) this.kick(cpu);
  }

  private withCpu<T>(cpu: SimCpu, fn: () => T): T {
    const prev = this.cur;
    this.cur = cpu;
    try {
      return fn();
    } finally {
      this.cur = prev;
    }
  }

  /** Run the frame one step; returns true when it finished. */
  private stepFrame(rec: FrameRec): boolean {
    const cpu = rec.cpu;
    const prev = this.cur;
    this.cur = cpu;
    cpu.onStack++;
    let r: IteratorResult<Wait, void>;
    try {
      r = rec.gen.next();
    } catch (e) {
      cpu.onStack--;
      this.cur = prev;
      throw this.crash(e);
    }
    cpu.onStack--;
    this.cur = prev;
    if (r.done) {
      rec.wait = null;
      this.endFrame(rec);
      return true;
    }
    rec.wait = r.value;
    return false;
  }

  /** An exception escaped kernel code running in interrupt context. */
  private crash(e: unknown): Error {
    if (e instanceof MachineStopped || this.stopped) return this.stopped ?? (e as Error);
    const err = e instanceof Error ? e : new Error(String(e));
    this.stopped = err;
    return err;
  }

  /** Drive a frame to completion on the executing CPU (interrupt taken at a window). */
  runFrameSync(cpu: SimCpu, gen: Frame, label: string): void {
    const rec = this.beginFrame(cpu, gen, label, false);
    while (!this.stepFrame(rec)) {
      const w = rec.wait!;
      const cond = w.cond;
      this.withCpu(cpu, () => this.spinUntil(cond ?? (() => false), w.until ?? Infinity, w.what, cond !== undefined));
    }
  }

  /** Start a frame on a CPU that is free; it may stay suspended. */
  private startFrameAsync(cpu: SimCpu, gen: Frame, label: string): void {
    const rec = this.beginFrame(cpu, gen, label, true);
    this.continueAsync(rec);
  }

  private waitSatisfied(rec: FrameRec): boolean {
    const w = rec.wait!;
    if (w.cond) return w.cond() || (w.until !== undefined && w.until <= this.eq.now);
    return w.until === undefined || w.until <= this.eq.now;
  }

  private continueAsync(rec: FrameRec): void {
    for (;;) {
      if (this.stepFrame(rec)) return;
      if (this.waitSatisfied(rec)) continue;
      const w = rec.wait!;
      if (this.trace.on) this.withCpu(rec.cpu, () => this.trace.emit("sim.frame", { what: "suspend", label: w.what }));
      rec.ready = false;
      if (w.until !== undefined) {
        rec.ev = this.eq.schedule(
          w.until,
          () => {
            rec.ev = null;
            rec.ready = true;
          },
          `resume ${rec.label}`,
        );
      }
      this.waiters.push(rec);
      return;
    }
  }

  private resumeAsync(rec: FrameRec): void {
    const i = this.waiters.indexOf(rec);
    if (i >= 0) this.waiters.splice(i, 1);
    if (rec.ev) {
      this.eq.cancel(rec.ev);
      rec.ev = null;
    }
    rec.ready = false;
    if (this.trace.on) this.withCpu(rec.cpu, () => this.trace.emit("sim.frame", { what: "resume", label: rec.label }));
    this.continueAsync(rec);
  }

  /** Suspended interrupt frames (for diagnostics and checkers). */
  suspendedFrames(): readonly FrameRec[] {
    return this.waiters;
  }

  /** Is progress held back because a spinning CPU holds spinlocks? */
  get deferred(): boolean {
    if (this.waiters.some((r) => r.ready || (r.wait?.cond?.() ?? false))) return true;
    for (const c of this.kicks) if (this.interruptibleAsync(c) && c.arch!.pending(c)) return true;
    return false;
  }

  /**
   * Progress point: resume suspended frames whose wait is over and start
   * interrupts on free CPUs. Runs other CPUs' code, nested in the caller.
   */
  poll(): void {
    if (this.polling > 8) return;
    this.polling++;
    try {
      let progress = true;
      while (progress) {
        progress = false;
        for (let i = 0; i < this.waiters.length; i++) {
          const rec = this.waiters[i]!;
          if (rec.cpu.onStack === 0 && (rec.ready || (rec.wait?.cond?.() ?? false))) {
            this.resumeAsync(rec);
            progress = true;
            break;
          }
        }
        if (progress) continue;
        while (this.kicks.length > 0) {
          const cpu = this.kicks.shift()!;
          this.kicked[cpu.id] = 0;
          if (this.interruptibleAsync(cpu) && cpu.arch!.pending(cpu)) {
            this.startFrameAsync(cpu, cpu.arch!.enter(cpu), "irq");
            progress = true;
            break;
          }
        }
      }
    } finally {
      this.polling--;
    }
  }

  // ---------------------------------------------------------------- time

  /**
   * Advance the clock to `t`, firing every event due on the way. With
   * `others`, other CPUs' interrupt frames run between events.
   */
  advanceTo(t: number, others = true): void {
    if (t > this.eq.now) this.eq.now = t;
    for (;;) {
      const ev = this.eq.popDue(this.eq.now);
      if (!ev) break;
      ev.fn();
      this.checkStopped();
      if (others) this.poll();
    }
  }

  /** Fire the events due now. */
  fireDue(): void {
    this.advanceTo(this.eq.now);
  }

  /**
   * The executing CPU busy-waits until `pred()` holds or the clock reaches
   * `deadline`. Events fire on the way and this CPU takes interrupts if its
   * IF flag is set. Other CPUs' interrupt frames run during the spin unless
   * this CPU holds a spinlock (then they wait until it spins lock-free), except
   * in a lock-contention spin (`contention`), which must let the owner go on.
   * Returns pred()'s last value.
   */
  spinUntil(pred: () => boolean, deadline = Infinity, what = "condition", contention = false): boolean {
    const cpu = this.cur;
    for (;;) {
      if (pred()) return true;
      const others = contention || cpu.locksHeld === 0;
      if (others) this.poll();
      if (cpu.irqsEnabled) this.window(cpu);
      if (pred()) return true;
      if (this.eq.now >= deadline) return false;
      let next = Math.min(this.eq.peekTime(), deadline);
      next = this.hooks.spinAdvance(cpu, next);
      if (next === Infinity) {
        if (!others && this.deferred) {
          throw new SimulatorError(
            `irqlab model limit: CPU${cpu.id} spins (${what}) while holding a spinlock, and only another ` +
              `CPU's interrupt could end the spin; irqlab runs no other CPU's interrupt code while a spinning ` +
              `CPU holds a spinlock (README, "Honest limits")`,
          );
        }
        this.hooks.spinForever(cpu, what);
      }
      this.advanceTo(next, others);
    }
  }

  /** Spin for `ns` of virtual time. */
  spinFor(ns: number, what = "delay"): void {
    this.spinUntil(() => false, this.eq.now + Math.max(0, ns), what);
  }

  /**
   * One cpu_relax(): a short busy-wait. Consecutive relaxes on a CPU advance
   * by a growing quantum (1/16 of the time already spent spinning, at least
   * 10 ns), so a poll loop reaches the watchdog in a few hundred iterations
   * while its timing error stays near 6 %.
   */
  relax(): void {
    const cpu = this.cur;
    const now = this.eq.now;
    if (now - cpu.relaxLast > 2 * cpu.relaxQ + 1000) {
      cpu.relaxStart = now;
      cpu.relaxQ = RELAX_MIN_NS;
    } else {
      cpu.relaxQ = Math.max(RELAX_MIN_NS, Math.floor((now - cpu.relaxStart) / 16));
    }
    this.spinUntil(() => false, now + cpu.relaxQ, "cpu_relax");
    cpu.relaxLast = this.eq.now;
  }

  // ---------------------------------------------------------------- tasks

  addTask(t: SimTask, runnable: boolean): void {
    this.tasks.add(t);
    if (runnable) this.makeRunnable(t);
  }

  private makeRunnable(t: SimTask): void {
    t.state = "runnable";
    t.readyAt = this.eq.now;
    t.readySeq = this.readySeq++;
    t.waitingOn = "";
    this.runq.push(t);
  }

  /** Wake a blocked (or never started) task. Returns true if it was woken. */
  wake(t: SimTask): boolean {
    if (t.state === "blocked" || t.state === "new") {
      this.makeRunnable(t);
      if (this.trace.on) this.trace.emit("sched", { what: "wake", pid: -1, comm: t.label, target: t.cpu.id });
      return true;
    }
    return false;
  }

  /** Move a task to another CPU (a running task moves when it next leaves its CPU). */
  migrate(t: SimTask, cpu: SimCpu): void {
    if (t === this.running) t.nextCpu = cpu;
    else t.cpu = cpu;
  }

  /**
   * Park the running task (called from the kernel's schedule()). `runnable`
   * means the task only yields. The returned promise resolves when the
   * scheduler resumes the task.
   */
  park(t: SimTask, runnable: boolean, waitingOn = ""): Promise<void> {
    if (t !== this.running) throw new SimulatorError(`irqlab: task ${t.label} parked while not running`);
    const p = new Promise<void>((res) => {
      t.resumeFn = res;
    });
    this.offCpu(t);
    if (runnable) this.makeRunnable(t);
    else {
      t.state = "blocked";
      t.waitingOn = waitingOn;
    }
    this.signalPark();
    return p;
  }

  private offCpu(t: SimTask): void {
    const cpu = t.cpu;
    t.savedIrqsEnabled = cpu.irqsEnabled;
    t.savedPreempt = cpu.preemptCount;
    t.savedLocks = cpu.locksHeld;
    cpu.locksHeld = 0;
    cpu.onStack--;
    cpu.task = null;
    cpu.irqsEnabled = true;
    cpu.preemptCount = cpu.idlePreempt;
    this.running = null;
    this.hooks.taskSwitched?.(t);
    this.kick(cpu);
    if (t.nextCpu) {
      t.cpu = t.nextCpu;
      t.nextCpu = null;
    }
  }

  private signalPark(): void {
    const s = this.parkSignal;
    this.parkSignal = null;
    this.parkReject = null;
    this.switches++;
    s?.();
  }

  /**
   * drive() waits for `running` to park or exit, and it never will: the task
   * awaits a promise that nothing in the simulation settles. Stops the machine
   * with `err` and makes drive() throw it. Returns false when no task is
   * running (nothing is stalled).
   */
  stalled(err: Error): boolean {
    const rej = this.parkReject;
    if (this.running === null || rej === null) return false;
    if (!this.stopped) this.stopped = err;
    this.parkSignal = null;
    this.parkReject = null;
    rej(this.stopped);
    return true;
  }

  private exitTask(t: SimTask, result: unknown, error: unknown, failed: boolean): void {
    if (t === this.running) this.offCpu(t);
    t.state = "dead";
    t.done = true;
    t.result = result;
    if (failed) {
      t.error = error;
      this.failures.push({ task: t, error });
    }
    this.tasks.delete(t);
    this.signalPark();
  }

  private resume(t: SimTask): Promise<void> {
    const i = this.runq.indexOf(t);
    if (i >= 0) this.runq.splice(i, 1);
    const cpu = t.cpu;
    t.state = "running";
    this.running = t;
    cpu.task = t;
    cpu.irqsEnabled = t.savedIrqsEnabled;
    cpu.preemptCount = t.savedPreempt;
    cpu.locksHeld = t.savedLocks;
    cpu.onStack++;
    cpu.busySince = this.eq.now;
    this.cur = cpu;
    return new Promise<void>((res, rej) => {
      this.parkSignal = res;
      this.parkReject = rej;
      if (t.started) {
        const r = t.resumeFn;
        t.resumeFn = null;
        r?.();
      } else {
        t.started = true;
        let p: Promise<unknown>;
        try {
          p = t.body();
        } catch (e) {
          this.exitTask(t, undefined, e, true);
          return;
        }
        p.then(
          (v) => this.exitTask(t, v, undefined, false),
          (e: unknown) => this.exitTask(t, undefined, e, true),
        );
      }
    });
  }

  /** Every runnable task, in the order it became runnable. */
  get runqueue(): readonly SimTask[] {
    return this.runq;
  }

  /** Runnable tasks whose CPU is free to run them. */
  candidates(): SimTask[] {
    const c: SimTask[] = [];
    for (const t of this.runq) {
      const cpu = t.cpu;
      if (cpu.online && cpu.frames.length === 0 && cpu.onStack === 0) c.push(t);
    }
    return c;
  }

  /** Is anything left to do at or after now (ignoring daemon events)? */
  get busy(): boolean {
    return this.runq.length > 0 || this.suspendedFrames().length > 0 || this.eq.hasWork;
  }

  /**
   * The scheduler loop. Runs until `done()` holds at a quiescent point, or the
   * clock would pass `limit` (then `onLimit` decides), or nothing can progress
   * (`onDeadlock`).
   */
  async drive(opts: {
    done: () => boolean;
    limit: number;
    onLimit: () => never;
    onDeadlock: () => never;
    /** Tasks keep switching and no virtual time passes (see livelockSwitches). */
    onLivelock: () => never;
  }): Promise<void> {
    // Tasks take no virtual time unless they spin or sleep, so tasks that
    // only yield to each other (cond_resched() ping-pong) would go on forever
    // at one instant, never reaching the time limit.
    let still = this.eq.now;
    let base = this.switches;
    for (;;) {
      this.checkStopped();
      this.poll();
      this.fireDue();
      this.checkStopped();
      const cands = this.candidates();
      if (cands.length > 0) {
        const t = cands.length === 1 ? cands[0]! : this.strategy.pick(cands);
        if (this.trace.on) this.trace.emit("sched", { what: "run", pid: -1, comm: t.label, target: t.cpu.id });
        await this.resume(t);
        if (this.eq.now !== still) {
          still = this.eq.now;
          base = this.switches;
        } else if (this.switches - base > this.livelockSwitches) opts.onLivelock();
        continue;
      }
      if (opts.done()) return;
      const next = this.eq.peekTime();
      if (next === Infinity) {
        const stuck = this.waiters.find((r) => r.wait?.cond !== undefined);
        if (stuck) {
          // A frame waits for a condition nothing can satisfy: let the
          // watchdog of its CPU report it.
          this.withCpu(stuck.cpu, () => this.hooks.spinForever(stuck.cpu, stuck.wait?.what ?? "condition"));
        }
        opts.onDeadlock();
      }
      if (next > opts.limit) opts.onLimit();
      this.advanceTo(next);
    }
  }

  /** Run `fn` as if on `cpu` (used by machine entry points and tests). */
  on<T>(cpu: SimCpu, fn: () => T): T {
    return this.withCpu(cpu, fn);
  }

  /** Queue a callback at an absolute virtual time. */
  at(t: number, fn: () => void, label = "", daemon = false): SimEvent {
    return this.eq.schedule(t, fn, label, daemon);
  }
}
