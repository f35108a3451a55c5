// SPDX-License-Identifier: GPL-2.0-only
// Bringing interrupt remapping up, and the order of the INTEL-IR domain's
// callbacks over an interrupt's life, against the kernel:
// intel_setup_irq_remapping() (queued invalidation first, then
// iommu_set_irq_remapping(): IRTA + SIRTP, global IEC flush unless
// CAP.ESIRTPS), intel_enable_irq_remapping() (IRE, then CFI cleared if
// set), as seen by the unit; the boot log; and the call trees of the real
// 6.12 kernel in docs/oracle/ftrace-rebind.txt and ftrace-affinity.txt.

import { expect } from "chai";
import { cpumask_of } from "../../../../lib/kernel/cpumask.ts";
import { msleep } from "../../../../lib/kernel/delay.ts";
import { irq_set_affinity } from "../../../../lib/irq/manage_affinity.ts";
import { free_irq } from "../../../../lib/irq/manage.ts";
import type { Machine } from "../../../../lib/machine.ts";
import { DMA_GCMD_IRE, DMA_GCMD_QIE, DMA_GCMD_SIRTP, DMA_GSTS_CFIS, DMA_GSTS_IRES, DMA_GSTS_IRTPS, DMA_GSTS_QIES } from "../../../../lib/hw/vtd.ts";
import { pci_free_irq_vectors } from "../../../../drivers/pci/msi/msi.ts";
import { dmesgLines } from "../../../harness.ts";
import { nicRig } from "../../nic_fixture.ts";
import { irRig, irteIndex, NIC_BDF, target } from "./ir_rig.ts";

const hex = (v: number): string => `0x${(v >>> 0).toString(16)}`;

/** The unit's view of its bring-up: commands, status changes, descriptors and cache drops. */
function bringUp(m: Machine): string[] {
  const out: string[] = [];
  for (const r of m.trace()) {
    if (r.kind === "tp" && r.event === "qi_submit" && r.text.includes(": 0x14 ")) break; // the first IRTE flush: boot is over
    if (r.kind !== "hw.vtd") continue;
    if (r.what === "gcmd" || r.what === "gsts") out.push(`${r.what} ${hex(r.value!)}${r.addr !== undefined ? ` table ${hex(r.addr)} x${r.count}` : ""}`);
    else if (r.what === "qi-desc") out.push(`qi-desc ${r.desc} ${hex(r.value!)}`);
    else if (r.what === "iec-invalidate") out.push(`iec-invalidate (${r.why})`);
    else if (r.what === "status-write") out.push(`status-write ${r.value}`);
  }
  return out;
}

/** Domain ops, chip callbacks and manage-API calls of `irq`, with the qi_submit and vector tracepoints between them. */
function callbacks(m: Machine, irq: number, from: number): string[] {
  const dom = (n: string): string => (n.startsWith("IR-PCI-MSIX-") ? "msi" : n.startsWith("INTEL-IR-") ? "intel_ir" : n === "VECTOR" ? "vector" : n);
  const out: string[] = [];
  for (const r of m.trace().slice(from)) {
    if (r.kind === "irq.domain" && r.phase === "enter" && r.irq === irq) out.push(`${dom(r.domain)}.${r.op}`);
    else if (r.kind === "irq.chip" && r.phase === "enter" && r.irq === irq) out.push(`${r.chip}.${r.cb}`);
    else if (r.kind === "irq.api" && r.phase === "enter" && r.irq === irq) out.push(r.fn);
    else if (r.kind === "tp" && r.event === "qi_submit") out.push("qi_submit");
  }
  return out;
}

