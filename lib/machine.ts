// SPDX-License-Identifier: GPL-2.0-only
// A simulated machine: CPUs, the kernel, and (as later layers arrive) RAM,
// the IOMMU, PCI and devices. `createMachine()` boots it; `m.run()` runs a
// task on CPU0 in process context and drives the simulation until it and
// everything it started have settled.

import { Sim, SimulatorError, MachineStopped } from "./sim/sim.ts";
import { watch_stall } from "./sim/stall.ts";
import { strategyFromSpec, type Strategy } from "./sim/strategy.ts";
import { TraceRecorder, type TraceRecord } from "./sim/trace.ts";
import { DEFAULT_CONFIG, set_current_kernel, type Kernel, type KernelConfig, type Splat } from "./kernel/kernel.ts";
import { start_kernel } from "./kernel/boot.ts";
import { genirq_init } from "./irq/init.ts";
import { alloc_pid, task_struct } from "./kernel/sched.ts";
import { format_dmesg } from "./kernel/printk.ts";
import { msleep } from "./kernel/delay.ts";
// ---- genirq observability (lib/irq/proc.ts, lib/irq/debugfs.ts) ----
import { default_affinity_read, default_affinity_write, proc_irq_read, proc_irq_write, show_interrupts } from "./irq/proc.ts";
import { irq_debugfs_domain_read, irq_debugfs_irq_read } from "./irq/debugfs.ts";
// ---- end genirq observability ----
import { x86_boot, x86_build_hardware, type ImsOptions, type IommuOptions, type X86BootOptions } from "./machine/x86.ts";
import type { VtdUnit } from "./hw/vtd.ts";
// ---- hardware platform (lib/hw) ----
import { createPlatform, type Platform, type PlatformOptions } from "./hw/platform.ts";
import { createPciDevice, type PciDeviceSpec } from "./hw/devices/index.ts";
import { formatBdf, parseBdf, type PciFunction } from "./hw/pci.ts";
import { lapic_init } from "./kernel/apic.ts";
// ---- end hardware platform ----

export interface MachineOptions {
  /** Number of CPUs (default 4). */
  cpus?: number;
  /** Seed of every random choice of the run (default 1). */
  seed?: number;
  /** Scheduling strategy: "fifo" (default), "random" (seeded by `seed`), "random:N", or an object. */
  strategy?: string | Strategy;
  /** Record the trace bus from boot (default true). Off, the hot paths pay nothing for tracing. */
  trace?: boolean;
  /** Kernel configuration overrides. */
  config?: Partial<KernelConfig>;
  /** Virtual-time bound of one m.run() in ns (default 600 s). */
  runLimitNs?: number;
  /** Kernel command line (shown in dmesg). */
  cmdline?: string;
  // ---- hardware platform (lib/hw) ----
  /** PCI devices on segment 0, e.g. { devices: [{ type: "testnic", bdf: "0000:3b:00.0", vectors: 8 }] }. */
  pci?: { devices?: PciDeviceSpec[] };
  /** Hardware timing and address-map knobs (lib/hw/platform.ts). */
  platform?: PlatformOptions;
  // ---- end hardware platform ----
  /**
   * "x86" (default) boots the interrupt architecture: local APICs, the vector
   * domain, interrupt remapping, the PCI scan. "none" stops after the kernel
   * primitives, for tests of lib/kernel and of bare hardware.
   */
  arch?: "x86" | "none";
  /** The interrupt-remapping unit (default: present and enabled). */
  iommu?: IommuOptions;
  /** IMS parent policy (default: IMS needs the remapping domain, as v6.2..v6.9). */
  ims?: ImsOptions;
}

/** The PCI side of a machine, for tests and drivers' probe calls. */
export interface MachinePci {
  /** The device model at `bdf` (throws if there is none). */
  device<T extends PciFunction = PciFunction>(bdf: string): T;
  devices(): PciFunction[];
}

export interface RunOptions {
  /** Virtual-time bound of this run in ns. */
  limitNs?: number;
  /** CPU the task starts on (default 0). */
  cpu?: number;
  /** Task name (default "insmod"). */
  comm?: string;
}

