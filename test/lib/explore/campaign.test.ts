// SPDX-License-Identifier: GPL-2.0-only
// Exploration campaigns on the shipped chips (PCI-MSIX without and with
// interrupt remapping, the two IMS chips): every fault kind the kernel must survive, seeds
// under FIFO, seeded random and PCT schedules, and no checker may report a
// violation. A deliberately broken setup (the IEC-skip hook) is caught, and
// its failing seed replays to the same violations and the same trace.
//
// By default every fault kind gets at least 200 seeds in all, shared among
// the chips it applies to (50 each on four chips; 100 each for a kind that
// applies to two, such as torn MSI-X latching); IRQLAB_EXPLORE_SEEDS sets a
// fixed number per fault kind and chip instead (`npm run explore` runs 200).

import { expect } from "chai";
import { faultKinds, runCampaign, runSeed, type CampaignSummary, type RunResult } from "../../../lib/explore/index.ts";
import { FIXED, PER_KIND, printSummaries, report } from "./campaign_fixture.ts";

/** PCI-MSIX without and with remapping; the IMS array device with the 2022 IDXD chip and the 2020 RFC chip. */
const CHIPS = ["msix-churn", "msix-churn-ir", "ims-churn-idxd", "ims-churn-rfc2020"];

const summaries: CampaignSummary[] = [];

const applicable = new Map<string, boolean>();
/** Whether a fault kind applies to a chip's scenario: one seed tells (a campaign stops at a kind that does not apply). */
async function applies(chip: string, kind: string | null): Promise<boolean> {
  const key = `${chip} ${kind ?? ""}`;
  let a = applicable.get(key);
  if (a === undefined) {
    const s = await runCampaign(chip, kind, { seeds: 1 });
    a = s.notApplicable < s.runs;
    applicable.set(key, a);
  }
  return a;
}

describe(`lib/explore campaigns on the shipped chips (${FIXED === undefined ? `at least ${PER_KIND} seeds per fault kind` : `${FIXED} seeds per fault kind and chip`})`, function () {
  this.timeout(0);
  const kinds = [null, ...faultKinds().filter((k) => !k.bug).map((k) => k.name)];
  after(() => printSummaries(summaries));
  // runs that applied, per fault kind, over the chips done so far (the its run in order)
  const applied = new Map<string | null, number>();
  for (const kind of kinds) {
    for (const [i, chip] of CHIPS.entries()) {
      it(`${chip} under ${kind ?? "no faults"}: 0 violations`, async () => {
        const done = applied.get(kind) ?? 0;
        let seeds = Number(FIXED);
        if (FIXED === undefined) {
          // share what is left among this chip and the later ones the kind applies to
          let left = 0;
          for (const c of CHIPS.slice(i)) if (await applies(c, kind)) left++;
          seeds = left === 0 ? 1 : Math.max(1, Math.ceil((PER_KIND - done) / left));
        }
        const s = await runCampaign(chip, kind, { seeds });
        applied.set(kind, done + s.runs - s.notApplicable);
        summaries.push(s);
        if (FIXED === undefined && i === CHIPS.length - 1 && kind !== null && done + s.runs - s.notApplicable > 0) {
          expect(done + s.runs - s.notApplicable, `${kind}: seeds over the shipped chips`).to.be.at.least(PER_KIND);
        }
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
