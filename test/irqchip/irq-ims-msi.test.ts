// SPDX-License-Identifier: GPL-2.0-only
// The two IMS chips on the x86 hierarchy: the 2020 RFC array chip
// (irqchip/irq-ims-msi.ts) and the 2022 IDXD chip
// (irqchip/irq-pci-intel-idxd.ts), under the remapping domain
// (IR-<chip>-<dev> -> INTEL-IR -> VECTOR) and directly under the vector
// domain (<chip>-<dev> -> VECTOR, the `ims.onVectorDomain` machine option).
// The callback order is derived from the v6.18 genirq paths and the
// v6.2..v6.9 MSI/IMS code; each step says why it runs.

import { expect } from "chai";
import type { Machine, MachineOptions } from "../../lib/machine.ts";
import { K } from "../../lib/kernel/kernel.ts";
import { msleep } from "../../lib/kernel/delay.ts";
import { cpumask_of } from "../../lib/kernel/cpumask.ts";
import { IRQ_HANDLED } from "../../lib/irq/interrupt.ts";
import { IRQ_DISABLE_UNLAZY } from "../../lib/irq/irq.ts";
import { irq_set_status_flags } from "../../lib/irq/chip.ts";
import { disable_irq, enable_irq, free_irq, request_irq } from "../../lib/irq/manage.ts";
import { irq_set_affinity } from "../../lib/irq/manage_affinity.ts";
import type { msi_map } from "../../lib/irq/msi.ts";
import { IMSDEV_IMS_OFFSET, type ImsPendingStatus } from "../../lib/hw/devices/ims.ts";
import { pci_ims_alloc_irq, pci_ims_free_irq } from "../../drivers/pci/msi/msi.ts";
import { pci_enable_device, pci_iomap, pci_set_master } from "../../drivers/pci/pci.ts";
import { pci_intel_idxd_create_ims_domain, pci_ims_array_create_msi_irq_domain } from "../../drivers/dma/idxd/ims.ts";
import { INTEL_IDXD_DEV_COOKIE } from "../../irqchip/irq-pci-intel-idxd.ts";
import { IMS_BDF, imsRig, type ImsRig } from "../drivers/dma/idxd/fixture.ts";

type Chip = "rfc2020" | "idxd";

interface Config {
  chip: Chip;
  ir: boolean;
  /** the device domain and its chip as msi_create_device_irq_domain() names them */
  domain: string;
  name: string;
}

const CONFIGS: Config[] = [
  { chip: "rfc2020", ir: true, domain: `IR-IMS-${IMS_BDF}-15`, name: `IR-IMS-${IMS_BDF}` },
  { chip: "rfc2020", ir: false, domain: `IMS-${IMS_BDF}-15`, name: `IMS-${IMS_BDF}` },
  { chip: "idxd", ir: true, domain: `IR-PCI-IDXD-${IMS_BDF}-15`, name: `IR-PCI-IDXD-${IMS_BDF}` },
  { chip: "idxd", ir: false, domain: `PCI-IDXD-${IMS_BDF}-15`, name: `PCI-IDXD-${IMS_BDF}` },
];

const NO_IR: MachineOptions = { iommu: { interruptRemapping: false }, ims: { onVectorDomain: true } };
const PASID = 0x5a;

function handler(): number {
  return IRQ_HANDLED;
}

/** The device enabled, its IMS domain created over 8 slots, one vector allocated with a PASID cookie. */
async function imsVector(c: Config): Promise<ImsRig & { map: msi_map }> {
  const rig = await imsRig({ probe: false, dev: { polarity: c.chip }, machine: c.ir ? {} : NO_IR });
  const map = await rig.m.run(async () => {
    pci_enable_device(rig.pdev);
    pci_set_master(rig.pdev);
    const slots = pci_iomap(rig.pdev, 0, 0) + IMSDEV_IMS_OFFSET;
    const ok = c.chip === "idxd" ? await pci_intel_idxd_create_ims_domain(rig.pdev, slots, 8) : await pci_ims_array_create_msi_irq_domain(rig.pdev, { slots, max_slots: 8 });
    expect(ok).to.equal(true);
    return pci_ims_alloc_irq(rig.pdev, INTEL_IDXD_DEV_COOKIE(PASID), null);
  });
  expect(map.index).to.equal(0);
  return { ...rig, map };
}

