// SPDX-License-Identifier: GPL-2.0-only
// Known Linux races: interleavings the explorer reaches that the real kernel
// reaches too (run on a Linux capture, docs/oracle/), so the invariants they
// break are Linux's behaviour, not irqlab bugs. Each race is recognised when
// its cause happens, by a watcher on the trace as it is recorded (no kernel
// code changes, nothing is locked or called through a traced wrapper); the
// violations that follow from it are reported under the race's name instead
// of counting as violations. A violation is attributed only when the race
// says its subject (irq, CPU, vector) and its time are the race's own, so a
// real irqlab bug on another interrupt, or of another kind on the same one,
// still counts.

import type { Machine } from "../machine.ts";
import type { TraceEventMap, TraceRecord } from "../sim/trace.ts";
import { K } from "../kernel/kernel.ts";
import { cpu_online, cpumask_pr_list, cpumask_test_cpu } from "../kernel/cpumask.ts";
import { irq_to_desc } from "../irq/irqdesc.ts";
import type { irq_data } from "../irq/irq.ts";
import { irq_chip_orig } from "../irq/trace.ts";
import { apic_chip_data, lapic_controller, MANAGED_IRQ_SHUTDOWN_VECTOR } from "../../irqchip/x86/vector.ts";
import type { FindingSubject } from "./check.ts";

declare module "../sim/trace.ts" {
  interface TraceEventMap {
    /**
     * The cause of a known Linux race happened (irqlab tooling event):
     * "cause" when it is created, "stranded" when it starts to do harm,
     * "end" when the interrupt no longer holds what the race left behind.
     */
    "explore.race": { what: "cause" | "stranded" | "end"; race: string; irq: number; vector_cpu: number; vector: number; detail?: string };
  }
}

/** One occurrence of a known race in a run. */
export interface RaceHit {
  race: string;
  irq: number;
  /** The CPU and vector the race left the interrupt on. */
  cpu: number;
  vector: number;
  /** Trace record and virtual time of the cause. */
  seq: number;
  t: number;
  message: string;
  /** From this record on the race does harm (null: it never did, the hit stayed latent). */
  strandedSeq: number | null;
  /** The record from which the hit is over (null: it lasted to the end of the run), and why. */
  endSeq: number | null;
  endWhy: string | null;
}

/** What a known race needs of a violation to claim it. */
export interface RaceClaimable {
  checker: string;
  seq: number;
  about?: FindingSubject;
}

export interface KnownRace {
  /** "linux-race:<what>" */
  name: string;
  description: string;
  /** Where the race is written up (file and section). */
  doc: string;
  /** Checkers whose findings the race can cause. */
  consequences: readonly string[];
  /** A watcher for one run: fed every trace record as it is recorded, collects hits; emit() records an "explore.race" event. */
  watch(m: Machine, emit: (e: TraceEventMap["explore.race"]) => void): RaceWatcher;
  /** Is `v` a consequence of `h`? (consequences and window are checked by attribute()) */
  explains(h: RaceHit, v: RaceClaimable): boolean;
}

type TraceRecordOf<K extends TraceRecord["kind"]> = Extract<TraceRecord, { kind: K }>;

export interface RaceWatcher {
  onRecord(r: TraceRecord): void;
  readonly hits: readonly RaceHit[];
}

const registry = new Map<string, KnownRace>();

export function registerKnownRace(r: KnownRace): void {
  if (registry.has(r.name)) throw new Error(`irqlab explore: known race "${r.name}" registered twice`);
  registry.set(r.name, r);
}

export function knownRaces(): KnownRace[] {
  return [...registry.values()];
}

export function knownRace(name: string): KnownRace {
  const r = registry.get(name);
  if (!r) throw new Error(`irqlab explore: unknown known race "${name}"; known: ${[...registry.keys()].join(", ")}`);
  return r;
}

/**
 * The hit of a registered race that explains `v`, if any: `v`'s checker is
 * one of the race's consequences, `v` happened while the hit did harm
 * (from its stranded record to its end), and the race's explains() accepts
 * its subject.
 */
