// SPDX-License-Identifier: GPL-2.0-only
// lockdep reports from the lock graph, in lockdep's formats.
import { expect } from "chai";
import { createMachine } from "../../../lib/machine.ts";
import { dmesgFrom, expectSplat } from "../../harness.ts";
import { soft_vector } from "./softvec.ts";
import {
  raw_spinlock_t,
  raw_spin_lock,
  raw_spin_unlock,
  spinlock_t,
  spin_lock,
  spin_unlock,
  raw_spin_lock_irqsave,
  raw_spin_unlock_irqrestore,
} from "../../../lib/kernel/spinlock.ts";
import { mutex, mutex_lock, mutex_unlock } from "../../../lib/kernel/mutex.ts";
import { kthread_run } from "../../../lib/kernel/kthread.ts";
import { msleep } from "../../../lib/kernel/delay.ts";
import { current } from "../../../lib/kernel/sched.ts";

describe("lib/kernel lockdep", () => {
  it("reports an ABBA order over two tasks from the graph, although no deadlock happens", async () => {
    const m = await createMachine({ cpus: 2 });
    const a = new mutex("&dev->cmd_lock");
    const b = new mutex("&dev->state_lock");
    const steps: string[] = [];
    let pidB = 0;
    await expectSplat(m, /possible circular locking dependency detected/, () =>
      m.run(async () => {
        kthread_run(
          async function first_user() {
            await mutex_lock(a);
            await mutex_lock(b);
            steps.push("A then B");
            mutex_unlock(b);
            mutex_unlock(a);
            return 0;
          },
          null,
          "user_a",
        );
        await msleep(8);
        kthread_run(
          async function second_user() {
            pidB = current().pid;
            await mutex_lock(b);
            await mutex_lock(a);
            steps.push("B then A");
            mutex_unlock(a);
            mutex_unlock(b);
            return 0;
          },
          null,
          "user_b",
        );
        await msleep(8);
      }),
    );
    expect(steps).to.deep.equal(["A then B", "B then A"]);
    const r = dmesgFrom(m, /^=+$/);
    expect(r.slice(0, 12)).to.deep.equal([
      "======================================================",
      "WARNING: possible circular locking dependency detected",
      "6.18.0-irqlab #1 Not tainted",
      "------------------------------------------------------",
      `user_b/${pidB} is trying to acquire lock:`,
      "ffff888000000040 (&dev->cmd_lock){+.+.}-{4:4}, at: second_user",
      "",
      "but task is already holding lock:",
      "ffff888000000080 (&dev->state_lock){+.+.}-{4:4}, at: second_user",
      "",
      "which lock already depends on the new lock.",
      "",
    ]);
    const scen = dmesgFrom(m, /Possible unsafe locking scenario/);
    expect(scen.slice(0, 9)).to.deep.equal([
      " Possible unsafe locking scenario:",
      "",
      "       CPU0                    CPU1",
      "       ----                    ----",
      "  lock(&dev->state_lock);",
      "                               lock(&dev->cmd_lock);",
      "                               lock(&dev->state_lock);",
      "  lock(&dev->cmd_lock);",
      "",
    ]);
    expect(dmesgFrom(m, /\*\*\* DEADLOCK \*\*\*/)[0]).to.equal(" *** DEADLOCK ***");
    expect(m.dmesg()).to.include("-> #1 (&dev->state_lock){+.+.}-{4:4}:");
  });

  it("reports only the first problem, then turns itself off", async () => {
    const m = await createMachine({ cpus: 1 });
    const x = new raw_spinlock_t("&x");
    const y = new raw_spinlock_t("&y");
    await expectSplat(m, /circular/, () =>
      m.run(() => {
        for (let i = 0; i < 2; i++) {
          raw_spin_lock(x);
          raw_spin_lock(y);
          raw_spin_unlock(y);
          raw_spin_unlock(x);
          raw_spin_lock(y);
          raw_spin_lock(x);
          raw_spin_unlock(x);
          raw_spin_unlock(y);
        }
      }),
    );
    expect(m.splats().filter((s) => s.kind === "lockdep")).to.have.length(1);
    expect(m.kernel.debug_locks).to.equal(false);
  });

  it("reports a spinlock_t taken under a raw_spinlock_t (PROVE_RAW_LOCK_NESTING)", async () => {
    const m = await createMachine({ cpus: 1 });
    await expectSplat(m, /Invalid wait context/, () =>
      m.run(() => {
        const r = new raw_spinlock_t("&desc->lock");
        const s = new spinlock_t("&priv->lock");
        raw_spin_lock(r);
        spin_lock(s);
        spin_unlock(s);
        raw_spin_unlock(r);
      }),
    );
    expect(dmesgFrom(m, /Invalid wait context/)[6]).to.equal("context-{2:2}");
    expect(m.dmesg()).to.include("(&priv->lock){+.+.}-{3:3}");
  });

  it("reports a lock used in hardirq context and with interrupts on as inconsistent lock state", async () => {
    const m = await createMachine({ cpus: 2 });
    const l = new raw_spinlock_t("&dev->lock");
    await expectSplat(m, /inconsistent lock state/, () =>
      m.run(async () => {
        const v = soft_vector(function dev_irq_handler() {
          const f = raw_spin_lock_irqsave(l);
          raw_spin_unlock_irqrestore(l, f);
        });
        v.raise(1);
        await msleep(4);
        raw_spin_lock(l);
        raw_spin_unlock(l);
      }),
    );
    const r = dmesgFrom(m, /WARNING: inconsistent lock state/);
    expect(r[3]).to.equal("inconsistent {IN-HARDIRQ-W} -> {HARDIRQ-ON-W} usage.");
    expect(r[4]).to.match(/^insmod\/\d+ \[HC0\[0\]:SC0\[0\]:HE1:SE1\] takes:$/);
    expect(r[6]).to.equal("{IN-HARDIRQ-W} state was registered at:");
    expect(m.dmesg()).to.include("  lock(&dev->lock);\n").and.to.match(/ {2}<Interrupt>\n\[ *\d+\.\d+\] {5}lock\(&dev->lock\);/);
  });

  it("reports taking a held lock again as possible recursive locking", async () => {
    const m = await createMachine({ cpus: 1 });
    await expectSplat(m, /possible recursive locking detected|lockup/, () =>
      m.run(() => {
        const l = new raw_spinlock_t("&same");
        raw_spin_lock(l);
        raw_spin_lock(l);
      }),
    );
    expect(m.splats()[0]!.title).to.equal("WARNING: possible recursive locking detected");
    expect(m.dmesg()).to.include(" May be due to missing lock nesting notation");
  });
});
