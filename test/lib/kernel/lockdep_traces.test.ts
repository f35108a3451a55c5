// SPDX-License-Identifier: GPL-2.0-only
// The stack traces lockdep keeps for dependencies and usage bits are taken
// when the dependency or usage is recorded and printed only in a report:
// the frames are those of the first acquisition, not of the report.

import { expect } from "chai";
import { createMachine } from "../../../lib/machine.ts";
import { mutex, mutex_lock, mutex_unlock } from "../../../lib/kernel/mutex.ts";
import { raw_spinlock_t, raw_spin_lock, raw_spin_unlock, raw_spin_lock_irqsave, raw_spin_unlock_irqrestore } from "../../../lib/kernel/spinlock.ts";
import { msleep } from "../../../lib/kernel/delay.ts";
import { dmesgFrom } from "../../harness.ts";
import { soft_vector } from "./softvec.ts";

describe("lib/kernel/lockdep: recorded stack traces", () => {
  it("prints the dependency chain with the stack of the task that first took the locks in that order", async () => {
    const m = await createMachine({ cpus: 2 });
    m.expectSplat(/circular locking dependency/);
    const a = new mutex("&dev->cmd_lock");
    const b = new mutex("&dev->state_lock");
    async function first_user(): Promise<void> {
      await mutex_lock(a);
      await mutex_lock(b);
      mutex_unlock(b);
      mutex_unlock(a);
    }
    async function second_user(): Promise<void> {
      await mutex_lock(b);
      await mutex_lock(a);
      mutex_unlock(a);
      mutex_unlock(b);
    }
    await m.run(async () => {
      await first_user();
      await second_user();
    });
    const chain = dmesgFrom(m, /^-> #1 /);
    const trace = chain.slice(1, chain.indexOf("")).map((f) => f.trim());
    expect(trace).to.include("first_user");
    expect(trace).to.include("mutex_lock");
    expect(trace).to.not.include("second_user");
  });

  it("prints where a lock became hardirq-safe: inside the interrupt handler that first took it", async () => {
    const m = await createMachine({ cpus: 2 });
    m.expectSplat(/inconsistent lock state/);
    const l = new raw_spinlock_t("&dev->lock");
    await m.run(async () => {
      const v = soft_vector(function dev_irq_handler() {
        const f = raw_spin_lock_irqsave(l);
        raw_spin_unlock_irqrestore(l, f);
      });
      v.raise(1);
      await msleep(4);
      raw_spin_lock(l);
      raw_spin_unlock(l);
    });
    const reg = dmesgFrom(m, /^\{IN-HARDIRQ-W\} state was registered at:$/);
    const trace = reg.slice(1, reg.indexOf("")).map((f) => f.trim());
    expect(trace).to.include("dev_irq_handler");
    expect(trace.some((f) => /run_test|insmod/.test(f))).to.equal(false);
  });
});
