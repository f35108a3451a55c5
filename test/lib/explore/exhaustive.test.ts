// SPDX-License-Identifier: GPL-2.0-only
// lib/explore/exhaustive.ts: bounded depth-first enumeration of schedules.
import { expect } from "chai";
import { exploreExhaustive, nextPrefix } from "../../../lib/explore/exhaustive.ts";
import { runSeed, type ExploreScenario } from "../../../lib/explore/run.ts";
import { join, sleep_until, spawn } from "../../../lib/explore/scenarios.ts";
import { K } from "../../../lib/kernel/kernel.ts";
import "../../../lib/explore/index.ts";

/**
 * Three threads on three CPUs wake at the same instants `rounds` times and
 * append their number: 3! orders per round. `bad` names a first-round order
 * the scenario reports as a failure.
 */
function threeRacers(orders: string[], bad?: string, rounds = 1): ExploreScenario {
  return {
    name: "three-racers",
    description: "three threads append twice at shared wake-ups",
    machine: () => ({ cpus: 4, arch: "none" }),
    devices: [],
    horizonNs: 100_000,
    async run(ctx) {
      const out: number[] = [];
      const ts = [1, 2, 3].map((cpu) =>
        spawn(cpu, "racer/%d", async () => {
          for (let k = 1; k <= rounds; k++) {
            const at = k * 20_000;
            await sleep_until(at);
            out.push(cpu);
          }
        }),
      );
      await join(ts);
      orders.push(out.join(""));
      if (bad && out.slice(0, 3).join("") === bad) ctx.fail(`first round ran ${bad}`);
      void K;
    },
  };
}

describe("lib/explore exhaustive search", () => {
  it("flips the deepest decision that still has an untried candidate, within the bound", () => {
    const log = [
      { n: 2, c: 0 },
      { n: 3, c: 2 },
      { n: 2, c: 0 },
    ];
    expect(nextPrefix(log, 0, 10)).to.deep.equal([0, 2, 1]);
    expect(nextPrefix(log, 0, 2)).to.deep.equal([1]);
    expect(nextPrefix(log, 1, 1)).to.deep.equal(null);
    expect(nextPrefix([{ n: 2, c: 1 }, { n: 3, c: 2 }], 0, 5)).to.equal(null);
  });

  it("enumerates every schedule of a small race exactly once", async function () {
    this.timeout(60_000);
    const orders: string[] = [];
    const r = await exploreExhaustive(threeRacers(orders, undefined, 2), 1, { maxDecisions: 10 });
    expect(r.complete).to.equal(true);
    // wake-ups of the joining main thread add decisions that do not change the order
    expect(r.runs).to.be.at.least(36);
    expect(new Set(orders).size).to.equal(36);
    expect(new Set(r.schedules).size).to.equal(r.runs);
    expect(r.failures).to.deep.equal([]);
  });

  it("branches only at the first decisions when bounded", async () => {
    const orders: string[] = [];
    const all = await exploreExhaustive(threeRacers([], undefined, 2), 1, { maxDecisions: 4 });
    const r = await exploreExhaustive(threeRacers(orders, undefined, 2), 1, { maxDecisions: 2 });
    expect(r.complete).to.equal(true);
    expect(r.runs).to.be.within(2, 9);
    expect(r.runs).to.be.lessThan(all.runs);
  });

  it("finds the interleavings FIFO never runs and reports each with a schedule that replays it", async () => {
    const orders: string[] = [];
    const r = await exploreExhaustive(threeRacers(orders, "321"), 1, { maxDecisions: 10 });
    expect(orders[0]!.slice(0, 3), "the FIFO schedule comes first").to.equal("123");
    expect(r.failures.length).to.be.greaterThan(0);
    expect(r.failures.length).to.equal(orders.filter((o) => o.startsWith("321")).length);
    const again: string[] = [];
    const replay = await runSeed(threeRacers(again, "321"), 1, r.failures[0]!.strategy);
    expect(replay.ok).to.equal(false);
    expect(replay.violations.map((v) => v.message)).to.deep.equal(["first round ran 321"]);
    expect(again[0]!.slice(0, 3)).to.equal("321");
  });

  it("explores every schedule of the sim-pair scenario without a violation", async () => {
    const r = await exploreExhaustive("sim-pair", 1, { maxDecisions: 12 });
    expect(r.complete).to.equal(true);
    expect(r.runs).to.be.greaterThan(1);
    expect(r.failures.map((f) => f.violations.map((v) => `${v.checker}: ${v.message}`))).to.deep.equal([]);
  });
});
