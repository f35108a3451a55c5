// SPDX-License-Identifier: GPL-2.0-only
// The PCI/MSI-X API on the MSI core (drivers/pci/msi/api.c, msi.c,
// irqdomain.c): device domain and chip names, the MSI-X descriptors,
// dynamic allocation with pci_msix_alloc_irq_at()/pci_msix_free_irq(), the
// errnos of bad input, the retry with fewer vectors, and the end-to-end
// order of genirq-C.md C67 on the x86 hierarchy.

import { expect } from "chai";
import { cpumask_of } from "../../../../lib/kernel/cpumask.ts";
import { msleep } from "../../../../lib/kernel/delay.ts";
import { EBUSY, EINVAL, ENOSPC, ENOTSUPP, ERANGE } from "../../../../lib/kernel/errno.ts";
import { IRQ_HANDLED } from "../../../../lib/irq/interrupt.ts";
import { free_irq, request_irq } from "../../../../lib/irq/manage.ts";
import { irq_set_affinity } from "../../../../lib/irq/manage_affinity.ts";
import { irq_get_irq_data } from "../../../../lib/irq/irqdesc.ts";
import { irq_get_msi_desc } from "../../../../lib/irq/chip.ts";
import { irq_domain_alloc_irqs } from "../../../../lib/irq/irqdomain.ts";
import { MSI_ANY_INDEX } from "../../../../lib/irq/msi.ts";
import type { TraceRecord } from "../../../../lib/sim/trace.ts";
import type { TestNic } from "../../../../lib/hw/devices/testnic.ts";
import { createMachine, type Machine } from "../../../../lib/machine.ts";
import { init_irq_alloc_info, irqd_cfg, vector_matrix, x86_vector_domain } from "../../../../irqchip/x86/vector.ts";
import { pci_enable_device, pci_get_device_by_name, pci_set_master, type pci_dev } from "../../../../drivers/pci/pci.ts";
import {
  pci_alloc_irq_vectors,
  pci_alloc_irq_vectors_affinity,
  pci_free_irq_vectors,
  pci_irq_vector,
  pci_msix_alloc_irq_at,
  pci_msix_free_irq,
  PCI_IRQ_AFFINITY,
  PCI_IRQ_MSI,
  PCI_IRQ_MSIX,
  PCI_MSIX_ENTRY_CTRL_MASKBIT,
} from "../../../../drivers/pci/msi/msi.ts";
import { dmesgLines, expectSplat } from "../../../harness.ts";
import { NIC_BDF } from "../../nic_fixture.ts";

async function boot(ir: boolean, vectors = 8, cpus = 4): Promise<{ m: Machine; hw: TestNic; pdev: pci_dev }> {
  const m = await createMachine({ cpus, iommu: { interruptRemapping: ir }, pci: { devices: [{ type: "testnic", bdf: NIC_BDF, vectors }] } });
  const pdev = await m.run(() => {
    const p = pci_get_device_by_name(NIC_BDF)!;
    expect(pci_enable_device(p)).to.equal(0);
    pci_set_master(p);
    return p;
  });
  return { m, hw: m.pci.device<TestNic>(NIC_BDF), pdev };
}

const handler = (): number => IRQ_HANDLED;