export function attribute(hits: readonly RaceHit[], v: RaceClaimable): RaceHit | null {
  for (const h of hits) {
    const race = registry.get(h.race);
    if (!race || !race.consequences.includes(v.checker)) continue;
    if (h.strandedSeq === null || v.seq < h.strandedSeq) continue;
    if (h.endSeq !== null && v.seq > h.endSeq) continue;
    if (race.explains(h, v)) return h;
  }
  return null;
}

// ------------------------------------------------------------ linux-race:stale-effective-affinity

export const STALE_EFFECTIVE_AFFINITY = "linux-race:stale-effective-affinity";

const hex = (v: number): string => `0x${(v >>> 0).toString(16)}`;

/** The vector-domain level of irq `irq` whose domain is named `domain`, if that level is the lapic_controller's. */
function vectorLevel(irq: number, domain: string): irq_data | null {
  const desc = irq_to_desc(irq);
  for (let d: irq_data | null = desc?.irq_data ?? null; d; d = d.parent_data) {
    if (d.domain?.name === domain) return irq_chip_orig(d.chip) === lapic_controller ? d : null;
  }
  return null;
}

/** The vector level of irq `irq`, whatever its domain's name. */
function rootLevel(irq: number): irq_data | null {
  const desc = irq_to_desc(irq);
  let d: irq_data | null = desc?.irq_data ?? null;
  while (d?.parent_data) d = d.parent_data;
  return d && irq_chip_orig(d.chip) === lapic_controller ? d : null;
}

/** A regular (not managed, not reservable) interrupt's vector as x86_vector_activate() finds it. */
interface Entry {
  vector: number;
  cpu: number;
  why: string;
}

/**
 * kernel/irq/manage.c irq_set_affinity_deactivated() copies the mask into
 * the effective affinity of a deactivated interrupt while the vector domain
 * keeps a regular interrupt's vector where it is (x86_vector_deactivate():
 * "Regular fixed assigned interrupt"). When the next activation cannot move
 * the vector into the mask (assign_vector_locked() is -EBUSY: the previous
 * move is in progress or its cleanup is queued), assign_irq_vector_any_locked()
 * falls back to the online mask, returns 0 without moving, and the activated
 * interrupt's effective affinity no longer names the CPU its vector is on.
 * kernel/irq/cpuhotplug.c irq_needs_fixup() reads that mask when the CPU
 * goes offline, skips the interrupt, and the vector stays on the dead CPU.
 *
 * Detected at the exit of the vector domain's activate op: the vector and
 * CPU are the ones it had on entry and the effective affinity does not
 * contain that CPU. That is the first moment the state exists (earlier, at
 * the deactivated irq_set_affinity(), most activations do move the vector
 * and set the effective affinity right, so marking there would claim
 * violations of interrupts the race left intact), and the precise one (the
 * activation had no other way to leave the mask stale: apic_update_irq_cfg()
 * sets it to the vector's CPU whenever a vector is assigned).
 *
 * The hit does harm from the moment that CPU is offline while the interrupt
 * still holds the vector there and the effective affinity still excludes it
 * (the migration skipped it); before that the interrupt works, and a later
 * deactivated irq_set_affinity() to a mask with the CPU repairs it. It ends
 * when the interrupt releases the vector (moved, cleared, freed).
 */
