// SPDX-License-Identifier: GPL-2.0-only
// node --expose-gc --import tsx bench/compare.ts <tree> [p1|p2|p3|all]
//
// The same three measurements on any irqlab tree, for before/after tables
// of docs/performance.md: trees older than the IMS device have only the
// MSI-X test NIC, so P1 and P2 use it here. Run it on a git worktree of the
// older commit and on this one, one after the other. Prints one JSON line.
//   p1: MSI-X delivery through INTEL-IR, interrupts per CPU-second
//   p2: 12 test NICs x 2048 vectors in reservation mode: heap per interrupt,
//       allocation time of the first and last quarter of the devices, free
//       time, heap after the free against before
//   p3: the P3 race on irq_sim, schedules per CPU-second

import { resolve } from "node:path";
import type { TestNic } from "../lib/hw/devices/testnic.ts";
import { cpuNow, settledHeap } from "./util.ts";

const root = resolve(process.argv[2] ?? ".");
const which = process.argv[3] ?? "all";

type MachineMod = typeof import("../lib/machine.ts");
const { createMachine, Machine } = (await import(`${root}/lib/machine.ts`)) as MachineMod;
const { msleep } = (await import(`${root}/lib/kernel/delay.ts`)) as typeof import("../lib/kernel/delay.ts");
const { cpumask_of } = (await import(`${root}/lib/kernel/cpumask.ts`)) as typeof import("../lib/kernel/cpumask.ts");
const { irq_set_affinity } = (await import(`${root}/lib/irq/manage_affinity.ts`)) as typeof import("../lib/irq/manage_affinity.ts");
const { pci_get_device_by_name, pci_enable_device } = (await import(`${root}/drivers/pci/pci.ts`)) as typeof import("../drivers/pci/pci.ts");
const msi = (await import(`${root}/drivers/pci/msi/msi.ts`)) as typeof import("../drivers/pci/msi/msi.ts");
const { testnic_probe } = (await import(`${root}/drivers/net/testnic/testnic.ts`)) as typeof import("../drivers/net/testnic/testnic.ts");
const { irq_domain_create_sim } = (await import(`${root}/lib/irq/irq_sim.ts`)) as typeof import("../lib/irq/irq_sim.ts");
const { irq_create_mapping } = (await import(`${root}/lib/irq/irqdomain.ts`)) as typeof import("../lib/irq/irqdomain.ts");
const { request_irq, free_irq, irq_set_irqchip_state } = (await import(`${root}/lib/irq/manage.ts`)) as typeof import("../lib/irq/manage.ts");
const { IRQCHIP_STATE_PENDING } = (await import(`${root}/lib/irq/irq.ts`)) as typeof import("../lib/irq/irq.ts");
const { kthread_create_on_cpu } = (await import(`${root}/lib/kernel/kthread.ts`)) as typeof import("../lib/kernel/kthread.ts");
const { wake_up_process, sched_yield } = (await import(`${root}/lib/kernel/sched.ts`)) as typeof import("../lib/kernel/sched.ts");

const out: Record<string, number> = {};

if (which === "all" || which === "p1") {
  const bdf = "0000:3b:00.0";
  const m = await createMachine({ cpus: 2, trace: false, pci: { devices: [{ type: "testnic", bdf, vectors: 8 }] } });
  const priv = await m.run(async () => {
    const r = await testnic_probe(pci_get_device_by_name(bdf)!, {});
    if (typeof r === "number") throw new Error(`testnic_probe: ${r}`);
    for (const q of r.queues) irq_set_affinity(q.irq, cpumask_of(q.index % 2));
    return r;
  });
  const hw = m.pci.device<TestNic>(bdf);
  const count = (): number => priv.queues.reduce((s, q) => s + q.count, 0);
  const go = async (n: number): Promise<number> => {
    const per = n / 8;
    const before = count();
    hw.startTraffic({ periodNs: 8000, jitterNs: 2000, count: per });
    const t0 = cpuNow();
    await m.run(() => msleep(Math.ceil((per * 8000 * 1.3) / 1e6) + 1));
    return (count() - before) / ((cpuNow() - t0) / 1e9);
  };
  await go(8000);
  out["p1_irq_per_cpu_s"] = await go(40000);
  Machine.created.length = 0;
}

if (which === "all" || which === "p2") {
  const ndev = 12;
  const bdfs = Array.from({ length: ndev }, (_, i) => `0000:${(0x10 + (i >> 5)).toString(16).padStart(2, "0")}:${(i & 31).toString(16).padStart(2, "0")}.0`);
  const m = await createMachine({ cpus: 4, trace: false, iommu: { interruptRemapping: false }, pci: { devices: bdfs.map((b) => ({ type: "testnic" as const, bdf: b, vectors: 2048 })) } });
  const pdevs = await m.run(() =>
    bdfs.map((b) => {
      const p = pci_get_device_by_name(b)!;
      pci_enable_device(p);
      return p;
    }),
  );
  await m.run(async () => {
    await msi.pci_alloc_irq_vectors(pdevs[0]!, 2048, 2048, msi.PCI_IRQ_MSIX);
    await msi.pci_free_irq_vectors(pdevs[0]!);
  });
  const h0 = settledHeap();
  const times: number[] = [];
  await m.run(async () => {
    for (const p of pdevs) {
      const t0 = cpuNow();
      await msi.pci_alloc_irq_vectors(p, 2048, 2048, msi.PCI_IRQ_MSIX);
      times.push((cpuNow() - t0) / 1e3 / 2048);
    }
  });
  const h1 = settledHeap();
  const t1 = cpuNow();
  await m.run(async () => {
    for (const p of pdevs) await msi.pci_free_irq_vectors(p);
  });
  out["p2_free_us"] = (cpuNow() - t1) / 1e3 / (ndev * 2048);
  const h2 = settledHeap();
  const q = ndev / 4;
  out["p2_alloc_us_first_quarter"] = times.slice(0, q).reduce((a, b) => a + b, 0) / q;
  out["p2_alloc_us_last_quarter"] = times.slice(-q).reduce((a, b) => a + b, 0) / q;
  out["p2_bytes_per_irq"] = (h1 - h0) / (ndev * 2048);
  out["p2_after_free_ratio"] = h2 / h0;
  Machine.created.length = 0;
}

if (which === "all" || which === "p3") {
  const one = async (seed: number): Promise<void> => {
    const m = await createMachine({ cpus: 2, seed, strategy: "random", trace: false, arch: "none" });
    await m.run(async () => {
      const d = await irq_domain_create_sim(null, 1);
      if (typeof d === "number") throw new Error(`irq_domain_create_sim: ${d}`);
      const virq = await irq_create_mapping(d, 0);
      const t = kthread_create_on_cpu(
        async () => {
          for (let k = 0; k < 3; k++) {
            await irq_set_irqchip_state(virq, IRQCHIP_STATE_PENDING, true);
            await sched_yield();
          }
          return 0;
        },
        null,
        1,
        "raiser",
      );
      wake_up_process(t);
      await request_irq(virq, () => 1, 0, "race", m);
      await sched_yield();
      await free_irq(virq, m);
    });
    Machine.created.length = 0;
  };
  for (let s = 0; s < 30; s++) await one(1e6 + s);
  const n = 500;
  const t0 = cpuNow();
  for (let s = 1; s <= n; s++) await one(s);
  out["p3_sched_per_cpu_s"] = n / ((cpuNow() - t0) / 1e9);
}

console.log(JSON.stringify(out));
