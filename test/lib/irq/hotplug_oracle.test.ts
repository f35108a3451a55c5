// SPDX-License-Identifier: GPL-2.0-only
// CPU hotplug (kernel/irq/cpuhotplug.c, x86 fixup_irqs()/lapic_offline()/
// lapic_online(), the vector matrix) against a real Linux 6.12 kernel:
// docs/oracle/hotplug.txt (state tables, trace events, dmesg, /proc/interrupts
// per step) and docs/oracle/hotplug-graph.txt (function_graph of the dying and
// the returning CPU). The machine and the readers are in hotplug_oracle_fixture.ts.
import { expect } from "chai";
import type { TestNic } from "../../../lib/hw/devices/testnic.ts";
import { EINVAL, EPERM } from "../../../lib/kernel/errno.ts";
import { add_cpu, remove_cpu } from "../../../lib/kernel/cpu.ts";
import { dmesgLines } from "../../harness.ts";
import {
  align,
  expectStep,
  names,
  normalize,
  oracleRig,
  oracleText,
  ourTable,
  parseSections,
  section,
  graphBlocks,
  ourBlocks,
  type Block,
  type OracleRig,
  type Section,
  type Table,
} from "./hotplug_oracle_fixture.ts";

const S = parseSections(oracleText("hotplug.txt"));
const INIT = section(S, "initial state").table;
const ORACLE_NAMES = names(INIT);
/** Action names of the vectors whose mask write-back the oracle refused (managed=1). */
const MANAGED = new Set(
  section(S, "managed probe")
    .lines.map((l) => /^irq (\d+): managed=1/.exec(l))
    .filter((x) => x !== null)
    .map((x) => ORACLE_NAMES.get(Number(x[1]))!),
);

interface Done {
  ret: number;
  before: Table;
  after: Table;
  /** "event: text" of the tracepoints the step recorded. */
  trace: string[];
  dmesg: string[];
  /** cat /proc/interrupts after the step */
  interrupts: string[];
}

/** The steps of hotplug.txt, run once on one machine; the tests read the results. */
const STEPS: { id: string; online: number[]; offline?: true; act: (r: OracleRig) => Promise<number> | number }[] = [
  { id: "A1", online: [0, 1, 3], offline: true, act: (r) => r.m.run(() => remove_cpu(2)) },
  { id: "A3", online: [0, 1, 2, 3], act: (r) => r.m.run(() => add_cpu(2)) },
  { id: "B1", online: [0, 1, 3], offline: true, act: (r) => r.m.run(() => remove_cpu(2)) },
  { id: "B2", online: [0, 1], offline: true, act: (r) => r.m.run(() => remove_cpu(3)) },
  { id: "B4", online: [0, 1, 3], act: (r) => r.m.run(() => add_cpu(3)) },
  { id: "B5", online: [0, 1, 2, 3], act: (r) => r.m.run(() => add_cpu(2)) },
  { id: "C1", online: [0, 1, 2, 3], act: (r) => r.m.writeProcIrq(r.irq.get("nvme0q0")!, "smp_affinity", "4") },
  { id: "C2", online: [0, 1, 3], offline: true, act: (r) => r.m.run(() => remove_cpu(2)) },
  { id: "C4", online: [0, 1, 3], act: (r) => r.m.writeProcIrq(r.irq.get("nvme0q0")!, "smp_affinity", "4") },
  { id: "C5", online: [0, 1, 2, 3], act: (r) => r.m.run(() => add_cpu(2)) },
];

/** The oracle state a step starts from: the table of the section before it. */
function oracleBefore(id: string): Table {
  const i = S.findIndex((s) => s.title.startsWith(`${id}:`));
  for (let j = i - 1; j >= 0; j--) if (S[j]!.table.size) return S[j]!.table;
  throw new Error(`nothing before ${id}`);
}

/** The count columns of one /proc/interrupts row. */
function counts(lines: string[], name: string): number[] {
  const row = lines.find((l) => l.endsWith(` ${name}`));
  if (!row) throw new Error(`no /proc/interrupts row for ${name}`);
  return row
    .split(":")[1]!
    .trim()
    .split(/\s+/)
    .filter((w) => /^\d+$/.test(w))
    .map(Number);
}

function oracleInterrupts(s: Section): string[] {
  const i = s.lines.indexOf("--- /proc/interrupts");
  return s.lines.slice(i + 1);
}

