// SPDX-License-Identifier: GPL-2.0-only
import { expect } from "chai";
import { createMachine, Machine } from "../../lib/machine.ts";
import { SimulatorError } from "../../lib/sim/sim.ts";
import { msleep } from "../../lib/kernel/delay.ts";
import { kthread_run } from "../../lib/kernel/kthread.ts";
import { pr_info } from "../../lib/kernel/printk.ts";
import { cond_resched, current } from "../../lib/kernel/sched.ts";
import { completion, wait_for_completion } from "../../lib/kernel/completion.ts";
import { jiffies } from "../../lib/kernel/jiffies.ts";
import { mod_timer, timer_list, timer_setup } from "../../lib/kernel/timer.ts";

/** Two kthreads on different CPUs race to append; the order depends on the schedule. */
async function raceScenario(seed: number, strategy: string): Promise<{ order: string; dmesg: string; trace: string }> {
  const m = await createMachine({ cpus: 2, seed, strategy });
  const order: string[] = [];
  await m.run(async () => {
    let left = 4;
    for (let i = 0; i < 4; i++) {
      const t = kthread_run(
        async (n: number) => {
          await msleep(4);
          order.push(`t${n}`);
          pr_info("racer %d ran on CPU%d as %s\n", n, current().cpu.id, current().comm);
          left--;
          return 0;
        },
        i,
        "racer/%d",
        i,
      );
      void t;
    }
    while (left > 0) await msleep(1);
  });
  const trace = JSON.stringify(m.trace());
  return { order: order.join(","), dmesg: m.dmesg(), trace };
}

describe("lib/machine determinism", () => {
  it("gives byte-identical dmesg and trace for the same seed", async () => {
    const a = await raceScenario(1234, "random");
    const b = await raceScenario(1234, "random");
    expect(a.dmesg).to.equal(b.dmesg);
    expect(a.trace).to.equal(b.trace);
    expect(a.order).to.equal(b.order);
  });

  it("shows different interleavings across seeds and the same one per seed", async () => {
    const orders = new Set<string>();
    for (let seed = 1; seed <= 12; seed++) {
      const r1 = await raceScenario(seed, "random");
      const r2 = await raceScenario(seed, "random");
      expect(r1.order).to.equal(r2.order);
      orders.add(r1.order);
    }
    expect(orders.size).to.be.greaterThan(1);
  });

  it("runs the FIFO strategy in wakeup order", async () => {
    const r = await raceScenario(5, "fifo");
    expect(r.order).to.equal("t0,t1,t2,t3");
  });
});

