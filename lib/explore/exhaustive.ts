// SPDX-License-Identifier: GPL-2.0-only
// Bounded exhaustive search over schedules, for tiny scenarios: stateless
// depth-first enumeration of scheduling choices (as in CHESS). Each run uses
// a ChoiceStrategy with a forced prefix and logs every decision (how many
// tasks could run, which one did); the next prefix flips the deepest
// decision, within the bound, that still has an untried alternative. Device
// timing is fixed by the seed, so the enumeration covers every task order
// the scenario allows at that timing.

import { ChoiceStrategy, type Decision } from "../sim/strategy.ts";
import type { FaultPlan } from "./faults.ts";
import { runSeed, type ExploreScenario, type RunOptions, type RunResult } from "./run.ts";

export interface ExhaustiveOptions {
  /** Branch only at the first `maxDecisions` decisions of the scenario body (default 12). */
  maxDecisions?: number;
  /** Stop after this many runs (default 2000). */
  maxRuns?: number;
  /** Stop at the first failing run (default false). */
  stopAtFirst?: boolean;
  faults?: FaultPlan | string | null;
  run?: RunOptions;
}

export interface ExhaustiveResult {
  runs: number;
  /** Every schedule within the bound was run. */
  complete: boolean;
  /** Longest decision count seen in a run. */
  maxSeen: number;
  failures: RunResult[];
  /** describe() of every run, in order. */
  schedules: string[];
}

/** The next forced prefix after a run that made `log`, or null when the tree is exhausted. */
export function nextPrefix(log: readonly Decision[], from: number, bound: number): number[] | null {
  const last = Math.min(log.length, from + bound) - 1;
  for (let i = last; i >= from; i--) {
    const d = log[i]!;
    if (d.c + 1 < d.n) return [...log.slice(0, i).map((x) => x.c), d.c + 1];
  }
  return null;
}

export async function exploreExhaustive(sc: ExploreScenario | string, seed: number, opts: ExhaustiveOptions = {}): Promise<ExhaustiveResult> {
  const bound = opts.maxDecisions ?? 12;
  const maxRuns = opts.maxRuns ?? 2000;
  const res: ExhaustiveResult = { runs: 0, complete: false, maxSeen: 0, failures: [], schedules: [] };
  let prefix: number[] | null = [];
  while (prefix) {
    if (res.runs >= maxRuns) return res;
    const strat = new ChoiceStrategy(prefix);
    const r = await runSeed(sc, seed, strat, opts.faults ?? null, opts.run ?? {});
    res.runs++;
    res.schedules.push(r.strategy);
    res.maxSeen = Math.max(res.maxSeen, strat.log.length - r.bootDecisions);
    if (!r.ok) {
      res.failures.push(r);
      if (opts.stopAtFirst) return res;
    }
    prefix = nextPrefix(strat.log, r.bootDecisions, bound);
  }
  res.complete = true;
  return res;
}