/** Chip callbacks and domain ops of `irq` since trace record `from`, indented by hierarchy depth. */
function callbacks(m: Machine, from: number, irq: number): string[] {
  const out: string[] = [];
  for (const r of m.trace().slice(from)) {
    if (r.kind === "irq.chip" && r.phase === "enter" && r.irq === irq) out.push(`${"  ".repeat(r.depth)}${r.chip}.${r.cb}`);
    else if (r.kind === "irq.domain" && r.phase === "enter" && r.irq === irq) out.push(`${"  ".repeat(r.depth)}${r.op} ${r.domain}`);
  }
  return out;
}

async function traced(m: Machine, irq: number, fn: () => Promise<unknown>): Promise<string[]> {
  const from = m.trace().length;
  await m.run(async () => {
    await fn();
  });
  return callbacks(m, from, irq);
}

for (const c of CONFIGS) {
  const C = c.name;
  const D = c.domain;
  // the level between the device domain and the vector domain, if any
  const IR = c.ir ? "INTEL-IR" : null;
  describe(`irqchip ${c.chip === "idxd" ? "PCI-IDXD (2022)" : "IMS array (2020 RFC)"} ${c.ir ? "under interrupt remapping" : "on the vector domain"}: callback order`, () => {
    it("pci_ims_alloc_irq() allocates top-down through every level", async () => {
      const rig = await imsRig({ probe: false, dev: { polarity: c.chip }, machine: c.ir ? {} : NO_IR });
      const from = rig.m.trace().length;
      const map = await rig.m.run(async () => {
        pci_enable_device(rig.pdev);
        const slots = pci_iomap(rig.pdev, 0, 0) + IMSDEV_IMS_OFFSET;
        if (c.chip === "idxd") await pci_intel_idxd_create_ims_domain(rig.pdev, slots, 8);
        else await pci_ims_array_create_msi_irq_domain(rig.pdev, { slots, max_slots: 8 });
        return pci_ims_alloc_irq(rig.pdev, INTEL_IDXD_DEV_COOKIE(PASID), null);
      });
      // msi_domain_alloc() asks its parent first (irq_domain_alloc_irqs_parent),
      // the remapping level likewise; no chip callback runs: IMS domains are not
      // MSI_FLAG_ACTIVATE_EARLY, so activation waits for request_irq()
      expect(callbacks(rig.m, from, map.virq)).to.deep.equal([`alloc ${D}`, ...(IR ? ["  alloc INTEL-IR-0-13", "    alloc VECTOR"] : ["  alloc VECTOR"])]);
    });

    it("request_irq(): activate innermost first, write the message, set the affinity, then unmask", async () => {
      const { m, map } = await imsVector(c);
      const cbs = await traced(m, map.virq, () => request_irq(map.virq, handler, 0, "ims-test", handler));
      const expected = [
        // __setup_irq -> irq_activate -> __irq_domain_activate_irq(): parents first
        "activate VECTOR", // x86_vector_activate(): the vector is assigned
        ...(IR ? ["activate INTEL-IR-0-13"] : []), // intel_irq_remapping_activate(): modify_irte() + IEC flush
        `activate ${D}`, // msi_domain_activate()
        // irq_chip_compose_msi_msg(): the first level up that composes; with
        // remapping that is the IRTE handle, otherwise the vector and APIC ID
        IR ? "  INTEL-IR.irq_compose_msi_msg" : "  APIC.irq_compose_msi_msg",
        `  ${C}.irq_write_msi_msg`, // ... written into the slot
        // irq_startup(): IRQCHIP_AFFINITY_PRE_STARTUP (x86_init_dev_msi_info)
        // sets the affinity before __irq_startup()
        `${C}.irq_set_affinity`,
        ...(IR
          ? [
              // msi_domain_set_affinity() -> intel_ir_set_affinity() -> apic_set_affinity();
              // the IRTE is rewritten and IRQ_SET_MASK_OK_DONE leaves the slot alone
              "  INTEL-IR.irq_set_affinity",
              "    APIC.irq_set_affinity",
            ]
          : [
              // msi_set_affinity(): parent first, then a direct message update
              // (the interrupt is not started yet)
              "  APIC.irq_set_affinity",
              `  ${C}.irq_write_msi_msg`,
            ]),
        // __irq_startup(): no irq_startup/irq_enable callback, so irq_enable()
        // -> unmask_irq() (the descriptor starts masked)
        `${C}.irq_unmask`,
      ];
      expect(cbs).to.deep.equal(expected);
    });

    it("disable_irq() and enable_irq() call no chip callback while no interrupt arrives (lazy disable)", async () => {
      const { m, map } = await imsVector(c);
      await m.run(() => request_irq(map.virq, handler, 0, "ims-test", handler));
      // __irq_disable(desc, false): no irq_disable callback and not unlazy, so
      // only IRQD_IRQ_DISABLED is set; irq_enable() finds the line unmasked
      expect(await traced(m, map.virq, () => disable_irq(map.virq))).to.deep.equal([]);
      expect(await traced(m, map.virq, () => enable_irq(map.virq))).to.deep.equal([]);
    });

    it("an interrupt while disabled is masked in the flow handler and retriggered by enable_irq()", async () => {
      const { m, hw, map } = await imsVector(c);
      await m.run(() => request_irq(map.virq, handler, 0, "ims-test", handler));
      await m.run(() => disable_irq(map.virq));
      const ack = IR ? ["  INTEL-IR.irq_ack"] : ["  APIC.irq_ack"];
      const during = await traced(m, map.virq, async () => {
        hw.raise(map.index);
        await msleep(1);
      });
      // handle_edge_irq(): cannot handle -> IRQS_PENDING, mask_ack_irq(): no
      // irq_mask_ack, so irq_mask then irq_ack (irq_chip_ack_parent ->
      // apic_ack_irq at the next level that acks)
      expect(during).to.deep.equal([`${C}.irq_mask`, `${C}.irq_ack`, ...ack]);
      const after = await traced(m, map.virq, async () => {
        await enable_irq(map.virq);
        await msleep(1);
      });
      expect(after).to.deep.equal([
        // irq_startup(IRQ_RESEND, IRQ_START_FORCE) -> irq_enable() -> unmask_irq()
        `${C}.irq_unmask`,
        // check_irq_resend(): IRQS_PENDING -> irq_chip_retrigger_hierarchy()
        // finds the vector chip's apic_retrigger_irq() (INTEL-IR has none)
        `${C}.irq_retrigger`,
        "  APIC.irq_retrigger",
        // the retrigger IPI runs handle_edge_irq() once
        `${C}.irq_ack`,
        ...ack,
      ]);
    });

    it(`irq_set_affinity() ${c.ir ? "rewrites the IRTE at once and never touches the slot" : "is deferred to the next interrupt, which moves it in the ack"}`, async () => {
      const { m, hw, map } = await imsVector(c);
      await m.run(() => request_irq(map.virq, handler, 0, "ims-test", handler));
      const now = await traced(m, map.virq, () => {
        expect(irq_set_affinity(map.virq, cpumask_of(2))).to.equal(0);
        return Promise.resolve();
      });
      const next = await traced(m, map.virq, async () => {
        hw.raise(map.index);
        await msleep(1);
      });
      if (IR) {
        expect(now).to.deep.equal([`${C}.irq_set_affinity`, "  INTEL-IR.irq_set_affinity", "    APIC.irq_set_affinity"]);
        // the device message never changes under remapping
        expect(next).to.deep.equal([`${C}.irq_ack`, "  INTEL-IR.irq_ack"]);
      } else {
        // IRQCHIP_MOVE_DEFERRED: irq_set_affinity_locked() only marks the move pending
        expect(now).to.deep.equal([]);
        expect(next).to.deep.equal([
          `${C}.irq_ack`,
          // apic_ack_irq() -> irq_move_irq() -> __irq_move_irq(): mask, move, unmask
          "  APIC.irq_ack",
          `    ${C}.irq_mask`,
          `    ${C}.irq_set_affinity`,
          "      APIC.irq_set_affinity",
          // msi_set_affinity(): not reservable, so one direct message update
          `      ${C}.irq_write_msi_msg`,
          `    ${C}.irq_unmask`,
        ]);
      }
    });

    it(`free_irq(): ${c.chip === "idxd" ? "idxd_shutdown()" : "irq_mask"}, then deactivate outermost first`, async () => {
      const { m, hw, pdev, map } = await imsVector(c);
      await m.run(() => request_irq(map.virq, handler, 0, "ims-test", handler));
      const cbs = await traced(m, map.virq, () => free_irq(map.virq, handler));
      expect(cbs).to.deep.equal([
        // irq_shutdown(): the IDXD chip has irq_shutdown; the RFC chip does not,
        // so __irq_disable(desc, true) masks
        c.chip === "idxd" ? `${C}.irq_shutdown` : `${C}.irq_mask`,
        // after __synchronize_irq(): irq_domain_deactivate_irq(), top level first
        `deactivate ${D}`,
        `  ${C}.irq_write_msi_msg`, // msi_domain_deactivate(): a zeroed message
        ...(IR ? ["deactivate INTEL-IR-0-13"] : []), // intel_irq_remapping_deactivate(): the IRTE cleared
        "deactivate VECTOR", // x86_vector_deactivate()
      ]);
      // and pci_ims_free_irq() frees top-down
      const freed = await traced(m, map.virq, () => pci_ims_free_irq(pdev, map));
      expect(freed).to.deep.equal([`free ${D}`, ...(IR ? ["  free INTEL-IR-0-13", "    free VECTOR"] : ["  free VECTOR"])]);
      // the slot is masked and empty again (idxd_shutdown(), or the RFC's slot reset on free)
      expect(hw.slot(map.index)).to.deep.include({ addrLo: 0, addrHi: 0, data: 0, masked: true });
    });
  });
}