describe("CPU hotplug against the real kernel (docs/oracle/hotplug.txt)", () => {
  let r: OracleRig;
  const done = new Map<string, Done>();
  let initial: { table: Table; interrupts: string[]; writeBack: Map<string, number> };

  before(async () => {
    r = await oracleRig();
    // the oracle's nvme0q3 took 3 interrupts on CPU2 during boot
    const nvme = r.m.pci.device<TestNic>("0000:00:02.0");
    for (let i = 0; i < 3; i++) {
      nvme.raise(3);
      await r.m.idle(1e6);
    }
    const table = ourTable(r);
    const writeBack = new Map<string, number>();
    for (const [name, row] of table) {
      writeBack.set(name, r.m.writeProcIrq(row.irq, "smp_affinity", r.m.procIrq(row.irq, "smp_affinity")!.trim()));
    }
    initial = { table, interrupts: r.m.procInterrupts().split("\n"), writeBack };
    for (const step of STEPS) {
      // what an offline does depends on where the non-managed vectors sit
      if (step.offline || step.id === "C1") await align(r, oracleBefore(step.id), MANAGED);
      const before = ourTable(r);
      const t0 = r.m.trace().length;
      const d0 = dmesgLines(r.m).length;
      const ret = await step.act(r);
      await r.m.idle(20e6);
      const trace = r.m
        .trace()
        .slice(t0)
        .flatMap((e) => (e.kind === "tp" ? [`${e.event}: ${e.text}`] : []));
      done.set(step.id, { ret, before, after: ourTable(r), trace, dmesg: dmesgLines(r.m).slice(d0), interrupts: r.m.procInterrupts().split("\n") });
    }
  });

  const step = (id: string): Done => done.get(id)!;
  const ourNames = (): Map<number, string> => new Map([...r.irq].map(([n, i]) => [i, n]));

  it("starts from the kernel's masks: managed vectors one per CPU, the rest on all CPUs, and refuses the write-back of exactly the managed ones", () => {
    expect(MANAGED.size).to.equal(8);
    for (const [name, o] of INIT) {
      const ours = initial.table.get(name)!;
      expect([name, ours.aff]).to.deep.equal([name, o.aff]);
      if (MANAGED.has(name)) expect([name, ours.eff]).to.deep.equal([name, o.eff]);
      expect([name, initial.writeBack.get(name) === -EPERM]).to.deep.equal([name, MANAGED.has(name)]);
    }
  });

  it("offlining CPU2 shuts its managed vectors down onto CPU0 and moves only the non-managed vectors that were on CPU2 (A1)", () => {
    const d = step("A1");
    expect(d.ret).to.equal(0);
    expectStep("A1", oracleBefore("A1"), section(S, "A1:").table, d.before, d.after, MANAGED, [0, 1, 3]);
    expect(d.after.get("nvme0q3")!.eff).to.equal("0");
    expect(d.after.get("virtio0-req.2")!.eff).to.equal("0");
  });

  it("an offline records no irq_vectors, irq_matrix or qi_submit event: the dying CPU is out of cpu_online_mask when it migrates (A1, B1, B2, C2)", () => {
    for (const id of ["A1", "B1", "B2", "C2"]) {
      expect(section(S, `${id}:`).trace, `oracle ${id}`).to.deep.equal([]);
      expect(step(id).trace, id).to.deep.equal(section(S, `${id}:`).trace);
    }
  });

  it("onlining CPU2 restarts its managed vectors in irq order with the kernel's trace events and leaves the moved non-managed vectors where they are (A3)", () => {
    const d = step("A3");
    expect(d.ret).to.equal(0);
    expectStep("A3", oracleBefore("A3"), section(S, "A3:").table, d.before, d.after, MANAGED, [0, 1, 2, 3]);
    expect(normalize(d.trace, ourNames())).to.deep.equal(normalize(section(S, "A3:").trace, ORACLE_NAMES));
  });

  it("with CPU2 and CPU3 offline both CPUs' managed queues are shut down; onlining CPU3, then CPU2, restarts each CPU's own (B1-B5)", () => {
    for (const id of ["B1", "B2", "B4", "B5"]) {
      const d = step(id);
      expect(d.ret, id).to.equal(0);
      expectStep(id, oracleBefore(id), section(S, `${id}:`).table, d.before, d.after, MANAGED, STEPS.find((s) => s.id === id)!.online);
    }
    expect(["nvme0q3", "nvme0q4", "virtio0-req.2", "virtio0-req.3"].map((n) => step("B2").after.get(n)!.eff)).to.deep.equal(["0", "0", "0", "0"]);
    for (const id of ["B4", "B5"]) expect(normalize(step(id).trace, ourNames()), id).to.deep.equal(normalize(section(S, `${id}:`).trace, ORACLE_NAMES));
  });

  it("a non-managed vector whose only CPU goes offline breaks to the online CPUs and stays there when the CPU returns; a mask of offline CPUs only is refused with EINVAL (C1-C5)", () => {
    expect(step("C1").ret).to.be.greaterThan(0);
    for (const id of ["C1", "C2", "C4", "C5"]) {
      expectStep(id, oracleBefore(id), section(S, `${id}:`).table, step(id).before, step(id).after, MANAGED, STEPS.find((s) => s.id === id)!.online);
    }
    expect(step("C2").after.get("nvme0q0")!.aff).to.equal("0-1,3");
    expect(section(S, "C4:").lines).to.include("sh: write error: Invalid argument");
    expect(step("C4").ret).to.equal(-EINVAL);
    expect(step("C5").after.get("nvme0q0")).to.deep.equal(step("C4").after.get("nvme0q0"));
    expect(normalize(step("C5").trace, ourNames())).to.deep.equal(normalize(section(S, "C5:").trace, ORACLE_NAMES));
  });

  it("dmesg of each offline and online is the kernel's smpboot line, and a broken affinity prints nothing at the default log level", () => {
    for (const s of STEPS) expect(step(s.id).dmesg, s.id).to.deep.equal(section(S, `${s.id}:`).dmesg);
    expect(step("A1").dmesg).to.deep.equal(["smpboot: CPU 2 is now offline"]);
    expect(step("A3").dmesg).to.deep.equal(["smpboot: Booting Node 0 Processor 2 APIC 0x2"]);
  });

  it("/proc/interrupts has a column for each online CPU only, and an offline CPU's counts come back with it", () => {
    const header = (lines: string[]): string => lines.find((l) => /^\s+CPU0/.test(l))!;
    expect(header(initial.interrupts)).to.equal(section(S, "initial state").headers[0]);
    expect(counts(initial.interrupts, "nvme0q3")).to.deep.equal(counts(oracleInterrupts(section(S, "initial state")), "nvme0q3"));
    for (const s of STEPS) {
      expect(header(step(s.id).interrupts), s.id).to.equal(section(S, `${s.id}:`).headers[0]);
      expect(counts(step(s.id).interrupts, "nvme0q0").length, s.id).to.equal(s.online.length);
    }
    for (const id of ["A1", "A3"]) expect(counts(step(id).interrupts, "nvme0q3"), id).to.deep.equal(counts(oracleInterrupts(section(S, `${id}:`)), "nvme0q3"));
  });
});

