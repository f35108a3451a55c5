// SPDX-License-Identifier: GPL-2.0-only
// examples/: the doorbell chip passes the conformance suite; its deliberately
// buggy variants fail exactly the check that names their bug, and
// `irqlab review` reports the bug and exits 1.

import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import "../../examples/doorbell/doorbell.test.ts";
import { runConformance, takeRegisteredSubjects } from "../../lib/review/conformance.ts";
import { main } from "../../lib/review/cli.ts";
import { doorbellRig } from "../../examples/doorbell/rig.ts";

takeRegisteredSubjects();

function capture(): { io: { stdout(s: string): void; stderr(s: string): void; cwd: string }; out: () => string; err: () => string } {
  let out = "";
  let err = "";
  return { io: { stdout: (s) => void (out += s), stderr: (s) => void (err += s), cwd: process.cwd() }, out: () => out, err: () => err };
}

describe("examples/: prototype your own chip", () => {
  let dir = "";
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "irqlab-review-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("a mask that is not flushed fails only the synchronous-mask check", async () => {
    const r = await runConformance({ name: "mask bug", factory: doorbellRig({ maskNotFlushed: true }) });
    const failed = r.filter((x) => !x.ok);
    expect(failed.map((x) => x.check)).to.have.length(1);
    expect(failed[0]!.check).to.match(/^irq_mask\(\) stops delivery/);
    expect(failed[0]!.error).to.match(/the mask is not synchronous/);
  });

  it("`irqlab review examples/buggy-chip.ts` names the lost interrupt of irq_unmask and exits 1", async () => {
    const c = capture();
    const code = await main(["review", "examples/buggy-chip.ts", "--out", dir], c.io);
    expect(code, c.err()).to.equal(1);
    expect(c.out()).to.match(/FAIL\s+3\/9\s+irq_unmask\(\) delivers an interrupt latched while masked/);
    expect(c.out()).to.match(/irq_unmask\(\) did not deliver it/);
    expect(c.out().match(/FAIL/g)).to.have.length(1);
    const md = readFileSync(join(dir, "buggy-chip", "report.md"), "utf8");
    expect(md).to.match(/8 of 9 checks passed/);
    expect(md).to.match(/\| 3 \| irq_unmask\(\) delivers an interrupt latched while masked \| \*\*FAIL\*\* \|/);
    expect(readFileSync(join(dir, "buggy-chip", "hierarchy.dot"), "utf8")).to.match(/d\d+ \[label="IR-DOORBELL-0000:3c:00\.0-15\\nchip: IR-DOORBELL-0000:3c:00\.0/);
    // Graphviz escapes '-' in SVG text
    expect(readFileSync(join(dir, "buggy-chip", "hierarchy.svg"), "utf8")).to.match(/^<\?xml[\s\S]*<svg[\s\S]*IR&#45;DOORBELL&#45;0000:3c:00\.0&#45;15[\s\S]*<\/svg>\s*$/);
    const trace = readFileSync(join(dir, "buggy-chip", "03-irq-unmask-delivers-an-interrupt-latched-while-masked.callbacks.txt"), "utf8");
    expect(trace).to.match(/IR-DOORBELL-0000:3c:00\.0\s+irq_unmask\(\);/);
  });

  it("`irqlab review examples/doorbell-chip.ts` passes and exits 0", async () => {
    const c = capture();
    const code = await main(["review", "examples/doorbell-chip.ts", "--out", dir], c.io);
    expect(code, c.out() + c.err()).to.equal(0);
    expect(c.out()).to.match(/9\/9 passed/);
    const res = JSON.parse(readFileSync(join(dir, "doorbell-chip", "results.json"), "utf8")) as { results: { ok: boolean }[] };
    expect(res.results.every((r) => r.ok)).to.equal(true);
  });
});
