// SPDX-License-Identifier: GPL-2.0-only
// Readers for docs/oracle/spread.txt and spread-smp6-max8.txt (managed
// interrupt spreading on Linux 6.12, 4 and 6 CPUs) and the irqlab rig that
// repeats their steps.
//
// The guest's oracle_spread module binds the QEMU nvme function (65 MSI-X
// entries) or the e1000e one (5 entries) and calls
// pci_alloc_irq_vectors_affinity() with the parameters in the section title;
// here test NICs with as many vectors sit at the same addresses. The real
// nvme driver's probes are repeated with nvme_setup_irqs()'s arguments.
import { expect } from "chai";
import { cpuList, oracleSections, oracleText } from "../../oracle.ts";
import { createMachine, type Machine } from "../../../lib/machine.ts";
import { IRQ_HANDLED, IRQF_SHARED } from "../../../lib/irq/interrupt.ts";
import { free_irq, request_irq } from "../../../lib/irq/manage.ts";
import { irq_get_irq_data } from "../../../lib/irq/irqdesc.ts";
import { irq_data_get_affinity_mask, irq_data_get_effective_affinity_mask, irqd_affinity_is_managed, irqd_is_managed_and_shutdown } from "../../../lib/irq/irq.ts";
import type { irq_affinity } from "../../../lib/irq/affinity.ts";
import { cpumask_pr_list } from "../../../lib/kernel/cpumask.ts";
import { pci_enable_device, pci_get_device_by_name, pci_set_master, type pci_dev } from "../../../drivers/pci/pci.ts";
import { pci_alloc_irq_vectors_affinity, pci_free_irq_vectors, pci_irq_vector } from "../../../drivers/pci/msi/msi.ts";

export { cpuList, oracleText };

/** `spread: req vec 1 irq 26 managed 1 shutdown 0 affinity 0-1 effective 1` */
export interface VecRow {
  vec: number;
  managed: number;
  shutdown: number;
  aff: string;
  eff: string;
}
/** `26   spr1   affinity 0-1   effective 1   managed 1 node 0` (managed = EPERM on a write-back) */
export interface TabRow {
  name: string;
  aff: string;
  eff: string;
  managed: number;
  node: number;
}

export interface Section {
  title: string;
  lines: string[];
  /** `spread: calc_sets(...) -> ...` without the prefix */
  calc: string[];
  ret: number | null;
  alloc: VecRow[];
  req: VecRow[];
  table: TabRow[];
  /** /proc/interrupts: the header and the device rows */
  interrupts: string[];
  /** a WARNING from lib/group_cpus.c (6.12: more groups than CPUs) */
  warn: boolean;
  online: string;
}

const VEC = /^spread: (alloc|req) vec (\d+) irq \d+ managed (\d) shutdown (\d) affinity (\S*) effective (\S*)$/;
const TAB = /^\d+\s+(\S+)\s+affinity (\S+)\s+effective (\S+)\s+managed (\d) node (-?\d+)$/;

export function parseSpread(text: string): Section[] {
  return oracleSections(text).map(({ title, lines }) => {
    const s: Section = { title, lines, calc: [], ret: null, alloc: [], req: [], table: [], interrupts: [], warn: false, online: "" };
    let sub = "";
    for (const l of lines.slice(1)) {
      if (l.startsWith("--- ")) sub = l.slice(4);
      const v = VEC.exec(l);
      if (v) (v[1] === "alloc" ? s.alloc : s.req).push({ vec: Number(v[2]), managed: Number(v[3]), shutdown: Number(v[4]), aff: v[5]!, eff: v[6]! });
      const t = TAB.exec(l);
      if (t) s.table.push({ name: t[1]!, aff: t[2]!, eff: t[3]!, managed: Number(t[4]), node: Number(t[5]) });
      if (l.startsWith("spread: calc_sets(")) s.calc.push(l.slice("spread: ".length));
      const r = /^spread: pci_alloc_irq_vectors_affinity ret=(-?\d+)/.exec(l);
      if (r) s.ret = Number(r[1]);
      if (/^WARNING: .* at lib\/group_cpus\.c:\d+ group_cpus_evenly/.test(l)) s.warn = true;
      const o = /^cpus online: (\S+)/.exec(l);
      if (o) s.online = o[1]!;
      if (sub === "/proc/interrupts" && (/^\s+CPU0/.test(l) || /^\s*\d+:/.test(l))) s.interrupts.push(l);
    }
    return s;
  });
}

