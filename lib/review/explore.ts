// SPDX-License-Identifier: GPL-2.0-only
// `irqlab explore`: run a scenario under many seeded schedules and check
// every run. Strategies (how a seed becomes a schedule) and checkers (what
// must hold after a run) are small registries, so new ones plug in with one
// call each:
//
//   registerExploreStrategy({ name: "pct:3", description, machine: (seed) => ({ seed, strategy: new Pct(seed, 3) }) });
//   registerExploreChecker({ name: "no-lost-msi", description, check: (run) => problems });
//
// A run fails when it throws (an unexpected splat, a machine that cannot
// settle, a scenario error) or when any selected checker reports a problem.

import type { MachineOptions } from "../machine.ts";
import type { Scenario, ScenarioRun } from "./scenarios.ts";

export interface ExploreStrategy {
  name: string;
  description: string;
  /** The machine options of one seed. */
  machine(seed: number): Pick<MachineOptions, "seed" | "strategy">;
}

export interface ExploreChecker {
  name: string;
  description: string;
  /** Problems found in a finished run (empty: fine). */
  check(run: ScenarioRun, scenario: Scenario): string[] | Promise<string[]>;
}

const strategies = new Map<string, ExploreStrategy>();
const checkers = new Map<string, ExploreChecker>();

export function registerExploreStrategy(s: ExploreStrategy): void {
  strategies.set(s.name, s);
}

export function registerExploreChecker(c: ExploreChecker): void {
  checkers.set(c.name, c);
}

export function exploreStrategies(): ExploreStrategy[] {
  return [...strategies.values()];
}

export function exploreCheckers(): ExploreChecker[] {
  return [...checkers.values()];
}

export function findExploreStrategy(name: string): ExploreStrategy | null {
  return strategies.get(name) ?? null;
}

export function findExploreChecker(name: string): ExploreChecker | null {
  return checkers.get(name) ?? null;
}

registerExploreStrategy({
  name: "random",
  description: "the simulator's seeded random scheduler (lib/sim/strategy.ts): every scheduling point picks a runnable task at random",
  machine: (seed) => ({ seed, strategy: "random" }),
});
registerExploreStrategy({
  name: "fifo",
  description: "the deterministic FIFO scheduler; the seed only changes the hardware's seeded choices (traffic jitter)",
  machine: (seed) => ({ seed, strategy: "fifo" }),
});

registerExploreChecker({
  name: "scenario",
  description: "the scenario's own invariants (Scenario.check)",
  check: (run, sc) => sc.check?.(run) ?? [],
});
registerExploreChecker({
  name: "no-stray-vector",
  description: "no interrupt arrived at a vector without an irq (\"No irq handler for vector\") and no spurious APIC interrupt",
  check: (run) =>
    run.m
      .dmesg()
      .split("\n")
      .filter((l) => /No irq handler for|spurious APIC interrupt/.test(l))
      .map((l) => l.replace(/^\[[ \d.]+\] /, "")),
});

export interface ExploreFailure {
  seed: number;
  problems: string[];
}

export interface ExploreOptions {
  seeds: number;
  /** First seed (default 1). */
  first?: number;
  /** Strategy name (default "random"). */
  strategy?: string;
  /** Checker names (default: all registered). */
  checkers?: string[];
  /** Machine options besides seed and strategy (cpus, ...). */
  machine?: MachineOptions;
  /** Called after every seed. */
  onProgress?(done: number, total: number, failures: number): void;
  /** Stop at the first failing seed (default false). */
  stopOnFailure?: boolean;
}

export interface ExploreResult {
  runs: number;
  failures: ExploreFailure[];
}

/** Run `scenario` for seeds first..first+seeds-1 and check each run. */
export async function explore(scenario: Scenario, o: ExploreOptions): Promise<ExploreResult> {
  const strat = findExploreStrategy(o.strategy ?? "random");
  if (!strat) throw new Error(`unknown strategy "${o.strategy ?? ""}"`);
  const chosen = (o.checkers ?? [...checkers.keys()]).map((n) => {
    const c = findExploreChecker(n);
    if (!c) throw new Error(`unknown checker "${n}"`);
    return c;
  });
  const first = o.first ?? 1;
  const failures: ExploreFailure[] = [];
  let runs = 0;
  for (let seed = first; seed < first + o.seeds; seed++) {
    const problems: string[] = [];
    try {
      const run = await scenario.run({ ...(o.machine ?? {}), ...strat.machine(seed) });
      for (const c of chosen) for (const p of await c.check(run, scenario)) problems.push(`${c.name}: ${p}`);
    } catch (e) {
      problems.push(`run failed: ${e instanceof Error ? e.message.split("\n")[0]! : String(e)}`);
    }
    runs++;
    if (problems.length) failures.push({ seed, problems });
    o.onProgress?.(runs, o.seeds, failures.length);
    if (problems.length && o.stopOnFailure) break;
  }
  return { runs, failures };
}
