// SPDX-License-Identifier: GPL-2.0-only
// The irqlab command line: every command runs, output and exit codes (0 ok,
// 1 a check failed, 2 usage error). Commands run in-process through main();
// one test spawns the real binary.

import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { main, progressBar } from "../../lib/review/cli.ts";
import { registerExploreChecker } from "../../lib/review/explore.ts";
import { validateChromeTrace } from "../../lib/review/timeline.ts";

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await main(argv, { stdout: (s) => void (out += s), stderr: (s) => void (err += s), cwd: process.cwd() });
  return { code, out, err };
}

describe("bin/irqlab", () => {
  let dir = "";
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "irqlab-cli-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("run default prints dmesg, /proc/interrupts and the hierarchy, and writes the picture", async () => {
    const r = await cli("run", "default", "--dot", join(dir, "h.dot"), "--svg", join(dir, "h.svg"));
    expect(r.code, r.err).to.equal(0);
    expect(r.out).to.match(/^\[ {4}0\.000000\] Linux version 6\.18\.0-irqlab/);
    expect(r.out).to.match(/\n\$ cat \/proc\/interrupts\n {11}CPU0 {7}CPU1 {7}CPU2 {7}CPU3 {7}\n/);
    expect(r.out).to.match(/ 26: .* IR-MLX5-IMS-0000:3b:00\.0 {3}0-edge {6}mlx5_comp0@pci:0000:3b:00\.0\n/);
    expect(r.out).to.match(/ 89: .* IR-MLX5-IMS-0000:3b:00\.0 {2}63-edge {6}mlx5_comp63@pci:0000:3b:00\.0\n/);
    expect(r.out).to.match(/irq domain hierarchy:\nVECTOR \(chip APIC, root, MSI parent, mapped \d+\)\n\|-- INTEL-IR-0-13 .*\n\| {3}\|-- IR-PCI-MSIX-0000:3b:00\.0-12 .*irqs 25\)\n\| {3}`-- IR-MLX5-IMS-0000:3b:00\.0-15 .*mapped 64, irqs 26-89\)/);
    expect(r.out).to.match(/mlx5_core 0000:3b:00\.0: health recovery succeeded\n/);
    expect(readFileSync(join(dir, "h.dot"), "utf8")).to.match(/^digraph irq_hierarchy \{[\s\S]*irq26 -> irq26_l0/);
    expect(readFileSync(join(dir, "h.svg"), "utf8")).to.match(/<svg[\s\S]*<\/svg>/);
  });

  it("trace writes each format: text table, ftrace, a valid Perfetto timeline, mermaid", async () => {
    const text = await cli("trace", "testnic-basic");
    expect(text.code).to.equal(0);
    expect(text.out.split("\n")[0]).to.match(/^TIME\(s\)\s+CPU\s+CONTEXT\s+IRQS\s+PREEMPT\s+LOCKS\s+IRQ\s+HWIRQ\s+DOMAIN\s+CHIP\s+CALL$/);
    expect(text.out).to.match(/request_threaded_irq\(\) \{/);
    const ft = await cli("trace", "testnic-basic", "--format", "ftrace");
    expect(ft.out).to.match(/^# tracer: nop\n/);
    expect(ft.out).to.match(/\n {10}<idle>-0 {7}\[00\d\] d\.h1\. {4} 0\.\d{6}: irq_handler_entry: irq=25 name=testnic-q0\n/);
    const pf = await cli("trace", "testnic", "--format", "perfetto", "--out", join(dir, "t.json"));
    expect(pf.code).to.equal(0);
    expect(validateChromeTrace(JSON.parse(readFileSync(join(dir, "t.json"), "utf8")))).to.deep.equal([]);
    const mm = await cli("trace", "irq_sim", "--format", "mermaid");
    expect(mm.out).to.match(/^sequenceDiagram\n {2}participant P0 as driver/);
    expect(mm.out).to.match(/->>P\d+: irq_unmask\(irq 25, hwirq 0x0\)/);
  });

  it("explore runs the seeds with a progress bar and prints the failing seed; exit 1", async () => {
    const ok = await cli("explore", "irq_sim", "--seeds", "3");
    expect(ok.code, ok.out + ok.err).to.equal(0);
    expect(ok.err).to.contain(progressBar(3, 3, 0));
    expect(ok.out).to.match(/3 seeds run, 0 failed\n$/);
    registerExploreChecker({ name: "test-odd-seed", description: "fails odd seeds (test only)", check: (run) => (run.m.options.seed % 2 ? [`seed ${run.m.options.seed} is odd`] : []) });
    const bad = await cli("explore", "irq_sim", "--seeds", "2", "--first", "4", "--checker", "test-odd-seed");
    expect(bad.code).to.equal(1);
    expect(bad.out).to.match(/^seed 5 FAILED\n {2}test-odd-seed: seed 5 is odd\n {2}replay: irqlab explore irq_sim --first 5 --seeds 1 --strategy random --cpus 4\n/);
    expect(bad.out).to.match(/2 seeds run, 1 failed; first failing seed: 5\n$/);
  });

  it("explore --seed runs the replay line a failing exploration run prints, to the same result; exit 1 on a violation", async () => {
    const bad = await cli("explore", "msix-churn-ir", "--seed", "3", "--strategy", "pct:3:3:48", "--faults", "iec-skip-flush");
    expect(bad.code, bad.out + bad.err).to.equal(1);
    expect(bad.out).to.match(/^msix-churn-ir seed 3 strategy pct:3:3:48 faults iec-skip-flush: 2 violation\(s\) /);
    expect(bad.out).to.match(/\n {2}\[irte-live-vector\] at 0\.000680000: IEC caches IRTE 0 as vector 0x20 on APIC 1, the table says vector 0x21 on APIC 2: a flush is missing\n/);
    const replay = /\n {2}replay: irqlab (.*)\n$/.exec(bad.out)![1]!.split(" ");
    const again = await cli(...replay);
    expect(again.code).to.equal(1);
    expect(again.out).to.equal(bad.out);
    // a plan given as JSON, as the replay line of a run with a hand-written plan quotes it
    const plan = /\n {2}plan: (.*)\n/.exec(bad.out)![1]!;
    const byPlan = await cli("explore", "msix-churn-ir", "--seed", "3", "--strategy", "pct:3:3:48", "--faults", plan);
    expect(byPlan.code).to.equal(1);
    expect(byPlan.out.split("\n")[0]).to.match(/ 2 violation\(s\) \(2045 trace records, digest 2045:/);
    const race = await cli("explore", "ims-churn-idxd", "--seed", "87", "--strategy", "fifo", "--faults", "cpu-offline");
    expect(race.code, race.out).to.equal(0);
    expect(race.out).to.match(/: ok, known Linux race linux-race:stale-effective-affinity /);
  });

  it("review --shipped passes on the chips irqlab ships", async () => {
    const r = await cli("review", "--shipped", "--out", dir);
    expect(r.code, r.out).to.equal(0);
    // two MSI-X chips and four IMS array chips run all nine checks; the lazy-mask mlx5 IMS chip seven
    expect(r.out.match(/ 9\/9 passed/g)).to.have.length(6);
    expect(r.out.match(/ 7\/7 passed/g)).to.have.length(2);
    expect(r.out).to.not.match(/FAIL/);
  });

  it("list names the scenarios, strategies and checkers", async () => {
    const r = await cli("list");
    expect(r.code).to.equal(0);
    for (const s of ["default", "testnic-basic", "testnic", "testnic-noir", "irq_sim", "random", "fifo", "scenario", "no-stray-vector", "ims-churn-idxd", "msix-churn-ir", "cpu-offline", "iec-skip-flush"]) expect(r.out).to.match(new RegExp(`\\n  ${s} `));
  });

  it("usage errors exit 2 with a message; --help exits 0 everywhere", async () => {
    for (const argv of [["bogus"], ["run", "nosuch"], ["trace", "default", "--format", "svg"], ["explore", "default"], ["explore", "default", "--seeds", "0"], ["explore", "default", "--seed", "1"], ["explore", "ims-churn-idxd", "--seed", "1", "--faults", "bogus"], ["explore", "ims-churn-idxd", "--seed", "1", "--strategy", "bogus"], ["explore", "ims-churn-idxd", "--seed", "1", "--faults", "{no"], ["explore", "irq_sim", "--seeds", "1", "--faults", "cpu-offline"], ["review"], ["review", "examples/nonexistent.ts"], ["run", "--seed", "x"]]) {
      const r = await cli(...argv);
      expect(r.code, argv.join(" ")).to.equal(2);
      expect(r.err, argv.join(" ")).to.match(/\S/);
    }
    for (const argv of [["--help"], ["run", "--help"], ["trace", "--help"], ["review", "--help"], ["explore", "--help"], ["list", "--help"]]) {
      const r = await cli(...argv);
      expect(r.code, argv.join(" ")).to.equal(0);
      expect(r.out, argv.join(" ")).to.match(/^Usage: irqlab/);
    }
  });

  it("the binary runs through npx with the exit codes scripts see", function () {
    this.timeout(60000);
    const bad = spawnSync("npx", ["irqlab", "run", "nosuch"], { encoding: "utf8" });
    expect(bad.status).to.equal(2);
    expect(bad.stderr).to.match(/unknown scenario "nosuch"/);
  });
});
