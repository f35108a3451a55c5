// SPDX-License-Identifier: GPL-2.0-only
// The non-remapped x86 MSI affinity path against Linux 6.12:
// docs/oracle/ftrace-affinity-noir.txt is the function_graph trace of an
// affinity write to a non-managed NVMe MSI-X vector booted with
// intremap=off (CPU3 vector 34 -> CPU1 vector 36). The write only records a
// pending mask (IRQCHIP_MOVE_DEFERRED; IRQD_MOVE_PCNTXT clear in 6.12); the
// next interrupt on the old CPU moves it from apic_ack_edge() (mask, the
// interim message on the old CPU, the final one, unmask); the first
// interrupt on the new CPU schedules the cleanup and the timer frees the old
// vector on the old CPU. The call trees are read from the capture and
// mapped to irqlab's chip callbacks and tracepoints.

import { expect } from "chai";
import { oracleText } from "../../oracle.ts";
import { cpumask_first, cpumask_of } from "../../../lib/kernel/cpumask.ts";
import { msleep } from "../../../lib/kernel/delay.ts";
import { irq_set_affinity } from "../../../lib/irq/manage_affinity.ts";
import { irq_get_irq_data } from "../../../lib/irq/irqdesc.ts";
import type { Machine } from "../../../lib/machine.ts";
import type { TraceRecord } from "../../../lib/sim/trace.ts";
import { irqd_cfg } from "../../../irqchip/x86/vector.ts";
import { nicRig } from "../../drivers/nic_fixture.ts";

const CAPTURE = "ftrace-affinity-noir.txt";

/** One line of a function_graph trace: CPU, call depth and the function or event name. */
interface GraphLine {
  cpu: number;
  depth: number;
  /** a function name, or "ev:<event>" for a trace event comment */
  name: string;
  /** "{" opens a call, "}" closes one, ";" is a leaf, "" an event */
  kind: "{" | "}" | ";" | "";
  text: string;
}

function readGraph(): GraphLine[] {
  const text = oracleText(CAPTURE);
  const out: GraphLine[] = [];
  for (const l of text.split("\n")) {
    const m = /^ (\d+)\)\s+\S+\s+\| (\s*)(.*)$/.exec(l);
    if (!m) continue;
    const depth = m[2]!.length / 2;
    const body = m[3]!;
    const ev = /^\/\* (\w+): (.*) \*\/$/.exec(body);
    if (ev) out.push({ cpu: Number(m[1]), depth, name: `ev:${ev[1]}`, kind: "", text: ev[2]! });
    else if (body === "}") out.push({ cpu: Number(m[1]), depth, name: "}", kind: "}", text: "" });
    else {
      const f = /^([\w.]+)\(\) ?([{;])$/.exec(body.replace("();", "() ;"));
      if (!f) throw new Error(`${CAPTURE}: unparsed trace line: ${l}`);
      out.push({ cpu: Number(m[1]), depth, name: f[1]!, kind: f[2] as "{" | ";", text: "" });
    }
  }
  return out;
}

/** The lines of the top-level call that starts at `start` (up to its closing brace). */
function block(g: GraphLine[], start: number): GraphLine[] {
  const cpu = g[start]!.cpu;
  if (g[start]!.kind === ";") return [g[start]!];
  const out: GraphLine[] = [];
  for (let i = start; i < g.length; i++) {
    if (g[i]!.cpu !== cpu) continue;
    out.push(g[i]!);
    if (g[i]!.depth === 0 && g[i]!.kind === "}") break;
  }
  return out;
}

// Kernel functions of the capture and the irqlab record each one is. The
// callbacks irqlab records are chip callbacks; internal helpers have no
// record and are dropped. An unknown name fails the test: a new capture has
// to be mapped, not silently skipped.
const MSIX = "MSIX";
const KERNEL_TO_IRQLAB: Record<string, string | null> = {
  apic_ack_edge: "APIC.irq_ack",
  pci_irq_mask_msix: `${MSIX}.irq_mask`,
  msi_set_affinity: `${MSIX}.irq_set_affinity`,
  apic_set_affinity: "APIC.irq_set_affinity",
  pci_msi_domain_write_msg: `${MSIX}.irq_write_msi_msg`,
  pci_irq_unmask_msix: `${MSIX}.irq_unmask`,
  apic_retrigger_irq: "APIC.irq_retrigger",
  __irq_move_irq: null,
  irq_move_masked_irq: null,
  irq_do_set_affinity: null,
  assign_vector_locked: null,
  irq_matrix_alloc: null,
  apic_update_vector: null,
  apic_update_irq_cfg: null,
  __irq_msi_compose_msg: null,
  __pci_write_msi_msg: null,
  irq_set_thread_affinity: null,
  __vector_schedule_cleanup: null,
};
const EVENTS = new Set(["vector_config", "vector_update", "vector_clear", "vector_activate", "vector_deactivate", "vector_free_moved", "irq_matrix_alloc", "irq_matrix_free", "qi_submit"]);

