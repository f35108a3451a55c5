// SPDX-License-Identifier: GPL-2.0-only
// The machine of docs/oracle/hotplug.txt rebuilt in irqlab, and readers for
// that capture and for hotplug-graph.txt.
//
// The oracle guest has an nvme (admin queue + one managed I/O queue per CPU),
// a virtio-blk (config vector + one managed request queue per CPU) and an
// e1000e (three non-managed vectors) at 00:02.0, 00:03.0 and 00:04.0. Here
// they are test NICs at the same addresses, allocated the way those drivers
// allocate (pre_vectors = 1 for nvme and virtio, plain MSI-X for e1000e) and
// requested under the same names.
import { expect } from "chai";
import { cpuList, oracleSections, oracleText } from "../../oracle.ts";
import { createMachine, type Machine } from "../../../lib/machine.ts";
import { IRQ_HANDLED } from "../../../lib/irq/interrupt.ts";
import { request_irq } from "../../../lib/irq/manage.ts";
import { pci_enable_device, pci_get_device_by_name, pci_set_master } from "../../../drivers/pci/pci.ts";
import {
  pci_alloc_irq_vectors,
  pci_alloc_irq_vectors_affinity,
  pci_irq_vector,
  PCI_IRQ_AFFINITY,
  PCI_IRQ_MSIX,
} from "../../../drivers/pci/msi/msi.ts";

export { cpuList, oracleText };

/** One row of a capture's state table: `25   nvme0q0   affinity 0-3   effective 3`. */
export interface Row {
  irq: number;
  aff: string;
  eff: string;
}
export type Table = Map<string, Row>;

/** One `### title` section of hotplug.txt. */
export interface Section {
  title: string;
  /** "event: text" of the trace, cpuhp_* events left out. */
  trace: string[];
  /** dmesg lines without timestamps. */
  dmesg: string[];
  table: Table;
  /** The /proc/interrupts header lines of the section. */
  headers: string[];
  /** Every line, for what the fields above do not cover. */
  lines: string[];
}

const ROW = /^(\d+)\s+(\S+)\s+affinity (\S+)\s+effective (\S+)$/;
const TRACE = /^\s*.+-\d+\s+\[\d+\] \S+\s+[\d.]+: (\w+): (.*)$/;

