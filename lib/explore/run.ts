// SPDX-License-Identifier: GPL-2.0-only
// One exploration run: boot a scenario's machine with a seed and a
// scheduling strategy, apply a fault plan, run the step checkers at every
// scheduling point, the history and end checkers afterwards, and report
// every violation with the trace around it and the line that replays it.
//
// A run is a pure function of (scenario, seed, strategy spec, fault plan):
// the machine seed drives device timing, the scenario's choices come from
// a generator seeded from the same seed, the strategy's describe() is
// recorded at the end, and the plan is data. Replaying those four gives the
// same violations and the same trace (same digest).

import { createMachine, Machine, type MachineOptions } from "../machine.ts";
import { Rng } from "../sim/rng.ts";
import { RecordingStrategy, strategyFromSpec, type Strategy } from "../sim/strategy.ts";
import type { TraceEventMap, TraceRecord } from "../sim/trace.ts";
import { checkers as allCheckers, takeSnapshot, type CheckEnv, type Checker, type Finding, type FindingSubject, type Line, type Snapshot } from "./check.ts";
import { FaultEngine, faultKind, generatePlan, type FaultPlan } from "./faults.ts";
import { excerpt, lowerBound, traceDigest } from "./trace.ts";
import { attribute, knownRace, knownRaces, type RaceHit, type RaceWatcher } from "./known_races.ts";
import { irq_to_desc } from "../irq/irqdesc.ts";
import "./checkers.ts";
import "./checkers_history.ts";
import "./ims.ts";

/** What a scenario body gets. */
export interface ScenarioCtx {
  readonly m: Machine;
  readonly seed: number;
  /** The scenario's own choices (operation mix, timing); seeded from the run seed. */
  readonly rng: Rng;
  /** Watch these lines for lost interrupts from now on (reads their state now). */
  watch(lines: readonly Omit<Line, "since" | "depth" | "hasAction">[]): void;
  /** A splat title this scenario provokes on purpose. */
  expectSplat(re: RegExp): void;
  /** Start the fault plan (once the devices are up). */
  armFaults(): void;
  /** Stop it and restore every knob (before teardown). */
  disarmFaults(): Promise<void>;
  /** A scenario-level failure (an API returned what it must not): checker "scenario". */
  fail(message: string): void;
}

export interface ExploreScenario {
  name: string;
  description: string;
  /** Machine options except seed, strategy and trace. */
  machine(): MachineOptions;
  /** PCI addresses fault plans may target. */
  devices: readonly string[];
  /** Virtual time of the scenario's activity after it arms faults (ns), for plan generators. */
  horizonNs: number;
  /** Bound for no-lost-interrupt (default 5 ms). */
  boundNs?: number;
  /** Virtual-time bound of the whole scenario body; past it the run is a "machine" violation (default 100 ms). */
  limitNs?: number;
  run(ctx: ScenarioCtx): Promise<void>;
}

export interface Violation {
  checker: string;
  message: string;
  t: number;
  seq: number;
  /** The interrupt or vector it is about, when the checker says (known races attribute by it). */
  about?: FindingSubject;
  excerpt: string[];
}

/** A known Linux race the run went through, and the violations it explains (they do not count). */
export interface KnownRaceReport {
  /** "linux-race:..." */
  race: string;
  /** Where it is written up. */
  doc: string;
  hits: (RaceHit & { excerpt: string[] })[];
  /** Violations that follow from a hit; not in RunResult.violations. */
  attributed: (Violation & { hitSeq: number })[];
}

export interface RunOptions {
  /** Only these checkers (default: all registered). */
  checkers?: readonly string[];
  /** Run the step checkers at every scheduling point (default true). */
  stepChecks?: boolean;
  /** Keep the machine and its trace in the result (default false). */
  keep?: boolean;
  /** Compute the trace digest of a run without violations too (default true; failing runs always get one). */
  digest?: boolean;
  /** Extra machine options (merged over the scenario's). */
  machine?: Partial<MachineOptions>;
  /**
   * Watch for the known Linux races (known_races.ts) and report the
   * violations they explain apart (default true); false counts everything.
   */
  knownRaces?: boolean;
}