describe("irqchip IMS: names, MMIO protocols and PASID", () => {
  it("names the domain <prefix><chip>-<device>-<bus token> and the chip without the token, as msi_create_device_irq_domain() does", async () => {
    for (const c of CONFIGS) {
      const { m, map } = await imsVector(c);
      await m.run(() => request_irq(map.virq, handler, 0, "ims-test", handler));
      // "%s%s-%s" of the parent's prefix ("IR-" for DMAR, "" for the vector
      // domain), the template chip's name and dev_name(); the bus token
      // DOMAIN_BUS_PCI_DEVICE_IMS (15) appended by irq_domain_update_bus_token()
      expect(m.debugfsDomain(c.domain), c.domain).to.be.a("string");
      const row = m
        .procInterrupts()
        .split("\n")
        .find((l) => l.trim().startsWith(`${map.virq}:`));
      expect(row, c.name).to.match(new RegExp(` ${c.name.replace(/\./g, "\\.")}\\s+0-edge\\s+ims-test$`));
      const dbg = m.debugfsIrq(map.virq)!;
      expect(dbg).to.include(`domain:  ${c.domain}\n hwirq:   0x0\n chip:    ${c.name}\n`);
    }
  });

  it("masks with a read-modify-write (2020) or a write and a read back (2022), and writes the message in three dwords", async () => {
    const ops: Record<Chip, string[]> = { rfc2020: [], idxd: [] };
    for (const c of CONFIGS.filter((x) => x.ir)) {
      const { m, hw, map } = await imsVector(c);
      await m.run(() => request_irq(map.virq, handler, 0, "ims-test", handler));
      const from = m.trace().length;
      await m.run(() => free_irq(map.virq, handler));
      const base = m.enter(() => hw.barMappedAt(0)!) + IMSDEV_IMS_OFFSET;
      const word = ["lo", "hi", "data", "ctrl"];
      ops[c.chip] = m
        .trace()
        .slice(from)
        .filter((r) => r.kind === "hw.mmio" && (r.op === "read" || r.op === "write") && r.addr >= base && r.addr < base + 16)
        .map((r) => `${r.kind === "hw.mmio" ? r.op : ""} ${word[(r.kind === "hw.mmio" ? r.addr - base : 0) / 4]}`);
    }
    // free_irq(): ims_mask_irq() (readl, writel), then the zero message of
    // msi_domain_deactivate() as three posted writes
    expect(ops.rfc2020).to.deep.equal(["read ctrl", "write ctrl", "write lo", "write hi", "write data"]);
    // free_irq(): idxd_shutdown() (three writes, ctrl, read back), then the
    // zero message again, flushed by reading data back
    expect(ops.idxd).to.deep.equal(["write lo", "write hi", "write data", "write ctrl", "read ctrl", "write lo", "write hi", "write data", "read data"]);
  });

  it("puts the queue's PASID from the instance cookie into ctrl and on the wire with the 2022 chip only", async () => {
    for (const c of CONFIGS.filter((x) => x.ir)) {
      const { m, hw, map } = await imsVector(c);
      await m.run(async () => {
        await request_irq(map.virq, handler, 0, "ims-test", handler);
        hw.raise(map.index);
        await msleep(1);
      });
      const rx = m.trace().filter((r) => r.kind === "hw.msi" && r.what === "receive");
      expect(rx, c.chip).to.have.length(1);
      if (c.chip === "idxd") {
        // idxd_prepare_desc(): pasid << CTRL_PASID_SHIFT | CTRL_PASID_ENABLE; unmasked
        expect(hw.slot(map.index).ctrl).to.equal(((PASID << 12) | 0x8) >>> 0);
        expect(rx[0]!.kind === "hw.msi" && rx[0]!.pasid).to.equal(PASID);
      } else {
        // the RFC chip knows only its UNMASK bit
        expect(hw.slot(map.index).ctrl).to.equal(1);
        expect("pasid" in rx[0]!).to.equal(false);
      }
    }
  });
});

