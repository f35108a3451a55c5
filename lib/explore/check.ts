// SPDX-License-Identifier: GPL-2.0-only
// The checker framework of the exploration tooling: named checkers, when they
// run, what they see, and the probes through which chips and devices that
// land later (IMS arrays, queue-backed chips) teach the generic checkers
// about their own state without the checkers knowing them.
//
// A checker runs
//   "step":    at every scheduling point of the run (the simulator is about to
//              resume a task: no task is mid-section, no CPU holds a spinlock),
//              so it must be cheap and must not trace, lock or sleep;
//   "history": once, over the recorded trace, after the run;
//   "end":     once, after the scenario's teardown, against the baseline
//              snapshot taken after boot.
// A mutant (a deliberately broken chip) is "caught by a named check" when a
// run reports a violation of that checker.

import type { Machine } from "../machine.ts";
import type { TraceRecord } from "../sim/trace.ts";
import type { irq_data } from "../irq/irq.ts";
import type { irq_desc } from "../irq/irqdesc.ts";
import type { msi_desc, msi_msg } from "../irq/msi_types.ts";
import type { msi_device_data } from "../irq/msi.ts";
import type { device } from "../kernel/device.ts";

/** An interrupt line a scenario drives: device `bdf`, its vector/slot `index`, Linux irq `irq`. */
export interface Line {
  bdf: string;
  index: number;
  irq: number;
  /** The action name its handler runs under (irq_handler_entry name). */
  name: string;
  /** Trace sequence number from which the line is watched, and its state then. */
  since: number;
  depth: number;
  hasAction: boolean;
}

export interface CheckEnv {
  m: Machine;
  /** The recorded trace (history and end checkers). */
  records: readonly TraceRecord[];
  /** Lines the scenario raises and expects to be handled. */
  lines: readonly Line[];
  /** Virtual-time bound within which an owed interrupt must be handled. */
  boundNs: number;
  /** Counts taken after boot, before the scenario (end checkers). */
  baseline: Snapshot | null;
  /** Splat titles the scenario expects (anything else is a violation). */
  expectedSplats: readonly RegExp[];
}

/**
 * What a finding is about, where it concerns one interrupt or one vector:
 * the Linux irq, and the CPU and vector a message would reach. Known Linux
 * races (known_races.ts) attribute a violation to themselves only through
 * these fields, so a checker leaves them out of findings a race cannot cause.
 */
export interface FindingSubject {
  irq?: number;
  cpu?: number;
  vector?: number;
}

/** What a checker found. `key` deduplicates repeats of one problem across steps. */
export interface Finding {
  key: string;
  message: string;
  /** The interrupt or vector it is about (see FindingSubject). */
  about?: FindingSubject;
  /** Trace record the finding is about (its excerpt goes in the report). */
  seq?: number;
  /** Or the virtual time it is about (the excerpt starts at the first record at or after it). */
  t?: number;
  /** Extra report lines (a dmesg excerpt). */
  detail?: string[];
  /** Trace records an excerpt should keep (default: all). */
  keep?: (r: TraceRecord) => boolean;
}

export interface Checker {
  name: string;
  description: string;
  when: "step" | "history" | "end";
  check(env: CheckEnv): Finding[];
}

const registry = new Map<string, Checker>();

export function registerChecker(c: Checker): void {
  if (registry.has(c.name)) throw new Error(`irqlab explore: checker "${c.name}" registered twice`);
  registry.set(c.name, c);
}

export function checkers(): Checker[] {
  return [...registry.values()];
}

export function checker(name: string): Checker {
  const c = registry.get(name);
  if (!c) throw new Error(`irqlab explore: unknown checker "${name}"; known: ${[...registry.keys()].join(", ")}`);
  return c;
}

// ------------------------------------------------------------ probes

/**
 * A hierarchy level's own idea of "live": given an activated interrupt's
 * irq_data at this level, return null when the level's resources are in
 * place (a vector, an IRTE, a slot) or what is missing.
 */
export interface LevelProbe {
  name: string;
  /** Does this probe know the level (usually: the chip, compared to irq_chip_orig(d.chip))? */
  match(d: irq_data): boolean;
  check(d: irq_data, desc: irq_desc, m: Machine): string | null;
  /**
   * For a level check() failed: the CPU and vector the failure is about, when
   * it is the interrupt's own vector gone stale (not, say, another
   * interrupt's); null or absent: the finding names the interrupt alone and
   * no known race claims it.
   */
  subject?(d: irq_data, desc: irq_desc, m: Machine): FindingSubject | null;
}

const levelProbes: LevelProbe[] = [];

export function registerLevelProbe(p: LevelProbe): void {
  levelProbes.push(p);
}

export function levelProbesFor(d: irq_data): LevelProbe[] {
  return levelProbes.filter((p) => p.match(d));
}

/** A message as the device holds it, next to the kernel's cached copy. */
export interface DeviceMessage {
  /** "0000:3b:00.0 msix 3" */
  where: string;
  irq: number;
  device: { address_lo: number; address_hi: number; data: number; masked: boolean };
  /** The kernel's cached copy (msi_desc->msg), or null where the kernel keeps none (IMS chips write the slot only). */
  cache: msi_msg | null;
  /** The kernel's view of the slot's mask. */
  cacheMasked: boolean;
}

/**
 * Where a kind of device keeps interrupt messages (the MSI-X table, an IMS
 * array, host memory behind a command queue). `messages()` returns null for a
 * device it cannot read consistently now (writes in flight, reset).
 */
export interface MessageProbe {
  name: string;
  messages(m: Machine): DeviceMessage[];
}

const messageProbes: MessageProbe[] = [];

export function registerMessageProbe(p: MessageProbe): void {
  messageProbes.push(p);
}

export function allMessageProbes(): readonly MessageProbe[] {
  return messageProbes;
}

/** A resource count compared before and after a scenario (descriptors, vectors, IRTEs, IMS slots). */
export interface LeakProbe {
  name: string;
  read(m: Machine): Record<string, number>;
}

const leakProbes: LeakProbe[] = [];

export function registerLeakProbe(p: LeakProbe): void {
  leakProbes.push(p);
}

export type Snapshot = Record<string, number>;

/** Every leak probe's counts, keyed "probe.counter". */
export function takeSnapshot(m: Machine): Snapshot {
  const out: Snapshot = {};
  for (const p of leakProbes) for (const [k, v] of Object.entries(p.read(m))) out[`${p.name}.${k}`] = v;
  return out;
}

/**
 * The MSI descriptors of `dev` in domain `domid`, read from the device's
 * store without msi_lock_descs(): checkers look, the kernel may hold the lock.
 */
export function msiDescs(dev: device, domid: number): msi_desc[] {
  const data = dev.msi.data as msi_device_data | null;
  const store = data?.__domains[domid]?.store;
  return store ? [...store.values()].sort((a, b) => a.msi_index - b.msi_index) : [];
}
