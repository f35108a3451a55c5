// SPDX-License-Identifier: GPL-2.0-only
// The remapped hierarchy as the kernel shows it: /sys/kernel/debug/irq/irqs/N
// walks the levels from the outermost (kernel/irq/debugfs.c
// irq_debug_show_data(): each parent 4 columns deeper, hwirq/chip one
// column in, chip flag names 12 further), the VECTOR level adding
// x86_vector_debug_show(); /proc/interrupts names the chip of the outermost
// level ("IR-PCI-MSIX-<bdf>") and lists the remapping unit's own fault
// interrupt on the DMAR-MSI domain.

import { expect } from "chai";
import { cpumask_of } from "../../../../lib/kernel/cpumask.ts";
import { irq_set_affinity } from "../../../../lib/irq/manage_affinity.ts";
import { irRig, irteIndex, NIC_BDF, target } from "./ir_rig.ts";

/** The hierarchy part of the debugfs file, from the outermost "domain:" line. */
function levels(text: string): string {
  return text.slice(text.indexOf("domain:"));
}

describe("drivers/iommu/intel: debugfs and /proc/interrupts", () => {
  it("shows the three levels IR-PCI-MSIX -> INTEL-IR -> VECTOR laid out as irq_debug_show_data() does", async () => {
    const { m, priv } = await irRig();
    const q = priv.queues[1]!;
    const index = irteIndex(m, q.irq);
    const t = target(m, q.irq);
    expect(levels(m.debugfsIrq(q.irq)!)).to.equal(
      [
        `domain:  IR-PCI-MSIX-${NIC_BDF}-12`,
        " hwirq:   0x1",
        ` chip:    IR-PCI-MSIX-${NIC_BDF}`,
        "  flags:   0x430",
        "             IRQCHIP_SKIP_SET_WAKE",
        "             IRQCHIP_ONESHOT_SAFE",
        " parent:",
        "    domain:  INTEL-IR-0-13",
        // hwirq = IRTE index << 16 | sub-handle
        `     hwirq:   0x${(index << 16).toString(16)}`,
        "     chip:    INTEL-IR",
        "      flags:   0x0",
        "     parent:",
        "        domain:  VECTOR",
        `         hwirq:   0x${q.irq.toString(16)}`,
        "         chip:    APIC",
        "          flags:   0x0",
        `         Vector: ${String(t.vector).padStart(5)}`,
        `         Target: ${String(t.cpu).padStart(5)}`,
        "         move_in_progress: 0",
        "         is_managed:       0",
        "         can_reserve:      1",
        "         has_reserved:     0",
        "         cleanup_pending:  0",
        "",
      ].join("\n"),
    );
  });

  it("shows the previous vector and a pending cleanup between a move and the old vector's release", async () => {
    const { m, priv } = await irRig();
    const q = priv.queues[1]!;
    const old = target(m, q.irq);
    const cpu = (old.cpu + 1) % 4;
    const during = await m.run(() => {
      expect(irq_set_affinity(q.irq, cpumask_of(cpu))).to.equal(0);
      return m.debugfsIrq(q.irq)!;
    });
    const now = target(m, q.irq);
    const vectorLevel = (text: string): string => text.slice(text.indexOf("         Vector:"));
    expect(vectorLevel(during)).to.equal(
      [
        `         Vector: ${String(now.vector).padStart(5)}`,
        `         Target: ${String(cpu).padStart(5)}`,
        `         Previous vector: ${String(old.vector).padStart(5)}`,
        `         Previous target: ${String(old.cpu).padStart(5)}`,
        // intel_ir_set_affinity() scheduled the cleanup at once: no move in progress
        "         move_in_progress: 0",
        "         is_managed:       0",
        "         can_reserve:      1",
        "         has_reserved:     0",
        "         cleanup_pending:  1",
        "",
      ].join("\n"),
    );
    expect(during).to.include(`affinity: ${cpu}\neffectiv: ${cpu}\n`);
    // m.run() returned after the cleanup timer
    expect(vectorLevel(m.debugfsIrq(q.irq)!)).to.not.include("Previous");
    expect(m.debugfsIrq(q.irq)!).to.include("cleanup_pending:  0");
  });

  it("describes the INTEL-IR domain as an isolated MSI parent of the vector domain", async () => {
    const { m } = await irRig();
    const d = m.debugfsDomain("INTEL-IR-0-13")!;
    expect(d.split("\n").slice(0, 9).join("\n")).to.equal(
      [
        "name:   INTEL-IR-0-13",
        " size:   65536",
        " mapped: 8",
        " flags:  0x00000123",
        "            IRQ_DOMAIN_FLAG_HIERARCHY",
        "            IRQ_DOMAIN_NAME_ALLOCATED",
        "            IRQ_DOMAIN_FLAG_ISOLATED_MSI",
        "            IRQ_DOMAIN_FLAG_MSI_PARENT",
        " parent: VECTOR",
      ].join("\n"),
    );
  });

  it("lists the DMAR-MSI fault interrupt and the IR-PCI-MSIX vectors in /proc/interrupts", async () => {
    const { m, priv, iommu } = await irRig();
    const rows = m.procInterrupts().split("\n");
    const pad = (irq: number): string => String(irq).padStart(3);
    const zeros = "          0".repeat(4);
    // v6.13+ generation: counts, one space, then the chip name right-aligned in 8
    expect(rows).to.include(`${pad(iommu.irq)}:${zeros} DMAR-MSI   0-edge      dmar0`);
    for (const q of priv.queues) {
      expect(rows).to.include(`${pad(q.irq)}:${zeros} IR-PCI-MSIX-${NIC_BDF} ${String(q.index).padStart(3)}-edge      ${q.name}`);
    }
    // the fault interrupt comes first: the unit's handler is requested before the PCI scan's drivers
    expect(iommu.irq).to.be.lessThan(priv.queues[0]!.irq);
  });
});
