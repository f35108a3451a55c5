// SPDX-License-Identifier: GPL-2.0-only
// The lock acquire sites genirq names itself (site_of(), passed as the ip of
// raw_spin_lock*() and __mutex_lock()) instead of capturing the stack on
// every acquisition must be the sites the capture finds: with
// lockdep_check_ip the kernel captures the stack as well and throws on a
// difference. These runs take every named site on the paths they cover:
// descriptor setup, domain mapping, request/free (threaded too), the flow
// handlers, synchronize, the MSI-X allocation and free of a PCI driver.

import { expect } from "chai";
import { SimulatorError } from "../../../lib/sim/sim.ts";
import { createMachine, type MachineOptions } from "../../../lib/machine.ts";
import { msleep } from "../../../lib/kernel/delay.ts";
import { raw_spinlock_t, raw_spin_lock } from "../../../lib/kernel/spinlock.ts";
import { site_of } from "../../../lib/kernel/stacktrace.ts";
import { cpumask_of } from "../../../lib/kernel/cpumask.ts";
import { IRQ_HANDLED, IRQ_WAKE_THREAD } from "../../../lib/irq/interrupt.ts";
import { IRQCHIP_STATE_PENDING } from "../../../lib/irq/irq.ts";
import { can_request_irq, disable_irq, enable_irq, free_irq, irq_set_irqchip_state, request_irq, request_threaded_irq, synchronize_irq } from "../../../lib/irq/manage.ts";
import { irq_set_affinity } from "../../../lib/irq/manage_affinity.ts";
import { irq_set_chained_handler_and_data } from "../../../lib/irq/chip.ts";
import { handle_edge_irq, handle_fasteoi_irq, handle_level_irq, handle_simple_irq } from "../../../lib/irq/flow.ts";
import { irq_domain_create_sim } from "../../../lib/irq/irq_sim.ts";
import { irq_create_mapping, irq_dispose_mapping } from "../../../lib/irq/irqdomain.ts";
import { pci_get_device_by_name } from "../../../drivers/pci/pci.ts";
import { testnic_probe, testnic_remove } from "../../../drivers/net/testnic/testnic.ts";
import type { TestNic } from "../../../lib/hw/devices/testnic.ts";
import { idxd_pci_probe, idxd_remove } from "../../../drivers/dma/idxd/init.ts";
import { pci_ims_alloc_irq, pci_ims_free_irq } from "../../../drivers/pci/msi/msi.ts";
import { irq_line, rec_chip, setup_irq } from "./fixture.ts";

const CHECK: MachineOptions = { config: { lockdep_check_ip: true } };

describe("genirq: named lock acquire sites match the captured ones (lockdep_check_ip)", () => {
  it("throws when a named site is not the caller", async () => {
    const m = await createMachine({ cpus: 1, arch: "none", ...CHECK });
    function somewhere_else(): void {}
    let err: unknown;
    await m.run(() => {
      const l = new raw_spinlock_t("&check_lock");
      try {
        raw_spin_lock(l, 0, site_of(somewhere_else));
      } catch (e) {
        err = e;
      }
    });
    expect(err).to.be.instanceOf(SimulatorError);
    expect((err as Error).message).to.match(/acquire site somewhere_else, but the stack shows/);
  });

  it("the flow handlers, request/free, threads and synchronize on bare descriptors", async () => {
    const m = await createMachine({ cpus: 2, ...CHECK });
    await m.run(async () => {
      for (const flow of [handle_edge_irq, handle_level_irq, handle_fasteoi_irq, handle_simple_irq]) {
        const { irq, desc } = setup_irq(rec_chip([], { cbs: ["irq_ack", "irq_mask", "irq_unmask", "irq_eoi"] }), flow);
        expect(can_request_irq(irq, 0)).to.equal(true);
        expect(await request_threaded_irq(irq, () => IRQ_WAKE_THREAD, () => Promise.resolve(IRQ_HANDLED), 0, "site", m)).to.equal(0);
        irq_line(desc).raise(1);
        await msleep(1);
        await disable_irq(irq);
        await enable_irq(irq);
        await synchronize_irq(irq);
        expect(await free_irq(irq, m)).to.equal("site");
      }
      const { irq: parent } = setup_irq(rec_chip([]), handle_simple_irq);
      irq_set_chained_handler_and_data(parent, handle_simple_irq, null);
    });
  });

  it("irq_sim mapping, request, raise and free", async () => {
    const m = await createMachine({ cpus: 2, arch: "none", ...CHECK });
    await m.run(async () => {
      const d = await irq_domain_create_sim(null, 2);
      if (typeof d === "number") throw new Error(`irq_domain_create_sim: ${d}`);
      const virq = await irq_create_mapping(d, 1);
      let n = 0;
      expect(
        await request_irq(
          virq,
          () => {
            n++;
            return IRQ_HANDLED;
          },
          0,
          "sim",
          m,
        ),
      ).to.equal(0);
      await irq_set_irqchip_state(virq, IRQCHIP_STATE_PENDING, true);
      await msleep(1);
      expect(n).to.equal(1);
      await free_irq(virq, m);
      await irq_dispose_mapping(virq);
    });
  });

  it("a PCI driver's MSI-X vectors through the remapping unit: probe, affinity, interrupts, remove", async () => {
    const bdf = "0000:3b:00.0";
    const m = await createMachine({ cpus: 2, ...CHECK, pci: { devices: [{ type: "testnic", bdf, vectors: 4 }] } });
    const priv = await m.run(async () => {
      const r = await testnic_probe(pci_get_device_by_name(bdf)!, {});
      if (typeof r === "number") throw new Error(`testnic_probe: ${r}`);
      for (const q of r.queues) expect(irq_set_affinity(q.irq, cpumask_of(q.index % 2))).to.equal(0);
      return r;
    });
    const hw = m.pci.device<TestNic>(bdf);
    for (let q = 0; q < 4; q++) hw.raise(q);
    await m.run(() => msleep(1));
    expect(priv.queues.map((q) => q.count)).to.deep.equal([1, 1, 1, 1]);
    await m.run(() => testnic_remove(priv));
  });

  it("an IMS device's interrupts: idxd probe, pci_ims_alloc_irq/pci_ims_free_irq, remove", async () => {
    const bdf = "0000:6a:01.0";
    const m = await createMachine({ cpus: 2, ...CHECK, pci: { devices: [{ type: "ims", bdf, wqs: 2 }] } });
    await m.run(async () => {
      const pdev = pci_get_device_by_name(bdf)!;
      const idxd = await idxd_pci_probe(pdev, {});
      if (typeof idxd === "number") throw new Error(`idxd_pci_probe: ${idxd}`);
      const map = await pci_ims_alloc_irq(pdev, { value: 7n }, null);
      expect(map.index).to.be.at.least(0);
      await pci_ims_free_irq(pdev, map);
      await idxd_remove(idxd);
    });
  });
});
