// SPDX-License-Identifier: GPL-2.0-only
// Fault plans on virtual time. A plan is a list of entries
//   { kind, at?: ns after arming, after?: trace trigger, target?, params? }
// applied to a running machine by a FaultEngine. Kinds are registered by
// name, so device-specific kinds (an mlx5 command timeout, a firmware hang)
// plug in from their own files with registerFaultKind().
//
// A kind runs in one of two contexts. "hardware" kinds act from a virtual-
// time event, the way a device or the fabric misbehaves: they touch only
// hardware models (lib/hw) or irqlab test hooks, never call kernel APIs.
// "kernel" kinds (CPU hotplug) need process context: the engine runs them
// in a kernel thread, "irqlab-fault", bound to CPU0.
//
// Every fault the engine fires is an "explore.fault" trace event, so a
// report shows it in the trace excerpt and the checkers can tell an
// interrupt lost to an injected fault from one the kernel lost.

import type { Machine } from "../machine.ts";
import type { TraceKind, TraceRecord } from "../sim/trace.ts";
import type { SimEvent } from "../sim/events.ts";
import { Rng } from "../sim/rng.ts";
import type { PciFunction } from "../hw/pci.ts";
import type { MsixCapability } from "../hw/msix.ts";
import type { VtdUnit } from "../hw/vtd.ts";
import { kthread_create_on_cpu, kthread_should_stop, kthread_stop } from "../kernel/kthread.ts";
import { schedule, set_current_state, wake_up_process, TASK_RUNNING, TASK_UNINTERRUPTIBLE, type task_struct } from "../kernel/sched.ts";
import { add_cpu, remove_cpu } from "../kernel/cpu.ts";
import { cpu_online } from "../kernel/cpumask.ts";
import { irqlab_ir_skip_iec_flush } from "../../drivers/iommu/intel/irq_remapping.ts";

declare module "../sim/trace.ts" {
  interface TraceEventMap {
    /** A fault of an exploration fault plan (irqlab tooling event). */
    "explore.fault": { what: "fire" | "end" | "drop-msi" | "dup-msi" | "skip"; fault: string; target: string; detail?: string };
  }
}

/** Fire an entry after the nth trace event of `kind` whose fields equal `match`. */
export interface FaultTrigger {
  kind: TraceKind;
  match?: Record<string, string | number | boolean>;
  /** 1-based (default 1). */
  nth?: number;
}

export interface FaultSpec {
  kind: string;
  /** Virtual time after arming, in ns; with `after`, the delay after the trigger. */
  at?: number;
  after?: FaultTrigger;
  /** What it hits: a PCI address ("0000:3b:00.0"), "cpu2", "dmar0". */
  target?: string;
  params?: Record<string, number | string | boolean>;
}

export interface FaultPlan {
  faults: FaultSpec[];
}

/** What a kind may use while it applies or generates faults. */
export interface FaultEnv {
  readonly m: Machine;
  /** Generator of this entry (seeded from the plan seed and the entry index). */
  readonly rng: Rng;
  /** Virtual-time span of the scenario's activity after arming (ns), for generators. */
  readonly horizonNs: number;
  /** PCI addresses of the scenario's devices. */
  readonly devices: readonly string[];
  /** Trace an "explore.fault" event. */
  note(what: TraceRecordOf<"explore.fault">["what"], detail?: string): void;
  /** Run `fn` at `delayNs` from now (a virtual-time event that does not keep the run alive). */
  later(delayNs: number, fn: () => void): void;
  /** Run `fn` when the plan is disarmed (restore knobs and hooks), in the disarming task. */
  onDisarm(fn: () => void | Promise<void>): void;
}

type TraceRecordOf<K extends TraceKind> = Extract<TraceRecord, { kind: K }>;

export interface FaultKind {
  name: string;
  description: string;
  context: "hardware" | "kernel";
  /**
   * A kernel bug injected through a test hook rather than a fault the kernel
   * must survive: campaigns on the shipped chips leave it out, and a run
   * with it is expected to show violations.
   */
  bug?: boolean;
  /** Can this kind hit the machine (e.g. it needs a remapping unit)? */
  applicable?(m: Machine, devices: readonly string[]): boolean;
  /** Seeded plan entries for a campaign run. */
  generate(rng: Rng, horizonNs: number, devices: readonly string[], m: Machine): FaultSpec[];
  apply(env: FaultEnv, spec: FaultSpec): void | Promise<void>;
}

const kinds = new Map<string, FaultKind>();

