// SPDX-License-Identifier: GPL-2.0-only
// P2, scale: allocate a million interrupts across PCI devices in reservation
// mode (the x86 vector domain only reserves; no vector is assigned until a
// request), then free them. Heap per interrupt after a full GC, allocation
// time per interrupt early and late in the run, heap after the free against
// the baseline, and the cost of irq_find_mapping() and irq_to_desc() at 10k,
// 100k and 1M interrupts. Needs node --expose-gc (npm run bench passes it).
//
// Backends: "ims" (default), IMS array devices of 63 x 256 slots driven by
// the idxd driver, one pci_ims_alloc_irq() per interrupt; "msix", test NICs
// of 2048 MSI-X vectors, one pci_alloc_irq_vectors() per device. Interrupt
// remapping is off: one remapping unit has 65536 IRTEs, and Linux could not
// put a million remapped interrupts behind one unit either. IMS therefore
// sits on the vector domain, as the 2020 RFC allowed (ims.onVectorDomain);
// v6.2..v6.9 require the remapping domain.

import { createMachine, type Machine } from "../lib/machine.ts";
import { pci_enable_device, pci_get_device_by_name, type pci_dev } from "../drivers/pci/pci.ts";
import { pci_alloc_irq_vectors, pci_free_irq_vectors, pci_ims_alloc_irq, pci_ims_free_irq, pci_irq_vector, PCI_IRQ_MSIX } from "../drivers/pci/msi/msi.ts";
import { idxd_pci_probe } from "../drivers/dma/idxd/init.ts";
import { irq_find_mapping, type irq_domain } from "../lib/irq/irqdomain.ts";
import { irq_get_irq_data, irq_to_desc } from "../lib/irq/irqdesc.ts";
import type { msi_map } from "../lib/irq/msi.ts";
import { Rng } from "../lib/sim/rng.ts";
import { forgetMachines, cpuNow, report, row, settledHeap, type Row } from "./util.ts";

export type Backend = "ims" | "msix";

const MSIX_VECS = 2048;
const IMS_SLOTS = 63 * 256;

function bdf(i: number): string {
  const bus = 0x10 + (i >> 5);
  return `0000:${bus.toString(16).padStart(2, "0")}:${(i & 31).toString(16).padStart(2, "0")}.0`;
}

/**
 * The allocated interrupts: device, domain-local hwirq and Linux irq of
 * each, in typed arrays sized before the baseline heap is taken, so the
 * bench's own records add nothing to the heap it measures.
 */
class Allocs {
  readonly dev: Int32Array;
  readonly hwirq: Int32Array;
  readonly virq: Int32Array;
  length = 0;
  constructor(cap: number) {
    this.dev = new Int32Array(cap);
    this.hwirq = new Int32Array(cap);
    this.virq = new Int32Array(cap);
  }
  push(dev: number, hwirq: number, virq: number): void {
    const i = this.length++;
    this.dev[i] = dev;
    this.hwirq[i] = hwirq;
    this.virq[i] = virq;
  }
}

interface Fleet {
  m: Machine;
  pdevs: pci_dev[];
  /** Allocate the interrupts of device `d`; calls `each` after every one (for chunk timing). */
  alloc(d: number, count: number, out: Allocs, each: () => void): Promise<void>;
  free(d: number, allocs: Allocs): Promise<void>;
  perDevice: number;
}