for (const ir of [false, true]) {
  const prefix = ir ? "IR-" : "";
  describe(`drivers/pci/msi: the MSI-X device domain (${ir ? "with" : "without"} remapping)`, () => {
    it(`C45 the domain is '${prefix}PCI-MSIX-<bdf>-12' and the chip '${prefix}PCI-MSIX-<bdf>'`, async () => {
      const { m, pdev } = await boot(ir);
      const irq = await m.run(async () => {
        expect(await pci_alloc_irq_vectors(pdev, 1, 2, PCI_IRQ_MSIX)).to.equal(2);
        return pci_irq_vector(pdev, 1);
      });
      const lines = m.debugfsIrq(irq)!.split("\n");
      const at = lines.indexOf(`domain:  ${prefix}PCI-MSIX-${NIC_BDF}-12`);
      expect(at).to.be.greaterThan(-1);
      expect(lines[at + 1]).to.equal(" hwirq:   0x1");
      expect(lines[at + 2]).to.equal(` chip:    ${prefix}PCI-MSIX-${NIC_BDF}`);
    });

    it("pci_msix_alloc_irq_at() adds vectors after enable: MSI_ANY_INDEX takes the lowest free entry, a given index that entry; pci_msix_free_irq() gives it back", async () => {
      const { m, hw, pdev } = await boot(ir);
      const got = await m.run(async () => {
        expect(await pci_alloc_irq_vectors(pdev, 1, 3, PCI_IRQ_MSIX)).to.equal(3);
        const any = await pci_msix_alloc_irq_at(pdev, MSI_ANY_INDEX, null);
        const six = await pci_msix_alloc_irq_at(pdev, 6, null);
        const taken = await pci_msix_alloc_irq_at(pdev, 6, null);
        const beyond = await pci_msix_alloc_irq_at(pdev, 8, null);
        return { any, six, taken, beyond, v6: pci_irq_vector(pdev, 6) };
      });
      expect(got.any.index).to.equal(3);
      expect(got.six.index).to.equal(6);
      expect(got.v6).to.equal(got.six.virq);
      expect(got.taken).to.deep.equal({ index: -EBUSY, virq: 0 });
      expect(got.beyond).to.deep.equal({ index: -ERANGE, virq: 0 });
      // the new vector works like the others
      const seen: number[] = [];
      await m.run(async () => {
        expect(await request_irq(got.six.virq, () => (seen.push(1), IRQ_HANDLED), 0, "dyn6", seen)).to.equal(0);
      });
      hw.raise(6);
      await m.run(() => msleep(1));
      expect(seen).to.deep.equal([1]);
      await m.run(async () => {
        await free_irq(got.six.virq, seen);
        await pci_msix_free_irq(pdev, got.six);
      });
      expect(await m.run(() => pci_irq_vector(pdev, 6))).to.equal(-EINVAL);
      // deactivation masked the entry and wrote a zero message
      expect(hw.msix.entry(6)).to.deep.equal({ addrLo: 0, addrHi: 0, data: 0, masked: true });
      // and the index is free again
      expect((await m.run(() => pci_msix_alloc_irq_at(pdev, MSI_ANY_INDEX, null))).index).to.equal(4);
    });
  });
}

