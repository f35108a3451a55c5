// SPDX-License-Identifier: GPL-2.0-only
// P1, delivery rate: a device raises, the message goes through its IMS slot
// (the idxd driver's IMS domain; MSI-X on the test NIC as a second row), the
// interrupt-remapping unit (an IEC hit), the fabric and the local APIC; the
// CPU takes it, common_interrupt() finds the descriptor in vector_irq[],
// handle_edge_irq() acks it through the hierarchy and runs the action, and
// the entry sends EOI. Interrupts per CPU-second, with tracing off and on,
// beside a hand-inlined baseline that does the same table lookups with plain
// arrays and calls the action directly. Each ratio comes from rounds of the
// two measured alternately in this one process.

import { createMachine, type Machine } from "../lib/machine.ts";
import type { SimEvent } from "../lib/sim/events.ts";
import { msleep } from "../lib/kernel/delay.ts";
import { cpumask_of } from "../lib/kernel/cpumask.ts";
import { irq_set_affinity } from "../lib/irq/manage_affinity.ts";
import { pci_get_device_by_name } from "../drivers/pci/pci.ts";
import { testnic_probe } from "../drivers/net/testnic/testnic.ts";
import { idxd_pci_probe } from "../drivers/dma/idxd/init.ts";
import type { TestNic } from "../lib/hw/devices/testnic.ts";
import type { ImsDevice } from "../lib/hw/devices/ims.ts";
import { forgetMachines, cpuNow, report, row, type Row } from "./util.ts";

const BDF = "0000:3b:00.0";
const QUEUES = 8;
/** Virtual time between two interrupts of one queue. */
const PERIOD_NS = 8000;

export type Backend = "ims" | "msix";

export interface Rig {
  m: Machine;
  /** Interrupts the driver's handlers have seen. */
  handled(): number;
  /** Make the device raise `per` interrupts on each queue, in virtual time. */
  start(per: number): void;
}

export async function rig(backend: Backend, trace: boolean): Promise<Rig> {
  const m = await createMachine({
    cpus: 2,
    seed: 1,
    trace,
    pci: { devices: [backend === "ims" ? { type: "ims", bdf: BDF, wqs: QUEUES } : { type: "testnic", bdf: BDF, vectors: QUEUES }] },
  });
  const pdev = pci_get_device_by_name(BDF)!;
  if (backend === "msix") {
    const priv = await m.run(async () => {
      const r = await testnic_probe(pdev, {});
      if (typeof r === "number") throw new Error(`testnic_probe: ${r}`);
      for (const q of r.queues) if (irq_set_affinity(q.irq, cpumask_of(q.index % 2)) !== 0) throw new Error("irq_set_affinity");
      return r;
    });
    const hw = m.pci.device<TestNic>(BDF);
    return {
      m,
      handled: () => priv.queues.reduce((n, q) => n + q.count, 0),
      start: (per) => hw.startTraffic({ periodNs: PERIOD_NS, jitterNs: PERIOD_NS / 4, count: per }),
    };
  }
  const idxd = await m.run(async () => {
    const r = await idxd_pci_probe(pdev, { wqs: QUEUES });
    if (typeof r === "number") throw new Error(`idxd_pci_probe: ${r}`);
    for (const wq of r.wqs) if (irq_set_affinity(wq.ie.vector, cpumask_of(wq.id % 2)) !== 0) throw new Error("irq_set_affinity");
    return r;
  });
  const hw = m.pci.device<ImsDevice>(BDF);
  // The world outside the device: its queues complete in turn, each
  // completion raising the queue's IMS slot (the back door a completion
  // with RCI uses). One reusable event, as the test NIC's traffic is.
  let left = 0;
  let next = 0;
  const ev: SimEvent = m.sim.eq.create(
    () => {
      const wq = idxd.wqs[next]!;
      next = (next + 1) % QUEUES;
      hw.raise(wq.ie.int_handle);
      wq.ie.cpus.length = 0;
      if (--left > 0) m.sim.eq.reschedule(ev, m.sim.now + PERIOD_NS / QUEUES);
    },
    "bench ims source",
    true,
  );
  return {
    m,
    handled: () => idxd.wqs.reduce((n, wq) => n + wq.ie.count, 0),
    start: (per) => {
      left = per * QUEUES;
      m.sim.eq.reschedule(ev, m.sim.now + PERIOD_NS / QUEUES);
    },
  };
}

/** Deliver `n` interrupts (n/QUEUES per queue) and return interrupts per CPU-second. */
export async function deliver(r: Rig, n: number, warmup = false): Promise<number> {
  const per = Math.ceil(n / QUEUES);
  const before = r.handled();
  const hits = r.m.iommu!.stats.iecHits;
  r.start(per);
  const t0 = cpuNow();
  await r.m.run(() => msleep(Math.ceil((per * PERIOD_NS * 1.3) / 1e6) + 1));
  const dt = (cpuNow() - t0) / 1e9;
  const got = r.handled() - before;
  if (got !== per * QUEUES) throw new Error(`P1: ${got} of ${per * QUEUES} interrupts handled`);
  if (!warmup && r.m.iommu!.stats.iecHits - hits !== got) throw new Error("P1: not every message hit the interrupt entry cache");
  r.m.recorder.clear();
  return got / dt;
}

