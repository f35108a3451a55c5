// SPDX-License-Identifier: GPL-2.0-only
// PCI MSI-X end to end on the x86 hierarchy: device -> MSI write -> local
// APIC -> vector domain -> PCI-MSIX descriptor -> handle_edge_irq -> driver,
// with and without interrupt remapping; masking, the PBA and lazy disable.

import { expect } from "chai";
import { cpumask_of } from "../../../../lib/kernel/cpumask.ts";
import { msleep } from "../../../../lib/kernel/delay.ts";
import { irq_set_affinity } from "../../../../lib/irq/manage_affinity.ts";
import { disable_irq, enable_irq } from "../../../../lib/irq/manage.ts";
import { irq_get_irq_data } from "../../../../lib/irq/irqdesc.ts";
import { irq_get_msi_desc } from "../../../../lib/irq/chip.ts";
import { irq_data_get_effective_affinity_mask } from "../../../../lib/irq/irq.ts";
import { cpumask_first } from "../../../../lib/kernel/cpumask.ts";
import { pci_msix_mask, pci_msix_unmask } from "../../../../drivers/pci/msi/msi.ts";
import { nicRig, NIC_BDF } from "../../nic_fixture.ts";

for (const ir of [false, true]) {
  const mode = ir ? "with remapping" : "without remapping";
  describe(`drivers/pci/msi MSI-X end to end (${mode})`, () => {
    it("delivers each queue's vector to its handler on the effective-affinity CPU and counts it per CPU", async () => {
      const { m, hw, priv } = await nicRig({ machine: { iommu: { interruptRemapping: ir } } });
      await m.run(() => {
        for (const q of priv.queues) expect(irq_set_affinity(q.irq, cpumask_of(q.index % 4))).to.equal(0);
      });
      const eff = await m.run(() => priv.queues.map((q) => cpumask_first(irq_data_get_effective_affinity_mask(irq_get_irq_data(q.irq)!))));
      expect(eff).to.deep.equal(priv.queues.map((q) => q.index % 4));
      for (const q of priv.queues) hw.raise(q.index);
      await m.run(() => msleep(1));
      for (const q of priv.queues) {
        expect(q.count, q.name).to.equal(1);
        expect(q.per_cpu[q.index % 4], q.name).to.equal(1);
      }
      const chip = `${ir ? "IR-" : ""}PCI-MSIX-${NIC_BDF}`;
      const rows = m.procInterrupts().split("\n");
      for (const q of priv.queues) {
        const row = rows.find((r) => r.endsWith(` ${q.name}`));
        expect(row, q.name).to.be.a("string");
        const cols = row!.trim().split(/\s+/);
        expect(cols.slice(1, 5).map(Number), q.name).to.deep.equal([0, 1, 2, 3].map((c) => (c === q.index % 4 ? 1 : 0)));
        expect(cols[5]).to.equal(chip);
        expect(cols[6]).to.equal(`${q.index}-edge`);
      }
    });

    // With remapping the INTEL-IR level acks with apic_ack_irq() itself (EOI),
    // so the APIC chip's own ack (which completes deferred moves) is not called.
    it("runs the hierarchy in the kernel's order: MSI write, ack through the parents, then the handler", async () => {
      const { m, hw, priv } = await nicRig({ machine: { iommu: { interruptRemapping: ir } } });
      const q = priv.queues[2]!;
      const from = m.trace().length;
      hw.raise(2);
      await m.run(() => msleep(1));
      const ev = m
        .trace()
        .slice(from)
        .filter(
          (r) =>
            (r.kind === "hw.msix" && r.what === "emit") ||
            (r.kind === "hw.msi" && (r.what === "receive" || r.what === "remapped" || r.what === "deliver")) ||
            (r.kind === "irq.chip" && r.phase === "enter" && r.irq === q.irq) ||
            (r.kind === "irq_handler_entry" && r.irq === q.irq),
        )
        .map((r) => (r.kind === "irq.chip" ? `${r.chip}.${r.cb}` : r.kind === "irq_handler_entry" ? "handler" : `${r.kind}:${String((r as { what?: string }).what)}`));
      const chip = `${ir ? "IR-" : ""}PCI-MSIX-${NIC_BDF}`;
      const expected = ["hw.msix:emit", "hw.msi:receive", ...(ir ? ["hw.msi:remapped"] : []), "hw.msi:deliver", `${chip}.irq_ack`, ...(ir ? ["INTEL-IR.irq_ack"] : ["APIC.irq_ack"]), "handler"];
      expect(ev).to.deep.equal(expected);
    });

    it("latches a masked vector in the PBA and sends it exactly once on unmask", async () => {
      const { m, hw, priv } = await nicRig({ machine: { iommu: { interruptRemapping: ir } } });
      const q = priv.queues[1]!;
      await m.run(() => pci_msix_mask(irq_get_msi_desc(q.irq)!));
      hw.raise(1);
      hw.raise(1);
      hw.raise(1);
      await m.run(() => msleep(1));
      expect(q.count).to.equal(0);
      expect(hw.msix.pending(1)).to.equal(true);
      expect(hw.counters(1).latched).to.equal(3);
      await m.run(async () => {
        pci_msix_unmask(irq_get_msi_desc(q.irq)!);
        await msleep(1);
      });
      expect(hw.msix.pending(1)).to.equal(false);
      expect(q.count).to.equal(1);
    });

    it("loses nothing across disable_irq()/enable_irq(): the lazily masked vector is resent", async () => {
      const { m, hw, priv } = await nicRig({ machine: { iommu: { interruptRemapping: ir } } });
      const q = priv.queues[0]!;
      await m.run(() => disable_irq(q.irq));
      // the first raise reaches handle_edge_irq, which marks it pending and
      // masks the entry (lazy disable); the next ones latch in the PBA
      hw.raise(0);
      await m.run(() => msleep(1));
      expect(q.count).to.equal(0);
      expect(hw.msix.entry(0).masked).to.equal(true);
      hw.raise(0);
      await m.run(() => msleep(1));
      expect(hw.msix.pending(0)).to.equal(true);
      await m.run(async () => {
        await enable_irq(q.irq);
        await msleep(1);
      });
      // one run for the resent pending interrupt, one for the PBA's message
      expect(q.count).to.equal(2);
      expect(hw.msix.entry(0).masked).to.equal(false);
      hw.raise(0);
      await m.run(() => msleep(1));
      expect(q.count).to.equal(3);
    });
  });
}