export function registerFaultKind(k: FaultKind): void {
  if (kinds.has(k.name)) throw new Error(`irqlab explore: fault kind "${k.name}" registered twice`);
  kinds.set(k.name, k);
}

export function faultKind(name: string): FaultKind {
  const k = kinds.get(name);
  if (!k) throw new Error(`irqlab explore: unknown fault kind "${name}"; known: ${[...kinds.keys()].join(", ")}`);
  return k;
}

export function faultKinds(): FaultKind[] {
  return [...kinds.values()];
}

/** A seeded plan of one kind, as campaigns use (plan seed = run seed). */
export function generatePlan(kind: string, seed: number, horizonNs: number, devices: readonly string[], m: Machine): FaultPlan {
  const rng = new Rng((seed ^ 0x5eed_fa17) >>> 0);
  return { faults: faultKind(kind).generate(rng, horizonNs, devices, m) };
}

function num(spec: FaultSpec, key: string, dflt: number): number {
  const v = spec.params?.[key];
  return typeof v === "number" ? v : dflt;
}

function pciFn(m: Machine, spec: FaultSpec, devices: readonly string[]): PciFunction {
  const bdf = spec.target ?? devices[0];
  if (!bdf) throw new Error(`irqlab explore: fault "${spec.kind}" needs a PCI target`);
  return m.pci.device(bdf);
}

function msixOf(fn: PciFunction): MsixCapability {
  const cap = (fn as PciFunction & { msix?: MsixCapability }).msix;
  if (!cap) throw new Error(`irqlab explore: ${fn.bdf} has no MSI-X capability`);
  return cap;
}

// ------------------------------------------------------------ the MSI tap

/**
 * One interposer per PCI function on its upstream interrupt writes
 * (PciFunction.emitMsi, the link between the device and the root complex).
 * A dropped write is lost on the link: the device counts it as sent.
 */
class MsiTap {
  drop = 0;
  dup = 0;
  /** Delay of the duplicate behind the original write. */
  dupGapNs = 2000;
  private readonly orig: PciFunction["emitMsi"];
  constructor(
    private readonly fn: PciFunction,
    private readonly note: (what: "drop-msi" | "dup-msi") => void,
  ) {
    this.orig = fn.emitMsi.bind(fn);
    fn.emitMsi = (lo, hi, data, pasid) => this.emit(lo, hi, data, pasid);
  }
  private emit(lo: number, hi: number, data: number, pasid?: number): boolean {
    if (this.drop > 0) {
      this.drop--;
      this.note("drop-msi");
      return true;
    }
    const sent = this.orig(lo, hi, data, pasid);
    if (sent && this.dup > 0) {
      this.dup--;
      // A replayed write arrives a little later (a link retry), so it is a
      // second interrupt rather than one the APIC coalesces with the first.
      const sim = this.fn.host.sim;
      sim.at(sim.now + this.dupGapNs, () => {
        this.note("dup-msi");
        this.orig(lo, hi, data, pasid);
      }, "msi duplicate", true);
    }
    return sent;
  }
  remove(): void {
    delete (this.fn as Partial<Pick<PciFunction, "emitMsi">>).emitMsi;
  }
}

const taps = new WeakMap<Machine, Map<PciFunction, MsiTap>>();

function tapOf(env: FaultEnv, fn: PciFunction, fault: string): MsiTap {
  let map = taps.get(env.m);
  if (!map) taps.set(env.m, (map = new Map<PciFunction, MsiTap>()));
  let t = map.get(fn);
  if (!t) {
    const tap = new MsiTap(fn, (what) => {
      if (env.m.sim.trace.on) env.m.sim.trace.emit("explore.fault", { what, fault, target: fn.bdf });
    });
    map.set(fn, tap);
    env.onDisarm(() => {
      tap.remove();
      map.delete(fn);
    });
    t = tap;
  }
  return t;
}

function randomAt(rng: Rng, horizonNs: number): number {
  return Math.floor(horizonNs * (0.05 + 0.85 * rng.float()));
}

function someDevice(rng: Rng, devices: readonly string[]): string | undefined {
  return devices.length ? devices[rng.int(devices.length)] : undefined;
}

// ------------------------------------------------------------ built-in kinds

registerFaultKind({
  name: "msi-drop",
  description: "the next `count` interrupt writes of the device are lost on the link",
  context: "hardware",
  generate: (rng, h, devs) => Array.from({ length: 1 + rng.int(3) }, () => ({ kind: "msi-drop", at: randomAt(rng, h), target: someDevice(rng, devs), params: { count: 1 + rng.int(2) } })),
  apply(env, spec) {
    const fn = pciFn(env.m, spec, env.devices);
    tapOf(env, fn, "msi-drop").drop += num(spec, "count", 1);
  },
});