export interface RunResult {
  scenario: string;
  seed: number;
  /** describe() of the strategy after the run: replays it. */
  strategy: string;
  /** The same schedule as forced choices. */
  choices: string;
  plan: FaultPlan;
  /** The fault kind the plan was generated from, if any. */
  faultKind: string | null;
  /** The kind does not apply to this machine (e.g. no remapping unit): nothing was injected. */
  notApplicable: boolean;
  /** Violations: what the checkers found, less what a known Linux race explains. */
  violations: Violation[];
  /** The known Linux races the run went through (each with its hits and the violations it explains). */
  knownRaces: KnownRaceReport[];
  /** No violation (known races do not count). */
  ok: boolean;
  digest: string;
  records: number;
  virtualNs: number;
  /** Scheduling decisions (points with more than one runnable task). */
  decisions: number;
  /** Decisions taken before the scenario body started (boot). */
  bootDecisions: number;
  faultsFired: number;
  /** Virtual time between arming and disarming the fault plan. */
  faultWindowNs: number;
  /** The lines the scenario watched. */
  lines: Line[];
  replay: string;
  machine?: Machine;
  trace?: readonly TraceRecord[];
}

const scenarioRegistry = new Map<string, ExploreScenario>();

export function registerScenario(s: ExploreScenario): void {
  if (scenarioRegistry.has(s.name)) throw new Error(`irqlab explore: scenario "${s.name}" registered twice`);
  scenarioRegistry.set(s.name, s);
}

export function scenario(name: string): ExploreScenario {
  const s = scenarioRegistry.get(name);
  if (!s) throw new Error(`irqlab explore: unknown scenario "${name}"; known: ${[...scenarioRegistry.keys()].join(", ")}`);
  return s;
}

export function scenarios(): ExploreScenario[] {
  return [...scenarioRegistry.values()];
}

const SCENARIO_RNG_TAG = 0x5ce7a210;
const KEEP_ALL = (): boolean => true;

/** The command line that replays a run: `irqlab explore <scenario> --seed N` (lib/review/cli.ts). */
export function replayCommand(r: Pick<RunResult, "scenario" | "seed" | "strategy" | "plan" | "faultKind">): string {
  const faults = r.faultKind ?? (r.plan.faults.length ? `'${JSON.stringify(r.plan)}'` : null);
  return `irqlab explore ${r.scenario} --seed ${r.seed} --strategy ${r.strategy}${faults ? ` --faults ${faults}` : ""}`;
}

/**
 * Run `scenario` once. `strategy` is a spec ("random", "pct:7:3:200",
 * "choices:0*9.1") or a Strategy object; "random" and "pct" without their own
 * seed use `seed`. `faults` is a plan, a fault kind name (a plan is generated
 * from the seed), or null.
 */
