// SPDX-License-Identifier: GPL-2.0-only
import { expect } from "chai";
import { createMachine, type Machine } from "../../../../lib/machine.ts";
import { K } from "../../../../lib/kernel/kernel.ts";
import { apic_eoi, set_arch_vector_handler } from "../../../../lib/kernel/apic.ts";
import { local_irq_restore, local_irq_save } from "../../../../lib/kernel/context.ts";
import { msleep, udelay } from "../../../../lib/kernel/delay.ts";
import { readl, writel } from "../../../../lib/kernel/io.ts";
import { TESTNIC_REGS, TESTNIC_REG_DOORBELL, TESTNIC_REG_ID, TESTNIC_REG_QUEUES, type TestNic, type TrafficPattern } from "../../../../lib/hw/devices/testnic.ts";
import { SimulatorError } from "../../../../lib/sim/sim.ts";
import { nic_enable, nic_msix_control, nic_set_vector } from "./nic_setup.ts";

const BDF = "0000:3b:00.0";

interface Taken {
  cpu: number;
  vector: number;
  t: number;
}

async function boot(cpus = 4, vectors = 8, traffic?: TrafficPattern, seed = 1): Promise<{ m: Machine; nic: TestNic; taken: Taken[] }> {
  const m = await createMachine({ arch: "none", cpus, seed, pci: { devices: [{ type: "testnic", bdf: BDF, vectors, traffic }] } });
  const nic = m.pci.device<TestNic>(BDF);
  const taken: Taken[] = [];
  m.enter(() =>
    set_arch_vector_handler((cpu, vector) => {
      taken.push({ cpu: cpu.id, vector, t: K.sim.now });
      apic_eoi();
    }),
  );
  return { m, nic, taken };
}

describe("lib/hw/devices/testnic end to end", () => {
  it("takes queue k's interrupt on the destination CPU, 200 ns after the raise, and EOI clears ISR", async () => {
    const { m, nic, taken } = await boot();
    let raisedAt = 0;
    await m.run(async () => {
      const h = nic_enable(m, nic);
      for (let q = 0; q < 8; q++) nic_set_vector(h, q, q % 4, 0x41 + q);
      nic_msix_control(h, true);
      raisedAt = K.sim.now;
      expect(nic.raise(3)).to.equal("emitted");
      await msleep(1);
    });
    expect(taken).to.deep.equal([{ cpu: 3, vector: 0x44, t: raisedAt + 200 }]);
    const l = m.platform.lapic(3);
    expect(l.isIsr(0x44)).to.equal(false);
    expect(l.isIrr(0x44)).to.equal(false);
    expect(l.stats).to.include({ acked: 1, eoi: 1 });
    expect(nic.counters(3)).to.deep.equal({ raised: 1, emitted: 1, latched: 0, dropped: 0, blocked: 0 });
    const path = m
      .trace()
      .filter((r) => r.t >= raisedAt && r.kind.startsWith("hw.") && r.kind !== "hw.mmio")
      .map((r) => `${r.kind}:${"what" in r ? r.what : ""}@cpu${r.cpu}`);
    expect(path).to.deep.equal(["hw.msix:emit@cpu0", "hw.msi:receive@cpu0", "hw.msi:deliver@cpu0", "hw.apic:irr@cpu0", "hw.apic:inta@cpu3", "hw.apic:eoi@cpu3"]);
  });

  it("raises from the doorbell register the driver writes", async () => {
    const { m, nic, taken } = await boot(2, 4);
    await m.run(async () => {
      const h = nic_enable(m, nic);
      expect(readl(h.bar + TESTNIC_REGS + TESTNIC_REG_ID)).to.equal(0x7e571c00);
      expect(readl(h.bar + TESTNIC_REGS + TESTNIC_REG_QUEUES)).to.equal(4);
      nic_set_vector(h, 2, 1, 0x52);
      nic_msix_control(h, true);
      writel(2, h.bar + TESTNIC_REGS + TESTNIC_REG_DOORBELL);
      writel(9, h.bar + TESTNIC_REGS + TESTNIC_REG_DOORBELL);
      await msleep(1);
    });
    expect(taken.map((x) => [x.cpu, x.vector])).to.deep.equal([[1, 0x52]]);
    expect(m.trace().filter((r) => r.kind === "hw.ur")).to.have.length(1);
  });

  it("holds an interrupt for a CPU with interrupts off and takes it when they come back on", async () => {
    const { m, nic, taken } = await boot(2, 2);
    await m.run(() => {
      const h = nic_enable(m, nic);
      nic_set_vector(h, 0, 0, 0x61);
      nic_msix_control(h, true);
      const flags = local_irq_save();
      nic.raise(0);
      udelay(10);
      expect(taken, "not taken with IF clear").to.deep.equal([]);
      expect(m.platform.lapic(0).isIrr(0x61)).to.equal(true);
      const t = K.sim.now;
      local_irq_restore(flags);
      expect(taken).to.deep.equal([{ cpu: 0, vector: 0x61, t }]);
    });
  });

  it("makes a lower-priority vector wait while a higher one is in service", async () => {
    const { m, nic } = await boot(2, 4);
    const order: string[] = [];
    m.enter(() =>
      set_arch_vector_handler((cpu, vector) => {
        order.push(`${vector.toString(16)}@${K.sim.now}`);
        if (vector !== 0x80) apic_eoi(); // 0x80 stays in service
      }),
    );
    await m.run(async () => {
      const h = nic_enable(m, nic);
      nic_set_vector(h, 0, 1, 0x80);
      nic_set_vector(h, 1, 1, 0x50);
      nic_set_vector(h, 2, 1, 0x90);
      nic_msix_control(h, true);
      nic.raise(0);
      await msleep(1);
      nic.raise(1);
      await msleep(1);
      expect(m.platform.lapic(1).isIrr(0x50), "0x50 pending, held back by 0x80 in service").to.equal(true);
      nic.raise(2);
      await msleep(1);
    });
    expect(order.map((s) => s.split("@")[0])).to.deep.equal(["80", "90"]);
    m.enter(() => apic_eoi(), 1);
    await m.idle(1e6);
    expect(order.map((s) => s.split("@")[0])).to.deep.equal(["80", "90", "50"]);
    expect(m.platform.lapic(1).highestIsr()).to.equal(-1);
  });

  it("generates seeded, jittered traffic that does not keep a run alive", async () => {
    const pattern: TrafficPattern = { periodNs: 100_000, jitterNs: 20_000, queues: [0, 1], count: 5 };
    const run = async (seed: number): Promise<Taken[]> => {
      const { m, nic, taken } = await boot(2, 2, pattern, seed);
      await m.run(async () => {
        const h = nic_enable(m, nic);
        nic_set_vector(h, 0, 0, 0x41);
        nic_set_vector(h, 1, 1, 0x42);
        nic_msix_control(h, true);
        await msleep(10);
      });
      expect(nic.counters(0).raised).to.equal(5);
      expect(nic.counters(1).raised).to.equal(5);
      return taken;
    };
    const a = await run(7);
    const b = await run(7);
    const c = await run(8);
    expect(a).to.have.length(10);
    expect(a).to.deep.equal(b);
    expect(a).to.not.deep.equal(c);
    const q0 = a.filter((x) => x.vector === 0x41).map((x) => x.t);
    for (let i = 1; i < q0.length; i++) expect(q0[i]! - q0[i - 1]!).to.be.within(80_000, 120_000);
  });

  it("rejects raises of queues it does not have", async () => {
    const { nic } = await boot(1, 2);
    expect(() => nic.raise(2)).to.throw(SimulatorError, /no queue 2/);
  });
});
