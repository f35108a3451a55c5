// SPDX-License-Identifier: GPL-2.0-only
// The driver of irqlab's test NIC (lib/hw/devices/testnic.ts): one MSI-X
// vector per queue, a hardirq handler per queue that counts what it sees and
// on which CPU. Written as a small PCI driver would be (probe: enable, bus
// master, pci_alloc_irq_vectors(), request_irq() per vector; remove: the
// reverse), so tests and the default scenario exercise the real paths.

import { smp_processor_id } from "../../../lib/kernel/context.ts";
import { ENODEV } from "../../../lib/kernel/errno.ts";
import { writel } from "../../../lib/kernel/io.ts";
import { K } from "../../../lib/kernel/kernel.ts";
import { IRQ_HANDLED, type irqreturn_t } from "../../../lib/irq/interrupt.ts";
import { free_irq, request_irq } from "../../../lib/irq/manage.ts";
import { pci_alloc_irq_vectors, pci_free_irq_vectors, pci_irq_vector, PCI_IRQ_AFFINITY, PCI_IRQ_MSIX } from "../../pci/msi/msi.ts";
import { pci_disable_device, pci_enable_device, pci_iomap, pci_set_master, type pci_dev } from "../../pci/pci.ts";
import { dev_err } from "../../../lib/kernel/printk.ts";

export const TESTNIC_VENDOR_ID = 0x1b36;
export const TESTNIC_DEVICE_ID = 0x7e57;
const TESTNIC_REGS = 0xc000;
const TESTNIC_REG_DOORBELL = 0x0c;

/** One queue as the driver sees it. */
export interface testnic_queue {
  index: number;
  irq: number;
  name: string;
  /** Handler invocations per CPU. */
  per_cpu: number[];
  /** Handler invocations in total. */
  count: number;
  /** Virtual time of each invocation (only when `record` is set). */
  times: number[];
  /** CPU of each invocation (only when `record` is set). */
  cpus: number[];
}

export interface testnic_priv {
  pdev: pci_dev;
  queues: testnic_queue[];
  bar0: number;
  record: boolean;
}

export interface testnic_probe_options {
  /** Vectors wanted (default: all the device has). */
  queues?: number;
  /** Spread them as managed interrupts (PCI_IRQ_AFFINITY). */
  managed?: boolean;
  /** Keep per-invocation times and CPUs. */
  record?: boolean;
  /** Handler duration in ns (virtual time spent in hardirq context). */
  handler_ns?: number;
}

// the queue interrupt: hardirq context, desc->lock not held
function testnic_interrupt(_irq: number, dev_id: unknown): irqreturn_t {
  const q = dev_id as testnic_queue & { owner: testnic_priv; handler_ns: number };
  const cpu = smp_processor_id();
  q.per_cpu[cpu] = (q.per_cpu[cpu] ?? 0) + 1;
  q.count++;
  if (q.owner.record) {
    q.times.push(K.sim.now);
    q.cpus.push(cpu);
  }
  if (q.handler_ns > 0) K.sim.spinFor(q.handler_ns, "testnic handler");
  return IRQ_HANDLED;
}

/** Probe: returns the driver state, or a negative errno. */
export async function testnic_probe(pdev: pci_dev, opts: testnic_probe_options = {}): Promise<testnic_priv | number> {
  if (pdev.vendor !== TESTNIC_VENDOR_ID || pdev.device_id !== TESTNIC_DEVICE_ID) return -ENODEV;
  let ret = pci_enable_device(pdev);
  if (ret) return ret;
  pci_set_master(pdev);
  const want = opts.queues ?? 2048;
  const nvec = await pci_alloc_irq_vectors(pdev, 1, want, PCI_IRQ_MSIX | (opts.managed ? PCI_IRQ_AFFINITY : 0));
  if (nvec < 0) {
    dev_err(pdev, "failed to allocate MSI-X vectors: %d\n", nvec);
    pci_disable_device(pdev);
    return nvec;
  }
  const priv: testnic_priv = { pdev, queues: [], bar0: pci_iomap(pdev, 0, 0), record: opts.record ?? false };
  for (let i = 0; i < nvec; i++) {
    const q = Object.assign(
      { index: i, irq: pci_irq_vector(pdev, i), name: `testnic-q${i}`, per_cpu: [] as number[], count: 0, times: [] as number[], cpus: [] as number[] },
      { owner: priv, handler_ns: opts.handler_ns ?? 0 },
    );
    ret = await request_irq(q.irq, testnic_interrupt, 0, q.name, q);
    if (ret) {
      dev_err(pdev, "request_irq %d failed: %d\n", q.irq, ret);
      for (const p of priv.queues) await free_irq(p.irq, p);
      await pci_free_irq_vectors(pdev);
      pci_disable_device(pdev);
      return ret;
    }
    priv.queues.push(q);
  }
  return priv;
}

/** Remove: free the interrupts and the vectors. */
export async function testnic_remove(priv: testnic_priv): Promise<void> {
  for (const q of priv.queues) await free_irq(q.irq, q);
  priv.queues = [];
  await pci_free_irq_vectors(priv.pdev);
  pci_disable_device(priv.pdev);
}

/** Ring queue `q`'s doorbell: the device raises its vector (a posted MMIO write). */
export function testnic_kick(priv: testnic_priv, q: number): void {
  writel(q, priv.bar0 + TESTNIC_REGS + TESTNIC_REG_DOORBELL);
}