export function parseSections(text: string): Section[] {
  return oracleSections(text).map(({ title, lines }) => {
    const s: Section = { title, trace: [], dmesg: [], table: new Map(), headers: [], lines };
    let sub = "";
    for (const l of lines.slice(1)) {
      if (l.startsWith("--- ")) sub = l.slice(4);
      const row = ROW.exec(l);
      if (row) s.table.set(row[2]!, { irq: Number(row[1]), aff: row[3]!, eff: row[4]! });
      if (/^\s+CPU0/.test(l)) s.headers.push(l);
      if (sub === "trace") {
        const t = TRACE.exec(l);
        if (t && !t[1]!.startsWith("cpuhp_")) s.trace.push(`${t[1]!}: ${t[2]!}`);
      }
      if (sub === "dmesg" && /^\[/.test(l)) s.dmesg.push(l.replace(/^\[\s*\d+\.\d{6}\] /, ""));
    }
    return s;
  });
}

/** The section whose title starts with `prefix` ("A1:", "initial state"). */
export function section(all: Section[], prefix: string): Section {
  const s = all.find((x) => x.title.startsWith(prefix));
  if (!s) throw new Error(`no section ${prefix}`);
  return s;
}

const DEVICES = [
  { bdf: "0000:00:02.0", pre: 1, names: ["nvme0q0", "nvme0q1", "nvme0q2", "nvme0q3", "nvme0q4"] },
  { bdf: "0000:00:03.0", pre: 1, names: ["virtio0-config", "virtio0-req.0", "virtio0-req.1", "virtio0-req.2", "virtio0-req.3"] },
  { bdf: "0000:00:04.0", pre: null, names: ["eth0-rx-0", "eth0-tx-0", "eth0"] },
] as const;

export interface OracleRig {
  m: Machine;
  /** irq number by action name */
  irq: Map<string, number>;
}

/** The oracle's three devices probed and their vectors requested (after `ip link set eth0 up`). */
export async function oracleRig(): Promise<OracleRig> {
  const m = await createMachine({
    cpus: 4,
    pci: { devices: DEVICES.map((d) => ({ type: "testnic" as const, bdf: d.bdf, vectors: d.names.length })) },
  });
  const irq = new Map<string, number>();
  await m.run(async () => {
    for (const d of DEVICES) {
      const p = pci_get_device_by_name(d.bdf)!;
      expect(pci_enable_device(p)).to.equal(0);
      pci_set_master(p);
      const n = d.names.length;
      const got =
        d.pre === null
          ? await pci_alloc_irq_vectors(p, n, n, PCI_IRQ_MSIX)
          : await pci_alloc_irq_vectors_affinity(p, n, n, PCI_IRQ_MSIX | PCI_IRQ_AFFINITY, { pre_vectors: d.pre, post_vectors: 0 });
      expect(got).to.equal(n);
      for (const [i, name] of d.names.entries()) {
        const v = pci_irq_vector(p, i);
        expect(await request_irq(v, () => IRQ_HANDLED, 0, name, p)).to.equal(0);
        irq.set(name, v);
      }
    }
  });
  return { m, irq };
}

/** irqlab's state table, as the capture prints it. */
export function ourTable(r: OracleRig): Table {
  const t: Table = new Map();
  for (const [name, irq] of r.irq) {
    t.set(name, { irq, aff: r.m.procIrq(irq, "smp_affinity_list")!.trim(), eff: r.m.procIrq(irq, "effective_affinity_list")!.trim() });
  }
  return t;
}

/**
 * Put each non-managed vector on the effective CPU the oracle shows, then give
 * it the oracle's affinity (the vector stays where it is, its CPU being in the
 * new mask). Which CPU the matrix picks for a free vector depends on the
 * vectors the rest of the machine holds, which differ between the QEMU guest
 * and irqlab; aligning first makes the same vectors sit on the CPU that goes.
 */
export async function align(r: OracleRig, oracle: Table, managed: ReadonlySet<string>): Promise<void> {
  for (const [name, row] of oracle) {
    if (managed.has(name)) continue;
    const irq = r.irq.get(name)!;
    expect(r.m.writeProcIrq(irq, "smp_affinity_list", row.eff)).to.be.greaterThan(0);
    expect(r.m.writeProcIrq(irq, "smp_affinity_list", row.aff)).to.be.greaterThan(0);
  }
  await r.m.idle(20e6);
  const ours = ourTable(r);
  for (const [name, row] of oracle) expect([name, ours.get(name)!.aff, ours.get(name)!.eff]).to.deep.equal([name, row.aff, row.eff]);
}

/**
 * One step's state against the oracle's: every affinity mask is the same,
 * every managed vector's effective CPU is the same, a non-managed vector moved
 * exactly when the oracle's moved, and then to a CPU of its mask that is online.
 */
export function expectStep(step: string, oBefore: Table, oAfter: Table, before: Table, after: Table, managed: ReadonlySet<string>, online: number[]): void {
  for (const [name, o] of oAfter) {
    const ours = after.get(name)!;
    const where = `${step} ${name}`;
    expect(ours.aff, `${where} affinity`).to.equal(o.aff);
    if (managed.has(name)) {
      expect(ours.eff, `${where} effective`).to.equal(o.eff);
      continue;
    }
    const moved = o.eff !== oBefore.get(name)!.eff;
    expect(ours.eff !== before.get(name)!.eff, `${where} moved`).to.equal(moved);
    if (moved) expect(cpuList(o.aff).filter((c) => online.includes(c)), `${where} effective`).to.include(Number(ours.eff));
  }
}

/**
 * Trace lines of two machines made comparable: irq numbers by action name,
 * vector numbers (but 0 and the shutdown vector 239) by V, IRTE indexes by
 * order of appearance, and the matrix counters that count system vectors and
 * other devices by #. CPUs, APIC IDs and the per-CPU managed/alloc counts stay.
 */
export function normalize(lines: string[], nameOf: Map<number, string>): string[] {
  const irte = new Map<bigint, string>();
  return lines.map((l) => {
    let s = l.replace(/irq=(\d+)/g, (_x, n: string) => `irq=${nameOf.get(Number(n)) ?? n}`);
    s = s.replace(/(prev_)?vector=(\d+)/g, (x, p: string | undefined, v: string) => (v === "0" || v === "239" ? x : `${p ?? ""}vector=V`));
    s = s.replace(/bit=\d+/, "bit=V");
    s = s.replace(/\b(avl|global_avl|global_rsvd|total_alloc)=\d+/g, "$1=#");
    s = s.replace(/iec_inv dmar0: (0x[0-9a-f]+)/, (_x, w: string) => {
      const v = BigInt(w);
      const idx = (v >> 32n) & 0xffffn;
      if (!irte.has(idx)) irte.set(idx, `IRTE${irte.size}`);
      return `iec_inv dmar0: ${irte.get(idx)!} low=0x${(v & 0xffffffffn).toString(16)}`;
    });
    return s;
  });
}

/** irq number -> action name of a capture's table. */
export function names(t: Table): Map<number, string> {
  return new Map([...t].map(([name, row]) => [row.irq, name]));
}

/** What a function_graph or an irqlab callback event did to one vector, in order. */
export interface Block {
  irq: number;
  ops: string[];
}

/** The kernel functions of hotplug-graph.txt that stand for a chip callback or a domain op, by hierarchy level. */
const GRAPH_OPS: Record<string, string> = {
  msi_domain_set_affinity: "set_affinity MSI",
  intel_ir_set_affinity: "set_affinity IR",
  apic_set_affinity: "set_affinity VECTOR",
  pci_irq_mask_msix: "mask MSI",
  pci_irq_unmask_msix: "unmask MSI",
  __pci_write_msi_msg: "write_msi_msg MSI",
  intel_ir_compose_msi_msg: "compose_msi_msg IR",
  msi_domain_activate: "activate MSI",
  intel_irq_remapping_activate: "activate IR",
  x86_vector_activate: "activate VECTOR",
  msi_domain_deactivate: "deactivate MSI",
  intel_irq_remapping_deactivate: "deactivate IR",
  x86_vector_deactivate: "deactivate VECTOR",
};

/**
 * The per-vector blocks under `parent` in a function_graph dump: each call one
 * level below it is a block (irq_do_set_affinity, irq_shutdown_and_deactivate,
 * irq_startup); its irq comes from the first kprobe comment with `irq=N`.
 * Blocks without a known op or an irq are left out.
 */
export function graphBlocks(lines: string[], parent: string): Block[] {
  const body = lines.map((l) => /^\s*\d+\)\s+\S+\s+\|\s(.*)$/.exec(l)?.[1] ?? null);
  const start = body.findIndex((b) => b !== null && b.trim() === `${parent}() {`);
  if (start < 0) throw new Error(`no ${parent}() in the graph`);
  const base = body[start]!.length - body[start]!.trimStart().length;
  const blocks: { irq: number | null; ops: string[] }[] = [];
  for (const b of body.slice(start + 1)) {
    if (b === null) continue;
    const indent = b.length - b.trimStart().length;
    if (indent <= base) break;
    if (indent === base + 2) blocks.push({ irq: null, ops: [] });
    const cur = blocks[blocks.length - 1];
    if (!cur) continue;
    const fn = /^(\w+)\(\)/.exec(b.trim())?.[1];
    if (fn && GRAPH_OPS[fn]) cur.ops.push(GRAPH_OPS[fn]);
    const irq = /^\/\* \w+: .* irq=(\d+)/.exec(b.trim());
    if (irq && cur.irq === null) cur.irq = Number(irq[1]);
  }
  return blocks.filter((x): x is Block => x.irq !== null && x.ops.length > 0);
}