registerFaultKind({
  name: "msi-dup",
  description: "the next `count` interrupt writes of the device arrive twice, the copy `gapNs` later",
  context: "hardware",
  generate: (rng, h, devs) => Array.from({ length: 1 + rng.int(3) }, () => ({ kind: "msi-dup", at: randomAt(rng, h), target: someDevice(rng, devs), params: { count: 1 + rng.int(3), gapNs: rng.int(5000) } })),
  apply(env, spec) {
    const tap = tapOf(env, pciFn(env.m, spec, env.devices), "msi-dup");
    tap.dup += num(spec, "count", 1);
    tap.dupGapNs = num(spec, "gapNs", 2000);
  },
});

registerFaultKind({
  name: "msi-delay",
  description: "the device sends its interrupts `latencyNs` after their cause for `durationNs` (order kept; the message is read from the table when it goes out)",
  context: "hardware",
  generate: (rng, h, devs) => [{ kind: "msi-delay", at: randomAt(rng, h), target: someDevice(rng, devs), params: { latencyNs: 1000 + rng.int(99_000), durationNs: Math.floor(h * (0.2 + 0.6 * rng.float())) } }],
  apply(env, spec) {
    // The delay sits in the device, before the message is posted: PCIe
    // ordering (a read completion never passes a posted write) and the
    // fabric's in-order delivery still hold, as the kernel relies on. The
    // device's own raise() is wrapped, so traffic, doorbells and
    // completions are all delayed.
    const dev = pciFn(env.m, spec, env.devices) as PciFunction & { raise?: (k: number) => unknown };
    if (typeof dev.raise !== "function") throw new Error(`irqlab explore: msi-delay: ${dev.bdf} has no raise()`);
    const sim = env.m.sim;
    const orig = dev.raise.bind(dev);
    const lat = num(spec, "latencyNs", 50_000);
    let last = 0;
    dev.raise = (k: number) => {
      last = Math.max(sim.now + lat, last);
      sim.at(last, () => void orig(k), "delayed raise", true);
      return "emitted";
    };
    let done = false;
    const restore = (): void => {
      if (done) return;
      done = true;
      // raises still queued go out on their own
      delete dev.raise;
      env.note("end");
    };
    env.later(num(spec, "durationNs", 1_000_000), restore);
    env.onDisarm(restore);
  },
});

registerFaultKind({
  name: "msix-torn",
  description: "the device latches MSI-X messages torn: address, then data `tearWindowNs` later",
  context: "hardware",
  applicable: (m, devs) => devs.some((d) => (m.pci.device(d) as PciFunction & { msix?: MsixCapability }).msix !== undefined),
  generate: (rng, _h, devs, m) => {
    const withMsix = devs.filter((d) => (m.pci.device(d) as PciFunction & { msix?: MsixCapability }).msix !== undefined);
    // a window longer than a flushing read's round trip (1 us) could tear
    // a message past msi_set_affinity()'s IRR check, which no device does
    return [{ kind: "msix-torn", at: 0, target: someDevice(rng, withMsix), params: { tearWindowNs: 100 + rng.int(700) } }];
  },
  apply(env, spec) {
    const cap = msixOf(pciFn(env.m, spec, env.devices));
    const old = { latching: cap.latching, tear: cap.tearWindowNs };
    cap.latching = "torn";
    cap.tearWindowNs = num(spec, "tearWindowNs", 500);
    const dur = spec.params?.["durationNs"];
    const restore = (): void => {
      cap.latching = old.latching;
      cap.tearWindowNs = old.tear;
    };
    if (typeof dur === "number") env.later(dur, restore);
    env.onDisarm(restore);
  },
});

function vtdUnit(m: Machine): VtdUnit {
  if (!m.iommu) throw new Error("irqlab explore: the machine has no interrupt-remapping unit");
  return m.iommu;
}

registerFaultKind({
  name: "iec-stale",
  description: "the remapping unit processes invalidation descriptors `stallNs` slowly for `durationNs`: the IEC stays stale while the kernel waits",
  context: "hardware",
  applicable: (m) => m.iommu !== null,
  generate: (rng, h) => [{ kind: "iec-stale", at: randomAt(rng, h), params: { stallNs: 5000 + rng.int(95_000), durationNs: Math.floor(h * (0.2 + 0.5 * rng.float())) } }],
  apply(env, spec) {
    // The unit reads qiDescLatencyNs each time it schedules the next
    // descriptor, so changing it slows the engine from the next descriptor on.
    const unit = vtdUnit(env.m) as { qiDescLatencyNs: number };
    const old = unit.qiDescLatencyNs;
    unit.qiDescLatencyNs = num(spec, "stallNs", 20_000);
    let done = false;
    const restore = (): void => {
      if (done) return;
      done = true;
      unit.qiDescLatencyNs = old;
      env.note("end");
    };
    env.later(num(spec, "durationNs", 1_000_000), restore);
    env.onDisarm(restore);
  },
});