/** A splat the test did not declare with expectSplat(). */
export class UnexpectedSplatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UnexpectedSplatError";
  }
}

const KNOWN_OPTIONS = new Set(["cpus", "seed", "strategy", "trace", "config", "runLimitNs", "cmdline", "pci", "platform", "arch", "iommu", "ims"]);

let active: Machine | null = null;

export class Machine {
  /** Machines created since the last reset (the test harness checks them for splats). */
  static readonly created: Machine[] = [];

  readonly sim: Sim;
  readonly kernel: Kernel;
  readonly recorder: TraceRecorder;
  readonly options: Required<Pick<MachineOptions, "cpus" | "seed" | "runLimitNs">>;
  /** RAM, MMIO, PCI, the MSI fabric and the local APICs. */
  readonly platform: Platform;
  readonly pci: MachinePci;
  /** The interrupt-remapping unit, or null when the machine has none. */
  readonly iommu: VtdUnit | null;
  private readonly bootOptions: X86BootOptions;
  readonly arch: "x86" | "none";
  private reportedSplats = 0;
  private running = false;

  constructor(opts: MachineOptions = {}) {
    for (const k of Object.keys(opts)) {
      if (!KNOWN_OPTIONS.has(k)) throw new SimulatorError(`createMachine: unknown option "${k}"`);
    }
    const cpus = opts.cpus ?? 4;
    const seed = opts.seed ?? 1;
    if (!Number.isInteger(seed) || seed < 0) throw new SimulatorError(`createMachine: seed must be a non-negative integer, got ${String(seed)}`);
    const strategy = strategyFromSpec(opts.strategy, seed);
    this.sim = new Sim({ cpus, seed, strategy });
    this.options = { cpus, seed, runLimitNs: opts.runLimitNs ?? 600e9 };
    this.recorder = new TraceRecorder(this.sim.trace);
    if (opts.trace ?? true) this.recorder.start();
    const config = { ...DEFAULT_CONFIG, ...(opts.config ?? {}) };
    this.kernel = start_kernel(this.sim, config, opts.cmdline ?? "console=ttyS0 irqlab");
    // ---- hardware platform (lib/hw) ----
    const platform = createPlatform(this.sim, { seed, ...(opts.platform ?? {}) });
    this.platform = platform;
    this.kernel.state("platform", () => platform);
    lapic_init();
    for (const spec of opts.pci?.devices ?? []) createPciDevice(platform, spec);
    this.pci = {
      device<T extends PciFunction = PciFunction>(bdf: string): T {
        const f = platform.pci.device(formatBdf(parseBdf(bdf)));
        if (!f) throw new SimulatorError(`m.pci.device: no PCI function at ${bdf}`);
        return f as T;
      },
      devices: () => platform.pci.devices(),
    };
    // ---- end hardware platform ----
    const arch = opts.arch ?? "x86";
    if (arch !== "x86" && arch !== "none") throw new SimulatorError(`createMachine: arch must be "x86" or "none", got ${String(arch)}`);
    this.arch = arch;
    this.bootOptions = { iommu: opts.iommu, ims: opts.ims };
    this.iommu = arch === "x86" ? x86_build_hardware(platform, this.bootOptions) : null;
    genirq_init();
    Machine.created.push(this);
  }

  /** The x86 interrupt boot (lib/machine/x86.ts); createMachine() runs it once. */
  async bootArch(): Promise<void> {
    if (this.arch === "x86") await x86_boot(this.platform, this.iommu, this.bootOptions);
  }

  /** Make this machine the one whose kernel code runs. */
  activate(): void {
    if (active && active !== this && active.running) {
      throw new SimulatorError("irqlab: another machine is running; run machines one at a time");
    }
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the one machine whose code runs
    active = this;
    set_current_kernel(this.kernel);
  }