/*
 * The baseline: the same path as table lookups on plain arrays. The message
 * slot (mask bit, address, data) -> remappable-format handle -> IEC entry
 * (vector, destination) -> IRR -> highest IRR to ISR -> vector_irq[] ->
 * descriptor (in-progress flag, per-CPU count) -> the action, called
 * directly -> EOI (ISR bit cleared).
 */
interface BaseDesc {
  irq: number;
  state: number;
  kstat: Uint32Array;
  tot: number;
  handler: (irq: number, dev: unknown) => number;
  dev: unknown;
}

function baseline(n: number): number {
  const msixAddr = new Uint32Array(QUEUES);
  const msixData = new Uint32Array(QUEUES);
  const msixCtrl = new Uint32Array(QUEUES);
  const iecVector = new Uint8Array(QUEUES);
  const iecDest = new Uint8Array(QUEUES);
  const iecPresent = new Uint8Array(QUEUES);
  const irr = [new Uint32Array(8), new Uint32Array(8)];
  const isr = [new Uint32Array(8), new Uint32Array(8)];
  const vectorIrq: (BaseDesc | null)[][] = [new Array<BaseDesc | null>(256).fill(null), new Array<BaseDesc | null>(256).fill(null)];
  const counts = new Float64Array(QUEUES);
  for (let q = 0; q < QUEUES; q++) {
    // remappable format: handle in address bits 19:5, bit 4 set
    msixAddr[q] = (0xfee00000 | (q << 5) | (1 << 4) | (1 << 3)) >>> 0;
    msixData[q] = 0;
    iecVector[q] = 0x21 + q;
    iecDest[q] = q % 2;
    iecPresent[q] = 1;
    vectorIrq[q % 2]![0x21 + q] = {
      irq: 40 + q,
      state: 0,
      kstat: new Uint32Array(2),
      tot: 0,
      handler: (_irq, dev) => {
        counts[dev as number]!++;
        return 1;
      },
      dev: q,
    };
  }
  const t0 = cpuNow();
  for (let i = 0; i < n; i++) {
    const q = i % QUEUES;
    if (msixCtrl[q]! & 1) continue;
    const lo = msixAddr[q]!;
    const index = ((lo >>> 5) & 0x7fff) | (((lo >>> 2) & 1) << 15);
    if (!iecPresent[index]) continue;
    const vector = iecVector[index]!;
    const dest = iecDest[index]!;
    const r = irr[dest]!;
    r[vector >>> 5]! |= 1 << (vector & 31);
    // the CPU takes the highest pending vector
    let v = -1;
    for (let w = 7; w >= 0; w--) {
      if (r[w]) {
        v = w * 32 + 31 - Math.clz32(r[w]!);
        break;
      }
    }
    r[v >>> 5]! &= ~(1 << (v & 31));
    const s = isr[dest]!;
    s[v >>> 5]! |= 1 << (v & 31);
    const desc = vectorIrq[dest]![v];
    if (desc && !(desc.state & 1)) {
      desc.state |= 1;
      desc.kstat[dest]!++;
      desc.tot++;
      desc.handler(desc.irq, desc.dev);
      desc.state &= ~1;
    }
    s[v >>> 5]! &= ~(1 << (v & 31));
  }
  const dt = (cpuNow() - t0) / 1e9;
  let sum = 0;
  for (const c of counts) sum += c;
  if (sum !== n) throw new Error("P1 baseline lost interrupts");
  return n / dt;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

export async function p1(opts: { n?: number; nTrace?: number; rounds?: number } = {}): Promise<Row[]> {
  const n = opts.n ?? 400_000;
  const nTrace = opts.nTrace ?? 40_000;
  const rounds = opts.rounds ?? 3;
  const ims = await rig("ims", false);
  const msix = await rig("msix", false);
  const traced = await rig("ims", true);
  // warm up every path and the JIT
  await deliver(ims, 40_000, true);
  await deliver(msix, 40_000, true);
  await deliver(traced, 8_000, true);
  baseline(n);
  const rate: number[] = [];
  const rateMsix: number[] = [];
  const base: number[] = [];
  const rateTraced: number[] = [];
  for (let i = 0; i < rounds; i++) {
    base.push(baseline(n));
    rate.push(await deliver(ims, n));
    rateMsix.push(await deliver(msix, n));
    rateTraced.push(await deliver(traced, nTrace));
  }
  forgetMachines();
  const ratios = rate.map((s, i) => s / base[i]!);
  const r = median(rate);
  const note = `median of ${rounds} rounds, ${QUEUES} queues through INTEL-IR, 2 CPUs`;
  return [
    row("P1", "IMS delivery, tracing off", r, "irq/s", { min: 2_000_000 }, note),
    row("P1", "hand-inlined baseline", median(base), "irq/s", undefined, "same lookups on plain arrays, direct call"),
    row("P1", "IMS delivery / baseline", median(ratios), "ratio", { min: 0.3 }, "per round, measured alternately"),
    row("P1", "MSI-X delivery, tracing off", median(rateMsix), "irq/s", undefined, "test NIC"),
    row("P1", "IMS delivery, tracing on", median(rateTraced), "irq/s", undefined, "the recorder keeps every event"),
    row("P1", "tracing on / off", median(rateTraced) / r, "ratio"),
  ];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [n, nTrace, rounds] = process.argv.slice(2).map(Number);
  report(await p1({ n: n || undefined, nTrace: nTrace || undefined, rounds: rounds || undefined }));
}
