// SPDX-License-Identifier: GPL-2.0-only
// mlx5_core probe and remove against the mlx5-like NIC: what the device ends
// up with, the IRQs of the control and completion pools, EQ re-arming and
// completions on each queue's CPU.
import { expect } from "chai";
import { msleep } from "../../../../lib/kernel/delay.ts";
import { mlx5_comp_vector_get_cpu } from "../../../../drivers/net/mlx5/core/eq_comp.ts";
import { mlx5_cmd_busy_slots } from "../../../../drivers/net/mlx5/core/cmd.ts";
import { mlx5_remove } from "../../../../drivers/net/mlx5/core/main.ts";
import { MLX5_DEVICE_STATE_UP } from "../../../../drivers/net/mlx5/core/driver.ts";
import { dmesgLines } from "../../../harness.ts";
import { MLX5_BDF, mlx5Rig } from "./mlx5_fixture.ts";

const irqRows = (m: Awaited<ReturnType<typeof mlx5Rig>>["m"]): string[] =>
  m
    .procInterrupts()
    .split("\n")
    .filter((l) => l.includes("mlx5_"))
    .map((l) => l.replace(/^\s*\d+:(\s+\d+)+\s+/, ""));

describe("drivers/net/mlx5 probe and remove", function () {
  this.timeout(60_000);

  it("brings the function up: HCA enabled and initialized, command, async and pages EQs, the control IRQ only", async () => {
    const { m, hw, dev } = await mlx5Rig({ machine: { trace: false } });
    expect(dmesgLines(m)).to.include(`mlx5_core ${MLX5_BDF}: firmware version: 22.39.1002`);
    expect(dev.state).to.equal(MLX5_DEVICE_STATE_UP);
    expect({ enabled: hw.fw.hcaEnabled, init: hw.fw.hcaInitialized, issi: hw.fw.issi }).to.deep.equal({ enabled: true, init: true, issi: 1 });
    // the three async EQs share the control vector (MSI-X entry 0) and are armed
    expect(hw.eqs().map((e) => ({ intr: e.intr, armed: e.armed }))).to.deep.equal([
      { intr: 0, armed: true },
      { intr: 0, armed: true },
      { intr: 0, armed: true },
    ]);
    expect(irqRows(m)).to.deep.equal([`IR-PCI-MSIX-${MLX5_BDF}   0-edge      mlx5_async0@pci:${MLX5_BDF}`]);
  });

  it("creates a completion EQ and its IRQ on first use, one per vector, each on its own CPU", async () => {
    const { m, hw, queues } = await mlx5Rig({ machine: { trace: false }, queues: 4, nic: { queues: 4 } });
    expect(irqRows(m)).to.deep.equal([
      `IR-PCI-MSIX-${MLX5_BDF}   0-edge      mlx5_async0@pci:${MLX5_BDF}`,
      `IR-PCI-MSIX-${MLX5_BDF}   1-edge      mlx5_comp0@pci:${MLX5_BDF}`,
      `IR-PCI-MSIX-${MLX5_BDF}   2-edge      mlx5_comp1@pci:${MLX5_BDF}`,
      `IR-PCI-MSIX-${MLX5_BDF}   3-edge      mlx5_comp2@pci:${MLX5_BDF}`,
      `IR-PCI-MSIX-${MLX5_BDF}   4-edge      mlx5_comp3@pci:${MLX5_BDF}`,
    ]);
    expect(queues!.queues.map((q) => hw.eq(q.eqn)!.intr)).to.deep.equal([1, 2, 3, 4]);
  });

  it("handles every completion on its queue's vector CPU and re-arms the EQ after each interrupt", async () => {
    const { m, hw, dev, queues } = await mlx5Rig({ machine: { trace: false }, queues: 4, nic: { queues: 4 } });
    const arms0 = queues!.queues.map((q) => hw.eq(q.eqn)!.stats.arms);
    await m.run(async () => {
      for (let i = 0; i < 5; i++) {
        for (let q = 0; q < 4; q++) hw.complete(q);
        await msleep(1);
      }
    });
    for (const q of queues!.queues) {
      const cpu = m.enter(() => mlx5_comp_vector_get_cpu(dev, q.vecidx));
      expect(q.completions, `queue ${q.index}`).to.equal(5);
      expect(q.per_cpu[cpu], `queue ${q.index} on CPU ${cpu}`).to.equal(5);
      const eq = hw.eq(q.eqn)!;
      expect(eq.stats.interrupts).to.equal(5);
      expect(eq.stats.arms - arms0[q.index]!).to.equal(5);
      expect(eq.armed).to.equal(true);
    }
  });

  it("remove tears everything down: no EQ, no UAR, HCA disabled, MSI-X off, IRQs freed, no command left", async () => {
    const { m, hw, dev } = await mlx5Rig({ machine: { trace: false }, queues: 2, nic: { queues: 2 } });
    await m.run(() => mlx5_remove(dev));
    expect({ eqs: hw.eqs().length, uars: hw.fw.uars.size, enabled: hw.fw.hcaEnabled, msix: hw.msix.enabled, slots: mlx5_cmd_busy_slots(dev), busy: hw.fw.cmd.busySlots }).to.deep.equal({
      eqs: 0,
      uars: 0,
      enabled: false,
      msix: false,
      slots: [],
      busy: [],
    });
    expect(irqRows(m)).to.deep.equal([]);
  });
});
