// SPDX-License-Identifier: GPL-2.0-only
// The PCI/IMS API of v6.2..v6.9 as the idxd driver meets it:
// pci_create_ims_domain() refuses every template it checks (C56) and leaves
// nothing behind; pci_ims_alloc_irq() beyond hwsize fails with the
// xarray's -EBUSY and leaves the other vectors alone (C50, C57);
// pci_ims_free_irq() warns about a map that names no interrupt (C58).

import { expect } from "chai";
import { msleep } from "../../../../lib/kernel/delay.ts";
import { EBUSY } from "../../../../lib/kernel/errno.ts";
import { DOMAIN_BUS_PCI_DEVICE_MSIX } from "../../../../lib/irq/irqdomain.ts";
import { irq_to_desc } from "../../../../lib/irq/irqdesc.ts";
import { free_irq } from "../../../../lib/irq/manage.ts";
import {
  msi_domain_get_virq,
  msi_get_device_domain,
  MSI_FLAG_ALLOC_SIMPLE_MSI_DESCS,
  MSI_FLAG_FREE_MSI_DESCS,
  MSI_SECONDARY_DOMAIN,
  type msi_domain_template,
} from "../../../../lib/irq/msi.ts";
import { IMSDEV_IMS_OFFSET } from "../../../../lib/hw/devices/ims.ts";
import { pci_create_ims_domain } from "../../../../drivers/pci/msi/irqdomain.ts";
import { pci_ims_alloc_irq, pci_ims_free_irq } from "../../../../drivers/pci/msi/msi.ts";
import { pci_enable_device, pci_iomap } from "../../../../drivers/pci/pci.ts";
import { idxd_pci_probe } from "../../../../drivers/dma/idxd/init.ts";
import { idxd_submit_desc } from "../../../../drivers/dma/idxd/submit.ts";
import { idxd_ims_template, INTEL_IDXD_DEV_COOKIE } from "../../../../irqchip/irq-pci-intel-idxd.ts";
import { dmesgLines, expectSplat } from "../../../harness.ts";
import { IMS_BDF, imsRig } from "./fixture.ts";

/** A copy of the 2022 IDXD template with one thing changed. */
function variant(edit: (t: msi_domain_template) => void): msi_domain_template {
  const t: msi_domain_template = { chip: { ...idxd_ims_template.chip }, ops: { ...idxd_ims_template.ops }, info: { ...idxd_ims_template.info } };
  edit(t);
  return t;
}

const BAD_TEMPLATES: [string, msi_domain_template][] = [
  ["a bus token other than DOMAIN_BUS_PCI_DEVICE_IMS", variant((t) => (t.info.bus_token = DOMAIN_BUS_PCI_DEVICE_MSIX))],
  ["no MSI_FLAG_ALLOC_SIMPLE_MSI_DESCS", variant((t) => (t.info.flags &= ~MSI_FLAG_ALLOC_SIMPLE_MSI_DESCS))],
  ["no MSI_FLAG_FREE_MSI_DESCS", variant((t) => (t.info.flags &= ~MSI_FLAG_FREE_MSI_DESCS))],
  ["a chip without irq_mask", variant((t) => delete t.chip.irq_mask)],
  ["a chip without irq_unmask", variant((t) => delete t.chip.irq_unmask)],
  ["a chip without irq_write_msi_msg", variant((t) => delete t.chip.irq_write_msi_msg)],
  ["a chip with its own irq_set_affinity", variant((t) => (t.chip.irq_set_affinity = () => 0))],
];

describe("drivers/pci/msi pci_create_ims_domain() checks (v6.2..v6.9)", () => {
  for (const [what, tmpl] of BAD_TEMPLATES) {
    it(`C56 returns false for a template with ${what}, and creates nothing`, async () => {
      const { m, pdev } = await imsRig({ probe: false });
      const slots = await m.run(() => {
        pci_enable_device(pdev);
        return pci_iomap(pdev, 0, 0) + IMSDEV_IMS_OFFSET;
      });
      const from = m.trace().length;
      expect(await m.run(() => pci_create_ims_domain(pdev, tmpl, 8, slots))).to.equal(false);
      // refused before msi_create_device_irq_domain(): no MSI data, no domain, no message
      expect(pdev.msi.data).to.equal(null);
      expect(m.trace().slice(from).filter((r) => r.kind === "irq.domain" || r.kind === "hw.mmio")).to.deep.equal([]);
      expect(m.debugfsDomain(`IR-PCI-IDXD-${IMS_BDF}-15`)).to.equal(null);
      expect(m.splats()).to.deep.equal([]);
      // the unmodified template is accepted on the same device
      expect(await m.run(() => pci_create_ims_domain(pdev, idxd_ims_template, 8, slots))).to.equal(true);
      expect(m.debugfsDomain(`IR-PCI-IDXD-${IMS_BDF}-15`)).to.be.a("string");
    });
  }

  it("C56 returns false for a device whose MSI domain is not an MSI parent", async () => {
    const { m, pdev } = await imsRig({ probe: false });
    const parent = pdev.msi.domain;
    pdev.msi.domain = null;
    expect(await m.run(() => pci_create_ims_domain(pdev, idxd_ims_template, 8, 0))).to.equal(false);
    pdev.msi.domain = parent;
    expect(pdev.msi.data).to.equal(null);
  });
});