registerFaultKind({
  name: "iec-skip-flush",
  description: "kernel bug: modify_irte() forgets its IEC flush for `durationNs` (test hook irqlab_ir_skip_iec_flush)",
  context: "hardware",
  bug: true,
  applicable: (m) => m.iommu !== null,
  generate: (rng, h) => [{ kind: "iec-skip-flush", at: 0, params: { durationNs: Math.floor(h * (0.5 + 0.5 * rng.float())) } }],
  apply(env, spec) {
    const old = irqlab_ir_skip_iec_flush(true);
    let done = false;
    const restore = (): void => {
      if (done) return;
      done = true;
      irqlab_ir_skip_iec_flush(old);
      env.note("end");
    };
    env.later(num(spec, "durationNs", Infinity), restore);
    env.onDisarm(restore);
  },
});

registerFaultKind({
  name: "cpu-offline",
  description: "CPU `target` goes offline (remove_cpu()) and comes back `durationNs` later; generated plans fire it right after an affinity change starts",
  context: "kernel",
  applicable: (m) => m.options.cpus > 1,
  generate: (rng, h, _d, m) => [
    {
      kind: "cpu-offline",
      ...(rng.int(2) === 0 ? { after: { kind: "irq.chip" as const, match: { cb: "irq_set_affinity", phase: "enter", depth: 0 }, nth: 1 + rng.int(4) }, at: rng.int(3) * 500 } : { at: randomAt(rng, h) }),
      target: `cpu${1 + rng.int(m.options.cpus - 1)}`,
      params: { durationNs: Math.floor(h * (0.1 + 0.4 * rng.float())) },
    },
  ],
  async apply(env, spec) {
    const cpu = Number(/^cpu(\d+)$/.exec(spec.target ?? "")?.[1] ?? NaN);
    if (!Number.isInteger(cpu)) throw new Error(`irqlab explore: cpu-offline needs a target "cpuN", got ${String(spec.target)}`);
    const ret = await remove_cpu(cpu);
    env.note("fire", `remove_cpu(${cpu}) = ${ret}`);
    if (ret) return;
    env.onDisarm(async () => {
      if (!cpu_online(cpu)) env.note("end", `add_cpu(${cpu}) = ${await add_cpu(cpu)}`);
    });
    const dur = num(spec, "durationNs", 1_000_000);
    if (dur !== Infinity) engineOf(env).inThread(dur, async () => env.note("end", `add_cpu(${cpu}) = ${await add_cpu(cpu)}`));
  },
});

registerFaultKind({
  name: "flr",
  description: "the device performs a Function Level Reset on its own (surprise reset): MSI-X off, table cleared, BARs unassigned",
  context: "hardware",
  generate: (rng, h, devs) => [{ kind: "flr", at: randomAt(rng, h), target: someDevice(rng, devs) }],
  apply(env, spec) {
    pciFn(env.m, spec, env.devices).flr();
  },
});

// ------------------------------------------------------------ the engine

interface EngineEnv extends FaultEnv {
  readonly engine: FaultEngine;
}

function engineOf(env: FaultEnv): FaultEngine {
  return (env as EngineEnv).engine;
}

/** One fired entry, for reports. */
export interface FaultFired {
  t: number;
  index: number;
  kind: string;
  target: string;
}

/**
 * Applies a plan to a machine. arm() must be called from a task of the
 * machine (the scenario's); disarm() too, before the scenario tears down.
 */
export class FaultEngine {
  readonly fired: FaultFired[] = [];
  private readonly undo: (() => void | Promise<void>)[] = [];
  private readonly events: SimEvent[] = [];
  private unsub: (() => void) | null = null;
  private thread: task_struct | null = null;
  private readonly jobs: (() => Promise<void>)[] = [];
  private armedAt = 0;
  private armed = false;
  /** Virtual time from arm() to disarm() (the window faults could fire in). */
  windowNs = 0;

  constructor(
    readonly m: Machine,
    readonly plan: FaultPlan,
    readonly seed: number,
    readonly devices: readonly string[],
    readonly horizonNs: number,
  ) {
    for (const f of plan.faults) faultKind(f.kind);
  }