async function fleet(backend: Backend, ndev: number): Promise<Fleet> {
  const bdfs = Array.from({ length: ndev }, (_, i) => bdf(i));
  if (backend === "msix") {
    const m = await createMachine({
      cpus: 4,
      seed: 1,
      trace: false,
      iommu: { interruptRemapping: false },
      pci: { devices: bdfs.map((b) => ({ type: "testnic" as const, bdf: b, vectors: MSIX_VECS })) },
    });
    const pdevs = await m.run(() =>
      bdfs.map((b) => {
        const p = pci_get_device_by_name(b)!;
        if (pci_enable_device(p)) throw new Error("pci_enable_device");
        return p;
      }),
    );
    return {
      m,
      pdevs,
      perDevice: MSIX_VECS,
      async alloc(d, count, out, each) {
        const r = await pci_alloc_irq_vectors(pdevs[d]!, count, count, PCI_IRQ_MSIX);
        if (r !== count) throw new Error(`P2: pci_alloc_irq_vectors on ${bdfs[d]!}: ${r}`);
        for (let i = 0; i < count; i++) {
          out.push(d, i, pci_irq_vector(pdevs[d]!, i));
          each();
        }
      },
      async free(d) {
        await pci_free_irq_vectors(pdevs[d]!);
      },
    };
  }
  const m = await createMachine({
    cpus: 4,
    seed: 1,
    trace: false,
    iommu: { interruptRemapping: false },
    ims: { onVectorDomain: true },
    pci: { devices: bdfs.map((b) => ({ type: "ims" as const, bdf: b, slots: IMS_SLOTS, wqs: 1 })) },
  });
  const pdevs = bdfs.map((b) => pci_get_device_by_name(b)!);
  // the driver creates the IMS domain and requests its one queue interrupt
  await m.run(async () => {
    for (const p of pdevs) {
      const r = await idxd_pci_probe(p, { wqs: 1 });
      if (typeof r === "number") throw new Error(`idxd_pci_probe: ${r}`);
    }
  });
  return {
    m,
    pdevs,
    perDevice: IMS_SLOTS - 1,
    async alloc(d, count, out, each) {
      for (let i = 0; i < count; i++) {
        const map = await pci_ims_alloc_irq(pdevs[d]!, { value: BigInt(i + 1) }, null);
        if (map.index < 0) throw new Error(`P2: pci_ims_alloc_irq on ${bdfs[d]!}: ${map.index}`);
        out.push(d, map.index, map.virq);
        each();
      }
    },
    async free(d, allocs) {
      for (let i = 0; i < allocs.length; i++) {
        if (allocs.dev[i] !== d) continue;
        const map: msi_map = { index: allocs.hwirq[i]!, virq: allocs.virq[i]! };
        await pci_ims_free_irq(pdevs[d]!, map);
      }
    },
  };
}

/*
 * ns per irq_find_mapping() in the device domains and per irq_to_desc(),
 * over the SET interrupts allocated last, in random order, looked up over
 * and over. The set and the memory its objects occupy are the same at every
 * scale, so the caches and the TLB see the same working set, and a growth
 * of the cost is a growth of the work per lookup (a tree's depth, a scan)
 * rather than of the heap around it. (Random interrupts across the whole
 * heap cost more at 1M than at 10k whatever the structure: cache and TLB
 * misses.)
 */
const SET = 8192;
const ROUNDS = 25;

function lookups(allocs: Allocs): { findNs: number; descNs: number } {
  const rng = new Rng(7);
  const doms: irq_domain[] = [];
  const hw = new Int32Array(SET);
  const virqs = new Int32Array(SET);
  const domIdx = new Int32Array(SET);
  const from = Math.max(0, allocs.length - SET);
  for (let i = 0; i < SET; i++) {
    const a = from + rng.int(allocs.length - from);
    doms[i] = irq_get_irq_data(allocs.virq[a]!)!.domain!;
    domIdx[i] = i;
    hw[i] = allocs.hwirq[a]!;
    virqs[i] = allocs.virq[a]!;
  }
  let check = 0;
  for (let i = 0; i < SET; i++) check += virqs[i]!;
  let sink = 0;
  let t0 = cpuNow();
  for (let r = 0; r < ROUNDS; r++) for (let i = 0; i < SET; i++) sink += irq_find_mapping(doms[domIdx[i]!]!, hw[i]!);
  const findNs = (cpuNow() - t0) / (SET * ROUNDS);
  if (sink !== check * ROUNDS) throw new Error("P2: irq_find_mapping disagrees with the allocation");
  let found = 0;
  t0 = cpuNow();
  for (let r = 0; r < ROUNDS; r++) for (let i = 0; i < SET; i++) if (irq_to_desc(virqs[i]!)) found++;
  const descNs = (cpuNow() - t0) / (SET * ROUNDS);
  if (found !== SET * ROUNDS) throw new Error("P2: a descriptor is missing");
  return { findNs, descNs };
}

interface Lookup {
  at: number;
  findNs: number;
  descNs: number;
}