  /** Run `body` as a task in process context on CPU0 and drive the machine until everything settles. */
  async run<T>(body: () => Promise<T> | T, opts: RunOptions = {}): Promise<T> {
    this.activate();
    const sim = this.sim;
    if (sim.stopped) throw new MachineStopped(`machine already stopped: ${sim.stopped.message}`);
    if (this.running) throw new SimulatorError("irqlab: m.run() called while the machine is running");
    const cpu = sim.cpus[opts.cpu ?? 0];
    if (!cpu) throw new SimulatorError(`m.run: no CPU ${String(opts.cpu)}`);
    this.running = true;
    const t = new task_struct(alloc_pid(), opts.comm ?? "insmod", cpu, async () => body());
    sim.addTask(t, true);
    const span = opts.limitNs ?? this.options.runLimitNs;
    const limit = sim.now + span;
    watch_stall(sim, () => this.running, () => this.stallError());
    try {
      await sim.drive({
        done: () => t.done && sim.suspendedFrames().length === 0 && !sim.eq.hasWork,
        limit,
        onLimit: () => {
          throw new SimulatorError(
            `m.run(): not settled after ${span / 1e9} s of virtual time` +
              (t.done ? " (the body finished; other work is still pending)" : "") +
              `\n${this.describeBlocked()}`,
          );
        },
        onLivelock: () => {
          throw new SimulatorError(
            `m.run(): livelock at ${(sim.now / 1e9).toFixed(6)} s of virtual time: ${sim.livelockSwitches} task switches ` +
              `and the clock did not move (tasks only yield to each other; irqlab's tasks take no time unless they ` +
              `spin or sleep)\n${this.describeRunnable()}`,
          );
        },
        onDeadlock: () => {
          throw new SimulatorError(`m.run(): the body can never finish, nothing else can run\n${this.describeBlocked()}`);
        },
      });
    } finally {
      this.running = false;
    }
    if (t.error !== undefined) throw t.error instanceof Error ? t.error : new Error(`task body threw ${JSON.stringify(t.error)}`);
    const failure = sim.failures.find((f) => f.task !== t);
    if (failure) {
      const e = failure.error;
      throw e instanceof Error ? e : new Error(String(e));
    }
    this.checkSplats();
    return t.result as T;
  }

  /** Advance virtual time by `ns` with no task of the caller (devices and timers run). */
  async idle(ns: number): Promise<void> {
    const sim = this.sim;
    const until = sim.now + ns;
    await this.run(async () => {
      const ms = Math.max(0, (until - sim.now) / 1e6);
      if (ms > 0) await msleep(ms);
    }, { comm: "irqlab-idle" });
  }

  /** Run synchronous code as if on `cpu` (default 0), outside any task: a back door for tests. */
  enter<T>(fn: () => T, cpu = 0): T {
    this.activate();
    return this.sim.on(this.sim.cpus[cpu]!, fn);
  }

  /** The error of a run whose running task awaits something no simulated event settles (lib/sim/stall.ts). */
  private stallError(): SimulatorError {
    const sim = this.sim;
    const t = sim.running as task_struct | null;
    const who = t ? `${t.comm}/${t.pid} on CPU${t.cpu.id}` : "a task";
    const k = this.kernel;
    const lines = [
      `m.run(): the simulation stalled at ${(sim.now / 1e9).toFixed(6)} s of virtual time: ${who} is running and awaits ` +
        `a promise that nothing in the simulation will settle, so virtual time cannot advance`,
    ];
    if (k.abandoned_sleeps > 0) {
      lines.push(
        `  ${k.abandoned_sleeps} sleep(s) began with no task to put to sleep ("BUG: scheduling while atomic") and never ` +
          `return, the first by ${k.first_abandoned_sleep}; whatever awaits their results never continues`,
      );
    } else {
      lines.push("  (a plain JavaScript promise, not a kernel sleep: its resolver was dropped, or it waits for I/O outside the simulation)");
    }
    lines.push(this.describeBlocked());
    return new SimulatorError(lines.join("\n"));
  }

  private describeRunnable(): string {
    const lines = this.sim.runqueue.map((t) => `  ${(t as task_struct).comm}/${(t as task_struct).pid} on CPU${t.cpu.id}`);
    return lines.length ? `runnable tasks:\n${lines.join("\n")}` : "no runnable tasks";
  }