export async function runSeed(
  sc: ExploreScenario | string,
  seed: number,
  strategy: string | Strategy = "random",
  faults: FaultPlan | string | null = null,
  opts: RunOptions = {},
): Promise<RunResult> {
  const s = typeof sc === "string" ? scenario(sc) : sc;
  const selected = opts.checkers ? opts.checkers.map((n) => allCheckers().find((c) => c.name === n) ?? failUnknown(n)) : allCheckers();
  const rec = new RecordingStrategy(strategyFromSpec(strategy, seed));
  // The boot is the same for every run of a scenario and costs most when
  // traced: record from the end of the boot on.
  const m = await createMachine({ ...s.machine(), ...(opts.machine ?? {}), seed, strategy: rec, trace: false });
  m.recorder.start();
  // Splats are violations of "no-splat", reported with the rest, not thrown.
  m.expectSplat(/^/, Infinity);
  const bootDecisions = rec.log.length;
  const baseline: Snapshot = m.enter(() => takeSnapshot(m));

  let plan: FaultPlan = { faults: [] };
  let notApplicable = false;
  const kindName = typeof faults === "string" ? faults : null;
  if (kindName) {
    const kind = faultKind(kindName);
    if (kind.applicable && !kind.applicable(m, s.devices)) notApplicable = true;
    else plan = generatePlan(kindName, seed, s.horizonNs, s.devices, m);
  } else if (faults && typeof faults !== "string") plan = faults;
  const engine = new FaultEngine(m, plan, seed, s.devices, s.horizonNs);

  const found = new Map<string, Violation>();
  const records = m.recorder.records;
  const lastSeq = (): number => (records.length ? records[records.length - 1]!.seq : 0);
  const add = (c: Checker, f: Finding, seq: number, t: number): void => {
    const key = `${c.name}\u0000${f.key}`;
    if (found.has(key)) return;
    let at = f.seq ?? seq;
    let when = t;
    if (f.seq === undefined && f.t !== undefined) {
      const j = firstAtOrAfter(records, f.t);
      at = j < records.length ? records[j]!.seq : lastSeq();
      when = f.t;
    } else if (f.seq !== undefined) {
      const r = records[lowerBound(records, f.seq)];
      when = r?.t ?? t;
    }
    const ex = records.length ? excerpt(records, at, f.keep ?? KEEP_ALL) : [];
    found.set(key, { checker: c.name, message: f.message, t: when, seq: at, ...(f.about ? { about: f.about } : {}), excerpt: [...(f.detail ?? []), ...ex] });
  };

  // The known races watch the trace from here on, after the recorder (an
  // event they emit lands behind the record that caused it).
  const watchers: RaceWatcher[] = [];
  let unwatch: (() => void) | null = null;
  if (opts.knownRaces !== false) {
    const emit = (e: TraceEventMap["explore.race"]): void => m.sim.trace.emit("explore.race", e);
    for (const race of knownRaces()) watchers.push(race.watch(m, emit));
    if (watchers.length) {
      unwatch = m.sim.trace.subscribe((r) => {
        for (const w of watchers) w.onRecord(r);
      });
    }
  }

  const lines: Line[] = [];
  const expectedSplats: RegExp[] = [];
  const env = (): CheckEnv => ({ m, records, lines, boundNs: s.boundNs ?? 5_000_000, baseline, expectedSplats });
  const scenarioChecker: Checker = { name: "scenario", description: "the scenario's own expectations", when: "history", check: () => [] };
  const machineChecker: Checker = { name: "machine", description: "the run completed (no lockup, no simulator error, no exception)", when: "history", check: () => [] };

  const stepCheckers = opts.stepChecks === false ? [] : selected.filter((c) => c.when === "step");
  let dirty = true;
  const runStep = (): void => {
    const e = env();
    for (const c of stepCheckers) {
      let fs: Finding[];
      try {
        fs = c.check(e);
      } catch (err) {
        fs = [{ key: "crash", message: `checker threw: ${String(err)}` }];
      }
      for (const f of fs) add(c, f, lastSeq(), m.now);
    }
  };
  const unsub = stepCheckers.length
    ? m.sim.trace.subscribe((r) => {
        if (r.kind !== "sched") dirty = true;
        else if (r.what === "run" && dirty) {
          dirty = false;
          runStep();
        }
      })
    : null;

  const ctx: ScenarioCtx = {
    m,
    seed,
    rng: new Rng((seed ^ SCENARIO_RNG_TAG) >>> 0),
    watch(ls) {
      const since = lastSeq() + 1;
      for (const l of ls) {
        const desc = m.enter(() => irq_to_desc(l.irq));
        lines.push({ ...l, since, depth: desc?.depth ?? 1, hasAction: (desc?.action ?? null) !== null });
      }
    },
    expectSplat(re) {
      expectedSplats.push(re);
    },
    armFaults() {
      engine.arm();
    },
    async disarmFaults() {
      await engine.disarm();
    },
    fail(message) {
      add(scenarioChecker, { key: message, message }, lastSeq(), m.now);
    },
  };

  let completed = false;
  try {
    await m.run(() => s.run(ctx), { comm: "explore", limitNs: s.limitNs ?? 100_000_000 });
    completed = true;
  } catch (err) {
    const msg = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    add(machineChecker, { key: "error", message: msg.split("\n").slice(0, 12).join("\n") }, lastSeq(), m.now);
  } finally {
    unsub?.();
    unwatch?.();
  }
  // A final step check at the quiescent end of the run.
  if (stepCheckers.length && completed) m.enter(runStep);
  const e = env();
  for (const c of selected.filter((c) => c.when === "history")) for (const f of m.enter(() => c.check(e))) add(c, f, lastSeq(), m.now);
  if (completed) for (const c of selected.filter((c) => c.when === "end")) for (const f of c.check(e)) add(c, f, lastSeq(), m.now);

  const all = [...found.values()].sort((a, b) => a.seq - b.seq || a.checker.localeCompare(b.checker));
  const { violations, reports } = attributeViolations(all, watchers.flatMap((w) => w.hits), records);
  const result: RunResult = {
    scenario: s.name,
    seed,
    strategy: rec.describe(),
    choices: rec.toChoices(),
    plan,
    faultKind: kindName,
    notApplicable,
    violations,
    knownRaces: reports,
    ok: violations.length === 0,
    digest: violations.length || opts.digest !== false ? traceDigest(records) : "",
    records: records.length,
    virtualNs: m.now,
    decisions: rec.log.length,
    bootDecisions,
    faultsFired: engine.fired.length,
    faultWindowNs: engine.windowNs,
    lines,
    replay: "",
  };
  result.replay = replayCommand(result);
  if (opts.keep) {
    result.machine = m;
    result.trace = records;
  } else {
    m.recorder.stop();
    m.recorder.clear();
    // Every splat of the run was expected (and reported above): the test
    // harness need not hold on to the machine until the test ends.
    const i = Machine.created.indexOf(m);
    if (i >= 0) Machine.created.splice(i, 1);
  }
  return result;
}