describe("CPU hotplug against the real kernel's function_graph (docs/oracle/hotplug-graph.txt)", () => {
  const G = parseSections(oracleText("hotplug-graph.txt"));
  const GBEFORE = section(G, "state before").table;
  const GNAMES = names(GBEFORE);
  const GRAPH = section(G, "trace").lines;
  let r: OracleRig;
  let down: Block[];
  let up: Block[];
  let afterDown: Table;
  let afterUp: Table;

  /** The device vectors' blocks, by action name. */
  const named = (blocks: Block[], nameOf: Map<number, string>): [string, string[]][] =>
    blocks.filter((b) => nameOf.has(b.irq)).map((b) => [nameOf.get(b.irq)!, b.ops]);

  before(async () => {
    r = await oracleRig();
    // nvme0q0 pinned to CPU2 and the other non-managed vectors where the guest had them
    await align(r, GBEFORE, MANAGED);
    const t0 = r.m.trace().length;
    expect(await r.m.run(() => remove_cpu(2))).to.equal(0);
    down = ourBlocks(r.m, t0, 2);
    afterDown = ourTable(r);
    const t1 = r.m.trace().length;
    expect(await r.m.run(() => add_cpu(2))).to.equal(0);
    up = ourBlocks(r.m, t1, 2);
    afterUp = ourTable(r);
  });

  it("the dying CPU takes the vectors in irq order: a move under IR sets the affinity down the hierarchy with no MSI write, a managed shutdown masks, then deactivates top-down", () => {
    const theirs = named(graphBlocks(GRAPH, "irq_migrate_all_off_this_cpu"), GNAMES);
    expect(theirs.map(([n]) => n)).to.deep.equal(["nvme0q0", "nvme0q3", "virtio0-req.2", "eth0-tx-0"]);
    expect(named(down, new Map([...r.irq].map(([n, i]) => [i, n])))).to.deep.equal(theirs);
    expectStep("offline", GBEFORE, section(G, "state after offline").table, GBEFORE, afterDown, MANAGED, [0, 1, 3]);
  });

  it("the returning CPU restarts each managed vector: activate bottom-up, compose and write the message, set the affinity, unmask", () => {
    const theirs = named(graphBlocks(GRAPH, "irq_affinity_online_cpu"), GNAMES);
    expect(theirs.map(([n]) => n)).to.deep.equal(["nvme0q3", "virtio0-req.2"]);
    expect(named(up, new Map([...r.irq].map(([n, i]) => [i, n])))).to.deep.equal(theirs);
    expectStep("online", section(G, "state after offline").table, section(G, "state after online").table, afterDown, afterUp, MANAGED, [0, 1, 2, 3]);
  });
});