  describeBlocked(): string {
    const lines: string[] = [];
    for (const t of this.sim.tasks) {
      const kt = t as task_struct;
      if (t.state === "blocked" && kt.waitingOn && !/^(softirqs|worker_thread idle)$/.test(kt.waitingOn)) {
        lines.push(`  ${kt.comm}/${kt.pid} on CPU${t.cpu.id} blocked in ${kt.waitingOn}`);
      }
    }
    return lines.length ? `blocked tasks:\n${lines.join("\n")}` : "no blocked tasks";
  }

  /** The kernel log, as `dmesg` prints it. */
  dmesg(): string {
    return format_dmesg(this.kernel.log);
  }

  // ---- genirq observability (lib/irq/proc.ts, lib/irq/debugfs.ts) ----
  /** A file access as a user process would make it: in the running task, or on CPU0 between runs. */
  private kernelCall<T>(fn: () => T): T {
    if (this.running) return fn();
    return this.enter(fn);
  }

  /** cat /proc/interrupts */
  procInterrupts(): string {
    return this.kernelCall(() => show_interrupts());
  }

  /** cat /proc/irq/<irq>/<file>, or /proc/irq/default_smp_affinity; null if the file does not exist. */
  procIrq(irq: number, file: string): string | null;
  procIrq(path: "default_smp_affinity"): string;
  procIrq(irq: number | "default_smp_affinity", file?: string): string | null {
    if (irq === "default_smp_affinity") return this.kernelCall(() => default_affinity_read());
    return this.kernelCall(() => proc_irq_read(irq, file ?? ""));
  }

  /** write(2) of `text` to /proc/irq/<irq>/<file> or /proc/irq/default_smp_affinity: bytes written or -errno. */
  writeProcIrq(irq: number, file: string, text: string): number;
  writeProcIrq(path: "default_smp_affinity", text: string): number;
  writeProcIrq(irq: number | "default_smp_affinity", file: string, text?: string): number {
    if (irq === "default_smp_affinity") return this.kernelCall(() => default_affinity_write(file));
    return this.kernelCall(() => proc_irq_write(irq, file, text ?? ""));
  }

  /** cat /sys/kernel/debug/irq/irqs/<irq>; null if there is no such descriptor. */
  debugfsIrq(irq: number): string | null {
    return this.kernelCall(() => irq_debugfs_irq_read(irq));
  }

  /** cat /sys/kernel/debug/irq/domains/<name> ("default" always exists); null if there is no such file. */
  debugfsDomain(name: string): string | null {
    return this.kernelCall(() => irq_debugfs_domain_read(name));
  }
  // ---- end genirq observability ----

  /** Every recorded trace event. */
  trace(): readonly TraceRecord[] {
    return this.recorder.records;
  }

  get now(): number {
    return this.sim.now;
  }

  splats(): readonly Splat[] {
    return this.kernel.splats;
  }

  /**
   * Declare that a splat whose title matches `pattern` is expected (up to
   * `count` times, default 1; Infinity for any number).
   */
  expectSplat(pattern: RegExp, count = 1): void {
    this.kernel.expectations.push({ pattern, remaining: count, matched: 0 });
  }

  /** Splats nobody declared, not yet reported. */
  unexpectedSplats(): Splat[] {
    return this.kernel.splats.slice(this.reportedSplats).filter((s) => !s.expected);
  }

  /** Throw if a splat happened that the test did not expect. */
  checkSplats(): void {
    const bad = this.unexpectedSplats();
    this.reportedSplats = this.kernel.splats.length;
    if (bad.length === 0) return;
    const first = bad[0]!;
    const excerpt = format_dmesg(this.kernel.log.filter((r) => r.seq >= first.firstSeq).slice(0, 60));
    throw new UnexpectedSplatError(
      `unexpected kernel splat${bad.length > 1 ? `s (${bad.length})` : ""}: ${bad.map((s) => s.title).join("; ")}\n${excerpt}`,
    );
  }
}

/** Boot a machine. */
export async function createMachine(opts: MachineOptions = {}): Promise<Machine> {
  const m = new Machine(opts);
  // let the boot threads (ksoftirqd, ...) reach their first sleep, then boot
  // the interrupt architecture as start_kernel() and the initcalls do
  await m.run(() => m.bootArch(), { comm: "init" });
  return m;
}
