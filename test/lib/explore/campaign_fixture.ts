// SPDX-License-Identifier: GPL-2.0-only
// What the campaign tests share (campaign.test.ts: the shipped chips;
// campaign_mlx5.test.ts: the mlx5 IMS chip; two files so that mocha's
// parallel mode runs them side by side).

import { formatResult, type CampaignSummary } from "../../../lib/explore/index.ts";

export const FIXED = process.env["IRQLAB_EXPLORE_SEEDS"];
/** Seeds each fault kind must get in all, over the chips it applies to. */
export const PER_KIND = 200;

export function report(s: CampaignSummary): string {
  return s.failing
    .slice(0, 2)
    .map((r) => formatResult(r))
    .join("\n\n");
}

/** `npm run explore` prints what it ran (with a fixed seed count). */
export function printSummaries(summaries: readonly CampaignSummary[]): void {
  if (FIXED === undefined) return;
  const rows = summaries.map((s) => `  ${s.scenario.padEnd(18)} ${s.faults.padEnd(12)} runs ${String(s.runs).padStart(4)}  n/a ${String(s.notApplicable).padStart(4)}  faults fired ${String(s.faultsFired).padStart(5)}  trace records ${String(s.traceRecords).padStart(8)}  violations ${s.violations}  known-race runs ${s.knownRaceRuns}`);
  const races = summaries.flatMap((s) =>
    Object.entries(s.knownRaces).map(([race, k]) => `  ${race} in ${s.scenario} under ${s.faults}: ${k.runs} run(s), ${k.hits} hit(s), ${k.stranded} stranded, ${k.attributed} violation(s) explained (not counted); first: ${k.firstReplay}`),
  );
  console.log(`\n${rows.join("\n")}\n  total runs ${summaries.reduce((a, s) => a + s.runs, 0)}, known-race runs ${summaries.reduce((a, s) => a + s.knownRaceRuns, 0)}${races.length ? `\n${races.join("\n")}` : ""}`);
}
