// SPDX-License-Identifier: GPL-2.0-only
// lib/explore known Linux races: the stale effective affinity race
// (docs/exploration.md, "Finding: an interrupt left on an offline CPU") is
// recognised when the activation creates it, the violations it causes are
// reported under its name and do not count, the run replays, and a
// violation the race did not cause (another interrupt, another checker,
// outside the window) still counts.
import { expect } from "chai";
import {
  attributeViolations,
  formatResult,
  runCampaign,
  runSeed,
  STALE_EFFECTIVE_AFFINITY,
  type RaceHit,
  type RunResult,
  type Violation,
} from "../../../lib/explore/index.ts";
import { exploredMutants } from "../../mutants/explored.ts";

/** The run the explorer first reported this race in (docs/exploration.md). */
const SEED_87 = ["ims-churn-idxd", 87, "fifo", "cpu-offline"] as const;

/** The checkers the race broke in that run, before it was known (the revert of c2d6d4c lists them). */
const SYMPTOMS = ["hierarchy-activated", "irte-live-vector", "irte-live-vector", "no-stray-vector", "vector-matrix-balanced"];

const named = (vs: readonly Pick<Violation, "checker" | "message">[]): string[] => vs.map((v) => `${v.checker}: ${v.message}`).sort();

describe("lib/explore known Linux race: stale effective affinity", function () {
  this.timeout(60_000);
  let r: RunResult;
  let raw: RunResult;

  before(async () => {
    r = await runSeed(...SEED_87, { keep: true });
    raw = await runSeed(...SEED_87, { knownRaces: false });
  });

  it(`${SEED_87.join(" ")}: reports the known race and 0 violations`, () => {
    expect(r.violations.map((v) => `${v.checker}: ${v.message}`), formatResult(r)).to.deep.equal([]);
    expect(r.ok).to.equal(true);
    expect(r.knownRaces.map((k) => k.race)).to.deep.equal([STALE_EFFECTIVE_AFFINITY]);
    const k = r.knownRaces[0]!;
    expect(k.doc).to.match(/^docs\/exploration\.md, "Finding: an interrupt left on an offline CPU/);
    expect(k.hits).to.have.length(1);
    expect(k.attributed.map((v) => v.checker).sort()).to.deep.equal(SYMPTOMS);
    // every attributed violation is about the hit's interrupt or its vector
    const h = k.hits[0]!;
    for (const v of k.attributed) {
      expect(v.hitSeq).to.equal(h.seq);
      if (v.about!.irq !== undefined) expect(v.about!.irq).to.equal(h.irq);
      if (v.about!.cpu !== undefined) expect([v.about!.cpu, v.about!.vector]).to.deep.equal([h.cpu, h.vector]);
    }
  });

  it("the same run without the known races counts exactly those violations: attribution moves them, it drops none", () => {
    expect(raw.knownRaces).to.deep.equal([]);
    expect(named(raw.violations)).to.deep.equal(named(r.knownRaces[0]!.attributed));
    expect(raw.ok).to.equal(false);
  });

  it("sees the cause when the activation creates it: the vector kept on the CPU the fault takes offline, outside the effective affinity", () => {
    const h = r.knownRaces[0]!.hits[0]!;
    const trace = r.trace!;
    const at = (seq: number) => trace.find((x) => x.seq === seq)!;
    const cause = at(h.seq);
    expect(cause.kind === "irq.domain" && cause.op === "activate" && cause.phase === "exit" && cause.irq === h.irq && cause.domain === "VECTOR", JSON.stringify(cause)).to.equal(true);
    const mark = at(h.seq + 1);
    expect(mark.kind === "explore.race" && mark.what === "cause" && mark.irq === h.irq && mark.vector_cpu === h.cpu && mark.vector === h.vector, JSON.stringify(mark)).to.equal(true);
    // irq_set_affinity() while deactivated wrote the mask: the effective
    // affinity the hit names excludes the vector's CPU
    expect(mark.kind === "explore.race" && mark.detail).to.match(/^effective=/);
    expect(mark.kind === "explore.race" && mark.detail!.slice("effective=".length).split(",")).to.not.include(String(h.cpu));
    // harm starts while the fault takes that CPU offline (its record follows
    // remove_cpu()'s return), before any symptom
    expect(r.plan.faults.map((f) => f.target)).to.deep.equal([`cpu${h.cpu}`]);
    const offline = trace.find((x) => x.kind === "explore.fault" && x.what === "fire" && x.target === `cpu${h.cpu}`)!;
    const stranded = trace.find((x) => x.kind === "explore.race" && x.what === "stranded" && x.irq === h.irq)!;
    expect(h.strandedSeq).to.be.a("number");
    expect(stranded.seq).to.equal(h.strandedSeq! + 1);
    expect(h.strandedSeq!).to.be.greaterThan(h.seq);
    expect(stranded.seq).to.be.lessThan(offline.seq);
    expect(Math.min(...r.knownRaces[0]!.attributed.map((v) => v.seq))).to.be.at.least(h.strandedSeq!);
    expect(h.message).to.match(new RegExp(`^irq ${h.irq}: the activation kept vector 0x${h.vector.toString(16)} on CPU${h.cpu} `));
  });

  it("prints the race apart from the violations, with the replay line", () => {
    const text = formatResult(r);
    expect(text.split("\n")[0]).to.match(/: ok, known Linux race linux-race:stale-effective-affinity \(/);
    expect(text).to.include("known Linux race linux-race:stale-effective-affinity (not counted as violations; see docs/exploration.md");
    for (const v of r.knownRaces[0]!.attributed) expect(text).to.include(`explains [${v.checker}] at ${(v.t / 1e9).toFixed(9)}: ${v.message}`);
    expect(text).to.include(`replay: irqlab explore ${SEED_87[0]} --seed 87 --strategy fifo --faults cpu-offline`);
  });

  it("replays from (seed, strategy, faults) and from the forced choices and plan to the same race, violations and trace", async () => {
    const again = await runSeed(...SEED_87, { keep: true });
    expect(again.digest).to.equal(r.digest);
    expect(JSON.stringify(again.trace)).to.equal(JSON.stringify(r.trace));
    expect(again.knownRaces).to.deep.equal(r.knownRaces);
    expect(again.violations).to.deep.equal(r.violations);
    const forced = await runSeed(SEED_87[0], SEED_87[1], r.choices, r.plan);
    expect(forced.digest).to.equal(r.digest);
    expect(forced.knownRaces).to.deep.equal(r.knownRaces);
  });

  it("a real bug with the same symptoms on another interrupt in the same run still counts (mutant: affinity to an offline CPU)", async () => {
    const mut = exploredMutants.find((x) => x.name === "affinity to an offline CPU")!;
    const undo = mut.apply!();
    let m: RunResult;
    try {
      m = await runSeed(...SEED_87);
    } finally {
      undo();
    }
    const h = m.knownRaces[0]?.hits[0];
    expect(h, formatResult(m)).to.not.equal(undefined);
    // the mutant strands other interrupts on the same CPU: the same checkers fire for them
    const others = m.violations.filter((v) => v.about?.irq !== undefined && v.about.irq !== h!.irq);
    expect(others.map((v) => v.checker), formatResult(m)).to.include.members(["hierarchy-activated", "irte-live-vector"]);
    expect(m.violations.map((v) => v.checker), formatResult(m)).to.include.members(["hierarchy-activated", "irte-live-vector", "vector-matrix-balanced", "no-stray-vector"]);
    expect(m.ok).to.equal(false);
    // and none of them is attributed to the race
    for (const v of m.knownRaces[0]!.attributed) {
      if (v.about!.irq !== undefined) expect(v.about!.irq).to.equal(h!.irq);
      if (v.about!.cpu !== undefined) expect([v.about!.cpu, v.about!.vector]).to.deep.equal([h!.cpu, h!.vector]);
    }
    // the stray message to the mutant's vector counts, the race's is explained
    expect(m.violations.filter((v) => v.checker === "no-stray-vector").map((v) => v.about)).to.not.deep.include({ cpu: h!.cpu, vector: h!.vector });
    expect(m.knownRaces[0]!.attributed.filter((v) => v.checker === "no-stray-vector").map((v) => v.about)).to.deep.equal([{ cpu: h!.cpu, vector: h!.vector }]);
  });

  it("counts the runs that hit it in a campaign, apart from the violations", async () => {
    const s = await runCampaign(SEED_87[0], SEED_87[3], { from: 86, seeds: 2 });
    expect(s.violations, s.failing.map((x) => formatResult(x)).join("\n")).to.equal(0);
    expect(s.knownRaceRuns).to.equal(1);
    expect(s.knownRaces[STALE_EFFECTIVE_AFFINITY]).to.deep.equal({ runs: 1, hits: 1, stranded: 1, attributed: SYMPTOMS.length, firstReplay: r.replay });
  });
});

describe("lib/explore known races: what a hit explains", () => {
  const hit: RaceHit = { race: STALE_EFFECTIVE_AFFINITY, irq: 27, cpu: 1, vector: 0x21, seq: 100, t: 0, message: "", strandedSeq: 200, endSeq: 400, endWhy: "vector released" };
  const v = (checker: string, seq: number, about?: Violation["about"]): Violation => ({ checker, message: `${checker} #${seq} ${JSON.stringify(about ?? null)}`, t: seq, seq, ...(about ? { about } : {}), excerpt: [] });
  const split = (vs: Violation[], hits: RaceHit[] = [hit]): { counted: string[]; explained: string[] } => {
    const { violations, reports } = attributeViolations(vs, hits);
    return { counted: violations.map((x) => x.message), explained: reports.flatMap((k) => k.attributed.map((x) => x.message)) };
  };

  it("explains the race's own interrupt and vector while the vector is stranded", () => {
    const own = [
      v("hierarchy-activated", 250, { irq: 27, cpu: 1, vector: 0x21 }),
      v("irte-live-vector", 250, { irq: 27, cpu: 1, vector: 0x21 }),
      v("vector-matrix-balanced", 300, { cpu: 1, vector: 0x21 }),
      v("no-stray-vector", 300, { cpu: 1, vector: 0x21 }),
      v("no-lost-interrupt", 200, { irq: 27 }),
      v("no-lost-interrupt", 400, { irq: 27 }),
    ];
    expect(split(own)).to.deep.equal({ counted: [], explained: own.map((x) => x.message) });
  });

  it("counts another interrupt, another vector, another checker, no subject, and anything outside the window", () => {
    const unrelated = [
      v("hierarchy-activated", 250, { irq: 25, cpu: 1, vector: 0x20 }),
      v("irte-live-vector", 250, { irq: 27, cpu: 2, vector: 0x21 }),
      v("vector-matrix-balanced", 300, { cpu: 1, vector: 0x22 }),
      v("no-stray-vector", 300, { cpu: 2, vector: 0x21 }),
      v("no-stray-vector", 300),
      v("irte-live-vector", 300),
      v("no-handler-after-free", 300, { irq: 27 }),
      v("no-splat", 300),
      v("msi-message-composed", 300, { irq: 27 }),
      v("hierarchy-activated", 150, { irq: 27, cpu: 1, vector: 0x21 }),
      v("hierarchy-activated", 401, { irq: 27, cpu: 1, vector: 0x21 }),
      v("no-lost-interrupt", 199, { irq: 27 }),
    ];
    expect(split(unrelated)).to.deep.equal({ counted: unrelated.map((x) => x.message), explained: [] });
  });

  it("a hit that never did harm (its CPU stayed online) explains nothing, but is reported", () => {
    const latent: RaceHit = { ...hit, strandedSeq: null, endSeq: 300 };
    const vs = [v("hierarchy-activated", 250, { irq: 27, cpu: 1, vector: 0x21 })];
    expect(split(vs, [latent])).to.deep.equal({ counted: vs.map((x) => x.message), explained: [] });
    expect(attributeViolations(vs, [latent]).reports.map((k) => [k.race, k.hits.length, k.attributed.length])).to.deep.equal([[STALE_EFFECTIVE_AFFINITY, 1, 0]]);
  });

  it("a hit still open at the end of the run explains what follows it", () => {
    const open: RaceHit = { ...hit, endSeq: null };
    expect(split([v("no-stray-vector", 10_000, { cpu: 1, vector: 0x21 })], [open]).explained).to.have.length(1);
  });
});