export async function p2(opts: { n?: number; backend?: Backend } = {}): Promise<Row[]> {
  const n = opts.n ?? 1_000_000;
  const backend = opts.backend ?? "ims";
  const per = backend === "ims" ? IMS_SLOTS - 1 : MSIX_VECS;
  // one spare device for the warm-up
  const ndev = Math.ceil(n / per) + 1;
  const f = await fleet(backend, ndev);
  const m = f.m;
  const marks = [10_000, 100_000, 1_000_000].filter((x) => x <= n);
  // settle the lazily built state (first allocation, JIT) on the spare device
  await m.run(async () => {
    const warm = new Allocs(4096);
    await f.alloc(ndev - 1, Math.min(per, 4096), warm, () => undefined);
    await f.free(ndev - 1, warm);
  });
  const allocs = new Allocs(n);
  const heap0 = settledHeap();
  const chunk = 100_000;
  const chunkUs: number[] = [];
  const found: Lookup[] = [];
  let t = cpuNow();
  let markI = 0;
  const each = (): void => {
    const done = allocs.length;
    if (done % chunk === 0 || done === n) {
      const now = cpuNow();
      chunkUs.push((now - t) / 1e3 / (done % chunk === 0 ? chunk : done % chunk));
      t = now;
    }
    if (markI < marks.length && done === marks[markI]!) {
      found.push({ at: done, ...lookups(allocs) });
      markI++;
      t = cpuNow();
    }
  };
  await m.run(async () => {
    for (let d = 0; allocs.length < n; d++) await f.alloc(d, Math.min(per, n - allocs.length), allocs, each);
  });
  const heapFull = settledHeap();
  const tFree0 = cpuNow();
  await m.run(async () => {
    for (let d = 0; d < ndev - 1; d++) await f.free(d, allocs);
  });
  const freeUs = (cpuNow() - tFree0) / 1e3 / n;
  const heapAfter = settledHeap();
  const perIrq = (heapFull - heap0) / n;
  const first = chunkUs[0]!;
  const last = chunkUs[chunkUs.length - 1]!;
  forgetMachines();
  const what = backend === "ims" ? "IMS" : "MSI-X";
  const rows: Row[] = [
    row("P2", `heap per ${what} interrupt (${(n / 1e6).toFixed(2)} M)`, perIrq, "B", { max: 1024 }, "after a full GC, minus the booted machine and the bench's records"),
    row("P2", "alloc time, first 100k", first, "us/irq"),
    row("P2", `alloc time, last ${(chunk / 1e3).toFixed(0)}k`, last, "us/irq"),
    row("P2", "alloc time last / first", last / first, "ratio", { max: 1.1 }, `per 100k: ${chunkUs.map((c) => c.toFixed(0)).join(" ")} us (GC included)`),
    row("P2", "free time", freeUs, "us/irq"),
    row("P2", "heap after free / before", heapAfter / heap0, "ratio", { min: 0.95, max: 1.05, text: "1 +- 0.05" }, `${(heap0 / 2 ** 20).toFixed(1)} MiB -> ${(heapAfter / 2 ** 20).toFixed(1)} MiB`),
  ];
  const label = (at: number): string => (at >= 1e6 ? `${(at / 1e6).toFixed(1)}M` : `${Math.round(at / 1e3)}k`);
  for (const l of found) {
    rows.push(row("P2", `irq_find_mapping at ${label(l.at)}`, l.findNs, "ns", undefined, `the ${SET} allocated last, random order, ${ROUNDS} rounds`));
    rows.push(row("P2", `irq_to_desc at ${label(l.at)}`, l.descNs, "ns"));
  }
  if (found.length >= 2) {
    const a = found[0]!;
    const b = found[found.length - 1]!;
    // O(1) keeps the cost flat; O(log n) may grow by log(b)/log(a)
    const bound = Math.log2(b.at) / Math.log2(a.at);
    const text = `<= ${bound.toFixed(2)} (log)`;
    rows.push(row("P2", `irq_find_mapping ${label(a.at)} -> ${label(b.at)}`, b.findNs / a.findNs, "ratio", { max: bound, text }));
    rows.push(row("P2", `irq_to_desc ${label(a.at)} -> ${label(b.at)}`, b.descNs / a.descNs, "ratio", { max: bound, text }));
  }
  return rows;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  report(await p2({ n: Number(process.argv[2] ?? 1_000_000), backend: (process.argv[3] ?? "ims") as Backend }));
}
