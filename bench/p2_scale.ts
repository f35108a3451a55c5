// SPDX-License-Identifier: GPL-2.0-only
// P2, scale: allocate a million interrupts across PCI devices in reservation
// mode (the x86 vector domain only reserves; no vector is assigned until a
// request), then free them. Heap per interrupt after a full GC, allocation
// time per interrupt early and late in the run, heap after the free against
// the baseline, and the cost of irq_find_mapping() and irq_to_desc() at 10k,
// 100k and 1M interrupts. Needs node --expose-gc (npm run bench passes it).
//
// The devices are test NICs with 2048 MSI-X vectors each. Interrupt
// remapping is off: one remapping unit has 65536 IRTEs, and Linux could not
// put a million remapped interrupts behind one unit either.

import { createMachine } from "../lib/machine.ts";
import { pci_enable_device, pci_get_device_by_name, type pci_dev } from "../drivers/pci/pci.ts";
import { pci_alloc_irq_vectors, pci_free_irq_vectors, pci_irq_vector, PCI_IRQ_MSIX } from "../drivers/pci/msi/msi.ts";
import { irq_find_mapping, type irq_domain } from "../lib/irq/irqdomain.ts";
import { irq_get_irq_data, irq_to_desc } from "../lib/irq/irqdesc.ts";
import { Rng } from "../lib/sim/rng.ts";
import { forgetMachines, cpuNow, report, row, settledHeap, type Row } from "./util.ts";

const VECS = 2048;

function bdf(i: number): string {
  const bus = 0x10 + (i >> 5);
  return `0000:${bus.toString(16).padStart(2, "0")}:${(i & 31).toString(16).padStart(2, "0")}.0`;
}

interface Lookup {
  at: number;
  findNs: number;
  descNs: number;
  refNs: number;
}

/** ns per irq_find_mapping() in the device domains and per irq_to_desc(), over random allocated interrupts. */
function lookups(pdevs: pci_dev[], ndev: number, samples: number): { findNs: number; descNs: number; refNs: number } {
  const rng = new Rng(7);
  const doms: irq_domain[] = [];
  const hw = new Int32Array(samples);
  const virqs = new Int32Array(samples);
  const domIdx = new Int32Array(samples);
  for (let d = 0; d < ndev; d++) doms.push(irq_get_irq_data(pci_irq_vector(pdevs[d]!, 0))!.domain!);
  for (let i = 0; i < samples; i++) {
    const d = rng.int(ndev);
    const h = rng.int(VECS);
    domIdx[i] = d;
    hw[i] = h;
    virqs[i] = pci_irq_vector(pdevs[d]!, h);
  }
  let sink = 0;
  let t0 = cpuNow();
  for (let i = 0; i < samples; i++) sink += irq_find_mapping(doms[domIdx[i]!]!, hw[i]!);
  const findNs = (cpuNow() - t0) / samples;
  let check = 0;
  for (let i = 0; i < samples; i++) check += virqs[i]!;
  if (sink !== check) throw new Error("P2: irq_find_mapping disagrees with pci_irq_vector");
  t0 = cpuNow();
  for (let i = 0; i < samples; i++) if (irq_to_desc(virqs[i]!)) sink++;
  const descNs = (cpuNow() - t0) / samples;
  if (sink !== check + samples) throw new Error("P2: a descriptor is missing");
  return { findNs, descNs, refNs: memoryReference(ndev * VECS, virqs) };
}

/*
 * The cost of one random read from an array of as many objects as there are
 * interrupts: what any O(1) lookup pays in cache misses at this size. The
 * lookups are judged by their cost in units of this reference, so that the
 * growth of the heap past the caches does not pass for a growth in steps.
 */
const refArray: { v: number }[] = [];
function memoryReference(n: number, idx: Int32Array): number {
  while (refArray.length < n) refArray.push({ v: refArray.length });
  let s = 0;
  const t0 = cpuNow();
  for (let i = 0; i < idx.length; i++) s += refArray[idx[i]! % n]!.v;
  const ns = (cpuNow() - t0) / idx.length;
  if (s < 0) throw new Error("unreachable");
  return ns;
}

