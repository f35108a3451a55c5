// SPDX-License-Identifier: GPL-2.0-only
// Lockups end the run with the watchdog's report instead of hanging the test.
import { expect } from "chai";
import { createMachine } from "../../../lib/machine.ts";
import { MachineStopped } from "../../../lib/sim/sim.ts";
import { dmesgFrom, expectSplat } from "../../harness.ts";
import { cpu_relax, udelay } from "../../../lib/kernel/delay.ts";
import { local_irq_disable, local_irq_enable, preempt_disable } from "../../../lib/kernel/context.ts";
import { current } from "../../../lib/kernel/sched.ts";
import { K } from "../../../lib/kernel/kernel.ts";

describe("lib/kernel lockup detectors", () => {
  it("ends an irqs-off spin for something that never comes with the hard lockup report", async () => {
    const m = await createMachine({ arch: "none", cpus: 2 });
    const { error } = await expectSplat(m, /Watchdog detected hard LOCKUP on cpu 0/, () =>
      m.run(() => {
        const flag = { set: false };
        local_irq_disable();
        while (!flag.set) cpu_relax();
        local_irq_enable();
      }),
    );
    expect(error).to.be.instanceOf(MachineStopped);
    expect(dmesgFrom(m, /hard LOCKUP/)[0]).to.equal("watchdog: CPU0: Watchdog detected hard LOCKUP on cpu 0");
    expect(m.splats()[0]!.ts).to.be.within(10e9, 20e9);
    expect((error as Error).message).to.match(/CPU0 spun for more than 120 s/);
  });

  it("reports a preempt-off spin with interrupts on as a soft lockup after about 22 s", async () => {
    const m = await createMachine({ arch: "none", cpus: 1 });
    let pid = 0;
    const { error } = await expectSplat(m, /soft lockup/, () =>
      m.run(() => {
        pid = current().pid;
        preempt_disable();
        for (;;) udelay(1000);
      }),
    );
    expect(error).to.be.instanceOf(MachineStopped);
    expect(dmesgFrom(m, /soft lockup/)[0]).to.equal(`watchdog: BUG: soft lockup - CPU#0 stuck for 22s! [insmod:${pid}]`);
    expect(m.dmesg()).to.match(/Tainted: G {13}L/);
  });

  it("lets a long but finite irqs-off spin finish after reporting it", async () => {
    const m = await createMachine({ arch: "none", cpus: 1 });
    await expectSplat(m, /hard LOCKUP/, () =>
      m.run(() => {
        const until = K.sim.now + 12e9;
        local_irq_disable();
        K.sim.at(until, () => undefined);
        while (K.sim.now < until) cpu_relax();
        local_irq_enable();
      }),
    );
    expect(m.now).to.be.at.least(12e9);
    expect(m.sim.stopped).to.equal(null);
  });

  it("refuses to run a stopped machine again", async () => {
    const m = await createMachine({ arch: "none", cpus: 1 });
    m.expectSplat(/lockup/i, Infinity);
    await m.run(() => {
      local_irq_disable();
      for (;;) cpu_relax();
    }).catch(() => undefined);
    let err: unknown;
    await m.run(() => 1).catch((e: unknown) => (err = e));
    expect(err).to.be.instanceOf(MachineStopped);
  });
});
