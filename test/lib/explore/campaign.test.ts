// SPDX-License-Identifier: GPL-2.0-only
// Exploration campaigns on the shipped chips (PCI-MSIX without and with
// interrupt remapping, the two IMS chips): every fault kind the kernel must survive, seeds
// under FIFO, seeded random and PCT schedules, and no checker may report a
// violation. A deliberately broken setup (the IEC-skip hook) is caught, and
// its failing seed replays to the same violations and the same trace.
//
// IRQLAB_EXPLORE_SEEDS sets the seeds per fault kind and chip (default 8
// here; `npm run explore` runs 200).

import { expect } from "chai";
import { faultKinds, formatResult, runCampaign, runSeed, type CampaignSummary, type RunResult } from "../../../lib/explore/index.ts";

const SEEDS = Number(process.env["IRQLAB_EXPLORE_SEEDS"] ?? 8);
/** PCI-MSIX without and with remapping; the IMS array device with the 2022 IDXD chip and the 2020 RFC chip. */
const CHIPS = ["msix-churn", "msix-churn-ir", "ims-churn-idxd", "ims-churn-rfc2020"];

function report(s: CampaignSummary): string {
  return s.failing
    .slice(0, 2)
    .map((r) => formatResult(r))
    .join("\n\n");
}

const summaries: CampaignSummary[] = [];

describe(`lib/explore campaigns on the shipped chips (${SEEDS} seeds per fault kind and chip)`, function () {
  this.timeout(0);
  const kinds = [null, ...faultKinds().filter((k) => !k.bug).map((k) => k.name)];
  after(() => {
    // `npm run explore` prints what it ran
    if (process.env["IRQLAB_EXPLORE_SEEDS"] === undefined) return;
    const rows = summaries.map((s) => `  ${s.scenario.padEnd(18)} ${s.faults.padEnd(12)} runs ${String(s.runs).padStart(4)}  n/a ${String(s.notApplicable).padStart(4)}  faults fired ${String(s.faultsFired).padStart(5)}  trace records ${String(s.traceRecords).padStart(8)}  violations ${s.violations}`);
    console.log(`\n${rows.join("\n")}\n  total runs ${summaries.reduce((a, s) => a + s.runs, 0)}`);
  });
  for (const chip of CHIPS) {
    for (const kind of kinds) {
      it(`${chip} under ${kind ?? "no faults"}: 0 violations`, async () => {
        const s = await runCampaign(chip, kind, { seeds: SEEDS });
        summaries.push(s);
        expect(s.failing.length, report(s)).to.equal(0);
        if (s.notApplicable === s.runs) return;
        // the faults must have happened, or the campaign proves nothing
        if (kind) expect(s.faultsFired, `${kind} fired in no run`).to.be.greaterThan(0);
      });
    }
  }
});

describe("lib/explore replay of a failing seed", () => {
  let first: RunResult;

  before(async function () {
    this.timeout(0);
    // the broken setup: modify_irte() without its IEC flush
    for (let seed = 1; seed <= 20; seed++) {
      const r = await runSeed("msix-churn-ir", seed, `pct:${seed}:3:48`, "iec-skip-flush", { keep: true });
      if (!r.ok) {
        first = r;
        return;
      }
    }
    throw new Error("no seed of 20 caught the missing IEC flush");
  });

  it("catches the missing IEC flush by a named check", () => {
    expect(first.violations.map((v) => v.checker)).to.include("irte-live-vector");
    expect(first.violations[0]!.excerpt.length).to.be.greaterThan(0);
    expect(first.replay).to.equal(`irqlab explore msix-churn-ir --seed ${first.seed} --strategy ${first.strategy} --faults iec-skip-flush`);
  });

  it("replays from (seed, strategy, faults) to the same violations and the same trace", async () => {
    const again = await runSeed("msix-churn-ir", first.seed, first.strategy, "iec-skip-flush", { keep: true });
    expect(again.violations).to.deep.equal(first.violations);
    expect(again.digest).to.equal(first.digest);
    expect(JSON.stringify(again.trace)).to.equal(JSON.stringify(first.trace));
  });

  it("replays from the recorded forced choices and the plan as data, too", async () => {
    const again = await runSeed("msix-churn-ir", first.seed, first.choices, first.plan);
    expect(again.violations).to.deep.equal(first.violations);
    expect(again.digest).to.equal(first.digest);
  });

  it("is clean on the same seed and schedule without the broken hook", async () => {
    const clean = await runSeed("msix-churn-ir", first.seed, first.strategy, null);
    expect(clean.violations.map((v) => `${v.checker}: ${v.message}`)).to.deep.equal([]);
  });
});
