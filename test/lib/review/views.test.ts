// SPDX-License-Identifier: GPL-2.0-only
// Kernel views and callback traces of deterministic scenarios against
// committed golden files (regenerate with UPDATE_GOLDEN=1 after a deliberate
// change, and review the diff), plus structural comparisons with the real
// kernel's captures where the versions agree.

import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { expect } from "chai";
import { irq_domain_debugfs_names } from "../../../lib/irq/irqdomain.ts";
import { callbackRows, renderCallbackMermaid, renderCallbackTable } from "../../../lib/review/callbacks.ts";
import { ftraceHeader, latFlags, renderFtrace } from "../../../lib/review/ftrace.ts";
import { scenarios, type ScenarioRun } from "../../../lib/review/scenarios.ts";

const HERE = dirname(fileURLToPath(import.meta.url));
const GOLDEN = join(HERE, "golden");
const ORACLE = join(HERE, "..", "..", "..", "docs", "oracle");
const update = process.env.UPDATE_GOLDEN === "1";

function golden(scenario: string, file: string, actual: string): void {
  const path = join(GOLDEN, scenario, file);
  if (update) {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, actual);
    return;
  }
  expect(existsSync(path), `missing golden file ${path} (UPDATE_GOLDEN=1 creates it)`).to.equal(true);
  expect(actual, `${scenario}/${file} differs from its golden file (UPDATE_GOLDEN=1 to accept)`).to.equal(readFileSync(path, "utf8"));
}

const runs = new Map<string, ScenarioRun>();
async function scenario(name: string): Promise<ScenarioRun> {
  let r = runs.get(name);
  if (!r) runs.set(name, (r = await scenarios[name]!.run({ seed: 1 })));
  return r;
}

for (const name of ["default", "testnic-basic", "testnic-noir", "irq_sim"]) {
  describe(`lib/review golden views: scenario ${name}`, () => {
    it("/proc/interrupts", async () => golden(name, "proc_interrupts.txt", (await scenario(name)).m.procInterrupts()));

    it("debugfs irqs/N of the scenario's irqs", async () => {
      const r = await scenario(name);
      for (const irq of r.irqs) golden(name, `debugfs_irqs_${irq}.txt`, r.m.debugfsIrq(irq) ?? "(no such file)\n");
    });

    it("debugfs domains/NAME of every domain file", async () => {
      const r = await scenario(name);
      const names = r.m.enter(() => irq_domain_debugfs_names());
      expect(names.length).to.be.greaterThan(0);
      for (const d of ["default", ...names]) golden(name, `debugfs_domains_${d.replace(/[^A-Za-z0-9._-]/g, "_")}.txt`, r.m.debugfsDomain(d)!);
    });

    it("ftrace (kernel events)", async () => golden(name, "ftrace.txt", renderFtrace((await scenario(name)).m.trace(), { cpus: 4 })));

    it("dmesg", async () => golden(name, "dmesg.txt", (await scenario(name)).m.dmesg()));

    it("callback trace (text table and Mermaid)", async () => {
      const r = await scenario(name);
      const rows = callbackRows(r.m.trace(), { irqs: r.irqs });
      golden(name, "callbacks.txt", renderCallbackTable(rows));
      golden(name, "callbacks.mermaid", renderCallbackMermaid(rows));
    });
  });
}

/** The event lines of an ftrace capture. */
function oracleEvents(file: string): string[] {
  return readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => /^ *\S+-\d+ +\[\d{3}\] \S{5} +\d+\.\d{6}: \w+: /.test(l));
}

const LINE = /^( *)(\S+)-(\d+)( +)\[(\d{3})\] ([.dDbX][.nNpB][.hHsZz][.\da-f][.\da-f]) ( *\d+\.\d{6}): (\w+): (.*)$/;