/** When enable_irq() starts, after the slot was masked by an unlazy disable_irq(). */
const ENABLE_AT = 500;
/** When the device latches, relative to that: before the chip's ctrl read, inside the 2020 chip's read-to-write window (~1.1 us), after its write. */
const LATCH_AT = [100, 300, 700, 1000, 1300, 1900, 2500];

/**
 * The device latches an interrupt for the queue's slot `at` ns into the
 * test while the slot is masked, and enable_irq() unmasks it at ENABLE_AT.
 * IRQ_DISABLE_UNLAZY makes disable_irq() mask at once, so genirq never sees
 * the interrupt and has nothing to retrigger: only the device's latch can
 * deliver it. Returns the handler runs and the latches a ctrl write threw away.
 */
async function unmaskRace(chip: Chip, pendingStatus: ImsPendingStatus, at: number): Promise<{ delivered: number; discarded: number }> {
  const { m, hw, idxd } = await imsRig({ probe: { chip, wqs: 1 }, dev: { pendingStatus } });
  const ie = idxd.wqs[0]!.ie;
  await m.run(async () => {
    irq_set_status_flags(ie.vector, IRQ_DISABLE_UNLAZY);
    await disable_irq(ie.vector);
    hw.raiseAfter(ie.int_handle, at);
    K.sim.spinFor(ENABLE_AT, "test: before enable_irq()");
    await enable_irq(ie.vector);
    await msleep(1);
  });
  return { delivered: ie.count, discarded: hw.counters(ie.int_handle).discarded };
}