export async function p2(opts: { n?: number } = {}): Promise<Row[]> {
  const n = opts.n ?? 1_000_000;
  const ndev = Math.ceil(n / VECS);
  const marks = [10_000, 100_000, 1_000_000].filter((x) => x <= ndev * VECS);
  const bdfs = Array.from({ length: ndev }, (_, i) => bdf(i));
  const m = await createMachine({
    cpus: 4,
    seed: 1,
    trace: false,
    iommu: { interruptRemapping: false },
    pci: { devices: bdfs.map((b) => ({ type: "testnic" as const, bdf: b, vectors: VECS })) },
  });
  const pdevs = await m.run(() =>
    bdfs.map((b) => {
      const p = pci_get_device_by_name(b)!;
      if (pci_enable_device(p)) throw new Error("pci_enable_device");
      return p;
    }),
  );
  // settle the lazily built state (first allocation, JIT) on a device we free again
  await m.run(async () => {
    if ((await pci_alloc_irq_vectors(pdevs[0]!, VECS, VECS, PCI_IRQ_MSIX)) !== VECS) throw new Error("P2 warm-up");
    await pci_free_irq_vectors(pdevs[0]!);
  });
  const heap0 = settledHeap();
  const chunk = 100_000;
  const chunkUs: number[] = [];
  const found: Lookup[] = [];

  await m.run(async () => {
    let done = 0;
    let markI = 0;
    let tChunk = cpuNow();
    let chunkStart = 0;
    for (let d = 0; d < ndev; d++) {
      const r = await pci_alloc_irq_vectors(pdevs[d]!, VECS, VECS, PCI_IRQ_MSIX);
      if (r !== VECS) throw new Error(`P2: pci_alloc_irq_vectors on ${bdfs[d]!}: ${r}`);
      done += VECS;
      if (done - chunkStart >= chunk || d === ndev - 1) {
        const t = cpuNow();
        chunkUs.push((t - tChunk) / 1e3 / (done - chunkStart));
        chunkStart = done;
        tChunk = t;
      }
      while (markI < marks.length && done >= marks[markI]!) {
        const l = lookups(pdevs, d + 1, 200_000);
        found.push({ at: done, ...l });
        markI++;
        tChunk = cpuNow();
      }
    }
  });
  const heapFull = settledHeap();
  const tFree0 = cpuNow();
  await m.run(async () => {
    for (const p of pdevs) await pci_free_irq_vectors(p);
  });
  const freeUs = (cpuNow() - tFree0) / 1e3 / (ndev * VECS);
  const heapAfter = settledHeap();
  const total = ndev * VECS;
  const perIrq = (heapFull - heap0) / total;
  const first = chunkUs[0]!;
  const last = chunkUs[chunkUs.length - 1]!;
  forgetMachines();
  const rows: Row[] = [
    row("P2", `heap per interrupt (${(total / 1e6).toFixed(2)} M)`, perIrq, "B", { max: 1024 }, "heapUsed after full GC, minus the booted machine"),
    row("P2", "alloc time, first 100k", first, "us/irq"),
    row("P2", `alloc time, last ${(chunk / 1e3).toFixed(0)}k`, last, "us/irq"),
    row("P2", "alloc time last / first", last / first, "ratio", { max: 1.1 }),
    row("P2", "free time", freeUs, "us/irq"),
    row("P2", "heap after free / before", heapAfter / heap0, "ratio", { min: 0.95, max: 1.05, text: "1 +- 0.05" }, `${(heap0 / 2 ** 20).toFixed(1)} MiB -> ${(heapAfter / 2 ** 20).toFixed(1)} MiB`),
  ];
  const label = (at: number): string => (at >= 1e6 ? `${(at / 1e6).toFixed(1)}M` : `${Math.round(at / 1e3)}k`);
  for (const f of found) {
    rows.push(row("P2", `irq_find_mapping at ${label(f.at)}`, f.findNs, "ns", undefined, `${(f.findNs / f.refNs).toFixed(1)} x one random read (${f.refNs.toFixed(0)} ns)`));
    rows.push(row("P2", `irq_to_desc at ${label(f.at)}`, f.descNs, "ns", undefined, `${(f.descNs / f.refNs).toFixed(1)} x one random read`));
  }
  if (found.length >= 2) {
    const a = found[0]!;
    const b = found[found.length - 1]!;
    // cost in units of a random read; O(1) keeps it flat, O(log n) may grow by log(b)/log(a)
    const bound = Math.log2(b.at) / Math.log2(a.at);
    const grow = (x: Lookup, y: Lookup, k: "findNs" | "descNs"): number => y[k] / y.refNs / (x[k] / x.refNs);
    const text = `<= ${bound.toFixed(2)} (log)`;
    rows.push(row("P2", `irq_find_mapping ${label(a.at)} -> ${label(b.at)}`, grow(a, b, "findNs"), "ratio", { max: bound, text }, "in random-read units"));
    rows.push(row("P2", `irq_to_desc ${label(a.at)} -> ${label(b.at)}`, grow(a, b, "descNs"), "ratio", { max: bound, text }, "in random-read units"));
  }
  return rows;
}

if (import.meta.url === `file://${process.argv[1]}`) report(await p2({ n: Number(process.argv[2] ?? 1_000_000) }));