  arm(): void {
    if (this.armed) throw new Error("irqlab explore: fault plan armed twice");
    this.armed = true;
    const sim = this.m.sim;
    this.armedAt = sim.now;
    if (this.plan.faults.some((f) => faultKind(f.kind).context === "kernel")) this.startThread();
    const triggers: { i: number; f: FaultSpec; left: number }[] = [];
    this.plan.faults.forEach((f, i) => {
      if (f.after) triggers.push({ i, f, left: f.after.nth ?? 1 });
      else this.schedule(i, f, this.armedAt + (f.at ?? 0));
    });
    if (triggers.length) {
      // The listener only schedules: a fault never runs inside the emitting
      // code (which may hold locks or be mid-callback).
      this.unsub = sim.trace.subscribe((r) => {
        for (const tr of triggers) {
          if (tr.left <= 0 || r.kind !== tr.f.after!.kind || !matches(r, tr.f.after!.match)) continue;
          if (--tr.left === 0) this.schedule(tr.i, tr.f, sim.now + (tr.f.at ?? 0));
        }
      });
    }
  }

  private env(i: number, spec: FaultSpec): EngineEnv {
    const m = this.m;
    const target = spec.target ?? "";
    return {
      m,
      engine: this,
      rng: new Rng((this.seed * 31 + i * 0x9e3779b1) >>> 0),
      horizonNs: this.horizonNs,
      devices: this.devices,
      note: (what, detail) => {
        if (m.sim.trace.on) m.sim.trace.emit("explore.fault", { what, fault: spec.kind, target, ...(detail !== undefined ? { detail } : {}) });
      },
      later: (delayNs, fn) => {
        if (delayNs === Infinity) return;
        this.events.push(m.sim.at(m.sim.now + Math.max(0, delayNs), fn, `fault ${spec.kind} end`, true));
      },
      onDisarm: (fn) => {
        this.undo.push(fn);
      },
    };
  }

  private schedule(i: number, spec: FaultSpec, at: number): void {
    const kind = faultKind(spec.kind);
    const fire = (): void => {
      const env = this.env(i, spec);
      this.fired.push({ t: this.m.sim.now, index: i, kind: spec.kind, target: spec.target ?? "" });
      if (kind.context === "hardware") {
        env.note("fire");
        const r = kind.apply(env, spec);
        if (r instanceof Promise) throw new Error(`irqlab explore: hardware fault kind "${spec.kind}" returned a promise`);
      } else {
        this.runInThread(async () => {
          await kind.apply(env, spec);
        });
      }
    };
    this.events.push(this.m.sim.at(at, fire, `fault ${spec.kind}`, true));
  }

  /** Queue `job` for the fault thread `delayNs` from now (kernel kinds with a second stage). */
  inThread(delayNs: number, job: () => Promise<void>): void {
    this.events.push(this.m.sim.at(this.m.sim.now + delayNs, () => this.runInThread(job), "fault thread job", true));
  }

  private runInThread(job: () => Promise<void>): void {
    if (!this.thread) return;
    this.jobs.push(job);
    wake_up_process(this.thread);
  }

  private startThread(): void {
    this.thread = kthread_create_on_cpu(
      async () => {
        for (;;) {
          const job = this.jobs.shift();
          if (job) {
            await job();
            continue;
          }
          if (kthread_should_stop()) return 0;
          set_current_state(TASK_UNINTERRUPTIBLE);
          if (this.jobs.length || kthread_should_stop()) {
            set_current_state(TASK_RUNNING);
            continue;
          }
          await schedule();
        }
      },
      null,
      0,
      "irqlab-fault",
    );
    wake_up_process(this.thread);
  }

  /** Stop firing, restore every knob and hook, stop the fault thread. */
  async disarm(): Promise<void> {
    if (!this.armed) return;
    this.armed = false;
    this.windowNs = this.m.sim.now - this.armedAt;
    this.unsub?.();
    this.unsub = null;
    for (const ev of this.events) this.m.sim.eq.cancel(ev);
    this.events.length = 0;
    if (this.thread) {
      // Jobs still queued (a CPU to bring back online) run before the thread
      // sees the stop request.
      await kthread_stop(this.thread);
      this.thread = null;
    }
    for (const fn of this.undo.splice(0).reverse()) await fn();
  }
}

function matches(r: TraceRecord, match: FaultTrigger["match"]): boolean {
  if (!match) return true;
  const rec = r as unknown as Record<string, unknown>;
  for (const [k, v] of Object.entries(match)) if (rec[k] !== v) return false;
  return true;
}