function kernelSequence(lines: GraphLine[]): string[] {
  const out: string[] = [];
  for (const l of lines) {
    if (l.kind === "}") continue;
    if (l.kind === "") {
      out.push(l.name.slice(3));
      continue;
    }
    if (!Object.hasOwn(KERNEL_TO_IRQLAB, l.name)) throw new Error(`${CAPTURE}: ${l.name}() has no irqlab mapping`);
    const r = KERNEL_TO_IRQLAB[l.name];
    if (r) out.push(r);
  }
  return out;
}

/** irqlab's chip callbacks (outer chip as MSIX) and the capture's tracepoints, for `irq`, in records `recs`. */
function irqlabSequence(recs: TraceRecord[], irq: number): string[] {
  const out: string[] = [];
  for (const r of recs) {
    if (r.kind === "irq.chip" && r.phase === "enter" && r.irq === irq) out.push(`${r.chip.startsWith("PCI-MSIX-") ? MSIX : r.chip}.${r.cb}`);
    else if (r.kind === "tp" && EVENTS.has(r.event)) out.push(r.event);
  }
  return out;
}

/** The records of the first APIC ack of `irq` on `cpu` at or after trace index `from` (its enter to its exit). */
function apicAck(m: Machine, irq: number, cpu: number, from: number): { recs: TraceRecord[]; end: number } {
  const t = m.trace();
  const start = t.findIndex((r, i) => i >= from && r.kind === "irq.chip" && r.phase === "enter" && r.cb === "irq_ack" && r.chip === "APIC" && r.irq === irq && r.cpu === cpu);
  if (start < 0) throw new Error(`no APIC irq_ack of irq ${irq} on CPU${cpu}`);
  const end = t.findIndex((r, i) => i > start && r.kind === "irq.chip" && r.phase === "exit" && r.cb === "irq_ack" && r.chip === "APIC" && r.irq === irq);
  return { recs: t.slice(start, end + 1), end };
}

const field = (text: string, name: string): number => Number(new RegExp(`\\b${name}=(\\w+)`).exec(text)![1]);