describe("drivers/iommu/intel: bring-up and callback order", () => {
  it("enables queued invalidation, latches the table, flushes the entry cache and enables remapping, in that order", async () => {
    const { m, iommu, unit } = await irRig();
    const base = iommu.ir_table!.base.dma_handle;
    expect(bringUp(m)).to.deep.equal([
      `gcmd ${hex(DMA_GCMD_QIE)}`,
      `gsts ${hex(DMA_GSTS_QIES)}`,
      // IRTA = table | size 0xf (2^16 entries), xAPIC format
      `gcmd ${hex(DMA_GCMD_QIE | DMA_GCMD_SIRTP)}`,
      `gsts ${hex(DMA_GSTS_QIES | DMA_GSTS_IRTPS)} table ${hex(base)} x65536`,
      // qi_global_iec(): IEC invalidate (global) + the wait descriptor
      "qi-desc 4 0x4",
      "iec-invalidate (global IEC invalidation)",
      "qi-desc 5 0x25",
      "status-write 2",
      `gcmd ${hex(DMA_GCMD_QIE | DMA_GCMD_IRE)}`,
      `gsts ${hex(DMA_GSTS_QIES | DMA_GSTS_IRTPS | DMA_GSTS_IRES)}`,
    ]);
    // GCMD.CFI was never set: compatibility-format interrupts are blocked
    expect(unit.activeTable).to.deep.equal({ base, entries: 65536, eime: false });
    expect(m.trace().some((r) => r.kind === "hw.vtd" && r.what === "gsts" && r.value! & DMA_GSTS_CFIS)).to.equal(false);
  });

  it("leaves the entry cache to SIRTP itself on a unit with CAP.ESIRTPS", async () => {
    const { m } = await irRig({ machine: { iommu: { unit: { esirtps: true } } } });
    const seq = bringUp(m);
    expect(seq).to.include("iec-invalidate (SIRTP with ESIRTPS)");
    expect(seq.filter((s) => s.startsWith("qi-desc"))).to.deep.equal([]);
  });

  it("turns a firmware-set CFI off with its first GCMD write, which carries only iommu->gcmd", async () => {
    const { m } = await irRig({ machine: { iommu: { unit: { firmwareCfi: true } } } });
    expect(bringUp(m).slice(0, 3)).to.deep.equal([`gcmd ${hex(DMA_GCMD_QIE)}`, `gsts ${hex(DMA_GSTS_QIES | DMA_GSTS_CFIS)}`, `gsts ${hex(DMA_GSTS_QIES)}`]);
    // so iommu_enable_irq_remapping() finds CFIS clear and has nothing left to do
    expect(dmesgLines(m).filter((l) => /Compatibility-format IRQs enabled/.test(l))).to.deep.equal([]);
  });

  it("prints the kernel's boot lines for the unit and remapping, and none without remapping", async () => {
    const { m } = await irRig();
    expect(dmesgLines(m).filter((l) => /^DMAR/.test(l))).to.deep.equal([
      "DMAR: Host address width 39",
      "DMAR: DRHD base: 0x000000fed90000 flags: 0x1",
      "DMAR: dmar0: reg_base_addr fed90000 ver 1:0 cap 70040000000 ecap f0500b",
      "DMAR-IR: Enabled IRQ remapping in xapic mode",
    ]);
    const off = await nicRig({ machine: { iommu: { interruptRemapping: false } } });
    expect(dmesgLines(off.m).filter((l) => /DMAR/.test(l))).to.deep.equal([]);
    expect(off.m.procInterrupts()).to.include(` PCI-MSIX-${NIC_BDF} `).and.not.include("IR-PCI-MSIX").and.not.include("DMAR-MSI");
  });

  it("runs the INTEL-IR callbacks of alloc, activate, request, free_irq and free in the order of the 6.12 call trees", async () => {
    const { m, priv } = await irRig({ probe: { queues: 1 } });
    const q = priv.queues[0]!;
    // ftrace-rebind.txt, "Bind, first a single vector" (lines 401-520)
    const alloc = m.trace().findIndex((r) => r.kind === "irq.domain" && r.irq === q.irq);
    expect(callbacks(m, q.irq, alloc)).to.deep.equal([
      // msi_domain_alloc -> intel_irq_remapping_alloc -> x86_vector_alloc_irqs
      "msi.alloc",
      "intel_ir.alloc",
      "vector.alloc",
      // irq_domain_activate_irq() at allocation (reservation mode): innermost first
      "vector.activate",
      "intel_ir.activate",
      "qi_submit",
      "msi.activate",
      "INTEL-IR.irq_compose_msi_msg",
      `IR-PCI-MSIX-${NIC_BDF}.irq_write_msi_msg`,
      // request_threaded_irq -> __setup_irq -> irq_activate: the same, with the real vector
      "request_threaded_irq",
      "vector.activate",
      "intel_ir.activate",
      "qi_submit",
      "msi.activate",
      "INTEL-IR.irq_compose_msi_msg",
      `IR-PCI-MSIX-${NIC_BDF}.irq_write_msi_msg`,
      // irq_startup -> irq_do_set_affinity -> msi_domain_set_affinity -> intel_ir_set_affinity -> apic_set_affinity, qi_submit_sync
      `IR-PCI-MSIX-${NIC_BDF}.irq_set_affinity`,
      "INTEL-IR.irq_set_affinity",
      "APIC.irq_set_affinity",
      "qi_submit",
      // __irq_startup -> irq_enable -> pci_irq_unmask_msix
      `IR-PCI-MSIX-${NIC_BDF}.irq_unmask`,
    ]);
    const from = m.trace().length;
    await m.run(async () => {
      await free_irq(q.irq, q);
      await pci_free_irq_vectors(priv.pdev);
    });
    // ftrace-rebind.txt, the unbind (lines 19-50 and 188-220)
    expect(callbacks(m, q.irq, from)).to.deep.equal([
      "free_irq",
      // irq_shutdown -> __irq_disable -> pci_irq_mask_msix
      `IR-PCI-MSIX-${NIC_BDF}.irq_mask`,
      // irq_domain_deactivate_irq: outermost first
      "msi.deactivate",
      `IR-PCI-MSIX-${NIC_BDF}.irq_write_msi_msg`,
      "intel_ir.deactivate",
      "qi_submit",
      "vector.deactivate",
      // pci_free_irq_vectors -> msi_domain_free -> intel_irq_remapping_free (qi_submit_sync) -> x86_vector_free_irqs
      "msi.free",
      "intel_ir.free",
      "qi_submit",
      "vector.free",
    ]);
  });

  it("moves an interrupt with the tracepoints of ftrace-affinity.txt and no message write", async () => {
    const { m, priv } = await irRig();
    const q = priv.queues[0]!;
    const index = irteIndex(m, q.irq);
    const old = target(m, q.irq);
    const cpu = (old.cpu + 1) % 4;
    const from = m.trace().length;
    await m.run(async () => {
      expect(irq_set_affinity(q.irq, cpumask_of(cpu))).to.equal(0);
      await msleep(10);
    });
    const now = target(m, q.irq);
    // the events the oracle capture enabled
    const enabled = new Set(["vector_config", "vector_update", "vector_clear", "vector_activate", "vector_deactivate", "vector_free_moved", "irq_matrix_alloc", "irq_matrix_free", "qi_submit"]);
    const events = m
      .trace()
      .slice(from)
      .filter((r) => r.kind === "tp" && enabled.has(r.event))
      .map((r) => (r.kind === "tp" ? `${r.event}: ${r.text}` : ""));
    expect(events.map((e) => e.slice(0, e.indexOf(":")))).to.deep.equal(["irq_matrix_alloc", "vector_update", "vector_config", "qi_submit", "vector_free_moved", "irq_matrix_free"]);
    expect(events[0]).to.match(new RegExp(`^irq_matrix_alloc: bit=${now.vector} cpu=${cpu} online=1 avl=\\d+ alloc=\\d+ managed=0 online_maps=4 global_avl=\\d+, global_rsvd=0, total_alloc=\\d+$`));
    expect(events.slice(1, 5)).to.deep.equal([
      `vector_update: irq=${q.irq} vector=${now.vector} cpu=${cpu} prev_vector=${old.vector} prev_cpu=${old.cpu}`,
      `vector_config: irq=${q.irq} vector=${now.vector} cpu=${cpu} apicdest=0x${cpu.toString(16).padStart(8, "0")}`,
      // bits 47:32 = the IRTE index, 0x14 = index-selective IEC invalidation
      `qi_submit: iec_inv dmar0: 0x${((BigInt(index) << 32n) | 0x14n).toString(16)} 0x0 0x0 0x0`,
      `vector_free_moved: irq=${q.irq} cpu=${old.cpu} vector=${old.vector} is_managed=0`,
    ]);
    expect(m.trace().slice(from).filter((r) => r.kind === "irq.chip" && r.cb === "irq_write_msi_msg")).to.deep.equal([]);
  });
});