describe("drivers/pci/msi pci_ims_alloc_irq() and pci_ims_free_irq() at the edges", () => {
  it("C57 fails beyond hwsize with -EBUSY from the index allocator and leaves the other vectors working", async () => {
    const { m, hw, pdev, idxd } = await imsRig({ probe: { wqs: 2, ims_slots: 2 } });
    const [a, b] = idxd.wqs.map((w) => w.ie.map);
    const from = m.trace().length;
    const map = await m.run(() => pci_ims_alloc_irq(pdev, INTEL_IDXD_DEV_COOKIE(9), null));
    // msi_insert_desc(): xa_alloc() finds no free index in [0, hwsize - 1]
    expect(map).to.deep.equal({ index: -EBUSY, virq: 0 });
    // the descriptor was freed before any domain op or slot access
    expect(m.trace().slice(from).filter((r) => r.kind === "irq.domain" || r.kind === "irq.chip" || r.kind === "hw.mmio")).to.deep.equal([]);
    expect(m.enter(() => [0, 1, 2].map((i) => msi_domain_get_virq(pdev, MSI_SECONDARY_DOMAIN, i)))).to.deep.equal([a!.virq, b!.virq, 0]);
    expect(hw.slot(2)).to.deep.include({ masked: true, addrLo: 0 });
    await m.run(async () => {
      for (const wq of idxd.wqs) idxd_submit_desc(wq);
      await msleep(1);
    });
    expect(idxd.wqs.map((w) => w.completed)).to.deep.equal([1, 1]);
    // a freed index is handed out again
    const again = await m.run(async () => {
      await free_irq(b!.virq, idxd.wqs[1]);
      await pci_ims_free_irq(pdev, b!);
      return pci_ims_alloc_irq(pdev, INTEL_IDXD_DEV_COOKIE(9), null);
    });
    expect(again.index).to.equal(1);
    expect(m.splats()).to.deep.equal([]);
  });

  it("C57 makes the driver's probe fail cleanly when it wants more vectors than hwsize", async () => {
    const { m, hw, pdev } = await imsRig({ probe: false });
    const rc = await m.run(() => idxd_pci_probe(pdev, { wqs: 3, ims_slots: 2 }));
    expect(rc).to.equal(-EBUSY);
    expect(dmesgLines(m).filter((l) => l.startsWith("idxd "))).to.deep.equal([`idxd ${IMS_BDF}: Failed to allocate IMS vector for wq 2: -16`]);
    // the two vectors it had were freed and the domain removed
    expect(m.enter(() => msi_get_device_domain(pdev, MSI_SECONDARY_DOMAIN))).to.equal(null);
    expect(hw.slot(0)).to.deep.include({ masked: true, addrLo: 0 });
    expect(hw.slot(1)).to.deep.include({ masked: true, addrLo: 0 });
    expect(await m.run(() => idxd_pci_probe(pdev, { wqs: 2, ims_slots: 2 }))).to.be.an("object");
  });

  for (const [what, bad] of [
    ["a negative index", { index: -EBUSY, virq: 0 }],
    ["a negative virq (the draft's !map.virq let it through)", { index: 0, virq: -1 }],
  ] as const) {
    it(`C58 warns about a map with ${what} and frees nothing`, async () => {
      const { m, idxd, pdev } = await imsRig({ probe: { wqs: 1 } });
      await expectSplat(m, /WARNING: CPU: 0 PID: \d+ at pci_ims_free_irq/, () => m.run(() => pci_ims_free_irq(pdev, bad)));
      const ie = idxd.wqs[0]!.ie;
      expect(m.enter(() => irq_to_desc(ie.vector))).to.not.equal(null);
      await m.run(async () => {
        idxd_submit_desc(idxd.wqs[0]!);
        await msleep(1);
      });
      expect(idxd.wqs[0]!.completed).to.equal(1);
    });
  }
});
