// SPDX-License-Identifier: GPL-2.0-only
import { expect } from "chai";
import { createMachine } from "../../../lib/machine.ts";
import { K } from "../../../lib/kernel/kernel.ts";
import {
  APIC_SPIV,
  APIC_TASKPRI,
  apic_eoi,
  apic_read,
  default_send_IPI_self,
  default_send_IPI_single_phys,
  set_arch_vector_handler,
} from "../../../lib/kernel/apic.ts";
import { in_hardirq, smp_processor_id } from "../../../lib/kernel/context.ts";
import { msleep } from "../../../lib/kernel/delay.ts";
import { arch_irq_stat } from "../../../lib/kernel/entry.ts";

describe("lib/kernel/apic interrupt entry", () => {
  it("boots every local APIC enabled with the spurious vector 0xff and TPR 0x10", async () => {
    const m = await createMachine({ arch: "none", cpus: 3 });
    for (let c = 0; c < 3; c++) {
      expect(m.enter(() => apic_read(APIC_SPIV), c)).to.equal(0x1ff);
      expect(m.enter(() => apic_read(APIC_TASKPRI), c)).to.equal(0x10);
    }
  });

  it("the default dispatch sends EOI and prints nothing", async () => {
    const m = await createMachine({ arch: "none", cpus: 2 });
    const before = m.dmesg();
    await m.run(async () => {
      m.platform.lapic(1).accept(0x41, 0);
      await msleep(1);
    });
    const l = m.platform.lapic(1);
    expect(l.stats).to.include({ acked: 1, eoi: 1 });
    expect(l.highestIsr()).to.equal(-1);
    expect(m.dmesg()).to.equal(before);
  });

  it("runs the installed dispatch in hardirq context on the target CPU, for IPIs too", async () => {
    const m = await createMachine({ arch: "none", cpus: 2 });
    const seen: string[] = [];
    m.enter(() =>
      set_arch_vector_handler((cpu, vector) => {
        seen.push(`cpu${cpu.id}=${smp_processor_id()} v${vector.toString(16)} hardirq=${in_hardirq()}`);
        apic_eoi();
      }),
    );
    await m.run(async () => {
      default_send_IPI_single_phys(1, 0x31);
      default_send_IPI_self(0x32);
      await msleep(1);
    });
    expect(seen).to.deep.equal(["cpu1=1 v31 hardirq=true", "cpu0=0 v32 hardirq=true"]);
    expect(m.trace().filter((r) => r.kind === "hw.apic" && r.what === "ipi")).to.have.length(2);
  });

  it("treats vector 0xff as the spurious interrupt: counted, reported, not acknowledged", async () => {
    const m = await createMachine({ arch: "none", cpus: 2 });
    let dispatched = 0;
    m.enter(() => set_arch_vector_handler(() => void dispatched++));
    await m.run(async () => {
      m.platform.lapic(1).accept(0xff, 0);
      await msleep(1);
    });
    expect(dispatched).to.equal(0);
    expect(m.dmesg()).to.include("Spurious APIC interrupt (vector 0xFF) on CPU#1, should never happen.");
    expect(m.enter(() => arch_irq_stat(K.sim.cpus[1]!, "SPU"))).to.equal(1);
    expect(m.platform.lapic(1).isIsr(0xff), "left in service, as on hardware").to.equal(true);
  });
});
