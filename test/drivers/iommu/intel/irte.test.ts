// SPDX-License-Identifier: GPL-2.0-only
// The life of an interrupt-remapping table entry (hardware.md 2.4):
// intel_irq_remapping_alloc() takes a power-of-two block from the 64K-entry
// bitmap and prepares the IRTEs in software only; activation writes the
// entry (modify_irte() + qi_flush_iec()); deactivation writes an all-zero
// entry (present clear) and flushes it; the free clears the whole block,
// releases it and flushes it with one index-selective invalidation of
// 2^mask entries.

import { expect } from "chai";
import { ENOMEM, EINVAL } from "../../../../lib/kernel/errno.ts";
import { request_irq, free_irq } from "../../../../lib/irq/manage.ts";
import { IRQ_HANDLED } from "../../../../lib/irq/interrupt.ts";
import { irq_domain_activate_irq, irq_domain_deactivate_irq } from "../../../../lib/irq/irqdomain.ts";
import { irq_domain_alloc_irqs, irq_domain_free_irqs } from "../../../../lib/irq/irqdomain_hier.ts";
import { irq_domain_get_irq_data } from "../../../../lib/irq/irqdomain_map.ts";
import { msi_msg } from "../../../../lib/irq/msi_types.ts";
import { MANAGED_IRQ_SHUTDOWN_VECTOR, irqd_cfg } from "../../../../irqchip/x86/vector.ts";
import { X86_IRQ_ALLOC_TYPE_PCI_MSI, X86_IRQ_ALLOC_TYPE_PCI_MSIX } from "../../../../irqchip/x86/msi.ts";
import { remappableMsg, IRTE_DEST, SVT_VERIFY_SID_SQ, type IrteFields } from "../../../../lib/hw/vtd.ts";
import { pci_alloc_irq_vectors, pci_free_irq_vectors, pci_irq_vector, PCI_IRQ_MSIX } from "../../../../drivers/pci/msi/msi.ts";
import { pci_enable_device, pci_set_master } from "../../../../drivers/pci/pci.ts";
import { intel_ir_irte_of } from "../../../../drivers/iommu/intel/irq_remapping.ts";
import { testnic_probe, testnic_remove } from "../../../../drivers/net/testnic/testnic.ts";
import { dmesgLines } from "../../../harness.ts";
import { irRig, irteIndex, NIC_RID, target, tracepoints } from "./ir_rig.ts";

const EMPTY: IrteFields = { present: 0, fpd: 0, dst_mode: 0, redir_hint: 0, trigger_mode: 0, dlvry_mode: 0, avail: 0, pst: 0, vector: 0, dest_id: 0, sid: 0, sq: 0, svt: 0 };

/** prepare_irte() + set_msi_sid(): physical, fixed, edge, redirection hint, the device's requester id verified in full. */
const irteFor = (vector: number, cpu: number): IrteFields => ({ ...EMPTY, present: 1, redir_hint: 1, vector, dest_id: IRTE_DEST(cpu), sid: NIC_RID, svt: SVT_VERIFY_SID_SQ });

const iecFlush = (index: number, mask: number): string => `qi_submit: iec_inv dmar0: 0x${((BigInt(index) << 32n) | (BigInt(mask) << 27n) | 0x14n).toString(16)} 0x0 0x0 0x0`;