const CALLBACK_OPS: Record<string, string> = {
  irq_set_affinity: "set_affinity",
  irq_mask: "mask",
  irq_unmask: "unmask",
  irq_write_msi_msg: "write_msi_msg",
  irq_compose_msi_msg: "compose_msi_msg",
};

function level(name: string): string | null {
  if (name.startsWith("IR-PCI-MSIX")) return "MSI";
  if (name.startsWith("INTEL-IR")) return "IR";
  if (name === "APIC" || name === "VECTOR") return "VECTOR";
  return null;
}

/** irqlab's chip callbacks and domain ops on `cpu` from trace record `from` on, as blocks per vector. */
export function ourBlocks(m: Machine, from: number, cpu: number): Block[] {
  const blocks: Block[] = [];
  for (const e of m.trace().slice(from)) {
    if (e.cpu !== cpu) continue;
    let op: [number, string] | null = null;
    if (e.kind === "irq.chip" && e.phase === "enter" && CALLBACK_OPS[e.cb] && level(e.chip)) op = [e.irq, `${CALLBACK_OPS[e.cb]!} ${level(e.chip)!}`];
    if (e.kind === "irq.domain" && e.phase === "enter" && /^(de)?activate$/.test(e.op) && level(e.domain)) op = [e.irq, `${e.op} ${level(e.domain)!}`];
    if (op === null) continue;
    const last = blocks[blocks.length - 1];
    if (last && last.irq === op[0]) last.ops.push(op[1]);
    else blocks.push({ irq: op[0], ops: [op[1]] });
  }
  return blocks;
}