registerKnownRace({
  name: STALE_EFFECTIVE_AFFINITY,
  description:
    "irq_set_affinity() on a deactivated regular interrupt sets the effective affinity while the vector domain keeps its vector on another CPU (its last move still in progress); the activation keeps the vector there, CPU offline trusts the effective affinity, and the vector stays on the dead CPU (Linux 6.12 does the same: docs/oracle/vecrace.txt)",
  doc: 'docs/exploration.md, "Finding: an interrupt left on an offline CPU (stale effective affinity), as Linux 6.12 does it"',
  // what a vector left on an offline CPU breaks: the level's resources, the
  // IRTE's target, the matrix bit without a vector_irq entry once the CPU is
  // back, the message that arrives there, and the interrupt it was
  consequences: ["hierarchy-activated", "irte-live-vector", "vector-matrix-balanced", "no-stray-vector", "no-lost-interrupt"],
  watch(_m, emit) {
    const hits: RaceHit[] = [];
    const open: RaceHit[] = [];
    const entering = new Map<number, Entry>();
    const close = (h: RaceHit, seq: number, detail: string): void => {
      h.endSeq = seq;
      h.endWhy = detail;
      open.splice(open.indexOf(h), 1);
      emit({ what: "end", race: h.race, irq: h.irq, vector_cpu: h.cpu, vector: h.vector, detail });
    };
    const onActivate = (r: TraceRecordOf<"irq.domain">): void => {
      if (!K.hasState("x86_vector")) return;
      const d = vectorLevel(r.irq, r.domain);
      const apicd = apic_chip_data(d);
      if (!d || !apicd) return;
      if (r.phase === "enter") {
        entering.delete(r.irq);
        // x86_vector_activate() keeps the vector only of a regular interrupt
        if (apicd.is_managed || apicd.can_reserve || apicd.vector === 0 || apicd.vector === MANAGED_IRQ_SHUTDOWN_VECTOR) return;
        const why = apicd.move_in_progress ? "its last move is in progress" : apicd.clist ? "its old vector awaits cleanup" : "";
        entering.set(r.irq, { vector: apicd.vector, cpu: apicd.cpu, why });
        return;
      }
      const e = entering.get(r.irq);
      entering.delete(r.irq);
      if (!e || apicd.vector !== e.vector || apicd.cpu !== e.cpu) return;
      const eff = d.common.effective_affinity;
      if (cpumask_test_cpu(apicd.cpu, eff)) return;
      if (open.some((h) => h.irq === r.irq)) return;
      const h: RaceHit = {
        race: STALE_EFFECTIVE_AFFINITY,
        irq: r.irq,
        cpu: apicd.cpu,
        vector: apicd.vector,
        seq: r.seq,
        t: r.t,
        message: `irq ${r.irq}: the activation kept vector ${hex(apicd.vector)} on CPU${apicd.cpu}${e.why ? ` (${e.why})` : ""}, the effective affinity is ${cpumask_pr_list(eff)} (irq_set_affinity() set it while the interrupt was deactivated): CPU${apicd.cpu} going offline will not migrate it`,
        strandedSeq: null,
        endSeq: null,
        endWhy: null,
      };
      hits.push(h);
      open.push(h);
      emit({ what: "cause", race: h.race, irq: h.irq, vector_cpu: h.cpu, vector: h.vector, detail: `effective=${cpumask_pr_list(eff)}` });
    };
    const follow = (r: TraceRecord): void => {
      for (const h of [...open]) {
        const d = rootLevel(h.irq);
        const apicd = apic_chip_data(d);
        // once stranded, a move off the dead vector keeps it as prev_vector
        // until the cleanup frees it; before, a move ends the hit (the
        // effective affinity is right again)
        const current = !!apicd && apicd.vector === h.vector && apicd.cpu === h.cpu;
        const prev = !!apicd && apicd.prev_vector === h.vector && apicd.prev_cpu === h.cpu;
        const holds = current || (h.strandedSeq !== null && prev);
        if (!d || !holds) {
          close(h, r.seq, "vector released");
          continue;
        }
        const stale = !cpumask_test_cpu(h.cpu, d.common.effective_affinity);
        if (h.strandedSeq !== null) continue;
        if (!stale) close(h, r.seq, "effective affinity repaired");
        else if (!cpu_online(h.cpu)) {
          h.strandedSeq = r.seq;
          emit({ what: "stranded", race: h.race, irq: h.irq, vector_cpu: h.cpu, vector: h.vector, detail: `CPU${h.cpu} offline` });
        }
      }
    };
    return {
      hits,
      onRecord(r) {
        if (r.kind === "explore.race") return;
        if (open.length) follow(r);
        if (r.kind === "irq.domain" && r.op === "activate") onActivate(r);
      },
    };
  },
  explains(h, v) {
    const a = v.about;
    if (!a) return false;
    // an interrupt's own finding names it; a vector's names the CPU and vector
    if (a.irq !== undefined && a.irq !== h.irq) return false;
    if (a.cpu !== undefined && a.cpu !== h.cpu) return false;
    if (a.vector !== undefined && a.vector !== h.vector) return false;
    return a.irq !== undefined || (a.cpu !== undefined && a.vector !== undefined);
  },
});