async function sweep(chip: Chip, pendingStatus: ImsPendingStatus): Promise<number[]> {
  const out: number[] = [];
  for (const at of LATCH_AT) {
    const r = await unmaskRace(chip, pendingStatus, at);
    // an interrupt is either delivered once or thrown away by a ctrl write
    expect(r.delivered + r.discarded, `${chip} ${pendingStatus} at ${at}`).to.equal(1);
    out.push(r.delivered);
  }
  return out;
}

describe("irqchip IMS: the ctrl read-modify-write race against a device that changes ctrl", () => {
  // A second CPU cannot be the other writer in irqlab: the chip runs under
  // desc->lock, and a CPU spinning (here in readl) with a lock held runs no
  // other CPU's code (README, honest limits). The device can: it latches
  // the masked slot's interrupt into ctrl bit 1 at any time.

  it("the 2020 chip undoes a ctrl change the device makes between its readl and writel; the 2022 chip has no such window", async () => {
    // "rw": bit 1 is plain shared state, a write of 0 clears the latch
    const rfc = await sweep("rfc2020", "rw");
    // latched before the read: read back as 1, written back, sent on unmask;
    // inside the window: the stale 0 is written back over the device's 1
    expect(rfc).to.deep.equal([1, 1, 0, 0, 0, 1, 1]);
    // the 2022 chip writes its cookie (bit 1 = 0) without reading: a latch
    // made before the write is cleared every time, one made after survives
    const idxd = await sweep("idxd", "rw");
    expect(idxd).to.deep.equal([0, 0, 1, 1, 1, 1, 1]);
  });

  it("the 2020 chip writes a write-1-to-clear status bit back and discards the latch; the 2022 chip keeps it", async () => {
    // "rw1c": the PCI status convention; writing 0 is harmless, writing 1 clears
    expect(await sweep("rfc2020", "rw1c")).to.deep.equal([0, 0, 1, 1, 1, 1, 1]);
    expect(await sweep("idxd", "rw1c")).to.deep.equal([1, 1, 1, 1, 1, 1, 1]);
  });

  it("both chips deliver every latched interrupt when software cannot write the latch", async () => {
    for (const chip of ["rfc2020", "idxd"] as const) {
      for (const mode of ["ro", "hidden"] as const) expect(await sweep(chip, mode), `${chip} ${mode}`).to.deep.equal([1, 1, 1, 1, 1, 1, 1]);
    }
  });

  it("shows the lost update on the bus: the 2020 chip reads ctrl, the device latches, the stale write lands", async () => {
    const { m, hw, idxd } = await imsRig({ probe: { chip: "rfc2020", wqs: 1 }, dev: { pendingStatus: "rw" } });
    const ie = idxd.wqs[0]!.ie;
    const ctrl = m.enter(() => hw.barMappedAt(0)!) + IMSDEV_IMS_OFFSET + ie.int_handle * 16 + 12;
    let t0 = 0;
    const from = m.trace().length;
    await m.run(async () => {
      irq_set_status_flags(ie.vector, IRQ_DISABLE_UNLAZY);
      await disable_irq(ie.vector);
      t0 = K.sim.now;
      hw.raiseAfter(ie.int_handle, 1000);
      K.sim.spinFor(ENABLE_AT, "test: before enable_irq()");
      await enable_irq(ie.vector);
      await msleep(1);
    });
    const ev = m
      .trace()
      .slice(from)
      .filter((r) => (r.kind === "hw.mmio" && r.addr === ctrl && r.op !== "apply" && r.t >= t0) || (r.kind === "hw.ims" && r.what !== "submit" && r.t >= t0))
      .map((r) => `${r.t - t0} ${r.kind === "hw.mmio" ? `cpu ${r.op} ctrl ${r.value}` : r.kind === "hw.ims" ? `dev ${r.what}${r.value !== undefined ? ` ${r.value}` : ""}` : ""}`);
    expect(ev).to.deep.equal([
      // the end of disable_irq()'s ims_mask_irq(): its iowrite32() lands 100 ns later
      "0 cpu write ctrl 0",
      "100 dev ctrl 0",
      // ims_unmask_irq(): ioread32() sees masked (UNMASK clear), nothing latched
      "500 cpu read ctrl 0",
      "1000 dev latch",
      // iowrite32(0 | UNMASK) is posted after the 1 us read and lands 100 ns later
      "1500 cpu write ctrl 1",
      "1600 dev discard",
      "1600 dev ctrl 1",
    ]);
    expect(ie.count).to.equal(0);
  });
});
