// SPDX-License-Identifier: GPL-2.0-only
import { expect } from "chai";
import { EventQueue } from "../../../lib/sim/events.ts";
import { Rng } from "../../../lib/sim/rng.ts";

describe("lib/sim event queue", () => {
  it("fires events in time order and same-time events in schedule order", () => {
    const q = new EventQueue();
    const seen: string[] = [];
    q.schedule(30, () => seen.push("c"));
    q.schedule(10, () => seen.push("a1"));
    q.schedule(10, () => seen.push("a2"));
    q.schedule(20, () => seen.push("b"));
    for (let ev = q.popDue(100); ev; ev = q.popDue(100)) ev.fn();
    expect(seen).to.deep.equal(["a1", "a2", "b", "c"]);
  });

  it("cancels a queued event and keeps the heap consistent", () => {
    const q = new EventQueue();
    const seen: number[] = [];
    const evs = [50, 10, 40, 20, 30].map((t) => q.schedule(t, () => seen.push(t)));
    expect(q.cancel(evs[2])).to.equal(true);
    expect(q.cancel(evs[2])).to.equal(false);
    for (let ev = q.popDue(1000); ev; ev = q.popDue(1000)) ev.fn();
    expect(seen).to.deep.equal([10, 20, 30, 50]);
  });

  it("counts only non-daemon events as work", () => {
    const q = new EventQueue();
    const d = q.schedule(10, () => undefined, "poll", true);
    expect(q.hasWork).to.equal(false);
    const w = q.schedule(10, () => undefined);
    expect(q.hasWork).to.equal(true);
    q.cancel(w);
    q.cancel(d);
    expect(q.hasWork).to.equal(false);
    expect(q.peekTime()).to.equal(Infinity);
  });

  it("never schedules into the past", () => {
    const q = new EventQueue();
    q.now = 100;
    const ev = q.schedule(5, () => undefined);
    expect(ev.at).to.equal(100);
  });
});

describe("lib/sim seeded RNG", () => {
  it("repeats its sequence for a seed and differs across seeds", () => {
    const a = new Rng(42);
    const b = new Rng(42);
    const c = new Rng(43);
    const sa = Array.from({ length: 8 }, () => a.next());
    const sb = Array.from({ length: 8 }, () => b.next());
    const sc = Array.from({ length: 8 }, () => c.next());
    expect(sa).to.deep.equal(sb);
    expect(sa).to.not.deep.equal(sc);
  });

  it("draws integers uniformly enough in range", () => {
    const r = new Rng(7);
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 4000; i++) counts[r.int(4)]!++;
    for (const c of counts) expect(c).to.be.within(850, 1150);
  });

  it("reschedules one event object over and over, moving it when it is still queued", () => {
    const q = new EventQueue();
    const seen: number[] = [];
    const ev = q.create(() => seen.push(q.now));
    expect(q.size).to.equal(0);
    q.reschedule(ev, 10);
    q.reschedule(ev, 20);
    expect(q.size).to.equal(1);
    expect(q.hasWork).to.equal(true);
    for (let e = q.popDue(100); e; e = q.popDue(100)) {
      q.now = e.at;
      e.fn();
      if (seen.length < 3) q.reschedule(e, e.at + 5);
    }
    expect(seen).to.deep.equal([20, 25, 30]);
    expect(q.hasWork).to.equal(false);
    q.reschedule(ev, 40);
    expect(q.cancel(ev)).to.equal(true);
    expect(q.size).to.equal(0);
    expect(q.hasWork).to.equal(false);
  });
});