export function sectionOf(all: Section[], title: string): Section {
  const s = all.find((x) => x.title === title);
  if (!s) throw new Error(`no section '${title}'`);
  return s;
}

/** group_cpus_evenly(n) as the capture's module printed it: n -> masks */
export function oracleGroups(all: Section[]): Map<number, string[]> {
  const g = new Map<number, string[]>();
  for (const l of sectionOf(all, "group_cpus_evenly").lines) {
    const m = /^spread: group_cpus_evenly\((\d+)\)\[(\d+)\] = (.*)$/.exec(l);
    if (!m) continue;
    const n = Number(m[1]);
    if (!g.has(n)) g.set(n, []);
    g.get(n)![Number(m[2])] = m[3]!;
  }
  return g;
}

/** The parameters of an `alloc: dev=nvme min=1 max=3 pre=1 sets=4,3` title. */
export interface AllocParams {
  dev: "nvme" | "e1000e";
  min: number;
  max: number;
  pre: number;
  post: number;
  sets: string;
  flags: number;
}

export function allocParams(title: string): AllocParams {
  const kv = new Map([...title.matchAll(/(\w+)=(\S+)/g)].map((m) => [m[1]!, m[2]!]));
  return {
    dev: kv.get("dev") as "nvme" | "e1000e",
    min: Number(kv.get("min")),
    max: Number(kv.get("max")),
    pre: Number(kv.get("pre") ?? 0),
    post: Number(kv.get("post") ?? 0),
    sets: kv.get("sets") ?? "",
    flags: Number(kv.get("flags") ?? 0xc),
  };
}

/** The module's calc_sets: fixed sizes cut down to nvecs, or nvme_calc_irq_sets() with W write queues. */
export function calcSets(spec: string, log: string[]): irq_affinity["calc_sets"] {
  if (spec === "") return undefined;
  return (affd, nvecs) => {
    let nrirqs = nvecs;
    let capped = false;
    if (spec.startsWith("nvme:")) {
      const write = Number(spec.slice(5));
      let read: number;
      if (!nrirqs) {
        nrirqs = 1;
        read = 0;
      } else if (nrirqs === 1 || !write) read = 0;
      else if (write >= nrirqs) read = 1;
      else read = nrirqs - write;
      affd.set_size = [nrirqs - read, read];
      affd.nr_sets = read ? 2 : 1;
    } else {
      let sum = 0;
      affd.set_size = spec.split(",").map((x) => {
        let v = Number(x);
        if (sum + v > nrirqs) {
          v = nrirqs - sum;
          capped = true;
        }
        sum += v;
        return v;
      });
      affd.nr_sets = affd.set_size.length;
    }
    const sizes = affd.set_size.slice(0, affd.nr_sets).join(",");
    log.push(`calc_sets(nvecs=${nrirqs}) -> nr_sets=${affd.nr_sets} set_size=${sizes || "-"}${capped ? " (capped to nvecs)" : ""}`);
  };
}

export const NVME = "0000:00:02.0";
export const VIRTIO = "0000:00:03.0";
export const E1000E = "0000:00:04.0";

/** The guest's three functions as test NICs; the virtio one has a config vector plus one per CPU. */
export async function spreadMachine(cpus: number): Promise<Machine> {
  return createMachine({
    cpus,
    pci: {
      devices: [
        { type: "testnic", bdf: NVME, vectors: 65 },
        { type: "testnic", bdf: VIRTIO, vectors: cpus + 1 },
        { type: "testnic", bdf: E1000E, vectors: 5 },
      ],
    },
  });
}