describe("drivers/iommu/intel: IRTE lifecycle", () => {
  it("writes the entry at activation, rewrites it at request, clears it at free_irq and releases it with the vectors", async () => {
    const rig = await irRig();
    const { m, priv, unit, iommu } = rig;
    await m.run(() => testnic_remove(priv));
    expect(iommu.ir_table!.bitmap.every((b) => b === 0), "the driver's remove freed every IRTE").to.equal(true);
    const from = m.trace().length;
    const irq = await m.run(async () => {
      // probe again by hand, one vector
      expect(pci_enable_device(priv.pdev)).to.equal(0);
      pci_set_master(priv.pdev);
      expect(await pci_alloc_irq_vectors(priv.pdev, 1, 1, PCI_IRQ_MSIX)).to.equal(1);
      return pci_irq_vector(priv.pdev, 0);
    });
    const index = irteIndex(m, irq);
    expect(index, "the lowest free block").to.equal(0);
    expect(m.enter(() => irq_domain_get_irq_data(iommu.ir_domain!, irq)!.hwirq)).to.equal(index << 16);
    // allocation activated it in reservation mode: the shutdown vector on CPU0
    expect(unit.readIrte(index)).to.deep.equal(irteFor(MANAGED_IRQ_SHUTDOWN_VECTOR, 0));
    expect(tracepoints(m, "intel_iommu", "qi_submit", from)).to.deep.equal([iecFlush(index, 0)]);
    expect(rig.hw.msix.entry(0)).to.include(remappableMsg(index));
    const dev = {};
    const t = await m.run(async () => {
      expect(await request_irq(irq, () => IRQ_HANDLED, 0, "lifecycle", dev)).to.equal(0);
      return target(m, irq);
    });
    expect(unit.readIrte(index)).to.deep.equal(irteFor(t.vector, t.cpu));
    const f = m.trace().length;
    await m.run(() => free_irq(irq, dev));
    expect(unit.readIrte(index), "deactivated: present clear").to.deep.equal(EMPTY);
    expect(tracepoints(m, "intel_iommu", "qi_submit", f)).to.deep.equal([iecFlush(index, 0)]);
    expect(unit.iecEntries()).to.not.include(index);
    expect(iommu.ir_table!.bitmap[index], "still allocated").to.equal(1);
    const g = m.trace().length;
    await m.run(() => pci_free_irq_vectors(priv.pdev));
    expect(tracepoints(m, "intel_iommu", "qi_submit", g)).to.deep.equal([iecFlush(index, 0)]);
    expect(iommu.ir_table!.bitmap.every((b) => b === 0)).to.equal(true);
    expect(unit.readIrte(index)).to.deep.equal(EMPTY);
  });

  it("leaks no entry over repeated probe and remove, and reuses the same indices", async () => {
    const { m, priv, iommu, unit } = await irRig();
    const first = priv.queues.map((q) => irteIndex(m, q.irq));
    expect(first).to.deep.equal([0, 1, 2, 3, 4, 5, 6, 7]);
    let p = priv;
    for (let round = 0; round < 3; round++) {
      await m.run(() => testnic_remove(p));
      expect(iommu.ir_table!.bitmap.reduce((n, b) => n + b, 0)).to.equal(0);
      for (const i of first) expect(unit.readIrte(i).present).to.equal(0);
      const r = await m.run(() => testnic_probe(p.pdev));
      if (typeof r === "number") throw new Error(`probe failed: ${r}`);
      p = r;
      expect(p.queues.map((q) => irteIndex(m, q.irq))).to.deep.equal(first);
    }
    expect(iommu.ir_table!.bitmap.reduce((n, b) => n + b, 0)).to.equal(8);
  });

  // Multi-MSI is the only caller that asks for more than one IRTE at a time
  // (PCI MSI is not modelled, so the block is allocated on the INTEL-IR
  // domain directly, as the PCI/MSI device domain's alloc would).
  it("gives a multi-vector request an aligned power-of-two block: one handle, a sub-handle per vector, one flush on free", async () => {
    const { m, priv, iommu, unit } = await irRig();
    const domain = iommu.ir_domain!;
    const info = { type: X86_IRQ_ALLOC_TYPE_PCI_MSI, flags: 0, mask: null, desc: { dev: priv.pdev } };
    const virq = await m.run(() => irq_domain_alloc_irqs(domain, 3, -1, info));
    expect(virq).to.be.greaterThan(0);
    const irqds = m.enter(() => [0, 1, 2].map((i) => irq_domain_get_irq_data(domain, virq + i)!));
    const base = m.enter(() => intel_ir_irte_of(irqds[0]!)!.index);
    // 8 MSI-X vectors hold 0-7; a block of 4 (mask 2) starts at the next multiple of 4
    expect(base).to.equal(8);
    expect([...iommu.ir_table!.bitmap.slice(8, 13)]).to.deep.equal([1, 1, 1, 1, 0]);
    for (let i = 0; i < 3; i++) {
      const d = irqds[i]!;
      expect(d.hwirq).to.equal((base << 16) + i);
      expect(m.enter(() => intel_ir_irte_of(d))).to.include({ index: base + i, sub_handle: i });
      const msg = new msi_msg();
      m.enter(() => d.chip.irq_compose_msi_msg!(d, msg));
      expect({ addrLo: msg.address_lo, addrHi: msg.address_hi, data: msg.data }, "handle = block base, data = sub-handle").to.deep.equal(remappableMsg(base, i));
      // prepared in software only: the table is written at activation
      expect(unit.readIrte(base + i)).to.deep.equal(EMPTY);
    }
    await m.run(() => {
      for (const d of irqds) expect(irq_domain_activate_irq(d, false)).to.equal(0);
    });
    for (let i = 0; i < 3; i++) {
      const cfg = m.enter(() => irqd_cfg(irqds[i]!)!);
      expect(unit.readIrte(base + i)).to.deep.equal(irteFor(cfg.vector, cfg.dest_apicid));
    }
    const from = m.trace().length;
    await m.run(async () => {
      for (const d of irqds) irq_domain_deactivate_irq(d);
      await irq_domain_free_irqs(virq, 3);
    });
    // three deactivations, each its own entry; then the whole block of 4 in one descriptor (IM 2)
    expect(tracepoints(m, "intel_iommu", "qi_submit", from)).to.deep.equal([iecFlush(base, 0), iecFlush(base + 1, 0), iecFlush(base + 2, 0), iecFlush(base, 2)]);
    expect([...iommu.ir_table!.bitmap.slice(8, 12)]).to.deep.equal([0, 0, 0, 0]);
  });

  it("refuses more than one IRTE for anything but multi-MSI, and a block beyond ECAP.MHMV", async () => {
    const { m, priv, iommu } = await irRig({ machine: { iommu: { unit: { mhmv: 1 } } } });
    const domain = iommu.ir_domain!;
    const msix = { type: X86_IRQ_ALLOC_TYPE_PCI_MSIX, flags: 0, mask: null, desc: { dev: priv.pdev } };
    expect(await m.run(() => irq_domain_alloc_irqs(domain, 2, -1, msix))).to.equal(-EINVAL);
    const from = dmesgLines(m).length;
    const msi = { type: X86_IRQ_ALLOC_TYPE_PCI_MSI, flags: 0, mask: null, desc: { dev: priv.pdev } };
    expect(await m.run(() => irq_domain_alloc_irqs(domain, 3, -1, msi))).to.equal(-ENOMEM);
    expect(dmesgLines(m).slice(from)).to.deep.equal(["DMAR-IR: Requested mask 2 exceeds the max invalidation handle mask value 1", "DMAR-IR: Failed to allocate IRTE"]);
    expect(iommu.ir_table!.bitmap.reduce((n, b) => n + b, 0), "nothing left allocated").to.equal(8);
  });
});
