// SPDX-License-Identifier: GPL-2.0-only
import { expect } from "chai";
import { createMachine } from "../../../lib/machine.ts";
import { soft_vector } from "./softvec.ts";
import { K } from "../../../lib/kernel/kernel.ts";
import {
  in_hardirq,
  in_interrupt,
  in_serving_softirq,
  in_task,
  irqs_disabled,
  local_irq_disable,
  local_irq_enable,
  local_irq_restore,
  local_irq_save,
  preempt_count,
  HARDIRQ_OFFSET,
  local_bh_disable,
  local_bh_enable,
} from "../../../lib/kernel/context.ts";
import { current } from "../../../lib/kernel/sched.ts";
import { msleep, udelay } from "../../../lib/kernel/delay.ts";
import { kthread_run, kthread_bind } from "../../../lib/kernel/kthread.ts";
import { raise_softirq, TASKLET_SOFTIRQ, tasklet_struct, tasklet_schedule } from "../../../lib/kernel/softirq.ts";

describe("lib/kernel interrupt windows and contexts", () => {
  it("takes an interrupt raised while interrupts are off only when they are re-enabled", async () => {
    const m = await createMachine({ arch: "none", cpus: 2 });
    const log: string[] = [];
    await m.run(async () => {
      const v = soft_vector(() => {
        log.push(`irq hardirq=${in_hardirq()} comm=${current().comm}`);
      });
      local_irq_disable();
      v.raise(0);
      K.sim.fireDue();
      log.push("still off");
      local_irq_enable();
      log.push("after enable");
      await msleep(1);
    });
    expect(log).to.deep.equal(["still off", "irq hardirq=true comm=insmod", "after enable"]);
  });

  it("restores the flags of local_irq_save and opens the window only when they were on", async () => {
    const m = await createMachine({ arch: "none", cpus: 1 });
    const log: string[] = [];
    await m.run(() => {
      const v = soft_vector(() => void log.push("irq"));
      const outer = local_irq_save();
      const inner = local_irq_save();
      v.raise(0);
      local_irq_restore(inner);
      log.push(`inner restored, disabled=${irqs_disabled()}`);
      local_irq_restore(outer);
      log.push(`outer restored, disabled=${irqs_disabled()}`);
    });
    expect(log).to.deep.equal(["inner restored, disabled=true", "irq", "outer restored, disabled=false"]);
  });

  it("lets an idle CPU take an interrupt at the instant it is raised", async () => {
    const m = await createMachine({ arch: "none", cpus: 2 });
    await m.run(async () => {
      const v = soft_vector(() => {
        expect(in_hardirq()).to.equal(true);
        expect(current().comm).to.equal("swapper/1");
      });
      K.sim.at(K.sim.now + 5000, () => v.raise(1));
      await msleep(4);
      expect(v.taken).to.deep.equal([{ cpu: 1, t: 5000 }]);
    });
  });

  it("takes interrupts during a busy-wait with interrupts on, at their arrival time", async () => {
    const m = await createMachine({ arch: "none", cpus: 1 });
    await m.run(() => {
      const v = soft_vector(() => undefined);
      const t0 = K.sim.now;
      K.sim.at(t0 + 3000, () => v.raise(0));
      udelay(10);
      expect(v.taken.map((x) => x.t - t0)).to.deep.equal([3000]);
      expect(K.sim.now - t0).to.equal(10000);
    });
  });

  it("defers an interrupt arriving during a busy-wait with interrupts off until they are on", async () => {
    const m = await createMachine({ arch: "none", cpus: 1 });
    await m.run(() => {
      const v = soft_vector(() => undefined);
      const t0 = K.sim.now;
      K.sim.at(t0 + 3000, () => v.raise(0));
      local_irq_disable();
      udelay(10);
      expect(v.taken).to.have.length(0);
      local_irq_enable();
      expect(v.taken.map((x) => x.t - t0)).to.deep.equal([10000]);
    });
  });

  it("reports hardirq, softirq and task context through preempt_count", async () => {
    const m = await createMachine({ arch: "none", cpus: 1 });
    const seen: string[] = [];
    await m.run(async () => {
      const v = soft_vector(() => {
        seen.push(`hardirq pc=${preempt_count().toString(16)} in_interrupt=${in_interrupt()}`);
        expect(preempt_count() & HARDIRQ_OFFSET).to.equal(HARDIRQ_OFFSET);
        tasklet_schedule(
          new tasklet_struct(() => {
            seen.push(`tasklet serving_softirq=${in_serving_softirq()} hardirq=${in_hardirq()} irqs_off=${irqs_disabled()}`);
          }),
        );
      });
      seen.push(`task in_task=${in_task()}`);
      v.raise(0);
      local_irq_disable();
      local_irq_enable();
      await msleep(1);
    });
    expect(seen).to.deep.equal([
      "task in_task=true",
      "hardirq pc=10000 in_interrupt=true",
      "tasklet serving_softirq=true hardirq=false irqs_off=false",
    ]);
  });

  it("runs softirqs raised in a task from local_bh_enable() or ksoftirqd", async () => {
    const m = await createMachine({ arch: "none", cpus: 1 });
    const seen: string[] = [];
    await m.run(async () => {
      local_bh_disable();
      tasklet_schedule(new tasklet_struct(() => void seen.push(`bh comm=${current().comm}`)));
      seen.push("queued under bh");
      local_bh_enable();
      seen.push("after bh enable");
      tasklet_schedule(new tasklet_struct(() => void seen.push(`ksoftirqd comm=${current().comm}`)));
      seen.push("queued in task");
      await msleep(1);
      void raise_softirq;
      void TASKLET_SOFTIRQ;
    });
    expect(seen).to.deep.equal(["queued under bh", "bh comm=insmod", "after bh enable", "queued in task", "ksoftirqd comm=ksoftirqd/0"]);
  });

  it("lets another CPU's task run while a task sleeps", async () => {
    const m = await createMachine({ arch: "none", cpus: 2 });
    const seen: string[] = [];
    await m.run(async () => {
      const t = kthread_run(
        () => {
          seen.push(`helper on CPU${current().cpu.id} at ${K.sim.now}`);
          return 0;
        },
        null,
        "helper",
      );
      kthread_bind(t, 1);
      const t0 = K.sim.now;
      await msleep(20);
      seen.push(`main woke after ${(K.sim.now - t0) / 1e6} ms`);
    });
    expect(seen[0]).to.match(/^helper on CPU\d at 0$/);
    expect(seen[1]).to.match(/^main woke after 2\d ms$/);
  });
});