describe(`irqchip/x86 msi_set_affinity() against Linux 6.12 without remapping (docs/oracle/${CAPTURE})`, () => {
  const g = readGraph();
  const moveAt = g.findIndex((l, i) => l.depth === 0 && l.name === "apic_ack_edge" && l.kind === "{" && block(g, i).some((b) => b.name === "__irq_move_irq"));
  const move = block(g, moveAt);
  const oldCpu = move[0]!.cpu;
  const update = move.find((l) => l.name === "ev:vector_update")!;
  const newCpu = field(update.text, "cpu");
  // the first interrupt on the new CPU after the move
  const firstNewAt = g.findIndex((l, i) => i > moveAt && l.depth === 0 && l.name === "apic_ack_edge" && l.cpu === newCpu && l.kind === "{");
  const cleanupAt = g.findIndex((l, i) => i > moveAt && l.depth === 0 && l.name === "vector_cleanup_callback");

  async function rig() {
    const { m, hw, priv } = await nicRig({ machine: { iommu: { interruptRemapping: false } } });
    const q = priv.queues[0]!;
    const cfg = () => m.enter(() => ({ ...irqd_cfg(irq_get_irq_data(q.irq)!)! }));
    const old = cfg();
    // CPU (old + 2) already holds the vectors of two other queues, so the
    // move changes CPU and vector, as in the capture
    const to = (old.dest_apicid + 2) % 4;
    return { m, hw, q, old, to, cfg };
  }

  it("reads a capture that moved CPU and vector, from an interrupt on the old CPU", () => {
    expect(moveAt, "no apic_ack_edge() with __irq_move_irq in the capture").to.be.greaterThan(-1);
    expect(field(update.text, "prev_cpu")).to.equal(oldCpu);
    expect(field(update.text, "vector")).to.not.equal(field(update.text, "prev_vector"));
    expect(newCpu).to.not.equal(oldCpu);
    expect(firstNewAt).to.be.greaterThan(moveAt);
    expect(cleanupAt).to.be.greaterThan(moveAt);
  });

  it("only records the mask on the write: no chip callback, the effective CPU stays", async () => {
    const { m, q, old, to } = await rig();
    // 6.12: irq_affinity_proc_write -> irq_set_affinity -> irq_set_affinity_locked(), a leaf
    const write = block(g, g.findIndex((l) => l.depth === 0 && l.name === "irq_affinity_proc_write"));
    expect(write.find((l) => l.name === "irq_set_affinity_locked")!.kind).to.equal(";");
    expect(oracleText(CAPTURE)).to.match(new RegExp(`effective_affinity_list after the write: ${oldCpu}\\n`));
    const from = m.trace().length;
    const eff = await m.run(() => {
      expect(irq_set_affinity(q.irq, cpumask_of(to))).to.equal(0);
      return cpumask_first(irq_get_irq_data(q.irq)!.common.effective_affinity);
    });
    expect(eff).to.equal(old.dest_apicid);
    expect(irqlabSequence(m.trace().slice(from), q.irq)).to.deep.equal([]);
  });

  it("moves in the next interrupt on the old CPU in the kernel's order: mask, vector, two messages under vector_lock, unmask", async () => {
    const { m, hw, q, old, to, cfg } = await rig();
    const from = m.trace().length;
    await m.run(() => void irq_set_affinity(q.irq, cpumask_of(to)));
    hw.raise(q.index);
    await m.run(() => msleep(1));
    const now = cfg();
    expect(now.dest_apicid).to.equal(to);
    expect(now.vector).to.not.equal(old.vector);
    const ack = apicAck(m, q.irq, old.dest_apicid, from);
    expect(irqlabSequence(ack.recs, q.irq)).to.deep.equal(kernelSequence(move));
    // msi_set_affinity(): both messages are written with vector_lock held
    const writes = ack.recs.filter((r) => r.kind === "irq.chip" && r.phase === "enter" && r.cb === "irq_write_msi_msg");
    expect(writes.map((r) => r.locks.includes("vector_lock"))).to.deep.equal([true, true]);
    // the events' fields, as the kernel printed them
    const tp = ack.recs.filter((r) => r.kind === "tp" && EVENTS.has(r.event)).map((r) => (r.kind === "tp" ? r.text : ""));
    expect(tp[1]).to.equal(`irq=${q.irq} vector=${now.vector} cpu=${to} prev_vector=${old.vector} prev_cpu=${old.dest_apicid}`);
    expect(tp[2]).to.equal(`irq=${q.irq} vector=${now.vector} cpu=${to} apicdest=0x${to.toString(16).padStart(8, "0")}`);
  });

  it("writes the interim message (old CPU, new vector) and then the final one, each as address low, high, data and a read back", async () => {
    const { m, hw, q, old, to, cfg } = await rig();
    const from = m.trace().length;
    await m.run(() => void irq_set_affinity(q.irq, cpumask_of(to)));
    hw.raise(q.index);
    await m.run(() => msleep(1));
    const now = cfg();
    const ack = apicAck(m, q.irq, old.dest_apicid, from);
    const msgs: string[][] = [];
    let cur: string[] | null = null;
    for (const r of ack.recs) {
      if (r.kind === "irq.chip" && r.cb === "irq_write_msi_msg") cur = r.phase === "enter" ? [] : (msgs.push(cur!), null);
      else if (cur && r.kind === "hw.mmio" && (r.op === "write" || r.op === "read")) cur.push(`${r.op} ${(r.addr & 0xf).toString(16)}${r.op === "write" ? ` ${r.value.toString(16)}` : ""}`);
    }
    const addr = (cpu: number): string => ((0xfee00000 | (cpu << 12)) >>> 0).toString(16);
    // __pci_write_msi_msg() on an entry __irq_move_irq() already masked:
    // no mask/unmask of its own, then readl(PCI_MSIX_ENTRY_DATA)
    expect(msgs).to.deep.equal([
      [`write 0 ${addr(old.dest_apicid)}`, "write 4 0", `write 8 ${now.vector.toString(16)}`, "read 8"],
      [`write 0 ${addr(to)}`, "write 4 0", `write 8 ${now.vector.toString(16)}`, "read 8"],
    ]);
  });

  it("starts the cleanup from the first interrupt on the new CPU and frees the old vector on the old CPU from the timer", async () => {
    const { m, hw, q, old, to } = await rig();
    await m.run(() => void irq_set_affinity(q.irq, cpumask_of(to)));
    hw.raise(q.index);
    await m.run(() => msleep(1));
    const moved = m.trace().length;
    // the old vector stays until an interrupt arrives on the new one
    await m.run(() => msleep(20));
    expect(irqlabSequence(m.trace().slice(moved), q.irq)).to.deep.equal([]);
    hw.raise(q.index);
    await m.run(() => msleep(20));
    const ack = apicAck(m, q.irq, to, moved);
    // apic_ack_edge() { __vector_schedule_cleanup(); } on the new CPU
    expect(irqlabSequence(ack.recs, q.irq)).to.deep.equal(kernelSequence(block(g, firstNewAt)));
    // vector_cleanup_callback() { __vector_cleanup() { free_moved_vector() ... } } on the old CPU
    const cleanup = block(g, cleanupAt);
    expect(cleanup[0]!.cpu).to.equal(oldCpu);
    const kernelEvents = cleanup.filter((l) => l.kind === "").map((l) => l.name.slice(3));
    const after = m.trace().slice(ack.end).filter((r) => r.kind === "tp" && EVENTS.has(r.event));
    expect(after.map((r) => (r.kind === "tp" ? r.event : ""))).to.deep.equal(kernelEvents);
    expect(after.map((r) => r.cpu)).to.deep.equal([old.dest_apicid, old.dest_apicid]);
    expect(after[0]!.kind === "tp" && after[0]!.text).to.equal(`irq=${q.irq} cpu=${old.dest_apicid} vector=${old.vector} is_managed=0`);
  });
});
