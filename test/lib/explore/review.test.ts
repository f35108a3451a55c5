// SPDX-License-Identifier: GPL-2.0-only
// lib/explore/review.ts: the exploration checkers and the PCT strategy in
// the CLI's registry (lib/review/explore.ts), judging CLI scenarios.
import { expect } from "chai";
import { explore, findExploreChecker, findExploreStrategy } from "../../../lib/review/explore.ts";
import { findScenario } from "../../../lib/review/scenarios.ts";
import { linesFromMsiDescs } from "../../../lib/explore/review.ts";

const MINE = ["irq-state-consistent", "hierarchy-activated", "vector-matrix-balanced", "irte-live-vector", "msi-message-composed", "no-lost-interrupt", "no-handler-after-free"];

describe("lib/explore in the CLI's explore registry", () => {
  it("registers PCT and the checkers that can judge a finished run", () => {
    expect(findExploreStrategy("pct")!.machine(5)).to.deep.equal({ seed: 5, strategy: "pct:5:3:64" });
    expect(findExploreStrategy("pct-d2")!.machine(5)).to.deep.equal({ seed: 5, strategy: "pct:5:2:64" });
    for (const n of MINE) expect(findExploreChecker(n), n).to.not.equal(null);
    expect(findExploreChecker("no-leaks")).to.equal(null);
  });

  it("judges the CLI's test NIC scenario clean under PCT seeds", async function () {
    this.timeout(60_000);
    const sc = findScenario("testnic")!;
    const r = await explore(sc, { seeds: 3, strategy: "pct", checkers: MINE });
    expect(r.failures).to.deep.equal([]);
    expect(r.runs).to.equal(3);
  });

  it("infers the device lines from the MSI descriptors of a finished run", async () => {
    const run = await findScenario("testnic-basic")!.run({ seed: 1 });
    const lines = linesFromMsiDescs(run.m);
    expect(lines.map((l) => l.irq)).to.deep.equal(run.irqs);
    expect(lines.map((l) => l.name)).to.deep.equal(["testnic-q0", "testnic-q1"]);
  });
});