describe("lib/review ftrace view against Linux 6.12 (test/lib/review/oracle/ftrace-events.txt)", () => {
  const oracle = oracleEvents(join(HERE, "oracle", "ftrace-events.txt"));

  it("prints the nop tracer's header as Linux does", () => {
    const text = readFileSync(join(HERE, "oracle", "ftrace-events.txt"), "utf8");
    const head = text.slice(text.indexOf("# tracer: nop"));
    const entries = /entries-written: (\d+)\/\d+/.exec(head)![1]!;
    expect(head.startsWith(ftraceHeader(Number(entries), 4))).to.equal(true);
  });

  it("lays out every line in the kernel's columns: comm, pid, [cpu], five flags, timestamp, event", async () => {
    expect(oracle.length).to.be.greaterThan(100);
    const ours = renderFtrace((await scenario("testnic-noir")).m.trace(), { header: false }).trimEnd().split("\n");
    expect(ours.length).to.be.greaterThan(10);
    const cols = (l: string): [number, number, number] => [l.indexOf("["), l.indexOf("] ") + 2, l.indexOf(": ")];
    for (const l of [...oracle, ...ours]) {
      expect(l, l).to.match(LINE);
      const m = LINE.exec(l)!;
      // "%16s-%-7d " for pids below 10^7, "%5lu.%06lu" for uptimes below 10^5 s
      expect(m[1]!.length + m[2]!.length, l).to.equal(16);
      expect(m[3]!.length + m[4]!.length, l).to.equal(8);
      expect(cols(l), l).to.deep.equal([25, 31, 49]);
    }
  });

  it("prints the shared events with the same fields in the same order", async () => {
    const shape = (l: string): [string, string] => {
      const m = LINE.exec(l)!;
      return [m[8]!, m[9]!.replace(/=[^ ,]*/g, "=")];
    };
    const theirs = new Map(oracle.map(shape));
    const lines = [];
    for (const n of ["testnic", "testnic-noir"]) lines.push(...renderFtrace((await scenario(n)).m.trace(), { header: false }).trimEnd().split("\n"));
    const ours = new Map(lines.map(shape));
    const shared = [...ours.keys()].filter((k) => theirs.has(k));
    for (const ev of ["irq_handler_entry", "irq_handler_exit", "vector_update", "vector_config", "irq_matrix_alloc", "irq_matrix_free"]) expect(shared, ev).to.include(ev);
    for (const ev of shared) expect(ours.get(ev), ev).to.equal(theirs.get(ev));
  });

  it("sets the flag columns from the context: d/D/b, h/s/H, preempt depth", () => {
    expect(latFlags({ irqsOff: true, preempt: 0x10000 })).to.equal("d.h..");
    expect(latFlags({ irqsOff: true, preempt: 0x10001 })).to.equal("d.h1.");
    expect(latFlags({ irqsOff: false, preempt: 0x100 })).to.equal("..s..");
    expect(latFlags({ irqsOff: true, preempt: 0x10100 })).to.equal("d.H..");
    expect(latFlags({ irqsOff: false, preempt: 0x200 })).to.equal("b....");
    expect(latFlags({ irqsOff: true, preempt: 0x202 })).to.equal("D..2.");
    expect(latFlags({ irqsOff: false, preempt: 0x14 })).to.equal("...f.");
  });
});

describe("lib/review /proc/interrupts against Linux 6.12 (docs/oracle/baseline.txt)", () => {
  const base = readFileSync(join(ORACLE, "baseline.txt"), "utf8").split("\n");
  const header = base.find((l) => /^ +CPU0 +CPU1 +CPU2 +CPU3 +$/.test(l))!;
  const arch = base.filter((l) => /^[A-Z]{3}:/.test(l));

  it("has the same header and the same x86 arch rows, in order, with the same descriptions", async () => {
    const ours = (await scenario("default")).m.procInterrupts().split("\n");
    expect(ours[0]).to.equal(header);
    const ourArch = ours.filter((l) => /^[A-Z]{3}:/.test(l));
    const label = (l: string): string => l.slice(0, 4);
    const desc = (l: string): string => l.replace(/^[A-Z]{3}:( +\d+)+/, "");
    expect(ourArch.map(label)).to.deep.equal(arch.map(label));
    expect(ourArch.map(desc)).to.deep.equal(arch.map(desc));
  });

  it("prints MSI-X rows as IR-PCI-MSIX-<bdf>, the entry index and the flow name, one space closer than 6.12", async () => {
    const theirs = base.find((l) => / IR-PCI-MSIX-0000:00:02\.0 +0-edge +nvme0q0$/.test(l))!;
    const ours = (await scenario("testnic-basic")).m.procInterrupts().split("\n").find((l) => / testnic-q0$/.test(l))!;
    const tail = (l: string): string => l.replace(/^ *\d+:( +\d+){4}/, "");
    // 6.12 prints "%10u " per CPU then " %8s" (two spaces before the chip);
    // v6.13+ (6.18) prints " %10u" per CPU, one ' ', then "%8s"
    expect(tail(theirs)).to.match(/^ {2}IR-PCI-MSIX-0000:00:02\.0 {3}0-edge {6}nvme0q0$/);
    expect(tail(ours)).to.match(/^ IR-PCI-MSIX-0000:3b:00\.0 {3}0-edge {6}testnic-q0$/);
  });
});
