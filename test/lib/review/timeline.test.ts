// SPDX-License-Identifier: GPL-2.0-only
// The Chrome trace-event export: its structure validates (fields per phase,
// time order and nesting per track, flow arrows paired), the arrows lead
// from each MSI write to the handler it caused, and the validator catches
// broken traces.

import { expect } from "chai";
import { scenarios } from "../../../lib/review/scenarios.ts";
import { toChromeTrace, validateChromeTrace, type ChromeEvent } from "../../../lib/review/timeline.ts";

describe("lib/review/timeline: Chrome trace-event export", () => {
  it("validates, names a CPU and a device track, and pairs every MSI write with the handler it caused", async () => {
    const run = await scenarios["testnic"]!.run({ seed: 3 });
    const tr = toChromeTrace(run.m.trace());
    expect(validateChromeTrace(JSON.parse(JSON.stringify(tr)))).to.deep.equal([]);
    const names = tr.traceEvents.filter((e) => e.ph === "M" && e.name === "thread_name").map((e) => (e.args as { name: string }).name);
    expect(names).to.include.members(["CPU0", "CPU0 hardirq", "CPU0 irqs off", "CPU3 hardirq", "device 3b:00.0"]);
    const starts = tr.traceEvents.filter((e) => e.ph === "s");
    const finishes = tr.traceEvents.filter((e) => e.ph === "f");
    const handlers = run.m.trace().filter((r) => r.kind === "irq_handler_entry" && run.irqs.includes(r.irq)).length;
    expect(starts.length).to.equal(handlers);
    expect(finishes.length).to.equal(starts.length);
    // each arrow ends in a handler slice of the irq whose message started it
    for (const f of finishes) {
      const slice = tr.traceEvents.find((e) => e.ph === "X" && e.cat === "handler" && e.pid === f.pid && e.tid === f.tid && e.ts === f.ts);
      expect(slice, `flow ${f.id!}`).to.not.equal(undefined);
    }
    expect(tr.traceEvents.some((e) => e.ph === "X" && e.cat === "hardirq")).to.equal(true);
    expect(tr.traceEvents.some((e) => e.ph === "X" && e.cat === "task")).to.equal(true);
  });

  it("the validator reports an unpaired arrow, time going back, bad nesting and missing fields", () => {
    const base: ChromeEvent[] = [
      { name: "a", ph: "X", pid: 1, tid: 1, ts: 10, dur: 10 },
      { name: "b", ph: "X", pid: 1, tid: 1, ts: 12, dur: 2 },
      { name: "m", ph: "s", pid: 1, tid: 1, ts: 12, id: 1, cat: "msi" },
      { name: "h", ph: "X", pid: 1, tid: 2, ts: 30, dur: 1 },
      { name: "m", ph: "f", bp: "e", pid: 1, tid: 2, ts: 30, id: 1, cat: "msi" },
    ];
    expect(validateChromeTrace({ traceEvents: base })).to.deep.equal([]);
    const without = (i: number): ChromeEvent[] => base.filter((_, j) => j !== i);
    expect(validateChromeTrace({ traceEvents: without(4) }).join()).to.match(/flow msi\/1 starts at 12 and never finishes/);
    expect(validateChromeTrace({ traceEvents: without(2) }).join()).to.match(/flow msi\/1 finishes without a start/);
    expect(validateChromeTrace({ traceEvents: [base[1]!, base[0]!] }).join()).to.match(/goes back in time/);
    expect(validateChromeTrace({ traceEvents: [base[0]!, { ...base[1]!, dur: 20 }] }).join()).to.match(/without nesting/);
    expect(validateChromeTrace({ traceEvents: [{ ...base[0]!, dur: undefined }] }).join()).to.match(/needs dur/);
    expect(validateChromeTrace({ traceEvents: [base[0]!, { ...base[2]!, ts: 25 }] }).join()).to.match(/not inside a slice/);
    expect(validateChromeTrace({})).to.deep.equal(["no traceEvents array"]);
  });
});