describe("drivers/pci/msi: MSI-X descriptors and bad input", () => {
  it("C29 an MSI-X descriptor: is_msix and is_64, can_mask, the table base, its entry index and the cached vector control", async () => {
    const { m, pdev } = await boot(false);
    const got = await m.run(async () => {
      expect(await pci_alloc_irq_vectors(pdev, 1, 2, PCI_IRQ_MSIX)).to.equal(2);
      const desc = irq_get_msi_desc(pci_irq_vector(pdev, 1))!;
      const before = desc.pci.msix_ctrl;
      expect(await request_irq(desc.irq, handler, 0, "q1", pdev)).to.equal(0);
      return { desc, before, after: desc.pci.msix_ctrl, base: pdev.msix_base };
    });
    const a = got.desc.pci.msi_attrib;
    expect([a.is_msix, a.is_64, a.can_mask, a.is_virtual]).to.deep.equal([true, true, true, false]);
    expect(got.desc.pci.mask_base).to.equal(got.base);
    expect(got.desc.msi_index).to.equal(1);
    // masked out of reset, unmasked by the startup of request_irq()
    expect([got.before, got.after]).to.deep.equal([PCI_MSIX_ENTRY_CTRL_MASKBIT, 0]);
  });

  it("pci_alloc_irq_vectors() errnos: max < min -ERANGE, no vector -EINVAL, more than the table -ENOSPC, MSI on a device without MSI -EINVAL, a second enable WARNs -EINVAL", async () => {
    const { m, pdev } = await boot(false);
    const got = await m.run(async () => ({
      range: await pci_alloc_irq_vectors(pdev, 3, 2, PCI_IRQ_MSIX),
      zero: await pci_alloc_irq_vectors(pdev, 0, 0, PCI_IRQ_MSIX),
      big: await pci_alloc_irq_vectors(pdev, 9, 16, PCI_IRQ_MSIX),
      msi: await pci_alloc_irq_vectors(pdev, 1, 1, PCI_IRQ_MSI),
      none: await pci_alloc_irq_vectors(pdev, 1, 1, 0),
      enabled: pdev.msix_enabled,
    }));
    expect(got).to.deep.equal({ range: -ERANGE, zero: -EINVAL, big: -ENOSPC, msi: -EINVAL, none: -ENOSPC, enabled: false });
    expect(await m.run(() => pci_alloc_irq_vectors(pdev, 1, 2, PCI_IRQ_MSIX))).to.equal(2);
    const second = await expectSplat(m, /WARNING: .* __pci_enable_msix_range/, () => m.run(() => pci_alloc_irq_vectors(pdev, 1, 2, PCI_IRQ_MSIX)));
    expect(second.value).to.equal(-EINVAL);
    // MSI after MSI-X: refused with the kernel's message
    const before = dmesgLines(m).length;
    expect(await m.run(() => pci_alloc_irq_vectors(pdev, 1, 1, PCI_IRQ_MSI))).to.equal(-EINVAL);
    expect(dmesgLines(m).slice(before)).to.deep.equal([`pci ${NIC_BDF}: can't enable MSI (MSI-X already enabled)`]);
  });

  it("pci_msix_alloc_irq_at() before MSI-X is enabled is -ENOTSUPP; pci_msix_free_irq() of an error map WARNs and does nothing", async () => {
    const { m, pdev } = await boot(false);
    expect(await m.run(() => pci_msix_alloc_irq_at(pdev, MSI_ANY_INDEX, null))).to.deep.equal({ index: -ENOTSUPP, virq: 0 });
    expect(await m.run(() => pci_alloc_irq_vectors(pdev, 1, 2, PCI_IRQ_MSIX))).to.equal(2);
    await expectSplat(m, /WARNING: .* pci_msix_free_irq/, () => m.run(() => pci_msix_free_irq(pdev, { index: -ENOSPC, virq: 0 })));
    expect(await m.run(() => [pci_irq_vector(pdev, 0) > 0, pci_irq_vector(pdev, 1) > 0])).to.deep.equal([true, true]);
  });

  it("pci_irq_vector() is -EINVAL beyond the allocated vectors and after pci_free_irq_vectors() (no INTx line)", async () => {
    const { m, pdev } = await boot(false);
    const got = await m.run(async () => {
      await pci_alloc_irq_vectors(pdev, 1, 2, PCI_IRQ_MSIX);
      const beyond = pci_irq_vector(pdev, 2);
      await pci_free_irq_vectors(pdev);
      return { beyond, after: pci_irq_vector(pdev, 1), intx: pci_irq_vector(pdev, 0) };
    });
    expect(got).to.deep.equal({ beyond: -EINVAL, after: -EINVAL, intx: 0 });
  });

  it("C48 pci_alloc_irq_vectors_affinity() retries with fewer vectors when the vector domain cannot reserve them all", async () => {
    const { m, pdev } = await boot(false, 8, 2);
    const got = await m.run(async () => {
      // fill CPU1: no managed vector can be reserved there
      let n = 0;
      while ((await irq_domain_alloc_irqs(x86_vector_domain(), 1, -1, init_irq_alloc_info({}, cpumask_of(1)))) > 0) n++;
      const from = m.trace().length;
      const nvec = await pci_alloc_irq_vectors_affinity(pdev, 1, 3, PCI_IRQ_MSIX | PCI_IRQ_AFFINITY, { pre_vectors: 1, post_vectors: 0 });
      const tries = m
        .trace()
        .slice(from)
        .filter((r) => r.kind === "tp" && r.event === "vector_reserve_managed")
        .map((r) => (r.kind === "tp" ? r.text.replace(/irq=\d+ /, "") : ""));
      return { n, nvec, tries, irq0: pci_irq_vector(pdev, 0), irq1: pci_irq_vector(pdev, 1) };
    });
    expect(got.n).to.be.greaterThan(0);
    // 3 vectors: the managed one for CPU1 fails, 2 allocated -> retry with 2:
    // one managed vector spread over both CPUs fails, 1 allocated -> retry
    // with 1: only the pre vector, which is not managed
    expect(got.tries).to.deep.equal(["ret=0", "ret=-28", "ret=-28"]);
    expect(got.nvec).to.equal(1);
    expect(got.irq0).to.be.greaterThan(0);
    expect(got.irq1).to.equal(-EINVAL);
  });
});

/** The irq.domain ops and the chip callbacks of `irq`, in order, as "<op|cb> <name>". */
function order(m: Machine, from: number, irq: number): string[] {
  return m
    .trace()
    .slice(from)
    .filter((r: TraceRecord) => (r.kind === "irq.domain" && r.irq === irq && r.phase === "enter") || (r.kind === "irq.chip" && r.irq === irq && r.phase === "enter"))
    .map((r) => (r.kind === "irq.domain" ? `${r.op} ${r.domain}` : r.kind === "irq.chip" ? `${r.cb} ${r.chip}` : ""));
}

