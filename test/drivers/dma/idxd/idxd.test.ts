// SPDX-License-Identifier: GPL-2.0-only
// The idxd driver on the IMS array device: one IMS vector per work queue
// with the queue's PASID, descriptors completing through them, remove
// undoing it all; the v6.2 x86 gate for IMS; and what a burst of
// completions around disable_irq()/enable_irq() leaves when the device
// drops interrupts raised on a masked slot.

import { expect } from "chai";
import { msleep } from "../../../../lib/kernel/delay.ts";
import { ENODEV } from "../../../../lib/kernel/errno.ts";
import { IRQ_DISABLE_UNLAZY } from "../../../../lib/irq/irq.ts";
import { irq_set_status_flags } from "../../../../lib/irq/chip.ts";
import { irq_to_desc } from "../../../../lib/irq/irqdesc.ts";
import { disable_irq, enable_irq } from "../../../../lib/irq/manage.ts";
import { msi_get_device_domain, MSI_SECONDARY_DOMAIN } from "../../../../lib/irq/msi.ts";
import type { ImsPending } from "../../../../lib/hw/devices/ims.ts";
import { pci_ims_alloc_irq } from "../../../../drivers/pci/msi/msi.ts";
import { idxd_pci_probe, idxd_remove } from "../../../../drivers/dma/idxd/init.ts";
import { idxd_submit_desc } from "../../../../drivers/dma/idxd/submit.ts";
import type { idxd_ims_chip } from "../../../../drivers/dma/idxd/idxd.ts";
import { INTEL_IDXD_DEV_COOKIE } from "../../../../irqchip/irq-pci-intel-idxd.ts";
import { dmesgLines } from "../../../harness.ts";
import { IMS_BDF, imsRig } from "./fixture.ts";

const CHIPS: idxd_ims_chip[] = ["idxd", "rfc2020"];