/**
 * Split `all` into the violations that count and, per known race, the ones
 * a hit explains (known_races.ts attribute()); every race with a hit gets a
 * report, also when the hit stayed latent and explains nothing.
 */
export function attributeViolations(
  all: readonly Violation[],
  hits: readonly RaceHit[],
  records: readonly TraceRecord[] = [],
): { violations: Violation[]; reports: KnownRaceReport[] } {
  const violations: Violation[] = [];
  const reports = new Map<string, KnownRaceReport>();
  const report = (race: string): KnownRaceReport => {
    let r = reports.get(race);
    if (!r) {
      r = { race, doc: knownRace(race).doc, hits: [], attributed: [] };
      reports.set(race, r);
    }
    return r;
  };
  for (const h of hits) {
    const ex = records.length ? excerpt(records, h.seq, (r) => r.kind !== "sched" && r.kind !== "sim.frame", 8, 3) : [];
    report(h.race).hits.push({ ...h, excerpt: ex });
  }
  for (const v of all) {
    const h = attribute(hits, v);
    if (h) report(h.race).attributed.push({ ...v, hitSeq: h.seq });
    else violations.push(v);
  }
  return { violations, reports: [...reports.values()] };
}

function failUnknown(n: string): never {
  throw new Error(`irqlab explore: unknown checker "${n}"`);
}

function firstAtOrAfter(records: readonly TraceRecord[], t: number): number {
  let lo = 0;
  let hi = records.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (records[mid]!.t < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** A report of one run, as the CLI prints it. */
export function formatResult(r: RunResult): string {
  const races = r.knownRaces.length ? `, known Linux race ${r.knownRaces.map((k) => k.race).join(", ")}` : "";
  const head = `${r.scenario} seed ${r.seed} strategy ${r.strategy}${r.faultKind ? ` faults ${r.faultKind}` : ""}: ${r.ok ? "ok" : `${r.violations.length} violation(s)`}${races} (${r.records} trace records, digest ${r.digest}, ${(r.virtualNs / 1e6).toFixed(3)} ms virtual, ${r.decisions} decisions, ${r.faultsFired} faults fired)`;
  const out = [head];
  if (r.plan.faults.length) out.push(`  plan: ${JSON.stringify(r.plan)}`);
  for (const v of r.violations) {
    out.push(`  [${v.checker}] at ${(v.t / 1e9).toFixed(9)}: ${v.message}`);
    for (const l of v.excerpt) out.push(`      ${l}`);
  }
  for (const k of r.knownRaces) {
    out.push(`  known Linux race ${k.race} (not counted as violations; see ${k.doc}):`);
    for (const h of k.hits) {
      const until = h.endSeq === null ? "to the end of the run" : `to #${h.endSeq} (${h.endWhy ?? "over"})`;
      const fate = h.strandedSeq === null ? `latent (its CPU stayed online) ${until}` : `stranded from #${h.strandedSeq} ${until}`;
      out.push(`    cause at ${(h.t / 1e9).toFixed(9)} (#${h.seq}): ${h.message}; ${fate}`);
      for (const l of h.excerpt) out.push(`        ${l}`);
    }
    for (const v of k.attributed) out.push(`    explains [${v.checker}] at ${(v.t / 1e9).toFixed(9)}: ${v.message}`);
  }
  if (!r.ok || r.knownRaces.length) out.push(`  replay: ${r.replay}`);
  return out.join("\n");
}
