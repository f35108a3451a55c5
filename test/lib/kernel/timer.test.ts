// SPDX-License-Identifier: GPL-2.0-only
import { expect } from "chai";
import { createMachine } from "../../../lib/machine.ts";
import { K } from "../../../lib/kernel/kernel.ts";
import { jiffies, msecs_to_jiffies, jiffies_to_msecs, INITIAL_JIFFIES } from "../../../lib/kernel/jiffies.ts";
import { timer_list, timer_setup, mod_timer, timer_delete, timer_pending, calc_bucket_expiry } from "../../../lib/kernel/timer.ts";
import { msleep, usleep_range, schedule_timeout_uninterruptible } from "../../../lib/kernel/delay.ts";
import { in_serving_softirq, smp_processor_id } from "../../../lib/kernel/context.ts";
import { arch_irq_stat } from "../../../lib/kernel/entry.ts";

describe("lib/kernel jiffies and timers", () => {
  it("starts jiffies five minutes before the 32-bit wrap, at HZ=250", async () => {
    await createMachine({ arch: "none", cpus: 1 });
    expect(INITIAL_JIFFIES()).to.equal(4294967296 - 75000);
    expect(jiffies()).to.equal(INITIAL_JIFFIES());
    expect(msecs_to_jiffies(10)).to.equal(3);
    expect(msecs_to_jiffies(4)).to.equal(1);
    expect(jiffies_to_msecs(3)).to.equal(12);
  });

  it("rounds expiries up to the wheel's buckets so a timer never fires early", () => {
    const clk = 1000;
    expect(calc_bucket_expiry(1001, clk)).to.equal(1002);
    expect(calc_bucket_expiry(clk + 100, clk)).to.equal(Math.floor((clk + 100) / 8 + 1) * 8);
    expect(calc_bucket_expiry(clk - 5, clk)).to.equal(clk);
  });

  it("runs a timer's callback in TIMER_SOFTIRQ of the CPU that armed it, from its local timer interrupt", async () => {
    const m = await createMachine({ arch: "none", cpus: 2 });
    const seen: string[] = [];
    await m.run(async () => {
      const t = new timer_list();
      timer_setup(t, () => seen.push(`cpu${smp_processor_id()} softirq=${in_serving_softirq()} at ${K.sim.now / 1e6} ms`), 0);
      mod_timer(t, jiffies() + 2);
      expect(timer_pending(t)).to.equal(true);
      await msleep(40);
      expect(timer_pending(t)).to.equal(false);
    });
    expect(seen).to.deep.equal(["cpu0 softirq=true at 12 ms"]);
    expect(m.enter(() => arch_irq_stat(K.sim.cpus[0]!, "LOC"))).to.be.greaterThan(0);
  });

  it("cancels a pending timer and reports whether it was pending", async () => {
    const m = await createMachine({ arch: "none", cpus: 1 });
    let fired = false;
    await m.run(async () => {
      const t = new timer_list();
      timer_setup(t, () => (fired = true), 0);
      mod_timer(t, jiffies() + 5);
      expect(mod_timer(t, jiffies() + 6)).to.equal(1);
      expect(timer_delete(t)).to.equal(1);
      expect(timer_delete(t)).to.equal(0);
      await msleep(50);
    });
    expect(fired).to.equal(false);
  });

  it("sleeps the wheel's way in msleep() and precisely in usleep_range()", async () => {
    const m = await createMachine({ arch: "none", cpus: 1 });
    await m.run(async () => {
      let t0 = K.sim.now;
      await msleep(10);
      expect(K.sim.now - t0).to.equal(16e6);
      t0 = K.sim.now;
      await usleep_range(50, 100);
      expect(K.sim.now - t0).to.equal(50e3);
      t0 = K.sim.now;
      const left = await schedule_timeout_uninterruptible(5);
      expect(left).to.equal(0);
      // expires = jiffies + 5 lands in the bucket of jiffies + 6, on a tick boundary
      expect(K.sim.now % 4e6).to.equal(0);
      expect(K.sim.now - t0).to.be.within(20e6, 24e6);
    });
  });
});