export interface Loaded {
  pdev: pci_dev;
  ret: number;
  calc: string[];
  alloc: VecRow[];
  req: VecRow[];
  /** irq by action name */
  irqs: Map<string, number>;
}

const cookie = {};

function vecRows(pdev: pci_dev, n: number): VecRow[] {
  return Array.from({ length: n }, (_x, vec) => {
    const d = irq_get_irq_data(pci_irq_vector(pdev, vec))!;
    return {
      vec,
      managed: irqd_affinity_is_managed(d) ? 1 : 0,
      shutdown: irqd_is_managed_and_shutdown(d) ? 1 : 0,
      aff: cpumask_pr_list(irq_data_get_affinity_mask(d)),
      eff: cpumask_pr_list(irq_data_get_effective_affinity_mask(d)),
    };
  });
}

/**
 * pci_alloc_irq_vectors_affinity() on the function at `bdf` with the module's
 * arguments, then request_irq() of every vector as `<prefix><i>`.
 */
export async function load(m: Machine, bdf: string, min: number, max: number, flags: number, affd: irq_affinity, names: (i: number) => string, calc: string[] = []): Promise<Loaded> {
  return m.run(async () => {
    const pdev = pci_get_device_by_name(bdf)!;
    expect(pci_enable_device(pdev)).to.equal(0);
    pci_set_master(pdev);
    const ret = await pci_alloc_irq_vectors_affinity(pdev, min, max, flags, affd);
    const n = Math.max(ret, 0);
    const alloc = vecRows(pdev, n);
    const irqs = new Map<string, number>();
    for (let i = 0; i < n; i++) {
      const irq = pci_irq_vector(pdev, i);
      expect(await request_irq(irq, () => IRQ_HANDLED, IRQF_SHARED, names(i), cookie)).to.equal(0);
      irqs.set(names(i), irq);
    }
    return { pdev, ret, calc, alloc, req: vecRows(pdev, n), irqs };
  });
}

/** rmmod / driver unbind: free_irq() of every vector, pci_free_irq_vectors(). */
export async function unload(m: Machine, l: Loaded): Promise<void> {
  await m.run(async () => {
    for (const irq of l.irqs.values()) await free_irq(irq, cookie);
    await pci_free_irq_vectors(l.pdev);
  });
}

/** The capture's `tab` for the given action names: the write-back probe as the shell does it. */
export function ourTable(m: Machine, irqs: Map<string, number>): TabRow[] {
  return [...irqs].map(([name, irq]) => {
    const hex = m.procIrq(irq, "smp_affinity")!.trim();
    return {
      name,
      aff: m.procIrq(irq, "smp_affinity_list")!.trim(),
      eff: m.procIrq(irq, "effective_affinity_list")!.trim(),
      managed: m.writeProcIrq(irq, "smp_affinity", hex) < 0 ? 1 : 0,
      node: Number(m.procIrq(irq, "node")!.trim()),
    };
  });
}

/**
 * /proc/interrupts reduced to what does not depend on the run: the CPU
 * header, and per row of these action names the number of count columns and
 * the chip, hwirq-type and name columns (irq numbers and counts left out;
 * 6.12 also pads the chip column differently, see the hotplug digest).
 */
export function interruptRows(lines: string[], names: Iterable<string>): string[] {
  const want = new Set(names);
  return lines
    .filter((l) => /^\s+CPU0/.test(l) || want.has(l.trim().split(/\s+/).pop()!))
    .map((l) => {
      const t = l.trim().split(/\s+/);
      return /^\s+CPU0/.test(l) ? t.join(" ") : `${t.length - 4} counts ${t.slice(-3).join(" ")}`;
    });
}

/** A row's effective CPUs lie in its affinity and are online. */
export function effectiveWithin(row: { aff: string; eff: string }, online: number[]): boolean {
  const eff = cpuList(row.eff);
  return eff.length > 0 && eff.every((c) => cpuList(row.aff).includes(c) && online.includes(c));
}