describe("lib/machine options and runs", () => {
  it("rejects unknown and bad options with a clear error", () => {
    expect(() => new Machine({ cpus: 0 })).to.throw(SimulatorError, /cpus must be/);
    expect(() => new Machine({ bogus: 1 } as never)).to.throw(SimulatorError, /unknown option "bogus"/);
    expect(() => new Machine({ strategy: "nope" })).to.throw(/unknown scheduling strategy/);
  });

  it("returns the body's value and propagates its exception", async () => {
    const m = await createMachine();
    expect(await m.run(() => 42)).to.equal(42);
    let err: unknown;
    try {
      await m.run(() => {
        throw new Error("boom");
      });
    } catch (e) {
      err = e;
    }
    expect((err as Error).message).to.equal("boom");
  });

  it("ends a body that can never finish with a clear error instead of hanging", async () => {
    const m = await createMachine();
    let err: unknown;
    try {
      await m.run(async () => {
        await wait_for_completion(new completion("never"));
      });
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(SimulatorError);
    expect((err as Error).message).to.match(/can never finish/).and.match(/insmod\/\d+ on CPU0 blocked in completion never/);
  });

  it("ends a body that keeps sleeping after the virtual-time bound", async () => {
    const m = await createMachine({ runLimitNs: 2e9 });
    let err: unknown;
    try {
      await m.run(async () => {
        for (;;) await msleep(100);
      });
    } catch (e) {
      err = e;
    }
    expect((err as Error).message).to.match(/not settled after 2 s of virtual time/);
    expect(m.now).to.be.at.most(2.2e9);
  });

  it("ends a body that awaits a promise nothing in the simulation settles with a stall error instead of hanging", async () => {
    const m = await createMachine();
    let err: unknown;
    try {
      await m.run(async () => {
        await msleep(3);
        await new Promise<void>(() => undefined);
      });
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(SimulatorError);
    const msg = (err as Error).message;
    expect(msg).to.match(/^m\.run\(\): the simulation stalled at 0\.008000 s of virtual time: insmod\/\d+ on CPU0 is running and awaits a promise that nothing in the simulation will settle/);
    expect(msg).to.match(/a plain JavaScript promise, not a kernel sleep/);
    // the machine is stopped: a later run reports it instead of hanging again
    let again: unknown;
    try {
      await m.run(() => 0);
    } catch (e) {
      again = e;
    }
    expect(String(again)).to.match(/machine already stopped: m\.run\(\): the simulation stalled/);
  });

  it("names the sleep abandoned in atomic context when a task stalls awaiting what it would have produced", async () => {
    const m = await createMachine();
    m.expectSplat(/BUG: sleeping function called from invalid context|BUG: scheduling while atomic/, 2);
    let err: unknown;
    try {
      await m.run(async () => {
        const box: { produced?: Promise<number> } = {};
        const t = new timer_list();
        // a timer callback runs in softirq context: its msleep() has no task to put to sleep
        timer_setup(t, () => {
          box.produced = (async () => {
            await msleep(1);
            return 1;
          })();
        }, 0);
        mod_timer(t, jiffies() + 1);
        await msleep(20);
        expect(box.produced).to.be.instanceOf(Promise);
        await box.produced;
      });
    } catch (e) {
      err = e;
    }
    const msg = String(err);
    expect(msg).to.match(/the simulation stalled at 0\.024000 s of virtual time: insmod\/\d+ on CPU0 is running/);
    expect(msg).to.match(/1 sleep\(s\) began with no task to put to sleep \("BUG: scheduling while atomic"\) and never return, the first by swapper\/0\/0\/0x00000101 on CPU0 at 0\.008000 s \(softirq context\)/);
    expect(m.dmesg()).to.match(/BUG: scheduling while atomic: swapper\/0\/0\/0x00000101\n/);
  });

  it("points at a missing await when a sleep begins outside any task, where an un-awaited async kernel call continued", async () => {
    const m = await createMachine();
    m.expectSplat(/BUG: scheduling while atomic: swapper\/0\/0/);
    let err: unknown;
    try {
      await m.run(async () => {
        const sleeper = async (): Promise<number> => {
          await msleep(1);
          await msleep(1);
          return 1;
        };
        const dropped = sleeper(); // the missing await
        await msleep(5);
        await dropped;
      });
    } catch (e) {
      err = e;
    }
    expect(String(err)).to.match(/the first by swapper\/0\/0\/0x00000001 on CPU0 at \d\.\d{6} s \(outside any task: code continuing after an async kernel call that no task awaited, e\.g\. a missing `await`\)/);
  });

  it("ends tasks that only yield to each other, with no virtual time passing, with a livelock error instead of spinning", async () => {
    const m = await createMachine();
    m.sim.livelockSwitches = 2000;
    let err: unknown;
    try {
      await m.run(async () => {
        for (let i = 0; i < 2; i++) {
          kthread_run(
            async () => {
              for (;;) await cond_resched();
            },
            null,
            "pingpong/%d",
            i,
          );
        }
        await msleep(1);
      });
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(SimulatorError);
    expect((err as Error).message).to.match(/^m\.run\(\): livelock at 0\.000\d{3} s of virtual time: 2000 task switches and the clock did not move/);
    expect((err as Error).message).to.match(/runnable tasks:\n {2}pingpong\/\d\/\d+ on CPU0/);
  });

  it("does not call a run stalled when its body awaits one event-loop turn outside the simulation and comes back", async () => {
    const m = await createMachine();
    const r = await m.run(async () => {
      await msleep(1);
      await new Promise<void>((res) => setImmediate(res));
      await msleep(1);
      return 7;
    });
    expect(r).to.equal(7);
    expect(m.now).to.be.at.least(2e6);
  });
});
