// SPDX-License-Identifier: GPL-2.0-only
// Shared by vector.test.ts and vector_cleanup.test.ts: booting an x86
// machine with test NICs, probing one, reading tracepoints back, and moving a
// queue's interrupt to another CPU with its cleanup completed.
import { expect } from "chai";
import { createMachine, type Machine } from "../../../lib/machine.ts";
import type { TestNic } from "../../../lib/hw/devices/testnic.ts";
import { cpumask_of } from "../../../lib/kernel/cpumask.ts";
import { msleep } from "../../../lib/kernel/delay.ts";
import { irq_set_affinity } from "../../../lib/irq/manage_affinity.ts";
import { irq_get_irq_data } from "../../../lib/irq/irqdesc.ts";
import { irqd_cfg } from "../../../irqchip/x86/vector.ts";
import { pci_get_device_by_name } from "../../../drivers/pci/pci.ts";
import { testnic_probe, type testnic_priv } from "../../../drivers/net/testnic/testnic.ts";

export const NIC_A = "0000:3b:00.0";

export interface Nic {
  bdf: string;
  vectors: number;
}

export async function boot(cpus: number, ir: boolean, nics: Nic[]): Promise<Machine> {
  return createMachine({
    cpus,
    iommu: { interruptRemapping: ir },
    pci: { devices: nics.map((n) => ({ type: "testnic" as const, bdf: n.bdf, vectors: n.vectors })) },
  });
}

export async function probe(bdf: string, opts: { queues?: number; managed?: boolean; record?: boolean } = {}): Promise<testnic_priv> {
  const r = await testnic_probe(pci_get_device_by_name(bdf)!, opts);
  if (typeof r === "number") throw new Error(`testnic_probe(${bdf}) failed: ${r}`);
  return r;
}

export function tp(m: Machine, from: number, ...events: string[]): string[] {
  return m
    .trace()
    .slice(from)
    .filter((r) => r.kind === "tp" && events.includes(r.event))
    .map((r) => (r.kind === "tp" ? `${r.event}: ${r.text}` : ""));
}

/** A booted machine with NIC A probed (8 queues, recording), without remapping unless asked. */
export async function nic(cpus = 4, ir = false, opts: { managed?: boolean; queues?: number } = {}): Promise<{ m: Machine; hw: TestNic; priv: testnic_priv }> {
  const m = await boot(cpus, ir, [{ bdf: NIC_A, vectors: 8 }]);
  const priv = await m.run(() => probe(NIC_A, { record: true, ...opts }));
  return { m, hw: m.pci.device<TestNic>(NIC_A), priv };
}

/** Move queue `q` (non-remapped, IRQCHIP_MOVE_DEFERRED) to `cpu` and let the move and its cleanup complete. */
export async function settle(m: Machine, hw: TestNic, priv: testnic_priv, q: number, cpu: number): Promise<void> {
  await m.run(async () => {
    expect(irq_set_affinity(priv.queues[q]!.irq, cpumask_of(cpu))).to.equal(0);
    hw.raise(q);
    await msleep(1);
    hw.raise(q);
    await msleep(10);
    expect(irqd_cfg(irq_get_irq_data(priv.queues[q]!.irq)!)!.dest_apicid).to.equal(cpu);
  });
}
