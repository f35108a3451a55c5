// SPDX-License-Identifier: GPL-2.0-only
// lib/sim/strategy.ts: PCT, forced choices, recording, and replay of a run
// from the strategy's describe() string.
import { expect } from "chai";
import { SimCpu, SimTask } from "../../../lib/sim/cpu.ts";
import {
  ChoiceStrategy,
  decodeChoices,
  encodeChoices,
  FifoStrategy,
  PctStrategy,
  RandomStrategy,
  RecordingStrategy,
  strategyFromSpec,
  type Strategy,
} from "../../../lib/sim/strategy.ts";
import { createMachine } from "../../../lib/machine.ts";
import { msleep } from "../../../lib/kernel/delay.ts";
import { kthread_run } from "../../../lib/kernel/kthread.ts";

const cpu = new SimCpu(0);
const tasks = ["a", "b", "c", "d"].map((n) => new SimTask(n, cpu, () => Promise.resolve()));

/** The labels a strategy picks over `n` decisions among `c` (the same candidates each time). */
function picks(s: Strategy, n: number, c: readonly SimTask[] = tasks): string {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(s.pick(c).label);
  return out.join("");
}

/** Four kthreads wake at the same jiffy and append their number; the order is the schedule's. */
async function race(strategy: string | Strategy, seed = 1): Promise<{ order: string; trace: string; describe: string }> {
  const m = await createMachine({ cpus: 2, seed, strategy });
  const order: number[] = [];
  await m.run(async () => {
    let left = 4;
    for (let i = 0; i < 4; i++) {
      kthread_run(
        async (n: number) => {
          await msleep(4);
          order.push(n);
          await msleep(1);
          order.push(n + 10);
          left--;
          return 0;
        },
        i,
        "racer/%d",
        i,
      );
    }
    while (left > 0) await msleep(1);
  });
  return { order: order.join(","), trace: JSON.stringify(m.trace()), describe: m.sim.strategy.describe() };
}

describe("lib/sim strategies", () => {
  it("PCT runs the highest-priority candidate until a change point drops it below every initial priority", () => {
    // depth 1: no change point, the same task forever
    const one = picks(new PctStrategy(5, 1, 10), 10);
    expect(new Set(one).size).to.equal(1);
    // depth 2: exactly one change point among the first 10 decisions; the
    // task running there is demoted, its successor keeps running
    for (let seed = 1; seed <= 20; seed++) {
      const s = new PctStrategy(seed, 2, 10);
      const [k] = s.changePoints;
      const seq = picks(s, 12);
      expect(s.changePoints, `seed ${seed}`).to.have.length(1);
      expect(new Set(seq.slice(0, k! - 1)).size, `seed ${seed} before`).to.be.at.most(1);
      if (k! > 1) expect(seq[k! - 1], `seed ${seed} at the change point`).to.not.equal(seq[0]);
      expect(new Set(seq.slice(k! - 1)).size, `seed ${seed} after`).to.equal(1);
    }
  });

  it("PCT is a pure function of (seed, depth, steps) and differs across seeds", () => {
    const runs = [1, 2, 3, 4, 5, 6].map((seed) => picks(new PctStrategy(seed, 3, 8), 10, tasks.slice(0, 3)));
    expect(runs.map((_, i) => picks(new PctStrategy(i + 1, 3, 8), 10, tasks.slice(0, 3)))).to.deep.equal(runs);
    expect(new Set(runs).size).to.be.greaterThan(1);
    // depth - 1 distinct change points, within the step estimate
    const s = new PctStrategy(9, 5, 20);
    expect(s.changePoints).to.have.length(4);
    expect(new Set(s.changePoints).size).to.equal(4);
    for (const k of s.changePoints) expect(k).to.be.within(1, 20);
  });

  it("forces choices by index, falls back to the first candidate, and flags a prefix that does not fit", () => {
    const s = new ChoiceStrategy([2, 0, 1]);
    expect(picks(s, 5)).to.equal("cabaa");
    expect(s.log).to.deep.equal([2, 0, 1, 0, 0].map((c) => ({ n: 4, c })));
    expect(s.diverged).to.equal(false);
    const bad = new ChoiceStrategy([3]);
    expect(bad.pick(tasks.slice(0, 2)).label).to.equal("b");
    expect(bad.diverged).to.equal(true);
  });

  it("encodes choice lists compactly and decodes them back", () => {
    for (const l of [[], [1], [0, 0, 0, 0, 1], [2, 2, 2, 0, 1, 1, 0, 0], [0, 3, 3, 3, 3, 0]]) {
      const enc = encodeChoices(l);
      let end = l.length;
      while (end > 0 && l[end - 1] === 0) end--;
      expect(decodeChoices(enc), enc).to.deep.equal(l.slice(0, end));
    }
    expect(encodeChoices([0, 0, 0, 0, 1])).to.equal("0*4.1");
    expect(() => decodeChoices("1.x")).to.throw(/bad choice list/);
  });

  it("turns every strategy's describe() back into a strategy making the same choices", () => {
    const make: (() => Strategy)[] = [() => new FifoStrategy(), () => new RandomStrategy(77), () => new PctStrategy(12, 4, 30), () => new ChoiceStrategy([1, 3, 0, 0, 2])];
    for (const mk of make) {
      const spec = mk().describe();
      const again = strategyFromSpec(spec, 0);
      expect(again.describe()).to.equal(spec);
      expect(picks(again, 9), spec).to.equal(picks(mk(), 9));
    }
    expect(strategyFromSpec("random", 5).describe()).to.equal("random:5");
    expect(strategyFromSpec("pct", 5).describe()).to.equal("pct:5:3:64");
    expect(strategyFromSpec("pct:5:2", 0).describe()).to.equal("pct:5:2:64");
    for (const bad of ["pct:x", "random:1:2", "choices:1,2", "fifo:1", "lifo"]) expect(() => strategyFromSpec(bad, 1), bad).to.throw(/scheduling strategy|choice list/);
  });

  it("replays a machine run from (seed, describe()): the same order and the same trace", async () => {
    for (const spec of ["pct:7:3:12", "random:3", "choices:2.1.0.1"]) {
      const a = await race(spec, 3);
      const b = await race(a.describe, 3);
      expect(b.order, spec).to.equal(a.order);
      expect(b.trace, spec).to.equal(a.trace);
    }
  });

  it("records any run as forced choices that replay it exactly", async () => {
    for (const seed of [1, 2, 3]) {
      const rec = new RecordingStrategy(new PctStrategy(seed, 3, 12));
      const a = await race(rec, 9);
      expect(rec.log.length, "the race has scheduling decisions").to.be.greaterThan(2);
      const b = await race(rec.toChoices(), 9);
      expect(b.order).to.equal(a.order);
      expect(b.trace).to.equal(a.trace);
    }
  });

  it("PCT finds orders FIFO never produces", async () => {
    const fifo = (await race("fifo")).order;
    const orders = new Set<string>();
    for (let seed = 1; seed <= 10; seed++) orders.add((await race(`pct:${seed}:3:16`)).order);
    expect(orders.size).to.be.greaterThan(2);
    expect([...orders].some((o) => o !== fifo)).to.equal(true);
  });
});
