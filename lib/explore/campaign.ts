// SPDX-License-Identifier: GPL-2.0-only
// Campaigns: a scenario under one fault kind for a range of seeds, each
// seed with its own strategy; the summary names every failing seed with the
// line that replays it, and counts the runs that went through a known Linux
// race (known_races.ts) apart from the violations.

import type { ExploreScenario, RunOptions, RunResult } from "./run.ts";
import { runSeed } from "./run.ts";

export interface CampaignOptions {
  /** First seed (default 1). */
  from?: number;
  /** Number of seeds. */
  seeds: number;
  /** Strategy spec per seed (default: "random", "pct" and "fifo" in turn). */
  strategy?: (seed: number) => string;
  run?: RunOptions;
  /** Called after each run (progress, early stop by throwing). */
  onRun?: (r: RunResult) => void;
}

export interface CampaignSummary {
  scenario: string;
  faults: string;
  runs: number;
  /** Runs whose fault kind did not apply to the machine (the campaign stops at the first). */
  notApplicable: number;
  failing: RunResult[];
  violations: number;
  /** Violations by checker name. */
  byChecker: Record<string, number>;
  /** Runs that went through a known Linux race (their attributed violations do not count above). */
  knownRaceRuns: number;
  /** Per known race: runs, hits, hits that did harm (stranded), violations it explained, the first run's replay line. */
  knownRaces: Record<string, KnownRaceTally>;
  faultsFired: number;
  traceRecords: number;
  virtualNs: number;
}

export interface KnownRaceTally {
  runs: number;
  hits: number;
  stranded: number;
  attributed: number;
  firstReplay: string;
}

export function defaultStrategy(seed: number): string {
  switch (seed % 3) {
    case 0:
      return "fifo";
    case 1:
      return `random:${seed}`;
    default:
      return `pct:${seed}:3:48`;
  }
}

export async function runCampaign(sc: ExploreScenario | string, faults: string | null, opts: CampaignOptions): Promise<CampaignSummary> {
  const from = opts.from ?? 1;
  const strategy = opts.strategy ?? defaultStrategy;
  const sum: CampaignSummary = {
    scenario: typeof sc === "string" ? sc : sc.name,
    faults: faults ?? "none",
    runs: 0,
    notApplicable: 0,
    failing: [],
    violations: 0,
    byChecker: {},
    knownRaceRuns: 0,
    knownRaces: {},
    faultsFired: 0,
    traceRecords: 0,
    virtualNs: 0,
  };
  for (let seed = from; seed < from + opts.seeds; seed++) {
    const r = await runSeed(sc, seed, strategy(seed), faults, { digest: false, ...(opts.run ?? {}) });
    sum.runs++;
    if (r.notApplicable) {
      // applicability depends on the scenario's machine, not on the seed
      sum.notApplicable++;
      break;
    }
    sum.faultsFired += r.faultsFired;
    sum.traceRecords += r.records;
    sum.virtualNs += r.virtualNs;
    if (r.knownRaces.length) sum.knownRaceRuns++;
    for (const k of r.knownRaces) {
      const t = (sum.knownRaces[k.race] ??= { runs: 0, hits: 0, stranded: 0, attributed: 0, firstReplay: r.replay });
      t.runs++;
      t.hits += k.hits.length;
      t.stranded += k.hits.filter((h) => h.strandedSeq !== null).length;
      t.attributed += k.attributed.length;
    }
    if (!r.ok) {
      sum.failing.push(r);
      sum.violations += r.violations.length;
      for (const v of r.violations) sum.byChecker[v.checker] = (sum.byChecker[v.checker] ?? 0) + 1;
    }
    opts.onRun?.(r);
  }
  return sum;
}