for (const chip of CHIPS) {
  describe(`drivers/dma/idxd with the ${chip === "idxd" ? "2022 IDXD" : "2020 RFC array"} IMS chip`, () => {
    it("gives each work queue an IMS vector and completes every queue's descriptors through its own interrupt", async () => {
      const { m, hw, idxd } = await imsRig({ probe: { chip, pasids: [0x11, 0x12, 0x13, 0x14] } });
      expect(idxd.wqs.map((w) => w.ie.int_handle)).to.deep.equal([0, 1, 2, 3]);
      await m.run(async () => {
        for (const wq of idxd.wqs) for (let i = 0; i <= wq.id; i++) expect(idxd_submit_desc(wq)).to.equal(0);
        await msleep(1);
      });
      // queue k got k + 1 descriptors; each completed and was reaped by its handler
      expect(idxd.wqs.map((w) => [w.completed, w.failed, w.head - w.tail])).to.deep.equal([
        [1, 0, 0],
        [2, 0, 0],
        [3, 0, 0],
        [4, 0, 0],
      ]);
      for (const wq of idxd.wqs) {
        expect(wq.ie.count, `wq${wq.id}`).to.be.within(1, wq.id + 1);
        expect(hw.counters(wq.ie.int_handle).emitted, `wq${wq.id}`).to.equal(wq.id + 1);
      }
      // the queue's PASID travels with its messages under the 2022 chip only
      const pasids = new Set(m.trace().flatMap((r) => (r.kind === "hw.msi" && r.what === "receive" && r.pasid !== undefined ? [r.pasid] : [])));
      expect([...pasids].sort()).to.deep.equal(chip === "idxd" ? [0x11, 0x12, 0x13, 0x14] : []);
      const rows = m.procInterrupts().split("\n");
      for (const wq of idxd.wqs) {
        const row = rows.find((r) => r.trim().startsWith(`${wq.ie.vector}:`));
        expect(row, `wq${wq.id}`).to.match(new RegExp(`IR-${chip === "idxd" ? "PCI-IDXD" : "IMS"}-${IMS_BDF.replace(/\./g, "\\.")}\\s+${wq.ie.int_handle}-edge\\s+idxd-portal$`));
      }
    });

    it("frees the interrupts, the IMS vectors and the domain on remove, leaving every slot masked, and probes again", async () => {
      const { m, hw, pdev, idxd } = await imsRig({ probe: { chip } });
      const virqs = idxd.wqs.map((w) => w.ie.vector);
      await m.run(() => idxd_remove(idxd));
      for (const v of virqs) expect(m.enter(() => irq_to_desc(v)), `irq ${v}`).to.equal(null);
      expect(m.enter(() => msi_get_device_domain(pdev, MSI_SECONDARY_DOMAIN))).to.equal(null);
      expect(m.debugfsDomain(`IR-${chip === "idxd" ? "PCI-IDXD" : "IMS"}-${IMS_BDF}-15`)).to.equal(null);
      for (let k = 0; k < 4; k++) expect(hw.slot(k), `slot ${k}`).to.deep.include({ addrLo: 0, addrHi: 0, data: 0, masked: true, pending: false });
      const again = await m.run(() => idxd_pci_probe(pdev, { chip }));
      expect(typeof again).to.equal("object");
      expect(dmesgLines(m).filter((l) => /idxd|WARNING/.test(l))).to.deep.equal([]);
    });

    // A burst of four completions while the queue's interrupt is disabled,
    // on a device that drops raises on a masked slot. The handler reaps every
    // finished descriptor it finds, so one run after enable_irq() is enough.
    // Results: [handler runs, descriptors left unreaped, raises dropped].
    async function burst(pending: ImsPending, unlazy: boolean): Promise<[number, number, number]> {
      const { m, hw, idxd } = await imsRig({ probe: { chip, wqs: 1 }, dev: { pending, opLatencyNs: 5000 } });
      const wq = idxd.wqs[0]!;
      await m.run(async () => {
        if (unlazy) irq_set_status_flags(wq.ie.vector, IRQ_DISABLE_UNLAZY);
        await disable_irq(wq.ie.vector);
        for (let i = 0; i < 4; i++) idxd_submit_desc(wq);
        await msleep(1);
        await enable_irq(wq.ie.vector);
        await msleep(1);
      });
      return [wq.ie.count, wq.head - wq.tail, hw.counters(wq.ie.int_handle).dropped];
    }

    it("loses nothing of a burst around disable_irq()/enable_irq() with lazy disable: genirq retriggers what it saw", async () => {
      // the first completion reaches handle_edge_irq(), which marks it pending
      // and masks the slot; the device drops the other three; enable_irq()
      // unmasks and retriggers, and the one handler run reaps all four
      expect(await burst("drop", false)).to.deep.equal([1, 0, 3]);
    });

    it("loses the burst when disable_irq() masks at once and the device drops, and keeps it when the device latches", async () => {
      // IRQ_DISABLE_UNLAZY: masked before the first completion, genirq never
      // sees one and has nothing to retrigger; four descriptors stay done but unreaped
      expect(await burst("drop", true)).to.deep.equal([0, 4, 4]);
      // a latching device sends one message on unmask: one run reaps all four
      expect(await burst("latch", true)).to.deep.equal([1, 0, 0]);
    });
  });
}

describe("drivers/dma/idxd: IMS on x86 needs interrupt remapping (v6.2..v6.9)", () => {
  it("fails to probe on the bare vector domain: x86_init_dev_msi_info() refuses DOMAIN_BUS_PCI_DEVICE_IMS", async () => {
    const { m, pdev } = await imsRig({ probe: false, machine: { iommu: { interruptRemapping: false } } });
    const rc = await m.run(() => idxd_pci_probe(pdev, {}));
    expect(rc).to.equal(-ENODEV);
    expect(dmesgLines(m).filter((l) => l.startsWith("idxd "))).to.deep.equal([`idxd ${IMS_BDF}: Failed to create IMS domain`]);
    // msi_create_device_irq_domain() set up the device's MSI data before the
    // parent refused, so an allocation finds no domain
    const map = await m.run(() => pci_ims_alloc_irq(pdev, INTEL_IDXD_DEV_COOKIE(1), null));
    expect(map).to.deep.equal({ index: -ENODEV, virq: 0 });
  });

  it("probes on the vector domain with the ims.onVectorDomain option, as the 2020 RFC allowed", async () => {
    const { m, hw, idxd } = await imsRig({ probe: { chip: "rfc2020" }, machine: { iommu: { interruptRemapping: false }, ims: { onVectorDomain: true } } });
    await m.run(async () => {
      idxd_submit_desc(idxd.wqs[2]!);
      await msleep(1);
    });
    expect(idxd.wqs[2]!.completed).to.equal(1);
    // without remapping the slot holds the compatibility-format message itself
    expect(hw.slot(2).addrLo >>> 20).to.equal(0xfee);
    expect(hw.slot(2).addrLo & 0x10).to.equal(0);
  });
});