describe("drivers/pci/msi: the end-to-end ordering reference (C67)", () => {
  it("C67 one MSI-X vector on a device domain above INTEL-IR above VECTOR: alloc outside-in, activation inside-out, no message rewrite on an affinity change, deactivation outside-in", async () => {
    const { m, pdev } = await boot(true);
    await m.run(async () => expect(await pci_alloc_irq_vectors(pdev, 1, 1, PCI_IRQ_MSIX)).to.equal(1));
    const D = `IR-PCI-MSIX-${NIC_BDF}-12`;
    const Dchip = `IR-PCI-MSIX-${NIC_BDF}`;
    let from = m.trace().length;
    const map = await m.run(() => pci_msix_alloc_irq_at(pdev, MSI_ANY_INDEX, null));
    const alloc = order(m, from, map.virq);
    const R = alloc.find((l) => l.startsWith("alloc INTEL-IR"))!.slice(6);
    expect(alloc).to.deep.equal([
      `alloc ${D}`,
      `alloc ${R}`,
      "alloc VECTOR",
      // reservation mode: the early activation only reserves
      "activate VECTOR",
      `activate ${R}`,
      `activate ${D}`,
      // msi_domain_activate(): the outermost chip that composes is the remapping unit's
      "irq_compose_msi_msg INTEL-IR",
      `irq_write_msi_msg ${Dchip}`,
    ]);
    from = m.trace().length;
    await m.run(async () => expect(await request_irq(map.virq, handler, 0, "c67", pdev)).to.equal(0));
    const req = order(m, from, map.virq);
    expect(req.slice(0, 5)).to.deep.equal(["activate VECTOR", `activate ${R}`, `activate ${D}`, "irq_compose_msi_msg INTEL-IR", `irq_write_msi_msg ${Dchip}`]);
    from = m.trace().length;
    const cpu = await m.run(() => irqd_cfg(irq_get_irq_data(map.virq)!)!.dest_apicid);
    expect(await m.run(() => irq_set_affinity(map.virq, cpumask_of(cpu === 2 ? 3 : 2)))).to.equal(0);
    // IRQ_SET_MASK_OK_DONE from the remapping level: the device keeps its message
    expect(order(m, from, map.virq)).to.deep.equal([`irq_set_affinity ${Dchip}`, "irq_set_affinity INTEL-IR", "irq_set_affinity APIC"]);
    // free_irq() shuts down and deactivates: outside-in, the device level
    // writing a zero message first
    from = m.trace().length;
    await m.run(() => free_irq(map.virq, pdev));
    expect(order(m, from, map.virq).filter((l) => !/irq_mask|irq_disable|irq_shutdown|irq_get_irqchip_state/.test(l))).to.deep.equal([
      `deactivate ${D}`,
      `irq_write_msi_msg ${Dchip}`,
      `deactivate ${R}`,
      "deactivate VECTOR",
    ]);
    // the MSI free then finds nothing activated and frees top down
    from = m.trace().length;
    await m.run(() => pci_msix_free_irq(pdev, map));
    expect(order(m, from, map.virq)).to.deep.equal([`free ${D}`, `free ${R}`, "free VECTOR"]);
  });

  it("C67 without remapping the vector domain is the MSI parent: an affinity change composes with the APIC chip and writes the new message", async () => {
    const { m, hw, pdev } = await boot(false);
    const map = await m.run(async () => {
      expect(await pci_alloc_irq_vectors(pdev, 1, 1, PCI_IRQ_MSIX)).to.equal(1);
      const mp = await pci_msix_alloc_irq_at(pdev, MSI_ANY_INDEX, null);
      expect(await request_irq(mp.virq, handler, 0, "c67", pdev)).to.equal(0);
      return mp;
    });
    const old = await m.run(() => ({ ...irqd_cfg(irq_get_irq_data(map.virq)!)! }));
    const target = old.dest_apicid === 2 ? 3 : 2;
    // Crowd the target so the vector number changes with the CPU: then
    // msi_set_affinity() cannot write the new message in one step.
    await m.run(async () => {
      const mx = vector_matrix().maps[target]!.alloc_map;
      while (mx.indexOf(0, 0x20) <= old.vector) expect(await irq_domain_alloc_irqs(x86_vector_domain(), 1, -1, init_irq_alloc_info({}, cpumask_of(target)))).to.be.greaterThan(0);
    });
    const from = m.trace().length;
    // IRQCHIP_MOVE_DEFERRED: the move happens in the next interrupt's ack
    await m.run(() => expect(irq_set_affinity(map.virq, cpumask_of(target))).to.equal(0));
    hw.raise(map.index);
    await m.run(() => msleep(1));
    const seq = order(m, from, map.virq).filter((l) => /irq_set_affinity|irq_write_msi_msg|irq_compose/.test(l));
    const Dchip = `PCI-MSIX-${NIC_BDF}`;
    // msi_set_affinity(): the parent first, then two writes (old CPU/new vector, then new CPU)
    expect(seq).to.deep.equal([`irq_set_affinity ${Dchip}`, "irq_set_affinity APIC", `irq_write_msi_msg ${Dchip}`, `irq_write_msi_msg ${Dchip}`]);
    const entry = hw.msix.entry(map.index);
    const cfg = await m.run(() => ({ ...irqd_cfg(irq_get_irq_data(map.virq)!)! }));
    expect(cfg.vector).to.not.equal(old.vector);
    expect([entry.addrLo, entry.data]).to.deep.equal([(0xfee00000 | (target << 12)) >>> 0, cfg.vector]);
  });
});
