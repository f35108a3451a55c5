// SPDX-License-Identifier: GPL-2.0-only
// The irq_chip conformance suite on every chip irqlab ships (lib/review/subjects.ts),
// and the suite's own behaviour: it reports a bug by name and it can fail.

import { expect } from "chai";
import { checkCallbackContext } from "../../../lib/review/conformance_checks.ts";
import { checksFor, describeIrqChipConformance, isChipSubject, subjectsOfModule, takeRegisteredSubjects, type ChipSubject } from "../../../lib/review/conformance.ts";
import { shippedSubjects } from "../../../lib/review/subjects.ts";
import type { TraceRecord } from "../../../lib/sim/trace.ts";

for (const s of shippedSubjects()) describeIrqChipConformance(s.name, s.factory, s.options);
// the mocha registrations above also registered the subjects for `irqlab review`
takeRegisteredSubjects();

function chipRec(phase: "enter" | "exit", cb: string, over: Partial<TraceRecord> = {}): TraceRecord {
  return {
    kind: "irq.chip",
    phase,
    cb,
    chip: "TEST",
    irq: 30,
    hwirq: 0,
    domain: "TEST-0",
    depth: 0,
    seq: 0,
    t: 0,
    cpu: 0,
    ctx: "task",
    pid: 5,
    comm: "insmod",
    irqsOff: true,
    preempt: 1,
    locks: ["&irq_desc_lock_class"],
    ...over,
  } as TraceRecord;
}

describe("lib/review/conformance: the suite itself", () => {
  it("leaves out the affinity and message checks for a chip that declares neither", () => {
    const all = checksFor({}).map((c) => c.title);
    const wired = checksFor({ affinity: false, msi: false }).map((c) => c.title);
    expect(all.length - wired.length).to.equal(2);
    expect(wired.some((t) => /affinity change/.test(t))).to.equal(false);
    expect(wired.some((t) => /composed message/.test(t))).to.equal(false);
  });

  it("finds subjects among a module's exports and its describeIrqChipConformance() registrations", () => {
    const a: ChipSubject = { name: "a", factory: () => Promise.reject(new Error("unused")) };
    const b: ChipSubject = { name: "b", factory: () => Promise.reject(new Error("unused")) };
    expect(isChipSubject(a)).to.equal(true);
    expect(isChipSubject({ name: "x" })).to.equal(false);
    // registration only: `describe` exists under mocha, so register through the list directly
    const subjects = subjectsOfModule({ default: a, more: [a, b], other: 3 });
    expect(subjects.map((s) => s.name)).to.deep.equal(["a", "b"]);
  });

  it("context scan: a callback returning with interrupts enabled is named", () => {
    const recs = [chipRec("enter", "irq_mask"), chipRec("exit", "irq_mask", { irqsOff: false })];
    expect(() => checkCallbackContext(recs, new Set([30]))).to.throw(/TEST irq_mask \(irq 30\) returned with interrupts on/);
  });

  it("context scan: a leaked lock and a sleeping atomic callback are named", () => {
    const leak = [chipRec("enter", "irq_unmask"), chipRec("exit", "irq_unmask", { locks: ["&irq_desc_lock_class", "my_lock"], preempt: 2 })];
    expect(() => checkCallbackContext(leak, new Set([30]))).to.throw(/returned holding \[&irq_desc_lock_class, my_lock\]/);
    const sleeps = [chipRec("enter", "irq_mask"), chipRec("exit", "irq_mask", { ret: "promise" } as Partial<TraceRecord>)];
    expect(() => checkCallbackContext(sleeps, new Set([30]))).to.throw(/returned a promise: it may sleep/);
  });

  it("context scan: irq_bus_lock without irq_bus_sync_unlock, and an unlock without a lock, are named", () => {
    const unpaired = [chipRec("enter", "irq_bus_lock"), chipRec("exit", "irq_bus_lock")];
    expect(() => checkCallbackContext(unpaired, new Set([30]))).to.throw(/irq_bus_lock of irq 30 was never followed by irq_bus_sync_unlock/);
    const stray = [chipRec("enter", "irq_bus_sync_unlock"), chipRec("exit", "irq_bus_sync_unlock")];
    expect(() => checkCallbackContext(stray, new Set([30]))).to.throw(/irq_bus_sync_unlock of irq 30 without irq_bus_lock/);
    const twice = [chipRec("enter", "irq_bus_lock"), chipRec("exit", "irq_bus_lock"), chipRec("enter", "irq_bus_lock")];
    expect(() => checkCallbackContext(twice, new Set([30]))).to.throw(/called again before irq_bus_sync_unlock/);
    const fine = [
      chipRec("enter", "irq_bus_lock"),
      chipRec("exit", "irq_bus_lock"),
      chipRec("enter", "irq_bus_sync_unlock", { ret: "promise" } as Partial<TraceRecord>),
      chipRec("exit", "irq_bus_sync_unlock", { ret: "promise" } as Partial<TraceRecord>),
    ];
    expect(() => checkCallbackContext(fine, new Set([30]))).not.to.throw();
  });
});
